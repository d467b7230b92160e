package status

import (
	"encoding/xml"
	"fmt"
	"time"
)

// Atom feed (RFC 4287) of status updates and maintenance windows.

// Entry is one feed entry.
type Entry struct {
	ID      string // stable and unique: a tag: URI is made from it
	Title   string
	Summary string
	Updated time.Time
	Link    string // absolute URL of the page showing it
}

type atomLink struct {
	Href string `xml:"href,attr"`
	Rel  string `xml:"rel,attr,omitempty"`
	Type string `xml:"type,attr,omitempty"`
}

type atomText struct {
	Type string `xml:"type,attr"`
	Body string `xml:",chardata"`
}

type atomEntry struct {
	ID      string   `xml:"id"`
	Title   atomText `xml:"title"`
	Updated string   `xml:"updated"`
	Summary atomText `xml:"summary"`
	Link    atomLink `xml:"link"`
}

type atomFeed struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	ID      string   `xml:"id"`
	Title   atomText `xml:"title"`
	Updated string   `xml:"updated"`
	Author  struct {
		Name string `xml:"name"`
	} `xml:"author"`
	Links   []atomLink  `xml:"link"`
	Entries []atomEntry `xml:"entry"`
}

// Feed renders the Atom document: base is the site's absolute URL (no
// trailing slash), name the site's name, entries newest first. The feed's
// updated time is the newest entry's, or epoch when there is none, so an
// unchanged feed is byte-for-byte the same.
func Feed(base, name string, entries []Entry) ([]byte, error) {
	f := atomFeed{ID: base + "/status", Title: atomText{"text", name + " status"}}
	f.Author.Name = name
	f.Links = []atomLink{{Href: base + "/status/feed.atom", Rel: "self", Type: "application/atom+xml"},
		{Href: base + "/status", Rel: "alternate", Type: "text/html"}}
	updated := time.Unix(0, 0).UTC()
	for _, e := range entries {
		if e.Updated.After(updated) {
			updated = e.Updated
		}
		f.Entries = append(f.Entries, atomEntry{ID: base + "/status#" + e.ID, Title: atomText{"text", e.Title},
			Updated: e.Updated.UTC().Format(time.RFC3339), Summary: atomText{"text", e.Summary},
			Link: atomLink{Href: e.Link, Rel: "alternate", Type: "text/html"}})
	}
	f.Updated = updated.UTC().Format(time.RFC3339)
	out, err := xml.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("encoding the status feed: %w", err)
	}
	return append([]byte(xml.Header), append(out, '\n')...), nil
}

package disclosure

import (
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"golang.org/x/text/language"
)

// SecurityTxtPath is where RFC 9116 places the file.
const SecurityTxtPath = "/.well-known/security.txt"

// MaxExpiresIn bounds how far ahead Expires may lie: RFC 9116 section 2.5.5
// recommends less than a year.
const MaxExpiresIn = 365 * 24 * time.Hour

// SecurityTxt configures the security.txt file (RFC 9116). The file is
// rendered for each request from the clock, so Expires renews itself and is
// always ahead of now.
type SecurityTxt struct {
	// Contacts are URIs (mailto:, https: or tel:) for reporting; at least one.
	Contacts []string
	// Policy is the URL of the disclosure policy; optional.
	Policy string
	// Acknowledgments is the URL of the public credits list; optional.
	Acknowledgments string
	// Languages are BCP 47 language tags, preferred first; optional.
	Languages []string
	// Canonical is the https URL the file is served at; optional.
	Canonical string
	// ExpiresIn is how far ahead of today Expires lies: more than a day and
	// less than a year.
	ExpiresIn time.Duration
	// Encryption is where the key to encrypt reports with is found: an https
	// URL or an openpgp4fpr: URI (RFC 9116 2.5.4); optional.
	Encryption string
	// Signer, when set, clear-signs the file with OpenPGP (RFC 9116 2.3).
	Signer *SecurityTxtSigner
}

// Validate checks the configuration against RFC 9116.
func (c *SecurityTxt) Validate() error {
	if len(c.Contacts) == 0 {
		return errors.New("security.txt needs at least one contact (mailto:, https: or tel: URI)")
	}
	for _, v := range c.Contacts {
		u, err := url.Parse(v)
		if err != nil || !validLine(v) {
			return fmt.Errorf("security.txt contact %q is not a URI", v)
		}
		switch u.Scheme {
		case "mailto", "tel":
			if u.Opaque == "" {
				return fmt.Errorf("security.txt contact %q is empty", v)
			}
		case "https":
			if u.Host == "" {
				return fmt.Errorf("security.txt contact %q has no host", v)
			}
		default:
			return fmt.Errorf("security.txt contact %q: must be a mailto:, https: or tel: URI (RFC 9116 2.5.3)", v)
		}
	}
	if e := c.Encryption; e != "" {
		fpr, isFpr := strings.CutPrefix(e, "openpgp4fpr:")
		if isFpr {
			if _, err := hex.DecodeString(fpr); err != nil || (len(fpr) != 40 && len(fpr) != 64) {
				return fmt.Errorf("security.txt encryption %q: an openpgp4fpr: URI holds a 40 or 64 hex digit fingerprint", e)
			}
		} else if u, err := url.Parse(e); err != nil || u.Scheme != "https" || u.Host == "" || !validLine(e) {
			return fmt.Errorf("security.txt encryption %q: must be an https URL or an openpgp4fpr: URI (RFC 9116 2.5.4)", e)
		}
	}
	for name, v := range map[string]string{"policy": c.Policy, "acknowledgments": c.Acknowledgments, "canonical": c.Canonical} {
		if v == "" {
			continue
		}
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" || !validLine(v) {
			return fmt.Errorf("security.txt %s %q: must be an https URL (RFC 9116 2.5)", name, v)
		}
	}
	for _, l := range c.Languages {
		if _, err := language.Parse(l); err != nil || !validLine(l) || strings.Contains(l, ",") {
			return fmt.Errorf("security.txt language %q is not a language tag", l)
		}
	}
	if c.ExpiresIn <= 24*time.Hour || c.ExpiresIn >= MaxExpiresIn {
		return errors.New("security.txt expiry must be more than a day and less than a year ahead")
	}
	return nil
}

// validLine reports whether v fits on one line of the file.
func validLine(v string) bool { return v != "" && !strings.ContainsAny(v, "\r\n") }

// Expires is the Expires value at now: ExpiresIn after the start of now's UTC
// day, so the file is the same all day (cacheable) and always lies more than
// ExpiresIn minus a day ahead of now and never a year or more ahead.
func (c *SecurityTxt) Expires(now time.Time) time.Time {
	return now.UTC().Truncate(24 * time.Hour).Add(c.ExpiresIn)
}

// Render returns the file at now, clear-signed when c.Signer is set. Fields
// appear in the RFC's order, one per line, CRLF-free (the RFC allows LF).
func (c *SecurityTxt) Render(now time.Time) ([]byte, error) {
	text := c.text(now)
	if c.Signer == nil {
		return text, nil
	}
	return c.Signer.sign(text, now)
}

// text is the file's fields at now, unsigned.
func (c *SecurityTxt) text(now time.Time) []byte {
	var b strings.Builder
	b.WriteString("# Security contact and disclosure policy (RFC 9116).\n")
	b.WriteString("# Reports can also be sent to POST /api/v1/disclosure/reports.\n")
	for _, v := range c.Contacts {
		b.WriteString("Contact: " + v + "\n")
	}
	b.WriteString("Expires: " + c.Expires(now).Format(time.RFC3339) + "\n")
	if c.Encryption != "" {
		b.WriteString("Encryption: " + c.Encryption + "\n")
	}
	if c.Acknowledgments != "" {
		b.WriteString("Acknowledgments: " + c.Acknowledgments + "\n")
	}
	if len(c.Languages) > 0 {
		b.WriteString("Preferred-Languages: " + strings.Join(c.Languages, ", ") + "\n")
	}
	if c.Canonical != "" {
		b.WriteString("Canonical: " + c.Canonical + "\n")
	}
	if c.Policy != "" {
		b.WriteString("Policy: " + c.Policy + "\n")
	}
	return []byte(b.String())
}

package web

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/access"
	"strongroom.dev/strongroom/service"
)

// Records of a collection: the list with filter and paging, one record,
// create and edit through a form generated from the schema, and delete
// through a confirmation page.

// recordsPageSize is how many records a page of the list shows.
const recordsPageSize = 25

// maxColumns bounds the columns the list derives from the schema.
const maxColumns = 5

// maxPrev bounds the cursors a list URL remembers for "Previous".
const maxPrev = 50

type recordsData struct {
	Collection *strongroom.Collection
	Columns    []string
	Rows       []recordRow
	Filter     string
	Next, Prev string // links to the neighbouring pages, if any
	Paged      bool   // this is not the first page
	CanWrite   bool
}

type recordRow struct {
	ID      strongroom.RecordID
	Cells   []string
	Updated time.Time
}

func (c *Console) recordsPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return
	}
	o, coll, ok := c.loadCollection(w, r, ctx, org)
	if !ok {
		return
	}
	q := r.URL.Query()
	filter := strings.TrimSpace(q.Get("filter"))
	cursor := q.Get("cursor")
	prev := q["prev"]
	if len(prev) > maxPrev {
		prev = prev[len(prev)-maxPrev:]
	}
	props := schemaProps(coll.Schema)
	d := recordsData{Collection: coll, Filter: filter, CanWrite: can(ctx, access.RecordsWrite, org), Paged: cursor != ""}
	for _, p := range props {
		if len(d.Columns) < maxColumns && p.Kind != kindJSON {
			d.Columns = append(d.Columns, p.Name)
		}
	}
	v := &view{Title: coll.Name + " · " + o.Organization.Name, Nav: "collections", Org: o, Wide: true, Data: d,
		Form: url.Values{"filter": {filter}}}
	if utf8.RuneCountInString(filter) > maxFieldRunes {
		c.fail(w, r, "records", v, fieldError("/filter", "is too long"))
		return
	}
	page, err := c.svc.Records(ctx, org, coll.Name, service.ListInput{Filter: filter, Cursor: cursor, Limit: recordsPageSize})
	if err != nil {
		if strongroom.ErrorCode(err) == strongroom.EINVALID {
			if msg := strongroom.ErrorMessage(err); strings.Contains(msg, "cursor") {
				err = strongroom.Errorf(strongroom.EINVALID, "this page link is not valid: start again from the first page")
			} else if filter != "" {
				err = fieldError("/filter", strings.TrimPrefix(msg, "filter: "))
			}
		}
		c.fail(w, r, "records", v, err)
		return
	}
	base := collPath(org, coll.Name)
	link := func(cursor string, prev []string) string {
		u := url.Values{}
		if filter != "" {
			u.Set("filter", filter)
		}
		if cursor != "" {
			u.Set("cursor", cursor)
		}
		for _, p := range prev {
			u.Add("prev", p)
		}
		if len(u) == 0 {
			return base
		}
		return base + "?" + u.Encode()
	}
	if page.NextCursor != "" {
		d.Next = link(page.NextCursor, append(append([]string{}, prev...), cursor))
	}
	if cursor != "" {
		back := ""
		if len(prev) > 0 {
			back = prev[len(prev)-1]
			prev = prev[:len(prev)-1]
		}
		d.Prev = link(back, prev)
	}
	for _, rec := range page.Items {
		var obj map[string]json.RawMessage
		_ = json.Unmarshal(rec.Data, &obj)
		row := recordRow{ID: rec.ID, Updated: rec.UpdatedAt}
		for _, col := range d.Columns {
			row.Cells = append(row.Cells, cell(obj[col]))
		}
		d.Rows = append(d.Rows, row)
	}
	v.Data = d
	c.render(w, r, http.StatusOK, "records", v)
}

// cell is a value as a list shows it: text as it is, anything else as
// compact JSON, cut to a readable length.
func cell(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "—"
	}
	s := string(compactJSON(raw))
	switch s {
	case "true":
		return "Yes"
	case "false":
		return "No"
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		s = str
	}
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:79]) + "…"
	}
	return s
}

type recordData struct {
	Collection *strongroom.Collection
	Record     *strongroom.Record
	Fields     []formField
	Extra      string // properties the schema does not list, as JSON
	CanWrite   bool
	Conflict   bool // the record changed since the form was opened
	// Files are the record's files (the record page only); MaxFileBytes
	// is the upload limit shown beside the form.
	Files        []strongroom.File
	MaxFileBytes int64
}

// recordContext enters the organization and loads the collection; ok is
// false when the answer is written.
func (c *Console) recordContext(w http.ResponseWriter, r *http.Request) (context.Context, strongroom.TenantID, *strongroom.OrgMembership, *strongroom.Collection, bool) {
	ctx, org, ok := c.enterOrg(w, r)
	if !ok {
		return nil, "", nil, nil, false
	}
	o, coll, ok := c.loadCollection(w, r, ctx, org)
	return ctx, org, o, coll, ok
}

func (c *Console) recordPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, o, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	// One read, one audit event: the record with its files' count.
	rec, files, err := c.svc.RecordWithFiles(ctx, org, coll.Name, strongroom.RecordID(r.PathValue("record")))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	d := recordData{Collection: coll, Record: rec, Fields: formFromData(formProps(coll.Schema), rec.Data),
		Extra: extraJSON(coll.Schema, rec.Data), CanWrite: can(ctx, access.RecordsWrite, org), Files: files,
		MaxFileBytes: c.svc.FileMaxBytes()}
	c.render(w, r, http.StatusOK, "record", &view{Title: string(rec.ID) + " · " + coll.Name, Nav: "collections", Org: o, Data: d})
}

// extraJSON returns the record's properties the schema does not list.
func extraJSON(schema, data []byte) string {
	props := schemaProps(schema)
	var obj map[string]json.RawMessage
	if len(props) == 0 || json.Unmarshal(data, &obj) != nil {
		return "" // no properties: the page shows the whole record
	}
	for _, p := range props {
		delete(obj, p.Name)
	}
	if len(obj) == 0 {
		return ""
	}
	b, err := json.MarshalIndent(obj, "", "  ")
	if err != nil {
		return ""
	}
	return string(b)
}

var errNoWrite = strongroom.Errorf(strongroom.EFORBIDDEN, "your role may read records but not change them")

func (c *Console) newRecordPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, o, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	if !can(ctx, access.RecordsWrite, org) {
		c.errorPage(w, r, errNoWrite)
		return
	}
	d := recordData{Collection: coll, CanWrite: true, Fields: withChoices(formFromValues(formProps(coll.Schema), func(string) string { return "" }))}
	c.render(w, r, http.StatusOK, "recordform", &view{Title: "New record · " + coll.Name, Nav: "collections", Org: o, Data: d})
}

func (c *Console) editRecordPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, o, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	if !can(ctx, access.RecordsWrite, org) {
		c.errorPage(w, r, errNoWrite)
		return
	}
	rec, err := c.svc.Record(ctx, org, coll.Name, strongroom.RecordID(r.PathValue("record")))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	d := recordData{Collection: coll, Record: rec, CanWrite: true, Fields: withChoices(formFromData(formProps(coll.Schema), rec.Data))}
	c.render(w, r, http.StatusOK, "recordform", &view{Title: "Edit " + string(rec.ID) + " · " + coll.Name, Nav: "collections", Org: o, Data: d})
}

// longRecordField: the raw JSON inputs of a record form may be long.
func longRecordField(name string) bool { return strings.HasPrefix(name, "p") }

// saveRecord creates a record (no {record} in the path) or replaces one at
// the version the form was opened with.
func (c *Console) saveRecord(w http.ResponseWriter, r *http.Request) {
	ctx, org, o, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	id := strongroom.RecordID(r.PathValue("record"))
	props := formProps(coll.Schema)
	d := recordData{Collection: coll, CanWrite: true}
	v := &view{Title: "New record · " + coll.Name, Nav: "collections", Org: o}
	if id != "" {
		v.Title = "Edit " + string(id) + " · " + coll.Name
	}
	if err := readFormLong(w, r, longRecordField); err != nil {
		// Refill only the inputs that were read fine.
		d.Fields = withChoices(formFromValues(props, func(name string) string {
			if v := r.PostFormValue(name); utf8.RuneCountInString(v) <= maxRawRunes && utf8.ValidString(v) {
				return v
			}
			return ""
		}))
		if id != "" {
			d.Record = &strongroom.Record{ID: id}
			v.Form = url.Values{"version": {r.PostFormValue("version")}}
		}
		v.Data = d
		c.fail(w, r, "recordform", v, formErrors(props, err))
		return
	}
	var rec *strongroom.Record
	err := c.writeRecord(ctx, r, org, coll, props, id, &d)
	if err == nil {
		rec = d.Record
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			v.Form = keep(r)
			err = recordErrors(props, err)
			if strongroom.ErrorCode(err) == strongroom.EPRECONDITION {
				d.Conflict = true
				err = strongroom.Errorf(strongroom.EPRECONDITION, "someone changed this record after you opened it, so your changes were not saved. Open the current version, then make your changes again")
			}
			d.Fields = withChoices(formFromValues(props, r.PostFormValue))
			v.Data = d
			c.fail(w, r, "recordform", v, err)
		})
		return
	}
	flash := "record-saved"
	if id == "" {
		flash = "record-created"
	}
	redirect(w, r, collPath(org, coll.Name)+"/records/"+url.PathEscape(string(rec.ID)), flash)
}

// writeRecord builds the record from the form and stores it; d.Record is the
// stored record (on a conflict, the version being edited).
func (c *Console) writeRecord(ctx context.Context, r *http.Request, org strongroom.TenantID, coll *strongroom.Collection, props []schemaProp, id strongroom.RecordID, d *recordData) error {
	if id == "" {
		data, err := dataFromForm(props, r.PostFormValue, nil)
		if err != nil {
			return err
		}
		d.Record, err = c.svc.CreateRecord(ctx, org, coll.Name, service.RecordInput{Data: data})
		return err
	}
	version, err := formVersion(r)
	if err != nil {
		return err
	}
	cur, err := c.svc.Record(ctx, org, coll.Name, id)
	if err != nil {
		return err
	}
	d.Record = cur
	if cur.Version != version {
		return strongroom.Errorf(strongroom.EPRECONDITION, "the record is at version %d, not %d", cur.Version, version)
	}
	data, err := dataFromForm(props, r.PostFormValue, cur.Data)
	if err != nil {
		return err
	}
	rec, err := c.svc.ReplaceRecord(ctx, org, coll.Name, id, version, service.RecordInput{Data: data, ClientID: cur.ClientID})
	if err != nil {
		return err
	}
	d.Record = rec
	return nil
}

// formVersion reads the record version the form was opened with.
func formVersion(r *http.Request) (int64, error) {
	n, err := strconv.ParseInt(r.PostFormValue("version"), 10, 64)
	if err != nil || n < 1 {
		return 0, errForm
	}
	return n, nil
}

func (c *Console) deleteRecordPage(w http.ResponseWriter, r *http.Request) {
	ctx, org, o, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	if !can(ctx, access.RecordsWrite, org) {
		c.errorPage(w, r, errNoWrite)
		return
	}
	rec, err := c.svc.Record(ctx, org, coll.Name, strongroom.RecordID(r.PathValue("record")))
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	d := recordData{Collection: coll, Record: rec, Fields: formFromData(formProps(coll.Schema), rec.Data), CanWrite: true}
	c.render(w, r, http.StatusOK, "recorddelete", &view{Title: "Delete " + string(rec.ID) + " · " + coll.Name, Nav: "collections", Org: o, Data: d})
}

func (c *Console) deleteRecord(w http.ResponseWriter, r *http.Request) {
	ctx, org, _, coll, ok := c.recordContext(w, r)
	if !ok {
		return
	}
	if err := readForm(w, r); err != nil {
		c.errorPage(w, r, err)
		return
	}
	version, err := formVersion(r)
	if err == nil {
		err = c.svc.DeleteRecord(ctx, org, coll.Name, strongroom.RecordID(r.PathValue("record")), version)
	}
	if err != nil {
		c.stepUpOr(w, r, err, func() {
			if strongroom.ErrorCode(err) == strongroom.EPRECONDITION {
				err = strongroom.Errorf(strongroom.EPRECONDITION, "someone changed this record after you opened it, so it was not deleted. Open the current version and decide again")
			}
			c.errorPage(w, r, err)
		})
		return
	}
	redirect(w, r, collPath(org, coll.Name), "record-deleted")
}

package web_test

import (
	"context"
	"errors"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/httpapi"
	"strongroom.dev/strongroom/internal/testkit"
	"strongroom.dev/strongroom/service"
	"strongroom.dev/strongroom/store"
)

// state fingerprints what a bad form could change: whether the address the
// cases sign up with exists, the existing account's password hash, sessions
// and second factors, and its organization's settings, invitations and keys.
func state(t *testing.T, srv *testkit.Server, acct testkit.Account) string {
	t.Helper()
	ctx := context.Background()
	var out strings.Builder
	err := srv.Store.Read(ctx, store.Scope{}, func(tx *store.Tx) error {
		u, err := tx.UserByEmail(ctx, "new@example.com")
		if err != nil && strongroom.ErrorCode(err) != strongroom.ENOTFOUND {
			return err
		}
		fmt.Fprintf(&out, "new:%v ", u != nil)
		me, err := tx.UserByEmail(ctx, acct.Email)
		if err != nil {
			return err
		}
		ss, err := tx.Sessions(ctx, me.ID)
		if err != nil {
			return err
		}
		fs, err := tx.Factors(ctx, me.ID)
		fmt.Fprintf(&out, "hash:%s sessions:%d factors:%d", me.PasswordHash, len(ss), len(fs))
		return err
	})
	if err == nil {
		err = srv.Store.Read(ctx, store.TenantScope(strongroom.TenantID(acct.OrgID)), func(tx *store.Tx) error {
			set, err := tx.OrgSettings(ctx)
			if err != nil {
				return err
			}
			invs, err := tx.Invitations(ctx)
			keys, kerr := tx.APIKeys(ctx)
			nf, fbytes, ferr := tx.FileUsage(ctx)
			kerr = errors.Join(kerr, ferr)
			fmt.Fprintf(&out, " settings:%+v invitations:%d keys:%d files:%d/%d", *set, len(invs), len(keys), nf, fbytes)
			if err := errors.Join(err, kerr); err != nil {
				return err
			}
			clients, err := tx.Clients(ctx, strongroom.Visibility{All: true})
			if err != nil {
				return err
			}
			for _, c := range clients {
				fmt.Fprintf(&out, " client:%s=%s", c.ID, c.Name)
			}
			members, err := tx.Members(ctx)
			if err != nil {
				return err
			}
			for _, m := range members {
				fmt.Fprintf(&out, " member:%s/%s%v", m.UserID, m.Role, m.Clients)
			}
			colls, err := tx.Collections(ctx)
			for _, c := range colls {
				recs, err := tx.Records(ctx, store.RecordQuery{Collection: c.ID, Visibility: strongroom.Visibility{All: true}, Limit: 1000})
				if err != nil {
					return err
				}
				fmt.Fprintf(&out, " collection:%s", c.Name)
				for _, r := range recs {
					fmt.Fprintf(&out, " %s@%d:%x", r.ID, r.Version, r.Data)
				}
			}
			return err
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	objs, _, err := srv.Blobs.List(ctx, "", "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(&out, " blobs:%d", len(objs))
	return out.String()
}

// multipartUpload is a multipart/form-data body with one file part (name
// as its filename, data as its content) and its Content-Type.
func multipartUpload(field, name string, data []byte) (body, contentType string) {
	var b strings.Builder
	mw := multipart.NewWriter(&b)
	w, _ := mw.CreateFormFile(field, name)
	_, _ = w.Write(data)
	_ = mw.Close()
	return b.String(), mw.FormDataContentType()
}

// TestFormBadInput sends malformed, oversized, hostile and incomplete forms to
// the console's handlers: each answers a clear message (beside the field when
// one field is at fault) and writes nothing.
func TestFormBadInput(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "bad@example.com", "Bad Input Ltd")
	cookie := httpapi.SessionCookie + "=" + acct.Token
	form := "application/x-www-form-urlencoded"
	long := strings.Repeat("a", 2000)
	rec := seedRecords(t, srv, acct, 1)[0]
	coll := "/orgs/" + acct.OrgID + "/collections/people"
	other := srv.Signup(t, "other@example.com", "Other Org")
	otherRec := seedRecords(t, srv, other, 1)[0]
	otherColl := "/orgs/" + other.OrgID + "/collections/people"
	client := seedClient(t, srv, acct, "Acme")
	otherClient := seedClient(t, srv, other, "Elsewhere")
	clients := "/orgs/" + acct.OrgID + "/clients"
	members := "/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/clients"
	noFileBody, noFileCT := multipartUpload("note", "a.txt", []byte("x"))
	namelessBody, namelessCT := multipartUpload("file", "", []byte("x"))
	dotsBody, dotsCT := multipartUpload("file", "../..", []byte("x"))
	hugeBody, hugeCT := multipartUpload("file", "big.bin", make([]byte, service.DefaultFileMaxBytes+1))
	okBody, okCT := multipartUpload("file", "ok.txt", []byte("fine"))
	hugeJSON := url.QueryEscape(`{"city": "` + strings.Repeat("z", 33<<10) + `"}`)
	cases := []struct {
		name, path, ct, body, cookie string
		want                         int
		says                         string // text the page must show
	}{
		{name: "signup missing fields", path: "/signup", ct: form, body: "email=", want: 422, says: `id="f-password-error">Is required.`},
		{name: "signup bad e-mail", path: "/signup", ct: form, body: "email=nope&password=" + url.QueryEscape(goodPassword) + "&organization=X", want: 422, says: "plain e-mail address"},
		{name: "signup weak password", path: "/signup", ct: form, body: "email=new%40example.com&password=password&organization=X", want: 422, says: `id="f-password-error"`},
		{name: "signup oversized field", path: "/signup", ct: form, body: "email=new%40example.com&password=" + url.QueryEscape(goodPassword) + "&organization=" + long, want: 422, says: `id="f-organization-error">Is too long.`},
		{name: "signup control characters", path: "/signup", ct: form, body: "email=new%40example.com&password=" + url.QueryEscape(goodPassword) + "&organization=a%00b", want: 422, says: "not text"},
		{name: "signup invalid UTF-8", path: "/signup", ct: form, body: "email=new%40example.com&password=" + url.QueryEscape(goodPassword) + "&organization=%ff%fe", want: 422, says: "not text"},
		{name: "signup malformed encoding", path: "/signup", ct: form, body: "email=%zz&password=x", want: 400, says: "could not be read"},
		{name: "signup body too large", path: "/signup", ct: form, body: "organization=" + strings.Repeat("b", 70<<10), want: 413, says: "too large"},
		{name: "signup JSON body", path: "/signup", ct: "application/json", body: `{"email":"new@example.com"}`, want: 415, says: "x-www-form-urlencoded"},
		{name: "status subscribe missing e-mail", path: "/status/subscribe", ct: form, body: "email=", want: 422, says: `id="f-email-error">Is required.`},
		{name: "status subscribe bad e-mail", path: "/status/subscribe", ct: form, body: "email=nope", want: 422, says: "plain e-mail address"},
		{name: "status subscribe oversized", path: "/status/subscribe", ct: form, body: "email=" + long, want: 422, says: "Is too long."},
		{name: "status subscribe JSON body", path: "/status/subscribe", ct: "application/json", body: `{"email":"a@example.com"}`, want: 415, says: "x-www-form-urlencoded"},
		{name: "status confirm bad token", path: "/status/confirm", ct: form, body: "token=nonsense", want: 404, says: "alert"},
		{name: "status unsubscribe no token", path: "/status/unsubscribe", ct: form, body: "", want: 404, says: "alert"},
		{name: "subprocessor confirm bad token", path: "/subprocessors/confirm", ct: form, body: "token=nonsense", want: 404, says: "alert"},
		{name: "subprocessor confirm status token", path: "/subprocessors/confirm", ct: form, body: "token=sts_" + strings.Repeat("A", 43), want: 404, says: "alert"},
		{name: "subprocessor unsubscribe oversized token", path: "/subprocessors/unsubscribe", ct: form, body: "token=srn_" + long, want: 422, says: "too long"},
		{name: "signin missing password", path: "/signin", ct: form, body: "email=bad%40example.com", want: 422, says: `id="f-password-error">Is required.`},
		{name: "mfa without challenge", path: "/signin/mfa", ct: form, body: "code=123456", want: 401, says: "sign in again"},
		{name: "email code unknown step", path: "/signin/email", ct: form, body: "step=launch", want: 400, says: "could not be read"},
		{name: "verify bad token", path: "/verify-email", ct: form, body: "token=nonsense", want: 0, says: "alert"},
		{name: "reset bad token", path: "/reset-password", ct: form, body: "token=nonsense&password=" + url.QueryEscape(goodPassword), want: 0, says: "alert"},
		{name: "accept bad token", path: "/invitations/accept", ct: form, body: "token=nonsense", want: 404, says: "invitation is invalid"},
		{name: "change password missing", path: "/account/password", ct: form, body: "current_password=", cookie: cookie, want: 422, says: `id="f-new_password-error">Is required.`},
		{name: "change password wrong current", path: "/account/password", ct: form, body: "current_password=wrong&new_password=" + url.QueryEscape(goodPassword), cookie: cookie, want: 422, says: `id="f-current_password-error"`},
		{name: "totp confirm unknown factor", path: "/account/mfa/totp/confirm", ct: form, body: "factor=nope&code=123456", cookie: cookie, want: 404, says: "No TOTP enrolment"},
		{name: "end unknown session", path: "/account/sessions/nope/end", ct: form, body: "", cookie: cookie, want: 404, says: "alert"},
		{name: "invite missing e-mail", path: "/orgs/" + acct.OrgID + "/invitations", ct: form, body: "role=viewer", cookie: cookie, want: 422, says: `id="f-email-error">Is required.`},
		{name: "invite bad role", path: "/orgs/" + acct.OrgID + "/invitations", ct: form, body: "email=x%40example.com&role=owner", cookie: cookie, want: 422, says: "Must be one of admin, editor, viewer."},
		{name: "set bad role", path: "/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/role", ct: form, body: "role=god", cookie: cookie, want: 422, says: "Must be one of admin, editor, viewer."},
		{name: "demote the last admin", path: "/orgs/" + acct.OrgID + "/members/" + acct.UserID + "/role", ct: form, body: "role=viewer", cookie: cookie, want: 0, says: `role="alert"`},
		{name: "members of another org", path: "/orgs/01a1fe00-0000-7000-8000-000000000000/members/" + acct.UserID + "/remove", ct: form, body: "", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "invite an Admin limited to clients", path: "/orgs/" + acct.OrgID + "/invitations", ct: form, body: "email=x%40example.com&role=admin&client_ids=" + client, cookie: cookie, want: 422, says: `id="f-client_ids-error">Admins cannot be limited to clients.`},
		{name: "invite with a malformed client", path: "/orgs/" + acct.OrgID + "/invitations", ct: form, body: "email=x%40example.com&role=viewer&client_ids=%3Cscript%3E", cookie: cookie, want: 422, says: `id="f-client_ids-error">Must be a client ID.`},
		{name: "invite with another org's client", path: "/orgs/" + acct.OrgID + "/invitations", ct: form, body: "email=x%40example.com&role=viewer&client_ids=" + otherClient, cookie: cookie, want: 404, says: `role="alert"`},
		{name: "limit an Admin to clients", path: members, ct: form, body: "client_ids=" + client, cookie: cookie, want: 422, says: `id="clients-` + acct.UserID + `-error">Admins see every client and cannot be limited.`},
		{name: "limit to a malformed client", path: members, ct: form, body: "client_ids=nope", cookie: cookie, want: 422, says: `id="clients-` + acct.UserID + `-error">Must be a client ID.`},
		{name: "limit to too many clients", path: members, ct: form, body: strings.Repeat("client_ids="+client+"&", 1001), cookie: cookie, want: 422, says: "At most 1000 clients."},
		{name: "limit another org's member", path: "/orgs/" + other.OrgID + "/members/" + other.UserID + "/clients", ct: form, body: "client_ids=" + client, cookie: cookie, want: 404, says: `role="alert"`},
		{name: "limit an unknown member", path: "/orgs/" + acct.OrgID + "/members/nope/clients", ct: form, body: "", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "client without name", path: clients, ct: form, body: "name=+", cookie: cookie, want: 422, says: `id="f-name-error">Is required.`},
		{name: "client name too long", path: clients, ct: form, body: "name=" + strings.Repeat("n", 201), cookie: cookie, want: 422, says: `id="f-name-error">Must be 1 to 200 characters`},
		{name: "client name control characters", path: clients, ct: form, body: "name=a%07b", cookie: cookie, want: 422, says: `id="f-name-error">Must be 1 to 200 characters of text without control characters.`},
		{name: "client JSON body", path: clients, ct: "application/json", body: `{"name":"x"}`, cookie: cookie, want: 415, says: "x-www-form-urlencoded"},
		{name: "rename client to nothing", path: clients + "/" + client + "/rename", ct: form, body: "name=", cookie: cookie, want: 422, says: `id="name-` + client + `-error">Is required.`},
		{name: "rename client too long", path: clients + "/" + client + "/rename", ct: form, body: "name=" + strings.Repeat("n", 201), cookie: cookie, want: 422, says: `id="name-` + client + `-error">Must be 1 to 200`},
		{name: "rename unknown client", path: clients + "/nope/rename", ct: form, body: "name=X", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "rename another org's client", path: clients + "/" + otherClient + "/rename", ct: form, body: "name=Mine", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "rename in another org", path: "/orgs/" + other.OrgID + "/clients/" + otherClient + "/rename", ct: form, body: "name=Mine", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "delete unknown client", path: clients + "/nope/delete", ct: form, body: "", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "delete another org's client", path: clients + "/" + otherClient + "/delete", ct: form, body: "", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "API key without name", path: "/orgs/" + acct.OrgID + "/api-keys", ct: form, body: "role=viewer", cookie: cookie, want: 422, says: `id="f-name-error">Is required.`},
		{name: "API key bad expiry", path: "/orgs/" + acct.OrgID + "/api-keys", ct: form, body: "name=x&role=viewer&expires_days=9999", cookie: cookie, want: 422, says: "from 1 to 730"},
		{name: "API key bad role", path: "/orgs/" + acct.OrgID + "/api-keys", ct: form, body: "name=x&role=root", cookie: cookie, want: 422, says: "Must be admin, editor or viewer."},
		{name: "rotate unknown key", path: "/orgs/" + acct.OrgID + "/api-keys/nope/rotate", ct: form, body: "overlap_hours=1", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "rotate bad overlap", path: "/orgs/" + acct.OrgID + "/api-keys/nope/rotate", ct: form, body: "overlap_hours=-1", cookie: cookie, want: 422, says: "from 0 to 720"},
		{name: "revoke unknown key", path: "/orgs/" + acct.OrgID + "/api-keys/nope/revoke", ct: form, body: "", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "settings without a method", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "mfa_required=on", cookie: cookie, want: 422, says: `id="f-sign_in_methods-error"`},
		{name: "settings shutting myself out", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=email", cookie: cookie, want: 422, says: "shut yourself out"},
		{name: "settings bad domain", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&allowed_email_domains=a%2Fb", cookie: cookie, want: 422, says: `id="f-allowed_email_domains-error"`},
		{name: "settings bad number", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&session_idle_minutes=-5", cookie: cookie, want: 422, says: `id="f-session_idle_minutes-error"`},
		{name: "settings bad retention field", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&retention_days=30&retention_from=field&retention_field=a..b", cookie: cookie, want: 422, says: `id="f-default_retention-error">Must be a field path`},
		{name: "settings bad retention start", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&retention_days=30&retention_from=yesterday", cookie: cookie, want: 422, says: `id="f-default_retention-error">Must be created, updated or field`},
		{name: "settings negative retention", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&retention_days=-1", cookie: cookie, want: 422, says: `id="f-retention_days-error"`},
		{name: "settings audit retention below the minimum", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&audit_retention_days=5", cookie: cookie, want: 422, says: `id="f-audit_retention_days-error">Must be 0 (keep forever)`},
		{name: "settings unknown method", path: "/orgs/" + acct.OrgID + "/settings", ct: form, body: "sign_in_methods=password&sign_in_methods=carrier-pigeon", cookie: cookie, want: 422, says: `id="f-sign_in_methods-error"`},
		{name: "collection bad name", path: "/orgs/" + acct.OrgID + "/collections", ct: form, body: "name=Bad+Name&schema=%7B%7D", cookie: cookie, want: 422, says: `id="f-name-error">Must be 1 to 63`},
		{name: "collection malformed schema", path: "/orgs/" + acct.OrgID + "/collections", ct: form, body: "name=things&schema=%7B%22type%22%3A", cookie: cookie, want: 422, says: `id="f-schema-error">Must be a JSON document.`},
		{name: "collection invalid schema", path: "/orgs/" + acct.OrgID + "/collections", ct: form, body: "name=things&schema=%7B%22type%22%3A%22banana%22%7D", cookie: cookie, want: 422, says: `id="f-schema-error">Is not a valid JSON Schema`},
		{name: "collection oversized schema", path: "/orgs/" + acct.OrgID + "/collections", ct: form, body: "name=things&schema=" + strings.Repeat("+", 33<<10) + "%7B%7D", cookie: cookie, want: 422, says: `id="f-schema-error">Is too long.`},
		{name: "collection bad searchable", path: "/orgs/" + acct.OrgID + "/collections", ct: form, body: "name=things&schema=%7B%7D&searchable=a..b", cookie: cookie, want: 422, says: `id="f-searchable-error">Must be a field path`},
		{name: "collection duplicate name", path: "/orgs/" + acct.OrgID + "/collections", ct: form, body: "name=people&schema=%7B%7D", cookie: cookie, want: 409, says: `role="alert"`},
		{name: "record malformed raw JSON", path: coll + "/records", ct: form, body: "p0=Ada&p5=%7B%22city%22%3A", cookie: cookie, want: 422, says: `id="p5-error">Must be JSON`},
		{name: "record oversized raw JSON", path: coll + "/records", ct: form, body: "p0=Ada&p5=" + hugeJSON, cookie: cookie, want: 422, says: `id="p5-error">Is too long.`},
		{name: "record body too large", path: coll + "/records", ct: form, body: "p0=Ada&p5=" + strings.Repeat("z", 70<<10), cookie: cookie, want: 413, says: "too large"},
		{name: "record required missing", path: coll + "/records", ct: form, body: "p0=&p1=a%40example.com", cookie: cookie, want: 422, says: `id="p0-error">Is required.`},
		{name: "record schema violation", path: coll + "/records", ct: form, body: "p0=A&p2=-1", cookie: cookie, want: 422, says: `id="p2-error">Must be at least 0.`},
		{name: "record not a number", path: coll + "/records", ct: form, body: "p0=Ada&p2=12abc", cookie: cookie, want: 422, says: `id="p2-error">Must be a number`},
		{name: "record forged enum", path: coll + "/records", ct: form, body: "p0=Ada&p3=%22gold%22", cookie: cookie, want: 422, says: `id="p3-error">Must be one of the listed choices.`},
		{name: "record forged boolean", path: coll + "/records", ct: form, body: "p0=Ada&p4=maybe", cookie: cookie, want: 422, says: `id="p4-error">Must be yes or no.`},
		{name: "record nested violation", path: coll + "/records", ct: form, body: "p0=Ada&p5=%7B%22city%22%3A3%7D", cookie: cookie, want: 422, says: `id="p5-error">At /city: must be a string.`},
		{name: "record in unknown collection", path: "/orgs/" + acct.OrgID + "/collections/nosuch/records", ct: form, body: "p0=Ada", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "record in another org's collection", path: otherColl + "/records", ct: form, body: "p0=Ada", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "edit another org's record", path: otherColl + "/records/" + otherRec, ct: form, body: "version=1&p0=Ada", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "edit another org's record by id here", path: coll + "/records/" + otherRec, ct: form, body: "version=1&p0=Ada", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "edit stale version", path: coll + "/records/" + rec, ct: form, body: "version=7&p0=Changed", cookie: cookie, want: 412, says: `Someone changed this record after you opened it`},
		{name: "edit without version", path: coll + "/records/" + rec, ct: form, body: "p0=Changed", cookie: cookie, want: 400, says: "could not be read"},
		{name: "edit invalid", path: coll + "/records/" + rec, ct: form, body: "version=1&p0=Changed&p2=-3", cookie: cookie, want: 422, says: `id="p2-error"`},
		{name: "delete stale version", path: coll + "/records/" + rec + "/delete", ct: form, body: "version=2", cookie: cookie, want: 412, says: "it was not deleted"},
		{name: "delete another org's record", path: otherColl + "/records/" + otherRec + "/delete", ct: form, body: "version=1", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "delete unknown record", path: coll + "/records/nope/delete", ct: form, body: "version=1", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "file upload as a urlencoded form", path: coll + "/records/" + rec + "/files", ct: form, body: "file=x", cookie: cookie, want: 415, says: "multipart/form-data"},
		{name: "file upload without a file part", path: coll + "/records/" + rec + "/files", ct: noFileCT, body: noFileBody, cookie: cookie, want: 422, says: "choose a file"},
		{name: "file upload without a name", path: coll + "/records/" + rec + "/files", ct: namelessCT, body: namelessBody, cookie: cookie, want: 422, says: `role="alert"`},
		{name: "file upload hostile name only", path: coll + "/records/" + rec + "/files", ct: dotsCT, body: dotsBody, cookie: cookie, want: 422, says: `role="alert"`},
		{name: "file upload too large", path: coll + "/records/" + rec + "/files", ct: hugeCT, body: hugeBody, cookie: cookie, want: 413, says: "larger than the limit"},
		{name: "file upload malformed multipart", path: coll + "/records/" + rec + "/files", ct: "multipart/form-data; boundary=zz", body: "--zz\r\nbroken", cookie: cookie, want: 400, says: "could not be read"},
		{name: "file upload to another org's record", path: otherColl + "/records/" + otherRec + "/files", ct: okCT, body: okBody, cookie: cookie, want: 404, says: `role="alert"`},
		{name: "file upload to an unknown record", path: coll + "/records/01a1fe00-0000-7000-8000-000000000000/files", ct: okCT, body: okBody, cookie: cookie, want: 404, says: `role="alert"`},
		{name: "delete unknown file", path: coll + "/records/" + rec + "/files/01a1fe00-0000-7000-8000-000000000000/delete", ct: form, body: "", cookie: cookie, want: 404, says: `role="alert"`},
		{name: "delete unknown factor", path: "/account/mfa/factors/nope/delete", ct: form, body: "back=/account/mfa", cookie: cookie, want: 404, says: "alert"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := state(t, srv, acct)
			req := testkit.Request{Method: "POST", Path: c.path, Body: c.body, ContentType: c.ct, Header: map[string]string{}}
			if c.cookie != "" {
				req.Header["Cookie"] = c.cookie
			}
			r := srv.Do(t, req)
			if c.want != 0 && r.Status != c.want {
				t.Errorf("status %d, want %d", r.Status, c.want)
			}
			if r.Status < 400 {
				t.Errorf("status %d: bad input accepted", r.Status)
			}
			if !strings.Contains(string(r.Body), c.says) {
				t.Errorf("page does not say %q:\n%.3000s", c.says, r.Body)
			}
			if !strings.Contains(string(r.Body), "</html>") {
				t.Error("not a whole page")
			}
			if after := state(t, srv, acct); after != before {
				t.Errorf("bad input wrote: %s → %s", before, after)
			}
		})
	}
}

// TestCrossOriginFormRefused: a form posted from another site (CSRF) is
// refused before the handler runs, and the session stays.
func TestCrossOriginFormRefused(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	acct := srv.Signup(t, "csrf@example.com", "CSRF Ltd")
	cookie := httpapi.SessionCookie + "=" + acct.Token
	for _, h := range []map[string]string{
		{"Cookie": cookie, "Sec-Fetch-Site": "cross-site"},
		{"Cookie": cookie, "Origin": "https://evil.example"},
	} {
		r := srv.Do(t, testkit.Request{Method: "POST", Path: "/account/sessions/end-others", Body: "", ContentType: "application/x-www-form-urlencoded", Header: h})
		if r.Status != http.StatusForbidden {
			t.Errorf("cross-origin POST with %v: status %d, want 403", h, r.Status)
		}
	}
	r := srv.Do(t, testkit.Request{Method: "GET", Path: "/account", Header: map[string]string{"Cookie": cookie}})
	if r.Status != 200 || !strings.Contains(string(r.Body), "csrf@example.com") {
		t.Errorf("the session did not survive the refused requests: %d", r.Status)
	}
}

// TestSafeNext: the "next" parameter never leaves the site.
func TestSignInNextStaysOnSite(t *testing.T) {
	srv := testkit.NewServer(t, testkit.OpenSQLiteStore(t), httpapi.Options{})
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		r := srv.Do(t, testkit.Request{Method: "GET", Path: "/signin?next=" + url.QueryEscape(next)})
		if strings.Contains(string(r.Body), "evil.example") || strings.Contains(string(r.Body), "javascript:") {
			t.Errorf("next=%q reached the page", next)
		}
	}
}

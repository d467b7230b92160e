package web

import (
	"context"
	"net/http"
)

// The confirm and unsubscribe pages of the e-mail subscriptions (status
// updates, subprocessor changes: one double-opt-in mechanism, see
// service/subscriptions.go). The e-mailed link only shows a button; the POST
// does it, so a mail scanner following the link changes nothing.

// subscriptionPages describes one topic's pages.
type subscriptionPages struct {
	path                 string // the links' path: path+"/confirm", path+"/unsubscribe"
	back, backLabel      string // a link back to the topic's public page, if it has one
	unsubscribeTitle     string
	confirmLead          string
	unsubscribeLead      string
	confirmed            string
	unsubscribed         string
	confirm, unsubscribe func(ctx context.Context, token string) error
}

func (c *Console) subscriptionPages() []subscriptionPages {
	return []subscriptionPages{{
		path: "/status", back: "/status", backLabel: "Back to the status page",
		unsubscribeTitle: "Unsubscribe from status updates",
		confirmLead:      "Confirm that you want e-mail about incidents and maintenance.",
		unsubscribeLead:  "Stop e-mail about incidents and maintenance.",
		confirmed:        "Your subscription is confirmed: you will get an e-mail about each incident update and maintenance window.",
		unsubscribed:     "You are unsubscribed: we will not e-mail you about the status again.",
		confirm:          c.svc.ConfirmStatusSubscription, unsubscribe: c.svc.UnsubscribeStatus,
	}, {
		path: "/subprocessors", back: "/subprocessors.json", backLabel: "The current list of subprocessors",
		unsubscribeTitle: "Unsubscribe from subprocessor changes",
		confirmLead:      "Confirm that you want e-mail about changes to our list of subprocessors.",
		unsubscribeLead:  "Stop e-mail about changes to our list of subprocessors.",
		confirmed:        "Your subscription is confirmed: you will get an e-mail about each subprocessor we add or remove, before it takes effect.",
		unsubscribed:     "You are unsubscribed: we will not e-mail you about subprocessor changes again.",
		confirm:          c.svc.ConfirmSubscription, unsubscribe: c.svc.Unsubscribe,
	}}
}

type tokenPage struct {
	Path, Back, BackLabel             string
	Action, Token, Done, Button, Lead string
}

func (sp subscriptionPages) title(action string) string {
	if action == "confirm" {
		return "Confirm your subscription"
	}
	return sp.unsubscribeTitle
}

func (sp subscriptionPages) page(action, token string) *tokenPage {
	p := &tokenPage{Path: sp.path, Back: sp.back, BackLabel: sp.backLabel, Action: action, Token: token}
	if action == "confirm" {
		p.Button, p.Lead = "Confirm my subscription", sp.confirmLead
	} else {
		p.Button, p.Lead = "Unsubscribe", sp.unsubscribeLead
	}
	return p
}

func (c *Console) subscriptionTokenPage(sp subscriptionPages, action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusOK, "statustoken", &view{Title: sp.title(action), Data: sp.page(action, r.URL.Query().Get("token"))})
	}
}

func (c *Console) subscriptionToken(sp subscriptionPages, action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v := &view{Title: sp.title(action), Data: sp.page(action, "")}
		if err := readForm(w, r); err != nil {
			c.fail(w, r, "statustoken", v, err)
			return
		}
		p := sp.page(action, r.PostFormValue("token"))
		v.Data = p
		do, done := sp.confirm, sp.confirmed
		if action != "confirm" {
			do, done = sp.unsubscribe, sp.unsubscribed
		}
		if err := do(r.Context(), p.Token); err != nil {
			c.fail(w, r, "statustoken", v, err)
			return
		}
		p.Done = done
		c.render(w, r, http.StatusOK, "statustoken", v)
	}
}

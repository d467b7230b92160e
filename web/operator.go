package web

import (
	"net/http"

	"strongroom.dev/strongroom"
)

// Operator pages. The development outbox (embedded mode, no SMTP) is where
// sign-in codes and links land; only operators signed in with MFA read it,
// and each read is audited.

func (c *Console) outboxPage(w http.ResponseWriter, r *http.Request) {
	p, err := c.svc.EnterOperator(r.Context())
	if err != nil {
		if strongroom.ErrorCode(err) == strongroom.EMFAENROLL {
			redirect(w, r, "/account/mfa", "mfa-enrol")
			return
		}
		c.errorPage(w, r, err)
		return
	}
	msgs, err := c.svc.OutboxMessages(strongroom.WithPrincipal(r.Context(), p), 50)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "outbox", &view{Title: "Development outbox", Nav: "outbox", Data: msgs, Wide: true})
}

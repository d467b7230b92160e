package web

import (
	"net/http"
)

// Operator pages. The development outbox (embedded mode, no SMTP) is where
// sign-in codes and links land; only operators signed in with MFA read it,
// and each read is audited.

func (c *Console) outboxPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	msgs, err := c.svc.OutboxMessages(ctx, 50)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	c.render(w, r, http.StatusOK, "outbox", &view{Title: "Development outbox", Nav: "outbox", Data: msgs, Wide: true})
}

// operatorIndex links the operator's pages.
func (c *Console) operatorIndex(w http.ResponseWriter, r *http.Request) {
	if _, ok := c.enterOperator(w, r); !ok {
		return
	}
	c.render(w, r, http.StatusOK, "operator", &view{Title: "Operator", Nav: "operator"})
}

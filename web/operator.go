package web

import (
	"net/http"
	"slices"

	"strongroom.dev/strongroom/store"
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

type backupsData struct {
	Location  string               // the configured backup location; "" when none
	Backups   []store.BackupRecord // newest first
	Drills    []store.DrillRecord  // newest first
	LastDrill *store.DrillRecord
}

// backupsPage lists the backups and the restore drills (LIF-05, LIF-06),
// newest first; each list read is audited in the platform log.
func (c *Console) backupsPage(w http.ResponseWriter, r *http.Request) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return
	}
	items, location, err := c.svc.OperatorBackups(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	drills, _, err := c.svc.OperatorDrills(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return
	}
	slices.Reverse(items)
	slices.Reverse(drills)
	d := backupsData{Location: location, Backups: items, Drills: drills}
	if len(drills) > 0 {
		d.LastDrill = &drills[0]
	}
	c.render(w, r, http.StatusOK, "backups", &view{Title: "Backups", Nav: "backups", Wide: true, Data: d})
}

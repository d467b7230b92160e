package web

import (
	"net/http"
	"slices"
	"time"

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
	Run       *backupRunView       // the running or last backup run; nil before the first
	CanStart  bool                 // this server takes backups: show "Back up now"
	Backups   []store.BackupRecord // newest first
	Drills    []store.DrillRecord  // newest first
	LastDrill *store.DrillRecord
}

// backupsPage lists the backups and the restore drills (LIF-05, LIF-06),
// newest first; each list read is audited in the platform log. It shows the
// running or last backup run, with "Back up now" (backups.go).
func (c *Console) backupsPage(w http.ResponseWriter, r *http.Request) {
	v, ok := c.backupsView(w, r)
	if !ok {
		return
	}
	c.render(w, r, http.StatusOK, "backups", v)
}

func (c *Console) backupsView(w http.ResponseWriter, r *http.Request) (*view, bool) {
	ctx, ok := c.enterOperator(w, r)
	if !ok {
		return nil, false
	}
	items, location, err := c.svc.OperatorBackups(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	drills, _, err := c.svc.OperatorDrills(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	run, err := c.svc.BackupRun(ctx)
	if err != nil {
		c.errorPage(w, r, err)
		return nil, false
	}
	slices.Reverse(items)
	slices.Reverse(drills)
	d := backupsData{Location: location, Backups: items, Drills: drills, CanStart: run.CanStart, Run: toBackupRunView(run, time.Now())}
	if len(drills) > 0 {
		d.LastDrill = &drills[0]
	}
	return &view{Title: "Backups", Nav: "backups", Wide: true, Data: d}, true
}

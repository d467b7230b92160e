package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"strongroom.dev/strongroom"
	"strongroom.dev/strongroom/store"
)

// VerifyAction is the platform audit event that records a verification run
// ('strongroom audit verify'); the trust page shows the newest one.
const VerifyAction = "audit.verify"

// RecordVerification appends the result of a verification run to the
// platform's audit log: counts only, result success when every chain passed.
func RecordVerification(ctx context.Context, st *store.Store, reports []ChainReport, at time.Time) error {
	var events int64
	failed := 0
	for _, r := range reports {
		events += r.Events
		if !r.OK() {
			failed++
		}
	}
	meta, err := json.Marshal(map[string]int64{"chains": int64(len(reports)), "events": events, "failed_chains": int64(failed)})
	if err != nil {
		return fmt.Errorf("encoding verification record: %w", err)
	}
	e := strongroom.AuditEvent{TenantID: strongroom.PlatformTenant, Time: at.UTC().Truncate(time.Microsecond), ActorType: strongroom.PrincipalSystem,
		ActorID: "audit-verify", Action: VerifyAction, TargetType: "audit_log", Result: strongroom.ResultSuccess, Metadata: meta}
	if failed > 0 {
		e.Result, e.Reason = strongroom.ResultFailure, "chains failed verification"
	}
	if err := st.Write(ctx, store.TenantScope(strongroom.PlatformTenant), func(tx *store.Tx) error { return tx.AppendAudit(ctx, &e) }); err != nil {
		return fmt.Errorf("recording the verification run: %w", err)
	}
	return nil
}

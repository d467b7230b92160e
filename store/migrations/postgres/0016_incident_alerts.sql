-- Overdue incident obligations raise alerts (INC-02, INC-03; docs/trust.md):
-- the alert kind "incident_overdue" joins the monitor's kinds.
ALTER TABLE alerts DROP CONSTRAINT alerts_kind_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_kind_check
    CHECK (kind IN ('brute_force', 'credential_stuffing', 'mass_read', 'new_device', 'incident_overdue'));

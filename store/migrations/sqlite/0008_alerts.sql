-- Placeholder for the monitoring branch's 0008_alerts.sql (migrations are
-- numbered without gaps): replaced by that file when both are merged.
SELECT 1;

-- Rows the broker refuses for good (too large, a forbidden topic) are set aside with the
-- reason, so the rows behind them flow; operators list them with `taskstream quarantined`.
ALTER TABLE outbox ADD COLUMN quarantined_at TEXT;
ALTER TABLE outbox ADD COLUMN quarantine_error TEXT;

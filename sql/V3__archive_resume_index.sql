-- Retention archives a retired month in id order and resumes after a crash from the
-- highest id already archived for that month (shared/src/store/retention.rs); this index
-- makes that lookup, and the completeness check before the month is dropped, cheap on an
-- archive that holds years of rows.
CREATE INDEX IF NOT EXISTS idx_audit_archive_from_partition
    ON event_audit_log_archive (archived_from_partition, original_id);

-- V1's mutt_ensure_audit_partition moved DEFAULT rows out and then created the partition,
-- but an audit insert landing in DEFAULT between the two (the alerter writing while the
-- partition of the current month is created) made CREATE TABLE ... PARTITION OF fail with
-- "updated partition constraint for default partition would be violated". Now the audit
-- table is locked for the few milliseconds of the move and the creation; the lock is taken
-- on the parent first, as inserts take it, so the two cannot deadlock.
CREATE OR REPLACE FUNCTION mutt_ensure_audit_partition(month_start DATE) RETURNS BOOLEAN
LANGUAGE plpgsql AS $$
DECLARE
    lower_bound TIMESTAMPTZ := (date_trunc('month', month_start)::timestamp AT TIME ZONE 'UTC');
    upper_bound TIMESTAMPTZ := ((date_trunc('month', month_start) + INTERVAL '1 month')::timestamp AT TIME ZONE 'UTC');
    part_name   TEXT := 'event_audit_log_' || to_char(date_trunc('month', month_start), 'YYYY_MM');
    moved       BIGINT;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('mutt_event_audit_log_partitions'));
    IF to_regclass(quote_ident(part_name)) IS NOT NULL THEN
        RETURN false;
    END IF;
    LOCK TABLE event_audit_log IN ACCESS EXCLUSIVE MODE;
    CREATE TEMP TABLE mutt_partition_move ON COMMIT DROP AS
        SELECT * FROM event_audit_log_default
        WHERE event_timestamp >= lower_bound AND event_timestamp < upper_bound;
    GET DIAGNOSTICS moved = ROW_COUNT;
    IF moved > 0 THEN
        DELETE FROM event_audit_log_default
        WHERE event_timestamp >= lower_bound AND event_timestamp < upper_bound;
    END IF;
    EXECUTE format('CREATE TABLE %I PARTITION OF event_audit_log FOR VALUES FROM (%L) TO (%L)',
                   part_name, lower_bound, upper_bound);
    IF moved > 0 THEN
        INSERT INTO event_audit_log SELECT * FROM mutt_partition_move;
    END IF;
    DROP TABLE mutt_partition_move;
    RETURN true;
END $$;

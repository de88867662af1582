-- MUTT v2.5 schema (reference section 7) with the additions of SPEC section 6.
--
-- Written so that it applies both to an empty database and on top of a live v2.5
-- database (sites replace one Python service at a time): every object is created
-- "if not exists" and the new columns are added the same way. Nothing is dropped.

CREATE TABLE IF NOT EXISTS alert_rules (
    id              SERIAL PRIMARY KEY,
    match_string    VARCHAR(255),
    trap_oid        VARCHAR(255),
    syslog_severity INT,
    match_type      VARCHAR(20)  NOT NULL DEFAULT 'contains',
    priority        INT          NOT NULL DEFAULT 100,
    prod_handling   VARCHAR(100) NOT NULL,
    dev_handling    VARCHAR(100) NOT NULL,
    team_assignment VARCHAR(100) NOT NULL,
    is_active       BOOLEAN      NOT NULL DEFAULT true,
    CONSTRAINT chk_syslog_severity CHECK (syslog_severity IS NULL OR syslog_severity BETWEEN 0 AND 7),
    CONSTRAINT chk_match_criteria CHECK (match_string IS NOT NULL OR trap_oid IS NOT NULL)
);
-- v2.5 declared the match_type check inline (unnamed); ours is named so that it can be found.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM pg_constraint
        WHERE conrelid = 'alert_rules'::regclass AND contype = 'c'
          AND pg_get_constraintdef(oid) LIKE '%match_type%'
    ) THEN
        ALTER TABLE alert_rules ADD CONSTRAINT chk_match_type
            CHECK (match_type IN ('contains', 'regex', 'oid_prefix'));
    END IF;
END $$;
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS name        VARCHAR(255);
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS description TEXT;
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS created_at  TIMESTAMPTZ NOT NULL DEFAULT now();
ALTER TABLE alert_rules ADD COLUMN IF NOT EXISTS updated_at  TIMESTAMPTZ NOT NULL DEFAULT now();
CREATE INDEX IF NOT EXISTS idx_alert_rules_match_type ON alert_rules (match_type);
CREATE INDEX IF NOT EXISTS idx_alert_rules_is_active  ON alert_rules (is_active);

CREATE TABLE IF NOT EXISTS development_hosts (
    hostname VARCHAR(255) PRIMARY KEY
);

CREATE TABLE IF NOT EXISTS device_teams (
    hostname        VARCHAR(255) PRIMARY KEY,
    team_assignment VARCHAR(100) NOT NULL
);

CREATE TABLE IF NOT EXISTS event_audit_log (
    id                BIGSERIAL    NOT NULL,
    event_timestamp   TIMESTAMPTZ  NOT NULL,
    hostname          VARCHAR(255) NOT NULL,
    matched_rule_id   INT          NOT NULL,
    handling_decision VARCHAR(100) NOT NULL,
    forwarded_to_moog BOOLEAN      NOT NULL DEFAULT false,
    raw_message       TEXT,
    PRIMARY KEY (id, event_timestamp),
    CONSTRAINT fk_event_audit_matched_rule FOREIGN KEY (matched_rule_id)
        REFERENCES alert_rules (id) ON DELETE RESTRICT
) PARTITION BY RANGE (event_timestamp);
-- The idempotency key of the audit insert (SPEC section 3): a re-processed event is
-- written once. Unique indexes on a partitioned table must include the partition key.
ALTER TABLE event_audit_log ADD COLUMN IF NOT EXISTS event_id UUID;
CREATE UNIQUE INDEX IF NOT EXISTS uq_event_audit_log_event_id ON event_audit_log (event_id, event_timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_log_timestamp ON event_audit_log (event_timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_log_hostname  ON event_audit_log (hostname);
CREATE INDEX IF NOT EXISTS idx_audit_log_rule_id   ON event_audit_log (matched_rule_id);
-- v2.5 had no DEFAULT partition, so an event outside every month failed (reference 6.6).
CREATE TABLE IF NOT EXISTS event_audit_log_default PARTITION OF event_audit_log DEFAULT;

CREATE TABLE IF NOT EXISTS event_audit_log_archive (
    id                           BIGSERIAL PRIMARY KEY,
    event_timestamp              TIMESTAMPTZ  NOT NULL,
    hostname                     VARCHAR(255) NOT NULL,
    matched_rule_id              INT          NOT NULL,
    handling_decision            VARCHAR(100) NOT NULL,
    forwarded_to_moog            BOOLEAN      NOT NULL DEFAULT false,
    raw_message                  TEXT,
    archived_at                  TIMESTAMPTZ  NOT NULL DEFAULT now(),
    archived_from_partition      VARCHAR(50),
    original_id                  BIGINT,
    original_partition_timestamp TIMESTAMPTZ
);
ALTER TABLE event_audit_log_archive ADD COLUMN IF NOT EXISTS event_id UUID;
CREATE INDEX IF NOT EXISTS idx_audit_archive_timestamp   ON event_audit_log_archive (event_timestamp);
CREATE INDEX IF NOT EXISTS idx_audit_archive_hostname    ON event_audit_log_archive (hostname);
CREATE INDEX IF NOT EXISTS idx_audit_archive_archived_at ON event_audit_log_archive (archived_at);
CREATE INDEX IF NOT EXISTS idx_audit_archive_rule_id     ON event_audit_log_archive (matched_rule_id);

CREATE TABLE IF NOT EXISTS config_audit_log (
    id             BIGSERIAL PRIMARY KEY,
    changed_at     TIMESTAMPTZ  NOT NULL DEFAULT now(),
    changed_by     VARCHAR(100) NOT NULL,
    operation      VARCHAR(10)  NOT NULL CHECK (operation IN ('CREATE', 'UPDATE', 'DELETE')),
    table_name     VARCHAR(50)  NOT NULL,
    record_id      INTEGER      NOT NULL,
    old_values     JSONB,
    new_values     JSONB,
    reason         TEXT,
    correlation_id VARCHAR(36)
);
-- Correlation ids may be up to 64 characters (SPEC section 2); v2.5's 36 made audits fail.
ALTER TABLE config_audit_log ALTER COLUMN correlation_id TYPE VARCHAR(64);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_table_record ON config_audit_log (table_name, record_id);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_changed_at   ON config_audit_log (changed_at DESC);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_changed_by   ON config_audit_log (changed_by);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_correlation_id
    ON config_audit_log (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_config_audit_log_old_values_gin ON config_audit_log USING GIN (old_values);
CREATE INDEX IF NOT EXISTS idx_config_audit_log_new_values_gin ON config_audit_log USING GIN (new_values);

-- Creates the monthly partition that holds `month_start` (any day of the month) if it is
-- missing, and returns whether it created one. Rows of that month already sitting in the
-- DEFAULT partition are moved into the new partition first: PostgreSQL refuses to attach a
-- partition whose range has rows in DEFAULT. Boundaries are UTC so that the month does not
-- depend on the server's time zone. An advisory lock makes concurrent callers take turns.
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

-- v2.5's name, kept for operators' scripts; now safe with rows in DEFAULT.
CREATE OR REPLACE FUNCTION create_monthly_partition(start_date DATE) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM mutt_ensure_audit_partition(start_date);
END $$;

-- v2.5's view, with a real row estimate (v2.5 always reported 1).
CREATE OR REPLACE VIEW partition_health_summary AS
SELECT child.relname::text                               AS partition_name,
       pg_get_expr(child.relpartbound, child.oid)         AS partition_range,
       pg_size_pretty(pg_total_relation_size(child.oid))  AS partition_size,
       GREATEST(child.reltuples, 0)::bigint               AS row_count_estimate
FROM pg_inherits
JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
JOIN pg_class child  ON child.oid  = pg_inherits.inhrelid
WHERE parent.oid = 'event_audit_log'::regclass
ORDER BY child.relname;

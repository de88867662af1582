-- Silences (maintenance windows, issue #18): while one is active, the events it matches
-- are audited as 'silenced', with its id, and not forwarded. A silence is kept after it
-- ends (the "expired" list) and may be deleted; audit rows keep its id either way, so
-- silence_id has no foreign key.
CREATE TABLE IF NOT EXISTS silences (
    id            SERIAL       PRIMARY KEY,
    hostname      VARCHAR(255),
    team          VARCHAR(100),
    rule_id       INT,
    message_regex TEXT,
    starts_at     TIMESTAMPTZ  NOT NULL,
    ends_at       TIMESTAMPTZ  NOT NULL,
    created_by    VARCHAR(100) NOT NULL,
    reason        TEXT         NOT NULL,
    created_at    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ  NOT NULL DEFAULT now(),
    CONSTRAINT silences_window CHECK (ends_at >= starts_at),
    CONSTRAINT silences_matcher CHECK (
        hostname IS NOT NULL OR team IS NOT NULL OR rule_id IS NOT NULL OR message_regex IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS idx_silences_ends_at ON silences (ends_at);

ALTER TABLE event_audit_log ADD COLUMN IF NOT EXISTS silence_id INT;
ALTER TABLE event_audit_log_archive ADD COLUMN IF NOT EXISTS silence_id INT;

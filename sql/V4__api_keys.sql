-- Named API keys (SPEC section 7): the key itself is never stored, only its SHA-256. A key
-- is random (256 bits), so a plain hash is as good as a slow one and lets a request find
-- its key with one index lookup. Revoked keys stay for the audit trail.
CREATE TABLE IF NOT EXISTS api_keys (
    id         SERIAL PRIMARY KEY,
    name       VARCHAR(100) NOT NULL,
    key_sha256 CHAR(64)     NOT NULL UNIQUE,
    scopes     TEXT[]       NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    revoked_at TIMESTAMPTZ,
    CONSTRAINT chk_api_key_scopes CHECK (scopes <@ ARRAY['ingest', 'read', 'admin']::TEXT[] AND cardinality(scopes) > 0)
);
CREATE UNIQUE INDEX IF NOT EXISTS uq_api_keys_active_name ON api_keys (name) WHERE revoked_at IS NULL;

-- Key management (issue #17): who created a key, and when it was last used. A rotated key
-- keeps working until its revoked_at, which rotation sets in the future (the grace period
-- the operator chose): a key is active while revoked_at is NULL or still ahead. The unique
-- index on active names (V4) covers revoked_at IS NULL only, so the new key of a rotation
-- may take the name while the old one finishes its grace.
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS created_by VARCHAR(100);
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS last_used_at TIMESTAMPTZ;

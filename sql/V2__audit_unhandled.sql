-- Unhandled events may be audited too (AUDIT_UNHANDLED=true, issue #4); they match no
-- rule, so matched_rule_id becomes optional. The foreign key still holds for every row
-- that names a rule.
ALTER TABLE event_audit_log ALTER COLUMN matched_rule_id DROP NOT NULL;
ALTER TABLE event_audit_log_archive ALTER COLUMN matched_rule_id DROP NOT NULL;

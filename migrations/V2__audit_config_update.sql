-- The REST API audits configuration changes too (storage-and-api.md §8 + issue #4):
-- widen the action_type CHECK by one value. Existing rows are unaffected.
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_action_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_type_check
    CHECK (action_type IN ('split', 'merge', 'review_dismiss', 'config_update'));

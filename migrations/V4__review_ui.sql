-- The review UI for a reviewer's day (issue #14).
--
-- * `pair_dismiss`: a reviewer declared two groups of the missed-duplicate queue to be
--   different events (cannot-link between every member pair); audited like the
--   other review actions.
-- * `german`: ICU German collation (DIN 5007-1: "Ä" sorts with "A", case after
--   letters), used for the title and city sort of the catalogue. The cluster itself
--   runs with locale C, so the collation is named explicitly.
-- * The missed-duplicate queue reads the ambiguous decisions only.
ALTER TABLE audit_log DROP CONSTRAINT IF EXISTS audit_log_action_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_type_check
    CHECK (action_type IN ('split', 'merge', 'review_dismiss', 'config_update', 'pair_dismiss'));

CREATE COLLATION IF NOT EXISTS german (provider = icu, locale = 'de-DE');

CREATE INDEX IF NOT EXISTS match_decisions_ambiguous_idx
    ON match_decisions (combined_score DESC) WHERE decision = 'ambiguous';

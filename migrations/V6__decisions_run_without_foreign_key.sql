-- A burst into an empty service (issue #12): the first run writes one decision per
-- candidate pair (193k at 100k listings), and each row's foreign-key check on
-- `processing_run_id` locks and probes the same run row again: measured 1.4 s of the
-- 5.8 s it takes to insert those rows (the two checks on the source events, which the
-- storage spec requires, cost 1.7 s more). The reference guards nothing a run can
-- break: the id is the run row this same transaction inserted, and run rows are never
-- deleted (the constraint's ON DELETE SET NULL never fires). The column stays: the run
-- that last changed the decision.
ALTER TABLE match_decisions DROP CONSTRAINT IF EXISTS match_decisions_processing_run_id_fkey;

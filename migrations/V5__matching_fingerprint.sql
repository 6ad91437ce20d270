-- Incremental matching (issue #12): which matching config, word lists, model and
-- binary a run matched with. The matcher keeps its state in memory between runs and
-- rebuilds it at start-up from the stored listings; when the last completed run was
-- made under another fingerprint, the stored catalogue is stale and start-up runs a
-- full re-match instead of trusting it. NULL: a run of a binary before this column.
ALTER TABLE processing_runs ADD COLUMN matching_fingerprint text NULL;

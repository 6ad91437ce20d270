-- LLM tie-breaker (issue #6): the model's explanation of the pairs it answered, and
-- the per-run usage summary (requests, cache hits, tokens, cost, resolved/remaining).
ALTER TABLE match_decisions ADD COLUMN ai_reasoning text NULL;
ALTER TABLE match_decisions ADD COLUMN ai_confidence double precision NULL;
ALTER TABLE processing_runs ADD COLUMN ai_usage jsonb NULL;
-- The dashboard sums usage over a period.
CREATE INDEX ai_usage_log_created_at_idx ON ai_usage_log (created_at);

//! Asking the model about the ambiguous pairs of one run (`matching.md` §5.4,
//! storage-and-api.md §9) and applying its answers: to a full run's [`ScoredRun`]
//! ([`resolve`]) or, as [`TieAnswer`]s, to the incremental matcher's state
//! ([`resolve_questions`], only the pairs a change newly left ambiguous).
//!
//! Order of work: select the pairs in the score band → cache lookup (one query) →
//! ask the rest with at most `ai.max_concurrent_requests` in flight, each request
//! bounded by `ai.request_timeout_seconds`, transient failures retried with
//! exponential backoff → apply every answer → write usage rows and new cache rows
//! (one statement each) → metrics and the `tiebreak_complete` log record.
//!
//! Invariants:
//! * scores and `combined` never change; only `decision`, `tier`, `rule` and the note;
//! * a confident `same` → match, `different` → no_match (tier `ai`, rule `llm`); below
//!   the confidence threshold → stays ambiguous (`ai_low_confidence`); another
//!   decision text → stays ambiguous (`ai_unexpected`); no usable answer → unchanged;
//! * the whole step ends by `ai.budget_seconds`: nothing is started after it, a
//!   request in flight is cut at it, and the run goes on with the pairs left as they
//!   were;
//! * a database failure (cache or usage log) is logged and never fails the run.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use tokio::time::Instant;

use super::cache::{self, CachedAnswer, NewCacheRow};
use super::client::{CallError, ChatClient, ChatRequest, ModelAnswer, Usage};
use super::prompt::{user_message, SYSTEM_MESSAGE};
use super::usage::{estimated_cost, new_batch_id, UsageRow, UsageSummary};
use crate::matching::config::AiConfig;
use crate::matching::incremental::{TieAnswer, Verdict};
use crate::matching::{ScoredPair, ScoredRun};
use crate::metrics::metrics;
use crate::model::llm::LlmLedger;
use crate::model::{AiNote, Decision, SourceEvent};

/// Retries of transient failures (storage spec §9: up to 4) and their backoff.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    pub max_retries: u32,
    /// Delay before the first retry; doubled for each further one.
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not honoured (the backoff applies): a
    /// provider asking for minutes would otherwise eat the whole budget on one pair.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(20),
        }
    }
}

/// The model, its client and the retry policy: what [`resolve`] needs besides the run.
#[derive(Debug, Clone)]
pub struct Tiebreaker {
    pub client: ChatClient,
    pub retry: RetryPolicy,
}

/// One pair to ask.
struct Job {
    index: usize,
    hash: String,
    id_a: String,
    id_b: String,
    user: String,
}

/// How asking about one pair ended.
enum Outcome {
    /// The server answered (`None` = malformed content).
    Answered(Option<ModelAnswer>),
    /// No usable reply (the reason is logged).
    Failed(String),
    /// The budget ran out before or while asking.
    OutOfBudget,
}

struct Asked {
    outcome: Outcome,
    usage: Usage,
    http_calls: u64,
    /// Whether an HTTP request was sent at all (no request, no usage row).
    attempted: bool,
}

/// One pair to ask about: its listings (`a`'s id first) and its scored form (after
/// the review constraints).
#[derive(Debug, Clone, Copy)]
pub struct Question<'e> {
    pub a: &'e SourceEvent,
    pub b: &'e SourceEvent,
    pub pair: &'e ScoredPair,
}

/// The model's usable answer on question `index`, already mapped to its effect.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub index: usize,
    pub verdict: Verdict,
    pub note: AiNote,
}

/// Whether the tie-breaker is asked about a pair at all: ambiguous and inside the
/// configured score band.
pub fn wants_answer(p: &ScoredPair, config: &AiConfig) -> bool {
    p.decision == Decision::Ambiguous
        && config.min_combined_score <= p.combined
        && p.combined <= config.max_combined_score
}

/// The effect of an answer (`matching.md` §5.4): a confident `same` / `different`
/// decides, a less confident one only marks the tier, any other text is unexpected.
pub fn verdict_of(decision: &str, confidence: f64, config: &AiConfig) -> Verdict {
    let decided = match decision {
        "same" => Decision::Match,
        "different" => Decision::NoMatch,
        _ => return Verdict::Unexpected,
    };
    if confidence < config.confidence_threshold {
        Verdict::LowConfidence
    } else {
        Verdict::Resolved(decided)
    }
}

/// Asks about the ambiguous pairs in the band and applies the answers to `run`.
pub async fn resolve(
    run: &mut ScoredRun,
    config: &AiConfig,
    tiebreaker: &Tiebreaker,
    ledger: &impl LlmLedger,
) -> UsageSummary {
    let selected: Vec<usize> = (0..run.pairs.len())
        .filter(|&i| wants_answer(&run.pairs[i], config))
        .collect();
    let (answers, summary) = {
        let questions: Vec<Question<'_>> = selected
            .iter()
            .map(|&i| {
                let p = &run.pairs[i];
                Question {
                    a: &run.events[p.a as usize],
                    b: &run.events[p.b as usize],
                    pair: p,
                }
            })
            .collect();
        ask(&questions, config, tiebreaker, ledger).await
    };
    for answer in answers {
        let index = selected[answer.index];
        answer.verdict.apply_to(&mut run.pairs[index]);
        run.ai_notes.insert(index, answer.note);
    }
    summary
}

/// Asks about `questions` (those outside the band or not ambiguous are skipped) and
/// returns the answers as the incremental matcher takes them.
pub async fn resolve_questions(
    questions: &[Question<'_>],
    config: &AiConfig,
    tiebreaker: &Tiebreaker,
    ledger: &impl LlmLedger,
) -> (Vec<TieAnswer>, UsageSummary) {
    let selected: Vec<Question<'_>> = questions
        .iter()
        .filter(|q| wants_answer(q.pair, config))
        .copied()
        .collect();
    let (answers, summary) = ask(&selected, config, tiebreaker, ledger).await;
    let answers = answers
        .into_iter()
        .map(|answer| {
            let q = &selected[answer.index];
            TieAnswer {
                id_a: q.a.id.clone(),
                id_b: q.b.id.clone(),
                verdict: answer.verdict,
                note: answer.note,
            }
        })
        .collect();
    (answers, summary)
}

/// The answers a finished tie-breaker step left on a scored run, as the incremental
/// matcher takes them (so a state built from the same input agrees with the run).
pub fn answers_of(run: &ScoredRun, config: &AiConfig) -> Vec<TieAnswer> {
    run.ai_notes
        .iter()
        .filter_map(|(&i, note)| {
            let p = run.pairs.get(i)?;
            Some(TieAnswer {
                id_a: run.events[p.a as usize].id.clone(),
                id_b: run.events[p.b as usize].id.clone(),
                verdict: verdict_of(&note.answer, note.confidence, config),
                note: note.clone(),
            })
        })
        .collect()
}

/// The pairs of a finished tie-breaker step that wanted an answer and got none (an
/// outage, the budget): a full run asks about them again, so the incremental matcher
/// keeps them to ask in its next run.
pub fn unanswered_of(run: &ScoredRun, config: &AiConfig) -> Vec<(String, String)> {
    run.pairs
        .iter()
        .enumerate()
        .filter(|(i, p)| wants_answer(p, config) && !run.ai_notes.contains_key(i))
        .map(|(_, p)| {
            (
                run.events[p.a as usize].id.clone(),
                run.events[p.b as usize].id.clone(),
            )
        })
        .collect()
}

/// Of `questions`, those that wanted an answer and are not among `answers`, by ids.
pub fn unanswered_questions(
    questions: &[Question<'_>],
    answers: &[TieAnswer],
    config: &AiConfig,
) -> Vec<(String, String)> {
    let answered: std::collections::HashSet<(&str, &str)> = answers
        .iter()
        .map(|a| (a.id_a.as_str(), a.id_b.as_str()))
        .collect();
    questions
        .iter()
        .filter(|q| wants_answer(q.pair, config))
        .filter(|q| !answered.contains(&(q.a.id.as_str(), q.b.id.as_str())))
        .map(|q| (q.a.id.clone(), q.b.id.clone()))
        .collect()
}

/// Asks about every question (cache first, then the model within the budget) and
/// returns the usable answers with the step's usage summary; records usage and new
/// cache rows. Every question is expected to be [`wants_answer`].
async fn ask(
    questions: &[Question<'_>],
    config: &AiConfig,
    tiebreaker: &Tiebreaker,
    ledger: &impl LlmLedger,
) -> (Vec<Answer>, UsageSummary) {
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(config.budget_seconds);
    let mut summary = UsageSummary {
        batch_id: new_batch_id(),
        model: config.model.clone(),
        ..UsageSummary::default()
    };
    summary.candidates = questions.len() as u64;
    let jobs: Vec<Job> = questions
        .iter()
        .enumerate()
        .map(|(index, q)| Job {
            index,
            hash: cache::pair_hash(q.a, q.b),
            id_a: q.a.id.clone(),
            id_b: q.b.id.clone(),
            user: user_message(q.a, q.b, q.pair),
        })
        .collect();

    let cached = if config.cache_enabled {
        lookup_cache(ledger, &jobs).await
    } else {
        HashMap::new()
    };
    let mut answers: Vec<Answer> = Vec::new();
    let mut rows: Vec<UsageRow> = Vec::new();
    let mut to_ask = Vec::new();
    for job in jobs {
        match cached.get(&job.hash).filter(|c| c.model == config.model) {
            Some(hit) => {
                let answer = ModelAnswer {
                    decision: hit.decision.clone(),
                    confidence: hit.confidence,
                    reasoning: hit.reasoning.clone(),
                };
                answers.push(mapped(job.index, &answer, &hit.model, config, &mut summary));
                metrics().llm_cache_hits.inc();
                rows.push(UsageRow {
                    event_id_a: job.id_a,
                    event_id_b: job.id_b,
                    model: config.model.clone(),
                    usage: Usage::default(),
                    estimated_cost_usd: 0.0,
                    cached: true,
                });
            }
            None => to_ask.push(job),
        }
    }

    let concurrency = usize::try_from(config.max_concurrent_requests.max(1)).unwrap_or(1);
    let asked: Vec<(Job, Asked)> = stream::iter(to_ask)
        .map(|job| async move {
            let asked = ask_with_retries(tiebreaker, config, &job, deadline).await;
            (job, asked)
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;

    let mut new_cache = Vec::new();
    for (job, asked) in asked {
        summary.http_calls += asked.http_calls;
        if asked.attempted {
            rows.push(UsageRow {
                event_id_a: job.id_a.clone(),
                event_id_b: job.id_b.clone(),
                model: config.model.clone(),
                usage: asked.usage,
                estimated_cost_usd: estimated_cost(asked.usage, config),
                cached: false,
            });
        }
        match asked.outcome {
            Outcome::Answered(Some(answer)) => {
                if matches!(answer.decision.as_str(), "same" | "different") {
                    new_cache.push(NewCacheRow {
                        pair_hash: job.hash.clone(),
                        event_id_a: job.id_a.clone(),
                        event_id_b: job.id_b.clone(),
                        answer: CachedAnswer {
                            decision: answer.decision.clone(),
                            confidence: answer.confidence,
                            reasoning: answer.reasoning.clone(),
                            model: config.model.clone(),
                        },
                    });
                }
                answers.push(mapped(
                    job.index,
                    &answer,
                    &config.model,
                    config,
                    &mut summary,
                ));
            }
            Outcome::Answered(None) => {
                summary.failed += 1;
                tracing::warn!(event_id_a = %job.id_a, event_id_b = %job.id_b, "tiebreak_malformed_answer");
            }
            Outcome::Failed(reason) => {
                summary.failed += 1;
                tracing::warn!(event_id_a = %job.id_a, event_id_b = %job.id_b, error = %reason, "tiebreak_request_failed");
            }
            Outcome::OutOfBudget => {
                summary.failed += 1;
                summary.budget_exhausted = true;
            }
        }
    }
    for row in &rows {
        summary.count(row);
    }
    summary.remaining = summary.candidates.saturating_sub(summary.resolved);
    summary.duration_ms = started.elapsed().as_millis() as u64;

    persist(ledger, &summary.batch_id, &rows, &new_cache).await;
    let m = metrics();
    m.llm_tokens
        .with_label_values(&["in"])
        .inc_by(summary.prompt_tokens);
    m.llm_tokens
        .with_label_values(&["out"])
        .inc_by(summary.completion_tokens);
    m.llm_cost_usd.inc_by(
        rows.iter()
            .map(|r| r.estimated_cost_usd)
            .sum::<f64>()
            .max(0.0),
    );
    tracing::info!(
        batch_id = %summary.batch_id,
        model = %summary.model,
        candidates = summary.candidates,
        total_requests = summary.total_requests,
        cached_requests = summary.cached_requests,
        api_requests = summary.api_requests,
        http_calls = summary.http_calls,
        prompt_tokens = summary.prompt_tokens,
        completion_tokens = summary.completion_tokens,
        total_tokens = summary.total_tokens,
        estimated_cost_usd = summary.estimated_cost_usd,
        resolved = summary.resolved,
        low_confidence = summary.low_confidence,
        unexpected = summary.unexpected,
        failed = summary.failed,
        remaining = summary.remaining,
        budget_exhausted = summary.budget_exhausted,
        duration_ms = summary.duration_ms,
        "tiebreak_complete"
    );
    (answers, summary)
}

/// Maps one answer to its effect and counts it in the summary.
fn mapped(
    index: usize,
    answer: &ModelAnswer,
    model: &str,
    config: &AiConfig,
    summary: &mut UsageSummary,
) -> Answer {
    let verdict = verdict_of(&answer.decision, answer.confidence, config);
    match verdict {
        Verdict::Unexpected => summary.unexpected += 1,
        Verdict::LowConfidence => summary.low_confidence += 1,
        Verdict::Resolved(_) => summary.resolved += 1,
    }
    Answer {
        index,
        verdict,
        note: AiNote {
            answer: answer.decision.clone(),
            confidence: answer.confidence,
            reasoning: answer.reasoning.clone(),
            model: model.to_string(),
        },
    }
}

/// Asks once, retrying transient failures, never past `deadline`.
async fn ask_with_retries(
    tiebreaker: &Tiebreaker,
    config: &AiConfig,
    job: &Job,
    deadline: Instant,
) -> Asked {
    let request = ChatRequest {
        model: &config.model,
        temperature: config.temperature,
        max_tokens: config.max_output_tokens,
        system: SYSTEM_MESSAGE,
        user: &job.user,
    };
    let per_request = Duration::from_secs_f64(config.request_timeout_seconds);
    let policy = tiebreaker.retry;
    let m = metrics();
    let mut asked = Asked {
        outcome: Outcome::OutOfBudget,
        usage: Usage::default(),
        http_calls: 0,
        attempted: false,
    };
    let mut retry = 0;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            m.llm_requests
                .with_label_values(&["budget_exhausted"])
                .inc();
            asked.outcome = Outcome::OutOfBudget;
            return asked;
        }
        asked.attempted = true;
        asked.http_calls += 1;
        let cut_by_budget = left < per_request;
        match tiebreaker.client.ask(&request, per_request.min(left)).await {
            Ok(reply) => {
                asked.usage.prompt_tokens += reply.usage.prompt_tokens;
                asked.usage.completion_tokens += reply.usage.completion_tokens;
                let label = if reply.answer.is_some() {
                    "ok"
                } else {
                    "malformed"
                };
                m.llm_requests.with_label_values(&[label]).inc();
                asked.outcome = Outcome::Answered(reply.answer);
                return asked;
            }
            Err(CallError::Transient { timeout: true, .. }) if cut_by_budget => {
                m.llm_requests
                    .with_label_values(&["budget_exhausted"])
                    .inc();
                asked.outcome = Outcome::OutOfBudget;
                return asked;
            }
            Err(CallError::Transient {
                reason,
                retry_after,
                timeout,
            }) => {
                let label = if timeout {
                    "timeout"
                } else {
                    "transient_error"
                };
                m.llm_requests.with_label_values(&[label]).inc();
                if retry >= policy.max_retries {
                    asked.outcome = Outcome::Failed(format!(
                        "{reason} (gave up after {} retries)",
                        policy.max_retries
                    ));
                    return asked;
                }
                let backoff = policy
                    .base_delay
                    .saturating_mul(1 << retry.min(16))
                    .min(policy.max_delay);
                let wait = retry_after
                    .filter(|d| *d <= policy.max_retry_after)
                    .unwrap_or(backoff);
                retry += 1;
                tracing::debug!(event_id_a = %job.id_a, event_id_b = %job.id_b, error = %reason, retry, wait_ms = wait.as_millis() as u64, "tiebreak_retry");
                if Instant::now() + wait >= deadline {
                    asked.outcome = Outcome::OutOfBudget;
                    return asked;
                }
                tokio::time::sleep(wait).await;
            }
            Err(CallError::Permanent(reason)) => {
                m.llm_requests.with_label_values(&["error"]).inc();
                asked.outcome = Outcome::Failed(reason);
                return asked;
            }
        }
    }
}

async fn lookup_cache(ledger: &impl LlmLedger, jobs: &[Job]) -> HashMap<String, CachedAnswer> {
    let hashes: Vec<String> = jobs.iter().map(|j| j.hash.clone()).collect();
    ledger.cached_answers(&hashes).await.unwrap_or_else(|e| {
        tracing::warn!(error = %format!("{e:?}").trim_end(), "tiebreak_cache_unavailable");
        HashMap::new()
    })
}

async fn persist(
    ledger: &impl LlmLedger,
    batch_id: &str,
    rows: &[UsageRow],
    new_cache: &[NewCacheRow],
) {
    if let Err(e) = ledger.record_batch(batch_id, rows, new_cache).await {
        tracing::error!(error = %format!("{e:?}").trim_end(), batch_id, "tiebreak_usage_not_stored");
    }
}

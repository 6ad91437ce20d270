//! The incremental run: the listings committed since the state's mark and the changed
//! review constraints applied to the state, the tie-breaker asked about the newly
//! ambiguous pairs (and those it left unanswered before, as a full run would), the
//! difference persisted ([`PersistDiff`] to the persist actor, awaited). Its cost
//! follows the change, not the catalogue.
//!
//! Also [`apply_answers`]: the tie-breaker asked about given pairs and its answers
//! applied to a state (the state build at start-up uses it too).
//!
//! Invariants:
//! * the run is reported ([`RunReport::send`]) at its commit, and only a committed run
//!   hands its state on to the next one;
//! * pairs the tie-breaker leaves unanswered stay in the state and are asked again by
//!   the next run.

use std::sync::Arc;
use std::time::Instant;

use super::input::Loaded;
use super::report::{log_complete, ms_since, RunReport, StageMs};
use super::run::{in_blocking, RunOutcome};
use super::{Live, Shared};
use crate::actors::persist::PersistDiff;
use crate::actors::stats::RunFigures;
use crate::matching::config::{AiConfig, MatchingConfig};
use crate::matching::incremental::{Change, Diff, MatchState};
use crate::model::RunError;
use crate::store;
use crate::tiebreak::{self, UsageSummary};

/// An incremental run: apply the listings committed since the state's mark and the
/// changed review constraints, ask the tie-breaker about new ambiguous pairs (and
/// those it left unanswered before), persist the difference.
pub(super) async fn incremental_run(
    shared: &Shared,
    report: &RunReport,
    live: Live,
    loaded: Loaded,
    config: MatchingConfig,
    load_ms: f64,
) -> Result<RunOutcome, RunError> {
    let run = &report.run;
    let mut ms = StageMs {
        load: load_ms,
        ..StageMs::default()
    };
    let Live {
        state,
        fingerprint,
        mut unanswered,
        ..
    } = live;
    let Loaded {
        stored,
        constraints,
        events,
        mark,
    } = loaded;
    let constraints = (constraints != *state.constraints()).then_some(constraints);
    let change = Change {
        upserts: events,
        constraints,
        ..Change::default()
    };
    let (mut state, mut diff) = in_blocking(move || {
        let mut state = state;
        let diff = state.apply(change);
        (state, diff)
    })
    .await?;

    let mut run = run.clone();
    run.matching_fingerprint = Some(fingerprint.clone());
    if let Some(tiebreaker) = shared.llm.for_run(&config, stored.as_ref()) {
        let t = Instant::now();
        // The new questions, and the old ones the tie-breaker left unanswered.
        let mut questions = diff.questions.clone();
        questions.append(&mut unanswered);
        questions.sort();
        questions.dedup();
        let answered = apply_answers(shared, state, &questions, &config.ai, &tiebreaker).await?;
        state = answered.state;
        unanswered = answered.unanswered;
        if let Some(answers) = answered.diff {
            diff = diff.then(answers);
        }
        run.ai_usage = Some(answered.usage);
        ms.tiebreak = ms_since(t);
    }

    let f = state.figures();
    let stats = serde_json::json!({ "mode": "incremental", "apply": &diff.stats });
    let t = Instant::now();
    let summary = shared
        .persist
        .send(PersistDiff {
            figures: store::RunFigures {
                events: f.listings,
                candidate_pairs: f.candidate_pairs,
                matches: f.matches,
                ambiguous: f.ambiguous,
                flagged: f.flagged,
                stats,
            },
            diff: Arc::new(diff.clone()),
            run: run.clone(),
        })
        .await
        .map_err(|e| RunError::Persist(format!("persist actor unavailable: {e}")))??;
    ms.persist = ms_since(t);

    let touched = summary.created + summary.updated;
    let figures = RunFigures {
        total_events: f.listings,
        candidate_pairs: f.candidate_pairs,
        matches_found: f.matches,
        ambiguous: f.ambiguous,
        canonicals_created: summary.created,
        canonicals_updated: summary.updated,
        canonicals_unchanged: f.groups.saturating_sub(touched),
        canonicals_removed: summary.removed,
        flagged_for_review: f.flagged,
    };
    let a = &diff.stats;
    log_complete(
        "incremental",
        &figures,
        f.groups,
        &run,
        &ms,
        [a.index_ms, a.score_ms, a.cluster_ms, a.synthesis_ms],
    );
    report.send(shared, Ok(figures.clone())).await;
    tracing::debug!(
        listings_changed = a.listings_changed,
        blocks_touched = a.blocks_touched,
        pairs_scored = a.pairs_scored,
        components_reclustered = a.components_reclustered,
        groups_synthesized = a.groups_synthesized,
        "incremental_apply"
    );
    Ok(RunOutcome {
        figures,
        live: Some(Live {
            state,
            mark,
            fingerprint,
            unanswered,
        }),
    })
}

/// What [`apply_answers`] leaves: the state, the answers' difference (none without
/// answers), the pairs that wanted an answer and got none, and the usage.
pub(super) struct Answered {
    pub(super) state: MatchState,
    diff: Option<Diff>,
    pub(super) unanswered: Vec<(String, String)>,
    usage: UsageSummary,
}

/// Asks the tie-breaker about `pairs` (those in its band) and applies its answers.
pub(super) async fn apply_answers(
    shared: &Shared,
    state: MatchState,
    pairs: &[(String, String)],
    ai: &AiConfig,
    tiebreaker: &tiebreak::Tiebreaker,
) -> Result<Answered, RunError> {
    let (answers, unanswered, usage) = {
        let asked = state.question_pairs(pairs);
        let questions: Vec<tiebreak::Question<'_>> = asked
            .iter()
            .map(|(a, b, pair)| tiebreak::Question { a, b, pair })
            .collect();
        let (answers, usage) =
            tiebreak::resolve_questions(&questions, ai, tiebreaker, &shared.pool).await;
        let unanswered = tiebreak::unanswered_questions(&questions, &answers, ai);
        (answers, unanswered, usage)
    };
    if answers.is_empty() {
        return Ok(Answered {
            state,
            diff: None,
            unanswered,
            usage,
        });
    }
    let (state, diff) = in_blocking(move || {
        let mut state = state;
        let diff = state.apply(Change {
            answers,
            ..Change::default()
        });
        (state, diff)
    })
    .await?;
    Ok(Answered {
        state,
        diff: Some(diff),
        unanswered,
        usage,
    })
}

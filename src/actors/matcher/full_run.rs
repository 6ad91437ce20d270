//! The full re-match: every listing scored in `spawn_blocking`, the tie-breaker asked
//! (async, bounded by `ai.budget_seconds`), clustered and synthesized, persisted by
//! diff ([`PersistRun`] to the persist actor, awaited); then the incremental state is
//! built from the same input and answers.
//!
//! Chosen when there is no state yet, the fingerprint changed, or the change is a
//! large share of the catalogue (a burst into an empty service).
//!
//! Invariants:
//! * the run is reported ([`RunReport::send`]) at its commit, before the state is
//!   built, so the `run_completed` record's time and `duration_ms` are the commit's;
//! * the state is built only after the commit, so a failure there only costs the next
//!   run a full re-match; while a burst of files is ingested it is not built at all;
//! * the state keeps the pairs the tie-breaker left unanswered, so the next
//!   incremental run asks about them again.

use std::sync::Arc;
use std::time::Instant;

use super::input::Loaded;
use super::report::{log_complete, ms_since, RunReport, StageMs};
use super::run::{in_blocking, RunOutcome};
use super::{Live, Shared};
use crate::actors::persist::PersistRun;
use crate::actors::stats::RunFigures;
use crate::matching;
use crate::matching::config::MatchingConfig;
use crate::matching::incremental::{Change, MatchState};
use crate::model::RunError;
use crate::tiebreak;

/// A full re-match of every listing (today's pipeline), persisted by diff; then the
/// incremental state is built from the same input and tie-breaker answers.
pub(super) async fn full_run(
    shared: &Shared,
    report: &RunReport,
    loaded: Loaded,
    config: MatchingConfig,
    fingerprint: String,
    load_ms: f64,
    build_state: impl Fn() -> bool,
) -> Result<RunOutcome, RunError> {
    let run = &report.run;
    let mut ms = StageMs {
        load: load_ms,
        ..StageMs::default()
    };
    let Loaded {
        stored,
        constraints,
        events,
        mark,
    } = loaded;
    let tiebreaker = shared.llm.for_run(&config, stored.as_ref());
    let config = Arc::new(config);
    let constraints = Arc::new(constraints);

    let lists = Arc::clone(&shared.lists);
    let (c, k) = (Arc::clone(&config), Arc::clone(&constraints));
    let mut scored = in_blocking(move || matching::score(events, &c, &lists, &k)).await?;

    let t = Instant::now();
    let ai_usage = match &tiebreaker {
        Some(t) => Some(tiebreak::resolve(&mut scored, &config.ai, t, &shared.pool).await),
        None => None,
    };
    ms.tiebreak = ms_since(t);
    let answers = tiebreak::answers_of(&scored, &config.ai);
    let unanswered = if tiebreaker.is_some() {
        tiebreak::unanswered_of(&scored, &config.ai)
    } else {
        Vec::new()
    };

    let (c, k) = (Arc::clone(&config), Arc::clone(&constraints));
    let result = in_blocking(move || scored.finish(&c, &k)).await?;
    let mut run = run.clone();
    run.ai_usage = ai_usage;
    run.matching_fingerprint = Some(fingerprint.clone());

    let t = Instant::now();
    let result = Arc::new(result);
    let summary = shared
        .persist
        .send(PersistRun {
            result: Arc::clone(&result),
            run: run.clone(),
        })
        .await
        .map_err(|e| RunError::Persist(format!("persist actor unavailable: {e}")))??;
    ms.persist = ms_since(t);

    let s = &result.stats;
    let figures = RunFigures {
        total_events: s.events,
        candidate_pairs: s.candidate_pairs,
        matches_found: s.matches,
        ambiguous: s.ambiguous,
        canonicals_created: summary.created,
        canonicals_updated: summary.updated,
        canonicals_unchanged: summary.unchanged,
        canonicals_removed: summary.removed,
        flagged_for_review: s.flagged,
    };
    let t = &s.timings;
    log_complete(
        "full",
        &figures,
        s.canonical_events,
        &run,
        &ms,
        [
            t.preprocess_ms + t.blocking_ms,
            t.scoring_ms,
            t.clustering_ms,
            t.synthesis_ms,
        ],
    );
    report.send(shared, Ok(figures.clone())).await;

    // The state for the next runs, from the same listings, constraints and answers.
    // The run is committed: a failure here only costs the next run a full re-match.
    // During a burst the next run is a full one anyway: no state yet.
    if !build_state() {
        tracing::info!("match state deferred: a burst of files is being ingested");
        return Ok(RunOutcome {
            figures,
            live: None,
        });
    }
    let t = Instant::now();
    let events = match Arc::try_unwrap(result) {
        Ok(result) => result.events,
        Err(shared_result) => shared_result.events.clone(),
    };
    let (c, k, lists) = (
        Arc::clone(&config),
        Arc::clone(&constraints),
        Arc::clone(&shared.lists),
    );
    let built = in_blocking(move || {
        let (mut state, _) = MatchState::build(events, &c, &lists, &k);
        if !answers.is_empty() {
            state.apply(Change {
                answers,
                ..Change::default()
            });
        }
        state
    })
    .await;
    let live = match built {
        Ok(state) => {
            tracing::info!(
                listings = state.listing_count(),
                groups = state.group_count(),
                state_build_ms = ms_since(t),
                "match_state_built"
            );
            Some(Live {
                state,
                mark,
                fingerprint,
                unanswered,
            })
        }
        Err(e) => {
            tracing::error!(error = %e, "match state not built; the next run is a full re-match");
            None
        }
    };
    Ok(RunOutcome { figures, live })
}

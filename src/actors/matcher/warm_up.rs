//! Start-up: whether the stored catalogue still stands ([`start_up_check`]) and, when
//! it does, the matcher's state built from the stored listings ([`warm_up`]) instead
//! of a run.
//!
//! Used by the [`CatchUp`](super::CatchUp) handler: a full run is scheduled when files
//! lack a covering run or the catalogue was matched with another fingerprint;
//! otherwise the state is built in the background and no run is recorded.
//!
//! Invariants:
//! * the build holds the state's lock, so a run that starts meanwhile waits for it,
//!   and a run that got there first wins (the build is skipped);
//! * the listings are read a page at a time ([`WARM_UP_PAGE`]) into a
//!   [`StateBuilder`], the next page read while one is prepared: a million listings
//!   are never held decoded, nor as rows, at once;
//! * the state asks the tie-breaker about every ambiguous pair, as a full run does, so
//!   it agrees with the stored catalogue;
//! * a failure leaves no state: the first run is then a full re-match.

use std::sync::Arc;
use std::time::Instant;

use super::incremental_run::apply_answers;
use super::input::{run_config, run_fingerprint};
use super::report::ms_since;
use super::run::in_blocking;
use super::{Live, Shared};
use crate::actors::retry_transient;
use crate::matching::config::MatchingConfig;
use crate::matching::incremental::{MatchState, StateBuilder};
use crate::matching::ReviewConstraints;
use crate::model::RunError;
use crate::store::{self, IngestMark, StoredConfig, StoredFingerprint};

/// What start-up needs: a full run, or only the state rebuilt from what is stored.
pub(super) enum StartUp {
    /// The stored catalogue is not the matching of the stored listings (the reason).
    FullRun(&'static str),
    /// It is: build the state in memory, record no run.
    WarmUp,
}

/// Files without a covering run, or a catalogue matched with another fingerprint,
/// need a full run; otherwise the stored catalogue stands.
pub(super) async fn start_up_check(shared: &Shared) -> Result<StartUp, store::StoreError> {
    let (needed, last, stored) =
        retry_transient("check for unmatched files", &shared.shutdown, || async {
            let client = shared.pool.get().await?;
            let needed = store::needs_catch_up(&**client).await?;
            let last = store::last_fingerprint(&**client).await?;
            let stored = store::load_stored_config(&**client).await?;
            Ok((needed, last, stored))
        })
        .await?;
    if needed {
        return Ok(StartUp::FullRun("files without a covering run"));
    }
    let StoredFingerprint::Last(last) = last else {
        return Ok(StartUp::WarmUp);
    };
    let current = run_config(shared, stored.as_ref())
        .map(|config| run_fingerprint(shared, &config, stored.as_ref()))
        .ok();
    if current.is_some() && last == current {
        Ok(StartUp::WarmUp)
    } else {
        Ok(StartUp::FullRun(
            "the catalogue was matched with another config, word lists, model or version",
        ))
    }
}

/// Builds the state from the stored listings (no run recorded), unless a run got
/// there first. Under the state's lock, so a run that starts meanwhile waits for it.
pub(super) async fn warm_up(shared: Arc<Shared>) {
    let mut slot = shared.live.lock().await;
    if slot.is_some() {
        return;
    }
    let started = Instant::now();
    let built = async {
        let WarmInput {
            stored,
            constraints,
            mark,
            config,
            builder,
        } = load_into_builder(&shared).await?;
        let fingerprint = run_fingerprint(&shared, &config, stored.as_ref());
        let tiebreaker = shared.llm.for_run(&config, stored.as_ref());
        let ai = config.ai.clone();
        let mut state = in_blocking(move || builder.finish(&constraints).0).await?;
        // A full run asks about every ambiguous pair (the cache answers the known
        // ones): so does the state, to agree with the stored catalogue.
        let mut unanswered = Vec::new();
        if let Some(tiebreaker) = tiebreaker {
            let asked = state.ambiguous_pairs();
            let answered = apply_answers(shared.as_ref(), state, &asked, &ai, &tiebreaker).await?;
            state = answered.state;
            unanswered = answered.unanswered;
        }
        Ok::<_, RunError>(Live {
            state,
            mark,
            fingerprint,
            unanswered,
        })
    }
    .await;
    match built {
        Ok(live) => {
            tracing::info!(
                listings = live.state.listing_count(),
                groups = live.state.group_count(),
                state_build_ms = ms_since(started),
                "match_state_built"
            );
            *slot = Some(live);
        }
        Err(e) => {
            tracing::error!(error = %e, "match state not built at start-up; the first run is a full re-match")
        }
    }
}

/// Listings per page of the start-up state build (about 50 MiB decoded).
const WARM_UP_PAGE: usize = 1 << 15;

/// The start-up state build's input: what [`load`](super::input::load) reads, with the listings already
/// in a [`StateBuilder`].
struct WarmInput {
    stored: Option<StoredConfig>,
    constraints: ReviewConstraints,
    mark: IngestMark,
    config: MatchingConfig,
    builder: StateBuilder,
}

/// Reads the stored config, the constraints and every listing in one snapshot, the
/// listings a page at a time into a [`StateBuilder`] (the next page is read while
/// one is prepared): a million listings are never held decoded, nor as rows, at
/// once.
async fn load_into_builder(shared: &Shared) -> Result<WarmInput, RunError> {
    retry_transient("load state input", &shared.shutdown, || async {
        let mut client = shared.pool.get().await?;
        let tx = store::begin_run_snapshot(&mut client).await?;
        let stored = store::load_stored_config(&*tx).await?;
        let constraints = store::load_constraints(&*tx).await?;
        let mark = store::ingest_mark(&*tx).await?;
        let expected = store::count_events(&*tx).await?;
        let config = match run_config(shared, stored.as_ref()) {
            Ok(config) => config,
            Err(e) => return Ok(Err(e)),
        };
        let mut builder = MatchState::builder(&config, &shared.lists, expected);
        let mut page = store::load_events_page(&*tx, None, WARM_UP_PAGE).await?;
        while let Some(last) = page.last() {
            let after = last.id.clone();
            let push = in_blocking(move || {
                builder.push(page);
                builder
            });
            let next = store::load_events_page(&*tx, Some(&after), WARM_UP_PAGE);
            let (pushed, next) = tokio::join!(push, next);
            builder = match pushed {
                Ok(builder) => builder,
                Err(e) => return Ok(Err(e)),
            };
            page = next?;
        }
        tx.commit().await?;
        Ok(Ok(WarmInput {
            stored,
            constraints,
            mark,
            config,
            builder,
        }))
    })
    .await
    .map_err(RunError::input)?
}

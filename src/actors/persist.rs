//! `PersistActor`: writes a finished matching run to PostgreSQL, in one transaction,
//! by diff (`store::persist_run`: stable canonical ids, unchanged groups untouched,
//! every pair decision with its explanation, one `processing_runs` row).
//!
//! Accepts: [`PersistRun`] (command, from the matcher, a full run) and
//! [`PersistDiff`] (command, from the matcher, an incremental run: only the groups
//! and decisions it changed, `store::persist_diff`), both answered with the summary.
//! Transient database errors are retried with backoff until shutdown (the run's
//! result is kept meanwhile); other errors are returned to the matcher, which records
//! a failed run.
//!
//! Invariants: it holds no state between messages, so actix's `Supervisor` can restart
//! it after a deliberate stop without losing anything; the matcher sends one run at a
//! time and awaits it (`send().await`), so runs are persisted in order and never
//! interleave (the store's advisory lock also serializes them with review writes).

use std::sync::Arc;

use actix::prelude::*;
use deadpool_postgres::Pool;

use super::{retry_transient, Shutdown};
use crate::matching::incremental::Diff;
use crate::matching::PipelineResult;
use crate::model::RunError;
use crate::store::{self, PersistSummary, RunFigures, RunInfo};

/// One run is persisted at a time; a second waiting one is the most that can happen
/// (a drain request racing a run), so a small mailbox suffices.
pub const MAILBOX_CAPACITY: usize = 4;

/// Write this run (command).
#[derive(Message)]
#[rtype(result = "Result<PersistSummary, RunError>")]
pub struct PersistRun {
    pub result: Arc<PipelineResult>,
    pub run: RunInfo,
}

/// Write this incremental run's difference (command).
#[derive(Message)]
#[rtype(result = "Result<PersistSummary, RunError>")]
pub struct PersistDiff {
    pub diff: Arc<Diff>,
    pub figures: RunFigures,
    pub run: RunInfo,
}

pub struct PersistActor {
    pool: Pool,
    shutdown: Shutdown,
}

impl PersistActor {
    pub fn new(pool: Pool, shutdown: Shutdown) -> Self {
        PersistActor { pool, shutdown }
    }
}

impl Actor for PersistActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.set_mailbox_capacity(MAILBOX_CAPACITY);
    }
}

impl Supervised for PersistActor {
    fn restarting(&mut self, _: &mut Self::Context) {
        tracing::warn!("persist actor restarting");
    }
}

impl Handler<PersistRun> for PersistActor {
    type Result = ResponseFuture<Result<PersistSummary, RunError>>;

    fn handle(&mut self, msg: PersistRun, _: &mut Self::Context) -> Self::Result {
        let (pool, shutdown) = (self.pool.clone(), self.shutdown.clone());
        Box::pin(async move {
            retry_transient("persist run", &shutdown, || async {
                let mut client = pool.get().await?;
                store::persist_run(&mut client, &msg.result, &msg.run).await
            })
            .await
            .map_err(RunError::persist)
        })
    }
}

impl Handler<PersistDiff> for PersistActor {
    type Result = ResponseFuture<Result<PersistSummary, RunError>>;

    fn handle(&mut self, msg: PersistDiff, _: &mut Self::Context) -> Self::Result {
        let (pool, shutdown) = (self.pool.clone(), self.shutdown.clone());
        Box::pin(async move {
            retry_transient("persist incremental run", &shutdown, || async {
                let mut client = pool.get().await?;
                store::persist_diff(&mut client, &msg.diff, &msg.figures, &msg.run).await
            })
            .await
            .map_err(RunError::persist)
        })
    }
}

//! PostgreSQL storage: schema migrations, connection pool, repositories for files,
//! source events, runs (canonical events, membership, decisions) and review
//! constraints, plus a private embedded cluster for demos and tests.
//!
//! * [`embedded`] - start/stop a private PostgreSQL cluster (also as root).
//! * [`pool`] - `deadpool-postgres` pool from a URL; refinery migrations.
//! * [`events`] - one transaction per file: file row, events, dates; failed files;
//!   loading events.
//! * [`file_batch`] - a batch of files in one transaction, a few statements whatever
//!   its size (bulk COPY).
//! * [`runs`] - persist a matching run by diff, keeping canonical ids stable; the
//!   run history.
//! * [`bulk_keys`] - foreign keys of large copies checked by one set statement.
//! * [`canonical`] - the one writer of canonical rows and their source links (runs
//!   and review actions).
//! * [`decisions`] - pair decisions: written by diff per run, read by the API.
//! * [`incremental`] - persist an incremental run's diff (only what it names).
//! * [`changes`] - the listings committed since a run's ingest mark.
//! * [`review`] - review constraints and audit rows; the review queue.
//! * [`review_actions`] - split, merge and dismissals, one transaction each.
//! * [`llm`] - the tie-breaker's answer cache and usage rows.
//! * [`coverage`] - whether committed files wait for a run (start-up catch-up) and
//!   what the stored catalogue was matched with.
//! * [`catalogue`] - the canonical list as reviewers read it (folded search, filters).
//! * [`missed`] - the missed-duplicate queue (ambiguous pairs across groups).
//! * [`config`] - the stored matching-configuration row (`config_settings`).
//! * [`error`] - [`StoreError`], which knows transient from permanent failures.
//! * [`test_support`] - one throwaway cluster per test process, one database per test.
//!
//! Invariant: every write that spans several rows is one transaction and one bulk
//! statement (COPY or `unnest`), never one round trip per row.

pub mod bulk_keys;
pub mod canonical;
pub mod catalogue;
pub mod changes;
pub mod config;
pub mod coverage;
pub mod decisions;
pub mod embedded;
pub mod error;
pub mod events;
pub mod file_batch;
pub mod incremental;
pub mod llm;
pub mod missed;
pub mod pool;
pub mod review;
pub mod review_actions;
pub mod runs;
pub mod test_support;

pub use changes::{
    changed_ids_since, ingest_mark, load_changed_since, ChangedListings, IngestMark,
};
pub use config::{load_stored_config, save_stored_config, StoredConfig};
pub use coverage::{last_fingerprint, needs_catch_up, StoredFingerprint};
pub use embedded::{EmbeddedError, EmbeddedOptions, EmbeddedPostgres};
pub use error::StoreError;
pub use events::{
    completed_files, count_events, ingest_file, ingest_files, insert_file, insert_files,
    is_completed, load_all_events, load_events_by_ids, load_events_page, record_failed_file,
    record_rejection, FileOutcome, PreparedFile, UpdatedEvent,
};
pub use incremental::persist_diff;
pub use pool::{build_pool, migrate};
pub use review::{add_pair_constraint, add_reviewed_set, load_constraints, PairConstraint};
pub use runs::{
    begin_run_snapshot, lock_canonical_state, persist_run, record_failed_run, PersistSummary,
    RunFigures, RunInfo, CANONICAL_LOCK_KEY,
};

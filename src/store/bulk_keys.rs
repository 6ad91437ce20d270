//! Foreign keys of large copies checked by a few set statements instead of row by row.
//!
//! PostgreSQL checks a foreign key per inserted row: an index probe of the referenced
//! table and a `FOR KEY SHARE` lock of the referenced row, one SPI query each. A burst
//! into an empty catalogue copies about two decisions and one membership link per
//! listing, all referencing `source_events`, and at 100k listings those per-row checks
//! were 2.5 s of the run's 6.4 s of persistence (measured on the decisions and links
//! of a 100k burst: COPY 3.0 s with the keys, 1.2 s without; links 0.9 s and 0.3 s).
//!
//! [`KeyCheck::copy`] checks a copy of at least [`MIN_BULK_ROWS`] rows in bulk when
//! the role may set `session_replication_role` (a superuser: the embedded cluster,
//! or a deployment that connects as one). The copy then runs with the role set to
//! `replica`, which skips the per-row triggers for that statement only, and
//! [`KeyCheck::verify`] takes the same guarantees for the transaction in a few set
//! statements: every
//! referenced row that existed before the transaction is locked `FOR KEY SHARE` (the
//! per-row check's lock, so no concurrent delete can orphan a copied row before the
//! commit) and must exist, and every referenced row the transaction wrote itself must
//! exist (nobody else can see an inserted row, let alone delete it, and an updated row
//! is locked by the update). A missing key fails the transaction with the same
//! SQLSTATE (23503) as the trigger would, naming the key.
//!
//! Used by run persistence (decisions and links onto `source_events`, links onto
//! their new canonicals) and by the file batch writer (listings onto their file rows,
//! dates onto their listings).
//!
//! Invariants:
//! * Only inserts run unchecked: `replica` also skips `ON DELETE CASCADE`, so deletes
//!   and updates never run inside [`KeyCheck::copy`]; the tables involved have
//!   no other triggers.
//! * The role is set back to `origin` before anything else runs (`SET LOCAL`, so a
//!   rollback resets it too), and [`KeyCheck::verify`] runs before the commit.
//! * Without the privilege, or for small copies, every check stays per row: the
//!   result is the same, only slower.

use std::future::Future;

use rustc_hash::FxHashSet;
use tokio_postgres::error::SqlState;
use tokio_postgres::Transaction;

use super::error::StoreError;

/// Copies smaller than this keep the per-row checks. A per-row check costs about
/// 5-10 µs of server time; the bulk path costs a few round trips per transaction and
/// 1-3 µs per key, so it pays off from a few hundred rows on. A file-triggered run
/// or a single file stays below the bound and keeps the server's checks.
pub const MIN_BULK_ROWS: usize = 1_000;

/// How the foreign keys of one transaction's copies are checked: per row by the
/// server's triggers, or in bulk by [`KeyCheck::verify`] for the copies that took the
/// bulk path. One value per transaction.
#[derive(Debug, Default)]
pub struct KeyCheck {
    /// Whether the role may skip triggers (asked once, at the first large copy).
    may_skip: Option<bool>,
    /// What the copies that skipped their checks reference.
    refs: References,
    /// Rows copied without per-row checks.
    bulk_rows: usize,
}

/// The keys that rows copied without per-row checks reference, by how the check
/// makes sure they stay: rows that existed before the transaction are locked, rows
/// the transaction wrote itself (inserted, which nobody else can see, or updated,
/// which locks them) only need to exist. Each key is kept once: a burst's decisions
/// name every listing about four times, and a million-listing run would otherwise
/// hold millions of copies.
#[derive(Debug, Default)]
pub struct References {
    stored_sources: FxHashSet<Box<str>>,
    own_sources: FxHashSet<Box<str>>,
    own_canonicals: FxHashSet<i32>,
    own_files: FxHashSet<i32>,
}

impl References {
    /// `source_events` ids that may predate the transaction (locked by the check).
    pub fn stored_sources<'s>(&mut self, ids: impl IntoIterator<Item = &'s str>) -> &mut Self {
        add_texts(&mut self.stored_sources, ids);
        self
    }

    /// `source_events` ids this transaction inserted or updated.
    pub fn own_sources<'s>(&mut self, ids: impl IntoIterator<Item = &'s str>) -> &mut Self {
        add_texts(&mut self.own_sources, ids);
        self
    }

    /// `canonical_events` ids this transaction inserted.
    pub fn own_canonicals(&mut self, ids: &[i32]) -> &mut Self {
        self.own_canonicals.extend(ids);
        self
    }

    /// `file_ingestions` ids this transaction inserted.
    pub fn own_files(&mut self, ids: &[i32]) -> &mut Self {
        self.own_files.extend(ids);
        self
    }
}

/// Adds the ids `set` does not hold yet (one allocation per distinct id).
fn add_texts<'s>(set: &mut FxHashSet<Box<str>>, ids: impl IntoIterator<Item = &'s str>) {
    for id in ids {
        if !set.contains(id) {
            set.insert(id.into());
        }
    }
}

impl KeyCheck {
    pub fn new() -> Self {
        KeyCheck::default()
    }

    /// Rows copied without per-row checks so far (0: every check ran per row).
    pub fn bulk_rows(&self) -> usize {
        self.bulk_rows
    }

    /// Runs `insert` (a copy of `rows` rows; inserts only, see the module
    /// invariants). When `rows` reach [`MIN_BULK_ROWS`] and the role may skip
    /// triggers, it runs without per-row key checks and `references` records the
    /// keys it references for [`KeyCheck::verify`]; otherwise the server checks each
    /// row and `references` is not called.
    pub async fn copy<T>(
        &mut self,
        tx: &Transaction<'_>,
        rows: usize,
        references: impl FnOnce(&mut References),
        insert: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        if rows < MIN_BULK_ROWS || !self.may_skip_triggers(tx).await? {
            return insert.await;
        }
        references(&mut self.refs);
        self.bulk_rows += rows;
        tx.batch_execute("SET LOCAL session_replication_role = replica")
            .await?;
        let out = insert.await?;
        tx.batch_execute("SET LOCAL session_replication_role = origin")
            .await?;
        Ok(out)
    }

    /// Whether the current role may set `session_replication_role` (superusers;
    /// from PostgreSQL 15 also roles granted `SET` on it, which we do not ask for).
    async fn may_skip_triggers(&mut self, tx: &Transaction<'_>) -> Result<bool, StoreError> {
        if let Some(known) = self.may_skip {
            return Ok(known);
        }
        let superuser: String = tx
            .query_one("SELECT current_setting('is_superuser')", &[])
            .await?
            .try_get(0)?;
        let known = superuser == "on";
        self.may_skip = Some(known);
        Ok(known)
    }

    /// Locks every referenced stored source event `FOR KEY SHARE` and checks that
    /// every referenced key exists; a no-op when every check ran per row. Must run
    /// before the commit.
    pub async fn verify(self, tx: &Transaction<'_>) -> Result<(), StoreError> {
        if self.bulk_rows == 0 {
            return Ok(());
        }
        let refs = self.refs;
        lock_stored_sources(tx, &sorted(&refs.stored_sources)).await?;
        for_text(tx, Table::SourceEvents, &sorted(&refs.own_sources)).await?;
        for_int(tx, Table::CanonicalEvents, &sorted(&refs.own_canonicals)).await?;
        for_int(tx, Table::FileIngestions, &sorted(&refs.own_files)).await
    }
}

/// The keys of `set` in key order, so the same keys make the same statement.
fn sorted<K: Ord + ?Sized>(set: &FxHashSet<impl std::borrow::Borrow<K> + Ord>) -> Vec<&K> {
    let mut keys: Vec<&K> = set.iter().map(|k| k.borrow()).collect();
    keys.sort_unstable();
    keys
}

/// A referenced table (a fixed name, never input).
#[derive(Debug, Clone, Copy)]
enum Table {
    SourceEvents,
    CanonicalEvents,
    FileIngestions,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Table::SourceEvents => "source_events",
            Table::CanonicalEvents => "canonical_events",
            Table::FileIngestions => "file_ingestions",
        }
    }
}

/// Locks the stored source events `ids` (sorted, distinct) as the per-row check
/// would; fails on the first that does not exist.
async fn lock_stored_sources(tx: &Transaction<'_>, ids: &[&str]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let locked: i64 = tx
        .query_one(
            "SELECT count(*) FROM (
                 SELECT 1 FROM source_events WHERE id = ANY($1::text[])
                 FOR KEY SHARE) AS locked",
            &[&ids],
        )
        .await?
        .try_get(0)?;
    if usize::try_from(locked).ok() == Some(ids.len()) {
        return Ok(());
    }
    for_text(tx, Table::SourceEvents, ids).await
}

/// Fails on the first of the text keys `ids` that `table` has no row for.
async fn for_text(tx: &Transaction<'_>, table: Table, ids: &[&str]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let absent = tx.query_opt(&absent_sql(table, "text"), &[&ids]).await?;
    match absent {
        Some(row) => Err(missing(table, row.try_get::<_, String>(0)?)),
        None => Ok(()),
    }
}

/// Fails on the first of the integer keys `ids` that `table` has no row for.
async fn for_int(tx: &Transaction<'_>, table: Table, ids: &[&i32]) -> Result<(), StoreError> {
    if ids.is_empty() {
        return Ok(());
    }
    let absent = tx.query_opt(&absent_sql(table, "int4"), &[&ids]).await?;
    match absent {
        Some(row) => Err(missing(table, row.try_get::<_, i32>(0)?.to_string())),
        None => Ok(()),
    }
}

/// The first key of `$1` without a row in `table`.
fn absent_sql(table: Table, key_type: &str) -> String {
    format!(
        "SELECT k FROM unnest($1::{key_type}[]) AS k
         WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE t.id = k)
         LIMIT 1",
        table.name()
    )
}

/// The error a bulk check reports for a key that does not exist.
fn missing(table: Table, key: String) -> StoreError {
    StoreError::MissingKey {
        code: SqlState::FOREIGN_KEY_VIOLATION,
        table: table.name(),
        key,
    }
}

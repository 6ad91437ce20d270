//! `StoreError`: the one error type of the storage boundary.
//!
//! The enum decides whether a failure is **transient** (the database was unreachable,
//! the connection dropped, the pool timed out, a serialization conflict: retry later)
//! or **permanent** (the data broke a constraint or could not be decoded: retrying the
//! same input fails the same way). Callers ask [`StoreError::is_transient`] instead of
//! inspecting SQLSTATEs themselves.

use tokio_postgres::error::SqlState;

#[derive(thiserror::Error)]
pub enum StoreError {
    #[error("database error")]
    Db(#[from] tokio_postgres::Error),
    #[error("could not get a database connection from the pool")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("could not build the connection pool: {0}")]
    PoolConfig(String),
    #[error("schema migration failed")]
    Migration(#[from] refinery::Error),
    #[error("file {file_name} (sha256 {file_hash}) was already ingested")]
    AlreadyIngested {
        file_hash: String,
        file_name: String,
    },
    /// A stored value does not fit the domain type (e.g. malformed JSON column).
    #[error("stored data could not be decoded: {0}")]
    Decode(String),
    /// The caller passed inconsistent input (e.g. derived fields for the wrong events).
    #[error("invalid input: {0}")]
    Invalid(String),
    /// A bulk key check ([`super::bulk_keys`]) found a reference without its row;
    /// `code` is the foreign-key violation the per-row trigger would have raised.
    #[error("foreign key violation: {table} has no row with id {key}")]
    MissingKey {
        code: SqlState,
        table: &'static str,
        key: String,
    },
    #[error(transparent)]
    Embedded(#[from] super::embedded::EmbeddedError),
}

impl std::fmt::Debug for StoreError {
    /// Prints the whole cause chain: `Display` alone hides the SQL error text.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{self}")?;
        let mut source = std::error::Error::source(self);
        while let Some(cause) = source {
            writeln!(f, "Caused by:\n\t{cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

impl StoreError {
    /// True when retrying the same operation later may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            StoreError::Db(e) => db_error_is_transient(e),
            StoreError::Pool(e) => match e {
                deadpool_postgres::PoolError::Backend(e) => db_error_is_transient(e),
                deadpool_postgres::PoolError::Timeout(_) | deadpool_postgres::PoolError::Closed => {
                    true
                }
                deadpool_postgres::PoolError::NoRuntimeSpecified
                | deadpool_postgres::PoolError::PostCreateHook(_) => false,
            },
            StoreError::Migration(_) => false,
            StoreError::Embedded(_) => false,
            StoreError::PoolConfig(_)
            | StoreError::AlreadyIngested { .. }
            | StoreError::Decode(_)
            | StoreError::Invalid(_)
            | StoreError::MissingKey { .. } => false,
        }
    }

    /// The SQLSTATE of a database-reported error, if any.
    pub fn sql_state(&self) -> Option<&SqlState> {
        match self {
            StoreError::Db(e) => e.code(),
            StoreError::Pool(deadpool_postgres::PoolError::Backend(e)) => e.code(),
            StoreError::MissingKey { code, .. } => Some(code),
            _ => None,
        }
    }

    /// True for a unique, foreign-key, check or not-null violation (class 23).
    pub fn is_constraint_violation(&self) -> bool {
        self.sql_state().is_some_and(|c| c.code().starts_with("23"))
    }
}

/// Classifies a driver error: with a SQLSTATE by its class, without one (I/O,
/// closed connection, protocol) as transient.
fn db_error_is_transient(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        Some(code) => is_transient_sql_state(code.code()),
        // No SQLSTATE: the connection failed or an I/O error occurred. Decoding errors
        // of our own rows also land here, but those are caught as `Decode` earlier.
        None => std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>()),
    }
}

/// SQLSTATE classes worth retrying: connection exceptions (08), serialization
/// failure and deadlock (40001, 40P01), insufficient resources (53), operator
/// intervention such as shutdown or "cannot connect now" (57P01-57P03), lock not
/// available (55P03).
pub fn is_transient_sql_state(code: &str) -> bool {
    code.starts_with("08")
        || code.starts_with("53")
        || matches!(
            code,
            "40001" | "40P01" | "57P01" | "57P02" | "57P03" | "55P03"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_states_are_classified() {
        assert!(is_transient_sql_state("08006"));
        assert!(is_transient_sql_state("40001"));
        assert!(is_transient_sql_state("57P03"));
        assert!(!is_transient_sql_state("23505"));
        assert!(!is_transient_sql_state("23514"));
        assert!(!is_transient_sql_state("22001"));
    }

    #[test]
    fn input_errors_are_permanent() {
        assert!(!StoreError::Invalid("x".into()).is_transient());
        assert!(!StoreError::Decode("x".into()).is_transient());
    }
}

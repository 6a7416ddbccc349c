//! SQLite as both servers keep it: one file per database, WAL, every commit synced, and a storage
//! error whose message is for the log only.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;

/// A storage failure. The message is for the log; it never holds a secret (queries bind values).
#[derive(Debug)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self(e.to_string())
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Self(e.to_string())
    }
}

/// One SQLite database file: read-only connections for reads, and one connection for writes.
///
/// SQLite lets one writer in at a time and makes the others wait in its busy handler, which
/// sleeps for milliseconds at a time: under load that, not the work, set the tail latency of
/// every view (each uses its token up with a write). With one write connection, writers queue on
/// the pool instead and each starts the moment the last commits.
#[derive(Debug, Clone)]
pub struct Pools {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

/// Opens (creating if needed) a SQLite database file in WAL mode, with foreign keys on and every
/// commit synced to disk (a used token stays used across a power cut).
pub async fn open_sqlite(path: &Path) -> Result<Pools, StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    let write = SqlitePoolOptions::new().max_connections(1).connect_with(options.clone()).await?;
    let read = SqlitePoolOptions::new().max_connections(8).connect_with(options.read_only(true)).await?;
    Ok(Pools { read, write })
}

//! The databases both servers keep their tables in: a SQLite file per server (the embedded default)
//! or one PostgreSQL database that several replicas share, each server in its own schema. [`Db`]
//! holds either; [`with_pool!`](crate::with_pool) runs one query text on whichever it is, and
//! [`SqlRow`] reads a row of either. A [`StoreError`] says whether the database was out of reach
//! (answer 503, try again) or something else failed.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use zeroize::Zeroizing;

/// Whether a storage failure is worth retrying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    /// The database could not be reached in time (down, restarting, out of connections): the
    /// request may succeed when retried.
    Unavailable,
    /// Anything else: a constraint, a row that does not parse, a bug.
    Failed,
}

/// A storage failure. The message is for the log; it never holds a secret (queries bind values,
/// and a database URL is never part of one).
#[derive(Debug)]
pub struct StoreError {
    kind: StoreErrorKind,
    message: String,
}

impl StoreError {
    pub fn failed(message: impl Into<String>) -> Self {
        Self { kind: StoreErrorKind::Failed, message: message.into() }
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self { kind: StoreErrorKind::Unavailable, message: message.into() }
    }

    pub fn kind(&self) -> StoreErrorKind {
        self.kind
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            StoreErrorKind::Unavailable => write!(f, "storage unavailable: {}", self.message),
            StoreErrorKind::Failed => write!(f, "storage: {}", self.message),
        }
    }
}

impl std::error::Error for StoreError {}

/// SQLSTATE classes and codes that mean "the server is going away or cannot take us now":
/// connection exceptions (08), insufficient resources (53), operator intervention (57P01 admin
/// shutdown, 57P02 crash shutdown, 57P03 cannot connect now), serialization failure and deadlock.
fn transient_sqlstate(code: &str) -> bool {
    code.starts_with("08") || code.starts_with("53") || code.starts_with("57P") || code == "40001" || code == "40P01"
}

/// SQLite's busy and locked result codes (5, 6 and their extended forms).
fn transient_sqlite(code: &str) -> bool {
    code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6))
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        let transient = match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::WorkerCrashed => true,
            sqlx::Error::Database(db) => db.code().is_some_and(|c| transient_sqlstate(&c) || transient_sqlite(&c)),
            _ => false,
        };
        let kind = if transient { StoreErrorKind::Unavailable } else { StoreErrorKind::Failed };
        Self { kind, message: e.to_string() }
    }
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(e) => Self::from(e),
            other => Self::failed(other.to_string()),
        }
    }
}

/// Where a server keeps its tables: the SQLite file in its data directory, or PostgreSQL.
#[derive(Clone)]
pub enum DbConfig {
    /// The embedded default: one SQLite file per server, in its data directory.
    Sqlite,
    /// A PostgreSQL database shared by every replica.
    Postgres {
        /// The connection URL (`postgres://user:password@host/db?sslmode=verify-full`): a secret.
        url: Zeroizing<String>,
        /// How long a request waits for a connection before it is answered 503.
        wait: Duration,
    },
}

impl fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite => f.write_str("Sqlite"),
            Self::Postgres { wait, .. } => f.debug_struct("Postgres").field("wait", wait).finish_non_exhaustive(),
        }
    }
}

impl DbConfig {
    /// The default wait for a connection.
    pub const DEFAULT_WAIT: Duration = Duration::from_secs(5);

    pub fn is_postgres(&self) -> bool {
        matches!(self, Self::Postgres { .. })
    }
}

/// One server's migrations, for each database: SQLite's and PostgreSQL's types differ.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    pub sqlite: &'static Migrator,
    pub postgres: &'static Migrator,
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

/// A server's tables: a SQLite file, or its schema in PostgreSQL (whose one pool serves reads and
/// writes alike).
#[derive(Debug, Clone)]
pub enum Db {
    Sqlite(Pools),
    Postgres(PgPool),
}

/// Runs `$body` on whichever database `$db` is, with `$pool` bound to its pool for `$role` (`read`
/// or `write`; PostgreSQL has one pool for both). The body is written once and compiled for each
/// database, so one query text serves both: `$n` parameters and standard SQL only.
#[macro_export]
macro_rules! with_pool {
    ($db:expr, $role:ident, |$pool:ident| $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite(pools) => {
                let $pool = &pools.$role;
                $body
            }
            $crate::db::Db::Postgres(pool) => {
                let $pool = pool;
                $body
            }
        }
    };
}

impl Db {
    /// Opens a server's tables and brings their schema up to date. On SQLite that is the file
    /// `sqlite_path`; on PostgreSQL the schema `schema` (created if missing), with its own migration
    /// history. Several replicas may do this at the same moment: schema creation and migrations each
    /// run under a PostgreSQL advisory lock.
    pub async fn open(
        config: &DbConfig,
        sqlite_path: &Path,
        schema: &'static str,
        migrations: Migrations,
    ) -> Result<Self, StoreError> {
        match config {
            DbConfig::Sqlite => {
                let pools = open_sqlite(sqlite_path).await?;
                migrations.sqlite.run(&pools.write).await?;
                Ok(Self::Sqlite(pools))
            }
            DbConfig::Postgres { url, wait } => {
                let pool = open_postgres(url, schema, *wait).await?;
                migrations.postgres.run(&pool).await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    /// Whether the database answers a query now: the readiness check.
    pub async fn ping(&self) -> Result<(), StoreError> {
        with_pool!(self, read, |pool| sqlx::query("SELECT 1").execute(pool).await.map(drop))?;
        Ok(())
    }
}

/// Opens (creating if needed) a SQLite database file in WAL mode, with foreign keys on and every
/// commit synced to disk (a used token stays used across a power cut).
pub async fn open_sqlite(path: &Path) -> Result<Pools, StoreError> {
    owner_only_files(path).map_err(|e| StoreError::failed(format!("{}: {e}", path.display())))?;
    let options = SqliteConnectOptions::from_str("sqlite:")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    // No ping before each use: a SQLite connection is a file in this process that nothing closes
    // under us, and the ping was one more round trip to the connection's thread per query.
    let write =
        SqlitePoolOptions::new().max_connections(1).test_before_acquire(false).connect_with(options.clone()).await?;
    let read = SqlitePoolOptions::new()
        .max_connections(8)
        .test_before_acquire(false)
        .connect_with(options.read_only(true))
        .await?;
    Ok(Pools { read, write })
}

/// Creates the database file owner-only (0600) before SQLite opens it, and tightens it and its
/// `-wal`, `-shm` and `-journal` files to 0600 where an older start left them looser. SQLite gives
/// the files it creates later the main file's mode, so they are born 0600 too.
fn owner_only_files(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    let name = path.as_os_str().to_owned();
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut file = name.clone();
        file.push(suffix);
        let file = std::path::PathBuf::from(file);
        match std::fs::metadata(&file) {
            Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
                tracing::warn!(file = %file.display(), "database file readable by others: tightened to 0600");
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Connections per replica and schema.
const POSTGRES_CONNECTIONS: u32 = 16;

/// Opens a pool on PostgreSQL whose connections work in `schema` (created if missing), commit
/// synchronously (an acknowledged claim or PIN write survives a crash of the server), and give up
/// a statement after 15 s. A request waits at most `wait` for a connection.
async fn open_postgres(url: &str, schema: &'static str, wait: Duration) -> Result<PgPool, StoreError> {
    // sqlx's own message can quote the URL, password included: say only what is wrong.
    let options = PgConnectOptions::from_str(url).map_err(|_| {
        StoreError::failed("the database URL does not parse (expected postgres://user:password@host:port/database)")
    })?;
    let options = options.application_name("pinframe").options([
        ("search_path", schema),
        ("synchronous_commit", "on"),
        ("statement_timeout", "15s"),
        ("idle_in_transaction_session_timeout", "15s"),
    ]);
    let pool = PgPoolOptions::new()
        .max_connections(POSTGRES_CONNECTIONS)
        .acquire_timeout(wait)
        .test_before_acquire(true)
        .connect_lazy_with(options);
    let mut tx = pool.begin().await?;
    // Replicas starting together would race on CREATE SCHEMA IF NOT EXISTS (it is not atomic);
    // the lock is the transaction's, released at commit.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('pinframe:create schema'))").execute(&mut *tx).await?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}")).execute(&mut *tx).await?;
    tx.commit().await?;
    Ok(pool)
}

/// Reads a column of a row of either database; a value of the wrong type is a [`StoreError`].
pub trait SqlRow {
    fn int(&self, column: &str) -> Result<i64, StoreError>;
    fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError>;
    fn text(&self, column: &str) -> Result<String, StoreError>;
    fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError>;
    fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError>;
    fn flag(&self, column: &str) -> Result<bool, StoreError>;
}

macro_rules! sql_row {
    ($row:ty) => {
        impl SqlRow for $row {
            fn int(&self, column: &str) -> Result<i64, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn text(&self, column: &str) -> Result<String, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn bytes(&self, column: &str) -> Result<Vec<u8>, StoreError> {
                Ok(self.try_get(column)?)
            }
            fn flag(&self, column: &str) -> Result<bool, StoreError> {
                Ok(self.try_get(column)?)
            }
        }
    };
}

sql_row!(SqliteRow);
sql_row!(PgRow);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_codes() {
        for code in ["08006", "08001", "57P01", "57P03", "53300", "40001", "40P01"] {
            assert!(transient_sqlstate(code), "{code}");
        }
        for code in ["23505", "42P01", "22001"] {
            assert!(!transient_sqlstate(code), "{code}");
        }
        for code in ["5", "6", "517", "261"] {
            assert!(transient_sqlite(code), "{code}");
        }
        for code in ["19", "2067", "1"] {
            assert!(!transient_sqlite(code), "{code}");
        }
        assert_eq!(StoreError::from(sqlx::Error::PoolTimedOut).kind(), StoreErrorKind::Unavailable);
        assert_eq!(StoreError::from(sqlx::Error::RowNotFound).kind(), StoreErrorKind::Failed);
    }

    #[tokio::test]
    async fn a_bad_url_is_not_echoed() {
        let config = DbConfig::Postgres {
            url: Zeroizing::new("postgres://u:s3cret@[bad/db".to_owned()),
            wait: Duration::from_millis(100),
        };
        let none = Migrations { sqlite: &NONE, postgres: &NONE };
        let error = Db::open(&config, Path::new("unused"), "s", none).await.unwrap_err();
        assert!(!error.to_string().contains("s3cret"), "{error}");
        assert!(!format!("{config:?}").contains("s3cret"));
    }

    static NONE: Migrator = Migrator::DEFAULT;
}

//! What both servers take from the command line about their database and their key files: where
//! the tables live ([`DatabaseArgs`]) and whether missing key files may be created ([`KeyFiles`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use pinframe_core::PrivateJwk;
use zeroize::Zeroizing;

use crate::db::DbConfig;
use crate::keys::{self, KeyFileError};
use crate::startup::StartupError;

/// A database URL from the command line or the environment: it may hold a password, so its Debug
/// print says only that it is there.
#[derive(Clone)]
pub struct DatabaseUrl(Zeroizing<String>);

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseUrl(…)")
    }
}

impl FromStr for DatabaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(Zeroizing::new(s.to_owned())))
    }
}

/// Where a server keeps its tables. Without a URL: SQLite files in its data directory.
#[derive(Clone, Debug, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL to keep every table in (postgres://user:password@host:port/db, TLS through
    /// `sslmode`), shared by all replicas. Prefer PINFRAME_DATABASE_URL or --database-url-file: a
    /// process list shows arguments. Without one, SQLite in the data directory.
    #[arg(long, value_name = "URL", env = "PINFRAME_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<DatabaseUrl>,
    /// A file (owner-only permissions) holding the PostgreSQL URL on one line; it wins over a URL
    /// given otherwise.
    #[arg(long, value_name = "FILE")]
    pub database_url_file: Option<PathBuf>,
    /// Seconds a request waits for a database connection before it is answered 503.
    #[arg(long, value_name = "SECONDS", default_value_t = DbConfig::DEFAULT_WAIT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=60))]
    pub database_wait: u64,
}

/// SQLite, as without any of the options.
impl Default for DatabaseArgs {
    fn default() -> Self {
        Self { database_url: None, database_url_file: None, database_wait: DbConfig::DEFAULT_WAIT.as_secs() }
    }
}

impl DatabaseArgs {
    /// PostgreSQL at `url`, with the default wait.
    pub fn postgres(url: &str) -> Self {
        Self { database_url: Some(DatabaseUrl(Zeroizing::new(url.to_owned()))), ..Self::default() }
    }

    /// The database these arguments name.
    pub fn config(&self) -> Result<DbConfig, StartupError> {
        let url = match (&self.database_url, &self.database_url_file) {
            (_, Some(path)) => keys::read_secret(path)?
                .ok_or_else(|| format!("--database-url-file {}: no such file", path.display()))?,
            (Some(DatabaseUrl(url)), None) if !url.is_empty() => url.clone(),
            _ => return Ok(DbConfig::Sqlite),
        };
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err("the database URL must be a PostgreSQL one (postgres://…); without it, SQLite is used".into());
        }
        Ok(DbConfig::Postgres { url, wait: Duration::from_secs(self.database_wait) })
    }
}

/// How a server gets its key files: created on first start (one node with its own SQLite files),
/// or only read (replicas sharing a database must share keys, made once by `init`).
#[derive(Clone, Copy, Debug)]
pub enum KeyFiles<'a> {
    CreateMissing,
    /// A missing file stops the server; the message names it and the command `init` that makes it.
    Require {
        init: &'a str,
    },
}

impl<'a> KeyFiles<'a> {
    /// Created on first start with SQLite; required with a shared database (`init` creates them).
    pub fn for_database(config: &DbConfig, init: &'a str) -> Self {
        if config.is_postgres() {
            Self::Require { init }
        } else {
            Self::CreateMissing
        }
    }

    fn missing(&self, path: &Path) -> KeyFileError {
        let init = match self {
            Self::Require { init } => init,
            Self::CreateMissing => "",
        };
        keys::key_error(
            path,
            format!(
                "missing; with a database URL no key is created at start: create the deployment's keys once \
                 with `{init}` and give every replica a copy"
            ),
        )
    }

    /// The private JWK in `path`.
    pub fn jwk(&self, path: &Path) -> Result<PrivateJwk, KeyFileError> {
        match self {
            Self::CreateMissing => keys::load_or_create_jwk(path),
            Self::Require { .. } => keys::load_jwk(path)?.ok_or_else(|| self.missing(path)),
        }
    }

    /// The 256-bit key in `path`.
    pub fn key256(&self, path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
        match self {
            Self::CreateMissing => keys::load_or_create_key256(path),
            Self::Require { .. } => keys::load_key256(path)?.ok_or_else(|| self.missing(path)),
        }
    }

    /// The client secret in `path`.
    pub fn secret(&self, path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
        match self {
            Self::CreateMissing => keys::load_or_create_secret(path),
            Self::Require { .. } => keys::read_secret(path)?.ok_or_else(|| self.missing(path)),
        }
    }
}

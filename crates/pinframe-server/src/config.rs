//! What both servers take from the command line about their database and their key files: where
//! the tables live ([`DatabaseArgs`]) and whether missing key files may be created ([`KeyFiles`]).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::Args;
use std::sync::Arc;

use zeroize::Zeroizing;

use crate::db::DbConfig;
use crate::hsm::{EcUsage, Hsm, HsmError, HsmSecretKey, SecretUsage};
use crate::keys::{self, KeyFileError, MacKey, Sealer};
use crate::keystore::{self, EcKey};
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

/// How a server gets its keys: key files created on first start (one node with its own SQLite
/// files), or only read (replicas sharing a database must share keys, made once by `init`); or the
/// same two in an HSM, where every private and secret key is a token object named by its file name.
#[derive(Clone, Copy, Debug)]
pub enum KeyFiles<'a> {
    CreateMissing,
    /// A missing file stops the server; the message names it and the command `init` that makes it.
    Require {
        init: &'a str,
    },
    /// Keys in a PKCS#11 token: generated there when `create`, else required. `scope` goes in
    /// front of each key's file name in its label: `""` for the service's keys, `"cms/"` for a
    /// CMS's, so that the two signing keys never share a label.
    Pkcs11 {
        hsm: &'a Arc<Hsm>,
        create: bool,
        init: &'a str,
        scope: &'static str,
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

    /// The same rule for keys in `hsm`, when there is one.
    pub fn in_store(self, hsm: Option<&'a Arc<Hsm>>) -> Self {
        match (self, hsm) {
            (Self::CreateMissing, Some(hsm)) => Self::Pkcs11 { hsm, create: true, init: "", scope: "" },
            (Self::Require { init }, Some(hsm)) => Self::Pkcs11 { hsm, create: false, init, scope: "" },
            (files, _) => files,
        }
    }

    /// The same rule for a CMS's keys (labelled `pinframe/cms/NAME` in a token).
    pub fn for_cms(self) -> Self {
        match self {
            Self::Pkcs11 { hsm, create, init, .. } => Self::Pkcs11 { hsm, create, init, scope: "cms/" },
            files => files,
        }
    }

    /// The token object label of the key whose file would be `path`.
    pub fn label(&self, path: &Path) -> String {
        let scope = match self {
            Self::Pkcs11 { scope, .. } => scope,
            _ => "",
        };
        keystore::label(scope, path)
    }

    /// The HSM, when the keys are in one.
    pub fn hsm(&self) -> Option<&'a Arc<Hsm>> {
        match self {
            Self::Pkcs11 { hsm, .. } => Some(hsm),
            _ => None,
        }
    }

    fn missing(&self, path: &Path) -> KeyFileError {
        let (init, what) = match self {
            Self::Require { init } => (*init, "no key is created at start"),
            Self::Pkcs11 { init, .. } => (*init, "no key is created in the HSM at start"),
            Self::CreateMissing => ("", ""),
        };
        let path = match self {
            Self::Pkcs11 { .. } => PathBuf::from(format!("{} (HSM)", self.label(path))),
            _ => path.to_owned(),
        };
        keys::key_error(
            &path,
            format!(
                "missing; with a database URL {what}: create the deployment's keys once \
                 with `{init}` and give every replica a copy"
            ),
        )
    }

    /// The P-256 private key in `path` (or the token object named after it), for `usage`.
    pub fn jwk(&self, path: &Path, usage: EcUsage) -> Result<EcKey, KeyFileError> {
        match self {
            Self::CreateMissing => keys::load_or_create_jwk(path).map(EcKey::File),
            Self::Require { .. } => keys::load_jwk(path)?.map(EcKey::File).ok_or_else(|| self.missing(path)),
            Self::Pkcs11 { hsm, create, .. } => {
                let label = self.label(path);
                match hsm.ec_key(&label).map_err(|e| self.hsm_error(path, e))? {
                    Some(key) => Ok(EcKey::Hsm(key)),
                    None if *create => {
                        hsm.generate_ec(&label, usage).map(EcKey::Hsm).map_err(|e| self.hsm_error(path, e))
                    }
                    None => Err(self.missing(path)),
                }
            }
        }
    }

    /// The P-256 private key in `path` if there is one (a previous key); never created.
    pub fn existing_jwk(&self, path: &Path) -> Result<Option<EcKey>, KeyFileError> {
        match self {
            Self::Pkcs11 { hsm, .. } => {
                Ok(hsm.ec_key(&self.label(path)).map_err(|e| self.hsm_error(path, e))?.map(EcKey::Hsm))
            }
            _ => Ok(keys::load_jwk(path)?.map(EcKey::File)),
        }
    }

    /// With keys in an HSM, the key file `path` left from before the deployment moved to it: read
    /// as a previous key, so that what it sealed or was encrypted to still opens until `pinframe
    /// keys retire` seals everything again under the token's keys and removes the file.
    pub fn file_left_behind(&self, path: &Path) -> bool {
        matches!(self, Self::Pkcs11 { .. }) && path.exists()
    }

    /// The AES-256 key in `path` (or the token object named after it), as a sealer.
    pub fn sealer(&self, path: &Path) -> Result<Sealer, KeyFileError> {
        match self {
            Self::Pkcs11 { .. } => self.secret_key(path, SecretUsage::Aes).map(Sealer::in_hsm),
            _ => Ok(Sealer::new(&*self.key256(path)?)),
        }
    }

    /// The AES-256 key in `path` if there is one (a previous key), as a sealer; never created.
    pub fn existing_sealer(&self, path: &Path) -> Result<Option<Sealer>, KeyFileError> {
        match self {
            Self::Pkcs11 { hsm, .. } => {
                Ok(hsm.secret_key(&self.label(path)).map_err(|e| self.hsm_error(path, e))?.map(Sealer::in_hsm))
            }
            _ => Ok(keys::load_key256(path)?.map(|key| Sealer::new(&key))),
        }
    }

    /// The HMAC-SHA-256 key in `path` (or the token object named after it).
    pub fn mac(&self, path: &Path) -> Result<MacKey, KeyFileError> {
        match self {
            Self::Pkcs11 { .. } => self.secret_key(path, SecretUsage::Hmac).map(MacKey::in_hsm),
            _ => Ok(MacKey::new(&*self.key256(path)?)),
        }
    }

    fn secret_key(&self, path: &Path, usage: SecretUsage) -> Result<HsmSecretKey, KeyFileError> {
        let Self::Pkcs11 { hsm, create, .. } = self else { unreachable!("only called for keys in an HSM") };
        let label = self.label(path);
        match hsm.secret_key(&label).map_err(|e| self.hsm_error(path, e))? {
            Some(key) => Ok(key),
            None if *create => hsm.generate_secret(&label, usage).map_err(|e| self.hsm_error(path, e)),
            None => Err(self.missing(path)),
        }
    }

    /// The 256-bit key in `path`, from a file.
    fn key256(&self, path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
        match self {
            Self::CreateMissing | Self::Pkcs11 { create: true, .. } => keys::load_or_create_key256(path),
            Self::Require { .. } | Self::Pkcs11 { .. } => keys::load_key256(path)?.ok_or_else(|| self.missing(path)),
        }
    }

    fn hsm_error(&self, path: &Path, e: HsmError) -> KeyFileError {
        keys::key_error(&PathBuf::from(format!("{} (HSM)", self.label(path))), e)
    }

    /// The client secret in `path` (a credential: a file with either key store).
    pub fn secret(&self, path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
        match self {
            Self::CreateMissing | Self::Pkcs11 { create: true, .. } => keys::load_or_create_secret(path),
            Self::Require { .. } | Self::Pkcs11 { .. } => keys::read_secret(path)?.ok_or_else(|| self.missing(path)),
        }
    }
}

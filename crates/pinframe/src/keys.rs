//! The service's key files: their names in the data directory, loading them (created on first
//! start with SQLite, only read with a database, each with the previous key a rotation kept), and
//! `pinframe keys init`, which makes a deployment's set once for every replica to copy.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use pinframe_server::config::KeyFiles;
use pinframe_server::hsm::{EcUsage, Hsm};
use pinframe_server::keyring::Ring;
use pinframe_server::keys::{MacKey, Sealer};
use pinframe_server::keystore::EcKey;
use pinframe_server::rotation::{self, KeyKind, KeySpec};
use pinframe_server::startup::{private_dir, StartupError};

/// The service's decryption key (P-256), in its data directory.
pub const SERVICE_KEY_FILE: &str = "service-key.jwk";
/// The key that seals PANs at rest (hex).
pub const DATA_KEY_FILE: &str = "data-key.hex";
/// The key that signs the Register API's access tokens.
pub const SIGNING_KEY_FILE: &str = "signing-key.jwk";
/// The key that chains the audit trail's records (HMAC-SHA-256, hex). It does not rotate: every
/// record ever written is checked with it.
pub const AUDIT_KEY_FILE: &str = "audit-key.hex";
/// The embedded CMS's directory inside the service's.
pub const CMS_DIR: &str = "cms";

/// The service's key files that `pinframe keys rotate` rotates: all of them.
pub const ROTATING: [KeySpec; 3] = [
    KeySpec { name: SERVICE_KEY_FILE, kind: KeyKind::Jwk },
    KeySpec { name: SIGNING_KEY_FILE, kind: KeyKind::SigningJwk },
    KeySpec { name: DATA_KEY_FILE, kind: KeyKind::Key256 },
];

/// The service's keys: the JWK the widget encrypts new PINs to, the data key, and the signing key
/// (signing and encryption keys are never the same key); each with the previous key while a
/// rotation is under way.
pub struct Keys {
    pub encryption: Ring<EcKey>,
    pub data: Ring<Sealer>,
    pub signing: Ring<EcKey>,
    /// Chains the audit trail.
    pub audit: MacKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("encryption", &self.encryption.kids()).finish_non_exhaustive()
    }
}

/// The service's keys in `data`, created if `files` allow (a previous key never is).
pub fn load_keys(data: &Path, files: KeyFiles<'_>) -> Result<Keys, StartupError> {
    let record = rotation::read_record(data)?;
    let record = record.as_ref();
    Ok(Keys {
        encryption: rotation::jwk_ring(data, SERVICE_KEY_FILE, EcUsage::Derive, files, record)?,
        data: rotation::sealer_ring(data, DATA_KEY_FILE, files, record)?,
        signing: rotation::jwk_ring(data, SIGNING_KEY_FILE, EcUsage::Sign, files, record)?,
        audit: files.mac(&data.join(AUDIT_KEY_FILE))?,
    })
}

/// Creates the missing keys of a deployment (`pinframe keys init`): the service's, and the
/// embedded CMS's in `DIR/cms`, as files or, with `hsm`, in the token. Every replica of a
/// deployment gets a copy of the files (or uses the same token). Returns each key (a file, or a
/// token object's label) and whether it was created (`false`: it was there and is kept).
pub fn init_keys(data: &Path, hsm: Option<&Arc<Hsm>>) -> Result<Vec<(PathBuf, bool)>, StartupError> {
    private_dir(data)?;
    let cms_dir = data.join(CMS_DIR);
    private_dir(&cms_dir)?;
    let files = KeyFiles::CreateMissing.in_store(hsm);
    let paths = [
        data.join(SERVICE_KEY_FILE),
        data.join(DATA_KEY_FILE),
        data.join(SIGNING_KEY_FILE),
        data.join(AUDIT_KEY_FILE),
        cms_dir.join(pinframe_cms::keys::KEY_FILE),
        cms_dir.join(pinframe_cms::keys::KEK_FILE),
    ];
    let existed = paths
        .iter()
        .enumerate()
        .map(|(i, path)| exists(if i >= 4 { files.for_cms() } else { files }, path))
        .collect::<Result<Vec<bool>, _>>()?;
    load_keys(data, files)?;
    files.for_cms().jwk(&paths[4], EcUsage::Derive)?;
    files.for_cms().sealer(&paths[5])?;
    let shown = paths.into_iter().enumerate().map(|(i, path)| {
        let files = if i >= 4 { files.for_cms() } else { files };
        match hsm {
            Some(_) => PathBuf::from(format!("{} (HSM)", files.label(&path))),
            None => path,
        }
    });
    Ok(shown.zip(existed).map(|(path, existed)| (path, !existed)).collect())
}

/// Whether the key `path` names is there: its file, or its object in the HSM.
fn exists(files: KeyFiles<'_>, path: &Path) -> Result<bool, StartupError> {
    if files.hsm().is_none() {
        return Ok(path.exists());
    }
    Ok(files.existing_jwk(path)?.is_some() || files.existing_sealer(path)?.is_some())
}

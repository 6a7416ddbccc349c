//! The CMS's keys: their files in its data directory, loading them with the previous keys a
//! rotation kept (`pinframe keys rotate`), and [`CmsKeys`], the set an [`EmbeddedCms`] works with
//! and replaces when it reloads.
//!
//! [`EmbeddedCms`]: crate::EmbeddedCms

use std::fmt;
use std::path::Path;

use pinframe_core::{PrivateJwk, PublicJwk};
use pinframe_server::config::KeyFiles;
use pinframe_server::hsm::EcUsage;
use pinframe_server::keyring::Ring;
use pinframe_server::keys::{self, Sealer};
use pinframe_server::keystore::EcKey;
use pinframe_server::rotation::{self, KeyKind, KeySpec, Rotation};
use pinframe_server::startup::StartupError;

/// The CMS's key file (its P-256 decryption key), in its data directory.
pub const KEY_FILE: &str = "cms-key.jwk";
/// The CMS's key-encryption key (hex), unless `PINFRAME_CMS_KEK` gives it.
pub const KEK_FILE: &str = "kek.hex";
/// The key that signs the CMS's access tokens.
pub const SIGNING_KEY_FILE: &str = "signing-key.jwk";
/// The CMS client's secret, unless `PINFRAME_CMS_CLIENT_SECRET` gives it.
pub const CLIENT_SECRET_FILE: &str = "client-secret";
/// The environment variable that may hold the key-encryption key instead of its file.
pub const KEK_ENV: &str = "PINFRAME_CMS_KEK";

/// What an embedded CMS encrypts, decrypts and seals with.
pub struct CmsKeys {
    /// Seals PIN blocks at rest.
    pub kek: Ring<Sealer>,
    /// The CMS's own key: blocks written to the CMS are encrypted to it.
    pub key: Ring<EcKey>,
    /// The PIN service's keys: blocks read from the CMS are encrypted to the one active. A
    /// standalone CMS started without `--recipient-jwk` has none and cannot answer `get_pin`.
    pub recipient: Option<Ring<PublicJwk>>,
}

impl fmt::Debug for CmsKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsKeys").field("kids", &self.key.kids()).finish_non_exhaustive()
    }
}

impl CmsKeys {
    /// One key of each kind, no rotation under way.
    pub fn single(kek: &[u8; 32], key: PrivateJwk, recipient: Option<PublicJwk>) -> Self {
        Self {
            kek: Ring::single(Sealer::new(kek)),
            key: Ring::single(EcKey::from(key)),
            recipient: recipient.map(Ring::single),
        }
    }

    /// The key files of a CMS directory in `dir` (as `files` allow), with the previous keys a
    /// rotation kept; `recipient` as the caller has it.
    pub fn load(dir: &Path, files: KeyFiles<'_>, recipient: Option<Ring<PublicJwk>>) -> Result<Self, StartupError> {
        let record = rotation::read_record(dir)?;
        let files = files.for_cms();
        // The encryption key first: a CMS missing every file names that one.
        let key = rotation::jwk_ring(dir, KEY_FILE, EcUsage::Derive, files, record.as_ref())?;
        Ok(Self { kek: kek(dir, files, record.as_ref())?, key, recipient })
    }
}

/// The key-encryption key of a CMS data directory: `PINFRAME_CMS_KEK` (64 hex digits) if set,
/// else its key file there (generated if `files` allow) with the previous one a rotation kept.
pub fn kek(dir: &Path, files: KeyFiles<'_>, record: Option<&Rotation>) -> Result<Ring<Sealer>, StartupError> {
    let files = files.for_cms();
    match std::env::var(KEK_ENV) {
        Ok(hex) => {
            let hex = zeroize::Zeroizing::new(hex);
            let key = keys::parse_key256(hex.trim()).ok_or("PINFRAME_CMS_KEK must be 64 hexadecimal digits")?;
            Ok(Ring::single(Sealer::new(&key)))
        }
        Err(_) => Ok(rotation::sealer_ring(dir, KEK_FILE, files, record)?),
    }
}

/// The key files `pinframe keys rotate` rotates in a CMS directory: its encryption key, its
/// signing key when it has one (a standalone CMS), and its key-encryption key unless
/// `PINFRAME_CMS_KEK` gives that (a key in the environment is the operator's to change). The
/// client secret is a credential, replaced by hand, not rotated here.
pub fn rotating(dir: &Path, files: KeyFiles<'_>) -> Vec<KeySpec> {
    let files = files.for_cms();
    let mut specs = vec![KeySpec { name: KEY_FILE, kind: KeyKind::Jwk }];
    let signing = dir.join(SIGNING_KEY_FILE);
    if signing.exists() || files.existing_jwk(&signing).is_ok_and(|key| key.is_some()) {
        specs.push(KeySpec { name: SIGNING_KEY_FILE, kind: KeyKind::SigningJwk });
    }
    if std::env::var_os(KEK_ENV).is_none() {
        specs.push(KeySpec { name: KEK_FILE, kind: KeyKind::Key256 });
    }
    specs
}

/// Every key file of a CMS directory that may have a previous key, whatever the environment.
pub const ALL_ROTATING: [KeySpec; 3] = [
    KeySpec { name: KEY_FILE, kind: KeyKind::Jwk },
    KeySpec { name: SIGNING_KEY_FILE, kind: KeyKind::SigningJwk },
    KeySpec { name: KEK_FILE, kind: KeyKind::Key256 },
];

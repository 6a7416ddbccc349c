//! What every handler shares: storage, the CMS, the service's keys, the widget, configuration and
//! the clock.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use pinframe_cms::{EmbeddedCms, PinManagement};
use pinframe_core::PublicJwk;
use pinframe_protocol::issuer::Jwks;
use pinframe_protocol::RawJwk;
use pinframe_server::clock::Clock;
use pinframe_server::hsm::Hsm;
use pinframe_server::jwks::{encryption_jwk, encryption_jwks};
use pinframe_server::keyring::{Live, Ring};
use pinframe_server::keys::{SealError, Sealer};
use pinframe_server::keystore::{DecryptError, EcKey};
use pinframe_server::oauth::{JwtAuthority, OAuthState};
use pinframe_server::ops::Ops;
use zeroize::Zeroizing;

use crate::docs_site::DocsSite;
use crate::store::Store;
use crate::widget_assets::WidgetAssets;

/// Settings that do not change while the service runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where devices reach the service, without a trailing slash, e.g. `https://pin.bank.example`.
    pub public_url: String,
    /// Lifetime of a PIN-control token, in seconds.
    pub token_ttl: i64,
    /// Whether `/demo/` and its token endpoint are served.
    pub demo: bool,
}

/// The service's own keys, as a running service holds them: the encryption key of
/// `/.well-known/jwks.json` (PIN blocks from the CMS and, for set-PIN, PINs from the widget are
/// encrypted to it) and the data key sealing PANs, each with the previous key during a rotation.
/// [`replace`](Self::replace) swaps both at once when the service reloads its key files.
pub struct ServiceKeys {
    live: Live<KeySet>,
    source: Option<KeySource>,
}

struct KeySet {
    encryption: Ring<EcKey>,
    data: Ring<Sealer>,
}

/// Where a service's keys came from, to read them again on SIGHUP.
#[derive(Debug)]
pub struct KeySource {
    pub data_dir: PathBuf,
    /// The embedded CMS, whose keys are in `DATA/cms`; `None` with a remote CMS.
    pub embedded_cms: Option<Arc<EmbeddedCms>>,
    /// The HSM holding the keys (`--key-store pkcs11`); `None` with key files.
    pub hsm: Option<Arc<Hsm>>,
}

impl ServiceKeys {
    /// Keys read from `source` (to read them again on reload), or made in memory (`None`).
    pub fn new(encryption: Ring<EcKey>, data: Ring<Sealer>, source: Option<KeySource>) -> Self {
        Self { live: Live::new(KeySet { encryption, data }), source }
    }

    /// Uses these keys from now on (a reload).
    pub fn replace(&self, encryption: Ring<EcKey>, data: Ring<Sealer>) {
        self.live.replace(KeySet { encryption, data });
    }

    pub fn source(&self) -> Option<&KeySource> {
        self.source.as_ref()
    }

    /// Decrypts a JWE to the service key, current or previous (by the header's `kid` when it has
    /// one). Failure is the one opaque error.
    pub fn decrypt(&self, compact: &str) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        self.live.get().encryption.decrypt(compact)
    }

    /// The encryption key the service hands out at `now`, public half.
    pub fn public_key(&self, now: i64) -> PublicJwk {
        self.live.get().encryption.active(now).public().clone()
    }

    /// The public encryption keys, as a ring: what an embedded CMS encrypts blocks to.
    pub fn public_keys(&self) -> Ring<PublicJwk> {
        self.live.get().encryption.public()
    }

    /// What `/.well-known/jwks.json` publishes at `now`: the active key first, then, during a
    /// rotation, the other.
    pub fn jwks(&self, now: i64) -> Jwks {
        encryption_jwks(&self.live.get().encryption, now)
    }

    /// The public encryption key as the widget's session publishes it at `now` (`use: enc`,
    /// `alg: ECDH-ES`): the active one only.
    pub fn public_jwk(&self, now: i64) -> RawJwk {
        encryption_jwk(&self.public_key(now))
    }

    /// Seals under the data key active at `now`.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8], now: i64) -> Result<Vec<u8>, SealError> {
        self.live.get().data.seal(aad, plaintext, now)
    }

    /// Opens a value sealed under the current or the previous data key.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        self.live.get().data.open(aad, sealed)
    }

    /// `None` when `sealed` opens under the current data key, else the value sealed again under it.
    pub fn reseal(&self, aad: &[u8], sealed: &[u8]) -> Result<Option<Vec<u8>>, SealError> {
        self.live.get().data.reseal(aad, sealed)
    }

    /// The encryption keys' `kid`s (current first) and how many data keys there are: what a log may
    /// say about them.
    pub fn summary(&self) -> (Vec<String>, usize) {
        let set = self.live.get();
        (set.encryption.kids(), set.data.iter().count())
    }
}

impl fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKeys").field("kids", &self.summary().0).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub cms: Arc<dyn PinManagement>,
    /// Replaced in place on SIGHUP (`reload::reload_keys`), as are `jwt`'s signing keys.
    pub keys: Arc<ServiceKeys>,
    /// Signs and verifies the access tokens of `/oauth2/token` (Register API).
    pub jwt: Arc<JwtAuthority>,
    pub widget: Arc<WidgetAssets>,
    /// The book at `/docs/` (`--docs-dir`); empty when it is not served.
    pub docs: Arc<DocsSite>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    /// Draining, rate limits and where metrics are served.
    pub ops: Arc<Ops>,
    /// The audit trail (`crate::audit`): this replica's chain.
    pub audit: Arc<crate::audit::Audit>,
}

impl AppState {
    /// The key ids in use, as an audit record of a rotation names them (never a key).
    pub fn key_summary(&self) -> String {
        let (encryption, data_keys) = self.keys.summary();
        format!("encryption={} signing={} data_keys={data_keys}", encryption.join(","), self.jwt.kids().join(","))
    }
}

impl OAuthState for AppState {
    fn authority(&self) -> &JwtAuthority {
        &self.jwt
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

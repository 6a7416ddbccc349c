//! What every handler shares: storage, the CMS, the service's keys, the widget, configuration and
//! the clock.

use std::fmt;
use std::sync::Arc;

use pinframe_core::{PrivateJwk, PublicJwk};

use crate::cms::PinManagement;
use crate::http::widget::WidgetAssets;
use crate::oauth::JwtAuthority;
use crate::secrets::Sealer;
use crate::store::Store;

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

/// Unix time in seconds. Tests move it by hand to expire tokens without sleeping.
pub trait Clock: Send + Sync + fmt::Debug {
    fn now(&self) -> i64;
}

#[derive(Debug, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
    }
}

/// The service's own keys: the encryption key of `/.well-known/jwks.json` (PIN blocks from the CMS
/// and, for set-PIN, PINs from the widget are encrypted to it) and the data key sealing PANs.
pub struct ServiceKeys {
    pub encryption: PrivateJwk,
    pub data: Sealer,
    /// The public half of `encryption` as served (`use: enc`, `alg: ECDH-ES`), built once.
    public_jwk: serde_json::Value,
}

impl ServiceKeys {
    pub fn new(encryption: PrivateJwk, data: Sealer) -> Self {
        let public_jwk = encryption_jwk(encryption.public());
        Self { encryption, data, public_jwk }
    }

    /// What `/.well-known/jwks.json` and the widget's session publish.
    pub fn public_jwk(&self) -> &serde_json::Value {
        &self.public_jwk
    }
}

/// A public encryption key as a JWKS publishes it: with `use: enc` and `alg: ECDH-ES`.
pub fn encryption_jwk(key: &PublicJwk) -> serde_json::Value {
    let mut jwk: serde_json::Value = serde_json::from_str(&key.to_json())
        .unwrap_or_else(|_| unreachable!("a public JWK serializes to a JSON object"));
    jwk["use"] = "enc".into();
    jwk["alg"] = "ECDH-ES".into();
    jwk
}

impl fmt::Debug for ServiceKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceKeys").field("kid", &self.encryption.kid()).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub cms: Arc<dyn PinManagement>,
    pub keys: Arc<ServiceKeys>,
    /// Signs and verifies the access tokens of `/oauth2/token` (Register API).
    pub jwt: Arc<JwtAuthority>,
    pub widget: Arc<WidgetAssets>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
}

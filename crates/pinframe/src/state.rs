//! What every handler shares: storage, the CMS, the service's keys, the widget, configuration and
//! the clock.

use std::fmt;
use std::sync::Arc;

use pinframe_cms::PinManagement;
use pinframe_core::PrivateJwk;
use pinframe_protocol::issuer::Jwks;
use pinframe_protocol::RawJwk;
use pinframe_server::clock::Clock;
use pinframe_server::jwks::encryption_jwk;
use pinframe_server::keys::Sealer;
use pinframe_server::oauth::{JwtAuthority, OAuthState};
use pinframe_server::ops::Ops;

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

/// The service's own keys: the encryption key of `/.well-known/jwks.json` (PIN blocks from the CMS
/// and, for set-PIN, PINs from the widget are encrypted to it) and the data key sealing PANs.
pub struct ServiceKeys {
    pub encryption: PrivateJwk,
    pub data: Sealer,
    /// `/.well-known/jwks.json`: the public half of `encryption` as served (`use: enc`,
    /// `alg: ECDH-ES`), built once.
    jwks: Jwks,
}

impl ServiceKeys {
    pub fn new(encryption: PrivateJwk, data: Sealer) -> Self {
        let jwks = Jwks { keys: vec![encryption_jwk(encryption.public())] };
        Self { encryption, data, jwks }
    }

    /// What `/.well-known/jwks.json` publishes.
    pub fn jwks(&self) -> &Jwks {
        &self.jwks
    }

    /// The public encryption key as the widget's session publishes it.
    pub fn public_jwk(&self) -> RawJwk {
        self.jwks.keys[0].clone()
    }
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
    /// Draining, rate limits and where metrics are served.
    pub ops: Arc<Ops>,
}

impl OAuthState for AppState {
    fn authority(&self) -> &JwtAuthority {
        &self.jwt
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

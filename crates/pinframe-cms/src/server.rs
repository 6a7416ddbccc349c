//! The D1 PIN Management API over HTTP, exactly as an issuer's card management system serves it:
//!
//! - `POST /oauth2/token`: client credentials for the PIN service (HTTP Basic), ES256 JWTs;
//! - `GET` and `PUT /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin`;
//! - `GET /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin/changeCounter`;
//! - `GET /.well-known/jwks.json`: the key `PUT` blocks are encrypted to (both keys, the active
//!   one first, during a key rotation);
//! - `GET /openapi.json`.
//!
//! It has one client (the PIN service). A `--issuer` list limits the issuers that client may act
//! for; without it, any.

use std::fmt;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use pinframe_core::{CardId, CorrelationId, IssuerId};
use pinframe_protocol::d1::{ChangeCounterBody, PinBlockType, PinBody, MAX_ENCRYPTED_PIN_BLOCK_LEN};
use pinframe_protocol::issuer::{Jwks, JWKS_PATH, OAUTH_TOKEN_PATH};
use pinframe_protocol::ops::{HEALTH_PATH, METRICS_PATH, READY_PATH};
use pinframe_server::client::ClientAddr;
use pinframe_server::clock::Clock;
use pinframe_server::credentials;
use pinframe_server::error::{ApiJson, AppError, LogDetail, MAX_JSON_BODY};
use pinframe_server::jwks::jwks_response;
use pinframe_server::middleware::{correlate, json_document, method_not_allowed, not_found};
use pinframe_server::oauth::{self, Grant, JwtAuthority, OAuthState, Principal, TokenError};
use pinframe_server::ops::Ops;
use pinframe_server::readiness;
use pinframe_server::telemetry::metrics_response;

use crate::embedded::EmbeddedCms;
use crate::pin_management::{CmsError, EncryptedPinBlock, PinManagement};

/// The audience and scope of the CMS's access tokens.
pub const AUDIENCE: &str = "pinframe-pin-management-api";
pub const SCOPE: &str = "pin";

/// Lifetime of the CMS's access tokens, in seconds.
pub const ACCESS_TOKEN_TTL: i64 = 900;

/// The one client of the CMS: the PIN service. Only the hash of its secret is kept.
pub struct CmsClient {
    pub id: String,
    pub secret_hash: String,
    pub grant: Grant,
}

impl fmt::Debug for CmsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CmsClient").field("id", &self.id).field("grant", &self.grant).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct CmsState {
    pub cms: Arc<EmbeddedCms>,
    pub jwt: Arc<JwtAuthority>,
    pub client: Arc<CmsClient>,
    pub clock: Arc<dyn Clock>,
    /// Draining, rate limits and where metrics are served.
    pub ops: Arc<Ops>,
}

impl OAuthState for CmsState {
    fn authority(&self) -> &JwtAuthority {
        &self.jwt
    }

    fn now(&self) -> i64 {
        self.clock.now()
    }
}

impl CmsState {
    pub fn new(cms: EmbeddedCms, jwt: JwtAuthority, client: CmsClient, clock: Arc<dyn Clock>) -> Self {
        Self { cms: Arc::new(cms), jwt: Arc::new(jwt), client: Arc::new(client), clock, ops: Arc::new(Ops::default()) }
    }

    /// `/.well-known/jwks.json`: the CMS's encryption key, and the other one during a rotation.
    pub fn jwks(&self) -> Jwks {
        self.cms.jwks(self.clock.now())
    }
}

/// The CMS's router.
pub fn app(state: CmsState) -> Router {
    Router::new()
        .route(OAUTH_TOKEN_PATH, post(token))
        .route("/cms/api/v1/issuers/{issuer_id}/cards/{card_id}/pin", get(get_pin).put(put_pin))
        .route("/cms/api/v1/issuers/{issuer_id}/cards/{card_id}/pin/changeCounter", get(change_counter))
        .route(JWKS_PATH, get(jwks))
        .route(READY_PATH, get(ready))
        .route(HEALTH_PATH, get(readiness::alive))
        .route(METRICS_PATH, get(metrics))
        .route("/openapi.json", get(openapi))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(middleware::from_fn(correlate))
        .with_state(state)
}

async fn jwks(State(state): State<CmsState>) -> Response {
    jwks_response(&state.jwks())
}

/// `GET /readyz`: ready while the CMS's database answers and it is not draining.
async fn ready(State(state): State<CmsState>) -> Response {
    readiness::readiness(&state.ops.lifecycle, readiness::database(state.cms.ping())).await
}

/// `GET /metrics`: the Prometheus text format, where metrics are served on this listener.
async fn metrics(State(state): State<CmsState>) -> Response {
    metrics_response(state.ops.metrics)
}

async fn openapi() -> Response {
    json_document(include_str!("../openapi.json"))
}

/// `POST /oauth2/token`: the PIN service's client credentials.
async fn token(
    State(state): State<CmsState>,
    ClientAddr(source): ClientAddr,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let credentials = match oauth::token_request(&headers, body) {
        Ok(credentials) => credentials,
        Err(e) => return e.into_response(),
    };
    let throttle = &state.ops.throttle.auth;
    if let Err(e) = throttle.admit_slowly(&credentials.client_id, source).await {
        return TokenError::from_failure(&e).into_response();
    }
    let stored = (credentials.client_id == state.client.id).then(|| state.client.secret_hash.clone());
    match credentials::check_counted(throttle, source, &credentials.client_id, credentials.secret, stored).await {
        Ok(true) => {
            tracing::info!(target: "pinframe::cms", client = state.client.id.as_str(), "access token issued");
            oauth::token_response(&state.jwt, &state.client.id, &state.client.grant, state.clock.now())
        }
        Ok(false) => TokenError::invalid_client().into_response(),
        Err(error) => {
            let mut response = TokenError::from_failure(&error).into_response();
            response.extensions_mut().insert(LogDetail(format!("{error:?}")));
            response
        }
    }
}

fn card_id(text: &str) -> Result<CardId, AppError> {
    CardId::parse(text).map_err(|e| AppError::invalid("invalid_card_id", e))
}

/// A failure of the CMS's own API. A [`CmsError`] answers here as the D1 API does (404, 400
/// `invalid_pin_block`, 503 `not_configured`, 503 `storage_unavailable`, 500), not as a PIN
/// service relays it.
#[derive(Debug)]
pub struct D1Error(AppError);

impl From<AppError> for D1Error {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl From<CmsError> for D1Error {
    fn from(error: CmsError) -> Self {
        Self(match error {
            CmsError::NotFound => AppError::NotFound { message: "There is no PIN for this card." },
            CmsError::Rejected(why) => AppError::bad_request("invalid_pin_block", why),
            CmsError::Misconfigured(detail) => AppError::Unavailable {
                code: "not_configured",
                message: "The CMS has no key to encrypt PIN blocks to (start it with --recipient-jwk).",
                detail,
            },
            CmsError::Unavailable(detail) => AppError::internal(detail),
            CmsError::Storage(e) => AppError::from(e),
        })
    }
}

impl IntoResponse for D1Error {
    fn into_response(self) -> Response {
        self.0.into_response()
    }
}

async fn get_pin(
    State(state): State<CmsState>,
    principal: Principal,
    Extension(correlation): Extension<CorrelationId>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, D1Error> {
    let (issuer, card) = principal.authorize_path(path, card_id)?;
    let block = state.cms.get_pin(&issuer, &card, &correlation).await?;
    log(&issuer, "pin read");
    Ok(Json(PinBody { block_type: block.block_type.as_str().to_owned(), encrypted_pin_block: block.jwe })
        .into_response())
}

async fn put_pin(
    State(state): State<CmsState>,
    principal: Principal,
    Extension(correlation): Extension<CorrelationId>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<ApiJson<PinBody>, AppError>,
) -> Result<StatusCode, D1Error> {
    let (issuer, card) = principal.authorize_path(path, card_id)?;
    let ApiJson(mut body) = body?;
    let block_type = PinBlockType::parse(&body.block_type)
        .ok_or_else(|| AppError::bad_request("invalid_type", "type must be ISO0 or SECCOS_3DES."))?;
    if body.encrypted_pin_block.len() > MAX_ENCRYPTED_PIN_BLOCK_LEN {
        return Err(
            AppError::bad_request("invalid_pin_block", "encryptedPinBlock must be at most 8192 characters.").into()
        );
    }
    let block = EncryptedPinBlock { block_type, jwe: std::mem::take(&mut body.encrypted_pin_block) };
    state.cms.set_pin(&issuer, &card, &block, &correlation).await?;
    log(&issuer, "pin set");
    Ok(StatusCode::NO_CONTENT)
}

async fn change_counter(
    State(state): State<CmsState>,
    principal: Principal,
    Extension(correlation): Extension<CorrelationId>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, D1Error> {
    let (issuer, card) = principal.authorize_path(path, card_id)?;
    let counter = state.cms.change_counter(&issuer, &card, &correlation).await?;
    Ok(Json(ChangeCounterBody { change_counter: counter }).into_response())
}

fn log(issuer: &IssuerId, what: &'static str) {
    tracing::info!(target: "pinframe::cms", issuer = issuer.as_str(), "{what}");
}

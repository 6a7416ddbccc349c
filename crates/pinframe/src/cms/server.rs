//! `pinframe cms`: the reference CMS on its own, serving the D1 PIN Management API (seed
//! `d1-pin-management-api.txt`) over HTTP, exactly as an issuer's card management system would:
//!
//! - `POST /oauth2/token`: client credentials for the PIN service (HTTP Basic), ES256 JWTs;
//! - `GET` and `PUT /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin`;
//! - `GET /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin/changeCounter`;
//! - `GET /.well-known/jwks.json`: the key `PUT` blocks are encrypted to;
//! - `GET /openapi.json`.
//!
//! It has one client (the PIN service): its id comes from `--client-id`, its secret from
//! `PINFRAME_CMS_CLIENT_SECRET` or a file generated in the data directory. `--issuer` limits the
//! issuers that client may act for; without it, any.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use pinframe_core::{CardId, CorrelationId, IssuerId, PublicJwk};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{CmsError, EmbeddedCms, EncryptedPinBlock, PinBlockType, PinManagement, MAX_ENCRYPTED_PIN_BLOCK_LEN};
use crate::auth;
use crate::cli::CmsArgs;
use crate::error::{ApiJson, AppError, LogDetail, MAX_JSON_BODY};
use crate::oauth::{self, Grant, JwtAuthority, TokenError};
use crate::secrets;
use crate::server::{bind, private_dir, say, StartupError};
use crate::state::{Clock, SystemClock};

/// The audience and scope of the CMS's access tokens.
pub const AUDIENCE: &str = "d1-pin-management-api";
pub const SCOPE: &str = "pin";

/// Lifetime of the CMS's access tokens, in seconds.
const ACCESS_TOKEN_TTL: i64 = 900;

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
    /// `/.well-known/jwks.json`, built once.
    pub jwks: Arc<serde_json::Value>,
}

impl CmsState {
    /// The state of a CMS whose encryption key is `key`.
    pub fn new(cms: EmbeddedCms, key: &PublicJwk, jwt: JwtAuthority, client: CmsClient, clock: Arc<dyn Clock>) -> Self {
        let jwk = crate::state::encryption_jwk(key);
        Self {
            cms: Arc::new(cms),
            jwt: Arc::new(jwt),
            client: Arc::new(client),
            clock,
            jwks: Arc::new(serde_json::json!({ "keys": [jwk] })),
        }
    }
}

/// The CMS's router.
pub fn app(state: CmsState) -> Router {
    Router::new()
        .route("/oauth2/token", post(token))
        .route("/cms/api/v1/issuers/{issuer_id}/cards/{card_id}/pin", get(get_pin).put(put_pin))
        .route("/cms/api/v1/issuers/{issuer_id}/cards/{card_id}/pin/changeCounter", get(change_counter))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { AppError::NotFound { message: "There is nothing at this path." } })
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(middleware::from_fn(crate::http::correlate))
        .with_state(state)
}

async fn jwks(State(state): State<CmsState>) -> Response {
    let mut response = Json(state.jwks.as_ref()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    response
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("../../openapi-cms.json")).into_response()
}

/// `POST /oauth2/token`: the PIN service's client credentials.
async fn token(State(state): State<CmsState>, headers: HeaderMap, body: Bytes) -> Response {
    let credentials = match oauth::token_request(&headers, &body) {
        Ok(credentials) => credentials,
        Err(e) => return e.into_response(),
    };
    let stored = (credentials.client_id == state.client.id).then(|| state.client.secret_hash.clone());
    match auth::check_secret(credentials.secret, stored).await {
        Ok(true) => {
            tracing::info!(target: "pinframe::cms", client = state.client.id.as_str(), "access token issued");
            oauth::token_response(&state.jwt, &state.client.id, &state.client.grant, state.clock.now())
        }
        Ok(false) => TokenError::invalid_client().into_response(),
        Err(detail) => {
            let mut response = TokenError::server_error().into_response();
            response.extensions_mut().insert(LogDetail(detail));
            response
        }
    }
}

fn card_id(text: &str) -> Result<CardId, AppError> {
    CardId::parse(text).map_err(|e| AppError::invalid("invalid_card_id", e))
}

/// The D1 body of a PIN: the block type and the JWE of the PIN block JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PinBody {
    #[serde(rename = "type")]
    pub block_type: String,
    pub encrypted_pin_block: String,
}

impl fmt::Debug for PinBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinBody").field("type", &self.block_type).finish_non_exhaustive()
    }
}

/// The D1 body of a change counter.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounterBody {
    pub change_counter: u64,
}

fn cms_error(error: CmsError) -> AppError {
    match error {
        CmsError::NotFound => AppError::NotFound { message: "There is no PIN for this card." },
        CmsError::Rejected(why) => AppError::bad_request("invalid_pin_block", why),
        CmsError::Misconfigured(detail) => AppError::Unavailable {
            code: "not_configured",
            message: "The CMS has no key to encrypt PIN blocks to (start it with --recipient-jwk).",
            detail,
        },
        CmsError::Unavailable(detail) => AppError::internal(detail),
    }
}

async fn get_pin(
    State(state): State<CmsState>,
    headers: HeaderMap,
    Extension(correlation): Extension<CorrelationId>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, AppError> {
    let (issuer, card) = state.jwt.authorize_path(&headers, state.clock.now(), path, card_id)?;
    let block = state.cms.get_pin(&issuer, &card, &correlation).await.map_err(cms_error)?;
    log(&issuer, "pin read");
    Ok(Json(PinBody { block_type: block.block_type.as_str().to_owned(), encrypted_pin_block: block.jwe })
        .into_response())
}

async fn put_pin(
    State(state): State<CmsState>,
    headers: HeaderMap,
    Extension(correlation): Extension<CorrelationId>,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<ApiJson<PinBody>, AppError>,
) -> Result<StatusCode, AppError> {
    let (issuer, card) = state.jwt.authorize_path(&headers, state.clock.now(), path, card_id)?;
    let ApiJson(body) = body?;
    let block_type = PinBlockType::parse(&body.block_type)
        .ok_or_else(|| AppError::bad_request("invalid_type", "type must be ISO0 or SECCOS_3DES."))?;
    if body.encrypted_pin_block.len() > MAX_ENCRYPTED_PIN_BLOCK_LEN {
        return Err(AppError::bad_request("invalid_pin_block", "encryptedPinBlock must be at most 8192 characters."));
    }
    let block = EncryptedPinBlock { block_type, jwe: body.encrypted_pin_block };
    state.cms.set_pin(&issuer, &card, &block, &correlation).await.map_err(cms_error)?;
    log(&issuer, "pin set");
    Ok(StatusCode::NO_CONTENT)
}

async fn change_counter(
    State(state): State<CmsState>,
    headers: HeaderMap,
    Extension(correlation): Extension<CorrelationId>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Response, AppError> {
    let (issuer, card) = state.jwt.authorize_path(&headers, state.clock.now(), path, card_id)?;
    let counter = state.cms.change_counter(&issuer, &card, &correlation).await.map_err(cms_error)?;
    Ok(Json(ChangeCounterBody { change_counter: counter }).into_response())
}

fn log(issuer: &IssuerId, what: &'static str) {
    tracing::info!(target: "pinframe::cms", issuer = issuer.as_str(), "{what}");
}

/// The key-encryption key of a CMS data directory: `PINFRAME_CMS_KEK` (64 hex digits) if set,
/// else a key file generated there.
pub(crate) fn kek(dir: &std::path::Path) -> Result<Zeroizing<[u8; 32]>, StartupError> {
    match std::env::var("PINFRAME_CMS_KEK") {
        Ok(hex) => {
            let hex = Zeroizing::new(hex);
            secrets::parse_key256(hex.trim()).ok_or_else(|| "PINFRAME_CMS_KEK must be 64 hexadecimal digits".into())
        }
        Err(_) => Ok(secrets::load_or_create_key256(&dir.join("kek.hex"))?),
    }
}

/// Builds the CMS's state from its arguments. Returns it and where the client secret lives (when
/// it was not given in the environment), to tell the operator.
pub async fn open_state(args: &CmsArgs, public_url: String) -> Result<(CmsState, Option<PathBuf>), StartupError> {
    let dir = &args.data_dir;
    private_dir(dir)?;
    let key = secrets::load_or_create_jwk(&dir.join("cms-key.jwk"))?;
    let signing = secrets::load_or_create_jwk(&dir.join("signing-key.jwk"))?;
    let recipient = match &args.recipient_jwk {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("--recipient-jwk {}: {e}", path.display()))?;
            Some(PublicJwk::parse(&text).map_err(|e| format!("--recipient-jwk {}: {e}", path.display()))?)
        }
        None => None,
    };
    let (secret, secret_file) = match std::env::var("PINFRAME_CMS_CLIENT_SECRET") {
        Ok(secret) if !secret.is_empty() => (Zeroizing::new(secret), None),
        _ => {
            let path = dir.join("client-secret");
            (secrets::load_or_create_secret(&path)?, Some(path))
        }
    };
    let grant = if args.issuers.is_empty() {
        Grant::AnyIssuer
    } else {
        let ids = args.issuers.iter().map(|id| IssuerId::parse(id).map_err(|e| format!("--issuer {id}: {e}")));
        Grant::Issuers(ids.collect::<Result<Vec<_>, _>>()?)
    };
    let secret_hash = tokio::task::spawn_blocking(move || auth::hash_secret(&secret)).await?;
    let client = CmsClient { id: args.client_id.clone(), secret_hash, grant };
    let jwt = JwtAuthority::new(&signing, public_url, AUDIENCE, SCOPE, ACCESS_TOKEN_TTL)?;
    let public = key.public().clone();
    let cms = EmbeddedCms::open(&dir.join("cms.db"), &*kek(dir)?, key, recipient).await?;
    Ok((CmsState::new(cms, &public, jwt, client, Arc::new(SystemClock)), secret_file))
}

/// `pinframe cms`: serves until Ctrl-C or SIGTERM.
pub async fn serve(args: CmsArgs) -> Result<(), StartupError> {
    let (listener, local, public_url) = bind(args.listen, args.public_url.as_deref()).await?;
    let (state, secret_file) = open_state(&args, public_url).await?;
    match &state.client.grant {
        Grant::AnyIssuer => tracing::warn!("no --issuer given: the CMS client may act for any issuer"),
        Grant::Issuers(ids) => tracing::info!(issuers = ids.len(), "the CMS client may act for the --issuer list"),
    }
    if args.recipient_jwk.is_none() {
        tracing::warn!("no --recipient-jwk: GET …/pin answers 503 until the CMS knows the PIN service's key");
    }
    say(&format!("cms client id: {}", state.client.id));
    if let Some(path) = secret_file {
        say(&format!("cms client secret: in {} (or set PINFRAME_CMS_CLIENT_SECRET)", path.display()));
    }
    say(&format!("pinframe cms listening on http://{local}"));
    axum::serve(listener, app(state)).with_graceful_shutdown(crate::server::shutdown()).await?;
    tracing::info!("pinframe cms stopped");
    Ok(())
}

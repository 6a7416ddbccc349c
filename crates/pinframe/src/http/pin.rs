//! The widget's API: `POST /api/v1/pin/session` and `POST /api/v1/pin/view`, authorised by the
//! PIN-control token as a Bearer credential.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CorrelationId, PublicJwk};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::bearer_token_hash;
use crate::error::{ApiJson, AppError};
use crate::pins;
use crate::state::AppState;
use crate::store::{Action, TokenRecord};

const BEARER: &str = "Bearer realm=\"pinframe\"";

/// The PIN lengths the widget accepts. Issuer-specific policies arrive with set-PIN.
const PIN_MIN_LEN: usize = 4;
const PIN_MAX_LEN: usize = 6;

/// The token in `Authorization`, if it exists, is unused and has not expired. Every other case is
/// the same 401, so a caller cannot tell an unknown token from a used one.
async fn live_token(state: &AppState, headers: &HeaderMap) -> Result<TokenRecord, AppError> {
    let unauthorized = || AppError::Unauthorized { scheme: BEARER };
    let hash = bearer_token_hash(headers).ok_or_else(unauthorized)?;
    let record = state.store.token(&hash).await.map_err(AppError::internal)?.ok_or_else(unauthorized)?;
    if record.used || record.expires_at <= state.clock.now() {
        return Err(unauthorized());
    }
    Ok(record)
}

fn require_action(token: &TokenRecord, action: Action) -> Result<(), AppError> {
    if token.action == action {
        Ok(())
    } else {
        Err(AppError::Forbidden { message: "This token is for another action." })
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PinPolicy {
    min_length: usize,
    max_length: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SessionResponse {
    action: &'static str,
    issuer_id: String,
    language: Option<String>,
    parent_origin: Option<String>,
    allowed_parent_origins: Vec<String>,
    expires_at: i64,
    expires_in: i64,
    pin_policy: PinPolicy,
    encryption_jwk: serde_json::Value,
}

/// `POST /api/v1/pin/session`: what the widget needs to run the flow. Does not use up the token.
pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let token = live_token(&state, &headers).await?;
    let mut jwk: serde_json::Value =
        serde_json::from_str(&state.keys.encryption.public().to_json()).map_err(AppError::internal)?;
    jwk["use"] = "enc".into();
    jwk["alg"] = "ECDH-ES".into();
    let body = SessionResponse {
        action: token.action.as_str(),
        issuer_id: token.issuer.as_str().to_owned(),
        language: token.language,
        parent_origin: token.parent_origin,
        allowed_parent_origins: state.store.origins(&token.issuer).await.map_err(AppError::internal)?,
        expires_at: token.expires_at,
        expires_in: token.expires_at - state.clock.now(),
        pin_policy: PinPolicy { min_length: PIN_MIN_LEN, max_length: PIN_MAX_LEN },
        encryption_jwk: jwk,
    };
    Ok(Json(body).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewRequest {
    epk: serde_json::Value,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ViewResponse {
    encrypted_pin: String,
}

/// `POST /api/v1/pin/view`: the card's PIN, encrypted to the widget's ephemeral key. The token is
/// consumed only once the encrypted PIN is ready, so a CMS failure does not burn it, and the
/// conditional update lets exactly one of any concurrent requests through.
pub async fn view(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    headers: HeaderMap,
    body: Result<ApiJson<ViewRequest>, AppError>,
) -> Result<Response, AppError> {
    let token = live_token(&state, &headers).await?;
    require_action(&token, Action::ViewPin)?;
    let ApiJson(request) = body?;
    let epk = match &request.epk {
        serde_json::Value::Object(_) => PublicJwk::parse(&request.epk.to_string()),
        _ => Err(pinframe_core::FormatError::Jwk),
    }
    .map_err(|e| AppError::invalid("invalid_epk", e))?;

    let pan = pins::card_pan(&state, &token.issuer, &token.card).await?;
    let pin = pins::read_pin(&state, &token.issuer, &token.card, &pan, &correlation).await?;
    let mut plaintext = Zeroizing::new(Vec::with_capacity(32));
    plaintext.extend_from_slice(b"{\"pin\":\"");
    plaintext.extend_from_slice(pin.as_bytes());
    plaintext.extend_from_slice(b"\"}");
    drop(pin);
    let encrypted_pin = jwe::encrypt(&epk, &plaintext, &mut OsRng);

    if !state.store.consume_token(&token.hash, state.clock.now()).await.map_err(AppError::internal)? {
        return Err(AppError::Unauthorized { scheme: BEARER });
    }
    tracing::info!(target: "pinframe::pin", issuer = token.issuer.as_str(), "PIN viewed");
    Ok((StatusCode::OK, Json(ViewResponse { encrypted_pin })).into_response())
}

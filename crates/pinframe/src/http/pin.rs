//! The widget's API: `POST /api/v1/pin/session` and `POST /api/v1/pin/view`, authorised by the
//! PIN-control token as a Bearer credential.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CorrelationId, IssuerId, Pin, PinPolicy, PublicJwk};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::auth::bearer_token_hash;
use crate::error::{ApiJson, AppError};
use crate::pins;
use crate::state::AppState;
use crate::store::{Action, TokenRecord};

const BEARER: &str = "Bearer realm=\"pinframe\"";

/// Refused set-PIN attempts a token survives; the third refusal uses it up.
pub const MAX_SET_ATTEMPTS: u32 = 3;

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
struct PolicyJson {
    min_length: usize,
    max_length: usize,
    forbid_years: bool,
}

async fn issuer_policy(state: &AppState, issuer: &IssuerId) -> Result<PinPolicy, AppError> {
    let record = state.store.issuer(issuer).await.map_err(AppError::internal)?;
    Ok(record.ok_or_else(|| AppError::internal("a token names an issuer that no longer exists"))?.policy)
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
    pin_policy: PolicyJson,
    encryption_jwk: serde_json::Value,
    hide_after_seconds: u32,
    allow_copy: bool,
}

/// How long a revealed PIN stays on screen when the token request does not say.
pub const DEFAULT_HIDE_AFTER_SECONDS: u32 = 30;

/// `POST /api/v1/pin/session`: what the widget needs to run the flow. Does not use up the token.
pub async fn session(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, AppError> {
    let token = live_token(&state, &headers).await?;
    let policy = issuer_policy(&state, &token.issuer).await?;
    let body = SessionResponse {
        action: token.action.as_str(),
        issuer_id: token.issuer.as_str().to_owned(),
        language: token.language,
        parent_origin: token.parent_origin,
        allowed_parent_origins: state.store.origins(&token.issuer).await.map_err(AppError::internal)?,
        expires_at: token.expires_at,
        expires_in: token.expires_at - state.clock.now(),
        pin_policy: PolicyJson {
            min_length: policy.min_len(),
            max_length: policy.max_len(),
            forbid_years: policy.forbid_years(),
        },
        encryption_jwk: state.keys.public_jwk().clone(),
        hide_after_seconds: token.hide_after_seconds.unwrap_or(DEFAULT_HIDE_AFTER_SECONDS),
        allow_copy: token.allow_copy,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetRequest {
    encrypted_pin: String,
}

impl std::fmt::Debug for SetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetRequest").finish_non_exhaustive()
    }
}

/// Counts a refused attempt against the token, then returns the refusal.
async fn refuse(state: &AppState, token: &TokenRecord, refusal: AppError) -> AppError {
    match state.store.refuse_attempt(&token.hash, MAX_SET_ATTEMPTS, state.clock.now()).await {
        Ok(_) => refusal,
        Err(e) => AppError::internal(e),
    }
}

/// `POST /api/v1/pin/set`: a new PIN, encrypted to the service key. Checked against the issuer's
/// policy, written to the CMS as a format-0 block (which raises the change counter by one in the
/// same write), and only then is the token used up for good. Refusals count; the third burns it.
pub async fn set(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    headers: HeaderMap,
    body: Result<ApiJson<SetRequest>, AppError>,
) -> Result<Response, AppError> {
    let token = live_token(&state, &headers).await?;
    require_action(&token, Action::SetPin)?;
    let ApiJson(request) = body?;
    let policy = issuer_policy(&state, &token.issuer).await?;

    let undecryptable = || {
        AppError::bad_request(
            "invalid_encrypted_pin",
            "encryptedPin must be a JWE to the service key (ECDH-ES, A256GCM) of {\"pin\":\"…\"}.",
        )
    };
    let Ok(plaintext) = jwe::decrypt(&state.keys.encryption, &request.encrypted_pin) else {
        return Err(refuse(&state, &token, undecryptable()).await);
    };
    let Some(candidate) = pinframe_core::pin::pin_from_plaintext(&plaintext) else {
        return Err(refuse(&state, &token, undecryptable()).await);
    };
    if let Err(violation) = policy.check(candidate) {
        return Err(refuse(&state, &token, AppError::PinPolicy(violation)).await);
    }
    let pin = Pin::parse(candidate).map_err(|_| AppError::internal("a PIN the policy allowed does not parse"))?;
    drop(plaintext);

    // Claim the token before writing, so that of two concurrent requests only one reaches the CMS;
    // give it back if the write fails, since nothing was set.
    if !state.store.consume_token(&token.hash, state.clock.now()).await.map_err(AppError::internal)? {
        return Err(AppError::Unauthorized { scheme: BEARER });
    }
    let written = async {
        let pan = pins::card_pan(&state, &token.issuer, &token.card).await?;
        pins::write_pin(&state, &token.issuer, &token.card, &pan, &pin, &correlation).await
    }
    .await;
    if let Err(error) = written {
        if let Err(e) = state.store.release_token(&token.hash).await {
            tracing::error!(error = %e, "could not give back a token after a failed PIN write");
        }
        return Err(error);
    }
    tracing::info!(target: "pinframe::pin", issuer = token.issuer.as_str(), "PIN set");
    Ok(StatusCode::NO_CONTENT.into_response())
}

//! The widget's API: `POST /api/v1/pin/session`, `/view` and `/set`, authorised by the PIN-control
//! token as a Bearer credential ([`CheckedToken`]).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CorrelationId, IssuerId, Pin, PinPolicy, PublicJwk};
use pinframe_protocol::widget::{
    pin_from_plaintext, pin_plaintext, PinPolicyJson, SessionResponse, SetRequest, ViewRequest, ViewResponse,
    DEFAULT_HIDE_AFTER_SECONDS,
};
use pinframe_protocol::Action;
use pinframe_server::error::{ApiJson, AppError};
use pinframe_server::keystore::DecryptError;

use crate::audit::{AuditCtx, Entry, Event};
use crate::pins::{self, NO_CARD};
use crate::state::AppState;
use crate::token::{self, CheckedToken};

async fn issuer_policy(state: &AppState, issuer: &IssuerId) -> Result<PinPolicy, AppError> {
    let record = state.store.issuer(issuer).await?;
    Ok(record.ok_or_else(|| AppError::internal("a token names an issuer that no longer exists"))?.policy)
}

/// `POST /api/v1/pin/session`: what the widget needs to run the flow. Does not use up the token.
/// A refused token's 401 names the token's `parentOrigin` ([`token::session_refusal`]).
pub async fn session(
    State(state): State<AppState>,
    ctx: AuditCtx,
    headers: HeaderMap,
    token: Result<CheckedToken, AppError>,
) -> Result<Response, AppError> {
    let token = match token {
        Ok(token) => token,
        Err(AppError::Unauthorized { .. }) => return Ok(token::session_refusal(&state, &headers).await),
        Err(other) => return Err(other),
    };
    let token = token.record();
    let policy = issuer_policy(&state, &token.issuer).await?;
    let body = SessionResponse {
        action: token.action,
        issuer_id: token.issuer.as_str().to_owned(),
        language: token.language.clone(),
        parent_origin: token.parent_origin.clone(),
        allowed_parent_origins: state.store.origins(&token.issuer).await?,
        expires_at: token.expires_at,
        expires_in: token.expires_at - state.clock.now(),
        pin_policy: PinPolicyJson::from(&policy),
        encryption_jwk: state.keys.public_jwk(state.clock.now()),
        hide_after_seconds: token.hide_after_seconds.unwrap_or(DEFAULT_HIDE_AFTER_SECONDS),
        allow_copy: token.allow_copy,
    };
    let entry = Entry::new(Event::SessionOpened, "ok").issuer(&token.issuer).card(token.card.as_str());
    state.audit.note(entry.detail(format!("action={}", token.action.as_str())).ctx(&ctx), state.clock.now()).await;
    Ok(Json(body).into_response())
}

/// `POST /api/v1/pin/view`: the card's PIN, encrypted to the widget's ephemeral key. The token is
/// claimed first, in the one statement that also reads the card's PAN (so of any concurrent
/// requests exactly one gets through), and given back if the card is gone or the CMS fails or has
/// no PIN, so none of those burns it. A card the CMS has no PIN for is 404 `no_pin`, and the token
/// stays unused: the same link shows the PIN once one is set, until it expires. A refused token
/// (401, 403) is answered before a malformed body (400), which uses nothing up.
pub async fn view(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    ctx: AuditCtx,
    headers: HeaderMap,
    body: Result<ApiJson<ViewRequest>, AppError>,
) -> Result<Response, AppError> {
    let epk = match body.and_then(|ApiJson(request)| widget_epk(&request)) {
        Ok(epk) => epk,
        Err(refusal) => {
            CheckedToken::check(&state, &headers).await?.require(Action::ViewPin)?;
            return Err(refusal);
        }
    };
    let claimed = token::claim(&state, &headers, Action::ViewPin).await?;
    let record = &claimed.record;
    let encrypted = async {
        let sealed = record.pan_sealed.as_deref().ok_or(AppError::NotFound { message: NO_CARD })?;
        let pan = pins::open_pan(&state.keys, &record.issuer, &record.card, sealed)?;
        let pin = pins::read_pin(&state, &record.issuer, &record.card, &pan, &correlation).await?;
        Ok::<_, AppError>(jwe::encrypt(&epk, &pin_plaintext(&pin), &mut OsRng))
    }
    .await;
    // No PIN leaves without its audit record: if that cannot be written, the token is given back
    // and the answer is 503 `audit_unavailable`.
    let encrypted = match encrypted {
        Ok(pin) => {
            let entry = Entry::new(Event::PinViewed, "ok").issuer(&record.issuer).card(record.card.as_str()).ctx(&ctx);
            state.audit.record(entry, state.clock.now()).await.map(|()| pin).map_err(AppError::from)
        }
        Err(error) => Err(error),
    };
    match encrypted {
        Ok(encrypted_pin) => {
            tracing::info!(target: "pinframe::pin", issuer = record.issuer.as_str(), "PIN viewed");
            claimed.done();
            Ok((StatusCode::OK, Json(ViewResponse { encrypted_pin })).into_response())
        }
        Err(error) => {
            claimed.release(&state).await;
            Err(error)
        }
    }
}

/// The widget's ephemeral public key of a view request; 400 `invalid_epk` unless it is a P-256
/// public JWK without a private part.
fn widget_epk(request: &ViewRequest) -> Result<PublicJwk, AppError> {
    let epk = if request.epk.get().trim_start().starts_with('{') {
        PublicJwk::parse_public(request.epk.get())
    } else {
        Err(pinframe_core::FormatError::Jwk)
    };
    epk.map_err(|e| {
        if e == pinframe_core::FormatError::JwkHasPrivatePart {
            tracing::warn!(target: "pinframe::pin", "a client sent its ephemeral private key (epk with d): refused");
        }
        AppError::bad_field("invalid_epk", "epk", format!("epk: {e}."))
    })
}

/// `POST /api/v1/pin/set`: a new PIN, encrypted to the service key. Checked against the issuer's
/// policy, written to the CMS as a format-0 block (which raises the change counter by one in the
/// same write), and only then is the token used up for good. Refusals count; the third burns it.
pub async fn set(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    ctx: AuditCtx,
    token: CheckedToken,
    body: Result<ApiJson<SetRequest>, AppError>,
) -> Result<Response, AppError> {
    token.require(Action::SetPin)?;
    let ApiJson(request) = body?;
    let record = token.record();
    let policy = issuer_policy(&state, &record.issuer).await?;

    let undecryptable = || {
        AppError::bad_field(
            "invalid_encrypted_pin",
            "encryptedPin",
            "encryptedPin must be a JWE to the service key (ECDH-ES, A256GCM) of {\"pin\":\"…\"}.",
        )
    };
    let decrypted = state.keys.decrypt(&request.encrypted_pin);
    if decrypted == Err(DecryptError::KeyStore) {
        // The HSM's failure, not the cardholder's: no refusal is counted against the token.
        return Err(AppError::internal("the key store did not decrypt the new PIN"));
    }
    let Ok(plaintext) = decrypted else {
        if jwe::epk_has_private_part(&request.encrypted_pin) {
            tracing::warn!(target: "pinframe::pin", "a client sent a JWE whose ephemeral key carries its private part");
            let leaked = AppError::bad_field(
                "invalid_epk",
                "encryptedPin",
                format!("encryptedPin: {}.", pinframe_core::FormatError::JwkHasPrivatePart),
            );
            return Err(refuse(&state, &ctx, &token, leaked).await);
        }
        return Err(refuse(&state, &ctx, &token, undecryptable()).await);
    };
    let Some(candidate) = pin_from_plaintext(&plaintext) else {
        return Err(refuse(&state, &ctx, &token, undecryptable()).await);
    };
    if let Err(violation) = policy.check(candidate) {
        return Err(refuse(&state, &ctx, &token, AppError::PinPolicy(violation)).await);
    }
    let pin = Pin::parse(candidate).map_err(|_| AppError::internal("a PIN the policy allowed does not parse"))?;
    drop(plaintext);

    // Claim the token before writing, so that of two concurrent requests only one reaches the CMS;
    // give it back if the write fails, since nothing was set. No PIN is written without its audit
    // record (`started`): if that cannot be written, nothing is set and the answer is 503.
    token.claim(&state).await?;
    let entry = Entry::new(Event::PinSet, "started").issuer(&record.issuer).card(record.card.as_str()).ctx(&ctx);
    if let Err(e) = state.audit.record(entry.clone(), state.clock.now()).await {
        token.release(&state).await;
        return Err(e.into());
    }
    let written = async {
        let pan = pins::card_pan(&state, &record.issuer, &record.card).await?;
        pins::write_pin(&state, &record.issuer, &record.card, &pan, &pin, &correlation).await
    }
    .await;
    let outcome = if written.is_ok() { "ok" } else { "failed" };
    state.audit.note(entry.outcome(outcome), state.clock.now()).await;
    if let Err(error) = written {
        token.release(&state).await;
        return Err(error);
    }
    tracing::info!(target: "pinframe::pin", issuer = record.issuer.as_str(), "PIN set");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Counts a refused set against the token ([`CheckedToken::refuse`]) and records the refusal with
/// its reason code.
async fn refuse(state: &AppState, ctx: &AuditCtx, token: &CheckedToken, refusal: AppError) -> AppError {
    let reason = match &refusal {
        AppError::PinPolicy(violation) => violation.code(),
        AppError::BadRequest { code, .. } => *code,
        _ => "other",
    };
    let record = token.record();
    let entry = Entry::new(Event::PinSetRefused, "refused").issuer(&record.issuer).card(record.card.as_str());
    state.audit.note(entry.detail(format!("reason={reason}")).ctx(ctx), state.clock.now()).await;
    token.refuse(state, refusal).await
}

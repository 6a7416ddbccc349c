//! The PIN-control token, in one place: issued to an issuer (`issue`), stored only as its SHA-256
//! (`token_hash`), read from `Authorization: Bearer` and found live ([`CheckedToken`], an
//! extractor), then claimed exactly once, given back if the work it paid for failed, and worn down by
//! refused set-PIN attempts.
//!
//! The session and set get a *checked* token (it exists, is unused and unexpired), and set claims it
//! where its flow says (after the policy check, refusals counted before). The view [`claim`]s it
//! first, in the one statement that also reads the card's PAN, and gives it back if the CMS fails
//! or has no PIN, so neither burns it.

use std::fmt;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_core::rand_core::{OsRng, RngCore};
use pinframe_core::{CardId, FormatError, IssuerId};
use pinframe_protocol::issuer::{TokenRequest, TokenResponse};
use pinframe_protocol::token::TOKEN_BYTES;
use pinframe_protocol::widget::MAX_HIDE_AFTER_SECONDS;
use pinframe_protocol::{Action, ErrorBody, Origin, TokenText};
use pinframe_server::credentials::authorization;
use pinframe_server::error::{AppError, Scheme, MAX_JSON_BODY};
use pinframe_server::metrics;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::audit::{AuditCtx, Entry, Event};
use crate::state::AppState;
use crate::store::{ClaimedToken, TokenRecord};

pub use pinframe_protocol::widget::MAX_SET_ATTEMPTS;

/// A new PIN-control token and the hash under which it is stored.
pub struct NewToken {
    pub token: Zeroizing<String>,
    pub hash: [u8; 32],
}

impl fmt::Debug for NewToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewToken").finish_non_exhaustive()
    }
}

/// 256 random bits in the text form of `pinframe_protocol::token`.
pub fn new_token() -> NewToken {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    OsRng.fill_bytes(bytes.as_mut());
    let token = TokenText::encode(&bytes);
    let hash = Sha256::digest(token.as_bytes()).into();
    NewToken { token, hash }
}

/// Tokens carry 256 bits of entropy, so one SHA-256 is a sufficient one-way function for storage;
/// lookups by hash do not compare the secret itself.
pub fn token_hash(token: TokenText<'_>) -> [u8; 32] {
    Sha256::digest(token.expose().as_bytes()).into()
}

/// The hash of the well-formed token in `Authorization: Bearer`, if there is one.
pub fn bearer_token_hash(headers: &axum::http::HeaderMap) -> Option<[u8; 32]> {
    authorization(headers, "Bearer").and_then(TokenText::parse).map(token_hash)
}

fn unauthorized() -> AppError {
    AppError::Unauthorized { scheme: Scheme::Bearer, wrong_scheme: false }
}

/// The token of `Authorization: Bearer`, found in storage unused and unexpired: checked, not yet
/// claimed. Every other case is the same 401, so a caller cannot tell an unknown token from a used
/// one.
#[derive(Debug)]
pub struct CheckedToken(TokenRecord);

impl FromRequestParts<AppState> for CheckedToken {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        Self::check(state, &parts.headers).await
    }
}

/// A token claimed before the work it pays for ([`claim`]): given back ([`Claimed::release`]) if
/// that work then fails.
#[derive(Debug)]
pub struct Claimed {
    hash: [u8; 32],
    pub record: ClaimedToken,
}

/// Claims the token of `Authorization: Bearer` for `action` in one statement, which also reads its
/// card's sealed PAN. A token that cannot be claimed gets what [`CheckedToken`] and
/// [`CheckedToken::require`] would answer (401, or 403 for a token of another action), or the 401
/// of a used token when a concurrent request claimed it first.
pub async fn claim(state: &AppState, headers: &HeaderMap, action: Action) -> Result<Claimed, AppError> {
    let hash = bearer_token_hash(headers).ok_or_else(|| AppError::unauthorized(Scheme::Bearer, headers))?;
    match state.store.claim_token(&hash, action, state.clock.now()).await? {
        Some(record) => Ok(Claimed { hash, record }),
        None => {
            CheckedToken::check(state, headers).await?.require(action)?;
            Err(unauthorized())
        }
    }
}

impl Claimed {
    /// Counts the claim once its work is done (`pinframe_tokens_total{event="claimed"}`).
    pub fn done(self) {
        count("claimed");
    }

    /// Gives the token back after its work failed, so that the cardholder can try again.
    pub async fn release(self, state: &AppState) {
        if let Err(e) = state.store.release_token(&self.hash).await {
            tracing::error!(target: "pinframe::http::pin", error = %e, "could not give back a token after a failed view");
        }
    }
}

/// The widget session's answer to a refused token: the one 401 every refusal gets, plus the
/// token's `parentOrigin` while the service still keeps the token (used, burnt, or expired less
/// than the purge delay ago) and it names one. The widget then tells that origin alone, the one a
/// desktop parent that the token was not issued for never hears. A token the service does not know
/// (or cannot look up now) gets the plain 401.
pub async fn session_refusal(state: &AppState, headers: &HeaderMap) -> Response {
    let refusal = AppError::unauthorized(Scheme::Bearer, headers).into_response();
    let known = match bearer_token_hash(headers) {
        Some(hash) => state.store.token(&hash).await.ok().flatten(),
        None => None,
    };
    let Some(origin) = known.and_then(|record| record.parent_origin) else { return refusal };
    let (parts, body) = refusal.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, MAX_JSON_BODY).await else {
        return unauthorized().into_response();
    };
    let Ok(mut body) = serde_json::from_slice::<ErrorBody>(&bytes) else { return unauthorized().into_response() };
    body.parent_origin = Some(origin);
    Response::from_parts(parts, Json(body).into_response().into_body())
}

impl CheckedToken {
    /// The token of `Authorization: Bearer` in `headers`, checked; 401 when there is none or it is
    /// unknown, used or expired.
    pub async fn check(state: &AppState, headers: &HeaderMap) -> Result<Self, AppError> {
        let hash = bearer_token_hash(headers).ok_or_else(|| AppError::unauthorized(Scheme::Bearer, headers))?;
        let record = state.store.token(&hash).await?.ok_or_else(unauthorized)?;
        if record.used {
            return Err(unauthorized());
        }
        if record.expires_at <= state.clock.now() {
            count("expired");
            return Err(unauthorized());
        }
        Ok(Self(record))
    }

    pub fn record(&self) -> &TokenRecord {
        &self.0
    }

    /// 403 unless the token is for `action`.
    pub fn require(&self, action: Action) -> Result<(), AppError> {
        if self.0.action == action {
            Ok(())
        } else {
            Err(AppError::Forbidden { message: "This token is for another action." })
        }
    }

    /// Uses the token up. Exactly one of any number of concurrent claims succeeds; the others get
    /// the same 401 as for a used token.
    pub async fn claim(&self, state: &AppState) -> Result<(), AppError> {
        if state.store.consume_token(&self.0.hash, state.clock.now()).await? {
            count("claimed");
            Ok(())
        } else {
            Err(unauthorized())
        }
    }

    /// Gives the token back after a claim whose work then failed on our side, so that the
    /// cardholder can try again.
    pub async fn release(&self, state: &AppState) {
        if let Err(e) = state.store.release_token(&self.0.hash).await {
            tracing::error!(target: "pinframe::http::pin", error = %e, "could not give back a token after a failed PIN write");
        }
    }

    /// Counts a refused attempt against the token (the [`MAX_SET_ATTEMPTS`]th uses it up), then
    /// returns the refusal. A token that a concurrent request used up meanwhile is not counted:
    /// that attempt gets the same 401 as any used token, so of any number of concurrent refused
    /// attempts exactly [`MAX_SET_ATTEMPTS`] are answered with the refusal.
    pub async fn refuse(&self, state: &AppState, refusal: AppError) -> AppError {
        match state.store.refuse_attempt(&self.0.hash, MAX_SET_ATTEMPTS, state.clock.now()).await {
            Ok(Some(_)) => {
                let reason = match &refusal {
                    AppError::PinPolicy(violation) => violation.code(),
                    AppError::BadRequest { code, .. } => *code,
                    _ => "other",
                };
                metrics::counter!("pinframe_set_refusals_total", "reason" => reason).increment(1);
                refusal
            }
            Ok(None) => unauthorized(),
            Err(e) => e.into(),
        }
    }
}

/// Counts a token event (`pinframe_tokens_total{event}`): issued, claimed, or presented expired.
fn count(event: &'static str) {
    metrics::counter!("pinframe_tokens_total", "event" => event).increment(1);
}

/// A language tag of the BCP 47 shape (`en`, `fi`, `pt-BR`, `zh-Hant-TW`), at most 35 characters.
fn valid_language(tag: &str) -> bool {
    let mut parts = tag.split('-');
    let primary = parts.next().unwrap_or_default();
    tag.len() <= 35
        && (2..=3).contains(&primary.len())
        && primary.bytes().all(|b| b.is_ascii_alphabetic())
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Validates a token request for `issuer` and stores a new token: 201 with the token and its URL.
pub async fn issue(
    state: &AppState,
    issuer: &IssuerId,
    request: TokenRequest,
    ctx: &AuditCtx,
) -> Result<Response, AppError> {
    let card = CardId::parse(&request.card_id)
        .map_err(|_| AppError::bad_field("invalid_card_id", "cardId", format!("cardId: {}.", FormatError::CardId)))?;
    let action = Action::parse(&request.action)
        .ok_or_else(|| AppError::bad_field("invalid_action", "action", "action must be VIEW_PIN or SET_PIN."))?;
    let language = match &request.language {
        Some(tag) if !valid_language(tag) => {
            return Err(AppError::bad_field(
                "invalid_language",
                "language",
                "language must be a language tag such as en or fi.",
            ))
        }
        other => other.clone(),
    };
    if request.hide_after_seconds.is_some_and(|s| !(1..=MAX_HIDE_AFTER_SECONDS).contains(&s)) {
        return Err(AppError::bad_field(
            "invalid_hide_after_seconds",
            "hideAfterSeconds",
            format!("hideAfterSeconds must be 1 to {MAX_HIDE_AFTER_SECONDS}."),
        ));
    }
    let parent_origin = match &request.parent_origin {
        None => None,
        Some(given) => {
            let origin = Origin::parse(given).ok_or_else(|| {
                AppError::bad_field(
                    "invalid_parent_origin",
                    "parentOrigin",
                    "parentOrigin must be an origin such as https://bank.example.",
                )
            })?;
            if !state.store.origins(issuer).await?.contains(&origin) {
                return Err(AppError::bad_field(
                    "invalid_parent_origin",
                    "parentOrigin",
                    "parentOrigin is not one of the issuer's registered origins.",
                ));
            }
            Some(origin)
        }
    };
    if state.store.card(issuer, &card).await?.is_none() {
        return Err(AppError::NotFound { message: crate::pins::NO_CARD });
    }

    let now = state.clock.now();
    let new = new_token();
    let record = TokenRecord {
        hash: new.hash,
        issuer: issuer.clone(),
        card,
        action,
        parent_origin,
        language: language.clone(),
        hide_after_seconds: request.hide_after_seconds,
        allow_copy: request.allow_copy,
        created_at: now,
        expires_at: now + state.config.token_ttl,
        used: false,
        attempts: 0,
    };
    state.store.insert_token(&record).await?;
    let entry = Entry::new(Event::TokenIssued, "ok").issuer(issuer).card(record.card.as_str());
    state.audit.note(entry.detail(format!("action={}", action.as_str())).ctx(ctx), now).await;
    // The language rides in the query, so the widget's first paint is already in it; the token
    // stays the whole fragment.
    let lang = language.map(|tag| format!("?lang={tag}")).unwrap_or_default();
    let url = format!(
        "{}/pin/{}/{}{lang}#token={}",
        state.config.public_url,
        issuer.as_str(),
        action.page(),
        new.token.as_str()
    );
    // Both the token and the URL are wiped when the body drops.
    let body = TokenResponse { token: new.token.to_string(), expires_in: state.config.token_ttl, url };
    tracing::info!(target: "pinframe::tokens", issuer = issuer.as_str(), action = action.as_str(), "token issued");
    count("issued");
    Ok((StatusCode::CREATED, Json(&body)).into_response())
}

#[cfg(test)]
mod tests {
    use axum::http::{header, HeaderMap, HeaderValue};
    use pinframe_protocol::token::TOKEN_LEN;

    use super::*;

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn tokens_are_random_and_found_by_hash() {
        let a = new_token();
        let b = new_token();
        assert_eq!(a.token.len(), TOKEN_LEN);
        assert_ne!(a.token.as_str(), b.token.as_str());
        assert_eq!(bearer_token_hash(&headers(&format!("Bearer {}", a.token.as_str()))), Some(a.hash));
        assert_eq!(bearer_token_hash(&headers("Bearer short")), None);
        assert_eq!(bearer_token_hash(&headers(&format!("Basic {}", a.token.as_str()))), None);
    }

    #[test]
    fn language_tags() {
        for ok in ["en", "fi", "sv", "pt-BR", "zh-Hant-TW", "fil"] {
            assert!(valid_language(ok), "{ok}");
        }
        for bad in ["", "e", "english", "en_US", "en-", "en--US", "1n", "en-abcdefghi", "<x>"] {
            assert!(!valid_language(bad), "{bad}");
        }
    }
}

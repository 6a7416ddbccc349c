//! `POST /api/v1/pin-control/tokens`: an issuer, authenticated with HTTP Basic, asks for a
//! single-use token that lets one cardholder view or set one card's PIN.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_core::{CardId, IssuerId};
use serde::{Deserialize, Serialize};

use crate::auth::{self, basic_credentials, BasicCredentials};
use crate::error::{ApiJson, AppError};
use crate::origin;
use crate::state::AppState;
use crate::store::{Action, TokenRecord};

const BASIC: &str = "Basic realm=\"pinframe\", charset=\"UTF-8\"";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenRequest {
    pub card_id: String,
    pub action: String,
    #[serde(default)]
    pub parent_origin: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// Seconds after which the widget hides a revealed PIN (1 to 300; the widget's default is 30).
    #[serde(default)]
    pub hide_after_seconds: Option<u32>,
    /// Whether the widget offers to copy the PIN to the clipboard (off unless the issuer turns it on).
    #[serde(default)]
    pub allow_copy: bool,
}

/// The longest an issuer may have a revealed PIN stay on screen.
pub const MAX_HIDE_AFTER_SECONDS: u32 = 300;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenResponse<'a> {
    token: &'a str,
    expires_in: i64,
    url: String,
}

/// Checks HTTP Basic credentials and returns the issuer they belong to. One Argon2 verification
/// runs whether or not the client id exists, so timing does not reveal which client ids do.
pub async fn authenticate_issuer(state: &AppState, headers: &HeaderMap) -> Result<IssuerId, AppError> {
    let Some(credentials) = basic_credentials(headers) else {
        return Err(AppError::Unauthorized { scheme: BASIC });
    };
    verify_issuer(state, credentials).await
}

/// Checks an issuer's client credentials: the issuer they belong to, or 401.
pub async fn verify_issuer(state: &AppState, credentials: BasicCredentials) -> Result<IssuerId, AppError> {
    let unauthorized = AppError::Unauthorized { scheme: BASIC };
    let issuer = state.store.issuer_by_client_id(&credentials.client_id).await.map_err(AppError::internal)?;
    let stored = issuer.as_ref().map(|i| i.secret_hash.clone());
    let matches = auth::check_secret(credentials.secret, stored).await.map_err(AppError::internal)?;
    match issuer {
        Some(issuer) if matches => Ok(issuer.id),
        _ => Err(unauthorized),
    }
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

/// Validates a token request for `issuer` and stores a new token. Returns the token and its URL.
pub async fn issue(state: &AppState, issuer: &IssuerId, request: TokenRequest) -> Result<Response, AppError> {
    let card = CardId::parse(&request.card_id).map_err(|e| AppError::invalid("invalid_card_id", e))?;
    let action = Action::parse(&request.action)
        .ok_or_else(|| AppError::bad_request("invalid_action", "action must be VIEW_PIN or SET_PIN."))?;
    let language = match request.language {
        Some(tag) if !valid_language(&tag) => {
            return Err(AppError::bad_request("invalid_language", "language must be a language tag such as en or fi."))
        }
        other => other,
    };
    if request.hide_after_seconds.is_some_and(|s| !(1..=MAX_HIDE_AFTER_SECONDS).contains(&s)) {
        return Err(AppError::bad_request(
            "invalid_hide_after_seconds",
            format!("hideAfterSeconds must be 1 to {MAX_HIDE_AFTER_SECONDS}."),
        ));
    }
    let parent_origin = match request.parent_origin {
        None => None,
        Some(given) => {
            let normalized = origin::normalize(&given).ok_or_else(|| {
                AppError::bad_request(
                    "invalid_parent_origin",
                    "parentOrigin must be an origin such as https://bank.example.",
                )
            })?;
            let registered = state.store.origins(issuer).await.map_err(AppError::internal)?;
            if !registered.contains(&normalized) {
                return Err(AppError::bad_request(
                    "invalid_parent_origin",
                    "parentOrigin is not one of the issuer's registered origins.",
                ));
            }
            Some(normalized)
        }
    };
    if state.store.card(issuer, &card).await.map_err(AppError::internal)?.is_none() {
        return Err(AppError::NotFound { message: "No such card is registered for this issuer." });
    }

    let now = state.clock.now();
    let new = auth::new_token();
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
    state.store.insert_token(&record).await.map_err(AppError::internal)?;
    let page = match action {
        Action::ViewPin => "view",
        Action::SetPin => "set",
    };
    // The language rides in the query, so the widget's first paint is already in it; the token
    // stays the whole fragment.
    let lang = language.map(|tag| format!("?lang={tag}")).unwrap_or_default();
    let url = format!("{}/pin/{}/{page}{lang}#token={}", state.config.public_url, issuer.as_str(), new.token.as_str());
    let body = TokenResponse { token: &new.token, expires_in: state.config.token_ttl, url };
    let response = (StatusCode::CREATED, Json(&body)).into_response();
    // The URL holds the token too: wipe the copy.
    let mut url = body.url;
    zeroize::Zeroize::zeroize(&mut url);
    tracing::info!(target: "pinframe::tokens", issuer = issuer.as_str(), action = action.as_str(), "token issued");
    Ok(response)
}

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<ApiJson<TokenRequest>, AppError>,
) -> Result<Response, AppError> {
    let issuer = authenticate_issuer(&state, &headers).await?;
    let ApiJson(request) = body?;
    issue(&state, &issuer, request).await
}

#[cfg(test)]
mod tests {
    use super::valid_language;

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

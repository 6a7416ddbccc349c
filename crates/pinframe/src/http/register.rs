//! The issuer-facing OAuth endpoint and the D1 Register API (Thales D1 "Register Consumer"):
//! an issuer backend gets an ES256 access token with its client credentials, then registers its
//! consumers and their cards. Only registered cards of a registered consumer get PIN-control tokens.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pinframe_core::{CardId, ConsumerId, Pan};
use pinframe_protocol::issuer::{CardData, CardsRequest, ConsumerRequest};
use pinframe_server::error::{json_object, ApiJson, AppError, LogDetail};
use pinframe_server::keystore::DecryptError;
use pinframe_server::oauth::{self, Grant, Principal, TokenError};
use zeroize::Zeroizing;

use crate::audit::AuditCtx;
use crate::auth::verify_issuer;
use crate::pins;
use crate::state::AppState;

/// Most cards one `PUT …/cards` may register.
pub const MAX_CARDS: usize = 100;

/// The audience and scope of the service's access tokens.
pub const AUDIENCE: &str = "pinframe-register-api";
pub const SCOPE: &str = "register";

/// Lifetime of the access tokens of `/oauth2/token`, in seconds: after a key rotation, tokens
/// signed by the previous key stay valid this long, which `pinframe keys retire` waits out.
pub const ACCESS_TOKEN_TTL: i64 = 900;

/// `POST /oauth2/token`: client credentials (RFC 6749 §4.4) with the issuer's Basic credentials.
pub async fn oauth_token(
    State(state): State<AppState>,
    ctx: AuditCtx,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let credentials = match oauth::token_request(&headers, body) {
        Ok(credentials) => credentials,
        Err(e) => return e.into_response(),
    };
    let client_id = credentials.client_id.clone();
    match verify_issuer(&state, &ctx, credentials).await {
        Ok(issuer) => {
            tracing::info!(target: "pinframe::oauth", issuer = issuer.as_str(), "access token issued");
            oauth::token_response(&state.jwt, &client_id, &Grant::Issuers(vec![issuer]), state.clock.now())
        }
        Err(e @ (AppError::Unauthorized { .. } | AppError::TooManyRequests { .. })) => {
            TokenError::from_failure(&e).into_response()
        }
        Err(other) => {
            let mut response = TokenError::from_failure(&other).into_response();
            response.extensions_mut().insert(LogDetail(format!("{other:?}")));
            response
        }
    }
}

fn consumer_id(text: &str) -> Result<ConsumerId, AppError> {
    ConsumerId::parse(text).map_err(|e| AppError::invalid("invalid_consumer_id", e))
}

/// `PUT /issuers/{issuerId}/consumers/{consumerId}`: registers the consumer. 204, idempotent.
pub async fn put_consumer(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<StatusCode, AppError> {
    let (issuer, consumer) = principal.authorize_path(path, consumer_id)?;
    // The body is optional; when there is one it must be the JSON object of the D1 Register API,
    // `{}` or `{"state": …}`.
    if !matches!(&body, Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace)) {
        let _: ConsumerRequest = json_object(&headers, body).map_err(|e| match e {
            AppError::BadRequest { code: "invalid_body", .. } => {
                AppError::bad_request("invalid_body", "The body must be {} or {\"state\": …} (state is ignored).")
            }
            other => other,
        })?;
    }
    state.store.put_consumer(&issuer, &consumer, state.clock.now()).await?;
    tracing::info!(target: "pinframe::register", issuer = issuer.as_str(), "consumer registered");
    Ok(StatusCode::NO_CONTENT)
}

fn valid_expiry(exp: &str) -> bool {
    exp.len() == 4
        && exp.bytes().all(|b| b.is_ascii_digit())
        && exp[..2].parse::<u8>().is_ok_and(|m| (1..=12).contains(&m))
}

/// `PUT /issuers/{issuerId}/consumers/{consumerId}/cards`: registers the consumer and its cards,
/// all or none. Each card's `encryptedData` is a JWE to the service key of `{"pan", "exp"}`.
///
/// The expiry in `encryptedData` is checked but not kept: the service needs only the PAN, for the
/// PIN block.
pub async fn put_cards(
    State(state): State<AppState>,
    principal: Principal,
    path: Result<Path<(String, String)>, PathRejection>,
    body: Result<ApiJson<CardsRequest>, AppError>,
) -> Result<StatusCode, AppError> {
    let (issuer, consumer) = principal.authorize_path(path, consumer_id)?;
    let ApiJson(request) = body?;
    if request.cards.is_empty() || request.cards.len() > MAX_CARDS {
        return Err(AppError::bad_field("invalid_cards", "cards", format!("cards must list 1 to {MAX_CARDS} cards.")));
    }
    let mut sealed = Vec::with_capacity(request.cards.len());
    for (i, entry) in request.cards.iter().enumerate() {
        let card_field = || format!("cards[{i}].cardId");
        let data_field = || format!("cards[{i}].encryptedData");
        let card = CardId::parse(&entry.card_id)
            .map_err(|e| AppError::bad_field("invalid_card_id", card_field(), format!("cards[{i}].cardId: {e}")))?;
        if sealed.iter().any(|(seen, _): &(CardId, Vec<u8>)| *seen == card) {
            return Err(AppError::bad_field(
                "invalid_cards",
                card_field(),
                format!("cards[{i}].cardId appears twice."),
            ));
        }
        let decrypted = state.keys.decrypt(&entry.encrypted_data);
        if decrypted.as_ref().err() == Some(&DecryptError::KeyStore) {
            return Err(AppError::internal("the key store did not decrypt a card's data"));
        }
        let plaintext = decrypted.map_err(|_| {
            AppError::bad_field(
                "invalid_encrypted_data",
                data_field(),
                format!(
                    "cards[{i}].encryptedData does not decrypt: it must be a compact JWE (ECDH-ES, A256GCM) to \
                     the key at /.well-known/jwks.json."
                ),
            )
        })?;
        let data: CardData<'_> = serde_json::from_slice(&plaintext).map_err(|_| {
            AppError::bad_field(
                "invalid_encrypted_data",
                data_field(),
                format!("cards[{i}].encryptedData must hold {{\"pan\": \"…\", \"exp\": \"MMYY\"}}."),
            )
        })?;
        let pan = Pan::parse(&Zeroizing::new(data.pan.to_owned())).map_err(|_| {
            AppError::bad_field(
                "invalid_encrypted_data",
                data_field(),
                format!("cards[{i}]: pan must be 12 to 19 digits."),
            )
        })?;
        if !valid_expiry(data.exp) {
            return Err(AppError::bad_field(
                "invalid_encrypted_data",
                data_field(),
                format!("cards[{i}]: exp must be MMYY, month 01 to 12."),
            ));
        }
        let pan_sealed = pins::seal_pan(&state.keys, &issuer, &card, &pan, state.clock.now())?;
        sealed.push((card, pan_sealed));
    }
    state.store.register_cards(&issuer, &consumer, &sealed, state.clock.now()).await?;
    tracing::info!(target: "pinframe::register", issuer = issuer.as_str(), cards = sealed.len(), "cards registered");
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::valid_expiry;

    #[test]
    fn expiry_is_mmyy() {
        for ok in ["0130", "1229", "0600"] {
            assert!(valid_expiry(ok), "{ok}");
        }
        for bad in ["", "130", "1330", "0030", "12/29", "12299", "ab29"] {
            assert!(!valid_expiry(bad), "{bad}");
        }
    }
}

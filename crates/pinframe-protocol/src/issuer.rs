//! The issuer-facing API: PIN-control tokens (HTTP Basic), OAuth 2.0 client credentials
//! (RFC 6749 §4.4) and the access token's claims, the D1 Register API (consumers and cards, Bearer
//! JWT), the service's JWKS, and issuer themes and fonts.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::RawJwk;

pub const TOKENS_PATH: &str = "/api/v1/pin-control/tokens";
pub const OAUTH_TOKEN_PATH: &str = "/oauth2/token";
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// `POST /api/v1/pin-control/tokens` request. `action` and `parentOrigin` stay text here so that a
/// bad value gets its own error code; the service parses them into [`crate::Action`] and
/// [`crate::Origin`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TokenRequest {
    pub card_id: String,
    pub action: String,
    #[serde(default)]
    pub parent_origin: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    /// Seconds after which the widget hides a revealed PIN (1 to 300; the widget's default is 30).
    #[serde(default, deserialize_with = "crate::number::optional_u32")]
    pub hide_after_seconds: Option<u32>,
    /// Whether the widget offers to copy the PIN to the clipboard (off unless the issuer turns it on).
    #[serde(default)]
    pub allow_copy: bool,
}

/// `POST /api/v1/pin-control/tokens`, 201. Both the token and the URL (whose fragment holds it)
/// are wiped on drop.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    pub token: String,
    pub expires_in: i64,
    pub url: String,
}

impl Drop for TokenResponse {
    fn drop(&mut self) {
        self.token.zeroize();
        self.url.zeroize();
    }
}

/// `POST /oauth2/token`, 200 (RFC 6749 §5.1), from the service and from the CMS alike.
#[derive(Serialize, Deserialize)]
pub struct AccessTokenResponse {
    pub access_token: String,
    /// Always `Bearer` from pinframe; a CMS that leaves it out is read as if it said so.
    #[serde(default)]
    pub token_type: String,
    pub expires_in: i64,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

impl fmt::Debug for AccessTokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessTokenResponse").field("expires_in", &self.expires_in).finish_non_exhaustive()
    }
}

impl Drop for AccessTokenResponse {
    fn drop(&mut self) {
        self.access_token.zeroize();
    }
}

/// An error of `POST /oauth2/token` (RFC 6749 §5.2): `invalid_request`, `invalid_client`,
/// `unsupported_grant_type` or `server_error`.
#[derive(Debug, Serialize, Deserialize)]
pub struct OAuthErrorBody {
    pub error: String,
    pub error_description: String,
}

/// The claims of an access token (an ES256 JWT, RFC 7519) from the service or the CMS.
#[derive(Debug, Serialize, Deserialize)]
pub struct AccessTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub scope: String,
    /// The issuer ids the holder may act for, or `["*"]` for any (a CMS client without `--issuer`).
    pub issuers: Vec<String>,
}

/// `GET /.well-known/jwks.json` (RFC 7517 §5).
#[derive(Debug, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<RawJwk>,
}

/// `PUT /issuers/{issuerId}/consumers/{consumerId}` request (optional): only the deprecated
/// `state`, accepted and ignored.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsumerRequest {
    #[serde(default)]
    pub state: Option<IgnoredAny>,
}

/// `PUT /issuers/{issuerId}/consumers/{consumerId}/cards` request.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardsRequest {
    pub cards: Vec<CardEntry>,
}

/// One card of a [`CardsRequest`]: its id and a JWE to the service key of [`CardData`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CardEntry {
    pub card_id: String,
    pub encrypted_data: String,
}

impl fmt::Debug for CardEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardEntry").field("card_id", &self.card_id).finish_non_exhaustive()
    }
}

/// The plaintext of a card's `encryptedData`, borrowed from the decrypted bytes (which the caller
/// wipes). Other members (a cardholder name, say) are ignored.
#[derive(Serialize, Deserialize)]
pub struct CardData<'a> {
    pub pan: &'a str,
    /// Expiry, `MMYY`.
    pub exp: &'a str,
}

impl fmt::Debug for CardData<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CardData").finish_non_exhaustive()
    }
}

/// `PUT /api/v1/issuers/{issuerId}/theme`, 200: the stored theme and what the upload lost.
#[derive(Debug, Serialize, Deserialize)]
pub struct ThemeResponse {
    pub version: String,
    pub url: String,
    pub bytes: usize,
    /// What the upload had that the theme does not keep, with where and why.
    pub dropped: Vec<ThemeIssue>,
}

/// A piece of an uploaded theme that was dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThemeIssue {
    /// 1-based line of the upload.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    pub reason: String,
}

/// `PUT /api/v1/issuers/{issuerId}/fonts/{name}`, 201.
#[derive(Debug, Serialize, Deserialize)]
pub struct FontResponse {
    pub url: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_consumer_body_is_empty_or_state_only() {
        assert!(serde_json::from_str::<ConsumerRequest>("{}").is_ok());
        assert!(serde_json::from_str::<ConsumerRequest>(r#"{"state":{"any":[1,"thing"]}}"#).is_ok());
        assert!(serde_json::from_str::<ConsumerRequest>(r#"{"status":"x"}"#).is_err());
    }

    #[test]
    fn card_data_ignores_other_members_and_hides_the_pan() {
        let data: CardData<'_> = serde_json::from_str(r#"{"pan":"5555555551234567","exp":"1229","name":"A"}"#).unwrap();
        assert_eq!((data.pan, data.exp), ("5555555551234567", "1229"));
        assert!(!alloc::format!("{data:?}").contains("5555"));
    }

    #[test]
    fn token_requests_take_the_documented_members_only() {
        let request: TokenRequest =
            serde_json::from_str(r#"{"cardId":"demo-card","action":"VIEW_PIN","allowCopy":true}"#).unwrap();
        assert_eq!((request.card_id.as_str(), request.allow_copy, request.language), ("demo-card", true, None));
        assert!(serde_json::from_str::<TokenRequest>(r#"{"cardId":"c","action":"VIEW_PIN","pan":"1"}"#).is_err());
    }
}

//! How an issuer's backend proves who it is, as extractors: HTTP Basic with its client credentials
//! ([`IssuerBasic`]), or either that or an OAuth access token ([`IssuerCredentials`], for the theme
//! routes). The OAuth token alone is `pinframe_server::oauth::Principal`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use pinframe_core::IssuerId;
use pinframe_server::credentials::{self, authorization, basic_credentials, BasicCredentials};
use pinframe_server::error::{AppError, Scheme};
use pinframe_server::oauth::Principal;

use crate::state::AppState;

/// The issuer whose client credentials came in `Authorization: Basic`. One Argon2 verification
/// runs whether or not the client id exists, so timing does not reveal which client ids do.
#[derive(Debug)]
pub struct IssuerBasic(pub IssuerId);

impl FromRequestParts<AppState> for IssuerBasic {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credentials = basic_credentials(&parts.headers).ok_or(AppError::Unauthorized { scheme: Scheme::Basic })?;
        verify_issuer(state, credentials).await.map(Self)
    }
}

/// Checks an issuer's client credentials: the issuer they belong to, or 401.
pub async fn verify_issuer(state: &AppState, credentials: BasicCredentials) -> Result<IssuerId, AppError> {
    let issuer = state.store.issuer_by_client_id(&credentials.client_id).await?;
    let stored = issuer.as_ref().map(|i| i.secret_hash.clone());
    let matches = credentials::check_secret(credentials.secret, stored).await.map_err(AppError::internal)?;
    match issuer {
        Some(issuer) if matches => Ok(issuer.id),
        _ => Err(AppError::Unauthorized { scheme: Scheme::Basic }),
    }
}

/// An issuer's Basic credentials, or an OAuth access token (when `Authorization` is `Bearer`).
#[derive(Debug)]
pub enum IssuerCredentials {
    Basic(IssuerId),
    Bearer(Principal),
}

impl FromRequestParts<AppState> for IssuerCredentials {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if authorization(&parts.headers, "Bearer").is_some() {
            Principal::from_request_parts(parts, state).await.map(Self::Bearer)
        } else {
            IssuerBasic::from_request_parts(parts, state).await.map(|IssuerBasic(issuer)| Self::Basic(issuer))
        }
    }
}

impl IssuerCredentials {
    /// The issuer named in the path, once these credentials may act for it: 400 for a malformed
    /// issuer id, 403 for another issuer's credentials.
    pub fn authorize(&self, issuer_id: &str) -> Result<IssuerId, AppError> {
        let issuer = IssuerId::parse(issuer_id).map_err(|e| AppError::invalid("invalid_issuer_id", e))?;
        let allowed = match self {
            Self::Basic(authenticated) => *authenticated == issuer,
            Self::Bearer(principal) => principal.grant.allows(&issuer),
        };
        if allowed {
            Ok(issuer)
        } else {
            Err(AppError::Forbidden { message: "These credentials do not allow acting for this issuer." })
        }
    }
}

//! How an issuer's backend proves who it is, as extractors: HTTP Basic with its client credentials
//! ([`IssuerBasic`]), or either that or an OAuth access token ([`IssuerCredentials`], for the theme
//! routes). The OAuth token alone is `pinframe_server::oauth::Principal`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use pinframe_core::IssuerId;

use pinframe_server::credentials::{self, authorization, basic_credentials, BasicCredentials};
use pinframe_server::error::{AppError, Scheme};
use pinframe_server::oauth::Principal;

use crate::audit::{AuditCtx, Entry, Event};
use crate::state::AppState;
use crate::store::IssuerRecord;

/// The issuer whose client credentials came in `Authorization: Basic`. One Argon2 verification
/// runs whether or not the client id exists, so timing does not reveal which client ids do.
#[derive(Debug)]
pub struct IssuerBasic(pub IssuerId);

impl FromRequestParts<AppState> for IssuerBasic {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let credentials =
            basic_credentials(&parts.headers).ok_or_else(|| AppError::unauthorized(Scheme::Basic, &parts.headers))?;
        verify_issuer(state, &AuditCtx::from_parts(parts), credentials).await.map(Self)
    }
}

/// Checks an issuer's client credentials from `ctx.source`: the issuer they belong to, 401, or 429
/// while the source has failed too often (`pinframe_server::throttle`). A failure is an audit
/// record, and so is the first 429 of a run of them.
pub async fn verify_issuer(
    state: &AppState,
    ctx: &AuditCtx,
    credentials: BasicCredentials,
) -> Result<IssuerId, AppError> {
    let source = ctx.source;
    if let Err(refusal) = state.ops.throttle.auth.admit_slowly(&credentials.client_id, source).await {
        let now = state.clock.now();
        if state.audit.starts_refusing(format!("auth {source} {}", credentials.client_id), now) {
            let known = state.store.issuer_by_client_id(&credentials.client_id).await.ok().flatten();
            let entry = about_client(Entry::new(Event::RateLimited, "refused"), known.as_ref()).ctx(ctx);
            state.audit.note(entry.detail("limit=auth"), now).await;
        }
        return Err(refusal);
    }
    let issuer = state.store.issuer_by_client_id(&credentials.client_id).await?;
    let stored = issuer.as_ref().map(|i| i.secret_hash.clone());
    let throttle = &state.ops.throttle.auth;
    let matches =
        credentials::check_counted(throttle, source, &credentials.client_id, credentials.secret, stored).await?;
    match issuer {
        Some(issuer) if matches => Ok(issuer.id),
        // One answer for an unknown client id and a wrong secret alike.
        _ => {
            let entry = about_client(Entry::new(Event::ClientAuthFailed, "refused"), issuer.as_ref()).ctx(ctx);
            state.audit.note(entry, state.clock.now()).await;
            Err(AppError::Unauthorized { scheme: Scheme::Basic, wrong_scheme: false })
        }
    }
}

/// The issuer and client id of a record about a client: only a registered client's. Text sent as
/// a client id that matches none is not recorded (it could be a secret typed in the wrong field).
fn about_client(entry: Entry, issuer: Option<&IssuerRecord>) -> Entry {
    match issuer {
        Some(issuer) => entry.issuer(&issuer.id).client(&issuer.client_id),
        None => entry.detail("unknown_client"),
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

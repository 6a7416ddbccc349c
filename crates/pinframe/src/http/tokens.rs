//! `POST /api/v1/pin-control/tokens`: an issuer, authenticated with HTTP Basic, asks for a
//! single-use token that lets one cardholder view or set one card's PIN (`crate::token::issue`).

use axum::extract::State;
use axum::response::Response;
use pinframe_protocol::issuer::TokenRequest;
use pinframe_server::error::{ApiJson, AppError};

use crate::audit::{AuditCtx, Entry, Event};
use crate::auth::IssuerBasic;
use crate::state::AppState;
use crate::token;

pub async fn create(
    State(state): State<AppState>,
    ctx: AuditCtx,
    IssuerBasic(issuer): IssuerBasic,
    body: Result<ApiJson<TokenRequest>, AppError>,
) -> Result<Response, AppError> {
    let ApiJson(request) = body?;
    if let Err(refusal) = state.ops.throttle.tokens.take(issuer.as_str()) {
        let now = state.clock.now();
        if state.audit.starts_refusing(format!("tokens {}", issuer.as_str()), now) {
            let entry = Entry::new(Event::RateLimited, "refused").issuer(&issuer).detail("limit=tokens").ctx(&ctx);
            state.audit.note(entry, now).await;
        }
        return Err(refusal);
    }
    token::issue(&state, &issuer, request, &ctx).await
}

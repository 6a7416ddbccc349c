//! `--demo`: the demo issuer, consumer, card and PIN (`docs/protocol.md`, "Command line"), and a desktop host page at
//! `/demo/` that asks its own backend for a token, frames the widget and lists the events it gets.

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use pinframe_core::{CardId, ConsumerId, CorrelationId, IssuerId, Pan, Pin};
use pinframe_protocol::demo::{DemoThemeRequest, DemoThemeResponse, DemoTokenRequest};
use pinframe_protocol::issuer::TokenRequest;
use pinframe_protocol::Origin;
use pinframe_server::credentials;
use pinframe_server::error::{ApiJson, AppError};

use crate::http::themes::store_theme;
use crate::pins;
use crate::state::AppState;
use crate::token;

pub const ISSUER: &str = "DEMOISSUER";
pub const CLIENT_ID: &str = "demo-client";
pub const CLIENT_SECRET: &str = "demo-secret";
pub const CONSUMER: &str = "demo-consumer";
pub const CARD: &str = "demo-card";
pub const PAN: &str = "5555555551234567";
pub const PIN: &str = "2468";

fn ids() -> (IssuerId, ConsumerId, CardId) {
    let ok = "the demo identifiers are valid";
    (IssuerId::parse(ISSUER).expect(ok), ConsumerId::parse(CONSUMER).expect(ok), CardId::parse(CARD).expect(ok))
}

/// Seeds the demo data, idempotently: a second run changes nothing, and a PIN already in the CMS
/// (perhaps set through the demo) is kept.
pub async fn seed(state: &AppState, origins: &[Origin]) -> Result<(), AppError> {
    let (issuer, consumer, card) = ids();
    let now = state.clock.now();
    let existing = state.store.issuer(&issuer).await?;
    let current = match existing {
        Some(record) if record.client_id == CLIENT_ID => {
            tokio::task::spawn_blocking(move || credentials::verify_secret(CLIENT_SECRET, &record.secret_hash))
                .await
                .map_err(AppError::internal)?
        }
        _ => false,
    };
    if !current {
        let hash = tokio::task::spawn_blocking(|| credentials::hash_secret(CLIENT_SECRET))
            .await
            .map_err(AppError::internal)?;
        state.store.put_issuer(&issuer, CLIENT_ID, &hash, now).await?;
    }
    for origin in origins {
        state.store.add_origin(&issuer, origin).await?;
    }
    state.store.put_consumer(&issuer, &consumer, now).await?;
    let pan = Pan::parse(PAN).map_err(AppError::internal)?;
    let registered = match state.store.card(&issuer, &card).await? {
        Some(record) => pins::open_pan(&state.keys, &issuer, &card, &record.pan_sealed)?.expose() == PAN,
        None => false,
    };
    if !registered {
        let sealed = pins::seal_pan(&state.keys, &issuer, &card, &pan, now)?;
        state.store.put_card(&issuer, &consumer, &card, &sealed, now).await?;
    }
    let correlation = CorrelationId::parse("demo-seed").map_err(AppError::internal)?;
    // Only a card without a PIN gets the demo's: a PIN the cardholder set stays, and of replicas
    // seeding at once one writes it.
    let pin = Pin::parse(PIN).map_err(AppError::internal)?;
    pins::write_first_pin(state, &issuer, &card, &pan, &pin, &correlation).await.map(drop)
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/demo/", get(|| static_file("text/html; charset=utf-8", include_str!("../demo/index.html"))))
        .route("/demo/demo.js", get(|| static_file("text/javascript; charset=utf-8", include_str!("../demo/demo.js"))))
        .route("/demo/demo.css", get(|| static_file("text/css; charset=utf-8", include_str!("../demo/demo.css"))))
        // The floor `make bench` compares the widget's time to PIN with: a static page holding the
        // demo PIN, from the same server.
        .route("/demo/floor.html", get(|| static_file("text/html; charset=utf-8", include_str!("../demo/floor.html"))))
        // Its JavaScript floor: the widget's requests in the widget's order, decrypted by WebCrypto.
        .route(
            "/demo/js-floor.html",
            get(|| static_file("text/html; charset=utf-8", include_str!("../demo/js-floor.html"))),
        )
        .route(
            "/demo/js-floor.js",
            get(|| static_file("text/javascript; charset=utf-8", include_str!("../demo/js-floor.js"))),
        )
        // The WebCrypto JWE decrypt both the JavaScript floor and make bench's decrypt page use.
        .route(
            "/demo/jwe-webcrypto.js",
            get(|| static_file("text/javascript; charset=utf-8", include_str!("../demo/jwe-webcrypto.js"))),
        )
        .route("/demo/api/token", post(token))
        .route("/demo/api/theme", post(theme))
        // The desktop host kit (packages/pinframe-host), which this page uses as any bank's page would.
        .route(
            "/demo/pinframe-host.js",
            get(|| {
                static_file(
                    "text/javascript; charset=utf-8",
                    include_str!("../../../packages/pinframe-host/src/pinframe-host.js"),
                )
            }),
        )
}

async fn static_file(content_type: &'static str, body: &'static str) -> Response {
    let csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; frame-src 'self' \
               http://127.0.0.1:* http://localhost:*; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
               frame-ancestors 'none'";
    ([(header::CONTENT_TYPE, content_type), (header::CONTENT_SECURITY_POLICY, csp)], body).into_response()
}

/// The demo host's own backend: what a bank's server would do with its Basic credentials, done in
/// process for the demo card. The page's origin becomes the token's `parentOrigin`.
async fn token(
    State(state): State<AppState>,
    ctx: crate::audit::AuditCtx,
    headers: HeaderMap,
    ApiJson(request): ApiJson<DemoTokenRequest>,
) -> Result<Response, AppError> {
    let parent_origin =
        headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()).and_then(Origin::parse).ok_or_else(|| {
            AppError::bad_request("invalid_parent_origin", "The demo needs the page's Origin header.")
        })?;
    let (issuer, _, _) = ids();
    let request = TokenRequest {
        card_id: CARD.to_owned(),
        action: request.action,
        parent_origin: Some(parent_origin.into_string()),
        language: request.language,
        hide_after_seconds: request.hide_after_seconds,
        allow_copy: request.allow_copy,
    };
    token::issue(&state, &issuer, request, &ctx).await
}

/// The demo's sample themes, by name; "default" means none.
const THEMES: &[(&str, &str)] = &[
    ("harbour", include_str!("../demo/themes/harbour.css")),
    ("midnight", include_str!("../demo/themes/midnight.css")),
];

/// The demo's theme switcher: what an issuer's `PUT …/theme` does, in process, with a sample theme.
async fn theme(
    State(state): State<AppState>,
    ApiJson(request): ApiJson<DemoThemeRequest>,
) -> Result<Response, AppError> {
    let (issuer, _, _) = ids();
    if request.theme == "default" {
        state.store.delete_theme(&issuer).await?;
        return Ok(axum::http::StatusCode::NO_CONTENT.into_response());
    }
    let (_, css) = THEMES
        .iter()
        .find(|(name, _)| *name == request.theme)
        .ok_or_else(|| AppError::bad_request("invalid_theme", "theme must be default, harbour or midnight."))?;
    let stored = store_theme(&state, &issuer, css).await?;
    Ok(axum::Json(DemoThemeResponse { version: stored.version, dropped: stored.dropped }).into_response())
}

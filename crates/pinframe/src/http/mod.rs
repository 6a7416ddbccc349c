//! The service's HTTP surface: one router (the middleware for correlation ids, headers and logs is
//! `pinframe_server::middleware`'s, shared with the CMS).

pub mod docs;
pub mod error_page;
pub mod pin;
pub mod register;
pub mod themes;
pub mod tokens;
pub mod widget;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Uri};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::Router;
use pinframe_protocol::issuer::{JWKS_PATH, OAUTH_TOKEN_PATH, TOKENS_PATH};
use pinframe_protocol::ops::{HEALTH_PATH, METRICS_PATH, READY_PATH};
use pinframe_protocol::widget::{SESSION_PATH, SET_PATH, VIEW_PATH};
use pinframe_server::error::{AppError, MAX_JSON_BODY};
use pinframe_server::jwks::jwks_response;
use pinframe_server::middleware::{correlate, json_document, method_not_allowed};
use pinframe_server::readiness;
use pinframe_server::telemetry::metrics_response;

use crate::state::AppState;
use crate::theme::{MAX_FONT_BYTES, MAX_THEME_BYTES};

/// Body limit of `PUT …/cards`: up to [`register::MAX_CARDS`] cards of a few hundred bytes each.
const MAX_CARDS_BODY: usize = 256 * 1024;

/// The service: API, widget pages and assets, and (with `--demo`) the demo host page.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route(OAUTH_TOKEN_PATH, post(register::oauth_token))
        .route("/issuers/{issuer_id}/consumers/{consumer_id}", put(register::put_consumer))
        .route(
            "/issuers/{issuer_id}/consumers/{consumer_id}/cards",
            put(register::put_cards).layer(DefaultBodyLimit::max(MAX_CARDS_BODY)),
        )
        .route(TOKENS_PATH, post(tokens::create))
        .route(SESSION_PATH, post(pin::session))
        .route(VIEW_PATH, post(pin::view))
        .route(SET_PATH, post(pin::set))
        .route(JWKS_PATH, get(jwks))
        .route(READY_PATH, get(ready))
        .route(HEALTH_PATH, get(pinframe_server::readiness::alive))
        .route(METRICS_PATH, get(metrics))
        .route("/openapi.json", get(openapi))
        .route("/pin/{issuer_id}/view", get(widget::page))
        .route("/pin/{issuer_id}/set", get(widget::page))
        .route("/pin/assets/{file}", get(widget::asset))
        .route(
            "/api/v1/issuers/{issuer_id}/theme",
            put(themes::put_theme)
                .get(themes::get_theme)
                .delete(themes::delete_theme)
                .layer(DefaultBodyLimit::max(MAX_THEME_BYTES + 1)),
        )
        .route(
            "/api/v1/issuers/{issuer_id}/fonts/{name}",
            put(themes::put_font).layer(DefaultBodyLimit::max(MAX_FONT_BYTES + 1)),
        )
        .route("/pin/themes/{issuer_id}/{file}", get(themes::serve_theme))
        .route("/pin/fonts/{issuer_id}/{name}", get(themes::serve_font))
        .route("/docs", get(docs::root))
        .route(docs::DOCS_PATH, get(docs::file))
        .route("/docs/{*path}", get(docs::file));
    if state.config.demo {
        router = router.merge(crate::demo::routes());
    }
    // After every route: a method a path does not take is 405 in the JSON error shape, with the
    // `Allow` header the router adds.
    router
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(middleware::from_fn(correlate))
        .with_state(state)
}

/// Any other path: 404, as the HTML error page under `/pin/` (where a cardholder's browser may
/// land), as the JSON error body everywhere else.
async fn not_found(uri: Uri, headers: HeaderMap) -> Response {
    let error = AppError::NotFound { message: "There is nothing at this path." };
    if uri.path() == "/pin" || uri.path().starts_with("/pin/") {
        error_page::respond(&headers, error)
    } else {
        error.into_response()
    }
}

/// `GET /.well-known/jwks.json`: the service's public encryption key.
/// `GET /readyz`: ready while the service's database and its CMS answer and it is not draining.
async fn ready(State(state): State<AppState>) -> Response {
    let check = async {
        readiness::database(state.store.ping()).await?;
        state.cms.ready().await.map_err(AppError::from)
    };
    readiness::readiness(&state.ops.lifecycle, check).await
}

/// `GET /metrics`: the Prometheus text format, where metrics are served on this listener.
async fn metrics(State(state): State<AppState>) -> Response {
    metrics_response(state.ops.metrics)
}

async fn jwks(State(state): State<AppState>) -> Response {
    jwks_response(&state.keys.jwks(state.clock.now()))
}

/// `GET /openapi.json`: the API description, kept beside the code and checked against the router by
/// `tests/api.rs`.
async fn openapi() -> Response {
    json_document(include_str!("../../openapi.json"))
}

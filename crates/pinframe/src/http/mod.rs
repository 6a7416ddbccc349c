//! The service's HTTP surface: one router, one middleware for correlation ids, headers and logs.

pub mod pin;
pub mod register;
pub mod themes;
pub mod tokens;
pub mod widget;

use std::time::Instant;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use base64ct::{Base64UrlUnpadded, Encoding};
use pinframe_core::rand_core::{OsRng, RngCore};
use pinframe_core::CorrelationId;

use crate::error::{AppError, LogDetail, MAX_JSON_BODY};
use crate::state::AppState;

/// Body limit of `PUT …/cards`: up to [`register::MAX_CARDS`] cards of a few hundred bytes each.
const MAX_CARDS_BODY: usize = 256 * 1024;

pub const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The service: API, widget pages and assets, and (with `--demo`) the demo host page.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route("/oauth2/token", post(register::oauth_token))
        .route("/issuers/{issuer_id}/consumers/{consumer_id}", put(register::put_consumer))
        .route(
            "/issuers/{issuer_id}/consumers/{consumer_id}/cards",
            put(register::put_cards).layer(DefaultBodyLimit::max(MAX_CARDS_BODY)),
        )
        .route("/api/v1/pin-control/tokens", post(tokens::create))
        .route("/api/v1/pin/session", post(pin::session))
        .route("/api/v1/pin/view", post(pin::view))
        .route("/api/v1/pin/set", post(pin::set))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/openapi.json", get(openapi))
        .route("/pin/{issuer_id}/view", get(widget::page))
        .route("/pin/{issuer_id}/set", get(widget::page))
        .route("/pin/assets/{file}", get(widget::asset))
        .route(
            "/api/v1/issuers/{issuer_id}/theme",
            put(themes::put_theme)
                .get(themes::get_theme)
                .delete(themes::delete_theme)
                .layer(DefaultBodyLimit::max(crate::theme::MAX_THEME_BYTES + 1)),
        )
        .route(
            "/api/v1/issuers/{issuer_id}/fonts/{name}",
            put(themes::put_font).layer(DefaultBodyLimit::max(crate::theme::MAX_FONT_BYTES + 1)),
        )
        .route("/pin/themes/{issuer_id}/{file}", get(themes::serve_theme))
        .route("/pin/fonts/{issuer_id}/{name}", get(themes::serve_font));
    if state.config.demo {
        router = router.merge(crate::demo::routes());
    }
    router
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_JSON_BODY))
        .layer(middleware::from_fn(correlate))
        .with_state(state)
}

async fn not_found() -> AppError {
    AppError::NotFound { message: "There is nothing at this path." }
}

/// `GET /.well-known/jwks.json`: the service's public encryption key.
async fn jwks(State(state): State<AppState>) -> Result<Response, AppError> {
    let mut response = Json(serde_json::json!({ "keys": [state.keys.public_jwk()] })).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Ok(response)
}

/// `GET /openapi.json`: the API description, kept beside the code and checked against the router by
/// `tests/api.rs`.
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], include_str!("../../openapi.json")).into_response()
}

fn new_correlation_id() -> CorrelationId {
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    CorrelationId::parse(&Base64UrlUnpadded::encode_string(&bytes))
        .unwrap_or_else(|_| unreachable!("16 base64url characters are a valid correlation id"))
}

/// Validates or creates the correlation id, hands it to the handler, echoes it, sets the headers
/// every response carries, and writes one log line per request. The line names the route template,
/// never the raw path, query or any header value other than the correlation id.
pub(crate) async fn correlate(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("(unmatched)", |p| p.as_str()).to_owned();
    let given = request.headers().get(&CORRELATION_HEADER).map(|v| v.to_str().ok().map(CorrelationId::parse));
    let (correlation, mut response) = match given {
        Some(Some(Ok(id))) => (Some(id), None),
        Some(_) => {
            let error = AppError::bad_request(
                "invalid_correlation_id",
                "x-correlation-id must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '-', '.' or space.",
            );
            (None, Some(error.into_response()))
        }
        None => (Some(new_correlation_id()), None),
    };
    if let Some(id) = &correlation {
        request.extensions_mut().insert(id.clone());
        response = Some(next.run(request).await);
    }
    let mut response = response.unwrap_or_else(|| AppError::internal("no response").into_response());

    let headers = response.headers_mut();
    if let Some(value) = correlation.as_ref().and_then(|id| HeaderValue::from_str(id.as_str()).ok()) {
        headers.insert(CORRELATION_HEADER, value);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    headers
        .entry(header::CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"));

    let status = response.status().as_u16();
    let latency_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let correlation_id = correlation.as_ref().map_or("", |id| id.as_str());
    match response.extensions().get::<LogDetail>() {
        Some(LogDetail(detail)) => tracing::error!(
            target: "pinframe::http",
            %method, route, status, latency_ms, correlation_id, detail = detail.as_str(), "request failed"
        ),
        None => tracing::info!(target: "pinframe::http", %method, route, status, latency_ms, correlation_id, "request"),
    }
    response
}

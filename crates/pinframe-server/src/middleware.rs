//! The one middleware both servers run on every request, and their fallback: correlation ids, the
//! headers every response carries, and one log line per request.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64ct::{Base64UrlUnpadded, Encoding};
use pinframe_core::rand_core::{OsRng, RngCore};
use pinframe_core::CorrelationId;
use pinframe_protocol::issuer::OAUTH_TOKEN_PATH;

use crate::error::{AppError, LogDetail};
use crate::oauth::token_endpoint_error;
use crate::telemetry::record_request;
use crate::timeouts::BodyDeadline;

pub const CORRELATION_HEADER: HeaderName = HeaderName::from_static("x-correlation-id");

/// The fallback of both routers.
pub async fn not_found() -> AppError {
    AppError::NotFound { message: "There is nothing at this path." }
}

/// The method-not-allowed fallback of both routers: 405 in the JSON error shape; the router adds
/// the `Allow` header.
pub async fn method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}

fn new_correlation_id() -> CorrelationId {
    let mut bytes = [0u8; 12];
    OsRng.fill_bytes(&mut bytes);
    CorrelationId::parse(&Base64UrlUnpadded::encode_string(&bytes))
        .unwrap_or_else(|_| unreachable!("16 base64url characters are a valid correlation id"))
}

/// Validates or creates the correlation id, hands it to the handler, echoes it, sets the headers
/// every response carries, and writes one log line per request. The line names the route template,
/// never the raw path, query or any header value other than the correlation id. An empty
/// `x-correlation-id` is refused like any other that breaks the rule, not taken as absent: a
/// caller that sends the header means to correlate, and would otherwise get an id it never sent.
/// Errors of the token endpoint are rewritten into RFC 6749's shape.
pub async fn correlate(mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let token_endpoint = request.uri().path() == OAUTH_TOKEN_PATH;
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
    let body_deadline = request.extensions().get::<BodyDeadline>().cloned();
    if let Some(id) = &correlation {
        request.extensions_mut().insert(id.clone());
        response = Some(next.run(request).await);
    }
    let mut response = response.unwrap_or_else(|| AppError::internal("no response").into_response());
    // The handler saw its body fail; what the client gets to know is that it was too slow.
    if body_deadline.is_some_and(|deadline| deadline.expired()) {
        metrics::counter!("pinframe_request_timeouts_total").increment(1);
        response = AppError::RequestTimeout.into_response();
    }
    if token_endpoint {
        response = token_endpoint_error(response);
    }

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

    record_request(method.as_str(), &route, response.status(), started.elapsed());
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

/// A document served as it is, such as a server's `/openapi.json`.
pub fn json_document(document: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], document).into_response()
}

//! One error type for every HTTP response the service and the CMS send, and the JSON extractor
//! whose rejections use it.
//!
//! Bodies are `{"error": <code>, "message": <sentence>}`. Neither part ever carries a request value
//! (a value can be a PIN, a token or a PAN); the detail behind a 5xx goes to the log, once, through
//! the [`LogDetail`] response extension that the logging middleware reads.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pinframe_core::{FormatError, Violation};
use pinframe_protocol::ErrorBody;
use serde::de::DeserializeOwned;

use crate::db::{StoreError, StoreErrorKind};

/// Seconds a 503 asks the client to wait before it tries again (`Retry-After`).
pub const RETRY_AFTER_SECONDS: u32 = 5;

/// Largest JSON body any endpoint accepts. The largest legitimate one is a JWE of a few hundred bytes.
pub const MAX_JSON_BODY: usize = 16 * 1024;

/// An authentication scheme, named in a 401's `WWW-Authenticate` challenge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// HTTP Basic (RFC 7617): an issuer's or the CMS client's id and secret.
    Basic,
    /// Bearer (RFC 6750): an OAuth access token, or a PIN-control token.
    Bearer,
}

/// The `WWW-Authenticate` challenge of `scheme`: the one place it is spelled.
pub fn challenge(scheme: Scheme) -> HeaderValue {
    HeaderValue::from_static(match scheme {
        Scheme::Basic => "Basic realm=\"pinframe\", charset=\"UTF-8\"",
        Scheme::Bearer => "Bearer realm=\"pinframe\"",
    })
}

/// Everything a handler can fail with, mapped to one status and one stable code each.
#[derive(Debug)]
pub enum AppError {
    /// 400: a malformed identifier, header or body. The message says which rule was broken.
    BadRequest { code: &'static str, message: String },
    /// 401: missing, unknown, expired or used credentials. Never says which.
    Unauthorized { scheme: Scheme },
    /// 403: valid credentials that do not allow this (a view token used to set, say).
    Forbidden { message: &'static str },
    /// 404: the thing named in the path is not known to this issuer.
    NotFound { message: &'static str },
    /// 422: a new PIN that breaks the issuer's PIN policy. The reason code is the policy's; the PIN
    /// itself is never echoed.
    PinPolicy(Violation),
    /// 415: a body that is not `application/json`.
    UnsupportedMediaType,
    /// 415: a body of another media type than the route takes; the message names the one it takes.
    Unsupported { message: &'static str },
    /// 413: a body over the route's limit; the message says the limit.
    TooLarge { message: &'static str },
    /// 503: the widget has not been built, or a dependency (the database, the CMS) is down. Sent
    /// with `Retry-After`.
    Unavailable { code: &'static str, message: &'static str, detail: String },
    /// 500: a bug or a storage failure. `detail` is logged, never sent.
    Internal { detail: String },
}

/// The detail of an error, carried to the logging middleware in the response's extensions.
#[derive(Clone, Debug)]
pub struct LogDetail(pub String);

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, message: message.into() }
    }

    /// A malformed identifier or value: the core's format errors never carry the value itself.
    pub fn invalid(code: &'static str, error: FormatError) -> Self {
        Self::bad_request(code, error.to_string())
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal { detail: detail.to_string() }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, message, detail) = match &self {
            Self::BadRequest { code, message } => (StatusCode::BAD_REQUEST, *code, message.as_str(), None),
            Self::Unauthorized { .. } => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "The credentials are missing, unknown, expired or already used.",
                None,
            ),
            Self::Forbidden { message } => (StatusCode::FORBIDDEN, "forbidden", *message, None),
            Self::NotFound { message } => (StatusCode::NOT_FOUND, "not_found", *message, None),
            Self::PinPolicy(violation) => (StatusCode::UNPROCESSABLE_ENTITY, "pin_policy", violation.message(), None),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The body must be JSON with Content-Type: application/json.",
                None,
            ),
            Self::Unsupported { message } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", *message, None)
            }
            Self::TooLarge { message } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", *message, None),
            Self::Unavailable { code, message, detail } => {
                (StatusCode::SERVICE_UNAVAILABLE, *code, *message, Some(detail.clone()))
            }
            Self::Internal { detail } => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Something went wrong on our side. Please try again later.",
                Some(detail.clone()),
            ),
        };
        let reason = match &self {
            Self::PinPolicy(violation) => Some(violation.code().to_owned()),
            _ => None,
        };
        let body = ErrorBody { error: code.to_owned(), reason, message: message.to_owned(), parent_origin: None };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Self::Unauthorized { scheme } = self {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge(scheme));
        }
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
        }
        if let Some(detail) = detail {
            response.extensions_mut().insert(LogDetail(detail));
        }
        response
    }
}

/// A database out of reach is a 503 the client may retry; any other storage failure is ours: 500.
/// Either way the detail goes to the log only.
impl From<StoreError> for AppError {
    fn from(error: StoreError) -> Self {
        match error.kind() {
            StoreErrorKind::Unavailable => Self::Unavailable {
                code: "storage_unavailable",
                message: "The service cannot reach its database. Please try again shortly.",
                detail: error.to_string(),
            },
            StoreErrorKind::Failed => Self::internal(error),
        }
    }
}

/// Whether the request's `Content-Type` is `media_type` (parameters such as `charset` aside).
pub fn has_media_type(headers: &axum::http::HeaderMap, media_type: &str) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media_type))
}

/// JSON body extractor whose every rejection is an [`AppError`]. Unlike axum's own, it never echoes
/// the parser's message, which can quote the offending input.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_media_type(req.headers(), "application/json") {
            return Err(AppError::UnsupportedMediaType);
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| AppError::bad_request("invalid_body", "The body is too large or could not be read."))?;
        let bytes = zeroize::Zeroizing::new(bytes.to_vec());
        serde_json::from_slice(&bytes)
            .map(ApiJson)
            .map_err(|_| AppError::bad_request("invalid_body", "The body is not the JSON this endpoint expects."))
    }
}

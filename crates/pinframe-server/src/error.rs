//! One error type for every HTTP response the service and the CMS send, and the JSON extractor
//! whose rejections use it.
//!
//! Bodies are `{"error": <code>, "message": <sentence>}`. Neither part ever carries a request value
//! (a value can be a PIN, a token or a PAN); the detail behind a 5xx goes to the log, once, through
//! the [`LogDetail`] response extension that the logging middleware reads.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
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
    /// 400: a malformed identifier, header or body. The message says which rule was broken; `field`,
    /// when the fault is in one member of a JSON body, names it (`cards[0].cardId`), never its value.
    BadRequest { code: &'static str, field: Option<String>, message: String },
    /// 401: missing, unknown, expired or used credentials. Never says which. `wrong_scheme`: the
    /// request sent the other scheme (Basic where the route takes Bearer, say), and the message
    /// names the one the route takes.
    Unauthorized { scheme: Scheme, wrong_scheme: bool },
    /// 403: valid credentials that do not allow this (a view token used to set, say).
    Forbidden { message: &'static str },
    /// 404: the thing named in the path is not known to this issuer.
    NotFound { message: &'static str },
    /// 404 with a code of its own: the thing exists but lacks what was asked for (`no_pin`: a
    /// registered card that has no PIN yet).
    Absent { code: &'static str, message: &'static str },
    /// 405: a method the path does not take; the router adds the `Allow` header.
    MethodNotAllowed,
    /// 422: a new PIN that breaks the issuer's PIN policy. The reason code is the policy's; the PIN
    /// itself is never echoed.
    PinPolicy(Violation),
    /// 415: a body that is not `application/json`.
    UnsupportedMediaType,
    /// 415: a body of another media type than the route takes; the message names the one it takes.
    Unsupported { message: &'static str },
    /// 413: a body over the route's limit; the message says the limit.
    TooLarge { message: &'static str },
    /// 429: too many failed authentications from this client, or too many tokens for this issuer.
    /// Sent with `Retry-After`: the whole seconds until a retry can succeed.
    TooManyRequests { retry_after: u64 },
    /// 408: the request's body did not arrive within the listener's body timeout. The connection
    /// is closed.
    RequestTimeout,
    /// 503: the widget has not been built, or a dependency (the database, the CMS) is down. Sent
    /// with `Retry-After`.
    Unavailable { code: &'static str, message: &'static str, detail: String },
    /// 500: a bug or a storage failure. `detail` is logged, never sent.
    Internal { detail: String },
}

/// The detail of an error, carried to the logging middleware in the response's extensions.
#[derive(Clone, Debug)]
pub struct LogDetail(pub String);

/// The code and message of an error response, carried in its extensions beside the body, so that
/// the token endpoint can answer a refusal made before its handler ran (a bad correlation id) in
/// RFC 6749's shape instead (`oauth::token_endpoint_error`).
#[derive(Clone, Debug)]
pub struct ErrorInfo {
    pub code: &'static str,
    pub message: String,
}

impl AppError {
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::BadRequest { code, field: None, message: message.into() }
    }

    /// A 400 about one member of the body: `field` is its path (`cardId`, `cards[2].encryptedData`);
    /// `message` says what it must be, without its value.
    pub fn bad_field(code: &'static str, field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest { code, field: Some(field.into()), message: message.into() }
    }

    /// The 401 of a route that takes `scheme`, telling a caller that sent the other scheme which
    /// one the route takes.
    pub fn unauthorized(scheme: Scheme, headers: &HeaderMap) -> Self {
        let other = match scheme {
            Scheme::Basic => "Bearer",
            Scheme::Bearer => "Basic",
        };
        let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.split_once(' '));
        let wrong_scheme = sent.is_some_and(|(given, _)| given.eq_ignore_ascii_case(other));
        Self::Unauthorized { scheme, wrong_scheme }
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
            Self::BadRequest { code, message, .. } => (StatusCode::BAD_REQUEST, *code, message.as_str(), None),
            Self::Unauthorized { scheme, wrong_scheme } => {
                (StatusCode::UNAUTHORIZED, "unauthorized", unauthorized_message(*scheme, *wrong_scheme), None)
            }
            Self::Forbidden { message } => (StatusCode::FORBIDDEN, "forbidden", *message, None),
            Self::NotFound { message } => (StatusCode::NOT_FOUND, "not_found", *message, None),
            Self::Absent { code, message } => (StatusCode::NOT_FOUND, *code, *message, None),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This path does not take this method; the Allow header lists the methods it takes.",
                None,
            ),
            Self::PinPolicy(violation) => (StatusCode::UNPROCESSABLE_ENTITY, "pin_policy", violation.message(), None),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The body must be JSON in UTF-8, with Content-Type: application/json.",
                None,
            ),
            Self::Unsupported { message } => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", *message, None)
            }
            Self::TooLarge { message } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large", *message, None),
            Self::TooManyRequests { .. } => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests. Try again after the number of seconds in Retry-After.",
                None,
            ),
            Self::RequestTimeout => {
                (StatusCode::REQUEST_TIMEOUT, "request_timeout", "The request body did not arrive in time.", None)
            }
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
        let field = match &self {
            Self::BadRequest { field, .. } => field.clone(),
            _ => None,
        };
        let body =
            ErrorBody { error: code.to_owned(), reason, field, message: message.to_owned(), parent_origin: None };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let mut response = (status, [(header::CONTENT_TYPE, "application/json")], body).into_response();
        if let Self::Unauthorized { scheme, .. } = self {
            response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge(scheme));
        }
        match self {
            Self::TooManyRequests { retry_after } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after.max(1)));
            }
            Self::RequestTimeout => {
                response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            _ if status == StatusCode::SERVICE_UNAVAILABLE => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
            }
            _ => {}
        }
        if let Some(detail) = detail {
            response.extensions_mut().insert(LogDetail(detail));
        }
        response.extensions_mut().insert(ErrorInfo { code, message: message.to_owned() });
        response
    }
}

/// The message of a 401: the same whatever was wrong with the credentials (a wrong client id and a
/// wrong secret read alike), unless the request used the other scheme.
fn unauthorized_message(scheme: Scheme, wrong_scheme: bool) -> &'static str {
    match (scheme, wrong_scheme) {
        (_, false) => "The credentials are missing, unknown, expired or already used.",
        (Scheme::Basic, true) => {
            "This endpoint takes HTTP Basic (Authorization: Basic with the issuer's client credentials), not a \
             Bearer token."
        }
        (Scheme::Bearer, true) => {
            "This endpoint takes a Bearer token (Authorization: Bearer …), not HTTP Basic: the Register API takes \
             an access token from POST /oauth2/token, the widget API a PIN-control token."
        }
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

/// Whether the request's `Content-Type` is `media_type`, in UTF-8: a `charset` parameter, if any,
/// must be `utf-8` (RFC 8259 §8.1 allows no other for JSON, and every text body the servers read is
/// UTF-8), so a body in another encoding is refused rather than misread. Other parameters are
/// ignored.
pub fn has_media_type(headers: &HeaderMap, media_type: &str) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case(media_type)
        && parts.filter_map(|p| p.split_once('=')).all(|(name, value)| {
            !name.trim().eq_ignore_ascii_case("charset") || value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        })
}

/// A body the route's limit cut off is 413 `too_large`; one that could not be read otherwise, 400.
pub fn read_body(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge { message: "The body is larger than this endpoint accepts." }
        } else {
            AppError::bad_request("invalid_body", "The body could not be read.")
        }
    })
}

/// Reads a JSON object body: 415 unless `Content-Type: application/json` (UTF-8), 413 over the
/// route's limit, 400 `invalid_body` for anything but a JSON object of `T`'s shape.
pub fn json_object<T: DeserializeOwned>(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<T, AppError> {
    if !has_media_type(headers, "application/json") {
        return Err(AppError::UnsupportedMediaType);
    }
    parse_object(read_body(body)?)
}

/// serde reads a struct from an array of its fields too (`["card", "VIEW_PIN"]`); every body of
/// both APIs is an object, so anything else is refused before serde sees it. A member that is
/// missing, of the wrong type or of a refused value is named in `field` (its path, such as
/// `cards[0].cardId`); the parser's own message is never echoed, since it can quote the input.
fn parse_object<T: DeserializeOwned>(body: Bytes) -> Result<T, AppError> {
    let bytes = zeroize::Zeroizing::new(body.to_vec());
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AppError::bad_request("invalid_body", "The body is not the JSON object this endpoint expects."));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(&bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| body_error(&e))?;
    deserializer
        .end()
        .map_err(|_| AppError::bad_request("invalid_body", "The body has more after its JSON object."))?;
    Ok(value)
}

/// The 400 of a body serde refused, naming the member and what it must be, from the parts of
/// serde's message that come from the endpoint's types (field names, expected types), never from
/// the request (serde quotes an unexpected value and an unknown member's name, which are dropped).
fn body_error(error: &serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let inner = error.inner();
    if !inner.is_data() {
        return AppError::bad_request("invalid_body", "The body is not valid JSON.");
    }
    let path = field_path(error.path().iter());
    let text = inner.to_string();
    let text = text.rsplit_once(" at line ").map_or(text.as_str(), |(text, _)| text);
    let expected = text.split_once(", expected ").map(|(_, expected)| describe(expected));
    let quoted = |text: &str| text.split('`').nth(1).map(str::to_owned);
    let join = |name: String| if path.is_empty() { name } else { format!("{path}.{name}") };
    if text.starts_with("missing field `") {
        if let Some(name) = quoted(text) {
            let field = join(name);
            return AppError::bad_field("invalid_body", field.clone(), format!("{field} is missing."));
        }
    }
    if text.starts_with("unknown field `") {
        // The path ends at the unknown member, whose name is the caller's: name its object only.
        let path = field_path(error.path().iter().take(error.path().iter().count().saturating_sub(1)));
        let message = match expected {
            Some(list) if !list.is_empty() => {
                format!("The body has a member this endpoint does not take; it takes {list}.")
            }
            _ => "The body has a member this endpoint does not take.".to_owned(),
        };
        return if path.is_empty() {
            AppError::bad_request("invalid_body", message)
        } else {
            AppError::bad_field("invalid_body", path, message)
        };
    }
    let name = if path.is_empty() { "The body".to_owned() } else { path.clone() };
    let message = match expected {
        Some(expected) => format!("{name} must be {expected}."),
        None => format!("{name} is not valid."),
    };
    if path.is_empty() {
        AppError::bad_request("invalid_body", message)
    } else {
        AppError::bad_field("invalid_body", path, message)
    }
}

/// A path as `cards[0].cardId`. Map keys come from the endpoint's field names (serde records a
/// member only once it matched one); anything else is `?` or left out, never echoed.
fn field_path<'a>(segments: impl IntoIterator<Item = &'a serde_path_to_error::Segment>) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in segments {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key }
                if !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_') =>
            {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            _ => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

/// serde's description of an expected type, in words for a JSON caller.
fn describe(expected: &str) -> String {
    match expected {
        "u8" | "u16" | "u32" | "u64" | "usize" => "a whole number of 0 or more".to_owned(),
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number".to_owned(),
        "a sequence" => "an array".to_owned(),
        "a map" => "an object".to_owned(),
        "a boolean" => "true or false".to_owned(),
        other if other.starts_with("struct ") => "an object".to_owned(),
        other => other.to_owned(),
    }
}

/// JSON body extractor whose every rejection is an [`AppError`], as [`json_object`] gives them.
/// Unlike axum's own, it never echoes the parser's message.
#[derive(Debug)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !has_media_type(req.headers(), "application/json") {
            return Err(AppError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(req, state).await;
        parse_object(read_body(body)?).map(ApiJson)
    }
}

/// Path extractor whose rejection (a segment that does not percent-decode to UTF-8, say) is 400
/// `invalid_path` in the JSON error shape, not axum's plain-text answer.
#[derive(Debug)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> axum::extract::FromRequestParts<S> for ApiPath<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| ApiPath(value))
            .map_err(|_| AppError::bad_request("invalid_path", "The path is malformed."))
    }
}

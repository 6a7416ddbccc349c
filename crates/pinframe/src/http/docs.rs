//! The book at `/docs/` (`pinframe serve --docs-dir`), from the
//! [`DocsSite`](crate::docs_site::DocsSite) read at start. `GET` and `HEAD`; without a book every
//! path here is the JSON 404.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use pinframe_server::error::AppError;

use crate::docs_site::{none_match, DocFile, Lookup};
use crate::state::AppState;

/// Where the book is served.
pub const DOCS_PATH: &str = "/docs/";

fn not_found() -> Response {
    AppError::NotFound { message: "There is nothing at this path." }.into_response()
}

/// Every `/docs/` path of a service started without a book.
fn no_book() -> Response {
    AppError::NotFound { message: "This service serves no book." }.into_response()
}

fn redirect(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(location) => (StatusCode::PERMANENT_REDIRECT, [(header::LOCATION, location)]).into_response(),
        Err(_) => not_found(),
    }
}

/// `GET /docs`: 308 to `/docs/`, where the book's relative links work.
pub async fn root(State(state): State<AppState>) -> Response {
    if state.docs.is_served() {
        redirect(DOCS_PATH)
    } else {
        no_book()
    }
}

/// `GET /docs/` and `GET /docs/{path}`: a file of the book; a directory path, its `index.html`.
pub async fn file(State(state): State<AppState>, uri: Uri, headers: HeaderMap) -> Response {
    if !state.docs.is_served() {
        return no_book();
    }
    let Some(path) = uri.path().strip_prefix(DOCS_PATH).and_then(percent_decode) else {
        return not_found();
    };
    match state.docs.lookup(&path) {
        Lookup::File(file) => respond(file, &headers),
        Lookup::Directory => redirect(&format!("{}/", uri.path())),
        Lookup::Missing => not_found(),
    }
}

/// The file in the encoding the client takes best, or 304 when it already has that version.
fn respond(file: &DocFile, headers: &HeaderMap) -> Response {
    let chosen = file.negotiate(headers);
    let mut response = if none_match(headers, &chosen.etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut response = chosen.body.to_vec().into_response();
        let out = response.headers_mut();
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static(file.content_type()));
        if let Some(encoding) = chosen.encoding {
            out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let out = response.headers_mut();
    out.insert(header::ETAG, chosen.etag);
    // Kept, but checked with the service (ETag) before each use: a new book shows at once.
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(csp) = file.content_security_policy() {
        out.insert(header::CONTENT_SECURITY_POLICY, csp.clone());
    }
    response
}

/// The path's percent-encoding decoded; `None` for a malformed escape or bytes that are no UTF-8.
fn percent_decode(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] == b'%' {
            let hex = bytes.get(at + 1..at + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            at += 3;
        } else {
            out.push(bytes[at]);
            at += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_escapes_are_decoded_and_malformed_ones_refused() {
        assert_eq!(percent_decode("a%20b/%2e%2E/c").as_deref(), Some("a b/../c"));
        assert_eq!(percent_decode("plain.html").as_deref(), Some("plain.html"));
        for bad in ["%", "%2", "%zz", "%+f", "%ff", "a%c3"] {
            assert_eq!(percent_decode(bad), None, "{bad}");
        }
    }
}

//! Issuer themes and fonts: `PUT|GET|DELETE /api/v1/issuers/{issuerId}/theme` and
//! `PUT /api/v1/issuers/{issuerId}/fonts/{name}` (HTTP Basic with the issuer's client credentials,
//! or an OAuth Bearer JWT for the issuer), and the same-origin URLs the widget page loads them
//! from: `GET /pin/themes/{issuerId}/{version}.css` and `GET /pin/fonts/{issuerId}/{name}`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_core::IssuerId;
use pinframe_protocol::issuer::{FontResponse, ThemeResponse};
use pinframe_server::error::{has_media_type, ApiPath, AppError};

use crate::auth::IssuerCredentials;
use crate::state::AppState;
use crate::theme::{self, theme_path, Refused, MAX_FONT_BYTES, MAX_THEME_BYTES};

/// What an upload route takes: one media type, up to a size.
struct Upload {
    media_type: &'static str,
    limit: usize,
    unsupported: &'static str,
    too_large: &'static str,
}

const THEME_UPLOAD: Upload = Upload {
    media_type: "text/css",
    limit: MAX_THEME_BYTES,
    unsupported: "A theme must be sent with Content-Type: text/css.",
    too_large: "A theme may be at most 32 KiB.",
};

const FONT_UPLOAD: Upload = Upload {
    media_type: "font/woff2",
    limit: MAX_FONT_BYTES,
    unsupported: "A font must be sent with Content-Type: font/woff2.",
    too_large: "A font may be at most 512 KiB.",
};

/// The body of an upload: 415 for another media type, 413 over the limit (the route's body limit
/// is one byte more, so a longer body is cut off there and refused here).
fn upload(headers: &HeaderMap, body: Result<Bytes, BytesRejection>, rules: &Upload) -> Result<Bytes, AppError> {
    if !has_media_type(headers, rules.media_type) {
        return Err(AppError::Unsupported { message: rules.unsupported });
    }
    match body {
        Ok(body) if body.len() <= rules.limit => Ok(body),
        Ok(_) => Err(AppError::TooLarge { message: rules.too_large }),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            Err(AppError::TooLarge { message: rules.too_large })
        }
        Err(_) => Err(AppError::bad_request("invalid_body", "The body could not be read.")),
    }
}

/// Checks `source`, keeps what the allowlist allows, and makes it the issuer's theme: what an
/// issuer's upload does, and the demo's theme switcher too. 400 `unsafe_theme` when something in
/// it could make a request depend on what the page shows.
pub async fn store_theme(state: &AppState, issuer: &IssuerId, source: &str) -> Result<ThemeResponse, AppError> {
    let checked = theme::sanitize(source, issuer).map_err(|refused| refused_theme(&refused))?;
    let version = checked.version();
    state.store.put_theme(issuer, &version, &checked.css, state.clock.now()).await?;
    tracing::info!(
        target: "pinframe::themes",
        issuer = issuer.as_str(),
        version = version.as_str(),
        bytes = checked.css.len(),
        dropped = checked.dropped.len(),
        "theme stored"
    );
    Ok(ThemeResponse {
        url: format!("{}{}", state.config.public_url, theme_path(issuer, &version)),
        version,
        bytes: checked.css.len(),
        dropped: checked.dropped,
    })
}

fn refused_theme(refused: &Refused) -> AppError {
    AppError::bad_request(Refused::CODE, refused.message())
}

/// `PUT /api/v1/issuers/{issuerId}/theme`: checks the CSS, keeps what the allowlist allows, and
/// makes it the issuer's theme. 200 with the version, URL and the list of what was dropped.
pub async fn put_theme(
    State(state): State<AppState>,
    credentials: IssuerCredentials,
    ApiPath(issuer_id): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let issuer = credentials.authorize(&issuer_id)?;
    let body = upload(&headers, body, &THEME_UPLOAD)?;
    let source = std::str::from_utf8(&body)
        .map_err(|_| AppError::bad_request("invalid_theme", "A theme must be UTF-8 text."))?;
    Ok(Json(store_theme(&state, &issuer, source).await?).into_response())
}

/// `GET /api/v1/issuers/{issuerId}/theme`: the theme as the widget gets it; 404 when there is none.
pub async fn get_theme(
    State(state): State<AppState>,
    credentials: IssuerCredentials,
    ApiPath(issuer_id): ApiPath<String>,
) -> Result<Response, AppError> {
    let issuer = credentials.authorize(&issuer_id)?;
    let theme = state.store.theme(&issuer).await?;
    let theme = theme.ok_or(AppError::NotFound { message: "This issuer has no theme; the default one is used." })?;
    Ok(([(header::CONTENT_TYPE, "text/css; charset=utf-8")], theme.css).into_response())
}

/// `DELETE /api/v1/issuers/{issuerId}/theme`: back to the default theme. 204, also when there was none.
pub async fn delete_theme(
    State(state): State<AppState>,
    credentials: IssuerCredentials,
    ApiPath(issuer_id): ApiPath<String>,
) -> Result<StatusCode, AppError> {
    let issuer = credentials.authorize(&issuer_id)?;
    state.store.delete_theme(&issuer).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /api/v1/issuers/{issuerId}/fonts/{name}`: a WOFF2 font (`NAME.woff2`, at most 512 KiB)
/// that the issuer's theme may name in `@font-face`. 201 with its URL. The font is parsed whole
/// first (`theme::check_font`): 400 `invalid_font` if it does not parse, `font_missing_digits` if
/// it does not draw every digit.
pub async fn put_font(
    State(state): State<AppState>,
    credentials: IssuerCredentials,
    ApiPath((issuer_id, name)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    let issuer = credentials.authorize(&issuer_id)?;
    if !theme::valid_font_name(&name) {
        return Err(AppError::bad_request(
            "invalid_font_name",
            "A font's name must be 1 to 64 characters of A-Z, a-z, 0-9, '-' or '_', then .woff2.",
        ));
    }
    let body = upload(&headers, body, &FONT_UPLOAD)?;
    // Decompressing and parsing up to 512 KiB of font is CPU work: off the async workers.
    let checked = body.clone();
    let verdict = tokio::task::spawn_blocking(move || theme::check_font(&checked)).await.map_err(AppError::internal)?;
    verdict.map_err(|refusal| AppError::bad_request(refusal.code(), refusal.message()))?;
    state.store.put_font(&issuer, &name, &body, state.clock.now()).await?;
    let url = format!("{}/pin/fonts/{}/{name}", state.config.public_url, issuer.as_str());
    Ok((StatusCode::CREATED, Json(FontResponse { url })).into_response())
}

/// `GET /pin/themes/{issuerId}/{version}.css`: the issuer's current theme, if that is its version
/// and today's check still takes it (a theme stored before a rule was added is not served).
pub async fn serve_theme(
    State(state): State<AppState>,
    ApiPath((issuer_id, file)): ApiPath<(String, String)>,
) -> Result<Response, AppError> {
    let not_found = || AppError::NotFound { message: "This issuer has no theme of that version." };
    let issuer = IssuerId::parse(&issuer_id).map_err(|e| AppError::invalid("invalid_issuer_id", e))?;
    let version = file.strip_suffix(".css").ok_or_else(not_found)?;
    let theme = state.store.theme(&issuer).await?;
    let theme = theme.filter(|t| t.version == version).ok_or_else(not_found)?;
    theme::sanitize(&theme.css, &issuer).map_err(|_| not_found())?;
    Ok(immutable("text/css; charset=utf-8", theme.css.into_bytes()))
}

/// `GET /pin/fonts/{issuerId}/{name}`: a font the issuer uploaded.
pub async fn serve_font(
    State(state): State<AppState>,
    ApiPath((issuer_id, name)): ApiPath<(String, String)>,
) -> Result<Response, AppError> {
    let not_found = AppError::NotFound { message: "This issuer has no font of that name." };
    let issuer = IssuerId::parse(&issuer_id).map_err(|e| AppError::invalid("invalid_issuer_id", e))?;
    if !theme::valid_font_name(&name) {
        return Err(not_found);
    }
    let data = state.store.font(&issuer, &name).await?.ok_or(not_found)?;
    let mut response = immutable("font/woff2", data);
    // A font's name is not versioned: cache it for a day, not for good.
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=86400"));
    Ok(response)
}

fn immutable(content_type: &'static str, body: Vec<u8>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    response
}

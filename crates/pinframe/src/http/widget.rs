//! Hosting the widget: `GET /pin/{issuerId}/view`, `GET /pin/{issuerId}/set` and
//! `GET /pin/assets/{file}`, from the [`WidgetAssets`](crate::widget_assets::WidgetAssets) read at start.

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use brotli::enc::BrotliEncoderParams;
use pinframe_core::IssuerId;
use pinframe_protocol::appearance::Appearance;
use pinframe_protocol::Origin;
use pinframe_server::error::{ApiPath, AppError};

use crate::locale_assets::{preload_name, query_lang};
use crate::state::AppState;
use crate::theme::theme_path;
use crate::widget_assets::{accepts, ASSET_PREFIX, HEAD_PLACEHOLDER};

fn escape_attribute(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The page's Content-Security-Policy: scripts, styles and fetches from this origin only, wasm
/// compilation allowed, no inline script or style, and framing only by the issuer's origins.
pub fn content_security_policy(origins: &[String]) -> String {
    let ancestors = if origins.is_empty() { "'none'".to_owned() } else { origins.join(" ") };
    format!(
        "default-src 'none'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; connect-src 'self'; \
         img-src 'self' data:; font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    )
}

/// `page` with `class` on its `<html>` element, which has none in Trunk's page.
fn with_root_class(page: &str, class: &str) -> String {
    match page.find("<html") {
        Some(at) => {
            let (before, after) = page.split_at(at + "<html".len());
            format!("{before} class=\"{class}\"{after}")
        }
        None => page.to_owned(),
    }
}

/// `GET /pin/{issuerId}/view`. A malformed or unknown issuer gets the error page
/// ([`error_page`](super::error_page)): HTML for a browser, JSON when asked for.
pub async fn page(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    issuer_id: Result<ApiPath<String>, AppError>,
) -> Result<Response, AppError> {
    let known = async {
        let ApiPath(issuer_id) = issuer_id?;
        let issuer = IssuerId::parse(&issuer_id).map_err(|e| AppError::invalid("invalid_issuer_id", e))?;
        if state.store.issuer(&issuer).await?.is_none() {
            return Err(AppError::NotFound { message: "No such issuer." });
        }
        Ok(issuer)
    };
    let issuer = match known.await {
        Ok(issuer) => issuer,
        Err(error @ (AppError::BadRequest { .. } | AppError::NotFound { .. })) => {
            return Ok(super::error_page::respond(&headers, error))
        }
        Err(other) => return Err(other),
    };
    let Some(template) = state.widget.page_template() else {
        return Err(AppError::Unavailable {
            code: "widget_not_built",
            message: "The PIN page is not available right now.",
            detail: "the widget directory has no index.html; build it with `make widget`".to_owned(),
        });
    };
    let origins: Vec<String> = state.store.origins(&issuer).await?.into_iter().map(Origin::into_string).collect();
    // The issuer's theme, after the default stylesheet so that it wins; same origin, so the CSP's
    // `style-src 'self'` holds. The page names no origin: until the widget knows its token's
    // `parentOrigin` it tells no framing page anything.
    let mut head = String::new();
    if let Some(theme) = state.store.theme(&issuer).await? {
        let href = theme_path(&issuer, &theme.version);
        head.push_str(&format!("<link rel=\"stylesheet\" href=\"{}\">", escape_attribute(&href)));
    }
    // The catalogue of the query's language, which the widget fetches before its first paint
    // (English is compiled in): fetched beside the wasm rather than after it.
    if let Some(name) = query.as_deref().and_then(query_lang).and_then(preload_name) {
        head.push_str(&format!("<link rel=\"preload\" href=\"{ASSET_PREFIX}{name}\" as=\"fetch\" crossorigin>"));
    }
    let mut html = template.replace(HEAD_PLACEHOLDER, &head);
    // The host's `theme=light|dark`, on `<html>` from the first paint (the widget, which sets it
    // too, starts only once its wasm has loaded).
    if let Some(appearance) = query.as_deref().and_then(Appearance::from_query) {
        html = with_root_class(&html, appearance.class());
    }
    let csp = HeaderValue::from_str(&content_security_policy(&origins)).map_err(AppError::internal)?;
    let (body, encoding) = brotli_if_accepted(html, &headers);
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let out = response.headers_mut();
    out.insert(header::CONTENT_SECURITY_POLICY, csp);
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    Ok(response)
}

/// The page in brotli when the client accepts it and that is smaller (it carries no secret: the
/// token stays in the fragment, which no request carries), else as it is.
fn brotli_if_accepted(html: String, headers: &HeaderMap) -> (Vec<u8>, Option<&'static str>) {
    if accepts(headers, "br") {
        let mut out = Vec::new();
        let params = BrotliEncoderParams { quality: 11, lgwin: 22, size_hint: html.len(), ..Default::default() };
        if brotli::BrotliCompress(&mut html.as_bytes(), &mut out, &params).is_ok() && out.len() < html.len() {
            return (out, Some("br"));
        }
    }
    (html.into_bytes(), None)
}

/// `GET /pin/assets/{file}`: file names carry a content hash, so they are cached for good; brotli
/// or gzip, compressed once at load, when the client accepts it.
pub async fn asset(State(state): State<AppState>, ApiPath(file): ApiPath<String>, headers: HeaderMap) -> Response {
    let Some(asset) = state.widget.asset(&file) else {
        return AppError::NotFound { message: "There is nothing at this path." }.into_response();
    };
    let (body, encoding) = asset.negotiate(&headers);
    let mut response = body.to_vec().into_response();
    let out = response.headers_mut();
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type()));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    *response.status_mut() = StatusCode::OK;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_frames_only_registered_origins() {
        let csp = content_security_policy(&["https://a.example".into(), "https://b.example".into()]);
        assert!(csp.ends_with("frame-ancestors https://a.example https://b.example"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(content_security_policy(&[]).ends_with("frame-ancestors 'none'"));
    }
}

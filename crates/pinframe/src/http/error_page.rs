//! The page a browser gets for a path under `/pin/` that is no widget page (an unknown issuer, an
//! unknown mode): HTML in the cardholder's language (`Accept-Language`, from the widget's message
//! catalogues `not-found-title` and `not-found`), styled by one inline stylesheet that the page's
//! CSP allows by its hash and nothing else. It names nothing from the request: no path, no issuer
//! id. A caller whose `Accept` asks for `application/json` gets the JSON error body instead; either
//! way the status is the error's.

use std::sync::LazyLock;

use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use base64ct::{Base64, Encoding};
use pinframe_server::error::AppError;
use sha2::{Digest, Sha256};

include!(concat!(env!("OUT_DIR"), "/catalogues.rs"));

/// The catalogue of last resort, and the one whose keys every other has.
const FALLBACK: &str = "en";

/// Languages written right to left.
const RTL: [&str; 5] = ["ar", "fa", "he", "ur", "yi"];

const STYLE: &str = "\
:root{color-scheme:light dark;font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
background:Canvas;color:CanvasText}\
main{max-width:32rem;margin:1.5rem;padding:1.5rem 1.75rem;border:1px solid GrayText;border-radius:.75rem}\
h1{font-size:1.375rem;margin:0 0 .75rem}p{margin:0;line-height:1.5}";

/// `'sha256-…'` of [`STYLE`], the one style the page's CSP allows.
static STYLE_SOURCE: LazyLock<String> =
    LazyLock::new(|| format!("'sha256-{}'", Base64::encode_string(&Sha256::digest(STYLE.as_bytes()))));

/// The page's Content-Security-Policy: nothing but its own inline stylesheet, and no framing.
pub fn content_security_policy() -> String {
    format!(
        "default-src 'none'; style-src {}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        *STYLE_SOURCE
    )
}

/// `error` as the HTML page, or as its JSON body when `Accept` asks for JSON.
pub fn respond(headers: &HeaderMap, error: AppError) -> Response {
    let mut response = error.into_response();
    if !wants_json(headers) {
        let lang = language(headers);
        let html = page(lang);
        let (mut parts, _) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
        if let Ok(csp) = HeaderValue::from_str(&content_security_policy()) {
            parts.headers.insert(header::CONTENT_SECURITY_POLICY, csp);
        }
        if let Ok(lang) = HeaderValue::from_str(lang) {
            parts.headers.insert(header::CONTENT_LANGUAGE, lang);
        }
        response = Response::from_parts(parts, axum::body::Body::from(html));
    }
    response.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept, Accept-Language"));
    response
}

/// The media ranges of `Accept` with their weights (`q`, 1 when absent).
fn weighted<'h>(value: &'h str) -> impl Iterator<Item = (String, f32)> + 'h {
    value.split(',').filter_map(|item| {
        let mut parts = item.split(';');
        let name = parts.next()?.trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.split_once('='))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("q"))
            .map_or(1.0, |(_, v)| v.trim().parse::<f32>().unwrap_or(0.0));
        (!name.is_empty()).then_some((name, q))
    })
}

/// Whether `Accept` names `application/json`, and not below `text/html`.
pub fn wants_json(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else { return false };
    let weight = |wanted: &str| weighted(accept).filter(|(name, _)| name == wanted).map(|(_, q)| q).reduce(f32::max);
    match (weight("application/json"), weight("text/html")) {
        (Some(json), Some(html)) => json > 0.0 && json >= html,
        (Some(json), None) => json > 0.0,
        _ => false,
    }
}

/// The catalogue tag to answer in: the first of `Accept-Language`'s languages, by weight, that has
/// a catalogue (`fi-FI` takes `fi`), else English.
pub fn language(headers: &HeaderMap) -> &'static str {
    let accepted = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut tags: Vec<(String, f32)> = weighted(accepted).filter(|(_, q)| *q > 0.0).collect();
    tags.sort_by(|a, b| b.1.total_cmp(&a.1));
    tags.iter()
        .find_map(|(tag, _)| {
            let primary = tag.split('-').next().unwrap_or_default();
            CATALOGUES
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(tag))
                .or_else(|| CATALOGUES.iter().find(|(known, _)| known.eq_ignore_ascii_case(primary)))
                .map(|(known, _)| *known)
        })
        .unwrap_or(FALLBACK)
}

/// The message `key` of catalogue `lang`, or of English when that catalogue lacks it.
fn message(lang: &str, key: &str) -> String {
    let lookup = |lang: &str| {
        let (_, text) = CATALOGUES.iter().find(|(tag, _)| *tag == lang)?;
        text.lines().find_map(|line| {
            let (name, value) = line.split_once('=')?;
            (name.trim() == key).then(|| value.trim().to_owned())
        })
    };
    lookup(lang).or_else(|| lookup(FALLBACK)).unwrap_or_default()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The not-found page in `lang`.
fn page(lang: &str) -> String {
    let primary = lang.split('-').next().unwrap_or_default();
    let dir = if RTL.contains(&primary) { "rtl" } else { "ltr" };
    let title = escape(&message(lang, "not-found-title"));
    let text = escape(&message(lang, "not-found"));
    format!(
        "<!DOCTYPE html>\n<html lang=\"{lang}\" dir=\"{dir}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{title}</title><style>{STYLE}</style></head>\
         <body><main><h1>{title}</h1><p>{text}</p></main></body></html>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn json_only_when_asked_for() {
        let accept = |v: &str| wants_json(&headers(&[(header::ACCEPT, v)]));
        assert!(accept("application/json"));
        assert!(accept("application/json, text/plain, */*"));
        assert!(accept("text/html;q=0.5, application/json"));
        assert!(!accept("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"));
        assert!(!accept("*/*"));
        assert!(!accept("application/json;q=0"));
        assert!(!accept("text/html, application/json;q=0.9"));
        assert!(!wants_json(&HeaderMap::new()));
    }

    #[test]
    fn languages_by_weight_and_primary_subtag() {
        let lang = |v: &str| language(&headers(&[(header::ACCEPT_LANGUAGE, v)]));
        assert_eq!(lang("fi"), "fi");
        assert_eq!(lang("fi-FI,fi;q=0.9,en;q=0.8"), "fi");
        assert_eq!(lang("xx, sv;q=0.4, de;q=0.7"), "de");
        assert_eq!(lang("de;q=0, ja"), "ja");
        assert_eq!(lang("tlh"), "en");
        assert_eq!(language(&HeaderMap::new()), "en");
    }

    #[test]
    fn every_catalogue_has_the_page_and_the_page_is_escaped_and_styled_by_hash() {
        assert!(CATALOGUES.iter().any(|(tag, _)| *tag == "en"));
        for (tag, _) in CATALOGUES {
            let html = page(tag);
            assert!(html.contains(&format!("lang=\"{tag}\"")));
            assert!(!message(tag, "not-found-title").is_empty(), "{tag}");
            assert!(!message(tag, "not-found").is_empty(), "{tag}");
        }
        assert!(page("fi").contains("<h1>Sivua ei löytynyt</h1>"));
        assert!(page("en").contains("dir=\"ltr\""));
        assert!(page("ar").contains("dir=\"rtl\""));
        assert!(content_security_policy().contains("style-src 'sha256-"));
        assert!(!content_security_policy().contains("unsafe-inline"));
    }
}

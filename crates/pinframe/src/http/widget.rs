//! Hosting the Trunk-built widget: `GET /pin/{issuerId}/view` and `GET /pin/assets/{file}`.
//!
//! Trunk starts the wasm from an inline `<script type="module">`. The page's CSP allows no inline
//! script, so at load time the loader is moved into an asset of its own, named by its hash.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use brotli::enc::BrotliEncoderParams;
use flate2::write::GzEncoder;
use flate2::Compression;
use pinframe_core::pinblock::hex_encode;
use pinframe_core::IssuerId;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::state::AppState;

/// Where Trunk's `public_url` puts the assets (Trunk.toml).
pub const ASSET_PREFIX: &str = "/pin/assets/";
const ORIGINS_PLACEHOLDER: &str = "<!--pinframe-origins-->";

#[derive(Debug)]
struct Asset {
    bytes: Vec<u8>,
    /// The same bytes compressed once at load, each kept only when it is smaller.
    brotli: Option<Vec<u8>>,
    gzip: Option<Vec<u8>>,
    content_type: &'static str,
}

impl Asset {
    /// `brotli` is the asset's precompressed `.br` file, if the build wrote one (`make widget`
    /// does, at quality 11, which takes too long to do at every start); it is used only if it
    /// decodes to `bytes`. Otherwise, and for the loader made here, brotli runs at a quick quality.
    fn new(bytes: Vec<u8>, content_type: &'static str, brotli: Option<Vec<u8>>) -> io::Result<Self> {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&bytes)?;
        let gzip = Some(gzip.finish()?).filter(|gz| gz.len() < bytes.len());
        let brotli = match brotli.filter(|br| decodes_to(br, &bytes)) {
            Some(br) => br,
            None => {
                let mut br = Vec::new();
                let params =
                    BrotliEncoderParams { quality: 5, lgwin: 22, size_hint: bytes.len(), ..Default::default() };
                brotli::BrotliCompress(&mut bytes.as_slice(), &mut br, &params)?;
                br
            }
        };
        let brotli = Some(brotli).filter(|br| br.len() < bytes.len());
        Ok(Self { bytes, brotli, gzip, content_type })
    }

    /// Brotli if the client accepts it, else gzip, else the bytes as they are (whichever exists),
    /// with its `Content-Encoding`.
    fn negotiate(&self, headers: &HeaderMap) -> (&[u8], Option<&'static str>) {
        if let Some(br) = self.brotli.as_ref().filter(|_| accepts(headers, "br")) {
            (br, Some("br"))
        } else if let Some(gzip) = self.gzip.as_ref().filter(|_| accepts(headers, "gzip")) {
            (gzip, Some("gzip"))
        } else {
            (&self.bytes, None)
        }
    }
}

/// Whether `brotli` decodes to exactly `bytes`; it is never decoded past one byte more.
fn decodes_to(brotli: &[u8], bytes: &[u8]) -> bool {
    let mut decoded = Vec::with_capacity(bytes.len());
    let limit = u64::try_from(bytes.len()).unwrap_or(u64::MAX).saturating_add(1);
    let mut reader = brotli::Decompressor::new(brotli, 4096).take(limit);
    reader.read_to_end(&mut decoded).is_ok() && decoded == bytes
}

/// Whether `Accept-Encoding` allows `coding` (RFC 9110 §12.5.3: a coding with `q=0` is refused).
fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |item| {
            let mut parts = item.split(';').map(str::trim);
            let coding = parts.next().unwrap_or_default();
            let refused =
                parts.any(|p| p.strip_prefix("q=").is_some_and(|q| q.trim_end_matches(['0', '.']).is_empty()));
            (coding.eq_ignore_ascii_case(wanted) || coding == "*") && !refused
        },
    )
}

/// The widget's page template and assets, read into memory once.
#[derive(Debug, Default)]
pub struct WidgetAssets {
    page: Option<String>,
    assets: HashMap<String, Asset>,
}

fn content_type(name: &str) -> Option<&'static str> {
    Some(match name.rsplit_once('.')?.1 {
        "js" => "text/javascript; charset=utf-8",
        "wasm" => "application/wasm",
        "css" => "text/css; charset=utf-8",
        "woff2" => "font/woff2",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        _ => return None,
    })
}

impl WidgetAssets {
    /// Reads `dir` (Trunk's `dist/`). A missing directory gives an empty set, served as 503.
    pub fn load(dir: &Path) -> io::Result<Self> {
        let index = match fs::read_to_string(dir.join("index.html")) {
            Ok(index) => index,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e),
        };
        let mut assets = HashMap::new();
        for entry in fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let (Some(content_type), true) = (content_type(&name), entry.file_type()?.is_file()) {
                let precompressed = match fs::read(dir.join(format!("{name}.br"))) {
                    Ok(br) => Some(br),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                assets.insert(name, Asset::new(fs::read(entry.path())?, content_type, precompressed)?);
            }
        }
        let (page, loader) = externalize_loader(&index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "index.html has no Trunk loader script"))?;
        let digest = hex_encode(&Sha256::digest(loader.as_bytes())[..8]).to_ascii_lowercase();
        let loader_name = format!("pinframe-loader-{digest}.js");
        let page = page.replace(LOADER_PLACEHOLDER, &format!("{ASSET_PREFIX}{loader_name}"));
        assets.insert(loader_name, Asset::new(loader.into_bytes(), "text/javascript; charset=utf-8", None)?);
        Ok(Self { page: Some(page), assets })
    }

    pub fn is_built(&self) -> bool {
        self.page.is_some()
    }
}

const LOADER_PLACEHOLDER: &str = "\u{0}loader\u{0}";

/// Splits Trunk's inline module script out of `index`: returns the page with a
/// `<script type="module" src=…>` in its place (and a marker for the issuer's origins before
/// `</head>`), and the script's text.
fn externalize_loader(index: &str) -> Option<(String, String)> {
    const OPEN: &str = "<script type=\"module\">";
    let start = index.find(OPEN)?;
    let body_start = start + OPEN.len();
    let body_len = index[body_start..].find("</script>")?;
    let loader = index[body_start..body_start + body_len].trim().to_owned();
    if index[body_start + body_len..].contains(OPEN) {
        return None;
    }
    let mut page = String::with_capacity(index.len());
    page.push_str(&index[..start]);
    page.push_str(&format!("<script type=\"module\" src=\"{LOADER_PLACEHOLDER}\"></script>"));
    page.push_str(&index[body_start + body_len + "</script>".len()..]);
    let head_end = page.find("</head>")?;
    page.insert_str(head_end, ORIGINS_PLACEHOLDER);
    Some((page, loader))
}

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

/// `GET /pin/{issuerId}/view`.
pub async fn page(State(state): State<AppState>, UrlPath(issuer_id): UrlPath<String>) -> Result<Response, AppError> {
    let issuer = IssuerId::parse(&issuer_id).map_err(|e| AppError::invalid("invalid_issuer_id", e))?;
    if state.store.issuer(&issuer).await.map_err(AppError::internal)?.is_none() {
        return Err(AppError::NotFound { message: "No such issuer." });
    }
    let Some(template) = &state.widget.page else {
        return Err(AppError::Unavailable {
            code: "widget_not_built",
            message: "The PIN page is not available right now.",
            detail: "the widget directory has no index.html; build it with `make widget`".to_owned(),
        });
    };
    let origins = state.store.origins(&issuer).await.map_err(AppError::internal)?;
    // Before its session starts (or when the token is refused) the widget can only tell a desktop
    // parent through the issuer's origins: framing is limited to them, and postMessage delivers to
    // the one that matches.
    let meta = format!("<meta name=\"pinframe-origins\" content=\"{}\">", escape_attribute(&origins.join(" ")));
    // The issuer's theme, after the default stylesheet so that it wins; same origin, so the CSP's
    // `style-src 'self'` holds.
    let mut head = meta;
    if let Some(theme) = state.store.theme(&issuer).await.map_err(AppError::internal)? {
        let href = super::themes::theme_path(&issuer, &theme.version);
        head.push_str(&format!("<link rel=\"stylesheet\" href=\"{}\">", escape_attribute(&href)));
    }
    let html = template.replace(ORIGINS_PLACEHOLDER, &head);
    let csp = HeaderValue::from_str(&content_security_policy(&origins)).map_err(AppError::internal)?;
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response();
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, csp);
    Ok(response)
}

/// `GET /pin/assets/{file}`: file names carry a content hash, so they are cached for good; brotli
/// or gzip, compressed once at load, when the client accepts it.
pub async fn asset(State(state): State<AppState>, UrlPath(file): UrlPath<String>, headers: HeaderMap) -> Response {
    let Some(asset) = state.widget.assets.get(&file) else {
        return AppError::NotFound { message: "There is nothing at this path." }.into_response();
    };
    let (body, encoding) = asset.negotiate(&headers);
    let mut response = body.to_vec().into_response();
    let out = response.headers_mut();
    if let Some(encoding) = encoding {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(asset.content_type));
    out.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable"));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    *response.status_mut() = StatusCode::OK;
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    const TRUNK_INDEX: &str = "<html><head><link rel=\"stylesheet\" href=\"/pin/assets/a.css\"/>\n\
        <script type=\"module\">\nimport init from '/pin/assets/w.js';\nawait init();\n</script>\n\
        <link rel=\"modulepreload\" href=\"/pin/assets/w.js\"></head><body></body></html>";

    #[test]
    fn the_inline_loader_becomes_an_external_module() {
        let (page, loader) = externalize_loader(TRUNK_INDEX).unwrap();
        assert_eq!(loader, "import init from '/pin/assets/w.js';\nawait init();");
        assert!(!page.contains("import init"));
        assert!(page.contains(&format!("<script type=\"module\" src=\"{LOADER_PLACEHOLDER}\"></script>")));
        assert!(page.contains(&format!("{ORIGINS_PLACEHOLDER}</head>")));
        assert!(externalize_loader("<html><head></head></html>").is_none());
    }

    fn accept_encoding(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn a_coding_is_served_only_when_accepted() {
        let gzip = |value: &str| accepts(&accept_encoding(value), "gzip");
        assert!(gzip("gzip, deflate, br, zstd"));
        assert!(gzip("br;q=1.0, gzip;q=0.8"));
        assert!(gzip("*"));
        assert!(!gzip("gzip;q=0"));
        assert!(!gzip("gzip;q=0.000"));
        assert!(!gzip("br, identity"));
        assert!(!accepts(&HeaderMap::new(), "gzip"));
        assert!(accepts(&accept_encoding("gzip, BR"), "br"));
        assert!(!accepts(&accept_encoding("gzip, br;q=0"), "br"));
    }

    #[test]
    fn the_smallest_accepted_encoding_wins_and_decodes_to_the_asset() {
        let text = "pinframe widget asset ".repeat(400).into_bytes();
        let asset = Asset::new(text.clone(), "text/css; charset=utf-8", None).unwrap();
        let (body, encoding) = asset.negotiate(&accept_encoding("gzip, deflate, br, zstd"));
        assert_eq!(encoding, Some("br"));
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut &body[..], &mut decoded).unwrap();
        assert_eq!(decoded, text);
        let (body, encoding) = asset.negotiate(&accept_encoding("gzip"));
        assert_eq!(encoding, Some("gzip"));
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(body), &mut decoded).unwrap();
        assert_eq!(decoded, text);
        assert_eq!(asset.negotiate(&accept_encoding("identity")), (&text[..], None));
        // Too small to gain from compression: sent as it is.
        let tiny = Asset::new(b"a{}".to_vec(), "text/css; charset=utf-8", None).unwrap();
        assert_eq!(tiny.negotiate(&accept_encoding("br, gzip")), (&b"a{}"[..], None));
    }

    #[test]
    fn a_precompressed_file_is_used_only_when_it_decodes_to_the_asset() {
        let text = "pinframe widget asset ".repeat(400).into_bytes();
        let compress = |bytes: &[u8], quality| {
            let mut out = Vec::new();
            let params = BrotliEncoderParams { quality, ..Default::default() };
            brotli::BrotliCompress(&mut &bytes[..], &mut out, &params).unwrap();
            out
        };
        let best = compress(&text, 11);
        let asset = Asset::new(text.clone(), "text/css; charset=utf-8", Some(best.clone())).unwrap();
        assert_eq!(asset.brotli.as_deref(), Some(&best[..]));
        // A stale file from another build, or garbage, is ignored; the asset is still served in brotli.
        let mut other = text.clone();
        other[0] = b'P';
        let longer = [&text[..], b"more"].concat();
        for stale in [compress(&other, 11), compress(&longer, 11), b"not brotli".to_vec()] {
            let asset = Asset::new(text.clone(), "text/css; charset=utf-8", Some(stale.clone())).unwrap();
            assert_ne!(asset.brotli.as_deref(), Some(&stale[..]));
            assert!(decodes_to(asset.brotli.as_deref().unwrap(), &text));
        }
    }

    #[test]
    fn csp_frames_only_registered_origins() {
        let csp = content_security_policy(&["https://a.example".into(), "https://b.example".into()]);
        assert!(csp.ends_with("frame-ancestors https://a.example https://b.example"));
        assert!(!csp.contains("unsafe-inline"));
        assert!(content_security_policy(&[]).ends_with("frame-ancestors 'none'"));
    }
}

//! The Trunk-built widget, read into memory once at start: the page template and every asset,
//! each compressed once (brotli, gzip) for the clients that accept it.
//!
//! Trunk starts the wasm from an inline `<script type="module">`. The page's CSP allows no inline
//! script, so at load time the loader is moved into an asset of its own, named by its hash.

use std::collections::HashMap;
use std::fs;
use std::io::{self, Read, Write};
use std::path::Path;

use axum::http::{header, HeaderMap};
use brotli::enc::BrotliEncoderParams;
use flate2::write::GzEncoder;
use flate2::Compression;
use pinframe_core::pinblock::hex_encode;
use sha2::{Digest, Sha256};

/// Where Trunk's `public_url` puts the assets (Trunk.toml).
pub const ASSET_PREFIX: &str = "/pin/assets/";
/// Where the page gets the issuer's theme, just before `</head>`.
pub const HEAD_PLACEHOLDER: &str = "<!--pinframe-head-->";

#[derive(Debug)]
pub struct Asset {
    bytes: Vec<u8>,
    /// The same bytes compressed once at load, each kept only when it is smaller.
    brotli: Option<Vec<u8>>,
    gzip: Option<Vec<u8>>,
    content_type: &'static str,
}

impl Asset {
    /// `brotli` is the asset's precompressed `.br` file, if the build wrote one (`make widget`
    /// does, at quality 11, which takes too long to do at every start); it is used only if it
    /// decodes to `bytes`. Otherwise, and for the loader and catalogues added here, brotli runs here:
    /// at its best quality for a small asset, at a quick one for a large one.
    fn new(bytes: Vec<u8>, content_type: &'static str, brotli: Option<Vec<u8>>) -> io::Result<Self> {
        let mut gzip = GzEncoder::new(Vec::new(), Compression::best());
        gzip.write_all(&bytes)?;
        let gzip = Some(gzip.finish()?).filter(|gz| gz.len() < bytes.len());
        let brotli = match brotli.filter(|br| decodes_to(br, &bytes)) {
            Some(br) => br,
            None => {
                let mut br = Vec::new();
                // The best quality for what is small (the loader, the catalogues): still quick.
                let quality = if bytes.len() <= 1 << 16 { 11 } else { 5 };
                let params = BrotliEncoderParams { quality, lgwin: 22, size_hint: bytes.len(), ..Default::default() };
                brotli::BrotliCompress(&mut bytes.as_slice(), &mut br, &params)?;
                br
            }
        };
        let brotli = Some(brotli).filter(|br| br.len() < bytes.len());
        Ok(Self { bytes, brotli, gzip, content_type })
    }

    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// Brotli if the client accepts it, else gzip, else the bytes as they are (whichever exists),
    /// with its `Content-Encoding`.
    pub fn negotiate(&self, headers: &HeaderMap) -> (&[u8], Option<&'static str>) {
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
pub(crate) fn accepts(headers: &HeaderMap, wanted: &str) -> bool {
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
        let (page, trunk_loader) = externalize_loader(&index)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "index.html has no Trunk loader script"))?;
        // The session request goes out first, while the module's imports and the wasm load.
        let loader = format!("{}\n{trunk_loader}", without_comment_lines(SESSION_PREFETCH));
        let digest = hex_encode(&Sha256::digest(loader.as_bytes())[..8]).to_ascii_lowercase();
        let loader_name = format!("pinframe-loader-{digest}.js");
        let page = page.replace(LOADER_PLACEHOLDER, &format!("{ASSET_PREFIX}{loader_name}"));
        assets.insert(loader_name, Asset::new(loader.into_bytes(), "text/javascript; charset=utf-8", None)?);
        for (name, text) in crate::locale_assets::catalogues() {
            assets.insert(name, Asset::new(text.as_bytes().to_vec(), "text/plain; charset=utf-8", None)?);
        }
        Ok(Self { page: Some(page), assets })
    }

    pub fn is_built(&self) -> bool {
        self.page.is_some()
    }

    /// The page, with [`HEAD_PLACEHOLDER`] where the issuer's theme goes; `None` until
    /// the widget is built.
    pub fn page_template(&self) -> Option<&str> {
        self.page.as_deref()
    }

    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.get(name)
    }
}

const LOADER_PLACEHOLDER: &str = "\u{0}loader\u{0}";

/// Starts the widget's session request from the loader (see the script's own comment).
const SESSION_PREFETCH: &str = include_str!("session_prefetch.js");

/// `script` without its whole-line `//` comments: every client would download them.
fn without_comment_lines(script: &str) -> String {
    script.lines().filter(|line| !line.trim_start().starts_with("//")).map(|line| format!("{line}\n")).collect()
}

/// Splits Trunk's inline module script out of `index`: returns the page with a
/// `<script type="module" src=…>` in its place (and a marker for the issuer's theme before
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
    page.insert_str(head_end, HEAD_PLACEHOLDER);
    Some((page, loader))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

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
        assert!(page.contains(&format!("{HEAD_PLACEHOLDER}</head>")));
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
}

//! The built book (`pinframe serve --docs-dir DIR`), read into memory once at start and served at
//! `/docs/` by [`http::docs`](crate::http::docs).
//!
//! The directory is walked once: regular files only (a symbolic link is never followed, so nothing
//! outside `DIR` is read), names starting with '.' left out, [`MAX_BOOK_BYTES`] in all. A request
//! can reach only a name found in that walk. Each HTML or SVG file gets its own
//! Content-Security-Policy, computed from its content: the hashes of its inline `<script>` and
//! `<style>` elements and of its `style` attributes, and nothing from another origin (see
//! [`content_security_policy`]).

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::Path;

use axum::http::{HeaderMap, HeaderValue};
use base64ct::{Base64, Encoding};
use brotli::enc::BrotliEncoderParams;
use flate2::write::GzEncoder;
use flate2::Compression;
use pinframe_core::pinblock::hex_encode;
use sha2::{Digest, Sha256};

pub use self::scan::{scan, InlineCode};
use crate::widget_assets::accepts;

mod scan;

/// The most a book may hold, all files together; a larger one is a start error.
pub const MAX_BOOK_BYTES: u64 = 64 * 1024 * 1024;
/// The most files a book may hold.
pub const MAX_BOOK_FILES: usize = 20_000;

/// Why a `--docs-dir` was not loaded: either the book is simply not there (the service starts
/// without it) or it cannot be served as it is (the service does not start).
#[derive(Debug)]
pub enum DocsError {
    /// No directory, or no `index.html` in it: `/docs/` answers 404.
    NotBuilt(String),
    /// Too large, too many files, or unreadable: a start error.
    Unusable(String),
}

impl fmt::Display for DocsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotBuilt(why) | Self::Unusable(why) => f.write_str(why),
        }
    }
}

/// One file of the book: its bytes, compressed once, its ETag and, for a page, its policy.
#[derive(Debug)]
pub struct DocFile {
    bytes: Vec<u8>,
    brotli: Option<Vec<u8>>,
    gzip: Option<Vec<u8>>,
    content_type: &'static str,
    /// Quoted, without the coding; the coding's suffix is added per representation.
    etag: String,
    csp: Option<HeaderValue>,
}

/// One representation of a [`DocFile`], as [`DocFile::negotiate`] picks it.
#[derive(Debug)]
pub struct Representation<'a> {
    pub body: &'a [u8],
    pub encoding: Option<&'static str>,
    pub etag: HeaderValue,
}

impl DocFile {
    fn new(bytes: Vec<u8>, content_type: &'static str, csp: Option<String>) -> io::Result<Self> {
        let digest = Sha256::digest(&bytes);
        let etag = hex_encode(&digest[..12]).to_ascii_lowercase();
        let (brotli, gzip) = if compressible(content_type) { compress(&bytes)? } else { (None, None) };
        let csp = csp.map(|p| HeaderValue::from_str(&p)).transpose().map_err(io::Error::other)?;
        Ok(Self { bytes, brotli, gzip, content_type, etag, csp })
    }

    pub fn content_type(&self) -> &'static str {
        self.content_type
    }

    /// The page's Content-Security-Policy; `None` for a file that is no document (the service's
    /// default policy then applies).
    pub fn content_security_policy(&self) -> Option<&HeaderValue> {
        self.csp.as_ref()
    }

    /// Brotli if the client accepts it, else gzip, else the bytes as they are, each with its own
    /// strong ETag.
    pub fn negotiate(&self, headers: &HeaderMap) -> Representation<'_> {
        let (body, encoding): (&[u8], _) = if let Some(br) = self.brotli.as_ref().filter(|_| accepts(headers, "br")) {
            (br, Some("br"))
        } else if let Some(gz) = self.gzip.as_ref().filter(|_| accepts(headers, "gzip")) {
            (gz, Some("gzip"))
        } else {
            (&self.bytes, None)
        };
        let etag = match encoding {
            Some(coding) => format!("\"{}-{coding}\"", self.etag),
            None => format!("\"{}\"", self.etag),
        };
        // Hex digits and a coding name: always a valid header value.
        let etag = HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\""));
        Representation { body, encoding, etag }
    }
}

/// Whether `If-None-Match` names `etag` (RFC 9110 §13.1.2: weak comparison, `*` matches all).
pub fn none_match(headers: &HeaderMap, etag: &HeaderValue) -> bool {
    let etag = etag.as_bytes();
    headers
        .get_all(axum::http::header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').map(str::trim).any(|tag| tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag))
}

fn compressible(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || ["application/json", "image/svg+xml", "application/manifest+json"]
            .iter()
            .any(|t| content_type.starts_with(t))
}

/// A file's brotli and gzip forms, each only when smaller than the file.
type Compressed = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Brotli (a quick quality: a book is read at every start) and gzip, each kept only when smaller.
fn compress(bytes: &[u8]) -> io::Result<Compressed> {
    let mut br = Vec::new();
    let params = BrotliEncoderParams { quality: 6, lgwin: 22, size_hint: bytes.len(), ..Default::default() };
    brotli::BrotliCompress(&mut &bytes[..], &mut br, &params)?;
    let mut gzip = GzEncoder::new(Vec::new(), Compression::default());
    gzip.write_all(bytes)?;
    let gzip = gzip.finish()?;
    Ok((Some(br).filter(|b| b.len() < bytes.len()), Some(gzip).filter(|g| g.len() < bytes.len())))
}

/// The Content-Type of a book's file, by its extension; anything else is `application/octet-stream`.
pub fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "woff" => "font/woff",
        "ttf" => "font/ttf",
        "otf" => "font/otf",
        "eot" => "application/vnd.ms-fontobject",
        "txt" | "md" => "text/plain; charset=utf-8",
        "xml" => "application/xml",
        "wasm" => "application/wasm",
        _ => "application/octet-stream",
    }
}

/// What `/docs/PATH` names, once looked up.
#[derive(Debug)]
pub enum Lookup<'a> {
    File(&'a DocFile),
    /// A directory with an `index.html`, asked for without its trailing slash.
    Directory,
    Missing,
}

/// The book in memory; empty when none was given or built (then every `/docs/` path is 404).
#[derive(Debug, Default)]
pub struct DocsSite {
    files: HashMap<String, DocFile>,
    /// Directories (relative, without a trailing slash) that hold an `index.html`.
    directories: HashSet<String>,
}

impl DocsSite {
    /// Reads the book in `dir` (a relative path is taken from the working directory).
    pub fn load(dir: &Path) -> Result<Self, DocsError> {
        let unusable = |e: io::Error| DocsError::Unusable(format!("--docs-dir {}: {e}", dir.display()));
        match fs::symlink_metadata(dir.join("index.html")) {
            Ok(meta) if meta.is_file() => {}
            Ok(_) => {
                return Err(DocsError::NotBuilt(format!("{} is no regular file", dir.join("index.html").display())))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(DocsError::NotBuilt(format!("{} has no index.html (run `make docs`)", dir.display())))
            }
            Err(e) => return Err(unusable(e)),
        }
        let mut found = Vec::new();
        let mut total = 0u64;
        walk(dir, "", &mut found, &mut total).map_err(unusable)?;
        let mut site = Self::default();
        for (name, path) in found {
            let bytes = fs::read(&path).map_err(unusable)?;
            let content_type = content_type(&name);
            let csp = if content_type.starts_with("text/html") || content_type == "image/svg+xml" {
                Some(content_security_policy(&String::from_utf8_lossy(&bytes)))
            } else {
                None
            };
            if let Some(parent) = name.strip_suffix("index.html") {
                site.directories.insert(parent.trim_end_matches('/').to_owned());
            }
            site.files.insert(name, DocFile::new(bytes, content_type, csp).map_err(unusable)?);
        }
        Ok(site)
    }

    pub fn is_served(&self) -> bool {
        !self.files.is_empty()
    }

    /// The number of files and their total size, for the start log.
    pub fn summary(&self) -> (usize, usize) {
        (self.files.len(), self.files.values().map(|f| f.bytes.len()).sum())
    }

    /// Looks up `path`, the percent-decoded rest of the request path after `/docs/`. A path with
    /// a `.` or `..` segment, a backslash or a NUL names nothing.
    pub fn lookup(&self, path: &str) -> Lookup<'_> {
        if path.contains(['\\', '\0']) || path.split('/').any(|segment| segment == "." || segment == "..") {
            return Lookup::Missing;
        }
        let name = if path.is_empty() || path.ends_with('/') { format!("{path}index.html") } else { path.to_owned() };
        match self.files.get(&name) {
            Some(file) => Lookup::File(file),
            None if self.directories.contains(path) => Lookup::Directory,
            None => Lookup::Missing,
        }
    }
}

/// Collects the regular files under `dir` as (name relative to the book, path). Symbolic links
/// and names starting with '.' are skipped.
fn walk(dir: &Path, prefix: &str, found: &mut Vec<(String, std::path::PathBuf)>, total: &mut u64) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
        if name.starts_with('.') {
            continue;
        }
        // `DirEntry::file_type` does not follow a symbolic link: a link is neither file nor directory.
        let kind = entry.file_type()?;
        let relative = format!("{prefix}{name}");
        if kind.is_dir() {
            walk(&entry.path(), &format!("{relative}/"), found, total)?;
        } else if kind.is_file() {
            *total += entry.metadata()?.len();
            if *total > MAX_BOOK_BYTES {
                return Err(io::Error::other(format!("the book is over {} MiB", MAX_BOOK_BYTES >> 20)));
            }
            found.push((relative, entry.path()));
            if found.len() > MAX_BOOK_FILES {
                return Err(io::Error::other(format!("the book has over {MAX_BOOK_FILES} files")));
            }
        }
    }
    Ok(())
}

/// `'sha256-…'` of `text` as a browser hashes an element's content: after the HTML parser has
/// turned every CR LF and lone CR into LF.
fn source_hash(text: &str) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    format!("'sha256-{}'", Base64::encode_string(&Sha256::digest(text.as_bytes())))
}

/// What marks a Redoc page in its inline scripts: the state `redocly build-docs` writes, or a call
/// that starts Redoc.
const REDOC_MARKS: [&str; 3] = ["__redoc_state", "Redoc.hydrate(", "Redoc.init("];

/// A page's policy: its own origin for scripts, styles, images and fonts (images also as `data:`
/// URLs, which mdbook's stylesheet draws icons with), and each inline script, style element and
/// style attribute by its hash (attributes need `'unsafe-hashes'`, which lets only those exact
/// declarations through). No fetch at all (mdbook's search index is a script file, Redoc's API
/// description is in its page), no `'unsafe-eval'`, no other origin, no framing, no form
/// submission; `<base>` only to this origin, and only on a page that has one.
///
/// A Redoc page (`redocly build-docs`) gets two things more, and only it: Redoc adds `<style>`
/// elements as it runs (styled-components' empty ones it fills through the CSSOM, and its scroll
/// bar's stylesheet with a source map that differs per build), which no hash computed from the page
/// can name, so its styles are `'self' 'unsafe-inline'`; and its search index runs in a worker made
/// from a `blob:` URL (`worker-src blob:`). Its scripts stay hashed like every other page's.
pub fn content_security_policy(page: &str) -> String {
    let code = scan(page);
    let redoc = code.scripts.iter().any(|s| REDOC_MARKS.iter().any(|mark| s.contains(mark)));
    let hashes = |texts: &[String]| {
        let mut all: Vec<String> = texts.iter().map(|t| source_hash(t)).collect();
        all.sort();
        all.dedup();
        all.iter().map(|h| format!(" {h}")).collect::<String>()
    };
    let mut style = format!("'self'{}", hashes(&code.styles));
    if redoc {
        // With a hash beside it, 'unsafe-inline' would be ignored.
        style = "'self' 'unsafe-inline'".to_owned();
    } else if !code.style_attributes.is_empty() {
        style.push_str(&format!(" 'unsafe-hashes'{}", hashes(&code.style_attributes)));
    }
    let worker = if redoc { " worker-src blob:;" } else { "" };
    let base = if code.has_base { "'self'" } else { "'none'" };
    format!(
        "default-src 'none'; script-src 'self'{};{worker} style-src {style}; img-src 'self' data:; \
         font-src 'self'; frame-ancestors 'none'; base-uri {base}; form-action 'none'",
        hashes(&code.scripts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_script_is_hashed_as_the_browser_reads_it() {
        // The HTML parser turns CR LF into LF before the browser hashes the script.
        assert_eq!(source_hash("a();\r\nb();\r"), source_hash("a();\nb();\n"));
        let csp = content_security_policy("<script>\r\nrun();\r\n</script><script src=\"x.js\"></script>");
        assert!(csp.contains(&format!("script-src 'self' {};", source_hash("\nrun();\n"))), "{csp}");
    }

    #[test]
    fn base_is_allowed_only_where_a_page_has_one() {
        assert!(content_security_policy("<head><base href=\"/docs/\"></head>").contains("base-uri 'self';"));
        assert!(content_security_policy("<head></head>").contains("base-uri 'none';"));
    }

    #[test]
    fn only_a_redoc_page_gets_inline_styles_and_a_blob_worker() {
        let redoc = content_security_policy("<style>a{}</style><script>Redoc.init(spec, {}, el)</script>");
        assert!(redoc.contains("worker-src blob:; style-src 'self' 'unsafe-inline';"), "{redoc}");
        let page = content_security_policy("<style>a{}</style><script>init()</script>");
        assert!(page.contains(&format!("style-src 'self' {};", source_hash("a{}"))), "{page}");
        assert!(!page.contains("unsafe-inline") && !page.contains("worker-src"), "{page}");
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type("a/b.HTML"), "text/html; charset=utf-8");
        assert_eq!(content_type("f.woff2"), "font/woff2");
        assert_eq!(content_type("searchindex.js"), "text/javascript; charset=utf-8");
        assert_eq!(content_type("no-extension"), "application/octet-stream");
        assert_eq!(content_type("x.exe"), "application/octet-stream");
    }
}

//! The book at `/docs/` (`pinframe serve --docs-dir`): through the service's router with a book
//! made in a temporary directory, and through the binary for what it says at start.

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64ct::{Base64, Encoding};
use common::{send, serve_args, Answer, TRUNK_INDEX};
use http_body_util::BodyExt;
use pinframe::cli::DatabaseArgs;
use pinframe::{app, server};
use sha2::{Digest, Sha256};
use tower::ServiceExt;

const INLINE: &str = "\n  window.answer = 42;\n";
const INDEX: &str = "<!doctype html><html><head><title>The book</title><link rel=\"stylesheet\" href=\"css/a.css\">\
    <script>\n  window.answer = 42;\n</script><script src=\"book.js\"></script></head>\
    <body><h1>The book</h1><a href=\"chapter.html\">Chapter</a></body></html>";

fn hash(text: &str) -> String {
    format!("'sha256-{}'", Base64::encode_string(&Sha256::digest(text.as_bytes())))
}

/// A small built book: pages, a stylesheet, a script, a font, a page in a subdirectory and a file
/// beside the book that no request may reach.
fn make_book(root: &Path) -> std::path::PathBuf {
    let book = root.join("book");
    for dir in ["css", "fonts", "api", "guide"] {
        std::fs::create_dir_all(book.join(dir)).unwrap();
    }
    std::fs::write(book.join("index.html"), INDEX).unwrap();
    std::fs::write(book.join("chapter.html"), "<!doctype html><title>Chapter</title><p style=\"clear: both\">x</p>")
        .unwrap();
    std::fs::write(book.join("css/a.css"), "body { color: black; }\n".repeat(200)).unwrap();
    std::fs::write(book.join("book.js"), "console.log('book');").unwrap();
    std::fs::write(book.join("fonts/f.woff2"), [0x77, 0x4f, 0x46, 0x32]).unwrap();
    std::fs::write(book.join("guide/index.html"), "<!doctype html><title>Guide</title>").unwrap();
    std::fs::write(book.join("unknown.xyz"), "?").unwrap();
    std::fs::write(
        book.join("api/service.html"),
        "<!doctype html><div id=\"redoc\"></div><script>const __redoc_state = {};\nRedoc.hydrate(__redoc_state, \
         document.getElementById('redoc'));</script>",
    )
    .unwrap();
    std::fs::write(root.join("secret.txt"), "outside the book").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("secret.txt"), book.join("link.txt")).unwrap();
    book
}

/// The service's router with `docs_dir` as its `--docs-dir`.
async fn router(root: &Path, docs_dir: Option<std::path::PathBuf>) -> axum::Router {
    let dist = root.join("dist");
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), TRUNK_INDEX).unwrap();
    let mut args = serve_args(&root.join("data"), dist, DatabaseArgs::default());
    args.docs_dir = docs_dir;
    app(server::open_state(&args, "http://pin.test".to_owned()).await.unwrap())
}

async fn request(router: &axum::Router, method: Method, path: &str, headers: &[(header::HeaderName, &str)]) -> Answer {
    let mut request = Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    send(router.clone(), request.body(Body::empty()).unwrap()).await
}

async fn get(router: &axum::Router, path: &str) -> Answer {
    request(router, Method::GET, path, &[]).await
}

fn assert_not_found(answer: &Answer, path: &str) {
    assert_eq!(answer.status, StatusCode::NOT_FOUND, "{path}: {}", answer.text);
    assert_eq!(answer.body["error"], "not_found", "{path}");
    assert!(!answer.text.contains("outside the book"), "{path}");
}

#[tokio::test]
async fn serves_the_book_with_a_policy_made_from_each_page() {
    let dir = tempfile::tempdir().unwrap();
    let book = make_book(dir.path());
    let router = router(dir.path(), Some(book)).await;

    let root = get(&router, "/docs").await;
    assert_eq!(root.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(root.headers[header::LOCATION], "/docs/");

    let index = get(&router, "/docs/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(index.text, INDEX);
    assert_eq!(index.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(index.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    assert_eq!(index.headers[header::REFERRER_POLICY], "no-referrer");
    assert_eq!(index.headers[header::CACHE_CONTROL], "no-cache");
    let csp = index.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert_eq!(
        csp,
        format!(
            "default-src 'none'; script-src 'self' {}; style-src 'self'; img-src 'self' data:; font-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            hash(INLINE)
        )
    );
    assert_eq!(get(&router, "/docs/index.html").await.text, INDEX);

    // A style attribute: that declaration alone, by its hash.
    let chapter = get(&router, "/docs/chapter.html").await;
    let csp = chapter.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains(&format!("style-src 'self' 'unsafe-hashes' {};", hash("clear: both"))), "{csp}");
    assert!(csp.contains("script-src 'self';"), "{csp}");

    // The Redoc page, and only it: styles Redoc adds as it runs, and its search worker.
    let redoc = get(&router, "/docs/api/service.html").await;
    let csp = redoc.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("worker-src blob:; style-src 'self' 'unsafe-inline';"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{csp}");
    for page in [&index, &chapter] {
        let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(!csp.contains("unsafe-inline") && !csp.contains("worker-src"), "{csp}");
    }

    for (path, content_type) in [
        ("/docs/css/a.css", "text/css; charset=utf-8"),
        ("/docs/book.js", "text/javascript; charset=utf-8"),
        ("/docs/fonts/f.woff2", "font/woff2"),
        ("/docs/unknown.xyz", "application/octet-stream"),
    ] {
        let answer = get(&router, path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}");
        assert_eq!(answer.headers[header::CONTENT_TYPE], content_type, "{path}");
        // Not a page: the service's default policy.
        assert_eq!(answer.headers[header::CONTENT_SECURITY_POLICY], "default-src 'none'; frame-ancestors 'none'");
    }

    // A directory: its index.html with the slash, 308 to it without.
    assert_eq!(get(&router, "/docs/guide/").await.text, "<!doctype html><title>Guide</title>");
    let guide = get(&router, "/docs/guide").await;
    assert_eq!(guide.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(guide.headers[header::LOCATION], "/docs/guide/");
}

#[tokio::test]
async fn nothing_outside_the_book_is_reachable() {
    let dir = tempfile::tempdir().unwrap();
    let book = make_book(dir.path());
    let router = router(dir.path(), Some(book)).await;
    let mut sent = 0;
    for path in [
        "/docs/../secret.txt",
        "/docs/%2e%2e/secret.txt",
        "/docs/%2E%2E%2Fsecret.txt",
        "/docs/css/..%2f..%2fsecret.txt",
        "/docs/css/%2e%2e/%2e%2e/secret.txt",
        "/docs/..%5csecret.txt",
        "/docs/css\\..\\..\\secret.txt",
        "/docs/index.html%00.css",
        "/docs/./index.html",
        "/docs//index.html",
        "/docs/link.txt",
        "/docs/%ff",
        "/docs/%zz",
        "/docs/nothing.html",
        "/docs/guide/nothing",
    ] {
        // A path the HTTP library itself refuses never reaches the service.
        let Ok(request) = Request::get(path).body(Body::empty()) else { continue };
        assert_not_found(&send(router.clone(), request).await, path);
        sent += 1;
    }
    assert!(sent >= 14, "only {sent} paths were sent");
}

#[tokio::test]
async fn head_etags_and_compression() {
    let dir = tempfile::tempdir().unwrap();
    let book = make_book(dir.path());
    let router = router(dir.path(), Some(book)).await;

    let head = request(&router, Method::HEAD, "/docs/", &[]).await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.text.is_empty());
    assert_eq!(head.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert!(head.headers.contains_key(header::CONTENT_SECURITY_POLICY));

    let plain = get(&router, "/docs/css/a.css").await;
    let etag = plain.headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    assert!(!plain.headers.contains_key(header::CONTENT_ENCODING));
    let again = request(&router, Method::GET, "/docs/css/a.css", &[(header::IF_NONE_MATCH, &etag)]).await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.text.is_empty());
    let other = request(&router, Method::GET, "/docs/css/a.css", &[(header::IF_NONE_MATCH, "\"other\"")]).await;
    assert_eq!(other.status, StatusCode::OK);

    let br = request(&router, Method::GET, "/docs/css/a.css", &[(header::ACCEPT_ENCODING, "gzip, br")]).await;
    assert_eq!(br.headers[header::CONTENT_ENCODING], "br");
    assert_eq!(br.headers[header::VARY], "Accept-Encoding");
    assert_ne!(br.headers[header::ETAG], etag.as_str(), "each encoding has its own ETag");
    let brotli_get = Request::get("/docs/css/a.css").header(header::ACCEPT_ENCODING, "br").body(Body::empty());
    let response = raw_body(&router, brotli_get.unwrap()).await;
    let mut decoded = Vec::new();
    brotli::BrotliDecompress(&mut &response[..], &mut decoded).unwrap();
    assert_eq!(decoded, plain.text.as_bytes());

    for method in [Method::POST, Method::PUT, Method::DELETE] {
        let answer = request(&router, method.clone(), "/docs/index.html", &[]).await;
        assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(answer.body["error"], "method_not_allowed");
    }
}

/// The body of one response, as it is sent (no decoding).
async fn raw_body(router: &axum::Router, request: Request<Body>) -> Vec<u8> {
    let response = router.clone().oneshot(request).await.unwrap();
    response.into_body().collect().await.unwrap().to_bytes().to_vec()
}

#[tokio::test]
async fn without_a_book_docs_is_the_json_404() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for docs_dir in [None, Some(empty), Some(dir.path().join("missing"))] {
        let router = router(dir.path(), docs_dir.clone()).await;
        for path in ["/docs", "/docs/", "/docs/index.html"] {
            let answer = get(&router, path).await;
            assert_not_found(&answer, path);
            assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json", "{docs_dir:?} {path}");
            assert_eq!(answer.body["message"], "This service serves no book.");
        }
    }
}

#[tokio::test]
async fn a_book_over_the_size_limit_is_a_start_error() {
    let dir = tempfile::tempdir().unwrap();
    let book = make_book(dir.path());
    let big = std::fs::File::create(book.join("big.bin")).unwrap();
    big.set_len(pinframe::docs_site::MAX_BOOK_BYTES + 1).unwrap();
    let mut args = serve_args(&dir.path().join("data"), dir.path().join("dist"), DatabaseArgs::default());
    args.docs_dir = Some(book);
    let error = server::open_state(&args, "http://pin.test".to_owned()).await.expect_err("a start error");
    let message = format!("{error}");
    assert!(message.contains("--docs-dir") && message.contains("64 MiB"), "{message}");
}

/// The binary starts without the book and says, once, why it does not serve it.
#[test]
fn serve_says_why_the_book_is_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let missing = dir.path().join("no-book");
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinframe"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir", data.to_str().unwrap()])
        .args(["--widget-dir", dir.path().join("dist").to_str().unwrap()])
        .args(["--docs-dir", missing.to_str().unwrap()])
        .env("PINFRAME_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let listening = stdout.lines().map_while(Result::ok).any(|line| line.contains("pinframe listening on"));
    child.kill().unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(listening, "did not start: {stderr}");
    let said: Vec<&str> = stderr.lines().filter(|l| l.contains("the book is not served")).collect();
    assert_eq!(said.len(), 1, "{stderr}");
    assert!(said[0].contains("has no index.html") && said[0].contains("no-book"), "{}", said[0]);
}

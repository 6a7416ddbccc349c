//! Issuer themes and fonts through the real router and store: upload with Basic or Bearer
//! credentials, what is kept and dropped, the widget page's link, the versioned URL, and the
//! limits. Also the token fields that shape how the widget shows a PIN.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::{assert_error, basic, harness, Answer, Harness};
use pinframe::demo;
use pinframe_core::IssuerId;
use pinframe_server::credentials as auth;
use serde_json::json;

const THEME_PATH: &str = "/api/v1/issuers/DEMOISSUER/theme";

fn demo_basic() -> String {
    basic(demo::CLIENT_ID, demo::CLIENT_SECRET)
}

async fn request(
    h: &Harness,
    method: Method,
    path: &str,
    auth: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Answer {
    let mut request = Request::builder().method(method).uri(path).header(header::CONTENT_TYPE, content_type);
    if let Some(auth) = auth {
        request = request.header(header::AUTHORIZATION, auth);
    }
    h.send(request.body(Body::from(body)).unwrap()).await
}

async fn put_theme(h: &Harness, auth: Option<&str>, css: &str) -> Answer {
    request(h, Method::PUT, THEME_PATH, auth, "text/css; charset=utf-8", css.as_bytes().to_vec()).await
}

async fn access_token(h: &Harness) -> String {
    let request = Request::post("/oauth2/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, demo_basic())
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let answer = h.send(request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn an_uploaded_theme_is_checked_stored_and_linked() {
    let h = harness().await;
    let css = ":root { --pinframe-accent: #6a1b9a }\n\
               .pinframe-input[value^=\"1\"] { background: red }\n\
               @import url(https://evil.example/x.css);\n\
               .pinframe-title { color: #6a1b9a; background: url(https://evil.example/a.png) }";
    let answer = put_theme(&h, Some(&demo_basic()), css).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let version = answer.body["version"].as_str().unwrap().to_owned();
    assert_eq!(version.len(), 16);
    let url = format!("/pin/themes/DEMOISSUER/{version}.css");
    assert_eq!(answer.body["url"], format!("http://pin.test{url}"));
    let reasons: Vec<&str> =
        answer.body["dropped"].as_array().unwrap().iter().map(|d| d["reason"].as_str().unwrap()).collect();
    assert_eq!(reasons.len(), 3, "{reasons:?}");
    assert_eq!(answer.body["dropped"][0]["line"], 2);

    // The widget page links it, after the default stylesheet, under the same strict CSP.
    let page = h.get("/pin/DEMOISSUER/view").await;
    assert!(page.text.contains(&format!("<link rel=\"stylesheet\" href=\"{url}\">")), "{}", page.text);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("style-src 'self';") && csp.contains("font-src 'self';"), "{csp}");

    let served = h.get(&url).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers[header::CONTENT_TYPE], "text/css; charset=utf-8");
    assert!(served.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
    assert_eq!(served.text, ":root{--pinframe-accent:#6a1b9a}\n.pinframe-title{color:#6a1b9a}\n");
    assert!(!served.text.contains("evil"));
    assert_eq!(h.get("/pin/themes/DEMOISSUER/0000000000000000.css").await.status, StatusCode::NOT_FOUND);

    // GET gives it back; DELETE goes back to the default, and the page stops linking it.
    let got = request(&h, Method::GET, THEME_PATH, Some(&demo_basic()), "text/plain", Vec::new()).await;
    assert_eq!(got.text, served.text);
    let deleted = request(&h, Method::DELETE, THEME_PATH, Some(&demo_basic()), "text/plain", Vec::new()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert!(!h.get("/pin/DEMOISSUER/view").await.text.contains("/pin/themes/"));
    assert_eq!(h.get(&url).await.status, StatusCode::NOT_FOUND);
    let gone = request(&h, Method::GET, THEME_PATH, Some(&demo_basic()), "text/plain", Vec::new()).await;
    assert_error(&gone, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn only_the_issuer_may_change_its_theme() {
    let h = harness().await;
    assert_error(&put_theme(&h, None, ".pinframe{color:red}").await, StatusCode::UNAUTHORIZED, "unauthorized");
    let wrong = basic(demo::CLIENT_ID, "wrong-secret");
    assert_error(&put_theme(&h, Some(&wrong), ".pinframe{color:red}").await, StatusCode::UNAUTHORIZED, "unauthorized");

    // Another issuer's valid credentials: 403.
    let other = IssuerId::parse("OTHERBANK1").unwrap();
    let hash = auth::hash_secret("other-secret");
    h.state.store.put_issuer(&other, "other-client", &hash, 0).await.unwrap();
    let answer = put_theme(&h, Some(&basic("other-client", "other-secret")), ".pinframe{color:red}").await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");

    // A Bearer JWT from /oauth2/token works too, for its own issuer only.
    let jwt = access_token(&h).await;
    let answer = put_theme(&h, Some(&format!("Bearer {jwt}")), ".pinframe{color:red}").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let path = "/api/v1/issuers/OTHERBANK1/theme";
    let answer =
        request(&h, Method::PUT, path, Some(&format!("Bearer {jwt}")), "text/css", b".pinframe{}".to_vec()).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");
    assert_error(
        &put_theme(&h, Some("Bearer not-a-jwt"), ".pinframe{}").await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn themes_have_limits() {
    let h = harness().await;
    let big = format!(".pinframe{{color:red}}\n/*{}*/", "x".repeat(40 * 1024));
    assert_error(&put_theme(&h, Some(&demo_basic()), &big).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let huge = "x".repeat(2 * 1024 * 1024);
    assert_error(&put_theme(&h, Some(&demo_basic()), &huge).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    let json = request(&h, Method::PUT, THEME_PATH, Some(&demo_basic()), "application/json", b"{}".to_vec()).await;
    assert_error(&json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let latin1 = request(&h, Method::PUT, THEME_PATH, Some(&demo_basic()), "text/css", vec![0x2e, 0xff]).await;
    assert_error(&latin1, StatusCode::BAD_REQUEST, "invalid_theme");
}

/// A real WOFF2 font of the ten digits (tools/make-test-fonts.py), and one of the digit 3 alone.
const DIGITS_FONT: &[u8] = include_bytes!("fixtures/fonts/digits.woff2");
const DIGIT_3_FONT: &[u8] = include_bytes!("fixtures/fonts/digit-3.woff2");

#[tokio::test]
async fn fonts_are_uploaded_and_served_for_the_theme() {
    let h = harness().await;
    let font = DIGITS_FONT.to_vec();
    let path = "/api/v1/issuers/DEMOISSUER/fonts/brand-sans.woff2";
    let answer = request(&h, Method::PUT, path, Some(&demo_basic()), "font/woff2", font.clone()).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["url"], "http://pin.test/pin/fonts/DEMOISSUER/brand-sans.woff2");
    let served = h.send(Request::get("/pin/fonts/DEMOISSUER/brand-sans.woff2").body(Body::empty()).unwrap()).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.headers[header::CONTENT_TYPE], "font/woff2");

    let not_woff2 = request(&h, Method::PUT, path, Some(&demo_basic()), "font/woff2", b"<svg/>".to_vec()).await;
    assert_error(&not_woff2, StatusCode::BAD_REQUEST, "invalid_font");
    // The signature and nothing behind it, or a real font cut short: not fonts.
    let signature = [b"wOF2".as_slice(), &[0u8; 60]].concat();
    let cut = DIGITS_FONT[..DIGITS_FONT.len() - 40].to_vec();
    for body in [signature, cut] {
        let answer = request(&h, Method::PUT, path, Some(&demo_basic()), "font/woff2", body).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_font");
        assert!(answer.body["message"].as_str().unwrap().starts_with("The body is not a WOFF2 font"));
    }
    // A real font that lacks digits: a font-family list would fetch another font for them.
    let path_3 = "/api/v1/issuers/DEMOISSUER/fonts/p1d3.woff2";
    let answer = request(&h, Method::PUT, path_3, Some(&demo_basic()), "font/woff2", DIGIT_3_FONT.to_vec()).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "font_missing_digits");
    assert_eq!(h.get("/pin/fonts/DEMOISSUER/p1d3.woff2").await.status, StatusCode::NOT_FOUND);
    // The one stored before is still the one served.
    let served = h.send(Request::get("/pin/fonts/DEMOISSUER/brand-sans.woff2").body(Body::empty()).unwrap()).await;
    assert_eq!(served.text, String::from_utf8_lossy(DIGITS_FONT));
    let bad_name = "/api/v1/issuers/DEMOISSUER/fonts/x.ttf";
    let answer = request(&h, Method::PUT, bad_name, Some(&demo_basic()), "font/woff2", font.clone()).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_font_name");
    let big = [b"wOF2".as_slice(), &vec![0u8; 600 * 1024]].concat();
    let answer = request(&h, Method::PUT, path, Some(&demo_basic()), "font/woff2", big).await;
    assert_error(&answer, StatusCode::PAYLOAD_TOO_LARGE, "too_large");

    let css = "@font-face { font-family: Brand; src: url(/pin/fonts/DEMOISSUER/brand-sans.woff2) format(\"woff2\") }\n\
               .pinframe { font-family: Brand, sans-serif }";
    let answer = put_theme(&h, Some(&demo_basic()), css).await;
    assert_eq!(answer.body["dropped"], json!([]), "{}", answer.text);
    assert_eq!(h.get("/pin/fonts/DEMOISSUER/missing.woff2").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn unicode_range_refuses_the_theme_and_keeps_the_one_before() {
    let h = harness().await;
    let before = put_theme(&h, Some(&demo_basic()), ":root { --pinframe-accent: #123456 }").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    let drill = ".pinframe-digit:first-child { font-family: P1D3 }\n\
                 @font-face { font-family: P1D3; src: url(/pin/fonts/DEMOISSUER/p1d3.woff2); unicode-range: U+33 }";
    let answer = put_theme(&h, Some(&demo_basic()), drill).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "unsafe_theme");
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("line 2, column 77: unicode-range is not allowed in @font-face"), "{message}");
    let page = h.get("/pin/DEMOISSUER/view").await;
    let version = before.body["version"].as_str().unwrap();
    assert!(page.text.contains(&format!("/pin/themes/DEMOISSUER/{version}.css")), "the theme before stays");

    // A theme stored before the rule (written to the store directly here) is no longer served.
    let old = "@font-face{font-family:P1D3;src:url(\"/pin/fonts/DEMOISSUER/p1d3.woff2\");unicode-range:U+33}\n";
    let issuer = IssuerId::parse("DEMOISSUER").unwrap();
    let old_version = pinframe::theme::version_of(old);
    h.state.store.put_theme(&issuer, &old_version, old, 0).await.unwrap();
    let url = format!("/pin/themes/DEMOISSUER/{old_version}.css");
    assert_eq!(h.get(&url).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn tokens_say_how_the_pin_is_shown_and_in_which_language() {
    let h = harness().await;
    let answer = h
        .token_answer(json!({"cardId": demo::CARD, "action": "VIEW_PIN", "language": "fi", "hideAfterSeconds": 5, "allowCopy": true}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let url = answer.body["url"].as_str().unwrap();
    let token = answer.body["token"].as_str().unwrap();
    assert!(url.ends_with(&format!("/view?lang=fi#token={token}")), "{url}");
    let session = h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await;
    assert_eq!((session.body["hideAfterSeconds"].clone(), session.body["allowCopy"].clone()), (json!(5), json!(true)));
    assert_eq!(session.body["language"], "fi");

    let plain = h.token("VIEW_PIN").await;
    let session = h.post("/api/v1/pin/session", Some(&format!("Bearer {plain}")), None).await;
    assert_eq!(
        (session.body["hideAfterSeconds"].clone(), session.body["allowCopy"].clone()),
        (json!(30), json!(false))
    );

    for bad in [0, 301] {
        let answer = h.token_answer(json!({"cardId": demo::CARD, "action": "VIEW_PIN", "hideAfterSeconds": bad})).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_hide_after_seconds");
    }
}

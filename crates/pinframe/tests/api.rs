//! The service's HTTP API through the router (`oneshot`), with a real SQLite store, the embedded
//! CMS and real crypto in a temporary data directory. A hand-moved clock expires tokens.

mod common;

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::*;
use pinframe::demo;
use pinframe_core::jwe;
use serde_json::json;
use tower::ServiceExt;

#[tokio::test]
async fn issues_a_token_and_shows_the_pin_once() {
    let h = harness().await;
    let answer = h.token_answer(json!({"cardId": "demo-card", "action": "VIEW_PIN", "parentOrigin": ORIGIN})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    let token = answer.body["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    assert_eq!(answer.body["expiresIn"], 300);
    assert_eq!(answer.body["url"], format!("http://pin.test/pin/DEMOISSUER/view#token={token}"));

    let session = h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    assert_eq!(session.body["action"], "VIEW_PIN");
    assert_eq!(session.body["issuerId"], "DEMOISSUER");
    assert_eq!(session.body["parentOrigin"], ORIGIN);
    assert_eq!(session.body["allowedParentOrigins"], json!([ORIGIN]));
    assert_eq!(session.body["expiresIn"], 300);
    assert_eq!(session.body["encryptionJwk"]["use"], "enc");
    assert_eq!(session.headers[header::CACHE_CONTROL], "no-store");

    let (key, epk) = ephemeral();
    let view = h.view(token, epk.clone()).await;
    assert_eq!(view.status, StatusCode::OK, "{}", view.text);
    let jwe = view.body["encryptedPin"].as_str().unwrap();
    assert_eq!(&**jwe::decrypt(&key, jwe).unwrap(), br#"{"pin":"2468"}"#);

    // Used: the same 401 from both endpoints.
    assert_error(&h.view(token, epk).await, StatusCode::UNAUTHORIZED, "unauthorized");
    let again = h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await;
    assert_error(&again, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(again.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"));
}

#[tokio::test]
async fn token_requests_need_the_issuers_credentials() {
    let h = harness().await;
    let body = json!({"cardId": "demo-card", "action": "VIEW_PIN"});
    for auth in [
        None,
        Some(basic(demo::CLIENT_ID, "wrong-secret")),
        Some(basic("no-such-client", demo::CLIENT_SECRET)),
        Some("Basic !!!".to_owned()),
        Some("Bearer abc".to_owned()),
    ] {
        let answer = h.post("/api/v1/pin-control/tokens", auth.as_deref(), Some(body.clone())).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
        assert!(!answer.text.contains("secret"));
    }
}

#[tokio::test]
async fn token_requests_are_validated() {
    let h = harness().await;
    let cases = [
        (json!({"cardId": "no-such-card", "action": "VIEW_PIN"}), StatusCode::NOT_FOUND, "not_found"),
        (json!({"cardId": "bad card!", "action": "VIEW_PIN"}), StatusCode::BAD_REQUEST, "invalid_card_id"),
        (json!({"cardId": "", "action": "VIEW_PIN"}), StatusCode::BAD_REQUEST, "invalid_card_id"),
        (json!({"cardId": "x".repeat(49), "action": "VIEW_PIN"}), StatusCode::BAD_REQUEST, "invalid_card_id"),
        (json!({"cardId": "demo-card", "action": "CHANGE_PIN"}), StatusCode::BAD_REQUEST, "invalid_action"),
        (
            json!({"cardId": "demo-card", "action": "VIEW_PIN", "parentOrigin": "https://evil.example"}),
            StatusCode::BAD_REQUEST,
            "invalid_parent_origin",
        ),
        (
            json!({"cardId": "demo-card", "action": "VIEW_PIN", "parentOrigin": "*"}),
            StatusCode::BAD_REQUEST,
            "invalid_parent_origin",
        ),
        (
            json!({"cardId": "demo-card", "action": "VIEW_PIN", "language": "not a language"}),
            StatusCode::BAD_REQUEST,
            "invalid_language",
        ),
        (json!({"cardId": "demo-card"}), StatusCode::BAD_REQUEST, "invalid_body"),
        (json!({"cardId": "demo-card", "action": "VIEW_PIN", "pan": "5555"}), StatusCode::BAD_REQUEST, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let answer = h.token_answer(body.clone()).await;
        assert_error(&answer, status, code);
        assert!(!answer.text.contains("evil") && !answer.text.contains("5555"), "echoed input: {}", answer.text);
    }
    // A registered origin, normalised the way browsers report it.
    let answer = h
        .token_answer(json!({"cardId": "demo-card", "action": "VIEW_PIN", "parentOrigin": "HTTPS://Bank.Example:443"}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);

    let not_json = h
        .send(
            Request::post("/api/v1/pin-control/tokens")
                .header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET))
                .header(header::CONTENT_TYPE, "text/plain")
                .body(Body::from("cardId=demo-card"))
                .unwrap(),
        )
        .await;
    assert_error(&not_json, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let broken = h
        .send(
            Request::post("/api/v1/pin-control/tokens")
                .header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET))
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{\"cardId\": \"2468"))
                .unwrap(),
        )
        .await;
    assert_error(&broken, StatusCode::BAD_REQUEST, "invalid_body");
    assert!(!broken.text.contains("2468"));
}

/// A token request with `body` and `content_type`, as the issuer's backend.
async fn raw_token_request(h: &Harness, content_type: &str, body: impl Into<Body>) -> Answer {
    h.send(
        Request::post("/api/v1/pin-control/tokens")
            .header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET))
            .header(header::CONTENT_TYPE, content_type)
            .body(body.into())
            .unwrap(),
    )
    .await
}

#[tokio::test]
async fn json_bodies_are_utf_8_objects_within_the_limit() {
    let h = harness().await;
    let json = "application/json";
    let good = r#"{"cardId":"demo-card","action":"VIEW_PIN"}"#;
    for content_type in [json, "application/json; charset=utf-8", "Application/JSON;Charset=\"UTF-8\""] {
        assert_eq!(raw_token_request(&h, content_type, good).await.status, StatusCode::CREATED, "{content_type}");
    }
    for content_type in ["application/json; charset=utf-16", "application/json; charset=latin1", "text/json"] {
        let answer = raw_token_request(&h, content_type, good).await;
        assert_error(&answer, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    }
    // serde reads a struct from an array of its fields; only an object is the body.
    for not_object in [r#"["demo-card","VIEW_PIN"]"#, "[]", "null", r#""demo-card""#] {
        assert_error(&raw_token_request(&h, json, not_object).await, StatusCode::BAD_REQUEST, "invalid_body");
    }
    // Over 16 KiB is 413 in the JSON error shape, not 400.
    let padding = " ".repeat(pinframe_server::error::MAX_JSON_BODY);
    let big = format!(r#"{{"cardId":"demo-card",{padding}"action":"VIEW_PIN"}}"#);
    assert_error(&raw_token_request(&h, json, big).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
}

#[tokio::test]
async fn optional_members_follow_their_schema() {
    let h = harness().await;
    let base = json!({"cardId": "demo-card", "action": "VIEW_PIN"});
    let with = |name: &str, value: serde_json::Value| {
        let mut body = base.clone();
        body[name] = value;
        body
    };
    // null is absent, and JSON's 25.0 is the integer 25, as the OpenAPI file's JSON Schema reads them.
    for body in
        [with("language", json!(null)), with("hideAfterSeconds", json!(25.0)), with("parentOrigin", json!(null))]
    {
        assert_eq!(h.token_answer(body.clone()).await.status, StatusCode::CREATED, "{body}");
    }
    for (body, code) in [
        (with("language", json!("")), "invalid_language"),
        (with("hideAfterSeconds", json!(0)), "invalid_hide_after_seconds"),
        (with("hideAfterSeconds", json!(25.5)), "invalid_body"),
        (with("allowCopy", json!(null)), "invalid_body"),
    ] {
        assert_error(&h.token_answer(body.clone()).await, StatusCode::BAD_REQUEST, code);
    }
}

#[tokio::test]
async fn missing_unknown_malformed_and_expired_tokens_get_the_same_401() {
    let h = harness().await;
    let (_, epk) = ephemeral();
    let expired = h.token("VIEW_PIN").await;
    h.clock.0.fetch_add(300, Ordering::SeqCst);
    let unknown = "A".repeat(43);
    for auth in [
        None,
        Some("Bearer".to_owned()),
        Some("Bearer short".to_owned()),
        Some(format!("Bearer {unknown}")),
        Some(format!("Bearer {expired}")),
    ] {
        for path in ["/api/v1/pin/session", "/api/v1/pin/view"] {
            let answer = h.post(path, auth.as_deref(), Some(json!({ "epk": epk.clone() }))).await;
            assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
            assert_eq!(answer.body, h.post("/api/v1/pin/session", None, None).await.body);
        }
    }
    // The other scheme is refused too, with a hint at the one these routes take.
    for path in ["/api/v1/pin/session", "/api/v1/pin/view"] {
        let answer = h.post(path, Some(&format!("Basic {expired}")), Some(json!({ "epk": epk.clone() }))).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(answer.body["message"].as_str().unwrap().contains("takes a Bearer token"), "{}", answer.text);
    }
    // One second before expiry it still worked.
    h.clock.0.fetch_sub(1, Ordering::SeqCst);
    assert_eq!(h.view(&expired, epk).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_refused_session_names_the_tokens_parent_origin_and_nothing_else() {
    let h = &harness().await;
    let (_, epk) = ephemeral();
    let desktop_token = || async {
        let answer = h.token_answer(json!({"cardId": "demo-card", "action": "VIEW_PIN", "parentOrigin": ORIGIN})).await;
        answer.body["token"].as_str().unwrap().to_owned()
    };
    let session =
        |token: String| async move { h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await };
    let plain = h.post("/api/v1/pin/session", None, None).await;
    let mut named = plain.body.clone();
    named["parentOrigin"] = json!(ORIGIN);

    let (desktop, webview) = (desktop_token().await, h.token("VIEW_PIN").await);
    for token in [&desktop, &webview] {
        assert_eq!(h.view(token, epk.clone()).await.status, StatusCode::OK);
    }
    let used = session(desktop.clone()).await;
    assert_error(&used, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(used.headers[header::WWW_AUTHENTICATE], plain.headers[header::WWW_AUTHENTICATE]);
    assert_eq!(used.body, named);
    // A webview's token names no origin, nor does any other route's 401.
    assert_eq!(session(webview).await.body, plain.body);
    assert_eq!(h.view(&desktop, epk).await.body, plain.body);
    // Expired but still kept: named as well.
    let expired = desktop_token().await;
    h.clock.0.fetch_add(300, Ordering::SeqCst);
    assert_eq!(session(expired).await.body, named);
}

#[tokio::test]
async fn view_rejects_bad_ephemeral_keys_without_using_the_token() {
    let h = harness().await;
    let token = h.token("VIEW_PIN").await;
    let (_, good) = ephemeral();
    let mut off_curve = good.clone();
    // x of a valid point with y changed: not on P-256.
    off_curve["y"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE");
    let mut other_curve = good.clone();
    other_curve["crv"] = json!("P-384");
    for epk in [off_curve, other_curve, json!("not a key"), json!({"kty": "EC"}), json!({"kty": "oct", "k": "AAAA"})] {
        let answer = h.view(&token, epk).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_epk");
    }
    let no_epk = h.post("/api/v1/pin/view", Some(&format!("Bearer {token}")), Some(json!({}))).await;
    assert_error(&no_epk, StatusCode::BAD_REQUEST, "invalid_body");
    // None of that used the token up.
    assert_eq!(h.view(&token, good).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_set_token_cannot_view() {
    let h = harness().await;
    let token = h.token("SET_PIN").await;
    let (_, epk) = ephemeral();
    assert_error(&h.view(&token, epk).await, StatusCode::FORBIDDEN, "forbidden");
    let session = h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await;
    assert_eq!(session.body["action"], "SET_PIN");
}

#[tokio::test]
async fn exactly_one_of_many_concurrent_views_succeeds() {
    for backend in backends() {
        let h = harness_on(&backend).await;
        for _ in 0..3 {
            let token = h.token("VIEW_PIN").await;
            let (_, epk) = ephemeral();
            let tasks: Vec<_> = (0..32)
                .map(|_| {
                    let app = h.app();
                    let request = Request::post("/api/v1/pin/view")
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(json!({ "epk": epk.clone() }).to_string()))
                        .unwrap();
                    tokio::spawn(async move { app.oneshot(request).await.unwrap().status() })
                })
                .collect();
            let mut statuses = Vec::new();
            for task in tasks {
                statuses.push(task.await.unwrap());
            }
            assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 1, "{backend:?}: {statuses:?}");
            assert!(
                statuses.iter().all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED),
                "{backend:?}: {statuses:?}"
            );
        }
    }
}

#[tokio::test]
async fn readiness_follows_the_database() {
    for backend in backends() {
        let h = harness_on(&backend).await;
        let answer = h.get("/readyz").await;
        assert_eq!(answer.status, StatusCode::OK, "{backend:?}: {}", answer.text);
        assert_eq!(answer.body, json!({"status": "ready"}));
    }
}

#[tokio::test]
async fn correlation_ids_are_validated_and_echoed() {
    let h = harness().await;
    let with =
        |id: &str| Request::get("/.well-known/jwks.json").header("x-correlation-id", id).body(Body::empty()).unwrap();
    let ok = h.send(with("trace-1.2 abc_DEF")).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.headers["x-correlation-id"], "trace-1.2 abc_DEF");
    for bad in ["", "has/slash", "semi;colon", &"x".repeat(65), "ümlaut"] {
        let answer = h
            .send(
                Request::get("/.well-known/jwks.json")
                    .header("x-correlation-id", axum::http::HeaderValue::from_bytes(bad.as_bytes()).unwrap())
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_correlation_id");
        assert!(answer.headers.get("x-correlation-id").is_none());
    }
    // Without one, the service makes one up and returns it.
    let generated = h.get("/.well-known/jwks.json").await;
    let id = generated.headers["x-correlation-id"].to_str().unwrap();
    assert!(pinframe_core::CorrelationId::parse(id).is_ok());
}

#[tokio::test]
async fn jwks_publishes_the_service_encryption_key() {
    let h = harness().await;
    let answer = h.get("/.well-known/jwks.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    let keys = answer.body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 1);
    let key = &keys[0];
    assert_eq!(
        (key["kty"].as_str(), key["crv"].as_str(), key["use"].as_str()),
        (Some("EC"), Some("P-256"), Some("enc"))
    );
    assert!(key.get("d").is_none());
    let public = pinframe_core::PublicJwk::parse(&key.to_string()).unwrap();
    assert_eq!(key["kid"], public.thumbprint());
    assert_eq!(public.kid(), h.state.keys.public_key(h.state.clock.now()).kid());
}

#[tokio::test]
async fn the_widget_page_carries_a_strict_csp() {
    let h = harness().await;
    let page = h.get("/pin/DEMOISSUER/view").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval';"), "{csp}");
    assert!(csp.ends_with(&format!("frame-ancestors {ORIGIN}")), "{csp}");
    assert!(!csp.contains("unsafe-inline"));
    assert_eq!(page.headers[header::REFERRER_POLICY], "no-referrer");
    assert!(!page.text.contains("pinframe-origins"), "the page names no origin");
    // Trunk's inline loader was moved out into an asset of its own.
    assert!(!page.text.contains("import init"));
    let src = page.text.split("<script type=\"module\" src=\"").nth(1).unwrap().split('"').next().unwrap();
    let loader = h.get(src).await;
    assert_eq!(loader.status, StatusCode::OK);
    // Trunk's loader, after the script that starts the session request.
    assert!(loader.text.starts_with("{\n  const pair = location.hash"), "{}", loader.text);
    assert!(!loader.text.contains("//"), "no comment is sent: {}", loader.text);
    assert!(loader.text.contains("fetch(\"/api/v1/pin/session\""), "{}", loader.text);
    assert!(loader.text.ends_with("}\n\nimport init from '/pin/assets/w.js';\nawait init();"), "{}", loader.text);
    assert_eq!(loader.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(loader.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));

    // The host's theme=light|dark is on <html> from the first paint; other values are ignored.
    let dark = h.get("/pin/DEMOISSUER/view?lang=fi&theme=dark").await;
    assert!(dark.text.contains("<html class=\"pinframe-dark\""), "{}", dark.text);
    assert!(h.get("/pin/DEMOISSUER/set?theme=light").await.text.contains("<html class=\"pinframe-light\""));
    // The query's language, when it is not English, has its catalogue preloaded: an asset of its own.
    let preload = dark.text.split("<link rel=\"preload\" href=\"").nth(1).unwrap().split('"').next().unwrap();
    assert!(preload.starts_with("/pin/assets/locale-fi-"), "{preload}");
    let catalogue = h.get(preload).await;
    assert_eq!(catalogue.status, StatusCode::OK);
    assert_eq!(catalogue.text, include_str!("../../../locales/fi.ftl"));
    assert_eq!(catalogue.headers[header::CONTENT_TYPE], "text/plain; charset=utf-8");
    assert!(catalogue.headers[header::CACHE_CONTROL].to_str().unwrap().contains("immutable"));
    for query in ["", "?lang=en", "?lang=pt", "?lang=fi%22"] {
        let page = h.get(&format!("/pin/DEMOISSUER/view{query}")).await;
        assert!(!page.text.contains("rel=\"preload\" href=\"/pin/assets/locale-"), "{query}: {}", page.text);
    }
    for query in ["", "?theme=blue", "?theme=dark%22%3E", "?lang=dark"] {
        let page = h.get(&format!("/pin/DEMOISSUER/view{query}")).await;
        assert!(!page.text.contains("class=\"pinframe-"), "{query}: {}", page.text);
    }

    // A browser gets the HTML error page (tests/integrator.rs); a caller asking for JSON, the body.
    let json_get = |path: &'static str| {
        h.send(Request::get(path).header(header::ACCEPT, "application/json").body(Body::empty()).unwrap())
    };
    assert_error(&json_get("/pin/NOSUCHISSU/view").await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&json_get("/pin/SHORT/view").await, StatusCode::BAD_REQUEST, "invalid_issuer_id");
    assert_error(&h.get("/pin/assets/nothing.js").await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&h.get("/pin/assets/..%2Fdata%2Fservice-key.jwk").await, StatusCode::NOT_FOUND, "not_found");
    assert_error(&h.get("/no/such/path").await, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn without_a_built_widget_the_page_is_unavailable_not_broken() {
    let mut h = harness().await;
    h.state.widget = Arc::new(pinframe::widget_assets::WidgetAssets::load(&PathBuf::from("/nonexistent")).unwrap());
    assert_error(&h.get("/pin/DEMOISSUER/view").await, StatusCode::SERVICE_UNAVAILABLE, "widget_not_built");
}

#[tokio::test]
async fn the_demo_backend_issues_tokens_for_its_own_origin_only() {
    let h = harness().await;
    let request = |origin: Option<&str>| {
        let mut r = Request::post("/demo/api/token").header(header::CONTENT_TYPE, "application/json");
        if let Some(origin) = origin {
            r = r.header(header::ORIGIN, origin);
        }
        r.body(Body::from(r#"{"action":"VIEW_PIN"}"#)).unwrap()
    };
    let ok = h.send(request(Some(ORIGIN))).await;
    assert_eq!(ok.status, StatusCode::CREATED, "{}", ok.text);
    let session =
        h.post("/api/v1/pin/session", Some(&format!("Bearer {}", ok.body["token"].as_str().unwrap())), None).await;
    assert_eq!(session.body["parentOrigin"], ORIGIN);
    assert_error(
        &h.send(request(Some("https://evil.example"))).await,
        StatusCode::BAD_REQUEST,
        "invalid_parent_origin",
    );
    assert_error(&h.send(request(None)).await, StatusCode::BAD_REQUEST, "invalid_parent_origin");
    let page = h.get("/demo/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap().contains("unsafe-inline"));
    // make bench's floor: the demo PIN in a static page.
    let floor = h.get("/demo/floor.html").await;
    assert_eq!(floor.status, StatusCode::OK);
    assert!(floor.text.contains(&format!("<p class=\"pinframe-pin\">{}</p>", demo::PIN)), "{}", floor.text);
    // Its JavaScript floor: a page and its script, under the demo's CSP (no inline script).
    let js_floor = h.get("/demo/js-floor.html").await;
    assert_eq!(js_floor.status, StatusCode::OK);
    assert!(js_floor.text.contains("<script type=\"module\" src=\"/demo/js-floor.js\"></script>"), "{}", js_floor.text);
    let script = h.get("/demo/js-floor.js").await;
    assert_eq!(script.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(script.text.contains("/api/v1/pin/view"));
    let decrypt = h.get("/demo/jwe-webcrypto.js").await;
    assert_eq!(decrypt.headers[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    assert!(decrypt.text.contains("export async function decryptCompact"));
}

#[tokio::test]
async fn seeding_the_demo_twice_changes_nothing() {
    let h = harness().await;
    let correlation = pinframe_core::CorrelationId::parse("test").unwrap();
    let (issuer, card) =
        (pinframe_core::IssuerId::parse(demo::ISSUER).unwrap(), pinframe_core::CardId::parse(demo::CARD).unwrap());
    assert_eq!(h.state.cms.change_counter(&issuer, &card, &correlation).await.unwrap(), 1);
    demo::seed(&h.state, &[pinframe_protocol::Origin::parse(ORIGIN).unwrap()]).await.unwrap();
    assert_eq!(h.state.cms.change_counter(&issuer, &card, &correlation).await.unwrap(), 1);
    assert_eq!(h.state.store.origins(&issuer).await.unwrap(), vec![pinframe_protocol::Origin::parse(ORIGIN).unwrap()]);
}

#[tokio::test]
async fn a_card_without_a_pin_in_the_cms_is_404_and_keeps_the_token() {
    let h = harness().await;
    let issuer = pinframe_core::IssuerId::parse(demo::ISSUER).unwrap();
    let consumer = pinframe_core::ConsumerId::parse(demo::CONSUMER).unwrap();
    let card = pinframe_core::CardId::parse("no-pin-yet").unwrap();
    let pan = pinframe_core::Pan::parse("4000001234567899").unwrap();
    let sealed = pinframe::pins::seal_pan(&h.state.keys, &issuer, &card, &pan, 0).unwrap();
    h.state.store.put_card(&issuer, &consumer, &card, &sealed, 0).await.unwrap();
    let answer = h.token_answer(json!({"cardId": "no-pin-yet", "action": "VIEW_PIN"})).await;
    let token = answer.body["token"].as_str().unwrap();
    let (_, epk) = ephemeral();
    assert_error(&h.view(token, epk).await, StatusCode::NOT_FOUND, "no_pin");
    let session = h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await;
    assert_eq!(session.status, StatusCode::OK);
}

#[tokio::test]
async fn the_openapi_document_matches_the_router() {
    let h = harness().await;
    let answer = h.get("/openapi.json").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, operations) in answer.body["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            // Every documented operation reaches a handler: not the fallback, not 405.
            let concrete = path
                .replace("{issuerId}", demo::ISSUER)
                .replace("{file}", "w.js")
                .replace("{name}", "brand.woff2")
                .replace("{consumerId}", demo::CONSUMER)
                .replace("{path}", "index.html");
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .header(header::CONTENT_TYPE, "application/json")
                .header(header::ORIGIN, ORIGIN)
                .body(Body::from("{}"))
                .unwrap();
            let reached = h.send(request).await;
            let operation = format!("{} {path}", method.to_uppercase());
            let fallback = reached.body["message"] == "There is nothing at this path.";
            if common::AWAITED.contains(&operation.as_str()) {
                assert!(fallback, "{operation} is served now: take it off AWAITED");
                continue;
            }
            assert_ne!(reached.status, StatusCode::METHOD_NOT_ALLOWED, "{operation}");
            assert!(!fallback, "{operation}");
        }
    }
    documented.sort();
    // Every route the router has is documented.
    let mut routes = vec![
        "GET /healthz",
        "GET /metrics",
        "GET /demo/demo.js",
        "GET /demo/demo.css",
        "GET /demo/floor.html",
        "GET /demo/js-floor.html",
        "GET /demo/js-floor.js",
        "GET /demo/jwe-webcrypto.js",
        "GET /demo/pinframe-host.js",
        "POST /api/v1/pin-control/tokens",
        "POST /api/v1/pin/session",
        "POST /api/v1/pin/view",
        "POST /api/v1/pin/set",
        "GET /pin/{issuerId}/set",
        "GET /.well-known/jwks.json",
        "GET /readyz",
        "GET /openapi.json",
        "GET /pin/{issuerId}/view",
        "GET /pin/assets/{file}",
        "GET /demo/",
        "POST /demo/api/token",
        "POST /demo/api/theme",
        "PUT /api/v1/issuers/{issuerId}/theme",
        "GET /api/v1/issuers/{issuerId}/theme",
        "DELETE /api/v1/issuers/{issuerId}/theme",
        "PUT /api/v1/issuers/{issuerId}/fonts/{name}",
        "GET /pin/themes/{issuerId}/{file}",
        "GET /pin/fonts/{issuerId}/{name}",
        "POST /oauth2/token",
        "PUT /issuers/{issuerId}/consumers/{consumerId}",
        "PUT /issuers/{issuerId}/consumers/{consumerId}/cards",
        "GET /docs",
        "GET /docs/",
        "GET /docs/{path}",
    ];
    routes.sort();
    assert_eq!(documented, routes);
}

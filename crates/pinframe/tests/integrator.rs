//! What an integrator sees when something is wrong, through the router with a real store and the
//! embedded CMS: the HTML error page under `/pin/` (JSON when asked for), JSON 404s and 405s
//! elsewhere, body errors that name the member, and 401 challenges that name the scheme. (A card
//! without a PIN, `no_pin`, is in `tests/api.rs`.)

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::*;
use pinframe::demo;
use serde_json::json;

fn get_with(path: &str, headers: &[(header::HeaderName, &str)]) -> Request<Body> {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn pages_under_pin_that_are_no_widget_page_are_html_in_the_readers_language() {
    let h = harness().await;
    for path in ["/pin/NOSUCHISSU/view", "/pin/DEMOISSUER/edit", "/pin/DEMOISSUER", "/pin/", "/pin/SHORT/set"] {
        let page = h.send(get_with(path, &[(header::ACCEPT_LANGUAGE, "fi-FI, en;q=0.5")])).await;
        let expected = if path == "/pin/SHORT/set" { StatusCode::BAD_REQUEST } else { StatusCode::NOT_FOUND };
        assert_eq!(page.status, expected, "{path}: {}", page.text);
        assert_eq!(page.headers[header::CONTENT_TYPE], "text/html; charset=utf-8", "{path}");
        assert_eq!(page.headers[header::CONTENT_LANGUAGE], "fi");
        assert!(page.text.contains("<html lang=\"fi\" dir=\"ltr\">"), "{}", page.text);
        assert!(page.text.contains("<h1>Sivua ei löytynyt</h1>"), "{}", page.text);
        // Nothing of the request, nor of the service's insides.
        for leak in ["NOSUCHISSU", "DEMOISSUER", "SHORT", "/pin/", "error"] {
            assert!(!page.text.contains(leak), "{path} shows {leak}: {}", page.text);
        }
        let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'; style-src 'sha256-"), "{csp}");
        assert!(csp.ends_with("frame-ancestors 'none'") && !csp.contains("unsafe-inline"), "{csp}");
        assert!(page.headers[header::VARY].to_str().unwrap().contains("Accept-Language"));
    }
    let english = h.get("/pin/NOSUCHISSU/view").await;
    assert!(english.text.contains("<h1>Page not found</h1>"), "{}", english.text);

    let json = h.send(get_with("/pin/NOSUCHISSU/view", &[(header::ACCEPT, "application/json")])).await;
    assert_error(&json, StatusCode::NOT_FOUND, "not_found");
    let json = h.send(get_with("/pin/DEMOISSUER/edit", &[(header::ACCEPT, "application/json")])).await;
    assert_error(&json, StatusCode::NOT_FOUND, "not_found");
    // Sub-resources stay JSON.
    assert_error(&h.get("/pin/assets/nothing.js").await, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn json_routes_answer_json_404s_and_405s_with_allow() {
    let h = harness().await;
    assert_error(&h.get("/api/v1/nothing").await, StatusCode::NOT_FOUND, "not_found");
    let wrong = h.send(Request::delete("/api/v1/pin/view").body(Body::empty()).unwrap()).await;
    assert_error(&wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(wrong.headers[header::ALLOW], "POST");
    let wrong = h.send(Request::post("/api/v1/issuers/DEMOISSUER/theme").body(Body::empty()).unwrap()).await;
    assert_error(&wrong, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let allow = wrong.headers[header::ALLOW].to_str().unwrap();
    for method in ["GET", "PUT", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
}

#[tokio::test]
async fn body_errors_name_the_member_and_never_echo_its_value() {
    let h = harness().await;
    let cases = [
        (json!({"action": "VIEW_PIN"}), "invalid_body", "cardId", "cardId is missing."),
        (json!({"cardId": 1234, "action": "VIEW_PIN"}), "invalid_body", "cardId", "cardId must be a string."),
        (
            json!({"cardId": "c", "action": "VIEW_PIN", "hideAfterSeconds": "9876"}),
            "invalid_body",
            "hideAfterSeconds",
            "",
        ),
        (json!({"cardId": "c", "action": "VIEW_PIN", "allowCopy": "yes"}), "invalid_body", "allowCopy", ""),
        (json!({"cardId": "bad card 5555", "action": "VIEW_PIN"}), "invalid_card_id", "cardId", ""),
        (json!({"cardId": "c", "action": "SHOW_PIN_4321"}), "invalid_action", "action", ""),
        (json!({"cardId": "c", "action": "VIEW_PIN", "language": "english_1"}), "invalid_language", "language", ""),
        (
            json!({"cardId": "c", "action": "VIEW_PIN", "hideAfterSeconds": 100000}),
            "invalid_hide_after_seconds",
            "hideAfterSeconds",
            "",
        ),
        (
            json!({"cardId": "c", "action": "VIEW_PIN", "parentOrigin": "ftp://x"}),
            "invalid_parent_origin",
            "parentOrigin",
            "",
        ),
    ];
    for (body, code, field, message) in cases {
        let answer = h.token_answer(body.clone()).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code);
        assert_eq!(answer.body["field"], field, "{body}: {}", answer.text);
        if !message.is_empty() {
            assert_eq!(answer.body["message"], message);
        }
        for value in ["1234", "9876", "yes", "5555", "4321", "english_1", "ftp://x"] {
            assert!(!answer.text.contains(value), "{body} echoed {value}: {}", answer.text);
        }
    }
    // An unknown member is not named (its name is the caller's); the accepted ones are.
    let answer = h.token_answer(json!({"cardId": "c", "action": "VIEW_PIN", "pin1234": 1})).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_body");
    assert!(answer.body.get("field").is_none() && !answer.text.contains("pin1234"), "{}", answer.text);
    assert!(answer.text.contains("`cardId`"), "{}", answer.text);
    // Nested members: the path.
    let answer = h.post("/api/v1/pin/view", Some("Bearer x"), Some(json!({"epk": {}}))).await;
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
    let token = h.token("SET_PIN").await;
    let answer = h.post("/api/v1/pin/set", Some(&format!("Bearer {token}")), Some(json!({"encryptedPin": 2468}))).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_body");
    assert_eq!(answer.body["field"], "encryptedPin");
    assert!(!answer.text.contains("2468"), "{}", answer.text);
    // Not JSON at all: no member to name.
    let request = Request::post("/api/v1/pin-control/tokens")
        .header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"cardId\": \"c\", \"action\": "))
        .unwrap();
    let answer = h.send(request).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_body");
    assert!(answer.body.get("field").is_none(), "{}", answer.text);
}

#[tokio::test]
async fn challenges_name_the_scheme_and_a_wrong_scheme_gets_a_hint() {
    let h = harness().await;
    let body = json!({"cardId": demo::CARD, "action": "VIEW_PIN"});
    // The token endpoint takes Basic.
    let plain = h.post("/api/v1/pin-control/tokens", None, Some(body.clone())).await;
    assert_error(&plain, StatusCode::UNAUTHORIZED, "unauthorized");
    assert!(plain.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic realm=\"pinframe\""));
    let bearer = h.post("/api/v1/pin-control/tokens", Some("Bearer abc"), Some(body.clone())).await;
    assert!(bearer.body["message"].as_str().unwrap().contains("takes HTTP Basic"), "{}", bearer.text);
    // A wrong client id and a wrong secret read alike.
    let wrong_id =
        h.post("/api/v1/pin-control/tokens", Some(&basic("nobody", demo::CLIENT_SECRET)), Some(body.clone())).await;
    let wrong_secret = h.post("/api/v1/pin-control/tokens", Some(&basic(demo::CLIENT_ID, "nope")), Some(body)).await;
    assert_eq!(wrong_id.text, wrong_secret.text);
    assert_eq!(wrong_id.status, StatusCode::UNAUTHORIZED);
    for word in ["secret", "client id", "nobody"] {
        assert!(!wrong_id.text.contains(word), "{}", wrong_id.text);
    }

    // The Register API takes Bearer.
    let request = |auth: &str| {
        Request::builder()
            .method(Method::PUT)
            .uri("/issuers/DEMOISSUER/consumers/c1")
            .header(header::AUTHORIZATION, auth)
            .body(Body::empty())
            .unwrap()
    };
    let basic_there = h.send(request(&basic(demo::CLIENT_ID, demo::CLIENT_SECRET))).await;
    assert_error(&basic_there, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(basic_there.headers[header::WWW_AUTHENTICATE], "Bearer realm=\"pinframe\"");
    let message = basic_there.body["message"].as_str().unwrap();
    assert!(message.contains("Bearer") && message.contains("/oauth2/token"), "{message}");
    let bad_bearer = h.send(request("Bearer not-a-jwt")).await;
    assert_eq!(bad_bearer.body["message"], "The credentials are missing, unknown, expired or already used.");
}

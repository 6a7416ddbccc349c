//! The issuer-facing APIs of the service: `POST /oauth2/token` (RFC 6749 §4.4, ES256 JWTs)
//! and the D1 Register API, through the real router, store and crypto.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64ct::{Base64UrlUnpadded, Encoding};
use common::{assert_error, basic, ephemeral, harness, Answer, Harness};
use pinframe::demo;
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, IssuerId, PrivateJwk, PublicJwk};
use pinframe_server::oauth::{Grant, JwtAuthority};
use serde_json::{json, Value};

const PAN: &str = "4111111111111111";

async fn token_request(h: &Harness, authorization: Option<&str>, content_type: &str, body: &str) -> Answer {
    let mut request = Request::post("/oauth2/token").header(header::CONTENT_TYPE, content_type);
    if let Some(auth) = authorization {
        request = request.header(header::AUTHORIZATION, auth);
    }
    h.send(request.body(Body::from(body.to_owned())).unwrap()).await
}

async fn access_token(h: &Harness) -> String {
    let answer = token_request(
        h,
        Some(&basic(demo::CLIENT_ID, demo::CLIENT_SECRET)),
        "application/x-www-form-urlencoded",
        "grant_type=client_credentials",
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["access_token"].as_str().unwrap().to_owned()
}

async fn put(h: &Harness, path: &str, bearer: Option<&str>, body: Option<Value>, correlation: Option<&str>) -> Answer {
    let mut request = Request::builder().method(Method::PUT).uri(path);
    if let Some(token) = bearer {
        request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
    }
    if let Some(id) = correlation {
        request = request.header("x-correlation-id", id);
    }
    let body = match body {
        Some(json) => {
            request = request.header(header::CONTENT_TYPE, "application/json");
            Body::from(json.to_string())
        }
        None => Body::empty(),
    };
    h.send(request.body(body).unwrap()).await
}

fn service_key(h: &Harness) -> PublicJwk {
    PublicJwk::parse(&h.state.keys.public_jwk(h.state.clock.now()).to_string()).unwrap()
}

fn card_data(h: &Harness, plaintext: &str) -> String {
    jwe::encrypt(&service_key(h), plaintext.as_bytes(), &mut OsRng)
}

fn cards_body(h: &Harness, cards: &[(&str, &str)]) -> Value {
    let cards: Vec<Value> = cards
        .iter()
        .map(|(id, pan)| json!({"cardId": id, "encryptedData": card_data(h, &format!(r#"{{"pan":"{pan}","exp":"1229"}}"#))}))
        .collect();
    json!({ "cards": cards })
}

fn cards_path(consumer: &str) -> String {
    format!("/issuers/{}/consumers/{consumer}/cards", demo::ISSUER)
}

#[tokio::test]
async fn the_token_endpoint_follows_rfc_6749() {
    let h = harness().await;
    let good = basic(demo::CLIENT_ID, demo::CLIENT_SECRET);
    let form = "application/x-www-form-urlencoded";

    let answer = token_request(&h, Some(&good), form, "grant_type=client_credentials&scope=anything").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 900);
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(answer.headers[header::PRAGMA], "no-cache");
    // An ES256 JWT naming the issuer it may act for.
    let token = answer.body["access_token"].as_str().unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header: Value = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(parts[0]).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(parts[1]).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(claims["issuers"], json!([demo::ISSUER]));
    assert_eq!(claims["sub"], demo::CLIENT_ID);
    assert_eq!(claims["iss"], "http://pin.test");
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 900);

    for (auth, status, code) in [
        (Some(basic(demo::CLIENT_ID, "wrong")), StatusCode::UNAUTHORIZED, "invalid_client"),
        (Some(basic("no-such-client", demo::CLIENT_SECRET)), StatusCode::UNAUTHORIZED, "invalid_client"),
        (None, StatusCode::UNAUTHORIZED, "invalid_client"),
    ] {
        let answer = token_request(&h, auth.as_deref(), form, "grant_type=client_credentials").await;
        assert_eq!(answer.status, status, "{}", answer.text);
        assert_eq!(answer.body["error"], code);
        assert!(answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Basic"));
        assert!(answer.body["error_description"].is_string());
    }
    for (content_type, body, code) in [
        (form, "grant_type=password&username=a&password=b", "unsupported_grant_type"),
        (form, "", "invalid_request"),
        (form, "scope=x", "invalid_request"),
        ("application/json", r#"{"grant_type":"client_credentials"}"#, "invalid_request"),
        (form, "grant_type=client_credentials&client_secret=demo-secret", "invalid_request"),
    ] {
        let answer = token_request(&h, Some(&good), content_type, body).await;
        assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{body}: {}", answer.text);
        assert_eq!(answer.body["error"], code, "{body}");
        assert!(!answer.text.contains("demo-secret"));
    }
}

#[tokio::test]
async fn registered_cards_get_tokens_and_their_pin_can_be_set_and_viewed() {
    let h = harness().await;
    let jwt = access_token(&h).await;
    let consumer = format!("/issuers/{}/consumers/alice-01", demo::ISSUER);

    // Not registered yet: no token.
    let answer = h.token_answer(json!({"cardId": "alice-card", "action": "SET_PIN"})).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found");

    // The consumer, with and without the deprecated state, twice: 204 each time.
    for body in [None, Some(json!({})), Some(json!({"state": "ACTIVE"})), None] {
        let answer = put(&h, &consumer, Some(&jwt), body, Some("register-1")).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
        assert_eq!(answer.headers["x-correlation-id"], "register-1");
    }
    let answer = put(&h, &consumer, Some(&jwt), Some(json!({"state": "ACTIVE", "name": "Alice"})), None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_body");

    // The cards, twice (idempotent).
    for _ in 0..2 {
        let body = cards_body(&h, &[("alice-card", PAN), ("alice-card-2", "5555555551234567")]);
        let answer = put(&h, &cards_path("alice-01"), Some(&jwt), Some(body), None).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }

    // Set a PIN through the widget API, then view it: the CMS got a format-0 block made with the
    // PAN registered here, and it decodes back with the same PAN.
    let set = {
        let answer = h.token_answer(json!({"cardId": "alice-card", "action": "SET_PIN"})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["token"].as_str().unwrap().to_owned()
    };
    let encrypted = jwe::encrypt(&service_key(&h), br#"{"pin":"8037"}"#, &mut OsRng);
    let answer =
        h.post("/api/v1/pin/set", Some(&format!("Bearer {set}")), Some(json!({"encryptedPin": encrypted}))).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let view = h.token_answer(json!({"cardId": "alice-card", "action": "VIEW_PIN"})).await;
    let (key, epk) = ephemeral();
    let answer = h.view(view.body["token"].as_str().unwrap(), epk).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let plaintext = jwe::decrypt(&key, answer.body["encryptedPin"].as_str().unwrap()).unwrap();
    assert_eq!(&plaintext[..], br#"{"pin":"8037"}"#);
}

#[tokio::test]
async fn cards_register_all_or_none() {
    let h = harness().await;
    let jwt = access_token(&h).await;
    let mut body = cards_body(&h, &[("bob-card-1", PAN), ("bob-card-2", PAN)]);
    body["cards"][1]["encryptedData"] = json!("not a JWE");
    let answer = put(&h, &cards_path("bob"), Some(&jwt), Some(body), None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_encrypted_data");
    assert!(answer.body["message"].as_str().unwrap().contains("cards[1]"));
    let answer = h.token_answer(json!({"cardId": "bob-card-1", "action": "VIEW_PIN"})).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn encrypted_data_that_does_not_decrypt_or_parse_is_400() {
    let h = harness().await;
    let jwt = access_token(&h).await;
    let other = PrivateJwk::generate(&mut OsRng);
    let good = card_data(&h, r#"{"pan":"4111111111111111","exp":"1229"}"#);
    let mut tampered = good.clone().into_bytes();
    let at = tampered.len() - 30;
    tampered[at] = if tampered[at] == b'A' { b'B' } else { b'A' };
    let cases = [
        ("garbage", "not a JWE".to_owned()),
        ("another key", jwe::encrypt(other.public(), br#"{"pan":"4111111111111111","exp":"1229"}"#, &mut OsRng)),
        ("tampered", String::from_utf8(tampered).unwrap()),
        ("not JSON", card_data(&h, "4111111111111111")),
        ("no exp", card_data(&h, r#"{"pan":"4111111111111111"}"#)),
        ("short PAN", card_data(&h, r#"{"pan":"41111111111","exp":"1229"}"#)),
        ("PAN with letters", card_data(&h, r#"{"pan":"41111111111x1111","exp":"1229"}"#)),
        ("month 13", card_data(&h, r#"{"pan":"4111111111111111","exp":"1329"}"#)),
        ("MM/YY", card_data(&h, r#"{"pan":"4111111111111111","exp":"12/29"}"#)),
    ];
    for (what, data) in cases {
        let body = json!({"cards": [{"cardId": "carol-card", "encryptedData": data}]});
        let answer = put(&h, &cards_path("carol"), Some(&jwt), Some(body), None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_encrypted_data");
        assert!(!answer.text.contains("4111111111"), "{what}: the PAN is never echoed");
    }
    // Extra members in the card data are ignored.
    let data = card_data(&h, r#"{"pan":"4111111111111111","exp":"1229","cardholderName":"Carol"}"#);
    let body = json!({"cards": [{"cardId": "carol-card", "encryptedData": data}]});
    let answer = put(&h, &cards_path("carol"), Some(&jwt), Some(body), None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);

    for (what, body, code) in [
        ("no cards", json!({"cards": []}), "invalid_cards"),
        (
            "twice",
            json!({"cards": [{"cardId": "c", "encryptedData": good}, {"cardId": "c", "encryptedData": good}]}),
            "invalid_cards",
        ),
        ("unknown member", json!({"cards": [{"cardId": "c", "encryptedData": good, "pan": "1"}]}), "invalid_body"),
        ("no cards member", json!({}), "invalid_body"),
    ] {
        let answer = put(&h, &cards_path("carol"), Some(&jwt), Some(body), None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code);
        let _ = what;
    }
    let many: Vec<Value> = (0..101).map(|i| json!({"cardId": format!("c{i}"), "encryptedData": good})).collect();
    let answer = put(&h, &cards_path("carol"), Some(&jwt), Some(json!({ "cards": many })), None).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_cards");
}

#[tokio::test]
async fn every_identifier_rule_fails_each_way_with_400() {
    let h = harness().await;
    let jwt = access_token(&h).await;
    let consumer_path = |issuer: &str, consumer: &str| format!("/issuers/{issuer}/consumers/{consumer}");
    let long_consumer = "c".repeat(65);
    for (path, code) in [
        (consumer_path("DEMOISSUE", "ok"), "invalid_issuer_id"),
        (consumer_path("DEMOISSUERX", "ok"), "invalid_issuer_id"),
        (consumer_path("DEMO.ISSUE", "ok"), "invalid_issuer_id"),
        (consumer_path("DEMO%20ISSU", "ok"), "invalid_issuer_id"),
        (consumer_path(demo::ISSUER, &long_consumer), "invalid_consumer_id"),
        (consumer_path(demo::ISSUER, "dot.ted"), "invalid_consumer_id"),
        (consumer_path(demo::ISSUER, "sp%20ace"), "invalid_consumer_id"),
    ] {
        let answer = put(&h, &path, Some(&jwt), None, Some("ids-1")).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code);
        assert_eq!(answer.headers["x-correlation-id"], "ids-1", "{path}");
    }
    // The longest valid ones pass.
    let answer = put(&h, &consumer_path(demo::ISSUER, &"c".repeat(64)), Some(&jwt), None, None).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);

    let data = card_data(&h, r#"{"pan":"4111111111111111","exp":"1229"}"#);
    for card in ["", &"k".repeat(49), "sl/ash", "dot.ted", "ünï"] {
        let body = json!({"cards": [{"cardId": card, "encryptedData": data}]});
        let answer = put(&h, &cards_path("dave"), Some(&jwt), Some(body), None).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_card_id");
    }
    let body = json!({"cards": [{"cardId": "k".repeat(48), "encryptedData": data}]});
    assert_eq!(put(&h, &cards_path("dave"), Some(&jwt), Some(body), None).await.status, StatusCode::NO_CONTENT);

    for bad in ["x".repeat(65).as_str(), "semi;colon", "slash/", "quote\"", ""] {
        let path = consumer_path(demo::ISSUER, "erin");
        let answer = put(&h, &path, Some(&jwt), None, Some(bad)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_correlation_id");
    }
    let answer = put(&h, &consumer_path(demo::ISSUER, "erin"), Some(&jwt), None, Some("A-z_0.9 ok")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.headers["x-correlation-id"], "A-z_0.9 ok");
}

/// A request to the service's token endpoint with the demo client's credentials and `headers`.
async fn token_request_with(h: &Harness, headers: &[(&str, &str)], body: impl Into<Body>) -> Answer {
    let mut request =
        Request::post("/oauth2/token").header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    h.send(request.body(body.into()).unwrap()).await
}

fn assert_oauth_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    let members: Vec<&String> = answer.body.as_object().unwrap().keys().collect();
    assert_eq!(members, ["error", "error_description"], "{}", answer.text);
    assert_eq!(answer.body["error"], code, "{}", answer.text);
}

#[tokio::test]
async fn every_error_of_the_token_endpoint_is_rfc_6749s() {
    let h = harness().await;
    let form = ("content-type", "application/x-www-form-urlencoded");
    let grant = "grant_type=client_credentials";
    // Refused by the middleware before the handler: still RFC 6749 §5.2's shape.
    for bad in ["", "semi;colon"] {
        let answer = token_request_with(&h, &[form, ("x-correlation-id", bad)], grant).await;
        assert_oauth_error(&answer, StatusCode::BAD_REQUEST, "invalid_request");
        assert!(answer.headers.get("x-correlation-id").is_none());
        assert_eq!(answer.headers[header::PRAGMA], "no-cache");
    }
    // A 16 KiB form is over the limit: 413, in JSON, not axum's plain text.
    let big = format!("{grant}&scope={}", "s".repeat(16 * 1024));
    assert_oauth_error(&token_request_with(&h, &[form], big).await, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
    // A form in another charset is refused; UTF-8 named or not is read.
    let utf16 = ("content-type", "application/x-www-form-urlencoded; charset=utf-16");
    assert_oauth_error(&token_request_with(&h, &[utf16], grant).await, StatusCode::BAD_REQUEST, "invalid_request");
    let utf8 = ("content-type", "application/x-www-form-urlencoded; charset=UTF-8");
    assert_eq!(token_request_with(&h, &[utf8], grant).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_consumer_body_is_an_object_or_nothing() {
    let h = harness().await;
    let jwt = access_token(&h).await;
    let send = |content_type: &str, body: &str| {
        let request = Request::put(format!("/issuers/{}/consumers/frank", demo::ISSUER))
            .header(header::AUTHORIZATION, format!("Bearer {jwt}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap();
        h.send(request)
    };
    for body in ["[]", "[null]", "null", "1", "\"ACTIVE\""] {
        assert_error(&send("application/json", body).await, StatusCode::BAD_REQUEST, "invalid_body");
    }
    assert_error(
        &send("application/json; charset=utf-16", "{}").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    let big = format!("{{\"state\": \"{}\"}}", "s".repeat(16 * 1024));
    assert_error(&send("application/json", &big).await, StatusCode::PAYLOAD_TOO_LARGE, "too_large");
    for body in ["", "  ", "{}", "{\"state\": null}"] {
        assert_eq!(send("application/json", body).await.status, StatusCode::NO_CONTENT, "{body:?}");
    }
}

fn b64json(value: &Value) -> String {
    Base64UrlUnpadded::encode_string(value.to_string().as_bytes())
}

#[tokio::test]
async fn jwt_failures_are_401_and_another_issuer_is_403() {
    let h = harness().await;
    let jwt = access_token(&h).await;
    let path = format!("/issuers/{}/consumers/frank", demo::ISSUER);
    let signing = PrivateJwk::parse(&std::fs::read_to_string(h.data_dir().join("signing-key.jwk")).unwrap()).unwrap();
    let now = h.clock.0.load(std::sync::atomic::Ordering::SeqCst);
    let ours = Grant::Issuers(vec![IssuerId::parse(demo::ISSUER).unwrap()]);
    let forge = |key: &PrivateJwk, iss: &str, aud: &'static str, scope: &'static str| {
        JwtAuthority::new(key, iss.to_owned(), aud, scope, 900)
            .unwrap()
            .issue(demo::CLIENT_ID, &ours, now)
            .unwrap()
            .to_string()
    };

    let parts: Vec<&str> = jwt.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(parts[1]).unwrap()).unwrap();
    claims["issuers"] = json!(["OTHERISSUE"]);
    let tampered = format!("{}.{}.{}", parts[0], b64json(&claims), parts[2]);
    let alg_none = format!("{}.{}.", b64json(&json!({"alg": "none", "typ": "JWT"})), parts[1]);
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &serde_json::from_slice::<Value>(&Base64UrlUnpadded::decode_vec(parts[1]).unwrap()).unwrap(),
        &jsonwebtoken::EncodingKey::from_secret(h.state.keys.public_jwk(h.state.clock.now()).to_string().as_bytes()),
    )
    .unwrap();
    let es256_header_swapped = {
        // Our valid signature under a header that claims another algorithm.
        format!("{}.{}.{}", b64json(&json!({"alg": "ES384", "typ": "JWT"})), parts[1], parts[2])
    };
    let cases = [
        ("no token", None),
        ("garbage", Some("not.a.jwt".to_owned())),
        ("tampered claims", Some(tampered)),
        ("alg none", Some(alg_none)),
        ("HS256 keyed with the public key", Some(hs256)),
        ("header says ES384", Some(es256_header_swapped)),
        (
            "another key",
            Some(forge(&PrivateJwk::generate(&mut OsRng), "http://pin.test", "pinframe-register-api", "register")),
        ),
        ("another iss", Some(forge(&signing, "http://evil.test", "pinframe-register-api", "register"))),
        ("another aud", Some(forge(&signing, "http://pin.test", pinframe_cms::server::AUDIENCE, "register"))),
        ("another scope", Some(forge(&signing, "http://pin.test", "pinframe-register-api", "pin"))),
        ("a PIN-control token", Some(h.token("VIEW_PIN").await)),
    ];
    for (what, token) in cases {
        let answer = put(&h, &path, token.as_deref(), None, None).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
        assert!(answer.headers[header::WWW_AUTHENTICATE].to_str().unwrap().starts_with("Bearer"), "{what}");
    }
    // Basic credentials are not a Bearer token.
    let request = Request::put(&path)
        .header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET))
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(request).await.status, StatusCode::UNAUTHORIZED);

    // The forged-but-correct token works: the cases above fail for their one difference.
    let control = forge(&signing, "http://pin.test", "pinframe-register-api", "register");
    assert_eq!(put(&h, &path, Some(&control), None, None).await.status, StatusCode::NO_CONTENT);

    // Another (existing) issuer in the path: 403.
    let other = IssuerId::parse("OTHERISSUE").unwrap();
    h.state
        .store
        .put_issuer(&other, "other-client", &pinframe_server::credentials::hash_secret("x"), now)
        .await
        .unwrap();
    let answer = put(&h, "/issuers/OTHERISSUE/consumers/frank", Some(&jwt), None, None).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");
    let answer =
        put(&h, "/issuers/OTHERISSUE/consumers/frank/cards", Some(&jwt), Some(json!({"cards": []})), None).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");

    // Expired: valid for 900 s, not one second more.
    h.clock.0.fetch_add(899, std::sync::atomic::Ordering::SeqCst);
    assert_eq!(put(&h, &path, Some(&jwt), None, None).await.status, StatusCode::NO_CONTENT);
    h.clock.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let answer = put(&h, &path, Some(&jwt), None, None).await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
}

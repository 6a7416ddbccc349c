//! The reference CMS's D1 PIN Management API through its real router: OAuth, GET and PUT of PIN
//! blocks as JWEs, the change counter, and every identifier and JWT rule.

mod common;

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use base64ct::{Base64UrlUnpadded, Encoding};
use common::{assert_error, basic, Answer, ManualClock};
use pinframe_cms::server::{app, CmsState};
use pinframe_cms::start::open_state;
use pinframe_cms::CmsArgs;
use pinframe_core::pinblock::{encode_iso0, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, Pan, Pin, PrivateJwk, PublicJwk};
use serde_json::{json, Value};

const ISSUER: &str = "CMSISSUER1";
const PAN: &str = "5555555551234567";

struct Cms {
    state: CmsState,
    clock: Arc<ManualClock>,
    secret: String,
    /// The PIN service's key: GET answers are encrypted to it.
    service: PrivateJwk,
    _dir: tempfile::TempDir,
}

async fn cms(issuers: &[&str], with_recipient: bool) -> Cms {
    let dir = tempfile::tempdir().unwrap();
    let service = PrivateJwk::generate(&mut OsRng);
    let recipient = dir.path().join("service-public.jwk");
    std::fs::write(&recipient, service.public().to_json()).unwrap();
    let args = CmsArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("cms"),
        public_url: None,
        client_id: "pinframe-service".to_owned(),
        issuers: issuers.iter().map(|s| (*s).to_owned()).collect(),
        recipient_jwk: with_recipient.then_some(recipient),
        database: Default::default(),
        ops: Default::default(),
        key_store: Default::default(),
    };
    let (mut state, secret_file) = open_state(&args, "http://cms.test".to_owned()).await.unwrap();
    let secret = std::fs::read_to_string(secret_file.expect("no secret in the environment: a file")).unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000)));
    state.clock = clock.clone();
    Cms { state, clock, secret: secret.trim().to_owned(), service, _dir: dir }
}

impl Cms {
    async fn send(&self, request: Request<Body>) -> Answer {
        common::send(app(self.state.clone()), request).await
    }

    async fn access_token(&self) -> String {
        let request = Request::post("/oauth2/token")
            .header(header::AUTHORIZATION, basic("pinframe-service", &self.secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("grant_type=client_credentials"))
            .unwrap();
        let answer = self.send(request).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["access_token"].as_str().unwrap().to_owned()
    }

    async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            None => Body::empty(),
        };
        self.send(request.body(body).unwrap()).await
    }

    fn cms_key(&self) -> PublicJwk {
        PublicJwk::parse(self.state.jwks().keys[0].get()).unwrap()
    }

    fn iso0_body(&self, pin: &str) -> Value {
        let block = encode_iso0(&Pin::parse(pin).unwrap(), &Pan::parse(PAN).unwrap());
        let json = format!(r#"{{"format":"ISO0","pinBlock":"{}"}}"#, hex_encode(&block));
        json!({"type": "ISO0", "encryptedPinBlock": jwe::encrypt(&self.cms_key(), json.as_bytes(), &mut OsRng)})
    }
}

fn pin_path(issuer: &str, card: &str) -> String {
    format!("/cms/api/v1/issuers/{issuer}/cards/{card}/pin")
}

#[tokio::test]
async fn pins_round_trip_as_jwes_and_the_counter_counts_sets() {
    let c = cms(&[], true).await;
    let token = c.access_token().await;
    let path = pin_path(ISSUER, "card-1");

    let answer = c.call(Method::GET, &path, Some(&token), None).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found");
    let answer = c.call(Method::GET, &format!("{path}/changeCounter"), Some(&token), None).await;
    assert_error(&answer, StatusCode::NOT_FOUND, "not_found");

    for (n, pin) in ["1357", "80246", "975312"].iter().enumerate() {
        let answer = c.call(Method::PUT, &path, Some(&token), Some(c.iso0_body(pin))).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
        let answer = c.call(Method::GET, &format!("{path}/changeCounter"), Some(&token), None).await;
        assert_eq!(answer.body, json!({"changeCounter": n + 1}));

        let answer = c.call(Method::GET, &path, Some(&token), None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["type"], "ISO0");
        let plaintext = jwe::decrypt(&c.service, answer.body["encryptedPinBlock"].as_str().unwrap()).unwrap();
        let block: Value = serde_json::from_slice(&plaintext).unwrap();
        assert_eq!(block["format"], "ISO0");
        let expected = encode_iso0(&Pin::parse(pin).unwrap(), &Pan::parse(PAN).unwrap());
        assert_eq!(block["pinBlock"], hex_encode(&expected));
    }

    // SECCOS_3DES: stored and returned as given, counted like any other set.
    let json = r#"{"format":"SECCOS_3DES","pinBlock":"0123456789ABCDEF"}"#;
    let body =
        json!({"type": "SECCOS_3DES", "encryptedPinBlock": jwe::encrypt(&c.cms_key(), json.as_bytes(), &mut OsRng)});
    assert_eq!(c.call(Method::PUT, &path, Some(&token), Some(body)).await.status, StatusCode::NO_CONTENT);
    let answer = c.call(Method::GET, &path, Some(&token), None).await;
    assert_eq!(answer.body["type"], "SECCOS_3DES");
    let plaintext = jwe::decrypt(&c.service, answer.body["encryptedPinBlock"].as_str().unwrap()).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&plaintext).unwrap(), serde_json::from_str::<Value>(json).unwrap());
    let answer = c.call(Method::GET, &format!("{path}/changeCounter"), Some(&token), None).await;
    assert_eq!(answer.body, json!({"changeCounter": 4}));

    // The JWKS publishes the key PUT blocks go to.
    let answer = c.call(Method::GET, "/.well-known/jwks.json", None, None).await;
    assert_eq!(answer.body["keys"][0]["use"], "enc");
    assert_eq!(answer.body["keys"][0]["kid"], c.cms_key().thumbprint());
}

#[tokio::test]
async fn bad_pin_bodies_are_400_and_change_nothing() {
    let c = cms(&[], true).await;
    let token = c.access_token().await;
    let path = pin_path(ISSUER, "card-2");
    assert_eq!(
        c.call(Method::PUT, &path, Some(&token), Some(c.iso0_body("2468"))).await.status,
        StatusCode::NO_CONTENT
    );
    let other = PrivateJwk::generate(&mut OsRng);
    let to_cms = |text: &str| jwe::encrypt(&c.cms_key(), text.as_bytes(), &mut OsRng);
    let long = "A".repeat(8193);
    let cases = [
        (json!({"type": "ISO1", "encryptedPinBlock": to_cms("{}")}), "invalid_type"),
        (json!({"type": "ISO0", "encryptedPinBlock": long}), "invalid_pin_block"),
        (json!({"type": "ISO0", "encryptedPinBlock": "not a JWE"}), "invalid_pin_block"),
        (
            json!({"type": "ISO0", "encryptedPinBlock": jwe::encrypt(other.public(), b"{}", &mut OsRng)}),
            "invalid_pin_block",
        ),
        (json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0"}"#)}), "invalid_pin_block"),
        (
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"SECCOS_3DES","pinBlock":"041261AAAAEDCBA9"}"#)}),
            "invalid_pin_block",
        ),
        (
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0","pinBlock":"041261AAAAEDCB"}"#)}),
            "invalid_pin_block",
        ),
        // Control nibble 1 (format 1), and a PIN length of 3: not format-0 blocks.
        (
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0","pinBlock":"141261AAAAEDCBA9"}"#)}),
            "invalid_pin_block",
        ),
        (
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0","pinBlock":"03126AAAAAEDCBA9"}"#)}),
            "invalid_pin_block",
        ),
        (json!({"type": "ISO0"}), "invalid_body"),
        (json!({"type": "ISO0", "encryptedPinBlock": to_cms("{}"), "pin": "2468"}), "invalid_body"),
    ];
    for (body, code) in cases {
        let answer = c.call(Method::PUT, &path, Some(&token), Some(body)).await;
        assert_error(&answer, StatusCode::BAD_REQUEST, code);
    }
    let answer = c.call(Method::GET, &format!("{path}/changeCounter"), Some(&token), None).await;
    assert_eq!(answer.body, json!({"changeCounter": 1}), "no refused PUT moved the counter");
}

#[tokio::test]
async fn identifiers_and_correlation_ids_follow_the_protocol() {
    let c = cms(&[], true).await;
    let token = c.access_token().await;
    let long_card = "k".repeat(49);
    for (issuer, card, code) in [
        ("CMSISSUER", "card", "invalid_issuer_id"),
        ("CMSISSUER12", "card", "invalid_issuer_id"),
        ("CMS!ISSUER", "card", "invalid_issuer_id"),
        (ISSUER, long_card.as_str(), "invalid_card_id"),
        (ISSUER, "dot.ted", "invalid_card_id"),
        (ISSUER, "sp%20ace", "invalid_card_id"),
    ] {
        for (method, suffix) in [(Method::GET, ""), (Method::PUT, ""), (Method::GET, "/changeCounter")] {
            let path = format!("{}{suffix}", pin_path(issuer, card));
            let body = (method == Method::PUT).then(|| c.iso0_body("2468"));
            let answer = c.call(method.clone(), &path, Some(&token), body).await;
            assert_error(&answer, StatusCode::BAD_REQUEST, code);
        }
    }
    let path = pin_path(ISSUER, &"k".repeat(48));
    assert_eq!(
        c.call(Method::PUT, &path, Some(&token), Some(c.iso0_body("2468"))).await.status,
        StatusCode::NO_CONTENT
    );

    for (id, ok) in [("trace-1", true), ("A b.c_d-e", true), ("", false), ("x#y", false), (&*"z".repeat(65), false)] {
        let request = Request::get(format!("{path}/changeCounter"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header("x-correlation-id", id)
            .body(Body::empty())
            .unwrap();
        let answer = c.send(request).await;
        if ok {
            assert_eq!(answer.status, StatusCode::OK);
            assert_eq!(answer.headers["x-correlation-id"], id);
        } else {
            assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_correlation_id");
        }
    }
}

fn b64json(value: &Value) -> String {
    Base64UrlUnpadded::encode_string(value.to_string().as_bytes())
}

#[tokio::test]
async fn jwt_failures_are_401_and_other_issuers_403() {
    let c = cms(&[ISSUER], true).await;
    let token = c.access_token().await;
    let path = format!("{}/changeCounter", pin_path(ISSUER, "card-3"));
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value = serde_json::from_slice(&Base64UrlUnpadded::decode_vec(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["issuers"], json!([ISSUER]));
    claims["issuers"] = json!(["*"]);
    let tampered = format!("{}.{}.{}", parts[0], b64json(&claims), parts[2]);
    let alg_none = format!("{}.{}.", b64json(&json!({"alg": "none"})), parts[1]);
    let hs256 = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(c.secret.as_bytes()),
    )
    .unwrap();
    for token in [None, Some("x.y.z".to_owned()), Some(tampered), Some(alg_none), Some(hs256)] {
        let answer = c.call(Method::GET, &path, token.as_deref(), None).await;
        assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
    }
    // A wrong client secret gets no token.
    let request = Request::post("/oauth2/token")
        .header(header::AUTHORIZATION, basic("pinframe-service", "wrong"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    assert_eq!(c.send(request).await.body["error"], "invalid_client");

    // The client may act for ISSUER only.
    let answer =
        c.call(Method::GET, &format!("{}/changeCounter", pin_path("OTHERISSUE", "card-3")), Some(&token), None).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");
    let answer = c.call(Method::PUT, &pin_path("OTHERISSUE", "card-3"), Some(&token), Some(c.iso0_body("2468"))).await;
    assert_error(&answer, StatusCode::FORBIDDEN, "forbidden");

    // Expired after 900 s.
    assert_eq!(c.call(Method::GET, &path, Some(&token), None).await.status, StatusCode::NOT_FOUND);
    c.clock.0.fetch_add(900, Ordering::SeqCst);
    let answer = c.call(Method::GET, &path, Some(&token), None).await;
    assert_error(&answer, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn without_a_recipient_key_get_is_503_and_put_still_works() {
    let c = cms(&[], false).await;
    let token = c.access_token().await;
    let path = pin_path(ISSUER, "card-4");
    assert_eq!(
        c.call(Method::PUT, &path, Some(&token), Some(c.iso0_body("2468"))).await.status,
        StatusCode::NO_CONTENT
    );
    let answer = c.call(Method::GET, &path, Some(&token), None).await;
    assert_error(&answer, StatusCode::SERVICE_UNAVAILABLE, "not_configured");
}

#[tokio::test]
async fn the_cms_token_endpoint_answers_every_error_in_rfc_6749s_shape() {
    let c = cms(&[], true).await;
    let request = |correlation: &str, body: String| {
        Request::post("/oauth2/token")
            .header(header::AUTHORIZATION, basic("pinframe-service", &c.secret))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header("x-correlation-id", correlation)
            .body(Body::from(body))
            .unwrap()
    };
    let grant = "grant_type=client_credentials".to_owned();
    let big = format!("{grant}&scope={}", "s".repeat(16 * 1024));
    for (answer, status) in [
        (c.send(request("", grant.clone())).await, StatusCode::BAD_REQUEST),
        (c.send(request("ok", big)).await, StatusCode::PAYLOAD_TOO_LARGE),
    ] {
        assert_eq!(answer.status, status, "{}", answer.text);
        assert_eq!(
            answer.body,
            json!({"error": "invalid_request", "error_description": answer.body["error_description"]})
        );
        assert!(answer.body["error_description"].is_string());
    }
    // An array is not the PUT's object, and a charset other than UTF-8 is refused.
    let token = c.access_token().await;
    let put = |content_type: &str, body: &str| {
        Request::put(pin_path(ISSUER, "card"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_owned()))
            .unwrap()
    };
    assert_error(&c.send(put("application/json", r#"["ISO0","x"]"#)).await, StatusCode::BAD_REQUEST, "invalid_body");
    let utf16 = c.send(put("application/json; charset=utf-16", "{}")).await;
    assert_error(&utf16, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn the_cms_openapi_document_matches_its_router() {
    let c = cms(&[], true).await;
    let answer = c.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(answer.body["openapi"], "3.1.0");
    let mut documented = Vec::new();
    for (path, operations) in answer.body["paths"].as_object().unwrap() {
        for method in operations.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
            let concrete = path.replace("{issuerId}", ISSUER).replace("{cardId}", "card");
            let request = Request::builder()
                .method(method.to_uppercase().as_str())
                .uri(&concrete)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from("{}"))
                .unwrap();
            let reached = c.send(request).await;
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
    let mut routes = vec![
        "GET /healthz",
        "GET /metrics",
        "POST /oauth2/token",
        "GET /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin",
        "PUT /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin",
        "GET /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin/changeCounter",
        "GET /.well-known/jwks.json",
        "GET /readyz",
        "GET /openapi.json",
    ];
    routes.sort();
    assert_eq!(documented, routes);
}

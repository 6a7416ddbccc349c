//! `POST /api/v1/pin/set` through the router: success (the CMS's change counter moves by exactly
//! one, a later view shows the new PIN), each policy refusal, attempts running out, reuse, the
//! wrong kind of token, and JWEs that do not decrypt. The rules that claim or count run on every
//! backend (SQLite, and PostgreSQL when the suite has one). Then a property: the widget's form check
//! and the service accept exactly the same PINs.

mod common;

use axum::http::StatusCode;
use common::*;
use pinframe::demo;
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, CorrelationId, IssuerId, PinPolicy, PrivateJwk, PublicJwk, Violation};
use proptest::prelude::*;
use serde_json::{json, Value};

fn pin_jwe(to: &PublicJwk, pin: &str) -> String {
    jwe::encrypt(to, json!({ "pin": pin }).to_string().as_bytes(), &mut OsRng)
}

impl Harness {
    fn service_key(&self) -> PublicJwk {
        self.state.keys.public_key(self.state.clock.now())
    }

    async fn set(&self, token: &str, encrypted_pin: &str) -> Answer {
        self.post("/api/v1/pin/set", Some(&format!("Bearer {token}")), Some(json!({ "encryptedPin": encrypted_pin })))
            .await
    }

    async fn counter(&self) -> u64 {
        let (issuer, card) = (IssuerId::parse(demo::ISSUER).unwrap(), CardId::parse(demo::CARD).unwrap());
        let correlation = CorrelationId::parse("test").unwrap();
        self.state.cms.change_counter(&issuer, &card, &correlation).await.unwrap()
    }

    async fn viewed_pin(&self) -> String {
        let token = self.token("VIEW_PIN").await;
        let (key, epk) = ephemeral();
        let answer = self.view(&token, epk).await;
        let plaintext = jwe::decrypt(&key, answer.body["encryptedPin"].as_str().unwrap()).unwrap();
        serde_json::from_slice::<Value>(&plaintext).unwrap()["pin"].as_str().unwrap().to_owned()
    }
}

#[tokio::test]
async fn sets_the_pin_once_and_the_counter_moves_by_one() {
    let h = harness().await;
    assert_eq!(h.counter().await, 1);
    let token = h.token("SET_PIN").await;
    let answer = h.set(&token, &pin_jwe(&h.service_key(), "2580")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(h.counter().await, 2);
    assert_eq!(h.viewed_pin().await, "2580");

    // The token is used up: reuse is the usual 401 and changes nothing.
    assert_error(&h.set(&token, &pin_jwe(&h.service_key(), "3691")).await, StatusCode::UNAUTHORIZED, "unauthorized");
    assert_eq!(h.counter().await, 2);
    assert_eq!(h.viewed_pin().await, "2580");
}

#[tokio::test]
async fn each_policy_refusal_has_its_reason_and_keeps_the_token() {
    let h = harness().await;
    let cases = [
        ("12a4", Violation::NotDigits),
        ("975", Violation::TooShort),
        ("9753124", Violation::TooLong),
        ("7777", Violation::AllSame),
        ("6543", Violation::Sequential),
        ("6969", Violation::Common),
    ];
    for (candidate, violation) in cases {
        // A fresh token each time: a token survives only two refusals.
        let token = h.token("SET_PIN").await;
        let answer = h.set(&token, &pin_jwe(&h.service_key(), candidate)).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{candidate}: {}", answer.text);
        assert_eq!(answer.body["error"], "pin_policy");
        assert_eq!(answer.body["reason"], violation.code(), "{candidate}");
        assert!(!answer.text.contains(candidate), "the PIN was echoed");
        // Not consumed: the same token then sets a good PIN.
        assert_eq!(h.set(&token, &pin_jwe(&h.service_key(), "2580")).await.status, StatusCode::NO_CONTENT);
    }
    assert_eq!(h.counter().await, 1 + cases.len() as u64);

    // Years, where the issuer forbids them.
    let issuer = IssuerId::parse(demo::ISSUER).unwrap();
    h.state.store.set_policy(&issuer, &PinPolicy::new(4, 6, true).unwrap()).await.unwrap();
    let token = h.token("SET_PIN").await;
    let session = h.post("/api/v1/pin/session", Some(&format!("Bearer {token}")), None).await;
    assert_eq!(session.body["pinPolicy"], json!({"minLength": 4, "maxLength": 6, "forbidYears": true}));
    let answer = h.set(&token, &pin_jwe(&h.service_key(), "1985")).await;
    assert_eq!(answer.body["reason"], "year");
}

#[tokio::test]
async fn the_third_refusal_burns_the_token() {
    for backend in backends() {
        let h = harness_on(&backend).await;
        let token = h.token("SET_PIN").await;
        for _ in 0..3 {
            let answer = h.set(&token, &pin_jwe(&h.service_key(), "1111")).await;
            assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{backend:?}");
        }
        assert_error(
            &h.set(&token, &pin_jwe(&h.service_key(), "2580")).await,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
        );
        assert_eq!(h.counter().await, 1);
        assert_eq!(h.viewed_pin().await, demo::PIN);
    }
}

/// Sends `pins` to `/set` at once, each encrypted to the service key, all with `token`.
async fn set_concurrently(h: &Harness, token: &str, pins: &[&str]) -> Vec<StatusCode> {
    let tasks: Vec<_> = pins
        .iter()
        .map(|pin| {
            let app = h.app();
            let body = json!({ "encryptedPin": pin_jwe(&h.service_key(), pin) }).to_string();
            let request = axum::http::Request::post("/api/v1/pin/set")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            tokio::spawn(async move { tower::ServiceExt::oneshot(app, request).await.unwrap().status() })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn of_32_concurrent_weak_pins_exactly_three_are_refused_and_the_rest_find_the_token_used() {
    for backend in backends() {
        let h = harness_on(&backend).await;
        for _ in 0..3 {
            let token = h.token("SET_PIN").await;
            let statuses = set_concurrently(&h, &token, &["1111"; 32]).await;
            let refused = statuses.iter().filter(|s| **s == StatusCode::UNPROCESSABLE_ENTITY).count();
            let used = statuses.iter().filter(|s| **s == StatusCode::UNAUTHORIZED).count();
            assert_eq!((refused, used), (3, 29), "{backend:?}: {statuses:?}");
            assert_error(
                &h.set(&token, &pin_jwe(&h.service_key(), "2580")).await,
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            );
        }
        assert_eq!(h.counter().await, 1, "{backend:?}");
    }
}

#[tokio::test]
async fn undecryptable_pins_are_refused_and_counted() {
    let h = harness().await;
    let other_key = PrivateJwk::generate(&mut OsRng);
    let token = h.token("SET_PIN").await;
    let cases = [
        "garbage".to_owned(),
        pin_jwe(other_key.public(), "2580"),
        jwe::encrypt(&h.service_key(), b"2580", &mut OsRng),
        jwe::encrypt(&h.service_key(), br#"{"pin":"2580","also":"x"}"#, &mut OsRng),
    ];
    let mut statuses = Vec::new();
    for case in &cases {
        let answer = h.set(&token, case).await;
        statuses.push(answer.status);
        if answer.status == StatusCode::BAD_REQUEST {
            assert_eq!(answer.body["error"], "invalid_encrypted_pin");
        }
    }
    // Three refusals, then the token is gone.
    assert_eq!(statuses[..3], [StatusCode::BAD_REQUEST; 3]);
    assert_eq!(statuses[3], StatusCode::UNAUTHORIZED);
    assert_eq!(h.counter().await, 1);
}

#[tokio::test]
async fn a_view_token_cannot_set_and_bodies_are_checked() {
    let h = harness().await;
    let view = h.token("VIEW_PIN").await;
    assert_error(&h.set(&view, &pin_jwe(&h.service_key(), "2580")).await, StatusCode::FORBIDDEN, "forbidden");
    let token = h.token("SET_PIN").await;
    let answer = h.post("/api/v1/pin/set", Some(&format!("Bearer {token}")), Some(json!({"pin": "2580"}))).await;
    assert_error(&answer, StatusCode::BAD_REQUEST, "invalid_body");
    assert!(!answer.text.contains("2580"));
    assert_eq!(h.counter().await, 1);
    assert_error(&h.set("A".repeat(43).as_str(), "x").await, StatusCode::UNAUTHORIZED, "unauthorized");
}

#[tokio::test]
async fn concurrent_sets_with_one_token_write_once() {
    for backend in backends() {
        let h = harness_on(&backend).await;
        let token = h.token("SET_PIN").await;
        let statuses = set_concurrently(&h, &token, &["2580", "3691", "4702", "5813", "6924", "7035"]).await;
        assert_eq!(statuses.iter().filter(|s| **s == StatusCode::NO_CONTENT).count(), 1, "{backend:?}: {statuses:?}");
        assert_eq!(h.counter().await, 2, "{backend:?}");
    }
}

fn candidates() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{0,13}",
        // Shapes the rules care about.
        (0u8..10, 3usize..13).prop_map(|(d, n)| char::from(b'0' + d).to_string().repeat(n)),
        (0u8..10, 4usize..13, any::<bool>()).prop_map(|(start, n, up)| {
            (0..n)
                .map(|i| {
                    char::from(b'0' + (if up { start as usize + i } else { start as usize + 10 * n - i } % 10) as u8)
                })
                .collect()
        }),
        proptest::sample::select(pinframe_core::policy::COMMON_PINS.to_vec()).prop_map(str::to_owned),
        "(19|20)[0-9]{2}",
        "[0-9a ]{4,6}",
    ]
}

fn policies() -> impl Strategy<Value = PinPolicy> {
    (4usize..=12, 0usize..=8, any::<bool>())
        .prop_map(|(min, extra, years)| PinPolicy::new(min, (min + extra).min(12), years).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    /// The widget's `pin_valid` for a PIN typed twice is true exactly when the service sets it.
    #[test]
    fn the_widget_and_the_service_agree(cases in proptest::collection::vec((candidates(), policies()), 4)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let h = harness().await;
            let issuer = IssuerId::parse(demo::ISSUER).unwrap();
            for (candidate, policy) in cases {
                h.state.store.set_policy(&issuer, &policy).await.unwrap();
                let widget_valid = pinframe_widget::set_state::form_check(&policy, &candidate, &candidate).is_ok();
                let token = h.token("SET_PIN").await;
                let answer = h.set(&token, &pin_jwe(&h.service_key(), &candidate)).await;
                let accepted = answer.status == StatusCode::NO_CONTENT;
                prop_assert_eq!(widget_valid, accepted, "{:?} under {:?}: {}", candidate, policy, answer.text);
                if !accepted {
                    prop_assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
                }
            }
            Ok(())
        })?;
    }
}

//! The service's HTTP client of a CMS against a scripted CMS on loopback: GETs are retried after a
//! 5xx, PUTs never are; a 401 renews the access token once; a CMS that is down is `Unavailable`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use pinframe::remote_cms::RemoteCms;
use pinframe_cms::{CmsError, EncryptedPinBlock, PinManagement};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{CardId, CorrelationId, IssuerId, PrivateJwk};
use pinframe_protocol::d1::PinBlockType;
use serde_json::json;
use zeroize::Zeroizing;

#[derive(Default)]
struct Script {
    tokens: AtomicUsize,
    gets: AtomicUsize,
    puts: AtomicUsize,
    /// How many requests in a row fail before one succeeds.
    failures: usize,
    failure: u16,
}

async fn scripted(script: Arc<Script>) -> String {
    let token = {
        let s = script.clone();
        move || {
            let n = s.tokens.fetch_add(1, Ordering::SeqCst) + 1;
            async move { Json(json!({"access_token": format!("token-{n}"), "token_type": "Bearer", "expires_in": 900})) }
        }
    };
    let pin = {
        let s = script.clone();
        move |headers: HeaderMap| {
            let n = s.gets.fetch_add(1, Ordering::SeqCst);
            let s = s.clone();
            async move {
                assert_eq!(headers["x-correlation-id"], "remote-test");
                if n < s.failures {
                    return Err(StatusCode::from_u16(s.failure).unwrap());
                }
                // After a 401, only the renewed token is accepted.
                if s.failure == 401 && headers["authorization"] == "Bearer token-1" {
                    return Err(StatusCode::UNAUTHORIZED);
                }
                Ok(Json(json!({"type": "ISO0", "encryptedPinBlock": "a.b.c.d.e"})))
            }
        }
    };
    let put = {
        let s = script.clone();
        move || {
            s.puts.fetch_add(1, Ordering::SeqCst);
            async move { StatusCode::SERVICE_UNAVAILABLE }
        }
    };
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route("/cms/api/v1/issuers/{issuer}/cards/{card}/pin", get(pin).put(put));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

fn ids() -> (IssuerId, CardId, CorrelationId) {
    (
        IssuerId::parse("REMOTEISS1").unwrap(),
        CardId::parse("card").unwrap(),
        CorrelationId::parse("remote-test").unwrap(),
    )
}

fn client(url: &str) -> RemoteCms {
    let key = PrivateJwk::generate(&mut OsRng);
    RemoteCms::new(url, "pinframe-service".into(), Zeroizing::new("secret".into()), Some(key.public().clone())).unwrap()
}

#[tokio::test]
async fn gets_are_retried_after_5xx_and_puts_are_not() {
    let script = Arc::new(Script { failures: 2, failure: 503, ..Script::default() });
    let cms = client(&scripted(script.clone()).await);
    let (issuer, card, correlation) = ids();
    let block = cms.get_pin(&issuer, &card, &correlation).await.unwrap();
    assert_eq!(block.block_type, PinBlockType::Iso0);
    assert_eq!(script.gets.load(Ordering::SeqCst), 3, "two 503s, then the answer");
    assert_eq!(script.tokens.load(Ordering::SeqCst), 1, "one token for all of them");

    let put = EncryptedPinBlock { block_type: PinBlockType::Iso0, jwe: "a.b.c.d.e".into() };
    let error = cms.set_pin(&issuer, &card, &put, &correlation).await.unwrap_err();
    assert!(matches!(error, CmsError::Unavailable(_)), "{error:?}");
    assert_eq!(script.puts.load(Ordering::SeqCst), 1, "a PUT is sent once");
}

#[tokio::test]
async fn three_5xx_in_a_row_make_the_cms_unavailable() {
    let script = Arc::new(Script { failures: 3, failure: 502, ..Script::default() });
    let cms = client(&scripted(script.clone()).await);
    let (issuer, card, correlation) = ids();
    let error = cms.get_pin(&issuer, &card, &correlation).await.unwrap_err();
    assert!(matches!(error, CmsError::Unavailable(_)), "{error:?}");
    assert_eq!(script.gets.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_401_renews_the_token_once() {
    let script = Arc::new(Script { failures: 0, failure: 401, ..Script::default() });
    let cms = client(&scripted(script.clone()).await);
    let (issuer, card, correlation) = ids();
    cms.get_pin(&issuer, &card, &correlation).await.unwrap();
    assert_eq!(script.tokens.load(Ordering::SeqCst), 2);
    assert_eq!(script.gets.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_cms_that_is_down_is_unavailable() {
    // A port that was just free: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let cms = client(&url);
    let (issuer, card, correlation) = ids();
    let error = cms.change_counter(&issuer, &card, &correlation).await.unwrap_err();
    assert!(matches!(error, CmsError::Unavailable(ref why) if why.contains("cannot connect")), "{error:?}");
}

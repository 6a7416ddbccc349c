//! Key rotation without downtime, on every backend the run has (SQLite always; PostgreSQL when
//! `PINFRAME_TEST_DATABASE_URL` names a cluster): what was made with the old keys (an access token,
//! PIN-control tokens whose widgets hold the old public key, JWEs to the old key, a PIN block from a
//! CMS pinned to it, sealed PANs and PIN blocks) keeps working after `keys rotate` and a reload,
//! after a restart, and, sealed values, after `keys retire`; after retire only the new keys are
//! published and accepted; retire waits out what may still use the old keys unless forced; and a
//! standalone CMS rotates and reloads the same way, following a new `--recipient-jwk`.

mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64ct::{Base64UrlUnpadded, Encoding};
use common::{backends, basic, database_args, ephemeral, send, Answer, Backend, ManualClock, ORIGIN};
use pinframe::cli::DatabaseArgs;
use pinframe::rotate::{retire, rotate};
use pinframe::state::Config;
use pinframe::store::SqlStore;
use pinframe::{app, demo, pins, reload, server, AppState};
use pinframe_cms::EncryptedPinBlock;
use pinframe_core::pinblock::{encode_iso0, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, ConsumerId, CorrelationId, IssuerId, Pan, Pin, PrivateJwk, PublicJwk};
use pinframe_protocol::d1::PinBlockType;
use pinframe_protocol::Origin;
use pinframe_server::clock::{Clock, SystemClock};
use serde_json::{json, Value};

/// A card registered before the rotation whose PAN and PIN block nothing touches afterwards, so
/// that only `retire` moves them to the new keys.
const QUIET_CARD: &str = "quiet-card";
const QUIET_PAN: &str = "4000001234567899";

/// One service on a data directory and a database, the demo seeded, on a clock moved by hand. It
/// starts 100 s before the real time: the embedded CMS reads the system clock to know whether a
/// rotation is active, so rotations in these tests happen in the real past, before the CMS's now.
struct Service {
    state: AppState,
    clock: Arc<ManualClock>,
    data: PathBuf,
    database: DatabaseArgs,
    _dir: tempfile::TempDir,
}

async fn open(data: &Path, database: &DatabaseArgs, clock: &Arc<ManualClock>) -> AppState {
    let args = common::serve_args(data, data.join("no-widget"), database.clone());
    let mut state = server::open_state(&args, "http://pin.test".to_owned()).await.unwrap();
    state.clock = clock.clone();
    state
}

async fn service(backend: &Backend) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let database = database_args(backend).await;
    if matches!(backend, Backend::Postgres(_)) {
        pinframe::keys::init_keys(&data, None).unwrap();
    }
    let clock = Arc::new(ManualClock(AtomicI64::new(SystemClock.now() - 100)));
    let state = open(&data, &database, &clock).await;
    demo::seed(&state, &[Origin::parse(ORIGIN).unwrap()]).await.unwrap();
    Service { state, clock, data, database, _dir: dir }
}

fn request(method: &str, path: &str, authorization: &str, body: Option<Value>) -> Request<Body> {
    let builder = Request::builder().method(method).uri(path).header(header::AUTHORIZATION, authorization);
    match body {
        Some(json) => builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(json.to_string())),
        None => builder.body(Body::empty()),
    }
    .unwrap()
}

fn now(s: &Service) -> i64 {
    s.clock.now()
}

async fn call(state: &AppState, method: &str, path: &str, authorization: &str, body: Option<Value>) -> Answer {
    send(app(state.clone()), request(method, path, authorization, body)).await
}

async fn access_token(state: &AppState) -> String {
    let request = Request::post("/oauth2/token")
        .header(header::AUTHORIZATION, basic(demo::CLIENT_ID, demo::CLIENT_SECRET))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("grant_type=client_credentials"))
        .unwrap();
    let answer = send(app(state.clone()), request).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["access_token"].as_str().unwrap().to_owned()
}

fn kid_of_jwt(token: &str) -> String {
    let header = Base64UrlUnpadded::decode_vec(token.split('.').next().unwrap()).unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"].as_str().unwrap().to_owned()
}

/// 204 when the access token is accepted (registering a consumer), 401 when it is not.
async fn register_consumer(state: &AppState, token: &str) -> StatusCode {
    call(state, "PUT", "/issuers/DEMOISSUER/consumers/alice", &format!("Bearer {token}"), None).await.status
}

async fn pin_token(state: &AppState, card: &str, action: &str) -> String {
    let body = json!({"cardId": card, "action": action});
    let answer =
        call(state, "POST", "/api/v1/pin-control/tokens", &basic(demo::CLIENT_ID, demo::CLIENT_SECRET), Some(body))
            .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body["token"].as_str().unwrap().to_owned()
}

/// The session's encryption key, as a widget gets it.
async fn session_key(state: &AppState, token: &str) -> PublicJwk {
    let answer = call(state, "POST", "/api/v1/pin/session", &format!("Bearer {token}"), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    PublicJwk::parse(&answer.body["encryptionJwk"].to_string()).unwrap()
}

/// Views the card's PIN with a new token, as the widget does.
async fn view(state: &AppState, token: &str) -> Answer {
    let (key, epk) = ephemeral();
    let answer = call(state, "POST", "/api/v1/pin/view", &format!("Bearer {token}"), Some(json!({ "epk": epk }))).await;
    if answer.status == StatusCode::OK {
        let plaintext = jwe::decrypt(&key, answer.body["encryptedPin"].as_str().unwrap()).unwrap();
        return Answer { body: serde_json::from_slice(&plaintext).unwrap(), ..answer };
    }
    answer
}

async fn viewed_pin(state: &AppState, card: &str) -> String {
    let token = pin_token(state, card, "VIEW_PIN").await;
    let answer = view(state, &token).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["pin"].as_str().unwrap().to_owned()
}

fn jwks_kids(state: &AppState, now: i64) -> Vec<String> {
    state.keys.jwks(now).keys.iter().map(|k| PublicJwk::parse(k.get()).unwrap().kid().to_owned()).collect()
}

async fn jwks_answer(state: &AppState) -> Vec<String> {
    let answer = send(app(state.clone()), Request::get("/.well-known/jwks.json").body(Body::empty()).unwrap()).await;
    assert_eq!(answer.status, StatusCode::OK);
    answer.body["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

/// Registers `card` through the Register API with its card data encrypted to `key`.
async fn register_card(state: &AppState, access: &str, key: &PublicJwk, card: &str, pan: &str) -> Answer {
    let data = jwe::encrypt(key, json!({"pan": pan, "exp": "1229"}).to_string().as_bytes(), &mut OsRng);
    let body = json!({"cards": [{"cardId": card, "encryptedData": data}]});
    let path = format!("/issuers/{}/consumers/{}/cards", demo::ISSUER, demo::CONSUMER);
    call(state, "PUT", &path, &format!("Bearer {access}"), Some(body)).await
}

/// The quiet card: its PAN sealed and its PIN written through the CMS, before any rotation.
async fn register_quiet_card(state: &AppState, now: i64) {
    let (issuer, consumer) = (IssuerId::parse(demo::ISSUER).unwrap(), ConsumerId::parse(demo::CONSUMER).unwrap());
    let card = CardId::parse(QUIET_CARD).unwrap();
    let pan = Pan::parse(QUIET_PAN).unwrap();
    let sealed = pins::seal_pan(&state.keys, &issuer, &card, &pan, now).unwrap();
    state.store.put_card(&issuer, &consumer, &card, &sealed, now).await.unwrap();
    let correlation = CorrelationId::parse("t").unwrap();
    let block = hex_encode(&encode_iso0(&Pin::parse("7351").unwrap(), &pan));
    let plaintext = json!({"format": "ISO0", "pinBlock": block}).to_string();
    let cms_key = state.cms.encryption_key(&correlation).await.unwrap();
    let jwe = jwe::encrypt(&cms_key, plaintext.as_bytes(), &mut OsRng);
    let block = EncryptedPinBlock { block_type: PinBlockType::Iso0, jwe };
    state.cms.set_pin(&issuer, &card, &block, &correlation).await.unwrap();
}

fn file_kid(path: &Path) -> String {
    pinframe_core::PrivateJwk::parse(&std::fs::read_to_string(path).unwrap()).unwrap().kid().to_owned()
}

#[tokio::test]
async fn what_was_made_before_a_rotation_works_after_reload_restart_and_retire() {
    for backend in backends() {
        let s = service(&backend).await;
        let t0 = now(&s);
        let old_kid = file_kid(&s.data.join("service-key.jwk"));

        // Before: an access token, PIN-control tokens whose widgets have the old key, a set-PIN JWE
        // and card data to that key, a PIN block from the CMS to that key, and sealed values.
        let old_access = access_token(&s.state).await;
        let view_token = pin_token(&s.state, demo::CARD, "VIEW_PIN").await;
        let set_token = pin_token(&s.state, demo::CARD, "SET_PIN").await;
        let widget_key = session_key(&s.state, &set_token).await;
        assert_eq!(widget_key.kid(), old_kid);
        let old_set_jwe = jwe::encrypt(&widget_key, br#"{"pin":"8642"}"#, &mut OsRng);
        let correlation = CorrelationId::parse("t").unwrap();
        let (issuer, card) = (IssuerId::parse(demo::ISSUER).unwrap(), CardId::parse(demo::CARD).unwrap());
        let old_block = s.state.cms.get_pin(&issuer, &card, &correlation).await.unwrap();
        register_quiet_card(&s.state, t0).await;
        // Its widget may hold the old key for as long as it lives: longer than the other waits.
        let mut long_lived = s.state.clone();
        long_lived.config = Arc::new(Config { token_ttl: 3600, ..(*s.state.config).clone() });
        pin_token(&long_lived, demo::CARD, "VIEW_PIN").await;

        let r = t0 + 1;
        let rotated = rotate(&s.data, false, 0, r, None).unwrap();
        let new_kid = file_kid(&s.data.join("service-key.jwk"));
        assert_ne!(new_kid, old_kid);
        assert!(rotated.contains(&format!("kid {new_kid} (previous kid {old_kid}")), "{rotated}");
        assert!(rotated.contains("pinframe keys public --jwk"), "{rotated}");
        assert!(rotate(&s.data, false, 0, r, None).unwrap_err().to_string().contains("retire it first"));

        // Before the reload nothing changed; after it both keys are published, the new one first.
        assert_eq!(jwks_answer(&s.state).await, std::slice::from_ref(&old_kid));
        reload::reload_keys(&s.state).unwrap();
        s.clock.0.store(r + 1, Ordering::SeqCst);
        assert_eq!(jwks_answer(&s.state).await, [new_kid.clone(), old_kid.clone()], "{backend:?}");
        let fresh = pin_token(&s.state, demo::CARD, "SET_PIN").await;
        assert_eq!(session_key(&s.state, &fresh).await.kid(), new_kid);
        let new_access = access_token(&s.state).await;
        assert_ne!(kid_of_jwt(&new_access), kid_of_jwt(&old_access));
        assert_eq!(register_consumer(&s.state, &old_access).await, StatusCode::NO_CONTENT);
        assert_eq!(register_consumer(&s.state, &new_access).await, StatusCode::NO_CONTENT);
        let block = serde_json::from_slice::<Value>(&s.state.keys.decrypt(&old_block.jwe).unwrap()).unwrap();
        assert_eq!(block["format"], "ISO0");

        // The old-key view token sees the PIN sealed under the old KEK, through the PAN sealed
        // under the old data key; the set token's old-key JWE sets a PIN.
        let viewed = view(&s.state, &view_token).await;
        assert_eq!((viewed.status, viewed.body["pin"].as_str()), (StatusCode::OK, Some(demo::PIN)), "{}", viewed.text);
        let set = call(
            &s.state,
            "POST",
            "/api/v1/pin/set",
            &format!("Bearer {set_token}"),
            Some(json!({"encryptedPin": old_set_jwe})),
        )
        .await;
        assert_eq!(set.status, StatusCode::NO_CONTENT, "{backend:?}: {}", set.text);
        assert_eq!(viewed_pin(&s.state, demo::CARD).await, "8642");
        let old_key =
            PublicJwk::parse(&std::fs::read_to_string(s.data.join("service-key.previous.jwk")).unwrap()).unwrap();
        let registered = register_card(&s.state, &old_access, &old_key, "new-card", "4111111111111111").await;
        assert_eq!(registered.status, StatusCode::NO_CONTENT, "{}", registered.text);

        // A restart reads the same files: the same keys, in the same order.
        let restarted = open(&s.data, &s.database, &s.clock).await;
        assert_eq!(jwks_kids(&restarted, r + 1), [new_kid.clone(), old_kid.clone()]);
        assert_eq!(register_consumer(&restarted, &old_access).await, StatusCode::NO_CONTENT);
        assert!(restarted.keys.decrypt(&old_block.jwe).is_ok());
        assert_eq!(viewed_pin(&restarted, QUIET_CARD).await, "7351");

        // Retire waits out the access tokens and JWKS caches, then the long-lived token.
        let refused = retire(&s.data, false, &s.database, false, r + 1, None).await.unwrap_err().to_string();
        assert!(refused.contains("may still be in use until") && refused.contains("--force"), "{refused}");
        let refused = retire(&s.data, false, &s.database, false, r + 901, None).await.unwrap_err().to_string();
        assert!(refused.contains("PIN-control token"), "{refused}");
        assert!(s.data.join("service-key.previous.jwk").exists(), "a refusal changes nothing");
        let retired = retire(&s.data, false, &s.database, false, t0 + 3600, None).await.unwrap();
        assert!(retired.warning.is_none());
        // The demo card's PAN and the quiet card's PAN and PIN block were under the old keys.
        assert!(
            retired.out.contains("sealed 2 PANs") && retired.out.contains("sealed 1 PIN blocks"),
            "{}",
            retired.out
        );
        assert!(!s.data.join("service-key.previous.jwk").exists() && !s.data.join("cms/kek.previous.hex").exists());

        // After a reload only the new keys: what was sealed under the old ones opens, what was
        // encrypted to the old key does not decrypt.
        reload::reload_keys(&s.state).unwrap();
        s.clock.0.store(t0 + 3600, Ordering::SeqCst);
        assert_eq!(jwks_answer(&s.state).await, std::slice::from_ref(&new_kid));
        assert_eq!(viewed_pin(&s.state, QUIET_CARD).await, "7351");
        assert_eq!(viewed_pin(&s.state, demo::CARD).await, "8642");
        assert!(s.state.keys.decrypt(&old_block.jwe).is_err());
        let late =
            register_card(&s.state, &access_token(&s.state).await, &old_key, "late-card", "4111111111111111").await;
        assert_eq!(
            (late.status, late.body["error"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_encrypted_data"))
        );
        assert!(retire(&s.data, false, &s.database, false, t0 + 3600, None)
            .await
            .unwrap()
            .out
            .contains("nothing to retire"));
    }
}

#[tokio::test]
async fn a_forced_retire_stops_the_old_keys_at_once_and_keeps_every_sealed_value() {
    for backend in backends() {
        let s = service(&backend).await;
        let t0 = now(&s);
        let old_access = access_token(&s.state).await;
        let old_key = s.state.keys.public_key(t0);
        register_quiet_card(&s.state, t0).await;

        let rotated = rotate(&s.data, false, 0, t0 + 1, None).unwrap();
        assert!(rotated.contains("cms/kek.hex"), "{rotated}");
        reload::reload_keys(&s.state).unwrap();
        s.clock.0.store(t0 + 2, Ordering::SeqCst);
        assert_eq!(register_consumer(&s.state, &old_access).await, StatusCode::NO_CONTENT);
        let retired = retire(&s.data, false, &s.database, true, t0 + 2, None).await.unwrap();
        assert!(retired.warning.unwrap().starts_with("warning: --force"));
        reload::reload_keys(&s.state).unwrap();

        assert_eq!(jwks_answer(&s.state).await.len(), 1);
        assert_ne!(jwks_answer(&s.state).await[0], old_key.kid());
        assert_eq!(register_consumer(&s.state, &old_access).await, StatusCode::UNAUTHORIZED, "{backend:?}");
        let new_access = access_token(&s.state).await;
        assert_eq!(register_consumer(&s.state, &new_access).await, StatusCode::NO_CONTENT);
        let refused = register_card(&s.state, &new_access, &old_key, "late-card", "4111111111111111").await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        let set_token = pin_token(&s.state, demo::CARD, "SET_PIN").await;
        let old_jwe = jwe::encrypt(&old_key, br#"{"pin":"8642"}"#, &mut OsRng);
        let set = call(
            &s.state,
            "POST",
            "/api/v1/pin/set",
            &format!("Bearer {set_token}"),
            Some(json!({"encryptedPin": old_jwe})),
        )
        .await;
        assert_eq!((set.status, set.body["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_encrypted_pin")));
        assert_eq!(viewed_pin(&s.state, QUIET_CARD).await, "7351");
        assert_eq!(viewed_pin(&s.state, demo::CARD).await, demo::PIN);
    }
}

#[tokio::test]
async fn resealing_moves_only_values_of_the_previous_key_and_never_undoes_a_newer_write() {
    for backend in backends() {
        let s = service(&backend).await;
        let t0 = now(&s);
        register_quiet_card(&s.state, t0).await;
        rotate(&s.data, false, 0, t0 + 1, None).unwrap();
        reload::reload_keys(&s.state).unwrap();
        s.clock.0.store(t0 + 2, Ordering::SeqCst);
        let store = SqlStore::open(&s.database.config().unwrap(), &s.data).await.unwrap();
        let (issuer, card) = (IssuerId::parse(demo::ISSUER).unwrap(), CardId::parse(QUIET_CARD).unwrap());

        // A crash after one row: that row is under the new key, the others under the old; every
        // one opens while both keys exist.
        let rows = store.sealed_pans(None, 1).await.unwrap();
        let moved = s.state.keys.reseal(&aad(&rows[0]), &rows[0].pan_sealed).unwrap().unwrap();
        assert!(store.reseal_pan(&rows[0].issuer, &rows[0].card, &rows[0].pan_sealed, &moved).await.unwrap());
        for row in store.sealed_pans(None, 100).await.unwrap() {
            assert!(pins::open_pan(&s.state.keys, &row.issuer, &row.card, &row.pan_sealed).is_ok());
        }
        // A card registered again between the read and the write keeps its new PAN.
        let stale = store.sealed_pans(Some((&rows[0].issuer, &rows[0].card)), 100).await.unwrap();
        let quiet = stale.iter().find(|r| r.card == card).unwrap();
        let newer =
            pins::seal_pan(&s.state.keys, &issuer, &card, &Pan::parse("4000009999999999").unwrap(), t0 + 2).unwrap();
        let consumer = ConsumerId::parse(demo::CONSUMER).unwrap();
        s.state.store.put_card(&issuer, &consumer, &card, &newer, t0).await.unwrap();
        let resealed = s.state.keys.reseal(&aad(quiet), &quiet.pan_sealed).unwrap().unwrap();
        assert!(!store.reseal_pan(&issuer, &card, &quiet.pan_sealed, &resealed).await.unwrap());
        let now_stored = s.state.store.card(&issuer, &card).await.unwrap().unwrap().pan_sealed;
        assert_eq!(pins::open_pan(&s.state.keys, &issuer, &card, &now_stored).unwrap().expose(), "4000009999999999");

        // A full pass moves what is left; the next finds everything current.
        let first = pins::reseal_pans(&store, &s.state.keys).await.unwrap();
        assert_eq!((first.moved, first.unreadable), (0, 0), "{backend:?}: {first:?}");
        // The quiet card's PIN block was sealed under the old KEK.
        let embedded = s.state.keys.source().unwrap().embedded_cms.clone().unwrap();
        assert_eq!(embedded.reseal_blocks().await.unwrap().moved, 2, "the demo card's and the quiet card's");
        assert!(embedded.reseal_blocks().await.unwrap().all_current());
    }
}

/// With `--activate-after`, replicas are reloaded one after the other without a failure between: a
/// reloaded replica accepts both keys but makes everything with the old ones until the activation,
/// so a replica that has not reloaded yet reads all of it.
#[tokio::test]
async fn until_the_activation_a_replica_not_yet_reloaded_reads_what_a_reloaded_one_makes() {
    for backend in backends() {
        let s = service(&backend).await;
        let t0 = now(&s);
        let old_kid = file_kid(&s.data.join("service-key.jwk"));
        let lagging = open(&s.data, &s.database, &s.clock).await;
        rotate(&s.data, false, 600, t0 + 1, None).unwrap();
        reload::reload_keys(&s.state).unwrap();
        s.clock.0.store(t0 + 2, Ordering::SeqCst);

        let new_kid = file_kid(&s.data.join("service-key.jwk"));
        assert_eq!(jwks_answer(&s.state).await, [old_kid.clone(), new_kid.clone()], "published, not yet used");
        let token = pin_token(&s.state, demo::CARD, "SET_PIN").await;
        assert_eq!(session_key(&s.state, &token).await.kid(), old_kid);
        let access = access_token(&s.state).await;
        assert_eq!(register_consumer(&lagging, &access).await, StatusCode::NO_CONTENT, "{backend:?}");
        let registered =
            register_card(&s.state, &access, &s.state.keys.public_key(t0 + 2), "made-meanwhile", "4111111111111111")
                .await;
        assert_eq!(registered.status, StatusCode::NO_CONTENT, "{}", registered.text);
        let token = pin_token(&s.state, "made-meanwhile", "VIEW_PIN").await;
        let viewed = view(&lagging, &token).await;
        // The PAN opened on the lagging replica; the card has no PIN in the CMS.
        assert_eq!(viewed.status, StatusCode::NOT_FOUND, "{}", viewed.text);

        // From the activation on, the reloaded replica uses the new keys.
        s.clock.0.store(t0 + 601, Ordering::SeqCst);
        assert_eq!(jwks_answer(&s.state).await, [new_kid, old_kid]);
        let access = access_token(&s.state).await;
        assert_eq!(register_consumer(&lagging, &access).await, StatusCode::UNAUTHORIZED, "the lagging one cannot yet");
        reload::reload_keys(&lagging).unwrap();
        assert_eq!(register_consumer(&lagging, &access).await, StatusCode::NO_CONTENT);
    }
}

fn aad(row: &pinframe::store::SealedPan) -> Vec<u8> {
    format!("pinframe-card-pan-v1|{}|{}", row.issuer.as_str(), row.card.as_str()).into_bytes()
}

/// `pinframe cms` alone: its keys rotate and reload like the service's, and on reload it reads
/// `--recipient-jwk` again, which is how a CMS pinned to the service's key moves to the new one.
#[tokio::test]
async fn a_standalone_cms_rotates_reloads_and_follows_a_new_recipient_key() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let (cms_dir, recipient) = (dir.path().join("cms"), dir.path().join("service-public.jwk"));
        let database = database_args(&backend).await;
        if matches!(backend, Backend::Postgres(_)) {
            pinframe_cms::start::init_keys(&cms_dir, None).unwrap();
        }
        let (service_old, service_new) = (PrivateJwk::generate(&mut OsRng), PrivateJwk::generate(&mut OsRng));
        std::fs::write(&recipient, service_old.public().to_json()).unwrap();
        let args = pinframe::cli::CmsArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: cms_dir.clone(),
            public_url: None,
            client_id: "pinframe-service".to_owned(),
            issuers: vec![],
            recipient_jwk: Some(recipient.clone()),
            key_store: Default::default(),
            database: database.clone(),
            ops: Default::default(),
        };
        let (mut state, _) = pinframe_cms::start::open_state(&args, "http://cms.test".to_owned()).await.unwrap();
        let t0 = SystemClock.now() - 100;
        let clock = Arc::new(ManualClock(AtomicI64::new(t0)));
        state.clock = clock.clone();
        let secret = std::fs::read_to_string(cms_dir.join("client-secret")).unwrap();
        let cms = |method: &str, path: &str, auth: &str, body: Option<Value>| {
            send(pinframe_cms::server::app(state.clone()), request(method, path, auth, body))
        };
        let token_request = || {
            Request::post("/oauth2/token")
                .header(header::AUTHORIZATION, basic("pinframe-service", secret.trim()))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from("grant_type=client_credentials"))
                .unwrap()
        };
        let old_token = send(pinframe_cms::server::app(state.clone()), token_request()).await.body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let old_bearer = format!("Bearer {old_token}");
        let old_cms_key = PublicJwk::parse(state.jwks().keys[0].get()).unwrap();
        let block = |key: &PublicJwk, pin: &str| {
            let plaintext = json!({"format": "ISO0", "pinBlock": hex_encode(&encode_iso0(&Pin::parse(pin).unwrap(), &Pan::parse(QUIET_PAN).unwrap()))});
            json!({"type": "ISO0", "encryptedPinBlock": jwe::encrypt(key, plaintext.to_string().as_bytes(), &mut OsRng)})
        };
        let path = |card: &str| format!("/cms/api/v1/issuers/{}/cards/{card}/pin", demo::ISSUER);
        for card in ["card-1", "card-2"] {
            let put = cms("PUT", &path(card), &old_bearer, Some(block(&old_cms_key, "7351"))).await;
            assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text);
        }

        rotate(&cms_dir, true, 0, t0 + 1, None).unwrap();
        std::fs::write(&recipient, service_new.public().to_json()).unwrap();
        pinframe_cms::start::reload_keys(&state, &cms_dir, Some(&recipient), None).unwrap();
        clock.0.store(t0 + 2, Ordering::SeqCst);
        let kids: Vec<String> =
            state.jwks().keys.iter().map(|k| PublicJwk::parse(k.get()).unwrap().kid().to_owned()).collect();
        assert_eq!(kids.len(), 2);
        assert_eq!(kids[1], old_cms_key.kid(), "the new key first");
        // The old token still works; blocks now go to the service's new key; a block encrypted to
        // the CMS's old key is still accepted.
        let read = cms("GET", &path("card-1"), &old_bearer, None).await;
        assert_eq!(read.status, StatusCode::OK, "{backend:?}: {}", read.text);
        let encrypted = read.body["encryptedPinBlock"].as_str().unwrap();
        assert!(jwe::decrypt(&service_new, encrypted).is_ok() && jwe::decrypt(&service_old, encrypted).is_err());
        let put = cms("PUT", &path("card-2"), &old_bearer, Some(block(&old_cms_key, "2580"))).await;
        assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text);

        let retired = retire(&cms_dir, true, &database, true, t0 + 2, None).await.unwrap();
        assert!(retired.out.contains("sealed 1 PIN blocks"), "{}", retired.out);
        pinframe_cms::start::reload_keys(&state, &cms_dir, Some(&recipient), None).unwrap();
        assert_eq!(state.jwks().keys.len(), 1);
        assert_eq!(cms("GET", &path("card-1"), &old_bearer, None).await.status, StatusCode::UNAUTHORIZED);
        let new_token = send(pinframe_cms::server::app(state.clone()), token_request()).await.body["access_token"]
            .as_str()
            .unwrap()
            .to_owned();
        let new_bearer = format!("Bearer {new_token}");
        let refused = cms("PUT", &path("card-2"), &new_bearer, Some(block(&old_cms_key, "2580"))).await;
        assert_eq!(refused.body["error"], "invalid_pin_block");
        let read = cms("GET", &path("card-1"), &new_bearer, None).await;
        assert_eq!(read.status, StatusCode::OK, "the block sealed under the old KEK was sealed again");
        let plaintext = jwe::decrypt(&service_new, read.body["encryptedPinBlock"].as_str().unwrap()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&plaintext).unwrap()["format"], "ISO0");
    }
}

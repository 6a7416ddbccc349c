//! A deployment of several replicas on one database, in process: each test runs on every backend
//! (SQLite always; PostgreSQL when `PINFRAME_TEST_DATABASE_URL` names a cluster). Two service states
//! opened on the same database and the same key files behave as one service; the standalone CMS on
//! that database sees the embedded CMS's PINs; `pinframe keys init` and `pinframe issuer` work on it;
//! and a replica with a database never creates a key.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use axum::http::StatusCode;
use common::{backends, database_args, ephemeral, send, Backend, ORIGIN};
use pinframe::cli::{CmsArgs, DatabaseArgs};
use pinframe::{app, demo, server, AppState};
use pinframe_cms::PinManagement;
use pinframe_core::{jwe, CardId, CorrelationId, IssuerId};
use pinframe_protocol::Origin;
use serde_json::{json, Value};

fn pinframe(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pinframe"));
    command.args(args).env_remove("PINFRAME_DATABASE_URL");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// One replica: the service's state on `data` (key files) and `database`, the demo seeded.
async fn replica(data: &Path, database: &DatabaseArgs) -> AppState {
    let args = common::serve_args(data, data.join("no-widget"), database.clone());
    let state = server::open_state(&args, "http://pin.test".to_owned()).await.unwrap();
    demo::seed(&state, &[Origin::parse(ORIGIN).unwrap()]).await.unwrap();
    state
}

fn post(path: &str, authorization: &str, body: Value) -> axum::http::Request<axum::body::Body> {
    axum::http::Request::post(path)
        .header("authorization", authorization)
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .unwrap()
}

/// The key files of a deployment, made once, and a copy of them per replica (as a mounted secret
/// would give them). On SQLite the replicas share one data directory, where the database files are.
fn key_copies(backend: &Backend, root: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let keys = root.join("keys");
    let made = pinframe(&["keys", "init", "--data-dir", keys.to_str().unwrap()], &[]);
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let lines = String::from_utf8(made.stdout).unwrap();
    assert_eq!(lines.lines().filter(|l| l.starts_with("created ")).count(), 6, "{lines}");
    let again = pinframe(&["keys", "init", "--data-dir", keys.to_str().unwrap()], &[]);
    assert_eq!(String::from_utf8(again.stdout).unwrap().lines().filter(|l| l.starts_with("kept ")).count(), 6);
    if matches!(backend, Backend::Sqlite) {
        return (keys.clone(), keys);
    }
    let copy = |name: &str| {
        let to = root.join(name);
        let status = Command::new("cp").arg("-a").arg(&keys).arg(&to).status().unwrap();
        assert!(status.success());
        to
    };
    (copy("replica1"), copy("replica2"))
}

#[tokio::test]
async fn two_replicas_on_one_database_are_one_service() {
    for backend in backends() {
        let dir = tempfile::tempdir().unwrap();
        let database = database_args(&backend).await;
        let (one, two) = key_copies(&backend, dir.path());
        let (a, b) = (replica(&one, &database).await, replica(&two, &database).await);

        // The same JWKS, whichever replica answers.
        let jwks = |state: &AppState| state.keys.jwks(0).keys[0].get().to_owned();
        assert_eq!(jwks(&a), jwks(&b), "{backend:?}");

        // A token issued by one is viewed through the other, once; a PIN set through one is the
        // PIN viewed through the other.
        let basic = common::basic(demo::CLIENT_ID, demo::CLIENT_SECRET);
        let issue =
            |action: &str| post("/api/v1/pin-control/tokens", &basic, json!({"cardId": demo::CARD, "action": action}));
        let token = send(app(a.clone()), issue("SET_PIN")).await.body["token"].as_str().unwrap().to_owned();
        let pin = jwe::encrypt(&b.keys.public_key(0), br#"{"pin":"8642"}"#, &mut pinframe_core::rand_core::OsRng);
        let bearer = format!("Bearer {token}");
        let set = send(app(b.clone()), post("/api/v1/pin/set", &bearer, json!({"encryptedPin": pin}))).await;
        assert_eq!(set.status, StatusCode::NO_CONTENT, "{backend:?}: {}", set.text);
        let again = send(app(a.clone()), post("/api/v1/pin/set", &bearer, json!({"encryptedPin": "x"}))).await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED);

        let token = send(app(b.clone()), issue("VIEW_PIN")).await.body["token"].as_str().unwrap().to_owned();
        let (key, epk) = ephemeral();
        let bearer = format!("Bearer {token}");
        let view = send(app(a.clone()), post("/api/v1/pin/view", &bearer, json!({ "epk": epk }))).await;
        assert_eq!(view.status, StatusCode::OK, "{backend:?}: {}", view.text);
        let plaintext = jwe::decrypt(&key, view.body["encryptedPin"].as_str().unwrap()).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&plaintext).unwrap()["pin"], "8642");
        let (_, epk) = ephemeral();
        let reuse = send(app(b.clone()), post("/api/v1/pin/view", &bearer, json!({ "epk": epk }))).await;
        assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);

        // The standalone reference CMS on the same database (and the embedded CMS's keys) sees
        // the same PIN and change counter.
        let cms_args = CmsArgs {
            listen: "127.0.0.1:0".parse().unwrap(),
            data_dir: one.join("cms"),
            public_url: None,
            client_id: "pinframe-service".to_owned(),
            issuers: vec![],
            recipient_jwk: None,
            database: database.clone(),
            ops: Default::default(),
            key_store: Default::default(),
        };
        std::fs::write(one.join("cms/client-secret"), "a-client-secret-for-the-test\n").unwrap();
        set_owner_only(&one.join("cms/client-secret"));
        std::fs::copy(one.join("signing-key.jwk"), one.join("cms/signing-key.jwk")).unwrap();
        let (cms, _) = pinframe_cms::start::open_state(&cms_args, "http://cms.test".to_owned()).await.unwrap();
        let (issuer, card) = (IssuerId::parse(demo::ISSUER).unwrap(), CardId::parse(demo::CARD).unwrap());
        let correlation = CorrelationId::parse("t").unwrap();
        let counter = cms.cms.change_counter(&issuer, &card, &correlation).await.unwrap();
        assert_eq!(counter, a.cms.change_counter(&issuer, &card, &correlation).await.unwrap());
        assert!(counter >= 2, "{backend:?}: {counter}");
    }
}

fn set_owner_only(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[tokio::test]
async fn with_a_database_a_missing_key_file_stops_the_replica_and_names_the_command() {
    let Some(Backend::Postgres(admin)) = backends().pop().filter(|b| matches!(b, Backend::Postgres(_))) else {
        eprintln!("no PostgreSQL in this run: skipped");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // A password in the URL (the test cluster trusts its local users and ignores it).
    let url = common::fresh_database(&admin).await.replacen("://pinframe@", "://pinframe:pw-S3cret-77@", 1);
    let out = pinframe(
        &["serve", "--data-dir", data.to_str().unwrap(), "--listen", "127.0.0.1:0"],
        &[("PINFRAME_DATABASE_URL", &url)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("service-key.jwk"), "{stderr}");
    assert!(stderr.contains(&format!("pinframe keys init --data-dir {}", data.display())), "{stderr}");
    assert!(!stderr.contains("pw-S3cret-77") && out.stdout.is_empty(), "{stderr}");
    assert!(!data.join("service-key.jwk").exists() && !data.join("service.db").exists());

    // The standalone CMS likewise, naming its own command.
    let cms_dir = dir.path().join("cms");
    let out = pinframe(
        &["cms", "--data-dir", cms_dir.to_str().unwrap(), "--listen", "127.0.0.1:0"],
        &[("PINFRAME_DATABASE_URL", &url)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("cms-key.jwk") && stderr.contains("pinframe keys init --cms --data-dir"), "{stderr}");

    // `pinframe issuer` on the database, from a URL file; an unreadable one is refused.
    let url_file = dir.path().join("db.url");
    std::fs::write(&url_file, format!("{url}\n")).unwrap();
    set_owner_only(&url_file);
    let file = url_file.to_str().unwrap();
    let added =
        pinframe(&["issuer", "add", "--id", "BANK000001", "--origin", ORIGIN, "--database-url-file", file], &[]);
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let listed = pinframe(&["issuer", "list"], &[("PINFRAME_DATABASE_URL", &url)]);
    assert!(String::from_utf8_lossy(&listed.stdout).contains("BANK000001"));
    std::fs::set_permissions(&url_file, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let refused = pinframe(&["issuer", "list", "--database-url-file", file], &[]);
    assert!(!refused.status.success());
    assert!(!String::from_utf8_lossy(&refused.stderr).contains("pw-S3cret-77"));
}

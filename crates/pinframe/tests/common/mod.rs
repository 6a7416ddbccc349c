//! The harness the router tests share: a temporary data directory with the demo seeded, a real
//! SQLite store, the embedded CMS, real crypto, and a clock moved by hand.
#![allow(dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::Router;
use base64ct::{Base64, Encoding};
use http_body_util::BodyExt;
use pinframe::cli::{DatabaseArgs, ServeArgs};
use pinframe::token::new_token;
use pinframe::{app, demo, server, AppState};
use pinframe_core::rand_core::OsRng;
use pinframe_core::PrivateJwk;
use pinframe_server::clock::Clock;
use serde_json::{json, Value};
use tower::ServiceExt;

pub const ORIGIN: &str = "https://bank.example";

#[derive(Debug)]
pub struct ManualClock(pub AtomicI64);

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

pub struct Harness {
    pub state: AppState,
    pub clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

pub const TRUNK_INDEX: &str = "<!doctype html><html><head><title>Card PIN</title>\
    <script type=\"module\">\nimport init from '/pin/assets/w.js';\nawait init();\n</script></head><body></body></html>";

/// A database the suites run on: every test that is parameterised runs on each of [`backends`].
#[derive(Clone, Debug)]
pub enum Backend {
    Sqlite,
    /// A PostgreSQL cluster's superuser URL; each harness gets a fresh database in it.
    Postgres(String),
}

/// SQLite always; PostgreSQL too when `PINFRAME_TEST_DATABASE_URL` names a cluster (`make test`
/// starts one and sets it).
pub fn backends() -> Vec<Backend> {
    let mut all = vec![Backend::Sqlite];
    match std::env::var("PINFRAME_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => all.push(Backend::Postgres(url)),
        _ => eprintln!("PINFRAME_TEST_DATABASE_URL is not set: PostgreSQL is left out of this run"),
    }
    all
}

/// A fresh, empty PostgreSQL database in the cluster of `admin_url`; returns its URL.
pub async fn fresh_database(admin_url: &str) -> String {
    use sqlx::Connection;
    let name =
        format!("pinframe_test_{}", new_token().hash[..8].iter().map(|b| format!("{b:02x}")).collect::<String>());
    let mut admin = sqlx::PgConnection::connect(admin_url).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    admin.close().await.unwrap();
    let (base, query) = admin_url.split_once('?').map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let (server, _) = base.rsplit_once('/').unwrap();
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}

/// The store configuration of `backend`: SQLite files in the directory the caller opens them in, or
/// a fresh PostgreSQL database.
pub async fn db_config(backend: &Backend) -> pinframe_server::db::DbConfig {
    use pinframe_server::db::DbConfig;
    match backend {
        Backend::Sqlite => DbConfig::Sqlite,
        Backend::Postgres(admin) => DbConfig::Postgres {
            url: zeroize::Zeroizing::new(fresh_database(admin).await),
            wait: DbConfig::DEFAULT_WAIT,
        },
    }
}

/// The database options of `backend`: none for SQLite, a fresh database for PostgreSQL.
pub async fn database_args(backend: &Backend) -> DatabaseArgs {
    match backend {
        Backend::Sqlite => DatabaseArgs::default(),
        Backend::Postgres(admin) => DatabaseArgs::postgres(&fresh_database(admin).await),
    }
}

/// `pinframe serve --demo` on `data` with the embedded CMS, as the tests open it.
pub fn serve_args(data: &std::path::Path, widget_dir: std::path::PathBuf, database: DatabaseArgs) -> ServeArgs {
    ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data.to_owned(),
        demo: true,
        widget_dir,
        docs_dir: None,
        public_url: None,
        token_ttl: 300,
        cms_url: None,
        cms_client_id: "pinframe-service".to_owned(),
        cms_client_secret_file: None,
        cms_jwk: None,
        database,
        ops: Default::default(),
        audit: Default::default(),
        key_store: Default::default(),
    }
}

pub async fn harness() -> Harness {
    harness_on(&Backend::Sqlite).await
}

/// The harness on `backend`. On PostgreSQL the key files are made first (`pinframe keys init`),
/// since a server with a database URL never creates them.
pub async fn harness_on(backend: &Backend) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let database = database_args(backend).await;
    if matches!(backend, Backend::Postgres(_)) {
        pinframe::keys::init_keys(&dir.path().join("data"), None).unwrap();
    }
    let dist = dir.path().join("dist");
    std::fs::create_dir(&dist).unwrap();
    std::fs::write(dist.join("index.html"), TRUNK_INDEX).unwrap();
    std::fs::write(dist.join("w.js"), "export default async function init() {}").unwrap();
    let args = serve_args(&dir.path().join("data"), dist, database);
    let mut state = server::open_state(&args, "http://pin.test".to_owned()).await.unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(1_800_000_000)));
    state.clock = clock.clone();
    demo::seed(&state, &[pinframe_protocol::Origin::parse(ORIGIN).unwrap()]).await.unwrap();
    Harness { state, clock, _dir: dir }
}

/// Operations both OpenAPI files document that answer 404 in these in-process tests: `/metrics` is
/// served only once a server's start installed the process's recorder (`tests/ops` checks it on
/// the real binary). The router tests check that each answers as the fallback here.
pub const AWAITED: &[&str] = &["GET /metrics"];

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

/// Sends one request through `router` and reads the whole answer.
pub async fn send(router: Router, request: Request<Body>) -> Answer {
    let response = router.oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer { status, headers, body, text }
}

pub fn basic(client: &str, secret: &str) -> String {
    format!("Basic {}", Base64::encode_string(format!("{client}:{secret}").as_bytes()))
}

impl Harness {
    pub fn data_dir(&self) -> std::path::PathBuf {
        self._dir.path().join("data")
    }

    pub fn app(&self) -> Router {
        app(self.state.clone())
    }

    pub async fn send(&self, request: Request<Body>) -> Answer {
        send(self.app(), request).await
    }

    pub async fn post(&self, path: &str, authorization: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = Request::builder().method(Method::POST).uri(path);
        if let Some(auth) = authorization {
            request = request.header(header::AUTHORIZATION, auth);
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

    pub async fn get(&self, path: &str) -> Answer {
        self.send(Request::get(path).body(Body::empty()).unwrap()).await
    }

    pub async fn token_answer(&self, body: Value) -> Answer {
        self.post("/api/v1/pin-control/tokens", Some(&basic(demo::CLIENT_ID, demo::CLIENT_SECRET)), Some(body)).await
    }

    pub async fn token(&self, action: &str) -> String {
        let answer = self.token_answer(json!({"cardId": demo::CARD, "action": action})).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["token"].as_str().unwrap().to_owned()
    }

    pub async fn view(&self, token: &str, epk: Value) -> Answer {
        self.post("/api/v1/pin/view", Some(&format!("Bearer {token}")), Some(json!({ "epk": epk }))).await
    }
}

pub fn assert_error(answer: &Answer, status: StatusCode, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(answer.body["error"], code, "{}", answer.text);
    assert!(answer.body["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", answer.text);
    assert_eq!(answer.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(answer.headers[header::CACHE_CONTROL], "no-store");
}

pub fn ephemeral() -> (PrivateJwk, Value) {
    let key = PrivateJwk::generate(&mut OsRng);
    let public = serde_json::from_str(&key.public().to_json()).unwrap();
    (key, public)
}

/// The reference CMS's own router (what `pinframe cms` serves), opened on the embedded CMS's
/// directory of the harness so that it sees the same PINs, on the harness's clock. Its client may
/// act for `issuers` (any, when empty); with `to_service`, the PIN blocks it returns are encrypted
/// to the service's key, as the embedded CMS's are. Returns the router and the client secret.
pub async fn cms_router(h: &Harness, issuers: &[&str], to_service: bool) -> (Router, String) {
    let service_key = std::fs::read_to_string(h.data_dir().join("service-key.jwk")).unwrap();
    let recipient = h._dir.path().join("service-public.jwk");
    std::fs::write(&recipient, PrivateJwk::parse(&service_key).unwrap().public().to_json()).unwrap();
    let args = pinframe::cli::CmsArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: h.data_dir().join("cms"),
        public_url: None,
        client_id: "pinframe-service".to_owned(),
        issuers: issuers.iter().map(|s| (*s).to_owned()).collect(),
        recipient_jwk: to_service.then_some(recipient),
        database: Default::default(),
        ops: Default::default(),
        key_store: Default::default(),
    };
    let (mut state, secret_file) = pinframe_cms::start::open_state(&args, "http://cms.test".to_owned()).await.unwrap();
    state.clock = h.clock.clone();
    let secret = match secret_file {
        Some(path) => std::fs::read_to_string(path).unwrap(),
        None => std::env::var("PINFRAME_CMS_CLIENT_SECRET").unwrap(),
    };
    (pinframe_cms::server::app(state), secret.trim().to_owned())
}

//! Golden transcript of the HTTP surface: every operation of the service (`openapi.json`) and of
//! the reference CMS (`pinframe-cms/openapi.json`), with its success body and its main error bodies, and
//! the JWE plaintexts that cross each boundary. Values that are random per run (JWEs, JWTs, key
//! coordinates, tokens, generated correlation ids) are replaced by placeholders; everything else
//! is compared with `tests/golden/http.json`. `PINFRAME_GOLDEN_UPDATE=1` rewrites that file.
//!
//! Only requests and answers are looked at, never the service's Rust types, so that the test
//! keeps working when the code behind the routes moves.

mod common;

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::Router;
use base64ct::{Base64UrlUnpadded, Encoding};
use common::{basic, cms_router, ephemeral, harness, send, Answer, Harness, ORIGIN};
use pinframe_core::pinblock::{encode_iso0, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, Pan, Pin, PrivateJwk, PublicJwk};
use serde_json::{json, Map, Value};

const ISSUER: &str = "DEMOISSUER";
const CLIENT_ID: &str = "demo-client";
const CLIENT_SECRET: &str = "demo-secret";
const CARD: &str = "demo-card";
const CMS_CLIENT: &str = "pinframe-service";
const FORM: &str = "application/x-www-form-urlencoded";
/// The consumer and card the test registers, and the PAN in the card's `encryptedData`.
const CONSUMER: &str = "golden-consumer";
const NEW_CARD: &str = "golden-card-1";
const NEW_PAN: &str = "4111111111111111";
/// Headers recorded from every answer, when present.
const RECORDED_HEADERS: [&str; 8] = [
    "content-type",
    "cache-control",
    "www-authenticate",
    "pragma",
    "retry-after",
    "x-correlation-id",
    "allow",
    "location",
];
/// Text bodies (CSS, JavaScript, HTML) up to this many characters are recorded whole; of longer
/// ones, the first [`TEXT_PREFIX`].
const TEXT_WHOLE: usize = 1024;
const TEXT_PREFIX: usize = 200;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Server {
    Service,
    Cms,
    /// The CMS started without the PIN service's key (`--recipient-jwk`).
    CmsWithoutRecipient,
}

impl Server {
    fn name(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Cms => "cms",
            Self::CmsWithoutRecipient => "cms (no recipient key)",
        }
    }
}

enum Sent {
    Nothing,
    Json(Value),
    Text(&'static str, String),
    Bytes(&'static str, Vec<u8>),
}

/// One request, and how it is written down.
struct Call {
    method: Method,
    path: String,
    headers: Vec<(&'static str, String)>,
    /// The `Authorization` value sent, and what the transcript says instead.
    auth: Option<(String, String)>,
    body: Sent,
    /// Record only the content type of the answer (a page whose text others edit).
    marker_only: bool,
}

impl Call {
    fn new(method: Method, path: impl Into<String>) -> Self {
        Self { method, path: path.into(), headers: Vec::new(), auth: None, body: Sent::Nothing, marker_only: false }
    }

    fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    fn post(path: impl Into<String>) -> Self {
        Self::new(Method::POST, path)
    }

    fn put(path: impl Into<String>) -> Self {
        Self::new(Method::PUT, path)
    }

    fn delete(path: impl Into<String>) -> Self {
        Self::new(Method::DELETE, path)
    }

    fn basic(mut self, client: &str, secret: &str) -> Self {
        self.auth = Some((basic(client, secret), format!("Basic {client}:{secret}")));
        self
    }

    /// Basic credentials whose secret is random per run: the transcript names it instead.
    fn basic_secret(mut self, client: &str, secret: &str, label: &str) -> Self {
        self.auth = Some((basic(client, secret), format!("Basic {client}:{label}")));
        self
    }

    fn bearer(mut self, token: &str, label: &str) -> Self {
        self.auth = Some((format!("Bearer {token}"), format!("Bearer {label}")));
        self
    }

    /// An `Authorization` value written down as it is.
    fn authorization(mut self, value: &str) -> Self {
        self.auth = Some((value.to_owned(), value.to_owned()));
        self
    }

    fn header(mut self, name: &'static str, value: &str) -> Self {
        self.headers.push((name, value.to_owned()));
        self
    }

    fn json(mut self, body: Value) -> Self {
        self.body = Sent::Json(body);
        self
    }

    fn form(self, body: &str) -> Self {
        self.text(FORM, body)
    }

    fn text(mut self, content_type: &'static str, body: &str) -> Self {
        self.body = Sent::Text(content_type, body.to_owned());
        self
    }

    fn bytes(mut self, content_type: &'static str, body: Vec<u8>) -> Self {
        self.body = Sent::Bytes(content_type, body);
        self
    }

    fn marker_only(mut self) -> Self {
        self.marker_only = true;
        self
    }

    fn request(&self) -> Request<Body> {
        let mut request = Request::builder().method(self.method.clone()).uri(&self.path);
        for (name, value) in &self.headers {
            request = request.header(*name, value);
        }
        if let Some((value, _)) = &self.auth {
            request = request.header(header::AUTHORIZATION, value);
        }
        let body = match &self.body {
            Sent::Nothing => Body::empty(),
            Sent::Json(json) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(json.to_string())
            }
            Sent::Text(content_type, text) => {
                request = request.header(header::CONTENT_TYPE, *content_type);
                Body::from(text.clone())
            }
            Sent::Bytes(content_type, bytes) => {
                request = request.header(header::CONTENT_TYPE, *content_type);
                Body::from(bytes.clone())
            }
        };
        request.body(body).unwrap()
    }

    fn recorded_headers(&self) -> Value {
        let mut headers = Map::new();
        if let Some((_, label)) = &self.auth {
            headers.insert("authorization".into(), json!(label));
        }
        let content_type = match &self.body {
            Sent::Nothing => None,
            Sent::Json(_) => Some("application/json"),
            Sent::Text(content_type, _) | Sent::Bytes(content_type, _) => Some(*content_type),
        };
        if let Some(content_type) = content_type {
            headers.insert("content-type".into(), json!(content_type));
        }
        for (name, value) in &self.headers {
            headers.insert((*name).into(), json!(value));
        }
        Value::Object(headers)
    }

    fn recorded_body(&self) -> Value {
        match &self.body {
            Sent::Nothing => Value::Null,
            Sent::Json(json) => normalise(json),
            Sent::Text(content_type, text) => json!({ *content_type: prefix(text) }),
            Sent::Bytes(content_type, bytes) => json!({ *content_type: { "bytes": bytes.len() } }),
        }
    }
}

fn prefix(text: &str) -> String {
    if text.chars().count() <= TEXT_WHOLE {
        return text.to_owned();
    }
    text.chars().take(TEXT_PREFIX).collect()
}

fn is_b64url(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A string with what is random per run replaced: compact JWEs and JWTs, 43-character base64url
/// values (PIN-control tokens, key coordinates, thumbprints), the token in a widget URL.
fn normalise_str(text: &str) -> String {
    if let Some((before, _)) = text.split_once("#token=") {
        return format!("{before}#token=<token>");
    }
    let parts: Vec<&str> = text.split('.').collect();
    if text.starts_with("eyJ") && parts.iter().all(|p| is_b64url(p)) {
        match parts.len() {
            5 => return "<jwe>".to_owned(),
            3 => return "<jwt>".to_owned(),
            _ => {}
        }
    }
    if text.len() == 43 && is_b64url(text) {
        return "<b64url:43>".to_owned();
    }
    text.to_owned()
}

/// A JSON value with what is random per run replaced; the members that hold random base64url
/// (key coordinates, key ids, JWT ids, tokens) by their length.
fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, member)| {
                    let member = match (key.as_str(), member) {
                        ("x" | "y" | "d" | "kid" | "jti" | "token", Value::String(s)) if is_b64url(s) => {
                            json!(format!("<b64url:{}>", s.len()))
                        }
                        _ => normalise(member),
                    };
                    (key.clone(), member)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        Value::String(text) => Value::String(normalise_str(text)),
        other => other.clone(),
    }
}

/// The JSON of a base64url part of a compact JWS or JWE.
fn part_json(compact: &str, index: usize) -> Value {
    let part = compact.split('.').nth(index).unwrap();
    serde_json::from_slice(&Base64UrlUnpadded::decode_vec(part).unwrap()).unwrap()
}

/// What a JWT says: its header and claims.
fn jwt_contents(jwt: &str) -> Value {
    normalise(&json!({ "header": part_json(jwt, 0), "claims": part_json(jwt, 1) }))
}

/// What a JWE carries: its protected header and its plaintext (JSON, or text when it is not).
fn jwe_contents(compact: &str, plaintext: &[u8]) -> Value {
    let plaintext =
        serde_json::from_slice(plaintext).unwrap_or_else(|_| json!({ "text": String::from_utf8_lossy(plaintext) }));
    json!({ "protectedHeader": normalise(&part_json(compact, 0)), "plaintext": plaintext })
}

fn header_text<'a>(answer: &'a Answer, name: &str) -> Option<&'a str> {
    answer.headers.get(name).and_then(|v| v.to_str().ok())
}

/// The answer's body as the transcript holds it: JSON normalised, text cut short, bytes counted.
fn recorded_response(answer: &Answer, marker_only: bool) -> Value {
    if answer.text.is_empty() {
        return Value::Null;
    }
    let content_type = header_text(answer, "content-type").unwrap_or("(none)");
    if marker_only {
        json!({ content_type: "…" })
    } else if content_type.starts_with("application/json") {
        assert!(!answer.body.is_null(), "not JSON: {}", answer.text);
        normalise(&answer.body)
    } else if content_type.starts_with("text/") {
        json!({ content_type: prefix(&answer.text) })
    } else {
        json!({ content_type: { "bytes": answer.text.len() } })
    }
}

struct Transcript {
    service: Router,
    cms: Router,
    cms_without_recipient: Router,
    entries: Vec<Value>,
}

impl Transcript {
    async fn call(&mut self, server: Server, name: &str, call: Call) -> Answer {
        let router = match server {
            Server::Service => &self.service,
            Server::Cms => &self.cms,
            Server::CmsWithoutRecipient => &self.cms_without_recipient,
        };
        let answer = send(router.clone(), call.request()).await;
        let given_correlation = call.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("x-correlation-id"));
        let mut headers = Map::new();
        for name in RECORDED_HEADERS {
            if let Some(value) = header_text(&answer, name) {
                let value = if name == "x-correlation-id" && !given_correlation {
                    format!("<generated:{}>", value.len())
                } else {
                    value.to_owned()
                };
                headers.insert(name.into(), json!(value));
            }
        }
        // The widget's pages carry the CSP that matters (frame-ancestors: the issuer's origins).
        if header_text(&answer, "content-type").is_some_and(|ct| ct.starts_with("text/html")) {
            if let Some(csp) = header_text(&answer, "content-security-policy") {
                headers.insert("content-security-policy".into(), json!(csp));
            }
        }
        assert!(self.entries.iter().all(|e| e["name"] != name), "two entries named {name}");
        self.entries.push(json!({
            "name": name,
            "server": server.name(),
            "method": call.method.as_str(),
            "path": call.path,
            "requestHeaders": call.recorded_headers(),
            "requestBody": call.recorded_body(),
            "status": answer.status.as_u16(),
            "headers": headers,
            "responseBody": recorded_response(&answer, call.marker_only),
        }));
        answer
    }

    async fn service(&mut self, name: &str, call: Call) -> Answer {
        self.call(Server::Service, name, call).await
    }

    async fn cms(&mut self, name: &str, call: Call) -> Answer {
        self.call(Server::Cms, name, call).await
    }

    /// Adds what a JWE or JWT of the last entry holds, under `decoded.<what>`.
    fn decoded(&mut self, what: &str, contents: Value) {
        let last = self.entries.last_mut().unwrap();
        if last.get("decoded").is_none() {
            last["decoded"] = json!({});
        }
        last["decoded"][what] = contents;
    }

    /// Replaces the last entry's response body (for a document recorded as a summary).
    fn summarise_response(&mut self, summary: Value) {
        self.entries.last_mut().unwrap()["responseBody"] = summary;
    }
}

/// An OpenAPI document in short: its version and, per operation, the statuses it documents.
fn openapi_summary(document: &Value) -> Value {
    let mut operations = Map::new();
    for (path, methods) in document["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let statuses: Vec<&String> = operation["responses"].as_object().unwrap().keys().collect();
            operations.insert(format!("{} {path}", method.to_uppercase()), json!(statuses));
        }
    }
    json!({ "application/json (summary)": { "openapi": document["openapi"], "operations": operations } })
}

fn service_private_key(h: &Harness) -> PrivateJwk {
    PrivateJwk::parse(&std::fs::read_to_string(h.data_dir().join("service-key.jwk")).unwrap()).unwrap()
}

fn iso0_block(pin: &str, pan: &str) -> String {
    hex_encode(&encode_iso0(&Pin::parse(pin).unwrap(), &Pan::parse(pan).unwrap()))
}

fn token_of(answer: &Answer) -> String {
    answer.body["token"].as_str().unwrap_or_else(|| panic!("no token: {}", answer.text)).to_owned()
}

fn jwe_of<'a>(answer: &'a Answer, member: &str) -> &'a str {
    answer.body[member].as_str().unwrap_or_else(|| panic!("no {member}: {}", answer.text))
}

async fn discovery(t: &mut Transcript) -> PublicJwk {
    let jwks = t.service("jwks", Call::get("/.well-known/jwks.json")).await;
    let service_key = PublicJwk::parse(&jwks.body["keys"][0].to_string()).unwrap();
    let openapi = t.service("openapi", Call::get("/openapi.json")).await;
    t.summarise_response(openapi_summary(&openapi.body));
    t.service(
        "jwks.correlation_id_echoed",
        Call::get("/.well-known/jwks.json").header("x-correlation-id", "golden 1.a_b-c"),
    )
    .await;
    t.service(
        "jwks.invalid_correlation_id",
        Call::get("/.well-known/jwks.json").header("x-correlation-id", "semi;colon"),
    )
    .await;
    t.service("fallback.not_found", Call::get("/no/such/path")).await;
    t.service("readyz", Call::get("/readyz")).await;
    t.service("healthz", Call::get("/healthz")).await;
    service_key
}

/// `POST /oauth2/token` of the service; returns the access token.
async fn service_oauth(t: &mut Transcript) -> String {
    let path = "/oauth2/token";
    let ok = t
        .service("oauth.token", Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).form("grant_type=client_credentials"))
        .await;
    let jwt = ok.body["access_token"].as_str().unwrap().to_owned();
    t.decoded("responseBody.access_token", jwt_contents(&jwt));
    t.service(
        "oauth.token.scope_ignored",
        Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).form("grant_type=client_credentials&scope=anything"),
    )
    .await;
    t.service(
        "oauth.token.invalid_client.wrong_secret",
        Call::post(path).basic(CLIENT_ID, "wrong-secret").form("grant_type=client_credentials"),
    )
    .await;
    t.service("oauth.token.invalid_client.no_credentials", Call::post(path).form("grant_type=client_credentials"))
        .await;
    t.service(
        "oauth.token.unsupported_grant_type",
        Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).form("grant_type=password&username=a&password=b"),
    )
    .await;
    t.service("oauth.token.invalid_request.no_grant_type", Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).form(""))
        .await;
    t.service(
        "oauth.token.invalid_request.json_body",
        Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).json(json!({"grant_type": "client_credentials"})),
    )
    .await;
    t.service(
        "oauth.token.invalid_request.secret_in_body",
        Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).form("grant_type=client_credentials&client_secret=x"),
    )
    .await;
    t.service(
        "oauth.token.invalid_request.correlation_id",
        Call::post(path)
            .basic(CLIENT_ID, CLIENT_SECRET)
            .header("x-correlation-id", "")
            .form("grant_type=client_credentials"),
    )
    .await;
    let big = format!("grant_type=client_credentials&scope={}", "s".repeat(16 * 1024));
    t.service("oauth.token.invalid_request.too_large", Call::post(path).basic(CLIENT_ID, CLIENT_SECRET).form(&big))
        .await;
    jwt
}

/// The Register API: a consumer and a card whose PAN the test knows.
async fn register(t: &mut Transcript, jwt: &str, service_key: &PublicJwk) {
    let consumer = format!("/issuers/{ISSUER}/consumers/{CONSUMER}");
    t.service("consumer.put", Call::put(&consumer).bearer(jwt, "<access token>")).await;
    t.service(
        "consumer.put.state_ignored",
        Call::put(&consumer).bearer(jwt, "<access token>").json(json!({"state": "ACTIVE"})),
    )
    .await;
    t.service("consumer.put.empty_object", Call::put(&consumer).bearer(jwt, "<access token>").json(json!({}))).await;
    t.service(
        "consumer.put.invalid_body",
        Call::put(&consumer).bearer(jwt, "<access token>").json(json!({"state": "ACTIVE", "name": "Alice"})),
    )
    .await;
    t.service(
        "consumer.put.unsupported_media_type",
        Call::put(&consumer).bearer(jwt, "<access token>").text("text/plain", "state=ACTIVE"),
    )
    .await;
    t.service("consumer.put.unauthorized", Call::put(&consumer)).await;
    t.service("consumer.put.unauthorized.basic", Call::put(&consumer).basic(CLIENT_ID, CLIENT_SECRET)).await;
    t.service(
        "consumer.put.invalid_issuer_id",
        Call::put(format!("/issuers/DEMOISSUE/consumers/{CONSUMER}")).bearer(jwt, "<access token>"),
    )
    .await;
    t.service(
        "consumer.put.invalid_consumer_id",
        Call::put(format!("/issuers/{ISSUER}/consumers/dot.ted")).bearer(jwt, "<access token>"),
    )
    .await;
    t.service(
        "consumer.put.forbidden",
        Call::put(format!("/issuers/OTHERISSUE/consumers/{CONSUMER}")).bearer(jwt, "<access token>"),
    )
    .await;

    let cards = format!("{consumer}/cards");
    let card_data = format!(r#"{{"pan":"{NEW_PAN}","exp":"1229"}}"#);
    let encrypted = jwe::encrypt(service_key, card_data.as_bytes(), &mut OsRng);
    let body = json!({"cards": [{"cardId": NEW_CARD, "encryptedData": encrypted}]});
    t.service("cards.put", Call::put(&cards).bearer(jwt, "<access token>").json(body)).await;
    t.decoded("requestBody.cards[0].encryptedData", jwe_contents(&encrypted, card_data.as_bytes()));

    let to_service = |text: &str| jwe::encrypt(service_key, text.as_bytes(), &mut OsRng);
    for (name, data) in [
        ("not_a_jwe", "not a JWE".to_owned()),
        ("not_card_json", to_service(NEW_PAN)),
        ("short_pan", to_service(r#"{"pan":"41111111111","exp":"1229"}"#)),
        ("month_13", to_service(r#"{"pan":"4111111111111111","exp":"1329"}"#)),
    ] {
        let body = json!({"cards": [{"cardId": "golden-card-2", "encryptedData": data}]});
        let name = format!("cards.put.invalid_encrypted_data.{name}");
        t.service(&name, Call::put(&cards).bearer(jwt, "<access token>").json(body)).await;
    }
    let good = to_service(&card_data);
    for (name, body) in [
        ("invalid_cards.empty", json!({"cards": []})),
        (
            "invalid_cards.twice",
            json!({"cards": [{"cardId": "c", "encryptedData": good}, {"cardId": "c", "encryptedData": good}]}),
        ),
        ("invalid_card_id", json!({"cards": [{"cardId": "sl/ash", "encryptedData": good}]})),
        ("invalid_body", json!({})),
    ] {
        t.service(&format!("cards.put.{name}"), Call::put(&cards).bearer(jwt, "<access token>").json(body)).await;
    }
    t.service(
        "cards.put.unsupported_media_type",
        Call::put(&cards).bearer(jwt, "<access token>").text("text/plain", "cards"),
    )
    .await;
    t.service("cards.put.unauthorized", Call::put(&cards).json(json!({"cards": []}))).await;
    t.service(
        "cards.put.forbidden",
        Call::put(format!("/issuers/OTHERISSUE/consumers/{CONSUMER}/cards"))
            .bearer(jwt, "<access token>")
            .json(json!({"cards": []})),
    )
    .await;
}

const TOKENS: &str = "/api/v1/pin-control/tokens";

fn token_call(body: Value) -> Call {
    Call::post(TOKENS).basic(CLIENT_ID, CLIENT_SECRET).json(body)
}

/// PIN-control tokens: the ones later entries use, then every refusal.
struct Tokens {
    view: String,
    set: String,
    /// For the card the test registered, which has no PIN in the CMS yet.
    new_card_view: String,
}

async fn tokens(t: &mut Transcript) -> Tokens {
    let view = t
        .service(
            "tokens.create.view",
            token_call(json!({
                "cardId": CARD,
                "action": "VIEW_PIN",
                "parentOrigin": ORIGIN,
                "language": "fi",
                "hideAfterSeconds": 5,
                "allowCopy": true
            })),
        )
        .await;
    let set = t.service("tokens.create.set", token_call(json!({"cardId": CARD, "action": "SET_PIN"}))).await;
    let new_card = t
        .service("tokens.create.view.registered_card", token_call(json!({"cardId": NEW_CARD, "action": "VIEW_PIN"})))
        .await;
    t.service(
        "tokens.create.parent_origin_normalised",
        token_call(json!({"cardId": CARD, "action": "SET_PIN", "parentOrigin": "HTTPS://Bank.Example:443"})),
    )
    .await;

    for (name, body) in [
        ("not_found", json!({"cardId": "no-such-card", "action": "VIEW_PIN"})),
        ("invalid_card_id", json!({"cardId": "bad card!", "action": "VIEW_PIN"})),
        ("invalid_action", json!({"cardId": CARD, "action": "CHANGE_PIN"})),
        (
            "invalid_parent_origin.unregistered",
            json!({"cardId": CARD, "action": "VIEW_PIN", "parentOrigin": "https://evil.example"}),
        ),
        ("invalid_parent_origin.not_an_origin", json!({"cardId": CARD, "action": "VIEW_PIN", "parentOrigin": "*"})),
        ("invalid_language", json!({"cardId": CARD, "action": "VIEW_PIN", "language": "not a language"})),
        ("invalid_hide_after_seconds", json!({"cardId": CARD, "action": "VIEW_PIN", "hideAfterSeconds": 301})),
        ("invalid_body.missing_action", json!({"cardId": CARD})),
        ("invalid_body.unknown_member", json!({"cardId": CARD, "action": "VIEW_PIN", "pan": "5555"})),
    ] {
        t.service(&format!("tokens.create.{name}"), token_call(body)).await;
    }
    t.service(
        "tokens.create.invalid_body.not_an_object",
        Call::post(TOKENS).basic(CLIENT_ID, CLIENT_SECRET).text("application/json", "[\"demo-card\", \"VIEW_PIN\"]"),
    )
    .await;
    let big = format!("{{\"cardId\": \"{CARD}\", \"action\": \"VIEW_PIN\"{}}}", " ".repeat(16 * 1024));
    t.service(
        "tokens.create.too_large",
        Call::post(TOKENS).basic(CLIENT_ID, CLIENT_SECRET).text("application/json", &big),
    )
    .await;
    t.service(
        "tokens.create.unsupported_media_type.charset",
        Call::post(TOKENS)
            .basic(CLIENT_ID, CLIENT_SECRET)
            .text("application/json; charset=utf-16", "{\"cardId\": \"demo-card\", \"action\": \"VIEW_PIN\"}"),
    )
    .await;
    t.service(
        "tokens.create.invalid_body.broken_json",
        Call::post(TOKENS).basic(CLIENT_ID, CLIENT_SECRET).text("application/json", "{\"cardId\": \"demo"),
    )
    .await;
    t.service(
        "tokens.create.unsupported_media_type",
        Call::post(TOKENS).basic(CLIENT_ID, CLIENT_SECRET).text("text/plain", "cardId=demo-card"),
    )
    .await;
    let body = json!({"cardId": CARD, "action": "VIEW_PIN"});
    t.service("tokens.create.unauthorized.no_credentials", Call::post(TOKENS).json(body.clone())).await;
    t.service(
        "tokens.create.unauthorized.wrong_secret",
        Call::post(TOKENS).basic(CLIENT_ID, "wrong-secret").json(body.clone()),
    )
    .await;
    t.service("tokens.create.unauthorized.bearer", Call::post(TOKENS).authorization("Bearer abc").json(body)).await;

    Tokens { view: token_of(&view), set: token_of(&set), new_card_view: token_of(&new_card) }
}

async fn session_and_view(t: &mut Transcript, tokens: &Tokens) {
    let session = "/api/v1/pin/session";
    t.service("session.view", Call::post(session).bearer(&tokens.view, "<view token>")).await;
    t.service("session.set", Call::post(session).bearer(&tokens.set, "<set token>")).await;
    t.service("session.unauthorized.no_token", Call::post(session)).await;
    t.service("session.unauthorized.unknown_token", Call::post(session).bearer(&"A".repeat(43), "AAAA…A (43)")).await;
    t.service(
        "session.invalid_correlation_id",
        Call::post(session).bearer(&tokens.view, "<view token>").header("x-correlation-id", "has/slash"),
    )
    .await;

    let view = "/api/v1/pin/view";
    let (key, epk) = ephemeral();
    let bearer = |call: Call| call.bearer(&tokens.view, "<view token>");
    t.service("view.invalid_epk.not_a_key", bearer(Call::post(view)).json(json!({"epk": "not a key"}))).await;
    let mut p384 = epk.clone();
    p384["crv"] = json!("P-384");
    t.service("view.invalid_epk.other_curve", bearer(Call::post(view)).json(json!({ "epk": p384 }))).await;
    t.service("view.invalid_body", bearer(Call::post(view)).json(json!({}))).await;
    t.service("view.unsupported_media_type", bearer(Call::post(view)).text("text/plain", "epk")).await;
    t.service(
        "view.forbidden.set_token",
        Call::post(view).bearer(&tokens.set, "<set token>").json(json!({ "epk": epk.clone() })),
    )
    .await;
    let answer = t.service("view", bearer(Call::post(view)).json(json!({ "epk": epk.clone() }))).await;
    let encrypted = jwe_of(&answer, "encryptedPin");
    t.decoded("responseBody.encryptedPin", jwe_contents(encrypted, &jwe::decrypt(&key, encrypted).unwrap()));
    t.service("view.unauthorized.used", bearer(Call::post(view)).json(json!({ "epk": epk.clone() }))).await;
    t.service("session.unauthorized.used", bearer(Call::post(session))).await;
    t.service(
        "view.not_found.no_pin_in_cms",
        Call::post(view).bearer(&tokens.new_card_view, "<view token, registered card>").json(json!({ "epk": epk })),
    )
    .await;
}

async fn set(t: &mut Transcript, tokens: &Tokens, service_key: &PublicJwk) {
    let path = "/api/v1/pin/set";
    let pin_jwe = |pin: &str| {
        let plaintext = json!({ "pin": pin }).to_string();
        let encrypted = jwe::encrypt(service_key, plaintext.as_bytes(), &mut OsRng);
        let contents = jwe_contents(&encrypted, plaintext.as_bytes());
        (encrypted, contents)
    };
    let set_call = |encrypted: &str| {
        Call::post(path).bearer(&tokens.set, "<set token>").json(json!({ "encryptedPin": encrypted }))
    };

    // A view token: 403 (the registered card's token survived its 404).
    let (encrypted, contents) = pin_jwe("2580");
    t.service(
        "set.forbidden.view_token",
        Call::post(path)
            .bearer(&tokens.new_card_view, "<view token, registered card>")
            .json(json!({ "encryptedPin": encrypted })),
    )
    .await;
    t.decoded("requestBody.encryptedPin", contents);
    t.service("set.invalid_body", Call::post(path).bearer(&tokens.set, "<set token>").json(json!({"pin": "2580"})))
        .await;
    t.service(
        "set.unsupported_media_type",
        Call::post(path).bearer(&tokens.set, "<set token>").text("text/plain", "2580"),
    )
    .await;
    // Two refusals of the three a token survives.
    let (encrypted, contents) = pin_jwe("1111");
    t.service("set.pin_policy.all_same", set_call(&encrypted)).await;
    t.decoded("requestBody.encryptedPin", contents);
    t.service("set.invalid_encrypted_pin.not_a_jwe", set_call("not a JWE")).await;
    let (encrypted, contents) = pin_jwe("2580");
    t.service("set", set_call(&encrypted)).await;
    t.decoded("requestBody.encryptedPin", contents);
    t.service("set.unauthorized.used", set_call(&encrypted)).await;
    t.service("set.unauthorized.no_token", Call::post(path).json(json!({ "encryptedPin": encrypted }))).await;
}

async fn pin_policy_reasons(t: &mut Transcript, service_key: &PublicJwk) {
    // Each reason on a fresh token: a token survives two refusals only.
    let cases = [("sequential", "6543"), ("too_short", "975"), ("common", "6969")];
    for (reason, pin) in cases {
        let token = token_of(
            &t.service(
                &format!("tokens.create.set.for_{reason}"),
                token_call(json!({"cardId": CARD, "action": "SET_PIN"})),
            )
            .await,
        );
        let plaintext = json!({ "pin": pin }).to_string();
        let encrypted = jwe::encrypt(service_key, plaintext.as_bytes(), &mut OsRng);
        let call =
            Call::post("/api/v1/pin/set").bearer(&token, "<set token>").json(json!({ "encryptedPin": encrypted }));
        t.service(&format!("set.pin_policy.{reason}"), call).await;
        t.decoded("requestBody.encryptedPin", jwe_contents(&encrypted, plaintext.as_bytes()));
    }
}

const THEME: &str = "/api/v1/issuers/DEMOISSUER/theme";

async fn themes(t: &mut Transcript, jwt: &str) {
    let css = ":root { --pinframe-accent: #6a1b9a }\n\
               .pinframe-input[value^=\"1\"] { background: red }\n\
               @import url(https://evil.example/x.css);\n\
               .pinframe-title { color: #6a1b9a; background: url(https://evil.example/a.png) }";
    let put = t
        .service("theme.put", Call::put(THEME).basic(CLIENT_ID, CLIENT_SECRET).text("text/css; charset=utf-8", css))
        .await;
    let version = put.body["version"].as_str().unwrap().to_owned();
    let bearer = |call: Call| call.bearer(jwt, "<access token>");
    t.service("theme.put.bearer", bearer(Call::put(THEME)).text("text/css", css)).await;
    t.service("theme.get", bearer(Call::get(THEME))).await;
    t.service("theme.serve", Call::get(format!("/pin/themes/{ISSUER}/{version}.css"))).await;
    t.service("theme.serve.not_found", Call::get(format!("/pin/themes/{ISSUER}/0000000000000000.css"))).await;
    t.service("theme.put.unauthorized", Call::put(THEME).text("text/css", ".pinframe{color:red}")).await;
    t.service(
        "theme.put.forbidden",
        bearer(Call::put("/api/v1/issuers/OTHERBANK1/theme")).text("text/css", ".pinframe{color:red}"),
    )
    .await;
    t.service(
        "theme.put.invalid_issuer_id",
        bearer(Call::put("/api/v1/issuers/SHORT/theme")).text("text/css", ".pinframe{color:red}"),
    )
    .await;
    let big = format!(".pinframe{{color:red}}\n/*{}*/", "x".repeat(40 * 1024));
    t.service("theme.put.too_large", bearer(Call::put(THEME)).text("text/css", &big)).await;
    t.service("theme.put.unsupported_media_type", bearer(Call::put(THEME)).json(json!({}))).await;
    t.service("theme.put.invalid_theme", bearer(Call::put(THEME)).bytes("text/css", vec![0x2e, 0xff])).await;
    let unsafe_css = "@font-face { font-family: D; src: url(/pin/fonts/DEMOISSUER/d.woff2); unicode-range: U+33 }";
    t.service("theme.put.unsafe_theme", bearer(Call::put(THEME)).text("text/css", unsafe_css)).await;

    let font_path = "/api/v1/issuers/DEMOISSUER/fonts/brand-sans.woff2";
    // A real WOFF2 font of the ten digits (tools/make-test-fonts.py).
    let font = include_bytes!("fixtures/fonts/digits.woff2").to_vec();
    t.service("font.put", bearer(Call::put(font_path)).bytes("font/woff2", font.clone())).await;
    t.service("font.put.invalid_font", bearer(Call::put(font_path)).bytes("font/woff2", b"<svg/>".to_vec())).await;
    let digit_3 = include_bytes!("fixtures/fonts/digit-3.woff2").to_vec();
    t.service("font.put.font_missing_digits", bearer(Call::put(font_path)).bytes("font/woff2", digit_3)).await;
    t.service(
        "font.put.invalid_font_name",
        bearer(Call::put("/api/v1/issuers/DEMOISSUER/fonts/x.ttf")).bytes("font/woff2", font.clone()),
    )
    .await;
    let big = [b"wOF2".as_slice(), &vec![0u8; 600 * 1024]].concat();
    t.service("font.put.too_large", bearer(Call::put(font_path)).bytes("font/woff2", big)).await;
    t.service("font.put.unsupported_media_type", bearer(Call::put(font_path)).bytes("application/font-woff2", font))
        .await;
    t.service("font.put.unauthorized", Call::put(font_path).bytes("font/woff2", b"wOF2".to_vec())).await;
    t.service("font.serve", Call::get(format!("/pin/fonts/{ISSUER}/brand-sans.woff2"))).await;
    t.service("font.serve.not_found", Call::get(format!("/pin/fonts/{ISSUER}/missing.woff2"))).await;

    t.service("widget.view_page.themed", Call::get(format!("/pin/{ISSUER}/view"))).await;
    t.service("theme.delete", bearer(Call::delete(THEME))).await;
    t.service("theme.delete.again", bearer(Call::delete(THEME))).await;
    t.service("theme.delete.forbidden", bearer(Call::delete("/api/v1/issuers/OTHERBANK1/theme"))).await;
    t.service("theme.delete.unauthorized", Call::delete(THEME)).await;
    t.service("theme.get.not_found", bearer(Call::get(THEME))).await;
    t.service("theme.get.unauthorized", Call::get(THEME)).await;
    t.service("theme.get.forbidden", bearer(Call::get("/api/v1/issuers/OTHERBANK1/theme"))).await;
}

async fn widget_and_demo(t: &mut Transcript) {
    let page = t.service("widget.view_page", Call::get(format!("/pin/{ISSUER}/view"))).await;
    t.service("widget.set_page", Call::get(format!("/pin/{ISSUER}/set"))).await;
    // A browser gets the HTML error page (its text is the catalogues', checked in
    // tests/integrator.rs); a caller that asks for JSON gets the error body.
    t.service("widget.page.invalid_issuer_id", Call::get("/pin/SHORT/view").marker_only()).await;
    t.service("widget.page.not_found", Call::get("/pin/NOSUCHISSU/set").marker_only()).await;
    t.service("widget.page.unknown_mode", Call::get(format!("/pin/{ISSUER}/edit")).marker_only()).await;
    let json = |call: Call| call.header("accept", "application/json");
    t.service("widget.page.invalid_issuer_id.json", json(Call::get("/pin/SHORT/view"))).await;
    t.service("widget.page.not_found.json", json(Call::get("/pin/NOSUCHISSU/set"))).await;
    t.service("api.not_found", Call::get("/api/v1/nothing")).await;
    t.service("api.method_not_allowed", Call::delete("/api/v1/pin/view")).await;
    let loader = page.text.split("<script type=\"module\" src=\"").nth(1).unwrap().split('"').next().unwrap();
    t.service("widget.asset", Call::get(loader)).await;
    t.service("widget.asset.not_found", Call::get("/pin/assets/nothing.js")).await;

    t.service("demo.page", Call::get("/demo/").marker_only()).await;
    for file in
        ["demo.js", "demo.css", "floor.html", "js-floor.html", "js-floor.js", "jwe-webcrypto.js", "pinframe-host.js"]
    {
        t.service(&format!("demo.file.{file}"), Call::get(format!("/demo/{file}")).marker_only()).await;
    }
    let token = "/demo/api/token";
    t.service("demo.token", Call::post(token).header("origin", ORIGIN).json(json!({"action": "VIEW_PIN"}))).await;
    t.service(
        "demo.token.with_options",
        Call::post(token)
            .header("origin", ORIGIN)
            .json(json!({"action": "SET_PIN", "language": "sv", "hideAfterSeconds": 10, "allowCopy": true})),
    )
    .await;
    t.service("demo.token.invalid_parent_origin", Call::post(token).json(json!({"action": "VIEW_PIN"}))).await;
    t.service(
        "demo.token.invalid_parent_origin.unregistered",
        Call::post(token).header("origin", "https://evil.example").json(json!({"action": "VIEW_PIN"})),
    )
    .await;
    t.service("demo.token.invalid_body", Call::post(token).header("origin", ORIGIN).json(json!({"act": "VIEW_PIN"})))
        .await;
    let theme = "/demo/api/theme";
    t.service("demo.theme", Call::post(theme).json(json!({"theme": "harbour"}))).await;
    t.service("demo.theme.default", Call::post(theme).json(json!({"theme": "default"}))).await;
    t.service("demo.theme.invalid_theme", Call::post(theme).json(json!({"theme": "neon"}))).await;
}

/// The reference CMS's API, on the same PINs as the embedded CMS.
async fn cms_api(t: &mut Transcript, h: &Harness, secret: &str) {
    let jwks = t.cms("cms.jwks", Call::get("/.well-known/jwks.json")).await;
    let cms_key = PublicJwk::parse(&jwks.body["keys"][0].to_string()).unwrap();
    let openapi = t.cms("cms.openapi", Call::get("/openapi.json")).await;
    t.summarise_response(openapi_summary(&openapi.body));
    t.cms("cms.readyz", Call::get("/readyz")).await;
    t.cms("cms.healthz", Call::get("/healthz")).await;

    let path = "/oauth2/token";
    let with_secret = |call: Call| call.basic_secret(CMS_CLIENT, secret, "<client secret>");
    let ok = t.cms("cms.oauth.token", with_secret(Call::post(path)).form("grant_type=client_credentials")).await;
    let jwt = ok.body["access_token"].as_str().unwrap().to_owned();
    t.decoded("responseBody.access_token", jwt_contents(&jwt));
    t.cms(
        "cms.oauth.token.invalid_client",
        Call::post(path).basic(CMS_CLIENT, "wrong").form("grant_type=client_credentials"),
    )
    .await;
    t.cms(
        "cms.oauth.token.unsupported_grant_type",
        with_secret(Call::post(path)).form("grant_type=authorization_code&code=x"),
    )
    .await;
    t.cms("cms.oauth.token.invalid_request", with_secret(Call::post(path)).text("text/plain", "grant_type")).await;

    let service_key = service_private_key(h);
    let pin = |issuer: &str, card: &str| format!("/cms/api/v1/issuers/{issuer}/cards/{card}/pin");
    let bearer = |call: Call| call.bearer(&jwt, "<cms access token>");

    // The demo card, whose PIN the service set to 2580 above.
    let answer = t.cms("cms.pin.get", bearer(Call::get(pin(ISSUER, CARD)))).await;
    let encrypted = jwe_of(&answer, "encryptedPinBlock");
    t.decoded(
        "responseBody.encryptedPinBlock",
        jwe_contents(encrypted, &jwe::decrypt(&service_key, encrypted).unwrap()),
    );
    t.cms("cms.change_counter", bearer(Call::get(format!("{}/changeCounter", pin(ISSUER, CARD))))).await;

    // A PIN for the card the test registered, then the service shows it.
    let block = format!(r#"{{"format":"ISO0","pinBlock":"{}"}}"#, iso0_block("1357", NEW_PAN));
    let encrypted = jwe::encrypt(&cms_key, block.as_bytes(), &mut OsRng);
    let body = json!({"type": "ISO0", "encryptedPinBlock": encrypted});
    t.cms("cms.pin.put", bearer(Call::put(pin(ISSUER, NEW_CARD))).json(body)).await;
    t.decoded("requestBody.encryptedPinBlock", jwe_contents(&encrypted, block.as_bytes()));
    t.cms("cms.change_counter.after_put", bearer(Call::get(format!("{}/changeCounter", pin(ISSUER, NEW_CARD))))).await;

    let seccos = r#"{"format":"SECCOS_3DES","pinBlock":"0123456789ABCDEF"}"#;
    let encrypted = jwe::encrypt(&cms_key, seccos.as_bytes(), &mut OsRng);
    let body = json!({"type": "SECCOS_3DES", "encryptedPinBlock": encrypted});
    t.cms("cms.pin.put.seccos", bearer(Call::put(pin(ISSUER, "golden-card-3"))).json(body)).await;
    t.decoded("requestBody.encryptedPinBlock", jwe_contents(&encrypted, seccos.as_bytes()));
    let answer = t.cms("cms.pin.get.seccos", bearer(Call::get(pin(ISSUER, "golden-card-3")))).await;
    let encrypted = jwe_of(&answer, "encryptedPinBlock");
    t.decoded(
        "responseBody.encryptedPinBlock",
        jwe_contents(encrypted, &jwe::decrypt(&service_key, encrypted).unwrap()),
    );

    let to_cms = |text: &str| jwe::encrypt(&cms_key, text.as_bytes(), &mut OsRng);
    let put_errors = [
        ("invalid_type", json!({"type": "ISO1", "encryptedPinBlock": to_cms("{}")})),
        ("invalid_pin_block.not_a_jwe", json!({"type": "ISO0", "encryptedPinBlock": "not a JWE"})),
        ("invalid_pin_block.too_long", json!({"type": "ISO0", "encryptedPinBlock": "A".repeat(8193)})),
        ("invalid_pin_block.malformed", json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0"}"#)})),
        (
            "invalid_pin_block.format_mismatch",
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"SECCOS_3DES","pinBlock":"041261AAAAEDCBA9"}"#)}),
        ),
        (
            "invalid_pin_block.short",
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0","pinBlock":"041261AAAAEDCB"}"#)}),
        ),
        (
            "invalid_pin_block.not_format_0",
            json!({"type": "ISO0", "encryptedPinBlock": to_cms(r#"{"format":"ISO0","pinBlock":"141261AAAAEDCBA9"}"#)}),
        ),
        ("invalid_body", json!({"type": "ISO0"})),
    ];
    for (name, body) in put_errors {
        t.cms(&format!("cms.pin.put.{name}"), bearer(Call::put(pin(ISSUER, NEW_CARD))).json(body)).await;
    }
    t.cms("cms.pin.put.unsupported_media_type", bearer(Call::put(pin(ISSUER, NEW_CARD))).text("text/plain", "ISO0"))
        .await;
    t.cms("cms.pin.put.unauthorized", Call::put(pin(ISSUER, NEW_CARD)).json(json!({"type": "ISO0"}))).await;
    t.cms("cms.pin.put.forbidden", bearer(Call::put(pin("OTHERISSUE", NEW_CARD))).json(json!({"type": "ISO0"}))).await;
    t.cms("cms.change_counter.unchanged", bearer(Call::get(format!("{}/changeCounter", pin(ISSUER, NEW_CARD))))).await;

    t.cms("cms.pin.get.not_found", bearer(Call::get(pin(ISSUER, "no-such-card")))).await;
    t.cms("cms.change_counter.not_found", bearer(Call::get(format!("{}/changeCounter", pin(ISSUER, "no-such-card")))))
        .await;
    t.cms("cms.pin.get.unauthorized", Call::get(pin(ISSUER, CARD))).await;
    t.cms("cms.pin.get.unauthorized.garbage", Call::get(pin(ISSUER, CARD)).authorization("Bearer x.y.z")).await;
    t.cms("cms.change_counter.unauthorized", Call::get(format!("{}/changeCounter", pin(ISSUER, CARD)))).await;
    t.cms("cms.pin.get.forbidden", bearer(Call::get(pin("OTHERISSUE", CARD)))).await;
    t.cms("cms.change_counter.forbidden", bearer(Call::get(format!("{}/changeCounter", pin("OTHERISSUE", CARD)))))
        .await;
    t.cms("cms.pin.get.invalid_issuer_id", bearer(Call::get(pin("CMS!ISSUER", CARD)))).await;
    t.cms("cms.pin.get.invalid_card_id", bearer(Call::get(pin(ISSUER, "dot.ted")))).await;
    t.cms(
        "cms.change_counter.invalid_correlation_id",
        bearer(Call::get(format!("{}/changeCounter", pin(ISSUER, CARD)))).header("x-correlation-id", "x#y"),
    )
    .await;
    t.cms("cms.fallback.not_found", Call::get("/cms/api/v1/nothing")).await;
    t.call(Server::CmsWithoutRecipient, "cms.pin.get.not_configured", bearer(Call::get(pin(ISSUER, CARD)))).await;
}

/// After the CMS hop: the service shows the PIN put into the CMS for the card it registered.
async fn view_registered_card(t: &mut Transcript) {
    let answer = t
        .service(
            "tokens.create.view.registered_card.again",
            token_call(json!({"cardId": NEW_CARD, "action": "VIEW_PIN"})),
        )
        .await;
    let token = token_of(&answer);
    let (key, epk) = ephemeral();
    let answer = t
        .service(
            "view.registered_card",
            Call::post("/api/v1/pin/view").bearer(&token, "<view token, registered card>").json(json!({ "epk": epk })),
        )
        .await;
    let encrypted = jwe_of(&answer, "encryptedPin");
    t.decoded("responseBody.encryptedPin", jwe_contents(encrypted, &jwe::decrypt(&key, encrypted).unwrap()));
}

/// The book at `/docs/`: none in the harness (404), then a small one read from a temporary directory.
async fn docs_site(t: &mut Transcript, h: &Harness) {
    t.service("docs.no_book", Call::get("/docs/")).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("guide")).unwrap();
    let index = "<!doctype html><title>Book</title><script>window.book = 1;</script><a href=\"guide/\">Guide</a>";
    std::fs::write(dir.path().join("index.html"), index).unwrap();
    std::fs::write(dir.path().join("book.css"), "body { margin: 0; }").unwrap();
    std::fs::write(dir.path().join("guide/index.html"), "<!doctype html><title>Guide</title>").unwrap();
    let mut state = h.state.clone();
    state.docs = std::sync::Arc::new(pinframe::docs_site::DocsSite::load(dir.path()).unwrap());
    let without_book = std::mem::replace(&mut t.service, pinframe::app(state));
    t.service("docs.redirect", Call::get("/docs")).await;
    t.service("docs.index", Call::get("/docs/")).await;
    t.service("docs.file", Call::get("/docs/book.css")).await;
    t.service("docs.directory", Call::get("/docs/guide")).await;
    t.service("docs.directory.index", Call::get("/docs/guide/")).await;
    t.service("docs.not_found", Call::get("/docs/%2e%2e/book.css")).await;
    t.service("docs.method_not_allowed", Call::post("/docs/book.css")).await;
    t.service = without_book;
}

/// Whether a concrete path fits an OpenAPI path template (`{name}` is one segment).
fn fits(template: &str, path: &str) -> bool {
    let path = path.split('?').next().unwrap_or_default();
    let (template, path): (Vec<&str>, Vec<&str>) = (template.split('/').collect(), path.split('/').collect());
    template.len() == path.len()
        && template.iter().zip(&path).all(|(t, p)| (t.starts_with('{') && !p.is_empty()) || t == p)
}

/// Every operation the server's OpenAPI document lists has at least one entry that succeeded (2xx,
/// or 3xx for an operation that only redirects, such as `GET /docs`).
fn assert_every_operation_succeeds(entries: &[Value], server: Server, openapi_entry: &str) {
    let summary = &entries.iter().find(|e| e["name"] == openapi_entry).unwrap()["responseBody"];
    let operations = summary["application/json (summary)"]["operations"].as_object().unwrap();
    for operation in operations.keys().filter(|o| !common::AWAITED.contains(&o.as_str())) {
        let (method, template) = operation.split_once(' ').unwrap();
        let covered = entries.iter().any(|e| {
            e["server"] == server.name()
                && e["method"] == method
                && fits(template, e["path"].as_str().unwrap())
                && e["status"].as_u64().is_some_and(|s| (200..400).contains(&s))
        });
        assert!(covered, "{} {operation}: no entry calls it successfully", server.name());
    }
}

fn golden_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/http.json")
}

/// Compares with the committed file, or writes it with `PINFRAME_GOLDEN_UPDATE=1`.
fn compare_with_golden(actual: &Value) {
    let path = golden_path();
    let pretty = |value: &Value| serde_json::to_string_pretty(value).unwrap();
    if std::env::var("PINFRAME_GOLDEN_UPDATE").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, pretty(actual) + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with PINFRAME_GOLDEN_UPDATE=1 to write it", path.display()));
    let expected: Value = serde_json::from_str(&text).unwrap();
    if *actual == expected {
        return;
    }
    let (actual, expected) = (actual.as_array().unwrap(), expected.as_array().unwrap());
    let name = |entry: Option<&Value>| entry.map_or("(none)".to_owned(), |e| e["name"].to_string());
    let shown = |value: Option<&Value>| value.map_or("(absent)".to_owned(), pretty);
    let Some(i) = (0..actual.len().max(expected.len())).find(|i| actual.get(*i) != expected.get(*i)) else {
        unreachable!("the transcripts differ, so an entry does")
    };
    let (got, want) = (actual.get(i), expected.get(i));
    let mut report = format!(
        "the HTTP transcript differs from {} at entry {i} (of {} expected, {} recorded): expected {}, got {}\n",
        path.display(),
        expected.len(),
        actual.len(),
        name(want),
        name(got),
    );
    match (got, want) {
        (Some(Value::Object(g)), Some(Value::Object(w))) => {
            let mut fields: Vec<&String> = g.keys().chain(w.keys()).filter(|k| g.get(*k) != w.get(*k)).collect();
            fields.sort();
            fields.dedup();
            for field in fields {
                let (e, a) = (shown(w.get(field)), shown(g.get(field)));
                report.push_str(&format!("--- {field}, expected:\n{e}\n--- {field}, got:\n{a}\n"));
            }
        }
        _ => report.push_str(&format!("--- expected:\n{}\n--- got:\n{}\n", shown(want), shown(got))),
    }
    report.push_str("If the change is intended, run with PINFRAME_GOLDEN_UPDATE=1 and review the file's diff.");
    panic!("{report}");
}

#[tokio::test]
async fn every_http_body_matches_the_golden_transcript() {
    let h = harness().await;
    let (cms, secret) = cms_router(&h, &[ISSUER], true).await;
    let (cms_without_recipient, _) = cms_router(&h, &[ISSUER], false).await;
    let mut t = Transcript { service: h.app(), cms, cms_without_recipient, entries: Vec::new() };

    let service_key = discovery(&mut t).await;
    let jwt = service_oauth(&mut t).await;
    register(&mut t, &jwt, &service_key).await;
    let tokens = tokens(&mut t).await;
    session_and_view(&mut t, &tokens).await;
    set(&mut t, &tokens, &service_key).await;
    pin_policy_reasons(&mut t, &service_key).await;
    themes(&mut t, &jwt).await;
    widget_and_demo(&mut t).await;
    docs_site(&mut t, &h).await;
    cms_api(&mut t, &h, &secret).await;
    view_registered_card(&mut t).await;

    assert_every_operation_succeeds(&t.entries, Server::Service, "openapi");
    assert_every_operation_succeeds(&t.entries, Server::Cms, "cms.openapi");
    compare_with_golden(&Value::Array(t.entries));
}

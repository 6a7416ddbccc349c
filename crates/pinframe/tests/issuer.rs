//! `pinframe issuer add | list | rotate-secret` (`docs/protocol.md`, "Command line"), and the credentials they
//! print working, then not working, against the service's router.

use std::process::{Command, Output};

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use base64ct::{Base64, Encoding};
use pinframe::cli::ServeArgs;
use serde_json::Value;
use tower::ServiceExt;

fn pinframe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinframe")).args(args).output().unwrap()
}

fn json_line(output: &Output) -> Value {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

async fn token_status(data_dir: &std::path::Path, client_id: &str, secret: &str) -> StatusCode {
    let args = ServeArgs {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_owned(),
        demo: false,
        widget_dir: data_dir.join("no-widget"),
        docs_dir: None,
        public_url: None,
        token_ttl: 300,
        cms_url: None,
        cms_client_id: "pinframe-service".to_owned(),
        cms_client_secret_file: None,
        cms_jwk: None,
        database: Default::default(),
        ops: Default::default(),
        key_store: Default::default(),
        audit: Default::default(),
    };
    let state = pinframe::server::open_state(&args, "http://pin.test".to_owned()).await.unwrap();
    let request = Request::post("/api/v1/pin-control/tokens")
        .header(
            header::AUTHORIZATION,
            format!("Basic {}", Base64::encode_string(format!("{client_id}:{secret}").as_bytes())),
        )
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"cardId":"no-such-card","action":"VIEW_PIN"}"#))
        .unwrap();
    pinframe::app(state).oneshot(request).await.unwrap().status()
}

#[tokio::test]
async fn add_list_rotate() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap();

    let added = json_line(&pinframe(&[
        "issuer",
        "add",
        "--id",
        "BANK000001",
        "--origin",
        "HTTPS://Bank.Example",
        "--origin",
        "http://localhost:3000",
        "--data-dir",
        data_arg,
    ]));
    assert_eq!(added["issuerId"], "BANK000001");
    assert_eq!(added["clientId"], "BANK000001");
    assert_eq!(added["origins"], serde_json::json!(["https://bank.example", "http://localhost:3000"]));
    assert_eq!(added["pinPolicy"], serde_json::json!({"minLength": 4, "maxLength": 6, "forbidYears": false}));
    let secret = added["clientSecret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 43);

    let again = pinframe(&["issuer", "add", "--id", "BANK000001", "--data-dir", data_arg]);
    assert_eq!(again.status.code(), Some(1));
    assert!(again.stdout.is_empty());
    assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

    for (args, message) in [
        (vec!["issuer", "add", "--id", "SHORT", "--data-dir", data_arg], "exactly 10 characters"),
        (
            vec![
                "issuer",
                "add",
                "--id",
                "BANK000002",
                "--origin",
                "https://bank.example/path",
                "--data-dir",
                data_arg,
            ],
            "not an http(s) origin",
        ),
        (vec!["issuer", "rotate-secret", "--id", "NOSUCHISSU", "--data-dir", data_arg], "no issuer"),
    ] {
        let out = pinframe(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(out.stdout.is_empty());
        assert!(String::from_utf8_lossy(&out.stderr).contains(message), "{}", String::from_utf8_lossy(&out.stderr));
    }

    let policy = json_line(&pinframe(&[
        "issuer",
        "set-policy",
        "--id",
        "BANK000001",
        "--pin-min-length",
        "6",
        "--pin-max-length",
        "8",
        "--forbid-years",
        "--data-dir",
        data_arg,
    ]));
    assert_eq!(policy["pinPolicy"], serde_json::json!({"minLength": 6, "maxLength": 8, "forbidYears": true}));
    let bad =
        pinframe(&["issuer", "set-policy", "--id", "BANK000001", "--pin-min-length", "3", "--data-dir", data_arg]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("4 to 12"));

    let list = pinframe(&["issuer", "list", "--data-dir", data_arg]);
    let listed = json_line(&list);
    assert_eq!(listed["issuerId"], "BANK000001");
    assert_eq!(listed["pinPolicy"]["minLength"], 6);
    assert!(listed.get("clientSecret").is_none());
    assert!(!String::from_utf8_lossy(&list.stdout).contains(&secret));

    // The printed secret authenticates (404: the issuer has no such card, so auth passed).
    assert_eq!(token_status(&data, "BANK000001", &secret).await, StatusCode::NOT_FOUND);
    let rotated = json_line(&pinframe(&["issuer", "rotate-secret", "--id", "BANK000001", "--data-dir", data_arg]));
    let new_secret = rotated["clientSecret"].as_str().unwrap();
    assert_ne!(new_secret, secret);
    assert_eq!(token_status(&data, "BANK000001", &secret).await, StatusCode::UNAUTHORIZED);
    assert_eq!(token_status(&data, "BANK000001", new_secret).await, StatusCode::NOT_FOUND);
}

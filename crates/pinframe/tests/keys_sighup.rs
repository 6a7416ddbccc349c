//! Key rotation end to end with the real binary and real signals: `pinframe serve --demo` running,
//! an access token issued, `pinframe keys rotate`, SIGHUP: the JWKS has both keys and the old token
//! still works; `pinframe keys retire` refuses inside the window, `--force` retires, SIGHUP: the JWKS
//! has the new key alone and the old token is refused. A key file that does not load makes a SIGHUP
//! change nothing. The server's log names the keys' `kid`s and never holds a key.

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use base64ct::{Base64UrlUnpadded, Encoding};
use serde_json::Value;

fn pinframe(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pinframe")).args(args).env_remove("PINFRAME_DATABASE_URL").output().unwrap()
}

/// `pinframe serve --demo` on `data`, its log in `log`; returns it and its base URL.
fn serve(data: &Path, log: &Path) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinframe"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--widget-dir"])
        .arg(data.join("no-widget"))
        .arg("--data-dir")
        .arg(data)
        .env_remove("PINFRAME_DATABASE_URL")
        .env("PINFRAME_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("pinframe listening on ") {
        line.clear();
        assert_ne!(std::io::BufRead::read_line(&mut stdout, &mut line).unwrap(), 0, "{}", read(log));
    }
    let url = line.trim().trim_start_matches("pinframe listening on ").to_owned();
    (child, url)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

fn signal(child: &Child, name: &str) {
    let status = Command::new("kill").arg(format!("-{name}")).arg(child.id().to_string()).status().unwrap();
    assert!(status.success());
}

/// Waits (at most ten seconds) until `check` holds.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(10), "{what} did not happen");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn jwks_kids(http: &reqwest::Client, url: &str) -> Vec<String> {
    let jwks: Value = http.get(format!("{url}/.well-known/jwks.json")).send().await.unwrap().json().await.unwrap();
    jwks["keys"].as_array().unwrap().iter().map(|k| k["kid"].as_str().unwrap().to_owned()).collect()
}

async fn access_token(http: &reqwest::Client, url: &str) -> String {
    let answer = http
        .post(format!("{url}/oauth2/token"))
        .basic_auth("demo-client", Some("demo-secret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    answer.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
}

/// The status of registering a consumer with `token`: 204 when it is accepted, 401 when not.
async fn with_token(http: &reqwest::Client, url: &str, token: &str) -> u16 {
    let answer = http.put(format!("{url}/issuers/DEMOISSUER/consumers/alice")).bearer_auth(token).send().await;
    answer.unwrap().status().as_u16()
}

fn kid_of(token: &str) -> String {
    let header = Base64UrlUnpadded::decode_vec(token.split('.').next().unwrap()).unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"].as_str().unwrap().to_owned()
}

/// The `d` of every private JWK in `dir`: what must never reach the log.
fn private_parts(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jwk") {
            let jwk: Value = serde_json::from_str(&read(&path)).unwrap();
            found.push(jwk["d"].as_str().unwrap().to_owned());
        } else if path.extension().is_some_and(|e| e == "hex") {
            found.push(read(&path).trim().to_owned());
        }
    }
    found
}

#[tokio::test]
async fn rotate_sighup_retire_sighup_with_the_real_binary() {
    let dir = tempfile::tempdir().unwrap();
    let (data, log) = (dir.path().join("data"), dir.path().join("serve.log"));
    let (mut child, url) = serve(&data, &log);
    let http = reqwest::Client::new();
    let data_dir = data.to_str().unwrap();

    let old_kids = jwks_kids(&http, &url).await;
    assert_eq!(old_kids.len(), 1);
    let old_token = access_token(&http, &url).await;
    assert_eq!(with_token(&http, &url, &old_token).await, 204);

    let rotated = pinframe(&["keys", "rotate", "--data-dir", data_dir]);
    assert!(rotated.status.success(), "{}", String::from_utf8_lossy(&rotated.stderr));
    let mut secrets = private_parts(&data);
    signal(&child, "HUP");
    eventually("two keys in the JWKS", async || jwks_kids(&http, &url).await.len() == 2).await;
    let kids = jwks_kids(&http, &url).await;
    assert_eq!(kids[1], old_kids[0], "the new key first, then the old one");
    assert_eq!(with_token(&http, &url, &old_token).await, 204);
    let new_token = access_token(&http, &url).await;
    assert_ne!(kid_of(&new_token), kid_of(&old_token));

    let refused = pinframe(&["keys", "retire", "--data-dir", data_dir]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(refused.stdout.is_empty());
    let reason = String::from_utf8_lossy(&refused.stderr);
    assert!(reason.contains("may still be in use until") && reason.lines().count() == 1, "{reason}");
    let again = pinframe(&["keys", "rotate", "--data-dir", data_dir]);
    assert_eq!((again.status.code(), again.stdout.is_empty()), (Some(1), true));
    assert!(String::from_utf8_lossy(&again.stderr).contains("retire it first"));
    let forced = pinframe(&["keys", "retire", "--data-dir", data_dir, "--force"]);
    assert!(forced.status.success(), "{}", String::from_utf8_lossy(&forced.stderr));
    assert!(String::from_utf8_lossy(&forced.stderr).starts_with("warning: --force"));
    signal(&child, "HUP");
    eventually("one key in the JWKS", async || jwks_kids(&http, &url).await.len() == 1).await;
    assert_eq!(jwks_kids(&http, &url).await, [kids[0].clone()]);
    assert_eq!(with_token(&http, &url, &old_token).await, 401);
    assert_eq!(with_token(&http, &url, &new_token).await, 204);

    // A key file that does not load: the reload fails, says which file, and changes nothing.
    secrets.extend(private_parts(&data));
    let key_file = data.join("service-key.jwk");
    let good = read(&key_file);
    std::fs::write(&key_file, "{\"kty\":\"EC\"}\n").unwrap();
    signal(&child, "HUP");
    eventually("the failed reload's log line", async || read(&log).contains("reloading the key files failed")).await;
    std::fs::write(&key_file, good).unwrap();
    assert_eq!(jwks_kids(&http, &url).await, [kids[0].clone()]);
    assert_eq!(with_token(&http, &url, &new_token).await, 204);

    signal(&child, "TERM");
    assert!(child.wait().unwrap().success());
    let log = read(&log);
    assert_eq!(log.matches("keys reloaded").count(), 2, "{log}");
    assert!(log.contains(&kids[0]) && log.contains("service-key.jwk"), "{log}");
    for secret in secrets {
        assert!(!log.contains(&secret), "a key reached the log");
    }
}

/// A keys-only directory (a PostgreSQL deployment's): without the database, `retire` cannot seal
/// anything again, so it refuses, `--force` or not, and keeps every key.
#[test]
fn retire_without_the_database_of_a_keys_only_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let keys_dir = keys.to_str().unwrap();
    assert!(pinframe(&["keys", "init", "--data-dir", keys_dir]).status.success());
    assert!(pinframe(&["keys", "rotate", "--data-dir", keys_dir]).status.success());
    let refused = pinframe(&["keys", "retire", "--data-dir", keys_dir, "--force"]);
    assert_eq!((refused.status.code(), refused.stdout.is_empty()), (Some(1), true));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("has no service.db"));
    assert!(keys.join("data-key.previous.hex").exists() && keys.join("cms/kek.previous.hex").exists());
}

//! The command line against `docs/protocol.md`, "Command line": outputs, exit codes, and an
//! empty stdout with a one-line reason on stderr for every failure.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn pinframe(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_pinframe"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A failing command may exit before reading stdin; a broken pipe here is fine.
    let _ = child.stdin.take().unwrap().write_all(stdin);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let out = pinframe(args, stdin);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty());
    out.stdout
}

/// Fails with a non-zero exit, nothing on stdout and exactly one line on stderr.
fn fails(args: &[&str], stdin: &[u8]) -> String {
    let out = pinframe(args, stdin);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert!(out.stdout.is_empty(), "{args:?} wrote to stdout on failure");
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{args:?}: stderr is not one line: {err:?}");
    assert!(err.ends_with('\n'));
    err
}

fn key_file(name: &str) -> (tempfile_path::TempPath, String) {
    let jwk = ok(&["keys", "generate"], b"");
    let path = tempfile_path::TempPath::new(name, &jwk);
    let s = path.0.to_str().unwrap().to_owned();
    (path, s)
}

/// A file removed on drop; no extra crate for one helper.
mod tempfile_path {
    pub(crate) struct TempPath(pub(crate) std::path::PathBuf);
    impl TempPath {
        pub(crate) fn new(name: &str, contents: &[u8]) -> Self {
            let path = std::env::temp_dir().join(format!("pinframe-cli-{}-{name}", std::process::id()));
            std::fs::write(&path, contents).unwrap();
            Self(path)
        }
    }
    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[test]
fn keys_generate_prints_private_jwk_with_thumbprint_kid() {
    let out = ok(&["keys", "generate"], b"");
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().count(), 1);
    let jwk: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(jwk["kty"], "EC");
    assert_eq!(jwk["crv"], "P-256");
    assert!(jwk["d"].is_string() && jwk["x"].is_string() && jwk["y"].is_string());
    let public = pinframe_core::PublicJwk::parse(&text).unwrap();
    assert_eq!(jwk["kid"], public.thumbprint());
}

#[test]
fn jwe_round_trip_is_byte_exact() {
    let (_guard, key) = key_file("rt.json");
    for plaintext in [&b"{\"pin\":\"2468\"}"[..], b"", b"trailing newline\n", &[0u8, 255, 10, 13, 0]] {
        let token = ok(&["jwe", "encrypt", "--jwk", &key], plaintext);
        let text = String::from_utf8(token.clone()).unwrap();
        assert!(text.ends_with('\n') && text.lines().count() == 1, "one compact JWE line");
        assert_eq!(text.trim_end().split('.').count(), 5);
        assert_eq!(ok(&["jwe", "decrypt", "--jwk", &key], &token), plaintext);
    }
}

#[test]
fn jwe_failures() {
    let (_guard, key) = key_file("fail.json");
    let (_guard2, other) = key_file("other.json");
    let token = ok(&["jwe", "encrypt", "--jwk", &key], b"secret");
    fails(&["jwe", "decrypt", "--jwk", &other], &token);
    fails(&["jwe", "decrypt", "--jwk", &key], b"not a jwe");
    fails(&["jwe", "decrypt", "--jwk", &key], &[0xff, 0xfe]);
    fails(&["jwe", "decrypt", "--jwk", "/nonexistent/key.json"], &token);
    fails(&["jwe", "encrypt", "--jwk", "/nonexistent/key.json"], b"x");
    let rsa = tempfile_path::TempPath::new("rsa.json", br#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#);
    fails(&["jwe", "encrypt", "--jwk", rsa.0.to_str().unwrap()], b"x");
    // A public JWK cannot decrypt.
    let public = pinframe_core::PublicJwk::parse(&std::fs::read_to_string(&key).unwrap()).unwrap().to_json();
    let public_file = tempfile_path::TempPath::new("pub.json", public.as_bytes());
    let err = fails(&["jwe", "decrypt", "--jwk", public_file.0.to_str().unwrap()], &token);
    assert!(!err.contains("secret"));
    // The reason never carries the plaintext.
    let err = fails(&["jwe", "decrypt", "--jwk", &other], &token);
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn pinblock_vectors() {
    let enc = |args: &[&str]| String::from_utf8(ok(args, b"")).unwrap();
    let key = "00112233445566778899AABBCCDDEEFF";
    let pan = "5555555551234567";
    let (pan19, psec_iso4) = ("1234567890123456789", "C8EE6F9C022C5C6275BD1E2998611B07");
    // Sources: the foundation issue's ISO 9564 vectors; the iso4 block was made by psec 1.3.0.
    let vectors: &[(&[&str], &str)] = &[
        (&["encode", "--format", "iso0", "--pan", pan, "1234"], "041261AAAAEDCBA9"),
        (&["encode", "--format", "iso0", "--pan", pan, "123456789012"], "0C1261032D8226A9"),
        (&["decode", "--format", "iso3", "--pan", "5544332211009966", "341277EEEFCCB43C"], "1234"),
        (&["decode", "--format", "iso0", "--pan", pan, "041261aaaaedcba9"], "1234"),
        (&["decode", "--format", "iso4", "--pan", pan19, "--key", key, psec_iso4], "1234"),
    ];
    for (args, expected) in vectors {
        let mut all = vec!["pinblock"];
        all.extend_from_slice(args);
        assert_eq!(enc(&all), format!("{expected}\n"), "{args:?}");
    }
    for format in ["iso1", "iso3", "iso4"] {
        let mut args = vec!["pinblock", "encode", "--format", format, "--pan", "5555555551234567"];
        if format == "iso4" {
            args.extend(["--key", key]);
        }
        args.push("97531");
        let block = enc(&args);
        let block = block.trim_end();
        assert!(block.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()), "upper-case hex");
        *args.last_mut().unwrap() = block;
        args[1] = "decode";
        assert_eq!(enc(&args), "97531\n");
    }
}

#[test]
fn pinblock_failures() {
    let pan = "5555555551234567";
    let key = "00112233445566778899AABBCCDDEEFF";
    let cases: &[(&str, &[&str])] = &[
        ("iso0 needs a PAN", &["encode", "--format", "iso0", "1234"]),
        ("PIN too short", &["encode", "--format", "iso0", "--pan", pan, "123"]),
        ("PIN too long", &["encode", "--format", "iso0", "--pan", pan, "1234567890123"]),
        ("not digits", &["encode", "--format", "iso0", "--pan", pan, "12a4"]),
        ("unknown format", &["encode", "--format", "iso2", "--pan", pan, "1234"]),
        ("PAN too short", &["encode", "--format", "iso0", "--pan", "1234", "1234"]),
        ("iso4 needs a key", &["encode", "--format", "iso4", "--pan", pan, "1234"]),
        ("key too short", &["encode", "--format", "iso4", "--pan", pan, "--key", "0011", "1234"]),
        ("key is for iso4 only", &["encode", "--format", "iso0", "--pan", pan, "--key", key, "1234"]),
        ("odd length", &["decode", "--format", "iso0", "--pan", pan, "041261AAAAEDCBA"]),
        ("not hex", &["decode", "--format", "iso0", "--pan", pan, "041261AAAAEDCBAZ"]),
        ("iso4 is 32 digits", &["decode", "--format", "iso4", "--pan", pan, "--key", key, "041261AAAAEDCBA9"]),
        (
            "the wrong PAN leaves a fill that is not all F",
            &["decode", "--format", "iso0", "--pan", "5544332211009966", "041261AAAAEDCBA9"],
        ),
    ];
    for (why, case) in cases {
        let mut args = vec!["pinblock"];
        args.extend_from_slice(case);
        let err = fails(&args, b"");
        assert!(err.starts_with("error: "), "{why}: {err}");
    }
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    for args in [&["frobnicate"][..], &["jwe", "encrypt"], &["pinblock", "encode", "--format", "iso0"], &[]] {
        let out = pinframe(args, b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(String::from_utf8(out.stderr).unwrap().lines().count(), 1, "{args:?}");
    }
    let help = pinframe(&["--help"], b"");
    assert!(help.status.success());
    assert!(String::from_utf8(help.stdout).unwrap().contains("pinblock"));
}

#[test]
fn operational_errors_exit_1_and_never_echo_the_pin() {
    let out = pinframe(&["pinblock", "encode", "--format", "iso0", "--pan", "5555555551234567", "98765x"], b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(!String::from_utf8(out.stderr).unwrap().contains("98765"));
}

//! Interoperability with implementations nobody here wrote, through the `pinframe` binary:
//! jwcrypto and joserfc (PyPI) and panva `jose` (npm) for JWE, psec (PyPI) for ISO 9564 PIN blocks.
//!
//! These need the oracles installed (`make test` does it: a Python venv in `target/pyenv` and
//! `tools/node_modules`), so they are `#[ignore]`d for a bare `cargo test`; `make test` runs them with
//! `--include-ignored`. Set `PINFRAME_PYTHON` to the interpreter that has the Python oracles.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(program: &str, args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e} (run `make test-deps`)"));
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pinframe(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    run(env!("CARGO_BIN_EXE_pinframe"), args, stdin)
}

fn python(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let python = std::env::var("PINFRAME_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let script = workspace().join("tools/oracle.py");
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    run(&python, &all, stdin)
}

fn node(args: &[&str], stdin: &[u8]) -> Vec<u8> {
    let script = workspace().join("tools/oracle.mjs");
    let mut all = vec![script.to_str().unwrap()];
    all.extend_from_slice(args);
    run("node", &all, stdin)
}

/// An oracle: how to encrypt to a JWK file and decrypt with one.
struct Jose {
    name: &'static str,
    encrypt: fn(&str, &[u8]) -> Vec<u8>,
    decrypt: fn(&str, &[u8]) -> Vec<u8>,
}

const ORACLES: [Jose; 3] = [
    Jose {
        name: "jwcrypto",
        encrypt: |jwk, p| python(&["jwcrypto-encrypt", jwk], p),
        decrypt: |jwk, c| python(&["jwcrypto-decrypt", jwk], c),
    },
    Jose {
        name: "joserfc",
        encrypt: |jwk, p| python(&["joserfc-encrypt", jwk], p),
        decrypt: |jwk, c| python(&["joserfc-decrypt", jwk], c),
    },
    Jose {
        name: "jose (npm)",
        encrypt: |jwk, p| node(&["encrypt", jwk], p),
        decrypt: |jwk, c| node(&["decrypt", jwk], c),
    },
];

fn plaintexts() -> Vec<Vec<u8>> {
    vec![
        br#"{"pin":"2468"}"#.to_vec(),
        br#"{"format":"ISO0","pinBlock":"041261AAAAEDCBA9"}"#.to_vec(),
        br#"{"pan":"5555555551234567","exp":"1229"}"#.to_vec(),
        "ünïcödé ✓".as_bytes().to_vec(),
        (0..=255u8).cycle().take(1000).collect(),
    ]
}

fn key_file(dir: &Path, name: &str, jwk: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, jwk).unwrap();
    path.to_str().unwrap().to_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pinframe-interop-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
#[ignore = "needs the JOSE oracles; `make test` runs it"]
fn oracles_encrypt_pinframe_decrypts() {
    let dir = temp_dir("in");
    let ours = key_file(&dir, "ours.json", &pinframe(&["keys", "generate"], b""));
    for oracle in &ORACLES {
        for plaintext in plaintexts() {
            let token = (oracle.encrypt)(&ours, &plaintext);
            let back = pinframe(&["jwe", "decrypt", "--jwk", &ours], &token);
            assert_eq!(back, plaintext, "{} → pinframe", oracle.name);
        }
    }
}

#[test]
#[ignore = "needs the JOSE oracles; `make test` runs it"]
fn pinframe_encrypts_oracles_decrypt() {
    let dir = temp_dir("out");
    // Our own key, and keys made by two of the oracles (our JWK parser reading theirs).
    let keys = [
        key_file(&dir, "ours.json", &pinframe(&["keys", "generate"], b"")),
        key_file(&dir, "jwcrypto.json", &python(&["jwcrypto-keygen"], b"")),
        key_file(&dir, "jose.json", &node(&["keygen"], b"")),
    ];
    for key in &keys {
        for oracle in &ORACLES {
            for plaintext in plaintexts() {
                let token = pinframe(&["jwe", "encrypt", "--jwk", key], &plaintext);
                assert!(token.ends_with(b"\n") && token.iter().filter(|&&b| b == b'\n').count() == 1);
                let back = (oracle.decrypt)(key, &token);
                assert_eq!(back, plaintext, "pinframe → {} with {key}", oracle.name);
            }
        }
    }
}

#[test]
#[ignore = "needs the JOSE oracles; `make test` runs it"]
fn apu_apv_from_oracles_are_honoured() {
    let dir = temp_dir("apu");
    let ours = key_file(&dir, "ours.json", &pinframe(&["keys", "generate"], b""));
    let plaintext = br#"{"pin":"1357"}"#;
    let by_jwcrypto = python(&["jwcrypto-encrypt", &ours, "Alice", "Bob"], plaintext);
    let by_jose = node(&["encrypt", &ours, "pinframe-widget", "pinframe-service"], plaintext);
    for token in [by_jwcrypto, by_jose] {
        let header = String::from_utf8(token.split(|&b| b == b'.').next().unwrap().to_vec()).unwrap();
        let header = base64_url_decode(&header);
        assert!(header.contains("\"apu\"") && header.contains("\"apv\""), "{header}");
        assert_eq!(pinframe(&["jwe", "decrypt", "--jwk", &ours], &token), plaintext);
    }
}

fn base64_url_decode(text: &str) -> String {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = 0u32;
    let mut n = 0;
    let mut out = Vec::new();
    for c in text.bytes() {
        let v = alphabet.iter().position(|&a| a == c).unwrap() as u32;
        bits = bits << 6 | v;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    String::from_utf8(out).unwrap()
}

const PINS: [&str; 5] = ["1234", "0000", "2468", "98765", "123456789012"];
const PANS: [&str; 4] = ["5555555551234567", "5544332211009966", "4111111111111", "1234567890123456789"];
const AES_KEYS: [&str; 3] = [
    "00112233445566778899AABBCCDDEEFF",
    "000102030405060708090A0B0C0D0E0F1011121314151617",
    "603DEB1015CA71BE2B73AEF0857D77811F352C073B6108D72D9810A30914DFF4",
];

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap().trim_end().to_owned()
}

#[test]
#[ignore = "needs psec; `make test` runs it"]
fn iso0_matches_psec_exactly() {
    for pan in PANS {
        for pin in PINS {
            let ours = text(pinframe(&["pinblock", "encode", "--format", "iso0", "--pan", pan, pin], b""));
            let theirs = text(python(&["psec-encode", "iso0", pan, "-", pin], b""));
            assert_eq!(ours, theirs, "PIN {pin} PAN {pan}");
            assert_eq!(text(python(&["psec-decode", "iso0", pan, "-", &ours], b"")), pin);
        }
    }
}

#[test]
#[ignore = "needs psec; `make test` runs it"]
fn iso3_and_iso4_agree_with_psec_both_ways() {
    for pan in PANS {
        for pin in PINS {
            let ours = text(pinframe(&["pinblock", "encode", "--format", "iso3", "--pan", pan, pin], b""));
            assert_eq!(text(python(&["psec-decode", "iso3", pan, "-", &ours], b"")), pin);
            let theirs = text(python(&["psec-encode", "iso3", pan, "-", pin], b""));
            let decoded = pinframe(&["pinblock", "decode", "--format", "iso3", "--pan", pan, &theirs], b"");
            assert_eq!(text(decoded), pin);

            for key in AES_KEYS {
                let ours =
                    text(pinframe(&["pinblock", "encode", "--format", "iso4", "--pan", pan, "--key", key, pin], b""));
                assert_eq!(ours.len(), 32);
                assert_eq!(text(python(&["psec-decode", "iso4", pan, key, &ours], b"")), pin);
                let theirs = text(python(&["psec-encode", "iso4", pan, key, pin], b""));
                let decoded =
                    pinframe(&["pinblock", "decode", "--format", "iso4", "--pan", pan, "--key", key, &theirs], b"");
                assert_eq!(text(decoded), pin, "PIN {pin} PAN {pan} key {key}");
            }
        }
    }
}

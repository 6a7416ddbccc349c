//! The core's JWE and PIN-block code running inside headless Chromium (wasm32), with randomness
//! from `crypto.getRandomValues`. Run by `make test` through `wasm-bindgen-test-runner`.
#![cfg(target_arch = "wasm32")]

use hex_literal::hex;
use pinframe_core::jwe;
use pinframe_core::pinblock::{self, PinBlockKey};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{Pan, Pin, PrivateJwk};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// A test key (made by `pinframe keys generate`) and JWEs made for it by outside libraries.
const KEY: &str = r#"{"crv":"P-256","d":"YncvS_xPWuhdGCftyPExuyQJEQPxTZiopBLUpu3Sv-g","kty":"EC","x":"YOb9Bz77ShhXcgTZKgr9C_ZfPVqtBkjMx9O8-Ci1pdY","y":"oZ4UZqTdntd9IOEnzSS2fjIsFdaMM1HRrql5VKmDpn8","kid":"zhw_rKfpXaf0c-gj50BiPzKJBkjrQFGTXPaYDxU6kkk"}"#;
/// Made by jwcrypto 1.6.1 (PyPI), plaintext `{"pin":"2468"}`.
const BY_JWCRYPTO: &str = "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSIsImVwayI6eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6IjlQTjU1UC1URHlYbDA4N09jTERoMVp4X2NTQXJyVWc4aWF2OTduQ1hnMEkiLCJ5Ijoibi02Nmk0NHBEZ1g0Wmp4d1BINjh6bWJQZEVDN2xuVVMzMDhQSE91OE9kYyJ9LCJraWQiOiJ6aHdfcktmcFhhZjBjLWdqNTBCaVB6S0pCa2pyUUZHVFhQYVlEeFU2a2trIn0..cyiAO5RrTd4YpxSx.cNJyI1nF0m6Jx-xBHoM.qKp6KhIVBUq53VyAZeqEVQ";
/// Made by panva jose 6.2.17 (npm) with apu "widget" and apv "service", plaintext `{"pin":"2468"}`.
const BY_JOSE: &str = "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTI1NkdDTSIsImtpZCI6Inpod19yS2ZwWGFmMGMtZ2o1MEJpUHpLSkJranJRRkdUWFBhWUR4VTZra2siLCJlcGsiOnsieCI6ImhTYXpkMFN4MmY0SEpWSklBWl9DZFZVdUhPVU5QUzU4Sm1TTVZvSTJnRTgiLCJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieSI6IkROSXJiN1hyS0RIRS0tSjAtVjdZbGZma3BYei01NkhZWE5NS2x6MjZjTlEifSwiYXB1IjoiZDJsa1oyVjAiLCJhcHYiOiJjMlZ5ZG1salpRIn0..cUM6YgfmSsUtSl7r.QXhrqyuBDhOrxXaRedc.vfery0ZRn_sQMqG7UwCBUQ";

#[wasm_bindgen_test]
fn decrypts_jwes_made_by_outside_libraries() {
    let key = PrivateJwk::parse(KEY).unwrap();
    for token in [BY_JWCRYPTO, BY_JOSE] {
        assert_eq!(&**jwe::decrypt(&key, token).unwrap(), br#"{"pin":"2468"}"#);
    }
}

#[wasm_bindgen_test]
fn rejects_a_tampered_jwe() {
    let key = PrivateJwk::parse(KEY).unwrap();
    let mut parts: Vec<String> = BY_JWCRYPTO.split('.').map(str::to_owned).collect();
    let tag = parts[4].clone();
    parts[4] = format!("{}{}", if tag.starts_with('A') { 'B' } else { 'A' }, &tag[1..]);
    assert!(jwe::decrypt(&key, &parts.join(".")).is_err());
}

#[wasm_bindgen_test]
fn generates_keys_and_round_trips_with_browser_randomness() {
    // An ephemeral key as the widget makes it, and a JWE to it as the service makes it.
    let widget = PrivateJwk::generate(&mut OsRng);
    let other = PrivateJwk::generate(&mut OsRng);
    assert_ne!(widget.kid(), other.kid(), "crypto.getRandomValues feeds the generator");
    let token = jwe::encrypt(widget.public(), br#"{"pin":"13579"}"#, &mut OsRng);
    assert_eq!(&**jwe::decrypt(&widget, &token).unwrap(), br#"{"pin":"13579"}"#);
    assert!(jwe::decrypt(&other, &token).is_err());
}

#[wasm_bindgen_test]
fn pin_blocks_match_iso_vectors() {
    let pan = Pan::parse("5555555551234567").unwrap();
    let pin = Pin::parse("1234").unwrap();
    assert_eq!(pinblock::encode_iso0(&pin, &pan), hex!("041261AAAAEDCBA9"));
    let long = Pin::parse("123456789012").unwrap();
    assert_eq!(pinblock::encode_iso0(&long, &pan), hex!("0C1261032D8226A9"));
    let pan3 = Pan::parse("5544332211009966").unwrap();
    assert_eq!(pinblock::decode_iso3(&hex!("341277EEEFCCB43C"), &pan3).unwrap().expose(), "1234");
    // Made by psec 1.3.0 encipher_pinblock_iso_4.
    let key = PinBlockKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
    let pan4 = Pan::parse("1234567890123456789").unwrap();
    let pin4 = pinblock::decode_iso4(&hex!("C8EE6F9C022C5C6275BD1E2998611B07"), &pan4, &key).unwrap();
    assert_eq!(pin4.expose(), "1234");
    let block = pinblock::encode_iso4(&pin, &pan, &key, &mut OsRng);
    assert_eq!(pinblock::decode_iso4(&block, &pan, &key).unwrap().expose(), "1234");
}

//! JWE behaviour: round trips, the strict header checks, and tampering.
//!
//! The header tests forge JWEs whose tag is *valid* for the bad header, so what rejects them is the
//! header check itself, not the AAD.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64ct::{Base64UrlUnpadded, Encoding};
use pinframe_core::jwe::{self, PartyInfo};
use pinframe_core::kdf::concat_kdf;
use pinframe_core::rand_core::OsRng;
use pinframe_core::{JweError, PrivateJwk};

fn b64(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Encrypts to `key` with exactly the given header members (plus a fresh `epk`), tag valid.
fn forge(key: &PrivateJwk, members: &str, plaintext: &[u8]) -> String {
    let eph = p256::ecdh::EphemeralSecret::random(&mut OsRng);
    let epk = pinframe_core::PublicJwk::from_key(eph.public_key()).to_json();
    let header = format!(r#"{{{members},"epk":{epk}}}"#);
    let protected = b64(header.as_bytes());
    let shared = eph.diffie_hellman(key.public().key());
    let mut cek = [0u8; 32];
    concat_kdf(shared.raw_secret_bytes(), b"A256GCM", b"", b"", &mut cek);
    let sealed = Aes256Gcm::new(&cek.into())
        .encrypt(Nonce::from_slice(&[7u8; 12]), Payload { msg: plaintext, aad: protected.as_bytes() })
        .unwrap();
    let (ct, tag) = sealed.split_at(sealed.len() - 16);
    format!("{protected}..{}.{}.{}", b64(&[7u8; 12]), b64(ct), b64(tag))
}

#[test]
fn round_trip_and_header() {
    let key = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), br#"{"pin":"2468"}"#, &mut OsRng);
    assert_eq!(token.split('.').count(), 5);
    assert_eq!(token.split('.').nth(1), Some(""), "ECDH-ES has an empty encrypted key");
    let header: serde_json::Value =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "ECDH-ES");
    assert_eq!(header["enc"], "A256GCM");
    assert_eq!(header["kid"], key.kid());
    assert_eq!(header["epk"]["crv"], "P-256");
    assert!(header["epk"].get("d").is_none());
    assert_eq!(&**jwe::decrypt(&key, &token).unwrap(), br#"{"pin":"2468"}"#);
}

#[test]
fn empty_plaintext_round_trips() {
    let key = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), b"", &mut OsRng);
    assert!(jwe::decrypt(&key, &token).unwrap().is_empty());
}

#[test]
fn apu_apv_are_honoured() {
    let key = PrivateJwk::generate(&mut OsRng);
    let party = PartyInfo { apu: Some(b"Alice"), apv: Some(b"Bob") };
    let token = jwe::encrypt_with(key.public(), b"hello", party, &mut OsRng);
    assert_eq!(&**jwe::decrypt(&key, &token).unwrap(), b"hello");
    // The KDF input really includes them: a forged header without apu/apv cannot use the same CEK,
    // so swapping the protected header (and so the AAD and KDF) fails.
    let plain = forge(&key, r#""alg":"ECDH-ES","enc":"A256GCM""#, b"x");
    assert_eq!(&**jwe::decrypt(&key, &plain).unwrap(), b"x");
}

#[test]
fn forged_but_well_formed_header_is_accepted() {
    let key = PrivateJwk::generate(&mut OsRng);
    let kid = key.kid().to_owned();
    let ok = forge(&key, &format!(r#""alg":"ECDH-ES","enc":"A256GCM","kid":"{kid}","typ":"JOSE""#), b"ok");
    assert_eq!(&**jwe::decrypt(&key, &ok).unwrap(), b"ok", "the forging helper itself is sound");
    let no_kid = forge(&key, r#""alg":"ECDH-ES","enc":"A256GCM""#, b"ok");
    assert_eq!(&**jwe::decrypt(&key, &no_kid).unwrap(), b"ok", "a JWE without kid is accepted");
}

#[test]
fn strict_header_checks() {
    let key = PrivateJwk::generate(&mut OsRng);
    let bad_headers = [
        r#""alg":"ECDH-ES+A256KW","enc":"A256GCM""#,
        r#""alg":"RSA-OAEP","enc":"A256GCM""#,
        r#""alg":"dir","enc":"A256GCM""#,
        r#""alg":"ECDH-ES","enc":"A128GCM""#,
        r#""alg":"ECDH-ES","enc":"A256CBC-HS512""#,
        r#""alg":"ECDH-ES","enc":"A256GCM","zip":"DEF""#,
        r#""alg":"ECDH-ES","enc":"A256GCM","crit":["exp"],"exp":1"#,
        r#""alg":"ECDH-ES","enc":"A256GCM","kid":"someone-else""#,
        r#""alg":"ECDH-ES","alg":"ECDH-ES","enc":"A256GCM""#,
        r#""enc":"A256GCM""#,
        r#""alg":"ECDH-ES""#,
        r#""alg":"ECDH-ES","enc":"A256GCM","apu":"not base64!""#,
    ];
    for members in bad_headers {
        let token = forge(&key, members, b"secret");
        assert_eq!(jwe::decrypt(&key, &token).map(|_| ()), Err(JweError), "accepted header {members}");
    }
}

#[test]
fn epk_off_curve_or_other_curve_is_rejected() {
    let key = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), b"secret", &mut OsRng);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut header: serde_json::Value =
        serde_json::from_slice(&Base64UrlUnpadded::decode_vec(&parts[0]).unwrap()).unwrap();

    let mut off_curve = header.clone();
    let y = off_curve["epk"]["y"].as_str().unwrap().to_owned();
    let mut y_bytes = Base64UrlUnpadded::decode_vec(&y).unwrap();
    y_bytes[31] ^= 1;
    off_curve["epk"]["y"] = b64(&y_bytes).into();
    let mut identity = header.clone();
    identity["epk"]["x"] = b64(&[0u8; 32]).into();
    identity["epk"]["y"] = b64(&[0u8; 32]).into();
    let mut p384 = header.clone();
    p384["epk"]["crv"] = "P-384".into();
    header["epk"]["kty"] = "OKP".into();

    for bad in [off_curve, identity, p384, header] {
        parts[0] = b64(bad.to_string().as_bytes());
        assert_eq!(jwe::decrypt(&key, &parts.join(".")).map(|_| ()), Err(JweError));
    }
}

#[test]
fn tampering_any_part_fails() {
    let key = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), br#"{"pin":"2468"}"#, &mut OsRng);
    let parts: Vec<&str> = token.split('.').collect();
    for index in [0, 2, 3, 4] {
        let mut bytes = Base64UrlUnpadded::decode_vec(parts[index]).unwrap();
        for bit in [0, bytes.len() * 8 - 1] {
            let mut flipped = bytes.clone();
            flipped[bit / 8] ^= 1 << (bit % 8);
            let mut tampered: Vec<String> = parts.iter().map(|p| p.to_string()).collect();
            tampered[index] = b64(&flipped);
            let result = jwe::decrypt(&key, &tampered.join("."));
            assert_eq!(result.map(|_| ()), Err(JweError), "part {index} bit {bit}");
        }
        bytes.clear();
    }
}

#[test]
fn structural_damage_fails() {
    let key = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), b"secret", &mut OsRng);
    let parts: Vec<&str> = token.split('.').collect();
    let cases = [
        parts[..4].join("."),
        format!("{token}."),
        format!("{}.{}.{}.{}.{}", parts[0], "AAAA", parts[2], parts[3], parts[4]),
        format!("{}..{}.{}.{}", parts[0], b64(&[0u8; 16]), parts[3], parts[4]),
        format!("{}..{}.{}.{}", parts[0], parts[2], parts[3], b64(&[0u8; 15])),
        format!("{}..{}=.{}.{}", parts[0], parts[2], parts[3], parts[4]),
        token.replace('.', ". "),
        String::new(),
        "a".repeat(jwe::MAX_COMPACT_LEN + 1),
    ];
    for case in cases {
        assert_eq!(jwe::decrypt(&key, &case).map(|_| ()), Err(JweError));
    }
}

#[test]
fn another_key_fails() {
    let key = PrivateJwk::generate(&mut OsRng);
    let other = PrivateJwk::generate(&mut OsRng);
    let token = jwe::encrypt(key.public(), b"secret", &mut OsRng);
    assert_eq!(jwe::decrypt(&other, &token).map(|_| ()), Err(JweError));
}

#[test]
fn private_jwk_round_trips_and_checks_d() {
    let key = PrivateJwk::generate(&mut OsRng);
    let json = key.to_json();
    let again = PrivateJwk::parse(&json).unwrap();
    assert_eq!(again.kid(), key.kid());
    assert_eq!(again.kid(), key.public().thumbprint());
    assert!(!format!("{key:?}")
        .contains(&*serde_json::from_str::<serde_json::Value>(&json).unwrap()["d"].as_str().unwrap().to_owned()));

    // A `d` belonging to another key is refused.
    let other = PrivateJwk::generate(&mut OsRng);
    let mut mixed: serde_json::Value = serde_json::from_str(&json).unwrap();
    let other_json: serde_json::Value = serde_json::from_str(&other.to_json()).unwrap();
    mixed["d"] = other_json["d"].clone();
    assert!(PrivateJwk::parse(&mixed.to_string()).is_err());
    // A zero scalar is refused.
    mixed["d"] = b64(&[0u8; 32]).into();
    assert!(PrivateJwk::parse(&mixed.to_string()).is_err());
}

#[test]
fn jwk_parse_rejects_other_keys() {
    use pinframe_core::{FormatError, PublicJwk};
    let ok = r#"{"kty":"EC","crv":"P-256","x":"UbInEqNbZZZ9SJptBwKTKO6qslSyuWvMkVK44Bx_d8U","y":"PUxeHMNVL0VRxOYJrkHcpe6sap7IG-Are0QborZDngI"}"#;
    assert!(PublicJwk::parse(ok).is_ok());
    let cases = [
        (ok.replace("P-256", "P-384"), FormatError::JwkCurve),
        (ok.replace(r#""EC""#, r#""OKP""#), FormatError::JwkCurve),
        (
            ok.replace("PUxeHMNVL0VRxOYJrkHcpe6sap7IG-Are0QborZDngI", "PUxeHMNVL0VRxOYJrkHcpe6sap7IG-Are0QborZDngM"),
            FormatError::JwkPoint,
        ),
        (ok.replace("PUxeHMNVL0VRxOYJrkHcpe6sap7IG-Are0QborZDngI", "PUxe"), FormatError::JwkPoint),
        (ok.replace(r#""kty""#, r#""use":"sig","kty""#), FormatError::Jwk),
        (ok.replace(r#""kty""#, r#""alg":"ES256","kty""#), FormatError::Jwk),
        (format!("{ok} trailing"), FormatError::Jwk),
        ("{}".to_owned(), FormatError::Jwk),
    ];
    for (json, err) in cases {
        assert_eq!(PublicJwk::parse(&json).map(|_| ()), Err(err), "{json}");
    }
}

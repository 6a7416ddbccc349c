//! Published test vectors, each with its source.

use hex_literal::hex;
use pinframe_core::kdf::concat_kdf;
use pinframe_core::pinblock::{self, PinBlockKey};
use pinframe_core::{Pan, Pin, PrivateJwk, PublicJwk};

/// RFC 7518 Appendix C: "Example ECDH-ES Key Agreement Computation". Alice's ephemeral key, Bob's key,
/// the shared secret Z, and the Concat KDF output for `A128GCM` with apu "Alice" and apv "Bob".
mod rfc7518_appendix_c {
    use super::*;

    const ALICE_EPHEMERAL: &str = r#"{"kty":"EC","crv":"P-256",
        "x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0",
        "y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps",
        "d":"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}"#;
    const BOB: &str = r#"{"kty":"EC","crv":"P-256",
        "x":"weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ",
        "y":"e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck",
        "d":"VEmDZpDXXK8p8N0Cndsxs924q6nS1RXFASRl6BfUqdw"}"#;
    const Z: [u8; 32] = [
        158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106,
        72, 246, 218, 167, 121, 140, 254, 144, 196,
    ];
    const DERIVED: [u8; 16] = [86, 170, 141, 234, 248, 35, 109, 32, 92, 34, 40, 205, 113, 167, 16, 26];

    #[test]
    fn concat_kdf_matches() {
        let mut out = [0u8; 16];
        concat_kdf(&Z, b"A128GCM", b"Alice", b"Bob", &mut out);
        assert_eq!(out, DERIVED);
    }

    #[test]
    fn keys_parse_and_agree_on_z() {
        // The published keys are valid P-256 JWKs whose private halves match their public ones.
        let alice = PrivateJwk::parse(ALICE_EPHEMERAL).unwrap();
        let bob = PrivateJwk::parse(BOB).unwrap();
        let alice_d = p256::SecretKey::from_bytes(&d_of(ALICE_EPHEMERAL).into()).unwrap();
        let z = p256::ecdh::diffie_hellman(alice_d.to_nonzero_scalar(), bob.public().key().as_affine());
        assert_eq!(z.raw_secret_bytes().as_slice(), &Z);
        assert_ne!(alice.kid(), bob.kid());
    }

    fn d_of(jwk: &str) -> [u8; 32] {
        use base64ct::{Base64UrlUnpadded, Encoding};
        let json: serde_json::Value = serde_json::from_str(jwk).unwrap();
        let mut out = [0u8; 32];
        Base64UrlUnpadded::decode(json["d"].as_str().unwrap(), &mut out).unwrap();
        out
    }
}

/// RFC 7638 thumbprint of the Thales D1 sample encryption key, whose published `kid` is the thumbprint.
#[test]
fn rfc7638_thumbprint_of_d1_sample_key() {
    let jwk = PublicJwk::parse(
        r#"{"kty":"EC","crv":"P-256","x":"UbInEqNbZZZ9SJptBwKTKO6qslSyuWvMkVK44Bx_d8U","y":"PUxeHMNVL0VRxOYJrkHcpe6sap7IG-Are0QborZDngI"}"#,
    )
    .unwrap();
    assert_eq!(jwk.thumbprint(), "ASDsL-Jx2XOkRnFtqW-QblWY-mDnQW2LgapadFx75tA");
    assert_eq!(jwk.kid(), "ASDsL-Jx2XOkRnFtqW-QblWY-mDnQW2LgapadFx75tA", "no kid: kid is the thumbprint");
}

/// RFC 7638 §3.1's own example is RSA; for EC, the thumbprint ignores `kid`, `use`, `alg` and order.
#[test]
fn thumbprint_ignores_optional_members() {
    let a = PublicJwk::parse(r#"{"y":"PUxeHMNVL0VRxOYJrkHcpe6sap7IG-Are0QborZDngI","kid":"other","use":"enc","crv":"P-256","x":"UbInEqNbZZZ9SJptBwKTKO6qslSyuWvMkVK44Bx_d8U","kty":"EC"}"#).unwrap();
    assert_eq!(a.thumbprint(), "ASDsL-Jx2XOkRnFtqW-QblWY-mDnQW2LgapadFx75tA");
    assert_eq!(a.kid(), "other");
}

/// ISO 9564-1 format 0 and 3 vectors from the foundation issue; psec 1.3.0 gives the same values.
mod iso9564 {
    use super::*;

    fn pan(s: &str) -> Pan {
        Pan::parse(s).unwrap()
    }

    #[test]
    fn format0_encode() {
        let cases = [
            ("1234", "5555555551234567", hex!("041261AAAAEDCBA9")),
            ("123456789012", "5555555551234567", hex!("0C1261032D8226A9")),
        ];
        for (pin, p, block) in cases {
            let pin = Pin::parse(pin).unwrap();
            assert_eq!(pinblock::encode_iso0(&pin, &pan(p)), block);
            assert_eq!(pinblock::decode_iso0(&block, &pan(p)).unwrap().expose(), pin.expose());
        }
    }

    /// ISO 9564-1: with fewer than 12 PAN digits before the check digit, they are right-justified and
    /// zero-padded on the left. (psec refuses PANs under 13 digits, so this is worked by hand:
    /// `041234FFFFFFFFFF` XOR `0000012345678901`.)
    #[test]
    fn format0_short_pan_is_zero_padded() {
        let pin = Pin::parse("1234").unwrap();
        let block = pinblock::encode_iso0(&pin, &pan("123456789012"));
        assert_eq!(block, hex!("041235DCBA9876FE"));
        assert_eq!(pinblock::decode_iso0(&block, &pan("123456789012")).unwrap().expose(), "1234");
    }

    #[test]
    fn format3_decode() {
        let pin = pinblock::decode_iso3(&hex!("341277EEEFCCB43C"), &pan("5544332211009966")).unwrap();
        assert_eq!(pin.expose(), "1234");
    }

    /// A format 4 block made by psec 1.3.0 `encipher_pinblock_iso_4` (its random fill included).
    #[test]
    fn format4_decode_psec_block() {
        let key = PinBlockKey::from_hex("00112233445566778899AABBCCDDEEFF").unwrap();
        let block = hex!("C8EE6F9C022C5C6275BD1E2998611B07");
        let pin = pinblock::decode_iso4(&block, &pan("1234567890123456789"), &key).unwrap();
        assert_eq!(pin.expose(), "1234");
        // The wrong PAN or key fails the fill check instead of yielding a wrong PIN.
        assert!(pinblock::decode_iso4(&block, &pan("1234567890123456780"), &key).is_err());
        let other = PinBlockKey::from_hex("00112233445566778899AABBCCDDEEFE").unwrap();
        assert!(pinblock::decode_iso4(&block, &pan("1234567890123456789"), &other).is_err());
    }

    #[test]
    fn format0_rejects_bad_fill_and_length() {
        let p = pan("5555555551234567");
        // Clear block 04 1234 FFFF FFFE: fill digit not F.
        let mut block = pinblock::encode_iso0(&Pin::parse("1234").unwrap(), &p);
        block[7] ^= 0x01;
        assert!(pinblock::decode_iso0(&block, &p).is_err());
        // Length nibble 3.
        let mut block = pinblock::encode_iso0(&Pin::parse("1234").unwrap(), &p);
        block[0] ^= 0x07;
        assert!(pinblock::decode_iso0(&block, &p).is_err());
        // Control nibble 1.
        let mut block = pinblock::encode_iso0(&Pin::parse("1234").unwrap(), &p);
        block[0] ^= 0x10;
        assert!(pinblock::decode_iso0(&block, &p).is_err());
    }
}

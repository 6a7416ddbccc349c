//! Property tests: round trips for every format, and parsers that never panic on garbage.

use pinframe_core::jwe::{self, PartyInfo};
use pinframe_core::pinblock::{self, PinBlockFormat, PinBlockKey};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{Pan, Pin, PrivateJwk, PublicJwk};
use proptest::prelude::*;

fn pin() -> impl Strategy<Value = String> {
    "[0-9]{4,12}"
}

fn pan() -> impl Strategy<Value = String> {
    "[0-9]{12,19}"
}

fn aes_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 24),
        proptest::collection::vec(any::<u8>(), 32),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn jwe_round_trip(plaintext in proptest::collection::vec(any::<u8>(), 0..512),
                      apu in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40)),
                      apv in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))) {
        let key = PrivateJwk::generate(&mut OsRng);
        let party = PartyInfo { apu: apu.as_deref(), apv: apv.as_deref() };
        let token = jwe::encrypt_with(key.public(), &plaintext, party, &mut OsRng);
        prop_assert_eq!(&**jwe::decrypt(&key, &token).unwrap(), plaintext.as_slice());
    }

    #[test]
    fn pinblock_round_trip(pin in pin(), pan in pan(), key in aes_key()) {
        let pin = Pin::parse(&pin).unwrap();
        let pan = Pan::parse(&pan).unwrap();
        let key = PinBlockKey::from_bytes(&key).unwrap();
        for format in [PinBlockFormat::Iso0, PinBlockFormat::Iso1, PinBlockFormat::Iso3, PinBlockFormat::Iso4] {
            let block = pinblock::encode(format, &pin, Some(&pan), Some(&key), &mut OsRng).unwrap();
            prop_assert_eq!(block.len(), format.block_len());
            let back = pinblock::decode(format, &block, Some(&pan), Some(&key)).unwrap();
            prop_assert_eq!(back.expose(), pin.expose());
            let hex = pinblock::hex_encode(&block);
            prop_assert_eq!(pinblock::hex_decode(&hex).unwrap(), block.to_vec());
        }
    }

    #[test]
    fn jwe_decrypt_never_panics(garbage in ".{0,300}") {
        let key = PrivateJwk::generate(&mut OsRng);
        prop_assert!(jwe::decrypt(&key, &garbage).is_err());
    }

    #[test]
    fn jwk_parse_never_panics(garbage in ".{0,300}") {
        let _ = PublicJwk::parse(&garbage);
        let _ = PrivateJwk::parse(&garbage);
    }

    #[test]
    fn pinblock_decode_never_panics(block in proptest::collection::vec(any::<u8>(), 0..20), pan in pan()) {
        let pan = Pan::parse(&pan).unwrap();
        let key = PinBlockKey::from_bytes(&[9u8; 16]).unwrap();
        for format in [PinBlockFormat::Iso0, PinBlockFormat::Iso1, PinBlockFormat::Iso3, PinBlockFormat::Iso4] {
            if let Ok(pin) = pinblock::decode(format, &block, Some(&pan), Some(&key)) {
                prop_assert!((4..=12).contains(&pin.len()));
            }
        }
    }
}

//! Public and private JWK parsing: never panics; anything accepted re-serializes and re-parses.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinframe_core::{PrivateJwk, PublicJwk};

fuzz_target!(|data: &str| {
    if let Ok(key) = PublicJwk::parse(data) {
        let again = PublicJwk::parse(&key.to_json()).expect("our own output parses");
        assert_eq!(again.thumbprint(), key.thumbprint());
    }
    if let Ok(key) = PrivateJwk::parse(data) {
        let again = PrivateJwk::parse(&key.to_json()).expect("our own output parses");
        assert_eq!(again.public().thumbprint(), key.public().thumbprint());
    }
});

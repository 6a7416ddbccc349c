//! JWE compact parsing and decryption with a fixed key: must never panic, must never succeed on garbage.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinframe_core::{jwe, PrivateJwk};

const KEY: &str = r#"{"kty":"EC","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps","d":"0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"}"#;

static PARSED: std::sync::OnceLock<PrivateJwk> = std::sync::OnceLock::new();

fuzz_target!(|data: &str| {
    let key = PARSED.get_or_init(|| PrivateJwk::parse(KEY).expect("RFC 7518 Appendix C key"));
    let _ = jwe::decrypt(key, data);
});

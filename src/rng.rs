//! The widget's randomness.

use pinframe_core::rand_core::{self, CryptoRng, OsRng, RngCore};

/// `crypto.getRandomValues`, as [`OsRng`] gives it, but without its panic on failure: that panic
/// formats getrandom's error, which brings every platform's error texts into the wasm. Without
/// randomness the page cannot go on either way; this stops it without a message.
#[derive(Clone, Copy, Debug, Default)]
pub struct BrowserRng;

impl RngCore for BrowserRng {
    fn next_u32(&mut self) -> u32 {
        rand_core::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        if OsRng.try_fill_bytes(dest).is_err() {
            std::process::abort();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        OsRng.try_fill_bytes(dest)
    }
}

impl CryptoRng for BrowserRng {}

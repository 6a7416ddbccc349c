//! PIN-block decoding in every format: never panics; a decoded PIN re-encodes to a block that decodes
//! to the same PIN.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pinframe_core::pinblock::{self, PinBlockFormat, PinBlockKey};
use pinframe_core::rand_core::{CryptoRng, Error, RngCore};
use pinframe_core::Pan;

/// Deterministic filler for re-encoding; the fuzzer needs reproducible runs, not secrecy.
struct Counter(u8);
impl RngCore for Counter {
    fn next_u32(&mut self) -> u32 {
        u32::from(self.next_u8())
    }
    fn next_u64(&mut self) -> u64 {
        u64::from(self.next_u8())
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        dest.iter_mut().for_each(|b| *b = self.next_u8());
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}
impl CryptoRng for Counter {}
impl Counter {
    fn next_u8(&mut self) -> u8 {
        self.0 = self.0.wrapping_add(37);
        self.0
    }
}

fuzz_target!(|data: &[u8]| {
    let pan = Pan::parse("5555555551234567").expect("valid PAN");
    let key = PinBlockKey::from_bytes(&[0x42; 16]).expect("AES-128 key");
    for format in [PinBlockFormat::Iso0, PinBlockFormat::Iso1, PinBlockFormat::Iso3, PinBlockFormat::Iso4] {
        if let Ok(pin) = pinblock::decode(format, data, Some(&pan), Some(&key)) {
            let block = pinblock::encode(format, &pin, Some(&pan), Some(&key), &mut Counter(0)).expect("encodes");
            let again = pinblock::decode(format, &block, Some(&pan), Some(&key)).expect("round trip");
            assert_eq!(again.expose(), pin.expose());
        }
    }
    if let Ok(text) = core::str::from_utf8(data) {
        let _ = pinblock::hex_decode(text);
        let _ = PinBlockKey::from_hex(text);
    }
});

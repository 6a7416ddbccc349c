//! Unpadded base64url (RFC 4648 §5), the only base64 that JOSE uses.

use alloc::string::String;
use alloc::vec::Vec;
use base64ct::{Base64UrlUnpadded, Encoding};

pub(crate) fn encode(bytes: &[u8]) -> String {
    Base64UrlUnpadded::encode_string(bytes)
}

/// Decodes strict unpadded base64url; padding, other alphabets and non-canonical trailing bits fail.
pub(crate) fn decode(text: &str) -> Option<Vec<u8>> {
    Base64UrlUnpadded::decode_vec(text).ok()
}

/// Decodes into a fixed-size array, failing on any other length.
pub(crate) fn decode_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let decoded = Base64UrlUnpadded::decode(text, &mut out).ok()?;
    (decoded.len() == N).then_some(out)
}

//! The Concat KDF of NIST SP 800-56A §5.8.1 as profiled by RFC 7518 §4.6.2 for `ECDH-ES`.

use sha2::{Digest, Sha256};
use zeroize::Zeroize;

/// Derives `out.len()` bytes of key material from the ECDH shared secret `z`.
///
/// `OtherInfo` is `AlgorithmID || PartyUInfo || PartyVInfo || SuppPubInfo`, where the first three are
/// each a 32-bit big-endian length followed by the bytes (`apu`/`apv` decoded, or empty) and
/// `SuppPubInfo` is the key length in bits, 32-bit big-endian. For `ECDH-ES` direct key agreement,
/// `algorithm_id` is the `enc` value (e.g. `A256GCM`).
pub fn concat_kdf(z: &[u8], algorithm_id: &[u8], apu: &[u8], apv: &[u8], out: &mut [u8]) {
    let key_bits = u32::try_from(out.len() * 8).unwrap_or(u32::MAX);
    for (round, chunk) in out.chunks_mut(32).enumerate() {
        let counter = u32::try_from(round + 1).unwrap_or(u32::MAX);
        let mut hash = Sha256::new();
        hash.update(counter.to_be_bytes());
        hash.update(z);
        for field in [algorithm_id, apu, apv] {
            hash.update(u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
            hash.update(field);
        }
        hash.update(key_bits.to_be_bytes());
        let mut digest = hash.finalize();
        chunk.copy_from_slice(&digest[..chunk.len()]);
        digest.zeroize();
    }
}

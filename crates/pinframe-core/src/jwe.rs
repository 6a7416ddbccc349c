//! JWE compact serialization (RFC 7516 §7.1) with one profile: `alg` = `ECDH-ES` (direct key
//! agreement, RFC 7518 §4.6), `enc` = `A256GCM` (RFC 7518 §5.3), curve P-256.
//!
//! Decryption checks the header strictly and fails with one opaque [`JweError`]: any other alg, enc
//! or curve, a `zip`, any `crit` (we understand no extensions), a `kid` naming another key, an `epk`
//! that is not a point on P-256, a non-empty encrypted key, a wrong IV or tag length, or a bad tag.
//! The tag is checked before any plaintext is released (AES-GCM authenticates, then decrypts).

use alloc::string::String;
use alloc::vec::Vec;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use p256::ecdh::{diffie_hellman, EphemeralSecret};
use rand_core::CryptoRngCore;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::b64;
use crate::error::JweError;
use crate::jwk::point_from_coordinates;
use crate::jwk::{PrivateJwk, PublicJwk};
use crate::kdf::concat_kdf;

/// The only key-management algorithm.
pub const ALG: &str = "ECDH-ES";
/// The only content-encryption algorithm.
pub const ENC: &str = "A256GCM";
/// Longest compact JWE we try to parse. Ours carry a PIN or a PIN block; this bounds the work a
/// hostile input can cause.
pub const MAX_COMPACT_LEN: usize = 64 * 1024;

const IV_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// Optional Concat KDF party information, as raw bytes (written base64url in the header).
#[derive(Clone, Copy, Debug, Default)]
pub struct PartyInfo<'a> {
    /// `apu`: information about the producer.
    pub apu: Option<&'a [u8]>,
    /// `apv`: information about the recipient.
    pub apv: Option<&'a [u8]>,
}

#[derive(Serialize, Deserialize)]
struct EpkJson<'a> {
    kty: &'a str,
    crv: &'a str,
    x: &'a str,
    y: &'a str,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'a str,
    enc: &'a str,
    kid: &'a str,
    epk: EpkJson<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apu: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    apv: Option<String>,
}

/// The protected header as read. Duplicate members of these names fail to parse.
#[derive(Deserialize)]
struct HeaderIn {
    alg: String,
    enc: String,
    epk: EpkIn,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    apu: Option<String>,
    #[serde(default)]
    apv: Option<String>,
    /// Refused whatever their value; only their presence is kept.
    #[serde(default)]
    zip: Option<IgnoredAny>,
    #[serde(default)]
    crit: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct EpkIn {
    kty: String,
    crv: String,
    x: String,
    y: String,
    /// A private part: refused whatever its value (only its presence is kept).
    #[serde(default)]
    d: Option<IgnoredAny>,
}

/// Whether the protected header of `compact` has an `epk` with a private part `d`. For the log
/// line after [`decrypt`] refused it: the sender leaked its ephemeral private key.
pub fn epk_has_private_part(compact: &str) -> bool {
    #[derive(Deserialize)]
    struct Header {
        epk: Option<EpkIn>,
    }
    let protected = compact.split('.').next().unwrap_or_default();
    b64::decode(protected)
        .and_then(|bytes| serde_json::from_slice::<Header>(&bytes).ok())
        .and_then(|header| header.epk)
        .is_some_and(|epk| epk.d.is_some())
}

/// Encrypts `plaintext` to `recipient`, writing its `kid` in the header.
pub fn encrypt(recipient: &PublicJwk, plaintext: &[u8], rng: &mut impl CryptoRngCore) -> String {
    encrypt_with(recipient, plaintext, PartyInfo::default(), rng)
}

/// Encrypts `plaintext` to `recipient` with `apu`/`apv` in the header and the key derivation.
pub fn encrypt_with(
    recipient: &PublicJwk,
    plaintext: &[u8],
    party: PartyInfo<'_>,
    rng: &mut impl CryptoRngCore,
) -> String {
    let ephemeral = EphemeralSecret::random(rng);
    let epk = PublicJwk::from_key(ephemeral.public_key());
    let shared = ephemeral.diffie_hellman(recipient.key());

    let (x, y) = epk.coordinates();
    let header = HeaderOut {
        alg: ALG,
        enc: ENC,
        kid: recipient.kid(),
        epk: EpkJson { kty: "EC", crv: "P-256", x: &x, y: &y },
        apu: party.apu.map(b64::encode),
        apv: party.apv.map(b64::encode),
    };
    // A struct of strings always serializes (see `PublicJwk::to_json` for why not `expect`).
    let protected = b64::encode(&serde_json::to_vec(&header).unwrap_or_default());

    let mut cek = Zeroizing::new([0u8; 32]);
    concat_kdf(
        shared.raw_secret_bytes(),
        ENC.as_bytes(),
        party.apu.unwrap_or_default(),
        party.apv.unwrap_or_default(),
        cek.as_mut(),
    );
    let mut iv = [0u8; IV_LEN];
    rng.fill_bytes(&mut iv);

    let cipher = Aes256Gcm::new(cek.as_ref().into());
    let payload = Payload { msg: plaintext, aad: protected.as_bytes() };
    let sealed = cipher.encrypt(Nonce::from_slice(&iv), payload).expect("AES-GCM seals anything under 64 GiB");
    let (ciphertext, tag) = sealed.split_at(sealed.len().saturating_sub(TAG_LEN));

    [protected, String::new(), b64::encode(&iv), b64::encode(ciphertext), b64::encode(tag)].join(".")
}

/// Decrypts a compact JWE with `key`. The plaintext zeroizes on drop.
pub fn decrypt(key: &PrivateJwk, compact: &str) -> Result<Zeroizing<Vec<u8>>, JweError> {
    decrypt_with(key.kid(), compact, |epk| {
        let shared = diffie_hellman(key.secret().to_nonzero_scalar(), epk.as_affine());
        let mut z = Zeroizing::new([0u8; 32]);
        z.copy_from_slice(shared.raw_secret_bytes());
        Ok(z)
    })
}

/// [`decrypt`] to the key whose `kid` is `kid`, wherever it is held: `agree` does the key
/// agreement with the header's `epk` (in an HSM, say) and gives the shared secret, which goes
/// straight into the Concat KDF and zeroizes. It is not called for a JWE refused before that.
pub fn decrypt_with(
    kid: &str,
    compact: &str,
    agree: impl FnOnce(&p256::PublicKey) -> Result<Zeroizing<[u8; 32]>, JweError>,
) -> Result<Zeroizing<Vec<u8>>, JweError> {
    if compact.len() > MAX_COMPACT_LEN {
        return Err(JweError);
    }
    let mut parts = compact.split('.');
    let (Some(protected), Some(encrypted_key), Some(iv), Some(ciphertext), Some(tag), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JweError);
    };
    // Direct key agreement has no encrypted key (RFC 7518 §4.6).
    if !encrypted_key.is_empty() {
        return Err(JweError);
    }

    let header_bytes = b64::decode(protected).ok_or(JweError)?;
    let header: HeaderIn = serde_json::from_slice(&header_bytes).map_err(|_| JweError)?;
    if header.alg != ALG || header.enc != ENC || header.zip.is_some() || header.crit.is_some() {
        return Err(JweError);
    }
    if header.kid.as_deref().is_some_and(|named| named != kid) {
        return Err(JweError);
    }
    if header.epk.kty != "EC" || header.epk.crv != "P-256" || header.epk.d.is_some() {
        return Err(JweError);
    }
    let epk = point_from_coordinates(&header.epk.x, &header.epk.y).map_err(|_| JweError)?;
    let apu = decode_party(header.apu.as_deref())?;
    let apv = decode_party(header.apv.as_deref())?;

    let iv = b64::decode_array::<IV_LEN>(iv).ok_or(JweError)?;
    let tag = b64::decode_array::<TAG_LEN>(tag).ok_or(JweError)?;
    let mut sealed = b64::decode(ciphertext).ok_or(JweError)?;
    sealed.extend_from_slice(&tag);

    let shared = agree(&epk)?;
    let mut cek = Zeroizing::new([0u8; 32]);
    concat_kdf(shared.as_ref(), ENC.as_bytes(), &apu, &apv, cek.as_mut());

    let cipher = Aes256Gcm::new(cek.as_ref().into());
    let payload = Payload { msg: &sealed, aad: protected.as_bytes() };
    cipher.decrypt(Nonce::from_slice(&iv), payload).map(Zeroizing::new).map_err(|_| JweError)
}

fn decode_party(value: Option<&str>) -> Result<Vec<u8>, JweError> {
    match value {
        None => Ok(Vec::new()),
        Some(text) => b64::decode(text).ok_or(JweError),
    }
}

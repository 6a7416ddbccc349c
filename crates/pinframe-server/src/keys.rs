//! Key material at rest: key files created in the data directory on first start with owner-only
//! permissions, and the AES-256-GCM sealing used for values stored encrypted (PANs, PIN blocks).

use std::fmt;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use pinframe_core::pinblock::{hex_decode, hex_encode};
use pinframe_core::rand_core::{OsRng, RngCore};
use pinframe_core::PrivateJwk;
use zeroize::Zeroizing;

use crate::hsm::{HsmError, HsmSecretKey};

/// A key file that is missing its key, has the wrong form, or can be read by others.
#[derive(Debug)]
pub struct KeyFileError {
    path: String,
    reason: String,
}

impl fmt::Display for KeyFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key file {}: {}", self.path, self.reason)
    }
}

impl std::error::Error for KeyFileError {}

pub(crate) fn key_error(path: &Path, reason: impl fmt::Display) -> KeyFileError {
    KeyFileError { path: path.display().to_string(), reason: reason.to_string() }
}

/// Loads the private JWK in `path`; `None` if there is no file.
pub fn load_jwk(path: &Path) -> Result<Option<PrivateJwk>, KeyFileError> {
    read_secret_file(path)?.map(|text| PrivateJwk::parse(text.trim()).map_err(|e| key_error(path, e))).transpose()
}

/// Loads the private JWK in `path`, or generates one there (mode 0600) when the file does not exist.
pub fn load_or_create_jwk(path: &Path) -> Result<PrivateJwk, KeyFileError> {
    match load_jwk(path)? {
        Some(key) => Ok(key),
        None => {
            let (key, text) = new_jwk();
            write_secret_file(path, text.as_bytes())?;
            Ok(key)
        }
    }
}

/// A new P-256 key and the text of its key file.
pub(crate) fn new_jwk() -> (PrivateJwk, Zeroizing<String>) {
    let key = PrivateJwk::generate(&mut OsRng);
    let mut text = key.to_json();
    text.push('\n');
    (key, text)
}

/// A new 256-bit key and the text of its key file (64 hex digits).
pub(crate) fn new_key256() -> (Zeroizing<[u8; 32]>, Zeroizing<String>) {
    let mut key = Zeroizing::new([0u8; 32]);
    OsRng.fill_bytes(key.as_mut());
    let mut text = Zeroizing::new(hex_encode(key.as_ref()));
    text.push('\n');
    (key, text)
}

/// Loads the client secret in `path`, or generates one there (mode 0600): 256 bits, base64url.
pub fn load_or_create_secret(path: &Path) -> Result<Zeroizing<String>, KeyFileError> {
    match read_secret(path)? {
        Some(secret) => Ok(secret),
        None => {
            let secret = crate::credentials::generate_secret();
            let mut text = Zeroizing::new(secret.to_string());
            text.push('\n');
            write_secret_file(path, text.as_bytes())?;
            Ok(secret)
        }
    }
}

/// Reads a one-line secret (a client secret) from an owner-only file; `None` if there is no file.
pub fn read_secret(path: &Path) -> Result<Option<Zeroizing<String>>, KeyFileError> {
    match read_secret_file(path)? {
        Some(text) if text.trim().is_empty() => Err(key_error(path, "the file is empty")),
        Some(text) => Ok(Some(Zeroizing::new(text.trim().to_owned()))),
        None => Ok(None),
    }
}

/// Loads the 256-bit key written in hex in `path`; `None` if there is no file.
pub fn load_key256(path: &Path) -> Result<Option<Zeroizing<[u8; 32]>>, KeyFileError> {
    read_secret_file(path)?
        .map(|text| parse_key256(text.trim()).ok_or_else(|| key_error(path, "expected 64 hexadecimal digits")))
        .transpose()
}

/// Loads the 256-bit key written in hex in `path`, or generates one there (mode 0600).
pub fn load_or_create_key256(path: &Path) -> Result<Zeroizing<[u8; 32]>, KeyFileError> {
    match load_key256(path)? {
        Some(key) => Ok(key),
        None => {
            let (key, text) = new_key256();
            write_secret_file(path, text.as_bytes())?;
            Ok(key)
        }
    }
}

/// Parses a 256-bit key from 64 hex digits (configuration or a key file).
pub fn parse_key256(hex: &str) -> Option<Zeroizing<[u8; 32]>> {
    let bytes = Zeroizing::new(hex_decode(hex)?);
    let mut key = Zeroizing::new([0u8; 32]);
    if bytes.len() != key.len() {
        return None;
    }
    key.copy_from_slice(&bytes);
    Some(key)
}

fn read_secret_file(path: &Path) -> Result<Option<Zeroizing<String>>, KeyFileError> {
    let metadata = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(key_error(path, e)),
    };
    if metadata.permissions().mode() & 0o077 != 0 {
        return Err(key_error(path, "readable by group or others; run chmod 600 on it"));
    }
    fs::read_to_string(path).map(|s| Some(Zeroizing::new(s))).map_err(|e| key_error(path, e))
}

/// Writes a new owner-only file; fails if `path` exists.
pub(crate) fn write_secret_file(path: &Path, bytes: &[u8]) -> Result<(), KeyFileError> {
    // create_new: two processes starting at once cannot both write a key and use different ones.
    let mut file =
        OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(|e| key_error(path, e))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| key_error(path, e))
}

/// Makes the renames, links and removals in `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<(), KeyFileError> {
    fs::File::open(dir).and_then(|d| d.sync_all()).map_err(|e| key_error(dir, e))
}

/// AES-256-GCM under one key-encryption key, for values stored at rest. Each sealed value is bound
/// by its associated data to the row it belongs to, so a value copied to another row fails to open.
/// The key is in memory (a key file) or in an HSM; a value sealed by either has the same form.
pub struct Sealer {
    key: SealKey,
}

enum SealKey {
    // Boxed: the expanded AES key schedule is about 1 KB, the HSM's handle 16 bytes.
    Memory(Box<Aes256Gcm>),
    Hsm(HsmSecretKey),
}

impl fmt::Debug for Sealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sealer").field("in_hsm", &matches!(self.key, SealKey::Hsm(_))).finish_non_exhaustive()
    }
}

/// A sealed value did not open (wrong key, wrong row, or damaged storage), or the HSM holding the
/// key did not answer (logged where it happens).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SealError;

impl fmt::Display for SealError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sealed value did not authenticate")
    }
}

impl std::error::Error for SealError {}

const NONCE_LEN: usize = 12;

fn hsm_failed(e: HsmError) -> SealError {
    tracing::error!(error = %e, "the HSM did not seal or open a value");
    SealError
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { key: SealKey::Memory(Box::new(Aes256Gcm::new(key.into()))) }
    }

    /// A sealer whose key stays in an HSM.
    pub fn in_hsm(key: HsmSecretKey) -> Self {
        Self { key: SealKey::Hsm(key) }
    }

    /// Returns `nonce || ciphertext || tag`, with a fresh random 96-bit nonce. Fails only when the
    /// HSM holding the key does not answer.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = match &self.key {
            SealKey::Memory(cipher) => cipher
                .encrypt(Nonce::from_slice(&nonce), Payload { msg: plaintext, aad })
                .unwrap_or_else(|_| unreachable!("AES-GCM encryption only fails for inputs over 64 GiB")),
            SealKey::Hsm(key) => key.gcm_encrypt(&nonce, aad, plaintext).map_err(hsm_failed)?,
        };
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if sealed.len() < NONCE_LEN {
            return Err(SealError);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        match &self.key {
            SealKey::Memory(cipher) => cipher
                .decrypt(Nonce::from_slice(nonce), Payload { msg: body, aad })
                .map(Zeroizing::new)
                .map_err(|_| SealError),
            SealKey::Hsm(key) => {
                let nonce: &[u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError)?;
                key.gcm_decrypt(nonce, aad, body).map_err(hsm_failed)?.ok_or(SealError)
            }
        }
    }
}

/// HMAC-SHA-256 under one key: what chains the audit trail's records, so that whoever can write the
/// database but not read this key cannot recompute the chain. The key is in memory or in an HSM.
pub struct MacKey {
    key: MacSecret,
}

enum MacSecret {
    Memory(Zeroizing<[u8; 32]>),
    Hsm(HsmSecretKey),
}

impl fmt::Debug for MacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MacKey").field("in_hsm", &matches!(self.key, MacSecret::Hsm(_))).finish_non_exhaustive()
    }
}

/// The key store could not compute a MAC (an HSM that stopped answering).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MacError;

impl fmt::Display for MacError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the key store did not compute the MAC")
    }
}

impl std::error::Error for MacError {}

impl MacKey {
    pub fn new(key: &[u8; 32]) -> Self {
        Self { key: MacSecret::Memory(Zeroizing::new(*key)) }
    }

    /// A MAC key that stays in an HSM.
    pub fn in_hsm(key: HsmSecretKey) -> Self {
        Self { key: MacSecret::Hsm(key) }
    }

    /// HMAC-SHA-256 of `message`.
    pub fn mac(&self, message: &[u8]) -> Result<[u8; 32], MacError> {
        use hmac::{Hmac, Mac};
        match &self.key {
            MacSecret::Memory(key) => {
                let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key.as_ref()).map_err(|_| MacError)?;
                mac.update(message);
                Ok(mac.finalize().into_bytes().into())
            }
            MacSecret::Hsm(key) => key.hmac(message).map_err(|e| {
                tracing::error!(error = %e, "the HSM did not compute a MAC");
                MacError
            }),
        }
    }

    /// Whether `tag` is the HMAC of `message`, compared in constant time.
    pub fn verify(&self, message: &[u8], tag: &[u8]) -> Result<bool, MacError> {
        use subtle::ConstantTimeEq;
        Ok(bool::from(self.mac(message)?.as_slice().ct_eq(tag)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_for_their_row() {
        let sealer = Sealer::new(&[7; 32]);
        let sealed = sealer.seal(b"row-1", b"5555555551234567").unwrap();
        assert_eq!(sealer.open(b"row-1", &sealed).unwrap().as_slice(), b"5555555551234567");
        assert_eq!(sealer.open(b"row-2", &sealed), Err(SealError));
        assert_eq!(Sealer::new(&[8; 32]).open(b"row-1", &sealed), Err(SealError));
        let mut flipped = sealed.clone();
        flipped[NONCE_LEN] ^= 1;
        assert_eq!(sealer.open(b"row-1", &flipped), Err(SealError));
        assert_eq!(sealer.open(b"row-1", &sealed[..5]), Err(SealError));
    }

    #[test]
    fn mac_is_hmac_sha256() {
        // RFC 4231, test case 2: key "Jefe" is shorter than 32 bytes, so it is this key zero-padded,
        // which HMAC defines as the same key.
        let mut key = [0u8; 32];
        key[..4].copy_from_slice(b"Jefe");
        let mac = MacKey::new(&key).mac(b"what do ya want for nothing?").unwrap();
        assert_eq!(hex_encode(&mac), "5BDCC146BF60754E6A042426089575C75A003F089D2739839DEC58B964EC3843");
        assert!(MacKey::new(&key).verify(b"what do ya want for nothing?", &mac).unwrap());
        assert!(!MacKey::new(&key).verify(b"what do ya want for nothing!", &mac).unwrap());
    }

    #[test]
    fn key_files_are_created_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kek.hex");
        let first = load_or_create_key256(&path).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(*load_or_create_key256(&path).unwrap(), *first);

        let jwk_path = dir.path().join("service.jwk");
        let key = load_or_create_jwk(&jwk_path).unwrap();
        assert_eq!(load_or_create_jwk(&jwk_path).unwrap().kid(), key.kid());

        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create_key256(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
    }
}

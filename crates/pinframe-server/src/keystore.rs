//! The key store: where a server's private and secret keys live. Either files in its data
//! directory (the default, `crate::keys`) or a PKCS#11 token (`crate::hsm`), chosen with
//! `--key-store`. A key is named the same in both, by its file name: `DIR/service-key.jwk` is the
//! token object labelled `pinframe/service-key.jwk`, and a CMS's `kek.hex` is `pinframe/cms/kek.hex`.
//! What a server does with a key (decrypt a JWE, sign a token, seal a value, chain the audit trail)
//! is the same call either way: [`EcKey`] here, [`Sealer`](crate::keys::Sealer) and
//! [`MacKey`](crate::keys::MacKey) beside it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use pinframe_core::error::JweError;
use pinframe_core::{jwe, PrivateJwk, PublicJwk};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::hsm::{Hsm, HsmEcKey, HsmError, Pkcs11Config, LABEL_PREFIX};

/// A P-256 private key: a key file's, in memory, or one held in an HSM.
pub enum EcKey {
    File(PrivateJwk),
    Hsm(HsmEcKey),
}

impl fmt::Debug for EcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EcKey").field("kid", &self.kid()).field("in_hsm", &matches!(self, Self::Hsm(_))).finish()
    }
}

impl From<PrivateJwk> for EcKey {
    fn from(key: PrivateJwk) -> Self {
        Self::File(key)
    }
}

impl EcKey {
    pub fn public(&self) -> &PublicJwk {
        match self {
            Self::File(key) => key.public(),
            Self::Hsm(key) => key.public(),
        }
    }

    pub fn kid(&self) -> &str {
        self.public().kid()
    }

    /// Decrypts a compact JWE (ECDH-ES, A256GCM) to this key. With an HSM the key agreement
    /// happens in the token; a token that fails is logged, and told apart from a JWE that is not
    /// one to this key, so that nobody is refused for the key store's fault.
    pub fn decrypt(&self, compact: &str) -> Result<Zeroizing<Vec<u8>>, DecryptError> {
        match self {
            Self::File(key) => jwe::decrypt(key, compact).map_err(|_| DecryptError::Refused),
            Self::Hsm(key) => {
                let mut failed = false;
                let outcome = jwe::decrypt_with(key.public().kid(), compact, |epk| {
                    key.agree(epk).map_err(|e| {
                        tracing::error!(error = %e, kid = key.public().kid(), "the HSM did not do the key agreement");
                        failed = true;
                        JweError
                    })
                });
                outcome.map_err(|_| if failed { DecryptError::KeyStore } else { DecryptError::Refused })
            }
        }
    }

    /// The ES256 signature (`r || s`) of `signing_input` (a JWS's `header.payload`).
    pub fn sign_es256(&self, signing_input: &[u8]) -> Result<[u8; 64], HsmError> {
        match self {
            Self::File(key) => {
                use p256::ecdsa::signature::Signer;
                let signing = p256::ecdsa::SigningKey::from(key.secret());
                let signature: p256::ecdsa::Signature = signing.sign(signing_input);
                Ok(signature.to_bytes().into())
            }
            Self::Hsm(key) => key.sign_digest(&Sha256::digest(signing_input).into()),
        }
    }
}

/// Why a JWE did not decrypt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecryptError {
    /// It is not a JWE to this key, or not a well-formed one: the sender's doing.
    Refused,
    /// The key store (an HSM) did not do the key agreement: nobody's input was wrong.
    KeyStore,
}

/// The token object label of the key whose file would be `path`, in `scope` (`""` for the
/// service's keys, `"cms/"` for a CMS's).
pub fn label(scope: &str, path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    format!("{LABEL_PREFIX}{scope}{name}")
}

/// Which key store a server uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum KeyStoreKind {
    /// Key files in the data directory, owner-only.
    #[default]
    Files,
    /// A PKCS#11 token (an HSM): keys generated in it, sensitive, never extractable.
    Pkcs11,
}

/// The key store options every command that uses keys takes.
#[derive(Args, Clone, Debug, Default)]
pub struct KeyStoreArgs {
    /// Where private and secret keys live: key files in the data directory, or a PKCS#11 token.
    #[arg(long, env = "PINFRAME_KEY_STORE", value_enum, default_value_t = KeyStoreKind::Files)]
    pub key_store: KeyStoreKind,
    /// The PKCS#11 module (shared library) of the HSM, e.g. /usr/lib/softhsm/libsofthsm2.so.
    #[arg(long, env = "PINFRAME_PKCS11_MODULE", value_name = "PATH")]
    pub pkcs11_module: Option<PathBuf>,
    /// The label of the token holding the keys.
    #[arg(long, env = "PINFRAME_PKCS11_TOKEN", value_name = "LABEL")]
    pub pkcs11_token: Option<String>,
    /// A file (owner-only) holding the token's user PIN.
    #[arg(long, env = "PINFRAME_PKCS11_PIN_FILE", value_name = "FILE")]
    pub pkcs11_pin_file: Option<PathBuf>,
}

impl KeyStoreArgs {
    /// The HSM these options name, logged in; `None` for key files.
    pub fn open(&self) -> Result<Option<Arc<Hsm>>, String> {
        if self.key_store == KeyStoreKind::Files {
            return Ok(None);
        }
        let missing = |flag: &str, var: &str| format!("--key-store pkcs11 needs {flag} (or {var})");
        let module =
            self.pkcs11_module.clone().ok_or_else(|| missing("--pkcs11-module PATH", "PINFRAME_PKCS11_MODULE"))?;
        let token =
            self.pkcs11_token.clone().ok_or_else(|| missing("--pkcs11-token LABEL", "PINFRAME_PKCS11_TOKEN"))?;
        let pin_file = self
            .pkcs11_pin_file
            .as_deref()
            .ok_or_else(|| missing("--pkcs11-pin-file FILE", "PINFRAME_PKCS11_PIN_FILE"))?;
        let pin = crate::keys::read_secret(pin_file)
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("the PIN file {} does not exist", pin_file.display()))?;
        let config = Pkcs11Config { module, token, pin };
        Hsm::open(&config).map(Some).map_err(|e| e.to_string())
    }
}

//! Keys in a hardware security module, over PKCS#11 (`cryptoki`).
//!
//! Every key is a token object labelled `pinframe/FILE`, where FILE is the name the key would have
//! as a file in the data directory (`service-key.jwk`, `kek.hex`, `service-key.previous.jwk` during
//! a rotation), so the two key stores name keys alike. Private and secret keys are generated in the
//! token, sensitive and never extractable. The token does the work: ECDH (`CKM_ECDH1_DERIVE` with
//! `CKD_NULL`), ES256 signatures (`CKM_ECDSA` over a SHA-256 digest), AES-256-GCM and
//! HMAC-SHA-256. The only secret that leaves it is an ECDH shared secret, derived as a session
//! object that is read once, destroyed, and wiped after the Concat KDF.
//!
//! One PKCS#11 context per module for the whole process, initialised once and never finalised (a
//! second `C_Initialize` or an early `C_Finalize` would cut off every other user in the process).
//! Each [`Hsm`] logs in once and keeps a pool of sessions; a session that failed is dropped, not
//! reused.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use pinframe_core::PublicJwk;
use zeroize::Zeroizing;

/// DER of the named curve P-256 (OID 1.2.840.10045.3.1.7), as `CKA_EC_PARAMS` holds it.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// The prefix of every key label in the token.
pub const LABEL_PREFIX: &str = "pinframe/";

/// Where the token is and how to log in to it.
pub struct Pkcs11Config {
    /// The PKCS#11 module (a shared library), e.g. `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The user PIN.
    pub pin: Zeroizing<String>,
}

impl fmt::Debug for Pkcs11Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Config").field("module", &self.module).field("token", &self.token).finish_non_exhaustive()
    }
}

/// What went wrong in the token: the operation and the PKCS#11 return value, never a key or PIN.
#[derive(Debug, Clone)]
pub struct HsmError(String);

impl fmt::Display for HsmError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HSM: {}", self.0)
    }
}

impl std::error::Error for HsmError {}

fn ck(what: &str) -> impl FnOnce(CkError) -> HsmError + '_ {
    move |e| HsmError(format!("{what}: {e}"))
}

/// One context per module path, for the life of the process.
fn context(module: &Path) -> Result<Pkcs11, HsmError> {
    static CONTEXTS: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let mut contexts = CONTEXTS.get_or_init(Default::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(ctx) = contexts.get(module) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(module).map_err(|e| HsmError(format!("loading {}: {e}", module.display())))?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(ck("C_Initialize")(e)),
    }
    contexts.insert(module.to_owned(), ctx.clone());
    Ok(ctx)
}

/// A logged-in token and a pool of sessions on it.
pub struct Hsm {
    ctx: Pkcs11,
    slot: Slot,
    token: String,
    idle: Mutex<Vec<Session>>,
    /// The session the login was made in, never used and never closed: PKCS#11 logs an
    /// application out, and invalidates its object handles, when its last session closes.
    _login: Mutex<Session>,
}

impl fmt::Debug for Hsm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hsm").field("token", &self.token).finish_non_exhaustive()
    }
}

/// What a P-256 key pair in the token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EcUsage {
    /// Key agreement (ECDH): the service's and the CMS's encryption keys.
    Derive,
    /// ES256 signatures: the access-token signing keys.
    Sign,
}

/// What a 256-bit secret key in the token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretUsage {
    /// AES-256-GCM: the data key and the KEK.
    Aes,
    /// HMAC-SHA-256: the audit key.
    Hmac,
}

/// A private or secret key object as the token reports it, for checks and the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyObject {
    pub label: String,
    pub class: &'static str,
    pub sensitive: bool,
    pub extractable: bool,
}

impl Hsm {
    /// Opens the token labelled `config.token` and logs in as its user.
    pub fn open(config: &Pkcs11Config) -> Result<Arc<Self>, HsmError> {
        let ctx = context(&config.module)?;
        let slots = ctx.get_slots_with_initialized_token().map_err(ck("C_GetSlotList"))?;
        let slot = slots
            .into_iter()
            .find(|slot| ctx.get_token_info(*slot).is_ok_and(|info| info.label().trim_end() == config.token))
            .ok_or_else(|| HsmError(format!("no initialised token labelled {:?}", config.token)))?;
        let session = ctx.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
        let pin = AuthPin::from(config.pin.as_str().to_owned());
        match session.login(UserType::User, Some(&pin)) {
            Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(e) => return Err(ck("C_Login")(e)),
        }
        Ok(Arc::new(Self {
            ctx,
            slot,
            token: config.token.clone(),
            idle: Mutex::new(Vec::new()),
            _login: Mutex::new(session),
        }))
    }

    /// Runs `op` on a pooled session. A session that failed is closed rather than pooled again.
    fn with_session<R>(&self, op: impl FnOnce(&Session) -> Result<R, HsmError>) -> Result<R, HsmError> {
        let pooled = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let session = match pooled {
            Some(session) => session,
            None => self.ctx.open_rw_session(self.slot).map_err(ck("C_OpenSession"))?,
        };
        let result = op(&session);
        if result.is_ok() {
            self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(session);
        }
        result
    }

    fn find(session: &Session, class: ObjectClass, label: &str) -> Result<Option<ObjectHandle>, HsmError> {
        let template = [Attribute::Class(class), Attribute::Token(true), Attribute::Label(label.as_bytes().to_vec())];
        let found = session.find_objects(&template).map_err(ck("C_FindObjects"))?;
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(HsmError(format!("several objects labelled {label:?} in the token"))),
        }
    }

    /// The P-256 key labelled `label`, if the token has it.
    pub fn ec_key(self: &Arc<Self>, label: &str) -> Result<Option<HsmEcKey>, HsmError> {
        self.with_session(|session| {
            let Some(private) = Self::find(session, ObjectClass::PRIVATE_KEY, label)? else {
                return Ok(None);
            };
            let public = Self::find(session, ObjectClass::PUBLIC_KEY, label)?
                .ok_or_else(|| HsmError(format!("{label:?} has a private key but no public key object")))?;
            let point = match session
                .get_attributes(public, &[AttributeType::EcPoint])
                .map_err(ck("C_GetAttributeValue"))?
                .pop()
            {
                Some(Attribute::EcPoint(point)) => point,
                _ => return Err(HsmError(format!("{label:?}: no CKA_EC_POINT"))),
            };
            let public = public_jwk(&point).ok_or_else(|| HsmError(format!("{label:?} is not a P-256 key")))?;
            Ok(Some(HsmEcKey { hsm: Arc::clone(self), private, public }))
        })
    }

    /// Generates a P-256 key pair labelled `label` for `usage`: the private key sensitive and not
    /// extractable.
    pub fn generate_ec(self: &Arc<Self>, label: &str, usage: EcUsage) -> Result<HsmEcKey, HsmError> {
        self.with_session(|session| {
            let label_bytes = label.as_bytes().to_vec();
            let public = [
                Attribute::Token(true),
                Attribute::Private(false),
                Attribute::EcParams(P256_PARAMS.to_vec()),
                Attribute::Label(label_bytes.clone()),
                Attribute::Verify(usage == EcUsage::Sign),
                Attribute::Encrypt(false),
                Attribute::Wrap(false),
            ];
            let private = [
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Derive(usage == EcUsage::Derive),
                Attribute::Sign(usage == EcUsage::Sign),
                Attribute::Decrypt(false),
                Attribute::Unwrap(false),
                Attribute::Label(label_bytes),
            ];
            session.generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private).map_err(ck("C_GenerateKeyPair"))?;
            Ok(())
        })?;
        self.ec_key(label)?.ok_or_else(|| HsmError(format!("{label:?} was generated but is not found")))
    }

    /// The 256-bit secret key labelled `label`, if the token has it.
    pub fn secret_key(self: &Arc<Self>, label: &str) -> Result<Option<HsmSecretKey>, HsmError> {
        let found = self.with_session(|session| Self::find(session, ObjectClass::SECRET_KEY, label))?;
        Ok(found.map(|handle| HsmSecretKey { hsm: Arc::clone(self), handle }))
    }

    /// Generates a 256-bit secret key labelled `label` for `usage`, sensitive and not extractable.
    pub fn generate_secret(self: &Arc<Self>, label: &str, usage: SecretUsage) -> Result<HsmSecretKey, HsmError> {
        let handle = self.with_session(|session| {
            let (mechanism, key_type) = match usage {
                SecretUsage::Aes => (Mechanism::AesKeyGen, KeyType::AES),
                SecretUsage::Hmac => (Mechanism::GenericSecretKeyGen, KeyType::GENERIC_SECRET),
            };
            let template = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(key_type),
                Attribute::ValueLen(32.into()),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Encrypt(usage == SecretUsage::Aes),
                Attribute::Decrypt(usage == SecretUsage::Aes),
                Attribute::Sign(usage == SecretUsage::Hmac),
                Attribute::Verify(usage == SecretUsage::Hmac),
                Attribute::Wrap(false),
                Attribute::Unwrap(false),
                Attribute::Label(label.as_bytes().to_vec()),
            ];
            session.generate_key(&mechanism, &template).map_err(ck("C_GenerateKey"))
        })?;
        Ok(HsmSecretKey { hsm: Arc::clone(self), handle })
    }

    /// Gives every object labelled `from` the label `to` (a key pair is two objects).
    pub fn relabel(&self, from: &str, to: &str) -> Result<usize, HsmError> {
        self.with_session(|session| {
            let objects = Self::labelled(session, from)?;
            for object in &objects {
                session
                    .update_attributes(*object, &[Attribute::Label(to.as_bytes().to_vec())])
                    .map_err(ck("C_SetAttributeValue"))?;
            }
            Ok(objects.len())
        })
    }

    /// How many objects are labelled `label`.
    pub fn count(&self, label: &str) -> Result<usize, HsmError> {
        self.with_session(|session| Ok(Self::labelled(session, label)?.len()))
    }

    /// Every token object labelled `label`.
    fn labelled(session: &Session, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        session
            .find_objects(&[Attribute::Token(true), Attribute::Label(label.as_bytes().to_vec())])
            .map_err(ck("C_FindObjects"))
    }

    /// Destroys every object labelled `label`; returns how many there were.
    pub fn destroy(&self, label: &str) -> Result<usize, HsmError> {
        self.with_session(|session| {
            let objects = Self::labelled(session, label)?;
            for object in &objects {
                session.destroy_object(*object).map_err(ck("C_DestroyObject"))?;
            }
            Ok(objects.len())
        })
    }

    /// Every private and secret key object of pinframe's in the token, with its `CKA_SENSITIVE` and
    /// `CKA_EXTRACTABLE` as the token reports them.
    pub fn key_objects(&self) -> Result<Vec<KeyObject>, HsmError> {
        self.with_session(|session| {
            let mut out = Vec::new();
            for (class, name) in [(ObjectClass::PRIVATE_KEY, "private"), (ObjectClass::SECRET_KEY, "secret")] {
                for object in session
                    .find_objects(&[Attribute::Class(class), Attribute::Token(true)])
                    .map_err(ck("C_FindObjects"))?
                {
                    let attributes = session
                        .get_attributes(
                            object,
                            &[AttributeType::Label, AttributeType::Sensitive, AttributeType::Extractable],
                        )
                        .map_err(ck("C_GetAttributeValue"))?;
                    let mut entry =
                        KeyObject { label: String::new(), class: name, sensitive: false, extractable: true };
                    for attribute in attributes {
                        match attribute {
                            Attribute::Label(label) => entry.label = String::from_utf8_lossy(&label).into_owned(),
                            Attribute::Sensitive(value) => entry.sensitive = value,
                            Attribute::Extractable(value) => entry.extractable = value,
                            _ => {}
                        }
                    }
                    if entry.label.starts_with(LABEL_PREFIX) {
                        out.push(entry);
                    }
                }
            }
            out.sort_by(|a, b| a.label.cmp(&b.label));
            Ok(out)
        })
    }
}

/// `CKA_EC_POINT` (a DER OCTET STRING around the uncompressed point, or the bare point, as some
/// modules give it) as a public JWK.
fn public_jwk(point: &[u8]) -> Option<PublicJwk> {
    let sec1 = match point {
        [0x04, 0x41, rest @ ..] if rest.len() == 65 => rest,
        bare if bare.len() == 65 => bare,
        _ => return None,
    };
    p256::PublicKey::from_sec1_bytes(sec1).ok().map(PublicJwk::from_key)
}

/// A P-256 private key held in the token, with its public half.
#[derive(Clone)]
pub struct HsmEcKey {
    hsm: Arc<Hsm>,
    private: ObjectHandle,
    public: PublicJwk,
}

impl fmt::Debug for HsmEcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HsmEcKey").field("kid", &self.public.kid()).finish_non_exhaustive()
    }
}

impl HsmEcKey {
    pub fn public(&self) -> &PublicJwk {
        &self.public
    }

    /// ECDH with `peer` in the token; the shared secret (x coordinate) zeroizes on drop.
    pub fn agree(&self, peer: &p256::PublicKey) -> Result<Zeroizing<[u8; 32]>, HsmError> {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        let point = peer.to_encoded_point(false);
        self.hsm.with_session(|session| {
            let params = Ecdh1DeriveParams::new(EcKdf::null(), point.as_bytes());
            let template = [
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::ValueLen(32.into()),
                Attribute::Token(false),
                Attribute::Sensitive(false),
                Attribute::Extractable(true),
            ];
            let derived = session
                .derive_key(&Mechanism::Ecdh1Derive(params), self.private, &template)
                .map_err(ck("C_DeriveKey"))?;
            let value = session.get_attributes(derived, &[AttributeType::Value]);
            let destroyed = session.destroy_object(derived).map_err(ck("C_DestroyObject"));
            let mut shared = Zeroizing::new([0u8; 32]);
            match value.map_err(ck("C_GetAttributeValue"))?.pop() {
                Some(Attribute::Value(bytes)) => {
                    let bytes = Zeroizing::new(bytes);
                    if bytes.len() != 32 {
                        return Err(HsmError("ECDH gave a secret that is not 32 bytes".into()));
                    }
                    shared.copy_from_slice(&bytes);
                }
                _ => return Err(HsmError("ECDH gave no value".into())),
            }
            destroyed?;
            Ok(shared)
        })
    }

    /// An ES256 signature (`r || s`, 64 bytes) of the SHA-256 `digest`, made in the token.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<[u8; 64], HsmError> {
        let signature = self
            .hsm
            .with_session(|session| session.sign(&Mechanism::Ecdsa, self.private, digest).map_err(ck("C_Sign")))?;
        signature.try_into().map_err(|_| HsmError("ECDSA gave a signature that is not 64 bytes".into()))
    }
}

/// A 256-bit secret key held in the token.
#[derive(Clone)]
pub struct HsmSecretKey {
    hsm: Arc<Hsm>,
    handle: ObjectHandle,
}

impl fmt::Debug for HsmSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HsmSecretKey").finish_non_exhaustive()
    }
}

impl HsmSecretKey {
    /// AES-256-GCM with a 128-bit tag: `ciphertext || tag`.
    pub fn gcm_encrypt(&self, iv: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, HsmError> {
        let mut iv = *iv;
        self.hsm.with_session(|session| {
            let params = GcmParams::new(&mut iv, aad, 128.into()).map_err(ck("GCM parameters"))?;
            session.encrypt(&Mechanism::AesGcm(params), self.handle, plaintext).map_err(ck("C_Encrypt"))
        })
    }

    /// Opens `ciphertext || tag`; `None` when it does not authenticate.
    pub fn gcm_decrypt(
        &self,
        iv: &[u8; 12],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Option<Zeroizing<Vec<u8>>>, HsmError> {
        let mut iv = *iv;
        let opened = self.hsm.with_session(|session| {
            let params = GcmParams::new(&mut iv, aad, 128.into()).map_err(ck("GCM parameters"))?;
            match session.decrypt(&Mechanism::AesGcm(params), self.handle, sealed) {
                Ok(plaintext) => Ok(Some(Zeroizing::new(plaintext))),
                // A tag that does not match is an answer, not a failure of the token. SoftHSM2
                // reports it as CKR_GENERAL_ERROR; the standard code is CKR_ENCRYPTED_DATA_INVALID.
                Err(CkError::Pkcs11(
                    RvError::EncryptedDataInvalid | RvError::EncryptedDataLenRange | RvError::GeneralError,
                    _,
                )) => Ok(None),
                Err(e) => Err(ck("C_Decrypt")(e)),
            }
        });
        opened
    }

    /// HMAC-SHA-256 of `message`, in the token.
    pub fn hmac(&self, message: &[u8]) -> Result<[u8; 32], HsmError> {
        let mac = self
            .hsm
            .with_session(|session| session.sign(&Mechanism::Sha256Hmac, self.handle, message).map_err(ck("C_Sign")))?;
        mac.try_into().map_err(|_| HsmError("HMAC-SHA-256 gave a MAC that is not 32 bytes".into()))
    }
}

//! P-256 JSON Web Keys (RFC 7517, RFC 7518 §6.2) and RFC 7638 thumbprints.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use p256::elliptic_curve::sec1::{Coordinates, FromEncodedPoint, ToEncodedPoint};
use p256::{EncodedPoint, PublicKey, SecretKey};
use rand_core::CryptoRngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use crate::b64;
use crate::error::FormatError;

/// The members of an EC JWK that we read. Unknown members are ignored (RFC 7517 §4).
#[derive(Deserialize, Zeroize)]
#[zeroize(drop)]
struct JwkJson {
    kty: String,
    crv: String,
    x: String,
    y: String,
    #[serde(default)]
    d: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default, rename = "use")]
    use_: Option<String>,
    #[serde(default)]
    alg: Option<String>,
}

/// The public part of an EC JWK as written by us, in the member order of RFC 7638 plus `kid`.
#[derive(Serialize)]
struct PublicJson<'a> {
    crv: &'a str,
    kty: &'a str,
    x: &'a str,
    y: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<&'a str>,
}

/// A P-256 public key with its key id.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicJwk {
    key: PublicKey,
    kid: String,
}

impl PublicJwk {
    /// Parses an EC P-256 public JWK. A `d` member, if present, is ignored.
    ///
    /// Rejects other key types and curves, coordinates that are not exactly 32 bytes, points not on the
    /// curve, a `use` other than `enc` and an `alg` other than `ECDH-ES`. Without a `kid` the key gets its
    /// RFC 7638 thumbprint as key id.
    pub fn parse(json: &str) -> Result<Self, FormatError> {
        // `from_slice`, as every JSON the core reads: one copy of serde_json's parser in the widget's wasm.
        let parsed: JwkJson = serde_json::from_slice(json.as_bytes()).map_err(|_| FormatError::Jwk)?;
        Self::from_json(&parsed)
    }

    /// Parses a JWK that must be public, as [`parse`](Self::parse) does, but refuses one that
    /// carries a private part `d`: a peer that sends its private key has leaked it, and the key
    /// agreement would be worthless.
    pub fn parse_public(json: &str) -> Result<Self, FormatError> {
        let parsed: JwkJson = serde_json::from_slice(json.as_bytes()).map_err(|_| FormatError::Jwk)?;
        if parsed.d.is_some() {
            return Err(FormatError::JwkHasPrivatePart);
        }
        Self::from_json(&parsed)
    }

    fn from_json(jwk: &JwkJson) -> Result<Self, FormatError> {
        if jwk.kty != "EC" || jwk.crv != "P-256" {
            return Err(FormatError::JwkCurve);
        }
        if jwk.use_.as_deref().is_some_and(|u| u != "enc") || jwk.alg.as_deref().is_some_and(|a| a != "ECDH-ES") {
            return Err(FormatError::Jwk);
        }
        let key = point_from_coordinates(&jwk.x, &jwk.y)?;
        let kid = match &jwk.kid {
            Some(kid) => kid.clone(),
            None => thumbprint_of(&key),
        };
        Ok(Self { key, kid })
    }

    /// Wraps a public key; its key id is its RFC 7638 thumbprint.
    pub fn from_key(key: PublicKey) -> Self {
        let kid = thumbprint_of(&key);
        Self { key, kid }
    }

    /// The key id: the JWK's `kid`, or its thumbprint when it had none.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The RFC 7638 SHA-256 thumbprint, base64url.
    pub fn thumbprint(&self) -> String {
        thumbprint_of(&self.key)
    }

    /// The key itself.
    pub fn key(&self) -> &PublicKey {
        &self.key
    }

    /// The JWK as compact JSON: `crv`, `kty`, `x`, `y`, `kid`.
    pub fn to_json(&self) -> String {
        let (x, y) = coordinates(&self.key);
        let json = PublicJson { crv: "P-256", kty: "EC", x: &x, y: &y, kid: Some(&self.kid) };
        // A struct of strings always serializes; no `expect`, whose message would bring
        // serde_json's error formatting into the widget's wasm.
        serde_json::to_string(&json).unwrap_or_default()
    }

    /// The `x` and `y` coordinates, base64url.
    pub(crate) fn coordinates(&self) -> (String, String) {
        coordinates(&self.key)
    }
}

impl fmt::Debug for PublicJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicJwk").field("kid", &self.kid).finish_non_exhaustive()
    }
}

/// A P-256 private key with its public JWK. The scalar zeroizes on drop; there is deliberately no
/// `Clone` (share one behind an `Arc`).
pub struct PrivateJwk {
    secret: SecretKey,
    public: PublicJwk,
}

impl PrivateJwk {
    /// Parses an EC P-256 private JWK, checking that `d` is a valid scalar matching `x` and `y`.
    pub fn parse(json: &str) -> Result<Self, FormatError> {
        let parsed: JwkJson = serde_json::from_slice(json.as_bytes()).map_err(|_| FormatError::Jwk)?;
        let public = PublicJwk::from_json(&parsed)?;
        let d = parsed.d.as_deref().ok_or(FormatError::JwkPrivate)?;
        let d = Zeroizing::new(b64::decode_array::<32>(d).ok_or(FormatError::JwkPrivate)?);
        let secret = SecretKey::from_bytes(d.as_ref().into()).map_err(|_| FormatError::JwkPrivate)?;
        if secret.public_key() != public.key {
            return Err(FormatError::JwkPrivate);
        }
        Ok(Self { secret, public })
    }

    /// Generates a new key; its key id is its RFC 7638 thumbprint.
    pub fn generate(rng: &mut impl CryptoRngCore) -> Self {
        Self::from_secret(SecretKey::random(rng))
    }

    /// Wraps a secret key; its key id is its RFC 7638 thumbprint.
    pub fn from_secret(secret: SecretKey) -> Self {
        let public = PublicJwk::from_key(secret.public_key());
        Self { secret, public }
    }

    /// The public half.
    pub fn public(&self) -> &PublicJwk {
        &self.public
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The private scalar, for a server that signs with this key (ES256). It zeroizes on drop.
    pub fn secret(&self) -> &SecretKey {
        &self.secret
    }

    /// The private JWK as compact JSON (`crv`, `d`, `kty`, `x`, `y`, `kid`). The result is a secret.
    pub fn to_json(&self) -> Zeroizing<String> {
        #[derive(Serialize)]
        struct PrivateJson<'a> {
            crv: &'a str,
            d: &'a str,
            kty: &'a str,
            x: &'a str,
            y: &'a str,
            kid: &'a str,
        }
        let d = Zeroizing::new(b64::encode(&self.secret.to_bytes()));
        let (x, y) = self.public.coordinates();
        let json = PrivateJson { crv: "P-256", d: &d, kty: "EC", x: &x, y: &y, kid: self.kid() };
        Zeroizing::new(serde_json::to_string(&json).unwrap_or_default())
    }
}

impl fmt::Debug for PrivateJwk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateJwk").field("kid", &self.kid()).finish_non_exhaustive()
    }
}

/// Builds a public key from base64url coordinates; fails unless both are 32 bytes and on the curve.
pub(crate) fn point_from_coordinates(x: &str, y: &str) -> Result<PublicKey, FormatError> {
    let x = b64::decode_array::<32>(x).ok_or(FormatError::JwkPoint)?;
    let y = b64::decode_array::<32>(y).ok_or(FormatError::JwkPoint)?;
    let point = EncodedPoint::from_affine_coordinates(&x.into(), &y.into(), false);
    Option::from(PublicKey::from_encoded_point(&point)).ok_or(FormatError::JwkPoint)
}

fn coordinates(key: &PublicKey) -> (String, String) {
    let point = key.to_encoded_point(false);
    match point.coordinates() {
        Coordinates::Uncompressed { x, y } => (b64::encode(x), b64::encode(y)),
        // A `PublicKey` is never the identity, and we asked for the uncompressed form.
        _ => (String::new(), String::new()),
    }
}

fn thumbprint_of(key: &PublicKey) -> String {
    let (x, y) = coordinates(key);
    // RFC 7638 §3.2: required members only, lexicographic order, no whitespace.
    let json = PublicJson { crv: "P-256", kty: "EC", x: &x, y: &y, kid: None };
    let canonical: Vec<u8> = serde_json::to_vec(&json).unwrap_or_default();
    b64::encode(&Sha256::digest(&canonical))
}

//! The two error types of the core: format problems, and the one opaque decryption failure.

use core::fmt;

/// A value that does not have the required format.
///
/// These errors describe *shape* (a PIN with letters, a JWK on another curve) and never carry the
/// offending value, since that value may be a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FormatError {
    /// A PIN is not 4 to 12 ASCII digits.
    Pin,
    /// A PAN is not 12 to 19 ASCII digits.
    Pan,
    /// An issuer id is not exactly 10 characters of `[A-Za-z0-9_-]`.
    IssuerId,
    /// A card id is not 1 to 48 characters of `[A-Za-z0-9_-]`.
    CardId,
    /// A consumer id is not 1 to 64 characters of `[A-Za-z0-9_-]`.
    ConsumerId,
    /// A correlation id is not 1 to 64 characters of `[a-zA-Z0-9_-. ]`.
    CorrelationId,
    /// A JWK is not valid JSON of the expected members.
    Jwk,
    /// A JWK names a key type or curve other than EC P-256.
    JwkCurve,
    /// A JWK's coordinates are not a point on P-256, or are the identity.
    JwkPoint,
    /// A private JWK's `d` is not a valid scalar or does not match its `x` and `y`.
    JwkPrivate,
    /// A JWK that must be public carries a private part `d`.
    JwkHasPrivatePart,
    /// A PIN block is not 16 hexadecimal digits (32 for format 4).
    PinBlockHex,
    /// A PIN block decoded to something that is not a valid block of the expected format.
    PinBlock,
    /// The PIN block format needs a PAN and none was given.
    PinBlockNeedsPan,
    /// Format 4 needs an AES key of 16, 24 or 32 bytes.
    PinBlockKey,
    /// A PIN policy's lengths are not within 4 to 12, minimum first.
    PinPolicy,
    /// A PIN block format name other than `iso0`, `iso1`, `iso3` or `iso4`.
    PinBlockFormat,
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Pin => "PIN must be 4 to 12 digits",
            Self::Pan => "PAN must be 12 to 19 digits",
            Self::IssuerId => "issuer id must be exactly 10 characters of A-Z, a-z, 0-9, '_' or '-'",
            Self::CardId => "card id must be 1 to 48 characters of A-Z, a-z, 0-9, '_' or '-'",
            Self::ConsumerId => "consumer id must be 1 to 64 characters of A-Z, a-z, 0-9, '_' or '-'",
            Self::CorrelationId => "correlation id must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '-', '.' or space",
            Self::Jwk => "JWK is not a valid JSON Web Key",
            Self::JwkCurve => "JWK must be an EC key on curve P-256",
            Self::JwkPoint => "JWK coordinates are not a valid P-256 point",
            Self::JwkPrivate => "JWK private scalar is invalid or does not match the public key",
            Self::JwkHasPrivatePart => "JWK carries a private key part (d): send only the public key",
            Self::PinBlockHex => "PIN block must be 16 hexadecimal digits (32 for format 4)",
            Self::PinBlock => "PIN block is not valid for this format, PAN and key",
            Self::PinBlockNeedsPan => "this PIN block format needs a PAN",
            Self::PinBlockKey => "format 4 needs an AES key of 16, 24 or 32 bytes in hex",
            Self::PinPolicy => "PIN policy lengths must be within 4 to 12 digits, the minimum not above the maximum",
            Self::PinBlockFormat => "PIN block format must be iso0, iso1, iso3 or iso4",
        })
    }
}

impl core::error::Error for FormatError {}

/// A JWE could not be decrypted.
///
/// Deliberately opaque: whether the header, the key agreement, the tag or the plaintext was at fault
/// is not told, so that the error cannot be used as an oracle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JweError;

impl fmt::Display for JweError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("JWE could not be decrypted")
    }
}

impl core::error::Error for JweError {}

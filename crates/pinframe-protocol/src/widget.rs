//! The widget-facing API: `POST /api/v1/pin/session`, `/view` and `/set`, each authorised by the
//! PIN-control token as `Authorization: Bearer`, and the JWE plaintext of a PIN.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use pinframe_core::{FormatError, Pin, PinPolicy};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::{Action, Origin, RawJwk};

pub const SESSION_PATH: &str = "/api/v1/pin/session";
pub const VIEW_PATH: &str = "/api/v1/pin/view";
pub const SET_PATH: &str = "/api/v1/pin/set";

/// How long a revealed PIN stays on screen when the token request does not say, in seconds.
pub const DEFAULT_HIDE_AFTER_SECONDS: u32 = 30;

/// The longest an issuer may have a revealed PIN stay on screen, in seconds.
pub const MAX_HIDE_AFTER_SECONDS: u32 = 300;

/// The `error` of a view's 404 when the card is registered but the issuer's CMS has no PIN for it
/// (an unknown card is `not_found`). The token is not used up.
pub const NO_PIN: &str = "no_pin";

/// Refused set-PIN attempts a token survives: the third refusal is answered and uses the token up.
pub const MAX_SET_ATTEMPTS: u32 = 3;

/// The issuer's PIN policy as the session sends it to the widget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PinPolicyJson {
    pub min_length: usize,
    pub max_length: usize,
    #[serde(default)]
    pub forbid_years: bool,
}

impl From<&PinPolicy> for PinPolicyJson {
    fn from(policy: &PinPolicy) -> Self {
        Self { min_length: policy.min_len(), max_length: policy.max_len(), forbid_years: policy.forbid_years() }
    }
}

impl PinPolicyJson {
    /// The policy these lengths and flags describe; an error for lengths no PIN block carries.
    pub fn to_policy(self) -> Result<PinPolicy, FormatError> {
        PinPolicy::new(self.min_length, self.max_length, self.forbid_years)
    }
}

/// `POST /api/v1/pin/session`, 200: what the widget needs to run the flow.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    pub action: Action,
    #[serde(default)]
    pub issuer_id: String,
    /// The cardholder's language, if the issuer named it.
    pub language: Option<String>,
    /// The origin the desktop widget reports to; `None` in a webview.
    pub parent_origin: Option<Origin>,
    #[serde(default)]
    pub allowed_parent_origins: Vec<Origin>,
    #[serde(default)]
    pub expires_at: i64,
    #[serde(default)]
    pub expires_in: i64,
    pub pin_policy: PinPolicyJson,
    /// The service's public encryption key (P-256, `use: enc`, `alg: ECDH-ES`): set-PIN encrypts to it.
    pub encryption_jwk: RawJwk,
    /// Seconds after which a revealed PIN hides itself; 0 (absent) means the default.
    #[serde(default)]
    pub hide_after_seconds: u32,
    /// Whether the widget offers to copy the PIN.
    #[serde(default)]
    pub allow_copy: bool,
}

impl SessionResponse {
    /// Seconds a revealed PIN stays on screen: the issuer's, or [`DEFAULT_HIDE_AFTER_SECONDS`].
    pub fn hide_after(&self) -> u32 {
        if self.hide_after_seconds == 0 {
            DEFAULT_HIDE_AFTER_SECONDS
        } else {
            self.hide_after_seconds
        }
    }
}

/// `POST /api/v1/pin/view` request: the widget's ephemeral P-256 public key.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViewRequest {
    pub epk: RawJwk,
}

/// `POST /api/v1/pin/view`, 200: the PIN as a JWE to the ephemeral key.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ViewResponse {
    pub encrypted_pin: String,
}

/// `POST /api/v1/pin/set` request: the new PIN as a JWE to the service key.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SetRequest {
    pub encrypted_pin: String,
}

macro_rules! redacted_debug {
    ($($ty:ident),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct(stringify!($ty)).finish_non_exhaustive()
            }
        }
    )*};
}
redacted_debug!(ViewResponse, SetRequest);

/// The PIN text inside the plaintext of a PIN JWE, `{"pin":"…"}`, borrowed from `plaintext` so that
/// no copy is left to wipe. `None` for anything else: other members, other types, escapes. The
/// text is not checked here: the caller applies [`Pin::parse`] or a [`PinPolicy`].
pub fn pin_from_plaintext(plaintext: &[u8]) -> Option<&str> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct PinPlaintext<'a> {
        pin: &'a str,
    }
    serde_json::from_slice::<PinPlaintext<'_>>(plaintext).ok().map(|json| json.pin)
}

/// The plaintext of a PIN JWE, `{"pin":"…"}`, written straight into one buffer that is wiped on
/// drop (a PIN is digits only, so nothing needs escaping).
pub fn pin_plaintext(pin: &Pin) -> Zeroizing<Vec<u8>> {
    let mut plaintext = Zeroizing::new(Vec::with_capacity(10 + Pin::MAX_LEN));
    plaintext.extend_from_slice(b"{\"pin\":\"");
    plaintext.extend_from_slice(pin.as_bytes());
    plaintext.extend_from_slice(b"\"}");
    plaintext
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_plaintext_round_trips() {
        let pin = Pin::parse("2468").unwrap();
        let plaintext = pin_plaintext(&pin);
        assert_eq!(plaintext.as_slice(), br#"{"pin":"2468"}"#);
        assert_eq!(pin_from_plaintext(&plaintext), Some("2468"));
        assert_eq!(pin_from_plaintext(br#" { "pin" : "123456789012" } "#), Some("123456789012"));
        for bad in [&br#"{"pin":2468}"#[..], br#"{"pin":"2468","x":1}"#, br#"{"pin":"\u0032468"}"#, b"2468", b""] {
            assert_eq!(pin_from_plaintext(bad), None);
        }
    }

    #[test]
    fn a_session_reads_back_with_defaults() {
        let json = r#"{"action":"VIEW_PIN","issuerId":"DEMOISSUER","language":null,"parentOrigin":"https://bank.example",
            "expiresAt":1,"expiresIn":1,"pinPolicy":{"minLength":4,"maxLength":6},
            "encryptionJwk":{"kty":"EC"}}"#;
        let session: SessionResponse = serde_json::from_str(json).unwrap();
        assert_eq!(session.action, Action::ViewPin);
        assert_eq!(session.parent_origin.as_ref().unwrap().as_str(), "https://bank.example");
        assert_eq!(session.hide_after(), DEFAULT_HIDE_AFTER_SECONDS);
        assert!(!session.allow_copy && session.allowed_parent_origins.is_empty());
        assert_eq!(session.encryption_jwk.get(), r#"{"kty":"EC"}"#);
        assert_eq!(session.pin_policy.to_policy().unwrap().max_len(), 6);
    }

    #[test]
    fn debug_shows_no_encrypted_pin() {
        let request = SetRequest { encrypted_pin: "eyJhbGciOiJFQ0RILUVTIn0..x.y.z".into() };
        assert!(!alloc::format!("{request:?}").contains("eyJ"));
    }
}

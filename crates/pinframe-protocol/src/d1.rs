//! The D1 PIN Management API between the service and the issuer's card management system: `GET`
//! and `PUT /cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin` and `GET …/pin/changeCounter`. A PIN
//! block travels only inside a JWE: to the service's key on `GET`, to the CMS's key on `PUT`.

use alloc::format;
use alloc::string::String;
use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

/// Largest `encryptedPinBlock` the API allows, in characters.
pub const MAX_ENCRYPTED_PIN_BLOCK_LEN: usize = 8192;

/// `/cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin`.
pub fn pin_path(issuer: &str, card: &str) -> String {
    format!("/cms/api/v1/issuers/{issuer}/cards/{card}/pin")
}

/// `/cms/api/v1/issuers/{issuerId}/cards/{cardId}/pin/changeCounter`.
pub fn change_counter_path(issuer: &str, card: &str) -> String {
    format!("/cms/api/v1/issuers/{issuer}/cards/{card}/pin/changeCounter")
}

/// The type of a PIN block, as the request body names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PinBlockType {
    /// ISO 9564-1 format 0, XORed with the card's PAN field.
    #[serde(rename = "ISO0")]
    Iso0,
    /// SECCOS 3DES block. Stored and returned, never computed (its PRW/MAC has no public spec).
    #[serde(rename = "SECCOS_3DES")]
    Seccos3Des,
}

impl PinBlockType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Iso0 => "ISO0",
            Self::Seccos3Des => "SECCOS_3DES",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "ISO0" => Some(Self::Iso0),
            "SECCOS_3DES" => Some(Self::Seccos3Des),
            _ => None,
        }
    }
}

/// The body of `GET …/pin` (200) and `PUT …/pin`: the block type and the JWE of [`PinBlockJson`].
/// `type` stays text so that an unknown one gets its own error code.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PinBody {
    #[serde(rename = "type")]
    pub block_type: String,
    pub encrypted_pin_block: String,
}

impl fmt::Debug for PinBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinBody").field("type", &self.block_type).finish_non_exhaustive()
    }
}

/// The body of `GET …/pin/changeCounter`, 200.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeCounterBody {
    pub change_counter: u64,
}

/// The plaintext inside `encryptedPinBlock`: `{"format":"ISO0","pinBlock":"041261AAAAEDCBA9"}`
/// (16 upper-case hex digits). The block is wiped on drop.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinBlockJson {
    pub format: String,
    #[serde(rename = "pinBlock")]
    pub pin_block: String,
}

impl Drop for PinBlockJson {
    fn drop(&mut self) {
        self.pin_block.zeroize();
    }
}

impl fmt::Debug for PinBlockJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinBlockJson").field("format", &self.format).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_types_and_paths() {
        for t in [PinBlockType::Iso0, PinBlockType::Seccos3Des] {
            assert_eq!(PinBlockType::parse(t.as_str()), Some(t));
            assert_eq!(serde_json::to_string(&t).unwrap(), format!("\"{}\"", t.as_str()));
        }
        assert_eq!(PinBlockType::parse("ISO1"), None);
        assert_eq!(pin_path("DEMOISSUER", "demo-card"), "/cms/api/v1/issuers/DEMOISSUER/cards/demo-card/pin");
        assert!(change_counter_path("A", "b").ends_with("/cards/b/pin/changeCounter"));
    }

    #[test]
    fn a_pin_block_json_hides_its_block() {
        let json: PinBlockJson = serde_json::from_str(r#"{"format":"ISO0","pinBlock":"041261AAAAEDCBA9"}"#).unwrap();
        assert!(!format!("{json:?}").contains("0412"));
        assert!(serde_json::from_str::<PinBlockJson>(r#"{"format":"ISO0","pinBlock":"x","pan":"1"}"#).is_err());
    }
}

//! The one error body every endpoint of the service and of the CMS answers with (the OAuth token
//! endpoint aside, which answers in RFC 6749's shape: [`crate::issuer::OAuthErrorBody`]).

use alloc::string::String;

use serde::{Deserialize, Serialize};

use crate::origin::Origin;

/// `{"error": <code>, "reason"?: <policy reason>, "field"?: <member>, "message": <sentence>,
/// "parentOrigin"?: <origin>}`.
/// None of it ever carries a request value (a value can be a PIN, a token or a PAN).
#[derive(Debug, Serialize, Deserialize)]
pub struct ErrorBody {
    /// A stable code: `invalid_card_id`, `unauthorized`, `pin_policy`, …
    pub error: String,
    /// With `pin_policy` only: the first rule the new PIN breaks (`too_short`, `sequential`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With a 400 about one member of a JSON body: its path (`cardId`, `cards[0].encryptedData`).
    /// Never its value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// A sentence for the developer reading the response; not for the cardholder.
    pub message: String,
    /// With the widget session's 401 only: the refused token's `parentOrigin`, while the service
    /// still keeps the token, so that the widget tells that origin alone and no other.
    #[serde(rename = "parentOrigin", default, skip_serializing_if = "Option::is_none")]
    pub parent_origin: Option<Origin>,
}

//! The demo page's own backend, served only by `pinframe serve --demo`: `POST /demo/api/token` and
//! `POST /demo/api/theme`. Not for integrators: a bank's page asks its own backend, which calls
//! `POST /api/v1/pin-control/tokens` (`crate::issuer::TokenRequest`).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::issuer::ThemeIssue;

/// `POST /demo/api/token`: a token for the demo card, with the page's `Origin` as `parentOrigin`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct DemoTokenRequest {
    pub action: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default, deserialize_with = "crate::number::optional_u32")]
    pub hide_after_seconds: Option<u32>,
    #[serde(default)]
    pub allow_copy: bool,
}

/// `POST /demo/api/theme`: one of the sample themes, or `default` for none.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoThemeRequest {
    pub theme: String,
}

/// `POST /demo/api/theme`, 200: the version, and what the sample theme lost (nothing).
#[derive(Debug, Serialize, Deserialize)]
pub struct DemoThemeResponse {
    pub version: String,
    pub dropped: Vec<ThemeIssue>,
}

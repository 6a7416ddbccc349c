//! What the widget tells its host, and the command it takes from it.
//!
//! | host | widget → host | host → widget |
//! |---|---|---|
//! | Android WebView | `window.android_handler.<event>()`, `pin_valid(valid)` | global `set_pin()` |
//! | iOS WKWebView | `window.webkit.messageHandlers.ios_handler.postMessage(`[`HostMessage`]`)` | global `set_pin()` |
//! | desktop iframe | `window.parent.postMessage(`[`HostMessage`]`, parentOrigin)`, never `"*"`; also [`ResizeMessage`] | `postMessage(`[`HostCommand`]`)` from the parent, origin-checked |

use serde::{Deserialize, Serialize};

/// The object an Android host injects (`addJavascriptInterface`), one method per event.
pub const ANDROID_HANDLER: &str = "android_handler";
/// The `WKScriptMessageHandler` name an iOS host registers.
pub const IOS_HANDLER: &str = "ios_handler";
/// The host's command: a global function, and the `event` of a [`HostCommand`].
pub const SET_PIN: &str = "set_pin";
/// The `event` of a [`ResizeMessage`].
pub const RESIZE: &str = "resize";

/// Why a flow stopped, as the `code` of the `error` event: stable names a host can act on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The service could not be reached: the device is offline or the request did not get through.
    NoNetwork,
    /// The service answered that it, its database or the issuer's CMS is unavailable.
    ServiceUnavailable,
    /// The card has no PIN at the issuer's CMS yet (view).
    NoPin,
    /// The link's token expired before it was used.
    LinkExpired,
    /// The service refused the token: used, unknown, or used up by refused attempts.
    LinkInvalid,
    /// The service refused set-PIN attempts until the token was used up.
    TooManyAttempts,
    /// The token is for the other page (a set-PIN link opened as view, say).
    WrongPage,
    /// The page around the widget is not the one the token was issued for.
    WrongHost,
    /// The page was opened without a token.
    LinkMissing,
    /// The service's answer could not be read or decrypted.
    Failed,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 10] = [
        Self::NoNetwork,
        Self::ServiceUnavailable,
        Self::NoPin,
        Self::LinkExpired,
        Self::LinkInvalid,
        Self::TooManyAttempts,
        Self::WrongPage,
        Self::WrongHost,
        Self::LinkMissing,
        Self::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::NoNetwork => "no_network",
            Self::ServiceUnavailable => "service_unavailable",
            Self::NoPin => "no_pin",
            Self::LinkExpired => "link_expired",
            Self::LinkInvalid => "link_invalid",
            Self::TooManyAttempts => "too_many_attempts",
            Self::WrongPage => "wrong_page",
            Self::WrongHost => "wrong_host",
            Self::LinkMissing => "link_missing",
            Self::Failed => "failed",
        }
    }

    /// Whether the widget can try again with the same link (it offers "Try again"); otherwise only
    /// a new link can help, and the host also hears `view_pin_error` or `set_pin_error`.
    pub fn retryable(self) -> bool {
        matches!(self, Self::NoNetwork | Self::ServiceUnavailable)
    }
}

/// An outcome or state the widget reports to its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostEvent {
    ViewPinSuccess,
    ViewPinError,
    SetPinSuccess,
    SetPinError,
    SetPinValidationError,
    /// Whether the new PIN passes the policy and both fields match; sent on every input change.
    PinValid(bool),
    /// **pinframe**: a flow stopped, with why; sent before `view_pin_error` or `set_pin_error`
    /// (which follow only when a new link is needed).
    Error(ErrorCode),
    /// **pinframe**: the unused token expires in [`TOKEN_EXPIRING_SECONDS`] seconds.
    TokenExpiring,
    /// **pinframe**: the unused token has expired.
    TokenExpired,
}

/// How long before an unused token's expiry the host hears `token_expiring`.
pub const TOKEN_EXPIRING_SECONDS: u32 = 10;

impl HostEvent {
    /// The event's name: the Android method and the `event` of a [`HostMessage`].
    pub fn name(self) -> &'static str {
        match self {
            Self::ViewPinSuccess => "view_pin_success",
            Self::ViewPinError => "view_pin_error",
            Self::SetPinSuccess => "set_pin_success",
            Self::SetPinError => "set_pin_error",
            Self::SetPinValidationError => "set_pin_validation_error",
            Self::PinValid(_) => "pin_valid",
            Self::Error(_) => "error",
            Self::TokenExpiring => "token_expiring",
            Self::TokenExpired => "token_expired",
        }
    }

    /// The argument of `error`; `None` for the other events.
    pub fn code(self) -> Option<ErrorCode> {
        match self {
            Self::Error(code) => Some(code),
            _ => None,
        }
    }

    /// The argument of `pin_valid`; `None` for the other events.
    pub fn pin_valid(self) -> Option<bool> {
        match self {
            Self::PinValid(valid) => Some(valid),
            _ => None,
        }
    }

    /// What iOS and a framing page receive.
    pub fn message(self) -> HostMessage<'static> {
        HostMessage { event: self.name(), pin_valid: self.pin_valid(), code: self.code().map(ErrorCode::as_str) }
    }
}

/// `{event, pin_valid?, code?}`, to iOS and to a framing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMessage<'a> {
    pub event: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_valid: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<&'a str>,
}

/// `{event: "resize", height}`: the content's height in CSS pixels, to a framing page only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResizeMessage<'a> {
    pub event: &'a str,
    pub height: u32,
}

impl ResizeMessage<'static> {
    pub fn new(height: u32) -> Self {
        Self { event: RESIZE, height }
    }
}

/// `{event: "set_pin"}`, from a framing page to the widget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCommand<'a> {
    pub event: &'a str,
}

impl HostCommand<'_> {
    pub fn is_set_pin(&self) -> bool {
        self.event == SET_PIN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_are_distinct_and_only_network_trouble_is_retried() {
        let names: alloc::collections::BTreeSet<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        let retried: alloc::vec::Vec<_> = ErrorCode::ALL.into_iter().filter(|c| c.retryable()).collect();
        assert_eq!(retried, [ErrorCode::NoNetwork, ErrorCode::ServiceUnavailable]);
    }

    #[test]
    fn messages_have_the_documented_json() {
        let cases = [
            (HostEvent::ViewPinSuccess, r#"{"event":"view_pin_success"}"#),
            (HostEvent::ViewPinError, r#"{"event":"view_pin_error"}"#),
            (HostEvent::SetPinSuccess, r#"{"event":"set_pin_success"}"#),
            (HostEvent::SetPinError, r#"{"event":"set_pin_error"}"#),
            (HostEvent::SetPinValidationError, r#"{"event":"set_pin_validation_error"}"#),
            (HostEvent::PinValid(true), r#"{"event":"pin_valid","pin_valid":true}"#),
            (HostEvent::PinValid(false), r#"{"event":"pin_valid","pin_valid":false}"#),
            (HostEvent::Error(ErrorCode::NoPin), r#"{"event":"error","code":"no_pin"}"#),
            (HostEvent::Error(ErrorCode::NoNetwork), r#"{"event":"error","code":"no_network"}"#),
            (HostEvent::TokenExpiring, r#"{"event":"token_expiring"}"#),
            (HostEvent::TokenExpired, r#"{"event":"token_expired"}"#),
        ];
        for (event, json) in cases {
            assert_eq!(serde_json::to_string(&event.message()).unwrap(), json);
            assert_eq!(serde_json::from_str::<HostMessage<'_>>(json).unwrap(), event.message());
        }
        assert_eq!(serde_json::to_string(&ResizeMessage::new(312)).unwrap(), r#"{"event":"resize","height":312}"#);
        assert!(serde_json::from_str::<HostCommand<'_>>(r#"{"event":"set_pin"}"#).unwrap().is_set_pin());
        assert!(!serde_json::from_str::<HostCommand<'_>>(r#"{"event":"view_pin"}"#).unwrap().is_set_pin());
    }
}

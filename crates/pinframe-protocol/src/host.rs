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
}

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
        HostMessage { event: self.name(), pin_valid: self.pin_valid() }
    }
}

/// `{event, pin_valid?}`, to iOS and to a framing page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMessage<'a> {
    pub event: &'a str,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_valid: Option<bool>,
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
    fn messages_have_the_documented_json() {
        let cases = [
            (HostEvent::ViewPinSuccess, r#"{"event":"view_pin_success"}"#),
            (HostEvent::ViewPinError, r#"{"event":"view_pin_error"}"#),
            (HostEvent::SetPinSuccess, r#"{"event":"set_pin_success"}"#),
            (HostEvent::SetPinError, r#"{"event":"set_pin_error"}"#),
            (HostEvent::SetPinValidationError, r#"{"event":"set_pin_validation_error"}"#),
            (HostEvent::PinValid(true), r#"{"event":"pin_valid","pin_valid":true}"#),
            (HostEvent::PinValid(false), r#"{"event":"pin_valid","pin_valid":false}"#),
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

//! Every call between the widget and its host, in one place (contract, "Host callbacks"):
//! `window.android_handler.<event>()`, `webkit.messageHandlers.ios_handler.postMessage({event})`
//! and `window.parent.postMessage({event}, parentOrigin)`. Never to `"*"`.

use js_sys::{Function, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};

/// An event the widget reports to its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostEvent {
    ViewPinSuccess,
    ViewPinError,
}

impl HostEvent {
    pub fn name(self) -> &'static str {
        match self {
            Self::ViewPinSuccess => "view_pin_success",
            Self::ViewPinError => "view_pin_error",
        }
    }
}

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn message(event: HostEvent) -> JsValue {
    let message = Object::new();
    let _ = Reflect::set(&message, &"event".into(), &event.name().into());
    message.into()
}

/// Tells every host bridge that is present. A host's own exception is caught and ignored: a broken
/// handler must not break the widget or keep the other bridges from hearing.
pub fn notify(event: HostEvent, parent_origins: &[String]) {
    let Some(window) = web_sys::window() else { return };
    let global: &JsValue = window.as_ref();

    // Android: an object injected with @JavascriptInterface, one method per event.
    if let Some(handler) = get(global, "android_handler") {
        if let Some(method) = get(&handler, event.name()).and_then(|m| m.dyn_into::<Function>().ok()) {
            let _ = method.call0(&handler);
        }
    }

    // iOS: a WKScriptMessageHandler named ios_handler.
    let ios = get(global, "webkit").and_then(|w| get(&w, "messageHandlers")).and_then(|h| get(&h, "ios_handler"));
    if let Some(handler) = ios {
        if let Some(post) = get(&handler, "postMessage").and_then(|p| p.dyn_into::<Function>().ok()) {
            let _ = post.call1(&handler, &message(event));
        }
    }

    // Desktop: only when framed, and only to named origins; postMessage drops a message whose
    // target origin is not the parent's.
    if let Ok(Some(parent)) = window.parent() {
        if !Object::is(parent.as_ref(), global) {
            for origin in parent_origins {
                let _ = parent.post_message(&message(event), origin);
            }
        }
    }
}

/// The issuer's registered origins, which the service writes into the page.
pub fn page_origins() -> Vec<String> {
    web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector("meta[name=\"pinframe-origins\"]").ok().flatten())
        .and_then(|meta| meta.get_attribute("content"))
        .map(|content| content.split_ascii_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

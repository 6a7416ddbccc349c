//! Every call between the widget and its host, in one place (`docs/protocol.md`, "Host events and commands"):
//! `window.android_handler.<event>()` (with `pin_valid`'s boolean or `error`'s code), `webkit.messageHandlers.ios_handler.postMessage({event})`
//! and `window.parent.postMessage({event}, parentOrigin)`. Never to `"*"`. The names and payloads
//! are `pinframe_protocol::host`'s.

use js_sys::{Function, Object, Reflect};
use pinframe_protocol::host::{HostCommand, ResizeMessage, ANDROID_HANDLER, IOS_HANDLER, SET_PIN};
use pinframe_protocol::HostEvent;
use serde::Serialize;
use wasm_bindgen::{JsCast, JsValue};

use crate::state::Failure;

fn get(target: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(target, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

/// A protocol message as the plain object a host receives.
fn to_js(message: &impl Serialize) -> JsValue {
    serde_json::to_string(message).ok().and_then(|json| js_sys::JSON::parse(&json).ok()).unwrap_or(JsValue::UNDEFINED)
}

fn message(event: HostEvent) -> JsValue {
    to_js(&event.message())
}

/// Tells every host bridge that is present. A host's own exception is caught and ignored: a broken
/// handler must not break the widget or keep the other bridges from hearing.
pub fn notify(event: HostEvent, parent_origins: &[String]) {
    let Some(window) = web_sys::window() else { return };
    let global: &JsValue = window.as_ref();

    // Android: an object injected with @JavascriptInterface, one method per event.
    if let Some(handler) = get(global, ANDROID_HANDLER) {
        if let Some(method) = get(&handler, event.name()).and_then(|m| m.dyn_into::<Function>().ok()) {
            let _ = match (event.pin_valid(), event.code()) {
                (Some(valid), _) => method.call1(&handler, &valid.into()),
                (_, Some(code)) => method.call1(&handler, &code.as_str().into()),
                _ => method.call0(&handler),
            };
        }
    }

    // iOS: a WKScriptMessageHandler named ios_handler.
    let ios = get(global, "webkit").and_then(|w| get(&w, "messageHandlers")).and_then(|h| get(&h, IOS_HANDLER));
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

/// Tells the host that a flow stopped: `error` with its code, then `final_event`
/// (`view_pin_error` or `set_pin_error`) when only a new link can help.
pub fn report_failure(failure: Failure, final_event: HostEvent, parent_origins: &[String]) {
    notify(HostEvent::Error(failure.code()), parent_origins);
    if !failure.retryable() {
        notify(final_event, parent_origins);
    }
}

/// Tells a framing parent the content's height in CSS pixels: `{event: "resize", height}`, to the
/// same origins as every other event. Webview hosts size their views themselves and do not hear it.
pub fn post_resize(height: u32, parent_origins: &[String]) {
    let Some(window) = web_sys::window() else { return };
    let Ok(Some(parent)) = window.parent() else { return };
    if Object::is(parent.as_ref(), window.as_ref()) {
        return;
    }
    let message = to_js(&ResizeMessage::new(height));
    for origin in parent_origins {
        let _ = parent.post_message(&message, origin);
    }
}

/// Installs the host's `set_pin` command: a global `set_pin()` (Android, iOS) and, from the framing
/// page only, `postMessage({event: "set_pin"})` from `parent_origin`. Returns a guard; dropping it
/// removes both.
pub fn on_set_pin(parent_origin: Option<String>, command: impl Fn() + 'static) -> SetPinCommand {
    use std::rc::Rc;
    use wasm_bindgen::closure::Closure;

    let command = Rc::new(command);
    let Some(window) = web_sys::window() else { return SetPinCommand::default() };
    let global = {
        let command = command.clone();
        Closure::<dyn Fn()>::new(move || command())
    };
    let _ = Reflect::set(window.as_ref(), &SET_PIN.into(), global.as_ref());

    let listener = parent_origin.map(|origin| {
        let window = window.clone();
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
            let from_parent = window.parent().ok().flatten().zip(event.source()).is_some_and(|(parent, source)| {
                Object::is(parent.as_ref(), source.as_ref()) && !Object::is(parent.as_ref(), window.as_ref())
            });
            let is_set_pin = get(&event.data(), "event")
                .and_then(|e| e.as_string())
                .is_some_and(|event| HostCommand { event: &event }.is_set_pin());
            if from_parent && event.origin() == origin && is_set_pin {
                command();
            }
        })
    });
    if let Some(listener) = &listener {
        let _ = window.add_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
    }
    SetPinCommand { global: Some(global), listener }
}

/// Keeps the host's `set_pin` command installed; see [`on_set_pin`].
#[derive(Default)]
pub struct SetPinCommand {
    global: Option<wasm_bindgen::closure::Closure<dyn Fn()>>,
    listener: Option<wasm_bindgen::closure::Closure<dyn Fn(web_sys::MessageEvent)>>,
}

impl std::fmt::Debug for SetPinCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SetPinCommand").finish_non_exhaustive()
    }
}

impl Drop for SetPinCommand {
    fn drop(&mut self) {
        let Some(window) = web_sys::window() else { return };
        if self.global.take().is_some() {
            let target: &Object = window.as_ref();
            let _ = Reflect::delete_property(target, &SET_PIN.into());
        }
        if let Some(listener) = self.listener.take() {
            let _ = window.remove_event_listener_with_callback("message", listener.as_ref().unchecked_ref());
        }
    }
}

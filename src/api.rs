//! The widget's calls to the service (`docs/protocol.md`, "Widget-facing API"), with `fetch`. The
//! bodies are `pinframe_protocol::widget`'s.

use js_sys::{Promise, Reflect};
use pinframe_core::pinblock::hex_encode;
use pinframe_core::rand_core::RngCore;
use pinframe_protocol::widget::SESSION_PATH;
use subtle::ConstantTimeEq;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, ReferrerPolicy, RequestCache, RequestCredentials, RequestInit, Response};
use zeroize::Zeroizing;

use crate::rng::BrowserRng;

/// A completed HTTP exchange: the status and the body text. Bodies are parsed with
/// `serde_json::from_slice`, as the core parses its JSON: `from_str` would bring a second copy of
/// serde_json's parser (its `StrRead` reader's) into the wasm.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// When the answer arrived, by this device's clock (ms): a lifetime it names counts from then,
    /// not from when the widget got round to reading it (the loader's session answer can wait for
    /// the wasm to compile).
    pub at_ms: f64,
}

/// `POST path` with the token as Bearer credential, no cookies, no cache and no referrer. The
/// request is sent when this is called, not when the future is first polled, so the caller can
/// work while it is on the network. `Err` only when no answer came (network down, blocked).
pub fn post(
    path: &str,
    token: &str,
    correlation_id: &str,
    body: Option<&str>,
) -> impl std::future::Future<Output = Result<Answer, JsValue>> {
    read(send(path, token, correlation_id, body))
}

/// `POST /api/v1/pin/session` with `token`, and the correlation id that ties the flow's requests
/// together: the loader's request, when it made one for this very token (taken once: a "Try
/// again" asks anew), else one sent now, as [`post`] does. When the loader's answer is already in,
/// the future is ready at its first poll.
pub fn session(token: &str) -> (String, impl std::future::Future<Output = Result<Answer, JsValue>>) {
    let (correlation, source) = match prefetched(token) {
        Some(found) => found,
        None => {
            let correlation = correlation_id();
            let sent = send(SESSION_PATH, token, &correlation, None);
            (correlation, Source::Sent(sent))
        }
    };
    let answer = async move {
        match source {
            Source::Settled(answer) => Ok(answer),
            Source::Loader(promise) => {
                settled(&JsFuture::from(promise).await?).ok_or_else(|| JsValue::from_str("no answer"))
            }
            Source::Sent(sent) => read(sent).await,
        }
    };
    (correlation, answer)
}

/// Where a session's answer comes from.
enum Source {
    /// The loader's, already in.
    Settled(Answer),
    /// The loader's, still on the network: a promise of `{status, body}`.
    Loader(Promise),
    /// A request sent here.
    Sent(Result<Promise, JsValue>),
}

/// Where the loader leaves its session request: `{token, correlationId, answer, settled}`, `answer`
/// being a promise of `{status, body, at}` (`at`: when it arrived) and `settled` that object once it is in
/// (crates/pinframe/src/session_prefetch.js, put before the loader by the service).
const PREFETCH: &str = "pinframeSession";

/// Takes the loader's session request off the window, if it was made for `token`.
fn prefetched(token: &str) -> Option<(String, Source)> {
    let window: js_sys::Object = web_sys::window()?.into();
    let key = JsValue::from_str(PREFETCH);
    let found = Reflect::get(&window, &key).ok().filter(JsValue::is_object)?;
    let _ = Reflect::delete_property(&window, &key);
    let theirs = Zeroizing::new(Reflect::get(&found, &JsValue::from_str("token")).ok()?.as_string()?);
    if !bool::from(theirs.as_bytes().ct_eq(token.as_bytes())) {
        return None;
    }
    let correlation = Reflect::get(&found, &JsValue::from_str("correlationId")).ok()?.as_string()?;
    if let Some(answer) = Reflect::get(&found, &JsValue::from_str("settled")).ok().as_ref().and_then(settled) {
        return Some((correlation, Source::Settled(answer)));
    }
    let answer = Reflect::get(&found, &JsValue::from_str("answer")).ok()?.dyn_into::<Promise>().ok()?;
    Some((correlation, Source::Loader(answer)))
}

/// The loader's `{status, body}`.
fn settled(value: &JsValue) -> Option<Answer> {
    if !value.is_object() {
        return None;
    }
    let status = Reflect::get(value, &JsValue::from_str("status")).ok()?.as_f64()?;
    let body = Reflect::get(value, &JsValue::from_str("body")).ok()?.as_string()?;
    let at_ms = Reflect::get(value, &JsValue::from_str("at")).ok().and_then(|at| at.as_f64());
    Some(Answer { status: status as u16, body, at_ms: at_ms.unwrap_or_else(js_sys::Date::now) })
}

async fn read(sent: Result<Promise, JsValue>) -> Result<Answer, JsValue> {
    let response: Response = JsFuture::from(sent?).await?.dyn_into()?;
    let at_ms = js_sys::Date::now();
    let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
    Ok(Answer { status: response.status(), body: text, at_ms })
}

fn send(path: &str, token: &str, correlation_id: &str, body: Option<&str>) -> Result<Promise, JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let headers = Headers::new()?;
    headers.set("Authorization", &format!("Bearer {token}"))?;
    headers.set("x-correlation-id", correlation_id)?;
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_credentials(RequestCredentials::Omit);
    init.set_cache(RequestCache::NoStore);
    init.set_referrer_policy(ReferrerPolicy::NoReferrer);
    if let Some(body) = body {
        headers.set("Content-Type", "application/json")?;
        init.set_body(&JsValue::from_str(body));
    }
    init.set_headers(&headers);
    Ok(window.fetch_with_str_and_init(path, &init))
}

/// A random id that ties the flow's requests together in the service's logs.
fn correlation_id() -> String {
    let mut bytes = [0u8; 8];
    BrowserRng.fill_bytes(&mut bytes);
    hex_encode(&bytes).to_ascii_lowercase()
}

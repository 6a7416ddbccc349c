//! The widget's calls to the service (`docs/protocol.md`, "Widget-facing API"), with `fetch`. The
//! bodies are `pinframe_protocol::widget`'s.

use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Headers, ReferrerPolicy, RequestCache, RequestCredentials, RequestInit, Response};

/// A completed HTTP exchange: the status and the body text.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub body: String,
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
    let sent = send(path, token, correlation_id, body);
    async move {
        let response: Response = JsFuture::from(sent?).await?.dyn_into()?;
        let text = JsFuture::from(response.text()?).await?.as_string().unwrap_or_default();
        Ok(Answer { status: response.status(), body: text })
    }
}

fn send(path: &str, token: &str, correlation_id: &str, body: Option<&str>) -> Result<js_sys::Promise, JsValue> {
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

//! The page's link: its token, taken out of the URL fragment, and how long it lives.
//!
//! The token is kept in the tab's session storage under the page's path until it is used, refused
//! or expired, so that reloading the same page in the same tab is not a dead end: the fragment is
//! gone from the address bar by then (it is taken out at once, so it is not left in history,
//! bookmarks or a screenshot of the URL). Session storage belongs to this origin and this tab only
//! and ends with the tab. Nothing the cardholder types is ever written there.

use pinframe_protocol::TokenText;
use wasm_bindgen::JsValue;
use web_sys::Storage;
use zeroize::Zeroizing;

use crate::fragment::token_from_fragment;

const TOKEN_KEY: &str = "pinframe.token:";
const DEADLINE_KEY: &str = "pinframe.deadline:";

/// Milliseconds since the epoch, by this device's clock (only ever compared with itself).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// What the page found when it started. Its `Debug` never shows the token.
pub enum Found {
    /// A token, from the fragment or kept from before a reload.
    Token(Zeroizing<String>),
    /// A kept token whose expiry has passed (it has been forgotten).
    Expired,
    /// Nothing: the page was opened without a token.
    Missing,
}

impl std::fmt::Debug for Found {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Token(_) => "Token(…)",
            Self::Expired => "Expired",
            Self::Missing => "Missing",
        })
    }
}

fn storage() -> Option<Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

fn path() -> String {
    web_sys::window().and_then(|w| w.location().pathname().ok()).unwrap_or_default()
}

/// Reads `#token=…` (then replaces the URL with one without a fragment), else the token kept for
/// this page in session storage.
pub fn take() -> Found {
    let Some(window) = web_sys::window() else { return Found::Missing };
    let location = window.location();
    let hash = Zeroizing::new(location.hash().unwrap_or_default());
    let from_fragment = token_from_fragment(&hash).map(|t| Zeroizing::new(t.expose().to_owned()));
    if !hash.is_empty() {
        let clean = format!("{}{}", location.pathname().unwrap_or_default(), location.search().unwrap_or_default());
        if let Ok(history) = window.history() {
            let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&clean));
        }
    }
    let path = path();
    let Some(storage) = storage() else {
        return from_fragment.map_or(Found::Missing, Found::Token);
    };
    if let Some(token) = from_fragment {
        // A new link replaces whatever an earlier one left.
        let _ = storage.remove_item(&format!("{DEADLINE_KEY}{path}"));
        let _ = storage.set_item(&format!("{TOKEN_KEY}{path}"), &token);
        return Found::Token(token);
    }
    // An expired link stays known as expired (its token already gone) until the page next starts.
    if deadline().is_some_and(|deadline| now_ms() >= deadline) {
        forget();
        return Found::Expired;
    }
    let kept = storage.get_item(&format!("{TOKEN_KEY}{path}")).ok().flatten().map(Zeroizing::new);
    match kept.filter(|t| TokenText::parse(t).is_some()) {
        Some(kept) => Found::Token(kept),
        None => Found::Missing,
    }
}

/// Records when the kept token expires (from the session's `expiresIn`), so that a reload after it
/// knows the link expired rather than asking the service. Kept as whole milliseconds: writing and
/// reading an integer keeps float formatting and parsing (some 15 KB) out of the wasm.
pub fn remember_deadline(deadline_ms: f64) {
    if let Some(storage) = storage() {
        let whole = deadline_ms.max(0.0) as u64;
        let _ = storage.set_item(&format!("{DEADLINE_KEY}{}", path()), &whole.to_string());
    }
}

/// The kept deadline, when a session has named it.
pub fn deadline() -> Option<f64> {
    let kept = storage()?.get_item(&format!("{DEADLINE_KEY}{}", path())).ok().flatten()?;
    kept.parse::<u64>().ok().map(|whole| whole as f64)
}

/// The kept token is of no more use: forgets it, and whether it expired ([`expire`]) or was used
/// or refused ([`forget`]).
pub fn end(expired: bool) {
    if expired {
        expire();
    } else {
        forget();
    }
}

/// Forgets the expired token, keeping only that it expired, so that a reload says so.
pub fn expire() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&format!("{TOKEN_KEY}{}", path()));
    }
}

/// Forgets the kept token and its expiry: it was used or refused.
pub fn forget() {
    if let Some(storage) = storage() {
        let path = path();
        let _ = storage.remove_item(&format!("{TOKEN_KEY}{path}"));
        let _ = storage.remove_item(&format!("{DEADLINE_KEY}{path}"));
    }
}

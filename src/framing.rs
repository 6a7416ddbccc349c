//! Whether the page that frames the widget is the one its token was issued for.
//!
//! The page's `frame-ancestors` can only list every origin the issuer registered: the token, and
//! with it its `parentOrigin`, reaches the page in the URL fragment, after the browser has decided
//! to frame it. So the widget checks, before it asks for a PIN or offers to take one, that its
//! parent's origin is the token's `parentOrigin`, where the browser says what that origin is
//! (`location.ancestorOrigins`: Chromium and WebKit, not Firefox). A token without `parentOrigin`
//! is for a mobile webview, which loads the page itself: framed, it shows nothing, in any browser.

use js_sys::{Object, Reflect};
use pinframe_protocol::Origin;
use wasm_bindgen::JsValue;

/// What the widget can know about the page around it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Parent {
    /// Not framed: a webview, or a browser tab of its own.
    None,
    /// Framed, by a page whose origin the browser does not tell (Firefox has no `ancestorOrigins`).
    Unknown,
    /// Framed, by a page of this origin, as the browser serialises it (`"null"` for an opaque one).
    Origin(String),
}

impl Parent {
    /// The parent of the current window, from `window.parent` and `location.ancestorOrigins[0]`.
    pub fn of_this_page() -> Self {
        let Some(window) = web_sys::window() else { return Self::None };
        let framed = window.parent().ok().flatten().is_some_and(|parent| !Object::is(parent.as_ref(), window.as_ref()));
        if !framed {
            return Self::None;
        }
        let ancestors = Reflect::get(window.location().as_ref(), &JsValue::from_str("ancestorOrigins"))
            .ok()
            .filter(|list| !list.is_undefined() && !list.is_null());
        match ancestors {
            None => Self::Unknown,
            // A framed page always has a first ancestor; an empty list is refused like a stranger.
            Some(list) => Self::Origin(
                Reflect::get(&list, &JsValue::from(0)).ok().and_then(|o| o.as_string()).unwrap_or_default(),
            ),
        }
    }

    /// Whether a token issued for `parent_origin` may show or take a PIN inside this parent.
    pub fn allows(&self, parent_origin: Option<&Origin>) -> bool {
        match (self, parent_origin) {
            (Self::None, _) => true,
            // A webview's token, framed: by whom is beside the point.
            (_, None) => false,
            // The browser does not say; `frame-ancestors` kept it to the issuer's origins.
            (Self::Unknown, Some(_)) => true,
            (Self::Origin(origin), Some(expected)) => Origin::parse(origin).as_ref() == Some(expected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_framed_page_must_be_the_tokens_origin() {
        let a = Origin::parse("https://a.example").unwrap();
        let framed = |origin: &str| Parent::Origin(origin.to_owned());
        assert!(framed("https://a.example").allows(Some(&a)));
        // Browsers serialise origins as the service normalises them.
        assert!(framed("https://a.example:443").allows(Some(&a)));
        assert!(!framed("https://b.example").allows(Some(&a)));
        assert!(!framed("http://a.example").allows(Some(&a)));
        assert!(!framed("https://a.example:8443").allows(Some(&a)));
        assert!(!framed("null").allows(Some(&a)));
        assert!(!framed("").allows(Some(&a)));
    }

    #[test]
    fn a_webview_token_is_never_shown_in_a_frame() {
        assert!(Parent::None.allows(None));
        assert!(!Parent::Unknown.allows(None));
        assert!(!Parent::Origin("https://a.example".to_owned()).allows(None));
    }

    #[test]
    fn where_the_browser_does_not_say_the_csp_decides() {
        let a = Origin::parse("https://a.example").unwrap();
        assert!(Parent::Unknown.allows(Some(&a)));
        assert!(Parent::None.allows(Some(&a)));
    }
}

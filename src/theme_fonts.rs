//! Every font the issuer's theme declares is fetched as the widget starts, before it asks for the
//! PIN, whether or not anything on the page uses it.
//!
//! A browser fetches a web font only when it draws text with it, so which fonts are fetched
//! depends on what is shown. A theme's selectors can give each place of the PIN its own font
//! (`.pinframe-digit:first-child + .pinframe-digit + …`), or the set page's messages, which
//! depend on what was typed, theirs: the fonts fetched would then tell how long the PIN is, or
//! that a typed PIN breaks a rule. Once every face is loading, drawing text fetches nothing, and
//! the requests are the theme's alone. The service's checks (no `unicode-range`, fonts that draw
//! every digit) keep single digits from choosing a font on their own; this closes the rest.

use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::FontFace;

/// Starts loading every face in `document.fonts` (the theme's `@font-face` rules are there once
/// its stylesheet is in, which the page's module script waits for).
pub fn fetch_all() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let Ok(Some(faces)) = js_sys::try_iter(&document.fonts()) else { return };
    for face in faces.flatten() {
        let Ok(face) = face.dyn_into::<FontFace>() else { continue };
        if let Ok(loading) = face.load() {
            // A font that fails to load fails whatever the PIN: no signal. Awaited only so that
            // its rejection is handled rather than reported as uncaught.
            wasm_bindgen_futures::spawn_local(async move {
                let _ = JsFuture::from(loading).await;
            });
        }
    }
}

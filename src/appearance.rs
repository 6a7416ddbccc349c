//! The page's appearance, light or dark. By default the stylesheet follows the cardholder's system
//! (`prefers-color-scheme`); the host may choose one with `theme=light` or `theme=dark` in the
//! widget URL's query ([`Appearance`]). The service already puts the class on `<html>` as it serves
//! the page; the widget puts it there too, for a page served otherwise. An issuer theme overrides
//! both (docs/theming.md).

use pinframe_protocol::appearance::Appearance;

/// Puts the class of the appearance the query asks for on `<html>`; without one, nothing.
pub fn apply() {
    let Some(window) = web_sys::window() else { return };
    let query = window.location().search().unwrap_or_default();
    let Some(appearance) = Appearance::from_query(&query) else { return };
    let Some(root) = window.document().and_then(|d| d.document_element()) else { return };
    let classes = root.class_name();
    if !classes.split_whitespace().any(|c| c == appearance.class()) {
        let joined = if classes.trim().is_empty() {
            appearance.class().to_owned()
        } else {
            format!("{classes} {}", appearance.class())
        };
        root.set_class_name(&joined);
    }
}

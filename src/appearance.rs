//! The page's appearance, light or dark. By default the stylesheet follows the cardholder's system
//! (`prefers-color-scheme`); the host may choose one with `theme=light` or `theme=dark` in the
//! widget URL's query, which puts `pinframe-light` or `pinframe-dark` on `<html>` as the widget
//! starts. Any other value is ignored. An issuer theme overrides both (docs/theming.md).

/// An appearance the host asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Appearance {
    Light,
    Dark,
}

impl Appearance {
    /// The value of `theme` in the query (`?lang=fi&theme=dark`), if it is one the widget knows.
    pub fn from_query(query: &str) -> Option<Self> {
        let query = query.strip_prefix('?').unwrap_or(query);
        match query.split('&').find_map(|pair| pair.strip_prefix("theme="))? {
            "light" => Some(Self::Light),
            "dark" => Some(Self::Dark),
            _ => None,
        }
    }

    /// The class on `<html>` that the stylesheet (and an issuer theme) keys the appearance on.
    pub fn class(self) -> &'static str {
        match self {
            Self::Light => "pinframe-light",
            Self::Dark => "pinframe-dark",
        }
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_names_the_appearance() {
        assert_eq!(Appearance::from_query("?theme=dark"), Some(Appearance::Dark));
        assert_eq!(Appearance::from_query("?lang=fi&theme=light"), Some(Appearance::Light));
        assert_eq!(Appearance::from_query("theme=dark&lang=ar"), Some(Appearance::Dark));
        assert_eq!(Appearance::from_query("?theme=Dark"), None);
        assert_eq!(Appearance::from_query("?theme=dark%20x"), None);
        assert_eq!(Appearance::from_query("?theme="), None);
        assert_eq!(Appearance::from_query("?mytheme=dark"), None);
        assert_eq!(Appearance::from_query(""), None);
        assert_eq!(Appearance::Dark.class(), "pinframe-dark");
        assert_eq!(Appearance::Light.class(), "pinframe-light");
    }
}

//! The widget page's appearance, light or dark, as a host may choose it with `theme=light` or
//! `theme=dark` in the page URL's query (`docs/protocol.md`, the widget page). Both the service
//! (on `<html>` as it serves the page, so the first paint already has it) and the widget (as it
//! starts) read it here; without it the stylesheet follows the cardholder's system. Any other value
//! is ignored.

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

//! The token travels in the URL fragment (`#token=…`), which browsers never send to a server.

use pinframe_protocol::{Action, TokenText};

/// The value of `token` in a fragment such as `#token=…` or `#lang=fi&token=…`. `None` when it is
/// missing or not a token the service could have issued (`pinframe_protocol::token`).
pub fn token_from_fragment(fragment: &str) -> Option<TokenText<'_>> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let token = fragment.split('&').find_map(|pair| pair.strip_prefix("token="))?;
    TokenText::parse(token)
}

/// The value of `lang` in the query (`?lang=fi`), which the service adds to a token's URL when the
/// issuer named the cardholder's language, so the first paint is already in it. (Not in the
/// fragment: a token's `url` ends with `#token=…`.)
pub fn lang_from_query(query: &str) -> Option<&str> {
    let query = query.strip_prefix('?').unwrap_or(query);
    let tag = query.split('&').find_map(|pair| pair.strip_prefix("lang="))?;
    let valid = (2..=35).contains(&tag.len()) && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    valid.then_some(tag)
}

/// Which page this is, from the path (`/pin/{issuerId}/view`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    View,
    Set,
}

impl Mode {
    pub fn from_path(path: &str) -> Option<Self> {
        match Action::from_page(path.trim_end_matches('/').rsplit('/').next()?)? {
            Action::ViewPin => Some(Self::View),
            Action::SetPin => Some(Self::Set),
        }
    }

    /// The session's `action` for this page.
    pub fn action(self) -> Action {
        match self {
            Self::View => Action::ViewPin,
            Self::Set => Action::SetPin,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_the_fragment() {
        // 43 characters of base64url, as the service issues.
        const TOKEN: &str = "abc-_09abc-_09abc-_09abc-_09abc-_09abc-_09A";
        let found = |fragment: &str| token_from_fragment(fragment).map(|t| t.expose().to_owned());
        assert_eq!(found(&format!("#token={TOKEN}")).as_deref(), Some(TOKEN));
        assert_eq!(found(&format!("#lang=fi&token={TOKEN}")).as_deref(), Some(TOKEN));
        assert_eq!(found(&format!("token={TOKEN}")).as_deref(), Some(TOKEN));
        assert_eq!(found("#token=").as_deref(), None);
        assert_eq!(found("#token=a%20b").as_deref(), None);
        assert_eq!(found(&format!("#tok={TOKEN}")).as_deref(), None);
        assert_eq!(found("").as_deref(), None);
        // What the service could never have issued: too short, too long, another alphabet.
        assert_eq!(found("#token=abc-_09").as_deref(), None);
        assert_eq!(found(&format!("#token={TOKEN}A")).as_deref(), None);
        assert_eq!(found(&format!("#token={}+", &TOKEN[..42])).as_deref(), None);
    }

    #[test]
    fn finds_the_language_in_the_query() {
        assert_eq!(lang_from_query("?lang=fi"), Some("fi"));
        assert_eq!(lang_from_query("?x=1&lang=sv-FI"), Some("sv-FI"));
        assert_eq!(lang_from_query(""), None);
        assert_eq!(lang_from_query("?lang=<b>"), None);
    }

    #[test]
    fn mode_follows_the_path() {
        assert_eq!(Mode::from_path("/pin/DEMOISSUER/view"), Some(Mode::View));
        assert_eq!(Mode::from_path("/pin/DEMOISSUER/set/"), Some(Mode::Set));
        assert_eq!(Mode::from_path("/pin/DEMOISSUER/"), None);
        assert_eq!(Mode::View.action(), Action::ViewPin);
        assert_eq!(Mode::Set.action().as_str(), "SET_PIN");
    }
}

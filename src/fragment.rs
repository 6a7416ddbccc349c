//! The token travels in the URL fragment (`#token=…`), which browsers never send to a server.

/// The value of `token` in a fragment such as `#token=abc` or `#lang=fi&token=abc`. `None` when it
/// is missing, empty, or not base64url (the only alphabet tokens use).
pub fn token_from_fragment(fragment: &str) -> Option<&str> {
    let fragment = fragment.strip_prefix('#').unwrap_or(fragment);
    let token = fragment.split('&').find_map(|pair| pair.strip_prefix("token="))?;
    let valid = !token.is_empty()
        && token.len() <= 256
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then_some(token)
}

/// The value of `lang` in the query (`?lang=fi`), which the service adds to a token's URL when the
/// issuer named the cardholder's language, so the first paint is already in it. (Not in the
/// fragment: the contract's `url` ends with `#token=…`.)
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
        match path.trim_end_matches('/').rsplit('/').next()? {
            "view" => Some(Self::View),
            "set" => Some(Self::Set),
            _ => None,
        }
    }

    /// The session's `action` for this page.
    pub fn action(self) -> &'static str {
        match self {
            Self::View => "VIEW_PIN",
            Self::Set => "SET_PIN",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_token_in_the_fragment() {
        assert_eq!(token_from_fragment("#token=abc-_09"), Some("abc-_09"));
        assert_eq!(token_from_fragment("#lang=fi&token=xyz"), Some("xyz"));
        assert_eq!(token_from_fragment("token=xyz"), Some("xyz"));
        assert_eq!(token_from_fragment("#token="), None);
        assert_eq!(token_from_fragment("#token=a%20b"), None);
        assert_eq!(token_from_fragment("#tok=abc"), None);
        assert_eq!(token_from_fragment(""), None);
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
        assert_eq!(Mode::View.action(), "VIEW_PIN");
    }
}

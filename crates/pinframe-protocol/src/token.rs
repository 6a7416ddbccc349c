//! The text form of a PIN-control token: 32 random bytes (256 bits) in unpadded base64url
//! (RFC 4648 §5), 43 characters. The service issues exactly this form and the widget accepts
//! nothing else, through the one parser here.

use base64ct::{Base64UrlUnpadded, Encoding};
use core::fmt;

/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// Characters in a token's text form.
pub const TOKEN_LEN: usize = 43;

/// A well-formed token's text, borrowed from where it was read (a header, a URL fragment). Being
/// well formed says nothing about whether the service issued it, or whether it is still live.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TokenText<'a>(&'a str);

impl<'a> TokenText<'a> {
    /// Exactly [`TOKEN_LEN`] characters of canonical unpadded base64url encoding [`TOKEN_BYTES`] bytes.
    pub fn parse(text: &'a str) -> Option<Self> {
        let mut bytes = [0u8; TOKEN_BYTES];
        let well_formed = text.len() == TOKEN_LEN
            && Base64UrlUnpadded::decode(text, &mut bytes).is_ok_and(|decoded| decoded.len() == TOKEN_BYTES);
        zeroize::Zeroize::zeroize(&mut bytes);
        well_formed.then_some(Self(text))
    }

    /// The token itself: a secret. Send it only as `Authorization: Bearer` or in a URL fragment.
    pub fn expose(&self) -> &'a str {
        self.0
    }

    /// The text form of `bytes`, for the service that issues a token.
    pub fn encode(bytes: &[u8; TOKEN_BYTES]) -> zeroize::Zeroizing<alloc::string::String> {
        zeroize::Zeroizing::new(Base64UrlUnpadded::encode_string(bytes))
    }
}

impl fmt::Debug for TokenText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenText").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_issued_form_parses() {
        let issued = TokenText::encode(&[0xA5; TOKEN_BYTES]);
        assert_eq!(issued.len(), TOKEN_LEN);
        assert_eq!(TokenText::parse(&issued).map(|t| t.expose()), Some(issued.as_str()));
        assert!(TokenText::parse(&"A".repeat(TOKEN_LEN)).is_some());
        for bad in [
            "",
            "abc-_09",
            &"A".repeat(TOKEN_LEN - 1),
            &"A".repeat(TOKEN_LEN + 1),
            &alloc::format!("{}=", "A".repeat(TOKEN_LEN - 1)),
            &alloc::format!("{}+", "A".repeat(TOKEN_LEN - 1)),
            &alloc::format!("{}/", "A".repeat(TOKEN_LEN - 1)),
            &alloc::format!("{}%", "A".repeat(TOKEN_LEN - 1)),
            // The last character carries 4 bits of the 32nd byte and 2 bits that must be zero.
            &alloc::format!("{}B", "A".repeat(TOKEN_LEN - 1)),
        ] {
            assert!(TokenText::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn debug_shows_no_token() {
        let text = "A".repeat(TOKEN_LEN);
        let token = TokenText::parse(&text).unwrap();
        assert!(!alloc::format!("{token:?}").contains("AAAA"));
    }
}

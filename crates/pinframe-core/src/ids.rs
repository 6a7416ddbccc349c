//! The identifiers of the protocol, each a type that only holds a valid value.
//!
//! Rules (`docs/protocol.md`, "Identifiers"):
//! `issuerId` is exactly 10 of `[A-Za-z0-9_-]`; `cardId` is `^[A-Za-z0-9_-]{1,48}$`;
//! `consumerId` is `^[A-Za-z0-9_-]{1,64}$`; `x-correlation-id` is `^[a-zA-Z0-9_\-\. ]{1,64}$`.

use alloc::string::String;
use core::fmt;

use crate::error::FormatError;

fn is_id_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

fn is_correlation_char(b: u8) -> bool {
    is_id_char(b) || b == b'.' || b == b' '
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $min:expr, $max:expr, $allowed:path, $err:expr) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// Shortest valid length, in characters.
            pub const MIN_LEN: usize = $min;
            /// Longest valid length, in characters.
            pub const MAX_LEN: usize = $max;

            /// Parses the identifier, rejecting any character or length outside the protocol's rule.
            pub fn parse(text: &str) -> Result<Self, FormatError> {
                let len_ok = (Self::MIN_LEN..=Self::MAX_LEN).contains(&text.len());
                if len_ok && text.bytes().all($allowed) {
                    Ok(Self(String::from(text)))
                } else {
                    Err($err)
                }
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl core::str::FromStr for $name {
            type Err = FormatError;
            fn from_str(text: &str) -> Result<Self, FormatError> {
                Self::parse(text)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

identifier!(
    /// An issuer: exactly 10 characters of `[A-Za-z0-9_-]`.
    IssuerId, 10, 10, is_id_char, FormatError::IssuerId
);
identifier!(
    /// A card: 1 to 48 characters of `[A-Za-z0-9_-]`.
    CardId, 1, 48, is_id_char, FormatError::CardId
);
identifier!(
    /// A consumer (cardholder) of an issuer: 1 to 64 characters of `[A-Za-z0-9_-]`.
    ConsumerId, 1, 64, is_id_char, FormatError::ConsumerId
);
identifier!(
    /// A caller's `x-correlation-id`: 1 to 64 characters of `[a-zA-Z0-9_-. ]`. Logged in clear.
    CorrelationId, 1, 64, is_correlation_char, FormatError::CorrelationId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_id_is_exactly_ten() {
        assert!(IssuerId::parse("DEMOISSUER").is_ok());
        assert!(IssuerId::parse("a_b-c0123Z").is_ok());
        assert_eq!(IssuerId::parse("DEMOISSUE"), Err(FormatError::IssuerId));
        assert_eq!(IssuerId::parse("DEMOISSUERS"), Err(FormatError::IssuerId));
        assert_eq!(IssuerId::parse("DEMO ISSUE"), Err(FormatError::IssuerId));
        assert_eq!(IssuerId::parse("DEMOISSUé"), Err(FormatError::IssuerId));
        assert_eq!(IssuerId::parse(""), Err(FormatError::IssuerId));
    }

    #[test]
    fn card_and_consumer_lengths() {
        assert!(CardId::parse("a").is_ok());
        assert!(CardId::parse(&"x".repeat(48)).is_ok());
        assert!(CardId::parse(&"x".repeat(49)).is_err());
        assert!(CardId::parse("").is_err());
        assert!(CardId::parse("card.1").is_err());
        assert!(CardId::parse("card/1").is_err());
        assert!(ConsumerId::parse(&"y".repeat(64)).is_ok());
        assert!(ConsumerId::parse(&"y".repeat(65)).is_err());
        assert!(ConsumerId::parse("demo consumer").is_err());
    }

    #[test]
    fn correlation_id_allows_dot_and_space() {
        assert!(CorrelationId::parse("req-1.2 abc_D").is_ok());
        assert!(CorrelationId::parse(&"c".repeat(64)).is_ok());
        assert!(CorrelationId::parse(&"c".repeat(65)).is_err());
        assert!(CorrelationId::parse("").is_err());
        assert!(CorrelationId::parse("a\nb").is_err());
        assert!(CorrelationId::parse("a\tb").is_err());
        assert!(CorrelationId::parse("a:b").is_err());
    }
}

//! The PIN policy: what a new PIN must not be. The widget checks it as the cardholder types and the
//! service checks it again on submit, with this same code, so the two cannot disagree.
//!
//! Rules, in the order they are checked (the first one broken is the reason given):
//!
//! | code | rule |
//! |---|---|
//! | `not_digits` | only the digits 0–9 |
//! | `too_short` | at least the issuer's minimum length (default 4) |
//! | `too_long` | at most the issuer's maximum length (default 6; policies allow 4–12) |
//! | `all_same` | not one digit repeated (`1111`, `000000`) |
//! | `sequential` | not a run up or down by one, wrapping 9↔0 (`1234`, `4321`, `7890`, `876543`) |
//! | `common` | not among the most common four-digit PINs ([`COMMON_PINS`]) |
//! | `year` | if the issuer turns it on: a four-digit PIN is not a year `19xx` or `20xx` |

use core::fmt;

use crate::error::FormatError;

/// The twenty most common four-digit PINs in Nick Berry's analysis of 3.4 million four-digit
/// passwords from leaked password lists ("PIN analysis", DataGenetics, September 2012,
/// <https://www.datagenetics.com/blog/september32012/>). Together they cover about 27 % of that set.
/// Those that `all_same` or `sequential` already refuse are listed anyway, so the list stands alone.
pub const COMMON_PINS: [&str; 20] = [
    "1234", "1111", "0000", "1212", "7777", "1004", "2000", "4444", "2222", "6969", "9999", "3333", "5555", "6666",
    "1122", "1313", "8888", "4321", "2001", "1010",
];

/// Why a candidate PIN is refused. [`code`](Self::code) is the stable reason code of the API
/// (`{"error":"pin_policy","reason":<code>}`); [`message`](Self::message) the default English text,
/// keyed by the same code in translations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    NotDigits,
    TooShort,
    TooLong,
    AllSame,
    Sequential,
    Common,
    Year,
}

impl Violation {
    /// Every violation, in the order the policy checks them.
    pub const ALL: [Self; 7] =
        [Self::NotDigits, Self::TooShort, Self::TooLong, Self::AllSame, Self::Sequential, Self::Common, Self::Year];

    pub fn code(self) -> &'static str {
        match self {
            Self::NotDigits => "not_digits",
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::AllSame => "all_same",
            Self::Sequential => "sequential",
            Self::Common => "common",
            Self::Year => "year",
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::NotDigits => "Use digits only.",
            Self::TooShort => "Your PIN is too short.",
            Self::TooLong => "Your PIN is too long.",
            Self::AllSame => "Don't use the same digit throughout.",
            Self::Sequential => "Don't use digits that count up or down in a row.",
            Self::Common => "This PIN is one of the most common ones. Choose one that is harder to guess.",
            Self::Year => "Don't use a year.",
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

/// An issuer's PIN policy. Lengths are within what ISO 9564 PIN blocks carry (4 to 12 digits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinPolicy {
    min_len: u8,
    max_len: u8,
    forbid_years: bool,
}

impl Default for PinPolicy {
    fn default() -> Self {
        Self { min_len: 4, max_len: 6, forbid_years: false }
    }
}

impl PinPolicy {
    /// The smallest and largest lengths any policy may allow.
    pub const LENGTHS: core::ops::RangeInclusive<usize> = 4..=12;

    pub fn new(min_len: usize, max_len: usize, forbid_years: bool) -> Result<Self, FormatError> {
        if !Self::LENGTHS.contains(&min_len) || !Self::LENGTHS.contains(&max_len) || min_len > max_len {
            return Err(FormatError::PinPolicy);
        }
        Ok(Self { min_len: min_len as u8, max_len: max_len as u8, forbid_years })
    }

    pub fn min_len(&self) -> usize {
        usize::from(self.min_len)
    }

    pub fn max_len(&self) -> usize {
        usize::from(self.max_len)
    }

    pub fn forbid_years(&self) -> bool {
        self.forbid_years
    }

    /// The first rule `candidate` breaks, or `Ok` when it may be a PIN.
    ///
    /// Not constant-time: it runs on the cardholder's own new PIN, in their browser and in the
    /// request that carries it, where timing reveals nothing the caller does not already hold.
    pub fn check(&self, candidate: &str) -> Result<(), Violation> {
        let digits = candidate.as_bytes();
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(Violation::NotDigits);
        }
        if digits.len() < self.min_len() {
            return Err(Violation::TooShort);
        }
        if digits.len() > self.max_len() {
            return Err(Violation::TooLong);
        }
        if digits.iter().all(|d| *d == digits[0]) {
            return Err(Violation::AllSame);
        }
        let step = |delta: u8| digits.windows(2).all(|w| (w[0] - b'0' + delta) % 10 == w[1] - b'0');
        if step(1) || step(9) {
            return Err(Violation::Sequential);
        }
        if COMMON_PINS.contains(&candidate) {
            return Err(Violation::Common);
        }
        if self.forbid_years && digits.len() == 4 && (digits.starts_with(b"19") || digits.starts_with(b"20")) {
            return Err(Violation::Year);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_with_its_code() {
        let policy = PinPolicy::default();
        let cases: [(&str, Option<Violation>); 22] = [
            ("2468", None),
            ("1357", None),
            ("902741", None),
            ("1985", None),
            ("12a4", Some(Violation::NotDigits)),
            ("12 34", Some(Violation::NotDigits)),
            ("١٢٣٤", Some(Violation::NotDigits)),
            ("", Some(Violation::TooShort)),
            ("975", Some(Violation::TooShort)),
            ("9753124", Some(Violation::TooLong)),
            ("7777", Some(Violation::AllSame)),
            ("000000", Some(Violation::AllSame)),
            ("1234", Some(Violation::Sequential)),
            ("4321", Some(Violation::Sequential)),
            ("7890", Some(Violation::Sequential)),
            ("3210", Some(Violation::Sequential)),
            ("109876", Some(Violation::Sequential)),
            ("1212", Some(Violation::Common)),
            ("6969", Some(Violation::Common)),
            ("2000", Some(Violation::Common)),
            ("1122", Some(Violation::Common)),
            ("1004", Some(Violation::Common)),
        ];
        for (candidate, want) in cases {
            assert_eq!(policy.check(candidate).err(), want, "{candidate:?}");
        }
    }

    #[test]
    fn years_only_when_the_issuer_asks() {
        let strict = PinPolicy::new(4, 6, true).unwrap();
        assert_eq!(strict.check("1985"), Err(Violation::Year));
        assert_eq!(strict.check("2019"), Err(Violation::Year));
        assert_eq!(strict.check("198502"), Ok(()));
        assert_eq!(strict.check("2119"), Ok(()));
        assert_eq!(PinPolicy::default().check("1985"), Ok(()));
    }

    #[test]
    fn lengths_follow_the_policy() {
        let long = PinPolicy::new(6, 12, false).unwrap();
        assert_eq!(long.check("2468"), Err(Violation::TooShort));
        assert_eq!(long.check("246813579024"), Ok(()));
        assert_eq!(long.check("2468135790246"), Err(Violation::TooLong));
        for (min, max) in [(3, 6), (4, 13), (7, 6), (0, 0)] {
            assert_eq!(PinPolicy::new(min, max, false), Err(FormatError::PinPolicy), "{min}..{max}");
        }
    }

    #[test]
    fn codes_are_distinct_and_messages_are_sentences() {
        for (i, a) in Violation::ALL.iter().enumerate() {
            assert!(a.message().ends_with('.'));
            for b in &Violation::ALL[i + 1..] {
                assert_ne!(a.code(), b.code());
            }
        }
    }
}

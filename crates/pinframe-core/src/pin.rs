//! `Pin` and `Pan`: secret-bearing values that cannot be malformed.
//!
//! Both live in fixed-size arrays (no heap copy to forget), zeroize on drop, print redacted in Debug,
//! and compare in constant time.

use core::fmt;

use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::FormatError;

/// Between `min` and `N` ASCII digits in a fixed array; the storage of [`Pin`] and [`Pan`].
#[derive(Zeroize, ZeroizeOnDrop)]
struct Digits<const N: usize> {
    digits: [u8; N],
    len: u8,
}

impl<const N: usize> Digits<N> {
    fn parse(ascii: &[u8], min: usize) -> Option<Self> {
        if !(min..=N).contains(&ascii.len()) || !ascii.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut out = Self { digits: [0; N], len: ascii.len() as u8 };
        out.digits[..ascii.len()].copy_from_slice(ascii);
        Some(out)
    }

    fn as_bytes(&self) -> &[u8] {
        &self.digits[..usize::from(self.len)]
    }

    fn as_str(&self) -> &str {
        // Always ASCII digits by construction.
        core::str::from_utf8(self.as_bytes()).unwrap_or_default()
    }
}

impl<const N: usize> ConstantTimeEq for Digits<N> {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.len.ct_eq(&other.len) & self.digits.ct_eq(&other.digits)
    }
}

/// A cardholder PIN: 4 to 12 ASCII digits (ISO 9564-1 limits).
pub struct Pin(Digits<{ Pin::MAX_LEN }>);

impl Pin {
    /// Fewest digits in a PIN.
    pub const MIN_LEN: usize = 4;
    /// Most digits in a PIN.
    pub const MAX_LEN: usize = 12;

    /// Parses 4 to 12 ASCII digits, nothing else (no spaces, no signs).
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        Self::from_digits(text.as_bytes())
    }

    /// Builds a PIN from ASCII digits.
    pub fn from_digits(ascii: &[u8]) -> Result<Self, FormatError> {
        Digits::parse(ascii, Self::MIN_LEN).map(Self).ok_or(FormatError::Pin)
    }

    /// Builds a PIN from digit values 0–9 (as found in PIN-block nibbles).
    pub(crate) fn from_nibbles(nibbles: &[u8]) -> Result<Self, FormatError> {
        let mut ascii = [0u8; Self::MAX_LEN];
        let len = nibbles.len().min(Self::MAX_LEN);
        for (a, n) in ascii.iter_mut().zip(nibbles) {
            *a = b'0'.wrapping_add(*n);
        }
        let pin = if nibbles.len() <= Self::MAX_LEN { Digits::parse(&ascii[..len], Self::MIN_LEN) } else { None };
        ascii.zeroize();
        pin.map(Self).ok_or(FormatError::PinBlock)
    }

    /// The PIN's digits as ASCII text. Handle with care: this is the secret.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The PIN's ASCII digits.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// Number of digits.
    #[allow(clippy::len_without_is_empty)] // A PIN is never empty.
    pub fn len(&self) -> usize {
        usize::from(self.0.len)
    }

    /// Digit values 0–9, in order.
    pub(crate) fn nibbles(&self) -> impl Iterator<Item = u8> + '_ {
        self.as_bytes().iter().map(|d| d - b'0')
    }
}

impl ConstantTimeEq for Pin {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pin").finish_non_exhaustive()
    }
}

/// A primary account number: 12 to 19 ASCII digits.
///
/// The check digit is not verified: PIN-block test vectors and issuers' test cards do not always
/// carry a valid one, and the PAN here only feeds the PIN-block PAN field.
pub struct Pan(Digits<{ Pan::MAX_LEN }>);

impl Pan {
    /// Fewest digits in a PAN.
    pub const MIN_LEN: usize = 12;
    /// Most digits in a PAN (ISO/IEC 7812).
    pub const MAX_LEN: usize = 19;

    /// Parses 12 to 19 ASCII digits.
    pub fn parse(text: &str) -> Result<Self, FormatError> {
        Digits::parse(text.as_bytes(), Self::MIN_LEN).map(Self).ok_or(FormatError::Pan)
    }

    /// The PAN's ASCII digits.
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The PAN as text. Handle with care: PCI DSS treats it as cardholder data.
    pub fn expose(&self) -> &str {
        self.0.as_str()
    }

    /// The last four digits, which may be shown to people.
    pub fn last4(&self) -> &str {
        let s = self.expose();
        &s[s.len() - 4..]
    }
}

impl ConstantTimeEq for Pan {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl fmt::Debug for Pan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pan").field("last4", &self.last4()).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn pin_lengths_and_digits() {
        assert!(Pin::parse("1234").is_ok());
        assert!(Pin::parse("123456789012").is_ok());
        assert_eq!(Pin::parse("123").unwrap_err(), FormatError::Pin);
        assert_eq!(Pin::parse("1234567890123").unwrap_err(), FormatError::Pin);
        assert!(Pin::parse("12a4").is_err());
        assert!(Pin::parse(" 1234").is_err());
        assert!(Pin::parse("１２３４").is_err(), "full-width digits are not ASCII digits");
        assert_eq!(Pin::parse("2468").unwrap().expose(), "2468");
    }

    #[test]
    fn pin_debug_is_redacted() {
        let pin = Pin::parse("2468").unwrap();
        let shown = format!("{pin:?}");
        assert!(!shown.contains("2468"));
        assert_eq!(shown, "Pin { .. }");
    }

    #[test]
    fn pin_ct_eq() {
        let a = Pin::parse("2468").unwrap();
        assert!(bool::from(a.ct_eq(&Pin::parse("2468").unwrap())));
        assert!(!bool::from(a.ct_eq(&Pin::parse("2469").unwrap())));
        assert!(!bool::from(a.ct_eq(&Pin::parse("24680").unwrap())));
    }

    #[test]
    fn pan_rules_and_redaction() {
        let pan = Pan::parse("5555555551234567").unwrap();
        assert_eq!(pan.last4(), "4567");
        let shown = format!("{pan:?}");
        assert!(!shown.contains("55555555"));
        assert!(Pan::parse("12345678901").is_err());
        assert!(Pan::parse("12345678901234567890").is_err());
        assert!(Pan::parse("5555 5555 5123 4567").is_err());
    }
}

//! Whole numbers in JSON bodies. JSON has numbers, not integers: to JSON Schema (and so to the
//! OpenAPI files) `25.0` is the integer 25, so a body member documented as an integer takes it too.

use serde::de::{Deserializer, Error};
use serde::Deserialize;

/// An optional whole number that fits a `u32`, written `25` or `25.0`; `null` is absent. A
/// fraction, a negative number or one too large is refused.
pub fn optional_u32<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u32>, D::Error> {
    let Some(value) = Option::<f64>::deserialize(deserializer)? else {
        return Ok(None);
    };
    // `as` saturates, so a value outside u32's range or with a fraction does not come back equal.
    let whole = value as u32;
    if f64::from(whole) == value {
        Ok(Some(whole))
    } else {
        Err(D::Error::custom("expected a whole number of at most 4294967295"))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Body {
        #[serde(default, deserialize_with = "super::optional_u32")]
        n: Option<u32>,
    }

    fn read(json: &str) -> Option<Option<u32>> {
        serde_json::from_str::<Body>(json).ok().map(|b| b.n)
    }

    #[test]
    fn whole_numbers_in_either_notation() {
        assert_eq!(read(r#"{"n": 25}"#), Some(Some(25)));
        assert_eq!(read(r#"{"n": 25.0}"#), Some(Some(25)));
        assert_eq!(read(r#"{"n": 2.5e1}"#), Some(Some(25)));
        assert_eq!(read(r#"{"n": 4294967295}"#), Some(Some(u32::MAX)));
        assert_eq!(read(r#"{"n": null}"#), Some(None));
        assert_eq!(read("{}"), Some(None));
        for refused in [r#"{"n": 25.5}"#, r#"{"n": -1}"#, r#"{"n": 4294967296}"#, r#"{"n": "25"}"#, r#"{"n": 1e400}"#] {
            assert_eq!(read(refused), None, "{refused}");
        }
    }
}

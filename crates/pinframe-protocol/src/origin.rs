//! Web origins (RFC 6454) as issuers register them and browsers report them: `scheme://host[:port]`.

use alloc::format;
use alloc::string::{String, ToString};
use core::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A normalised `http` or `https` origin: lower-case scheme and host, no default port, nothing after
/// the authority. Compares equal exactly when browsers would report the same origin.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Origin(String);

impl Origin {
    /// Normalises `text`; `None` for anything that is not an `http` or `https` origin.
    pub fn parse(text: &str) -> Option<Self> {
        let (scheme, rest) = text.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "https" => "443",
            "http" => "80",
            _ => return None,
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && !port.contains(']') => (host, Some(port)),
            _ => (rest, None),
        };
        let host = host.to_ascii_lowercase();
        let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            !inner.is_empty() && inner.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        } else {
            !host.is_empty()
                && host.len() <= 253
                && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                && !host.starts_with(['.', '-'])
        };
        if !host_ok {
            return None;
        }
        let origin = match port {
            None => format!("{scheme}://{host}"),
            Some(port) => {
                let valid = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
                let number: u32 = port.parse().ok().filter(|_| valid)?;
                if number == 0 || number > 65535 {
                    return None;
                }
                let port = number.to_string();
                if port == default_port {
                    format!("{scheme}://{host}")
                } else {
                    format!("{scheme}://{host}:{port}")
                }
            }
        };
        Some(Self(origin))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for Origin {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Origin {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <alloc::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("not an http or https origin"))
    }
}

#[cfg(test)]
mod tests {
    use super::Origin;

    #[test]
    fn origins_normalise_like_browsers_report_them() {
        let cases = [
            ("https://bank.example", Some("https://bank.example")),
            ("HTTPS://Bank.Example:443", Some("https://bank.example")),
            ("http://127.0.0.1:8080", Some("http://127.0.0.1:8080")),
            ("http://localhost:80", Some("http://localhost")),
            ("http://[::1]:3000", Some("http://[::1]:3000")),
            ("https://bank.example/", None),
            ("https://bank.example/path", None),
            ("https://user@bank.example", None),
            ("https://bank.example:0", None),
            ("https://bank.example:99999", None),
            ("https://bank.example:+80", None),
            ("javascript://x", None),
            ("bank.example", None),
            ("https://", None),
            ("*", None),
            ("null", None),
        ];
        for (input, want) in cases {
            assert_eq!(Origin::parse(input).as_ref().map(Origin::as_str), want, "{input}");
        }
    }

    #[test]
    fn json_holds_only_valid_origins() {
        let origin: Origin = serde_json::from_str("\"HTTPS://Bank.Example:443\"").unwrap();
        assert_eq!(serde_json::to_string(&origin).unwrap(), "\"https://bank.example\"");
        assert!(serde_json::from_str::<Origin>("\"*\"").is_err());
    }
}

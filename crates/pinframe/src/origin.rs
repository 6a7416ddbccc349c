//! Web origins (RFC 6454) as issuers register them and browsers report them: `scheme://host[:port]`.

/// Normalises an origin: lower-case scheme and host, default port dropped, nothing after the
/// authority. `None` for anything that is not an `http` or `https` origin.
pub fn normalize(text: &str) -> Option<String> {
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
    match port {
        None => Some(format!("{scheme}://{host}")),
        Some(port) => {
            let valid = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
            let number: u32 = port.parse().ok().filter(|_| valid)?;
            if number == 0 || number > 65535 {
                return None;
            }
            let port = number.to_string();
            Some(if port == default_port { format!("{scheme}://{host}") } else { format!("{scheme}://{host}:{port}") })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

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
            assert_eq!(normalize(input).as_deref(), want, "{input}");
        }
    }
}

//! One audit record: its fields, the exact bytes its MAC covers, and its JSON line in an export.
//!
//! The MAC is HMAC-SHA-256 (the audit key) of [`Record::canonical`]: the ASCII tag
//! `pinframe-audit-v1` and a zero byte, then every field in this fixed order — replica, seq, at,
//! event, outcome, issuer id, card id, client id, source, correlation id, detail, previous MAC —
//! each as: a text, its UTF-8 length as 4 bytes big-endian then its bytes; an integer, 8 bytes
//! big-endian two's complement; an optional text, one byte 0 (absent) or 1 followed by the text;
//! the previous MAC, its 32 bytes. Every field is length-prefixed or of fixed size, so no two
//! different records have the same encoding.

use serde_json::{json, Value};

/// The previous MAC of a chain's first record (seq 1).
pub const GENESIS: [u8; 32] = [0; 32];

/// The security events the service records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    TokenIssued,
    SessionOpened,
    PinViewed,
    PinSet,
    PinSetRefused,
    TokenExpiredUnused,
    ClientAuthFailed,
    RateLimited,
    KeyRotated,
    /// Retention deleted the oldest records of a chain; `detail` names the chain and its first kept seq.
    AuditPurged,
}

impl Event {
    pub const ALL: [Event; 10] = [
        Event::TokenIssued,
        Event::SessionOpened,
        Event::PinViewed,
        Event::PinSet,
        Event::PinSetRefused,
        Event::TokenExpiredUnused,
        Event::ClientAuthFailed,
        Event::RateLimited,
        Event::KeyRotated,
        Event::AuditPurged,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Event::TokenIssued => "token_issued",
            Event::SessionOpened => "session_opened",
            Event::PinViewed => "pin_viewed",
            Event::PinSet => "pin_set",
            Event::PinSetRefused => "pin_set_refused",
            Event::TokenExpiredUnused => "token_expired_unused",
            Event::ClientAuthFailed => "client_auth_failed",
            Event::RateLimited => "rate_limited",
            Event::KeyRotated => "key_rotated",
            Event::AuditPurged => "audit_purged",
        }
    }
}

/// A stored record, as read back (text fields are kept as stored, so that verification covers
/// exactly what is in the database).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub replica: String,
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    pub event: String,
    pub outcome: String,
    pub issuer: Option<String>,
    pub card: Option<String>,
    pub client: Option<String>,
    pub source: Option<String>,
    pub correlation: Option<String>,
    /// A reason code, a purge's first kept seq, a rotation's key ids: never a secret.
    pub detail: Option<String>,
    pub prev_mac: Vec<u8>,
    pub mac: Vec<u8>,
}

fn text(out: &mut Vec<u8>, value: &str) {
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value.as_bytes());
}

fn optional(out: &mut Vec<u8>, value: Option<&str>) {
    match value {
        None => out.push(0),
        Some(value) => {
            out.push(1);
            text(out, value);
        }
    }
}

impl Record {
    /// The bytes the MAC covers (see the module's documentation).
    pub fn canonical(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"pinframe-audit-v1\0");
        text(&mut out, &self.replica);
        out.extend_from_slice(&self.seq.to_be_bytes());
        out.extend_from_slice(&self.at.to_be_bytes());
        text(&mut out, &self.event);
        text(&mut out, &self.outcome);
        for field in [&self.issuer, &self.card, &self.client, &self.source, &self.correlation, &self.detail] {
            optional(&mut out, field.as_deref());
        }
        // A stored previous MAC of another length is encoded as it is and fails verification.
        out.extend_from_slice(&(self.prev_mac.len() as u32).to_be_bytes());
        out.extend_from_slice(&self.prev_mac);
        out
    }

    /// The record as one JSON object of an export.
    pub fn to_json(&self) -> Value {
        json!({
            "replica": self.replica,
            "seq": self.seq,
            "time": rfc3339(self.at),
            "at": self.at,
            "event": self.event,
            "outcome": self.outcome,
            "issuerId": self.issuer,
            "cardId": self.card,
            "clientId": self.client,
            "source": self.source,
            "correlationId": self.correlation,
            "detail": self.detail,
            "prevMac": hex(&self.prev_mac),
            "mac": hex(&self.mac),
        })
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix seconds as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn rfc3339(at: i64) -> String {
    pinframe_server::rotation::utc(at)
}

/// Parses an RFC 3339 date-time (`2026-01-31T12:00:00Z`, fractional seconds ignored, or an offset
/// such as `+02:00`) to Unix seconds.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    let num = |range: std::ops::Range<usize>| -> Option<i64> {
        let part = text.get(range)?;
        part.bytes().all(|c| c.is_ascii_digit()).then(|| part.parse().ok())?
    };
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d, h, mi, s) = (num(0..4)?, num(5..7)?, num(8..10)?, num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = &text[19..];
    if let Some(fraction) = rest.strip_prefix('.') {
        let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        rest = &fraction[digits..];
    }
    let offset = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6 && matches!(&rest[..1], "+" | "-") && &rest[3..4] == ":" => {
            let (oh, om) = (rest[1..3].parse::<i64>().ok()?, rest[4..6].parse::<i64>().ok()?);
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            replica: "r1".into(),
            seq: 1,
            at: 1_800_000_000,
            event: "pin_viewed".into(),
            outcome: "ok".into(),
            issuer: Some("ISSUER0001".into()),
            card: None,
            client: None,
            source: Some("127.0.0.1".into()),
            correlation: None,
            detail: None,
            prev_mac: GENESIS.to_vec(),
            mac: vec![],
        }
    }

    #[test]
    fn every_field_changes_the_encoding() {
        let base = record().canonical();
        let mut moved = record();
        // The same characters in another field must encode differently.
        moved.issuer = None;
        moved.card = Some("ISSUER0001".into());
        assert_ne!(moved.canonical(), base);
        let mut seq = record();
        seq.seq = 2;
        assert_ne!(seq.canonical(), base);
        let mut prev = record();
        prev.prev_mac[31] = 1;
        assert_ne!(prev.canonical(), base);
        let mut empty = record();
        empty.detail = Some(String::new());
        assert_ne!(empty.canonical(), base);
    }

    #[test]
    fn times_round_trip() {
        for at in [0, 951_782_400, 1_800_000_000, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&rfc3339(at)), Some(at), "{at}");
        }
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(parse_rfc3339("2000-02-29T02:00:00.5+02:00"), Some(951_782_400));
        for bad in ["", "2000-02-29", "2000-13-01T00:00:00Z", "2000-02-29T00:00:00", "x000-02-29T00:00:00Z"] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }
}

//! Verifying the chains: each record's MAC over its canonical bytes, each record's previous MAC
//! against the record before it, and no gap in the sequence numbers.
//!
//! A chain's first remaining record is accepted as its start when it is seq 1 with the genesis
//! previous MAC, or when a retention purge record (`audit_purged`, whose own MAC must verify) says
//! the chain was cut there: verification is then anchored at that record's stored previous MAC.
//! Deleting a chain's oldest records without such a record, or any record in the middle, or
//! changing any field of any record, breaks the chain at that point.

use std::collections::HashMap;

use pinframe_server::keys::{MacError, MacKey};

use super::record::{Event, Record, GENESIS};

/// The first broken record of a chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Broken {
    pub replica: String,
    pub seq: i64,
    pub reason: String,
}

/// What a verification found.
#[derive(Debug, Default)]
pub struct Report {
    pub chains: usize,
    pub records: usize,
    /// Per broken chain, its first broken record, in replica order.
    pub broken: Vec<Broken>,
}

/// The purge records' claims: per chain, the first seq kept by its latest purge.
fn purge_claims(key: &MacKey, records: &[Record]) -> Result<HashMap<String, i64>, MacError> {
    let mut claims = HashMap::new();
    for record in records.iter().filter(|r| r.event == Event::AuditPurged.as_str()) {
        if !key.verify(&record.canonical(), &record.mac)? {
            continue;
        }
        let mut replica = None;
        let mut first = None;
        for part in record.detail.as_deref().unwrap_or_default().split(' ') {
            match part.split_once('=') {
                Some(("replica", r)) => replica = Some(r.to_owned()),
                Some(("first_seq", k)) => first = k.parse::<i64>().ok(),
                _ => {}
            }
        }
        if let (Some(replica), Some(first)) = (replica, first) {
            let claim = claims.entry(replica).or_insert(first);
            *claim = (*claim).max(first);
        }
    }
    Ok(claims)
}

/// Verifies `records`, ordered by replica then seq. With `anchored` (an export from a time on),
/// each chain's first record is accepted as its start whatever its seq.
pub fn verify(key: &MacKey, records: &[Record], anchored: bool) -> Result<Report, MacError> {
    let claims = purge_claims(key, records)?;
    let mut report = Report { records: records.len(), ..Report::default() };
    let mut start = 0;
    while start < records.len() {
        let replica = &records[start].replica;
        let end = records[start..].iter().position(|r| &r.replica != replica).map_or(records.len(), |n| start + n);
        report.chains += 1;
        if let Some(broken) = verify_chain(key, &records[start..end], anchored, claims.get(replica).copied())? {
            report.broken.push(broken);
        }
        start = end;
    }
    Ok(report)
}

fn verify_chain(
    key: &MacKey,
    chain: &[Record],
    anchored: bool,
    claim: Option<i64>,
) -> Result<Option<Broken>, MacError> {
    let broken = |r: &Record, reason: String| Ok(Some(Broken { replica: r.replica.clone(), seq: r.seq, reason }));
    let Some(first) = chain.first() else { return Ok(None) };
    if !anchored {
        if first.seq == 1 {
            if first.prev_mac != GENESIS {
                return broken(first, "the chain's first record does not start from the genesis value".into());
            }
        } else if claim != Some(first.seq) {
            let reason =
                format!("records before seq {} are missing and no retention purge accounts for them", first.seq);
            return broken(first, reason);
        }
    }
    let mut previous: Option<&Record> = None;
    for record in chain {
        if let Some(prev) = previous {
            if record.seq != prev.seq + 1 {
                return broken(record, format!("the record before it (seq {}) is missing", record.seq - 1));
            }
            if record.prev_mac != prev.mac {
                return broken(record, format!("its previous MAC is not the MAC of seq {}", prev.seq));
            }
        }
        if !key.verify(&record.canonical(), &record.mac)? {
            return broken(record, "its MAC does not match its contents (the record was changed)".into());
        }
        previous = Some(record);
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(key: &MacKey, n: i64) -> Vec<Record> {
        let mut prev = GENESIS.to_vec();
        (1..=n)
            .map(|seq| {
                let mut r = Record {
                    replica: "r".into(),
                    seq,
                    at: 1_000 + seq,
                    event: "pin_viewed".into(),
                    outcome: "ok".into(),
                    issuer: Some("ISSUER0001".into()),
                    card: Some("card-1".into()),
                    client: None,
                    source: None,
                    correlation: None,
                    detail: None,
                    prev_mac: prev.clone(),
                    mac: vec![],
                };
                r.mac = key.mac(&r.canonical()).unwrap().to_vec();
                prev = r.mac.clone();
                r
            })
            .collect()
    }

    #[test]
    fn edits_gaps_and_cut_starts_are_named() {
        let key = MacKey::new(&[7; 32]);
        let intact = chain(&key, 5);
        assert!(verify(&key, &intact, false).unwrap().broken.is_empty());

        let mut edited = intact.clone();
        edited[2].outcome = "refused".into();
        assert_eq!(verify(&key, &edited, false).unwrap().broken[0].seq, 3);

        let mut gap = intact.clone();
        gap.remove(3);
        assert_eq!(verify(&key, &gap, false).unwrap().broken[0].seq, 5);

        let cut = intact[2..].to_vec();
        assert_eq!(verify(&key, &cut, false).unwrap().broken[0].seq, 3);
        assert!(verify(&key, &cut, true).unwrap().broken.is_empty(), "anchored at the first record");

        let other_key = MacKey::new(&[8; 32]);
        assert_eq!(verify(&other_key, &intact, false).unwrap().broken[0].seq, 1);
    }
}

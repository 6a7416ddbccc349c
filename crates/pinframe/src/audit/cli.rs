//! `pinframe audit export` and `pinframe audit verify`, against the service's database.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use pinframe_core::IssuerId;
use pinframe_server::config::{DatabaseArgs, KeyFiles};
use pinframe_server::keystore::KeyStoreArgs;

use super::record::parse_rfc3339;
use super::{check, sql};
use crate::store::SqlStore;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Write the audit records as JSON lines on stdout, chain by chain (replica, then seq).
    Export(AuditQuery),
    /// Check every chain's HMACs with the audit key: exit 0 when all are intact, 1 naming each
    /// chain's first broken record (replica and seq).
    Verify(AuditQuery),
}

#[derive(Debug, Args)]
pub struct AuditQuery {
    #[arg(long, value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Only records from this time on (RFC 3339, e.g. 2026-01-31T00:00:00Z). Verify then anchors
    /// each chain at its first record from that time.
    #[arg(long, value_name = "RFC3339")]
    pub since: Option<String>,
    /// Only this issuer's records (export only: verify checks whole chains).
    #[arg(long, value_name = "ISSUERID")]
    pub issuer: Option<String>,
    /// Where the audit key is (verify only): the same key store the service uses.
    #[command(flatten)]
    pub key_store: KeyStoreArgs,
}

/// Runs an audit command: its stdout on success, the one-line (or one line per broken chain)
/// reason otherwise.
pub async fn run(command: AuditCommand) -> Result<String, String> {
    let (query, verify) = match command {
        AuditCommand::Export(query) => (query, false),
        AuditCommand::Verify(query) => (query, true),
    };
    let since = match &query.since {
        Some(text) => Some(parse_rfc3339(text).ok_or("--since must be an RFC 3339 time such as 2026-01-31T00:00:00Z")?),
        None => None,
    };
    let issuer = match &query.issuer {
        Some(_) if verify => return Err("--issuer applies to export only: verify checks whole chains".to_owned()),
        Some(id) => Some(IssuerId::parse(id).map_err(|e| format!("--issuer: {e}"))?),
        None => None,
    };
    // The key first: verify without it would open (and migrate) a database it cannot check.
    let key = if verify {
        let init = format!("pinframe keys init --data-dir {}", query.data_dir.display());
        let hsm = query.key_store.open()?;
        Some(
            crate::keys::load_keys(&query.data_dir, KeyFiles::Require { init: &init }.in_store(hsm.as_ref()))
                .map_err(|e| e.to_string())?
                .audit,
        )
    } else {
        None
    };
    let config = query.database.config().map_err(|e| e.to_string())?;
    if !config.is_postgres() && !query.data_dir.join(crate::store::sql::SQLITE_FILE).exists() {
        return Err(format!("{}: no service database here", query.data_dir.display()));
    }
    let store = SqlStore::open(&config, &query.data_dir).await.map_err(|e| e.to_string())?;
    let records =
        sql::records(store.db(), since, issuer.as_ref().map(IssuerId::as_str)).await.map_err(|e| e.to_string())?;
    let Some(key) = key else {
        let mut out = String::new();
        for record in &records {
            out.push_str(&record.to_json().to_string());
            out.push('\n');
        }
        return Ok(out);
    };
    let report = check::verify(&key, &records, since.is_some()).map_err(|e| e.to_string())?;
    if report.broken.is_empty() {
        return Ok(format!("audit trail intact: {} records in {} chains\n", report.records, report.chains));
    }
    let lines: Vec<String> = report
        .broken
        .iter()
        .map(|b| format!("audit chain broken at replica {} seq {}: {}", b.replica, b.seq, b.reason))
        .collect();
    Err(lines.join("\n"))
}

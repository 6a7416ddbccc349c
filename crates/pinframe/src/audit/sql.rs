//! The audit trail's statements, one text for SQLite and PostgreSQL alike. The service only inserts
//! into `audit_log`, and deletes whole oldest prefixes of a chain for retention.

use pinframe_server::db::{Db, SqlRow, StoreError};
use pinframe_server::with_pool;

use super::record::Record;

const COLUMNS: &str =
    "replica, seq, at, event, outcome, issuer_id, card_id, client_id, source, correlation_id, detail, prev_mac, mac";

fn from_row(row: &impl SqlRow) -> Result<Record, StoreError> {
    Ok(Record {
        replica: row.text("replica")?,
        seq: row.int("seq")?,
        at: row.int("at")?,
        event: row.text("event")?,
        outcome: row.text("outcome")?,
        issuer: row.opt_text("issuer_id")?,
        card: row.opt_text("card_id")?,
        client: row.opt_text("client_id")?,
        source: row.opt_text("source")?,
        correlation: row.opt_text("correlation_id")?,
        detail: row.opt_text("detail")?,
        prev_mac: row.bytes("prev_mac")?,
        mac: row.bytes("mac")?,
    })
}

/// Appends `records` in one transaction: all or none. The raw sqlx error is returned, so that the
/// caller can tell a collision on (replica, seq) — another process writing this chain — from the
/// database being away.
pub async fn insert_all(db: &Db, records: &[Record]) -> Result<(), sqlx::Error> {
    let statement =
        format!("INSERT INTO audit_log ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)");
    with_pool!(db, write, |pool| {
        let mut tx = pool.begin().await?;
        for r in records {
            sqlx::query(&statement)
                .bind(&r.replica)
                .bind(r.seq)
                .bind(r.at)
                .bind(&r.event)
                .bind(&r.outcome)
                .bind(r.issuer.as_deref())
                .bind(r.card.as_deref())
                .bind(r.client.as_deref())
                .bind(r.source.as_deref())
                .bind(r.correlation.as_deref())
                .bind(r.detail.as_deref())
                .bind(r.prev_mac.as_slice())
                .bind(r.mac.as_slice())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await
    })
}

/// The newest record of `replica`'s chain: its seq and MAC.
pub async fn head(db: &Db, replica: &str) -> Result<Option<(i64, Vec<u8>)>, StoreError> {
    with_pool!(db, write, |pool| {
        let row = sqlx::query("SELECT seq, mac FROM audit_log WHERE replica = $1 ORDER BY seq DESC LIMIT 1")
            .bind(replica)
            .fetch_optional(pool)
            .await?;
        row.map(|row| Ok((row.int("seq")?, row.bytes("mac")?))).transpose()
    })
}

/// Records at or after `since`, of `issuer` if given, in chain order (replica, then seq).
pub async fn records(db: &Db, since: Option<i64>, issuer: Option<&str>) -> Result<Vec<Record>, StoreError> {
    with_pool!(db, read, |pool| {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit_log WHERE at >= $1 AND (CAST($2 AS TEXT) IS NULL OR issuer_id = $2) ORDER BY replica, seq"
        ))
        .bind(since.unwrap_or(i64::MIN))
        .bind(issuer)
        .fetch_all(pool)
        .await?;
        rows.iter().map(from_row).collect()
    })
}

/// Each chain: its replica, its newest seq and that record's time.
pub async fn chains(db: &Db) -> Result<Vec<(String, i64, i64)>, StoreError> {
    with_pool!(db, read, |pool| {
        let rows = sqlx::query(
            "SELECT a.replica, a.seq, a.at FROM audit_log a WHERE a.seq = \
             (SELECT MAX(b.seq) FROM audit_log b WHERE b.replica = a.replica) ORDER BY a.replica",
        )
        .fetch_all(pool)
        .await?;
        rows.iter().map(|row| Ok((row.text("replica")?, row.int("seq")?, row.int("at")?))).collect()
    })
}

/// The first seq of `replica`'s chain written at or after `cutoff`, if any.
pub async fn first_since(db: &Db, replica: &str, cutoff: i64) -> Result<Option<i64>, StoreError> {
    with_pool!(db, read, |pool| {
        let row = sqlx::query("SELECT MIN(seq) AS seq FROM audit_log WHERE replica = $1 AND at >= $2")
            .bind(replica)
            .bind(cutoff)
            .fetch_one(pool)
            .await?;
        row.opt_int("seq")
    })
}

/// Deletes the records of `replica`'s chain before `first_kept`; returns how many went.
pub async fn delete_before(db: &Db, replica: &str, first_kept: i64) -> Result<u64, StoreError> {
    let done = with_pool!(db, write, |pool| {
        sqlx::query("DELETE FROM audit_log WHERE replica = $1 AND seq < $2")
            .bind(replica)
            .bind(first_kept)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
    })?;
    Ok(done)
}

/// Marks the tokens that expired unused (by `now`) as recorded, and returns their issuer and card:
/// one statement, so that of several replicas sweeping at once exactly one gets each token.
pub async fn note_expired(db: &Db, now: i64) -> Result<Vec<(String, String)>, StoreError> {
    with_pool!(db, write, |pool| {
        let rows = sqlx::query(
            "UPDATE pin_tokens SET expiry_noted = 1 \
             WHERE used_at IS NULL AND expires_at <= $1 AND expiry_noted = 0 RETURNING issuer_id, card_id",
        )
        .bind(now)
        .fetch_all(pool)
        .await?;
        rows.iter().map(|row| Ok((row.text("issuer_id")?, row.text("card_id")?))).collect()
    })
}

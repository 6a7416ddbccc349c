//! The service's queries of key rotation, beside [`SqlStore`]'s others: reading sealed PANs page by
//! page and writing each back sealed under the new data key with a compare-and-set `UPDATE`, and
//! the tokens whose widgets may still hold the previous encryption key. Each is one statement, on
//! SQLite and PostgreSQL alike.

use pinframe_core::{CardId, IssuerId};
use pinframe_server::db::{SqlRow, StoreError};
use pinframe_server::with_pool;

use super::sql::{bad_row, SqlStore};

/// A card's PAN as sealed in storage, with the ids its sealing is bound to.
#[derive(Debug)]
pub struct SealedPan {
    pub issuer: IssuerId,
    pub card: CardId,
    pub pan_sealed: Vec<u8>,
}

impl SqlStore {
    /// The latest expiry among tokens created before `created_before` that are still unused and
    /// unexpired at `now`; `None` when there are none. `pinframe keys retire` waits for it: the
    /// widgets of those tokens may hold the previous encryption key.
    pub async fn latest_live_token_expiry(&self, created_before: i64, now: i64) -> Result<Option<i64>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query(
                "SELECT MAX(expires_at) AS latest FROM pin_tokens \
                 WHERE created_at < $1 AND used_at IS NULL AND expires_at > $2",
            )
            .bind(created_before)
            .bind(now)
            .fetch_one(pool)
            .await?;
            row.opt_int("latest")
        })
    }

    /// At most `limit` cards' sealed PANs, in (issuer, card) order, after `after`: `pinframe keys
    /// retire` reads them page by page.
    pub async fn sealed_pans(
        &self,
        after: Option<(&IssuerId, &CardId)>,
        limit: i64,
    ) -> Result<Vec<SealedPan>, StoreError> {
        // Ids are never empty, so "after nothing" is after the empty string.
        let (issuer, card) = after.map_or(("", ""), |(i, c)| (i.as_str(), c.as_str()));
        with_pool!(&self.db, read, |pool| {
            let rows = sqlx::query(
                "SELECT issuer_id, card_id, pan_sealed FROM cards \
                 WHERE issuer_id > $1 OR (issuer_id = $2 AND card_id > $3) ORDER BY issuer_id, card_id LIMIT $4",
            )
            .bind(issuer)
            .bind(issuer)
            .bind(card)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|row| {
                    Ok(SealedPan {
                        issuer: IssuerId::parse(&row.text("issuer_id")?).map_err(|_| bad_row("issuer id"))?,
                        card: CardId::parse(&row.text("card_id")?).map_err(|_| bad_row("card id"))?,
                        pan_sealed: row.bytes("pan_sealed")?,
                    })
                })
                .collect()
        })
    }

    /// Replaces a card's sealed PAN with `new` if it still is `old`; returns whether it did. A card
    /// registered again meanwhile keeps the PAN it was given.
    pub async fn reseal_pan(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        old: &[u8],
        new: &[u8],
    ) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, write, |pool| {
            sqlx::query("UPDATE cards SET pan_sealed = $1 WHERE issuer_id = $2 AND card_id = $3 AND pan_sealed = $4")
                .bind(new)
                .bind(issuer.as_str())
                .bind(card.as_str())
                .bind(old)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }
}

//! [`Store`] on SQLite through sqlx. The queries use `$n` parameters and standard SQL only
//! (`ON CONFLICT … DO UPDATE`, conditional `UPDATE` for single use), which PostgreSQL runs as is.

use std::path::Path;

use async_trait::async_trait;
use pinframe_core::{CardId, ConsumerId, IssuerId, PinPolicy};
use pinframe_protocol::{Action, Origin};
use pinframe_server::db::{open_sqlite, Pools, StoreError};
use sqlx::Row;

use super::model::{CardRecord, IssuerRecord, Store, ThemeRecord, TokenRecord};

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pools: Pools,
}

impl SqliteStore {
    /// Opens the service database at `path` and brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let pools = open_sqlite(path).await?;
        sqlx::migrate!("migrations/service").run(&pools.write).await?;
        Ok(Self { pools })
    }
}

fn bad_row(what: &str) -> StoreError {
    StoreError(format!("stored {what} does not parse"))
}

const ISSUER_COLUMNS: &str = "id, client_id, secret_hash, pin_min_length, pin_max_length, pin_forbid_years";

fn issuer_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<IssuerRecord, StoreError> {
    let length = |column: &str| -> Result<usize, StoreError> {
        usize::try_from(row.try_get::<i64, _>(column)?).map_err(|_| bad_row("PIN length"))
    };
    let policy = PinPolicy::new(
        length("pin_min_length")?,
        length("pin_max_length")?,
        row.try_get::<i64, _>("pin_forbid_years")? != 0,
    )
    .map_err(|_| bad_row("PIN policy"))?;
    Ok(IssuerRecord {
        id: IssuerId::parse(row.try_get("id")?).map_err(|_| bad_row("issuer id"))?,
        client_id: row.try_get("client_id")?,
        secret_hash: row.try_get("secret_hash")?,
        policy,
    })
}

#[async_trait]
impl Store for SqliteStore {
    async fn put_issuer(&self, id: &IssuerId, client_id: &str, secret_hash: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO issuers (id, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, secret_hash = excluded.secret_hash",
        )
        .bind(id.as_str())
        .bind(client_id)
        .bind(secret_hash)
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    async fn issuer(&self, id: &IssuerId) -> Result<Option<IssuerRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {ISSUER_COLUMNS} FROM issuers WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pools.read)
            .await?;
        row.as_ref().map(issuer_from_row).transpose()
    }

    async fn issuer_by_client_id(&self, client_id: &str) -> Result<Option<IssuerRecord>, StoreError> {
        let row = sqlx::query(&format!("SELECT {ISSUER_COLUMNS} FROM issuers WHERE client_id = $1"))
            .bind(client_id)
            .fetch_optional(&self.pools.read)
            .await?;
        row.as_ref().map(issuer_from_row).transpose()
    }

    async fn issuers(&self) -> Result<Vec<IssuerRecord>, StoreError> {
        let rows = sqlx::query(&format!("SELECT {ISSUER_COLUMNS} FROM issuers ORDER BY id"))
            .fetch_all(&self.pools.read)
            .await?;
        rows.iter().map(issuer_from_row).collect()
    }

    async fn set_policy(&self, id: &IssuerId, policy: &PinPolicy) -> Result<(), StoreError> {
        sqlx::query("UPDATE issuers SET pin_min_length = $1, pin_max_length = $2, pin_forbid_years = $3 WHERE id = $4")
            .bind(policy.min_len() as i64)
            .bind(policy.max_len() as i64)
            .bind(i64::from(policy.forbid_years()))
            .bind(id.as_str())
            .execute(&self.pools.write)
            .await?;
        Ok(())
    }

    async fn add_origin(&self, issuer: &IssuerId, origin: &Origin) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO issuer_origins (issuer_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(issuer.as_str())
            .bind(origin.as_str())
            .execute(&self.pools.write)
            .await?;
        Ok(())
    }

    async fn origins(&self, issuer: &IssuerId) -> Result<Vec<Origin>, StoreError> {
        let rows = sqlx::query("SELECT origin FROM issuer_origins WHERE issuer_id = $1 ORDER BY origin")
            .bind(issuer.as_str())
            .fetch_all(&self.pools.read)
            .await?;
        rows.iter().map(|r| Origin::parse(r.try_get("origin")?).ok_or_else(|| bad_row("origin"))).collect()
    }

    async fn put_consumer(&self, issuer: &IssuerId, consumer: &ConsumerId, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO consumers (issuer_id, consumer_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(issuer.as_str())
        .bind(consumer.as_str())
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    async fn put_card(
        &self,
        issuer: &IssuerId,
        consumer: &ConsumerId,
        card: &CardId,
        pan_sealed: &[u8],
        now: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO cards (issuer_id, card_id, consumer_id, pan_sealed, updated_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (issuer_id, card_id) DO UPDATE SET consumer_id = excluded.consumer_id, \
             pan_sealed = excluded.pan_sealed, updated_at = excluded.updated_at",
        )
        .bind(issuer.as_str())
        .bind(card.as_str())
        .bind(consumer.as_str())
        .bind(pan_sealed)
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    async fn register_cards(
        &self,
        issuer: &IssuerId,
        consumer: &ConsumerId,
        cards: &[(CardId, Vec<u8>)],
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pools.write.begin().await?;
        sqlx::query(
            "INSERT INTO consumers (issuer_id, consumer_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(issuer.as_str())
        .bind(consumer.as_str())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (card, pan_sealed) in cards {
            sqlx::query(
                "INSERT INTO cards (issuer_id, card_id, consumer_id, pan_sealed, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer_id, card_id) DO UPDATE SET \
                 consumer_id = excluded.consumer_id, pan_sealed = excluded.pan_sealed, updated_at = excluded.updated_at",
            )
            .bind(issuer.as_str())
            .bind(card.as_str())
            .bind(consumer.as_str())
            .bind(pan_sealed.as_slice())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn card(&self, issuer: &IssuerId, card: &CardId) -> Result<Option<CardRecord>, StoreError> {
        let row = sqlx::query("SELECT consumer_id, pan_sealed FROM cards WHERE issuer_id = $1 AND card_id = $2")
            .bind(issuer.as_str())
            .bind(card.as_str())
            .fetch_optional(&self.pools.read)
            .await?;
        row.map(|row| {
            Ok(CardRecord {
                consumer: ConsumerId::parse(row.try_get("consumer_id")?).map_err(|_| bad_row("consumer id"))?,
                pan_sealed: row.try_get("pan_sealed")?,
            })
        })
        .transpose()
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pin_tokens (token_hash, issuer_id, card_id, action, parent_origin, language, created_at, \
             expires_at, used_at, hide_after_seconds, allow_copy) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
        )
        .bind(&token.hash[..])
        .bind(token.issuer.as_str())
        .bind(token.card.as_str())
        .bind(token.action.as_str())
        .bind(token.parent_origin.as_ref().map(Origin::as_str))
        .bind(token.language.as_deref())
        .bind(token.created_at)
        .bind(token.expires_at)
        .bind(token.hide_after_seconds.map(i64::from))
        .bind(i64::from(token.allow_copy))
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    async fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT issuer_id, card_id, action, parent_origin, language, created_at, expires_at, used_at, \
             attempts, hide_after_seconds, allow_copy FROM pin_tokens WHERE token_hash = $1",
        )
        .bind(&hash[..])
        .fetch_optional(&self.pools.read)
        .await?;
        row.map(|row| {
            Ok(TokenRecord {
                hash: *hash,
                issuer: IssuerId::parse(row.try_get("issuer_id")?).map_err(|_| bad_row("issuer id"))?,
                card: CardId::parse(row.try_get("card_id")?).map_err(|_| bad_row("card id"))?,
                action: Action::parse(row.try_get("action")?).ok_or_else(|| bad_row("action"))?,
                parent_origin: match row.try_get::<Option<&str>, _>("parent_origin")? {
                    Some(text) => Some(Origin::parse(text).ok_or_else(|| bad_row("parent origin"))?),
                    None => None,
                },
                language: row.try_get("language")?,
                created_at: row.try_get("created_at")?,
                expires_at: row.try_get("expires_at")?,
                used: row.try_get::<Option<i64>, _>("used_at")?.is_some(),
                attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).map_err(|_| bad_row("attempts"))?,
                hide_after_seconds: row
                    .try_get::<Option<i64>, _>("hide_after_seconds")?
                    .map(|s| u32::try_from(s).map_err(|_| bad_row("hide_after_seconds")))
                    .transpose()?,
                allow_copy: row.try_get::<i64, _>("allow_copy")? != 0,
            })
        })
        .transpose()
    }

    async fn consume_token(&self, hash: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE pin_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(now)
        .bind(&hash[..])
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn release_token(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        sqlx::query("UPDATE pin_tokens SET used_at = NULL WHERE token_hash = $1")
            .bind(&hash[..])
            .execute(&self.pools.write)
            .await?;
        Ok(())
    }

    async fn refuse_attempt(&self, hash: &[u8; 32], max_attempts: u32, now: i64) -> Result<bool, StoreError> {
        // The right-hand sides see the row as it was, so `attempts + 1` is this attempt's number.
        sqlx::query(
            "UPDATE pin_tokens SET attempts = attempts + 1, \
             used_at = CASE WHEN attempts + 1 >= $1 THEN $2 ELSE used_at END \
             WHERE token_hash = $3 AND used_at IS NULL",
        )
        .bind(i64::from(max_attempts))
        .bind(now)
        .bind(&hash[..])
        .execute(&self.pools.write)
        .await?;
        let row = sqlx::query("SELECT used_at FROM pin_tokens WHERE token_hash = $1")
            .bind(&hash[..])
            .fetch_optional(&self.pools.write)
            .await?;
        Ok(match row {
            Some(row) => row.try_get::<Option<i64>, _>("used_at")?.is_none(),
            None => false,
        })
    }

    async fn purge_tokens(&self, before: i64) -> Result<u64, StoreError> {
        let done =
            sqlx::query("DELETE FROM pin_tokens WHERE expires_at < $1").bind(before).execute(&self.pools.write).await?;
        Ok(done.rows_affected())
    }

    async fn put_theme(&self, issuer: &IssuerId, version: &str, css: &str, now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO issuer_themes (issuer_id, version, css, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer_id) DO UPDATE SET version = excluded.version, css = excluded.css, \
             updated_at = excluded.updated_at",
        )
        .bind(issuer.as_str())
        .bind(version)
        .bind(css)
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    async fn theme(&self, issuer: &IssuerId) -> Result<Option<ThemeRecord>, StoreError> {
        let row = sqlx::query("SELECT version, css FROM issuer_themes WHERE issuer_id = $1")
            .bind(issuer.as_str())
            .fetch_optional(&self.pools.read)
            .await?;
        row.map(|row| Ok(ThemeRecord { version: row.try_get("version")?, css: row.try_get("css")? })).transpose()
    }

    async fn delete_theme(&self, issuer: &IssuerId) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM issuer_themes WHERE issuer_id = $1")
            .bind(issuer.as_str())
            .execute(&self.pools.write)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn put_font(&self, issuer: &IssuerId, name: &str, data: &[u8], now: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO issuer_fonts (issuer_id, name, data, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (issuer_id, name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
        )
        .bind(issuer.as_str())
        .bind(name)
        .bind(data)
        .bind(now)
        .execute(&self.pools.write)
        .await?;
        Ok(())
    }

    async fn font(&self, issuer: &IssuerId, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query("SELECT data FROM issuer_fonts WHERE issuer_id = $1 AND name = $2")
            .bind(issuer.as_str())
            .bind(name)
            .fetch_optional(&self.pools.read)
            .await?;
        row.map(|row| row.try_get("data").map_err(StoreError::from)).transpose()
    }
}

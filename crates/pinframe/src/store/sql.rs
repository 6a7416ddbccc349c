//! [`Store`] on SQLite or PostgreSQL through sqlx: each query is written once
//! ([`with_pool!`]) in `$n` parameters and standard SQL (`ON CONFLICT … DO UPDATE`, `RETURNING`,
//! conditional `UPDATE` for single use), which both run as is. Every rule that claims or counts is
//! one statement, so it holds however many replicas share the database.

use std::path::Path;

use async_trait::async_trait;
use pinframe_core::{CardId, ConsumerId, IssuerId, PinPolicy};
use pinframe_protocol::{Action, Origin};
use pinframe_server::db::{Db, DbConfig, Migrations, SqlRow, StoreError};
use pinframe_server::with_pool;

use super::model::{CardRecord, ClaimedToken, IssuerRecord, Store, ThemeRecord, TokenRecord};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The PostgreSQL schema of the service's tables and their migration history.
pub const SCHEMA: &str = "pinframe_service";

/// The file of the service's tables in its data directory, on SQLite.
pub const SQLITE_FILE: &str = "service.db";

#[derive(Debug, Clone)]
pub struct SqlStore {
    pub(super) db: Db,
}

impl SqlStore {
    /// Opens the service's tables (`DIR/service.db`, or the `pinframe_service` schema on
    /// PostgreSQL) and brings their schema up to date.
    pub async fn open(config: &DbConfig, data_dir: &Path) -> Result<Self, StoreError> {
        let migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };
        Ok(Self { db: Db::open(config, &data_dir.join(SQLITE_FILE), SCHEMA, migrations).await? })
    }

    /// The database itself: the audit trail's statements run on it too.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

pub(super) fn bad_row(what: &str) -> StoreError {
    StoreError::failed(format!("stored {what} does not parse"))
}

const ISSUER_COLUMNS: &str = "id, client_id, secret_hash, pin_min_length, pin_max_length, pin_forbid_years";

fn issuer_from_row(row: &impl SqlRow) -> Result<IssuerRecord, StoreError> {
    let length = |column: &str| -> Result<usize, StoreError> {
        usize::try_from(row.int(column)?).map_err(|_| bad_row("PIN length"))
    };
    let policy = PinPolicy::new(length("pin_min_length")?, length("pin_max_length")?, row.flag("pin_forbid_years")?)
        .map_err(|_| bad_row("PIN policy"))?;
    Ok(IssuerRecord {
        id: IssuerId::parse(&row.text("id")?).map_err(|_| bad_row("issuer id"))?,
        client_id: row.text("client_id")?,
        secret_hash: row.text("secret_hash")?,
        policy,
    })
}

fn token_from_row(hash: &[u8; 32], row: &impl SqlRow) -> Result<TokenRecord, StoreError> {
    Ok(TokenRecord {
        hash: *hash,
        issuer: IssuerId::parse(&row.text("issuer_id")?).map_err(|_| bad_row("issuer id"))?,
        card: CardId::parse(&row.text("card_id")?).map_err(|_| bad_row("card id"))?,
        action: Action::parse(&row.text("action")?).ok_or_else(|| bad_row("action"))?,
        parent_origin: match row.opt_text("parent_origin")? {
            Some(text) => Some(Origin::parse(&text).ok_or_else(|| bad_row("parent origin"))?),
            None => None,
        },
        language: row.opt_text("language")?,
        created_at: row.int("created_at")?,
        expires_at: row.int("expires_at")?,
        used: row.opt_int("used_at")?.is_some(),
        attempts: u32::try_from(row.int("attempts")?).map_err(|_| bad_row("attempts"))?,
        hide_after_seconds: row
            .opt_int("hide_after_seconds")?
            .map(|s| u32::try_from(s).map_err(|_| bad_row("hide_after_seconds")))
            .transpose()?,
        allow_copy: row.flag("allow_copy")?,
    })
}

/// The SQL that registers a consumer, if new.
const INSERT_CONSUMER: &str =
    "INSERT INTO consumers (issuer_id, consumer_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";

/// The SQL that registers a card to a consumer, or moves it and replaces its PAN.
const UPSERT_CARD: &str = "INSERT INTO cards (issuer_id, card_id, consumer_id, pan_sealed, updated_at) \
     VALUES ($1, $2, $3, $4, $5) ON CONFLICT (issuer_id, card_id) DO UPDATE SET \
     consumer_id = excluded.consumer_id, pan_sealed = excluded.pan_sealed, updated_at = excluded.updated_at";

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    async fn put_issuer(&self, id: &IssuerId, client_id: &str, secret_hash: &str, now: i64) -> Result<(), StoreError> {
        let upsert = || async {
            with_pool!(&self.db, write, |pool| {
                sqlx::query(
                    "INSERT INTO issuers (id, client_id, secret_hash, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (id) DO UPDATE SET client_id = excluded.client_id, secret_hash = excluded.secret_hash",
                )
                .bind(id.as_str())
                .bind(client_id)
                .bind(secret_hash)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
            })
        };
        match upsert().await {
            // Two replicas adding the same issuer at once: the later INSERT can meet the earlier one
            // on the `client_id` index before it sees it under `id`, which ON CONFLICT (id) does not
            // cover. Once more, it finds the row under `id` and updates it. A client id another
            // issuer holds fails again, as it should.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => upsert().await?,
            other => other?,
        }
        Ok(())
    }

    async fn issuer(&self, id: &IssuerId) -> Result<Option<IssuerRecord>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query(&format!("SELECT {ISSUER_COLUMNS} FROM issuers WHERE id = $1"))
                .bind(id.as_str())
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(issuer_from_row).transpose()
        })
    }

    async fn issuer_by_client_id(&self, client_id: &str) -> Result<Option<IssuerRecord>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query(&format!("SELECT {ISSUER_COLUMNS} FROM issuers WHERE client_id = $1"))
                .bind(client_id)
                .fetch_optional(pool)
                .await?;
            row.as_ref().map(issuer_from_row).transpose()
        })
    }

    async fn issuers(&self) -> Result<Vec<IssuerRecord>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let rows =
                sqlx::query(&format!("SELECT {ISSUER_COLUMNS} FROM issuers ORDER BY id")).fetch_all(pool).await?;
            rows.iter().map(issuer_from_row).collect()
        })
    }

    async fn set_policy(&self, id: &IssuerId, policy: &PinPolicy) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query(
                "UPDATE issuers SET pin_min_length = $1, pin_max_length = $2, pin_forbid_years = $3 WHERE id = $4",
            )
            .bind(policy.min_len() as i64)
            .bind(policy.max_len() as i64)
            .bind(policy.forbid_years())
            .bind(id.as_str())
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn add_origin(&self, issuer: &IssuerId, origin: &Origin) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query("INSERT INTO issuer_origins (issuer_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(issuer.as_str())
                .bind(origin.as_str())
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    async fn origins(&self, issuer: &IssuerId) -> Result<Vec<Origin>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let rows = sqlx::query("SELECT origin FROM issuer_origins WHERE issuer_id = $1 ORDER BY origin")
                .bind(issuer.as_str())
                .fetch_all(pool)
                .await?;
            rows.iter().map(|r| Origin::parse(&r.text("origin")?).ok_or_else(|| bad_row("origin"))).collect()
        })
    }

    async fn put_consumer(&self, issuer: &IssuerId, consumer: &ConsumerId, now: i64) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query(INSERT_CONSUMER)
                .bind(issuer.as_str())
                .bind(consumer.as_str())
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
        })?;
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
        with_pool!(&self.db, write, |pool| {
            sqlx::query(UPSERT_CARD)
                .bind(issuer.as_str())
                .bind(card.as_str())
                .bind(consumer.as_str())
                .bind(pan_sealed)
                .bind(now)
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    async fn register_cards(
        &self,
        issuer: &IssuerId,
        consumer: &ConsumerId,
        cards: &[(CardId, Vec<u8>)],
        now: i64,
    ) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(INSERT_CONSUMER)
                .bind(issuer.as_str())
                .bind(consumer.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await?;
            for (card, pan_sealed) in cards {
                sqlx::query(UPSERT_CARD)
                    .bind(issuer.as_str())
                    .bind(card.as_str())
                    .bind(consumer.as_str())
                    .bind(pan_sealed.as_slice())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            tx.commit().await
        })?;
        Ok(())
    }

    async fn card(&self, issuer: &IssuerId, card: &CardId) -> Result<Option<CardRecord>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query("SELECT consumer_id, pan_sealed FROM cards WHERE issuer_id = $1 AND card_id = $2")
                .bind(issuer.as_str())
                .bind(card.as_str())
                .fetch_optional(pool)
                .await?;
            row.map(|row| {
                Ok(CardRecord {
                    consumer: ConsumerId::parse(&row.text("consumer_id")?).map_err(|_| bad_row("consumer id"))?,
                    pan_sealed: row.bytes("pan_sealed")?,
                })
            })
            .transpose()
        })
    }

    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query(
                "INSERT INTO pin_tokens (token_hash, issuer_id, card_id, action, parent_origin, language, \
                 created_at, expires_at, used_at, hide_after_seconds, allow_copy) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, $9, $10)",
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
            .bind(token.allow_copy)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query(
                "SELECT issuer_id, card_id, action, parent_origin, language, created_at, expires_at, used_at, \
                 attempts, hide_after_seconds, allow_copy FROM pin_tokens WHERE token_hash = $1",
            )
            .bind(&hash[..])
            .fetch_optional(pool)
            .await?;
            row.map(|row| token_from_row(hash, &row)).transpose()
        })
    }

    async fn consume_token(&self, hash: &[u8; 32], now: i64) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, write, |pool| {
            sqlx::query(
                "UPDATE pin_tokens SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3",
            )
            .bind(now)
            .bind(&hash[..])
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    async fn claim_token(&self, hash: &[u8; 32], action: Action, now: i64) -> Result<Option<ClaimedToken>, StoreError> {
        // The conditional UPDATE of `consume_token`, which also reads the card's PAN: one statement
        // where a check, a PAN lookup and a claim were three.
        with_pool!(&self.db, write, |pool| {
            let row = sqlx::query(
                "UPDATE pin_tokens SET used_at = $1 \
                 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $3 AND action = $4 \
                 RETURNING issuer_id, card_id, (SELECT pan_sealed FROM cards \
                 WHERE cards.issuer_id = pin_tokens.issuer_id AND cards.card_id = pin_tokens.card_id) AS pan_sealed",
            )
            .bind(now)
            .bind(&hash[..])
            .bind(now)
            .bind(action.as_str())
            .fetch_optional(pool)
            .await?;
            row.map(|row| {
                Ok(ClaimedToken {
                    issuer: IssuerId::parse(&row.text("issuer_id")?).map_err(|_| bad_row("issuer id"))?,
                    card: CardId::parse(&row.text("card_id")?).map_err(|_| bad_row("card id"))?,
                    pan_sealed: sqlx::Row::try_get(&row, "pan_sealed")?,
                })
            })
            .transpose()
        })
    }

    async fn release_token(&self, hash: &[u8; 32]) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query("UPDATE pin_tokens SET used_at = NULL WHERE token_hash = $1")
                .bind(&hash[..])
                .execute(pool)
                .await
                .map(drop)
        })?;
        Ok(())
    }

    async fn refuse_attempt(&self, hash: &[u8; 32], max_attempts: u32, now: i64) -> Result<Option<u32>, StoreError> {
        // One statement counts and, at the limit, uses the token up; a token already used (by a
        // concurrent refusal that reached the limit, or a claim) or expired is not counted. The
        // right-hand sides see the row as it was, so `attempts + 1` is this attempt's number.
        let counted = with_pool!(&self.db, write, |pool| {
            let row = sqlx::query(
                "UPDATE pin_tokens SET attempts = attempts + 1, \
                 used_at = CASE WHEN attempts + 1 >= $1 THEN $2 ELSE used_at END \
                 WHERE token_hash = $3 AND used_at IS NULL AND expires_at > $4 RETURNING attempts",
            )
            .bind(i64::from(max_attempts))
            .bind(now)
            .bind(&hash[..])
            .bind(now)
            .fetch_optional(pool)
            .await?;
            row.map(|row| row.int("attempts")).transpose()
        })?;
        counted.map(|n| u32::try_from(n).map_err(|_| bad_row("attempts"))).transpose()
    }

    async fn purge_tokens(&self, before: i64) -> Result<u64, StoreError> {
        let done = with_pool!(&self.db, write, |pool| {
            sqlx::query("DELETE FROM pin_tokens WHERE expires_at < $1")
                .bind(before)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done)
    }

    async fn put_theme(&self, issuer: &IssuerId, version: &str, css: &str, now: i64) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query(
                "INSERT INTO issuer_themes (issuer_id, version, css, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (issuer_id) DO UPDATE SET version = excluded.version, css = excluded.css, \
                 updated_at = excluded.updated_at",
            )
            .bind(issuer.as_str())
            .bind(version)
            .bind(css)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn theme(&self, issuer: &IssuerId) -> Result<Option<ThemeRecord>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query("SELECT version, css FROM issuer_themes WHERE issuer_id = $1")
                .bind(issuer.as_str())
                .fetch_optional(pool)
                .await?;
            row.map(|row| Ok(ThemeRecord { version: row.text("version")?, css: row.text("css")? })).transpose()
        })
    }

    async fn delete_theme(&self, issuer: &IssuerId) -> Result<bool, StoreError> {
        let done = with_pool!(&self.db, write, |pool| {
            sqlx::query("DELETE FROM issuer_themes WHERE issuer_id = $1")
                .bind(issuer.as_str())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(done > 0)
    }

    async fn put_font(&self, issuer: &IssuerId, name: &str, data: &[u8], now: i64) -> Result<(), StoreError> {
        with_pool!(&self.db, write, |pool| {
            sqlx::query(
                "INSERT INTO issuer_fonts (issuer_id, name, data, updated_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (issuer_id, name) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at",
            )
            .bind(issuer.as_str())
            .bind(name)
            .bind(data)
            .bind(now)
            .execute(pool)
            .await
            .map(drop)
        })?;
        Ok(())
    }

    async fn font(&self, issuer: &IssuerId, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        with_pool!(&self.db, read, |pool| {
            let row = sqlx::query("SELECT data FROM issuer_fonts WHERE issuer_id = $1 AND name = $2")
                .bind(issuer.as_str())
                .bind(name)
                .fetch_optional(pool)
                .await?;
            row.map(|row| row.bytes("data")).transpose()
        })
    }
}

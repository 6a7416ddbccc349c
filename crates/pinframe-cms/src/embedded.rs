//! The reference CMS, in process: PIN blocks sealed with AES-256-GCM under a key-encryption key, in
//! its own SQLite database or its own PostgreSQL schema, behind [`PinManagement`]. After a key
//! rotation, blocks sealed under either KEK open, and [`EmbeddedCms::reseal_blocks`] moves those of
//! the previous KEK to the current one before `pinframe keys retire` removes it.

use std::path::Path;

use async_trait::async_trait;
use pinframe_core::pinblock::{hex_decode, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, CorrelationId, IssuerId, PublicJwk};
use pinframe_protocol::d1::{PinBlockJson, PinBlockType, MAX_ENCRYPTED_PIN_BLOCK_LEN};
use pinframe_protocol::issuer::Jwks;
use pinframe_server::clock::{Clock, SystemClock};
use pinframe_server::db::{Db, DbConfig, Migrations, SqlRow, StoreError};
use pinframe_server::jwks::encryption_jwks;
use pinframe_server::keyring::Live;
use pinframe_server::keystore::DecryptError;
use pinframe_server::rotation::{Resealed, RESEAL_PAGE};
use pinframe_server::with_pool;
use zeroize::Zeroizing;

use crate::keys::CmsKeys;
use crate::pin_management::{CmsError, EncryptedPinBlock, PinManagement};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The PostgreSQL schema of the CMS's tables and their migration history.
pub const SCHEMA: &str = "pinframe_cms";

/// The file of the CMS's tables in its data directory, on SQLite.
pub const SQLITE_FILE: &str = "cms.db";

pub struct EmbeddedCms {
    db: Db,
    /// Its KEK, its own key and the service's, replaced whole on reload.
    keys: Live<CmsKeys>,
}

impl std::fmt::Debug for EmbeddedCms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCms").field("kids", &self.keys.get().key.kids()).finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> CmsError {
    CmsError::Unavailable(e.to_string())
}

fn row_aad(issuer: &IssuerId, card: &CardId, block_type: PinBlockType) -> Vec<u8> {
    format!("pinframe-cms-pin-v1|{}|{}|{}", issuer.as_str(), card.as_str(), block_type.as_str()).into_bytes()
}

impl EmbeddedCms {
    /// Opens the CMS's tables (`DIR/cms.db`, or the `pinframe_cms` schema on PostgreSQL); `keys`
    /// seal blocks at rest and decrypt those written to the CMS, and name the service keys that
    /// blocks read from the CMS are encrypted to.
    pub async fn open(config: &DbConfig, dir: &Path, keys: CmsKeys) -> Result<Self, StoreError> {
        let migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };
        let db = Db::open(config, &dir.join(SQLITE_FILE), SCHEMA, migrations).await?;
        Ok(Self { db, keys: Live::new(keys) })
    }

    /// Whether the CMS's database answers now: the readiness check.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }

    /// Uses `keys` from now on (a reload, on SIGHUP).
    pub fn replace_keys(&self, keys: CmsKeys) {
        self.keys.replace(keys);
    }

    /// The CMS's encryption keys as its JWKS publishes them at `now`: the active one first.
    pub fn jwks(&self, now: i64) -> Jwks {
        encryption_jwks(&self.keys.get().key, now)
    }

    /// What the log may say about the keys in use: the CMS's encryption keys' and the service's
    /// recipient keys' `kid`s, and how many KEKs there are.
    pub fn key_summary(&self) -> (Vec<String>, Vec<String>, usize) {
        let keys = self.keys.get();
        let recipient = keys.recipient.as_ref().map(|r| r.iter().map(|k| k.kid().to_owned()).collect());
        (keys.key.kids(), recipient.unwrap_or_default(), keys.kek.iter().count())
    }
}

impl EmbeddedCms {
    /// Checks a block encrypted to the CMS key and seals it under the KEK, bound to its row.
    fn seal_block(&self, issuer: &IssuerId, card: &CardId, block: &EncryptedPinBlock) -> Result<Vec<u8>, CmsError> {
        if block.jwe.len() > MAX_ENCRYPTED_PIN_BLOCK_LEN {
            return Err(CmsError::Rejected("encryptedPinBlock is longer than 8192 characters"));
        }
        let keys = self.keys.get();
        let plaintext = keys.key.decrypt(&block.jwe).map_err(|e| match e {
            DecryptError::KeyStore => CmsError::Unavailable("the CMS key's HSM did not answer".to_owned()),
            DecryptError::Refused => CmsError::Rejected("encryptedPinBlock does not decrypt with the CMS key"),
        })?;
        let json: PinBlockJson =
            serde_json::from_slice(&plaintext).map_err(|_| CmsError::Rejected("PIN block JSON is malformed"))?;
        if json.format != block.block_type.as_str() {
            return Err(CmsError::Rejected("PIN block format does not match the request type"));
        }
        let bytes = Zeroizing::new(
            hex_decode(&json.pin_block)
                .filter(|b| b.len() == 8)
                .ok_or(CmsError::Rejected("pinBlock must be 16 hexadecimal digits"))?,
        );
        // Format 0 XORs the PIN field with a PAN field whose first byte is zero, so the control
        // nibble (0) and the PIN length (4 to 12) stay readable without the PAN.
        if block.block_type == PinBlockType::Iso0 && !(bytes[0] >> 4 == 0 && (4..=12).contains(&(bytes[0] & 0x0F))) {
            return Err(CmsError::Rejected("pinBlock is not an ISO 9564 format-0 block"));
        }
        keys.kek
            .seal(&row_aad(issuer, card, block.block_type), &bytes, SystemClock.now())
            .map_err(|_| CmsError::Unavailable("the KEK did not seal the PIN block".to_owned()))
    }

    /// Inserts a card's first block (change counter 1), or on a card that has one does `on_conflict`;
    /// returns the rows written.
    async fn write_block(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        block_type: PinBlockType,
        sealed: &[u8],
        on_conflict: &str,
    ) -> Result<u64, CmsError> {
        let sql = format!(
            "INSERT INTO cms_pins (issuer_id, card_id, block_type, block_sealed, change_counter, updated_at) \
             VALUES ($1, $2, $3, $4, 1, $5) ON CONFLICT (issuer_id, card_id) {on_conflict}"
        );
        let written = with_pool!(&self.db, write, |pool| {
            sqlx::query(&sql)
                .bind(issuer.as_str())
                .bind(card.as_str())
                .bind(block_type.as_str())
                .bind(sealed)
                .bind(SystemClock.now())
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })?;
        Ok(written)
    }
}

impl EmbeddedCms {
    /// One pass of `pinframe keys retire` over the stored blocks: each block sealed under the
    /// previous KEK is sealed again under the current one, one row at a time, by an `UPDATE` that
    /// applies only if the row still holds what was read (a PIN set meanwhile is not undone). A
    /// crash part-way leaves every block under one KEK or the other, both still on disk.
    pub async fn reseal_blocks(&self) -> Result<Resealed, CmsError> {
        let keys = self.keys.get();
        let mut report = Resealed::default();
        let mut after = (String::new(), String::new());
        loop {
            let rows = with_pool!(&self.db, read, |pool| {
                let rows = sqlx::query(
                    "SELECT issuer_id, card_id, block_type, block_sealed FROM cms_pins \
                     WHERE issuer_id > $1 OR (issuer_id = $2 AND card_id > $3) ORDER BY issuer_id, card_id LIMIT $4",
                )
                .bind(&after.0)
                .bind(&after.0)
                .bind(&after.1)
                .bind(RESEAL_PAGE)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        Ok((r.text("issuer_id")?, r.text("card_id")?, r.text("block_type")?, r.bytes("block_sealed")?))
                    })
                    .collect::<Result<Vec<_>, StoreError>>()
            })?;
            let full = rows.len() as i64 == RESEAL_PAGE;
            for (issuer, card, block_type, sealed) in rows {
                let parsed = (IssuerId::parse(&issuer), CardId::parse(&card), PinBlockType::parse(&block_type));
                let resealed = match parsed {
                    (Ok(i), Ok(c), Some(t)) => keys.kek.reseal(&row_aad(&i, &c, t), &sealed).ok(),
                    _ => None,
                };
                match resealed {
                    None => report.unreadable += 1,
                    Some(None) => report.current += 1,
                    Some(Some(new)) => {
                        let written = with_pool!(&self.db, write, |pool| {
                            sqlx::query(
                                "UPDATE cms_pins SET block_sealed = $1 \
                                 WHERE issuer_id = $2 AND card_id = $3 AND block_sealed = $4",
                            )
                            .bind(&new)
                            .bind(&issuer)
                            .bind(&card)
                            .bind(&sealed)
                            .execute(pool)
                            .await
                            .map(|done| done.rows_affected())
                        })?;
                        if written == 1 {
                            report.moved += 1;
                        } else {
                            report.raced += 1;
                        }
                    }
                }
                after = (issuer, card);
            }
            if !full {
                return Ok(report);
            }
        }
    }
}

#[async_trait]
impl PinManagement for EmbeddedCms {
    async fn ready(&self) -> Result<(), CmsError> {
        Ok(self.ping().await?)
    }

    async fn encryption_key(&self, _: &CorrelationId) -> Result<PublicJwk, CmsError> {
        Ok(self.keys.get().key.active(SystemClock.now()).public().clone())
    }

    async fn get_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        _: &CorrelationId,
    ) -> Result<EncryptedPinBlock, CmsError> {
        let keys = self.keys.get();
        let recipient = keys
            .recipient
            .as_ref()
            .ok_or_else(|| CmsError::Misconfigured("no recipient key: start the CMS with --recipient-jwk".into()))?
            .active(SystemClock.now());
        let (block_type, sealed) = with_pool!(&self.db, read, |pool| {
            let row =
                sqlx::query("SELECT block_type, block_sealed FROM cms_pins WHERE issuer_id = $1 AND card_id = $2")
                    .bind(issuer.as_str())
                    .bind(card.as_str())
                    .fetch_optional(pool)
                    .await?
                    .ok_or(CmsError::NotFound)?;
            Ok::<_, CmsError>((row.text("block_type")?, row.bytes("block_sealed")?))
        })?;
        let block_type =
            PinBlockType::parse(&block_type).ok_or_else(|| unavailable("stored block type does not parse"))?;
        let block = keys
            .kek
            .open(&row_aad(issuer, card, block_type), &sealed)
            .map_err(|_| unavailable("stored PIN block does not open under the key-encryption key"))?;
        let json = PinBlockJson { format: block_type.as_str().to_owned(), pin_block: hex_encode(&block) };
        let plaintext = Zeroizing::new(serde_json::to_vec(&json).map_err(unavailable)?);
        Ok(EncryptedPinBlock { block_type, jwe: jwe::encrypt(recipient, &plaintext, &mut OsRng) })
    }

    async fn set_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        block: &EncryptedPinBlock,
        _: &CorrelationId,
    ) -> Result<(), CmsError> {
        let sealed = self.seal_block(issuer, card, block)?;
        // One statement writes the block and moves the counter: neither can land without the other.
        self.write_block(
            issuer,
            card,
            block.block_type,
            &sealed,
            "DO UPDATE SET \
             block_type = excluded.block_type, block_sealed = excluded.block_sealed, \
             change_counter = cms_pins.change_counter + 1, updated_at = excluded.updated_at",
        )
        .await
        .map(drop)
    }

    async fn set_first_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        block: &EncryptedPinBlock,
        _: &CorrelationId,
    ) -> Result<bool, CmsError> {
        let sealed = self.seal_block(issuer, card, block)?;
        Ok(self.write_block(issuer, card, block.block_type, &sealed, "DO NOTHING").await? == 1)
    }

    async fn change_counter(&self, issuer: &IssuerId, card: &CardId, _: &CorrelationId) -> Result<u64, CmsError> {
        let counter = with_pool!(&self.db, read, |pool| {
            let row = sqlx::query("SELECT change_counter FROM cms_pins WHERE issuer_id = $1 AND card_id = $2")
                .bind(issuer.as_str())
                .bind(card.as_str())
                .fetch_optional(pool)
                .await?
                .ok_or(CmsError::NotFound)?;
            row.int("change_counter")
        })?;
        u64::try_from(counter).map_err(|_| unavailable("negative change counter"))
    }
}

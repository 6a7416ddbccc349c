//! The reference CMS, in process: PIN blocks sealed with AES-256-GCM under a key-encryption key, in
//! its own SQLite database or its own PostgreSQL schema, behind [`PinManagement`].

use std::path::Path;

use async_trait::async_trait;
use pinframe_core::pinblock::{hex_decode, hex_encode};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, CardId, CorrelationId, IssuerId, PrivateJwk, PublicJwk};
use pinframe_protocol::d1::{PinBlockJson, PinBlockType, MAX_ENCRYPTED_PIN_BLOCK_LEN};
use pinframe_server::clock::{Clock, SystemClock};
use pinframe_server::db::{Db, DbConfig, Migrations, SqlRow, StoreError};
use pinframe_server::keys::Sealer;
use pinframe_server::with_pool;
use zeroize::Zeroizing;

use crate::pin_management::{CmsError, EncryptedPinBlock, PinManagement};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// The PostgreSQL schema of the CMS's tables and their migration history.
pub const SCHEMA: &str = "pinframe_cms";

/// The file of the CMS's tables in its data directory, on SQLite.
pub const SQLITE_FILE: &str = "cms.db";

pub struct EmbeddedCms {
    db: Db,
    kek: Sealer,
    /// The CMS's own key: `set_pin` blocks are encrypted to it.
    key: PrivateJwk,
    /// The service's key: `get_pin` blocks are encrypted to it. A standalone CMS started without
    /// `--recipient-jwk` has none and cannot answer `get_pin`.
    recipient: Option<PublicJwk>,
}

impl std::fmt::Debug for EmbeddedCms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedCms").field("kid", &self.key.kid()).finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> CmsError {
    CmsError::Unavailable(e.to_string())
}

fn row_aad(issuer: &IssuerId, card: &CardId, block_type: PinBlockType) -> Vec<u8> {
    format!("pinframe-cms-pin-v1|{}|{}|{}", issuer.as_str(), card.as_str(), block_type.as_str()).into_bytes()
}

impl EmbeddedCms {
    /// Opens the CMS's tables (`DIR/cms.db`, or the `pinframe_cms` schema on PostgreSQL); `kek`
    /// seals blocks at rest, `key` is the CMS's own decryption key and `recipient` the service key
    /// that blocks read from the CMS are encrypted to.
    pub async fn open(
        config: &DbConfig,
        dir: &Path,
        kek: &[u8; 32],
        key: PrivateJwk,
        recipient: Option<PublicJwk>,
    ) -> Result<Self, StoreError> {
        let migrations = Migrations { sqlite: &SQLITE, postgres: &POSTGRES };
        let db = Db::open(config, &dir.join(SQLITE_FILE), SCHEMA, migrations).await?;
        Ok(Self { db, kek: Sealer::new(kek), key, recipient })
    }

    /// Whether the CMS's database answers now: the readiness check.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.db.ping().await
    }
}

impl EmbeddedCms {
    /// Checks a block encrypted to the CMS key and seals it under the KEK, bound to its row.
    fn seal_block(&self, issuer: &IssuerId, card: &CardId, block: &EncryptedPinBlock) -> Result<Vec<u8>, CmsError> {
        if block.jwe.len() > MAX_ENCRYPTED_PIN_BLOCK_LEN {
            return Err(CmsError::Rejected("encryptedPinBlock is longer than 8192 characters"));
        }
        let plaintext = jwe::decrypt(&self.key, &block.jwe)
            .map_err(|_| CmsError::Rejected("encryptedPinBlock does not decrypt with the CMS key"))?;
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
        Ok(self.kek.seal(&row_aad(issuer, card, block.block_type), &bytes))
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

#[async_trait]
impl PinManagement for EmbeddedCms {
    async fn ready(&self) -> Result<(), CmsError> {
        Ok(self.ping().await?)
    }

    async fn encryption_key(&self, _: &CorrelationId) -> Result<PublicJwk, CmsError> {
        Ok(self.key.public().clone())
    }

    async fn get_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        _: &CorrelationId,
    ) -> Result<EncryptedPinBlock, CmsError> {
        let recipient = self
            .recipient
            .as_ref()
            .ok_or_else(|| CmsError::Misconfigured("no recipient key: start the CMS with --recipient-jwk".into()))?;
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
        let block = self
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

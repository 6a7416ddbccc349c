//! The `Store` trait and the records it reads and writes. Origins are `Origin`s, actions `Action`s;
//! a token is stored only as the SHA-256 of its text, a PAN only sealed.

use std::fmt;

use async_trait::async_trait;
use pinframe_core::{CardId, ConsumerId, IssuerId, PinPolicy};
use pinframe_protocol::{Action, Origin};
pub use pinframe_server::db::StoreError;

/// An issuer as stored: its client id and the PHC string of its client secret's hash.
pub struct IssuerRecord {
    pub id: IssuerId,
    pub client_id: String,
    pub secret_hash: String,
    pub policy: PinPolicy,
}

impl fmt::Debug for IssuerRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerRecord")
            .field("id", &self.id)
            .field("client_id", &self.client_id)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// A registered card. The PAN is sealed under the service's data key, bound to issuer and card.
#[derive(Debug)]
pub struct CardRecord {
    pub consumer: ConsumerId,
    pub pan_sealed: Vec<u8>,
}

/// A PIN-control token as stored: only the SHA-256 of the token, never the token.
#[derive(Clone, Debug)]
pub struct TokenRecord {
    pub hash: [u8; 32],
    pub issuer: IssuerId,
    pub card: CardId,
    pub action: Action,
    pub parent_origin: Option<Origin>,
    pub language: Option<String>,
    /// Seconds after which the widget hides a revealed PIN; `None` for the widget's default.
    pub hide_after_seconds: Option<u32>,
    /// Whether the widget offers to copy the PIN.
    pub allow_copy: bool,
    pub created_at: i64,
    pub expires_at: i64,
    pub used: bool,
    /// Refused set-PIN attempts so far.
    pub attempts: u32,
}

/// A token just claimed by [`Store::claim_token`], with its card's sealed PAN (`None` when the card
/// is no longer registered).
#[derive(Debug)]
pub struct ClaimedToken {
    pub issuer: IssuerId,
    pub card: CardId,
    pub pan_sealed: Option<Vec<u8>>,
}

#[async_trait]
pub trait Store: Send + Sync + fmt::Debug {
    /// Whether the database answers now: the readiness check.
    async fn ping(&self) -> Result<(), StoreError>;
    /// Creates the issuer, or replaces its client id and secret hash.
    async fn put_issuer(&self, id: &IssuerId, client_id: &str, secret_hash: &str, now: i64) -> Result<(), StoreError>;
    async fn issuer(&self, id: &IssuerId) -> Result<Option<IssuerRecord>, StoreError>;
    async fn issuer_by_client_id(&self, client_id: &str) -> Result<Option<IssuerRecord>, StoreError>;
    async fn issuers(&self) -> Result<Vec<IssuerRecord>, StoreError>;
    async fn set_policy(&self, id: &IssuerId, policy: &PinPolicy) -> Result<(), StoreError>;
    /// Adds an origin (idempotent).
    async fn add_origin(&self, issuer: &IssuerId, origin: &Origin) -> Result<(), StoreError>;
    async fn origins(&self, issuer: &IssuerId) -> Result<Vec<Origin>, StoreError>;
    async fn put_consumer(&self, issuer: &IssuerId, consumer: &ConsumerId, now: i64) -> Result<(), StoreError>;
    /// Registers a card to a registered consumer, or replaces its consumer and PAN.
    async fn put_card(
        &self,
        issuer: &IssuerId,
        consumer: &ConsumerId,
        card: &CardId,
        pan_sealed: &[u8],
        now: i64,
    ) -> Result<(), StoreError>;
    /// Registers the consumer (if new) and all `cards` to it, in one transaction: either every card
    /// lands or none does. A card already registered to another consumer of the issuer moves.
    async fn register_cards(
        &self,
        issuer: &IssuerId,
        consumer: &ConsumerId,
        cards: &[(CardId, Vec<u8>)],
        now: i64,
    ) -> Result<(), StoreError>;
    async fn card(&self, issuer: &IssuerId, card: &CardId) -> Result<Option<CardRecord>, StoreError>;
    async fn insert_token(&self, token: &TokenRecord) -> Result<(), StoreError>;
    async fn token(&self, hash: &[u8; 32]) -> Result<Option<TokenRecord>, StoreError>;
    /// Marks the token used if it is unused and unexpired at `now`. Exactly one of any number of
    /// concurrent callers gets `true`, on one node or many sharing the database.
    async fn consume_token(&self, hash: &[u8; 32], now: i64) -> Result<bool, StoreError>;
    /// Claims the token as [`Store::consume_token`] does, if it is also for `action`, and returns in
    /// the same statement what the claiming request needs: the token's issuer and card and the
    /// card's sealed PAN. `None` when it was not claimed (unknown, used, expired, another action, or
    /// a concurrent claim won).
    async fn claim_token(&self, hash: &[u8; 32], action: Action, now: i64) -> Result<Option<ClaimedToken>, StoreError>;
    /// Gives back a token consumed by a request that then failed on our side, so that the cardholder
    /// can try again.
    async fn release_token(&self, hash: &[u8; 32]) -> Result<(), StoreError>;
    /// Counts a refused attempt against an unused, unexpired token; the attempt that reaches
    /// `max_attempts` uses it up. Returns the attempt's number, or `None` when the token was not
    /// counted because it was already used up or expired (so that of any number of concurrent
    /// refusals exactly `max_attempts` are counted).
    async fn refuse_attempt(&self, hash: &[u8; 32], max_attempts: u32, now: i64) -> Result<Option<u32>, StoreError>;
    /// Deletes tokens that expired before `before`; returns how many.
    async fn purge_tokens(&self, before: i64) -> Result<u64, StoreError>;

    /// Replaces the issuer's theme (already checked) with `css`, whose version is `version`.
    async fn put_theme(&self, issuer: &IssuerId, version: &str, css: &str, now: i64) -> Result<(), StoreError>;
    /// The issuer's theme: its version and CSS.
    async fn theme(&self, issuer: &IssuerId) -> Result<Option<ThemeRecord>, StoreError>;
    /// Removes the issuer's theme; returns whether there was one.
    async fn delete_theme(&self, issuer: &IssuerId) -> Result<bool, StoreError>;
    /// Stores (or replaces) a font file the issuer's theme may use.
    async fn put_font(&self, issuer: &IssuerId, name: &str, data: &[u8], now: i64) -> Result<(), StoreError>;
    async fn font(&self, issuer: &IssuerId, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
}

/// An issuer's theme as stored: only CSS that `theme::sanitize` produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThemeRecord {
    pub version: String,
    pub css: String,
}

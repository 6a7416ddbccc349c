//! The issuer's card management system as the service sees it: the three operations of the D1 PIN
//! Management API (get PIN, set PIN, PIN change counter). The embedded reference CMS implements it
//! in process; a remote CMS over HTTP implements the same trait.
//!
//! PIN blocks cross this boundary only as JWEs: `get_pin` returns a block encrypted to the service's
//! key, `set_pin` takes a block encrypted to the CMS's key, as on the D1 hop.

use std::fmt;

use async_trait::async_trait;
use pinframe_core::{CardId, CorrelationId, IssuerId, PublicJwk};
use pinframe_protocol::d1::PinBlockType;
use pinframe_server::db::StoreError;
use pinframe_server::error::AppError;

/// A PIN block in transit: its type and the compact JWE of its JSON (`{"format":..,"pinBlock":..}`).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptedPinBlock {
    pub block_type: PinBlockType,
    pub jwe: String,
}

impl fmt::Debug for EncryptedPinBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptedPinBlock").field("block_type", &self.block_type).finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub enum CmsError {
    /// The CMS has no PIN for this card.
    NotFound,
    /// The CMS refused the request (a block it cannot decrypt or parse, for instance).
    Rejected(&'static str),
    /// The CMS refused our credentials, or has no key to encrypt to: a configuration error.
    Misconfigured(String),
    /// The CMS could not be reached or failed; the detail is for the log.
    Unavailable(String),
    /// The embedded CMS's database failed (out of reach, or otherwise).
    Storage(StoreError),
}

impl From<StoreError> for CmsError {
    fn from(error: StoreError) -> Self {
        Self::Storage(error)
    }
}

impl From<sqlx::Error> for CmsError {
    fn from(error: sqlx::Error) -> Self {
        Self::Storage(error.into())
    }
}

impl fmt::Display for CmsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotFound => f.write_str("CMS: no PIN for this card"),
            Self::Rejected(why) => write!(f, "CMS rejected the request: {why}"),
            Self::Misconfigured(why) => write!(f, "CMS configuration: {why}"),
            Self::Unavailable(why) => write!(f, "CMS unavailable: {why}"),
            Self::Storage(e) => write!(f, "CMS {e}"),
        }
    }
}

impl std::error::Error for CmsError {}

/// How a PIN service answers its client when the CMS fails: 404 when the CMS has no PIN for the
/// card, else 503 `cms_unavailable` with the detail in the log. (The CMS's own HTTP API answers
/// differently: `server::D1Error`.)
impl From<CmsError> for AppError {
    fn from(error: CmsError) -> Self {
        match error {
            CmsError::NotFound => {
                AppError::NotFound { message: "The card management system has no PIN for this card." }
            }
            other => AppError::Unavailable {
                code: "cms_unavailable",
                message: "The card management system is not available. Please try again later.",
                detail: other.to_string(),
            },
        }
    }
}

#[async_trait]
pub trait PinManagement: Send + Sync + fmt::Debug {
    /// Whether the CMS answers now (its database, or its `/readyz` over HTTP): the service's
    /// readiness check.
    async fn ready(&self) -> Result<(), CmsError>;

    /// The key `set_pin` blocks must be encrypted to.
    async fn encryption_key(&self, correlation: &CorrelationId) -> Result<PublicJwk, CmsError>;

    /// `GET …/cards/{cardId}/pin`: the card's PIN block, encrypted to the service's key.
    async fn get_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        correlation: &CorrelationId,
    ) -> Result<EncryptedPinBlock, CmsError>;

    /// `PUT …/cards/{cardId}/pin`: stores the block and raises the change counter by one, atomically.
    async fn set_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        block: &EncryptedPinBlock,
        correlation: &CorrelationId,
    ) -> Result<(), CmsError>;

    /// Stores the block only if the card has no PIN yet (the demo's seed, which every replica runs
    /// at start). Returns whether it was stored. Over the D1 API this is a read, then a write; the
    /// embedded CMS does it in one statement, so of replicas seeding at once exactly one writes.
    async fn set_first_pin(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        block: &EncryptedPinBlock,
        correlation: &CorrelationId,
    ) -> Result<bool, CmsError> {
        match self.change_counter(issuer, card, correlation).await {
            Ok(_) => Ok(false),
            Err(CmsError::NotFound) => self.set_pin(issuer, card, block, correlation).await.map(|()| true),
            Err(other) => Err(other),
        }
    }

    /// `GET …/cards/{cardId}/pin/changeCounter`.
    async fn change_counter(
        &self,
        issuer: &IssuerId,
        card: &CardId,
        correlation: &CorrelationId,
    ) -> Result<u64, CmsError>;
}

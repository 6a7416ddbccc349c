//! The service's storage, behind one small trait ([`Store`], in [`model`]): issuers, their origins,
//! consumers, cards (PAN sealed), PIN-control tokens (hashed) and themes. [`sql`] implements it on
//! SQLite (the embedded default) and on PostgreSQL (several replicas sharing one database) with
//! the same statements. [`rekey`] holds the queries of `pinframe keys retire`.

pub mod model;
pub mod rekey;
pub mod sql;

pub use model::{CardRecord, ClaimedToken, IssuerRecord, Store, StoreError, ThemeRecord, TokenRecord};
pub use rekey::SealedPan;
pub use sql::SqlStore;

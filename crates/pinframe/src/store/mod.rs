//! The service's storage, behind one small trait ([`Store`], in [`model`]): issuers, their origins,
//! consumers, cards (PAN sealed), PIN-control tokens (hashed) and themes. SQLite implements it today
//! ([`sqlite`]); the SQL is portable so that a PostgreSQL implementation for multi-node deployments
//! is a second impl, not a rewrite.

pub mod model;
pub mod sqlite;

pub use model::{CardRecord, IssuerRecord, Store, StoreError, ThemeRecord, TokenRecord};
pub use sqlite::SqliteStore;

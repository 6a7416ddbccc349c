//! The reference card management system: the issuer side of the D1 PIN Management API.
//!
//! - [`pin_management`]: the [`PinManagement`] trait through which the PIN service talks to any
//!   CMS (this one in process, or an issuer's over HTTP), and its errors.
//! - [`embedded`]: [`EmbeddedCms`], PIN blocks sealed under a key-encryption key in SQLite.
//! - [`keys`]: the CMS's key files and [`CmsKeys`], with the previous keys a rotation kept.
//! - [`server`]: the D1 PIN Management API over HTTP in front of an `EmbeddedCms`.
//! - [`start`]: `pinframe cms`: its arguments, data directory and keys, and serving until a signal.
//!
//! This crate depends on `pinframe-server` (what both servers share), never on the PIN service.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod embedded;
pub mod keys;
pub mod pin_management;
pub mod server;
pub mod start;

pub use embedded::EmbeddedCms;
pub use keys::CmsKeys;
pub use pin_management::{CmsError, EncryptedPinBlock, PinManagement};
pub use start::CmsArgs;

//! pinframe's crypto and format core, shared by the widget (wasm32) and the service (native).
//!
//! Everything here is pure computation: no I/O, no clock, no global randomness. Functions that need
//! randomness take a [`rand_core::CryptoRngCore`] so that the browser can feed `crypto.getRandomValues`
//! and the server the operating system's generator.
//!
//! - [`jwk`]: P-256 JSON Web Keys (RFC 7517/7518) and their RFC 7638 thumbprints.
//! - [`jwe`]: JWE compact serialization (RFC 7516), `ECDH-ES` + `A256GCM` only.
//! - [`kdf`]: the Concat KDF of RFC 7518 §4.6 (NIST SP 800-56A).
//! - [`pinblock`]: ISO 9564-1:2017 PIN blocks, formats 0, 1, 3 and 4.
//! - [`policy`]: the PIN policy both the widget and the service apply to a new PIN.
//! - [`pin`], [`ids`]: types that cannot hold a bad PIN, PAN or identifier.
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

extern crate alloc;

mod b64;
pub mod error;
pub mod ids;
pub mod jwe;
pub mod jwk;
pub mod kdf;
pub mod pin;
pub mod pinblock;
pub mod policy;

pub use error::{FormatError, JweError};
pub use ids::{CardId, ConsumerId, CorrelationId, IssuerId};
pub use jwk::{PrivateJwk, PublicJwk};
pub use pin::{Pan, Pin};
pub use pinblock::{PinBlockFormat, PinBlockKey};
pub use policy::{PinPolicy, Violation};

pub use rand_core;

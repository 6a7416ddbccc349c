//! What pinframe's two servers share: the PIN service (`pinframe serve`) and the reference CMS
//! (`pinframe cms`) each build on this crate, and neither depends on the other.
//!
//! - [`error`]: `AppError`, the one error every handler returns, its JSON body and its
//!   `WWW-Authenticate` challenges; `ApiJson`, the JSON extractor whose rejections are `AppError`s.
//! - [`middleware`]: correlation ids, the headers every response carries, one log line per request.
//! - [`credentials`]: HTTP Basic credentials and client secrets (Argon2id).
//! - [`oauth`]: the client credentials grant and the ES256 access tokens it issues and verifies.
//! - [`jwks`]: public keys as a JWKS publishes them.
//! - [`keys`]: key files at rest and the AES-256-GCM sealing of stored values.
//! - [`keyring`]: a current and a previous key of each kind during a rotation, and the swappable
//!   set a running server reloads on SIGHUP.
//! - [`rotation`]: `keys rotate` and `keys retire` on disk: previous key files and the rotation
//!   record.
//! - [`db`]: the database (SQLite files or PostgreSQL schemas), one query text for both, and the
//!   storage error.
//! - [`config`]: the database and key-file options both servers take.
//! - [`readiness`]: `GET /readyz`, ready while the database answers.
//! - [`reload`]: re-reading the key files on SIGHUP.
//! - [`clock`]: the injectable clock.
//! - [`startup`]: binding a listener, data directories, operator output, the signals that stop a server.
//! - [`listener`]: the connection loop: read timeouts, the connection cap, draining on shutdown
//!   ([`timeouts`]: the per-request pieces; [`lifecycle`]: serving or draining).
//! - [`client`]: the client's address, through trusted proxies.
//! - [`throttle`]: rate limits on failed authentications and on PIN-control tokens.
//! - [`telemetry`]: `/metrics` in the Prometheus text format.
//! - [`ops`]: the options and state of all of the above, as both servers take them.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod client;
pub mod clock;
pub mod config;
pub mod credentials;
pub mod db;
pub mod error;
pub mod hsm;
pub mod jwks;
pub mod keyring;
pub mod keys;
pub mod keystore;
pub mod lifecycle;
pub mod listener;
pub mod middleware;
pub mod oauth;
pub mod ops;
pub mod readiness;
pub mod reload;
pub mod rotation;
pub mod rotation_store;
pub mod startup;
pub mod telemetry;
pub mod throttle;
pub mod timeouts;

/// The metrics macros, for the crates built on this one (one version of the recorder's facade).
pub use metrics;

//! The `pinframe` binary's library: the service (`serve`), the embedded reference CMS, and the
//! command line's offline tools. `main.rs` only parses arguments and hands over.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod admin;
pub mod auth;
pub mod cli;
pub mod cms;
pub mod demo;
pub mod error;
pub mod http;
pub mod oauth;
pub mod origin;
pub mod pins;
pub mod secrets;
pub mod server;
pub mod state;
pub mod store;
pub mod theme;

pub use http::app;
pub use state::AppState;

/// Structured logs on stderr, one JSON object per line. `PINFRAME_LOG` filters them (default
/// `info`); sqlx's statement logs stay off below `warn`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINFRAME_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

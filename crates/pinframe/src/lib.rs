//! The `pinframe` binary's library: the PIN service (`serve`), provisioning (`issuer`), the demo,
//! and the command line's offline tools. `main.rs` only parses arguments and hands over. The
//! reference CMS is `pinframe-cms`; what this service shares with it is `pinframe-server`; every
//! wire shape is `pinframe-protocol`'s.
#![forbid(unsafe_code)]
#![cfg_attr(not(test), warn(clippy::unwrap_used))]

pub mod admin;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod demo;
pub mod docs_site;
pub mod http;
pub mod keys;
pub mod locale_assets;
pub mod pins;
pub mod reload;
pub mod remote_cms;
pub mod rotate;
pub mod server;
pub mod state;
pub mod store;
pub mod theme;
pub mod token;
pub mod widget_assets;

pub use http::app;
pub use state::AppState;

/// Structured logs on stderr, one JSON object per line. `PINFRAME_LOG` filters them (default
/// `info`); sqlx's statement logs stay off below `warn`.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("PINFRAME_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}

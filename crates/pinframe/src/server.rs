//! `pinframe serve`: opens the data directory (keys, service database, embedded CMS), seeds the
//! demo if asked, and serves until Ctrl-C or SIGTERM.

use std::fs;
use std::io::Write;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use zeroize::Zeroizing;

use crate::cli::ServeArgs;
use crate::cms::EmbeddedCms;
use crate::demo;
use crate::http::{app, widget::WidgetAssets};
use crate::origin;
use crate::secrets::{self, Sealer};
use crate::state::{AppState, Config, ServiceKeys, SystemClock};
use crate::store::SqliteStore;

/// A reason the service could not start, printed as one line.
pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// The key-encryption key of the embedded CMS: `PINFRAME_CMS_KEK` (64 hex digits) if set, else a
/// key file generated in the CMS's data directory.
fn cms_kek(dir: &Path) -> Result<Zeroizing<[u8; 32]>, StartupError> {
    match std::env::var("PINFRAME_CMS_KEK") {
        Ok(hex) => {
            let hex = Zeroizing::new(hex);
            secrets::parse_key256(hex.trim()).ok_or_else(|| "PINFRAME_CMS_KEK must be 64 hexadecimal digits".into())
        }
        Err(_) => Ok(secrets::load_or_create_key256(&dir.join("kek.hex"))?),
    }
}

pub(crate) fn private_dir(path: &Path) -> Result<(), StartupError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(|e| format!("data directory {}: {e}", path.display()).into())
}

/// Builds the state for a data directory. `listen_origins` are the origins the demo registers.
pub async fn open_state(args: &ServeArgs, public_url: String) -> Result<AppState, StartupError> {
    let data = &args.data_dir;
    let cms_dir = data.join("cms");
    private_dir(data)?;
    private_dir(&cms_dir)?;
    let encryption = secrets::load_or_create_jwk(&data.join("service-key.jwk"))?;
    let data_key = secrets::load_or_create_key256(&data.join("data-key.hex"))?;
    let keys = ServiceKeys::new(encryption, Sealer::new(&data_key));
    let cms_key = secrets::load_or_create_jwk(&cms_dir.join("cms-key.jwk"))?;
    let cms =
        EmbeddedCms::open(&cms_dir.join("cms.db"), &*cms_kek(&cms_dir)?, cms_key, keys.encryption.public().clone())
            .await?;
    let store = SqliteStore::open(&data.join("service.db")).await?;
    let widget = WidgetAssets::load(&args.widget_dir)
        .map_err(|e| format!("widget directory {}: {e}", args.widget_dir.display()))?;
    if !widget.is_built() {
        tracing::warn!(dir = %args.widget_dir.display(), "the widget is not built: PIN pages answer 503 until `make widget` runs");
    }
    Ok(AppState {
        store: Arc::new(store),
        cms: Arc::new(cms),
        keys: Arc::new(keys),
        widget: Arc::new(widget),
        config: Arc::new(Config { public_url, token_ttl: i64::from(args.token_ttl), demo: args.demo }),
        clock: Arc::new(SystemClock),
    })
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

pub async fn serve(args: ServeArgs) -> Result<(), StartupError> {
    let listener =
        TcpListener::bind(args.listen).await.map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    let public_url = match &args.public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{local}"),
    };
    let state = open_state(&args, public_url.clone()).await?;

    if args.demo {
        if !local.ip().is_loopback() {
            tracing::warn!("--demo on a non-loopback address: anyone who reaches /demo/ can view the demo card's PIN");
        }
        let mut origins: Vec<String> =
            vec![format!("http://127.0.0.1:{}", local.port()), format!("http://localhost:{}", local.port())];
        if let Some(public) = origin::normalize(&public_url).filter(|o| !origins.contains(o)) {
            origins.push(public);
        }
        demo::seed(&state, &origins).await.map_err(|e| format!("seeding the demo failed: {e:?}"))?;
        say(&format!(
            "demo issuer {} (client {} / {}), consumer {}, card {} (PAN {}, PIN {})",
            demo::ISSUER,
            demo::CLIENT_ID,
            demo::CLIENT_SECRET,
            demo::CONSUMER,
            demo::CARD,
            demo::PAN,
            demo::PIN
        ));
        say(&format!("demo origins: {}", origins.join(" ")));
        say(&format!("demo: open {public_url}/demo/"));
    }
    say(&format!("pinframe listening on http://{local}"));

    let store = state.store.clone();
    let clock = state.clock.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            // Keep used and expired tokens for an hour, for troubleshooting; then forget them.
            if let Err(e) = store.purge_tokens(clock.now() - 3600).await {
                tracing::warn!(error = %e, "purging expired tokens failed");
            }
        }
    });

    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown()).await?;
    tracing::info!("pinframe stopped");
    Ok(())
}

async fn shutdown() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! { () = ctrl_c => {}, () = term => {} }
}

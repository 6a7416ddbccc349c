//! `pinframe serve`: opens the data directory (keys, service database, embedded CMS), seeds the
//! demo if asked, and serves until Ctrl-C or SIGTERM, re-reading its key files on SIGHUP.

use std::fs;
use std::sync::Arc;
use std::time::Duration;

use pinframe_cms::{CmsKeys, EmbeddedCms, PinManagement};
use pinframe_core::PublicJwk;
use pinframe_protocol::Origin;
use pinframe_server::clock::SystemClock;
use pinframe_server::config::KeyFiles;
use pinframe_server::keys as key_files;
use pinframe_server::oauth::JwtAuthority;
use pinframe_server::ops::Ops;
use pinframe_server::startup::{bind, private_dir, say, StartupError};
use zeroize::Zeroizing;

use crate::audit::Audit;
use crate::cli::ServeArgs;
use crate::demo;
use crate::docs_site::{DocsError, DocsSite};
use crate::http::{app, register};
use crate::keys::{load_keys, CMS_DIR};
use crate::remote_cms::RemoteCms;
use crate::state::{AppState, Config, KeySource, ServiceKeys};
use crate::store::SqlStore;
use crate::widget_assets::WidgetAssets;

/// The client of a CMS over HTTP, from `--cms-url` and its credentials.
fn remote_cms(args: &ServeArgs, url: &str) -> Result<RemoteCms, StartupError> {
    let secret = match (&args.cms_client_secret_file, std::env::var("PINFRAME_CMS_CLIENT_SECRET")) {
        (Some(path), _) => key_files::read_secret(path)?
            .ok_or_else(|| format!("--cms-client-secret-file {}: no such file", path.display()))?,
        (None, Ok(secret)) if !secret.is_empty() => Zeroizing::new(secret),
        _ => {
            return Err(
                "--cms-url needs the client secret: PINFRAME_CMS_CLIENT_SECRET or --cms-client-secret-file".into()
            )
        }
    };
    let pinned = match &args.cms_jwk {
        Some(path) => {
            let text = fs::read_to_string(path).map_err(|e| format!("--cms-jwk {}: {e}", path.display()))?;
            Some(PublicJwk::parse(&text).map_err(|e| format!("--cms-jwk {}: {e}", path.display()))?)
        }
        None => None,
    };
    Ok(RemoteCms::new(url, args.cms_client_id.clone(), secret, pinned)?)
}

/// The book of `--docs-dir`, or none (logged once, with the reason); a book that cannot be served
/// as it is (too large, unreadable) is a start error.
fn load_docs(args: &ServeArgs) -> Result<DocsSite, StartupError> {
    let Some(dir) = &args.docs_dir else {
        tracing::info!("the book is not served at /docs/: no --docs-dir");
        return Ok(DocsSite::default());
    };
    match DocsSite::load(dir) {
        Ok(site) => {
            let (files, bytes) = site.summary();
            tracing::info!(dir = %dir.display(), files, bytes, "serving the book at /docs/");
            Ok(site)
        }
        Err(DocsError::NotBuilt(why)) => {
            tracing::warn!(dir = %dir.display(), "the book is not served at /docs/: {why}");
            Ok(DocsSite::default())
        }
        Err(DocsError::Unusable(why)) => Err(why.into()),
    }
}

/// Builds the state for a data directory. `listen_origins` are the origins the demo registers.
pub async fn open_state(args: &ServeArgs, public_url: String) -> Result<AppState, StartupError> {
    let data = &args.data_dir;
    let cms_dir = data.join(CMS_DIR);
    let database = args.database.config()?;
    private_dir(data)?;
    if args.cms_url.is_none() {
        private_dir(&cms_dir)?;
    }
    let init = format!("pinframe keys init --data-dir {}", data.display());
    let hsm = args.key_store.open()?;
    let files = KeyFiles::for_database(&database, &init).in_store(hsm.as_ref());
    let loaded = load_keys(data, files)?;
    let (audience, scope, ttl) = (register::AUDIENCE, register::SCOPE, register::ACCESS_TOKEN_TTL);
    let jwt = JwtAuthority::with_keys(loaded.signing, public_url.clone(), audience, scope, ttl)?;
    let (cms, embedded_cms): (Arc<dyn PinManagement>, _) = match &args.cms_url {
        Some(url) => (Arc::new(remote_cms(args, url)?), None),
        None => {
            let cms_keys = CmsKeys::load(&cms_dir, files, Some(loaded.encryption.public()))?;
            let embedded = Arc::new(EmbeddedCms::open(&database, &cms_dir, cms_keys).await?);
            (embedded.clone(), Some(embedded))
        }
    };
    let source = KeySource { data_dir: data.clone(), embedded_cms, hsm };
    let keys = ServiceKeys::new(loaded.encryption, loaded.data, Some(source));
    let store = SqlStore::open(&database, data).await?;
    let audit = Audit::new(store.db().clone(), loaded.audit, args.audit.replica()?);
    let widget = WidgetAssets::load(&args.widget_dir)
        .map_err(|e| format!("widget directory {}: {e}", args.widget_dir.display()))?;
    if !widget.is_built() {
        tracing::warn!(dir = %args.widget_dir.display(), "the widget is not built: PIN pages answer 503 until `make widget` runs");
    }
    let docs = load_docs(args)?;
    let state = AppState {
        store: Arc::new(store),
        cms,
        keys: Arc::new(keys),
        jwt: Arc::new(jwt),
        widget: Arc::new(widget),
        docs: Arc::new(docs),
        config: Arc::new(Config { public_url, token_ttl: i64::from(args.token_ttl), demo: args.demo }),
        clock: Arc::new(SystemClock),
        ops: Arc::new(Ops::new(&args.ops)),
        audit: Arc::new(audit),
    };
    state.audit.keys_in_use(state.key_summary(), state.clock.now());
    Ok(state)
}

pub async fn serve(args: ServeArgs) -> Result<(), StartupError> {
    let (listener, local, public_url) = bind(args.listen, args.public_url.as_deref()).await?;
    let state = open_state(&args, public_url.clone()).await?;

    if args.demo {
        if !local.ip().is_loopback() {
            tracing::warn!("--demo on a non-loopback address: anyone who reaches /demo/ can view the demo card's PIN");
        }
        let mut origins: Vec<Origin> =
            [format!("http://127.0.0.1:{}", local.port()), format!("http://localhost:{}", local.port())]
                .iter()
                .filter_map(|o| Origin::parse(o))
                .collect();
        if let Some(public) = Origin::parse(&public_url).filter(|o| !origins.contains(o)) {
            origins.push(public);
        }
        match demo::seed(&state, &origins).await {
            Ok(()) => {}
            // A remote CMS may come up later; the demo PIN is then set on first use of "Set a new PIN".
            Err(e) if args.cms_url.is_some() => {
                tracing::warn!(error = ?e, "seeding the demo PIN in the remote CMS failed");
            }
            Err(e) => return Err(format!("seeding the demo failed: {e:?}").into()),
        }
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
        let listed: Vec<&str> = origins.iter().map(Origin::as_str).collect();
        say(&format!("demo origins: {}", listed.join(" ")));
        say(&format!("demo: open {public_url}/demo/"));
    }
    crate::reload::reload_on_sighup(&state)?;
    state.ops.start(&args.ops).await?;
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

    state.audit.spawn_tasks(state.clock.clone(), args.audit.audit_retention_days);

    let ops = state.ops.clone();
    ops.serve(listener, app(state), &args.ops).await;
    tracing::info!("pinframe stopped");
    Ok(())
}

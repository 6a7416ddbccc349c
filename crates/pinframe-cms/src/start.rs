//! `pinframe cms`: the reference CMS on its own. Its client's id comes from `--client-id`, its
//! secret from `PINFRAME_CMS_CLIENT_SECRET` or a file generated in the data directory. On SIGHUP it
//! re-reads its key files and `--recipient-jwk` ([`reload_keys`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::Args;
use pinframe_core::{IssuerId, PublicJwk};
use pinframe_server::clock::SystemClock;
use pinframe_server::config::{DatabaseArgs, KeyFiles};
use pinframe_server::credentials;
use pinframe_server::hsm::{EcUsage, Hsm};
use pinframe_server::keyring::Ring;
use pinframe_server::keystore::{EcKey, KeyStoreArgs};
use pinframe_server::oauth::{Grant, JwtAuthority};
use pinframe_server::ops::{Ops, OpsArgs};
use pinframe_server::startup::{bind, private_dir, say, StartupError};
use pinframe_server::{reload, rotation};
use zeroize::Zeroizing;

use crate::embedded::EmbeddedCms;
use crate::keys::CmsKeys;
use crate::server::{app, CmsClient, CmsState, ACCESS_TOKEN_TTL, AUDIENCE, SCOPE};

/// The CMS's key files, named here as before they had a module of their own.
pub use crate::keys::{CLIENT_SECRET_FILE, KEK_FILE, KEY_FILE, SIGNING_KEY_FILE};

/// `pinframe cms`: the reference CMS on its own.
#[derive(Debug, Args)]
pub struct CmsArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub listen: std::net::SocketAddr,
    /// Directory for the CMS's database and key files. The default is the embedded CMS's own
    /// directory inside `serve`'s default data directory, so the same PINs carry over.
    #[arg(long, value_name = "DIR", default_value = "./data/cms")]
    pub data_dir: PathBuf,
    /// The URL the PIN service reaches this CMS at (the `iss` of its tokens; default http://ADDR).
    #[arg(long, value_name = "URL", env = "PINFRAME_CMS_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// The client id of the PIN service. Its secret comes from PINFRAME_CMS_CLIENT_SECRET, or is
    /// generated once into DIR/client-secret.
    #[arg(long, value_name = "ID", default_value = "pinframe-service", env = "PINFRAME_CMS_CLIENT_ID")]
    pub client_id: String,
    /// An issuer the client may act for (repeat for several). Without any, it may act for all.
    #[arg(long = "issuer", value_name = "ISSUERID")]
    pub issuers: Vec<String>,
    /// The PIN service's public encryption JWK (its /.well-known/jwks.json key, or the output of
    /// `pinframe keys public`): PIN blocks read from the CMS are encrypted to it.
    #[arg(long, value_name = "FILE")]
    pub recipient_jwk: Option<PathBuf>,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub key_store: KeyStoreArgs,
}

/// Creates the missing key files of a standalone CMS's data directory (`pinframe keys init
/// --cms`), for replicas that share a database and so must share keys. Returns each file and
/// whether it was created (`false`: it was there and is kept).
pub fn init_keys(dir: &Path, hsm: Option<&Arc<Hsm>>) -> Result<Vec<(PathBuf, bool)>, StartupError> {
    private_dir(dir)?;
    let files = KeyFiles::CreateMissing.in_store(hsm).for_cms();
    let mut done = Vec::new();
    for name in [KEY_FILE, SIGNING_KEY_FILE, KEK_FILE, CLIENT_SECRET_FILE] {
        let path = dir.join(name);
        let shown = match hsm {
            Some(_) if name != CLIENT_SECRET_FILE => PathBuf::from(format!("{} (HSM)", files.label(&path))),
            _ => path.clone(),
        };
        let created = if name == CLIENT_SECRET_FILE || hsm.is_none() {
            !path.exists()
        } else {
            files.existing_jwk(&path)?.is_none() && files.existing_sealer(&path)?.is_none()
        };
        match name {
            KEK_FILE => drop(files.sealer(&path)?),
            CLIENT_SECRET_FILE => drop(files.secret(&path)?),
            SIGNING_KEY_FILE => drop(files.jwk(&path, EcUsage::Sign)?),
            _ => drop(files.jwk(&path, EcUsage::Derive)?),
        }
        done.push((shown, created));
    }
    Ok(done)
}

/// The target of the start-up and shutdown log lines, as they were before the CMS had a crate of its
/// own (a `PINFRAME_LOG` filter on it keeps working).
const LOG_TARGET: &str = "pinframe::cms::server";

/// Builds the CMS's state from its arguments. Returns it and where the client secret lives (when
/// it was not given in the environment), to tell the operator.
pub async fn open_state(args: &CmsArgs, public_url: String) -> Result<(CmsState, Option<PathBuf>), StartupError> {
    let dir = &args.data_dir;
    private_dir(dir)?;
    let database = args.database.config()?;
    let init = format!("pinframe keys init --cms --data-dir {}", dir.display());
    let hsm = args.key_store.open()?;
    let files = KeyFiles::for_database(&database, &init).in_store(hsm.as_ref());
    let keys = CmsKeys::load(dir, files, recipient(args.recipient_jwk.as_deref())?)?;
    let signing = signing_keys(dir, files)?;
    let (secret, secret_file) = match std::env::var("PINFRAME_CMS_CLIENT_SECRET") {
        Ok(secret) if !secret.is_empty() => (Zeroizing::new(secret), None),
        _ => {
            let path = dir.join(CLIENT_SECRET_FILE);
            (files.secret(&path)?, Some(path))
        }
    };
    let grant = if args.issuers.is_empty() {
        Grant::AnyIssuer
    } else {
        let ids = args.issuers.iter().map(|id| IssuerId::parse(id).map_err(|e| format!("--issuer {id}: {e}")));
        Grant::Issuers(ids.collect::<Result<Vec<_>, _>>()?)
    };
    let secret_hash = tokio::task::spawn_blocking(move || credentials::hash_secret(&secret)).await?;
    let client = CmsClient { id: args.client_id.clone(), secret_hash, grant };
    let jwt = JwtAuthority::with_keys(signing, public_url, AUDIENCE, SCOPE, ACCESS_TOKEN_TTL)?;
    let cms = EmbeddedCms::open(&database, dir, keys).await?;
    let mut state = CmsState::new(cms, jwt, client, Arc::new(SystemClock));
    state.ops = Arc::new(Ops::new(&args.ops));
    Ok((state, secret_file))
}

/// The CMS's signing key in `dir`, with the previous one a rotation kept.
fn signing_keys(dir: &Path, files: KeyFiles<'_>) -> Result<Ring<EcKey>, StartupError> {
    let record = rotation::read_record(dir)?;
    Ok(rotation::jwk_ring(dir, SIGNING_KEY_FILE, EcUsage::Sign, files.for_cms(), record.as_ref())?)
}

/// The PIN service's public key from `--recipient-jwk`, if given.
fn recipient(path: Option<&Path>) -> Result<Option<Ring<PublicJwk>>, StartupError> {
    let Some(path) = path else { return Ok(None) };
    let text = std::fs::read_to_string(path).map_err(|e| format!("--recipient-jwk {}: {e}", path.display()))?;
    let key = PublicJwk::parse(&text).map_err(|e| format!("--recipient-jwk {}: {e}", path.display()))?;
    Ok(Some(Ring::single(key)))
}

/// Re-reads a running CMS's key files in `dir` and the service key in `recipient_jwk` (SIGHUP,
/// after `pinframe keys rotate --cms` or `retire --cms`, or a new `--recipient-jwk`), each key with
/// the previous one a rotation kept, and uses them from now on. It never creates a key. Nothing
/// changes unless every file loads; the log names the keys' `kid`s, never a key.
pub fn reload_keys(
    state: &CmsState,
    dir: &Path,
    recipient_jwk: Option<&Path>,
    hsm: Option<&Arc<Hsm>>,
) -> Result<(), StartupError> {
    let init = format!("pinframe keys init --cms --data-dir {}", dir.display());
    let files = KeyFiles::Require { init: &init }.in_store(hsm);
    let keys = CmsKeys::load(dir, files, recipient(recipient_jwk)?)?;
    let signing = signing_keys(dir, files)?;
    state.jwt.replace_keys(signing)?;
    state.cms.replace_keys(keys);
    let (encryption, recipient, keks) = state.cms.key_summary();
    tracing::info!(
        target: LOG_TARGET,
        encryption = %encryption.join(" "),
        signing = %state.jwt.kids().join(" "),
        recipient = %recipient.join(" "),
        keks,
        "keys reloaded"
    );
    Ok(())
}

/// `pinframe cms`: serves until Ctrl-C or SIGTERM.
pub async fn serve(args: CmsArgs) -> Result<(), StartupError> {
    let (listener, local, public_url) = bind(args.listen, args.public_url.as_deref()).await?;
    let (state, secret_file) = open_state(&args, public_url).await?;
    match &state.client.grant {
        Grant::AnyIssuer => {
            tracing::warn!(target: LOG_TARGET, "no --issuer given: the CMS client may act for any issuer")
        }
        Grant::Issuers(ids) => {
            tracing::info!(target: LOG_TARGET, issuers = ids.len(), "the CMS client may act for the --issuer list")
        }
    }
    if args.recipient_jwk.is_none() {
        tracing::warn!(target: LOG_TARGET, "no --recipient-jwk: GET …/pin answers 503 until the CMS knows the PIN service's key");
    }
    say(&format!("cms client id: {}", state.client.id));
    if let Some(path) = secret_file {
        say(&format!("cms client secret: in {} (or set PINFRAME_CMS_CLIENT_SECRET)", path.display()));
    }
    let (reloading, dir, recipient_jwk) = (state.clone(), args.data_dir.clone(), args.recipient_jwk.clone());
    let hsm = args.key_store.open()?;
    reload::on_sighup(move || reload_keys(&reloading, &dir, recipient_jwk.as_deref(), hsm.as_ref()))?;
    let ops = state.ops.clone();
    ops.start(&args.ops).await?;
    say(&format!("pinframe cms listening on http://{local}"));
    ops.serve(listener, app(state), &args.ops).await;
    tracing::info!(target: LOG_TARGET, "pinframe cms stopped");
    Ok(())
}

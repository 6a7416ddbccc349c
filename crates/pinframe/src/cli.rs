//! The offline tools of the command line: `jwe`, `pinblock` and `keys` (`docs/protocol.md`, "Command line");
//! `keys rotate` and `keys retire` are `rotate`'s.
//!
//! Each command computes its whole output first and writes it only on success, so a failure leaves
//! stdout empty; the caller prints the one-line reason on stderr.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};
pub use pinframe_cms::CmsArgs;
use pinframe_core::pinblock::{self, PinBlockFormat, PinBlockKey};
use pinframe_core::rand_core::OsRng;
use pinframe_core::{jwe, FormatError, Pan, Pin, PrivateJwk, PublicJwk};
use pinframe_server::clock::{Clock, SystemClock};
pub use pinframe_server::config::DatabaseArgs;
use pinframe_server::keystore::KeyStoreArgs;
pub use pinframe_server::ops::OpsArgs;
use zeroize::Zeroizing;

/// pinframe: view and set card PINs end to end encrypted.
#[derive(Debug, Parser)]
#[command(name = "pinframe", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the service with the embedded reference CMS (SQLite in the data directory).
    Serve(ServeArgs),
    /// Run the reference CMS alone: the D1 PIN Management API server (the book: Issuer back end, "Your own card management system").
    Cms(CmsArgs),
    /// Provision issuers in the service's database (its data directory, or PostgreSQL).
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Export or verify the audit trail in the service's database.
    #[command(subcommand)]
    Audit(crate::audit::cli::AuditCommand),
    #[command(flatten)]
    Tool(ToolCommand),
}

/// `pinframe issuer …`: how a deployment gets issuers. Secrets are printed once; only hashes are kept.
#[derive(Debug, Subcommand)]
pub enum IssuerCommand {
    /// Add an issuer; prints its client id and a generated client secret, once, as JSON.
    Add {
        /// The issuer id: exactly 10 characters of A-Z, a-z, 0-9, '_' or '-'.
        #[arg(long, value_name = "ISSUERID")]
        id: String,
        /// An origin allowed to frame the widget and receive its events, e.g. https://bank.example.
        #[arg(long = "origin", value_name = "ORIGIN")]
        origins: Vec<String>,
        #[command(flatten)]
        policy: PolicyArgs,
        #[arg(long, value_name = "DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Allow one more origin to frame an issuer's widget and receive its events; takes effect at
    /// once, without a restart.
    AddOrigin {
        #[arg(long, value_name = "ISSUERID")]
        id: String,
        /// The origin, e.g. https://bank.example.
        #[arg(long = "origin", value_name = "ORIGIN", required = true)]
        origins: Vec<String>,
        #[arg(long, value_name = "DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Change an issuer's PIN policy for new PINs.
    SetPolicy {
        #[arg(long, value_name = "ISSUERID")]
        id: String,
        #[command(flatten)]
        policy: PolicyArgs,
        #[arg(long, value_name = "DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// List issuers, their client ids and origins, one JSON object per line.
    List {
        #[arg(long, value_name = "DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
    /// Replace an issuer's client secret; prints the new one, once. The old one stops working at once.
    RotateSecret {
        #[arg(long, value_name = "ISSUERID")]
        id: String,
        #[arg(long, value_name = "DIR", default_value = "./data")]
        data_dir: PathBuf,
        #[command(flatten)]
        database: DatabaseArgs,
    },
}

/// `pinframe serve`: where to listen, where the data lives, and the demo.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    /// Directory for the databases and key files (created with owner-only permissions).
    #[arg(long, value_name = "DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Seed the demo issuer, card and PIN, and serve the desktop host page at /demo/.
    #[arg(long)]
    pub demo: bool,
    /// The Trunk-built widget (index.html and its assets).
    #[arg(long, value_name = "DIR", default_value = "./dist", env = "PINFRAME_WIDGET_DIR")]
    pub widget_dir: PathBuf,
    /// The built book (`make docs` writes it to target/book), served at /docs/. Without it, or
    /// when DIR has no index.html, /docs/ answers 404.
    #[arg(long, value_name = "DIR", env = "PINFRAME_DOCS_DIR")]
    pub docs_dir: Option<PathBuf>,
    /// The URL cardholders' devices reach this service at, for widget links (default: http://ADDR).
    #[arg(long, value_name = "URL", env = "PINFRAME_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Use the card management system at URL (D1 PIN Management API over HTTP) instead of the
    /// embedded one. Its client secret comes from PINFRAME_CMS_CLIENT_SECRET or --cms-client-secret-file.
    #[arg(long, value_name = "URL", env = "PINFRAME_CMS_URL")]
    pub cms_url: Option<String>,
    /// The service's client id at the CMS's /oauth2/token.
    #[arg(long, value_name = "ID", default_value = "pinframe-service", env = "PINFRAME_CMS_CLIENT_ID")]
    pub cms_client_id: String,
    /// A file holding the service's client secret at the CMS (owner-only permissions).
    #[arg(long, value_name = "FILE")]
    pub cms_client_secret_file: Option<PathBuf>,
    /// The CMS's public encryption JWK, pinned. Without it, the key is read from the CMS's
    /// /.well-known/jwks.json (use HTTPS).
    #[arg(long, value_name = "FILE")]
    pub cms_jwk: Option<PathBuf>,
    /// Lifetime of a PIN-control token, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 300, value_parser = clap::value_parser!(u32).range(10..=3600))]
    pub token_ttl: u32,
    #[command(flatten)]
    pub database: DatabaseArgs,
    #[command(flatten)]
    pub ops: OpsArgs,
    #[command(flatten)]
    pub audit: crate::audit::AuditArgs,
    #[command(flatten)]
    pub key_store: KeyStoreArgs,
}

/// An issuer's PIN policy (see ARCHITECTURE.md, "PIN policy").
#[derive(Debug, Args)]
pub struct PolicyArgs {
    /// Fewest digits a new PIN may have (4 to 12).
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub pin_min_length: usize,
    /// Most digits a new PIN may have (4 to 12).
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub pin_max_length: usize,
    /// Refuse four-digit PINs that look like a year, 19xx or 20xx.
    #[arg(long)]
    pub forbid_years: bool,
}

/// The offline tools.
#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// Encrypt or decrypt JWE compact serialization (ECDH-ES + A256GCM, P-256).
    #[command(subcommand)]
    Jwe(JweCommand),
    /// Encode or decode ISO 9564-1 PIN blocks.
    #[command(subcommand)]
    Pinblock(PinblockCommand),
    /// Generate keys, and make, rotate and retire a deployment's key files.
    #[command(subcommand)]
    Keys(KeysCommand),
}

#[derive(Debug, Subcommand)]
pub enum JweCommand {
    /// Read plaintext on stdin and write one compact JWE line for the public JWK in FILE.
    Encrypt {
        /// The recipient's public JWK (a private JWK works too; only its public half is used).
        #[arg(long, value_name = "FILE")]
        jwk: PathBuf,
    },
    /// Read a compact JWE on stdin and write the plaintext bytes, exactly, using the private JWK in FILE.
    Decrypt {
        /// The recipient's private JWK.
        #[arg(long, value_name = "FILE")]
        jwk: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PinblockCommand {
    /// Print the PIN block for PIN in upper-case hex.
    Encode {
        #[command(flatten)]
        params: PinblockParams,
        /// The PIN, 4 to 12 digits.
        #[arg(value_name = "PIN")]
        pin: String,
    },
    /// Print the PIN held in BLOCK (hex).
    Decode {
        #[command(flatten)]
        params: PinblockParams,
        /// The PIN block in hex: 16 digits, or 32 for iso4.
        #[arg(value_name = "BLOCK")]
        block: String,
    },
}

#[derive(Debug, Args)]
pub struct PinblockParams {
    /// iso0, iso1, iso3 or iso4 (ISO 9564-1:2017).
    #[arg(long, value_name = "FORMAT")]
    format: String,
    /// The card's PAN (12 to 19 digits); formats iso0, iso3 and iso4 need it.
    #[arg(long, value_name = "PAN")]
    pan: Option<String>,
    /// The AES key in hex (128, 192 or 256 bits); format iso4 needs it.
    #[arg(long, value_name = "HEX")]
    key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Print a new P-256 private JWK whose kid is its RFC 7638 thumbprint.
    Generate,
    /// Print the public half of the JWK in FILE (to hand to the party that encrypts to it).
    Public {
        #[arg(long, value_name = "FILE")]
        jwk: PathBuf,
    },
    /// Create a deployment's key files once, in DIR: the service key, signing key and data key,
    /// and the embedded CMS's key and key-encryption key in DIR/cms (with --cms: a standalone CMS's
    /// key, signing key, key-encryption key and client secret). Existing files are kept. Every
    /// replica gets a copy; with a database URL a replica never creates a key itself.
    Init {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// The key files of `pinframe cms --data-dir DIR` instead of `pinframe serve`'s.
        #[arg(long)]
        cms: bool,
        #[command(flatten)]
        key_store: KeyStoreArgs,
    },
    /// Rotate the keys in DIR without downtime: a new encryption, signing and data key (and, with
    /// DIR/cms, the embedded CMS's encryption key and key-encryption key), each old key kept as
    /// NAME.previous.EXT, the time in DIR/key-rotation.json. Then copy DIR to every replica and send
    /// each server SIGHUP: they publish and accept both keys, and use the new ones from the
    /// activation time on. Refused while previous keys are kept: retire them first.
    Rotate {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// DIR is a standalone CMS's (`pinframe cms --data-dir DIR`): its encryption, signing and
        /// key-encryption keys.
        #[arg(long)]
        cms: bool,
        /// Seconds before servers use the new keys for what they make: enough to copy the files to
        /// every replica and reload each, so that none makes what another cannot read yet.
        #[arg(long, value_name = "SECONDS", default_value_t = 0, value_parser = clap::value_parser!(u32).range(0..=86400))]
        activate_after: u32,
        #[command(flatten)]
        key_store: KeyStoreArgs,
    },
    /// Retire the previous keys a rotation kept: seal every stored PAN and PIN block under the
    /// current keys, then remove the previous key files. Refused until nothing made with them can
    /// still arrive (access tokens 900 s and JWKS caches 300 s after the activation, and PIN-control
    /// tokens issued before it); then copy DIR to every replica and send each server SIGHUP.
    Retire {
        #[arg(long, value_name = "DIR")]
        data_dir: PathBuf,
        /// DIR is a standalone CMS's.
        #[arg(long)]
        cms: bool,
        /// Retire now, whatever may still use the previous keys (a compromised key).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        database: DatabaseArgs,
        #[command(flatten)]
        key_store: KeyStoreArgs,
    },
}

/// Why a command failed; its Display is the one line printed on stderr. Never holds a secret.
#[derive(Debug)]
pub enum CliError {
    /// Input of the wrong shape.
    Format(FormatError),
    /// The JWE did not decrypt.
    Decrypt,
    /// Reading the JWK file or stdin failed.
    Io { what: String, error: std::io::Error },
    /// Something else about the input.
    Input(&'static str),
    /// Creating key files failed (the message names the file; it never holds a key).
    Keys(String),
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Format(e) => write!(f, "{e}"),
            Self::Decrypt => f.write_str("JWE could not be decrypted"),
            Self::Io { what, error } => write!(f, "cannot read {what}: {error}"),
            Self::Input(why) => f.write_str(why),
            Self::Keys(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for CliError {}

impl From<FormatError> for CliError {
    fn from(e: FormatError) -> Self {
        Self::Format(e)
    }
}

/// Runs an offline command, returning the bytes for stdout. `stdin` is read only by the JWE commands.
pub fn run(command: ToolCommand, stdin: &mut dyn Read) -> Result<Zeroizing<Vec<u8>>, CliError> {
    match command {
        ToolCommand::Jwe(JweCommand::Encrypt { jwk }) => {
            let recipient = PublicJwk::parse(&read_file(&jwk)?)?;
            let plaintext = read_all(stdin)?;
            let mut out = jwe::encrypt(&recipient, &plaintext, &mut OsRng).into_bytes();
            out.push(b'\n');
            Ok(Zeroizing::new(out))
        }
        ToolCommand::Jwe(JweCommand::Decrypt { jwk }) => {
            let key = PrivateJwk::parse(&read_file(&jwk)?)?;
            let input = read_all(stdin)?;
            let compact = std::str::from_utf8(&input).map_err(|_| CliError::Decrypt)?;
            let plaintext = jwe::decrypt(&key, compact.trim_ascii()).map_err(|_| CliError::Decrypt)?;
            Ok(Zeroizing::new(plaintext.to_vec()))
        }
        ToolCommand::Pinblock(PinblockCommand::Encode { params, pin }) => {
            let (format, pan, key) = params.parse()?;
            let pin = Pin::parse(&Zeroizing::new(pin))?;
            let block = pinblock::encode(format, &pin, pan.as_ref(), key.as_ref(), &mut OsRng)?;
            // With the PAN, a format 0 or 3 block gives back the PIN: its text is wiped like the PIN.
            Ok(line(&Zeroizing::new(pinblock::hex_encode(&block))))
        }
        ToolCommand::Pinblock(PinblockCommand::Decode { params, block }) => {
            let (format, pan, key) = params.parse()?;
            let block = Zeroizing::new(block);
            let bytes = pinblock::hex_decode(&block)
                .filter(|b| b.len() == format.block_len())
                .map(Zeroizing::new)
                .ok_or(FormatError::PinBlockHex)?;
            let pin = pinblock::decode(format, &bytes, pan.as_ref(), key.as_ref())?;
            Ok(line(pin.expose()))
        }
        ToolCommand::Keys(KeysCommand::Generate) => Ok(line(&PrivateJwk::generate(&mut OsRng).to_json())),
        ToolCommand::Keys(KeysCommand::Public { jwk }) => Ok(line(&PublicJwk::parse(&read_file(&jwk)?)?.to_json())),
        ToolCommand::Keys(KeysCommand::Init { data_dir, cms, key_store }) => {
            let hsm = key_store.open().map_err(CliError::Keys)?;
            let done = if cms {
                pinframe_cms::start::init_keys(&data_dir, hsm.as_ref())
            } else {
                crate::keys::init_keys(&data_dir, hsm.as_ref())
            }
            .map_err(|e| CliError::Keys(e.to_string()))?;
            let mut out = String::new();
            for (path, created) in done {
                out.push_str(if created { "created " } else { "kept " });
                out.push_str(&path.display().to_string());
                out.push('\n');
            }
            Ok(Zeroizing::new(out.into_bytes()))
        }
        ToolCommand::Keys(KeysCommand::Rotate { data_dir, cms, activate_after, key_store }) => {
            let hsm = key_store.open().map_err(CliError::Keys)?;
            let out = crate::rotate::rotate(&data_dir, cms, activate_after, SystemClock.now(), hsm.as_ref())
                .map_err(|e| CliError::Keys(e.to_string()))?;
            Ok(Zeroizing::new(out.into_bytes()))
        }
        ToolCommand::Keys(KeysCommand::Retire { data_dir, cms, force, database, key_store }) => {
            let hsm = key_store.open().map_err(CliError::Keys)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CliError::Keys(format!("cannot start the async runtime: {e}")))?;
            let retire = crate::rotate::retire(&data_dir, cms, &database, force, SystemClock.now(), hsm.as_ref());
            let retired = runtime.block_on(retire).map_err(|e| CliError::Keys(e.to_string()))?;
            if let Some(warning) = retired.warning {
                eprintln!("{warning}");
            }
            Ok(Zeroizing::new(retired.out.into_bytes()))
        }
    }
}

impl PinblockParams {
    fn parse(self) -> Result<(PinBlockFormat, Option<Pan>, Option<PinBlockKey>), CliError> {
        let format = PinBlockFormat::parse(&self.format)?;
        let pan = match self.pan.map(Zeroizing::new) {
            Some(pan) => Some(Pan::parse(&pan)?),
            None if format.needs_pan() => return Err(CliError::Input("--pan is required for this format")),
            None => None,
        };
        let key = match self.key.map(Zeroizing::new) {
            Some(key) if format == PinBlockFormat::Iso4 => Some(PinBlockKey::from_hex(&key)?),
            Some(_) => return Err(CliError::Input("--key is only used with --format iso4")),
            None if format == PinBlockFormat::Iso4 => return Err(CliError::Input("--key is required for iso4")),
            None => None,
        };
        Ok((format, pan, key))
    }
}

fn line(text: &str) -> Zeroizing<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() + 1);
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    Zeroizing::new(out)
}

fn read_file(path: &Path) -> Result<Zeroizing<String>, CliError> {
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|error| CliError::Io { what: path.display().to_string(), error })
}

fn read_all(stdin: &mut dyn Read) -> Result<Zeroizing<Vec<u8>>, CliError> {
    let mut buf = Zeroizing::new(Vec::new());
    stdin.read_to_end(&mut buf).map_err(|error| CliError::Io { what: "standard input".to_owned(), error })?;
    Ok(buf)
}

//! `pinframe keys rotate` and `pinframe keys retire`: key rotation without downtime.
//!
//! `rotate` gives each key of a data directory a successor and keeps the old one as its previous
//! key (the files are `pinframe_server::rotation`'s), for the service's keys and, when `DIR/cms`
//! exists, the embedded CMS's. Servers told by SIGHUP then publish and accept both, and use the new
//! one for what they make from the activation time on. `retire` waits until nothing made with the
//! previous keys can still arrive, seals every stored PAN and PIN block under the current data key
//! and KEK, and only then removes the previous keys.
//!
//! Both print only paths, `kid`s, times and instructions: never a key.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use pinframe_cms::keys::{self as cms_keys, CmsKeys};
use pinframe_cms::EmbeddedCms;
use pinframe_server::config::{DatabaseArgs, KeyFiles};
use pinframe_server::db::DbConfig;
use pinframe_server::hsm::Hsm;
use pinframe_server::jwks;
use pinframe_server::rotation::{self, utc, KeySpec, Resealed, Rotation};
use pinframe_server::rotation_store;
use pinframe_server::startup::StartupError;

use crate::http::register::ACCESS_TOKEN_TTL;
use crate::keys::{load_keys, CMS_DIR, ROTATING, SERVICE_KEY_FILE};
use crate::state::ServiceKeys;
use crate::store::SqlStore;

/// A directory whose keys rotate together: the service's, or a CMS's (embedded or standalone).
struct Target {
    dir: PathBuf,
    cms: bool,
}

impl Target {
    /// The key files rotating here now: for a CMS, which of its keys exist (`cms_keys::rotating`).
    fn specs(&self, files: KeyFiles<'_>) -> Vec<KeySpec> {
        if self.cms {
            cms_keys::rotating(&self.dir, files)
        } else {
            ROTATING.to_vec()
        }
    }

    /// `files` for this directory's keys (a CMS's are labelled apart in a token).
    fn files<'a>(&self, files: KeyFiles<'a>) -> KeyFiles<'a> {
        if self.cms {
            files.for_cms()
        } else {
            files
        }
    }

    /// Every key file that may have a previous key here.
    fn all_specs(&self) -> Vec<KeySpec> {
        if self.cms {
            cms_keys::ALL_ROTATING.to_vec()
        } else {
            ROTATING.to_vec()
        }
    }

    /// Tokens of the previous signing key live [`ACCESS_TOKEN_TTL`] (the CMS's are as long), and
    /// a JWKS may be cached [`jwks::MAX_AGE`]: the wait after the activation before `retire`.
    fn wait(&self) -> i64 {
        ACCESS_TOKEN_TTL.max(pinframe_cms::server::ACCESS_TOKEN_TTL).max(jwks::MAX_AGE)
    }
}

/// The service's directory and, if it has one, its embedded CMS's; or a standalone CMS's alone.
fn targets(data_dir: &Path, cms_only: bool) -> Vec<Target> {
    if cms_only {
        return vec![Target { dir: data_dir.to_owned(), cms: true }];
    }
    let mut all = vec![Target { dir: data_dir.to_owned(), cms: false }];
    let cms_dir = data_dir.join(CMS_DIR);
    if cms_dir.is_dir() {
        all.push(Target { dir: cms_dir, cms: true });
    }
    all
}

/// `pinframe keys rotate`: new keys in `data_dir` (and `data_dir/cms`), the old ones kept as
/// previous keys, used by servers from `now + activate_after`. Every directory is checked and every
/// new key written aside before any key file changes; a refusal changes nothing.
pub fn rotate(
    data_dir: &Path,
    cms_only: bool,
    activate_after: u32,
    now: i64,
    hsm: Option<&Arc<Hsm>>,
) -> Result<String, StartupError> {
    let targets = targets(data_dir, cms_only);
    let files = KeyFiles::Require { init: "pinframe keys init" }.in_store(hsm);
    let prepared = targets
        .iter()
        .map(|target| rotation_store::prepare(target.files(files), &target.dir, &target.specs(files)))
        .collect::<Result<Vec<_>, _>>()?;
    let record = Rotation { rotated_at: now, active_from: now + i64::from(activate_after) };
    let mut out = String::new();
    let mut encryption_kid = None;
    for (target, prepared) in targets.iter().zip(prepared) {
        for file in prepared.commit(record)? {
            let kept = file.previous.display();
            match (&file.kid, &file.previous_kid) {
                (Some(kid), Some(old)) => {
                    let _ =
                        writeln!(out, "rotated {}: kid {kid} (previous kid {old} kept in {kept})", file.path.display());
                }
                _ => {
                    let _ = writeln!(out, "rotated {} (previous key kept in {kept})", file.path.display());
                }
            }
            if file.path.ends_with(if target.cms { cms_keys::KEY_FILE } else { SERVICE_KEY_FILE }) {
                encryption_kid =
                    encryption_kid.or_else(|| file.kid.clone().map(|kid| (kid, file.path.clone(), target.cms)));
            }
        }
        if target.cms && std::env::var_os(cms_keys::KEK_ENV).is_some() {
            let _ = writeln!(
                out,
                "not rotated: the key-encryption key of {} comes from {}",
                target.dir.display(),
                cms_keys::KEK_ENV
            );
        }
    }
    let _ = writeln!(
        out,
        "new keys in use from {} (Unix {}); until then servers keep using the previous ones",
        utc(record.active_from),
        record.active_from
    );
    let _ = writeln!(
        out,
        "next: copy {} to every replica, then send SIGHUP to each pinframe serve (and pinframe cms) using it",
        data_dir.display()
    );
    if let Some((kid, path, cms)) = encryption_kid {
        let public = match hsm {
            // The token's public key object; a reloaded server also publishes it.
            Some(_) => format!(
                "GET /.well-known/jwks.json of a reloaded server, or pkcs11-tool --read-object --type pubkey --label {}",
                path.display()
            ),
            None => format!("pinframe keys public --jwk {}", path.display()),
        };
        let (who, how) = if cms {
            ("a PIN service that pins this CMS's key (pinframe serve --cms-jwk)", "then restart it")
        } else {
            ("a CMS that pins the service's key (pinframe cms --recipient-jwk, or your own CMS)", "then reload it")
        };
        let _ = writeln!(out, "before retiring: give {who} the new public key (kid {kid}): {public}, {how}");
    }
    let wait = targets.iter().map(Target::wait).max().unwrap_or_default();
    let _ = writeln!(
        out,
        "retire the previous keys from {} (later while PIN-control tokens issued before the activation are unused): \
         pinframe keys retire --data-dir {}{}",
        utc(record.active_from + wait),
        data_dir.display(),
        if cms_only { " --cms" } else { "" }
    );
    Ok(out)
}

/// What `retire` says on success: stdout, and a warning for stderr when `--force` cut a wait short.
#[derive(Debug)]
pub struct Retired {
    pub out: String,
    pub warning: Option<String>,
}

/// `pinframe keys retire`: once nothing made with the previous keys can still arrive (or at once,
/// with `force`), seals every stored value under the current data key and KEK, then removes the
/// previous keys. Every refusal happens before anything changes; a failure while re-sealing leaves
/// every value openable, both keys on disk.
pub async fn retire(
    data_dir: &Path,
    cms_only: bool,
    database: &DatabaseArgs,
    force: bool,
    now: i64,
    hsm: Option<&Arc<Hsm>>,
) -> Result<Retired, StartupError> {
    let config = database.config()?;
    let files = KeyFiles::Require { init: "pinframe keys init" }.in_store(hsm);
    let mut targets = Vec::new();
    for target in self::targets(data_dir, cms_only) {
        if rotation_store::has_previous(target.files(files), &target.dir, &target.all_specs())?
            || target.dir.join(rotation::RECORD_FILE).exists()
        {
            targets.push(target);
        }
    }
    if targets.is_empty() {
        return Ok(Retired {
            out: format!("no previous keys in {}: nothing to retire\n", data_dir.display()),
            warning: None,
        });
    }
    let mut out = String::new();
    let mut early = Vec::new();
    let mut opened = Vec::new();
    for target in &targets {
        let record = rotation::read_record(&target.dir)?;
        let store = open_store(target, &config, hsm).await?;
        let allowed = match record {
            Some(record) => Some(allowed_from(target, &record, &store, now).await?),
            None => None,
        };
        match allowed {
            Some((at, _)) if now >= at => {}
            _ if force => early.push(target.dir.display().to_string()),
            Some((at, why)) => {
                return Err(format!(
                    "the previous keys of {} may still be in use until {} (Unix {at}): {why}; retire them then, \
                     or now with --force if a key is compromised",
                    target.dir.display(),
                    utc(at)
                )
                .into())
            }
            None => {
                return Err(format!(
                    "{} has previous keys but no {} (an interrupted rotation?): when they stop being used is \
                     unknown; retire them with --force",
                    target.dir.display(),
                    rotation::RECORD_FILE
                )
                .into())
            }
        }
        opened.push((target, store));
    }
    // Every check passed: now the stored values, then the files.
    for (target, store) in &opened {
        let (what, report) = match store {
            Opened::Service(store) => ("PANs", reseal_pans(&target.dir, store, hsm).await?),
            Opened::Cms(cms) => ("PIN blocks", reseal_blocks(cms).await?),
        };
        if report.unreadable > 0 && !force {
            return Err(format!(
                "{} stored {what} open under neither the current nor the previous key of {} (a replica with \
                 other key files?): nothing was removed; retire with --force to remove the previous keys anyway",
                report.unreadable,
                target.dir.display()
            )
            .into());
        }
        let _ = writeln!(out, "sealed {} {what} under the current key ({} already were)", report.moved, report.current);
    }
    for (target, _) in &opened {
        for path in rotation_store::remove_previous(target.files(files), &target.dir, &target.all_specs())? {
            let _ = writeln!(out, "removed {}", path.display());
        }
    }
    let _ = writeln!(
        out,
        "next: copy {} to every replica, then send SIGHUP to each server using it: only the current keys are \
         published and accepted from then on",
        data_dir.display()
    );
    let warning = (!early.is_empty()).then(|| {
        format!(
            "warning: --force retired the previous keys of {} early: access tokens they signed, widgets holding \
             their public key and issuers with a cached JWKS fail until they get the current key",
            early.join(" and ")
        )
    });
    Ok(Retired { out, warning })
}

/// What holds a directory's sealed values.
enum Opened {
    Service(SqlStore),
    Cms(EmbeddedCms),
}

/// The tables of `target`. Without a database URL they are the SQLite file in the directory; a
/// directory without one holds keys only (a PostgreSQL deployment's, most likely), and the values
/// its previous keys sealed are elsewhere: refused, even with `--force`, lest the keys go while
/// values still need them.
async fn open_store(target: &Target, config: &DbConfig, hsm: Option<&Arc<Hsm>>) -> Result<Opened, StartupError> {
    let sqlite = if target.cms { pinframe_cms::embedded::SQLITE_FILE } else { crate::store::sql::SQLITE_FILE };
    if !config.is_postgres() && !target.dir.join(sqlite).exists() {
        return Err(format!(
            "{} has no {sqlite}: give the database whose values its keys sealed (PINFRAME_DATABASE_URL or \
             --database-url-file FILE)",
            target.dir.display()
        )
        .into());
    }
    if target.cms {
        let init = format!("pinframe keys init --cms --data-dir {}", target.dir.display());
        let keys = CmsKeys::load(&target.dir, KeyFiles::Require { init: &init }.in_store(hsm), None)?;
        Ok(Opened::Cms(EmbeddedCms::open(config, &target.dir, keys).await?))
    } else {
        Ok(Opened::Service(SqlStore::open(config, &target.dir).await?))
    }
}

/// When `target`'s previous keys may go, and why not sooner.
async fn allowed_from(
    target: &Target,
    record: &Rotation,
    store: &Opened,
    now: i64,
) -> Result<(i64, String), StartupError> {
    let mut at = record.active_from + target.wait();
    let mut why = format!(
        "access tokens signed by the previous key live {} s and JWKS caches keep it {} s after the activation",
        ACCESS_TOKEN_TTL,
        jwks::MAX_AGE
    );
    if let Opened::Service(store) = store {
        if let Some(expiry) = store.latest_live_token_expiry(record.active_from, now).await? {
            if expiry > at {
                at = expiry;
                why = "a PIN-control token issued before the activation is unused, and its widget may hold the \
                       previous encryption key"
                    .to_owned();
            }
        }
    }
    Ok((at, why))
}

/// Passes over the PANs until one finds them all under the current data key (a card registered
/// again during a pass is looked at again by the next).
async fn reseal_pans(dir: &Path, store: &SqlStore, hsm: Option<&Arc<Hsm>>) -> Result<Resealed, StartupError> {
    let init = format!("pinframe keys init --data-dir {}", dir.display());
    let loaded = load_keys(dir, KeyFiles::Require { init: &init }.in_store(hsm))?;
    let keys = ServiceKeys::new(loaded.encryption, loaded.data, None);
    let mut passes = Vec::new();
    while passes.len() < 3 {
        let pass = crate::pins::reseal_pans(store, &keys).await?;
        passes.push(pass);
        if pass.all_current() {
            return Ok(summed(&passes));
        }
    }
    Err("PANs kept changing while they were sealed again: nothing was removed; run retire again".into())
}

/// The passes as one: how many were already current at first, how many moved, and how many the
/// last pass could not open.
fn summed(passes: &[Resealed]) -> Resealed {
    Resealed {
        current: passes.first().map_or(0, |p| p.current),
        moved: passes.iter().map(|p| p.moved).sum(),
        raced: 0,
        unreadable: passes.last().map_or(0, |p| p.unreadable),
    }
}

/// [`reseal_pans`] for the CMS's PIN blocks.
async fn reseal_blocks(cms: &EmbeddedCms) -> Result<Resealed, StartupError> {
    let mut passes = Vec::new();
    while passes.len() < 3 {
        let pass = cms.reseal_blocks().await?;
        passes.push(pass);
        if pass.all_current() {
            return Ok(summed(&passes));
        }
    }
    Err("PIN blocks kept changing while they were sealed again: nothing was removed; run retire again".into())
}

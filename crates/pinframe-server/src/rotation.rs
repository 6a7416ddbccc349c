//! Key rotation on disk, the same for the service's data directory and a CMS's. `pinframe keys
//! rotate` keeps each key as `NAME.previous.EXT` beside its new `NAME.EXT` and writes
//! [`RECORD_FILE`] (when it ran, and from when the new keys are used); `pinframe keys retire`
//! removes the previous files, then the record. A directory without them is one whose keys never
//! rotated, and is read exactly as before.
//!
//! Nothing is ever half-written: each new key is written whole to a temporary file and synced
//! ([`prepare`]) before any key file is touched; then ([`Prepared::commit`]) each previous file is
//! made a hard link of its current file, the record is renamed into place, and each temporary file
//! is renamed over its current file. At every step each key file holds a whole key, and every key
//! that ever sealed a stored value is on disk.

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::config::KeyFiles;
use crate::hsm::EcUsage;
use crate::keyring::Ring;
use crate::keys::{self, key_error, KeyFileError, Sealer};
use crate::keystore::EcKey;

/// The rotation record, beside the keys it concerns.
pub const RECORD_FILE: &str = "key-rotation.json";

/// When a directory's keys rotated, as `key-rotation.json` records it (Unix seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rotation {
    /// When `pinframe keys rotate` ran.
    pub rotated_at: i64,
    /// From when servers use the new keys for what they make (`--activate-after` later).
    pub active_from: i64,
}

/// What a key file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    /// A P-256 private JWK for key agreement (an encryption key).
    Jwk,
    /// A P-256 private JWK that signs access tokens.
    SigningJwk,
    /// A 256-bit AES key in hex.
    Key256,
}

/// A key file that rotates.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub name: &'static str,
    pub kind: KeyKind,
}

/// `service-key.jwk` → `service-key.previous.jwk`.
pub fn previous_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}.previous.{ext}"),
        None => format!("{name}.previous"),
    }
}

/// The rotation record of `dir`; `None` when its keys are not in rotation.
pub fn read_record(dir: &Path) -> Result<Option<Rotation>, KeyFileError> {
    let path = dir.join(RECORD_FILE);
    match fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .map_err(|_| key_error(&path, "not a rotation record ({\"rotatedAt\": …, \"activeFrom\": …})")),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(key_error(&path, e)),
    }
}

fn ring<T>(current: T, previous: Option<T>, record: Option<&Rotation>) -> Ring<T> {
    // A previous key without a record (an interrupted rotation) is only ever read.
    Ring::new(current, previous, record.map_or(i64::MIN, |r| r.active_from))
}

/// The private key `dir/name` (as `files` allow) with the previous one, if a rotation kept it.
pub fn jwk_ring(
    dir: &Path,
    name: &str,
    usage: EcUsage,
    files: KeyFiles<'_>,
    record: Option<&Rotation>,
) -> Result<Ring<EcKey>, KeyFileError> {
    let current = files.jwk(&dir.join(name), usage)?;
    let mut previous = files.existing_jwk(&dir.join(previous_name(name)))?;
    if previous.is_none() && files.file_left_behind(&dir.join(name)) {
        previous = keys::load_jwk(&dir.join(name))?.map(EcKey::File);
    }
    Ok(ring(current, previous, record))
}

/// The 256-bit key `dir/name` (as `files` allow) with the previous one, as sealers.
pub fn sealer_ring(
    dir: &Path,
    name: &str,
    files: KeyFiles<'_>,
    record: Option<&Rotation>,
) -> Result<Ring<Sealer>, KeyFileError> {
    let current = files.sealer(&dir.join(name))?;
    let mut previous = files.existing_sealer(&dir.join(previous_name(name)))?;
    if previous.is_none() && files.file_left_behind(&dir.join(name)) {
        previous = keys::load_key256(&dir.join(name))?.map(|key| Sealer::new(&key));
    }
    Ok(ring(current, previous, record))
}

/// Whether any of `specs` has a previous key in `dir`.
pub fn has_previous(dir: &Path, specs: &[KeySpec]) -> bool {
    specs.iter().any(|spec| dir.join(previous_name(spec.name)).exists())
}

/// Why a directory could not rotate.
#[derive(Debug)]
pub enum RotateError {
    /// A previous key is still kept: the last rotation was not retired.
    PreviousKept(PathBuf),
    /// A key file is missing, unreadable or cannot be written.
    File(KeyFileError),
}

impl fmt::Display for RotateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PreviousKept(path) => write!(
                f,
                "a previous key is still kept in {}: retire it first (pinframe keys retire), then rotate",
                path.display()
            ),
            Self::File(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RotateError {}

impl From<KeyFileError> for RotateError {
    fn from(e: KeyFileError) -> Self {
        Self::File(e)
    }
}

/// What rotating did to one key file, for the operator: paths and `kid`s, never a key.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub path: PathBuf,
    pub previous: PathBuf,
    /// The new key's `kid` (JWKs only).
    pub kid: Option<String>,
    pub previous_kid: Option<String>,
}

struct Staged {
    rotated: Rotated,
    temp: PathBuf,
    /// The previous file is the current file itself, left by a rotation interrupted before its
    /// record was written: it carries nothing and is replaced.
    stale_previous: bool,
}

/// A directory's rotation, prepared: its new keys written and synced to temporary files, nothing
/// else touched. Dropped without [`commit`](Self::commit), it removes them.
pub struct Prepared {
    dir: PathBuf,
    staged: Vec<Staged>,
}

impl fmt::Debug for Prepared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Prepared").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// Checks that every key of `specs` in `dir` exists and loads and that none has a previous key,
/// then writes each new key to a temporary file beside it.
pub fn prepare(dir: &Path, specs: &[KeySpec]) -> Result<Prepared, RotateError> {
    let mut prepared = Prepared { dir: dir.to_owned(), staged: Vec::new() };
    for spec in specs {
        let path = dir.join(spec.name);
        let previous = dir.join(previous_name(spec.name));
        let missing = || key_error(&path, "missing: create the keys with `pinframe keys init` first");
        let (previous_kid, stale_previous) = match spec.kind {
            KeyKind::Jwk | KeyKind::SigningJwk => {
                let key = keys::load_jwk(&path)?.ok_or_else(missing)?;
                let stale = keys::load_jwk(&previous)?.map(|old| old.public() == key.public());
                (Some(key.kid().to_owned()), stale)
            }
            KeyKind::Key256 => {
                let key = keys::load_key256(&path)?.ok_or_else(missing)?;
                // The same key if a value sealed under one opens under the other.
                let probe =
                    Sealer::new(&key).seal(b"pinframe-same-key", b"").map_err(|_| key_error(&path, "did not seal"))?;
                let stale = keys::load_key256(&previous)?
                    .map(|old| Sealer::new(&old).open(b"pinframe-same-key", &probe).is_ok());
                (None, stale)
            }
        };
        if stale_previous == Some(false) {
            return Err(RotateError::PreviousKept(previous));
        }
        let temp = dir.join(format!(".{}.new", spec.name));
        remove_if_present(&temp)?;
        let (text, kid): (Zeroizing<String>, Option<String>) = match spec.kind {
            KeyKind::Jwk | KeyKind::SigningJwk => {
                let (key, text) = keys::new_jwk();
                (text, Some(key.kid().to_owned()))
            }
            KeyKind::Key256 => (keys::new_key256().1, None),
        };
        keys::write_secret_file(&temp, text.as_bytes())?;
        prepared.staged.push(Staged {
            rotated: Rotated { path, previous, kid, previous_kid },
            temp,
            stale_previous: stale_previous == Some(true),
        });
    }
    Ok(prepared)
}

impl Prepared {
    /// Puts the new keys in place and records `record`; see the module's description for the
    /// order. A failure part-way is undone where the file system allows.
    pub fn commit(mut self, record: Rotation) -> Result<Vec<Rotated>, KeyFileError> {
        let mut linked = Vec::new();
        let linking = self.staged.iter().try_for_each(|file| {
            if file.stale_previous {
                fs::remove_file(&file.rotated.previous).map_err(|e| key_error(&file.rotated.previous, e))?;
            }
            fs::hard_link(&file.rotated.path, &file.rotated.previous)
                .map_err(|e| key_error(&file.rotated.previous, e))?;
            linked.push(file.rotated.previous.clone());
            Ok(())
        });
        let recorded = linking.and_then(|()| write_record(&self.dir, &record));
        if let Err(e) = recorded {
            // Nothing was replaced: the links are the current keys under a second name.
            for path in &linked {
                let _ = fs::remove_file(path);
            }
            return Err(e);
        }
        for (i, file) in self.staged.iter().enumerate() {
            if let Err(e) = fs::rename(&file.temp, &file.rotated.path) {
                // Put back the keys already replaced (their previous files are the old keys).
                for done in &self.staged[..i] {
                    let _ = fs::rename(&done.rotated.previous, &done.rotated.path);
                }
                for undone in &self.staged[i..] {
                    let _ = fs::remove_file(&undone.rotated.previous);
                }
                let _ = fs::remove_file(self.dir.join(RECORD_FILE));
                return Err(key_error(&file.rotated.path, e));
            }
        }
        keys::sync_dir(&self.dir)?;
        Ok(std::mem::take(&mut self.staged).into_iter().map(|file| file.rotated).collect())
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        for file in &self.staged {
            let _ = fs::remove_file(&file.temp);
        }
    }
}

pub(crate) fn write_record(dir: &Path, record: &Rotation) -> Result<(), KeyFileError> {
    let path = dir.join(RECORD_FILE);
    let temp = dir.join(format!(".{RECORD_FILE}.new"));
    let mut text = serde_json::to_string(record).map_err(|e| key_error(&path, e))?;
    text.push('\n');
    remove_if_present(&temp)?;
    keys::write_secret_file(&temp, text.as_bytes())?;
    fs::rename(&temp, &path).map_err(|e| key_error(&path, e))
}

pub(crate) fn remove_if_present(path: &Path) -> Result<bool, KeyFileError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(key_error(path, e)),
    }
}

/// Removes the previous key files of `specs` in `dir`, then its rotation record (last, so that a
/// retire interrupted part-way is finished by running it again). Returns the files removed.
pub fn remove_previous(dir: &Path, specs: &[KeySpec]) -> Result<Vec<PathBuf>, KeyFileError> {
    let mut removed = Vec::new();
    for spec in specs {
        let path = dir.join(previous_name(spec.name));
        if remove_if_present(&path)? {
            removed.push(path);
        }
    }
    remove_if_present(&dir.join(RECORD_FILE))?;
    keys::sync_dir(dir)?;
    Ok(removed)
}

/// What one pass of re-sealing a table under the current key found (`pinframe keys retire`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Rows already sealed under the current key.
    pub current: u64,
    /// Rows moved from the previous key to the current one.
    pub moved: u64,
    /// Rows written again while being moved: the next pass looks at them again.
    pub raced: u64,
    /// Rows that open under neither key: removing the previous key changes nothing for them.
    pub unreadable: u64,
}

impl Resealed {
    /// Whether every row opened under the current key when this pass read it.
    pub fn all_current(&self) -> bool {
        self.moved == 0 && self.raced == 0
    }
}

/// Rows read per query while re-sealing.
pub const RESEAL_PAGE: i64 = 500;

/// `unix` as RFC 3339 UTC, `2026-11-23T08:00:00Z`, for the operator's messages.
pub fn utc(unix: i64) -> String {
    let (days, seconds) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", seconds / 3600, seconds % 3600 / 60, seconds % 60)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    const SPECS: [KeySpec; 2] =
        [KeySpec { name: "a.jwk", kind: KeyKind::Jwk }, KeySpec { name: "b.hex", kind: KeyKind::Key256 }];

    #[test]
    fn names_and_times() {
        assert_eq!(previous_name("service-key.jwk"), "service-key.previous.jwk");
        assert_eq!(previous_name("client-secret"), "client-secret.previous");
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_825_600), "2000-02-29T12:00:00Z");
        assert_eq!(utc(1_800_000_000), "2027-01-15T08:00:00Z");
    }

    #[test]
    fn a_rotation_keeps_the_previous_keys_and_refuses_to_rotate_again() {
        let dir = tempfile::tempdir().unwrap();
        let old_jwk = keys::load_or_create_jwk(&dir.path().join("a.jwk")).unwrap();
        let old_hex = keys::load_or_create_key256(&dir.path().join("b.hex")).unwrap();
        let record = Rotation { rotated_at: 10, active_from: 20 };
        let done = prepare(dir.path(), &SPECS).unwrap().commit(record).unwrap();
        assert_eq!(done[0].previous_kid.as_deref(), Some(old_jwk.kid()));
        assert_ne!(done[0].kid, done[0].previous_kid);
        assert_eq!(read_record(dir.path()).unwrap(), Some(record));
        for name in ["a.jwk", "a.previous.jwk", "b.hex", "b.previous.hex", RECORD_FILE] {
            let mode = fs::metadata(dir.path().join(name)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{name}");
        }
        let jwks =
            jwk_ring(dir.path(), "a.jwk", EcUsage::Derive, KeyFiles::Require { init: "init" }, Some(&record)).unwrap();
        assert_eq!(jwks.previous().unwrap().kid(), old_jwk.kid());
        assert_eq!(jwks.active(19).kid(), old_jwk.kid());
        let sealed = Sealer::new(&old_hex).seal(b"row", b"pan").unwrap();
        let sealers = sealer_ring(dir.path(), "b.hex", KeyFiles::Require { init: "init" }, Some(&record)).unwrap();
        assert!(sealers.current().open(b"row", &sealed).is_err());
        assert_eq!(sealers.open(b"row", &sealed).unwrap().as_slice(), b"pan");

        let refused = prepare(dir.path(), &SPECS).unwrap_err();
        assert!(matches!(refused, RotateError::PreviousKept(_)), "{refused}");
        assert!(refused.to_string().contains("retire it first"));
        assert!(!dir.path().join(".a.jwk.new").exists(), "nothing is left behind");

        let removed = remove_previous(dir.path(), &SPECS).unwrap();
        assert_eq!(removed.len(), 2);
        assert_eq!(read_record(dir.path()).unwrap(), None);
        assert!(!has_previous(dir.path(), &SPECS));
        assert!(prepare(dir.path(), &SPECS).is_ok(), "retired, it rotates again");
    }

    #[test]
    fn a_failed_preparation_touches_nothing_and_a_stale_previous_file_is_replaced() {
        let dir = tempfile::tempdir().unwrap();
        keys::load_or_create_jwk(&dir.path().join("a.jwk")).unwrap();
        let missing = prepare(dir.path(), &SPECS).unwrap_err().to_string();
        assert!(missing.contains("b.hex") && missing.contains("missing"), "{missing}");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["a.jwk"], "no temporary file is left");

        // A rotation interrupted after its links: each previous file is its current file.
        keys::load_or_create_key256(&dir.path().join("b.hex")).unwrap();
        fs::hard_link(dir.path().join("a.jwk"), dir.path().join("a.previous.jwk")).unwrap();
        fs::hard_link(dir.path().join("b.hex"), dir.path().join("b.previous.hex")).unwrap();
        let done = prepare(dir.path(), &SPECS).unwrap().commit(Rotation { rotated_at: 1, active_from: 1 }).unwrap();
        assert_ne!(done[0].kid, done[0].previous_kid);
    }
}

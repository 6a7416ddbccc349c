//! Key rotation in whichever key store a directory's keys are in. Key files rotate as
//! [`crate::rotation`] describes. In an HSM the steps are the same with token objects: every new
//! key is generated first under a temporary label (`pinframe/.NAME.new`), sensitive and not
//! extractable; then each current key is relabelled as the previous one (`pinframe/NAME.previous.EXT`),
//! the record is written to the directory, and each new key takes the current label. Retiring
//! destroys the previous objects, then removes the record. A key file left in the directory from
//! before the deployment moved to the HSM counts as the previous key, and retiring removes it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::KeyFiles;
use crate::hsm::{EcUsage, Hsm, HsmError, SecretUsage};
use crate::keys::{key_error, KeyFileError};
use crate::rotation::{self, previous_name, KeyKind, KeySpec, Prepared, RotateError, Rotated, Rotation, RECORD_FILE};

/// A rotation prepared in either store: its new keys made aside, nothing else touched. Dropped
/// without [`commit`](Self::commit), the new keys are removed.
#[derive(Debug)]
pub enum Pending {
    Files(Prepared),
    Hsm(HsmPending),
}

/// New keys generated in the token under temporary labels.
pub struct HsmPending {
    hsm: Arc<Hsm>,
    dir: PathBuf,
    staged: Vec<(Rotated, String)>,
}

impl std::fmt::Debug for HsmPending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HsmPending").field("dir", &self.dir).finish_non_exhaustive()
    }
}

fn usage(kind: KeyKind) -> Option<EcUsage> {
    match kind {
        KeyKind::Jwk => Some(EcUsage::Derive),
        KeyKind::SigningJwk => Some(EcUsage::Sign),
        KeyKind::Key256 => None,
    }
}

fn in_hsm(files: KeyFiles<'_>, path: &Path, e: HsmError) -> KeyFileError {
    key_error(&PathBuf::from(format!("{} (HSM)", files.label(path))), e)
}

/// Checks that every key of `specs` exists and has no previous key, then makes each new key aside.
pub fn prepare(files: KeyFiles<'_>, dir: &Path, specs: &[KeySpec]) -> Result<Pending, RotateError> {
    let Some(hsm) = files.hsm() else { return rotation::prepare(dir, specs).map(Pending::Files) };
    let mut pending = HsmPending { hsm: Arc::clone(hsm), dir: dir.to_owned(), staged: Vec::new() };
    for spec in specs {
        let path = dir.join(spec.name);
        let previous = dir.join(previous_name(spec.name));
        let missing = || {
            key_error(
                &PathBuf::from(files.label(&path)),
                "missing in the HSM: create the keys with `pinframe keys init` first",
            )
        };
        let previous_kid = match usage(spec.kind) {
            Some(_) => Some(
                hsm.ec_key(&files.label(&path))
                    .map_err(|e| in_hsm(files, &path, e))?
                    .ok_or_else(missing)?
                    .public()
                    .kid()
                    .to_owned(),
            ),
            None => {
                hsm.secret_key(&files.label(&path)).map_err(|e| in_hsm(files, &path, e))?.ok_or_else(missing)?;
                None
            }
        };
        let kept = hsm.ec_key(&files.label(&previous)).map_err(|e| in_hsm(files, &previous, e))?.is_some()
            || hsm.secret_key(&files.label(&previous)).map_err(|e| in_hsm(files, &previous, e))?.is_some();
        if kept {
            return Err(RotateError::PreviousKept(PathBuf::from(files.label(&previous))));
        }
        let temp = files.label(&dir.join(format!(".{}.new", spec.name)));
        hsm.destroy(&temp).map_err(|e| in_hsm(files, &path, e))?;
        let kid = match usage(spec.kind) {
            Some(usage) => {
                Some(hsm.generate_ec(&temp, usage).map_err(|e| in_hsm(files, &path, e))?.public().kid().to_owned())
            }
            None => {
                hsm.generate_secret(&temp, SecretUsage::Aes).map_err(|e| in_hsm(files, &path, e))?;
                None
            }
        };
        let rotated = Rotated {
            path: PathBuf::from(files.label(&path)),
            previous: PathBuf::from(files.label(&previous)),
            kid,
            previous_kid,
        };
        pending.staged.push((rotated, temp));
    }
    Ok(Pending::Hsm(pending))
}

impl Pending {
    /// Puts the new keys in place and records `record`.
    pub fn commit(self, record: Rotation) -> Result<Vec<Rotated>, KeyFileError> {
        match self {
            Self::Files(prepared) => prepared.commit(record),
            Self::Hsm(pending) => pending.commit(record),
        }
    }
}

impl HsmPending {
    fn commit(mut self, record: Rotation) -> Result<Vec<Rotated>, KeyFileError> {
        let staged = std::mem::take(&mut self.staged);
        let relabel = |from: &Path, to: &Path| {
            let (from, to) = (from.to_string_lossy(), to.to_string_lossy());
            self.hsm.relabel(&from, &to).map_err(|e| key_error(&PathBuf::from(from.as_ref()), e))
        };
        let mut moved = Vec::new();
        let outcome = staged
            .iter()
            .try_for_each(|(rotated, _)| {
                relabel(&rotated.path, &rotated.previous)?;
                moved.push(rotated);
                Ok(())
            })
            .and_then(|()| rotation::write_record(&self.dir, &record));
        if let Err(e) = outcome {
            // Nothing new is in use yet: the previous keys go back to their labels.
            for rotated in moved {
                let _ = relabel(&rotated.previous, &rotated.path);
            }
            self.staged = staged;
            return Err(e);
        }
        for (rotated, temp) in &staged {
            relabel(Path::new(temp), &rotated.path)?;
        }
        Ok(staged.into_iter().map(|(rotated, _)| rotated).collect())
    }
}

impl Drop for HsmPending {
    fn drop(&mut self) {
        for (_, temp) in &self.staged {
            let _ = self.hsm.destroy(temp);
        }
    }
}

/// Whether any of `specs` has a previous key in `dir` (or in the HSM).
pub fn has_previous(files: KeyFiles<'_>, dir: &Path, specs: &[KeySpec]) -> Result<bool, KeyFileError> {
    let Some(hsm) = files.hsm() else { return Ok(rotation::has_previous(dir, specs)) };
    for spec in specs {
        let previous = dir.join(previous_name(spec.name));
        let objects = hsm.count(&files.label(&previous)).map_err(|e| in_hsm(files, &previous, e))?;
        if objects > 0 || files.file_left_behind(&dir.join(spec.name)) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Removes the previous keys of `specs`, then the rotation record. Returns what was removed.
pub fn remove_previous(files: KeyFiles<'_>, dir: &Path, specs: &[KeySpec]) -> Result<Vec<PathBuf>, KeyFileError> {
    let Some(hsm) = files.hsm() else { return rotation::remove_previous(dir, specs) };
    let mut removed = Vec::new();
    for spec in specs {
        let previous = dir.join(previous_name(spec.name));
        if hsm.destroy(&files.label(&previous)).map_err(|e| in_hsm(files, &previous, e))? > 0 {
            removed.push(PathBuf::from(files.label(&previous)));
        }
        // A key file from before the move to the HSM was this key's previous one.
        let left = dir.join(spec.name);
        if files.file_left_behind(&left) && rotation::remove_if_present(&left)? {
            removed.push(left);
        }
    }
    rotation::remove_if_present(&dir.join(RECORD_FILE))?;
    crate::keys::sync_dir(dir)?;
    Ok(removed)
}

//! Re-reading the service's key files while it runs: on SIGHUP, after `pinframe keys rotate` or
//! `pinframe keys retire` changed them (and the files were copied to every replica). Every file is
//! read first, never created; only when all of them loaded are the keys swapped, the service's and
//! the embedded CMS's together, so requests see the old set or the new one, and a failed reload
//! keeps the old set. The log names the keys' `kid`s, never a key.

use pinframe_cms::CmsKeys;
use pinframe_server::config::KeyFiles;
use pinframe_server::startup::StartupError;

use crate::keys::{load_keys, CMS_DIR};
use crate::state::AppState;

/// Reads the key files of the state's data directory again and uses them from now on: the
/// encryption, signing and data keys, each with the previous key a rotation kept, and the embedded
/// CMS's keys in `DATA/cms`.
pub fn reload_keys(state: &AppState) -> Result<(), StartupError> {
    let source = state.keys.source().ok_or("these keys were not read from a data directory")?;
    let data = &source.data_dir;
    let init = format!("pinframe keys init --data-dir {}", data.display());
    let files = KeyFiles::Require { init: &init }.in_store(source.hsm.as_ref());
    let loaded = load_keys(data, files)?;
    let cms_keys = match &source.embedded_cms {
        Some(cms) => Some((cms, CmsKeys::load(&data.join(CMS_DIR), files, Some(loaded.encryption.public()))?)),
        None => None,
    };
    // The one step of the swap that can fail (a signing key jsonwebtoken refuses) goes first.
    state.jwt.replace_keys(loaded.signing)?;
    state.keys.replace(loaded.encryption, loaded.data);
    if let Some((cms, keys)) = cms_keys {
        cms.replace_keys(keys);
    }
    state.audit.keys_in_use(state.key_summary(), state.clock.now());
    let (encryption, data_keys) = state.keys.summary();
    let (cms_encryption, _, cms_keks) = source.embedded_cms.as_ref().map(|cms| cms.key_summary()).unwrap_or_default();
    tracing::info!(
        target: "pinframe::keys",
        encryption = %encryption.join(" "),
        signing = %state.jwt.kids().join(" "),
        data_keys,
        cms_encryption = %cms_encryption.join(" "),
        cms_keks,
        "keys reloaded"
    );
    Ok(())
}

/// Reloads the keys ([`reload_keys`]) on every SIGHUP from now on.
pub fn reload_on_sighup(state: &AppState) -> Result<(), StartupError> {
    let state = state.clone();
    pinframe_server::reload::on_sighup(move || reload_keys(&state))
}

//! SIGHUP: how an operator tells a running server to re-read its key files, after `pinframe keys
//! rotate` or `pinframe keys retire` (Unix daemons' usual meaning of the signal). The reload itself
//! is the server's: it reads every file first and swaps its keys only when all of them loaded, so
//! a failed reload keeps the keys in use.

use tokio::signal::unix::{signal, SignalKind};

use crate::startup::StartupError;

/// Calls `reload` on every SIGHUP for as long as the runtime runs, logging why when it fails. The
/// handler is installed before this returns, so a SIGHUP sent after that never ends the process
/// (SIGHUP's default action).
pub fn on_sighup<F>(reload: F) -> Result<(), StartupError>
where
    F: Fn() -> Result<(), StartupError> + Send + 'static,
{
    let mut hangups = signal(SignalKind::hangup()).map_err(|e| format!("cannot listen for SIGHUP: {e}"))?;
    tokio::spawn(async move {
        while hangups.recv().await.is_some() {
            if let Err(e) = reload() {
                // Key file errors name the file and what is wrong with it, never its contents.
                tracing::error!(error = %e, "reloading the key files failed: the keys in use are kept");
            }
        }
    });
    Ok(())
}

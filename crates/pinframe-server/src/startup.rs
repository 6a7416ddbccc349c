//! Start-up and shutdown, the same for the PIN service and the CMS: data directories, the
//! listener, the operator's lines on stdout, and the signals that stop a server.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use tokio::net::TcpListener;

/// A reason a server could not start, printed as one line.
pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// Creates a data directory (and its parents) readable by the owner only; an existing one that
/// others can enter is tightened to 0700 (its parents are the operator's business).
pub fn private_dir(path: &Path) -> Result<(), StartupError> {
    let fail = |e: std::io::Error| format!("data directory {}: {e}", path.display());
    fs::DirBuilder::new().recursive(true).mode(0o700).create(path).map_err(fail)?;
    let mode = fs::metadata(path).map_err(fail)?.permissions().mode();
    if mode & 0o077 != 0 {
        fs::set_permissions(path, fs::Permissions::from_mode(0o700)).map_err(|e| {
            format!(
                "data directory {}: open to others (mode {:o}) and cannot be tightened: {e}; run chmod 700 on it",
                path.display(),
                mode & 0o777
            )
        })?;
        tracing::warn!(dir = %path.display(), "data directory open to others: tightened to 0700");
    }
    Ok(())
}

/// Prints one line on stdout, for the operator (never a secret but the demo's published ones).
pub fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}").and_then(|()| out.flush());
}

/// Connections the kernel completes and queues for `accept`: a burst of clients (or a few hundred
/// hostile ones the listener is pushing out) must not make the kernel drop a cardholder's SYN.
/// The kernel caps it at `net.core.somaxconn`.
const BACKLOG: u32 = 4096;

fn listen_socket(address: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if address.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(address)?;
    socket.listen(BACKLOG)
}

/// Binds `listen`; returns the listener, the address it got, and the public URL (`public_url`
/// without a trailing slash, or `http://ADDR`).
pub async fn bind(
    listen: SocketAddr,
    public_url: Option<&str>,
) -> Result<(TcpListener, SocketAddr, String), StartupError> {
    let listener = listen_socket(listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let local = listener.local_addr()?;
    let public_url = match public_url {
        Some(url) => url.trim_end_matches('/').to_owned(),
        None => format!("http://{local}"),
    };
    Ok((listener, local, public_url))
}

/// Resolves on Ctrl-C or SIGTERM: axum's graceful shutdown starts there.
pub async fn shutdown() {
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

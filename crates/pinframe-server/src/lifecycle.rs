//! A server's life after start: serving, then draining once SIGTERM (or Ctrl-C) arrives. While
//! draining, `/readyz` answers 503 so that a load balancer stops sending requests, the listener
//! accepts no more connections, and requests in progress finish.

use tokio::sync::watch;

/// Whether the server is draining; shared by the listener, `/readyz` and the signal task.
#[derive(Debug)]
pub struct Lifecycle {
    draining: watch::Sender<bool>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self { draining: watch::Sender::new(false) }
    }
}

impl Lifecycle {
    /// Starts draining (idempotent).
    pub fn begin_draining(&self) {
        self.draining.send_replace(true);
    }

    pub fn is_draining(&self) -> bool {
        *self.draining.borrow()
    }

    /// Resolves once draining has begun (at once if it already has).
    pub async fn draining(&self) {
        let mut receiver = self.draining.subscribe();
        // The sender lives as long as `self`, so waiting cannot fail while we are borrowed.
        let _ = receiver.wait_for(|draining| *draining).await;
    }

    /// Drains on the first Ctrl-C or SIGTERM.
    pub fn drain_on_signal(self: &std::sync::Arc<Self>) {
        let lifecycle = self.clone();
        tokio::spawn(async move {
            crate::startup::shutdown().await;
            tracing::info!("shutting down: draining connections");
            lifecycle.begin_draining();
        });
    }
}

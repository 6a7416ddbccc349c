//! What both servers run beside their routes, and the options for it: the listener's limits, the
//! rate limits, metrics, and draining on SIGTERM.

use std::sync::Arc;

use axum::Router;
use clap::Args;
use tokio::net::TcpListener;

use crate::lifecycle::Lifecycle;
use crate::listener::{self, ListenerArgs};
use crate::startup::StartupError;
use crate::telemetry::{MetricsArgs, MetricsRoute};
use crate::throttle::{Throttle, ThrottleArgs};

/// The operational options of `pinframe serve` and `pinframe cms`.
#[derive(Debug, Clone, Default, Args)]
pub struct OpsArgs {
    #[command(flatten)]
    pub listener: ListenerArgs,
    #[command(flatten)]
    pub throttle: ThrottleArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
}

/// A server's operational state, shared by its handlers.
#[derive(Debug)]
pub struct Ops {
    pub lifecycle: Arc<Lifecycle>,
    pub throttle: Arc<Throttle>,
    /// Whether `/metrics` is on the main listener.
    pub metrics: MetricsRoute,
}

impl Default for Ops {
    /// The defaults of every option: what in-process tests run with.
    fn default() -> Self {
        Self::new(&OpsArgs::default())
    }
}

impl Ops {
    pub fn new(args: &OpsArgs) -> Self {
        let on_main = !args.metrics.no_metrics && args.metrics.metrics_listen.is_none();
        Self {
            lifecycle: Arc::new(Lifecycle::default()),
            throttle: Arc::new(Throttle::new(&args.throttle)),
            metrics: if on_main { MetricsRoute::Main } else { MetricsRoute::Elsewhere },
        }
    }

    /// Everything that must be up before the process says it is listening: metrics are recorded
    /// (and served on their own listener with `--metrics-listen`, bound here), the rate limits
    /// forget what has expired every minute, SIGTERM and Ctrl-C start the drain.
    pub async fn start(&self, args: &OpsArgs) -> Result<(), StartupError> {
        args.metrics.start(&self.lifecycle).await?;
        self.throttle.purge_every_minute();
        self.lifecycle.drain_on_signal();
        Ok(())
    }

    /// Serves `router` on `socket` until SIGTERM or Ctrl-C, then drains. Call [`Ops::start`] first.
    pub async fn serve(&self, socket: TcpListener, router: Router, args: &OpsArgs) {
        listener::serve(socket, router, args.listener.clone(), self.lifecycle.clone()).await;
    }
}

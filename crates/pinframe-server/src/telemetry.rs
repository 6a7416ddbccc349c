//! Metrics in the Prometheus text format (`GET /metrics`), recorded with the `metrics` crate's
//! macros wherever something happens and rendered by `metrics-exporter-prometheus`.
//!
//! Names and labels never carry a request value: routes are templates (`/pin/{issuer_id}/view`),
//! statuses are numbers, reasons are fixed codes.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use clap::Args;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::lifecycle::Lifecycle;
use crate::listener::{self, ListenerArgs};
use crate::startup::StartupError;

/// Where metrics are served.
#[derive(Debug, Clone, Default, Args)]
pub struct MetricsArgs {
    /// Serve /metrics on this address only (e.g. 127.0.0.1:9100) instead of the main listener.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// Record no metrics and serve no /metrics.
    #[arg(long, conflicts_with = "metrics_listen")]
    pub no_metrics: bool,
}

/// Latency buckets, in seconds: from a cached asset to a slow CMS.
const LATENCY_BUCKETS: &[f64] = &[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// The process's recorder, installed once (a process may run several servers in tests).
static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

fn recorder() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".to_owned()), LATENCY_BUCKETS)
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => {
                    let upkeep = handle.clone();
                    // Histograms drain their samples into buckets on upkeep.
                    std::thread::Builder::new()
                        .name("metrics-upkeep".to_owned())
                        .spawn(move || loop {
                            std::thread::sleep(Duration::from_secs(5));
                            upkeep.run_upkeep();
                        })
                        .ok()?;
                    Some(handle)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// Where a server's `/metrics` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsRoute {
    /// On the main listener.
    Main,
    /// Elsewhere (`--metrics-listen`), or nowhere (`--no-metrics`): 404 on the main listener.
    Elsewhere,
}

impl MetricsArgs {
    /// Installs the recorder (unless `--no-metrics`) and starts the `--metrics-listen` listener.
    pub async fn start(&self, lifecycle: &Arc<Lifecycle>) -> Result<MetricsRoute, StartupError> {
        if self.no_metrics {
            return Ok(MetricsRoute::Elsewhere);
        }
        recorder();
        describe();
        metrics::gauge!("pinframe_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        let Some(address) = self.metrics_listen else { return Ok(MetricsRoute::Main) };
        let socket =
            tokio::net::TcpListener::bind(address).await.map_err(|e| format!("--metrics-listen {address}: {e}"))?;
        let router = Router::new().route("/metrics", get(|| async { metrics_response(MetricsRoute::Main) }));
        tokio::spawn(listener::serve(socket, router, ListenerArgs::default(), lifecycle.clone()));
        tracing::info!(%address, "metrics served on their own listener");
        Ok(MetricsRoute::Elsewhere)
    }
}

/// `GET /metrics`: the Prometheus text format, or 404 where metrics are not served.
pub fn metrics_response(route: MetricsRoute) -> Response {
    match (route, recorder_if_installed()) {
        (MetricsRoute::Main, Some(handle)) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], handle.render()).into_response()
        }
        _ => crate::error::AppError::NotFound { message: "There is nothing at this path." }.into_response(),
    }
}

fn recorder_if_installed() -> Option<&'static PrometheusHandle> {
    HANDLE.get().and_then(Option::as_ref)
}

/// Help texts for the metrics every server records.
fn describe() {
    metrics::describe_gauge!("pinframe_build_info", "Always 1; the label names the running version.");
    metrics::describe_gauge!("pinframe_connections_open", "Connections open, over every listener of the process.");
    metrics::describe_counter!(
        "pinframe_http_requests_total",
        "Requests answered, by method, route template and status."
    );
    metrics::describe_histogram!(
        "pinframe_http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer a request, by route template."
    );
    metrics::describe_counter!("pinframe_rate_limited_total", "Requests refused with 429, by limit (auth, tokens).");
    metrics::describe_counter!(
        "pinframe_connections_evicted_total",
        "Idle connections closed to make room at the connection cap."
    );
    metrics::describe_counter!(
        "pinframe_connections_waited_total",
        "Times the listener, at the cap, waited for a connection to close or outlive its grace."
    );
    metrics::describe_counter!(
        "pinframe_request_timeouts_total",
        "Requests answered 408: the body did not arrive in time."
    );
    metrics::describe_counter!(
        "pinframe_tokens_total",
        "PIN-control tokens by event: issued, claimed, presented expired."
    );
    metrics::describe_counter!(
        "pinframe_set_refusals_total",
        "Refused set-PIN attempts, by reason (policy code or error code)."
    );
    metrics::describe_histogram!(
        "pinframe_cms_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time the card management system took, by operation and outcome."
    );
}

/// Records one answered request.
pub fn record_request(method: &str, route: &str, status: StatusCode, elapsed: Duration) {
    metrics::counter!(
        "pinframe_http_requests_total",
        "method" => method.to_owned(),
        "route" => route.to_owned(),
        "status" => status.as_str().to_owned()
    )
    .increment(1);
    metrics::histogram!("pinframe_http_request_duration_seconds", "route" => route.to_owned())
        .record(elapsed.as_secs_f64());
}

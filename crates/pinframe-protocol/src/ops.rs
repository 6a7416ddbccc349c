//! What operators and load balancers read: the liveness and readiness checks and the metrics of
//! both servers.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// `GET /readyz`: 200 with [`Readiness`] while the server's database answers; 503 with the usual
/// error body and `Retry-After` while it does not (a load balancer then sends traffic elsewhere).
pub const READY_PATH: &str = "/readyz";

/// `GET /healthz`: 200 `{"status": "alive"}` while the process answers at all.
pub const HEALTH_PATH: &str = "/healthz";

/// `GET /metrics`: the Prometheus text format (unless `--metrics-listen` or `--no-metrics`).
pub const METRICS_PATH: &str = "/metrics";

/// The body of a ready server, `{"status": "ready"}`, or of a live one, `{"status": "alive"}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Readiness {
    pub status: String,
}

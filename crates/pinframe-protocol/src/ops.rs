//! What operators and load balancers read: the readiness check of both servers.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// `GET /readyz`: 200 with [`Readiness`] while the server's database answers; 503 with the usual
/// error body and `Retry-After` while it does not (a load balancer then sends traffic elsewhere).
pub const READY_PATH: &str = "/readyz";

/// The body of a ready server: `{"status": "ready"}`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Readiness {
    pub status: String,
}

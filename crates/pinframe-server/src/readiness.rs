//! `GET /readyz` for both servers: ready while the database answers within a second.

use std::future::Future;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_protocol::ops::Readiness;

use crate::db::StoreError;
use crate::error::AppError;

/// How long the check waits for the database: less than a load balancer's check interval, so a
/// replica whose database is gone is reported as such before the next check.
const READY_WAIT: Duration = Duration::from_secs(1);

/// 200 `{"status":"ready"}` when `check` succeeds in time; otherwise 503 `storage_unavailable`
/// with `Retry-After`, whatever the failure (the detail goes to the log).
pub async fn readiness(check: impl Future<Output = Result<(), StoreError>>) -> Response {
    let failure = match tokio::time::timeout(READY_WAIT, check).await {
        Ok(Ok(())) => return Json(Readiness { status: "ready".to_owned() }).into_response(),
        Ok(Err(e)) => StoreError::unavailable(e.to_string()),
        Err(_) => StoreError::unavailable(format!("no answer within {READY_WAIT:?}")),
    };
    AppError::from(failure).into_response()
}

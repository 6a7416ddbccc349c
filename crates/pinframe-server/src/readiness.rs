//! `GET /readyz` and `GET /healthz` for both servers: ready while the database (and, for the
//! service, the CMS) answers within a second and the server is not draining; alive while it answers.

use std::future::Future;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use axum::Json;
use pinframe_protocol::ops::Readiness;

use crate::db::StoreError;
use crate::error::AppError;
use crate::lifecycle::Lifecycle;

/// How long the check waits for the database: less than a load balancer's check interval, so a
/// replica whose database is gone is reported as such before the next check.
const READY_WAIT: Duration = Duration::from_secs(1);

/// 200 `{"status":"ready"}` when `check` succeeds in time; otherwise 503 `storage_unavailable`
/// with `Retry-After`, whatever the failure (the detail goes to the log); 503 `shutting_down` once
/// the server drains.
pub async fn readiness(lifecycle: &Lifecycle, check: impl Future<Output = Result<(), AppError>>) -> Response {
    if lifecycle.is_draining() {
        return shutting_down();
    }
    let failure = match tokio::time::timeout(READY_WAIT, check).await {
        Ok(Ok(())) if lifecycle.is_draining() => return shutting_down(),
        Ok(Ok(())) => return Json(Readiness { status: "ready".to_owned() }).into_response(),
        Ok(Err(e)) => e,
        Err(_) => AppError::from(StoreError::unavailable(format!("no answer within {READY_WAIT:?}"))),
    };
    failure.into_response()
}

fn shutting_down() -> Response {
    AppError::Unavailable {
        code: "shutting_down",
        message: "This server is shutting down.",
        detail: "draining after a shutdown signal".to_owned(),
    }
    .into_response()
}

/// The database's part of readiness: any failure to answer is the database being unavailable.
pub async fn database(check: impl Future<Output = Result<(), StoreError>>) -> Result<(), AppError> {
    check.await.map_err(|e| AppError::from(StoreError::unavailable(e.to_string())))
}

/// `GET /healthz`: 200 `{"status":"alive"}` while the process answers at all, draining or not.
pub async fn alive() -> Response {
    Json(Readiness { status: "alive".to_owned() }).into_response()
}

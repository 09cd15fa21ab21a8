//! Liveness and readiness probes.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::preflight::Problem;
use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, ToSchema)]
pub struct HealthStatus {
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// The process is up. Does not touch the database.
#[utoipa::path(get, path = "/healthz", tag = "health", responses((status = 200, body = HealthStatus)))]
pub async fn healthz() -> Json<HealthStatus> {
    Json(HealthStatus { status: "ok" })
}

/// Readiness, with what this machine's start-up checks found.
#[derive(Serialize, ToSchema)]
pub struct ReadyStatus {
    /// `ok`, or `degraded` when `problems` lists something that will make bots or recordings
    /// fail (the API itself works).
    #[schema(example = "ok")]
    pub status: &'static str,
    /// Missing tools of the local platform, storage that does not take a write.
    pub problems: Vec<Problem>,
}

/// The server can serve requests: the database answers (else 503). Problems of this machine
/// that would make bots or recordings fail (a missing Chromium, storage that does not take a
/// write) answer 200 with `status: degraded` and the list, so a load balancer keeps the API up.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, body = ReadyStatus),
    (status = 503, description = "database unreachable", body = ErrorBody),
))]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<ReadyStatus>, ApiError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "readiness check failed");
        ApiError::new(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            "database_unavailable",
            "the database is not reachable",
        )
    })?;
    let problems = state.preflight.problems();
    Ok(Json(ReadyStatus {
        status: if problems.is_empty() { "ok" } else { "degraded" },
        problems,
    }))
}

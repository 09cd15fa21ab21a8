//! Pool statistics (the deployment guide's shape) and the infrastructure overview.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiResult, ErrorBody};
use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use meeboter_db::{DbError, bots, events};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The deployment guide's `pool-stats`, plus the platform. For pool platforms the counts
/// are slots; for process and task platforms `total` is the capacity limit, `busy` the
/// active bots and `idle` the rest.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PoolStats {
    pub platform: String,
    pub total: i64,
    pub idle: i64,
    pub busy: i64,
    pub error: i64,
    pub queue_length: i64,
}

/// Capacity of the primary platform and the queue in front of it.
#[utoipa::path(get, path = "/api/bots/pool-stats", tag = "infrastructure",
    responses((status = 200, body = PoolStats), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn pool_stats(State(state): State<AppState>, _caller: Caller) -> ApiResult<Json<PoolStats>> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let queue_length = bots::queue_length(&mut conn).await?;
    let Some(slot) = state.deployer.slots().first() else {
        return Ok(Json(PoolStats {
            platform: "none".into(),
            total: 0,
            idle: 0,
            busy: 0,
            error: 0,
            queue_length,
        }));
    };
    if let Some((total, idle, busy, error)) = slot.platform.pool_counts().await {
        return Ok(Json(PoolStats {
            platform: slot.platform.name().to_string(),
            total,
            idle,
            busy,
            error,
            queue_length,
        }));
    }
    let busy = bots::count_active(&mut conn, slot.platform.name()).await?;
    let total = i64::from(slot.limit);
    Ok(Json(PoolStats {
        platform: slot.platform.name().to_string(),
        total,
        idle: (total - busy).max(0),
        busy,
        error: 0,
        queue_length,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PlatformOverview {
    pub name: String,
    pub capacity: u32,
    pub active: i64,
    /// Recent deploy-call latencies in milliseconds, newest first.
    pub recent_deploy_latencies_ms: Vec<i64>,
    /// Recent deployment errors, newest first.
    pub recent_errors: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Infrastructure {
    /// Platforms in overflow order; the first is the primary.
    pub platforms: Vec<PlatformOverview>,
    /// Why these platforms (auto-detection explained).
    pub selection: String,
    pub warnings: Vec<String>,
    pub queue_length: i64,
    pub pending_release_jobs: i64,
    /// Live bots on platforms that are no longer configured: `{platform: count}`.
    pub orphaned_platforms: std::collections::BTreeMap<String, i64>,
    /// The Coolify pool's slots (empty without a pool).
    pub slots: Vec<SlotView>,
    /// What runs now: one row per deployed live bot (its process, ECS task or slot), up to 200.
    pub instances: Vec<InstanceView>,
    /// The head of the deployment queue, up to 50, in dispatch order.
    pub queue: Vec<QueuedView>,
}

/// One Coolify pool slot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    pub name: String,
    /// `CREATING`, `IDLE`, `DEPLOYING`, `BUSY`, `STOPPING` (released, not yet confirmed stopped
    /// with no deployment in flight) or `ERROR`.
    pub status: String,
    pub bot_id: Option<String>,
    pub application_uuid: Option<String>,
    pub image: String,
    pub last_used_at: Option<DateTime<Utc>>,
    pub status_at: DateTime<Utc>,
    pub error: Option<String>,
    pub recovery_attempts: i64,
}

/// A deployed, live bot and where it runs.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InstanceView {
    pub bot_id: String,
    pub status: String,
    pub platform: String,
    /// Process id, ECS task ARN or Coolify application.
    pub identifier: Option<String>,
    pub deployed_at: Option<DateTime<Utc>>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
}

/// A bot waiting for capacity.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueuedView {
    pub bot_id: String,
    pub priority: i64,
    pub queued_at: Option<DateTime<Utc>>,
}

/// Platforms, capacity, queue and recent deployment health (admin).
#[utoipa::path(get, path = "/api/infrastructure", tag = "infrastructure",
    responses((status = 200, body = Infrastructure), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn infrastructure(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<Infrastructure>> {
    caller.require_admin()?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let recent = events::recent_of_types(&mut conn, &["deployed", "deploy_retry", "status_change"], 200).await?;
    let mut platforms = Vec::new();
    let mut warnings = state.config.platforms.warnings.clone();
    warnings.extend(state.preflight.problems().into_iter().map(|p| p.message));
    // A deployment refused within the last hour usually means a setting to fix (the
    // message names it): say so where operators look first.
    let hour_ago = state.now() - chrono::Duration::hours(1);
    if let Some(failed) = recent
        .iter()
        .find(|e| e.event_type == "status_change" && e.data["subCode"] == "deploy_failed" && e.at > hour_ago)
    {
        let msg = failed.data["message"].as_str().unwrap_or("unknown error");
        warnings.push(format!(
            "deployments are failing (latest {}): {msg}",
            failed.at.to_rfc3339()
        ));
    }
    for slot in state.deployer.slots() {
        let name = slot.platform.name();
        let latencies = recent
            .iter()
            .filter(|e| e.event_type == "deployed" && e.data["platform"] == name)
            .filter_map(|e| e.data["latencyMs"].as_i64())
            .take(20)
            .collect();
        let errors = recent
            .iter()
            .filter(|e| {
                (e.event_type == "deploy_retry" && e.data["platform"] == name)
                    || (e.event_type == "status_change" && e.data["subCode"] == "deploy_failed")
            })
            .map(|e| {
                let msg = e.data["error"]
                    .as_str()
                    .or(e.data["message"].as_str())
                    .unwrap_or("unknown error");
                format!("{} bot {}: {msg}", e.at.to_rfc3339(), e.bot_id)
            })
            .take(10)
            .collect();
        platforms.push(PlatformOverview {
            name: name.to_string(),
            capacity: slot.limit,
            active: bots::count_active(&mut conn, name).await?,
            recent_deploy_latencies_ms: latencies,
            recent_errors: errors,
        });
    }
    let orphaned_platforms = bots::live_platforms(&mut conn)
        .await?
        .into_iter()
        .filter(|(p, _)| state.deployer.get(p).is_none())
        .collect();
    let mut slots = Vec::new();
    for slot in state.deployer.slots() {
        for s in meeboter_db::slots::list(&mut conn, slot.platform.name()).await? {
            slots.push(SlotView {
                name: s.name,
                status: s.status,
                bot_id: s.bot_id,
                application_uuid: s.application_uuid,
                image: s.image,
                last_used_at: s.last_used_at,
                status_at: s.status_at,
                error: s.error,
                recovery_attempts: s.recovery_attempts,
            });
        }
    }
    let instances = bots::list_deployed(&mut conn, 200)
        .await?
        .into_iter()
        .map(|b| InstanceView {
            bot_id: b.id,
            status: b.status.as_str().to_string(),
            platform: b.deployment_platform.unwrap_or_default(),
            identifier: b.deployment_identifier,
            deployed_at: b.deployment_started_at,
            last_heartbeat_at: b.last_heartbeat_at,
        })
        .collect();
    let queue = bots::list_queued(&mut conn, 50)
        .await?
        .into_iter()
        .map(|b| QueuedView {
            bot_id: b.id,
            priority: b.priority,
            queued_at: b.queued_at,
        })
        .collect();
    Ok(Json(Infrastructure {
        slots,
        instances,
        queue,
        platforms,
        selection: state.config.platforms.explanation.clone(),
        warnings,
        queue_length: bots::queue_length(&mut conn).await?,
        pending_release_jobs: meeboter_db::jobs::pending_count(&mut conn).await?,
        orphaned_platforms,
    }))
}

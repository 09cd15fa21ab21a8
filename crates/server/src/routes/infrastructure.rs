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
    let instances: Vec<InstanceView> = bots::list_deployed(&mut conn, 200)
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
    // Why deploying bots are not running yet (a pod the scheduler cannot place), newest
    // first, until they run or the deploy timeout fails them.
    let pending = events::recent_of_types(&mut conn, &["deploy_pending"], 200).await?;
    let mut noted = std::collections::HashSet::new();
    for e in &pending {
        let deploying = instances
            .iter()
            .any(|i| i.bot_id == e.bot_id && i.status == "DEPLOYING");
        if deploying && noted.insert(e.bot_id.clone()) {
            warnings.push(format!(
                "bot {} is not running yet on {}: {}",
                e.bot_id,
                e.data["platform"].as_str().unwrap_or("its platform"),
                e.data["detail"].as_str().unwrap_or("")
            ));
        }
    }
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

/// How far back the charts look.
pub const HISTORY_HOURS: i64 = 24;
/// Samples of the bots-by-status curve: every 15 minutes.
const SAMPLE_MS: i64 = 15 * 60 * 1000;
const HOUR_MS: i64 = 60 * 60 * 1000;
/// The statuses of a bot that is alive (counted in "bots by status").
pub const LIVE_STATUSES: [&str; 7] = [
    "SCHEDULED",
    "QUEUED",
    "DEPLOYING",
    "JOINING_CALL",
    "IN_WAITING_ROOM",
    "IN_CALL",
    "LEAVING",
];
/// Endings that are no failure to join: the user cancelled or asked the bot to leave.
const NOT_A_JOIN_FAILURE: [&str; 2] = ["cancelled", "user_requested"];

/// The last 24 h of the server, hour by hour (and every 15 minutes for the bot counts).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InfrastructureHistory {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// Live bots per status every 15 minutes (the queue length is `QUEUED`).
    pub samples: Vec<StatusSample>,
    /// Deploy-call latency per hour, from the `deployed` events.
    pub deploy_latency: Vec<LatencyBucket>,
    /// Join outcomes per hour: reached the call, or ended without ever getting in (not
    /// counting bots cancelled or told to leave before they joined).
    pub joins: Vec<JoinBucket>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StatusSample {
    pub at: DateTime<Utc>,
    /// Live bots per status (every status of [`LIVE_STATUSES`], zeros included).
    pub by_status: std::collections::BTreeMap<String, i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LatencyBucket {
    /// Start of the hour.
    pub start: DateTime<Utc>,
    pub deployments: i64,
    /// Nearest-rank percentiles in milliseconds; null in an hour without deployments.
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
    pub max_ms: Option<i64>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct JoinBucket {
    pub start: DateTime<Utc>,
    pub joined: i64,
    pub failed: i64,
    /// `joined / (joined + failed)`; null in an hour without outcomes.
    pub success_rate: Option<f64>,
}

fn nearest_rank(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// Builds the history from the raw rows (see `meeboter_db::history`): `before` are the
/// earlier changes of bots alive at `since`, `within` the changes since then, both oldest
/// first; `deployed` the deployments `(at, platform, latency ms)` in the window.
pub fn build_history(
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    before: &[meeboter_db::history::StatusPoint],
    within: &[meeboter_db::history::StatusPoint],
    deployed: &[(DateTime<Utc>, String, i64)],
) -> InfrastructureHistory {
    use std::collections::{BTreeMap, HashMap, HashSet};
    let since_ms = since.timestamp_millis();
    let until_ms = until.timestamp_millis().max(since_ms);
    let mut status: HashMap<&str, &str> = HashMap::new();
    let mut joined_ever: HashSet<&str> = HashSet::new();
    for c in before {
        status.insert(&c.bot_id, &c.status);
        if c.status == "IN_CALL" {
            joined_ever.insert(&c.bot_id);
        }
    }
    let hours = ((until_ms - since_ms + HOUR_MS - 1) / HOUR_MS).max(1) as usize;
    let mut joins: Vec<(i64, i64)> = vec![(0, 0); hours];
    let hour_of = |ms: i64| (((ms - since_ms) / HOUR_MS).max(0) as usize).min(hours - 1);

    let mut samples = Vec::new();
    let mut next = 0;
    let mut t = since_ms;
    loop {
        while next < within.len() && within[next].at.timestamp_millis() <= t {
            let c = &within[next];
            let bot = c.bot_id.as_str();
            if c.status == "IN_CALL" && joined_ever.insert(bot) {
                joins[hour_of(c.at.timestamp_millis())].0 += 1;
            }
            if (c.status == "ENDED" || c.status == "FATAL")
                && !joined_ever.contains(bot)
                && !c.sub_code.as_deref().is_some_and(|s| NOT_A_JOIN_FAILURE.contains(&s))
                && status.get(bot).is_none_or(|s| *s != "ENDED" && *s != "FATAL")
            {
                joins[hour_of(c.at.timestamp_millis())].1 += 1;
            }
            status.insert(bot, &c.status);
            next += 1;
        }
        let mut by_status: BTreeMap<String, i64> = LIVE_STATUSES.iter().map(|s| (s.to_string(), 0)).collect();
        for s in status.values() {
            if let Some(n) = by_status.get_mut(*s) {
                *n += 1;
            }
        }
        samples.push(StatusSample {
            at: meeboter_db::from_millis(t),
            by_status,
        });
        if t >= until_ms {
            break;
        }
        t = (t + SAMPLE_MS).min(until_ms);
    }
    // Changes after the last sample (none when `until` is now) still count as outcomes.
    for c in &within[next..] {
        if c.status == "IN_CALL" && joined_ever.insert(&c.bot_id) {
            joins[hour_of(c.at.timestamp_millis())].0 += 1;
        }
    }

    let mut latencies: Vec<Vec<i64>> = vec![Vec::new(); hours];
    for (at, _, ms) in deployed {
        let at = at.timestamp_millis();
        if at >= since_ms && at <= until_ms {
            latencies[hour_of(at)].push(*ms);
        }
    }
    let start = |i: usize| meeboter_db::from_millis(since_ms + i as i64 * HOUR_MS);
    InfrastructureHistory {
        since,
        until,
        samples,
        deploy_latency: latencies
            .into_iter()
            .enumerate()
            .map(|(i, mut l)| {
                l.sort_unstable();
                LatencyBucket {
                    start: start(i),
                    deployments: l.len() as i64,
                    p50_ms: nearest_rank(&l, 0.5),
                    p95_ms: nearest_rank(&l, 0.95),
                    max_ms: l.last().copied(),
                }
            })
            .collect(),
        joins: joins
            .into_iter()
            .enumerate()
            .map(|(i, (joined, failed))| JoinBucket {
                start: start(i),
                joined,
                failed,
                success_rate: (joined + failed > 0).then(|| joined as f64 / (joined + failed) as f64),
            })
            .collect(),
    }
}

/// Reads and builds the last 24 h (shared by the API and the dashboard's charts).
pub async fn load_history(state: &AppState) -> ApiResult<InfrastructureHistory> {
    let until = state.now();
    let since = until - chrono::Duration::hours(HISTORY_HOURS);
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let (within, before) = meeboter_db::history::status_changes(&mut conn, since).await?;
    let deployed = meeboter_db::history::deployments(&mut conn, since).await?;
    Ok(build_history(since, until, &before, &within, &deployed))
}

/// The last 24 hours, from the database: live bots per status every 15 minutes (the queue
/// length is `QUEUED`), deploy latency percentiles and join success per hour (admin). The
/// dashboard's infrastructure charts draw exactly this.
#[utoipa::path(get, path = "/api/infrastructure/history", tag = "infrastructure",
    responses(
        (status = 200, body = InfrastructureHistory, description = "The last 24 h"),
        (status = 401, body = ErrorBody, description = "No or an unusable API key"),
        (status = 403, body = ErrorBody, description = "Not an admin key"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn history(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<InfrastructureHistory>> {
    caller.require_admin()?;
    Ok(Json(load_history(&state).await?))
}

#[cfg(test)]
mod history_tests {
    use super::*;
    use meeboter_db::history::StatusPoint;

    fn at(min: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-05T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
            + chrono::Duration::minutes(min)
    }

    fn change(bot: &str, status: &str, sub: Option<&str>, min: i64) -> StatusPoint {
        StatusPoint {
            bot_id: bot.into(),
            status: status.into(),
            sub_code: sub.map(Into::into),
            at: at(min),
        }
    }

    #[test]
    fn counts_statuses_over_time_joins_per_hour_and_latency_percentiles() {
        // `a` was in the call before the window; `b` joins; `c` is refused; `d` is cancelled
        // while queued (no join failure); `e` queues and stays queued.
        let before = [change("a", "QUEUED", None, -30), change("a", "IN_CALL", None, -20)];
        let within = [
            change("b", "QUEUED", None, 5),
            change("b", "IN_CALL", None, 20),
            change("c", "QUEUED", None, 70),
            change("c", "FATAL", Some("join_denied"), 80),
            change("d", "QUEUED", None, 90),
            change("d", "ENDED", Some("cancelled"), 95),
            change("e", "QUEUED", None, 100),
            change("a", "ENDED", Some("meeting_ended"), 110),
        ];
        let deployed: Vec<_> = [100, 200, 300, 400]
            .iter()
            .map(|ms| (at(10), "local".to_string(), *ms))
            .collect();
        let h = build_history(at(0), at(24 * 60), &before, &within, &deployed);

        assert_eq!(h.samples.len(), 24 * 4 + 1);
        let count = |i: usize, s: &str| h.samples[i].by_status[s];
        assert_eq!(
            (count(0, "IN_CALL"), count(0, "QUEUED")),
            (1, 0),
            "a in the call at the start"
        );
        assert_eq!((count(1, "IN_CALL"), count(1, "QUEUED")), (1, 1), "00:15: b queued");
        assert_eq!(count(2, "IN_CALL"), 2, "00:30: a and b");
        assert_eq!(count(7, "QUEUED"), 1, "01:45: e queued; c and d are over");
        assert_eq!(count(8, "IN_CALL"), 1, "02:00: a has left");
        assert_eq!(h.samples.last().unwrap().by_status["QUEUED"], 1);

        assert_eq!(h.joins.len(), 24);
        assert_eq!(
            (h.joins[0].joined, h.joins[0].failed, h.joins[0].success_rate),
            (1, 0, Some(1.0))
        );
        assert_eq!(
            (h.joins[1].joined, h.joins[1].failed, h.joins[1].success_rate),
            (0, 1, Some(0.0))
        );
        assert_eq!(h.joins[2].success_rate, None);

        assert_eq!(h.deploy_latency[0].deployments, 4);
        assert_eq!(
            (
                h.deploy_latency[0].p50_ms,
                h.deploy_latency[0].p95_ms,
                h.deploy_latency[0].max_ms
            ),
            (Some(200), Some(400), Some(400))
        );
        assert_eq!(h.deploy_latency[1].p50_ms, None);
    }
}

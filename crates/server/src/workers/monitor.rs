//! Lifecycle monitors and the scheduler: the rules that fire on time rather than on a
//! request. Each rule changes a bot through `lifecycle::transition` (a compare-and-set),
//! so even a rule evaluated twice acts once; the lease keeps replicas from doing the
//! same scan at the same time.

use crate::AppState;
use crate::lifecycle::{self, TransitionOutcome};
use chrono::Duration;
use meeboter_core::BotStatus;
use meeboter_core::lifecycle::sub_code;
use meeboter_db::{DbError, DbResult, bots, idempotency, leases};

/// Lease name shared by every replica's monitor.
pub const LEASE: &str = "lifecycle-monitor";
const BATCH: i64 = 500;

/// What one run did (for logs and tests).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MonitorReport {
    pub leased: bool,
    pub scheduled_queued: usize,
    pub heartbeat_timeouts: usize,
    pub deploy_timeouts: usize,
    pub told_to_leave: usize,
    pub leave_timeouts: usize,
    pub queue_timeouts: usize,
}

const LIVE_IN_MEETING: [BotStatus; 4] = [
    BotStatus::JoiningCall,
    BotStatus::InWaitingRoom,
    BotStatus::InCall,
    BotStatus::Leaving,
];
const NOT_ENDED: [BotStatus; 7] = [
    BotStatus::Scheduled,
    BotStatus::Queued,
    BotStatus::Deploying,
    BotStatus::JoiningCall,
    BotStatus::InWaitingRoom,
    BotStatus::InCall,
    BotStatus::Leaving,
];

async fn apply(state: &AppState, bot_id: &str, to: BotStatus, code: &str, message: &str) -> DbResult<bool> {
    let mut tx = state.db.begin_write().await?;
    let outcome = lifecycle::transition(&mut tx, bot_id, to, Some(code), Some(message), state.now()).await?;
    tx.commit().await?;
    let applied = matches!(outcome, Some(TransitionOutcome::Applied(_)));
    state.heartbeats.forget(bot_id);
    if applied {
        tracing::info!(bot.id = %bot_id, to = %to, sub_code = code, "monitor changed bot status");
    }
    Ok(applied)
}

/// One pass over every rule, if this holder gets the lease.
pub async fn run_once(state: &AppState, holder: &str) -> DbResult<MonitorReport> {
    let cfg = &state.config;
    let now = state.now();
    let ttl = Duration::seconds((cfg.monitor_interval_secs * 3).max(15) as i64);
    {
        let mut tx = state.db.begin_write().await?;
        let leased = leases::try_acquire(&mut tx, LEASE, holder, ttl, now).await?;
        tx.commit().await?;
        if !leased {
            return Ok(MonitorReport::default());
        }
    }
    // Timeouts must see this replica's latest heartbeats.
    state.heartbeats.flush(&state.db, now).await?;
    let mut report = MonitorReport {
        leased: true,
        ..Default::default()
    };
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;

    // Scheduler: due scheduled bots join the deployment queue.
    let due = now + Duration::seconds(cfg.schedule_lead_secs as i64);
    let ids = bots::ids_where_older(&mut conn, &[BotStatus::Scheduled], "join_at", due, BATCH).await?;
    for id in ids {
        if apply(
            state,
            &id,
            BotStatus::Queued,
            sub_code::SCHEDULED_JOIN,
            "joinAt is near",
        )
        .await?
        {
            report.scheduled_queued += 1;
        }
    }

    // Heartbeat timeout: a bot in the meeting that went silent.
    let silent_since = now - Duration::seconds(cfg.heartbeat_timeout_secs as i64);
    let ids = bots::ids_without_heartbeat_since(&mut conn, &LIVE_IN_MEETING, silent_since, BATCH).await?;
    for id in ids {
        let msg = format!("no heartbeat for {} s", cfg.heartbeat_timeout_secs);
        if apply(state, &id, BotStatus::Fatal, sub_code::HEARTBEAT_TIMEOUT, &msg).await? {
            report.heartbeat_timeouts += 1;
            crate::metrics::heartbeat_timeout();
        }
    }

    // Deploy timeout, measured from when deployment started.
    let started_before = now - Duration::seconds(cfg.deploy_timeout_secs as i64);
    let ids = bots::ids_where_older(
        &mut conn,
        &[BotStatus::Deploying],
        "deployment_started_at",
        started_before,
        BATCH,
    )
    .await?;
    for id in ids {
        let msg = format!("still deploying after {} s", cfg.deploy_timeout_secs);
        if apply(state, &id, BotStatus::Fatal, sub_code::DEPLOY_TIMEOUT, &msg).await? {
            report.deploy_timeouts += 1;
        }
    }

    // Max duration: tell the bot to leave (it hears it on its next heartbeat).
    for id in bots::ids_over_max_duration(&mut conn, now, BATCH).await? {
        let mut tx = state.db.begin_write().await?;
        let told = bots::request_leave(&mut tx, &id, sub_code::MAX_DURATION, now).await?;
        tx.commit().await?;
        if told {
            state.heartbeats.forget(&id);
            report.told_to_leave += 1;
        }
    }

    // Leave timeout: told to leave, still not ended → stop it and end it.
    let asked_before = now - Duration::seconds(cfg.leave_timeout_secs as i64);
    let ids = bots::ids_where_older(&mut conn, &NOT_ENDED, "leave_requested_at", asked_before, BATCH).await?;
    for id in ids {
        let reason = bots::find_any(&mut conn, &id)
            .await?
            .and_then(|b| b.leave_reason)
            .unwrap_or_else(|| sub_code::USER_REQUESTED.to_string());
        let msg = format!("did not leave within {} s of being asked", cfg.leave_timeout_secs);
        if apply(state, &id, BotStatus::Ended, &reason, &msg).await? {
            report.leave_timeouts += 1;
        }
    }

    // Queue timeout: waited too long for capacity.
    let queued_before = now - Duration::seconds(cfg.queue_timeout_secs as i64);
    let ids = bots::ids_where_older(&mut conn, &[BotStatus::Queued], "queued_at", queued_before, BATCH).await?;
    for id in ids {
        let msg = format!("no capacity within {} s", cfg.queue_timeout_secs);
        if apply(state, &id, BotStatus::Fatal, sub_code::QUEUE_TIMEOUT, &msg).await? {
            report.queue_timeouts += 1;
        }
    }

    idempotency::purge_expired(&mut conn, now, 1000).await?;
    if report.scheduled_queued + report.heartbeat_timeouts + report.deploy_timeouts + report.leave_timeouts > 0 {
        state.deployer.wake();
    }
    Ok(report)
}

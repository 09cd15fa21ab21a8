//! Drains the deployment queue into free capacity.

use crate::AppState;
use crate::bot_token;
use crate::deployment::PlatformSlot;
use crate::lifecycle::{self, TransitionOutcome};
use chrono::{DateTime, Duration, Utc};
use meeboter_core::BotStatus;
use meeboter_core::lifecycle::sub_code;
use meeboter_db::bots::{self, BotRecord};
use meeboter_db::{DbResult, events};
use meeboter_platforms::{BotLaunch, PlatformError};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Instant;

/// Transient failures are retried this many times in all before the bot fails.
pub const MAX_DEPLOY_ATTEMPTS: i64 = 3;
/// A platform call that takes longer than this counts as a transient failure.
const DEPLOY_CALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(90);

/// How long a bot waits before trying a full platform again.
const FULL_RETRY: Duration = Duration::seconds(5);

/// How long a bot waits in the queue after its `attempt`-th deployment failed transiently.
pub fn retry_delay(attempt: i64) -> Duration {
    Duration::seconds(5 * (1 << (attempt - 1).clamp(0, 6)))
}

/// A bot claimed for deployment.
struct Claimed {
    bot: BotRecord,
    attempt: i64,
    token: String,
}

/// One pass: for each platform in overflow order, claim as many queued bots as it has
/// free capacity and start them. Returns how many bots were started.
pub async fn dispatch_once(state: &AppState) -> DbResult<usize> {
    let mut started = 0;
    for slot in state.deployer.slots() {
        let claimed = claim(state, slot).await?;
        if claimed.is_empty() {
            continue;
        }
        let launches = claimed.into_iter().map(|c| launch(state, slot, c));
        for result in futures::future::join_all(launches).await {
            started += usize::from(result?);
        }
    }
    Ok(started)
}

async fn claim(state: &AppState, slot: &PlatformSlot) -> DbResult<Vec<Claimed>> {
    let name = slot.platform.name();
    let now = state.now();
    // Cheap look first: a full platform needs no write transaction (on SQLite that would
    // take the only write lock from the API on every wake-up).
    {
        let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
        if bots::capacity_in_use(&mut conn, name).await? >= i64::from(slot.limit) {
            return Ok(Vec::new());
        }
    }
    // A pool platform frees capacity when a slot is back in the pool, a moment after its
    // bot ended: do not claim more bots than there are slots to take. (Read before the
    // write transaction: on SQLite a second connection inside it could deadlock the pool.)
    let pool_free = match slot.platform.pool_counts().await {
        Some((total, idle, _, _)) => idle + (i64::from(slot.limit) - total).max(0),
        None => i64::MAX,
    };
    if pool_free <= 0 {
        return Ok(Vec::new());
    }
    let mut tx = state.db.begin_write().await?;
    bots::lock_platform(&mut tx, state.db.backend(), name).await?;
    let active = bots::capacity_in_use(&mut tx, name).await?;
    let free = (i64::from(slot.limit) - active).min(pool_free);
    if free <= 0 {
        return Ok(Vec::new());
    }
    let ids = bots::next_queued(&mut tx, state.db.backend(), now, free).await?;
    let mut claimed = Vec::with_capacity(ids.len());
    for id in ids {
        let outcome = lifecycle::transition(&mut tx, &id, BotStatus::Deploying, None, None, now).await?;
        if !matches!(outcome, Some(TransitionOutcome::Applied(_))) {
            continue;
        }
        let attempt = bots::begin_deployment(&mut tx, &id, name, now).await?;
        let token = bot_token::issue(&mut tx, &state.bot_token_secret, &id, attempt as u32, now).await?;
        if let Some(bot) = bots::find_any(&mut tx, &id).await? {
            claimed.push(Claimed { bot, attempt, token });
        }
    }
    tx.commit().await?;
    Ok(claimed)
}

/// The deployment guide's bot environment.
pub fn bot_environment(state: &AppState, bot: &BotRecord, token: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("BOT_ID".to_string(), bot.id.clone()),
        ("MEETING_URL".to_string(), bot.meeting_url.clone()),
        ("MEETING_PLATFORM".to_string(), bot.platform.bot_env_value().to_string()),
        ("BOT_NAME".to_string(), bot.bot_name.clone()),
        ("API_CALLBACK_URL".to_string(), state.config.api_callback_url()),
        ("MILO_AUTH_TOKEN".to_string(), token.to_string()),
        ("RECORDING_MODE".to_string(), bot.recording_mode.as_str().to_string()),
    ])
}

/// Starts one claimed bot; true if it is now running on the platform. Its own trace root
/// (`bot.deploy`) when traces are exported.
async fn launch(state: &AppState, slot: &PlatformSlot, claimed: Claimed) -> DbResult<bool> {
    use tracing::Instrument;
    let span = tracing::info_span!(
        parent: None,
        "bot.deploy",
        otel.name = "deploy bot",
        bot.id = %claimed.bot.id,
        bot.attempt = claimed.attempt,
        platform = slot.platform.name(),
        deploy.outcome = tracing::field::Empty,
    );
    let started = launch_in_span(state, slot, claimed).instrument(span.clone()).await;
    span.record(
        "deploy.outcome",
        match &started {
            Ok(true) => "started",
            Ok(false) => "not_started",
            Err(_) => "error",
        },
    );
    started
}

async fn launch_in_span(state: &AppState, slot: &PlatformSlot, claimed: Claimed) -> DbResult<bool> {
    let Claimed { bot, attempt, token } = claimed;
    let launch = BotLaunch {
        bot_id: bot.id.clone(),
        attempt: attempt as u32,
        max_duration_secs: bot.automatic_leave.max_duration_secs,
        env: bot_environment(state, &bot, &token),
    };
    let started = Instant::now();
    let (result, failure) = match tokio::time::timeout(DEPLOY_CALL_TIMEOUT, slot.platform.deploy(&launch)).await {
        Ok(Ok(r)) => (Ok(r), None),
        Ok(Err(e)) => {
            let reason = match e {
                PlatformError::Transient(_) => "transient",
                PlatformError::Permanent(_) => "permanent",
                PlatformError::Full(_) => "full",
            };
            (Err(e), Some(reason))
        }
        Err(_) => (
            Err(PlatformError::Transient(format!(
                "the platform did not answer within {} s",
                DEPLOY_CALL_TIMEOUT.as_secs()
            ))),
            Some("timeout"),
        ),
    };
    crate::metrics::deploy_finished(slot.platform.name(), started.elapsed(), failure);
    let latency_ms = started.elapsed().as_millis() as i64;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let ok = match result {
        Ok(launched) => {
            let recorded =
                bots::set_deployment(&mut tx, &bot.id, slot.platform.name(), Some(&launched.identifier), now).await?;
            if !recorded {
                // The bot was deleted while the platform call ran: its release job knew no
                // identifier, so the instance is released from here (the job outlives the
                // bot and counts against capacity until the instance is stopped).
                meeboter_db::jobs::enqueue_release(
                    &mut tx,
                    &bot.id,
                    Some(slot.platform.name()),
                    Some(&launched.identifier),
                    "deleted during launch",
                    now,
                )
                .await?;
                tx.commit().await?;
                state.deployer.wake();
                state.heartbeats.forget(&bot.id);
                tracing::info!(bot.id = %bot.id, platform = slot.platform.name(), "bot deleted during launch; stopping its instance");
                return Ok(false);
            }
            // The bot may have ended while the platform call ran (it can be that fast, or
            // time out): its release job then knew no identifier, so release it from here.
            if bots::find_any(&mut tx, &bot.id)
                .await?
                .is_some_and(|b| b.status.is_terminal())
            {
                meeboter_db::jobs::enqueue_release(
                    &mut tx,
                    &bot.id,
                    Some(slot.platform.name()),
                    Some(&launched.identifier),
                    "ended during launch",
                    now,
                )
                .await?;
                state.deployer.wake();
            }
            let data = json!({"platform": slot.platform.name(), "identifier": launched.identifier, "attempt": attempt, "latencyMs": latency_ms});
            events::insert(&mut tx, &bot.id, "deployed", &data, now).await?;
            tracing::info!(bot.id = %bot.id, platform = slot.platform.name(), latency_ms, "bot deployed");
            true
        }
        Err(_) if bots::find_any(&mut tx, &bot.id).await?.is_none() => {
            // Deleted meanwhile and nothing was started: nothing to record or release.
            false
        }
        Err(PlatformError::Full(msg)) => {
            // No room on the platform (a full quota, throttling): back to the queue as if
            // capacity were taken, without spending an attempt.
            let data = json!({"platform": slot.platform.name(), "attempt": attempt, "error": msg, "full": true, "retryInSecs": FULL_RETRY.num_seconds()});
            requeue(&mut tx, &bot.id, &data, &msg, now, now + FULL_RETRY).await?;
            bots::refund_attempt(&mut tx, &bot.id).await?;
            tracing::info!(bot.id = %bot.id, error = %msg, "platform full; the bot waits in the queue");
            false
        }
        Err(PlatformError::Transient(msg)) if attempt < MAX_DEPLOY_ATTEMPTS => {
            let retry_in = retry_delay(attempt);
            let data = json!({"platform": slot.platform.name(), "attempt": attempt, "error": msg, "retryInSecs": retry_in.num_seconds()});
            requeue(&mut tx, &bot.id, &data, &msg, now, now + retry_in).await?;
            tracing::warn!(bot.id = %bot.id, attempt, error = %msg, "deploy failed; will retry");
            false
        }
        Err(e) => {
            let msg = match e {
                PlatformError::Transient(m) => format!("{m} (after {attempt} attempts)"),
                PlatformError::Permanent(m) | PlatformError::Full(m) => m,
            };
            lifecycle::transition(
                &mut tx,
                &bot.id,
                BotStatus::Fatal,
                Some(sub_code::DEPLOY_FAILED),
                Some(&msg),
                now,
            )
            .await?;
            tracing::warn!(bot.id = %bot.id, error = %msg, "deploy failed");
            false
        }
    };
    tx.commit().await?;
    state.heartbeats.forget(&bot.id);
    Ok(ok)
}

/// Puts a bot whose deploy did not happen back in the queue as `QUEUED/deploy_retry`, with the
/// `deploy_retry` event saying why, to be tried again at `retry_at`.
async fn requeue(
    conn: &mut meeboter_db::AnyConnection,
    bot_id: &str,
    data: &serde_json::Value,
    reason: &str,
    now: DateTime<Utc>,
    retry_at: DateTime<Utc>,
) -> DbResult<()> {
    events::insert(conn, bot_id, "deploy_retry", data, now).await?;
    lifecycle::transition(
        conn,
        bot_id,
        BotStatus::Queued,
        Some(sub_code::DEPLOY_RETRY),
        Some(reason),
        now,
    )
    .await?;
    bots::defer_deployment(conn, bot_id, retry_at).await
}

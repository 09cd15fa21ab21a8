//! Compares what the database believes with what the platforms report.
//!
//! - A live bot whose instance stopped or vanished without reporting an end is failed
//!   (`FATAL`, with the platform's reason), which also frees its capacity.
//! - A deploying bot whose identifier was never stored (the server died between starting
//!   it and recording it) is adopted if the platform finds it, or put back in the queue
//!   if it was never started — so no bot is lost and none is started twice.

use crate::AppState;
use crate::deployment::dispatcher;
use crate::lifecycle::{self, TransitionOutcome};
use chrono::Duration;
use meeboter_core::BotStatus;
use meeboter_core::lifecycle::sub_code;
use meeboter_db::{DbResult, bots};
use meeboter_platforms::InstanceState;

/// A launch this old without a recorded identifier is considered interrupted.
const UNRECORDED_GRACE: i64 = 120;

/// How long a platform watch lease lasts without renewal (renewed on every pass).
const WATCH_LEASE_TTL: i64 = 30;

/// This process's holder name for watch leases.
fn watch_holder() -> &'static str {
    static HOLDER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOLDER.get_or_init(|| format!("watch-{}", meeboter_core::new_id().simple()))
}

/// Takes or renews the platform's watch lease; the platform watches while it is held, so
/// one replica turns watch events into bot facts.
async fn hold_watch_lease(state: &AppState, name: &str) -> DbResult<bool> {
    let mut tx = state.db.begin_write().await?;
    let got = meeboter_db::leases::try_acquire(
        &mut tx,
        &format!("platform-watch:{name}"),
        watch_holder(),
        Duration::seconds(WATCH_LEASE_TTL),
        state.now(),
    )
    .await?;
    tx.commit().await?;
    Ok(got)
}

/// One pass over every configured platform; returns how many bots changed.
pub async fn reconcile_once(state: &AppState) -> DbResult<usize> {
    let mut changed = 0;
    for slot in state.deployer.slots() {
        let name = slot.platform.name();
        if slot.platform.watches() {
            let held = hold_watch_lease(state, name).await?;
            slot.platform.set_watching(held).await;
        }
        slot.platform.maintain().await;
        let live = {
            let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
            bots::live_on_platform(&mut conn, name).await?
        };
        // Observe every bot that is due in one batch (ECS describes 100 tasks per call).
        let due: Vec<String> = live
            .iter()
            .filter_map(|(bot_id, _, identifier, _, _)| {
                let identifier = identifier.as_ref()?;
                state
                    .deployer
                    .due_for_observation(bot_id, slot.platform.observe_interval())
                    .then(|| identifier.clone())
            })
            .collect();
        let observed = if due.is_empty() {
            Default::default()
        } else {
            slot.platform.observe_many(&due).await.unwrap_or_else(|e| {
                tracing::debug!(platform = name, error = %e, "observation failed; trying again later");
                Default::default()
            })
        };
        for (bot_id, status, identifier, attempt, started) in live {
            let now = state.now();
            match identifier {
                Some(identifier) => {
                    let reason = match observed.get(&identifier) {
                        None | Some(InstanceState::Running) => continue,
                        Some(InstanceState::Pending { detail }) => {
                            if status == BotStatus::Deploying {
                                note_pending(state, &bot_id, name, detail).await?;
                            }
                            continue;
                        }
                        Some(InstanceState::Unstartable { reason }) => {
                            if apply(state, &bot_id, BotStatus::Fatal, sub_code::DEPLOY_FAILED, reason).await? {
                                crate::metrics::deploy_failed(name, "unstartable");
                                changed += 1;
                            }
                            continue;
                        }
                        Some(InstanceState::DeployFailed { reason }) if status == BotStatus::Deploying => {
                            if retry_deploy(state, &bot_id, name, attempt, reason).await? {
                                crate::metrics::deploy_failed(name, "deployment_failed");
                                changed += 1;
                            }
                            continue;
                        }
                        Some(InstanceState::DeployFailed { reason }) => reason.clone(),
                        Some(InstanceState::Stopped { reason }) => reason.clone(),
                        Some(InstanceState::Gone) => format!("the {name} platform has no trace of the bot"),
                    };
                    let code = if name == "local" {
                        sub_code::BROWSER_CRASHED
                    } else {
                        sub_code::PLATFORM_STOPPED
                    };
                    let msg = format!("bot stopped without reporting an end: {reason}");
                    if apply(state, &bot_id, BotStatus::Fatal, code, &msg).await? {
                        changed += 1;
                    }
                }
                None if status == BotStatus::Deploying
                    && started.is_some_and(|t| now - t > Duration::seconds(UNRECORDED_GRACE)) =>
                {
                    match slot.platform.find(&bot_id, attempt as u32).await {
                        Ok(Some(found)) => {
                            let mut tx = state.db.begin_write().await?;
                            bots::set_deployment(&mut tx, &bot_id, name, Some(&found.identifier), now).await?;
                            tx.commit().await?;
                            tracing::info!(bot.id = %bot_id, identifier = %found.identifier, "adopted a bot whose launch was not recorded");
                        }
                        Ok(None) => {
                            let msg = "the deployment was interrupted before the bot started; queued again";
                            if apply(state, &bot_id, BotStatus::Queued, sub_code::DEPLOY_INTERRUPTED, msg).await? {
                                changed += 1;
                            }
                        }
                        Err(_) => {}
                    }
                }
                None => {}
            }
        }
    }
    if changed > 0 {
        state.deployer.wake();
    }
    Ok(changed)
}

/// How often each platform's instances are compared with the live bots.
pub const SWEEP_EVERY: Duration = Duration::seconds(60);

/// Stops instances this installation started that no live bot owns (a launch whose bot
/// ended before its identifier was recorded, a retry's abandoned first attempt, a task
/// left behind by a crash). One replica at a time, under a lease per platform. The
/// platform lists first and the database is read after, so a bot claimed meanwhile is
/// seen as live. Returns how many instances were stopped.
pub async fn sweep_orphans(state: &AppState, holder: &str) -> DbResult<usize> {
    let mut stopped = 0;
    for slot in state.deployer.slots() {
        let name = slot.platform.name();
        let now = state.now();
        {
            let mut tx = state.db.begin_write().await?;
            let lease = format!("orphan-sweep:{name}");
            // A fresh holder per attempt: the lease then means "swept within the last
            // minute" across all replicas, not "this replica may sweep at will".
            let attempt_holder = format!("{holder}-{}", now.timestamp_millis());
            let got = meeboter_db::leases::try_acquire(&mut tx, &lease, &attempt_holder, SWEEP_EVERY, now).await?;
            tx.commit().await?;
            if !got {
                continue;
            }
        }
        let instances = match slot.platform.instances().await {
            Ok(Some(list)) => list,
            Ok(None) => continue,
            Err(e) => {
                tracing::debug!(platform = name, error = %e, "cannot list instances; sweep later");
                continue;
            }
        };
        let live: std::collections::HashMap<String, i64> = {
            let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
            bots::live_on_platform(&mut conn, name)
                .await?
                .into_iter()
                .map(|(bot_id, _, _, attempt, _)| (bot_id, attempt))
                .collect()
        };
        for instance in instances {
            if live.get(&instance.bot_id) == Some(&i64::from(instance.attempt)) {
                continue;
            }
            tracing::warn!(platform = name, identifier = %instance.identifier, bot.id = %instance.bot_id, attempt = instance.attempt, "stopping an instance no live bot owns");
            match slot.platform.stop(&instance.identifier).await {
                Ok(()) => stopped += 1,
                Err(e) => tracing::warn!(platform = name, error = %e, "could not stop an orphan; next sweep retries"),
            }
        }
    }
    Ok(stopped)
}

/// A deployment the platform could not bring up is a transient deploy failure: queued
/// again with the dispatcher's backoff while attempts remain, then `FATAL/deploy_failed`.
async fn retry_deploy(state: &AppState, bot_id: &str, platform: &str, attempt: i64, reason: &str) -> DbResult<bool> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let outcome = if attempt < dispatcher::MAX_DEPLOY_ATTEMPTS {
        let retry_in = dispatcher::retry_delay(attempt);
        let outcome = lifecycle::transition(
            &mut tx,
            bot_id,
            BotStatus::Queued,
            Some(sub_code::DEPLOY_RETRY),
            Some(reason),
            now,
        )
        .await?;
        if matches!(outcome, Some(TransitionOutcome::Applied(_))) {
            let data = serde_json::json!({"platform": platform, "attempt": attempt, "error": reason, "retryInSecs": retry_in.num_seconds()});
            meeboter_db::events::insert(&mut tx, bot_id, "deploy_retry", &data, now).await?;
            bots::defer_deployment(&mut tx, bot_id, now + retry_in).await?;
            tracing::warn!(bot.id = %bot_id, attempt, error = %reason, "deployment failed; will retry");
        }
        outcome
    } else {
        let msg = format!("{reason} (after {attempt} attempts)");
        lifecycle::transition(
            &mut tx,
            bot_id,
            BotStatus::Fatal,
            Some(sub_code::DEPLOY_FAILED),
            Some(&msg),
            now,
        )
        .await?
    };
    tx.commit().await?;
    state.heartbeats.forget(bot_id);
    Ok(matches!(outcome, Some(TransitionOutcome::Applied(_))))
}

/// Records why a deploying bot is not running yet (`deploy_pending` event, shown on the
/// infrastructure page), once per distinct detail: watch restarts do not repeat it.
async fn note_pending(state: &AppState, bot_id: &str, platform: &str, detail: &str) -> DbResult<()> {
    let mut tx = state.db.begin_write().await?;
    let last = meeboter_db::events::list(&mut tx, bot_id, None, &["deploy_pending".to_string()], 1000).await?;
    if last.last().is_none_or(|e| e.data["detail"] != detail) {
        let data = serde_json::json!({"platform": platform, "detail": detail});
        meeboter_db::events::insert(&mut tx, bot_id, "deploy_pending", &data, state.now()).await?;
        tracing::info!(bot.id = %bot_id, platform, detail, "bot not running yet");
    }
    tx.commit().await?;
    Ok(())
}

async fn apply(state: &AppState, bot_id: &str, to: BotStatus, code: &str, message: &str) -> DbResult<bool> {
    let mut tx = state.db.begin_write().await?;
    let outcome = lifecycle::transition(&mut tx, bot_id, to, Some(code), Some(message), state.now()).await?;
    tx.commit().await?;
    state.heartbeats.forget(bot_id);
    Ok(matches!(outcome, Some(TransitionOutcome::Applied(_))))
}

//! Compares what the database believes with what the platforms report.
//!
//! - A live bot whose instance stopped or vanished without reporting an end is failed
//!   (`FATAL`, with the platform's reason), which also frees its capacity.
//! - A deploying bot whose identifier was never stored (the server died between starting
//!   it and recording it) is adopted if the platform finds it, or put back in the queue
//!   if it was never started — so no bot is lost and none is started twice.

use crate::AppState;
use crate::lifecycle::{self, TransitionOutcome};
use chrono::Duration;
use meeboter_core::BotStatus;
use meeboter_core::lifecycle::sub_code;
use meeboter_db::{DbResult, bots};
use meeboter_platforms::InstanceState;

/// A launch this old without a recorded identifier is considered interrupted.
const UNRECORDED_GRACE: i64 = 120;

/// One pass over every configured platform; returns how many bots changed.
pub async fn reconcile_once(state: &AppState) -> DbResult<usize> {
    let mut changed = 0;
    for slot in state.deployer.slots() {
        let name = slot.platform.name();
        slot.platform.maintain().await;
        let live = {
            let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
            bots::live_on_platform(&mut conn, name).await?
        };
        for (bot_id, status, identifier, attempt, started) in live {
            let now = state.now();
            match identifier {
                Some(identifier) => {
                    if !state
                        .deployer
                        .due_for_observation(&bot_id, slot.platform.observe_interval())
                    {
                        continue;
                    }
                    let reason = match slot.platform.observe(&identifier).await {
                        Ok(InstanceState::Running) | Err(_) => continue,
                        Ok(InstanceState::Stopped { reason }) => reason,
                        Ok(InstanceState::Gone) => format!("the {name} platform has no trace of the bot"),
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
                            if apply(state, &bot_id, BotStatus::Queued, "deploy_interrupted", msg).await? {
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

async fn apply(state: &AppState, bot_id: &str, to: BotStatus, code: &str, message: &str) -> DbResult<bool> {
    let mut tx = state.db.begin_write().await?;
    let outcome = lifecycle::transition(&mut tx, bot_id, to, Some(code), Some(message), state.now()).await?;
    tx.commit().await?;
    state.heartbeats.forget(bot_id);
    Ok(matches!(outcome, Some(TransitionOutcome::Applied(_))))
}

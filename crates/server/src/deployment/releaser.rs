//! Releases terminal bots' resources through the platform they ran on.

use crate::AppState;
use chrono::Duration;
use meeboter_db::{DbResult, jobs};

const MAX_RELEASE_ATTEMPTS: i64 = 10;

/// Claims and runs due release jobs; returns how many were handled.
pub async fn release_once(state: &AppState) -> DbResult<usize> {
    let now = state.now();
    let claimed = {
        let mut tx = state.db.begin_write().await?;
        let rows = jobs::claim_due(
            &mut tx,
            state.db.backend(),
            "release",
            now,
            now + Duration::seconds(120),
            16,
        )
        .await?;
        tx.commit().await?;
        rows
    };
    let n = claimed.len();
    for job in claimed {
        let (status, error, retry_at) = match (job.platform.as_deref(), job.identifier.as_deref()) {
            (_, None) => ("done", None, None), // never started
            (Some(name), Some(identifier)) => match state.deployer.get(name) {
                None => {
                    tracing::warn!(bot.id = %job.bot_id, platform = name, "cannot release: platform no longer configured");
                    ("failed", Some(format!("platform {name} is no longer configured")), None)
                }
                Some(slot) => match slot.platform.stop(identifier).await {
                    Ok(()) => ("done", None, None),
                    Err(e) if job.attempts < MAX_RELEASE_ATTEMPTS => {
                        let wait = Duration::seconds(5 * (1 << (job.attempts - 1).clamp(0, 6)));
                        ("pending", Some(e.to_string()), Some(state.now() + wait))
                    }
                    Err(e) => ("failed", Some(e.to_string()), None),
                },
            },
            (None, Some(_)) => ("failed", Some("no platform recorded".to_string()), None),
        };
        let mut tx = state.db.begin_write().await?;
        jobs::finish(&mut tx, &job.id, status, error.as_deref(), retry_at, state.now()).await?;
        tx.commit().await?;
        if status == "done" {
            tracing::info!(bot.id = %job.bot_id, reason = job.reason.as_deref().unwrap_or(""), "bot resources released");
        }
    }
    if n > 0 {
        state.deployer.wake();
    }
    Ok(n)
}

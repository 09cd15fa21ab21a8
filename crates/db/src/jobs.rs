//! Work for the deployment layer (deploy a bot, release its resources), enqueued in the
//! same transaction as the status change that calls for it.

use crate::{AnyConnection, DbResult, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct DeploymentJob {
    pub id: String,
    pub bot_id: String,
    pub kind: String,
    pub platform: Option<String>,
    pub identifier: Option<String>,
    pub reason: Option<String>,
    pub status: String,
}

/// Enqueues the release of a bot's platform resources.
pub async fn enqueue_release(
    conn: &mut AnyConnection,
    bot_id: &str,
    platform: Option<&str>,
    identifier: Option<&str>,
    reason: &str,
    now: DateTime<Utc>,
) -> DbResult<String> {
    let id = meeboter_core::new_id().to_string();
    sqlx::query(
        "INSERT INTO deployment_jobs (id, bot_id, kind, platform, identifier, reason, status, run_after, created_at)
         VALUES ($1, $2, 'release', $3, $4, $5, 'pending', $6, $6)",
    )
    .bind(&id)
    .bind(bot_id)
    .bind(platform)
    .bind(identifier)
    .bind(reason)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(id)
}

/// Jobs of one bot, oldest first.
pub async fn for_bot(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Vec<DeploymentJob>> {
    let rows = sqlx::query(
        "SELECT id, bot_id, kind, platform, identifier, reason, status FROM deployment_jobs WHERE bot_id = $1 ORDER BY id",
    )
    .bind(bot_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| DeploymentJob {
            id: r.get(0),
            bot_id: r.get(1),
            kind: r.get(2),
            platform: r.get(3),
            identifier: r.get(4),
            reason: r.get(5),
            status: r.get(6),
        })
        .collect())
}

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
    pub attempts: i64,
}

fn job_from_row(r: &sqlx::any::AnyRow) -> DeploymentJob {
    DeploymentJob {
        id: r.get(0),
        bot_id: r.get(1),
        kind: r.get(2),
        platform: r.get(3),
        identifier: r.get(4),
        reason: r.get(5),
        status: r.get(6),
        attempts: r.get(7),
    }
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
        "SELECT id, bot_id, kind, platform, identifier, reason, status, attempts FROM deployment_jobs WHERE bot_id = $1 ORDER BY id",
    )
    .bind(bot_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(job_from_row).collect())
}

/// Claims up to `limit` due jobs of `kind` until `lease_until`.
pub async fn claim_due(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    kind: &str,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<DeploymentJob>> {
    let lock = match backend {
        crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        crate::Backend::Sqlite => "",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE deployment_jobs SET lease_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM deployment_jobs
                      WHERE kind = $2 AND status = 'pending' AND run_after <= $3 AND (lease_until IS NULL OR lease_until < $3)
                      ORDER BY run_after LIMIT $4{lock})
         RETURNING id, bot_id, kind, platform, identifier, reason, status, attempts"
    )))
    .bind(to_millis(lease_until))
    .bind(kind)
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(job_from_row).collect())
}

/// Marks a job finished (`done` or `failed`) or schedules a retry (`pending` at `retry_at`).
pub async fn finish(
    conn: &mut AnyConnection,
    id: &str,
    status: &str,
    error: Option<&str>,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE deployment_jobs SET status = $1, last_error = $2, run_after = COALESCE($3, run_after),
             lease_until = NULL, finished_at = CASE WHEN $1 = 'pending' THEN NULL ELSE $4 END
         WHERE id = $5",
    )
    .bind(status)
    .bind(error)
    .bind(retry_at.map(to_millis))
    .bind(to_millis(now))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Pending jobs (for statistics).
pub async fn pending_count(conn: &mut AnyConnection) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM deployment_jobs WHERE status = 'pending'")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get::<i64, _>(0))
}

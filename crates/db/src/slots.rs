//! Pool slots: pre-provisioned bot containers (Coolify applications) and which bot holds each.

use crate::{AnyConnection, Backend, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq)]
pub struct SlotRecord {
    pub id: String,
    pub platform: String,
    pub name: String,
    pub application_uuid: Option<String>,
    pub image: String,
    /// `CREATING`, `IDLE`, `DEPLOYING`, `BUSY`, `STOPPING` (released; idle once Coolify
    /// confirms the application stopped and no deployment of it is queued or running) or
    /// `ERROR`.
    pub status: String,
    pub bot_id: Option<String>,
    pub deployment_uuid: Option<String>,
    pub error: Option<String>,
    pub recovery_attempts: i64,
    pub last_used_at: Option<DateTime<Utc>>,
    pub status_at: DateTime<Utc>,
    /// The newest deployment this installation saw for the application (kept across bots).
    pub last_deployment_uuid: Option<String>,
}

const COLUMNS: &str = "id, platform, name, application_uuid, image, status, bot_id, deployment_uuid, error, \
    recovery_attempts, last_used_at, status_at, last_deployment_uuid";

fn from_row(r: &AnyRow) -> SlotRecord {
    SlotRecord {
        id: r.get(0),
        platform: r.get(1),
        name: r.get(2),
        application_uuid: r.get(3),
        image: r.get(4),
        status: r.get(5),
        bot_id: r.get(6),
        deployment_uuid: r.get(7),
        error: r.get(8),
        recovery_attempts: r.get(9),
        last_used_at: r.get::<Option<i64>, _>(10).map(from_millis),
        status_at: from_millis(r.get(11)),
        last_deployment_uuid: r.get(12),
    }
}

/// Reserves a new slot row in `CREATING` (before its application exists, so a crash
/// leaves a visible record to clean up rather than an unknown application) — unless the
/// platform already has `limit` slots. Counting and inserting happen under the platform's
/// lock, so concurrent creators (on-demand and idle-minimum, several replicas) never
/// exceed the limit.
pub async fn insert_creating(
    conn: &mut AnyConnection,
    backend: Backend,
    platform: &str,
    name: &str,
    image: &str,
    limit: i64,
    now: DateTime<Utc>,
) -> DbResult<Option<SlotRecord>> {
    crate::bots::lock_platform(conn, backend, platform).await?;
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM pool_slots WHERE platform = $1")
        .bind(platform)
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    if total >= limit {
        return Ok(None);
    }
    let id = meeboter_core::new_id().to_string();
    sqlx::query(
        "INSERT INTO pool_slots (id, platform, name, image, status, status_at, created_at)
         VALUES ($1, $2, $3, $4, 'CREATING', $5, $5)",
    )
    .bind(&id)
    .bind(platform)
    .bind(name)
    .bind(image)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    find(conn, &id).await
}

pub async fn find(conn: &mut AnyConnection, id: &str) -> DbResult<Option<SlotRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pool_slots WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn find_by_bot(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Option<SlotRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pool_slots WHERE bot_id = $1"
    )))
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn list(conn: &mut AnyConnection, platform: &str) -> DbResult<Vec<SlotRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM pool_slots WHERE platform = $1 ORDER BY name"
    )))
    .bind(platform)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Atomically gives the least recently used idle slot (with `image`) to `bot_id`.
pub async fn acquire_idle(
    conn: &mut AnyConnection,
    backend: Backend,
    platform: &str,
    image: &str,
    bot_id: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<SlotRecord>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE pool_slots SET status = 'DEPLOYING', bot_id = $1, deployment_uuid = NULL, error = NULL, status_at = $2
         WHERE status = 'IDLE' AND id = (SELECT id FROM pool_slots WHERE platform = $3 AND status = 'IDLE' AND image = $4
                                         ORDER BY COALESCE(last_used_at, 0), name LIMIT 1{lock})
         RETURNING {COLUMNS}"
    )))
    .bind(bot_id)
    .bind(to_millis(now))
    .bind(platform)
    .bind(image)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// A change to a slot.
#[derive(Debug, Clone, Copy, Default)]
pub struct SlotUpdate<'a> {
    pub status: &'a str,
    /// `Some(Some(id))` assigns a bot, `Some(None)` clears it, `None` leaves it.
    pub bot: Option<Option<&'a str>>,
    pub application_uuid: Option<&'a str>,
    pub deployment_uuid: Option<&'a str>,
    pub error: Option<&'a str>,
}

/// Changes a slot's state.
pub async fn update(conn: &mut AnyConnection, id: &str, change: SlotUpdate<'_>, now: DateTime<Utc>) -> DbResult<()> {
    update_where(conn, id, None, None, change, now).await.map(|_| ())
}

/// Changes a slot's state only while it is still `STOPPING` (compare-and-set: another
/// replica's drain may have returned it to the pool, and a bot taken it, meanwhile). True
/// if the change was made.
pub async fn update_stopping(
    conn: &mut AnyConnection,
    id: &str,
    change: SlotUpdate<'_>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    update_where(conn, id, None, Some("STOPPING"), change, now).await
}

/// Changes a slot's state only while `bot_id` still holds it (compare-and-set): a slow
/// observation or launch must not overwrite a release that happened meanwhile. True if
/// the change was made.
pub async fn update_held(
    conn: &mut AnyConnection,
    id: &str,
    bot_id: &str,
    change: SlotUpdate<'_>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    update_where(conn, id, Some(bot_id), None, change, now).await
}

async fn update_where(
    conn: &mut AnyConnection,
    id: &str,
    held_by: Option<&str>,
    in_status: Option<&str>,
    change: SlotUpdate<'_>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let SlotUpdate {
        status,
        bot,
        application_uuid,
        deployment_uuid,
        error,
    } = change;
    let (set_bot, bot_value) = match bot {
        None => (0i64, None),
        Some(b) => (1, b),
    };
    let done = sqlx::query(
        "UPDATE pool_slots SET status = $1, status_at = $2, error = $3,
             bot_id = CASE WHEN $4 = 1 THEN $5 ELSE bot_id END,
             application_uuid = COALESCE($6, application_uuid),
             deployment_uuid = CASE WHEN $7 IS NOT NULL THEN $7 WHEN $1 IN ('IDLE', 'ERROR') THEN NULL ELSE deployment_uuid END,
             last_deployment_uuid = COALESCE($7, last_deployment_uuid),
             last_used_at = CASE WHEN $1 = 'IDLE' AND $4 = 1 THEN $2 ELSE last_used_at END
         WHERE id = $8 AND ($9 IS NULL OR bot_id = $9) AND ($10 IS NULL OR status = $10)",
    )
    .bind(status)
    .bind(to_millis(now))
    .bind(error)
    .bind(set_bot)
    .bind(bot_value)
    .bind(application_uuid)
    .bind(deployment_uuid)
    .bind(id)
    .bind(held_by)
    .bind(in_status)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Takes an idle slot out of the pool to delete it (compare-and-set on `IDLE`, so a slot
/// being acquired at the same moment is never retired); `why` is kept as its error text
/// in case the deletion fails. True if this caller got it.
pub async fn mark_retiring(conn: &mut AnyConnection, id: &str, why: &str, now: DateTime<Utc>) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE pool_slots SET status = 'ERROR', error = $3, status_at = $1
         WHERE id = $2 AND status = 'IDLE' AND bot_id IS NULL",
    )
    .bind(to_millis(now))
    .bind(id)
    .bind(why)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Marks a slot still held by `bot_id` (`DEPLOYING`/`BUSY`) as `ERROR` so recovery resets
/// it — the safety net for a release that never came. Compare-and-set on the holder, so a
/// slot that was released and taken again meanwhile is left alone.
pub async fn abandon(conn: &mut AnyConnection, id: &str, bot_id: &str, now: DateTime<Utc>) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE pool_slots SET status = 'ERROR', error = 'held by a bot that has ended', bot_id = NULL, status_at = $1
         WHERE id = $2 AND bot_id = $3 AND status IN ('DEPLOYING', 'BUSY')",
    )
    .bind(to_millis(now))
    .bind(id)
    .bind(bot_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn bump_recovery(conn: &mut AnyConnection, id: &str) -> DbResult<i64> {
    let row = sqlx::query(
        "UPDATE pool_slots SET recovery_attempts = recovery_attempts + 1 WHERE id = $1 RETURNING recovery_attempts",
    )
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get(0))
}

pub async fn reset_recovery(conn: &mut AnyConnection, id: &str) -> DbResult<()> {
    sqlx::query("UPDATE pool_slots SET recovery_attempts = 0 WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn delete(conn: &mut AnyConnection, id: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM pool_slots WHERE id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Slot counts by status for one platform.
pub async fn counts(conn: &mut AnyConnection, platform: &str) -> DbResult<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT status, COUNT(*) FROM pool_slots WHERE platform = $1 GROUP BY status")
        .bind(platform)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

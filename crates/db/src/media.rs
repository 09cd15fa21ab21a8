//! The index of what a bot produced in storage (screenshots, recording chunks, assembled
//! recording parts) and the recording's lifecycle on the bot row.
//!
//! Objects live in storage; rows here make listing, idempotent uploads and retention
//! possible without scanning the store. A chunk row is written only after the object is
//! confirmed in storage, so a row always means "this data exists".

use crate::{AnyConnection, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

/// One stored object of a bot.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRecord {
    pub id: String,
    pub bot_id: String,
    /// `screenshot`, `chunk` or `recording`.
    pub kind: String,
    pub label: String,
    pub storage_key: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub sha256: String,
    pub duration_ms: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// What to record about a new object.
#[derive(Debug, Clone)]
pub struct NewMedia<'a> {
    pub bot_id: &'a str,
    pub kind: &'a str,
    pub label: &'a str,
    pub storage_key: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub duration_ms: Option<i64>,
}

const COLUMNS: &str = "id, bot_id, kind, label, storage_key, content_type, size_bytes, sha256, duration_ms, created_at";

fn from_row(r: &AnyRow) -> MediaRecord {
    MediaRecord {
        id: r.get(0),
        bot_id: r.get(1),
        kind: r.get(2),
        label: r.get(3),
        storage_key: r.get(4),
        content_type: r.get(5),
        size_bytes: r.get(6),
        sha256: r.get(7),
        duration_ms: r.get(8),
        created_at: from_millis(r.get(9)),
    }
}

/// The label of a recording chunk: sorts in recording order as text.
pub fn chunk_label(part: u32, seq: u32) -> String {
    format!("{part:04}/{seq:06}")
}

pub async fn insert(conn: &mut AnyConnection, m: &NewMedia<'_>, now: DateTime<Utc>) -> DbResult<MediaRecord> {
    let id = meeboter_core::new_id().to_string();
    let sql = format!(
        "INSERT INTO bot_media (id, bot_id, kind, label, storage_key, content_type, size_bytes, sha256, duration_ms, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(&id)
        .bind(m.bot_id)
        .bind(m.kind)
        .bind(m.label)
        .bind(m.storage_key)
        .bind(m.content_type)
        .bind(m.size_bytes)
        .bind(m.sha256)
        .bind(m.duration_ms)
        .bind(to_millis(now))
        .fetch_one(&mut *conn)
        .await?;
    Ok(from_row(&row))
}

/// The live (not deleted) object of a bot with this kind and label.
pub async fn find(conn: &mut AnyConnection, bot_id: &str, kind: &str, label: &str) -> DbResult<Option<MediaRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM bot_media WHERE bot_id = $1 AND kind = $2 AND label = $3 AND deleted_at IS NULL"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(bot_id)
        .bind(kind)
        .bind(label)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// A bot's live objects of one kind, in label order (chunks: recording order).
pub async fn list(conn: &mut AnyConnection, bot_id: &str, kind: &str) -> DbResult<Vec<MediaRecord>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM bot_media WHERE bot_id = $1 AND kind = $2 AND deleted_at IS NULL ORDER BY label, id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(bot_id)
        .bind(kind)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Forgets objects of one kind (after they were deleted from storage).
pub async fn mark_deleted(conn: &mut AnyConnection, bot_id: &str, kind: &str, now: DateTime<Utc>) -> DbResult<u64> {
    let done =
        sqlx::query("UPDATE bot_media SET deleted_at = $1 WHERE bot_id = $2 AND kind = $3 AND deleted_at IS NULL")
            .bind(to_millis(now))
            .bind(bot_id)
            .bind(kind)
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

/// Bots with live media created before `cutoff` (retention), oldest first.
pub async fn bots_with_media_before(
    conn: &mut AnyConnection,
    cutoff: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT bot_id FROM bot_media WHERE deleted_at IS NULL AND created_at < $1
         GROUP BY bot_id ORDER BY MIN(created_at) LIMIT $2",
    )
    .bind(to_millis(cutoff))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The recording's state on the bot row.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingState {
    /// `none`, `recording`, `finishing`, `assembling`, `ready`, `partial`, `failed` or
    /// `expired`.
    pub state: String,
    /// The metadata JSON once `ready` or `partial`.
    pub recording: Option<String>,
    /// What the bot said in `recording/finish` about completeness (JSON), if it did.
    pub report: Option<String>,
    pub mode: Option<String>,
    pub parts: Option<i64>,
    pub state_at: Option<DateTime<Utc>>,
}

pub async fn recording_state(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Option<RecordingState>> {
    let row = sqlx::query(
        "SELECT recording_state, recording, recording_mode_used, recording_parts, recording_state_at, recording_report
         FROM bots WHERE id = $1",
    )
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| RecordingState {
        state: r.get(0),
        recording: r.get(1),
        mode: r.get(2),
        parts: r.get(3),
        state_at: r.get::<Option<i64>, _>(4).map(from_millis),
        report: r.get(5),
    }))
}

/// Moves the recording from one of `from` to `to` (compare-and-set; false if it was not
/// in `from`). `recording` replaces the metadata when given.
pub async fn transition(
    conn: &mut AnyConnection,
    bot_id: &str,
    from: &[&str],
    to: &str,
    recording: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let allowed = from.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
    debug_assert!(from.iter().all(|s| s.bytes().all(|b| b.is_ascii_lowercase())));
    let sql = format!(
        "UPDATE bots SET recording_state = $1, recording = COALESCE($2, recording), recording_state_at = $3
         WHERE id = $4 AND recording_state IN ({allowed})"
    );
    let done = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to)
        .bind(recording)
        .bind(to_millis(now))
        .bind(bot_id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The bot said it is done: how many parts, which mode and, when it said so, how complete
/// the recording is (`report`, JSON).
pub async fn set_finished(
    conn: &mut AnyConnection,
    bot_id: &str,
    parts: i64,
    mode: &str,
    report: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bots SET recording_state = 'finishing', recording_parts = $1, recording_mode_used = $2, recording_state_at = $3,
         recording_report = $5
         WHERE id = $4 AND recording_state IN ('none', 'recording')",
    )
    .bind(parts)
    .bind(mode)
    .bind(to_millis(now))
    .bind(bot_id)
    .bind(report)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Notes the first chunk: the recording exists (and in which mode).
pub async fn set_recording(conn: &mut AnyConnection, bot_id: &str, mode: &str, now: DateTime<Utc>) -> DbResult<()> {
    sqlx::query(
        "UPDATE bots SET recording_state = 'recording', recording_mode_used = $1, recording_state_at = $2
         WHERE id = $3 AND recording_state = 'none'",
    )
    .bind(mode)
    .bind(to_millis(now))
    .bind(bot_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Recordings that need assembling: the bot finished them; or the bot ended (crashed,
/// killed) more than `grace_before` ago without saying so; or an assembly claimed before
/// `stale_before` never completed (its worker died).
pub async fn ids_to_assemble(
    conn: &mut AnyConnection,
    ended_before: DateTime<Utc>,
    stale_before: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM bots
         WHERE recording_state = 'finishing'
            OR (recording_state = 'recording' AND status IN ('ENDED', 'FATAL') AND status_at < $1)
            OR (recording_state = 'assembling' AND recording_state_at < $2)
         ORDER BY recording_state_at LIMIT $3",
    )
    .bind(to_millis(ended_before))
    .bind(to_millis(stale_before))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Ended bots (ended before `ended_before`) whose log lines are not archived yet.
pub async fn ids_with_logs_to_archive(
    conn: &mut AnyConnection,
    ended_before: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM bots WHERE status IN ('ENDED', 'FATAL') AND status_at < $1 AND logs_archived_at IS NULL
         ORDER BY status_at LIMIT $2",
    )
    .bind(to_millis(ended_before))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

pub async fn set_logs_archived(conn: &mut AnyConnection, bot_id: &str, now: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE bots SET logs_archived_at = $1 WHERE id = $2")
        .bind(to_millis(now))
        .bind(bot_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn logs_archived_at(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Option<DateTime<Utc>>> {
    let row = sqlx::query("SELECT logs_archived_at FROM bots WHERE id = $1")
        .bind(bot_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.and_then(|r| r.get::<Option<i64>, _>(0)).map(from_millis))
}

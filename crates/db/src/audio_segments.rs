//! Real-time audio segments (`bot_audio_segments`) and the real-time worker's per-bot
//! claim on `bot_transcripts` (`rt_*` columns).
//!
//! The bytes live in the storage backend; a row is the durable receipt of one segment,
//! so a second replica or a restarted server finds every segment a bot delivered.

use crate::{AnyConnection, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

/// One received segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRecord {
    pub bot_id: String,
    pub seq: i64,
    /// When the segment's first sample was heard, on the call clock (epoch ms).
    pub start_epoch_ms: i64,
    pub duration_ms: i64,
    pub size_bytes: i64,
    pub sha256: String,
    pub storage_key: String,
    /// `pending`, `done` or `dropped`.
    pub state: String,
    pub received_at: DateTime<Utc>,
}

const COLUMNS: &str = "bot_id, seq, start_epoch_ms, duration_ms, size_bytes, sha256, storage_key, state, received_at";

fn from_row(r: &AnyRow) -> SegmentRecord {
    SegmentRecord {
        bot_id: r.get("bot_id"),
        seq: r.get("seq"),
        start_epoch_ms: r.get("start_epoch_ms"),
        duration_ms: r.get("duration_ms"),
        size_bytes: r.get("size_bytes"),
        sha256: r.get("sha256"),
        storage_key: r.get("storage_key"),
        state: r.get("state"),
        received_at: from_millis(r.get("received_at")),
    }
}

/// A segment to record.
#[derive(Debug, Clone)]
pub struct NewSegment<'a> {
    pub bot_id: &'a str,
    pub seq: i64,
    pub start_epoch_ms: i64,
    pub duration_ms: i64,
    pub size_bytes: i64,
    pub sha256: &'a str,
    pub storage_key: &'a str,
}

/// Records a pending segment; false when the bot already has one with this `seq` (a
/// retried PUT: the first one stands).
pub async fn insert(conn: &mut AnyConnection, s: &NewSegment<'_>, now: DateTime<Utc>) -> DbResult<bool> {
    let done = sqlx::query(
        "INSERT INTO bot_audio_segments (bot_id, seq, start_epoch_ms, duration_ms, size_bytes, sha256, storage_key, \
         state, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8) ON CONFLICT (bot_id, seq) DO NOTHING",
    )
    .bind(s.bot_id)
    .bind(s.seq)
    .bind(s.start_epoch_ms)
    .bind(s.duration_ms)
    .bind(s.size_bytes)
    .bind(s.sha256)
    .bind(s.storage_key)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

pub async fn find(conn: &mut AnyConnection, bot_id: &str, seq: i64) -> DbResult<Option<SegmentRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bot_audio_segments WHERE bot_id = $1 AND seq = $2"
    )))
    .bind(bot_id)
    .bind(seq)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(from_row))
}

/// How many of the bot's segments wait for transcription (the per-bot bound).
pub async fn pending_count(conn: &mut AnyConnection, bot_id: &str) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM bot_audio_segments WHERE bot_id = $1 AND state = 'pending'")
        .bind(bot_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get(0))
}

/// The bot's oldest pending segments, in sequence order.
pub async fn next_pending(conn: &mut AnyConnection, bot_id: &str, limit: u32) -> DbResult<Vec<SegmentRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bot_audio_segments WHERE bot_id = $1 AND state = 'pending' ORDER BY seq LIMIT {}",
        limit.clamp(1, 1000)
    )))
    .bind(bot_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

/// Counts of the bot's segments by state, for tests and diagnostics: `(pending, done,
/// dropped)`.
pub async fn counts(conn: &mut AnyConnection, bot_id: &str) -> DbResult<(i64, i64, i64)> {
    let rows = sqlx::query("SELECT state, COUNT(*) FROM bot_audio_segments WHERE bot_id = $1 GROUP BY state")
        .bind(bot_id)
        .fetch_all(&mut *conn)
        .await?;
    let mut out = (0, 0, 0);
    for r in rows {
        let n: i64 = r.get(1);
        match r.get::<String, _>(0).as_str() {
            "pending" => out.0 = n,
            "done" => out.1 = n,
            _ => out.2 = n,
        }
    }
    Ok(out)
}

/// Marks a pending segment transcribed; false when it was not pending (already done).
pub async fn mark_done(conn: &mut AnyConnection, bot_id: &str, seq: i64, now: DateTime<Utc>) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bot_audio_segments SET state = 'done', done_at = $3 WHERE bot_id = $1 AND seq = $2 AND state = 'pending'",
    )
    .bind(bot_id)
    .bind(seq)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Marks every pending segment of the bot `dropped` (its transcript failed); returns
/// their storage keys for deletion.
pub async fn drop_pending(conn: &mut AnyConnection, bot_id: &str, now: DateTime<Utc>) -> DbResult<Vec<String>> {
    let rows = sqlx::query("SELECT storage_key FROM bot_audio_segments WHERE bot_id = $1 AND state = 'pending'")
        .bind(bot_id)
        .fetch_all(&mut *conn)
        .await?;
    sqlx::query(
        "UPDATE bot_audio_segments SET state = 'dropped', done_at = $2 WHERE bot_id = $1 AND state = 'pending'",
    )
    .bind(bot_id)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The real-time side of a bot's transcript row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealtimeState {
    pub failures: i64,
    pub last_error: Option<String>,
    pub audio_finished: bool,
    pub dropped_ms: i64,
}

pub async fn realtime_state(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Option<RealtimeState>> {
    let row = sqlx::query(
        "SELECT rt_failures, rt_last_error, audio_finished_at, audio_dropped_ms FROM bot_transcripts \
         WHERE bot_id = $1 AND realtime_audio = 1",
    )
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| RealtimeState {
        failures: r.get(0),
        last_error: r.get(1),
        audio_finished: r.get::<Option<i64>, _>(2).is_some(),
        dropped_ms: r.get(3),
    }))
}

/// Bots the real-time worker has work for: a real-time transcript still open (`none`,
/// `live`, `processing`), not claimed, not waiting for a retry, with a pending segment —
/// or ended with none left and either the bot's `audio/finish` received or the bot ended
/// before `settled_before` (its last segments had their chance), so it can be finished.
pub async fn bots_with_work(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    settled_before: DateTime<Utc>,
    limit: u32,
) -> DbResult<Vec<String>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT t.bot_id FROM bot_transcripts t JOIN bots b ON b.id = t.bot_id \
         WHERE t.realtime_audio = 1 AND t.state IN ('none', 'live', 'processing') \
         AND (t.rt_lease_until IS NULL OR t.rt_lease_until < $1) \
         AND (t.rt_next_attempt_at IS NULL OR t.rt_next_attempt_at <= $1) \
         AND (EXISTS (SELECT 1 FROM bot_audio_segments s WHERE s.bot_id = t.bot_id AND s.state = 'pending') \
              OR (b.status IN ('ENDED', 'FATAL') AND (t.audio_finished_at IS NOT NULL OR b.ended_at < $2))) \
         ORDER BY t.updated_at LIMIT {}",
        limit.clamp(1, 100)
    )))
    .bind(to_millis(now))
    .bind(to_millis(settled_before))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Claims the bot's real-time work until `until` (compare-and-set on the lease): one
/// worker per bot at a time, so its segments are transcribed once and in order.
pub async fn claim(conn: &mut AnyConnection, bot_id: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bot_transcripts SET rt_lease_until = $3 WHERE bot_id = $1 AND realtime_audio = 1 \
         AND (rt_lease_until IS NULL OR rt_lease_until < $2)",
    )
    .bind(bot_id)
    .bind(to_millis(now))
    .bind(to_millis(until))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Moves a claim still held (`held_until` as the holder set it) to `until`; false when it
/// was lost. Run in the transaction that stores a segment's utterances, it makes that
/// write conditional on still holding the claim.
pub async fn extend_claim(
    conn: &mut AnyConnection,
    bot_id: &str,
    held_until: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DbResult<bool> {
    let done = sqlx::query("UPDATE bot_transcripts SET rt_lease_until = $3 WHERE bot_id = $1 AND rt_lease_until = $2")
        .bind(bot_id)
        .bind(to_millis(held_until))
        .bind(to_millis(until))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Gives the claim up (if still held).
pub async fn release(conn: &mut AnyConnection, bot_id: &str, held_until: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE bot_transcripts SET rt_lease_until = NULL WHERE bot_id = $1 AND rt_lease_until = $2")
        .bind(bot_id)
        .bind(to_millis(held_until))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A round against the provider failed: counts it, notes why and when to try again.
/// Returns the consecutive failures so far.
pub async fn record_failure(
    conn: &mut AnyConnection,
    bot_id: &str,
    retry_at: DateTime<Utc>,
    why: &str,
) -> DbResult<i64> {
    sqlx::query(
        "UPDATE bot_transcripts SET rt_failures = rt_failures + 1, rt_next_attempt_at = $2, rt_last_error = $3 \
         WHERE bot_id = $1",
    )
    .bind(bot_id)
    .bind(to_millis(retry_at))
    .bind(why)
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query("SELECT rt_failures FROM bot_transcripts WHERE bot_id = $1")
        .bind(bot_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get(0))
}

/// The provider answered again: the failure count starts over.
pub async fn reset_failures(conn: &mut AnyConnection, bot_id: &str) -> DbResult<()> {
    sqlx::query(
        "UPDATE bot_transcripts SET rt_failures = 0, rt_next_attempt_at = NULL, rt_last_error = NULL \
         WHERE bot_id = $1 AND (rt_failures <> 0 OR rt_next_attempt_at IS NOT NULL)",
    )
    .bind(bot_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The bot has sent its last segment; `dropped_ms` of audio never left it (full queue).
pub async fn finish_stream(
    conn: &mut AnyConnection,
    bot_id: &str,
    dropped_ms: i64,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bot_transcripts SET audio_finished_at = COALESCE(audio_finished_at, $3), \
         audio_dropped_ms = CASE WHEN $2 > audio_dropped_ms THEN $2 ELSE audio_dropped_ms END \
         WHERE bot_id = $1 AND realtime_audio = 1",
    )
    .bind(bot_id)
    .bind(dropped_ms.max(0))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

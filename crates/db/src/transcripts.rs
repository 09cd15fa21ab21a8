//! Transcripts: per-bot state (`bot_transcripts`) and utterances (`transcript_utterances`).

use crate::{AnyConnection, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use meeboter_core::transcription::{Transcription, TranscriptionProvider};
use sqlx::Row;
use sqlx::any::AnyRow;

/// The `bots.transcription` JSON of a validated option.
pub fn option_json(t: &Transcription) -> String {
    serde_json::json!({"provider": t.provider.as_str(), "language": t.language, "realtime": t.realtime}).to_string()
}

/// Reads `bots.transcription` back; `None` when absent or unreadable.
pub fn parse_option(raw: Option<&str>) -> Option<Transcription> {
    let v: serde_json::Value = serde_json::from_str(raw?).ok()?;
    Some(Transcription {
        provider: TranscriptionProvider::parse(v.get("provider")?.as_str()?)?,
        language: v.get("language").and_then(|l| l.as_str()).map(str::to_string),
        realtime: v.get("realtime").and_then(|r| r.as_bool()).unwrap_or(false),
    })
}

/// A bot's transcript state.
#[derive(Debug, Clone, PartialEq)]
pub struct TranscriptRecord {
    pub bot_id: String,
    pub provider: String,
    pub state: String,
    pub source: Option<String>,
    pub error: Option<String>,
    pub attributed_permille: Option<i64>,
    pub pending_audio: bool,
    pub attempts: i64,
    pub updated_at: DateTime<Utc>,
}

const T_COLUMNS: &str =
    "bot_id, provider, state, source, error, attributed_permille, pending_audio, attempts, updated_at";

fn t_from_row(r: &AnyRow) -> TranscriptRecord {
    TranscriptRecord {
        bot_id: r.get("bot_id"),
        provider: r.get("provider"),
        state: r.get("state"),
        source: r.get("source"),
        error: r.get("error"),
        attributed_permille: r.get("attributed_permille"),
        pending_audio: r.get::<i64, _>("pending_audio") != 0,
        attempts: r.get("attempts"),
        updated_at: from_millis(r.get("updated_at")),
    }
}

/// Creates the state row of a new bot that makes a transcript: `pending_audio` for an
/// audio provider after the call, or `realtime_audio` when the bot streams segments that
/// the real-time worker transcribes while the call runs (then nothing runs after the
/// call: the same audio is never transcribed twice).
pub async fn create(conn: &mut AnyConnection, bot_id: &str, t: &Transcription, now: DateTime<Utc>) -> DbResult<()> {
    let realtime = t.realtime && t.provider.streams_audio();
    let audio = t.provider != TranscriptionProvider::MeetingCaptions && !realtime;
    sqlx::query(
        "INSERT INTO bot_transcripts (bot_id, provider, state, pending_audio, realtime_audio, attempts, created_at, \
         updated_at) VALUES ($1, $2, 'none', $3, $4, 0, $5, $5)",
    )
    .bind(bot_id)
    .bind(t.provider.as_str())
    .bind(i64::from(audio))
    .bind(i64::from(realtime))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn find(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Option<TranscriptRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {T_COLUMNS} FROM bot_transcripts WHERE bot_id = $1"
    )))
    .bind(bot_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(t_from_row))
}

/// Sets state, source and error (`None` keeps them) — used for `live`, `ready`, `failed`.
pub async fn set_state(
    conn: &mut AnyConnection,
    bot_id: &str,
    state: &str,
    source: Option<&str>,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bot_transcripts SET state = $2, source = COALESCE($3, source), error = COALESCE($4, error), \
         updated_at = $5 WHERE bot_id = $1",
    )
    .bind(bot_id)
    .bind(state)
    .bind(source)
    .bind(error)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Notes that captions are unavailable; with `fallback`, the audio provider will run
/// after the call.
pub async fn note_captions_unavailable(
    conn: &mut AnyConnection,
    bot_id: &str,
    note: &str,
    fallback: bool,
    now: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE bot_transcripts SET error = $2, pending_audio = CASE WHEN $3 = 1 THEN 1 ELSE pending_audio END, \
         updated_at = $4 WHERE bot_id = $1",
    )
    .bind(bot_id)
    .bind(note)
    .bind(i64::from(fallback))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Bots whose audio transcription can run now: pending, not leased, not waiting for a
/// retry, and whose recording is assembled (`ready`/`partial`) — or unusable
/// (`expired`, or `none`/`failed` for a bot that ended before `settled_before`: late
/// chunks may still arrive until then).
pub async fn ids_for_audio(
    conn: &mut AnyConnection,
    now: DateTime<Utc>,
    settled_before: DateTime<Utc>,
    limit: u32,
) -> DbResult<Vec<String>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT t.bot_id FROM bot_transcripts t JOIN bots b ON b.id = t.bot_id \
         WHERE t.pending_audio = 1 AND b.status IN ('ENDED', 'FATAL') \
         AND (t.lease_until IS NULL OR t.lease_until < $1) AND (t.next_attempt_at IS NULL OR t.next_attempt_at <= $1) \
         AND (b.recording_state IN ('ready', 'partial', 'expired') \
              OR (b.recording_state IN ('none', 'failed') AND b.ended_at < $2)) \
         ORDER BY t.updated_at LIMIT {}",
        limit.min(100)
    )))
    .bind(to_millis(now))
    .bind(to_millis(settled_before))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Claims a bot's audio transcription until `until` (compare-and-set on the lease).
pub async fn claim(conn: &mut AnyConnection, bot_id: &str, now: DateTime<Utc>, until: DateTime<Utc>) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bot_transcripts SET lease_until = $3, attempts = attempts + 1, state = 'processing', updated_at = $2 \
         WHERE bot_id = $1 AND pending_audio = 1 AND (lease_until IS NULL OR lease_until < $2)",
    )
    .bind(bot_id)
    .bind(to_millis(now))
    .bind(to_millis(until))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Releases a claim to try again at `retry_at`.
pub async fn retry_later(conn: &mut AnyConnection, bot_id: &str, retry_at: DateTime<Utc>, why: &str) -> DbResult<()> {
    sqlx::query("UPDATE bot_transcripts SET lease_until = NULL, next_attempt_at = $2, error = $3 WHERE bot_id = $1")
        .bind(bot_id)
        .bind(to_millis(retry_at))
        .bind(why)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Ends the audio work: `ready` (with the attribution share) or `failed` (with the reason).
pub async fn finish_audio(
    conn: &mut AnyConnection,
    bot_id: &str,
    state: &str,
    source: Option<&str>,
    error: Option<&str>,
    attributed_permille: Option<i64>,
    now: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE bot_transcripts SET state = $2, source = COALESCE($3, source), error = $4, attributed_permille = $5, \
         pending_audio = 0, lease_until = NULL, next_attempt_at = NULL, updated_at = $6 WHERE bot_id = $1",
    )
    .bind(bot_id)
    .bind(state)
    .bind(source)
    .bind(error)
    .bind(attributed_permille)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// One stored utterance.
#[derive(Debug, Clone, PartialEq)]
pub struct UtteranceRecord {
    pub id: String,
    pub bot_id: String,
    pub caption_id: Option<String>,
    pub speaker: Option<String>,
    pub participant_id: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub is_final: bool,
    pub source: String,
}

const U_COLUMNS: &str = "id, bot_id, caption_id, speaker, participant_id, start_ms, end_ms, text, is_final, source";

fn u_from_row(r: &AnyRow) -> UtteranceRecord {
    UtteranceRecord {
        id: r.get("id"),
        bot_id: r.get("bot_id"),
        caption_id: r.get("caption_id"),
        speaker: r.get("speaker"),
        participant_id: r.get("participant_id"),
        start_ms: r.get("start_ms"),
        end_ms: r.get("end_ms"),
        text: r.get("text"),
        is_final: r.get::<i64, _>("is_final") != 0,
        source: r.get("source"),
    }
}

/// An utterance to store.
#[derive(Debug, Clone)]
pub struct NewUtterance<'a> {
    pub caption_id: Option<&'a str>,
    pub speaker: Option<&'a str>,
    pub participant_id: Option<&'a str>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: &'a str,
    pub is_final: bool,
    pub source: &'a str,
}

/// Inserts an utterance, or — with a caption id already stored — updates it unless the
/// stored line is final and this one is not (a final line is never replaced by a later
/// partial) or nothing changed (text, finality, end: a resent batch fires nothing twice).
/// Returns the stored row when something was written, `None` when ignored.
pub async fn upsert(
    conn: &mut AnyConnection,
    bot_id: &str,
    u: &NewUtterance<'_>,
    now: DateTime<Utc>,
) -> DbResult<Option<UtteranceRecord>> {
    let id = meeboter_core::new_id().to_string();
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO transcript_utterances ({U_COLUMNS}, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
         ON CONFLICT (bot_id, caption_id) DO UPDATE SET speaker = excluded.speaker, \
         participant_id = excluded.participant_id, start_ms = excluded.start_ms, end_ms = excluded.end_ms, \
         text = excluded.text, is_final = excluded.is_final, updated_at = excluded.updated_at \
         WHERE (transcript_utterances.is_final = 0 OR excluded.is_final = 1) \
         AND (transcript_utterances.text <> excluded.text OR transcript_utterances.is_final <> excluded.is_final \
              OR transcript_utterances.end_ms <> excluded.end_ms) \
         RETURNING {U_COLUMNS}"
    )))
    .bind(&id)
    .bind(bot_id)
    .bind(u.caption_id)
    .bind(u.speaker)
    .bind(u.participant_id)
    .bind(u.start_ms)
    .bind(u.end_ms)
    .bind(u.text)
    .bind(i64::from(u.is_final))
    .bind(u.source)
    .bind(to_millis(now))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(u_from_row))
}

/// A page of utterances after `after_id`, in the order they were first seen.
pub async fn list(
    conn: &mut AnyConnection,
    bot_id: &str,
    after_id: Option<&str>,
    limit: u32,
) -> DbResult<Vec<UtteranceRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {U_COLUMNS} FROM transcript_utterances WHERE bot_id = $1 AND id > $2 ORDER BY id LIMIT {}",
        limit.min(10_000)
    )))
    .bind(bot_id)
    .bind(after_id.unwrap_or(""))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(u_from_row).collect())
}

/// Removes a bot's utterances from `source` (before an audio provider writes its own).
pub async fn delete_source(conn: &mut AnyConnection, bot_id: &str, source: &str) -> DbResult<u64> {
    let done = sqlx::query("DELETE FROM transcript_utterances WHERE bot_id = $1 AND source = $2")
        .bind(bot_id)
        .bind(source)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

/// Moves every stored line of a bot `delta_ms` earlier (never below 0): lines stored on
/// the `IN_CALL` clock before the bot reported when its recording really started are
/// brought onto the recording's clock.
pub async fn shift_times(conn: &mut AnyConnection, bot_id: &str, delta_ms: i64) -> DbResult<u64> {
    let done = sqlx::query(
        "UPDATE transcript_utterances SET
             start_ms = CASE WHEN start_ms > $1 THEN start_ms - $1 ELSE 0 END,
             end_ms = CASE WHEN end_ms > $1 THEN end_ms - $1 ELSE 0 END
         WHERE bot_id = $2",
    )
    .bind(delta_ms)
    .bind(bot_id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Deletes a bot's partial lines whose caption id starts with `prefix` (a streamed
/// segment's interim lines that no final replaced: the provider finalised fewer lines
/// than it had shown as interim).
pub async fn delete_partials(conn: &mut AnyConnection, bot_id: &str, prefix: &str) -> DbResult<u64> {
    let done =
        sqlx::query("DELETE FROM transcript_utterances WHERE bot_id = $1 AND is_final = 0 AND caption_id LIKE $2")
            .bind(bot_id)
            .bind(format!("{prefix}%"))
            .execute(&mut *conn)
            .await?;
    Ok(done.rows_affected())
}

/// Whether the bot has any final utterance.
pub async fn has_final(conn: &mut AnyConnection, bot_id: &str) -> DbResult<bool> {
    let row = sqlx::query("SELECT COUNT(*) FROM transcript_utterances WHERE bot_id = $1 AND is_final = 1")
        .bind(bot_id)
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get::<i64, _>(0) > 0)
}

/// Retention: removes the transcripts (utterances, state reset to `none` with a note) of
/// bots that ended before `cutoff`. Returns the number of utterances removed.
pub async fn expire_before(conn: &mut AnyConnection, cutoff: DateTime<Utc>, now: DateTime<Utc>) -> DbResult<u64> {
    let done = sqlx::query(
        "DELETE FROM transcript_utterances WHERE bot_id IN \
         (SELECT id FROM bots WHERE ended_at IS NOT NULL AND ended_at < $1)",
    )
    .bind(to_millis(cutoff))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE bot_transcripts SET state = 'none', error = 'expired (RECORDING_RETENTION_DAYS)', pending_audio = 0, \
         updated_at = $2 WHERE state <> 'none' AND bot_id IN (SELECT id FROM bots WHERE ended_at IS NOT NULL AND ended_at < $1)",
    )
    .bind(to_millis(cutoff))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// At the end of the call, caption lines that never became final are kept as final.
pub async fn finalize_partials(conn: &mut AnyConnection, bot_id: &str, now: DateTime<Utc>) -> DbResult<u64> {
    let done = sqlx::query(
        "UPDATE transcript_utterances SET is_final = 1, updated_at = $2 WHERE bot_id = $1 AND is_final = 0",
    )
    .bind(bot_id)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected())
}

/// Extends a claim that is still held (`lease_until` as the holder set it); false when the
/// claim was lost (expired and taken by another worker).
pub async fn extend_lease(
    conn: &mut AnyConnection,
    bot_id: &str,
    held_until: DateTime<Utc>,
    until: DateTime<Utc>,
) -> DbResult<bool> {
    let done = sqlx::query("UPDATE bot_transcripts SET lease_until = $3 WHERE bot_id = $1 AND lease_until = $2")
        .bind(bot_id)
        .bind(to_millis(held_until))
        .bind(to_millis(until))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

//! Real-time audio on the control channel: the short segments a bot with
//! `transcription.realtime` streams while the call runs, and the end of that stream.
//!
//! Why chunked PUTs and not a WebSocket: every other upload of the channel is a plain
//! request with the bot token, each request is idempotent by its sequence number (a
//! retry after a lost answer, a restart or a reconnect to another replica is a no-op),
//! and nothing has to be held per connection on the server, so any replica takes any
//! segment. A 5 s segment costs one request; the latency that adds is small next to the
//! segment length and the provider's time.
//!
//! A segment is stored durably (bytes in the storage backend, a receipt row in
//! `bot_audio_segments`) before the bot gets its 200, so a crash or another replica
//! loses nothing; the real-time worker (`realtime_transcription`) transcribes it and
//! deletes the bytes. The backlog per bot is bounded ([`MAX_PENDING_SEGMENTS`]): past it
//! the answer is 429 and the bot keeps the segment in its own bounded queue.

use crate::AppState;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::routes::bot_channel::{AnyBotCaller, recently_live};
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use futures::StreamExt;
use meeboter_db::audio_segments::{self, NewSegment};
use meeboter_db::bots::BotRecord;
use meeboter_db::{DbError, events, transcripts};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::Digest;
use utoipa::{IntoParams, ToSchema};

/// Largest segment accepted: 30 s of 16 kHz mono 16-bit PCM and its WAV header.
pub const MAX_SEGMENT_BYTES: usize = 30 * 32_000 + 4096;
/// Longest segment, in ms.
pub const MAX_SEGMENT_MS: u64 = 30_000;
/// Pending (not yet transcribed) segments a bot may have on the server: 30 minutes of
/// 5 s segments. Past it the provider is far behind or down, and the server refuses more
/// (429) rather than store without bound; the bot's own queue then drops its oldest.
pub const MAX_PENDING_SEGMENTS: i64 = 360;
/// Highest sequence number (a segment a second for 30 years).
pub const MAX_SEQ: u64 = 1_000_000_000;

/// Where a segment's bytes live until it is transcribed.
pub fn segment_key(bot_id: &str, seq: u64) -> String {
    format!("bots/{bot_id}/audio/{seq:010}.wav")
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AudioSegmentQuery {
    /// When the segment's first sample was heard, epoch ms on the bot's clock.
    pub start_ms: i64,
    /// Its length in ms (1–30000).
    pub duration_ms: u64,
    /// Hex SHA-256 of the body (checked; a mismatch is refused).
    pub sha256: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioSegmentAck {
    pub seq: u64,
    /// False when this sequence number was already stored (a retried PUT).
    pub stored: bool,
}

/// The bot's transcript must be a real-time audio one that is still open.
async fn open_stream(state: &AppState, bot: &BotRecord) -> ApiResult<()> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let rt = audio_segments::realtime_state(&mut conn, &bot.id).await?;
    if rt.is_none() {
        return Err(ApiError::conflict(
            "realtime_audio_off",
            "this bot's transcription does not take real-time audio (transcription.realtime with the openai provider)",
        ));
    }
    let t = transcripts::find(&mut conn, &bot.id).await?;
    if let Some(t) = t
        && matches!(t.state.as_str(), "ready" | "failed")
    {
        return Err(ApiError::conflict(
            "transcript_closed",
            format!("the transcript is {}; no more audio is taken", t.state),
        )
        .with_details(json!({"state": t.state, "error": t.error})));
    }
    Ok(())
}

/// Deliver one audio segment (16 kHz mono 16-bit WAV, `Content-Type: audio/wav`).
/// Idempotent by `seq`: a retried PUT of a stored segment answers 200 with
/// `stored: false` and changes nothing. Send them in order; a sequence number the bot
/// never sends (its queue dropped it) is a gap, not a wait.
#[utoipa::path(put, path = "/api/bot/v1/audio/{seq}", tag = "bot channel",
    params(("seq" = u64, Path, description = "The segment's number, from 0, in order"), AudioSegmentQuery),
    request_body(content = Vec<u8>, content_type = "audio/wav"),
    responses((status = 200, body = AudioSegmentAck), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 429, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn put_segment(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    Path(seq): Path<u64>,
    ApiQuery(query): ApiQuery<AudioSegmentQuery>,
    body: Body,
) -> ApiResult<Json<AudioSegmentAck>> {
    let bot = recently_live(&state, caller)?;
    if seq > MAX_SEQ {
        return Err(ApiError::invalid_field(
            "seq",
            "out_of_range",
            format!("seq must be at most {MAX_SEQ}"),
        ));
    }
    if query.duration_ms == 0 || query.duration_ms > MAX_SEGMENT_MS {
        return Err(ApiError::invalid_field(
            "durationMs",
            "out_of_range",
            format!("durationMs must be 1-{MAX_SEGMENT_MS}"),
        ));
    }
    if query.start_ms <= 0 {
        return Err(ApiError::invalid_field(
            "startMs",
            "out_of_range",
            "startMs must be epoch milliseconds",
        ));
    }
    let sha = query.sha256.to_ascii_lowercase();
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid_field(
            "sha256",
            "invalid_value",
            "sha256 must be 64 hex digits",
        ));
    }
    open_stream(&state, &bot).await?;
    let seq_db = seq as i64;
    {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        if let Some(existing) = audio_segments::find(&mut conn, &bot.id, seq_db).await? {
            if existing.sha256 == sha {
                return Ok(Json(AudioSegmentAck { seq, stored: false }));
            }
            return Err(ApiError::conflict(
                "segment_conflict",
                format!("segment {seq} was already delivered with other content"),
            ));
        }
        if audio_segments::pending_count(&mut conn, &bot.id).await? >= MAX_PENDING_SEGMENTS {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "audio_backlog",
                format!(
                    "{MAX_PENDING_SEGMENTS} segments already wait for transcription; keep this one and retry later"
                ),
            ));
        }
    }
    // Read the (small) body with its limit; the hash is checked before anything is stored.
    let mut bytes = Vec::with_capacity(64 * 1024);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| ApiError::bad_request("body_read_failed", "the body could not be read"))?;
        if bytes.len() + chunk.len() > MAX_SEGMENT_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!("a segment is at most {MAX_SEGMENT_BYTES} bytes"),
            ));
        }
        bytes.extend_from_slice(&chunk);
    }
    if bytes.len() < 44 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_audio",
            "the body must be a WAV file (16 kHz mono 16-bit PCM)",
        ));
    }
    let got = hex::encode(sha2::Sha256::digest(&bytes));
    if got != sha {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "segment_mismatch",
            format!(
                "received {} bytes with sha256 {got}, expected sha256 {sha}",
                bytes.len()
            ),
        ));
    }
    let key = segment_key(&bot.id, seq);
    let size = bytes.len() as i64;
    state.storage.put(&key, bytes::Bytes::from(bytes), "audio/wav").await?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let stored = audio_segments::insert(
        &mut tx,
        &NewSegment {
            bot_id: &bot.id,
            seq: seq_db,
            start_epoch_ms: query.start_ms,
            duration_ms: query.duration_ms as i64,
            size_bytes: size,
            sha256: &sha,
            storage_key: &key,
        },
        now,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(AudioSegmentAck { seq, stored }))
}

/// The end of a bot's audio stream.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AudioFinished {
    /// Segments the bot numbered (the next `seq` it would have used).
    pub segments: u64,
    /// Segments its full queue dropped (never sent), and their audio in ms.
    #[serde(default)]
    pub dropped_segments: u64,
    #[serde(default)]
    pub dropped_ms: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AudioFinishedAck {
    /// Segments still waiting for transcription.
    pub pending: i64,
}

/// Say the audio stream is over (after the last segment's PUT): the transcript becomes
/// `ready` as soon as the segments received are transcribed, without waiting for late
/// ones. Dropped audio is recorded as an `audio_gap` event and noted on the transcript.
#[utoipa::path(post, path = "/api/bot/v1/audio/finish", tag = "bot channel", request_body = AudioFinished,
    responses((status = 200, body = AudioFinishedAck), (status = 401, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn finish(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    body: ApiJson<AudioFinished>,
) -> ApiResult<Json<AudioFinishedAck>> {
    let bot = recently_live(&state, caller)?;
    let report = body.value;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let dropped_ms = report.dropped_ms.min(i64::MAX as u64 / 2) as i64;
    if !audio_segments::finish_stream(&mut tx, &bot.id, dropped_ms, now).await? {
        return Err(ApiError::conflict(
            "realtime_audio_off",
            "this bot's transcription does not take real-time audio",
        ));
    }
    if report.dropped_segments > 0 {
        let data = json!({"segments": report.segments, "droppedSegments": report.dropped_segments,
                          "droppedMs": report.dropped_ms});
        events::insert(&mut tx, &bot.id, "audio_gap", &data, now).await?;
    }
    let pending = audio_segments::pending_count(&mut tx, &bot.id).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(AudioFinishedAck { pending }))
}

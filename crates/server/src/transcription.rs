//! Transcripts on the server: caption ingest from the control channel, the state at the
//! bot's end, and the wire form of utterances. The audio worker is `transcription_worker`.
//!
//! Times: every utterance's `startMs`/`endMs` is milliseconds from the recording's time 0 —
//! when the bot's capture took its first audio sample, which the bot reports
//! (`recording_started`, stored as `bots.capture_started_at`) — so a line's time is where
//! the recording plays it. ffmpeg needs 1–2 s after `IN_CALL` to open its inputs, so
//! `IN_CALL` is only the fallback (bots that do not report it, no recording). Bots report
//! epoch milliseconds; the server converts.

use chrono::{DateTime, Utc};
use meeboter_core::transcription::{MAX_CAPTION_ID_CHARS, MAX_UTTERANCE_CHARS, TranscriptionProvider, call_offset_ms};
use meeboter_db::bots::BotRecord;
use meeboter_db::transcripts::{self, NewUtterance, UtteranceRecord};
use meeboter_db::{AnyConnection, DbResult, events};
use serde_json::{Value, json};

use crate::lifecycle::{self, event_type};

/// Bot-event (`bot_events.type`, SSE `event:`) names.
pub mod stream_event {
    /// A final utterance.
    pub const DATA: &str = "transcript.data";
    /// A caption line still growing.
    pub const PARTIAL: &str = "transcript.partial";
    /// The transcript is complete (`ready`) or `failed`.
    pub const READY: &str = "transcript.ready";
    pub const FAILED: &str = "transcript.failed";
    pub const CAPTIONS_UNAVAILABLE: &str = "captions_unavailable";
}

/// Time 0 of a bot's transcript in epoch ms: when its recording started (the reported
/// capture start); else its `IN_CALL`; its creation if it never got there.
pub fn call_start_ms(bot: &BotRecord) -> i64 {
    bot.capture_started_at
        .or(bot.in_call_at)
        .unwrap_or(bot.created_at)
        .timestamp_millis()
}

/// How far a reported capture start may lie ahead of the server's clock (bots' clocks
/// drift a little; further ahead is not a start time).
pub const CAPTURE_START_MAX_AHEAD_MS: i64 = 60_000;

/// The bot says when its recording's first audio sample was taken (`at`, epoch ms): that
/// becomes the transcript's time 0 (`bots.capture_started_at`; the first report wins).
/// Lines already stored on the fallback clock (captions, real-time segments that came
/// before the report) are moved onto it in the same transaction, and `bot` is updated
/// for the rest of the batch. Returns false when ignored (already known, or `at` before
/// the bot existed or too far ahead of `now`).
pub async fn recording_started(
    conn: &mut AnyConnection,
    bot: &mut BotRecord,
    at: i64,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let plausible =
        at >= bot.created_at.timestamp_millis() && at <= now.timestamp_millis() + CAPTURE_START_MAX_AHEAD_MS;
    if !plausible || bot.capture_started_at.is_some() {
        return Ok(false);
    }
    if !meeboter_db::bots::set_capture_started(conn, &bot.id, at).await? {
        return Ok(false);
    }
    let before = call_start_ms(bot);
    bot.capture_started_at = DateTime::from_timestamp_millis(at);
    let delta = at - before;
    if delta != 0 {
        transcripts::shift_times(conn, &bot.id, delta).await?;
    }
    events::insert(conn, &bot.id, "recording_started", &json!({"at": at}), now).await?;
    Ok(true)
}

/// Wire form of an utterance (API, SSE and webhooks).
pub fn utterance_json(u: &UtteranceRecord) -> Value {
    json!({
        "id": u.id,
        "speaker": u.speaker,
        "participantId": u.participant_id,
        "startMs": u.start_ms,
        "endMs": u.end_ms,
        "text": u.text,
        "isFinal": u.is_final,
        "source": u.source,
        "captionId": u.caption_id,
    })
}

/// A caption line as the bot reported it.
pub struct Caption<'a> {
    pub caption_id: &'a str,
    pub speaker: Option<&'a str>,
    pub participant_id: Option<&'a str>,
    pub text: &'a str,
    pub is_final: bool,
    pub start_epoch_ms: i64,
    pub end_epoch_ms: i64,
}

/// Stores a caption line (upsert by caption id; a final line is never replaced by a later
/// partial), marks the transcript `live`, and announces it: `transcript.data` (final) or
/// `transcript.partial` on the bot's event stream, and the `bot.transcript_data` webhook
/// for final lines. Returns false when ignored (no caption transcript, bad id, stale).
pub async fn ingest_caption(
    conn: &mut AnyConnection,
    bot: &BotRecord,
    state: &mut Option<String>,
    c: &Caption<'_>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let captions = bot
        .transcription
        .as_ref()
        .is_some_and(|t| t.provider == TranscriptionProvider::MeetingCaptions);
    let id_ok = !c.caption_id.is_empty() && c.caption_id.chars().count() <= MAX_CAPTION_ID_CHARS;
    if !captions || !id_ok || state.is_none() {
        return Ok(false);
    }
    let start = call_start_ms(bot);
    let start_ms = call_offset_ms(c.start_epoch_ms, start);
    let end_ms = call_offset_ms(c.end_epoch_ms, start).max(start_ms);
    let text: String = c.text.chars().take(MAX_UTTERANCE_CHARS).collect();
    let speaker = c.speaker.map(|s| s.chars().take(200).collect::<String>());
    let participant = c.participant_id.map(|s| s.chars().take(200).collect::<String>());
    let Some(stored) = transcripts::upsert(
        conn,
        &bot.id,
        &NewUtterance {
            caption_id: Some(c.caption_id),
            speaker: speaker.as_deref(),
            participant_id: participant.as_deref(),
            start_ms,
            end_ms,
            text: &text,
            is_final: c.is_final,
            source: TranscriptionProvider::MeetingCaptions.as_str(),
        },
        now,
    )
    .await?
    else {
        return Ok(false);
    };
    if state.as_deref() == Some("none") {
        transcripts::set_state(
            conn,
            &bot.id,
            "live",
            Some(TranscriptionProvider::MeetingCaptions.as_str()),
            None,
            now,
        )
        .await?;
        *state = Some("live".into());
    }
    let data = utterance_json(&stored);
    if stored.is_final {
        events::insert(conn, &bot.id, stream_event::DATA, &data, now).await?;
        let mut payload = json!({"botId": bot.id, "utterance": data});
        payload["metadata"] = Value::Object(bot.metadata.clone());
        lifecycle::publish(conn, bot, event_type::TRANSCRIPT_DATA, payload, now).await?;
    } else {
        events::insert(conn, &bot.id, stream_event::PARTIAL, &data, now).await?;
    }
    Ok(true)
}

/// The bot says the client's captions cannot be used (host disabled them, no button):
/// noted on the transcript; when the bot's provider is `meeting_captions`, an audio
/// provider (openai, else deepgram) is configured and the bot records, the audio provider
/// runs after the call instead (`fallback: true`).
pub async fn captions_unavailable(
    conn: &mut AnyConnection,
    bot: &BotRecord,
    reason: &str,
    audio_provider_configured: bool,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let Some(t) = &bot.transcription else {
        return Ok(false);
    };
    let fallback = t.provider == TranscriptionProvider::MeetingCaptions
        && audio_provider_configured
        && bot.recording_mode != meeboter_core::RecordingMode::None;
    let reason: String = reason.chars().take(500).collect();
    let note = if fallback {
        format!("captions unavailable ({reason}); the recording's audio will be transcribed after the call")
    } else {
        format!("captions unavailable ({reason})")
    };
    transcripts::note_captions_unavailable(conn, &bot.id, &note, fallback, now).await?;
    events::insert(
        conn,
        &bot.id,
        stream_event::CAPTIONS_UNAVAILABLE,
        &json!({"reason": reason, "fallback": fallback}),
        now,
    )
    .await?;
    Ok(true)
}

/// At the bot's terminal transition (same transaction): a captions transcript becomes
/// `ready` (remaining partial lines kept as final) — or `failed` if the bot never got into
/// the call — and `bot.transcript_ready` fires; one that waits for an audio provider
/// (after the call, or real-time segments still to drain) becomes `processing` for its
/// worker.
pub async fn on_bot_ended(conn: &mut AnyConnection, bot: &BotRecord, now: DateTime<Utc>) -> DbResult<()> {
    let Some(t) = transcripts::find(conn, &bot.id).await? else {
        return Ok(());
    };
    let realtime = meeboter_db::audio_segments::realtime_state(conn, &bot.id)
        .await?
        .is_some();
    if t.pending_audio || (realtime && matches!(t.state.as_str(), "none" | "live")) {
        // An audio provider still has work: after the call (`transcription_worker`) or
        // the real-time segments still queued (`realtime_transcription` finishes it).
        transcripts::set_state(conn, &bot.id, "processing", None, None, now).await?;
        return Ok(());
    }
    if t.state != "none" && t.state != "live" {
        return Ok(());
    }
    if bot.in_call_at.is_none() {
        return fail(conn, bot, "the bot never got into the call", now).await;
    }
    transcripts::finalize_partials(conn, &bot.id, now).await?;
    transcripts::set_state(
        conn,
        &bot.id,
        "ready",
        Some(TranscriptionProvider::MeetingCaptions.as_str()),
        None,
        now,
    )
    .await?;
    announce_ready(conn, bot, now).await
}

/// `transcript.ready` on the stream and the `bot.transcript_ready` webhook.
pub async fn announce_ready(conn: &mut AnyConnection, bot: &BotRecord, now: DateTime<Utc>) -> DbResult<()> {
    let t = transcripts::find(conn, &bot.id).await?;
    let data = json!({
        "botId": bot.id,
        "state": "ready",
        "source": t.as_ref().and_then(|t| t.source.clone()),
        "attributedShare": t.as_ref().and_then(|t| t.attributed_permille).map(|p| p as f64 / 1000.0),
    });
    events::insert(conn, &bot.id, stream_event::READY, &data, now).await?;
    let mut payload = data;
    payload["metadata"] = Value::Object(bot.metadata.clone());
    lifecycle::publish(conn, bot, event_type::TRANSCRIPT_READY, payload, now).await
}

/// Marks the transcript `failed` with `reason` and announces it (`bot.transcript_failed`).
pub async fn fail(conn: &mut AnyConnection, bot: &BotRecord, reason: &str, now: DateTime<Utc>) -> DbResult<()> {
    transcripts::finish_audio(conn, &bot.id, "failed", None, Some(reason), None, now).await?;
    let data = json!({"botId": bot.id, "state": "failed", "error": reason});
    events::insert(conn, &bot.id, stream_event::FAILED, &data, now).await?;
    let mut payload = data;
    payload["metadata"] = Value::Object(bot.metadata.clone());
    lifecycle::publish(conn, bot, event_type::TRANSCRIPT_FAILED, payload, now).await
}

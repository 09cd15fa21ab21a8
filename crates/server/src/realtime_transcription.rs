//! The real-time transcription worker: transcribes the audio segments bots stream during
//! the call (`PUT /api/bot/v1/audio/{seq}`, see `routes::bot_audio`) in order per bot,
//! stores each segment's final utterances with speakers from the active-speaker timeline,
//! and announces them at once (`transcript.data` on the bot's stream, the
//! `bot.transcript_data` webhook). When the bot has ended and every segment is
//! transcribed, the transcript becomes `ready`. `openai` transcribes each segment on its
//! own (`source = "openai"`); `deepgram` streams them over one live connection per bot
//! ([`deepgram`], `source = "deepgram"`, interim lines as `transcript.partial`).
//!
//! **One worker per bot at a time.** A bot's work is claimed with a lease on its
//! `bot_transcripts` row (`rt_lease_until`), so any replica may run the worker and a
//! bot's segments are transcribed once and in order. A segment's utterances, its `done`
//! mark and the lease extension are one transaction: if the lease was lost meanwhile
//! (the worker stalled past it and another took over) nothing is written.
//!
//! **Provider down.** A request is retried with backoff and jitter
//! ([`Tuning::policy`]); when that is spent the round fails, the segment stays pending
//! and the bot is tried again after a growing pause. Nothing is lost while the provider
//! is away; after [`Tuning::max_failures`] consecutive failed rounds the transcript
//! becomes `failed` with the last reason (and pending audio is dropped). A success resets
//! the count.
//!
//! **No double work.** A real-time bot is created with `pending_audio = 0`, so the
//! post-call worker never transcribes the recording again: the real-time utterances are
//! the transcript.

pub mod deepgram;

use crate::AppState;
use crate::audio_provider::{OpenAi, ProviderError, RetryPolicy, SegmentTranscriber, speaker_marks};
use crate::transcription::{self, stream_event, utterance_json};
use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use meeboter_core::transcription::{attribute, call_offset_ms, primary_language, speaking_spans, words};
use meeboter_db::audio_segments::{self, SegmentRecord};
use meeboter_db::bots::BotRecord;
use meeboter_db::transcripts::{self, NewUtterance, UtteranceRecord};
use meeboter_db::{AnyConnection, DbError, DbResult, bots, events};
use serde_json::{Value, json};

/// Pacing and budgets (tests shorten them).
#[derive(Debug, Clone)]
pub struct Tuning {
    /// One provider request: timeout, retries, backoff.
    pub policy: RetryPolicy,
    /// How long a claim on a bot lasts (extended per segment). Longer than one segment's
    /// worst case — `(retries + 1) × request_timeout` plus the backoffs — so a slow provider
    /// never lets another replica take the bot over mid-request.
    pub lease: Duration,
    /// Consecutive failed rounds before the transcript fails.
    pub max_failures: i64,
    /// Pause after the first failed round; doubles per failure up to `max_pause`.
    pub first_pause: Duration,
    pub max_pause: Duration,
    /// A bot that ended without `audio/finish` is finished this long after its end (its
    /// last segments had their chance to arrive).
    pub settle: Duration,
    /// Segments per bot per pass (then the next bot gets its turn).
    pub batch: u32,
    /// Deepgram: the live client's settings (connect timeout and retries, KeepAlive).
    pub live: crate::deepgram_live::LiveOptions,
    /// Deepgram: how long a segment's finals may take after `Finalize` before the stream
    /// counts as failed (the round is retried on a new stream).
    pub final_wait: std::time::Duration,
    /// Deepgram: a stream silent this long after a segment's `Finalize` has nothing more
    /// for it (Deepgram may not answer a `Finalize` when it had finalised everything).
    pub finalize_quiet: std::time::Duration,
    /// Deepgram: a stream unused this long is closed (a bot that stopped sending, or
    /// whose lease another replica took).
    pub stream_idle: std::time::Duration,
    /// Deepgram: this worker's open streams (one per bot it works on).
    pub streams: deepgram::Streams,
}

impl Default for Tuning {
    /// A request: 60 s timeout, 2 retries (1 s doubling, jittered). About five minutes of provider outage are ridden out before a transcript fails:
    /// 5 + 10 + 20 + 40 + 60 + 60 + 60 s of pauses, each round retrying its request.
    fn default() -> Self {
        Tuning {
            policy: RetryPolicy {
                request_timeout: std::time::Duration::from_secs(60),
                retries: 2,
                backoff: std::time::Duration::from_secs(1),
            },
            lease: Duration::minutes(5),
            max_failures: 8,
            first_pause: Duration::seconds(5),
            max_pause: Duration::seconds(60),
            settle: Duration::minutes(2),
            batch: 12,
            live: crate::deepgram_live::LiveOptions {
                reconnect: false, // the worker resumes from the first segment not done
                ..Default::default()
            },
            final_wait: std::time::Duration::from_secs(30),
            finalize_quiet: std::time::Duration::from_secs(3),
            stream_idle: std::time::Duration::from_secs(60),
            streams: deepgram::Streams::default(),
        }
    }
}

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    /// Segments transcribed.
    pub segments: usize,
    /// Final utterances stored and announced.
    pub utterances: usize,
    pub ready: usize,
    pub failed: usize,
    /// Bots whose round failed and will be retried.
    pub retry_later: usize,
    /// Claims lost to another worker mid-pass.
    pub lost: usize,
}

impl Report {
    pub fn is_empty(&self) -> bool {
        *self == Report::default()
    }
}

pub(crate) enum Outcome {
    /// Work done (or none left for now).
    Progress,
    /// The provider failed transiently: retry later.
    Retry(String),
    /// The transcript fails with this reason.
    Fail(String),
    /// The claim was taken over.
    Lost,
}

/// One pass over the bots with real-time work.
pub async fn run_once(state: &AppState, tuning: &Tuning) -> DbResult<Report> {
    let mut report = Report::default();
    tuning.streams.close_idle(tuning.stream_idle).await;
    let now = state.now();
    let ids = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        audio_segments::bots_with_work(&mut conn, now, now - tuning.settle, 20).await?
    };
    for id in ids {
        let until = state.now() + tuning.lease;
        let claimed = {
            let mut tx = state.db.begin_write().await?;
            let ok = audio_segments::claim(&mut tx, &id, state.now(), until).await?;
            tx.commit().await.map_err(DbError::from)?;
            ok
        };
        if !claimed {
            continue;
        }
        let mut held = until;
        let outcome = work_on(state, tuning, &id, &mut held, &mut report).await;
        let outcome = match outcome {
            Ok(o) => o,
            Err(e) => {
                // A database hiccup: let the lease go so the next pass (any replica) retries.
                release(state, &id, held).await;
                return Err(e);
            }
        };
        match outcome {
            Outcome::Progress => {}
            Outcome::Lost => {
                tracing::warn!(bot.id = %id, "real-time transcription claim lost to another worker");
                report.lost += 1;
                continue;
            }
            Outcome::Retry(why) => {
                let now = state.now();
                let mut tx = state.db.begin_write().await?;
                let failures = audio_segments::realtime_state(&mut tx, &id)
                    .await?
                    .map_or(0, |r| r.failures)
                    + 1;
                if failures >= tuning.max_failures {
                    let reason = format!("the transcription provider failed {failures} times in a row: {why}");
                    fail(state, &mut tx, &id, &reason, now).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    report.failed += 1;
                } else {
                    let pause = pause_after(tuning, failures);
                    audio_segments::record_failure(&mut tx, &id, now + pause, &why).await?;
                    tx.commit().await.map_err(DbError::from)?;
                    tracing::info!(bot.id = %id, failures, error = %why, "real-time transcription will be retried");
                    report.retry_later += 1;
                }
            }
            Outcome::Fail(reason) => {
                let now = state.now();
                let mut tx = state.db.begin_write().await?;
                fail(state, &mut tx, &id, &reason, now).await?;
                tx.commit().await.map_err(DbError::from)?;
                report.failed += 1;
            }
        }
        release(state, &id, held).await;
    }
    Ok(report)
}

/// The pause after the `failures`-th consecutive failed round.
pub fn pause_after(tuning: &Tuning, failures: i64) -> Duration {
    let doublings = (failures - 1).clamp(0, 20) as i32;
    let ms = tuning.first_pause.num_milliseconds() as f64 * 2f64.powi(doublings);
    let ms = ms.min(tuning.max_pause.num_milliseconds() as f64);
    let jitter = 0.75 + rand::random::<f64>() * 0.5;
    Duration::milliseconds((ms * jitter) as i64)
}

async fn release(state: &AppState, bot_id: &str, held: DateTime<Utc>) {
    let done = async {
        let mut tx = state.db.begin_write().await?;
        audio_segments::release(&mut tx, bot_id, held).await?;
        tx.commit().await.map_err(DbError::from)
    };
    if let Err(e) = done.await {
        tracing::warn!(bot.id = %bot_id, error = %e, "releasing the real-time claim failed; it expires");
    }
}

/// Fails the transcript (announced) and drops the audio still pending.
async fn fail(
    state: &AppState,
    conn: &mut meeboter_db::AnyConnection,
    bot_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> DbResult<()> {
    tracing::warn!(bot.id = %bot_id, reason, "real-time transcription failed");
    let keys = audio_segments::drop_pending(conn, bot_id, now).await?;
    if let Some(bot) = bots::find_any(conn, bot_id).await? {
        transcription::fail(conn, &bot, reason, now).await?;
    }
    // The bytes go; the rows stay (a retried PUT stays a no-op). A delete that fails
    // leaves an object that retention removes with the bot's prefix.
    let storage = state.storage.clone();
    tokio::spawn(async move {
        for key in keys {
            let _ = storage.delete(&key).await;
        }
    });
    Ok(())
}

async fn work_on(
    state: &AppState,
    tuning: &Tuning,
    bot_id: &str,
    held: &mut DateTime<Utc>,
    report: &mut Report,
) -> DbResult<Outcome> {
    let (bot, pending) = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        let Some(bot) = bots::find_any(&mut conn, bot_id).await? else {
            return Ok(Outcome::Progress); // deleted meanwhile (its rows went with it)
        };
        let pending = audio_segments::next_pending(&mut conn, bot_id, tuning.batch).await?;
        (bot, pending)
    };
    let provider = bot.transcription.as_ref().map(|t| t.provider);
    if provider == Some(meeboter_core::transcription::TranscriptionProvider::Deepgram) {
        match deepgram::work(state, tuning, &bot, &pending, held).await? {
            Ok((segments, utterances)) => {
                report.segments += segments;
                report.utterances += utterances;
            }
            Err((outcome, segments, utterances)) => {
                report.segments += segments;
                report.utterances += utterances;
                return Ok(outcome);
            }
        }
    } else {
        let Some(openai) = state.config.transcription.openai.clone() else {
            return Ok(Outcome::Fail(
                "the openai provider is no longer configured (TRANSCRIPTION_OPENAI_URL)".into(),
            ));
        };
        let provider = match OpenAi::new(openai, tuning.policy.clone()) {
            Ok(p) => p,
            Err(e) => return Ok(Outcome::Retry(e.to_string())),
        };
        for segment in &pending {
            match transcribe_segment(state, tuning, &provider, &bot, segment, held).await? {
                Ok(n) => {
                    report.segments += 1;
                    report.utterances += n;
                }
                Err(outcome) => return Ok(outcome),
            }
        }
    }
    if pending.len() < tuning.batch as usize {
        if provider == Some(meeboter_core::transcription::TranscriptionProvider::Deepgram) && bot.status.is_terminal() {
            // Every segment sent was finalised already; CloseStream ends the stream cleanly
            // (outside any transaction) before the transcript is announced ready.
            tuning.streams.close(bot_id).await;
        }
        finish_if_over(state, tuning, bot_id, report).await?;
    }
    Ok(Outcome::Progress)
}

/// Transcribes one segment and stores its utterances; `Ok(Err(_))` says why the bot's
/// round stops.
async fn transcribe_segment(
    state: &AppState,
    tuning: &Tuning,
    provider: &dyn SegmentTranscriber,
    bot: &BotRecord,
    segment: &SegmentRecord,
    held: &mut DateTime<Utc>,
) -> DbResult<Result<usize, Outcome>> {
    let wav = match read_object(state, &segment.storage_key).await {
        Ok(b) => b,
        Err(e) => return Ok(Err(Outcome::Retry(e))),
    };
    let language = bot
        .transcription
        .as_ref()
        .and_then(|t| t.language.as_deref())
        .map(primary_language);
    let pieces = match provider.transcribe(wav, language.as_deref()).await {
        Ok(p) => p,
        Err(ProviderError::Transient(m)) => return Ok(Err(Outcome::Retry(m))),
        Err(ProviderError::Permanent(m)) => return Ok(Err(Outcome::Fail(m))),
    };
    let call_start = transcription::call_start_ms(bot);
    let offset = call_offset_ms(segment.start_epoch_ms, call_start);
    let end = offset + segment.duration_ms;
    let marks = speaker_marks(state, &bot.id, call_start).await?;
    let spans = speaking_spans(&marks, end);
    let now = state.now();
    let until = now + tuning.lease;
    let mut tx = state.db.begin_write().await?;
    if !audio_segments::extend_claim(&mut tx, &bot.id, *held, until).await? {
        return Ok(Err(Outcome::Lost));
    }
    if !audio_segments::mark_done(&mut tx, &bot.id, segment.seq, now).await? {
        // Transcribed already (only possible after a lost claim): nothing to add.
        tx.commit().await.map_err(DbError::from)?;
        *held = until;
        return Ok(Ok(0));
    }
    let mut stored = 0;
    let mut announced = Vec::new();
    for p in &pieces {
        let text = p.text.trim();
        if text.is_empty() {
            continue;
        }
        // Whisper may place a piece slightly past the audio's end; keep it inside.
        let start_ms = (offset + p.start_ms).min(end);
        let end_ms = (offset + p.end_ms).clamp(start_ms, end.max(start_ms));
        let who = attribute(&spans, start_ms, end_ms.max(start_ms + 1));
        let text: String = text
            .chars()
            .take(meeboter_core::transcription::MAX_UTTERANCE_CHARS)
            .collect();
        if let Some(u) = transcripts::upsert(
            &mut tx,
            &bot.id,
            &NewUtterance {
                caption_id: None,
                speaker: who.as_ref().map(|w| w.1.as_str()).filter(|n| !n.is_empty()),
                participant_id: who.as_ref().and_then(|w| w.0.as_deref()),
                start_ms,
                end_ms,
                text: &text,
                is_final: true,
                source: provider.source(),
            },
            now,
        )
        .await?
        {
            announced.push(u);
            stored += 1;
        }
    }
    announce_finals(&mut tx, bot, &announced, provider.source(), now).await?;
    audio_segments::reset_failures(&mut tx, &bot.id).await?;
    tx.commit().await.map_err(DbError::from)?;
    *held = until;
    if let Err(e) = state.storage.delete(&segment.storage_key).await {
        tracing::debug!(bot.id = %bot.id, error = %e, "deleting a transcribed segment failed; retention removes it");
    }
    let lag_ms = now.timestamp_millis() - (segment.start_epoch_ms + segment.duration_ms);
    tracing::debug!(bot.id = %bot.id, seq = segment.seq, utterances = stored, lag_ms, "segment transcribed");
    Ok(Ok(stored))
}

/// Makes the transcript `live` with its first lines and announces each new final line on the
/// bot's stream and as the `bot.transcript_data` webhook, in the transaction that stored them
/// (so a line is announced exactly when it exists). Shared by both real-time paths.
pub(crate) async fn announce_finals(
    conn: &mut AnyConnection,
    bot: &BotRecord,
    lines: &[UtteranceRecord],
    source: &str,
    now: DateTime<Utc>,
) -> DbResult<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let t = transcripts::find(conn, &bot.id).await?;
    if t.as_ref().is_some_and(|t| t.state == "none") {
        transcripts::set_state(conn, &bot.id, "live", Some(source), None, now).await?;
    }
    for u in lines {
        let data = utterance_json(u);
        events::insert(conn, &bot.id, stream_event::DATA, &data, now).await?;
        let mut payload = json!({"botId": bot.id, "utterance": data});
        payload["metadata"] = Value::Object(bot.metadata.clone());
        crate::lifecycle::publish(conn, bot, crate::lifecycle::event_type::TRANSCRIPT_DATA, payload, now).await?;
    }
    Ok(())
}

pub(crate) async fn read_object(state: &AppState, key: &str) -> Result<Vec<u8>, String> {
    let mut body = state
        .storage
        .get(key, None)
        .await
        .map_err(|e| format!("reading the audio segment: {e}"))?;
    let mut out = Vec::new();
    while let Some(chunk) = body.stream.next().await {
        let chunk = chunk.map_err(|e| format!("reading the audio segment: {e}"))?;
        if out.len() + chunk.len() > crate::routes::bot_audio::MAX_SEGMENT_BYTES {
            return Err("a stored audio segment is larger than allowed".into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// When the bot has ended, sent everything (or had its time) and nothing is pending, the
/// transcript becomes `ready` (or `failed` if the bot never got into the call).
async fn finish_if_over(state: &AppState, tuning: &Tuning, bot_id: &str, report: &mut Report) -> DbResult<()> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let Some(bot) = bots::find_any(&mut tx, bot_id).await? else {
        return Ok(());
    };
    let Some(rt) = audio_segments::realtime_state(&mut tx, bot_id).await? else {
        return Ok(());
    };
    let settled = bot.ended_at.is_some_and(|e| e < now - tuning.settle);
    if !bot.status.is_terminal() || !(rt.audio_finished || settled) {
        return Ok(());
    }
    if audio_segments::pending_count(&mut tx, bot_id).await? > 0 {
        return Ok(());
    }
    let Some(t) = transcripts::find(&mut tx, bot_id).await? else {
        return Ok(());
    };
    if !matches!(t.state.as_str(), "none" | "live" | "processing") {
        return Ok(());
    }
    if bot.in_call_at.is_none() {
        transcription::fail(&mut tx, &bot, "the bot never got into the call", now).await?;
        tx.commit().await.map_err(DbError::from)?;
        report.failed += 1;
        return Ok(());
    }
    // The share of words with a speaker, over the whole transcript.
    let (mut total, mut attributed) = (0usize, 0usize);
    let mut after: Option<String> = None;
    loop {
        let page = transcripts::list(&mut tx, bot_id, after.as_deref(), 1000).await?;
        for u in &page {
            let n = words(&u.text).len();
            total += n;
            if u.speaker.is_some() || u.participant_id.is_some() {
                attributed += n;
            }
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.id.clone()),
            _ => break,
        }
    }
    let permille = (total > 0).then(|| (attributed * 1000 / total) as i64);
    let source = match bot.transcription.as_ref().map(|t| t.provider) {
        Some(meeboter_core::transcription::TranscriptionProvider::Deepgram) => deepgram::SOURCE,
        _ => "openai",
    };
    let note = (rt.dropped_ms > 0).then(|| {
        format!(
            "{:.1} s of audio never reached the server (the bot's queue was full)",
            rt.dropped_ms as f64 / 1000.0
        )
    });
    transcripts::finish_audio(&mut tx, bot_id, "ready", Some(source), note.as_deref(), permille, now).await?;
    transcription::announce_ready(&mut tx, &bot, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(bot.id = %bot_id, attributed_permille = ?permille, "real-time transcript ready");
    report.ready += 1;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_to_the_cap_and_the_lease_outlasts_a_segment() {
        let t = Tuning::default();
        let secs = |n| pause_after(&t, n).num_milliseconds() as f64 / 1000.0;
        assert!((3.75..=6.25).contains(&secs(1)));
        assert!((7.5..=12.5).contains(&secs(2)));
        assert!((45.0..=75.0).contains(&secs(7)), "capped at 60 s ± jitter");
        let worst =
            t.policy.request_timeout * (t.policy.retries + 1) + t.policy.backoff * (2u32.pow(t.policy.retries) * 2);
        assert!(t.lease.to_std().unwrap() > worst, "{worst:?}");
    }
}

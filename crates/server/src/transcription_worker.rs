//! The audio transcription worker (provider `openai`, and the captions fallback): after the
//! bot ended and its recording is assembled, the server extracts the audio (ffmpeg, 16 kHz
//! mono WAV in pieces of at most 10 minutes), sends each piece to the OpenAI-compatible
//! `POST {TRANSCRIPTION_OPENAI_URL}/v1/audio/transcriptions` (verbose_json segments), stores
//! the segments as utterances and names their speakers from the active-speaker timeline.
//!
//! A bot is claimed by a lease on its `bot_transcripts` row (`lease_until`), so any replica
//! may run the worker. Provider 429/5xx/timeouts are retried with backoff and jitter
//! (bounded); once the budget is spent the whole job is tried again later, and fails after
//! [`Tuning::max_attempts`]. A 4xx fails the transcript with the provider's message. The
//! bot and its recording are never touched.

use crate::AppState;
use crate::audio_provider::{OpenAi, ProviderError, RetryPolicy, Segment, SegmentTranscriber, speaker_marks};
use crate::config::OpenAiTranscription;
use crate::transcription;
use chrono::Duration;
use futures::StreamExt;
use meeboter_core::transcription::{attribute, speaking_spans, words};
use meeboter_db::transcripts::{self, NewUtterance};
use meeboter_db::{DbError, DbResult, bots, media};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

/// A bot that ended without a usable recording is given up on after this long (late
/// chunks may arrive within the late-delivery grace, then assembly takes its time).
pub const SETTLE: Duration = Duration::minutes(15);

/// Longest audio piece sent in one request.
pub const PIECE_SECS: u64 = 600;

/// Timeouts and retry budget (tests shorten them).
#[derive(Debug, Clone)]
pub struct Tuning {
    /// One request's timeout.
    pub request_timeout: std::time::Duration,
    /// Retries of one request after a 429/5xx/timeout.
    pub retries: u32,
    /// First backoff; doubles per retry, ±25 % jitter.
    pub backoff: std::time::Duration,
    /// Whole-job attempts before the transcript fails.
    pub max_attempts: i64,
    /// How long a claim lasts.
    pub lease: Duration,
}

impl Tuning {
    /// The per-request part of the tuning.
    pub fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            request_timeout: self.request_timeout,
            retries: self.retries,
            backoff: self.backoff,
        }
    }
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            request_timeout: std::time::Duration::from_secs(300),
            retries: 4,
            backoff: std::time::Duration::from_secs(2),
            max_attempts: 3,
            lease: Duration::minutes(30),
        }
    }
}

/// What a pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub ready: usize,
    pub failed: usize,
    pub retry_later: usize,
}

#[derive(Debug, thiserror::Error)]
enum JobError {
    /// Worth another attempt later (provider down, storage trouble).
    #[error("{0}")]
    Transient(String),
    /// The transcript fails with this reason.
    #[error("{0}")]
    Permanent(String),
    /// Another worker holds the job now: leave it alone.
    #[error("the claim expired and was taken over")]
    Lost,
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<ProviderError> for JobError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::Transient(m) => JobError::Transient(m),
            ProviderError::Permanent(m) => JobError::Permanent(m),
        }
    }
}

/// One pass over the bots waiting for audio transcription.
pub async fn run_once(state: &AppState, tuning: &Tuning) -> DbResult<Report> {
    let mut report = Report::default();
    let now = state.now();
    let ids = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        transcripts::ids_for_audio(&mut conn, now, now - SETTLE, 10).await?
    };
    for id in ids {
        let claimed = {
            let mut tx = state.db.begin_write().await?;
            let ok = transcripts::claim(&mut tx, &id, now, now + tuning.lease).await?;
            tx.commit().await.map_err(DbError::from)?;
            ok
        };
        if !claimed {
            continue;
        }
        let outcome = match &state.config.transcription.openai {
            Some(openai) => transcribe(state, &id, openai, tuning, now + tuning.lease).await,
            None => Err(JobError::Permanent(
                "the openai provider is no longer configured (TRANSCRIPTION_OPENAI_URL)".into(),
            )),
        };
        if matches!(outcome, Err(JobError::Lost)) {
            tracing::warn!(bot.id = %id, "transcription claim lost to another worker");
            continue;
        }
        let now = state.now();
        let mut tx = state.db.begin_write().await?;
        let Some(bot) = bots::find_any(&mut tx, &id).await? else {
            continue; // deleted meanwhile
        };
        match outcome {
            Ok(()) => {
                transcription::announce_ready(&mut tx, &bot, now).await?;
                report.ready += 1;
            }
            Err(JobError::Permanent(reason)) => {
                tracing::warn!(bot.id = %id, reason = %reason, "transcription failed");
                transcription::fail(&mut tx, &bot, &reason, now).await?;
                report.failed += 1;
            }
            Err(e) => {
                let attempts = transcripts::find(&mut tx, &id).await?.map_or(0, |t| t.attempts);
                if attempts >= tuning.max_attempts {
                    let reason = format!("gave up after {attempts} attempts: {e}");
                    tracing::warn!(bot.id = %id, reason = %reason, "transcription failed");
                    transcription::fail(&mut tx, &bot, &reason, now).await?;
                    report.failed += 1;
                } else {
                    tracing::info!(bot.id = %id, error = %e, attempts, "transcription will be retried");
                    let wait = Duration::minutes(5 * attempts.max(1));
                    transcripts::retry_later(&mut tx, &id, now + wait, &format!("retrying: {e}")).await?;
                    report.retry_later += 1;
                }
            }
        }
        tx.commit().await.map_err(DbError::from)?;
    }
    Ok(report)
}

async fn transcribe(
    state: &AppState,
    bot_id: &str,
    openai: &OpenAiTranscription,
    tuning: &Tuning,
    mut lease_until: chrono::DateTime<chrono::Utc>,
) -> Result<(), JobError> {
    let (bot, recording, parts, existing) = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        let bot = bots::find_any(&mut conn, bot_id)
            .await?
            .ok_or_else(|| JobError::Permanent("the bot was deleted".into()))?;
        let recording = media::recording_state(&mut conn, bot_id).await?;
        let mut parts = media::list(&mut conn, bot_id, "recording").await?;
        parts.sort_by_key(|p| p.label.parse::<u32>().unwrap_or(u32::MAX));
        let existing = transcripts::find(&mut conn, bot_id).await?;
        (bot, recording, parts, existing)
    };
    let rec_state = recording.map(|r| r.state).unwrap_or_else(|| "none".into());
    if !matches!(rec_state.as_str(), "ready" | "partial") || parts.is_empty() {
        return Err(JobError::Permanent(format!(
            "no recording to transcribe (recording is {rec_state})"
        )));
    }
    let language = bot
        .transcription
        .as_ref()
        .and_then(|t| t.language.as_deref())
        .map(meeboter_core::transcription::primary_language);
    let dir = tempfile::tempdir().map_err(|e| JobError::Transient(format!("temporary directory: {e}")))?;
    let provider = OpenAi::new(openai.clone(), tuning.policy())?;
    let mut segments = Vec::new();
    // Parts follow each other; a part's offset is the durations of the parts before it.
    let mut part_offset_ms: i64 = 0;
    for (i, part) in parts.iter().enumerate() {
        let input = dir.path().join(format!("part-{i}.mp4"));
        download(state, &part.storage_key, &input).await?;
        let pieces = extract_audio(&input, dir.path(), i).await?;
        let mut piece_offset_ms = part_offset_ms;
        for piece in &pieces {
            // Long recordings outlast one lease: extend it per piece, and stop if it was lost.
            let until = state.now() + tuning.lease;
            let held = {
                let mut tx = state.db.begin_write().await?;
                let held = transcripts::extend_lease(&mut tx, bot_id, lease_until, until).await?;
                tx.commit().await.map_err(DbError::from)?;
                held
            };
            if !held {
                return Err(JobError::Lost);
            }
            lease_until = until;
            let body = tokio::fs::read(piece)
                .await
                .map_err(|e| JobError::Transient(format!("reading audio: {e}")))?;
            for s in provider.transcribe(body, language.as_deref()).await? {
                segments.push(Segment {
                    start_ms: piece_offset_ms + s.start_ms,
                    end_ms: piece_offset_ms + s.end_ms,
                    text: s.text,
                });
            }
            piece_offset_ms += (PIECE_SECS * 1000) as i64;
        }
        part_offset_ms += part.duration_ms.unwrap_or(piece_offset_ms - part_offset_ms);
    }
    // Speakers from the active-speaker timeline.
    let marks = speaker_marks(state, bot_id, transcription::call_start_ms(&bot)).await?;
    let end = segments.iter().map(|s| s.end_ms).max().unwrap_or(0);
    let spans = speaking_spans(&marks, end.max(part_offset_ms));
    let (mut total_words, mut attributed_words) = (0usize, 0usize);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    transcripts::delete_source(&mut tx, bot_id, "openai").await?;
    for s in &segments {
        let text = s.text.trim();
        if text.is_empty() {
            continue;
        }
        let who = attribute(&spans, s.start_ms, s.end_ms);
        let n = words(text).len();
        total_words += n;
        if who.is_some() {
            attributed_words += n;
        }
        transcripts::upsert(
            &mut tx,
            bot_id,
            &NewUtterance {
                caption_id: None,
                speaker: who.as_ref().map(|w| w.1.as_str()).filter(|n| !n.is_empty()),
                participant_id: who.as_ref().and_then(|w| w.0.as_deref()),
                start_ms: s.start_ms,
                end_ms: s.end_ms.max(s.start_ms),
                text,
                is_final: true,
                source: "openai",
            },
            now,
        )
        .await?;
    }
    let permille = (total_words > 0).then(|| (attributed_words * 1000 / total_words) as i64);
    // A note from the call (captions unavailable) stays; retry notes go.
    let note = existing
        .and_then(|t| t.error)
        .filter(|e| e.starts_with("captions unavailable"));
    transcripts::finish_audio(&mut tx, bot_id, "ready", Some("openai"), note.as_deref(), permille, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(bot.id = %bot_id, segments = segments.len(), attributed_permille = ?permille, "transcript ready");
    Ok(())
}

async fn download(state: &AppState, key: &str, to: &Path) -> Result<(), JobError> {
    let mut body = state
        .storage
        .get(key, None)
        .await
        .map_err(|e| JobError::Transient(format!("reading the recording: {e}")))?;
    let mut file = tokio::fs::File::create(to)
        .await
        .map_err(|e| JobError::Transient(format!("temporary file: {e}")))?;
    while let Some(chunk) = body.stream.next().await {
        let chunk = chunk.map_err(|e| JobError::Transient(format!("reading the recording: {e}")))?;
        file.write_all(&chunk)
            .await
            .map_err(|e| JobError::Transient(format!("temporary file: {e}")))?;
    }
    file.flush()
        .await
        .map_err(|e| JobError::Transient(format!("temporary file: {e}")))?;
    Ok(())
}

/// 16 kHz mono 16-bit WAV pieces of at most [`PIECE_SECS`], in order.
async fn extract_audio(input: &Path, dir: &Path, part: usize) -> Result<Vec<PathBuf>, JobError> {
    let pattern = dir.join(format!("audio-{part}-%04d.wav"));
    let out = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y", "-i"])
        .arg(input)
        .args([
            "-vn",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-c:a",
            "pcm_s16le",
            "-f",
            "segment",
            "-segment_time",
        ])
        .arg(PIECE_SECS.to_string())
        .args(["-reset_timestamps", "1"])
        .arg(&pattern)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| JobError::Transient(format!("cannot run ffmpeg: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(JobError::Permanent(format!(
            "ffmpeg could not extract the audio: {}",
            err.trim().chars().take(300).collect::<String>()
        )));
    }
    let mut pieces: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| JobError::Transient(e.to_string()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(&format!("audio-{part}-")))
        })
        .collect();
    pieces.sort();
    if pieces.is_empty() {
        return Err(JobError::Permanent("the recording has no audio".into()));
    }
    Ok(pieces)
}

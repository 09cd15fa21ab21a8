//! The audio transcription worker (providers `openai` and `deepgram`, and the captions
//! fallback): after the bot ended and its recording is assembled, the server extracts the
//! audio (ffmpeg, 16 kHz mono WAV in pieces of at most 10 minutes) and sends each piece to
//! the bot's provider — the OpenAI-compatible `POST {TRANSCRIPTION_OPENAI_URL}/v1/audio/
//! transcriptions` (verbose_json segments) or Deepgram's pre-recorded
//! `POST {TRANSCRIPTION_DEEPGRAM_URL}/v1/listen` (diarized utterances) — stores the result as
//! utterances and names their speakers from the active-speaker timeline (Deepgram's speaker
//! numbers are mapped to participants as a whole, see
//! [`meeboter_core::transcription::name_diarized_speakers`]).
//!
//! A bot is claimed by a lease on its `bot_transcripts` row (`lease_until`), so any replica
//! may run the worker. Provider 429/5xx/timeouts are retried with backoff and jitter
//! (bounded); once the budget is spent the whole job is tried again later, and fails after
//! [`Tuning::max_attempts`]. A 4xx fails the transcript with the provider's message. The
//! bot and its recording are never touched.

use crate::AppState;
use crate::audio_provider::{ProviderError, RetryPolicy, request_with_retries, send_with_retries, speaker_marks};
use crate::config::{DeepgramSettings, OpenAiTranscription, TranscriptionSettings};
use crate::transcription;
use chrono::Duration;
use futures::StreamExt;
use meeboter_core::transcription::{
    DeepgramFamily, DiarizedUtterance, SpeakerName, SpeakingSpan, TranscriptionProvider, attributed_permille,
    deepgram_language, name_diarized_speakers, speaking_spans, words,
};
use meeboter_db::transcripts::{self, NewUtterance};
use meeboter_db::{DbError, DbResult, bots, media};
use serde_json::Value;
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

impl Tuning {
    /// One request's timeout and retries, for the shared retry loop.
    fn policy(&self) -> RetryPolicy {
        RetryPolicy {
            request_timeout: self.request_timeout,
            retries: self.retries,
            backoff: self.backoff,
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
        let outcome = transcribe(state, &id, tuning, now + tuning.lease).await;
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

/// A transcribed segment, in ms from the start of its piece (then of the call).
#[derive(Debug, Clone)]
struct Segment {
    start_ms: i64,
    end_ms: i64,
    text: String,
    /// Diarized speaker number within its piece (Deepgram), if any.
    speaker: Option<u32>,
}

/// The provider a job sends its audio to.
#[derive(Clone, Copy)]
enum Provider<'a> {
    Openai(&'a OpenAiTranscription),
    Deepgram(&'a DeepgramSettings),
}

impl Provider<'_> {
    fn source(self) -> &'static str {
        match self {
            Provider::Openai(_) => TranscriptionProvider::Openai.as_str(),
            Provider::Deepgram(_) => TranscriptionProvider::Deepgram.as_str(),
        }
    }
}

/// The configured provider for a bot's transcription: its own, or — for the captions
/// fallback — the first audio provider configured (openai, then deepgram).
fn pick_provider(settings: &TranscriptionSettings, wanted: TranscriptionProvider) -> Result<Provider<'_>, JobError> {
    match wanted {
        TranscriptionProvider::Openai => settings.openai.as_ref().map(Provider::Openai).ok_or_else(|| {
            JobError::Permanent("the openai provider is no longer configured (TRANSCRIPTION_OPENAI_URL)".into())
        }),
        TranscriptionProvider::Deepgram => settings.deepgram.as_ref().map(Provider::Deepgram).ok_or_else(|| {
            JobError::Permanent("the deepgram provider is no longer configured (TRANSCRIPTION_DEEPGRAM_API_KEY)".into())
        }),
        TranscriptionProvider::MeetingCaptions => settings
            .openai
            .as_ref()
            .map(Provider::Openai)
            .or_else(|| settings.deepgram.as_ref().map(Provider::Deepgram))
            .ok_or_else(|| {
                JobError::Permanent(
                    "no audio transcription provider is configured (TRANSCRIPTION_OPENAI_URL or \
                     TRANSCRIPTION_DEEPGRAM_API_KEY)"
                        .into(),
                )
            }),
    }
}

async fn transcribe(
    state: &AppState,
    bot_id: &str,
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
    let wanted = bot
        .transcription
        .as_ref()
        .map_or(TranscriptionProvider::MeetingCaptions, |t| t.provider);
    let provider = pick_provider(&state.config.transcription, wanted)?;
    let source = provider.source();
    let rec_state = recording.map(|r| r.state).unwrap_or_else(|| "none".into());
    if !matches!(rec_state.as_str(), "ready" | "partial") || parts.is_empty() {
        return Err(JobError::Permanent(format!(
            "no recording to transcribe (recording is {rec_state})"
        )));
    }
    let tag = bot.transcription.as_ref().and_then(|t| t.language.as_deref());
    let language = match provider {
        Provider::Openai(_) => tag.map(meeboter_core::transcription::primary_language),
        Provider::Deepgram(d) => match tag {
            None => None,
            Some(tag) => Some(
                deepgram_language(DeepgramFamily::of_model(&d.model), tag).ok_or_else(|| {
                    JobError::Permanent(format!(
                        "deepgram model {} does not support the language `{tag}`",
                        d.model
                    ))
                })?,
            ),
        },
    };
    let dir = tempfile::tempdir().map_err(|e| JobError::Transient(format!("temporary directory: {e}")))?;
    let client = reqwest::Client::builder()
        .timeout(tuning.request_timeout)
        .build()
        .map_err(|e| JobError::Transient(e.to_string()))?;
    // One list per piece: a diarizer's speaker numbers hold within one request only.
    let mut pieces_segments: Vec<Vec<Segment>> = Vec::new();
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
            let found = match provider {
                Provider::Openai(openai) => {
                    parse_segments(&openai_request(&client, openai, language.as_deref(), body, tuning).await?)?
                }
                Provider::Deepgram(deepgram) => {
                    parse_deepgram(&deepgram_request(&client, deepgram, language.as_deref(), body, tuning).await?)?
                }
            };
            pieces_segments.push(
                found
                    .into_iter()
                    .map(|s| Segment {
                        start_ms: piece_offset_ms + s.start_ms,
                        end_ms: piece_offset_ms + s.end_ms,
                        ..s
                    })
                    .collect(),
            );
            piece_offset_ms += (PIECE_SECS * 1000) as i64;
        }
        part_offset_ms += part.duration_ms.unwrap_or(piece_offset_ms - part_offset_ms);
    }
    // Speakers from the active-speaker timeline.
    let marks = speaker_marks(state, bot_id, transcription::call_start_ms(&bot)).await?;
    let end = pieces_segments.iter().flatten().map(|s| s.end_ms).max().unwrap_or(0);
    let spans = speaking_spans(&marks, end.max(part_offset_ms));
    let (named, permille) = name_pieces(pieces_segments, &spans);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    transcripts::delete_source(&mut tx, bot_id, source).await?;
    for (s, who) in &named {
        let text: String = s
            .text
            .trim()
            .chars()
            .take(meeboter_core::transcription::MAX_UTTERANCE_CHARS)
            .collect();
        transcripts::upsert(
            &mut tx,
            bot_id,
            &NewUtterance {
                caption_id: None,
                speaker: who.as_ref().map(|w| w.name.as_str()).filter(|n| !n.is_empty()),
                participant_id: who.as_ref().and_then(|w| w.participant_id.as_deref()),
                start_ms: s.start_ms,
                end_ms: s.end_ms.max(s.start_ms),
                text: &text,
                is_final: true,
                source,
            },
            now,
        )
        .await?;
    }
    // A note from the call (captions unavailable) stays; retry notes go.
    let note = existing
        .and_then(|t| t.error)
        .filter(|e| e.starts_with("captions unavailable"));
    transcripts::finish_audio(&mut tx, bot_id, "ready", Some(source), note.as_deref(), permille, now).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(bot.id = %bot_id, provider = source, segments = named.len(), attributed_permille = ?permille, "transcript ready");
    Ok(())
}

/// Names the segments of every piece and computes the attributed share (permille). A
/// diarizer's speaker numbers hold within one request only, so each piece is named on its
/// own; segments without a number (openai) are named by their own overlap with the timeline.
fn name_pieces(
    pieces: Vec<Vec<Segment>>,
    spans: &[SpeakingSpan],
) -> (Vec<(Segment, Option<SpeakerName>)>, Option<i64>) {
    let mut named: Vec<(Segment, Option<SpeakerName>)> = Vec::new();
    let mut diarized: Vec<DiarizedUtterance> = Vec::new();
    for piece in pieces {
        let piece: Vec<Segment> = piece.into_iter().filter(|s| !s.text.trim().is_empty()).collect();
        let utts: Vec<DiarizedUtterance> = piece
            .iter()
            .map(|s| DiarizedUtterance {
                speaker: s.speaker,
                start_ms: s.start_ms,
                end_ms: s.end_ms,
                words: words(&s.text).len(),
            })
            .collect();
        let names = name_diarized_speakers(&utts, spans);
        named.extend(piece.into_iter().zip(names));
        diarized.extend(utts);
    }
    let names: Vec<_> = named.iter().map(|(_, n)| n.clone()).collect();
    let permille = attributed_permille(&diarized, &names);
    (named, permille)
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

async fn openai_request(
    client: &reqwest::Client,
    openai: &OpenAiTranscription,
    language: Option<&str>,
    audio: Vec<u8>,
    tuning: &Tuning,
) -> Result<Value, JobError> {
    Ok(request_with_retries(client, openai, language, audio, &tuning.policy()).await?)
}

/// Deepgram's pre-recorded `POST /v1/listen` with diarized, punctuated utterances; without
/// a language, Deepgram detects it.
async fn deepgram_request(
    client: &reqwest::Client,
    deepgram: &DeepgramSettings,
    language: Option<&str>,
    audio: Vec<u8>,
    tuning: &Tuning,
) -> Result<Value, JobError> {
    let mut url = url::Url::parse(&format!("{}/v1/listen", deepgram.url))
        .map_err(|e| JobError::Permanent(format!("TRANSCRIPTION_DEEPGRAM_URL is not usable: {e}")))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("model", &deepgram.model);
        match language {
            Some(l) => q.append_pair("language", l),
            None => q.append_pair("detect_language", "true"),
        };
        for flag in ["diarize", "utterances", "punctuate", "smart_format"] {
            q.append_pair(flag, "true");
        }
    }
    let body = bytes::Bytes::from(audio);
    let auth = format!("Token {}", deepgram.api_key);
    let answer = send_with_retries(&tuning.policy(), || {
        client
            .post(url.clone())
            .header(reqwest::header::AUTHORIZATION, &auth)
            .header(reqwest::header::CONTENT_TYPE, "audio/wav")
            .body(body.clone())
    })
    .await?;
    Ok(answer)
}

/// Deepgram's utterances (diarized) in ms; without `utterances`, the first alternative's
/// transcript is one segment spanning its words.
fn parse_deepgram(answer: &Value) -> Result<Vec<Segment>, JobError> {
    let secs = |v: Option<&Value>| v.and_then(Value::as_f64).map(|s| (s * 1000.0).round() as i64);
    if let Some(list) = answer.pointer("/results/utterances").and_then(Value::as_array) {
        return Ok(list
            .iter()
            .filter_map(|u| {
                Some(Segment {
                    start_ms: secs(u.get("start"))?,
                    end_ms: secs(u.get("end"))?,
                    text: u.get("transcript")?.as_str()?.to_string(),
                    speaker: u
                        .get("speaker")
                        .and_then(Value::as_u64)
                        .and_then(|n| u32::try_from(n).ok()),
                })
            })
            .collect());
    }
    match answer.pointer("/results/channels/0/alternatives/0") {
        Some(alt) if alt.get("transcript").is_some_and(Value::is_string) => {
            let words = alt.get("words").and_then(Value::as_array);
            let first = words.and_then(|w| w.first());
            let last = words.and_then(|w| w.last());
            Ok(vec![Segment {
                start_ms: secs(first.and_then(|w| w.get("start"))).unwrap_or(0),
                end_ms: secs(last.and_then(|w| w.get("end"))).unwrap_or(0),
                text: alt["transcript"].as_str().unwrap_or_default().to_string(),
                speaker: None,
            }])
        }
        _ => Err(JobError::Permanent(format!(
            "deepgram's answer has neither utterances nor a transcript: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ))),
    }
}

/// `verbose_json` segments in ms; a response with only `text` is one segment.
fn parse_segments(answer: &Value) -> Result<Vec<Segment>, JobError> {
    if let Some(list) = answer.get("segments").and_then(Value::as_array) {
        return Ok(list
            .iter()
            .filter_map(|s| {
                Some(Segment {
                    start_ms: (s.get("start")?.as_f64()? * 1000.0) as i64,
                    end_ms: (s.get("end")?.as_f64()? * 1000.0) as i64,
                    text: s.get("text")?.as_str()?.to_string(),
                    speaker: None,
                })
            })
            .collect());
    }
    match answer.get("text").and_then(Value::as_str) {
        Some(text) => Ok(vec![Segment {
            start_ms: 0,
            end_ms: (answer.get("duration").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0) as i64,
            text: text.to_string(),
            speaker: None,
        }]),
        None => Err(JobError::Permanent(format!(
            "the transcription provider's answer has neither segments nor text: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio_provider::provider_message;
    use serde_json::json;

    #[test]
    fn deepgram_answers() {
        let answer = json!({"results": {
            "channels": [{"alternatives": [{"transcript": "hi there", "words": []}]}],
            "utterances": [
                {"start": 0.5, "end": 1.25, "transcript": "Hi there.", "speaker": 1, "channel": 0},
                {"start": 2.0, "end": 2.5, "transcript": "Yes.", "channel": 0}
            ]
        }});
        let got: Vec<(i64, i64, String, Option<u32>)> = parse_deepgram(&answer)
            .unwrap()
            .into_iter()
            .map(|s| (s.start_ms, s.end_ms, s.text, s.speaker))
            .collect();
        assert_eq!(
            got,
            [
                (500, 1250, "Hi there.".into(), Some(1)),
                (2000, 2500, "Yes.".into(), None)
            ]
        );
        // Without utterances: the transcript spans its words.
        let answer = json!({"results": {"channels": [{"alternatives": [{"transcript": "hi", "words": [
            {"word": "hi", "start": 0.25, "end": 0.5}
        ]}]}]}});
        let s = &parse_deepgram(&answer).unwrap()[0];
        assert_eq!((s.start_ms, s.end_ms, s.text.as_str()), (250, 500, "hi"));
        assert!(matches!(
            parse_deepgram(&json!({"ok": true})),
            Err(JobError::Permanent(_))
        ));
    }

    #[test]
    fn speaker_numbers_are_named_per_piece() {
        let seg = |start_ms: i64, text: &str, speaker: Option<u32>| Segment {
            start_ms,
            end_ms: start_ms + 1000,
            text: text.into(),
            speaker,
        };
        let span = |p: &str, start_ms: i64, end_ms: i64| SpeakingSpan {
            participant_id: Some(p.into()),
            name: p.into(),
            start_ms,
            end_ms,
        };
        // Speaker 0 is Ada in the first piece and Bob in the second (the second request
        // numbered its speakers afresh).
        let spans = [span("Ada", 0, 2000), span("Bob", 600_000, 602_000)];
        let pieces = vec![
            vec![seg(0, "one two", Some(0)), seg(1000, "  ", Some(0))],
            vec![
                seg(600_000, "three", Some(0)),
                seg(700_000, "four", Some(1)),
                seg(800_000, "five", None),
            ],
        ];
        let (named, permille) = name_pieces(pieces, &spans);
        let got: Vec<(&str, Option<&str>)> = named
            .iter()
            .map(|(s, n)| (s.text.as_str(), n.as_ref().map(|n| n.name.as_str())))
            .collect();
        assert_eq!(
            got,
            [
                ("one two", Some("Ada")),
                ("three", Some("Bob")),
                ("four", Some("Speaker 2")),
                ("five", None)
            ]
        );
        assert_eq!(permille, Some(600), "3 of 5 words from the timeline");
    }

    #[test]
    fn provider_messages() {
        assert_eq!(
            provider_message(r#"{"err_code":"INVALID_AUTH","err_msg":"Invalid credentials.","request_id":"x"}"#),
            "Invalid credentials."
        );
        assert_eq!(
            provider_message(
                r#"{"category":"INVALID_JSON","message":"Invalid JSON submitted.","details":"missing field"}"#
            ),
            "missing field"
        );
        assert_eq!(provider_message(r#"{"error":{"message":"busy"}}"#), "busy");
        assert_eq!(provider_message("plain"), "plain");
    }
}

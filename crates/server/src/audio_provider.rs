//! Audio transcription providers, shared by the post-call worker
//! (`transcription_worker`, pieces of the stored recording) and the real-time worker
//! (`realtime_transcription`, the short segments a bot streams during the call).
//!
//! Two shapes of provider fit behind the traits here:
//! - [`SegmentTranscriber`]: a finished piece of audio in, its utterances out. The
//!   OpenAI-compatible `POST /v1/audio/transcriptions` endpoint ([`OpenAi`]) is this.
//! - [`StreamingTranscriber`]: audio pushed as it arrives, final utterances coming back
//!   on their own time (Deepgram's live WebSocket is this). The real-time worker feeds
//!   segments in order either way, so a streaming client plugs in without changing how
//!   segments are received, stored, ordered or retried.
//!
//! Errors say whether trying again can help ([`ProviderError::Transient`]: 429, 5xx,
//! timeouts, connection failures) or not ([`ProviderError::Permanent`]: the provider
//! refused the request or answered nonsense).

use crate::AppState;
use crate::config::OpenAiTranscription;
use async_trait::async_trait;
use meeboter_core::transcription::SpeakerMark;
use meeboter_db::{DbError, events};
use serde_json::Value;

/// A provider failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// Worth trying again later (provider down, overloaded, slow).
    #[error("{0}")]
    Transient(String),
    /// Trying again would get the same answer: the transcript fails with this reason.
    #[error("{0}")]
    Permanent(String),
}

/// Timeout and retries of one provider request.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    pub request_timeout: std::time::Duration,
    /// Retries after a 429/5xx/timeout.
    pub retries: u32,
    /// First backoff; doubles per retry, ±25 % jitter.
    pub backoff: std::time::Duration,
}

/// A transcribed stretch of audio, in ms from the start of the audio it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
}

/// A provider that transcribes a finished piece of audio (16 kHz mono 16-bit WAV).
#[async_trait]
pub trait SegmentTranscriber: Send + Sync {
    /// The `source` its utterances are stored with (`openai`, `deepgram`).
    fn source(&self) -> &'static str;
    /// The utterances of `wav`, times relative to its first sample.
    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, ProviderError>;
}

/// A provider fed audio as it comes (a live connection per bot). The real-time worker
/// pushes each segment's PCM in order with its offset, and stores whatever final
/// utterances the stream has produced; `finish` flushes the provider at the bot's end.
/// Deepgram's live client is meant to implement this; a reconnect after a provider
/// failure restarts from the first segment not yet acknowledged (segments are only
/// marked done once their utterances are stored).
#[async_trait]
pub trait StreamingTranscriber: Send + Sync {
    fn source(&self) -> &'static str;
    /// Opens a stream for one bot.
    async fn open(&self, language: Option<&str>) -> Result<Box<dyn TranscriptionStream>, ProviderError>;
}

/// One open provider stream.
#[async_trait]
pub trait TranscriptionStream: Send {
    /// Sends 16 kHz mono 16-bit PCM that starts `offset_ms` into the stream; returns the
    /// final utterances the provider has completed so far (times from the stream start).
    async fn push(&mut self, pcm: &[u8], offset_ms: i64) -> Result<Vec<Segment>, ProviderError>;
    /// Ends the audio and returns the last final utterances.
    async fn finish(&mut self) -> Result<Vec<Segment>, ProviderError>;
}

/// The OpenAI-compatible endpoint (`TRANSCRIPTION_OPENAI_URL`): OpenAI itself,
/// faster-whisper-server, LocalAI, vLLM, ….
pub struct OpenAi {
    pub config: OpenAiTranscription,
    pub policy: RetryPolicy,
    client: reqwest::Client,
}

impl OpenAi {
    pub fn new(config: OpenAiTranscription, policy: RetryPolicy) -> Result<OpenAi, ProviderError> {
        let client = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .build()
            .map_err(|e| ProviderError::Transient(e.to_string()))?;
        Ok(OpenAi { config, policy, client })
    }
}

#[async_trait]
impl SegmentTranscriber for OpenAi {
    fn source(&self) -> &'static str {
        "openai"
    }

    async fn transcribe(&self, wav: Vec<u8>, language: Option<&str>) -> Result<Vec<Segment>, ProviderError> {
        let answer = request_with_retries(&self.client, &self.config, language, wav, &self.policy).await?;
        parse_segments(&answer)
    }
}

/// One multipart request body (reqwest is built without its multipart feature).
pub(crate) fn multipart(fields: &[(&str, &str)], audio: Vec<u8>) -> (String, Vec<u8>) {
    let boundary = format!("meeboter-{}", uuid::Uuid::new_v4().simple());
    let mut body = Vec::with_capacity(audio.len() + 1024);
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"audio.wav\"\r\n\
             Content-Type: audio/wav\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&audio);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// One `POST /v1/audio/transcriptions` (verbose_json segments) through
/// [`send_with_retries`]. Both audio paths use it: the real-time worker per segment and
/// the post-call worker per piece of the recording.
pub async fn request_with_retries(
    client: &reqwest::Client,
    openai: &OpenAiTranscription,
    language: Option<&str>,
    audio: Vec<u8>,
    policy: &RetryPolicy,
) -> Result<Value, ProviderError> {
    let mut fields = vec![
        ("model", openai.model.as_str()),
        ("response_format", "verbose_json"),
        ("timestamp_granularities[]", "segment"),
    ];
    if let Some(l) = language {
        fields.push(("language", l));
    }
    let (content_type, body) = multipart(&fields, audio);
    let body = bytes::Bytes::from(body); // retries share it
    let url = format!("{}/v1/audio/transcriptions", openai.url);
    send_with_retries(policy, || {
        let req = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, &content_type)
            .body(body.clone());
        match &openai.api_key {
            Some(key) => req.bearer_auth(key),
            None => req,
        }
    })
    .await
}

/// The one retry loop of provider HTTP requests (OpenAI-compatible and Deepgram's
/// pre-recorded API): sends the request `build` makes (rebuilt per attempt) until it
/// succeeds. 429, 5xx, timeouts and connection failures are retried `policy.retries` times
/// with doubling backoff and ±25 % jitter, then reported as transient; another 4xx is the
/// provider's verdict (permanent, with its message); a 2xx that is not JSON is permanent.
pub async fn send_with_retries(
    policy: &RetryPolicy,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<Value, ProviderError> {
    let mut attempt = 0;
    loop {
        let retryable = match build().send().await {
            Ok(resp) => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                if status.is_success() {
                    return serde_json::from_str(&text).map_err(|_| {
                        ProviderError::Permanent(format!(
                            "the transcription provider answered with something that is not JSON: {}",
                            text.chars().take(200).collect::<String>()
                        ))
                    });
                }
                let message = provider_message(&text);
                if status.as_u16() == 429 || status.is_server_error() {
                    format!("provider answered {status}: {message}")
                } else {
                    return Err(ProviderError::Permanent(format!(
                        "the transcription provider refused the request ({status}): {message}"
                    )));
                }
            }
            Err(e) if e.is_timeout() => format!("provider timed out after {:?}", policy.request_timeout),
            Err(e) => format!("cannot reach the transcription provider: {}", without_url(&e)),
        };
        if attempt >= policy.retries {
            return Err(ProviderError::Transient(retryable));
        }
        let base = policy.backoff.as_millis() as f64 * 2f64.powi(attempt as i32);
        let jitter = 0.75 + rand::random::<f64>() * 0.5;
        tokio::time::sleep(std::time::Duration::from_millis((base * jitter) as u64)).await;
        attempt += 1;
    }
}

/// A reqwest error without its URL (keeps errors short; a URL never carries a key here).
fn without_url(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    if let Some(u) = e.url() {
        text = text.replace(u.as_str(), "the provider");
    }
    text
}

/// The provider's error message (`{"error": {"message"}}` or `{"detail": …}`), else the body.
pub(crate) fn provider_message(text: &str) -> String {
    let v: Option<Value> = serde_json::from_str(text).ok();
    let msg = v.as_ref().and_then(|v| {
        // Deepgram: {"err_code", "err_msg"} or {"category", "message"/"details"}.
        v.get("err_msg")
            .or_else(|| v.get("details").filter(|_| v.get("category").is_some()))
            .or_else(|| v.get("message").filter(|_| v.get("category").is_some()))
            .or_else(|| v.pointer("/error/message"))
            .or_else(|| v.pointer("/detail/error/message"))
            .or_else(|| v.get("detail"))
            .or_else(|| v.get("error"))
            .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
    });
    msg.unwrap_or_else(|| text.to_string()).chars().take(500).collect()
}

/// `verbose_json` segments in ms; a response with only `text` is one segment.
pub fn parse_segments(answer: &Value) -> Result<Vec<Segment>, ProviderError> {
    if let Some(list) = answer.get("segments").and_then(Value::as_array) {
        return Ok(list
            .iter()
            .filter_map(|s| {
                Some(Segment {
                    start_ms: (s.get("start")?.as_f64()? * 1000.0) as i64,
                    end_ms: (s.get("end")?.as_f64()? * 1000.0) as i64,
                    text: s.get("text")?.as_str()?.to_string(),
                })
            })
            .collect());
    }
    match answer.get("text").and_then(Value::as_str) {
        Some(text) => Ok(vec![Segment {
            start_ms: 0,
            end_ms: (answer.get("duration").and_then(Value::as_f64).unwrap_or(0.0) * 1000.0) as i64,
            text: text.to_string(),
        }]),
        None => Err(ProviderError::Permanent(format!(
            "the transcription provider's answer has neither segments nor text: {}",
            answer.to_string().chars().take(200).collect::<String>()
        ))),
    }
}

/// The bot's `active_speaker` events as marks in ms from the call start (`call_start`, epoch
/// ms: computed now, so marks sent before the bot's `IN_CALL` was recorded still fit).
pub async fn speaker_marks(state: &AppState, bot_id: &str, call_start: i64) -> Result<Vec<SpeakerMark>, DbError> {
    let mut conn = state.db.pool().acquire().await?;
    let types = vec!["active_speaker".to_string()];
    let mut marks = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = events::list(&mut conn, bot_id, after.as_deref(), &types, 1000).await?;
        for e in &page {
            let Some(at_ms) = e.data.get("at").and_then(Value::as_i64).map(|at| at - call_start) else {
                continue;
            };
            let name = e.data.get("name").and_then(Value::as_str).unwrap_or("").to_string();
            let participant_id = e.data.get("participantId").and_then(Value::as_str).map(str::to_string);
            if name.is_empty() && participant_id.is_none() {
                continue;
            }
            marks.push(SpeakerMark {
                participant_id,
                name,
                speaking: e.data.get("speaking").and_then(Value::as_bool).unwrap_or(true),
                at_ms,
            });
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.id.clone()),
            _ => break,
        }
    }
    marks.sort_by_key(|m| m.at_ms);
    Ok(marks)
}

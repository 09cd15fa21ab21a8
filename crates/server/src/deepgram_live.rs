//! A client for Deepgram's streaming API (`wss://…/v1/listen`), for real-time transcripts:
//! the server feeds it the call's audio (16-bit mono PCM) as it arrives from the bot and reads
//! [`LiveEvent`]s back. Credentials stay on the server; bots never talk to Deepgram.
//!
//! Why it looks like this:
//! - **Call clock.** Deepgram's times start at 0 on every connection. A session counts the
//!   audio it sent on earlier connections and adds it, so after a reconnect times continue
//!   on the call's clock instead of jumping back.
//! - **Reconnect.** A dropped socket (or a server close) is reopened with bounded retries,
//!   doubling backoff and jitter; audio sent meanwhile waits in the send queue. Audio Deepgram
//!   received but had not finalised on the dead connection is lost (there is no resume).
//! - **Bounded memory.** Audio goes through a bounded queue ([`LiveOptions::queue_frames`]):
//!   [`LiveSession::send_audio`] waits for room (backpressure), [`LiveSession::try_send_audio`]
//!   refuses instead, for callers that must never block.
//! - **Idle.** Deepgram closes a stream that saw no audio or `KeepAlive` for 10 s (NET-0001);
//!   the session sends `KeepAlive` after [`LiveOptions::keepalive_every`] without audio.
//! - **Clean end.** [`LiveSession::close`] sends `CloseStream`, forwards the last results and
//!   waits for Deepgram's `Metadata` (bounded by [`LiveOptions::close_timeout`]).
//!
//! Protocol facts and sources: `docs/research/deepgram.md`. Tested against `deepgram-fake`.

use crate::config::DeepgramSettings;
use async_tungstenite::tungstenite::client::IntoClientRequest;
use async_tungstenite::tungstenite::{Error as WsError, Message};
use async_tungstenite::{WebSocketReceiver, WebSocketSender};
use futures::StreamExt;
use meeboter_core::transcription::{DeepgramFamily, deepgram_language};
use serde_json::Value;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

type Ws = async_tungstenite::WebSocketStream<async_tungstenite::tokio::ConnectStream>;
type Sender = WebSocketSender<async_tungstenite::tokio::ConnectStream>;
type Receiver = WebSocketReceiver<async_tungstenite::tokio::ConnectStream>;

/// Tunables of a session (tests shorten them).
#[derive(Debug, Clone)]
pub struct LiveOptions {
    /// Send `KeepAlive` after this long without audio (Deepgram advises every 3–5 s).
    pub keepalive_every: Duration,
    /// One connection attempt's timeout (TCP, TLS and the HTTP upgrade).
    pub connect_timeout: Duration,
    /// Reconnection attempts per outage before the session gives up.
    pub max_reconnects: u32,
    /// First reconnection backoff; doubles per attempt, ±25 % jitter.
    pub backoff: Duration,
    /// Audio chunks the send queue holds (bounds memory during a reconnect).
    pub queue_frames: usize,
    /// How long [`LiveSession::close`] waits for the final results and `Metadata`.
    pub close_timeout: Duration,
    /// Silence (ms) before Deepgram marks `speech_final`.
    pub endpointing_ms: u32,
    /// Gap (ms) after the last word before an `UtteranceEnd`.
    pub utterance_end_ms: u32,
    /// Reopen a dropped connection and go on (default). Off for a caller that resends
    /// unfinalised audio itself (the real-time worker): a lost connection then ends the
    /// session with [`LiveEvent::Failed`] and nothing more is sent.
    pub reconnect: bool,
}

impl Default for LiveOptions {
    fn default() -> Self {
        LiveOptions {
            keepalive_every: Duration::from_secs(5),
            connect_timeout: Duration::from_secs(10),
            max_reconnects: 5,
            backoff: Duration::from_millis(500),
            queue_frames: 500,
            close_timeout: Duration::from_secs(10),
            endpointing_ms: 300,
            utterance_end_ms: 1000,
            reconnect: true,
        }
    }
}

/// A recognised word, in ms on the call's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveWord {
    pub word: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub confidence: f64,
    pub speaker: Option<u32>,
}

/// A `Results` message: interim (`is_final: false`, replaced by later results for the same
/// audio) or final; times in ms on the call's clock.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveResult {
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    pub is_final: bool,
    /// Deepgram saw the end of speech (endpointing) — a good place to cut an utterance.
    pub speech_final: bool,
    /// The speaker of most of the words (diarization), if any.
    pub speaker: Option<u32>,
    pub words: Vec<LiveWord>,
}

/// What a session reports.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    Result(LiveResult),
    SpeechStarted {
        at_ms: i64,
    },
    UtteranceEnd {
        last_word_end_ms: i64,
    },
    /// The connection dropped and a new one took over at `at_ms` of audio.
    Reconnected {
        at_ms: i64,
    },
    /// The session ended for good (reconnects exhausted, or Deepgram refused).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LiveError {
    /// Deepgram refused the key (401/403 at the handshake).
    #[error("deepgram refused the credentials ({status}): {message}")]
    Auth { status: u16, message: String },
    /// Another HTTP answer at the handshake (400 bad model/language, 402, 429, 5xx).
    #[error("deepgram answered {status}: {message}")]
    Http { status: u16, message: String },
    #[error("cannot connect to deepgram: {0}")]
    Connect(String),
    #[error("deepgram model {model} does not support the language `{language}`")]
    UnsupportedLanguage { model: String, language: String },
    /// The send queue is full (only from [`LiveSession::try_send_audio`]).
    #[error("the audio queue is full")]
    QueueFull,
    /// The session ended; see the last [`LiveEvent::Failed`].
    #[error("the live session has ended")]
    Closed,
    #[error("deepgram did not confirm the end of the stream in time")]
    CloseTimeout,
}

impl LiveError {
    /// Worth trying again (throttled, server trouble, network).
    fn retryable(&self) -> bool {
        match self {
            LiveError::Http { status, .. } => *status == 408 || *status == 429 || *status >= 500,
            LiveError::Connect(_) => true,
            _ => false,
        }
    }
}

enum Cmd {
    Audio(Vec<u8>),
    Finalize,
    Close(oneshot::Sender<Result<(), LiveError>>),
}

/// A running stream. Dropping it ends the stream (without waiting for the last results).
pub struct LiveSession {
    cmds: mpsc::Sender<Cmd>,
    events: mpsc::Receiver<LiveEvent>,
}

/// Entry point: `DeepgramLive::connect(settings, language, sample_rate, options)`.
pub struct DeepgramLive;

impl DeepgramLive {
    /// Opens a stream of 16-bit mono PCM at `sample_rate` in `language` (a canonical tag; `None`
    /// = the model's default). Fails fast on credentials or an unsupported language; retries
    /// throttling and network trouble within [`LiveOptions::max_reconnects`].
    pub async fn connect(
        settings: &DeepgramSettings,
        language: Option<&str>,
        sample_rate: u32,
        options: LiveOptions,
    ) -> Result<LiveSession, LiveError> {
        let language = match language {
            None => None,
            Some(tag) => Some(
                deepgram_language(DeepgramFamily::of_model(&settings.model), tag).ok_or_else(|| {
                    LiveError::UnsupportedLanguage {
                        model: settings.model.clone(),
                        language: tag.to_string(),
                    }
                })?,
            ),
        };
        let target = Target {
            url: stream_url(settings, language.as_deref(), sample_rate, &options)?,
            auth: format!("Token {}", settings.api_key),
            sample_rate,
        };
        let ws = connect_with_retries(&target, &options).await?;
        let (cmd_tx, cmd_rx) = mpsc::channel(options.queue_frames.max(1));
        let (ev_tx, ev_rx) = mpsc::channel(1024);
        tokio::spawn(run(target, options, ws, cmd_rx, ev_tx));
        Ok(LiveSession {
            cmds: cmd_tx,
            events: ev_rx,
        })
    }
}

impl LiveSession {
    /// Queues PCM samples, waiting for room in the queue.
    pub async fn send_audio(&self, samples: &[i16]) -> Result<(), LiveError> {
        self.send_bytes(pcm_bytes(samples)).await
    }

    /// Queues little-endian 16-bit PCM bytes, waiting for room in the queue.
    pub async fn send_bytes(&self, pcm: Vec<u8>) -> Result<(), LiveError> {
        self.cmds.send(Cmd::Audio(pcm)).await.map_err(|_| LiveError::Closed)
    }

    /// Queues PCM samples, or refuses with [`LiveError::QueueFull`] without waiting.
    pub fn try_send_audio(&self, samples: &[i16]) -> Result<(), LiveError> {
        self.cmds.try_send(Cmd::Audio(pcm_bytes(samples))).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => LiveError::QueueFull,
            mpsc::error::TrySendError::Closed(_) => LiveError::Closed,
        })
    }

    /// Asks Deepgram to finalise what it heard so far (the next final has `from_finalize`).
    pub async fn finalize(&self) -> Result<(), LiveError> {
        self.cmds.send(Cmd::Finalize).await.map_err(|_| LiveError::Closed)
    }

    /// The next event; `None` once the session ended and every event was read.
    pub async fn next_event(&mut self) -> Option<LiveEvent> {
        self.events.recv().await
    }

    /// Sends `CloseStream` after the queued audio and waits for Deepgram's `Metadata`; the
    /// remaining events stay readable with [`Self::next_event`].
    pub async fn close(&mut self) -> Result<(), LiveError> {
        let (tx, rx) = oneshot::channel();
        self.cmds.send(Cmd::Close(tx)).await.map_err(|_| LiveError::Closed)?;
        rx.await.unwrap_or(Err(LiveError::Closed))
    }
}

fn pcm_bytes(samples: &[i16]) -> Vec<u8> {
    samples.iter().flat_map(|s| s.to_le_bytes()).collect()
}

struct Target {
    url: String,
    auth: String,
    sample_rate: u32,
}

fn stream_url(
    settings: &DeepgramSettings,
    language: Option<&str>,
    sample_rate: u32,
    options: &LiveOptions,
) -> Result<String, LiveError> {
    let mut url = url::Url::parse(&format!("{}/v1/listen", settings.url))
        .map_err(|e| LiveError::Connect(format!("TRANSCRIPTION_DEEPGRAM_URL is not usable: {e}")))?;
    let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
    url.set_scheme(scheme)
        .map_err(|_| LiveError::Connect("TRANSCRIPTION_DEEPGRAM_URL has an unusable scheme".into()))?;
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("model", &settings.model)
            .append_pair("encoding", "linear16")
            .append_pair("sample_rate", &sample_rate.to_string())
            .append_pair("channels", "1")
            .append_pair("interim_results", "true")
            .append_pair("diarize", "true")
            .append_pair("punctuate", "true")
            .append_pair("smart_format", "true")
            .append_pair("vad_events", "true")
            .append_pair("endpointing", &options.endpointing_ms.to_string())
            .append_pair("utterance_end_ms", &options.utterance_end_ms.to_string());
        if let Some(l) = language {
            q.append_pair("language", l);
        }
    }
    Ok(url.into())
}

async fn connect_once(target: &Target, options: &LiveOptions) -> Result<Ws, LiveError> {
    let mut req = target
        .url
        .as_str()
        .into_client_request()
        .map_err(|e| LiveError::Connect(e.to_string()))?;
    let auth = target
        .auth
        .parse()
        .map_err(|_| LiveError::Connect("the API key is not a valid header value".into()))?;
    req.headers_mut().insert("authorization", auth);
    match tokio::time::timeout(options.connect_timeout, async_tungstenite::tokio::connect_async(req)).await {
        Err(_) => Err(LiveError::Connect(format!(
            "no answer within {:?}",
            options.connect_timeout
        ))),
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(WsError::Http(resp))) => {
            let status = resp.status().as_u16();
            let body = resp.body().as_deref().unwrap_or_default();
            let message = serde_json::from_slice::<Value>(body)
                .ok()
                .and_then(|v| v.get("err_msg").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect());
            if status == 401 || status == 403 {
                Err(LiveError::Auth { status, message })
            } else {
                Err(LiveError::Http { status, message })
            }
        }
        // Never the request (it carries the key): only the error's own text.
        Ok(Err(e)) => Err(LiveError::Connect(e.to_string())),
    }
}

async fn connect_with_retries(target: &Target, options: &LiveOptions) -> Result<Ws, LiveError> {
    let mut attempt = 0;
    loop {
        match connect_once(target, options).await {
            Ok(ws) => return Ok(ws),
            Err(e) if e.retryable() && attempt < options.max_reconnects => {
                let base = options.backoff.as_millis() as f64 * 2f64.powi(attempt as i32);
                let jitter = 0.75 + rand::random::<f64>() * 0.5;
                tokio::time::sleep(Duration::from_millis((base * jitter) as u64)).await;
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Why a connection's loop stopped.
enum Stop {
    /// The socket broke or the server closed it: reconnect.
    Lost,
    /// The session is over (closed cleanly, or every handle dropped).
    Done,
}

async fn run(
    target: Target,
    options: LiveOptions,
    ws: Ws,
    mut cmds: mpsc::Receiver<Cmd>,
    events: mpsc::Sender<LiveEvent>,
) {
    let bytes_per_sec = f64::from(target.sample_rate) * 2.0;
    // Audio sent on earlier connections, in bytes (the call-clock offset of this one).
    let mut offset_bytes: u64 = 0;
    let mut ws = ws;
    // A chunk that could not be sent when the socket broke goes first on the next one.
    let mut pending: Option<Vec<u8>> = None;
    loop {
        let mut sent: u64 = 0;
        let offset_ms = (offset_bytes as f64 / bytes_per_sec * 1000.0).round() as i64;
        let stop = connection(ws, &options, &mut cmds, &events, offset_ms, &mut sent, &mut pending).await;
        offset_bytes += sent;
        match stop {
            Stop::Done => return,
            Stop::Lost if !options.reconnect => {
                tracing::info!("deepgram stream lost; the caller resumes it");
                let _ = events
                    .send(LiveEvent::Failed("the deepgram connection dropped".into()))
                    .await;
                return;
            }
            Stop::Lost => {
                let at_ms = (offset_bytes as f64 / bytes_per_sec * 1000.0).round() as i64;
                match connect_with_retries(&target, &options).await {
                    Ok(next) => {
                        tracing::info!(at_ms, "deepgram stream reconnected");
                        let _ = events.send(LiveEvent::Reconnected { at_ms }).await;
                        ws = next;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "deepgram stream lost");
                        let _ = events.send(LiveEvent::Failed(e.to_string())).await;
                        return;
                    }
                }
            }
        }
    }
}

async fn connection(
    ws: Ws,
    options: &LiveOptions,
    cmds: &mut mpsc::Receiver<Cmd>,
    events: &mpsc::Sender<LiveEvent>,
    offset_ms: i64,
    sent: &mut u64,
    pending: &mut Option<Vec<u8>>,
) -> Stop {
    let (mut sink, mut stream) = ws.split();
    if let Some(chunk) = pending.take() {
        let n = chunk.len() as u64;
        if sink.send(Message::binary(chunk.clone())).await.is_err() {
            *pending = Some(chunk);
            return Stop::Lost;
        }
        *sent += n;
    }
    let mut last_sent = Instant::now();
    loop {
        let keepalive_at = last_sent + options.keepalive_every;
        tokio::select! {
            cmd = cmds.recv() => match cmd {
                Some(Cmd::Audio(chunk)) => {
                    if chunk.is_empty() {
                        continue;
                    }
                    let n = chunk.len() as u64;
                    if sink.send(Message::binary(chunk.clone())).await.is_err() {
                        *pending = Some(chunk);
                        return Stop::Lost;
                    }
                    *sent += n;
                    last_sent = Instant::now();
                }
                Some(Cmd::Finalize) => {
                    if sink.send(Message::text(r#"{"type":"Finalize"}"#)).await.is_err() {
                        return Stop::Lost;
                    }
                }
                Some(Cmd::Close(reply)) => {
                    let result = finish(&mut sink, &mut stream, options, events, offset_ms).await;
                    let _ = reply.send(result);
                    return Stop::Done;
                }
                None => {
                    let _ = finish(&mut sink, &mut stream, options, events, offset_ms).await;
                    return Stop::Done;
                }
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    // A Metadata mid-stream (the server ending it on its own) is followed
                    // by its close frame, handled next.
                    forward(&text, offset_ms, events).await;
                }
                Some(Ok(Message::Close(frame))) => {
                    let why = frame.map(|f| format!("{} {}", u16::from(f.code), f.reason)).unwrap_or_default();
                    tracing::warn!(close = %why, "deepgram closed the stream");
                    return Stop::Lost;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Stop::Lost,
            },
            _ = tokio::time::sleep_until(keepalive_at) => {
                if sink.send(Message::text(r#"{"type":"KeepAlive"}"#)).await.is_err() {
                    return Stop::Lost;
                }
                last_sent = Instant::now();
            }
        }
    }
}

/// `CloseStream`, then results until `Metadata` (or the server's close).
async fn finish(
    sink: &mut Sender,
    stream: &mut Receiver,
    options: &LiveOptions,
    events: &mpsc::Sender<LiveEvent>,
    offset_ms: i64,
) -> Result<(), LiveError> {
    if sink.send(Message::text(r#"{"type":"CloseStream"}"#)).await.is_err() {
        return Err(LiveError::Closed);
    }
    let wait = async {
        while let Some(msg) = stream.next().await {
            match msg {
                Ok(Message::Text(text)) => {
                    if forward(&text, offset_ms, events).await {
                        return Ok(());
                    }
                }
                Ok(Message::Close(_)) | Err(_) => return Err(LiveError::Closed),
                Ok(_) => {}
            }
        }
        Err(LiveError::Closed)
    };
    let result = tokio::time::timeout(options.close_timeout, wait)
        .await
        .unwrap_or(Err(LiveError::CloseTimeout));
    let _ = sink.close(None).await;
    result
}

/// Forwards a server message as an event; true for `Metadata` (the end of a stream).
async fn forward(text: &str, offset_ms: i64, events: &mpsc::Sender<LiveEvent>) -> bool {
    let Ok(v) = serde_json::from_str::<Value>(text) else {
        tracing::warn!("deepgram sent a message that is not JSON");
        return false;
    };
    let ms = |x: Option<&Value>| offset_ms + (x.and_then(Value::as_f64).unwrap_or(0.0) * 1000.0).round() as i64;
    let event = match v.get("type").and_then(Value::as_str) {
        Some("Results") => parse_result(&v, offset_ms).map(LiveEvent::Result),
        Some("SpeechStarted") => Some(LiveEvent::SpeechStarted {
            at_ms: ms(v.get("timestamp")),
        }),
        Some("UtteranceEnd") => Some(LiveEvent::UtteranceEnd {
            last_word_end_ms: ms(v.get("last_word_end")),
        }),
        Some("Metadata") => return true,
        _ => None,
    };
    if let Some(e) = event {
        let _ = events.send(e).await;
    }
    false
}

/// A `Results` message on the call's clock.
pub fn parse_result(v: &Value, offset_ms: i64) -> Option<LiveResult> {
    let ms = |x: f64| offset_ms + (x * 1000.0).round() as i64;
    let start = v.get("start")?.as_f64()?;
    let duration = v.get("duration").and_then(Value::as_f64).unwrap_or(0.0);
    let alt = v.pointer("/channel/alternatives/0")?;
    let words: Vec<LiveWord> = alt
        .get("words")
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|w| {
                    Some(LiveWord {
                        word: w
                            .get("punctuated_word")
                            .or_else(|| w.get("word"))
                            .and_then(Value::as_str)?
                            .to_string(),
                        start_ms: ms(w.get("start")?.as_f64()?),
                        end_ms: ms(w.get("end")?.as_f64()?),
                        confidence: w.get("confidence").and_then(Value::as_f64).unwrap_or(0.0),
                        speaker: w
                            .get("speaker")
                            .and_then(Value::as_u64)
                            .and_then(|s| u32::try_from(s).ok()),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for s in words.iter().filter_map(|w| w.speaker) {
        match counts.iter_mut().find(|(k, _)| *k == s) {
            Some((_, n)) => *n += 1,
            None => counts.push((s, 1)),
        }
    }
    let speaker = counts
        .iter()
        .fold(None::<(u32, usize)>, |best, &(s, n)| match best {
            Some((_, bn)) if bn >= n => best,
            _ => Some((s, n)),
        })
        .map(|(s, _)| s);
    Some(LiveResult {
        start_ms: ms(start),
        end_ms: ms(start + duration),
        text: alt
            .get("transcript")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        is_final: v.get("is_final").and_then(Value::as_bool).unwrap_or(false),
        speech_final: v.get("speech_final").and_then(Value::as_bool).unwrap_or(false),
        speaker,
        words,
    })
}

#[cfg(test)]
mod tests;

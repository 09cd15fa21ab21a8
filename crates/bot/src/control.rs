//! The control channel, seen from the bot: `GET config`, `POST status`, `POST heartbeat`,
//! `POST events`, chat, screenshots and the recording upload (`POST recording/chunks`,
//! `…/chunks/complete`, `recording/finish`, and the `PUT` of a chunk to where the server
//! says), authenticated with the bot's own token.
//!
//! Every call has a timeout; transport failures, 5xx and 429 are retried with exponential
//! backoff and jitter for a bounded time (a status report survives a minute-long API
//! outage). 401 and 409 are answers, not failures: the bot has ended or the server has
//! moved on, and the bot should stop.

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

use crate::driver::OutgoingChat;

/// Per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one call keeps retrying.
#[derive(Debug, Clone, Copy)]
pub struct RetryBudget {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl RetryBudget {
    /// For reports that must not be lost (status): ~1 minute of retries.
    pub const PERSISTENT: RetryBudget = RetryBudget {
        attempts: 12,
        first_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(8),
    };
    /// For calls that are repeated anyway (heartbeats): one quick retry.
    pub const QUICK: RetryBudget = RetryBudget {
        attempts: 2,
        first_backoff: Duration::from_millis(250),
        max_backoff: Duration::from_secs(1),
    };
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// The token is not (or no longer) accepted: the bot has ended or was never created.
    #[error("the control channel refused this bot's token: {0}")]
    Unauthorized(String),
    /// The server recorded the report but the bot is elsewhere in its lifecycle.
    #[error("the server has the bot in status {current}: {message}")]
    Conflict {
        current: String,
        message: String,
        /// The error code (`status_conflict`, `transcript_closed`, …).
        code: String,
    },
    /// The server rejected the request itself (a bug in this bot or the server).
    #[error("the control channel rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// Unreachable, timing out or failing for the whole retry budget.
    #[error("the control channel is unreachable: {0}")]
    Unreachable(String),
}

/// The server's default `HEARTBEAT_TIMEOUT_SECS`.
pub const DEFAULT_HEARTBEAT_TIMEOUT_SECS: u64 = 120;

fn default_heartbeat_timeout() -> u64 {
    DEFAULT_HEARTBEAT_TIMEOUT_SECS
}

/// What the bot learns from `GET config`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BotConfig {
    pub bot_id: String,
    pub meeting_url: String,
    pub platform: String,
    pub bot_name: String,
    pub recording_mode: String,
    pub automatic_leave: AutomaticLeave,
    pub heartbeat_interval_secs: u64,
    /// After this long without an answer from the server the bot gives up; absent from
    /// older servers (then [`DEFAULT_HEARTBEAT_TIMEOUT_SECS`]).
    #[serde(default = "default_heartbeat_timeout")]
    pub heartbeat_timeout_secs: u64,
    pub status: String,
    /// Name fragments of other bots (`NOTETAKER_NAMES`); absent from older servers.
    #[serde(default)]
    pub notetaker_names: Vec<String>,
    /// How long the platform lets a stopping bot run before it kills it; absent from older
    /// servers (then the bot flushes within `runtime::FLUSH_WITHIN`).
    #[serde(default)]
    pub stop_grace_secs: Option<u64>,
    /// The bot's transcription settings; absent from older servers and when none was asked.
    #[serde(default)]
    pub transcription: Option<TranscriptionConfig>,
}

/// `transcription` of `GET config`. Only `meeting_captions` concerns the bot's page: it turns
/// the client's captions on and reads them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionConfig {
    pub provider: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub realtime: bool,
}

impl TranscriptionConfig {
    /// The provider that reads the meeting client's own captions.
    pub const MEETING_CAPTIONS: &'static str = "meeting_captions";

    pub fn reads_captions(&self) -> bool {
        self.provider == Self::MEETING_CAPTIONS
    }

    /// Whether the bot streams the meeting's audio to the server while the call runs
    /// (`realtime` with a provider the server feeds from segments: `openai`, `deepgram`).
    pub fn streams_audio(&self) -> bool {
        self.realtime && matches!(self.provider.as_str(), "openai" | "deepgram")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AutomaticLeave {
    pub waiting_room_timeout_secs: u64,
    pub noone_joined_timeout_secs: u64,
    pub everyone_left_timeout_secs: u64,
    pub max_duration_secs: u64,
}

/// The answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct HeartbeatReply {
    pub leave: bool,
    pub reason: Option<String>,
}

/// Chunks `from_seq..=to_seq` of `part` the bot recorded but could not get confirmed (seq 0
/// is the part's init section: without it the whole part is lost).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingChunks {
    pub part: u32,
    pub from_seq: u32,
    pub to_seq: u32,
    /// Where the span starts in the part (milliseconds).
    pub start_ms: u64,
    /// How long the span plays (milliseconds).
    pub duration_ms: u64,
}

/// What `recording/finish` says about completeness.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FinishReport {
    /// Every chunk the bot recorded was confirmed by the server.
    pub complete: bool,
    pub missing: Vec<MissingChunks>,
}

/// One chunk of a recording: the body of `POST recording/chunks` and of
/// `POST recording/chunks/complete`. `seq` 0 is the part's init section (`init.mp4`),
/// 1, 2, … its media segments in playlist order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChunkInfo {
    pub part: u32,
    pub seq: u32,
    pub size_bytes: u64,
    /// SHA-256 of the bytes, lowercase hex.
    pub sha256: String,
    /// `None` for the init section.
    pub duration_ms: Option<u64>,
    pub content_type: String,
}

/// Where to send a chunk's bytes, as the server answers `POST recording/chunks`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UploadTarget {
    pub method: String,
    /// Absolute: the server itself, or a presigned object-storage URL.
    pub url: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub auth: UploadAuth,
}

/// Whether the upload request carries the bot's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UploadAuth {
    /// The URL is the server's: send `Authorization: Bearer <token>` (same origin only).
    BotToken,
    /// A presigned URL: it carries its own authorisation, and the token must not leak.
    None,
}

/// A request body: JSON, or bytes (screenshots) sent as they are.
enum Payload {
    Json(Value),
    Bytes {
        content_type: &'static str,
        bytes: bytes::Bytes,
    },
}

/// What `GET commands` answers: what the bot must act on now.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Commands {
    pub leave: bool,
    pub reason: Option<String>,
    #[serde(default)]
    pub chat_pending: bool,
}

/// A client for one bot's control channel.
#[derive(Clone)]
pub struct ControlClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for ControlClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ControlClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl ControlClient {
    /// `base` is `API_CALLBACK_URL`; `token` is `MILO_AUTH_TOKEN`.
    pub fn new(base: &str, token: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("meeboter-bot/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("static HTTP client configuration is valid");
        Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        budget: RetryBudget,
    ) -> Result<Value, ControlError> {
        let body = body.map(|b| Payload::Json(b.clone()));
        self.send(method, path, body.as_ref(), budget).await
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Payload>,
        budget: RetryBudget,
    ) -> Result<Value, ControlError> {
        let url = format!("{}{path}", self.base);
        let build = || {
            let mut req = self.http.request(method.clone(), &url).bearer_auth(&self.token);
            match body {
                Some(Payload::Json(b)) => req = req.json(b),
                Some(Payload::Bytes { content_type, bytes }) => {
                    req = req
                        .header(reqwest::header::CONTENT_TYPE, *content_type)
                        .body(bytes.clone());
                }
                None => {}
            }
            req
        };
        self.execute(path, build, budget).await
    }

    /// Sends the request `build` makes, retrying transport errors, 5xx and 429 within
    /// `budget`; `what` names the call in logs.
    async fn execute(
        &self,
        what: &str,
        build: impl Fn() -> reqwest::RequestBuilder,
        budget: RetryBudget,
    ) -> Result<Value, ControlError> {
        let mut backoff = budget.first_backoff;
        let mut last_error = String::new();
        for attempt in 1..=budget.attempts.max(1) {
            match build().send().await {
                Ok(res) => {
                    let status = res.status();
                    let text = res.text().await.unwrap_or_default();
                    let json: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let message = json["error"]["message"].as_str().unwrap_or(&text).to_string();
                    match status {
                        s if s.is_success() => return Ok(json),
                        StatusCode::UNAUTHORIZED => return Err(ControlError::Unauthorized(message)),
                        StatusCode::CONFLICT => {
                            let current = json["error"]["details"]["status"].as_str().unwrap_or("").to_string();
                            let code = json["error"]["code"].as_str().unwrap_or("").to_string();
                            return Err(ControlError::Conflict { current, message, code });
                        }
                        s if s.is_server_error() || s == StatusCode::TOO_MANY_REQUESTS => {
                            last_error = format!("{s}: {message}");
                        }
                        s => {
                            return Err(ControlError::Rejected {
                                status: s.as_u16(),
                                message,
                            });
                        }
                    }
                }
                Err(e) => last_error = e.to_string(),
            }
            if attempt < budget.attempts {
                tracing::debug!(what, attempt, error = %last_error, "control channel call failed; retrying");
                let jittered = backoff.mul_f64(rand::rng().random_range(0.5..1.5));
                tokio::time::sleep(jittered).await;
                backoff = (backoff * 2).min(budget.max_backoff);
            }
        }
        Err(ControlError::Unreachable(last_error))
    }

    /// The bot's configuration (the automatic-leave settings among it).
    pub async fn config(&self) -> Result<BotConfig, ControlError> {
        let json = self.call(Method::GET, "/config", None, RetryBudget::PERSISTENT).await?;
        serde_json::from_value(json).map_err(|e| ControlError::Rejected {
            status: 200,
            message: format!("unexpected config: {e}"),
        })
    }

    /// Reports a status change; returns the status the server now has.
    pub async fn report_status(
        &self,
        status: &str,
        sub_code: Option<&str>,
        message: Option<&str>,
    ) -> Result<String, ControlError> {
        let body = json!({"status": status, "subCode": sub_code, "message": message});
        let ack = self
            .call(Method::POST, "/status", Some(&body), RetryBudget::PERSISTENT)
            .await?;
        Ok(ack["status"].as_str().unwrap_or(status).to_string())
    }

    /// A heartbeat; the answer says whether to leave, and why.
    pub async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError> {
        let json = self.call(Method::POST, "/heartbeat", None, RetryBudget::QUICK).await?;
        serde_json::from_value(json).map_err(|e| ControlError::Rejected {
            status: 200,
            message: format!("unexpected heartbeat answer: {e}"),
        })
    }

    /// Waits up to `wait` for commands (`GET commands`, a long poll): answers at once when
    /// the bot must leave or chat is queued.
    pub async fn commands(&self, wait: Duration) -> Result<Commands, ControlError> {
        let url = format!("{}/commands?waitSecs={}", self.base, wait.as_secs());
        // Held open by the server for `wait`: the request's own timeout must outlast it.
        let build = || {
            self.http
                .get(&url)
                .bearer_auth(&self.token)
                .timeout(wait + REQUEST_TIMEOUT)
        };
        let json = self.execute("/commands", build, RetryBudget::QUICK).await?;
        serde_json::from_value(json).map_err(|e| ControlError::Rejected {
            status: 200,
            message: format!("unexpected commands answer: {e}"),
        })
    }

    /// Claims the next chat message the user queued (`None` when there is none).
    pub async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError> {
        let json = self.call(Method::GET, "/chat/next", None, RetryBudget::QUICK).await?;
        if json.is_null() {
            return Ok(None);
        }
        serde_json::from_value(json)
            .map(Some)
            .map_err(|e| ControlError::Rejected {
                status: 200,
                message: format!("unexpected chat message: {e}"),
            })
    }

    /// Reports whether a claimed chat message was posted (`error` says why not).
    pub async fn chat_result(&self, id: &str, error: Option<&str>) -> Result<(), ControlError> {
        let body = match error {
            None => json!({"status": "sent"}),
            Some(e) => json!({"status": "failed", "error": e}),
        };
        let path = format!("/chat/{id}/result");
        self.call(Method::POST, &path, Some(&body), RetryBudget::PERSISTENT)
            .await
            .map(|_| ())
    }

    /// Uploads a screenshot (JPEG); `kind` says when it was taken.
    pub async fn screenshot(&self, kind: &str, jpeg: Vec<u8>) -> Result<(), ControlError> {
        let body = Payload::Bytes {
            content_type: "image/jpeg",
            bytes: bytes::Bytes::from(jpeg),
        };
        let path = format!("/screenshots?kind={kind}");
        self.send(Method::POST, &path, Some(&body), RetryBudget::PERSISTENT)
            .await
            .map(|_| ())
    }

    /// Delivers a real-time audio segment (`PUT audio/{seq}`, 16 kHz mono WAV starting at
    /// `start_ms` epoch ms); true when stored, false when the server already had it (a
    /// retry). One quick retry: the audio tap's sender repeats it with its own backoff.
    pub async fn put_audio(
        &self,
        seq: u64,
        start_ms: i64,
        duration_ms: u64,
        wav: bytes::Bytes,
    ) -> Result<bool, ControlError> {
        use sha2::Digest;
        let sha = hex::encode(sha2::Sha256::digest(&wav));
        let body = Payload::Bytes {
            content_type: "audio/wav",
            bytes: wav,
        };
        let path = format!("/audio/{seq}?startMs={start_ms}&durationMs={duration_ms}&sha256={sha}");
        let json = self.send(Method::PUT, &path, Some(&body), RetryBudget::QUICK).await?;
        Ok(json["stored"].as_bool().unwrap_or(true))
    }

    /// Ends the real-time audio stream (`POST audio/finish`): `segments` numbered, and
    /// what the full queue dropped.
    pub async fn audio_finish(
        &self,
        segments: u64,
        dropped_segments: u64,
        dropped_ms: u64,
    ) -> Result<(), ControlError> {
        let body = json!({"segments": segments, "droppedSegments": dropped_segments, "droppedMs": dropped_ms});
        self.call(Method::POST, "/audio/finish", Some(&body), RetryBudget::QUICK)
            .await
            .map(|_| ())
    }

    /// Announces a recording chunk (`POST recording/chunks`); returns where to upload its
    /// bytes, or `None` when the server already has it with this SHA-256. A 409 (the
    /// server has it with other bytes) is [`ControlError::Conflict`], a refusal such as an
    /// empty chunk [`ControlError::Rejected`]. One quick retry: the uploader repeats it.
    pub async fn recording_chunk(&self, chunk: &ChunkInfo) -> Result<Option<UploadTarget>, ControlError> {
        let body = serde_json::to_value(chunk).expect("a chunk serialises");
        let json = self
            .call(Method::POST, "/recording/chunks", Some(&body), RetryBudget::QUICK)
            .await?;
        let unexpected = |e: String| ControlError::Rejected {
            status: 200,
            message: format!("unexpected answer to recording/chunks: {e}"),
        };
        match json.get("upload") {
            Some(Value::Null) => Ok(None),
            Some(target) => serde_json::from_value(target.clone())
                .map(Some)
                .map_err(|e| unexpected(e.to_string())),
            None => Err(unexpected(format!("no `upload` in {json}"))),
        }
    }

    /// Sends a chunk's bytes where [`ControlClient::recording_chunk`] said. The bot's token
    /// goes along only for `auth: bot_token` on the control channel's own origin. Any
    /// refusal (4xx) is [`ControlError::Rejected`]: the caller starts the chunk over.
    pub async fn put_chunk(&self, target: &UploadTarget, bytes: bytes::Bytes) -> Result<(), ControlError> {
        let rejected = |message: String| ControlError::Rejected { status: 0, message };
        let method = Method::from_bytes(target.method.as_bytes())
            .map_err(|_| rejected(format!("unknown upload method `{}`", target.method)))?;
        let url = reqwest::Url::parse(&target.url).map_err(|e| rejected(format!("bad upload URL: {e}")))?;
        let with_token = target.auth == UploadAuth::BotToken;
        if with_token {
            let own = reqwest::Url::parse(&self.base).map(|u| u.origin());
            if own.as_ref().ok() != Some(&url.origin()) {
                return Err(rejected(format!(
                    "refusing to send the bot token to {}, which is not the control channel's origin",
                    url.origin().ascii_serialization()
                )));
            }
        }
        let build = || {
            let mut req = self.http.request(method.clone(), url.clone());
            for (name, value) in &target.headers {
                req = req.header(name, value);
            }
            if with_token {
                req = req.bearer_auth(&self.token);
            }
            req.body(bytes.clone())
        };
        match self.execute("recording chunk upload", build, RetryBudget::QUICK).await {
            Ok(_) => Ok(()),
            Err(ControlError::Unauthorized(message) | ControlError::Conflict { message, .. }) => Err(rejected(message)),
            Err(e) => Err(e),
        }
    }

    /// Confirms a chunk is uploaded (`POST recording/chunks/complete`, the same body as
    /// announced); the server checks the stored size. One quick retry.
    pub async fn recording_chunk_complete(&self, chunk: &ChunkInfo) -> Result<(), ControlError> {
        let body = serde_json::to_value(chunk).expect("a chunk serialises");
        self.call(
            Method::POST,
            "/recording/chunks/complete",
            Some(&body),
            RetryBudget::QUICK,
        )
        .await
        .map(|_| ())
    }

    /// Says the recording is over (`POST recording/finish`): `parts` parts in `mode`
    /// (`video` or `audio`), and whether every chunk was confirmed (what was not, if any).
    /// One quick retry.
    pub async fn recording_finish(&self, parts: u32, mode: &str, report: &FinishReport) -> Result<(), ControlError> {
        let body = json!({"parts": parts, "mode": mode, "complete": report.complete, "missing": report.missing});
        self.call(Method::POST, "/recording/finish", Some(&body), RetryBudget::QUICK)
            .await
            .map(|_| ())
    }

    /// Reports what happened in the meeting, in order (`{"type": "participant_join", …}`).
    pub async fn events(&self, events: &[Value]) -> Result<(), ControlError> {
        for chunk in events.chunks(500) {
            let body = json!({"events": chunk});
            self.call(Method::POST, "/events", Some(&body), RetryBudget::PERSISTENT)
                .await?;
        }
        Ok(())
    }
}

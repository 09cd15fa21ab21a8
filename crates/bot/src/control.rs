//! The control channel, seen from the bot: `GET config`, `POST status`, `POST heartbeat`,
//! `POST events`, authenticated with the bot's own token.
//!
//! Every call has a timeout; transport failures, 5xx and 429 are retried with exponential
//! backoff and jitter for a bounded time (a status report survives a minute-long API
//! outage). 401 and 409 are answers, not failures: the bot has ended or the server has
//! moved on, and the bot should stop.

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
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
    Conflict { current: String, message: String },
    /// The server rejected the request itself (a bug in this bot or the server).
    #[error("the control channel rejected the request ({status}): {message}")]
    Rejected { status: u16, message: String },
    /// Unreachable, timing out or failing for the whole retry budget.
    #[error("the control channel is unreachable: {0}")]
    Unreachable(String),
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
    pub status: String,
    /// Name fragments of other bots (`NOTETAKER_NAMES`); absent from older servers.
    #[serde(default)]
    pub notetaker_names: Vec<String>,
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

/// A request body: JSON, or bytes (screenshots) sent as they are.
enum Payload {
    Json(Value),
    Bytes {
        content_type: &'static str,
        bytes: bytes::Bytes,
    },
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
        let mut backoff = budget.first_backoff;
        let mut last_error = String::new();
        for attempt in 1..=budget.attempts.max(1) {
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(&self.token);
            match body {
                Some(Payload::Json(b)) => req = req.json(b),
                Some(Payload::Bytes { content_type, bytes }) => {
                    req = req
                        .header(reqwest::header::CONTENT_TYPE, *content_type)
                        .body(bytes.clone());
                }
                None => {}
            }
            match req.send().await {
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
                            return Err(ControlError::Conflict { current, message });
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
                tracing::debug!(path, attempt, error = %last_error, "control channel call failed; retrying");
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

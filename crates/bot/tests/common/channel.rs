//! A control channel over HTTP for the recording tests: the four recording endpoints
//! (chunks stored in a temp dir), plus `config`, `status`, `heartbeat`, `events`,
//! `chat/next` and `screenshots` for `runtime::run`, with scripted faults.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub const TOKEN: &str = "mbb_recording-test";

/// A chunk the server holds.
#[derive(Debug, Clone)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
    pub duration_ms: Option<u64>,
    pub content_type: String,
    /// Bytes arrived (PUT).
    pub uploaded: bool,
    /// Confirmed (complete).
    pub completed: bool,
}

#[derive(Default)]
pub struct Inner {
    /// `announce 1/0`, `put 1/0`, `complete 1/0`, `finish 2 video`, in arrival order
    /// (only successful calls).
    pub log: Vec<String>,
    pub chunks: BTreeMap<(u32, u32), Stored>,
    /// (status, sub code, seconds since the server started).
    pub statuses: Vec<(String, Option<String>, f64)>,
    pub finish: Option<Value>,
    /// Scripted failures: route name (`announce`, `put`, `complete`, `finish`) → statuses
    /// to answer with before the real handler runs.
    pub faults: HashMap<&'static str, VecDeque<u16>>,
    /// Answer `upload.auth` with `none` (a presigned URL) instead of `bot_token`.
    pub presigned: bool,
}

#[derive(Clone)]
pub struct FakeChannel {
    pub inner: Arc<Mutex<Inner>>,
    pub dir: Arc<tempfile::TempDir>,
    pub base: Arc<Mutex<String>>,
    pub started: Instant,
}

impl FakeChannel {
    pub fn new() -> Self {
        Self {
            inner: Arc::default(),
            dir: Arc::new(tempfile::tempdir().unwrap()),
            base: Arc::default(),
            started: Instant::now(),
        }
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap()
    }

    pub fn fail(&self, route: &'static str, statuses: &[u16]) {
        self.lock().faults.entry(route).or_default().extend(statuses);
    }

    pub fn log(&self) -> Vec<String> {
        self.lock().log.clone()
    }

    /// Where the bytes of chunk (`part`, `seq`) are stored.
    pub fn path(&self, part: u32, seq: u32) -> std::path::PathBuf {
        self.dir.path().join(format!("part{part}-{seq:06}"))
    }

    /// Seeds a confirmed chunk, as if uploaded before.
    pub fn seed(&self, part: u32, seq: u32, bytes: &[u8]) {
        std::fs::write(self.path(part, seq), bytes).unwrap();
        self.lock().chunks.insert(
            (part, seq),
            Stored {
                sha256: hex::encode(Sha256::digest(bytes)),
                size: bytes.len() as u64,
                duration_ms: None,
                content_type: "video/mp4".into(),
                uploaded: true,
                completed: true,
            },
        );
    }

    /// The confirmed chunks of `part`, in order: (seq, bytes).
    pub fn part(&self, part: u32) -> Vec<(u32, Vec<u8>)> {
        let seqs: Vec<u32> = self
            .lock()
            .chunks
            .iter()
            .filter(|((p, _), c)| *p == part && c.completed)
            .map(|((_, s), _)| *s)
            .collect();
        seqs.into_iter()
            .map(|s| (s, std::fs::read(self.path(part, s)).unwrap()))
            .collect()
    }

    pub fn router(&self) -> Router {
        Router::new()
            .route("/api/bot/v1/config", get(config))
            .route("/api/bot/v1/status", post(status))
            .route(
                "/api/bot/v1/heartbeat",
                post(|| async { Json(json!({"leave": false, "reason": null})) }),
            )
            .route("/api/bot/v1/events", post(|| async { StatusCode::NO_CONTENT }))
            .route("/api/bot/v1/chat/next", get(|| async { StatusCode::NO_CONTENT }))
            .route("/api/bot/v1/screenshots", post(|| async { StatusCode::NO_CONTENT }))
            .route("/api/bot/v1/recording/chunks", post(announce))
            .route("/api/bot/v1/recording/chunks/complete", post(complete))
            .route("/api/bot/v1/recording/finish", post(finish))
            .route("/storage/{part}/{seq}", put(store))
            .with_state(self.clone())
    }

    /// Serves on `listener`; returns the control channel's URL (`…/api/bot/v1`).
    pub fn serve_on(&self, listener: tokio::net::TcpListener) -> String {
        let base = format!("http://{}", listener.local_addr().unwrap());
        *self.base.lock().unwrap() = base.clone();
        let router = self.router();
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("{base}/api/bot/v1")
    }

    pub async fn serve(&self) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        self.serve_on(listener)
    }

    /// Seconds since the server started when `status` was first reported.
    pub fn status_at(&self, status: &str) -> Option<f64> {
        self.lock()
            .statuses
            .iter()
            .find(|(s, ..)| s == status)
            .map(|(.., t)| *t)
    }
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
}

fn error(status: u16, message: &str) -> Response {
    let status = StatusCode::from_u16(status).unwrap();
    (
        status,
        Json(json!({"error": {"code": "test", "message": message, "details": {}}})),
    )
        .into_response()
}

/// A scripted failure for `route`, if one is due.
fn fault(ch: &FakeChannel, route: &'static str) -> Option<Response> {
    let status = ch.lock().faults.get_mut(route).and_then(VecDeque::pop_front)?;
    Some(error(status, "scripted failure"))
}

async fn config(State(_ch): State<FakeChannel>) -> Json<Value> {
    Json(json!({
        "botId": "bot-1", "meetingUrl": "http://replica", "platform": "google_meet", "botName": "Meeboter Notes",
        "recordingMode": "video", "heartbeatIntervalSecs": 30, "status": "DEPLOYING",
        "automaticLeave": {"waitingRoomTimeoutSecs": 60, "nooneJoinedTimeoutSecs": 600,
                           "everyoneLeftTimeoutSecs": 60, "maxDurationSecs": 600}
    }))
}

async fn status(State(ch): State<FakeChannel>, Json(body): Json<Value>) -> Json<Value> {
    let status = body["status"].as_str().unwrap_or_default().to_string();
    let sub = body["subCode"].as_str().map(str::to_string);
    let at = ch.started.elapsed().as_secs_f64();
    ch.lock().statuses.push((status.clone(), sub, at));
    Json(json!({"status": status}))
}

fn key(body: &Value) -> (u32, u32) {
    (
        body["part"].as_u64().unwrap() as u32,
        body["seq"].as_u64().unwrap() as u32,
    )
}

async fn announce(State(ch): State<FakeChannel>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorised(&headers) {
        return error(401, "token");
    }
    if let Some(f) = fault(&ch, "announce") {
        return f;
    }
    let (part, seq) = key(&body);
    let sha = body["sha256"].as_str().unwrap().to_string();
    let size = body["sizeBytes"].as_u64().unwrap();
    if size == 0 {
        return error(422, "empty chunk");
    }
    let mut inner = ch.lock();
    inner.log.push(format!("announce {part}/{seq}"));
    match inner.chunks.get(&(part, seq)) {
        Some(c) if c.completed && c.sha256 == sha => return Json(json!({"upload": null})).into_response(),
        Some(c) if c.completed => return error(409, "a different chunk is stored"),
        _ => {}
    }
    inner.chunks.insert(
        (part, seq),
        Stored {
            sha256: sha,
            size,
            duration_ms: body["durationMs"].as_u64(),
            content_type: body["contentType"].as_str().unwrap().to_string(),
            uploaded: false,
            completed: false,
        },
    );
    let base = ch.base.lock().unwrap().clone();
    let content_type = body["contentType"].as_str().unwrap();
    let (url, auth) = if inner.presigned {
        (format!("{base}/storage/{part}/{seq}?X-Amz-Signature=abc"), "none")
    } else {
        (format!("{base}/storage/{part}/{seq}"), "bot_token")
    };
    Json(json!({"upload": {"method": "PUT", "url": url, "headers": {"content-type": content_type}, "auth": auth}}))
        .into_response()
}

async fn store(
    State(ch): State<FakeChannel>,
    Path((part, seq)): Path<(u32, u32)>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let presigned = query.contains_key("X-Amz-Signature");
    if presigned == headers.contains_key("authorization") {
        // A presigned URL must not receive the token; the server's URL needs it.
        return error(403, "wrong authorisation for this URL");
    }
    if !presigned && !authorised(&headers) {
        return error(401, "token");
    }
    if let Some(f) = fault(&ch, "put") {
        return f;
    }
    let mut inner = ch.lock();
    let Some(chunk) = inner.chunks.get_mut(&(part, seq)) else {
        return error(404, "not announced");
    };
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some(chunk.content_type.as_str()) {
        return error(400, "content type");
    }
    std::fs::write(ch.path(part, seq), &body).unwrap();
    chunk.uploaded = true;
    inner.log.push(format!("put {part}/{seq}"));
    StatusCode::OK.into_response()
}

async fn complete(State(ch): State<FakeChannel>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorised(&headers) {
        return error(401, "token");
    }
    if let Some(f) = fault(&ch, "complete") {
        return f;
    }
    let (part, seq) = key(&body);
    let stored_size = std::fs::metadata(ch.path(part, seq)).map(|m| m.len()).ok();
    let mut inner = ch.lock();
    let Some(chunk) = inner.chunks.get_mut(&(part, seq)) else {
        return error(404, "not announced");
    };
    if chunk.sha256 != body["sha256"].as_str().unwrap() || stored_size != Some(body["sizeBytes"].as_u64().unwrap()) {
        return error(422, "stored size differs");
    }
    chunk.completed = true;
    inner.log.push(format!("complete {part}/{seq}"));
    StatusCode::NO_CONTENT.into_response()
}

async fn finish(State(ch): State<FakeChannel>, headers: HeaderMap, Json(body): Json<Value>) -> Response {
    if !authorised(&headers) {
        return error(401, "token");
    }
    if let Some(f) = fault(&ch, "finish") {
        return f;
    }
    let mut inner = ch.lock();
    inner.log.push(format!(
        "finish {} {}",
        body["parts"],
        body["mode"].as_str().unwrap_or("?")
    ));
    inner.finish = Some(body);
    StatusCode::NO_CONTENT.into_response()
}

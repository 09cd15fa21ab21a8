//! A stateful fake of Deepgram's speech-to-text API for tests, written from Deepgram's public
//! documentation (API reference for `POST /v1/listen` and the streaming `/v1/listen`
//! WebSocket, the "Errors" page, "Audio Keep Alive", "Finalize", "CloseStream", "Utterance
//! End", "Speech Started", "STT troubleshooting WebSocket DATA and NET errors", and the
//! models-and-languages overview with its Nova-3 changelog entries; notes and links in
//! `docs/research/deepgram.md`).
//!
//! It cannot recognise speech, so it is **scenario-scripted**: a test registers a script of
//! words (text, start/end seconds, speaker, confidence) and the fake answers with the words
//! whose times fall inside the audio it actually received. The audio's duration comes from
//! the bytes: a WAV header (`fmt ` + `data` chunks), or raw `linear16` at the query's
//! `sample_rate` × `channels`. So timing, interim → final results, diarization and chunking
//! are exercised for real.
//!
//! - Pre-recorded `POST /v1/listen`: a binary body (`audio/wav`, …) or JSON `{"url": …}`
//!   (URLs the test hosted with [`DeepgramFake::host_audio`]; any other is the documented
//!   remote-content 400). Query `model`, `language`, `punctuate`, `smart_format`, `diarize`,
//!   `utterances`, `utt_split`, `encoding`, `sample_rate`, `channels`. Answers
//!   `{metadata, results{channels[{alternatives[{transcript, confidence, words}]}],
//!   utterances}}`.
//! - Streaming `GET /v1/listen` (WebSocket): binary audio frames; text messages
//!   `KeepAlive`, `Finalize`, `CloseStream`; server messages `Results` (interim with
//!   `interim_results=true`, final after `endpointing` ms of silence or a long segment,
//!   `from_finalize` after `Finalize`), `SpeechStarted` (`vad_events=true`),
//!   `UtteranceEnd` (`utterance_end_ms`), `Metadata` before it closes. No audio or
//!   KeepAlive for [`Controls::idle_timeout`] (10 s, as documented) → close 1011 `NET-0001`;
//!   audio it cannot decode → close 1008 `DATA-0000`.
//! - Auth: `Authorization: Token <key>` or `Bearer <key>` (and the `token` WebSocket
//!   subprotocol); otherwise 401 `INVALID_AUTH` (at the handshake for streaming).
//! - Faults ([`Controls`]): the next requests answer given statuses (documented bodies for
//!   400/401/402/429/5xx), garbage 200 bodies, a delay, streams dropped mid-way (the TCP
//!   connection just ends).
//! - Every request is recorded ([`Recorded`]): query parameters, the auth scheme and
//!   whether the key matched — never the key itself.
//!
//! Streaming times are relative to each connection's start, like Deepgram's; the script is
//! one continuous audio source, so a new connection continues where the audio received on
//! earlier connections left off (what a client reconnecting mid-call sees).

use async_tungstenite::WebSocketStream;
use async_tungstenite::tokio::TokioAdapter;
use async_tungstenite::tungstenite::Message;
use async_tungstenite::tungstenite::protocol::Role;
use async_tungstenite::tungstenite::protocol::frame::CloseFrame;
use async_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures::StreamExt;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One scripted word: what the fake "hears" at `start..end` seconds of the audio source.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptWord {
    /// The punctuated form (`Hello,`); the plain `word` is derived (lower case, no
    /// punctuation), as Deepgram returns both.
    pub text: String,
    pub start: f64,
    pub end: f64,
    /// Diarization speaker number (0-based).
    pub speaker: u32,
    pub confidence: f64,
}

impl ScriptWord {
    pub fn new(text: &str, start: f64, end: f64, speaker: u32) -> Self {
        ScriptWord {
            text: text.to_string(),
            start,
            end,
            speaker,
            confidence: 0.97,
        }
    }

    fn plain(&self) -> String {
        self.text
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '\'' || *c == '-')
            .flat_map(char::to_lowercase)
            .collect()
    }
}

/// What tests can change while the fake runs.
#[derive(Debug, Clone)]
pub struct Controls {
    /// The next authorized requests (pre-recorded, or streaming handshakes) answer these
    /// statuses, in order, with Deepgram's error body for the status.
    pub fail_next: Vec<u16>,
    /// The next N pre-recorded requests answer 200 with a body that is not JSON.
    pub garbage_next: usize,
    /// Every request waits this long before it is answered (the handshake, for streams).
    pub delay: Duration,
    /// The next streams are dropped (TCP closed, no close frame) once they received this
    /// many seconds of audio, in order.
    pub drop_streams_after: Vec<f64>,
    /// A stream without audio or KeepAlive this long closes with 1011 `NET-0001`.
    pub idle_timeout: Duration,
    /// Seconds of newly received audio between interim results.
    pub interim_every: f64,
    /// Longest segment before a final result is forced (`speech_final: false`).
    pub max_segment: f64,
    /// Models a client that, after a lost stream, sends again the audio after its last
    /// `Finalize` (what Meeboter's real-time worker does): a new stream then continues the
    /// script from the previous stream's last `Finalize` instead of from all it received.
    /// Deepgram recognises whatever audio it gets; the fake cannot, so the test says where
    /// the resent audio lies in the script.
    pub resend_after_finalize: bool,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            fail_next: Vec::new(),
            garbage_next: 0,
            delay: Duration::ZERO,
            drop_streams_after: Vec::new(),
            idle_timeout: Duration::from_secs(10),
            interim_every: 0.5,
            max_segment: 5.0,
            resend_after_finalize: false,
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    /// `prerecorded` or `streaming`.
    pub kind: &'static str,
    pub query: BTreeMap<String, String>,
    /// `Token`, `Bearer`, `subprotocol`, or `None` without credentials.
    pub auth_scheme: Option<String>,
    /// Whether the credentials matched the fake's key.
    pub authorized: bool,
    pub content_type: Option<String>,
    /// Body bytes (pre-recorded) or audio bytes (streaming).
    pub audio_bytes: usize,
    /// The audio duration the fake computed, if it could.
    pub audio_secs: Option<f64>,
    /// The HTTP status answered (101 for an accepted stream).
    pub status: u16,
    /// Streaming: the client's text messages' `type`s, in order.
    pub messages: Vec<String>,
    /// Streaming: how the connection ended (`closed 1000`, `closed 1011 NET-0001`, `dropped`,
    /// `client closed`).
    pub ended: Option<String>,
}

#[derive(Default)]
struct Inner {
    controls: Controls,
    script: Vec<ScriptWord>,
    /// Seconds of audio streamed on earlier connections (the script position a new
    /// connection starts at).
    streamed: f64,
    hosted: HashMap<String, Vec<u8>>,
    requests: Vec<Recorded>,
}

impl Inner {
    /// Where the next stream starts in the script, once `s` ended.
    fn stream_ended(&mut self, s: &Session) {
        self.streamed += if self.controls.resend_after_finalize {
            s.finalized_at
        } else {
            s.received
        };
    }
}

/// A running fake. Dropping it leaves the server running until the runtime ends (tests).
#[derive(Clone)]
pub struct DeepgramFake {
    /// `http://127.0.0.1:<port>` (the base URL; streaming is `ws://…/v1/listen`).
    pub url: String,
    key: Arc<String>,
    inner: Arc<Mutex<Inner>>,
}

impl DeepgramFake {
    /// Starts the fake on a free local port; `api_key` is the only key it accepts.
    pub async fn start(api_key: &str) -> DeepgramFake {
        let fake = DeepgramFake {
            url: String::new(),
            key: Arc::new(api_key.to_string()),
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = DeepgramFake { url, ..fake };
        let router = Router::new().route("/v1/listen", any(listen)).with_state(fake.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        fake
    }

    /// Replaces the script (and restarts the streamed-audio position at 0).
    pub fn set_script(&self, words: Vec<ScriptWord>) {
        let mut g = self.lock();
        g.script = words;
        g.streamed = 0.0;
    }

    /// Makes `url` downloadable for `{"url": …}` requests.
    pub fn host_audio(&self, url: &str, audio: Vec<u8>) {
        self.lock().hosted.insert(url.to_string(), audio);
    }

    pub fn control(&self, f: impl FnOnce(&mut Controls)) {
        f(&mut self.lock().controls);
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Recorded> {
        self.lock().requests.clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, r: Recorded) -> usize {
        let mut g = self.lock();
        g.requests.push(r);
        g.requests.len() - 1
    }

    fn update(&self, i: usize, f: impl FnOnce(&mut Recorded)) {
        if let Some(r) = self.lock().requests.get_mut(i) {
            f(r);
        }
    }
}

/// A 16-bit PCM WAV file of `samples` (mono at `sample_rate`), for tests.
pub fn wav(samples: &[i16], sample_rate: u32) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + samples.len() * 2);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Audio format of a WAV file: (sample rate, channels, bits per sample, data bytes).
fn parse_wav(b: &[u8]) -> Option<(u32, u16, u16, usize)> {
    if b.len() < 12 || &b[0..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return None;
    }
    let mut pos = 12;
    let mut fmt = None;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let size = u32::from_le_bytes(b[pos + 4..pos + 8].try_into().ok()?) as usize;
        let body = pos + 8;
        if id == b"fmt " && body + 16 <= b.len() {
            let channels = u16::from_le_bytes(b[body + 2..body + 4].try_into().ok()?);
            let rate = u32::from_le_bytes(b[body + 4..body + 8].try_into().ok()?);
            let bits = u16::from_le_bytes(b[body + 14..body + 16].try_into().ok()?);
            fmt = Some((rate, channels, bits));
        } else if id == b"data" {
            let (rate, channels, bits) = fmt?;
            // Streamed WAVs (ffmpeg to a pipe) carry a placeholder size: trust the bytes.
            let len = size.min(b.len() - body);
            return (rate > 0 && channels > 0 && bits >= 8).then_some((rate, channels, bits, len));
        }
        pos = body + size + (size & 1);
    }
    None
}

fn secs_of(bytes: usize, rate: u32, channels: u16, bits: u16) -> f64 {
    bytes as f64 / (f64::from(rate) * f64::from(channels) * f64::from(bits / 8))
}

fn request_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Deepgram's error body for a status.
fn error(status: u16, code: &str, msg: &str) -> Response {
    let body = json!({"err_code": code, "err_msg": msg, "request_id": request_id()});
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn documented_error(status: u16) -> Response {
    match status {
        400 => error(
            400,
            "Bad Request",
            "Bad Request: failed to process audio: corrupt or unsupported data",
        ),
        401 => error(401, "INVALID_AUTH", "Invalid credentials."),
        402 => error(
            402,
            "ASR_PAYMENT_REQUIRED",
            "Project does not have enough credits for an ASR request.",
        ),
        403 => error(403, "ACCESS_DENIED", "Access denied."),
        429 => error(429, "TOO_MANY_REQUESTS", "Too many requests. Please try again later."),
        s if s >= 500 => error(s, "INTERNAL_SERVER_ERROR", "An internal server error occurred."),
        s => error(s, "Bad Request", "Bad Request"),
    }
}

fn flag(q: &BTreeMap<String, String>, name: &str) -> bool {
    q.get(name).is_some_and(|v| v == "true")
}

/// Nova-3's language codes (the fake's own copy of Deepgram's documented list).
const NOVA3: &[&str] = &[
    "multi", "en", "en-US", "en-AU", "en-GB", "en-IN", "en-NZ", "de", "de-CH", "nl", "nl-BE", "sv", "sv-SE", "da",
    "da-DK", "es", "es-419", "fr", "fr-CA", "pt", "pt-BR", "pt-PT", "it", "tr", "no", "id", "bg", "cs", "fi", "hi",
    "hu", "ja", "ko", "ko-KR", "pl", "ru", "uk", "vi", "ca", "et", "el", "lv", "lt", "ms", "ro", "sk", "be", "bn",
    "bs", "hr", "kn", "mk", "mr", "sr", "sl", "ta", "tl", "te", "th", "th-TH", "zh", "zh-CN", "zh-Hans", "zh-TW",
    "zh-Hant", "zh-HK",
];

/// The 400 Deepgram answers for an unknown model or a language the model lacks.
fn check_model(q: &BTreeMap<String, String>) -> Option<Response> {
    let model = q.get("model").cloned().unwrap_or_else(|| "base".into());
    let known = ["nova-3", "nova-2", "enhanced", "base", "whisper"]
        .iter()
        .any(|m| model == *m || model.starts_with(&format!("{m}-")))
        || ["nova", "nova-general", "nova-phonecall", "nova-medical"].contains(&model.as_str());
    let lang_ok = match q.get("language") {
        Some(l) if model == "nova-3" || model.starts_with("nova-3-") => NOVA3.iter().any(|c| c.eq_ignore_ascii_case(l)),
        _ => true,
    };
    (!(known && lang_ok)).then(|| error(400, "Bad Request", "No such model/language/tier combination found."))
}

fn auth(headers: &HeaderMap, key: &str) -> (Option<String>, bool) {
    if let Some(v) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) {
        let (scheme, given) = v.split_once(' ').unwrap_or((v, ""));
        let scheme_ok = scheme.eq_ignore_ascii_case("token") || scheme.eq_ignore_ascii_case("bearer");
        return (Some(scheme.to_string()), scheme_ok && given.trim() == key);
    }
    // Browsers cannot set headers on a WebSocket: `Sec-WebSocket-Protocol: token, <key>`.
    if let Some(v) = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
    {
        let parts: Vec<&str> = v.split(',').map(str::trim).collect();
        if parts.first() == Some(&"token") {
            return (Some("subprotocol".into()), parts.get(1) == Some(&key));
        }
    }
    (None, false)
}

async fn listen(State(fake): State<DeepgramFake>, Query(q): Query<BTreeMap<String, String>>, req: Request) -> Response {
    let is_ws = req
        .headers()
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let (scheme, authorized) = auth(req.headers(), &fake.key);
    // Injected failures are for requests that would otherwise succeed: a refused key does
    // not use one up.
    let (delay, fail) = {
        let mut g = fake.lock();
        let fail = (authorized && !g.controls.fail_next.is_empty()).then(|| g.controls.fail_next.remove(0));
        (g.controls.delay, fail)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let mut rec = Recorded {
        kind: if is_ws { "streaming" } else { "prerecorded" },
        query: q.clone(),
        auth_scheme: scheme,
        authorized,
        content_type: content_type.clone(),
        audio_bytes: 0,
        audio_secs: None,
        status: 0,
        messages: Vec::new(),
        ended: None,
    };
    let early = if !authorized {
        Some(documented_error(401))
    } else if let Some(status) = fail {
        Some(documented_error(status))
    } else {
        check_model(&q)
    };
    if let Some(resp) = early {
        rec.status = resp.status().as_u16();
        fake.record(rec);
        return resp;
    }
    if is_ws {
        return upgrade(fake, q, rec, req).await;
    }
    if req.method() != axum::http::Method::POST {
        rec.status = 405;
        fake.record(rec);
        return error(405, "Bad Request", "Method not allowed.");
    }
    let body = match axum::body::to_bytes(req.into_body(), 2 * 1024 * 1024 * 1024).await {
        Ok(b) => b,
        Err(_) => {
            rec.status = 400;
            fake.record(rec);
            return documented_error(400);
        }
    };
    rec.audio_bytes = body.len();
    let resp = prerecorded(&fake, &q, content_type.as_deref(), &body, &mut rec);
    rec.status = resp.status().as_u16();
    fake.record(rec);
    resp
}

fn prerecorded(
    fake: &DeepgramFake,
    q: &BTreeMap<String, String>,
    content_type: Option<&str>,
    body: &Bytes,
    rec: &mut Recorded,
) -> Response {
    let audio: Vec<u8> = if content_type.is_some_and(|c| c.starts_with("application/json")) {
        let url = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("url").and_then(Value::as_str).map(str::to_string));
        let Some(url) = url else {
            return error(
                400,
                "Bad Request",
                "Content-type was application/json, but we could not process the JSON payload.",
            );
        };
        match fake.lock().hosted.get(&url) {
            Some(a) => a.clone(),
            None => {
                return error(
                    400,
                    "REMOTE_CONTENT_ERROR",
                    "The remote server hosting the media returned a client error: 404 Not Found.",
                );
            }
        }
    } else {
        body.to_vec()
    };
    let secs = match parse_wav(&audio) {
        Some((rate, ch, bits, len)) => secs_of(len, rate, ch, bits),
        None if q.get("encoding").map(String::as_str) == Some("linear16") => {
            let rate = q.get("sample_rate").and_then(|r| r.parse::<u32>().ok()).unwrap_or(0);
            let ch = q.get("channels").and_then(|c| c.parse::<u16>().ok()).unwrap_or(1);
            if rate == 0 || ch == 0 {
                return error(400, "Bad Request", "sample_rate is required with encoding=linear16.");
            }
            secs_of(audio.len(), rate, ch, 16)
        }
        None => return documented_error(400),
    };
    if audio.is_empty() || secs <= 0.0 {
        return documented_error(400);
    }
    rec.audio_secs = Some(secs);
    {
        let mut g = fake.lock();
        if g.controls.garbage_next > 0 {
            g.controls.garbage_next -= 1;
            return (StatusCode::OK, "<html><body>upstream proxy error</body></html>").into_response();
        }
    }
    let script = fake.lock().script.clone();
    let heard: Vec<&ScriptWord> = script.iter().filter(|w| w.start >= 0.0 && w.end <= secs).collect();
    let diarize = flag(q, "diarize");
    let punct = flag(q, "punctuate") || flag(q, "smart_format");
    let model = q.get("model").cloned().unwrap_or_else(|| "base".into());
    let words: Vec<Value> = heard.iter().map(|w| word_json(w, 0.0, diarize, punct)).collect();
    let mut results = json!({
        "channels": [{"alternatives": [{
            "transcript": transcript(&heard, punct),
            "confidence": mean_confidence(&heard),
            "words": words,
        }]}]
    });
    if flag(q, "utterances") {
        let split = q.get("utt_split").and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.8);
        results["utterances"] = Value::Array(utterances(&heard, split, diarize, punct));
    }
    let model_uuid = uuid::Uuid::now_v7().to_string();
    let body = json!({
        "metadata": {
            "transaction_key": "deprecated",
            "request_id": request_id(),
            "sha256": "0".repeat(64),
            "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "duration": secs,
            "channels": 1,
            "models": [model_uuid],
            "model_info": {model_uuid.clone(): {"name": model, "version": "2025-01-01.0", "arch": model}},
        },
        "results": results,
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn word_json(w: &ScriptWord, shift: f64, diarize: bool, punct: bool) -> Value {
    let mut v = json!({
        "word": w.plain(),
        "start": round3(w.start - shift),
        "end": round3(w.end - shift),
        "confidence": w.confidence,
    });
    if diarize {
        v["speaker"] = json!(w.speaker);
        v["speaker_confidence"] = json!(0.9);
    }
    if punct {
        v["punctuated_word"] = json!(w.text);
    }
    v
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

fn transcript(words: &[&ScriptWord], punct: bool) -> String {
    words
        .iter()
        .map(|w| if punct { w.text.clone() } else { w.plain() })
        .collect::<Vec<_>>()
        .join(" ")
}

fn mean_confidence(words: &[&ScriptWord]) -> f64 {
    if words.is_empty() {
        0.0
    } else {
        words.iter().map(|w| w.confidence).sum::<f64>() / words.len() as f64
    }
}

/// Utterances: runs of words by one speaker without a pause of `split` seconds.
fn utterances(words: &[&ScriptWord], split: f64, diarize: bool, punct: bool) -> Vec<Value> {
    let mut groups: Vec<Vec<&ScriptWord>> = Vec::new();
    for w in words {
        match groups.last_mut() {
            Some(g)
                if g.last()
                    .is_some_and(|p| w.start - p.end < split && (!diarize || p.speaker == w.speaker)) =>
            {
                g.push(w)
            }
            _ => groups.push(vec![w]),
        }
    }
    groups
        .iter()
        .map(|g| {
            let mut u = json!({
                "start": round3(g[0].start),
                "end": round3(g[g.len() - 1].end),
                "confidence": mean_confidence(g),
                "channel": 0,
                "transcript": transcript(g, punct),
                "words": g.iter().map(|w| word_json(w, 0.0, diarize, punct)).collect::<Vec<_>>(),
                "id": uuid::Uuid::now_v7().to_string(),
            });
            if diarize {
                u["speaker"] = json!(g[0].speaker);
            }
            u
        })
        .collect()
}

// ---- streaming ----

async fn upgrade(fake: DeepgramFake, q: BTreeMap<String, String>, mut rec: Recorded, mut req: Request) -> Response {
    let Some(key) = req
        .headers()
        .get(header::SEC_WEBSOCKET_KEY)
        .map(|k| async_tungstenite::tungstenite::handshake::derive_accept_key(k.as_bytes()))
    else {
        rec.status = 400;
        fake.record(rec);
        return error(400, "Bad Request", "Missing Sec-WebSocket-Key.");
    };
    let encoding = q.get("encoding").cloned();
    if encoding.as_deref().is_some_and(|e| e != "linear16") {
        rec.status = 400;
        fake.record(rec);
        return error(
            400,
            "Bad Request",
            "The fake only decodes linear16 (or containerized WAV) audio.",
        );
    }
    let subprotocol = rec.auth_scheme.as_deref() == Some("subprotocol");
    let on_upgrade = hyper::upgrade::on(&mut req);
    rec.status = 101;
    let index = fake.record(rec);
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let io = TokioAdapter::new(hyper_util::rt::TokioIo::new(upgraded));
        let ws = WebSocketStream::from_raw_socket(io, Role::Server, None).await;
        let ended = stream(&fake, index, &q, ws).await;
        fake.update(index, |r| r.ended = Some(ended));
    });
    let mut resp = Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(header::SEC_WEBSOCKET_ACCEPT, key)
        .header("dg-request-id", request_id());
    if subprotocol {
        resp = resp.header(header::SEC_WEBSOCKET_PROTOCOL, "token");
    }
    resp.body(Body::empty())
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

/// One streaming session's state, in seconds on the connection's clock.
struct Session {
    rate: u32,
    channels: u16,
    /// No `encoding` in the query: the first frame must carry a WAV header.
    containerized: bool,
    bytes: usize,
    /// Audio received on this connection.
    received: f64,
    /// Results are final up to here.
    final_upto: f64,
    last_interim: f64,
    /// Script time of this connection's 0.
    base: f64,
    /// Audio received when the last `Finalize` came.
    finalized_at: f64,
    speech_started_at: Option<f64>,
    utterance_end_sent_for: Option<f64>,
    drop_after: Option<f64>,
}

async fn stream<S>(
    fake: &DeepgramFake,
    index: usize,
    q: &BTreeMap<String, String>,
    mut ws: WebSocketStream<S>,
) -> String
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let (idle, base, drop_after) = {
        let mut g = fake.lock();
        let drop_after = (!g.controls.drop_streams_after.is_empty()).then(|| g.controls.drop_streams_after.remove(0));
        (g.controls.idle_timeout, g.streamed, drop_after)
    };
    let mut s = Session {
        rate: q.get("sample_rate").and_then(|r| r.parse().ok()).unwrap_or(16_000),
        channels: q.get("channels").and_then(|c| c.parse().ok()).unwrap_or(1),
        containerized: !q.contains_key("encoding"),
        bytes: 0,
        received: 0.0,
        final_upto: 0.0,
        last_interim: 0.0,
        base,
        finalized_at: 0.0,
        speech_started_at: None,
        utterance_end_sent_for: None,
        drop_after,
    };
    let request_id = request_id();
    let ended = loop {
        let msg = match tokio::time::timeout(idle, ws.next()).await {
            Err(_) => {
                break close(
                    &mut ws,
                    CloseCode::Error,
                    "NET-0001",
                    "Deepgram did not receive audio data or a text message within the timeout window.",
                )
                .await;
            }
            Ok(None) | Ok(Some(Err(_))) => break "client closed".to_string(),
            Ok(Some(Ok(m))) => m,
        };
        match msg {
            Message::Binary(audio) => {
                let mut audio: &[u8] = &audio;
                if s.containerized && s.bytes == 0 {
                    match parse_wav(audio) {
                        Some((rate, ch, 16, len)) => {
                            s.rate = rate;
                            s.channels = ch;
                            audio = &audio[audio.len() - len..];
                        }
                        _ => {
                            break close(
                                &mut ws,
                                CloseCode::Policy,
                                "DATA-0000",
                                "The payload cannot be decoded as audio.",
                            )
                            .await;
                        }
                    }
                }
                s.bytes += audio.len().max(1);
                s.received = secs_of(s.bytes, s.rate, s.channels, 16);
                fake.update(index, |r| {
                    r.audio_bytes = s.bytes;
                    r.audio_secs = Some(s.received);
                });
                if s.drop_after.is_some_and(|d| s.received >= d) {
                    // Dropped mid-stream: no close frame; the stream's audio still counts.
                    fake.lock().stream_ended(&s);
                    return "dropped".into();
                }
                if progress(fake, q, &mut s, &mut ws, &request_id).await.is_err() {
                    break "client closed".into();
                }
            }
            Message::Text(text) => {
                let kind = serde_json::from_str::<Value>(&text)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_string));
                fake.update(index, |r| r.messages.push(kind.clone().unwrap_or_else(|| "?".into())));
                match kind.as_deref() {
                    Some("KeepAlive") => {}
                    Some("Finalize") => {
                        s.finalized_at = s.received;
                        if flush(fake, q, &mut s, &mut ws, &request_id, true).await.is_err() {
                            break "client closed".into();
                        }
                    }
                    Some("CloseStream") => {
                        let _ = flush(fake, q, &mut s, &mut ws, &request_id, false).await;
                        let model = q.get("model").cloned().unwrap_or_else(|| "base".into());
                        let model_uuid = uuid::Uuid::now_v7().to_string();
                        let meta = json!({
                            "type": "Metadata",
                            "transaction_key": "deprecated",
                            "request_id": request_id,
                            "sha256": "0".repeat(64),
                            "created": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                            "duration": round3(s.received),
                            "channels": s.channels,
                            "models": [model_uuid],
                            "model_info": {model_uuid.clone(): {"name": model, "version": "2025-01-01.0", "arch": model}},
                        });
                        let _ = ws.send(Message::text(meta.to_string())).await;
                        break close(&mut ws, CloseCode::Normal, "", "").await;
                    }
                    _ => {
                        break close(
                            &mut ws,
                            CloseCode::Policy,
                            "DATA-0000",
                            "The message could not be understood.",
                        )
                        .await;
                    }
                }
            }
            Message::Close(_) => break "client closed".into(),
            _ => {}
        }
    };
    fake.lock().stream_ended(&s);
    ended
}

async fn close<S>(ws: &mut WebSocketStream<S>, code: CloseCode, tag: &str, text: &str) -> String
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let reason = if tag.is_empty() {
        String::new()
    } else {
        // Close reasons are at most 123 bytes.
        format!("{tag}: {text}").chars().take(120).collect()
    };
    let _ = ws
        .close(Some(CloseFrame {
            code,
            reason: reason.clone().into(),
        }))
        .await;
    // Let the client read the close frame before the connection goes.
    let _ = tokio::time::timeout(Duration::from_secs(2), async { while ws.next().await.is_some() {} }).await;
    let code: u16 = code.into();
    if tag.is_empty() {
        format!("closed {code}")
    } else {
        format!("closed {code} {tag}")
    }
}

/// Words of the script on this connection's clock, with `start >= from` and `end <= to`.
fn words_between(script: &[ScriptWord], base: f64, from: f64, to: f64) -> Vec<ScriptWord> {
    script
        .iter()
        .filter(|w| w.start - base >= from - 1e-9 && w.end - base <= to + 1e-9)
        .cloned()
        .collect()
}

fn results(
    q: &BTreeMap<String, String>,
    s: &Session,
    words: &[ScriptWord],
    start: f64,
    end: f64,
    (is_final, speech_final, from_finalize): (bool, bool, bool),
    request_id: &str,
) -> Value {
    let diarize = flag(q, "diarize");
    let punct = flag(q, "punctuate") || flag(q, "smart_format");
    let refs: Vec<&ScriptWord> = words.iter().collect();
    json!({
        "type": "Results",
        "channel_index": [0, 1],
        "duration": round3(end - start),
        "start": round3(start),
        "is_final": is_final,
        "speech_final": speech_final,
        "from_finalize": from_finalize,
        "channel": {"alternatives": [{
            "transcript": transcript(&refs, punct),
            "confidence": mean_confidence(&refs),
            "words": words.iter().map(|w| word_json(w, s.base, diarize, punct)).collect::<Vec<_>>(),
        }]},
        "metadata": {"request_id": request_id, "model_info": {"name": q.get("model").cloned().unwrap_or_default()}},
    })
}

/// Results, SpeechStarted and UtteranceEnd after new audio arrived.
async fn progress<S>(
    fake: &DeepgramFake,
    q: &BTreeMap<String, String>,
    s: &mut Session,
    ws: &mut WebSocketStream<S>,
    request_id: &str,
) -> Result<(), ()>
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    let (script, controls) = {
        let g = fake.lock();
        (g.script.clone(), g.controls.clone())
    };
    let send = |v: Value| Message::text(v.to_string());
    // A word has begun in audio not yet final: speech started.
    if flag(q, "vad_events") {
        let begun = script
            .iter()
            .map(|w| w.start - s.base)
            .filter(|t| *t >= s.final_upto - 1e-9 && *t <= s.received)
            .reduce(f64::min);
        if let Some(t) = begun
            && s.speech_started_at.is_none_or(|prev| prev < s.final_upto)
        {
            s.speech_started_at = Some(t);
            ws.send(send(
                json!({"type": "SpeechStarted", "channel": [0], "timestamp": round3(t)}),
            ))
            .await
            .map_err(|_| ())?;
        }
    }
    let pending = words_between(&script, s.base, s.final_upto, s.received);
    // A word still being spoken at the edge of the received audio.
    let straddling = script
        .iter()
        .map(|w| (w.start - s.base, w.end - s.base))
        .find(|(a, b)| *a < s.received && *b > s.received);
    let endpointing = match q.get("endpointing").map(String::as_str) {
        Some("false") => None,
        Some(ms) => ms.parse::<f64>().ok().map(|ms| ms / 1000.0),
        None => Some(0.01),
    };
    let silence_after_last = pending
        .last()
        .map(|w| s.received - (w.end - s.base))
        .filter(|_| straddling.is_none());
    let speech_final = match (endpointing, silence_after_last) {
        (Some(e), Some(silence)) => silence >= e,
        _ => false,
    };
    let too_long = s.received - s.final_upto >= controls.max_segment;
    if speech_final || too_long {
        let cut = straddling.map_or(s.received, |(a, _)| a.max(s.final_upto));
        let words = words_between(&script, s.base, s.final_upto, cut);
        let v = results(q, s, &words, s.final_upto, cut, (true, speech_final, false), request_id);
        ws.send(send(v)).await.map_err(|_| ())?;
        s.final_upto = cut;
        s.last_interim = cut;
    } else if flag(q, "interim_results") && s.received - s.last_interim >= controls.interim_every {
        let v = results(
            q,
            s,
            &pending,
            s.final_upto,
            s.received,
            (false, false, false),
            request_id,
        );
        ws.send(send(v)).await.map_err(|_| ())?;
        s.last_interim = s.received;
    }
    // UtteranceEnd: a gap of `utterance_end_ms` after the last word heard.
    if let Some(gap) = q.get("utterance_end_ms").and_then(|ms| ms.parse::<f64>().ok()) {
        let last_end = script
            .iter()
            .map(|w| w.end - s.base)
            .filter(|e| *e <= s.received)
            .reduce(f64::max);
        let next_start = script
            .iter()
            .map(|w| w.start - s.base)
            .find(|t| *t > last_end.unwrap_or(f64::MAX));
        if let Some(end) = last_end
            && s.received - end >= gap / 1000.0
            && next_start.is_none_or(|n| n > s.received)
            && s.utterance_end_sent_for != Some(end)
        {
            s.utterance_end_sent_for = Some(end);
            let v = json!({"type": "UtteranceEnd", "channel": [0, 1], "last_word_end": round3(end)});
            ws.send(send(v)).await.map_err(|_| ())?;
        }
    }
    Ok(())
}

/// Finalize / CloseStream: everything received becomes final.
async fn flush<S>(
    fake: &DeepgramFake,
    q: &BTreeMap<String, String>,
    s: &mut Session,
    ws: &mut WebSocketStream<S>,
    request_id: &str,
    from_finalize: bool,
) -> Result<(), ()>
where
    S: futures::AsyncRead + futures::AsyncWrite + Unpin,
{
    if s.received <= s.final_upto {
        return Ok(());
    }
    let script = fake.lock().script.clone();
    let words = words_between(&script, s.base, s.final_upto, s.received);
    let v = results(
        q,
        s,
        &words,
        s.final_upto,
        s.received,
        (true, false, from_finalize),
        request_id,
    );
    ws.send(Message::text(v.to_string())).await.map_err(|_| ())?;
    s.final_upto = s.received;
    s.last_interim = s.received;
    Ok(())
}

#[cfg(test)]
mod tests;

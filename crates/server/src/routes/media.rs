//! Media over HTTP: the bot channel's uploads (screenshots, recording chunks) and the
//! user API's recording and screenshots, downloadable through URLs that expire.

use super::bot_channel::{AnyBotCaller, recently_live};
use super::bots::parse_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::media::{self, chunk_key, screenshot_key};
use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use meeboter_db::bots::{self, BotRecord};
use meeboter_db::media::{self as media_db, chunk_label};
use meeboter_db::{DbError, media::NewMedia};
use meeboter_storage::ByteRange;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

/// Largest screenshot accepted.
pub const MAX_SCREENSHOT_BYTES: usize = 5 * 1024 * 1024;
/// Largest recording chunk accepted (segments are a few seconds: well under this).
pub const MAX_CHUNK_BYTES: u64 = 64 * 1024 * 1024;
/// How long a presigned chunk upload URL stays valid.
const CHUNK_URL_TTL: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The bot may upload: live, or ended less than `LATE_DELIVERY_GRACE` ago.
fn uploader(state: &AppState, caller: AnyBotCaller) -> ApiResult<BotRecord> {
    recently_live(state, caller)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScreenshotQuery {
    /// When it was taken: `waiting_room`, `in_call`, `failure` (letters and `_`, ≤ 32).
    #[param(pattern = "^[a-z_]{1,32}$")]
    pub kind: String,
}

/// A screenshot stored for the bot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScreenshotResource {
    pub id: String,
    pub kind: String,
    pub taken_at: DateTime<Utc>,
    pub size_bytes: i64,
    pub content_type: String,
    /// Download URL; expires at `expiresAt`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
}

/// Upload a screenshot (JPEG or PNG body, ≤ 5 MB).
#[utoipa::path(post, path = "/api/bot/v1/screenshots", tag = "bot channel", params(ScreenshotQuery),
    request_body(content = Vec<u8>, content_type = "image/jpeg"),
    responses((status = 201, description = "stored; no body"), (status = 401, body = ErrorBody), (status = 415, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn upload_screenshot(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    ApiQuery(query): ApiQuery<ScreenshotQuery>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<StatusCode> {
    let bot = uploader(&state, caller)?;
    let kind = query.kind;
    if kind.is_empty() || kind.len() > 32 || !kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
        return Err(ApiError::invalid_field(
            "kind",
            "invalid_value",
            "kind must be lowercase letters and _ (e.g. in_call)",
        ));
    }
    let (content_type, extension) = match headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some("image/jpeg") => ("image/jpeg", "jpg"),
        Some("image/png") => ("image/png", "png"),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the screenshot as image/jpeg or image/png",
            ));
        }
    };
    if body.is_empty() {
        return Err(ApiError::invalid_field("body", "empty", "the screenshot is empty"));
    }
    if body.len() > MAX_SCREENSHOT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("screenshots are at most {MAX_SCREENSHOT_BYTES} bytes"),
        ));
    }
    let now = state.now();
    let label = format!("{}-{kind}", now.timestamp_millis());
    let key = screenshot_key(&bot.id, &label, extension);
    let written = state.storage.put(&key, body, content_type).await?;
    let mut tx = state.db.begin_write().await?;
    let new = NewMedia {
        bot_id: &bot.id,
        kind: "screenshot",
        label: &label,
        storage_key: &key,
        content_type,
        size_bytes: written.size as i64,
        sha256: &written.sha256,
        duration_ms: None,
    };
    // A retried upload within the same millisecond is the same screenshot.
    if media_db::find(&mut tx, &bot.id, "screenshot", &label).await?.is_none() {
        media_db::insert(&mut tx, &new, now).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    crate::metrics::media_ingested("screenshot", written.size);
    Ok(StatusCode::CREATED)
}

/// One recording chunk, as the bot describes it.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChunkDescriptor {
    /// Each capture run is a part, from 1.
    pub part: u32,
    /// 0 is the part's init segment; media segments follow from 1, in order.
    pub seq: u32,
    pub size_bytes: u64,
    /// Lowercase hex SHA-256 of the chunk.
    pub sha256: String,
    pub duration_ms: Option<u64>,
    /// `video/mp4` or `audio/mp4`.
    pub content_type: String,
}

impl ChunkDescriptor {
    fn validate(&self) -> ApiResult<()> {
        if !(1..=1000).contains(&self.part) {
            return Err(ApiError::invalid_field("part", "out_of_range", "part must be 1–1000"));
        }
        if self.seq > 1_000_000 {
            return Err(ApiError::invalid_field("seq", "out_of_range", "seq must be 0–1000000"));
        }
        if self.size_bytes == 0 {
            return Err(ApiError::invalid_field(
                "sizeBytes",
                "empty",
                "empty chunks are refused: they would replace good data with nothing",
            ));
        }
        if self.size_bytes > MAX_CHUNK_BYTES {
            return Err(ApiError::invalid_field(
                "sizeBytes",
                "too_large",
                format!("chunks are at most {MAX_CHUNK_BYTES} bytes"),
            ));
        }
        if self.sha256.len() != 64
            || !self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(ApiError::invalid_field(
                "sha256",
                "invalid_format",
                "sha256 must be 64 lowercase hex characters",
            ));
        }
        if !matches!(self.content_type.as_str(), "video/mp4" | "audio/mp4") {
            return Err(ApiError::invalid_field(
                "contentType",
                "invalid_value",
                "contentType must be video/mp4 or audio/mp4",
            ));
        }
        Ok(())
    }

    fn mode(&self) -> &'static str {
        if self.content_type == "audio/mp4" {
            "audio"
        } else {
            "video"
        }
    }
}

/// Where and how to upload a chunk; `null` when the server already has it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChunkUploadAnswer {
    pub upload: Option<ChunkUpload>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChunkUpload {
    pub method: String,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    /// `bot_token`: send the bot's token (a server URL); `none`: a presigned URL.
    pub auth: String,
}

/// Whether the chunk is already stored: `Ok(true)` with the same content, a 409 with a
/// different one (good data is never replaced).
async fn already_stored(state: &AppState, bot: &BotRecord, chunk: &ChunkDescriptor) -> ApiResult<bool> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    match media_db::find(&mut conn, &bot.id, "chunk", &chunk_label(chunk.part, chunk.seq)).await? {
        Some(existing) if existing.sha256 == chunk.sha256 => Ok(true),
        Some(_) => Err(ApiError::conflict(
            "chunk_exists",
            format!(
                "part {} chunk {} is already stored with different content",
                chunk.part, chunk.seq
            ),
        )),
        None => Ok(false),
    }
}

fn refuse_unrecorded(bot: &BotRecord) -> ApiResult<()> {
    if bot.recording_mode.as_str() == "none" {
        return Err(ApiError::conflict(
            "not_recording",
            "this bot was created with recordingMode none",
        ));
    }
    Ok(())
}

/// Ask where to upload a recording chunk.
#[utoipa::path(post, path = "/api/bot/v1/recording/chunks", tag = "bot channel", request_body = ChunkDescriptor,
    responses((status = 200, body = ChunkUploadAnswer), (status = 401, body = ErrorBody),
        (status = 409, description = "stored already with different content", body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn request_chunk_upload(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    body: ApiJson<ChunkDescriptor>,
) -> ApiResult<Json<ChunkUploadAnswer>> {
    let bot = uploader(&state, caller)?;
    refuse_unrecorded(&bot)?;
    let chunk = body.value;
    chunk.validate()?;
    if already_stored(&state, &bot, &chunk).await? {
        return Ok(Json(ChunkUploadAnswer { upload: None }));
    }
    {
        let mut tx = state.db.begin_write().await?;
        media_db::set_recording(&mut tx, &bot.id, chunk.mode(), state.now()).await?;
        tx.commit().await.map_err(DbError::from)?;
    }
    let key = chunk_key(&bot.id, chunk.part, chunk.seq);
    let mut headers = BTreeMap::from([("content-type".to_string(), chunk.content_type.clone())]);
    let upload = match state.storage.presign_put(&key, CHUNK_URL_TTL).await? {
        Some(url) => ChunkUpload {
            method: "PUT".into(),
            url,
            headers,
            auth: "none".into(),
        },
        None => {
            let mut url = url::Url::parse(&format!(
                "{}/api/bot/v1/recording/chunks/{}/{}",
                state.config.public_url, chunk.part, chunk.seq
            ))
            .expect("PUBLIC_URL is a URL");
            url.query_pairs_mut()
                .append_pair("size", &chunk.size_bytes.to_string())
                .append_pair("sha256", &chunk.sha256);
            headers.insert("x-meeboter-sha256".into(), chunk.sha256.clone());
            ChunkUpload {
                method: "PUT".into(),
                url: url.to_string(),
                headers,
                auth: "bot_token".into(),
            }
        }
    };
    Ok(Json(ChunkUploadAnswer { upload: Some(upload) }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PutChunkQuery {
    pub size: u64,
    pub sha256: String,
}

/// Upload a chunk's bytes to this server (the filesystem backend's upload URL).
#[utoipa::path(put, path = "/api/bot/v1/recording/chunks/{part}/{seq}", tag = "bot channel",
    params(("part" = u32, Path), ("seq" = u32, Path), PutChunkQuery),
    request_body(content = Vec<u8>, content_type = "video/mp4"),
    responses((status = 200, description = "stored; no body"), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn put_chunk(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    Path((part, seq)): Path<(u32, u32)>,
    ApiQuery(query): ApiQuery<PutChunkQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<StatusCode> {
    let bot = uploader(&state, caller)?;
    refuse_unrecorded(&bot)?;
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("video/mp4")
        .to_string();
    let chunk = ChunkDescriptor {
        part,
        seq,
        size_bytes: query.size,
        sha256: query.sha256,
        duration_ms: None,
        content_type,
    };
    chunk.validate()?;
    if already_stored(&state, &bot, &chunk).await? {
        return Ok(StatusCode::OK);
    }
    let key = chunk_key(&bot.id, part, seq);
    let limit = chunk.size_bytes;
    let mut seen = 0u64;
    let stream = body
        .into_data_stream()
        .map_err(std::io::Error::other)
        .and_then(move |bytes| {
            seen += bytes.len() as u64;
            futures::future::ready(if seen > limit {
                Err(std::io::Error::other("the body is larger than the declared size"))
            } else {
                Ok(bytes)
            })
        });
    let reader = tokio_util::io::StreamReader::new(stream);
    let written = match state.storage.put_reader(&key, reader, &chunk.content_type).await {
        Ok(w) => w,
        Err(meeboter_storage::StorageError::Other(m)) if m.contains("declared size") => {
            return Err(chunk_mismatch("the body is larger than the declared size"));
        }
        Err(e) => return Err(e.into()),
    };
    if written.size != chunk.size_bytes || written.sha256 != chunk.sha256 {
        let _ = state.storage.delete(&key).await;
        return Err(chunk_mismatch(&format!(
            "received {} bytes with sha256 {}, expected {} bytes with sha256 {}",
            written.size, written.sha256, chunk.size_bytes, chunk.sha256
        )));
    }
    Ok(StatusCode::OK)
}

fn chunk_mismatch(message: &str) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "chunk_mismatch", message.to_string())
}

/// Confirm an uploaded chunk: the server checks what is stored against the description.
#[utoipa::path(post, path = "/api/bot/v1/recording/chunks/complete", tag = "bot channel", request_body = ChunkDescriptor,
    responses((status = 204), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn complete_chunk(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    body: ApiJson<ChunkDescriptor>,
) -> ApiResult<StatusCode> {
    let bot = uploader(&state, caller)?;
    refuse_unrecorded(&bot)?;
    let chunk = body.value;
    chunk.validate()?;
    if already_stored(&state, &bot, &chunk).await? {
        return Ok(StatusCode::NO_CONTENT);
    }
    let key = chunk_key(&bot.id, chunk.part, chunk.seq);
    let (size, sha256) = match media::digest(&state.storage, &key).await {
        Ok(d) => d,
        Err(meeboter_storage::StorageError::NotFound(_)) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "chunk_missing",
                "upload the chunk before completing it",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    if size != chunk.size_bytes || sha256 != chunk.sha256 {
        return Err(chunk_mismatch(&format!(
            "stored {size} bytes with sha256 {sha256}, expected {} bytes with sha256 {}",
            chunk.size_bytes, chunk.sha256
        )));
    }
    let label = chunk_label(chunk.part, chunk.seq);
    let mut tx = state.db.begin_write().await?;
    let mut ingested = 0;
    if media_db::find(&mut tx, &bot.id, "chunk", &label).await?.is_none() {
        let new = NewMedia {
            bot_id: &bot.id,
            kind: "chunk",
            label: &label,
            storage_key: &key,
            content_type: &chunk.content_type,
            size_bytes: size as i64,
            sha256: &sha256,
            duration_ms: chunk.duration_ms.map(|d| d as i64),
        };
        media_db::insert(&mut tx, &new, state.now()).await?;
        ingested = size;
    }
    media_db::set_recording(&mut tx, &bot.id, chunk.mode(), state.now()).await?;
    tx.commit().await.map_err(DbError::from)?;
    crate::metrics::media_ingested("chunk", ingested);
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordingFinished {
    /// How many parts (capture runs) the recording has.
    pub parts: u32,
    /// `video` or `audio`.
    pub mode: String,
    /// Whether every chunk the bot recorded was confirmed. Absent (older bots): the server
    /// judges by the chunks it has alone. `false` makes the recording `partial`.
    #[serde(default)]
    pub complete: Option<bool>,
    /// The chunks the bot recorded but could not upload (at most 1000 spans).
    #[serde(default)]
    pub missing: Option<Vec<MissingSpan>>,
}

/// Chunks `fromSeq..=toSeq` of `part` that never arrived (seq 0 is the part's init
/// section: without it the whole part cannot play).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MissingSpan {
    pub part: u32,
    pub from_seq: u32,
    pub to_seq: u32,
    /// Where the span starts in the part as recorded (milliseconds), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ms: Option<u64>,
    /// How long the missing chunks play (milliseconds), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// Most spans a bot may report missing.
const MAX_MISSING_SPANS: usize = 1000;

impl RecordingFinished {
    fn validate(&self) -> ApiResult<()> {
        if !matches!(self.mode.as_str(), "video" | "audio") {
            return Err(ApiError::invalid_field(
                "mode",
                "invalid_value",
                "mode must be video or audio",
            ));
        }
        if self.parts > 1000 {
            return Err(ApiError::invalid_field("parts", "out_of_range", "parts must be 0–1000"));
        }
        let missing = self.missing.as_deref().unwrap_or_default();
        if missing.len() > MAX_MISSING_SPANS {
            return Err(ApiError::invalid_field(
                "missing",
                "too_many",
                format!("at most {MAX_MISSING_SPANS} missing spans"),
            ));
        }
        for (i, span) in missing.iter().enumerate() {
            if !(1..=1000).contains(&span.part) {
                return Err(ApiError::invalid_field(
                    &format!("missing[{i}].part"),
                    "out_of_range",
                    "part must be 1–1000",
                ));
            }
            if span.from_seq > span.to_seq || span.to_seq > 1_000_000 {
                return Err(ApiError::invalid_field(
                    &format!("missing[{i}].toSeq"),
                    "out_of_range",
                    "fromSeq ≤ toSeq ≤ 1000000",
                ));
            }
            if span.start_ms.is_some_and(|v| v > MAX_SPAN_MS) || span.duration_ms.is_some_and(|v| v > MAX_SPAN_MS) {
                return Err(ApiError::invalid_field(
                    &format!("missing[{i}].durationMs"),
                    "out_of_range",
                    "startMs and durationMs must be at most 7 days",
                ));
            }
        }
        Ok(())
    }
}

/// Longest time a missing span may claim (7 days, in milliseconds).
const MAX_SPAN_MS: u64 = 7 * 24 * 3600 * 1000;

/// Say the recording is over: every chunk it could send is uploaded; the server assembles
/// it. `complete: false` (with `missing`) says some chunks were lost: the recording becomes
/// `partial`.
#[utoipa::path(post, path = "/api/bot/v1/recording/finish", tag = "bot channel", request_body = RecordingFinished,
    responses((status = 204), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn finish_recording(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    body: ApiJson<RecordingFinished>,
) -> ApiResult<StatusCode> {
    let bot = uploader(&state, caller)?;
    refuse_unrecorded(&bot)?;
    let finished = body.value;
    finished.validate()?;
    let report = finished.complete.map(|complete| {
        json!({"complete": complete, "missing": finished.missing.clone().unwrap_or_default()}).to_string()
    });
    let mut tx = state.db.begin_write().await?;
    // Repeating it (a retry after a lost answer) changes nothing.
    media_db::set_finished(
        &mut tx,
        &bot.id,
        finished.parts as i64,
        &finished.mode,
        report.as_deref(),
        state.now(),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn own_bot(state: &AppState, caller: &Caller, raw_id: &str) -> ApiResult<BotRecord> {
    let id = parse_id(raw_id, "bot")?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    bots::find(&mut conn, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))
}

/// The bot's recording: `state` always; once `ready` or `partial`, the metadata
/// (`format`, `durationSecs`, `sizeBytes`, `sha256`, `segments`, `complete`, `missing`,
/// `missingSecs`) and download URLs. `partial`: assembled from what arrived, with the
/// spans that never did in `missing`.
#[utoipa::path(get, path = "/api/bots/{id}/recording", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 200, description = "the recording", body = Value), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let bot = own_bot(&state, &caller, &id).await?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let recording = media_db::recording_state(&mut conn, &bot.id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))?;
    if recording.state == "none" {
        return Err(ApiError::not_found("recording").with_details(json!({
            "recordingMode": bot.recording_mode.as_str(),
            "hint": "a recording exists once the bot has been in the call with recordingMode audio or video",
        })));
    }
    let mut body = recording
        .recording
        .as_deref()
        .and_then(|m| serde_json::from_str::<Value>(m).ok())
        .unwrap_or_else(|| json!({}));
    body["state"] = json!(recording.state);
    body["botId"] = json!(bot.id);
    if matches!(recording.state.as_str(), "ready" | "partial") {
        let stem = format!("meeboter-{}", bot.id);
        let single = body["segments"].as_array().map_or(0, Vec::len) == 1;
        if let Some(segments) = body["segments"].as_array_mut() {
            for segment in segments.iter_mut() {
                let key = segment["key"].as_str().unwrap_or_default().to_string();
                let name = if single {
                    format!("{stem}.mp4")
                } else {
                    format!("{stem}-part{}.mp4", segment["part"])
                };
                let (url, expires) = media::download_url(&state, &key, Some(&name)).await?;
                segment["url"] = json!(url);
                segment["expiresAt"] = json!(expires);
                if let Some(obj) = segment.as_object_mut() {
                    obj.remove("key");
                }
            }
        }
        if single {
            body["url"] = body["segments"][0]["url"].clone();
            body["expiresAt"] = body["segments"][0]["expiresAt"].clone();
        }
    }
    Ok(Json(body))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ScreenshotList {
    pub screenshots: Vec<ScreenshotResource>,
}

/// What the bot saw: screenshots at the waiting room, in the call, and on failure.
#[utoipa::path(get, path = "/api/bots/{id}/screenshots", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 200, body = ScreenshotList), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_screenshots(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ScreenshotList>> {
    let bot = own_bot(&state, &caller, &id).await?;
    let rows = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        media_db::list(&mut conn, &bot.id, "screenshot").await?
    };
    let mut screenshots = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = r.label.split_once('-').map_or(r.label.as_str(), |(_, k)| k).to_string();
        let (url, expires_at) = media::download_url(&state, &r.storage_key, None).await?;
        screenshots.push(ScreenshotResource {
            id: r.id,
            kind,
            taken_at: r.created_at,
            size_bytes: r.size_bytes,
            content_type: r.content_type,
            url,
            expires_at,
        });
    }
    Ok(Json(ScreenshotList { screenshots }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    pub key: String,
    pub exp: i64,
    #[serde(default)]
    pub name: String,
    pub sig: String,
}

/// Download stored media through a signed URL from this server (filesystem backend);
/// supports `Range`.
#[utoipa::path(get, path = "/api/media", tag = "bots", params(DownloadQuery),
    responses((status = 200, description = "the object", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 206, description = "the requested range of the object", content_type = "application/octet-stream", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 416, body = ErrorBody)))]
pub async fn download(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<DownloadQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    if !media::verify(
        &state.bot_token_secret,
        "GET",
        &q.key,
        q.exp,
        &q.name,
        &q.sig,
        state.now(),
    ) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "invalid_signature",
            "this download URL is invalid or has expired; ask the API for a new one",
        ));
    }
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        Some(raw) => Some(ByteRange::parse_http(raw)?),
        None => None,
    };
    let object = state.storage.get(&q.key, range).await?;
    let content_type = match q.key.rsplit('.').next() {
        Some("mp4") => "video/mp4",
        Some("jpg") => "image/jpeg",
        Some("png") => "image/png",
        Some("gz") => "application/gzip",
        _ => "application/octet-stream",
    };
    let mut response = Response::new(Body::from_stream(object.stream));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(object.size));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=300"));
    if !q.name.is_empty()
        && let Ok(v) = HeaderValue::from_str(&format!(
            "attachment; filename=\"{}\"",
            q.name.replace(['"', '\\', '\r', '\n'], "_")
        ))
    {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Some((first, last)) = object.range {
        *response.status_mut() = StatusCode::PARTIAL_CONTENT;
        let v = format!("bytes {first}-{last}/{}", object.total_size);
        response
            .headers_mut()
            .insert(header::CONTENT_RANGE, HeaderValue::from_str(&v).expect("ascii"));
    }
    Ok(response.into_response())
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LogArchive {
    /// Gzipped JSON lines: `{"at", "level", "message", "source"}`.
    pub url: String,
    pub expires_at: DateTime<Utc>,
    pub archived_at: DateTime<Utc>,
}

/// The bot's log lines as one gzipped JSON-lines file, archived 10 minutes after the bot
/// ended (until then, and always, `GET /api/bots/{id}/events?type=log` has them).
#[utoipa::path(get, path = "/api/bots/{id}/logs", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 200, body = LogArchive), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_logs(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<LogArchive>> {
    let bot = own_bot(&state, &caller, &id).await?;
    let archived_at = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        media_db::logs_archived_at(&mut conn, &bot.id).await?
    };
    let Some(archived_at) = archived_at else {
        return Err(ApiError::not_found("log archive").with_details(json!({
            "hint": "logs are archived 10 minutes after the bot ends; GET /api/bots/{id}/events?type=log has them meanwhile",
        })));
    };
    let name = format!("meeboter-{}-logs.jsonl.gz", bot.id);
    let (url, expires_at) = media::download_url(&state, &media::logs_key(&bot.id), Some(&name)).await?;
    Ok(Json(LogArchive {
        url,
        expires_at,
        archived_at,
    }))
}

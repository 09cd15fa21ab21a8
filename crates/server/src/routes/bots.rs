//! `/api/bots`: create, list, get, delete.

use super::wire::{BotStatusWire, PlatformWire, RecordingModeWire, TranscriptionProviderWire};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::webhook_client::check_registration_target;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use meeboter_core::ValidationErrors;
use meeboter_core::create_bot::{AutomaticLeaveInput, CreateBotInput, validate_create_bot_with, validate_webhook_url};
use meeboter_core::{BotStatus, MeetingPlatform};
use meeboter_db::bots::{self, BotFilter, BotRecord, StatusChangeRecord};
use meeboter_db::{AnyConnection, DbError, idempotency};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

/// Body of `POST /api/bots`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({
    "meetingUrl": "https://meet.google.com/abc-defg-hij",
    "botName": "Notetaker",
    "recordingMode": "audio",
    "automaticLeave": {"nooneJoinedTimeoutSecs": 300},
    "metadata": {"crmId": "42"},
    "transcription": {"provider": "meeting_captions"}
}))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateBotRequest {
    /// Google Meet, Microsoft Teams or Zoom link. Required.
    #[schema(example = "https://meet.google.com/abc-defg-hij", value_type = String, required = true, format = "uri", max_length = 2048)]
    pub meeting_url: Option<String>,
    /// Display name in the meeting (default `Meeboter`, at most 100 characters, not blank,
    /// no control characters).
    #[schema(value_type = Option<String>, min_length = 1, max_length = 100, pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$", required = false)]
    pub bot_name: Option<String>,
    /// `google_meet`, `microsoft_teams` or `zoom`; inferred from the URL when absent, and
    /// must match it when given.
    #[schema(value_type = Option<PlatformWire>, required = false)]
    pub platform: Option<String>,
    /// `none`, `audio` or `video` (default).
    #[schema(value_type = Option<RecordingModeWire>, required = false)]
    pub recording_mode: Option<String>,
    /// RFC 3339 time to join, at most 90 days ahead and at most a few minutes in the
    /// past; in the future the bot is `SCHEDULED`.
    #[schema(value_type = Option<String>, format = DateTime, required = false)]
    pub join_at: Option<String>,
    pub automatic_leave: Option<AutomaticLeaveRequest>,
    /// Where this bot's events are POSTed: an http(s) URL without credentials whose host
    /// is public (unless the server sets `WEBHOOK_ALLOW_PRIVATE=true`).
    #[schema(value_type = Option<String>, format = "uri", max_length = 2048, required = false)]
    pub webhook_url: Option<String>,
    /// Free-form JSON object (≤ 16 KB) echoed back on the bot and its events.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Value>,
    /// A second create with the same key, while the first bot is live, returns that bot.
    /// 1 to 256 bytes of UTF-8 (at most 64 characters are always within that).
    #[schema(value_type = Option<String>, min_length = 1, max_length = 64, required = false)]
    pub deduplication_key: Option<String>,
    /// Deployment-queue priority, -100 to 100 (default 0); higher goes first.
    #[schema(value_type = Option<i64>, minimum = -100, maximum = 100, required = false)]
    pub priority: Option<i64>,
    /// Make a transcript (none when absent). See the README's Transcription section.
    pub transcription: Option<TranscriptionRequest>,
}

/// `transcription` of a create request.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TranscriptionRequest {
    /// `meeting_captions` (the meeting client's live captions, read by the bot), `openai`
    /// (an OpenAI-compatible API, after the call; needs `TRANSCRIPTION_OPENAI_URL`) or
    /// `deepgram` (needs `TRANSCRIPTION_DEEPGRAM_API_KEY`). Required.
    #[schema(example = "meeting_captions", value_type = TranscriptionProviderWire, required = true)]
    pub provider: Option<String>,
    /// Language tag such as `en` or `en-US` (a Whisper language); absent = detected.
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z]{2,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?$", required = false)]
    pub language: Option<String>,
    /// Transcript while the meeting runs. Always true for `meeting_captions`; not yet
    /// available for the audio providers (their transcript comes after the call).
    pub realtime: Option<bool>,
}

/// A bot's transcription option.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptionResource {
    /// `meeting_captions`, `openai` or `deepgram`.
    pub provider: String,
    pub language: Option<String>,
    pub realtime: bool,
}

impl From<&meeboter_core::transcription::Transcription> for TranscriptionResource {
    fn from(t: &meeboter_core::transcription::Transcription) -> Self {
        TranscriptionResource {
            provider: t.provider.as_str().to_string(),
            language: t.language.clone(),
            realtime: t.realtime,
        }
    }
}

/// Automatic-leave overrides, in seconds. Absent fields take the defaults.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AutomaticLeaveRequest {
    /// Default 1200, range 10–86400.
    #[schema(value_type = Option<i64>, minimum = 10, maximum = 86400, required = false)]
    pub waiting_room_timeout_secs: Option<i64>,
    /// Default 600, range 10–86400.
    #[schema(value_type = Option<i64>, minimum = 10, maximum = 86400, required = false)]
    pub noone_joined_timeout_secs: Option<i64>,
    /// Default 60, range 1–86400.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 86400, required = false)]
    pub everyone_left_timeout_secs: Option<i64>,
    /// Default 14400, range 60–86400.
    #[schema(value_type = Option<i64>, minimum = 60, maximum = 86400, required = false)]
    pub max_duration_secs: Option<i64>,
}

impl From<CreateBotRequest> for CreateBotInput {
    fn from(r: CreateBotRequest) -> Self {
        let leave = r.automatic_leave.unwrap_or_default();
        CreateBotInput {
            meeting_url: r.meeting_url,
            bot_name: r.bot_name,
            platform: r.platform,
            recording_mode: r.recording_mode,
            join_at: r.join_at,
            automatic_leave: AutomaticLeaveInput {
                waiting_room_timeout_secs: leave.waiting_room_timeout_secs,
                noone_joined_timeout_secs: leave.noone_joined_timeout_secs,
                everyone_left_timeout_secs: leave.everyone_left_timeout_secs,
                max_duration_secs: leave.max_duration_secs,
            },
            webhook_url: r.webhook_url,
            metadata: r.metadata,
            deduplication_key: r.deduplication_key,
            priority: r.priority,
            transcription: r
                .transcription
                .map(|t| meeboter_core::transcription::TranscriptionInput {
                    provider: t.provider,
                    language: t.language,
                    realtime: t.realtime,
                }),
            providers_configured: Default::default(),
        }
    }
}

/// A bot.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotResource {
    /// UUIDv7.
    pub id: String,
    /// The normalised meeting link.
    pub meeting_url: String,
    #[schema(value_type = PlatformWire)]
    pub platform: String,
    pub bot_name: String,
    #[schema(value_type = RecordingModeWire)]
    pub recording_mode: String,
    #[schema(value_type = BotStatusWire)]
    pub status: String,
    /// Every status the bot went through, oldest first.
    pub status_changes: Vec<StatusChangeResource>,
    pub join_at: Option<DateTime<Utc>>,
    pub automatic_leave: AutomaticLeaveResource,
    pub webhook_url: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Value,
    pub deduplication_key: Option<String>,
    pub priority: i64,
    /// The transcription option; null when the bot makes no transcript.
    pub transcription: Option<TranscriptionResource>,
    /// Where the bot runs, once deployed.
    pub deployment: Option<DeploymentResource>,
    /// Place in the deployment queue while `QUEUED`.
    pub queue: Option<QueueResource>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One status change. `subCode` is an open vocabulary (e.g. `waiting_room_timeout`,
/// `everyone_left`, `kicked`): clients must tolerate values they do not know.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusChangeResource {
    #[schema(value_type = BotStatusWire)]
    pub status: String,
    pub sub_code: Option<String>,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AutomaticLeaveResource {
    pub waiting_room_timeout_secs: u32,
    pub noone_joined_timeout_secs: u32,
    pub everyone_left_timeout_secs: u32,
    pub max_duration_secs: u32,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentResource {
    /// `local`, `coolify`, `aws`, …
    pub platform: String,
    /// The platform's identifier (process id, Coolify slot, ECS task ARN).
    pub identifier: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueResource {
    pub position: u32,
    pub estimated_wait_secs: u32,
}

/// A page of bots.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotList {
    pub bots: Vec<BotResource>,
    /// Pass as `cursor` to get the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Builds the wire form of a stored bot.
pub fn to_resource(bot: BotRecord, changes: Vec<StatusChangeRecord>) -> BotResource {
    let leave = bot.automatic_leave;
    BotResource {
        id: bot.id,
        meeting_url: bot.meeting_url,
        platform: bot.platform.as_str().to_string(),
        bot_name: bot.bot_name,
        recording_mode: bot.recording_mode.as_str().to_string(),
        status: bot.status.as_str().to_string(),
        status_changes: changes
            .into_iter()
            .map(|c| StatusChangeResource {
                status: c.status.as_str().to_string(),
                sub_code: c.sub_code,
                message: c.message,
                at: c.at,
            })
            .collect(),
        join_at: bot.join_at,
        automatic_leave: AutomaticLeaveResource {
            waiting_room_timeout_secs: leave.waiting_room_timeout_secs,
            noone_joined_timeout_secs: leave.noone_joined_timeout_secs,
            everyone_left_timeout_secs: leave.everyone_left_timeout_secs,
            max_duration_secs: leave.max_duration_secs,
        },
        webhook_url: bot.webhook_url,
        metadata: Value::Object(bot.metadata),
        deduplication_key: bot.deduplication_key,
        priority: bot.priority,
        transcription: bot.transcription.as_ref().map(TranscriptionResource::from),
        deployment: bot.deployment_platform.map(|platform| DeploymentResource {
            platform,
            identifier: bot.deployment_identifier,
        }),
        queue: None,
        created_at: bot.created_at,
        updated_at: bot.updated_at,
        ended_at: bot.ended_at,
    }
}

pub async fn load_resource(
    conn: &mut AnyConnection,
    bot: BotRecord,
    deployer: &crate::deployment::Deployer,
) -> ApiResult<BotResource> {
    let mut changes = bots::status_changes(conn, &[bot.id.as_str()]).await?;
    let history = changes.remove(&bot.id).unwrap_or_default();
    let queue = queue_info(conn, &bot, deployer).await?;
    let mut resource = to_resource(bot, history);
    resource.queue = queue;
    Ok(resource)
}

/// Place in the queue and a wait estimate: none while capacity is free for it (the
/// dispatcher deploys it within moments); otherwise the turns ahead — bots before it beyond
/// the free capacity, ÷ total capacity, rounded up — × the mean run time of recent bots.
async fn queue_info(
    conn: &mut AnyConnection,
    bot: &BotRecord,
    deployer: &crate::deployment::Deployer,
) -> ApiResult<Option<QueueResource>> {
    if bot.status != meeboter_core::BotStatus::Queued {
        return Ok(None);
    }
    let position = bots::queue_position(conn, bot).await?.max(1) as u32;
    let capacity = deployer.total_capacity().max(1);
    let mut in_use: u32 = 0;
    for slot in deployer.slots() {
        let used = bots::capacity_in_use(conn, slot.platform.name()).await?;
        in_use += (used.max(0) as u32).min(slot.limit);
    }
    let free = capacity.saturating_sub(in_use);
    if position <= free {
        return Ok(Some(QueueResource {
            position,
            estimated_wait_secs: 0,
        }));
    }
    let mean = deployer.mean_run_secs(conn).await?;
    let turns = (position - free).div_ceil(capacity);
    Ok(Some(QueueResource {
        position,
        estimated_wait_secs: (f64::from(turns) * mean).round() as u32,
    }))
}

const IDEMPOTENCY_HEADER: &str = "idempotency-key";
const REPLAYED_HEADER: &str = "idempotent-replayed";

fn idempotency_key(headers: &HeaderMap) -> ApiResult<Option<String>> {
    let Some(value) = headers.get(IDEMPOTENCY_HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().ok().map(str::trim).unwrap_or("");
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        ));
    }
    Ok(Some(key.to_string()))
}

fn fingerprint(raw: &Value) -> String {
    hex::encode(Sha256::digest(raw.to_string().as_bytes()))
}

fn json_response(status: StatusCode, body: String, replayed: bool) -> Response {
    let mut response = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
    if replayed {
        response
            .headers_mut()
            .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    }
    response
}

fn replay(stored: idempotency::StoredResponse, hash: &str) -> ApiResult<Response> {
    if stored.request_hash != hash {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this Idempotency-Key was used with a different request body in the last 24 hours",
        ));
    }
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    Ok(json_response(status, stored.body, true))
}

/// Create a bot.
///
/// Returns 201 with the new bot, or 200 with the existing live bot when
/// `deduplicationKey` matches one. With an `Idempotency-Key` header, a retry within 24
/// hours replays the first response (header `Idempotent-Replayed: true`).
#[utoipa::path(
    post, path = "/api/bots", tag = "bots",
    request_body = CreateBotRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe for 24 hours: 1 to 255 visible ASCII characters",
        pattern = "^[\\x21-\\x7e]{1,255}$", example = "create-standup-2026-12-06")),
    responses(
        (status = 201, description = "created", body = BotResource),
        (status = 200, description = "existing bot with the same deduplicationKey", body = BotResource),
        (status = 400, description = "malformed JSON or header", body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody),
        (status = 422, description = "validation failed; details.fields lists every problem", body = ErrorBody),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn create_bot(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: ApiJson<CreateBotRequest>,
) -> ApiResult<Response> {
    let idem_key = idempotency_key(&headers)?;
    let hash = fingerprint(&body.raw);
    let now = state.now();
    if let Some(key) = &idem_key {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        if let Some(stored) = idempotency::find(&mut conn, &caller.account_id, key, now).await? {
            return replay(stored, &hash);
        }
    }
    let test_origin = state.config.test_meetings.then_some(state.config.public_url.as_str());
    // The bot's own webhookUrl meets the same address rule as a registered endpoint (resolved
    // now, refused if private or unresolvable), reported together with every other problem.
    let target_refusal = match body.value.webhook_url.as_deref().map(validate_webhook_url) {
        Some(Ok(url)) => check_registration_target(&url, state.config.webhook_allow_private)
            .await
            .err(),
        _ => None,
    };
    let mut input: CreateBotInput = body.value.into();
    input.providers_configured = state.config.transcription.configured();
    let new_bot = match (validate_create_bot_with(input, now, test_origin), target_refusal) {
        (Ok(bot), None) => bot,
        (Ok(_), Some(refusal)) => {
            let mut errors = ValidationErrors::default();
            errors.push("webhookUrl", refusal.code, refusal.message);
            return Err(errors.into());
        }
        (Err(mut errors), Some(refusal)) => {
            errors.push("webhookUrl", refusal.code, refusal.message);
            return Err(errors.into());
        }
        (Err(errors), None) => return Err(errors.into()),
    };

    let mut tx = state.db.begin_write().await?;
    let existing = match &new_bot.deduplication_key {
        Some(k) => bots::find_active_by_dedup_key(&mut tx, &caller.account_id, k).await?,
        None => None,
    };
    let (status, resource) = match existing {
        Some(bot) => (StatusCode::OK, load_resource(&mut tx, bot, &state.deployer).await?),
        None => match bots::insert(&mut tx, &caller.account_id, &new_bot, new_bot.initial_status(now), now).await {
            Ok((bot, change)) => {
                let queue = queue_info(&mut tx, &bot, &state.deployer).await?;
                let mut resource = to_resource(bot, vec![change]);
                resource.queue = queue;
                (StatusCode::CREATED, resource)
            }
            Err(e) if e.is_unique_violation() => {
                // Another request took the deduplication key first; answer with its bot.
                drop(tx);
                return existing_dedup_response(&state, &caller, new_bot.deduplication_key.as_deref()).await;
            }
            Err(e) => return Err(e.into()),
        },
    };
    let body = serde_json::to_string(&resource).map_err(|_| ApiError::internal())?;
    if let Some(key) = &idem_key {
        let stored = idempotency::StoredResponse {
            request_hash: hash.clone(),
            status: status.as_u16(),
            body: body.clone(),
        };
        if let Err(e) = idempotency::insert(&mut tx, &caller.account_id, key, &stored, now).await {
            if !e.is_unique_violation() {
                return Err(e.into());
            }
            // A concurrent request with the same key committed first: replay it.
            drop(tx);
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            let stored = idempotency::find(&mut conn, &caller.account_id, key, now)
                .await?
                .ok_or_else(ApiError::internal)?;
            return replay(stored, &hash);
        }
    }
    tx.commit().await.map_err(DbError::from)?;
    state.deployer.wake();
    if status == StatusCode::CREATED {
        tracing::info!(bot.id = %resource.id, account.id = %caller.account_id, platform = %resource.platform, "bot created");
    }
    Ok(json_response(status, body, false))
}

async fn existing_dedup_response(state: &AppState, caller: &Caller, key: Option<&str>) -> ApiResult<Response> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let bot = match key {
        Some(k) => bots::find_active_by_dedup_key(&mut conn, &caller.account_id, k).await?,
        None => None,
    }
    .ok_or_else(|| ApiError::conflict("conflict", "a concurrent request changed this bot; retry"))?;
    let resource = load_resource(&mut conn, bot, &state.deployer).await?;
    Ok((StatusCode::OK, Json(resource)).into_response())
}

/// Query parameters of `GET /api/bots`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListBotsQuery {
    /// One status or a comma-separated list, e.g. `IN_CALL,IN_WAITING_ROOM`.
    #[param(
        pattern = "^( *(SCHEDULED|QUEUED|DEPLOYING|JOINING_CALL|IN_WAITING_ROOM|IN_CALL|LEAVING|ENDED|FATAL) *(, *(SCHEDULED|QUEUED|DEPLOYING|JOINING_CALL|IN_WAITING_ROOM|IN_CALL|LEAVING|ENDED|FATAL) *)*)?$"
    )]
    pub status: Option<String>,
    /// `google_meet`, `microsoft_teams` or `zoom`.
    #[param(value_type = Option<PlatformWire>)]
    pub platform: Option<String>,
    /// RFC 3339; only bots created after this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_after: Option<String>,
    /// RFC 3339; only bots created before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub created_before: Option<String>,
    /// Case-insensitive text in the bot's name or meeting URL (≤ 200 characters).
    #[param(max_length = 200)]
    pub search: Option<String>,
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `nextCursor` from the previous page.
    #[param(value_type = Option<String>, format = Uuid)]
    pub cursor: Option<String>,
}

fn build_filter(q: ListBotsQuery) -> ApiResult<(BotFilter, u32)> {
    let mut errors = meeboter_core::ValidationErrors::default();
    let mut filter = BotFilter::default();
    if let Some(raw) = &q.status {
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match BotStatus::parse(&part.to_ascii_uppercase()) {
                Some(s) => filter.statuses.push(s),
                None => errors.push("status", "invalid_value", format!("unknown status `{part}`")),
            }
        }
    }
    if let Some(raw) = &q.platform {
        filter.platform = MeetingPlatform::parse(raw);
        if filter.platform.is_none() {
            errors.push(
                "platform",
                "invalid_value",
                "platform must be google_meet, microsoft_teams or zoom",
            );
        }
    }
    if let Some(raw) = &q.created_after {
        match DateTime::parse_from_rfc3339(raw) {
            Ok(t) => filter.created_after = Some(t.with_timezone(&Utc)),
            Err(_) => errors.push(
                "createdAfter",
                "invalid_timestamp",
                "createdAfter must be an RFC 3339 timestamp",
            ),
        }
    }
    if let Some(raw) = &q.created_before {
        match DateTime::parse_from_rfc3339(raw) {
            Ok(t) => filter.created_before = Some(t.with_timezone(&Utc)),
            Err(_) => errors.push(
                "createdBefore",
                "invalid_timestamp",
                "createdBefore must be an RFC 3339 timestamp",
            ),
        }
    }
    if let Some(text) = q.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        if text.chars().count() > 200 {
            errors.push("search", "too_long", "search must be at most 200 characters");
        } else {
            filter.search = Some(text.to_string());
        }
    }
    let limit = q.limit.unwrap_or(50);
    if !(1..=100).contains(&limit) {
        errors.push("limit", "out_of_range", "limit must be between 1 and 100");
    }
    if let Some(cursor) = q.cursor {
        match uuid::Uuid::parse_str(&cursor) {
            Ok(id) => filter.before_id = Some(id.to_string()),
            Err(_) => errors.push(
                "cursor",
                "invalid_cursor",
                "cursor must be a nextCursor value from a previous page",
            ),
        }
    }
    errors.into_result((filter, limit)).map_err(ApiError::from)
}

/// List your bots, newest first.
#[utoipa::path(
    get, path = "/api/bots", tag = "bots",
    params(ListBotsQuery),
    responses((status = 200, body = BotList), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn list_bots(
    State(state): State<AppState>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListBotsQuery>,
) -> ApiResult<Json<BotList>> {
    let (filter, limit) = build_filter(query)?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let (page, has_more) = bots::list(&mut conn, &caller.account_id, &filter, limit).await?;
    let ids: Vec<&str> = page.iter().map(|b| b.id.as_str()).collect();
    let mut changes = bots::status_changes(&mut conn, &ids).await?;
    let next_cursor = if has_more {
        page.last().map(|b| b.id.clone())
    } else {
        None
    };
    let bots = page
        .into_iter()
        .map(|b| {
            let history = changes.remove(&b.id).unwrap_or_default();
            to_resource(b, history)
        })
        .collect();
    Ok(Json(BotList { bots, next_cursor }))
}

/// Canonical form of a bot id from the path; anything else cannot exist.
pub fn parse_id(raw: &str, what: &str) -> ApiResult<String> {
    uuid::Uuid::parse_str(raw)
        .map(|u| u.to_string())
        .map_err(|_| ApiError::not_found(what))
}

/// Get one of your bots.
#[utoipa::path(
    get, path = "/api/bots/{id}", tag = "bots",
    params(("id" = String, Path, description = "bot id")),
    responses((status = 200, body = BotResource), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn get_bot(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<BotResource>> {
    let id = parse_id(&id, "bot")?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let bot = bots::find(&mut conn, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))?;
    Ok(Json(load_resource(&mut conn, bot, &state.deployer).await?))
}

/// Delete one of your bots and all its data.
///
/// A bot still running is stopped first: a release job for its process, task or slot is
/// enqueued in the same transaction (and outlives the bot's rows); a bot that was never
/// deployed is simply removed.
#[utoipa::path(
    delete, path = "/api/bots/{id}", tag = "bots",
    params(("id" = String, Path, description = "bot id")),
    responses((status = 204, description = "deleted"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn delete_bot(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "bot")?;
    let mut tx = state.db.begin_write().await?;
    // Deleted first, its deployment read back under the delete's row lock: a launch that
    // records its identifier at the same moment either committed before (seen here) or
    // finds the bot gone and releases the instance itself (see the dispatcher).
    let (status, platform, identifier) = bots::delete_returning(&mut tx, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))?;
    // A live deployed bot is stopped: the release job outlives the bot's rows.
    if !status.is_terminal() && platform.is_some() {
        meeboter_db::jobs::enqueue_release(
            &mut tx,
            &id,
            platform.as_deref(),
            identifier.as_deref(),
            "deleted",
            state.now(),
        )
        .await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    // A live bot's open command poll hears at once that its token is gone; its instance is
    // stopped now.
    state.heartbeats.forget(&id);
    state.deployer.wake();
    tracing::info!(bot.id = %id, account.id = %caller.account_id, "bot deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Query of `GET /api/meeting-urls/parse`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ParseMeetingUrlQuery {
    /// The link to check. Required.
    #[param(value_type = String, required = true, min_length = 1, max_length = 2048)]
    pub url: Option<String>,
}

/// What a meeting link points at.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParsedMeetingUrl {
    pub platform: PlatformWire,
    pub meeting_id: String,
    /// The link a bot would open.
    pub normalized_url: String,
}

/// Check a meeting link without creating a bot: which platform it is, or why it is not
/// one we can join (the same rules as `POST /api/bots`; the dashboard checks as you type).
#[utoipa::path(
    get, path = "/api/meeting-urls/parse", tag = "bots",
    params(ParseMeetingUrlQuery),
    responses((status = 200, body = ParsedMeetingUrl), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn parse_meeting_url(
    State(state): State<AppState>,
    _caller: Caller,
    ApiQuery(q): ApiQuery<ParseMeetingUrlQuery>,
) -> ApiResult<Json<ParsedMeetingUrl>> {
    let raw = q.url.unwrap_or_default();
    let test_origin = state.config.test_meetings.then_some(state.config.public_url.as_str());
    let parsed = meeboter_core::create_bot::resolve_meeting_url(&raw, test_origin).map_err(|(code, message)| {
        let mut errors = meeboter_core::ValidationErrors::default();
        errors.push("meetingUrl", code, message);
        ApiError::from(errors)
    })?;
    Ok(Json(ParsedMeetingUrl {
        platform: parsed.platform.into(),
        meeting_id: parsed.meeting_id,
        normalized_url: parsed.normalized,
    }))
}

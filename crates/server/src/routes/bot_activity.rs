//! What users do with a running bot: make it leave, read its events, participants and
//! chat, send chat, and follow it live.

use super::bots::{BotResource, load_resource, parse_id};
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::lifecycle::{self, TransitionOutcome};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use chrono::{DateTime, Utc};
use futures::Stream;
use meeboter_core::BotStatus;
use meeboter_core::lifecycle::sub_code;
use meeboter_db::bots::{self, BotRecord};
use meeboter_db::{AnyConnection, DbError, chat, events, participants};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

async fn own_bot(conn: &mut AnyConnection, caller: &Caller, raw_id: &str) -> ApiResult<BotRecord> {
    let id = parse_id(raw_id, "bot")?;
    bots::find(conn, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))
}

/// Make a bot leave.
///
/// A `SCHEDULED` or `QUEUED` bot is cancelled at once (`ENDED`/`cancelled`). A deployed
/// bot goes to `LEAVING` and learns it on its next heartbeat; if it has not ended 60 s
/// later it is stopped and set `ENDED`/`user_requested`. Asking again is harmless.
#[utoipa::path(post, path = "/api/bots/{id}/leave", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 202, body = BotResource), (status = 404, body = ErrorBody),
        (status = 409, description = "the bot has already ended", body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn leave(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<BotResource>)> {
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let bot = own_bot(&mut tx, &caller, &id).await?;
    let (to, code) = match bot.status {
        BotStatus::Scheduled | BotStatus::Queued => (BotStatus::Ended, sub_code::CANCELLED),
        BotStatus::Leaving => {
            let resource = load_resource(&mut tx, bot, &state.deployer).await?;
            return Ok((StatusCode::ACCEPTED, Json(resource)));
        }
        s if s.is_terminal() => {
            return Err(
                ApiError::conflict("bot_ended", format!("the bot has already ended ({s})"))
                    .with_details(json!({"status": s.as_str()})),
            );
        }
        _ => (BotStatus::Leaving, sub_code::USER_REQUESTED),
    };
    let outcome = lifecycle::transition(
        &mut tx,
        &bot.id,
        to,
        Some(code),
        Some("leave requested through the API"),
        now,
    )
    .await?
    .ok_or_else(|| ApiError::not_found("bot"))?;
    let updated = match outcome {
        TransitionOutcome::Applied(b) => *b,
        TransitionOutcome::Rejected { current } => {
            return Err(ApiError::conflict("status_conflict", format!("the bot is {current}"))
                .with_details(json!({"status": current.as_str()})));
        }
    };
    let resource = load_resource(&mut tx, updated, &state.deployer).await?;
    tx.commit().await.map_err(DbError::from)?;
    state.heartbeats.forget(&resource.id);
    tracing::info!(bot.id = %resource.id, status = %resource.status, "leave requested");
    Ok((StatusCode::ACCEPTED, Json(resource)))
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// `nextCursor` of the previous page (events after it).
    #[param(value_type = Option<String>, format = Uuid)]
    pub cursor: Option<String>,
    /// Comma-separated types: `status_change`, `status_rejected`, `participant_join`,
    /// `participant_leave`, `chat_received`, `active_speaker`, `log`, `leave_acknowledged`,
    /// `dialog_dismissed`, `page_snapshot`.
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// 1–500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventResource {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    #[schema(value_type = Object)]
    pub data: Value,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    pub events: Vec<EventResource>,
    /// Pass as `cursor` to continue; always set, so a client can poll for new events.
    pub next_cursor: Option<String>,
}

fn to_event(e: events::EventRecord) -> EventResource {
    EventResource {
        id: e.id,
        event_type: e.event_type,
        data: e.data,
        at: e.at,
    }
}

/// A bot's events, oldest first.
#[utoipa::path(get, path = "/api/bots/{id}/events", tag = "bots",
    params(("id" = String, Path), EventsQuery),
    responses((status = 200, body = EventList), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> ApiResult<Json<EventList>> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::invalid_field(
            "limit",
            "out_of_range",
            "limit must be between 1 and 500",
        ));
    }
    let cursor =
        match q.cursor {
            None => None,
            Some(c) => Some(uuid::Uuid::parse_str(&c).map(|u| u.to_string()).map_err(|_| {
                ApiError::invalid_field("cursor", "invalid_cursor", "cursor must come from nextCursor")
            })?),
        };
    let types: Vec<String> = q
        .event_type
        .map(|t| {
            t.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let bot = own_bot(&mut conn, &caller, &id).await?;
    let list = events::list(&mut conn, &bot.id, cursor.as_deref(), &types, limit).await?;
    let next_cursor = list.last().map(|e| e.id.clone()).or(cursor);
    Ok(Json(EventList {
        events: list.into_iter().map(to_event).collect(),
        next_cursor,
    }))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantResource {
    pub participant_id: String,
    pub name: String,
    pub is_bot: bool,
    pub joined_at: DateTime<Utc>,
    /// Null while the participant is in the meeting.
    pub left_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ParticipantList {
    pub participants: Vec<ParticipantResource>,
}

/// Everyone who was in the meeting, with join and leave times.
#[utoipa::path(get, path = "/api/bots/{id}/participants", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 200, body = ParticipantList), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_participants(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ParticipantList>> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let bot = own_bot(&mut conn, &caller, &id).await?;
    let list = participants::list(&mut conn, &bot.id).await?;
    Ok(Json(ParticipantList {
        participants: list
            .into_iter()
            .map(|p| ParticipantResource {
                participant_id: p.participant_id,
                name: p.name,
                is_bot: p.is_bot,
                joined_at: p.joined_at,
                left_at: p.left_at,
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"message": "Hello from Meeboter: this meeting is recorded."}))]
#[serde(deny_unknown_fields)]
pub struct SendChatRequest {
    /// 1–4096 characters, not blank.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub message: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessageResource {
    pub id: String,
    /// `outgoing` (sent through the API, posted by the bot) or `incoming` (written by someone
    /// in the meeting).
    pub direction: String,
    /// Who wrote an incoming message (`null` for outgoing ones: the bot).
    pub sender: Option<String>,
    pub text: String,
    /// Outgoing: `queued`, `sending`, `sent` or `failed`; incoming: `received`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

impl From<chat::ChatMessageRecord> for ChatMessageResource {
    fn from(m: chat::ChatMessageRecord) -> Self {
        Self {
            id: m.id,
            direction: "outgoing".into(),
            sender: None,
            text: m.text,
            status: m.status,
            error: m.error,
            created_at: m.created_at,
            done_at: m.done_at,
        }
    }
}

impl ChatMessageResource {
    /// A message someone wrote in the meeting (a `chat_received` event).
    fn incoming(e: events::EventRecord) -> Self {
        Self {
            id: e.id,
            direction: "incoming".into(),
            sender: e.data["sender"].as_str().map(str::to_string),
            text: e.data["text"].as_str().unwrap_or_default().to_string(),
            status: "received".into(),
            error: None,
            created_at: e.at,
            done_at: Some(e.at),
        }
    }
}

/// Most incoming messages listed with a bot's chat.
const INCOMING_CHAT_LIMIT: u32 = 1000;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChatList {
    pub messages: Vec<ChatMessageResource>,
}

/// Queue a chat message for the bot to post in the meeting.
#[utoipa::path(post, path = "/api/bots/{id}/chat", tag = "bots", request_body = SendChatRequest,
    params(("id" = String, Path)),
    responses((status = 202, body = ChatMessageResource), (status = 404, body = ErrorBody),
        (status = 409, description = "the bot has ended", body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn send_chat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: ApiJson<SendChatRequest>,
) -> ApiResult<(StatusCode, Json<ChatMessageResource>)> {
    let text = body.value.message;
    if text.trim().is_empty() || text.chars().count() > 4096 {
        return Err(ApiError::invalid_field(
            "message",
            "invalid_length",
            "message must be 1 to 4096 characters",
        ));
    }
    let mut tx = state.db.begin_write().await?;
    let bot = own_bot(&mut tx, &caller, &id).await?;
    if bot.status.is_terminal() {
        return Err(
            ApiError::conflict("bot_ended", format!("the bot has ended ({})", bot.status))
                .with_details(json!({"status": bot.status.as_str()})),
        );
    }
    let message = chat::enqueue(&mut tx, &bot.id, &text, state.now()).await?;
    // Other replicas' directories see the bot changed and wake its command request.
    bots::touch(&mut tx, &bot.id, state.now()).await?;
    tx.commit().await.map_err(DbError::from)?;
    state.heartbeats.forget(&bot.id);
    Ok((StatusCode::ACCEPTED, Json(message.into())))
}

/// The meeting's chat as the bot saw it: messages sent through the API (with delivery state)
/// and messages people wrote (up to 1000), oldest first, each with its `direction`.
#[utoipa::path(get, path = "/api/bots/{id}/chat", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 200, body = ChatList), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_chat(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<Json<ChatList>> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let bot = own_bot(&mut conn, &caller, &id).await?;
    let sent = chat::list(&mut conn, &bot.id).await?;
    let received = events::list(
        &mut conn,
        &bot.id,
        None,
        &["chat_received".to_string()],
        INCOMING_CHAT_LIMIT,
    )
    .await?;
    let mut messages: Vec<ChatMessageResource> = sent
        .into_iter()
        .map(Into::into)
        .chain(received.into_iter().map(ChatMessageResource::incoming))
        .collect();
    // Stable: at the same millisecond, what the API sent comes first.
    messages.sort_by_key(|m| m.created_at);
    Ok(Json(ChatList { messages }))
}

/// How often the live stream looks for new events. Reading the event table (not
/// in-process channels) makes the stream work whichever replica wrote the event.
const STREAM_POLL: Duration = Duration::from_millis(250);

/// Live Server-Sent Events of the bot's events (`event:` is the event type, `id:` its
/// id; reconnect with `Last-Event-ID` to resume). Ends after the bot has ended.
#[utoipa::path(get, path = "/api/bots/{id}/stream", tag = "bots",
    params(("id" = String, Path)),
    responses((status = 200, description = "Server-Sent Events: `event:` is the event type, `data:` the event as JSON", content_type = "text/event-stream", body = String), (status = 404, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn stream(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let bot_id = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        own_bot(&mut conn, &caller, &id).await?.id
    };
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
        .map(|u| u.to_string());
    let db = state.db.clone();
    let stream = futures::stream::unfold(
        (db, bot_id, resume, false),
        |(db, bot_id, mut cursor, finished)| async move {
            if finished {
                return None;
            }
            loop {
                let Ok(mut conn) = db.pool().acquire().await else {
                    tokio::time::sleep(STREAM_POLL).await;
                    continue;
                };
                let batch = events::list(&mut conn, &bot_id, cursor.as_deref(), &[], 100)
                    .await
                    .unwrap_or_default();
                if let Some(first) = batch.into_iter().next() {
                    cursor = Some(first.id.clone());
                    let event = Event::default()
                        .id(first.id.clone())
                        .event(first.event_type.clone())
                        .json_data(
                            json!({"id": first.id, "type": first.event_type, "data": first.data, "at": first.at}),
                        )
                        .unwrap_or_default();
                    return Some((Ok(event), (db, bot_id, cursor, false)));
                }
                let ended = bots::find_any(&mut conn, &bot_id)
                    .await
                    .ok()
                    .flatten()
                    .is_none_or(|b| b.status.is_terminal());
                drop(conn);
                if ended {
                    let done = Event::default().event("end").data("{}");
                    return Some((Ok(done), (db, bot_id, cursor, true)));
                }
                tokio::time::sleep(STREAM_POLL).await;
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// Live Server-Sent Events of every status change of your bots (`event: status`, `id:`
/// the change's id; reconnect with `Last-Event-ID` to resume). New bots show up with their
/// first status. The dashboard's bot table follows this; it reads the database, so it
/// works whichever replica wrote the change.
#[utoipa::path(get, path = "/api/bots/live", tag = "bots",
    responses((status = 200, description = "Server-Sent Events: `event:` is the event type, `data:` the event as JSON", content_type = "text/event-stream", body = String), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn live(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
) -> ApiResult<Sse<impl Stream<Item = Result<Event, std::convert::Infallible>>>> {
    let resume = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| uuid::Uuid::parse_str(v).ok())
        .map(|u| u.to_string());
    let cursor = match resume {
        Some(id) => Some(id),
        None => {
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            bots::account_latest_status_change(&mut conn, &caller.account_id).await?
        }
    };
    let db = state.db.clone();
    let account = caller.account_id;
    let stream = futures::stream::unfold(
        (db, account, cursor, std::collections::VecDeque::new()),
        |(db, account, mut cursor, mut pending)| async move {
            loop {
                if let Some(c) = pending.pop_front() {
                    let c: bots::AccountStatusChange = c;
                    let event = Event::default()
                        .id(c.id.clone())
                        .event("status")
                        .json_data(json!({
                            "botId": c.bot_id,
                            "status": c.change.status.as_str(),
                            "subCode": c.change.sub_code,
                            "message": c.change.message,
                            "at": c.change.at,
                        }))
                        .unwrap_or_default();
                    return Some((Ok(event), (db, account, cursor, pending)));
                }
                if let Ok(mut conn) = db.pool().acquire().await {
                    let batch = bots::account_status_changes_after(&mut conn, &account, cursor.as_deref(), 100)
                        .await
                        .unwrap_or_default();
                    if let Some(last) = batch.last() {
                        cursor = Some(last.id.clone());
                    }
                    pending.extend(batch);
                }
                if pending.is_empty() {
                    tokio::time::sleep(STREAM_POLL).await;
                }
            }
        },
    );
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

//! The bot control channel, `/api/bot/v1/…`: what a running bot calls.
//!
//! Authenticated by the bot's own token (`Authorization: Bearer mbb_…`, the bot's
//! `MILO_AUTH_TOKEN`), which identifies the bot — so paths carry no bot id and a bot can
//! only ever touch itself. v1 changes are additive only: new optional fields, new event
//! types; a bot built against an older v1 keeps working.

use crate::AppState;
use crate::bot_token::BOT_TOKEN_PREFIX;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use crate::lifecycle::{self, TransitionOutcome, event_type};
use crate::routes::bots::AutomaticLeaveResource;
use crate::transcription;
use axum::Json;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use meeboter_core::BotStatus;
use meeboter_core::api_key::hash_secret;
use meeboter_core::lifecycle::{bot_may_report, sub_code};
use meeboter_db::bots::{self, BotRecord};
use meeboter_db::{DbError, chat, events, participants};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;

/// The bot calling the control channel.
pub struct BotCaller(pub BotRecord);

/// The bot token from `Authorization: Bearer mbb_…`.
fn bearer(headers: &axum::http::HeaderMap) -> Result<&str, ApiError> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| ApiError::unauthorized("missing bot token: send `Authorization: Bearer <MILO_AUTH_TOKEN>`"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .unwrap_or("");
    if !token.starts_with(BOT_TOKEN_PREFIX) || token.len() > 100 {
        return Err(ApiError::unauthorized(
            "not a bot token; user API keys cannot call bot endpoints",
        ));
    }
    Ok(token)
}

async fn authenticate(parts: &Parts, state: &AppState) -> Result<BotRecord, ApiError> {
    let token = bearer(&parts.headers)?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    bots::find_by_token_hash(&mut conn, &hash_secret(token))
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid bot token"))
}

impl FromRequestParts<AppState> for BotCaller {
    type Rejection = ApiError;

    /// Refuses the token of a bot that has ended.
    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let bot = authenticate(parts, state).await?;
        if bot.status.is_terminal() {
            return Err(ApiError::unauthorized(format!("this bot has ended ({})", bot.status))
                .with_details(json!({"status": bot.status.as_str()})));
        }
        Ok(BotCaller(bot))
    }
}

/// Like [`BotCaller`] but also admits ended bots, so a late status report can be
/// recorded and answered with the final status.
pub struct AnyBotCaller(pub BotRecord);

/// A bot that has ended may still deliver for this long what it queued before the end (its
/// last events and log lines, chunks, its failure screenshot): its status reports are
/// ordered, the rest arrives after them.
pub const LATE_DELIVERY_GRACE: chrono::Duration = chrono::Duration::minutes(10);

/// The caller, if live or ended less than [`LATE_DELIVERY_GRACE`] ago.
pub fn recently_live(state: &AppState, AnyBotCaller(bot): AnyBotCaller) -> Result<BotRecord, ApiError> {
    if bot.status.is_terminal() && bot.status_at < state.now() - LATE_DELIVERY_GRACE {
        return Err(
            ApiError::unauthorized(format!("this bot ended ({}) too long ago", bot.status))
                .with_details(json!({"status": bot.status.as_str()})),
        );
    }
    Ok(bot)
}

impl FromRequestParts<AppState> for AnyBotCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        authenticate(parts, state).await.map(AnyBotCaller)
    }
}

/// Everything a bot needs to do its job.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BotConfig {
    pub bot_id: String,
    pub meeting_url: String,
    /// `google_meet`, `microsoft_teams` or `zoom`.
    pub platform: String,
    pub bot_name: String,
    pub recording_mode: String,
    pub automatic_leave: AutomaticLeaveResource,
    pub heartbeat_interval_secs: u64,
    /// The server declares a silent bot dead after this long; a bot that cannot reach the
    /// server for longer gives up too (the server has already written it off).
    pub heartbeat_timeout_secs: u64,
    pub status: String,
    /// Lower-case name fragments of other bots (`NOTETAKER_NAMES`): such participants do not
    /// count as people for the everyone-left and no-one-joined rules.
    pub notetaker_names: Vec<String>,
    /// How long the platform the bot runs on waits between asking it to stop (SIGTERM) and
    /// killing it: the bot may spend this much (less a margin) delivering its recording
    /// when storage is slow or down.
    pub stop_grace_secs: u64,
    /// The bot's transcription option (null: none). With `meeting_captions` the bot turns
    /// the client's captions on and reports `caption` events.
    pub transcription: Option<crate::routes::bots::TranscriptionResource>,
}

/// How long `platform` lets a stopping bot run before killing it: `LOCAL_STOP_GRACE_SECS`
/// for local processes; 30 s for Docker (the container's stop timeout), ECS (the default
/// `stopTimeout`) and Coolify.
pub fn stop_grace_secs(config: &crate::config::Config, platform: Option<&str>) -> u64 {
    match platform {
        Some("local") => config.local_stop_grace_secs,
        _ => 30,
    }
}

/// The bot's configuration.
#[utoipa::path(get, path = "/api/bot/v1/config", tag = "bot channel",
    responses((status = 200, body = BotConfig), (status = 401, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn config(State(state): State<AppState>, BotCaller(bot): BotCaller) -> Json<BotConfig> {
    let leave = bot.automatic_leave;
    Json(BotConfig {
        bot_id: bot.id,
        meeting_url: bot.meeting_url,
        platform: bot.platform.as_str().to_string(),
        bot_name: bot.bot_name,
        recording_mode: bot.recording_mode.as_str().to_string(),
        automatic_leave: AutomaticLeaveResource {
            waiting_room_timeout_secs: leave.waiting_room_timeout_secs,
            noone_joined_timeout_secs: leave.noone_joined_timeout_secs,
            everyone_left_timeout_secs: leave.everyone_left_timeout_secs,
            max_duration_secs: leave.max_duration_secs,
        },
        heartbeat_interval_secs: state.config.heartbeat_interval_secs,
        heartbeat_timeout_secs: state.config.heartbeat_timeout_secs,
        status: bot.status.as_str().to_string(),
        notetaker_names: state.config.notetaker_names.clone(),
        stop_grace_secs: stop_grace_secs(&state.config, bot.deployment_platform.as_deref()),
        transcription: bot.transcription.as_ref().map(Into::into),
    })
}

/// A status report from the bot.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    /// `JOINING_CALL`, `IN_WAITING_ROOM`, `IN_CALL`, `LEAVING`, `ENDED` or `FATAL`.
    pub status: String,
    /// Why (open vocabulary, `[a-z0-9_]{1,64}`), e.g. `meeting_ended`, `kicked`.
    pub sub_code: Option<String>,
    pub message: Option<String>,
    /// The bot's own clock, kept in the event for diagnosis; ordering uses server time.
    pub at: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct StatusAck {
    pub status: String,
}

/// Report a status change. A report that does not fit the state machine (late,
/// duplicated, out of order, or after the bot ended) is recorded and answered 409 with
/// the current status in `details.status`.
#[utoipa::path(post, path = "/api/bot/v1/status", tag = "bot channel", request_body = StatusReport,
    responses((status = 200, body = StatusAck), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
        (status = 401, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn report_status(
    State(state): State<AppState>,
    AnyBotCaller(bot): AnyBotCaller,
    body: ApiJson<StatusReport>,
) -> ApiResult<Json<StatusAck>> {
    let report = body.value;
    let mut errors = meeboter_core::ValidationErrors::default();
    let status = BotStatus::parse(&report.status);
    match status {
        Some(s) if bot_may_report(s) => {}
        _ => errors.push(
            "status",
            "invalid_value",
            "status must be JOINING_CALL, IN_WAITING_ROOM, IN_CALL, LEAVING, ENDED or FATAL",
        ),
    }
    if let Some(code) = &report.sub_code
        && !sub_code::is_valid(code)
    {
        errors.push(
            "subCode",
            "invalid_value",
            "subCode must be 1-64 characters of a-z, 0-9 and _",
        );
    }
    let message = report.message.as_deref().map(|m| truncate(m, 2000));
    let status = errors
        .into_result(status)
        .map_err(ApiError::from)?
        .unwrap_or(BotStatus::Fatal);
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    if status == BotStatus::Leaving && bot.status == BotStatus::Leaving {
        // The server set LEAVING (a user's leave, a timeout): the bot's own LEAVING is its
        // acknowledgement, recorded for the timeline, not a conflict.
        let data = json!({"subCode": report.sub_code, "message": message});
        events::insert(&mut tx, &bot.id, "leave_acknowledged", &data, now).await?;
        tx.commit().await.map_err(DbError::from)?;
        return Ok(Json(StatusAck {
            status: BotStatus::Leaving.as_str().to_string(),
        }));
    }
    let outcome = lifecycle::transition(
        &mut tx,
        &bot.id,
        status,
        report.sub_code.as_deref(),
        message.as_deref(),
        now,
    )
    .await?
    .ok_or_else(|| ApiError::unauthorized("invalid bot token"))?;
    tx.commit().await.map_err(DbError::from)?;
    state.heartbeats.forget(&bot.id);
    if status.is_terminal() {
        state.deployer.wake(); // capacity freed: drain the queue now, not on the next tick
    }
    match outcome {
        TransitionOutcome::Applied(updated) => {
            tracing::info!(bot.id = %bot.id, from = %bot.status, to = %updated.status, sub_code = report.sub_code.as_deref().unwrap_or(""), "bot status");
            Ok(Json(StatusAck {
                status: updated.status.as_str().to_string(),
            }))
        }
        TransitionOutcome::Rejected { current } => Err(ApiError::conflict(
            "status_conflict",
            format!("cannot go from {current} to {status}; the report was recorded"),
        )
        .with_details(json!({"status": current.as_str()}))),
    }
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

/// The control signal returned by every heartbeat.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatAnswer {
    /// True when the bot must leave the meeting now.
    pub leave: bool,
    /// Why (`user_requested`, `max_duration`, …) when `leave` is true.
    pub reason: Option<String>,
}

/// Heartbeat. Send every `heartbeatIntervalSecs`; the answer says whether to leave.
///
/// Answered from a per-replica cache at most one second old; the write is batched
/// (see `HeartbeatBatcher`).
#[utoipa::path(post, path = "/api/bot/v1/heartbeat", tag = "bot channel",
    responses((status = 200, body = HeartbeatAnswer), (status = 401, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn heartbeat(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Json<HeartbeatAnswer>> {
    let token = bearer(&headers)?;
    let beat = state
        .heartbeats
        .beat(&state.db, &hash_secret(token), state.now())
        .await?
        .ok_or_else(|| ApiError::unauthorized("invalid bot token"))?;
    crate::metrics::heartbeat_received();
    if beat.status.is_terminal() {
        return Err(ApiError::unauthorized(format!("this bot has ended ({})", beat.status))
            .with_details(json!({"status": beat.status.as_str()})));
    }
    Ok(Json(HeartbeatAnswer {
        leave: beat.leave_reason.is_some(),
        reason: beat.leave_reason,
    }))
}

/// Query of `GET /api/bot/v1/commands`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CommandsQuery {
    /// How long to hold the request open when there is nothing to do (0–30 s, default 25).
    pub wait_secs: Option<u64>,
}

/// What the bot must act on now.
#[derive(Debug, Serialize, Deserialize, ToSchema, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Commands {
    /// True when the bot must leave the meeting now.
    pub leave: bool,
    /// Why (`user_requested`, `max_duration`, …) when `leave` is true.
    pub reason: Option<String>,
    /// Chat messages are queued: claim them with `GET chat/next`.
    pub chat_pending: bool,
}

/// Longest hold of a commands request (below common proxies' 60 s idle timeouts).
pub const COMMANDS_MAX_WAIT_SECS: u64 = 30;

/// Wait for commands (long poll). Answers at once when the bot must leave or chat is
/// queued; otherwise holds the request up to `waitSecs` and answers as soon as a command
/// arrives (on this replica at once, from another replica within a second). A bot keeps
/// one such request open at all times; the heartbeat's `leave` stays the fallback.
#[utoipa::path(get, path = "/api/bot/v1/commands", tag = "bot channel", params(CommandsQuery),
    responses((status = 200, body = Commands), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn commands(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    crate::extract::ApiQuery(query): crate::extract::ApiQuery<CommandsQuery>,
) -> ApiResult<Json<Commands>> {
    let wait_secs = query.wait_secs.unwrap_or(25);
    if wait_secs > COMMANDS_MAX_WAIT_SECS {
        return Err(ApiError::invalid_field(
            "waitSecs",
            "out_of_range",
            format!("waitSecs must be 0-{COMMANDS_MAX_WAIT_SECS}"),
        ));
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(wait_secs);
    let waiter = state.heartbeats.bell().wait_for(&bot.id);
    loop {
        // Armed before looking, so a ring between the look and the wait is not lost.
        let rung = waiter.notify.notified();
        tokio::pin!(rung);
        rung.as_mut().enable();
        let pending = {
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            bots::pending_commands(&mut conn, &bot.id).await?
        }
        .ok_or_else(|| ApiError::unauthorized("invalid bot token"))?;
        if pending.status.is_terminal() {
            return Err(
                ApiError::unauthorized(format!("this bot has ended ({})", pending.status))
                    .with_details(json!({"status": pending.status.as_str()})),
            );
        }
        if pending.leave_reason.is_some() || pending.chat_pending {
            return Ok(Json(Commands {
                leave: pending.leave_reason.is_some(),
                reason: pending.leave_reason,
                chat_pending: pending.chat_pending,
            }));
        }
        if tokio::time::timeout_at(deadline, rung).await.is_err() {
            return Ok(Json(Commands {
                leave: false,
                reason: None,
                chat_pending: false,
            }));
        }
    }
}

/// One thing the bot observed.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BotEvent {
    ParticipantJoin {
        #[serde(rename = "participantId")]
        participant_id: String,
        name: String,
        #[serde(rename = "isBot", default)]
        is_bot: bool,
    },
    ParticipantLeave {
        #[serde(rename = "participantId")]
        participant_id: String,
        #[serde(default)]
        name: String,
        #[serde(rename = "isBot", default)]
        is_bot: bool,
    },
    ChatReceived {
        sender: String,
        text: String,
    },
    /// Who the client shows as speaking: `speaking` (default true) false when they stop;
    /// `at` epoch ms (default: when the server received it). The timeline attributes
    /// audio transcripts to speakers.
    ActiveSpeaker {
        #[serde(rename = "participantId")]
        participant_id: Option<String>,
        name: Option<String>,
        #[serde(default)]
        speaking: Option<bool>,
        #[serde(default)]
        at: Option<i64>,
    },
    /// A caption line of the client's live captions (`transcription.provider:
    /// meeting_captions`): sent again with the same `captionId` (≤ 100 chars, stable per
    /// line) while it grows (`isFinal: false`), then once final. Times are epoch ms.
    Caption {
        #[serde(rename = "captionId")]
        caption_id: String,
        #[serde(default)]
        speaker: Option<String>,
        #[serde(rename = "participantId", default)]
        participant_id: Option<String>,
        text: String,
        #[serde(rename = "isFinal", default)]
        is_final: bool,
        #[serde(rename = "startMs")]
        start_ms: i64,
        #[serde(rename = "endMs")]
        end_ms: i64,
    },
    /// When the recording's first audio sample was taken (`at`, epoch ms; ffmpeg's input
    /// start, 1–2 s after `IN_CALL`): the recording's time 0, which transcript times,
    /// `callMs` and the dashboard's seek are counted from. Only the first report counts.
    RecordingStarted {
        at: i64,
    },
    /// The client's captions cannot be used (host disabled them, no captions control).
    CaptionsUnavailable {
        #[serde(default)]
        reason: String,
    },
    Log {
        level: String,
        message: String,
    },
    /// The bot answered a dialog the client showed (`kind`: `recording_notice`,
    /// `media_permission`, `audio_video`, …) with `button`.
    DialogDismissed {
        dialog: String,
        #[serde(default)]
        button: String,
    },
    /// What the page was when the bot could not tell (`reason`: `unknown_screen`): URL,
    /// title, visible text and markup (truncated), for whoever debugs it.
    PageSnapshot {
        #[serde(default)]
        reason: String,
        #[serde(default)]
        url: String,
        #[serde(default)]
        title: String,
        #[serde(default)]
        text: String,
        #[serde(default)]
        html: String,
    },
}

/// How much of a page's markup a snapshot keeps.
pub const SNAPSHOT_HTML_MAX_CHARS: usize = 100_000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct EventBatch {
    /// At most 500 events.
    pub events: Vec<BotEvent>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventsAck {
    pub accepted: usize,
    /// Events not recorded: after the bot ended only its own diagnostics (`log`,
    /// `page_snapshot`) are taken, never anything users see or webhooks announce; and
    /// `caption`/`captions_unavailable` of a bot without a caption transcript, a caption
    /// with an empty or over-long `captionId`, a partial line after its final one, a line
    /// resent unchanged, or a `recording_started` after the first (or with an `at` before the
    /// bot existed or a minute ahead of the server's clock).
    #[serde(default)]
    pub ignored: usize,
}

impl BotEvent {
    /// Whether a bot that has already ended may still deliver this (late-delivery rule): its
    /// own log lines and page snapshots, which the outbox sends after the final status; every
    /// meeting observation was queued — and so sent — before that status.
    fn late_delivery_allowed(&self) -> bool {
        matches!(self, BotEvent::Log { .. } | BotEvent::PageSnapshot { .. })
    }
}

/// Report what happened in the meeting, in order.
#[utoipa::path(post, path = "/api/bot/v1/events", tag = "bot channel", request_body = EventBatch,
    responses((status = 200, body = EventsAck), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn report_events(
    State(state): State<AppState>,
    caller: AnyBotCaller,
    body: ApiJson<EventBatch>,
) -> ApiResult<Json<EventsAck>> {
    let mut bot = recently_live(&state, caller)?;
    let batch = body.value.events;
    if batch.len() > 500 {
        return Err(ApiError::invalid_field(
            "events",
            "too_many",
            "send at most 500 events per batch",
        ));
    }
    let now = state.now();
    let ended = bot.status.is_terminal();
    let mut ignored = 0;
    let mut tx = state.db.begin_write().await?;
    // The transcript's state, read once per batch when a caption comes.
    let mut transcript_state: Option<Option<String>> = None;
    for event in &batch {
        if ended && !event.late_delivery_allowed() {
            ignored += 1;
            continue;
        }
        match event {
            BotEvent::ParticipantJoin {
                participant_id,
                name,
                is_bot,
            } => {
                let (pid, name) = (truncate(participant_id, 200), truncate(name, 200));
                participants::joined(&mut tx, &bot.id, &pid, &name, *is_bot, now).await?;
                let data = json!({"participantId": pid, "name": name, "isBot": is_bot});
                events::insert(&mut tx, &bot.id, "participant_join", &data, now).await?;
                lifecycle::publish(&mut tx, &bot, event_type::PARTICIPANT_JOINED, with_bot(&bot, data), now).await?;
            }
            BotEvent::ParticipantLeave {
                participant_id,
                name,
                is_bot,
            } => {
                let (pid, name) = (truncate(participant_id, 200), truncate(name, 200));
                participants::left(&mut tx, &bot.id, &pid, &name, *is_bot, now).await?;
                let data = json!({"participantId": pid, "name": name, "isBot": is_bot});
                events::insert(&mut tx, &bot.id, "participant_leave", &data, now).await?;
                lifecycle::publish(&mut tx, &bot, event_type::PARTICIPANT_LEFT, with_bot(&bot, data), now).await?;
            }
            BotEvent::ChatReceived { sender, text } => {
                let data = json!({"sender": truncate(sender, 200), "text": truncate(text, 10_000)});
                events::insert(&mut tx, &bot.id, "chat_received", &data, now).await?;
                lifecycle::publish(&mut tx, &bot, event_type::CHAT_RECEIVED, with_bot(&bot, data), now).await?;
            }
            BotEvent::ActiveSpeaker {
                participant_id,
                name,
                speaking,
                at,
            } => {
                let at = at.unwrap_or_else(|| now.timestamp_millis());
                let data = json!({
                    "participantId": participant_id.as_deref().map(|p| truncate(p, 200)),
                    "name": name.as_deref().map(|n| truncate(n, 200)),
                    "speaking": speaking.unwrap_or(true),
                    "at": at,
                    "callMs": meeboter_core::transcription::call_offset_ms(at, transcription::call_start_ms(&bot)),
                });
                events::insert(&mut tx, &bot.id, "active_speaker", &data, now).await?;
            }
            BotEvent::Caption {
                caption_id,
                speaker,
                participant_id,
                text,
                is_final,
                start_ms,
                end_ms,
            } => {
                if transcript_state.is_none() {
                    let found = meeboter_db::transcripts::find(&mut tx, &bot.id).await?;
                    transcript_state = Some(found.map(|t| t.state));
                }
                let caption = transcription::Caption {
                    caption_id,
                    speaker: speaker.as_deref(),
                    participant_id: participant_id.as_deref(),
                    text,
                    is_final: *is_final,
                    start_epoch_ms: *start_ms,
                    end_epoch_ms: *end_ms,
                };
                let slot = transcript_state.get_or_insert(None);
                if !transcription::ingest_caption(&mut tx, &bot, slot, &caption, now).await? {
                    ignored += 1;
                }
            }
            BotEvent::RecordingStarted { at } => {
                if !transcription::recording_started(&mut tx, &mut bot, *at, now).await? {
                    ignored += 1;
                }
            }
            BotEvent::CaptionsUnavailable { reason } => {
                let audio =
                    state.config.transcription.openai.is_some() || state.config.transcription.deepgram.is_some();
                if !transcription::captions_unavailable(&mut tx, &bot, reason, audio, now).await? {
                    ignored += 1;
                }
            }
            BotEvent::Log { level, message } => {
                let data = json!({"level": truncate(level, 16), "message": truncate(message, 4000)});
                events::insert(&mut tx, &bot.id, "log", &data, now).await?;
            }
            BotEvent::DialogDismissed { dialog, button } => {
                let data = json!({"dialog": truncate(dialog, 64), "button": truncate(button, 200)});
                events::insert(&mut tx, &bot.id, "dialog_dismissed", &data, now).await?;
            }
            BotEvent::PageSnapshot {
                reason,
                url,
                title,
                text,
                html,
            } => {
                let data = json!({
                    "reason": truncate(reason, 64),
                    "url": truncate(url, 2000),
                    "title": truncate(title, 500),
                    "text": truncate(text, 4000),
                    "html": truncate(html, SNAPSHOT_HTML_MAX_CHARS),
                });
                events::insert(&mut tx, &bot.id, "page_snapshot", &data, now).await?;
            }
        }
    }
    tx.commit().await.map_err(DbError::from)?;
    if ignored > 0 {
        tracing::warn!(bot.id = %bot.id, ignored, status = %bot.status, "events not recorded (after the bot ended, or captions without a caption transcript)");
    }
    Ok(Json(EventsAck {
        accepted: batch.len() - ignored,
        ignored,
    }))
}

fn with_bot(bot: &BotRecord, mut data: Value) -> Value {
    data["botId"] = json!(bot.id);
    data["metadata"] = Value::Object(bot.metadata.clone());
    data
}

/// A chat message for the bot to post.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChatToSend {
    pub id: String,
    pub text: String,
}

/// Claim the oldest queued chat message (204 when there is none). The bot then posts
/// it and reports the result.
#[utoipa::path(get, path = "/api/bot/v1/chat/next", tag = "bot channel",
    responses((status = 200, body = ChatToSend), (status = 204, description = "nothing queued"), (status = 401, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn next_chat(State(state): State<AppState>, BotCaller(bot): BotCaller) -> ApiResult<Response> {
    let mut tx = state.db.begin_write().await?;
    let claimed = chat::claim_next(&mut tx, state.db.backend(), &bot.id, state.now()).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(match claimed {
        Some(m) => Json(ChatToSend { id: m.id, text: m.text }).into_response(),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ChatResult {
    /// `sent` or `failed`.
    pub status: String,
    pub error: Option<String>,
}

/// Report whether a claimed chat message was posted.
#[utoipa::path(post, path = "/api/bot/v1/chat/{messageId}/result", tag = "bot channel", request_body = ChatResult,
    params(("messageId" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("botToken" = [])))]
pub async fn chat_result(
    State(state): State<AppState>,
    BotCaller(bot): BotCaller,
    Path(message_id): Path<String>,
    body: ApiJson<ChatResult>,
) -> ApiResult<StatusCode> {
    let sent = match body.value.status.as_str() {
        "sent" => true,
        "failed" => false,
        _ => {
            return Err(ApiError::invalid_field(
                "status",
                "invalid_value",
                "status must be sent or failed",
            ));
        }
    };
    let error = body.value.error.as_deref().map(|e| truncate(e, 2000));
    let mut tx = state.db.begin_write().await?;
    if !chat::set_result(&mut tx, &bot.id, &message_id, sent, error.as_deref(), state.now()).await? {
        return Err(ApiError::not_found("claimed chat message"));
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

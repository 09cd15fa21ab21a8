//! `GET /api/bots/{id}/transcript`: the transcript as JSON pages or txt/srt/vtt.

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiQuery;
use crate::routes::bots::parse_id;
use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use meeboter_core::transcription::{Line, to_srt, to_txt, to_vtt};
use meeboter_db::{DbError, bots, transcripts};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Query of `GET /api/bots/{id}/transcript`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TranscriptQuery {
    /// `json` (default, paged), `txt` (`[hh:mm:ss] Speaker: text`), `srt` or `vtt`; the
    /// text formats hold every final utterance and ignore `cursor`/`limit`.
    #[param(value_type = Option<crate::routes::wire::TranscriptFormatWire>)]
    pub format: Option<String>,
    /// `nextCursor` of the previous page (json).
    #[param(value_type = Option<String>, format = Uuid)]
    pub cursor: Option<String>,
    /// Utterances per page, 1–1000 (default 200).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
}

/// One utterance. Times are milliseconds from the bot's `IN_CALL` (the recording's 0).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UtteranceResource {
    pub id: String,
    /// Display name of who spoke; null when unknown.
    pub speaker: Option<String>,
    pub participant_id: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: String,
    /// False while a caption line is still growing.
    pub is_final: bool,
    /// `meeting_captions`, `openai` or `deepgram`.
    pub source: String,
    /// The caption line's id (captions only).
    pub caption_id: Option<String>,
}

/// A bot's transcript.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TranscriptResource {
    /// `none` (no transcript, or nothing yet), `live` (captions arriving), `processing`
    /// (an audio provider is working after the call), `ready` or `failed`.
    pub state: String,
    /// The requested provider; null when the bot makes no transcript.
    pub provider: Option<String>,
    /// Where the utterances come from (differs from `provider` after a fallback).
    pub source: Option<String>,
    /// Why it failed, or a note (e.g. captions were unavailable).
    pub error: Option<String>,
    /// Share (0–1) of words given a speaker by the active-speaker timeline (audio providers).
    pub attributed_share: Option<f64>,
    pub utterances: Vec<UtteranceResource>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

fn resource(u: transcripts::UtteranceRecord) -> UtteranceResource {
    UtteranceResource {
        id: u.id,
        speaker: u.speaker,
        participant_id: u.participant_id,
        start_ms: u.start_ms,
        end_ms: u.end_ms,
        text: u.text,
        is_final: u.is_final,
        source: u.source,
        caption_id: u.caption_id,
    }
}

/// Most utterances one text-format response holds.
const TEXT_FORMAT_MAX: u32 = 100_000;

/// Get a bot's transcript.
#[utoipa::path(get, path = "/api/bots/{id}/transcript", tag = "bots",
    params(("id" = String, Path, description = "bot id"), TranscriptQuery),
    responses(
        (status = 200, description = "JSON page, or text/plain (txt), application/x-subrip (srt), text/vtt (vtt)",
            content((TranscriptResource = "application/json"), (String = "text/plain"), (String = "application/x-subrip"), (String = "text/vtt"))),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn get_transcript(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<TranscriptQuery>,
) -> ApiResult<Response> {
    let id = parse_id(&id, "bot")?;
    let mut errors = meeboter_core::ValidationErrors::default();
    let format = q.format.as_deref().unwrap_or("json");
    if !matches!(format, "json" | "txt" | "srt" | "vtt") {
        errors.push("format", "invalid_value", "format must be json, txt, srt or vtt");
    }
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        errors.push("limit", "out_of_range", "limit must be between 1 and 1000");
    }
    let cursor = match q.cursor.as_deref().map(uuid::Uuid::parse_str) {
        None => None,
        Some(Ok(u)) => Some(u.to_string()),
        Some(Err(_)) => {
            errors.push(
                "cursor",
                "invalid_cursor",
                "cursor must be a nextCursor value from a previous page",
            );
            None
        }
    };
    errors.into_result(()).map_err(ApiError::from)?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let bot = bots::find(&mut conn, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("bot"))?;
    let record = transcripts::find(&mut conn, &bot.id).await?;
    if format != "json" {
        let rows = transcripts::list(&mut conn, &bot.id, None, TEXT_FORMAT_MAX).await?;
        let lines: Vec<Line<'_>> = rows
            .iter()
            .filter(|u| u.is_final)
            .map(|u| Line {
                speaker: u.speaker.as_deref(),
                start_ms: u.start_ms,
                end_ms: u.end_ms,
                text: &u.text,
            })
            .collect();
        let (body, content_type) = match format {
            "txt" => (to_txt(&lines), "text/plain; charset=utf-8"),
            "srt" => (to_srt(&lines), "application/x-subrip; charset=utf-8"),
            _ => (to_vtt(&lines), "text/vtt; charset=utf-8"),
        };
        return Ok(([(CONTENT_TYPE, content_type)], body).into_response());
    }
    let mut rows = transcripts::list(&mut conn, &bot.id, cursor.as_deref(), limit + 1).await?;
    let next_cursor = if rows.len() > limit as usize {
        rows.truncate(limit as usize);
        rows.last().map(|u| u.id.clone())
    } else {
        None
    };
    let body = TranscriptResource {
        state: record.as_ref().map_or("none".into(), |t| t.state.clone()),
        provider: record.as_ref().map(|t| t.provider.clone()),
        source: record.as_ref().and_then(|t| t.source.clone()),
        error: record.as_ref().and_then(|t| t.error.clone()),
        attributed_share: record
            .as_ref()
            .and_then(|t| t.attributed_permille)
            .map(|p| p as f64 / 1000.0),
        utterances: rows.into_iter().map(resource).collect(),
        next_cursor,
    };
    Ok(axum::Json(body).into_response())
}

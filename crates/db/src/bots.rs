//! Bots and their status history.

use crate::{AnyConnection, DbError, DbResult, from_millis, placeholders, to_millis};
use chrono::{DateTime, Utc};
use meeboter_core::create_bot::NewBot;
use meeboter_core::{AutomaticLeave, BotStatus, MeetingPlatform, RecordingMode};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::HashMap;

/// A bot as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct BotRecord {
    pub id: String,
    pub account_id: String,
    pub meeting_url: String,
    pub meeting_id: String,
    pub platform: MeetingPlatform,
    pub bot_name: String,
    pub recording_mode: RecordingMode,
    pub status: BotStatus,
    pub join_at: Option<DateTime<Utc>>,
    pub automatic_leave: AutomaticLeave,
    pub webhook_url: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub deduplication_key: Option<String>,
    pub deployment_platform: Option<String>,
    pub deployment_identifier: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    /// When the current status was entered.
    pub status_at: DateTime<Utc>,
    pub deployment_started_at: Option<DateTime<Utc>>,
    pub last_heartbeat_at: Option<DateTime<Utc>>,
    pub in_call_at: Option<DateTime<Utc>>,
    /// The recording's time 0: when the capture took its first audio sample (reported by
    /// the bot; `None` for bots that do not, or before it is known). Transcript times are
    /// counted from it rather than from `in_call_at`, which is 1–2 s earlier.
    pub capture_started_at: Option<DateTime<Utc>>,
    /// Set when the bot has been told to leave (user request, max duration).
    pub leave_requested_at: Option<DateTime<Utc>>,
    /// The sub code to end with if the bot does not leave by itself in time.
    pub leave_reason: Option<String>,
    /// Higher goes first in the deployment queue.
    pub priority: i64,
    /// When the bot first entered the queue (its place in line).
    pub queued_at: Option<DateTime<Utc>>,
    pub deploy_attempts: i64,
    /// The transcription option (`None`: no transcript).
    pub transcription: Option<meeboter_core::transcription::Transcription>,
}

/// One entry of a bot's status history.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChangeRecord {
    pub status: BotStatus,
    pub sub_code: Option<String>,
    pub message: Option<String>,
    pub at: DateTime<Utc>,
}

const COLUMNS: &str = "id, account_id, meeting_url, meeting_id, platform, bot_name, recording_mode, status, join_at, \
    waiting_room_timeout_secs, noone_joined_timeout_secs, everyone_left_timeout_secs, max_duration_secs, \
    webhook_url, metadata, deduplication_key, deployment_platform, deployment_identifier, created_at, updated_at, ended_at, \
    status_at, deployment_started_at, last_heartbeat_at, in_call_at, leave_requested_at, leave_reason, \
    priority, queued_at, deploy_attempts, transcription, capture_started_at";

fn corrupt(what: &str, value: &str) -> DbError {
    DbError::Corrupt(format!("{what} `{value}`"))
}

fn secs(row: &AnyRow, col: &str) -> u32 {
    u32::try_from(row.get::<i64, _>(col)).unwrap_or(0)
}

fn from_row(row: &AnyRow) -> DbResult<BotRecord> {
    let platform: String = row.get("platform");
    let mode: String = row.get("recording_mode");
    let status: String = row.get("status");
    let metadata: String = row.get("metadata");
    Ok(BotRecord {
        id: row.get("id"),
        account_id: row.get("account_id"),
        meeting_url: row.get("meeting_url"),
        meeting_id: row.get("meeting_id"),
        platform: MeetingPlatform::parse(&platform).ok_or_else(|| corrupt("platform", &platform))?,
        bot_name: row.get("bot_name"),
        recording_mode: RecordingMode::parse(&mode).ok_or_else(|| corrupt("recording mode", &mode))?,
        status: BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        join_at: row.get::<Option<i64>, _>("join_at").map(from_millis),
        automatic_leave: AutomaticLeave {
            waiting_room_timeout_secs: secs(row, "waiting_room_timeout_secs"),
            noone_joined_timeout_secs: secs(row, "noone_joined_timeout_secs"),
            everyone_left_timeout_secs: secs(row, "everyone_left_timeout_secs"),
            max_duration_secs: secs(row, "max_duration_secs"),
        },
        webhook_url: row.get("webhook_url"),
        metadata: serde_json::from_str(&metadata).map_err(|_| corrupt("metadata", &metadata))?,
        deduplication_key: row.get("deduplication_key"),
        deployment_platform: row.get("deployment_platform"),
        deployment_identifier: row.get("deployment_identifier"),
        created_at: from_millis(row.get("created_at")),
        updated_at: from_millis(row.get("updated_at")),
        ended_at: opt_time(row, "ended_at"),
        status_at: from_millis(row.get::<Option<i64>, _>("status_at").unwrap_or_default()),
        deployment_started_at: opt_time(row, "deployment_started_at"),
        last_heartbeat_at: opt_time(row, "last_heartbeat_at"),
        in_call_at: opt_time(row, "in_call_at"),
        capture_started_at: opt_time(row, "capture_started_at"),
        leave_requested_at: opt_time(row, "leave_requested_at"),
        leave_reason: row.get("leave_reason"),
        priority: row.get("priority"),
        queued_at: opt_time(row, "queued_at"),
        deploy_attempts: row.get("deploy_attempts"),
        transcription: crate::transcripts::parse_option(row.get::<Option<String>, _>("transcription").as_deref()),
    })
}

fn opt_time(row: &AnyRow, col: &str) -> Option<DateTime<Utc>> {
    row.get::<Option<i64>, _>(col).map(from_millis)
}

/// Records the recording's time 0 (`capture_started_at`, epoch ms) unless one is already
/// known: the first report wins, so a resent event or a later capture part cannot move
/// the clock under stored transcript lines. True when it was set now.
pub async fn set_capture_started(conn: &mut AnyConnection, id: &str, at_ms: i64) -> DbResult<bool> {
    let done = sqlx::query("UPDATE bots SET capture_started_at = $1 WHERE id = $2 AND capture_started_at IS NULL")
        .bind(at_ms)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Stores a new bot with its first status change. Fails with a unique violation on
/// `bots_active_dedup_key` if a live bot already holds the deduplication key.
pub async fn insert(
    conn: &mut AnyConnection,
    account_id: &str,
    bot: &NewBot,
    status: BotStatus,
    now: DateTime<Utc>,
) -> DbResult<(BotRecord, StatusChangeRecord)> {
    let id = meeboter_core::new_id().to_string();
    let leave = bot.automatic_leave;
    let metadata = serde_json::to_string(&bot.metadata).map_err(|e| DbError::Corrupt(e.to_string()))?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO bots ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, NULL, NULL, $17, $17, NULL, \
         $17, NULL, NULL, NULL, NULL, NULL, $18, $19, 0, $20, NULL)"
    )))
    .bind(&id)
    .bind(account_id)
    .bind(&bot.meeting.normalized)
    .bind(&bot.meeting.meeting_id)
    .bind(bot.meeting.platform.as_str())
    .bind(&bot.bot_name)
    .bind(bot.recording_mode.as_str())
    .bind(status.as_str())
    .bind(bot.join_at.map(to_millis))
    .bind(i64::from(leave.waiting_room_timeout_secs))
    .bind(i64::from(leave.noone_joined_timeout_secs))
    .bind(i64::from(leave.everyone_left_timeout_secs))
    .bind(i64::from(leave.max_duration_secs))
    .bind(&bot.webhook_url)
    .bind(&metadata)
    .bind(&bot.deduplication_key)
    .bind(to_millis(now))
    .bind(bot.priority)
    .bind((status == BotStatus::Queued).then(|| to_millis(now)))
    .bind(bot.transcription.as_ref().map(crate::transcripts::option_json))
    .execute(&mut *conn)
    .await?;
    if let Some(t) = &bot.transcription {
        crate::transcripts::create(conn, &id, t, now).await?;
    }
    let change = StatusChangeRecord {
        status,
        sub_code: None,
        message: None,
        at: now,
    };
    insert_status_change(conn, &id, &change).await?;
    let record = BotRecord {
        id,
        account_id: account_id.to_string(),
        meeting_url: bot.meeting.normalized.clone(),
        meeting_id: bot.meeting.meeting_id.clone(),
        platform: bot.meeting.platform,
        bot_name: bot.bot_name.clone(),
        recording_mode: bot.recording_mode,
        status,
        join_at: bot.join_at,
        automatic_leave: leave,
        webhook_url: bot.webhook_url.clone(),
        metadata: bot.metadata.clone(),
        deduplication_key: bot.deduplication_key.clone(),
        deployment_platform: None,
        deployment_identifier: None,
        created_at: now,
        updated_at: now,
        ended_at: None,
        status_at: now,
        deployment_started_at: None,
        last_heartbeat_at: None,
        in_call_at: None,
        capture_started_at: None,
        leave_requested_at: None,
        leave_reason: None,
        priority: bot.priority,
        queued_at: (status == BotStatus::Queued).then_some(now),
        deploy_attempts: 0,
        transcription: bot.transcription.clone(),
    };
    Ok((record, change))
}

pub async fn insert_status_change(conn: &mut AnyConnection, bot_id: &str, change: &StatusChangeRecord) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO bot_status_changes (id, bot_id, status, sub_code, message, at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(meeboter_core::new_id().to_string())
    .bind(bot_id)
    .bind(change.status.as_str())
    .bind(&change.sub_code)
    .bind(&change.message)
    .bind(to_millis(change.at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A bot of `account_id`; another account's bot is simply not found.
pub async fn find(conn: &mut AnyConnection, account_id: &str, id: &str) -> DbResult<Option<BotRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bots WHERE id = $1 AND account_id = $2"
    )))
    .bind(id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The live (non-terminal) bot holding a deduplication key, if any.
pub async fn find_active_by_dedup_key(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
) -> DbResult<Option<BotRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bots WHERE account_id = $1 AND deduplication_key = $2 AND status NOT IN ('ENDED', 'FATAL')"
    )))
    .bind(account_id)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Filters for [`list`].
#[derive(Debug, Clone, Default)]
pub struct BotFilter {
    pub statuses: Vec<BotStatus>,
    pub platform: Option<MeetingPlatform>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the bot's name or meeting URL.
    pub search: Option<String>,
    /// Only bots older than this id (the previous page's last id).
    pub before_id: Option<String>,
}

/// `%text%` for LIKE, lower-cased, with LIKE's wildcards in `text` escaped (`\\`).
fn like_pattern(text: &str) -> String {
    let mut out = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// One page of an account's bots, newest first, plus whether more follow.
pub async fn list(
    conn: &mut AnyConnection,
    account_id: &str,
    filter: &BotFilter,
    limit: u32,
) -> DbResult<(Vec<BotRecord>, bool)> {
    let mut sql = format!("SELECT {COLUMNS} FROM bots WHERE account_id = $1");
    let mut n = 2;
    if !filter.statuses.is_empty() {
        sql.push_str(&format!(" AND status IN ({})", placeholders(n, filter.statuses.len())));
        n += filter.statuses.len();
    }
    if filter.platform.is_some() {
        sql.push_str(&format!(" AND platform = ${n}"));
        n += 1;
    }
    if filter.created_after.is_some() {
        sql.push_str(&format!(" AND created_at > ${n}"));
        n += 1;
    }
    if filter.created_before.is_some() {
        sql.push_str(&format!(" AND created_at < ${n}"));
        n += 1;
    }
    if filter.search.is_some() {
        sql.push_str(&format!(
            " AND (LOWER(bot_name) LIKE ${n} ESCAPE '\\' OR LOWER(meeting_url) LIKE ${n} ESCAPE '\\')"
        ));
        n += 1;
    }
    if filter.before_id.is_some() {
        sql.push_str(&format!(" AND id < ${n}"));
        n += 1;
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT ${n}"));

    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id);
    for s in &filter.statuses {
        query = query.bind(s.as_str());
    }
    if let Some(p) = filter.platform {
        query = query.bind(p.as_str());
    }
    if let Some(t) = filter.created_after {
        query = query.bind(to_millis(t));
    }
    if let Some(t) = filter.created_before {
        query = query.bind(to_millis(t));
    }
    if let Some(text) = &filter.search {
        query = query.bind(like_pattern(text));
    }
    if let Some(id) = &filter.before_id {
        query = query.bind(id.clone());
    }
    query = query.bind(i64::from(limit) + 1);
    let rows = query.fetch_all(&mut *conn).await?;
    let mut bots = rows.iter().map(from_row).collect::<DbResult<Vec<_>>>()?;
    let has_more = bots.len() > limit as usize;
    bots.truncate(limit as usize);
    Ok((bots, has_more))
}

/// Status histories of several bots at once (one query for a whole page), oldest first.
pub async fn status_changes(
    conn: &mut AnyConnection,
    bot_ids: &[&str],
) -> DbResult<HashMap<String, Vec<StatusChangeRecord>>> {
    let mut out: HashMap<String, Vec<StatusChangeRecord>> = HashMap::new();
    if bot_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT bot_id, status, sub_code, message, at FROM bot_status_changes WHERE bot_id IN ({}) ORDER BY bot_id, id",
        placeholders(1, bot_ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in bot_ids {
        query = query.bind(*id);
    }
    for row in query.fetch_all(&mut *conn).await? {
        let status: String = row.get("status");
        out.entry(row.get("bot_id")).or_default().push(StatusChangeRecord {
            status: BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            sub_code: row.get("sub_code"),
            message: row.get("message"),
            at: from_millis(row.get("at")),
        });
    }
    Ok(out)
}

/// One status change of one of an account's bots, for the account-wide live feed.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountStatusChange {
    /// Time-ordered id (UUIDv7); the feed's cursor.
    pub id: String,
    pub bot_id: String,
    pub change: StatusChangeRecord,
}

/// An account's status changes after `after_id` (all when `None`), oldest first.
pub async fn account_status_changes_after(
    conn: &mut AnyConnection,
    account_id: &str,
    after_id: Option<&str>,
    limit: u32,
) -> DbResult<Vec<AccountStatusChange>> {
    let rows = sqlx::query(
        "SELECT c.id, c.bot_id, c.status, c.sub_code, c.message, c.at FROM bot_status_changes c
         JOIN bots b ON b.id = c.bot_id
         WHERE b.account_id = $1 AND c.id > $2 ORDER BY c.id LIMIT $3",
    )
    .bind(account_id)
    .bind(after_id.unwrap_or(""))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let status: String = row.get("status");
            Ok(AccountStatusChange {
                id: row.get("id"),
                bot_id: row.get("bot_id"),
                change: StatusChangeRecord {
                    status: BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                    sub_code: row.get("sub_code"),
                    message: row.get("message"),
                    at: from_millis(row.get("at")),
                },
            })
        })
        .collect()
}

/// The id of an account's newest status change, where a live feed starts.
pub async fn account_latest_status_change(conn: &mut AnyConnection, account_id: &str) -> DbResult<Option<String>> {
    let row = sqlx::query(
        "SELECT MAX(c.id) AS id FROM bot_status_changes c JOIN bots b ON b.id = c.bot_id WHERE b.account_id = $1",
    )
    .bind(account_id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<Option<String>, _>("id"))
}

/// Deletes a bot and (by cascade) everything recorded about it. Returns whether it existed.
pub async fn delete(conn: &mut AnyConnection, account_id: &str, id: &str) -> DbResult<bool> {
    let result = sqlx::query("DELETE FROM bots WHERE id = $1 AND account_id = $2")
        .bind(id)
        .bind(account_id)
        .execute(&mut *conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// Deletes a bot and returns what it was running on, read under the delete's own row lock:
/// `(status, deployment_platform, deployment_identifier)`. A launch recording its
/// identifier at the same moment either commits first (and the delete sees it) or finds
/// the bot gone (and releases the instance itself). `None` if there was no such bot.
pub async fn delete_returning(
    conn: &mut AnyConnection,
    account_id: &str,
    id: &str,
) -> DbResult<Option<(BotStatus, Option<String>, Option<String>)>> {
    let row = sqlx::query(
        "DELETE FROM bots WHERE id = $1 AND account_id = $2
         RETURNING status, deployment_platform, deployment_identifier",
    )
    .bind(id)
    .bind(account_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let status: String = r.get(0);
        Ok((
            BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            r.get(1),
            r.get(2),
        ))
    })
    .transpose()
}

/// A bot by id alone, for the control plane's own work (workers, bot channel).
pub async fn find_any(conn: &mut AnyConnection, id: &str) -> DbResult<Option<BotRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM bots WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// The bot whose control-channel token hashes to `token_hash`.
pub async fn find_by_token_hash(conn: &mut AnyConnection, token_hash: &str) -> DbResult<Option<BotRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bots WHERE bot_token_hash = $1"
    )))
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Stores the hash of the bot's control-channel token (replacing any earlier one).
pub async fn set_token_hash(conn: &mut AnyConnection, id: &str, token_hash: &str, now: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE bots SET bot_token_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(token_hash)
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What a status change writes besides the status itself.
#[derive(Debug, Clone, Default)]
pub struct StatusWrite {
    pub deployment_started: bool,
    pub in_call: bool,
    pub terminal: bool,
    /// Set (or keep) the leave request with this reason.
    pub leave_reason: Option<String>,
}

/// Compare-and-set of a bot's status: succeeds only if the bot is still `from`.
/// Returns whether the row changed.
pub async fn set_status(
    conn: &mut AnyConnection,
    id: &str,
    from: BotStatus,
    to: BotStatus,
    write: &StatusWrite,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let result = sqlx::query(
        "UPDATE bots SET status = $1, status_at = $2, updated_at = $2,
             ended_at = CASE WHEN $3 = 1 THEN $2 ELSE ended_at END,
             deployment_started_at = CASE WHEN $4 = 1 THEN $2 ELSE deployment_started_at END,
             in_call_at = CASE WHEN $5 = 1 THEN $2 ELSE in_call_at END,
             leave_requested_at = CASE WHEN $6 IS NOT NULL AND leave_requested_at IS NULL THEN $2 ELSE leave_requested_at END,
             leave_reason = COALESCE(leave_reason, $6),
             queued_at = CASE WHEN $1 = 'QUEUED' AND queued_at IS NULL THEN $2 ELSE queued_at END
         WHERE id = $7 AND status = $8",
    )
    .bind(to.as_str())
    .bind(to_millis(now))
    .bind(i64::from(write.terminal))
    .bind(i64::from(write.deployment_started))
    .bind(i64::from(write.in_call))
    .bind(write.leave_reason.clone())
    .bind(id)
    .bind(from.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Asks a live bot to leave without changing its status (e.g. max duration reached).
pub async fn request_leave(conn: &mut AnyConnection, id: &str, reason: &str, now: DateTime<Utc>) -> DbResult<bool> {
    let result = sqlx::query(
        "UPDATE bots SET leave_requested_at = $1, leave_reason = $2, updated_at = $1
         WHERE id = $3 AND leave_requested_at IS NULL AND status NOT IN ('ENDED', 'FATAL')",
    )
    .bind(to_millis(now))
    .bind(reason)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks a bot changed (`updated_at`) without changing anything else, so other replicas'
/// directory refreshes see it: queued chat is a command the bot must hear of at once.
pub async fn touch(conn: &mut AnyConnection, id: &str, now: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE bots SET updated_at = $1 WHERE id = $2")
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// What a bot must act on now (the control channel's `commands`).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingCommands {
    pub status: BotStatus,
    /// Set when the bot has been told to leave (or is `LEAVING`).
    pub leave_reason: Option<String>,
    /// Chat messages wait to be claimed.
    pub chat_pending: bool,
}

/// Reads a bot's pending commands in one statement; `None` if the bot no longer exists.
pub async fn pending_commands(conn: &mut AnyConnection, id: &str) -> DbResult<Option<PendingCommands>> {
    let row = sqlx::query(
        "SELECT status, leave_requested_at, leave_reason,
                (SELECT COUNT(*) FROM chat_messages c WHERE c.bot_id = b.id AND c.status = 'queued')
         FROM bots b WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let status: String = r.get(0);
        let status = BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
        let requested = r.get::<Option<i64>, _>(1).is_some();
        Ok(PendingCommands {
            status,
            leave_reason: meeboter_core::bot::leave_instruction(status, requested, r.get(2)),
            chat_pending: r.get::<i64, _>(3) > 0,
        })
    })
    .transpose()
}

/// What a heartbeat learns: the bot's status and whether it has been told to leave.
#[derive(Debug, Clone, PartialEq)]
pub struct HeartbeatAnswer {
    pub status: BotStatus,
    pub leave_reason: Option<String>,
}

/// Records a heartbeat; `None` if the bot no longer exists.
pub async fn heartbeat(conn: &mut AnyConnection, id: &str, now: DateTime<Utc>) -> DbResult<Option<HeartbeatAnswer>> {
    let row = sqlx::query(
        "UPDATE bots SET last_heartbeat_at = $1 WHERE id = $2 RETURNING status, leave_requested_at, leave_reason",
    )
    .bind(to_millis(now))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        let status: String = r.get(0);
        let status = BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?;
        Ok(HeartbeatAnswer {
            status,
            leave_reason: meeboter_core::bot::leave_instruction(status, r.get::<Option<i64>, _>(1).is_some(), r.get(2)),
        })
    })
    .transpose()
}

/// Records many heartbeats in one statement (the heartbeat batcher's flush).
pub async fn heartbeat_many(conn: &mut AnyConnection, beats: &[(String, DateTime<Utc>)]) -> DbResult<u64> {
    let mut total = 0;
    for chunk in beats.chunks(500) {
        let mut sql = String::from("UPDATE bots SET last_heartbeat_at = CASE id");
        let mut n = 1;
        for _ in chunk {
            sql.push_str(&format!(" WHEN ${n} THEN ${}", n + 1));
            n += 2;
        }
        sql.push_str(&format!(
            " ELSE last_heartbeat_at END WHERE id IN ({})",
            (0..chunk.len())
                .map(|i| format!("${}", 1 + 2 * i))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (id, at) in chunk {
            q = q.bind(id.clone()).bind(to_millis(*at));
        }
        total += q.execute(&mut *conn).await?.rows_affected();
    }
    Ok(total)
}

/// Ids of bots in `statuses` whose `column` is older than `before` (monitor scans).
pub async fn ids_where_older(
    conn: &mut AnyConnection,
    statuses: &[BotStatus],
    column: &str,
    before: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<String>> {
    debug_assert!(matches!(
        column,
        "status_at" | "deployment_started_at" | "leave_requested_at" | "join_at" | "queued_at"
    ));
    let sql = format!(
        "SELECT id FROM bots WHERE status IN ({}) AND {column} IS NOT NULL AND {column} <= ${} ORDER BY {column} LIMIT ${}",
        placeholders(1, statuses.len()),
        statuses.len() + 1,
        statuses.len() + 2
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for s in statuses {
        q = q.bind(s.as_str());
    }
    let rows = q.bind(to_millis(before)).bind(limit).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// Live bots that have not heartbeat since `before` (a bot that never heartbeat counts
/// from when it entered its status).
pub async fn ids_without_heartbeat_since(
    conn: &mut AnyConnection,
    statuses: &[BotStatus],
    before: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<String>> {
    let sql = format!(
        "SELECT id FROM bots WHERE status IN ({}) AND COALESCE(last_heartbeat_at, status_at) <= ${n}
         AND status_at <= ${n} LIMIT ${}",
        placeholders(1, statuses.len()),
        statuses.len() + 2,
        n = statuses.len() + 1
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for s in statuses {
        q = q.bind(s.as_str());
    }
    let rows = q.bind(to_millis(before)).bind(limit).fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// In-call bots whose maximum duration has passed and that were not yet told to leave.
pub async fn ids_over_max_duration(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64) -> DbResult<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM bots WHERE status = 'IN_CALL' AND leave_requested_at IS NULL
         AND in_call_at + max_duration_secs * 1000 <= $1 LIMIT $2",
    )
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// Records where a bot runs (the deployment layer's durable identifier).
pub async fn set_deployment(
    conn: &mut AnyConnection,
    id: &str,
    platform: &str,
    identifier: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let done = sqlx::query(
        "UPDATE bots SET deployment_platform = $1, deployment_identifier = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(platform)
    .bind(identifier)
    .bind(to_millis(now))
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// What a replica needs to answer a heartbeat without the database.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectoryEntry {
    pub bot_id: String,
    pub token_hash: Option<String>,
    pub status: BotStatus,
    pub leave_requested: bool,
    pub leave_reason: Option<String>,
}

fn directory_entry(r: &AnyRow) -> DbResult<DirectoryEntry> {
    let status: String = r.get(2);
    Ok(DirectoryEntry {
        bot_id: r.get(0),
        token_hash: r.get(1),
        status: BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        leave_requested: r.get::<Option<i64>, _>(3).is_some(),
        leave_reason: r.get(4),
    })
}

/// Every live bot that holds a token (a replica's initial directory load).
pub async fn live_directory(conn: &mut AnyConnection) -> DbResult<Vec<DirectoryEntry>> {
    let rows = sqlx::query(
        "SELECT id, bot_token_hash, status, leave_requested_at, leave_reason FROM bots
         WHERE status NOT IN ('ENDED', 'FATAL') AND bot_token_hash IS NOT NULL",
    )
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(directory_entry).collect()
}

/// Bots holding a token changed at or after `since` (a replica's incremental directory
/// refresh; bots never deployed have no token and do not matter to it).
pub async fn directory_changes(conn: &mut AnyConnection, since: DateTime<Utc>) -> DbResult<Vec<DirectoryEntry>> {
    let rows = sqlx::query(
        "SELECT id, bot_token_hash, status, leave_requested_at, leave_reason FROM bots
         WHERE updated_at >= $1 AND bot_token_hash IS NOT NULL",
    )
    .bind(to_millis(since))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(directory_entry).collect()
}

/// How many bots have ever heartbeat (benchmarks and diagnostics).
pub async fn count_with_heartbeat(conn: &mut AnyConnection) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM bots WHERE last_heartbeat_at IS NOT NULL")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get::<i64, _>(0))
}

/// Statuses in which a bot occupies platform capacity.
pub const ACTIVE_STATUSES: &str = "'DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING'";

/// Locks a platform's capacity row until the transaction ends (PostgreSQL); SQLite's
/// write transaction already excludes every other writer.
pub async fn lock_platform(conn: &mut AnyConnection, backend: crate::Backend, platform: &str) -> DbResult<()> {
    if backend == crate::Backend::Postgres {
        sqlx::query("SELECT name FROM platform_locks WHERE name = $1 FOR UPDATE")
            .bind(platform)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Bots occupying capacity on `platform`.
pub async fn count_active(conn: &mut AnyConnection, platform: &str) -> DbResult<i64> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM bots WHERE deployment_platform = $1 AND status IN ({ACTIVE_STATUSES})"
    )))
    .bind(platform)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<i64, _>(0))
}

/// Capacity a platform has in use: its active bots plus ended bots whose instance is not
/// released yet (a task still stopping costs what a running one does). The dispatcher
/// counts this, so `*_BOT_LIMIT` bounds running instances, not only live bots.
pub async fn capacity_in_use(conn: &mut AnyConnection, platform: &str) -> DbResult<i64> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT (SELECT COUNT(*) FROM bots WHERE deployment_platform = $1 AND status IN ({ACTIVE_STATUSES}))
              + (SELECT COUNT(*) FROM deployment_jobs
                 WHERE kind = 'release' AND status = 'pending' AND platform = $1 AND identifier IS NOT NULL)"
    )))
    .bind(platform)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<i64, _>(0))
}

/// The next `limit` queued bots that are due, in queue order, locked for this
/// transaction (PostgreSQL skips bots another dispatcher holds).
pub async fn next_queued(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    now: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<String>> {
    let lock = match backend {
        crate::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        crate::Backend::Sqlite => "",
    };
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM bots WHERE status = 'QUEUED' AND (next_deploy_at IS NULL OR next_deploy_at <= $1)
         ORDER BY priority DESC, queued_at, id LIMIT $2{lock}"
    )))
    .bind(to_millis(now))
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| r.get::<String, _>(0)).collect())
}

/// Records the start of a deployment attempt on `platform`; returns the attempt number.
pub async fn begin_deployment(conn: &mut AnyConnection, id: &str, platform: &str, now: DateTime<Utc>) -> DbResult<i64> {
    let row = sqlx::query(
        "UPDATE bots SET deployment_platform = $1, deployment_identifier = NULL, deploy_attempts = deploy_attempts + 1,
             next_deploy_at = NULL, updated_at = $2
         WHERE id = $3 RETURNING deploy_attempts",
    )
    .bind(platform)
    .bind(to_millis(now))
    .bind(id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<i64, _>(0))
}

/// Gives back the attempt [`begin_deployment`] counted: the platform was full, so the
/// launch was no attempt at all.
pub async fn refund_attempt(conn: &mut AnyConnection, id: &str) -> DbResult<()> {
    sqlx::query("UPDATE bots SET deploy_attempts = deploy_attempts - 1 WHERE id = $1 AND deploy_attempts > 0")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Puts off the next deployment attempt of a requeued bot (transient failure backoff).
pub async fn defer_deployment(conn: &mut AnyConnection, id: &str, until: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE bots SET next_deploy_at = $1 WHERE id = $2")
        .bind(to_millis(until))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Positions are counted exactly up to this many bots ahead; further back the queue
/// reports `QUEUE_POSITION_CAP + 1`, so reading a bot never costs more than a bounded
/// index scan however long the backlog.
pub const QUEUE_POSITION_CAP: i64 = 200;

/// 1-based place in the deployment queue of a queued bot (global across accounts),
/// at most `QUEUE_POSITION_CAP + 1`.
pub async fn queue_position(conn: &mut AnyConnection, bot: &BotRecord) -> DbResult<i64> {
    let queued_at = bot.queued_at.map(to_millis).unwrap_or(i64::MAX);
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM bots WHERE status = 'QUEUED' AND (
             priority > $1
             OR (priority = $1 AND queued_at < $2)
             OR (priority = $1 AND queued_at = $2 AND id < $3)) LIMIT {QUEUE_POSITION_CAP}) ahead"
    )))
    .bind(bot.priority)
    .bind(queued_at)
    .bind(&bot.id)
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<i64, _>(0) + 1)
}

/// Number of queued bots.
pub async fn queue_length(conn: &mut AnyConnection) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM bots WHERE status = 'QUEUED'")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get::<i64, _>(0))
}

/// Mean seconds recent bots spent deployed (for queue wait estimates); `None` without history.
pub async fn recent_mean_run_secs(conn: &mut AnyConnection) -> DbResult<Option<f64>> {
    let rows = sqlx::query(
        "SELECT ended_at - deployment_started_at FROM bots
         WHERE ended_at IS NOT NULL AND deployment_started_at IS NOT NULL ORDER BY ended_at DESC LIMIT 50",
    )
    .fetch_all(&mut *conn)
    .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let total: i64 = rows.iter().map(|r| r.get::<i64, _>(0).max(0)).sum();
    Ok(Some(total as f64 / rows.len() as f64 / 1000.0))
}

/// Live bots on `platform` (for the reconciler): `(id, status, identifier, attempt, deployment started)`.
pub async fn live_on_platform(
    conn: &mut AnyConnection,
    platform: &str,
) -> DbResult<Vec<(String, BotStatus, Option<String>, i64, Option<DateTime<Utc>>)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT id, status, deployment_identifier, deploy_attempts, deployment_started_at FROM bots
         WHERE deployment_platform = $1 AND status IN ({ACTIVE_STATUSES})"
    )))
    .bind(platform)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|r| {
            let status: String = r.get(1);
            Ok((
                r.get(0),
                BotStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
                r.get(2),
                r.get(3),
                r.get::<Option<i64>, _>(4).map(from_millis),
            ))
        })
        .collect()
}

/// Live bots per platform name (for migration warnings and statistics).
pub async fn live_platforms(conn: &mut AnyConnection) -> DbResult<Vec<(String, i64)>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT deployment_platform, COUNT(*) FROM bots WHERE deployment_platform IS NOT NULL
         AND status IN ({ACTIVE_STATUSES}) GROUP BY deployment_platform"
    )))
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Bots running on a platform now (all accounts), oldest deployment first: the operator's
/// list of instances (Coolify apps, ECS tasks, processes).
pub async fn list_deployed(conn: &mut AnyConnection, limit: u32) -> DbResult<Vec<BotRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bots WHERE deployment_platform IS NOT NULL AND status IN ({ACTIVE_STATUSES})
         ORDER BY deployment_started_at, id LIMIT $1"
    )))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

/// The head of the deployment queue (all accounts), in the order the dispatcher takes it.
pub async fn list_queued(conn: &mut AnyConnection, limit: u32) -> DbResult<Vec<BotRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM bots WHERE status = 'QUEUED' ORDER BY priority DESC, queued_at, id LIMIT $1"
    )))
    .bind(i64::from(limit))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(from_row).collect()
}

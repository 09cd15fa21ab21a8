//! Chat messages users ask a bot to post, with delivery state.

use crate::{AnyConnection, Backend, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq)]
pub struct ChatMessageRecord {
    pub id: String,
    pub bot_id: String,
    pub text: String,
    /// `queued`, `sending`, `sent` or `failed`.
    pub status: String,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub done_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, bot_id, text, status, error, created_at, done_at";

fn from_row(r: &AnyRow) -> ChatMessageRecord {
    ChatMessageRecord {
        id: r.get(0),
        bot_id: r.get(1),
        text: r.get(2),
        status: r.get(3),
        error: r.get(4),
        created_at: from_millis(r.get(5)),
        done_at: r.get::<Option<i64>, _>(6).map(from_millis),
    }
}

pub async fn enqueue(
    conn: &mut AnyConnection,
    bot_id: &str,
    text: &str,
    now: DateTime<Utc>,
) -> DbResult<ChatMessageRecord> {
    let id = meeboter_core::new_id().to_string();
    sqlx::query("INSERT INTO chat_messages (id, bot_id, text, status, created_at) VALUES ($1, $2, $3, 'queued', $4)")
        .bind(&id)
        .bind(bot_id)
        .bind(text)
        .bind(to_millis(now))
        .execute(&mut *conn)
        .await?;
    Ok(ChatMessageRecord {
        id,
        bot_id: bot_id.to_string(),
        text: text.to_string(),
        status: "queued".into(),
        error: None,
        created_at: now,
        done_at: None,
    })
}

/// Atomically claims the oldest queued message of a bot. Two concurrent callers never
/// get the same message: PostgreSQL skips rows another transaction has locked; SQLite
/// runs writers one at a time.
pub async fn claim_next(
    conn: &mut AnyConnection,
    backend: Backend,
    bot_id: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<ChatMessageRecord>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE chat_messages SET status = 'sending', claimed_at = $1
         WHERE status = 'queued' AND id = (SELECT id FROM chat_messages WHERE bot_id = $2 AND status = 'queued'
                                           ORDER BY id LIMIT 1{lock})
         RETURNING {COLUMNS}"
    );
    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_millis(now))
        .bind(bot_id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

/// Records the bot's result for a message it claimed. Returns false if the message is
/// not this bot's or not in `sending`.
pub async fn set_result(
    conn: &mut AnyConnection,
    bot_id: &str,
    id: &str,
    sent: bool,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let result = sqlx::query(
        "UPDATE chat_messages SET status = $1, error = $2, done_at = $3
         WHERE id = $4 AND bot_id = $5 AND status = 'sending'",
    )
    .bind(if sent { "sent" } else { "failed" })
    .bind(error)
    .bind(to_millis(now))
    .bind(id)
    .bind(bot_id)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Fails every message the bot can no longer send (it reached a terminal status).
pub async fn fail_undelivered(
    conn: &mut AnyConnection,
    bot_id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "UPDATE chat_messages SET status = 'failed', error = $1, done_at = $2
         WHERE bot_id = $3 AND status IN ('queued', 'sending')",
    )
    .bind(reason)
    .bind(to_millis(now))
    .bind(bot_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub async fn list(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Vec<ChatMessageRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM chat_messages WHERE bot_id = $1 ORDER BY id"
    )))
    .bind(bot_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(from_row).collect())
}

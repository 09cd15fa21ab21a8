//! The per-bot event log: status changes, refused reports, participants, chat, logs.

use crate::{AnyConnection, DbResult, from_millis, placeholders, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub id: String,
    pub bot_id: String,
    pub event_type: String,
    pub data: serde_json::Value,
    pub at: DateTime<Utc>,
}

fn event_from_row(r: &sqlx::any::AnyRow) -> EventRecord {
    EventRecord {
        id: r.get(0),
        bot_id: r.get(1),
        event_type: r.get(2),
        data: serde_json::from_str(&r.get::<String, _>(3)).unwrap_or(serde_json::Value::Null),
        at: from_millis(r.get(4)),
    }
}

pub async fn insert(
    conn: &mut AnyConnection,
    bot_id: &str,
    event_type: &str,
    data: &serde_json::Value,
    at: DateTime<Utc>,
) -> DbResult<String> {
    let id = meeboter_core::new_id().to_string();
    sqlx::query("INSERT INTO bot_events (id, bot_id, type, data, at) VALUES ($1, $2, $3, $4, $5)")
        .bind(&id)
        .bind(bot_id)
        .bind(event_type)
        .bind(data.to_string())
        .bind(to_millis(at))
        .execute(&mut *conn)
        .await?;
    Ok(id)
}

/// Events after `after_id` (exclusive), oldest first, optionally of some types only.
pub async fn list(
    conn: &mut AnyConnection,
    bot_id: &str,
    after_id: Option<&str>,
    types: &[String],
    limit: u32,
) -> DbResult<Vec<EventRecord>> {
    let mut sql = String::from("SELECT id, bot_id, type, data, at FROM bot_events WHERE bot_id = $1 AND id > $2");
    if !types.is_empty() {
        sql.push_str(&format!(" AND type IN ({})", placeholders(3, types.len())));
    }
    sql.push_str(&format!(" ORDER BY id LIMIT {}", limit.min(1000)));
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(bot_id)
        .bind(after_id.unwrap_or(""));
    for t in types {
        q = q.bind(t.clone());
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(event_from_row).collect())
}

/// The newest events of some types across all bots (infrastructure overview).
pub async fn recent_of_types(conn: &mut AnyConnection, types: &[&str], limit: u32) -> DbResult<Vec<EventRecord>> {
    let sql = format!(
        "SELECT id, bot_id, type, data, at FROM bot_events WHERE type IN ({}) ORDER BY id DESC LIMIT {}",
        placeholders(1, types.len()),
        limit.min(1000)
    );
    let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
    for t in types {
        q = q.bind(*t);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok(rows.iter().map(event_from_row).collect())
}

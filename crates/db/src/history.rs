//! What the infrastructure charts are drawn from: status changes and deployments over a
//! window (the last 24 h), read from the tables that record them anyway — no extra writes
//! on the hot path, and every replica sees the same history.
//!
//! Ids are UUIDv7 text, so "at or after `since`" is a range on the primary key: the
//! smallest v7 id of that millisecond is the bound, and no index on `at` is needed.

use crate::{AnyConnection, DbResult, from_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// One status change of one bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusPoint {
    pub bot_id: String,
    pub status: String,
    pub sub_code: Option<String>,
    pub at: DateTime<Utc>,
}

/// The smallest UUIDv7 (as text) created at or after `t`: ids below it are older.
pub fn first_id_at(t: DateTime<Utc>) -> String {
    let ms = t.timestamp_millis().max(0) as u64 & 0xffff_ffff_ffff;
    format!("{:08x}-{:04x}-0000-0000-000000000000", ms >> 16, ms & 0xffff)
}

fn point(r: &sqlx::any::AnyRow) -> StatusPoint {
    StatusPoint {
        bot_id: r.get(0),
        status: r.get(1),
        sub_code: r.get(2),
        at: from_millis(r.get(3)),
    }
}

/// Every status change since `since`, oldest first; and, for the bots that were already
/// alive then, their changes before it (so their state at `since` is known).
pub async fn status_changes(
    conn: &mut AnyConnection,
    since: DateTime<Utc>,
) -> DbResult<(Vec<StatusPoint>, Vec<StatusPoint>)> {
    let bound = first_id_at(since);
    let within = sqlx::query("SELECT bot_id, status, sub_code, at FROM bot_status_changes WHERE id >= $1 ORDER BY id")
        .bind(&bound)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(point)
        .collect();
    let before = sqlx::query(
        "SELECT c.bot_id, c.status, c.sub_code, c.at FROM bot_status_changes c
         WHERE c.id < $1 AND c.bot_id IN (
             SELECT id FROM bots WHERE created_at < $2 AND (ended_at IS NULL OR ended_at >= $2))
         ORDER BY c.id",
    )
    .bind(&bound)
    .bind(since.timestamp_millis())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(point)
    .collect();
    Ok((within, before))
}

/// Deployments since `since`: when each bot was deployed, on which platform, and how long
/// the platform's deploy call took (the `deployed` events' `latencyMs`), oldest first.
pub async fn deployments(
    conn: &mut AnyConnection,
    since: DateTime<Utc>,
) -> DbResult<Vec<(DateTime<Utc>, String, i64)>> {
    let rows = sqlx::query("SELECT data, at FROM bot_events WHERE id >= $1 AND type = 'deployed' ORDER BY id")
        .bind(first_id_at(since))
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let data: serde_json::Value = serde_json::from_str(&r.get::<String, _>(0)).ok()?;
            let latency = data["latencyMs"].as_i64()?;
            let platform = data["platform"].as_str().unwrap_or("").to_string();
            Some((from_millis(r.get(1)), platform, latency))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bound_sorts_between_ids_of_neighbouring_milliseconds() {
        let t = DateTime::parse_from_rfc3339("2026-12-06T06:00:00.123Z")
            .unwrap()
            .with_timezone(&Utc);
        let bound = first_id_at(t);
        let at = |ms: i64| {
            let ts = uuid::Timestamp::from_unix(uuid::NoContext, (ms / 1000) as u64, ((ms % 1000) * 1_000_000) as u32);
            uuid::Uuid::new_v7(ts).to_string()
        };
        let ms = t.timestamp_millis();
        assert!(at(ms - 1) < bound);
        assert!(at(ms) >= bound);
        assert!(at(ms + 1) > bound);
        assert_eq!(bound.len(), 36);
    }
}

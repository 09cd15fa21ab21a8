//! Who is or was in a bot's meeting.

use crate::{AnyConnection, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantRecord {
    pub participant_id: String,
    pub name: String,
    pub is_bot: bool,
    pub joined_at: DateTime<Utc>,
    pub left_at: Option<DateTime<Utc>>,
}

/// Records a join; a rejoin clears `left_at` and keeps the first join time.
pub async fn joined(
    conn: &mut AnyConnection,
    bot_id: &str,
    participant_id: &str,
    name: &str,
    is_bot: bool,
    at: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO bot_participants (bot_id, participant_id, name, is_bot, joined_at, left_at)
         VALUES ($1, $2, $3, $4, $5, NULL)
         ON CONFLICT (bot_id, participant_id) DO UPDATE SET name = excluded.name, left_at = NULL",
    )
    .bind(bot_id)
    .bind(participant_id)
    .bind(name)
    .bind(i64::from(is_bot))
    .bind(to_millis(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a leave; unknown participants are recorded as having joined and left now.
pub async fn left(
    conn: &mut AnyConnection,
    bot_id: &str,
    participant_id: &str,
    name: &str,
    is_bot: bool,
    at: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO bot_participants (bot_id, participant_id, name, is_bot, joined_at, left_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         ON CONFLICT (bot_id, participant_id) DO UPDATE SET left_at = excluded.left_at",
    )
    .bind(bot_id)
    .bind(participant_id)
    .bind(name)
    .bind(i64::from(is_bot))
    .bind(to_millis(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Marks everyone still present as gone (the bot left the meeting).
pub async fn close_all(conn: &mut AnyConnection, bot_id: &str, at: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE bot_participants SET left_at = $1 WHERE bot_id = $2 AND left_at IS NULL")
        .bind(to_millis(at))
        .bind(bot_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn list(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Vec<ParticipantRecord>> {
    let rows = sqlx::query(
        "SELECT participant_id, name, is_bot, joined_at, left_at FROM bot_participants
         WHERE bot_id = $1 ORDER BY joined_at, participant_id",
    )
    .bind(bot_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .iter()
        .map(|r| ParticipantRecord {
            participant_id: r.get(0),
            name: r.get(1),
            is_bot: r.get::<i64, _>(2) != 0,
            joined_at: from_millis(r.get(3)),
            left_at: r.get::<Option<i64>, _>(4).map(from_millis),
        })
        .collect())
}

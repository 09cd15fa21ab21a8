//! Server-wide values generated once and kept in the database.

use crate::{AnyConnection, DbResult};
use sqlx::Row;

pub async fn get(conn: &mut AnyConnection, name: &str) -> DbResult<Option<String>> {
    let row = sqlx::query("SELECT value FROM server_settings WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|r| r.get::<String, _>(0)))
}

/// Returns the stored value, storing `candidate` first if there is none. Concurrent
/// callers all get the same winner.
pub async fn get_or_insert(conn: &mut AnyConnection, name: &str, candidate: &str) -> DbResult<String> {
    sqlx::query("INSERT INTO server_settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(candidate)
        .execute(&mut *conn)
        .await?;
    get(conn, name)
        .await?
        .ok_or_else(|| crate::DbError::Corrupt(format!("setting {name} vanished")))
}

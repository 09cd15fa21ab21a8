//! Stored responses for the `Idempotency-Key` header.

use crate::{AnyConnection, DbResult, to_millis};
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;

/// How long a stored response is replayed.
pub const RETENTION: Duration = Duration::hours(24);

#[derive(Debug, Clone, PartialEq)]
pub struct StoredResponse {
    pub request_hash: String,
    pub status: u16,
    pub body: String,
}

/// The live stored response for `(account, key)`, ignoring expired ones.
pub async fn find(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<StoredResponse>> {
    let row = sqlx::query(
        "SELECT request_hash, response_status, response_body FROM idempotency_keys
         WHERE account_id = $1 AND idempotency_key = $2 AND created_at > $3",
    )
    .bind(account_id)
    .bind(key)
    .bind(to_millis(now - RETENTION))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| StoredResponse {
        request_hash: r.get(0),
        status: u16::try_from(r.get::<i64, _>(1)).unwrap_or(200),
        body: r.get(2),
    }))
}

/// Stores a response. Fails with a unique violation if another request with the same
/// key committed first; the caller then replays that one.
pub async fn insert(
    conn: &mut AnyConnection,
    account_id: &str,
    key: &str,
    response: &StoredResponse,
    now: DateTime<Utc>,
) -> DbResult<()> {
    // An expired entry no longer counts; make room for the new one.
    sqlx::query("DELETE FROM idempotency_keys WHERE account_id = $1 AND idempotency_key = $2 AND created_at <= $3")
        .bind(account_id)
        .bind(key)
        .bind(to_millis(now - RETENTION))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO idempotency_keys (account_id, idempotency_key, request_hash, response_status, response_body, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(account_id)
    .bind(key)
    .bind(&response.request_hash)
    .bind(i64::from(response.status))
    .bind(&response.body)
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deletes expired entries, at most `limit` per call; returns how many went.
pub async fn purge_expired(conn: &mut AnyConnection, now: DateTime<Utc>, limit: i64) -> DbResult<u64> {
    let result = sqlx::query(
        "DELETE FROM idempotency_keys WHERE (account_id, idempotency_key) IN (
             SELECT account_id, idempotency_key FROM idempotency_keys WHERE created_at <= $1 LIMIT $2)",
    )
    .bind(to_millis(now - RETENTION))
    .bind(limit)
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected())
}

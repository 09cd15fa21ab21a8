//! Dashboard sessions: a browser signed in with an API key. The cookie carries a random
//! token; only its hash is stored, so a database leak opens no browser session.

use crate::api_keys::{self, ApiKeyRecord};
use crate::{AnyConnection, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A live session and the key it was opened with.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub key: ApiKeyRecord,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert(
    conn: &mut AnyConnection,
    token_hash: &str,
    key_id: &str,
    csrf_token: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO dashboard_sessions (token_hash, key_id, csrf_token, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(token_hash)
    .bind(key_id)
    .bind(csrf_token)
    .bind(to_millis(now))
    .bind(to_millis(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The session for `token_hash` if it has not expired (its key's state is the caller's
/// to check: revoked and expired keys end their sessions too).
pub async fn find_live(
    conn: &mut AnyConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<SessionRecord>> {
    let row = sqlx::query("SELECT key_id, csrf_token, expires_at FROM dashboard_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let expires_at = from_millis(row.get("expires_at"));
    if expires_at <= now {
        return Ok(None);
    }
    let key_id: String = row.get("key_id");
    let csrf_token: String = row.get("csrf_token");
    Ok(api_keys::find(conn, &key_id).await?.map(|key| SessionRecord {
        key,
        csrf_token,
        expires_at,
    }))
}

pub async fn delete(conn: &mut AnyConnection, token_hash: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM dashboard_sessions WHERE token_hash = $1")
        .bind(token_hash)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Removes sessions that expired before `now`; returns how many.
pub async fn delete_expired(conn: &mut AnyConnection, now: DateTime<Utc>) -> DbResult<u64> {
    let done = sqlx::query("DELETE FROM dashboard_sessions WHERE expires_at <= $1")
        .bind(to_millis(now))
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::TestDatabase;
    use crate::{accounts, api_keys::NewApiKey};
    use chrono::Duration;
    use meeboter_core::ApiKeyRole;

    #[tokio::test]
    async fn sessions_expire_and_die_with_their_key() {
        let db = TestDatabase::create().await.unwrap();
        let mut conn = db.db.pool().acquire().await.unwrap();
        let now = Utc::now();
        let account = accounts::insert(&mut conn, "Acme", now).await.unwrap();
        let key = api_keys::insert(
            &mut conn,
            NewApiKey {
                account_id: &account.id,
                name: "k",
                role: ApiKeyRole::Member,
                prefix: "mbk_x",
                key_hash: "h",
                expires_at: None,
            },
            now,
        )
        .await
        .unwrap();
        insert(&mut conn, "s1", &key.id, "csrf", now, now + Duration::hours(1))
            .await
            .unwrap();
        insert(&mut conn, "s2", &key.id, "csrf2", now, now + Duration::minutes(1))
            .await
            .unwrap();
        let live = find_live(&mut conn, "s1", now).await.unwrap().unwrap();
        assert_eq!(
            (live.key.id.as_str(), live.csrf_token.as_str()),
            (key.id.as_str(), "csrf")
        );
        assert!(
            find_live(&mut conn, "s2", now + Duration::minutes(2))
                .await
                .unwrap()
                .is_none()
        );
        assert!(find_live(&mut conn, "nope", now).await.unwrap().is_none());
        assert_eq!(delete_expired(&mut conn, now + Duration::minutes(2)).await.unwrap(), 1);
        delete(&mut conn, "s1").await.unwrap();
        assert!(find_live(&mut conn, "s1", now).await.unwrap().is_none());
    }
}

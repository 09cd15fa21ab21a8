//! API keys, stored as SHA-256 hashes plus a short visible prefix.

use crate::{AnyConnection, DbError, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use meeboter_core::ApiKeyRole;
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub account_id: String,
    pub name: String,
    pub role: ApiKeyRole,
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKeyRecord {
    /// A key authenticates only while neither revoked nor expired.
    pub fn is_usable(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| e > now)
    }
}

/// What is needed to store a new key; the raw secret is never passed here.
#[derive(Debug, Clone)]
pub struct NewApiKey<'a> {
    pub account_id: &'a str,
    pub name: &'a str,
    pub role: ApiKeyRole,
    pub prefix: &'a str,
    pub key_hash: &'a str,
    pub expires_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, account_id, name, role, prefix, created_at, last_used_at, expires_at, revoked_at";

fn from_row(row: &AnyRow) -> DbResult<ApiKeyRecord> {
    let role: String = row.get("role");
    Ok(ApiKeyRecord {
        id: row.get("id"),
        account_id: row.get("account_id"),
        name: row.get("name"),
        role: ApiKeyRole::parse(&role).ok_or_else(|| DbError::Corrupt(format!("api key role {role}")))?,
        prefix: row.get("prefix"),
        created_at: from_millis(row.get("created_at")),
        last_used_at: row.get::<Option<i64>, _>("last_used_at").map(from_millis),
        expires_at: row.get::<Option<i64>, _>("expires_at").map(from_millis),
        revoked_at: row.get::<Option<i64>, _>("revoked_at").map(from_millis),
    })
}

pub async fn insert(conn: &mut AnyConnection, key: NewApiKey<'_>, now: DateTime<Utc>) -> DbResult<ApiKeyRecord> {
    let id = meeboter_core::new_id().to_string();
    sqlx::query(
        "INSERT INTO api_keys (id, account_id, name, role, prefix, key_hash, created_at, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(key.account_id)
    .bind(key.name)
    .bind(key.role.as_str())
    .bind(key.prefix)
    .bind(key.key_hash)
    .bind(to_millis(now))
    .bind(key.expires_at.map(to_millis))
    .execute(&mut *conn)
    .await?;
    Ok(ApiKeyRecord {
        id,
        account_id: key.account_id.to_string(),
        name: key.name.to_string(),
        role: key.role,
        prefix: key.prefix.to_string(),
        created_at: now,
        last_used_at: None,
        expires_at: key.expires_at,
        revoked_at: None,
    })
}

pub async fn find_by_hash(conn: &mut AnyConnection, key_hash: &str) -> DbResult<Option<ApiKeyRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1"
    )))
    .bind(key_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn find(conn: &mut AnyConnection, id: &str) -> DbResult<Option<ApiKeyRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {COLUMNS} FROM api_keys WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Keys of one account, or of all accounts when `account_id` is `None`, oldest first.
pub async fn list(conn: &mut AnyConnection, account_id: Option<&str>) -> DbResult<Vec<ApiKeyRecord>> {
    let rows = match account_id {
        Some(account) => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM api_keys WHERE account_id = $1 ORDER BY id"
            )))
            .bind(account)
            .fetch_all(&mut *conn)
            .await?
        }
        None => {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {COLUMNS} FROM api_keys ORDER BY id"
            )))
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// What [`revoke_unless_last_admin`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The key is now revoked.
    Revoked,
    /// The key had been revoked before; nothing changed (the first timestamp stays).
    AlreadyRevoked,
    /// The key is the last active (neither revoked nor expired) admin key of its account;
    /// nothing changed.
    LastAdminKey,
}

/// Locks `account_id`'s keys against concurrent revocation until the transaction ends:
/// on PostgreSQL by locking the account's row (every guarded revocation in the account
/// takes it first, so they run one after another and each reads the others' result); on
/// SQLite the write transaction (`BEGIN IMMEDIATE`) already excludes every other writer.
async fn lock_account(conn: &mut AnyConnection, backend: crate::Backend, account_id: &str) -> DbResult<()> {
    if backend == crate::Backend::Postgres {
        sqlx::query("SELECT id FROM accounts WHERE id = $1 FOR UPDATE")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Active admin keys of `account_id` other than `except`.
async fn count_other_active_admins(
    conn: &mut AnyConnection,
    account_id: &str,
    except: &str,
    now: DateTime<Utc>,
) -> DbResult<i64> {
    let row = sqlx::query(
        "SELECT COUNT(*) FROM api_keys
         WHERE account_id = $1 AND id <> $2 AND role = 'admin' AND revoked_at IS NULL
           AND (expires_at IS NULL OR expires_at > $3)",
    )
    .bind(account_id)
    .bind(except)
    .bind(to_millis(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok(row.get::<i64, _>(0))
}

/// Revokes key `id` unless it is the last active admin key of its account, which would
/// lock everyone out of the account. `None` when there is no such key.
///
/// Must run inside a write transaction (`Db::begin_write`): the check and the update
/// then happen under one lock, so two concurrent revocations of an account's last two
/// admin keys cannot both succeed.
pub async fn revoke_unless_last_admin(
    conn: &mut AnyConnection,
    backend: crate::Backend,
    id: &str,
    now: DateTime<Utc>,
) -> DbResult<Option<Revocation>> {
    let Some(key) = find(conn, id).await? else {
        return Ok(None);
    };
    lock_account(conn, backend, &key.account_id).await?;
    // Read again under the lock: another revocation may have committed meanwhile.
    let Some(key) = find(conn, id).await? else {
        return Ok(None);
    };
    if key.revoked_at.is_some() {
        return Ok(Some(Revocation::AlreadyRevoked));
    }
    if key.role == ApiKeyRole::Admin
        && key.is_usable(now)
        && count_other_active_admins(conn, &key.account_id, &key.id, now).await? == 0
    {
        return Ok(Some(Revocation::LastAdminKey));
    }
    revoke(conn, &key.id, now).await?;
    Ok(Some(Revocation::Revoked))
}

/// Marks a key revoked; revoking twice keeps the first timestamp. Unguarded: callers
/// revoking on someone's behalf use [`revoke_unless_last_admin`].
pub async fn revoke(conn: &mut AnyConnection, id: &str, now: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Deletes a key's row, but only once it is revoked: an active key is never removed this
/// way (revoke it first). Its dashboard sessions go with it. False when there is no such
/// revoked key.
pub async fn delete_revoked(conn: &mut AnyConnection, id: &str) -> DbResult<bool> {
    let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND revoked_at IS NOT NULL")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Records use of a key. Called at most about once a minute per key, so a busy client
/// does not turn every read into a write.
pub async fn touch(conn: &mut AnyConnection, id: &str, now: DateTime<Utc>) -> DbResult<()> {
    sqlx::query("UPDATE api_keys SET last_used_at = $1 WHERE id = $2")
        .bind(to_millis(now))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn count(conn: &mut AnyConnection) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM api_keys")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get::<i64, _>(0))
}

//! Accounts: the tenancy boundary. Every key and every bot belongs to one.

use crate::{AnyConnection, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

fn from_row(row: &AnyRow) -> AccountRecord {
    AccountRecord {
        id: row.get("id"),
        name: row.get("name"),
        created_at: from_millis(row.get("created_at")),
    }
}

pub async fn insert(conn: &mut AnyConnection, name: &str, now: DateTime<Utc>) -> DbResult<AccountRecord> {
    let record = AccountRecord {
        id: meeboter_core::new_id().to_string(),
        name: name.to_string(),
        created_at: now,
    };
    sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
        .bind(&record.id)
        .bind(&record.name)
        .bind(to_millis(now))
        .execute(&mut *conn)
        .await?;
    Ok(record)
}

pub async fn find(conn: &mut AnyConnection, id: &str) -> DbResult<Option<AccountRecord>> {
    let row = sqlx::query("SELECT id, name, created_at FROM accounts WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn find_by_name(conn: &mut AnyConnection, name: &str) -> DbResult<Option<AccountRecord>> {
    let row = sqlx::query("SELECT id, name, created_at FROM accounts WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.as_ref().map(from_row))
}

pub async fn list(conn: &mut AnyConnection) -> DbResult<Vec<AccountRecord>> {
    let rows = sqlx::query("SELECT id, name, created_at FROM accounts ORDER BY id")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(from_row).collect())
}

pub async fn count(conn: &mut AnyConnection) -> DbResult<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM accounts")
        .fetch_one(&mut *conn)
        .await?;
    Ok(row.get::<i64, _>(0))
}

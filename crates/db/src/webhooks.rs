//! Webhook endpoints and the delivery outbox.

use crate::secrets::{Keyring, context, open_stored};
use crate::{AnyConnection, Backend, DbError, DbResult, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;

#[derive(Debug, Clone, PartialEq)]
pub struct EndpointRecord {
    pub id: String,
    pub account_id: String,
    pub url: String,
    /// Subscribed event types; empty means all.
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
}

fn endpoint_from_row(r: &AnyRow) -> EndpointRecord {
    EndpointRecord {
        id: r.get(0),
        account_id: r.get(1),
        url: r.get(2),
        events: serde_json::from_str(&r.get::<String, _>(3)).unwrap_or_default(),
        created_at: from_millis(r.get(4)),
    }
}

// The secret is not among them: it is read (and decrypted) only to sign, by [`signing_secret`].
const ENDPOINT_COLUMNS: &str = "id, account_id, url, events, created_at";

/// Stores an endpoint; its `secret` is stored encrypted under `keys`.
pub async fn insert_endpoint(
    conn: &mut AnyConnection,
    keys: &Keyring,
    account_id: &str,
    url: &str,
    events: &[String],
    secret: &str,
    now: DateTime<Utc>,
) -> DbResult<EndpointRecord> {
    let id = meeboter_core::new_id().to_string();
    let events_json = serde_json::to_string(events).map_err(|e| DbError::Corrupt(e.to_string()))?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, secret, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&id)
    .bind(account_id)
    .bind(url)
    .bind(events_json)
    .bind(keys.seal(secret, &context("webhook_endpoints", &id)))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(EndpointRecord {
        id,
        account_id: account_id.to_string(),
        url: url.to_string(),
        events: events.to_vec(),
        created_at: now,
    })
}

pub async fn list_endpoints(conn: &mut AnyConnection, account_id: &str) -> DbResult<Vec<EndpointRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 ORDER BY id"
    )))
    .bind(account_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(endpoint_from_row).collect())
}

pub async fn find_endpoint(conn: &mut AnyConnection, account_id: &str, id: &str) -> DbResult<Option<EndpointRecord>> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE account_id = $1 AND id = $2"
    )))
    .bind(account_id)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.as_ref().map(endpoint_from_row))
}

pub async fn delete_endpoint(conn: &mut AnyConnection, account_id: &str, id: &str) -> DbResult<bool> {
    let r = sqlx::query("DELETE FROM webhook_endpoints WHERE account_id = $1 AND id = $2")
        .bind(account_id)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(r.rows_affected() == 1)
}

/// The account's secret for signing per-bot `webhookUrl` deliveries, created (from
/// `candidate`, stored encrypted) on first use; returned decrypted.
pub async fn account_secret(
    conn: &mut AnyConnection,
    keys: &Keyring,
    account_id: &str,
    candidate: &str,
) -> DbResult<String> {
    async fn read(conn: &mut AnyConnection, account_id: &str) -> DbResult<Option<String>> {
        let row = sqlx::query("SELECT webhook_secret FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *conn)
            .await?;
        Ok(row.and_then(|r| r.get::<Option<String>, _>(0)))
    }
    let mut stored = read(conn, account_id).await?;
    if stored.is_none() {
        // Concurrent first uses all end up with the one secret that was written first.
        sqlx::query("UPDATE accounts SET webhook_secret = $1 WHERE id = $2 AND webhook_secret IS NULL")
            .bind(keys.seal(candidate, &context("accounts", account_id)))
            .bind(account_id)
            .execute(&mut *conn)
            .await?;
        stored = read(conn, account_id).await?;
    }
    match stored {
        Some(stored) => open_stored(keys, &stored, "accounts", account_id),
        None => Ok(String::new()),
    }
}

/// A delivery in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct DeliveryRecord {
    pub id: String,
    pub account_id: String,
    pub endpoint_id: Option<String>,
    pub bot_id: Option<String>,
    pub url: String,
    pub event_type: String,
    pub payload: String,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

const DELIVERY_COLUMNS: &str = "id, account_id, endpoint_id, bot_id, url, event_type, payload, status, attempts, \
    next_attempt_at, last_status_code, last_error, created_at, delivered_at";

fn delivery_from_row(r: &AnyRow) -> DeliveryRecord {
    DeliveryRecord {
        id: r.get(0),
        account_id: r.get(1),
        endpoint_id: r.get(2),
        bot_id: r.get(3),
        url: r.get(4),
        event_type: r.get(5),
        payload: r.get(6),
        status: r.get(7),
        attempts: r.get(8),
        next_attempt_at: from_millis(r.get(9)),
        last_status_code: r.get(10),
        last_error: r.get(11),
        created_at: from_millis(r.get(12)),
        delivered_at: r.get::<Option<i64>, _>(13).map(from_millis),
    }
}

/// Where one event goes: an account endpoint, or a bot's own `webhookUrl` (no endpoint).
#[derive(Debug, Clone)]
pub struct Destination {
    pub endpoint_id: Option<String>,
    pub url: String,
}

/// Writes one outbox row per destination. Call inside the transaction of the change.
pub async fn enqueue(
    conn: &mut AnyConnection,
    account_id: &str,
    bot_id: Option<&str>,
    destinations: &[Destination],
    event_type: &str,
    payload: &str,
    now: DateTime<Utc>,
) -> DbResult<Vec<String>> {
    let mut ids = Vec::with_capacity(destinations.len());
    for d in destinations {
        let id = format!("msg_{}", meeboter_core::new_id().simple());
        sqlx::query(
            "INSERT INTO webhook_deliveries (id, account_id, endpoint_id, bot_id, url, event_type, payload, status,
                 attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', 0, $8, $8)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(d.endpoint_id.clone())
        .bind(bot_id)
        .bind(&d.url)
        .bind(event_type)
        .bind(payload)
        .bind(to_millis(now))
        .execute(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Claims up to `limit` due deliveries for `lease_until`. Several deliverers (replicas)
/// can claim concurrently without taking the same row.
pub async fn claim_due(
    conn: &mut AnyConnection,
    backend: Backend,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> DbResult<Vec<DeliveryRecord>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    let sql = format!(
        "UPDATE webhook_deliveries SET lease_until = $1, attempts = attempts + 1
         WHERE id IN (SELECT id FROM webhook_deliveries
                      WHERE status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until < $2)
                      ORDER BY next_attempt_at LIMIT $3{lock})
         RETURNING {DELIVERY_COLUMNS}"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_millis(lease_until))
        .bind(to_millis(now))
        .bind(limit)
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.iter().map(delivery_from_row).collect())
}

/// The secret that signs a delivery, decrypted: its endpoint's, or the account's for bot
/// URLs (created on first use).
pub async fn signing_secret(
    conn: &mut AnyConnection,
    keys: &Keyring,
    delivery: &DeliveryRecord,
    candidate: &str,
) -> DbResult<Option<String>> {
    match &delivery.endpoint_id {
        Some(endpoint) => {
            let row = sqlx::query("SELECT secret FROM webhook_endpoints WHERE id = $1")
                .bind(endpoint)
                .fetch_optional(&mut *conn)
                .await?;
            row.map(|r| open_stored(keys, &r.get::<String, _>(0), "webhook_endpoints", endpoint))
                .transpose()
        }
        None => {
            let secret = account_secret(conn, keys, &delivery.account_id, candidate).await?;
            Ok(Some(secret).filter(|s| !s.is_empty()))
        }
    }
}

/// Outcome of one attempt, as recorded.
#[derive(Debug, Clone)]
pub struct AttemptOutcome {
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub duration_ms: i64,
    /// `None` = delivered; `Some(t)` = retry at `t`; with `give_up` = failed for good.
    pub retry_at: Option<DateTime<Utc>>,
    pub give_up: bool,
}

pub async fn record_attempt(
    conn: &mut AnyConnection,
    delivery_id: &str,
    outcome: &AttemptOutcome,
    now: DateTime<Utc>,
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO webhook_attempts (id, delivery_id, at, status_code, error, duration_ms) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(meeboter_core::new_id().to_string())
    .bind(delivery_id)
    .bind(to_millis(now))
    .bind(outcome.status_code.map(i64::from))
    .bind(outcome.error.clone())
    .bind(outcome.duration_ms)
    .execute(&mut *conn)
    .await?;
    let (status, next, delivered) = match (outcome.retry_at, outcome.give_up) {
        (None, false) => ("delivered", now, Some(to_millis(now))),
        (Some(t), false) => ("pending", t, None),
        (_, true) => ("failed", now, None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $1, next_attempt_at = $2, delivered_at = $3, lease_until = NULL,
             last_status_code = $4, last_error = $5
         WHERE id = $6",
    )
    .bind(status)
    .bind(to_millis(next))
    .bind(delivered)
    .bind(outcome.status_code.map(i64::from))
    .bind(outcome.error.clone())
    .bind(delivery_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether `s` has the form of a delivery id (`msg_` and 32 lowercase hex digits, the
/// simple form of a UUIDv7): what a paging cursor must look like.
pub fn is_delivery_id(s: &str) -> bool {
    s.strip_prefix("msg_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// One page of an endpoint's deliveries, newest first: those older than `before` (a
/// delivery id; ids are time-ordered), at most `limit`, and whether older ones remain.
pub async fn list_deliveries(
    conn: &mut AnyConnection,
    account_id: &str,
    endpoint_id: &str,
    before: Option<&str>,
    limit: u32,
) -> DbResult<(Vec<DeliveryRecord>, bool)> {
    let limit = limit.clamp(1, 500) as usize;
    let older = if before.is_some() { " AND id < $3" } else { "" };
    let sql = format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE account_id = $1 AND endpoint_id = $2{older}
         ORDER BY id DESC LIMIT {}",
        limit + 1
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account_id).bind(endpoint_id);
    if let Some(before) = before {
        query = query.bind(before);
    }
    let rows = query.fetch_all(&mut *conn).await?;
    let has_more = rows.len() > limit;
    Ok((rows.iter().take(limit).map(delivery_from_row).collect(), has_more))
}

/// One recorded attempt of a delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub at: DateTime<Utc>,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
}

/// The attempts of several deliveries in one query (a page of the log), oldest first per
/// delivery; deliveries without attempts are absent.
pub async fn attempts_of(
    conn: &mut AnyConnection,
    delivery_ids: &[&str],
) -> DbResult<std::collections::HashMap<String, Vec<AttemptRecord>>> {
    let mut out: std::collections::HashMap<String, Vec<AttemptRecord>> = std::collections::HashMap::new();
    if delivery_ids.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT delivery_id, at, status_code, error, duration_ms FROM webhook_attempts
         WHERE delivery_id IN ({}) ORDER BY delivery_id, id",
        crate::placeholders(1, delivery_ids.len())
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in delivery_ids {
        query = query.bind(*id);
    }
    for r in query.fetch_all(&mut *conn).await? {
        out.entry(r.get(0)).or_default().push(AttemptRecord {
            at: from_millis(r.get(1)),
            status_code: r.get(2),
            error: r.get(3),
            duration_ms: r.get(4),
        });
    }
    Ok(out)
}

/// Deliveries of a bot's events, oldest first (all destinations).
pub async fn deliveries_for_bot(conn: &mut AnyConnection, bot_id: &str) -> DbResult<Vec<DeliveryRecord>> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE bot_id = $1 ORDER BY id"
    )))
    .bind(bot_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows.iter().map(delivery_from_row).collect())
}

/// Puts a delivery back in the queue now (manual redelivery).
pub async fn redeliver(
    conn: &mut AnyConnection,
    account_id: &str,
    endpoint_id: &str,
    delivery_id: &str,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let r = sqlx::query(
        "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = $1, lease_until = NULL
         WHERE id = $2 AND account_id = $3 AND endpoint_id = $4",
    )
    .bind(to_millis(now))
    .bind(delivery_id)
    .bind(account_id)
    .bind(endpoint_id)
    .execute(&mut *conn)
    .await?;
    Ok(r.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_delivery_ids_are_cursors() {
        let id = format!("msg_{}", meeboter_core::new_id().simple());
        assert!(is_delivery_id(&id), "{id}");
        for bad in [
            "",
            "msg_",
            "msg_0123",
            "0190c4f2a1b27c3d8e9f0a1b2c3d4e5f",
            "msg_0190C4F2A1B27C3D8E9F0A1B2C3D4E5F",
            "msg_0190c4f2-a1b2-7c3d-8e9f-0a1b2c3d4e5f",
            "msg_0190c4f2a1b27c3d8e9f0a1b2c3d4e5g",
            "msg_0190c4f2a1b27c3d8e9f0a1b2c3d4e5f0",
            "msg_0190c4f2a1b27c3d8e9f0a1b2c3d4e5' OR 1=1",
        ] {
            assert!(!is_delivery_id(bad), "{bad}");
        }
    }
}

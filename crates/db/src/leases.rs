//! Named, expiring leases so a singleton worker runs on one replica at a time.

use crate::{AnyConnection, DbResult, to_millis};
use chrono::{DateTime, Duration, Utc};

/// Takes or renews lease `name` for `holder` until `now + ttl`. Succeeds if the lease is
/// free, expired, or already held by `holder`.
pub async fn try_acquire(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
    ttl: Duration,
    now: DateTime<Utc>,
) -> DbResult<bool> {
    let result = sqlx::query(
        "INSERT INTO worker_leases (name, holder, lease_until) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, lease_until = excluded.lease_until
         WHERE worker_leases.lease_until < $4 OR worker_leases.holder = excluded.holder",
    )
    .bind(name)
    .bind(holder)
    .bind(to_millis(now + ttl))
    .bind(to_millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Gives the lease up early (clean shutdown).
pub async fn release(conn: &mut AnyConnection, name: &str, holder: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM worker_leases WHERE name = $1 AND holder = $2")
        .bind(name)
        .bind(holder)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

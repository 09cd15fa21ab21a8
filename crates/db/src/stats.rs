//! Counts for the metrics scrape: the state every replica shares, read at scrape time with
//! a few grouped queries that the existing indexes answer (`bots_platform_status_idx`,
//! `bots_queue_idx`, `pool_slots_idle_idx`, `webhook_deliveries_due_idx`,
//! `deployment_jobs_due_idx`).

use crate::{AnyConnection, DbResult};
use sqlx::Row;

/// Bots with one status on one deployment platform (`none`: not deployed yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BotCount {
    pub status: String,
    pub platform: String,
    pub count: i64,
}

/// Pool slots in one state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotCount {
    pub platform: String,
    pub state: String,
    pub count: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    pub bots: Vec<BotCount>,
    /// Milliseconds since the epoch when the longest-waiting queued bot was queued.
    pub oldest_queued_at: Option<i64>,
    pub pool_slots: Vec<SlotCount>,
    pub outbox_pending: i64,
    pub outbox_oldest_created_at: Option<i64>,
    pub release_jobs_pending: i64,
}

/// Reads every count the scrape needs.
pub async fn read(conn: &mut AnyConnection) -> DbResult<Stats> {
    let bots = sqlx::query(
        "SELECT status, COALESCE(deployment_platform, 'none'), COUNT(*) FROM bots
         GROUP BY deployment_platform, status",
    )
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| BotCount {
        status: r.get(0),
        platform: r.get(1),
        count: r.get(2),
    })
    .collect();
    let oldest_queued_at: Option<i64> = sqlx::query("SELECT MIN(queued_at) FROM bots WHERE status = 'QUEUED'")
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    let pool_slots = sqlx::query("SELECT platform, status, COUNT(*) FROM pool_slots GROUP BY platform, status")
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| SlotCount {
            platform: r.get(0),
            state: r.get(1),
            count: r.get(2),
        })
        .collect();
    let outbox = sqlx::query("SELECT COUNT(*), MIN(created_at) FROM webhook_deliveries WHERE status = 'pending'")
        .fetch_one(&mut *conn)
        .await?;
    let release_jobs_pending: i64 = sqlx::query("SELECT COUNT(*) FROM deployment_jobs WHERE status = 'pending'")
        .fetch_one(&mut *conn)
        .await?
        .get(0);
    Ok(Stats {
        bots,
        oldest_queued_at,
        pool_slots,
        outbox_pending: outbox.get(0),
        outbox_oldest_created_at: outbox.get(1),
        release_jobs_pending,
    })
}

//! Webhook delivery from the outbox: at least once, with a stable id, signed, retried
//! with exponential backoff and jitter for up to 24 hours.

use crate::AppState;
use crate::webhook_client::{check_url_target, sign};
use chrono::{DateTime, Duration, Utc};
use meeboter_db::webhooks::{self, AttemptOutcome, DeliveryRecord};
use meeboter_db::{DbError, DbResult};
use rand::Rng;
use std::time::Instant;

/// How long a claimed delivery is ours before another deliverer may take it over.
const CLAIM_LEASE_SECS: i64 = 60;
/// Give up on an event this long after it was created.
pub const GIVE_UP_AFTER: Duration = Duration::hours(24);
const BATCH: i64 = 16;

/// Delay before retry number `attempt` (1 = after the first failure): 5 s doubling to
/// at most 1 h, with ±20 % jitter so failed receivers are not hit in lockstep.
pub fn backoff(attempt: i64) -> Duration {
    let base = 5i64
        .saturating_mul(1i64 << attempt.clamp(1, 20).saturating_sub(1))
        .min(3600);
    let jitter = rand::rng().random_range(0.8..1.2);
    Duration::milliseconds((base as f64 * 1000.0 * jitter) as i64)
}

/// Claims and sends one batch of due deliveries; returns how many were attempted.
pub async fn run_once(state: &AppState, client: &reqwest::Client) -> DbResult<usize> {
    let now = state.now();
    let claimed = {
        let mut tx = state.db.begin_write().await?;
        let rows = webhooks::claim_due(
            &mut tx,
            state.db.backend(),
            now,
            now + Duration::seconds(CLAIM_LEASE_SECS),
            BATCH,
        )
        .await?;
        tx.commit().await?;
        rows
    };
    let n = claimed.len();
    let sends = claimed.into_iter().map(|d| deliver(state, client, d));
    for result in futures::future::join_all(sends).await {
        result?;
    }
    Ok(n)
}

async fn deliver(state: &AppState, client: &reqwest::Client, delivery: DeliveryRecord) -> DbResult<()> {
    let secret = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        webhooks::signing_secret(
            &mut conn,
            &state.keys,
            &delivery,
            &crate::lifecycle::new_webhook_secret(),
        )
        .await?
    };
    let started = Instant::now();
    let result = send(state, client, &delivery, secret.as_deref()).await;
    let duration_ms = started.elapsed().as_millis() as i64;
    let now = state.now();
    let (status_code, error) = match result {
        Ok(code) if (200..300).contains(&code) => (Some(code), None),
        Ok(code) => (Some(code), Some(format!("receiver answered {code}"))),
        Err(e) => (None, Some(e)),
    };
    let failed = error.is_some();
    let give_up = failed && now - delivery.created_at >= GIVE_UP_AFTER;
    let outcome = AttemptOutcome {
        status_code,
        error: error.clone(),
        duration_ms,
        retry_at: (failed && !give_up).then(|| retry_time(now, delivery.attempts)),
        give_up,
    };
    let mut tx = state.db.begin_write().await?;
    webhooks::record_attempt(&mut tx, &delivery.id, &outcome, now).await?;
    tx.commit().await?;
    crate::metrics::webhook_attempt(match (&error, give_up) {
        (None, _) => "delivered",
        (Some(_), false) => "retry",
        (Some(_), true) => "gave_up",
    });
    match (&error, give_up) {
        (None, _) => tracing::debug!(delivery.id = %delivery.id, "webhook delivered"),
        (Some(e), false) => {
            tracing::info!(delivery.id = %delivery.id, attempt = delivery.attempts, error = %e, "webhook failed; will retry")
        }
        (Some(e), true) => tracing::warn!(delivery.id = %delivery.id, error = %e, "webhook failed for 24 h; giving up"),
    }
    Ok(())
}

fn retry_time(now: DateTime<Utc>, attempts: i64) -> DateTime<Utc> {
    now + backoff(attempts)
}

async fn send(
    state: &AppState,
    client: &reqwest::Client,
    delivery: &DeliveryRecord,
    secret: Option<&str>,
) -> Result<u16, String> {
    check_url_target(&delivery.url, state.config.webhook_allow_private)?;
    let timestamp = state.now().timestamp();
    let mut request = client
        .post(&delivery.url)
        .header("content-type", "application/json")
        .header("webhook-id", &delivery.id)
        .header("webhook-timestamp", timestamp.to_string());
    if let Some(secret) = secret
        && let Some(signature) = sign(secret, &delivery.id, timestamp, &delivery.payload)
    {
        request = request.header("webhook-signature", signature);
    }
    let response = request.body(delivery.payload.clone()).send().await.map_err(|e| {
        let mut msg = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            msg.push_str(": ");
            msg.push_str(&s.to_string());
            source = s.source();
        }
        msg
    })?;
    Ok(response.status().as_u16())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps_at_an_hour() {
        for (attempt, base) in [(1, 5), (2, 10), (3, 20), (10, 2560), (12, 3600), (40, 3600)] {
            for _ in 0..20 {
                let d = backoff(attempt).num_milliseconds() as f64 / 1000.0;
                assert!(
                    d >= base as f64 * 0.8 - 0.01 && d <= base as f64 * 1.2 + 0.01,
                    "{attempt}: {d}"
                );
            }
        }
    }
}

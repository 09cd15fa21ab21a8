//! Per-API-key request rate limiting (token bucket).
//!
//! The buckets are per server process: with N replicas a key gets up to N times the
//! limit. That is deliberate — a limiter is a guard against runaway clients, not
//! billing, and keeping it out of the database keeps every request one query cheaper.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// Token buckets keyed by API key id.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

struct Bucket {
    tokens: f64,
    refilled: Instant,
}

impl RateLimiter {
    /// `per_minute == 0` disables limiting.
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key`. `Err(secs)` says how long until the next one.
    pub fn check(&self, key: &str) -> Result<(), u64> {
        self.check_at(key, Instant::now())
    }

    fn check_at(&self, key: &str, now: Instant) -> Result<(), u64> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let capacity = f64::from(self.per_minute);
        let per_sec = capacity / 60.0;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let bucket = buckets.entry(key.to_string()).or_insert(Bucket {
            tokens: capacity,
            refilled: now,
        });
        let elapsed = now.saturating_duration_since(bucket.refilled).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * per_sec).min(capacity);
        bucket.refilled = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - bucket.tokens) / per_sec).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bursts_up_to_the_limit_then_refills() {
        let limiter = RateLimiter::new(60);
        let t0 = Instant::now();
        for _ in 0..60 {
            assert!(limiter.check_at("k", t0).is_ok());
        }
        assert_eq!(limiter.check_at("k", t0), Err(1));
        assert!(limiter.check_at("other", t0).is_ok(), "keys are independent");
        assert!(limiter.check_at("k", t0 + Duration::from_millis(1100)).is_ok());
        assert!(limiter.check_at("k", t0 + Duration::from_millis(1100)).is_err());
    }

    #[test]
    fn zero_disables() {
        let limiter = RateLimiter::new(0);
        for _ in 0..10_000 {
            assert!(limiter.check("k").is_ok());
        }
    }
}

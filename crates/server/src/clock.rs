//! Time as a dependency, so timers (heartbeat, deploy, leave, schedule) are tested in
//! milliseconds by moving a manual clock instead of waiting minutes.

use chrono::{DateTime, Duration, Utc};
use std::sync::Mutex;

/// A source of "now", at the millisecond precision we store.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        meeboter_db::now()
    }
}

/// A clock that moves only when told to (tests).
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(meeboter_db::from_millis(meeboter_db::to_millis(start))))
    }

    pub fn advance(&self, by: Duration) {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        *t += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

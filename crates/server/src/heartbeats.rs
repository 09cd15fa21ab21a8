//! `HeartbeatBatcher`: heartbeats answered from memory, written in batches.
//!
//! At 30 s per bot, 600k bots send 20,000 heartbeats a second; a database read and write
//! for each would saturate the database. Instead each replica keeps a directory of live
//! bots (token hash → bot, status, leave signal), loaded once and refreshed every
//! [`FLUSH_INTERVAL`] from the rows changed since the last refresh, and it collects the
//! latest heartbeat time per bot, written in one statement every [`FLUSH_INTERVAL`].
//! A token missing from the directory (a bot deployed a moment ago) is looked up in the
//! database once.
//!
//! **Invariant:** the database's `last_heartbeat_at` is never more than one flush interval
//! behind, and the monitor flushes its own replica's batch before deciding timeouts; an
//! answer (leave signal, status) reflects the database as of the last refresh, at most
//! one flush interval ago — or fresher, since local changes evict the bot's entry.

use chrono::{DateTime, Duration, Utc};
use meeboter_core::BotStatus;
use meeboter_db::bots::{self, DirectoryEntry};
use meeboter_db::{Db, DbError, DbResult};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::Notify;

/// How often batched heartbeats are written and the directory refreshed.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_secs(1);
/// Overlap of incremental refreshes, covering clock skew between replicas and
/// transactions that commit a little after the time they stamped.
const REFRESH_OVERLAP: Duration = Duration::seconds(5);

/// What a heartbeat answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    pub bot_id: String,
    pub status: BotStatus,
    pub leave_reason: Option<String>,
}

#[derive(Default)]
struct Directory {
    by_token: HashMap<String, Beat>,
    token_of: HashMap<String, String>,
    refreshed_at: Option<DateTime<Utc>>,
}

impl Directory {
    fn remove_bot(&mut self, bot_id: &str) {
        if let Some(token) = self.token_of.remove(bot_id) {
            self.by_token.remove(&token);
        }
    }

    fn apply(&mut self, entry: DirectoryEntry) {
        self.remove_bot(&entry.bot_id);
        let Some(token) = entry.token_hash else { return };
        if entry.status.is_terminal() {
            return;
        }
        let beat = to_beat(&entry.bot_id, entry.status, entry.leave_requested, entry.leave_reason);
        self.token_of.insert(entry.bot_id.clone(), token.clone());
        self.by_token.insert(token, beat);
    }
}

fn to_beat(bot_id: &str, status: BotStatus, leave_requested: bool, reason: Option<String>) -> Beat {
    Beat {
        bot_id: bot_id.to_string(),
        status,
        leave_reason: meeboter_core::bot::leave_instruction(status, leave_requested, reason),
    }
}

#[derive(Default)]
pub struct HeartbeatBatcher {
    directory: RwLock<Directory>,
    pending: Mutex<HashMap<String, DateTime<Utc>>>,
    bell: CommandBell,
}

/// Wakes the bots waiting on `GET /api/bot/v1/commands` when something they must act on
/// may have changed: rung on this replica by whatever changes a bot (status, leave, chat;
/// every such path already calls [`HeartbeatBatcher::forget`]) and, for changes made on
/// other replicas, by the directory refresh that sees them (at most [`FLUSH_INTERVAL`]
/// later). A ring only makes a waiter look again in the database, so a spurious one is
/// harmless and a missed one costs at most one refresh interval.
#[derive(Default)]
pub struct CommandBell {
    waiting: Mutex<HashMap<String, (Arc<Notify>, usize)>>,
}

/// A bot's place at the [`CommandBell`]; leaves it when dropped.
pub struct BellWaiter<'a> {
    bell: &'a CommandBell,
    bot_id: String,
    pub notify: Arc<Notify>,
}

impl CommandBell {
    /// Registers a waiter for `bot_id` (several may wait: a bot's retried request).
    pub fn wait_for(&self, bot_id: &str) -> BellWaiter<'_> {
        let mut waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        let entry = waiting
            .entry(bot_id.to_string())
            .or_insert_with(|| (Arc::new(Notify::new()), 0));
        entry.1 += 1;
        BellWaiter {
            bell: self,
            bot_id: bot_id.to_string(),
            notify: entry.0.clone(),
        }
    }

    /// Wakes whoever waits for `bot_id` (nobody: nothing happens).
    pub fn ring(&self, bot_id: &str) {
        let waiting = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((notify, _)) = waiting.get(bot_id) {
            notify.notify_waiters();
        }
    }

    /// How many bots have a waiter (diagnostics and tests).
    pub fn waiting(&self) -> usize {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for BellWaiter<'_> {
    fn drop(&mut self) {
        let mut waiting = self.bell.waiting.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(entry) = waiting.get_mut(&self.bot_id) {
            entry.1 -= 1;
            if entry.1 == 0 {
                waiting.remove(&self.bot_id);
            }
        }
    }
}

impl HeartbeatBatcher {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a heartbeat for the bot holding `token_hash`. `None` if no bot holds it.
    pub async fn beat(&self, db: &Db, token_hash: &str, now: DateTime<Utc>) -> DbResult<Option<Beat>> {
        let known = self
            .directory
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .by_token
            .get(token_hash)
            .cloned();
        let beat = match known {
            Some(b) => b,
            None => {
                let mut conn = db.pool().acquire().await.map_err(DbError::from)?;
                let Some(bot) = bots::find_by_token_hash(&mut conn, token_hash).await? else {
                    return Ok(None);
                };
                let entry = DirectoryEntry {
                    bot_id: bot.id.clone(),
                    token_hash: Some(token_hash.to_string()),
                    status: bot.status,
                    leave_requested: bot.leave_requested_at.is_some(),
                    leave_reason: bot.leave_reason.clone(),
                };
                self.directory.write().unwrap_or_else(|p| p.into_inner()).apply(entry);
                to_beat(&bot.id, bot.status, bot.leave_requested_at.is_some(), bot.leave_reason)
            }
        };
        if !beat.status.is_terminal() {
            self.pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(beat.bot_id.clone(), now);
        }
        Ok(Some(beat))
    }

    /// Evicts a bot whose status, leave signal or commands just changed on this replica,
    /// and wakes its command waiters.
    pub fn forget(&self, bot_id: &str) {
        self.directory
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove_bot(bot_id);
        self.bell.ring(bot_id);
    }

    /// Where bots wait for commands.
    pub fn bell(&self) -> &CommandBell {
        &self.bell
    }

    /// Writes pending heartbeats, then refreshes the directory; returns how many were written.
    pub async fn flush(&self, db: &Db, now: DateTime<Utc>) -> DbResult<usize> {
        let beats: Vec<(String, DateTime<Utc>)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.drain().collect()
        };
        if !beats.is_empty() {
            let written = async {
                let mut tx = db.begin_write().await?;
                bots::heartbeat_many(&mut tx, &beats).await?;
                tx.commit().await.map_err(DbError::from)
            }
            .await;
            if let Err(e) = written {
                // Keep them for the next flush; newer beats win.
                let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
                for (id, at) in beats {
                    pending.entry(id).or_insert(at);
                }
                return Err(e);
            }
        }
        self.refresh(db, now).await?;
        Ok(beats.len())
    }

    async fn refresh(&self, db: &Db, now: DateTime<Utc>) -> DbResult<()> {
        let since = self.directory.read().unwrap_or_else(|p| p.into_inner()).refreshed_at;
        let mut conn = db.pool().acquire().await.map_err(DbError::from)?;
        let (full, entries) = match since {
            None => (true, bots::live_directory(&mut conn).await?),
            Some(t) => (false, bots::directory_changes(&mut conn, t - REFRESH_OVERLAP).await?),
        };
        drop(conn);
        let mut dir = self.directory.write().unwrap_or_else(|p| p.into_inner());
        if full {
            *dir = Directory::default();
        }
        let changed: Vec<String> = entries.iter().map(|e| e.bot_id.clone()).collect();
        for entry in entries {
            dir.apply(entry);
        }
        dir.refreshed_at = Some(now);
        drop(dir);
        // Changes made on other replicas (or by this one's workers) reach waiting bots here.
        for bot_id in changed {
            self.bell.ring(&bot_id);
        }
        Ok(())
    }
}

//! Reports that must survive an API outage — statuses, events, chat results, screenshots —
//! go through one ordered, bounded queue that a single task drains.
//!
//! The driver never waits on the network for them: a report is queued and the bot goes on
//! watching the meeting. The queue keeps order (a status is never overtaken by a later
//! one), retries with backoff for as long as the bot runs, and is bounded: statuses and
//! chat results are always kept (there are few), while meeting events and screenshots drop
//! their oldest entries past a limit and say so in a log event. A 401 means the server has
//! ended the bot: the queue is discarded.

use crate::control::{ControlClient, ControlError, HeartbeatReply};
use crate::driver::{Channel, OutgoingChat};
use async_trait::async_trait;
use rand::Rng;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};

/// Meeting events kept while the control channel is unreachable (~ a long meeting's roster
/// and chat; logs are the first to go).
pub const MAX_BUFFERED_EVENTS: usize = 10_000;
/// Screenshots kept while the control channel is unreachable.
pub const MAX_BUFFERED_SCREENSHOTS: usize = 3;
/// Events per request (the server takes at most 500).
const EVENTS_PER_BATCH: usize = 500;

#[derive(Debug, Clone)]
enum Item {
    Status {
        status: String,
        sub_code: Option<String>,
        message: Option<String>,
    },
    Events(Vec<Value>),
    ChatResult {
        id: String,
        error: Option<String>,
    },
    Screenshot {
        kind: String,
        jpeg: Vec<u8>,
    },
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    /// The front item is being sent: it must not be merged into or dropped.
    sending_front: bool,
    /// Set once the server refused the token; nothing more is sent.
    refused: bool,
    dropped_events: usize,
    dropped_screenshots: usize,
}

impl Queue {
    fn first_droppable(&self, matches: impl Fn(&Item) -> bool) -> Option<usize> {
        let skip = usize::from(self.sending_front);
        self.items.iter().skip(skip).position(matches).map(|i| i + skip)
    }

    fn event_count(&self) -> usize {
        self.items
            .iter()
            .map(|i| match i {
                Item::Events(e) => e.len(),
                _ => 0,
            })
            .sum()
    }

    fn push(&mut self, item: Item) {
        if self.refused {
            return;
        }
        match item {
            Item::Events(events) => {
                let last_is_free = self.items.len() > usize::from(self.sending_front);
                if let (true, Some(Item::Events(last))) = (last_is_free, self.items.back_mut())
                    && last.len() + events.len() <= EVENTS_PER_BATCH
                {
                    last.extend(events);
                } else {
                    self.items.push_back(Item::Events(events));
                }
                while self.event_count() > MAX_BUFFERED_EVENTS {
                    let Some(i) = self.first_droppable(|i| matches!(i, Item::Events(_))) else {
                        break;
                    };
                    if let Some(Item::Events(e)) = self.items.remove(i) {
                        self.dropped_events += e.len();
                    }
                }
            }
            Item::Screenshot { .. } => {
                let count = self
                    .items
                    .iter()
                    .filter(|i| matches!(i, Item::Screenshot { .. }))
                    .count();
                if count >= MAX_BUFFERED_SCREENSHOTS
                    && let Some(i) = self.first_droppable(|i| matches!(i, Item::Screenshot { .. }))
                {
                    self.items.remove(i);
                    self.dropped_screenshots += 1;
                }
                self.items.push_back(item);
            }
            other => self.items.push_back(other),
        }
    }
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Notify,
    /// How many items wait (0 = everything delivered or discarded).
    pending: watch::Sender<usize>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn publish(&self, q: &Queue) {
        self.pending.send_replace(q.items.len());
    }
}

/// The control channel with an outbox in front of it (see the module docs).
pub struct Outbox {
    client: ControlClient,
    shared: Arc<Shared>,
    worker: tokio::task::JoinHandle<()>,
}

impl Outbox {
    /// Starts the task that drains the queue through `client`.
    pub fn start(client: ControlClient) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            pending: watch::channel(0).0,
        });
        let worker = tokio::spawn(drain(client.clone(), shared.clone()));
        Self { client, shared, worker }
    }

    fn push(&self, item: Item) {
        let mut q = self.shared.lock();
        q.push(item);
        self.shared.publish(&q);
        drop(q);
        self.shared.wake.notify_one();
    }

    /// Queues events (also usable for log lines) without waiting.
    pub fn push_events(&self, events: Vec<Value>) {
        if !events.is_empty() {
            self.push(Item::Events(events));
        }
    }

    /// How many reports wait to be delivered.
    pub fn pending(&self) -> usize {
        *self.shared.pending.borrow()
    }

    /// Waits until everything queued is delivered (or discarded), at most `within`; returns
    /// whether the queue is empty. Then stops the sender.
    pub async fn close(self, within: Duration) -> bool {
        let mut pending = self.shared.pending.subscribe();
        let emptied = tokio::time::timeout(within, pending.wait_for(|n| *n == 0)).await;
        self.worker.abort();
        matches!(emptied, Ok(Ok(_)))
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        self.worker.abort();
    }
}

async fn send(client: &ControlClient, item: &Item) -> Result<(), ControlError> {
    match item {
        Item::Status {
            status,
            sub_code,
            message,
        } => client
            .report_status(status, sub_code.as_deref(), message.as_deref())
            .await
            .map(|_| ()),
        Item::Events(events) => client.events(events).await,
        Item::ChatResult { id, error } => client.chat_result(id, error.as_deref()).await,
        Item::Screenshot { kind, jpeg } => client.screenshot(kind, jpeg.clone()).await,
    }
}

async fn drain(client: ControlClient, shared: Arc<Shared>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        let front = {
            let mut q = shared.lock();
            let dropped = std::mem::take(&mut q.dropped_events);
            let dropped_shots = std::mem::take(&mut q.dropped_screenshots);
            if dropped > 0 || dropped_shots > 0 {
                let message = format!(
                    "the control channel was unreachable: {dropped} meeting event(s) and {dropped_shots} screenshot(s) were dropped"
                );
                q.push(Item::Events(vec![
                    json!({"type": "log", "level": "WARN", "message": message}),
                ]));
            }
            q.sending_front = !q.items.is_empty();
            q.items.front().cloned()
        };
        let Some(item) = front else {
            shared.wake.notified().await;
            continue;
        };
        let outcome = send(&client, &item).await;
        let unreachable = {
            let mut q = shared.lock();
            q.sending_front = false;
            let unreachable = match outcome {
                Ok(()) => {
                    q.items.pop_front();
                    backoff = Duration::from_millis(500);
                    None
                }
                Err(ControlError::Unauthorized(reason)) => {
                    tracing::info!(%reason, "the server no longer accepts this bot's reports; discarding the outbox");
                    q.refused = true;
                    q.items.clear();
                    None
                }
                Err(e @ (ControlError::Rejected { .. } | ControlError::Conflict { .. })) => {
                    // Retrying cannot change the answer.
                    tracing::warn!(error = %e, "a report was refused; skipping it");
                    q.items.pop_front();
                    None
                }
                Err(ControlError::Unreachable(reason)) => Some(reason),
            };
            shared.publish(&q);
            unreachable
        };
        if let Some(reason) = unreachable {
            tracing::debug!(%reason, "control channel unreachable; keeping the reports");
            let jittered = backoff.mul_f64(rand::rng().random_range(0.5..1.5));
            tokio::time::sleep(jittered).await;
            backoff = (backoff * 2).min(Duration::from_secs(15));
        }
    }
}

#[async_trait]
impl Channel for Outbox {
    async fn report_status(
        &self,
        status: &str,
        sub_code: Option<&str>,
        message: Option<&str>,
    ) -> Result<String, ControlError> {
        self.push(Item::Status {
            status: status.to_string(),
            sub_code: sub_code.map(str::to_string),
            message: message.map(str::to_string),
        });
        Ok(status.to_string())
    }
    async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError> {
        self.client.heartbeat().await
    }
    async fn events(&self, events: &[Value]) -> Result<(), ControlError> {
        self.push_events(events.to_vec());
        Ok(())
    }
    async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError> {
        self.client.next_chat().await
    }
    async fn chat_result(&self, id: &str, error: Option<&str>) -> Result<(), ControlError> {
        self.push(Item::ChatResult {
            id: id.to_string(),
            error: error.map(str::to_string),
        });
        Ok(())
    }
    async fn screenshot(&self, kind: &str, jpeg: Vec<u8>) -> Result<(), ControlError> {
        self.push(Item::Screenshot {
            kind: kind.to_string(),
            jpeg,
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> Value {
        json!({"type": "log", "level": "INFO", "message": format!("line {n}")})
    }

    #[test]
    fn events_are_merged_into_batches_and_bounded() {
        let mut q = Queue::default();
        q.push(Item::Status {
            status: "IN_CALL".into(),
            sub_code: None,
            message: None,
        });
        for n in 0..MAX_BUFFERED_EVENTS + 1_000 {
            q.push(Item::Events(vec![event(n)]));
        }
        assert_eq!(q.event_count(), MAX_BUFFERED_EVENTS);
        assert_eq!(q.dropped_events, 1_000);
        // The status is never dropped, and batches stay within the server's limit.
        assert!(matches!(q.items.front(), Some(Item::Status { .. })));
        assert!(q.items.iter().all(|i| match i {
            Item::Events(e) => e.len() <= EVENTS_PER_BATCH,
            _ => true,
        }));
    }

    #[test]
    fn the_item_being_sent_is_neither_merged_into_nor_dropped() {
        let mut q = Queue::default();
        q.push(Item::Events(vec![event(0)]));
        q.sending_front = true;
        q.push(Item::Events(vec![event(1)]));
        assert_eq!(q.items.len(), 2, "not merged into the batch in flight");
        for n in 0..4 {
            q.push(Item::Screenshot {
                kind: format!("s{n}"),
                jpeg: vec![],
            });
        }
        let shots: Vec<_> = q
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Screenshot { kind, .. } => Some(kind.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(shots, ["s1", "s2", "s3"], "oldest screenshot dropped");
    }
}

//! The bot's own log lines, streamed to the control channel as `log` events (so they show
//! on the bot in the API and dashboard whatever the platform does with stderr).
//!
//! A [`ForwardLayer`] in the process's tracing subscriber copies INFO-and-above events from
//! Meeboter's own modules into a bounded in-memory buffer; [`forward`] moves them into the
//! outbox every few seconds. The outbox's own messages are not forwarded (no feedback loop).

use crate::outbox::Outbox;
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

/// Lines held while nothing drains them (before the control channel is known).
pub const BUFFERED_LINES: usize = 1_000;
/// How often buffered lines are handed to the outbox.
pub const FORWARD_EVERY: Duration = Duration::from_secs(2);

/// Log lines waiting to be forwarded.
#[derive(Default)]
pub struct LogBuffer {
    lines: Mutex<VecDeque<Value>>,
    dropped: AtomicUsize,
}

impl LogBuffer {
    fn push(&self, line: Value) {
        let mut lines = self.lines.lock().unwrap_or_else(|p| p.into_inner());
        if lines.len() >= BUFFERED_LINES {
            lines.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        lines.push_back(line);
    }

    /// Everything buffered, oldest first, with a note of what was dropped.
    pub fn drain(&self) -> Vec<Value> {
        let mut out: Vec<Value> = self.lines.lock().unwrap_or_else(|p| p.into_inner()).drain(..).collect();
        let dropped = self.dropped.swap(0, Ordering::Relaxed);
        if dropped > 0 {
            out.insert(
                0,
                json!({"type": "log", "level": "WARN", "message": format!("{dropped} earlier log line(s) were dropped")}),
            );
        }
        out
    }
}

/// The process-wide buffer the layer writes to.
pub static LOG_BUFFER: LazyLock<LogBuffer> = LazyLock::new(LogBuffer::default);

/// A tracing layer that copies the bot's log events into [`LOG_BUFFER`].
#[derive(Debug, Default, Clone, Copy)]
pub struct ForwardLayer;

struct Message(String);

impl Visit for Message {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.push_str(value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}

/// Whether an event is worth forwarding: Meeboter's own, INFO or above, not the outbox's.
fn forwarded(level: &Level, target: &str) -> bool {
    meeboter_core::bot::bot_forwards_log_line(level.as_str(), target)
}

impl<S: Subscriber> Layer<S> for ForwardLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let meta = event.metadata();
        if !forwarded(meta.level(), meta.target()) {
            return;
        }
        let mut message = Message(String::new());
        event.record(&mut message);
        let mut text = message.0.trim().to_string();
        if text.len() > 4_000 {
            let mut cut = 4_000;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
        }
        LOG_BUFFER.push(json!({"type": "log", "level": meta.level().as_str(), "message": text}));
    }
}

/// Moves buffered log lines into `outbox` every [`FORWARD_EVERY`] until aborted.
pub fn forward(outbox: Arc<Outbox>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            outbox.push_events(LOG_BUFFER.drain());
            tokio::time::sleep(FORWARD_EVERY).await;
        }
    })
}

/// Hands over whatever is buffered now (at exit, before the outbox is flushed).
pub fn forward_now(outbox: &Outbox) {
    outbox.push_events(LOG_BUFFER.drain());
}

#[cfg(test)]
mod tests {
    use super::*;
    use tracing_subscriber::prelude::*;

    #[test]
    fn only_the_bots_own_lines_at_info_and_above_are_forwarded() {
        assert!(forwarded(&Level::WARN, "meeboter_bot::runtime"));
        assert!(forwarded(&Level::INFO, "meeboter_bot::driver"));
        assert!(!forwarded(&Level::DEBUG, "meeboter_bot::driver"));
        assert!(!forwarded(&Level::WARN, "chromiumoxide::conn"));
        assert!(!forwarded(&Level::WARN, "meeboter_bot::outbox"));
    }

    #[test]
    fn events_are_captured_with_their_fields_and_bounded() {
        let subscriber = tracing_subscriber::registry().with(ForwardLayer);
        tracing::subscriber::with_default(subscriber, || {
            LOG_BUFFER.drain();
            tracing::warn!(target: "meeboter_bot::driver", message_id = "m1", "could not post");
            tracing::debug!(target: "meeboter_bot::driver", "not forwarded");
            let lines = LOG_BUFFER.drain();
            assert_eq!(lines.len(), 1, "{lines:?}");
            assert_eq!(lines[0]["level"], "WARN");
            assert_eq!(lines[0]["message"], "could not post message_id=m1");
            for n in 0..BUFFERED_LINES + 5 {
                tracing::info!(target: "meeboter_bot::driver", n, "line");
            }
            let lines = LOG_BUFFER.drain();
            assert_eq!(lines.len(), BUFFERED_LINES + 1);
            assert!(lines[0]["message"].as_str().unwrap().contains("5 earlier log line(s)"));
        });
    }
}

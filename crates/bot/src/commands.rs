//! Commands pushed to the bot: one long poll (`GET commands`) always open, so a user's
//! leave or chat reaches the bot within a second instead of at its next heartbeat.
//!
//! The listener turns answers into a [`watch`] value the driver looks at between looks at
//! the page (and wakes on while it sleeps). The heartbeat's `leave` stays the fallback: a
//! server without this endpoint, or one that cannot be reached, still stops the bot.

use crate::control::{ControlClient, ControlError};
use rand::Rng;
use std::time::Duration;
use tokio::sync::watch;

/// How long each poll is held open by the server.
pub const POLL_WAIT: Duration = Duration::from_secs(25);

/// What the driver must act on, as last heard from the server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pushed {
    /// Leave now, for this reason (final: the listener stops after it).
    pub leave: Option<String>,
    /// Chat messages wait to be claimed; bumped on each answer that says so.
    pub chat_rounds: u64,
    /// The server refused the token: the bot has ended there (leave without reporting).
    pub ended: Option<String>,
}

/// Starts the listener; the returned receiver changes whenever there is something to do.
pub fn listen(control: ControlClient) -> (watch::Receiver<Pushed>, tokio::task::JoinHandle<()>) {
    let (tx, rx) = watch::channel(Pushed::default());
    let task = tokio::spawn(async move {
        let mut failures: u32 = 0;
        loop {
            match control.commands(POLL_WAIT).await {
                Ok(c) if c.leave => {
                    let reason = c.reason.unwrap_or_else(|| "user_requested".into());
                    tracing::info!(%reason, "the server asks the bot to leave");
                    tx.send_modify(|p| p.leave = Some(reason));
                    return;
                }
                Ok(c) => {
                    failures = 0;
                    if c.chat_pending {
                        tx.send_modify(|p| p.chat_rounds += 1);
                        // The driver claims the queue now; ask again once it has had a moment,
                        // or this loop would spin while the messages are being posted.
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
                Err(ControlError::Unauthorized(message)) => {
                    tx.send_modify(|p| p.ended = Some(message));
                    return;
                }
                Err(ControlError::Rejected { status: 404 | 405, .. }) => {
                    tracing::info!("the server has no command channel; relying on heartbeats");
                    return;
                }
                Err(e) => {
                    // Unreachable or refused for now: back off (jittered, up to 10 s); the
                    // heartbeat carries the leave meanwhile.
                    failures = failures.saturating_add(1);
                    let base = Duration::from_millis(500) * 2u32.saturating_pow(failures.min(5));
                    let wait = base
                        .min(Duration::from_secs(10))
                        .mul_f64(rand::rng().random_range(0.5..1.0));
                    tracing::debug!(error = %e, ?wait, "command poll failed");
                    tokio::time::sleep(wait).await;
                }
            }
        }
    });
    (rx, task)
}

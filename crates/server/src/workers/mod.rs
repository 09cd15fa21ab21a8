//! Background work: lifecycle monitors and the scheduler (one replica at a time, under
//! a lease) and webhook delivery (every replica, claiming rows).

pub mod deliverer;
pub mod monitor;

use crate::AppState;
use std::time::Duration;
use tokio::sync::watch;

/// Runs every worker until `shutdown` flips to true.
pub fn spawn(state: AppState, shutdown: watch::Receiver<bool>) -> Vec<tokio::task::JoinHandle<()>> {
    let holder = format!("{}-{}", hostname(), meeboter_core::new_id().simple());
    let monitor_state = state.clone();
    let mut monitor_shutdown = shutdown.clone();
    let monitor = tokio::spawn(async move {
        let every = Duration::from_secs(monitor_state.config.monitor_interval_secs);
        loop {
            if let Err(e) = monitor::run_once(&monitor_state, &holder).await {
                tracing::warn!(error = %e, "monitor run failed; retrying next interval");
            }
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = monitor_shutdown.changed() => break,
            }
        }
    });
    let state_for_flush = state.clone();
    let flush_stop = shutdown.clone();
    let mut deliver_shutdown = shutdown;
    let deliverer = tokio::spawn(async move {
        let client = crate::webhook_client::client(state.config.webhook_allow_private);
        loop {
            let busy = match deliverer::run_once(&state, &client).await {
                Ok(n) => n > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook delivery run failed");
                    false
                }
            };
            let pause = if busy {
                Duration::from_millis(10)
            } else {
                Duration::from_millis(500)
            };
            tokio::select! {
                _ = tokio::time::sleep(pause) => {}
                _ = deliver_shutdown.changed() => break,
            }
        }
    });
    let flush_state = state_for_flush;
    let mut flush_shutdown = flush_stop;
    let flusher = tokio::spawn(async move {
        loop {
            tokio::select! {
                _ = tokio::time::sleep(crate::heartbeats::FLUSH_INTERVAL) => {}
                _ = flush_shutdown.changed() => {
                    let _ = flush_state.heartbeats.flush(&flush_state.db, flush_state.now()).await;
                    break;
                }
            }
            if let Err(e) = flush_state.heartbeats.flush(&flush_state.db, flush_state.now()).await {
                tracing::warn!(error = %e, "heartbeat flush failed; will retry");
            }
        }
    });
    vec![monitor, deliverer, flusher]
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "meeboter".into())
}

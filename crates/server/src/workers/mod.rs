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
    let sweep_holder = holder.clone();
    let media_holder = holder.clone();
    let media_state = state.clone();
    let mut media_shutdown = shutdown.clone();
    let transcription_state = state.clone();
    let realtime_state = state.clone();
    let mut realtime_shutdown = shutdown.clone();
    let mut transcription_shutdown = shutdown.clone();
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
    let state_for_dispatch = state.clone();
    let dispatch_stop = shutdown.clone();
    let state_for_upkeep = state.clone();
    let state_for_release = state.clone();
    let release_stop = shutdown.clone();
    let upkeep_stop = shutdown.clone();
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
    let dispatch_state = state_for_dispatch;
    let mut dispatch_shutdown = dispatch_stop;
    let dispatcher = tokio::spawn(async move {
        loop {
            if let Err(e) = crate::deployment::dispatcher::dispatch_once(&dispatch_state).await {
                tracing::warn!(error = %e, "dispatch failed; retrying");
            }
            // At most ~100 passes a second under a storm of creates: wake-ups coalesce while
            // we pause, and a freed slot still waits at most this long.
            tokio::time::sleep(Duration::from_millis(10)).await;
            tokio::select! {
                _ = dispatch_state.deployer.woken(Duration::from_secs(1)) => {}
                _ = dispatch_shutdown.changed() => break,
            }
        }
    });
    let upkeep_state = state_for_upkeep;
    let mut upkeep_shutdown = upkeep_stop;
    let upkeep = tokio::spawn(async move {
        loop {
            if let Err(e) = crate::deployment::reconciler::reconcile_once(&upkeep_state).await {
                tracing::warn!(error = %e, "reconciling platforms failed; retrying");
            }
            if let Err(e) = crate::deployment::reconciler::sweep_orphans(&upkeep_state, &sweep_holder).await {
                tracing::warn!(error = %e, "sweeping orphan instances failed; retrying");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = upkeep_shutdown.changed() => break,
            }
        }
    });
    let release_state = state_for_release;
    let mut release_shutdown = release_stop;
    let releaser = tokio::spawn(async move {
        loop {
            if let Err(e) = crate::deployment::releaser::release_once(&release_state).await {
                tracing::warn!(error = %e, "releasing bot resources failed; retrying");
            }
            tokio::select! {
                _ = release_state.deployer.release_woken(Duration::from_millis(500)) => {}
                _ = release_shutdown.changed() => break,
            }
        }
    });
    let media = tokio::spawn(async move {
        loop {
            match crate::media::run_once(&media_state, &media_holder).await {
                Ok(report) if report != crate::media::MediaReport::default() => {
                    tracing::debug!(?report, "media pass");
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "media pass failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                _ = media_shutdown.changed() => break,
            }
        }
    });
    let transcription = tokio::spawn(async move {
        let tuning = crate::transcription_worker::Tuning::default();
        loop {
            match crate::transcription_worker::run_once(&transcription_state, &tuning).await {
                Ok(report) if report != Default::default() => tracing::debug!(?report, "transcription pass"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "transcription pass failed; retrying"),
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(3)) => {}
                _ = transcription_shutdown.changed() => break,
            }
        }
    });
    // Real-time segments: polled often (latency from speech to utterance counts), cheap
    // when idle (one indexed query).
    let realtime = tokio::spawn(async move {
        let tuning = crate::realtime_transcription::Tuning::default();
        loop {
            let busy = match crate::realtime_transcription::run_once(&realtime_state, &tuning).await {
                Ok(report) if !report.is_empty() => {
                    tracing::debug!(?report, "real-time transcription pass");
                    report.segments > 0
                }
                Ok(_) => false,
                Err(e) => {
                    tracing::warn!(error = %e, "real-time transcription pass failed; retrying");
                    false
                }
            };
            let pause = if busy { 50 } else { 250 };
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(pause)) => {}
                _ = realtime_shutdown.changed() => break,
            }
        }
    });
    vec![
        monitor,
        realtime,
        deliverer,
        flusher,
        dispatcher,
        upkeep,
        releaser,
        media,
        transcription,
    ]
}

fn hostname() -> String {
    std::env::var("HOSTNAME").unwrap_or_else(|_| "meeboter".into())
}

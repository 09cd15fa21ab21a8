//! `meeboter bot`: one bot from start to exit.
//!
//! Exit codes: 0 the bot ended normally (`ENDED`); 1 it failed (`FATAL`, reported with the
//! reason); 2 the environment is invalid (nothing reported: there is no channel to report
//! to); 3 the control channel refused the token or was unreachable.
//!
//! With `RECORDING_MODE` `audio` or `video`, a [`Recorder`] is prepared before Chromium
//! (which then runs headful on its display), records from `IN_CALL` to leaving, and is
//! flushed after the driver within the same budget as the reports ([`flush_deadline`]:
//! the platform's stop grace less a margin, or [`FLUSH_WITHIN`]).

use crate::browser::{self, LaunchOptions};
use crate::control::{BotConfig, ControlClient};
use crate::driver::{self, Channel, DriverSettings};
use crate::env::BotEnv;
use crate::logs;
use crate::outbox::Outbox;
use crate::procstat;
use crate::providers::{ClientSpec, WebClient, meet::MEET, teams::TEAMS, zoom::ZOOM};
use crate::recorder::tap::TapSettings;
use crate::recorder::{RECORDING_FAILED, Recorder};
use meeboter_core::MeetingPlatform;
use meeboter_core::lifecycle::sub_code;
use std::sync::Arc;
use std::time::Duration;

/// The web client for a meeting platform.
fn spec_for(platform: MeetingPlatform) -> &'static ClientSpec {
    match platform {
        MeetingPlatform::GoogleMeet => &MEET,
        MeetingPlatform::MicrosoftTeams => &TEAMS,
        MeetingPlatform::Zoom => &ZOOM,
    }
}

/// Runs a bot from the process environment; returns the exit code.
pub async fn run_from_env() -> i32 {
    let env = match BotEnv::from_process() {
        Ok(env) => env,
        Err(problems) => {
            // eprintln! would panic on a closed stderr; a bot must not crash on its logs.
            let text = format!(
                "meeboter bot: cannot start, the environment has {} problem(s):\n{}\n",
                problems.len(),
                problems
                    .iter()
                    .map(|p| format!("  - {p}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), text.as_bytes());
            return 2;
        }
    };
    run(env).await
}

/// How often the bot logs what it and its browser and recorder cost.
const USAGE_LOG_EVERY: Duration = Duration::from_secs(60);

/// How long a stopping bot may take to deliver what it still holds when the server does
/// not say how long the platform waits (`stopGraceSecs` in `GET config`).
pub const FLUSH_WITHIN: Duration = Duration::from_secs(20);

/// Kept free at the end of the platform's stop grace: the last reports go out in it.
pub const STOP_GRACE_MARGIN: Duration = Duration::from_secs(5);

/// The longest flush, whatever the platform allows: the server assembles a recording
/// without the bot's `finish` 60 s after the bot ended.
pub const MAX_FLUSH: Duration = Duration::from_secs(50);

/// When what the bot still holds (recording chunks, reports) must be delivered by, for a
/// flush starting at `now`: within the platform's stop grace less [`STOP_GRACE_MARGIN`],
/// counted from the stop request (`stop_requested`; else from `now`: a bot that leaves on
/// its own is stopped once it reports its end), at most [`MAX_FLUSH`] and at least 2 s;
/// [`FLUSH_WITHIN`] when the grace is unknown. A storage outage thus holds the recording's
/// last chunks on disk and retries for as long as the platform lets the bot live.
pub fn flush_deadline(
    now: tokio::time::Instant,
    stop_grace: Option<Duration>,
    stop_requested: Option<tokio::time::Instant>,
) -> tokio::time::Instant {
    let Some(grace) = stop_grace else {
        return now + FLUSH_WITHIN;
    };
    let from = stop_requested.unwrap_or(now).min(now);
    let by = from + grace.saturating_sub(STOP_GRACE_MARGIN).min(MAX_FLUSH);
    by.max(now + Duration::from_secs(2))
}

/// Runs one bot with `env`; returns the exit code (see the module docs).
pub async fn run(env: BotEnv) -> i32 {
    let control = ControlClient::new(&env.callback_url, &env.token);
    let config = match control.config().await {
        Ok(c) => c,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the bot's configuration");
            return 3;
        }
    };
    let outbox = Arc::new(Outbox::start(control.clone()));
    let log_forwarder = logs::forward(outbox.clone());
    let usage_log = tokio::spawn(procstat::log_usage_every(USAGE_LOG_EVERY));
    let (code, flush_by) = run_with(&env, &config, &control, outbox.as_ref()).await;
    usage_log.abort();
    // Everything queued is delivered before the process exits.
    log_forwarder.abort();
    let _ = log_forwarder.await;
    logs::forward_now(&outbox);
    // The outbox has been sending all along; it gets what is left of the same budget.
    let remaining = flush_by.saturating_duration_since(tokio::time::Instant::now());
    let delivered = match Arc::try_unwrap(outbox) {
        Ok(outbox) => outbox.close(remaining).await,
        Err(_) => false,
    };
    if !delivered {
        tracing::warn!("some reports could not be delivered before exit");
    }
    code
}

/// Runs the bot until it has left; returns the exit code and the deadline for delivering
/// what is still queued (the recording is flushed by then already).
async fn run_with(
    env: &BotEnv,
    config: &BotConfig,
    control: &ControlClient,
    outbox: &Outbox,
) -> (i32, tokio::time::Instant) {
    let stop_grace = config.stop_grace_secs.map(Duration::from_secs);
    let stop_requested = Arc::new(std::sync::OnceLock::<tokio::time::Instant>::new());
    let flush_by = || flush_deadline(tokio::time::Instant::now(), stop_grace, stop_requested.get().copied());
    let fail = async |code: &str, message: String| {
        tracing::error!(sub_code = code, %message, "bot failed");
        let _ = outbox.report_status("FATAL", Some(code), Some(&message)).await;
        (1, flush_by())
    };
    let spec = spec_for(env.platform);
    let chromium = match browser::find_chromium(env.chromium_path.as_deref()) {
        Ok(path) => path,
        Err(e) => return fail(sub_code::BROWSER_MISSING, e.to_string()).await,
    };
    // The browser profile and the recording parts live in the temporary directory: a
    // read-only or full one is named here, not discovered as a browser that "crashed".
    if let Err(e) = tempfile::tempfile() {
        let dir = std::env::temp_dir();
        return fail(
            sub_code::TEMP_DIR_UNWRITABLE,
            format!(
                "cannot write in the temporary directory {} (TMPDIR): {e}",
                dir.display()
            ),
        )
        .await;
    }
    // Before Chromium: the screen it draws on and the sound server it plays into.
    // Real-time transcription taps the same sound server (the server only allows it for
    // bots that record).
    let streams_audio = config.transcription.as_ref().is_some_and(|t| t.streams_audio());
    let recorder = if env.recording.records() {
        match Recorder::prepare(env.recording, control.clone()).await {
            Ok(r) if streams_audio => Some(r.with_audio_tap(TapSettings::default())),
            Ok(r) => Some(r),
            Err(e) => return fail(RECORDING_FAILED, e.to_string()).await,
        }
    } else {
        None
    };
    let options = match &recorder {
        Some(r) => LaunchOptions::recording(r.window_size(), r.browser_env(), &env.browser_extra_args),
        None => LaunchOptions::headless(&env.browser_extra_args),
    };
    let running = match browser::launch_with(&chromium, &options).await {
        Ok(b) => b,
        Err(e) => return fail(sub_code::BROWSER_CRASHED, e.to_string()).await,
    };
    let page = match running.browser.new_page("about:blank").await {
        Ok(p) => p,
        Err(e) => return fail(sub_code::BROWSER_CRASHED, format!("cannot open a tab: {e}")).await,
    };
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let requested = stop_requested.clone();
    let signals = tokio::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        let _ = requested.set(tokio::time::Instant::now());
        tracing::info!("stop requested; leaving the meeting");
        let _ = stop.send(true);
    });
    let (commands, listener) = crate::commands::listen(control.clone());
    let settings = DriverSettings {
        bot_name: env.bot_name.clone(),
        automatic_leave: config.automatic_leave.clone(),
        heartbeat_every: Duration::from_secs(config.heartbeat_interval_secs.max(1)),
        // A minute past the server's own verdict, so a server that is up answers first (401).
        control_lost_after: Duration::from_secs(config.heartbeat_timeout_secs + 60),
        shutdown,
        notetaker_names: config.notetaker_names.clone(),
        capture: recorder.as_ref().map(Recorder::hook),
        commands: Some(commands),
    };
    let captions = config.transcription.as_ref().is_some_and(|t| t.reads_captions());
    let mut provider = WebClient::new(page, spec, &env.meeting_url).with_captions(captions);
    let outcome = driver::run(&mut provider, outbox, settings).await;
    // The handler stays installed (tokio never uninstalls it): a second SIGTERM while the
    // bot flushes does not cut the flush short; the platform's SIGKILL ends it.
    signals.abort();
    listener.abort();
    let flush_by = flush_by();
    // The browser closes while the recording's last chunks go up.
    tokio::join!(running.close(), async {
        if let Some(recorder) = recorder {
            recorder.finish(flush_by).await;
        }
    });
    tracing::info!(status = outcome.status, sub_code = %outcome.sub_code, "bot finished");
    let code = match outcome.status {
        "ENDED" => 0,
        _ => 1,
    };
    (code, flush_by)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flush_lasts_the_platforms_stop_grace_less_a_margin() {
        let now = tokio::time::Instant::now();
        let secs = Duration::from_secs;
        assert_eq!(flush_deadline(now, None, None), now + FLUSH_WITHIN, "an older server");
        assert_eq!(flush_deadline(now, Some(secs(30)), None), now + secs(25));
        // Counted from the SIGTERM, which came while the bot was still leaving.
        assert_eq!(
            flush_deadline(now, Some(secs(30)), Some(now - secs(10))),
            now + secs(15)
        );
        assert_eq!(flush_deadline(now, Some(secs(600)), None), now + MAX_FLUSH);
        assert_eq!(flush_deadline(now, Some(secs(3)), None), now + secs(2), "at least 2 s");
        assert_eq!(flush_deadline(now, Some(secs(30)), Some(now - secs(60))), now + secs(2));
    }
}

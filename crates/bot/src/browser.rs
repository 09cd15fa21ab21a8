//! Finding and launching Chromium for a meeting bot.

use chromiumoxide::{Browser, BrowserConfig};
use futures::StreamExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Names tried on `PATH` when `CHROMIUM_PATH` is not set.
pub const CANDIDATES: [&str; 5] = [
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
    "chrome",
];

/// How long Chromium may take to start and open its DevTools endpoint.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    #[error("Chromium not found: {0}")]
    NotFound(String),
    #[error("Chromium failed to start: {0}")]
    Launch(String),
}

/// The browser to run: `explicit` (`CHROMIUM_PATH`) if given, else the first candidate on
/// `PATH`.
pub fn find_chromium(explicit: Option<&Path>) -> Result<PathBuf, BrowserError> {
    if let Some(path) = explicit {
        return if path.is_file() {
            Ok(path.to_path_buf())
        } else {
            Err(BrowserError::NotFound(format!(
                "CHROMIUM_PATH {} is not a file",
                path.display()
            )))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in CANDIDATES {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(BrowserError::NotFound(format!(
        "none of {} is on PATH; install Chromium or set CHROMIUM_PATH",
        CANDIDATES.join(", ")
    )))
}

/// How Chromium is started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    /// With a window (needed to record it under Xvfb); headless otherwise.
    pub headful: bool,
    /// Variables added to the browser's environment (`DISPLAY`, `PULSE_SERVER`).
    pub env: Vec<(String, String)>,
    /// The window size, which a recording's screen must match (default 1280×720).
    pub window: Option<(u32, u32)>,
    /// `BROWSER_EXTRA_ARGS`, appended last so they can override the bot's flags.
    pub extra_args: Vec<String>,
}

impl LaunchOptions {
    /// Headless, as a bot that does not record runs.
    pub fn headless(extra_args: &[String]) -> Self {
        Self {
            extra_args: extra_args.to_vec(),
            ..Self::default()
        }
    }

    /// A full-screen window of `window` size on a recorder's display, with `env` (see
    /// `Recorder::browser_env`).
    pub fn recording(window: (u32, u32), env: Vec<(String, String)>, extra_args: &[String]) -> Self {
        Self {
            headful: true,
            env,
            window: Some(window),
            extra_args: extra_args.to_vec(),
        }
    }
}

/// Flags for a window that is recorded: the page fills the screen, with no browser UI,
/// no infobar and no first-run bubbles over the meeting.
pub fn recording_flags((width, height): (u32, u32)) -> Vec<String> {
    vec![
        "--kiosk".into(),
        "--start-fullscreen".into(),
        "--window-position=0,0".into(),
        format!("--window-size={width},{height}"),
        // Hides the "unsupported command-line flag: --no-sandbox" infobar.
        "--test-type".into(),
        "--noerrdialogs".into(),
        "--disable-infobars".into(),
        "--hide-crash-restore-bubble".into(),
    ]
}

/// The command-line flags a meeting bot runs Chromium with (before `BROWSER_EXTRA_ARGS`).
pub fn bot_flags(running_as_root: bool) -> Vec<String> {
    let mut flags: Vec<String> = [
        // Camera and microphone: granted without a prompt, fed from fake devices.
        "--use-fake-ui-for-media-stream",
        "--use-fake-device-for-media-stream",
        // Meeting audio must play without a user gesture (recording captures it).
        "--autoplay-policy=no-user-gesture-required",
        // Containers have a small /dev/shm; Chromium crashes on large pages without this.
        "--disable-dev-shm-usage",
        // No calls home: the network may be closed, and nothing should slow the join.
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--no-first-run",
        "--no-default-browser-check",
        // Keep timers running in a page nobody looks at.
        "--disable-background-timer-throttling",
        "--disable-backgrounding-occluded-windows",
        "--disable-renderer-backgrounding",
        "--window-size=1280,720",
        // Look like a person's browser: no automation switch (chromiumoxide's defaults are not
        // used), no `navigator.webdriver`, an English UI whatever the host's locale.
        "--disable-blink-features=AutomationControlled",
        "--lang=en-US",
        "--accept-lang=en-US,en",
        // What automation defaults usually bring, minus the tells.
        "--disable-breakpad",
        "--disable-client-side-phishing-detection",
        "--disable-component-extensions-with-background-pages",
        "--disable-hang-monitor",
        "--disable-ipc-flooding-protection",
        "--disable-popup-blocking",
        "--disable-prompt-on-repost",
        "--password-store=basic",
        "--use-mock-keychain",
        "--metrics-recording-only",
        "--force-color-profile=srgb",
        "--disable-features=Translate,MediaRouter,OptimizationHints",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    if running_as_root {
        // Chromium refuses to run as root with its sandbox; containers often run as root.
        flags.push("--no-sandbox".into());
    }
    flags
}

fn running_as_root() -> bool {
    // SAFETY-free check: the effective uid is readable from /proc on Linux.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|uid| uid == "0"))
        })
        .unwrap_or(false)
}

/// Chromium keeps only the last `--disable-features` / `--enable-features` (and blink
/// features) it is given, so lists from several sources (ours, `BROWSER_EXTRA_ARGS`) are
/// merged into one flag each, in first-seen order, without duplicates.
pub fn merge_feature_flags(flags: Vec<String>) -> Vec<String> {
    const LISTS: [&str; 4] = [
        "--disable-features=",
        "--enable-features=",
        "--disable-blink-features=",
        "--enable-blink-features=",
    ];
    enum Slot {
        Flag(String),
        /// The merged list of `LISTS[kind]`, at the place of its first occurrence.
        List(usize),
    }
    let mut lists: [Vec<String>; 4] = Default::default();
    let mut placed = [false; 4];
    let mut slots = Vec::new();
    for flag in flags {
        let Some(kind) = LISTS.iter().position(|p| flag.starts_with(p)) else {
            slots.push(Slot::Flag(flag));
            continue;
        };
        if !placed[kind] {
            placed[kind] = true;
            slots.push(Slot::List(kind));
        }
        for value in flag[LISTS[kind].len()..].split(',').map(str::trim) {
            if !value.is_empty() && !lists[kind].iter().any(|v| v == value) {
                lists[kind].push(value.to_string());
            }
        }
    }
    slots
        .into_iter()
        .map(|slot| match slot {
            Slot::Flag(f) => f,
            Slot::List(kind) => format!("{}{}", LISTS[kind], lists[kind].join(",")),
        })
        .collect()
}

/// A running Chromium; dropping it kills the browser and removes its profile.
pub struct RunningBrowser {
    pub browser: Browser,
    handler: tokio::task::JoinHandle<()>,
    /// Set before a polite close: the connection reset that follows is expected, not an error.
    closing: Arc<AtomicBool>,
    _profile: tempfile::TempDir,
}

impl RunningBrowser {
    /// Closes the browser politely, then makes sure it is gone.
    pub async fn close(mut self) {
        self.closing.store(true, Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.close()).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), self.browser.wait()).await;
        self.handler.abort();
    }
}

impl Drop for RunningBrowser {
    fn drop(&mut self) {
        self.handler.abort();
    }
}

/// Starts Chromium (headless unless `headful`, which recording under Xvfb needs) with the
/// bot flags plus `extra_args`, in a fresh profile.
pub async fn launch(executable: &Path, headful: bool, extra_args: &[String]) -> Result<RunningBrowser, BrowserError> {
    let options = LaunchOptions {
        headful,
        ..LaunchOptions::headless(extra_args)
    };
    launch_with(executable, &options).await
}

/// Starts Chromium as `options` say, with the bot flags, in a fresh profile.
pub async fn launch_with(executable: &Path, options: &LaunchOptions) -> Result<RunningBrowser, BrowserError> {
    let profile = tempfile::Builder::new()
        .prefix("meeboter-chromium-")
        .tempdir()
        .map_err(|e| BrowserError::Launch(format!("cannot create a browser profile directory: {e}")))?;
    let mut args = bot_flags(running_as_root());
    if let Some(window) = options.window {
        args.retain(|a| !a.starts_with("--window-size="));
        args.extend(recording_flags(window));
    }
    args.extend(options.extra_args.iter().cloned());
    let args = merge_feature_flags(args);
    // chromiumoxide's defaults carry `--enable-automation` (an automation tell, and a bar over
    // every recorded frame); `bot_flags` has the rest of them.
    let mut builder = BrowserConfig::builder()
        .disable_default_args()
        .chrome_executable(executable)
        .user_data_dir(profile.path())
        .launch_timeout(LAUNCH_TIMEOUT)
        .request_timeout(Duration::from_secs(30));
    for (key, value) in &options.env {
        builder = builder.env(key, value);
    }
    if options.headful {
        // The page takes the real window's size (chromiumoxide would emulate 800×600).
        builder = builder.viewport(None);
    }
    // chromiumoxide takes flags as key/value and writes the `--` itself.
    for flag in &args {
        let flag = flag.trim_start_matches('-');
        builder = match flag.split_once('=') {
            Some((key, value)) => builder.arg((key, value)),
            None => builder.arg(flag),
        };
    }
    builder = if options.headful {
        builder.with_head()
    } else {
        builder.new_headless_mode()
    };
    let config = builder.build().map_err(BrowserError::Launch)?;
    let (browser, mut events) = tokio::time::timeout(LAUNCH_TIMEOUT + Duration::from_secs(5), Browser::launch(config))
        .await
        .map_err(|_| BrowserError::Launch(format!("no DevTools endpoint within {} s", LAUNCH_TIMEOUT.as_secs())))?
        .map_err(|e| BrowserError::Launch(e.to_string()))?;
    // The CDP connection only makes progress while its event stream is polled. Its errors are
    // reported here (chromiumoxide's own report is filtered out): a connection lost while the
    // bot runs is worth a warning, the reset after a polite close is not.
    let closing = Arc::new(AtomicBool::new(false));
    let closing_seen = closing.clone();
    let handler = tokio::spawn(async move {
        while let Some(item) = events.next().await {
            if let Err(e) = item
                && !closing_seen.load(Ordering::Relaxed)
            {
                tracing::warn!(error = %e, "browser connection error");
            }
        }
    });
    Ok(RunningBrowser {
        browser,
        handler,
        closing,
        _profile: profile,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_explicit_browser_is_named() {
        let err = find_chromium(Some(Path::new("/nonexistent/chrome"))).unwrap_err();
        assert!(err.to_string().contains("CHROMIUM_PATH /nonexistent/chrome"), "{err}");
    }

    #[test]
    fn root_needs_no_sandbox_and_media_is_faked() {
        let flags = bot_flags(true);
        for f in [
            "--no-sandbox",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            "--disable-dev-shm-usage",
            "--autoplay-policy=no-user-gesture-required",
        ] {
            assert!(flags.iter().any(|x| x == f), "{f}");
        }
        assert!(!bot_flags(false).iter().any(|x| x == "--no-sandbox"));
        assert!(!bot_flags(true).iter().any(|x| x == "--enable-automation"));
    }

    #[test]
    fn feature_lists_from_every_source_end_up_in_one_flag() {
        let flags = merge_feature_flags(vec![
            "--mute-audio".into(),
            "--disable-features=Translate,MediaRouter".into(),
            "--lang=en-US".into(),
            "--enable-features=A".into(),
            "--disable-features=MediaRouter,VizDisplayCompositor".into(),
        ]);
        assert_eq!(
            flags,
            [
                "--mute-audio",
                "--disable-features=Translate,MediaRouter,VizDisplayCompositor",
                "--lang=en-US",
                "--enable-features=A",
            ]
        );
    }

    #[test]
    fn a_recorded_window_fills_the_screen_without_bars() {
        let flags = recording_flags((1920, 1080));
        for f in [
            "--kiosk",
            "--window-size=1920,1080",
            "--window-position=0,0",
            "--test-type",
        ] {
            assert!(flags.iter().any(|x| x == f), "{f}");
        }
        let options = LaunchOptions::recording((1280, 720), vec![("DISPLAY".into(), ":99".into())], &[]);
        assert!(options.headful && options.window == Some((1280, 720)));
        assert!(!LaunchOptions::headless(&[]).headful);
    }
}

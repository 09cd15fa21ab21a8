//! Recording the call: a virtual screen ([`display`], Xvfb) and a private sound server
//! ([`audio`], PulseAudio) that Chromium runs on, ffmpeg capturing them into HLS segments
//! ([`capture`]) from the moment the bot is `IN_CALL` until it leaves, and an uploader
//! ([`upload`]) that sends each finished segment through the control channel while the
//! call goes on, so a crash or a lost container costs at most the last segment.
//!
//! Life of a recording ([`Recorder`]):
//! 1. [`Recorder::prepare`] (before Chromium starts, only for `audio`/`video`): Xvfb on a
//!    free display at the recording size, PulseAudio with a null sink as default sink,
//!    both ready within 10 s or a clear error (the bot then fails with
//!    [`RECORDING_FAILED`] rather than join without the recording it was asked for).
//! 2. Chromium runs headful on that display ([`Recorder::browser_env`],
//!    [`crate::browser::LaunchOptions::recording`]).
//! 3. The driver calls [`Recorder::hook`]'s `started_call` at `IN_CALL` (capture and
//!    upload start) and `leaving` before it leaves (ffmpeg finishes its last segment).
//! 4. [`Recorder::finish`] (after the driver, within the runtime's flush budget): waits for
//!    ffmpeg, uploads what is left (retrying until the deadline if storage is down),
//!    reports `POST recording/finish` with `complete` and what is missing
//!    ([`upload::unsent`]), stops Xvfb and PulseAudio and removes every temporary file. Dropping a `Recorder` instead kills
//!    the helpers and removes the files too.
//!
//! Commands, the upload contract and measurements (60 s on the Meet replica, 2-vCPU AMD
//! EPYC VM, Debian 12, ffmpeg 5.1: video 720p15 ≈ 14 % of a core and ≈ 66 MB/h on a mostly
//! static picture, audio ≈ 2 % and ≈ 24 MB/h) are in `docs/recording.md`.

pub mod audio;
pub mod capture;
pub mod display;
mod process;
pub mod spec;
pub mod tap;
pub mod upload;

pub use spec::RecordingSpec;

use crate::control::{ControlClient, ControlError, FinishReport, MissingChunks};
use crate::driver::CallCapture;
use async_trait::async_trait;
use audio::SoundServer;
use capture::{Capture, CaptureSettings};
use display::VirtualDisplay;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tap::{AudioTap, TapSettings, TapSummary};
use tokio::time::Instant;
use upload::{UploadSettings, UploadTask};

/// The sub code of a bot that was asked to record but cannot (no Xvfb, PulseAudio or
/// ffmpeg, or one of them would not start).
pub const RECORDING_FAILED: &str = "recording_failed";

/// Time kept at the end of the flush budget for `POST recording/finish`.
pub const FINISH_RESERVE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    /// A program the recording needs is not installed.
    #[error("cannot record: {0}")]
    Missing(String),
    /// A helper would not start or get ready.
    #[error("cannot record: {0}")]
    Start(String),
}

/// How a recording ended, for the bot's log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordingSummary {
    /// Capture ran (the bot got into the call).
    pub started: bool,
    pub parts: u32,
    pub uploaded: u32,
    pub skipped: u32,
    pub bytes: u64,
    /// Every chunk recorded was confirmed by the server before the deadline.
    pub complete: bool,
    /// What was not (reported in `recording/finish`).
    pub missing: Vec<MissingChunks>,
    /// `POST recording/finish` was accepted.
    pub reported: bool,
    /// The real-time audio tap's account, when it ran.
    pub audio_tap: Option<TapSummary>,
}

/// Everything a recording needs, from before Chromium starts until the bot exits.
pub struct Recorder {
    spec: RecordingSpec,
    display: Option<VirtualDisplay>,
    sound: Option<SoundServer>,
    live: Arc<Live>,
    _work: tempfile::TempDir,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("spec", &self.spec)
            .field("display", &self.display)
            .field("sound", &self.sound)
            .finish_non_exhaustive()
    }
}

/// The part the driver talks to (through [`CallCapture`]).
struct Live {
    spec: RecordingSpec,
    settings: CaptureSettings,
    client: ControlClient,
    uploads: UploadSettings,
    /// Set when the bot streams the call's audio for real-time transcription.
    tap: std::sync::OnceLock<TapSettings>,
    running: Mutex<Option<Running>>,
}

struct Running {
    capture: Capture,
    uploads: UploadTask,
    tap: Option<AudioTap>,
}

impl Live {
    fn running(&self) -> std::sync::MutexGuard<'_, Option<Running>> {
        self.running.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[async_trait]
impl CallCapture for Live {
    async fn started_call(&self) {
        let mut running = self.running();
        if running.is_some() {
            return;
        }
        let capture = Capture::start(self.settings.clone());
        let uploads = UploadTask::spawn(
            self.client.clone(),
            self.spec.content_type(),
            capture.state(),
            self.uploads,
        );
        tracing::info!(mode = self.spec.mode.as_str(), "recording started");
        tokio::spawn(report_capture_start(capture.audio_started(), self.client.clone()));
        let tap = self.tap.get().map(|settings| {
            AudioTap::start(
                self.settings.ffmpeg.clone(),
                self.settings.pulse_server.clone(),
                self.client.clone(),
                *settings,
            )
        });
        *running = Some(Running { capture, uploads, tap });
    }

    async fn leaving(&self) {
        if let Some(running) = self.running().as_ref() {
            running.capture.request_stop();
            if let Some(tap) = &running.tap {
                tap.request_stop();
            }
        }
    }
}

/// Sends `recording_started` with the recording's time 0 once ffmpeg has opened the sound
/// input, so the server counts transcript times from what was recorded rather than from
/// `IN_CALL` (1–2 s earlier). The control client retries for a bounded time; a bot whose
/// report is lost keeps the old clock, nothing worse.
async fn report_capture_start(mut started: tokio::sync::watch::Receiver<Option<i64>>, client: ControlClient) {
    let at = match started.wait_for(Option::is_some).await {
        Ok(at) => at.unwrap_or_default(),
        Err(_) => return, // the capture ended before ffmpeg opened its inputs
    };
    let event = serde_json::json!({"type": "recording_started", "at": at});
    match client.events(&[event]).await {
        Ok(()) => tracing::info!(at, "recording start reported"),
        Err(e) => tracing::warn!(error = %e, "could not report when the recording started"),
    }
}

impl Recorder {
    /// Starts the virtual display and the sound server for `spec` (which must record);
    /// uploads will go through `client`.
    pub async fn prepare(spec: RecordingSpec, client: ControlClient) -> Result<Recorder, RecorderError> {
        Self::prepare_with(spec, client, UploadSettings::default()).await
    }

    /// [`Recorder::prepare`] with the uploader's pacing (tests shorten it).
    pub async fn prepare_with(
        spec: RecordingSpec,
        client: ControlClient,
        uploads: UploadSettings,
    ) -> Result<Recorder, RecorderError> {
        let ffmpeg = process::find_program(&["ffmpeg"])
            .ok_or_else(|| RecorderError::Missing("ffmpeg is not on PATH (apt-get install ffmpeg)".into()))?;
        let work = tempfile::Builder::new()
            .prefix("meeboter-recording-")
            .tempdir()
            .map_err(|e| RecorderError::Start(format!("cannot create the recording directory: {e}")))?;
        let (display, sound) = tokio::try_join!(VirtualDisplay::start(spec.width, spec.height), SoundServer::start())?;
        let settings = CaptureSettings {
            spec,
            ffmpeg,
            display: display.name(),
            pulse_server: sound.address(),
            work_dir: work.path().to_path_buf(),
            first_restart_pause: capture::FIRST_RESTART_PAUSE,
        };
        Ok(Recorder {
            spec,
            display: Some(display),
            sound: Some(sound),
            live: Arc::new(Live {
                spec,
                settings,
                client,
                uploads,
                tap: std::sync::OnceLock::new(),
                running: Mutex::new(None),
            }),
            _work: work,
        })
    }

    /// Also streams the call's audio to the server for real-time transcription (from
    /// `IN_CALL` to leaving, beside the recording; see [`tap`]).
    pub fn with_audio_tap(self, settings: TapSettings) -> Recorder {
        let _ = self.live.tap.set(settings);
        self
    }

    /// The audio tap's ffmpeg process id, while it runs (for measurements and tests).
    pub fn tap_pid(&self) -> Option<u32> {
        self.live
            .running()
            .as_ref()
            .and_then(|r| r.tap.as_ref())
            .and_then(AudioTap::ffmpeg_pid)
    }

    /// What is recorded.
    pub fn spec(&self) -> RecordingSpec {
        self.spec
    }

    /// The environment Chromium needs to draw on the virtual display and play into the
    /// null sink (`DISPLAY`, `PULSE_SERVER`).
    pub fn browser_env(&self) -> Vec<(String, String)> {
        vec![
            ("DISPLAY".into(), self.live.settings.display.clone()),
            ("PULSE_SERVER".into(), self.live.settings.pulse_server.clone()),
        ]
    }

    /// The size of the virtual screen, which Chromium's window must fill.
    pub fn window_size(&self) -> (u32, u32) {
        (self.spec.width, self.spec.height)
    }

    /// The driver's hook: capture from `IN_CALL` to leaving.
    pub fn hook(&self) -> Arc<dyn CallCapture> {
        self.live.clone()
    }

    /// The running ffmpeg's process id, if a capture runs (for diagnostics and tests).
    pub fn ffmpeg_pid(&self) -> Option<u32> {
        self.live.running().as_ref().and_then(|r| r.capture.ffmpeg_pid())
    }

    /// The process ids of Xvfb and PulseAudio (for diagnostics and tests).
    pub fn helper_pids(&self) -> Vec<u32> {
        let display = self.display.as_ref().and_then(VirtualDisplay::pid);
        let sound = self.sound.as_ref().and_then(SoundServer::pid);
        display.into_iter().chain(sound).collect()
    }

    /// The run directories' parent, where segments wait for their upload.
    pub fn work_dir(&self) -> PathBuf {
        self.live.settings.work_dir.clone()
    }

    /// Ends the recording by `deadline`: stops the capture (if the driver has not), uploads
    /// what is left, reports `POST recording/finish` (when capture ran and the server still
    /// accepts the bot), then stops Xvfb and PulseAudio and removes the files.
    pub async fn finish(mut self, deadline: Instant) -> RecordingSummary {
        let running = self.live.running().take();
        let mut summary = RecordingSummary::default();
        if let Some(Running { capture, uploads, tap }) = running {
            summary.started = true;
            // The real-time audio drains beside the recording, within the same deadline.
            let tap_done = tokio::spawn(async move {
                match tap {
                    Some(tap) => Some(tap.finish_by(deadline).await),
                    None => None,
                }
            });
            let runs = capture.state();
            if tokio::time::timeout_at(deadline, capture.stop()).await.is_err() {
                tracing::warn!("ffmpeg did not stop before the deadline");
            }
            // The uploader keeps trying (storage may come back) until just before the
            // deadline; whatever it has not sent by then is reported missing, not hidden.
            let progress = uploads.finish_by(deadline - FINISH_RESERVE).await;
            let runs = runs.borrow().runs.clone();
            let (parts, missing) = upload::unsent(&runs, &progress).await;
            summary.parts = parts;
            summary.uploaded = progress.uploaded;
            summary.skipped = progress.skipped;
            summary.bytes = progress.bytes;
            summary.complete = missing.is_empty();
            summary.missing = missing;
            if !summary.complete {
                let lost_ms: u64 = summary.missing.iter().map(|m| m.duration_ms).sum();
                tracing::warn!(
                    spans = summary.missing.len(),
                    lost_secs = lost_ms as f64 / 1000.0,
                    "part of the recording could not be uploaded before the bot had to exit"
                );
            }
            if !progress.refused {
                let report = FinishReport {
                    complete: summary.complete,
                    missing: summary.missing.clone(),
                };
                summary.reported = self.report_finish(parts, &report, deadline).await;
            }
            tracing::info!(?summary, "recording finished");
            summary.audio_tap = tap_done.await.ok().flatten();
        }
        self.shutdown().await;
        summary
    }

    /// `POST recording/finish`, repeated while the server is unreachable, until `deadline`.
    async fn report_finish(&self, parts: u32, report: &FinishReport, deadline: Instant) -> bool {
        let mode = self.spec.mode.as_str();
        let mut backoff = Duration::from_millis(250);
        loop {
            let finish = self.live.client.recording_finish(parts, mode, report);
            let attempt = tokio::time::timeout_at(deadline, finish).await;
            match attempt {
                Ok(Ok(())) => return true,
                Ok(Err(ControlError::Unreachable(reason))) => {
                    tracing::debug!(%reason, "recording/finish failed; retrying");
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the server refused the end of the recording");
                    return false;
                }
                Err(_) => break,
            }
            if Instant::now() + backoff >= deadline {
                break;
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(4));
        }
        tracing::warn!("the end of the recording could not be reported before the deadline");
        false
    }

    /// Stops Xvfb and PulseAudio politely.
    async fn shutdown(&mut self) {
        let display = self.display.take();
        let sound = self.sound.take();
        tokio::join!(
            async {
                if let Some(d) = display {
                    d.shutdown().await;
                }
            },
            async {
                if let Some(s) = sound {
                    s.shutdown().await;
                }
            }
        );
    }
}

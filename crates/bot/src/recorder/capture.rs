//! ffmpeg capturing the virtual screen and the sound server's monitor into HLS with
//! fragmented-MP4 segments, one directory per ffmpeg run.
//!
//! Each ffmpeg run is a *part*. If ffmpeg dies while the bot is in the call it is started
//! again (at most [`MAX_RESTARTS`] times in a row, with a growing pause) into a new
//! directory, and the recording goes on as the next part: a crash costs the segment being
//! written, never what was already finished. At stop ffmpeg gets `q` on stdin (then
//! SIGINT, then SIGKILL) so it writes the last segment and closes the playlist.
//!
//! Commands (ffmpeg 5.1), run in the part's directory with `PULSE_SERVER` set:
//!
//! ```text
//! video: ffmpeg -hide_banner -nostats -loglevel info
//!   -thread_queue_size FPS -f x11grab -draw_mouse 0 -video_size WxH -framerate FPS -i :N
//!   -thread_queue_size 1024 -f pulse -i meeboter_sink.monitor -map 0:v -map 1:a
//!   -c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 2*FPS -keyint_min 2*FPS
//!   -sc_threshold 0
//!   -c:a aac -b:a 64k  HLS
//! audio: ffmpeg -hide_banner -nostats -loglevel info
//!   -thread_queue_size 1024 -f pulse -i meeboter_sink.monitor -map 0:a
//!   -ac 1 -c:a libopus -b:a 32k  HLS
//! HLS:   -f hls -hls_time 6 -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4
//!   -hls_segment_filename seg%06d.m4s -hls_playlist_type event -hls_flags independent_segments
//!   index.m3u8
//! ```
//!
//! (stdin stays open: `q` on it is how ffmpeg is stopped cleanly.)
//!
//! `-loglevel info` because of the input dump: `Input #1, pulse, …` then `Duration: N/A,
//! start: 1796550729.390872`. The pulse input stamps its packets with the wall clock at
//! capture (less the server's reported latency) and ffmpeg counts the output's audio from
//! the input's first timestamp, so that `start` *is* the recording's time 0 — measured
//! 1.5 s after ffmpeg was spawned on an idle machine, more on a busy one; the spawn time,
//! the first segment's appearance or `IN_CALL` would each be off by about that much. The
//! capture reports it once ([`Capture::audio_started`]; the recorder sends it as the
//! `recording_started` event). Info level adds two lines per segment (`Opening … for
//! writing`) to the debug log; errors still come last in the kept tail.
//!
//! Opus in fragmented MP4 works with this ffmpeg (no `-strict` needed); audio-only is mono
//! because meeting audio is mono and 32 kb/s go further on one channel. Key frames every
//! 2 s (`-sc_threshold 0`: no extra ones at scene cuts) make every 6 s segment start with
//! one. A segment is complete once the playlist lists it (ffmpeg writes the playlist to a
//! temporary file and renames it, after closing the segment).

use super::RecordingSpec;
use super::audio::MONITOR;
use super::process::Helper;
use meeboter_core::RecordingMode;
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::Command;
use tokio::sync::watch;

/// The playlist ffmpeg writes in each part's directory.
pub const PLAYLIST: &str = "index.m3u8";
/// Target segment length.
pub const SEGMENT_SECS: u32 = 6;
/// Restarts in a row (runs that ended within [`STABLE_RUN`]) before the capture gives up.
pub const MAX_RESTARTS: u32 = 5;
/// A run that lasted this long resets the restart count.
pub const STABLE_RUN: Duration = Duration::from_secs(60);
/// The pause before the first restart; it doubles up to [`MAX_RESTART_PAUSE`].
pub const FIRST_RESTART_PAUSE: Duration = Duration::from_secs(1);
pub const MAX_RESTART_PAUSE: Duration = Duration::from_secs(10);
/// How long ffmpeg may take to finish the last segment after `q`.
pub const STOP_WITHIN: Duration = Duration::from_secs(8);

/// How many grabbed frames may wait for the encoder: about one second's worth. Each is a raw
/// screen (3.7 MB at 720p), so a starved encoder with a deep queue (ffmpeg's examples use
/// 1024) grows by gigabytes until the container's memory limit freezes the bot — measured at
/// 0.25 CPU: ffmpeg at 579 MB within a minute. With the queue full the grabber waits, and the
/// video gets fewer frames instead of the bot running out of memory.
pub fn grab_queue_frames(spec: &RecordingSpec) -> u32 {
    spec.fps.max(8)
}

/// ffmpeg's arguments for one part (run in the part's directory).
pub fn ffmpeg_args(spec: &RecordingSpec, display: &str) -> Vec<String> {
    let mut args: Vec<String> = ["-hide_banner", "-nostats", "-loglevel", "info"]
        .map(String::from)
        .to_vec();
    let pulse_input = ["-thread_queue_size", "1024", "-f", "pulse", "-i", MONITOR].map(String::from);
    match spec.mode {
        RecordingMode::Video => {
            let gop = spec.gop().to_string();
            let frames = grab_queue_frames(spec).to_string();
            args.extend(
                [
                    "-thread_queue_size",
                    &frames,
                    "-f",
                    "x11grab",
                    "-draw_mouse",
                    "0",
                    "-video_size",
                    &format!("{}x{}", spec.width, spec.height),
                    "-framerate",
                    &spec.fps.to_string(),
                    "-i",
                    display,
                ]
                .map(String::from),
            );
            args.extend(pulse_input);
            args.extend(
                [
                    "-map",
                    "0:v",
                    "-map",
                    "1:a",
                    "-c:v",
                    "libx264",
                    "-preset",
                    "veryfast",
                    // No look-ahead, no B-frames, sliced threads: x264 holds no frames back.
                    // With veryfast's look-ahead it held ~1.2 s of frames, and at `q` ffmpeg
                    // flushed them while dropping the sound still queued for that time, so the
                    // audio ended ~1.3 s before the video.
                    "-tune",
                    "zerolatency",
                    "-pix_fmt",
                    "yuv420p",
                    "-g",
                    &gop,
                    "-keyint_min",
                    &gop,
                    "-sc_threshold",
                    "0",
                    "-c:a",
                    "aac",
                    "-b:a",
                    "64k",
                ]
                .map(String::from),
            );
        }
        _ => {
            args.extend(pulse_input);
            args.extend(["-map", "0:a", "-ac", "1", "-c:a", "libopus", "-b:a", "32k"].map(String::from));
        }
    }
    args.extend(
        [
            "-f",
            "hls",
            "-hls_time",
            &SEGMENT_SECS.to_string(),
            "-hls_segment_type",
            "fmp4",
            "-hls_fmp4_init_filename",
            "init.mp4",
            "-hls_segment_filename",
            "seg%06d.m4s",
            "-hls_playlist_type",
            "event",
            "-hls_flags",
            "independent_segments",
            PLAYLIST,
        ]
        .map(String::from),
    );
    args
}

/// Finds the sound input's first timestamp in ffmpeg's input dump, line by line: the
/// `Duration: …, start: S` line of the `Input #N, pulse, …` block, as epoch ms. Values that
/// are not wall-clock times (before 2001) are not taken.
#[derive(Debug, Default)]
pub struct AudioStartParser {
    in_pulse_input: bool,
}

impl AudioStartParser {
    /// Feeds one stderr line; returns the start once found.
    pub fn feed(&mut self, line: &str) -> Option<i64> {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("Input #") {
            self.in_pulse_input = rest.split(',').nth(1).map(str::trim) == Some("pulse");
            return None;
        }
        if !self.in_pulse_input {
            return None;
        }
        let start = line
            .strip_prefix("Duration:")?
            .split(',')
            .find_map(|field| field.trim().strip_prefix("start:"))?;
        self.in_pulse_input = false;
        let secs: f64 = start.trim().parse().ok()?;
        (secs > 1e9).then(|| (secs * 1000.0).round() as i64)
    }
}

/// A media segment the playlist lists (so ffmpeg has finished it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub uri: String,
    pub duration_ms: u64,
}

/// What a part's playlist says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Playlist {
    /// The init section (`#EXT-X-MAP:URI="init.mp4"`).
    pub init: Option<String>,
    /// Finished segments in order.
    pub segments: Vec<Segment>,
    /// `#EXT-X-ENDLIST`: ffmpeg closed the playlist.
    pub ended: bool,
}

/// Parses an HLS media playlist, counting only complete entries: a URI line that follows
/// an `#EXTINF` and ends with a newline.
pub fn parse_playlist(text: &str) -> Playlist {
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    let mut playlist = Playlist::default();
    let mut duration: Option<u64> = None;
    for line in complete.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let secs = rest.split(',').next().unwrap_or("").trim();
            duration = secs.parse::<f64>().ok().map(|s| (s * 1000.0).round() as u64);
        } else if let Some(rest) = line.strip_prefix("#EXT-X-MAP:") {
            playlist.init = rest
                .split(',')
                .find_map(|attr| attr.trim().strip_prefix("URI="))
                .map(|uri| uri.trim_matches('"').to_string());
        } else if line == "#EXT-X-ENDLIST" {
            playlist.ended = true;
        } else if !line.is_empty()
            && !line.starts_with('#')
            && let Some(duration_ms) = duration.take()
        {
            playlist.segments.push(Segment {
                uri: line.to_string(),
                duration_ms,
            });
        }
    }
    playlist
}

/// Reads a part's playlist (empty while ffmpeg has not written one).
pub async fn read_playlist(dir: &Path) -> Playlist {
    match tokio::fs::read_to_string(dir.join(PLAYLIST)).await {
        Ok(text) => parse_playlist(&text),
        Err(_) => Playlist::default(),
    }
}

/// What the capture has produced so far, for the uploader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaptureState {
    /// One directory per ffmpeg run, in order. Every run but the last has ended.
    pub runs: Vec<PathBuf>,
    /// The capture is over: the last run has ended too and no other will start.
    pub finished: bool,
}

/// Where and how to capture.
#[derive(Debug, Clone)]
pub struct CaptureSettings {
    pub spec: RecordingSpec,
    pub ffmpeg: PathBuf,
    /// `DISPLAY` of the virtual screen.
    pub display: String,
    /// `PULSE_SERVER` of the private sound server.
    pub pulse_server: String,
    /// Parent of the run directories (`run-001`, `run-002`, …).
    pub work_dir: PathBuf,
    pub first_restart_pause: Duration,
}

/// A running capture: ffmpeg runs supervised by a task until [`Capture::stop`].
pub struct Capture {
    stop: watch::Sender<bool>,
    state: watch::Receiver<CaptureState>,
    audio_started: watch::Receiver<Option<i64>>,
    pid: Arc<AtomicU32>,
    task: tokio::task::JoinHandle<()>,
}

impl Capture {
    /// Starts the first ffmpeg run.
    pub fn start(settings: CaptureSettings) -> Capture {
        let (stop, stop_rx) = watch::channel(false);
        let (state_tx, state) = watch::channel(CaptureState::default());
        let (started_tx, audio_started) = watch::channel(None);
        let pid = Arc::new(AtomicU32::new(0));
        let task = tokio::spawn(supervise(
            settings,
            stop_rx,
            state_tx,
            Arc::new(started_tx),
            pid.clone(),
        ));
        Capture {
            stop,
            state,
            audio_started,
            pid,
            task,
        }
    }

    /// When the first run took its first audio sample (epoch ms, from ffmpeg's input
    /// dump): the recording's time 0. `None` until ffmpeg has opened its inputs. A first
    /// run that dies before finishing a segment is not a part, yet its start stays the
    /// one reported — rare, and then off by the restart pause.
    pub fn audio_started(&self) -> watch::Receiver<Option<i64>> {
        self.audio_started.clone()
    }

    /// Follows what the capture produced.
    pub fn state(&self) -> watch::Receiver<CaptureState> {
        self.state.clone()
    }

    /// The running ffmpeg's process id (`None` between runs).
    pub fn ffmpeg_pid(&self) -> Option<u32> {
        Some(self.pid.load(Ordering::SeqCst)).filter(|p| *p != 0)
    }

    /// Asks the capture to stop (ffmpeg finishes its last segment); returns at once.
    pub fn request_stop(&self) {
        self.stop.send_replace(true);
    }

    /// Stops the capture and waits until ffmpeg has ended.
    pub async fn stop(mut self) {
        self.request_stop();
        let _ = (&mut self.task).await;
    }
}

impl Drop for Capture {
    /// A capture that is not stopped (an early exit) takes ffmpeg down with it.
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn supervise(
    settings: CaptureSettings,
    mut stop: watch::Receiver<bool>,
    state: watch::Sender<CaptureState>,
    audio_started: Arc<watch::Sender<Option<i64>>>,
    pid: Arc<AtomicU32>,
) {
    let mut failures = 0u32;
    for run in 1u32.. {
        if *stop.borrow() {
            break;
        }
        let dir = settings.work_dir.join(format!("run-{run:03}"));
        let started = tokio::time::Instant::now();
        let outcome = match std::fs::create_dir_all(&dir) {
            Ok(()) => run_once(&settings, &dir, &mut stop, &state, &audio_started, &pid).await,
            Err(e) => RunEnd::Failed(format!("cannot create {}: {e}", dir.display())),
        };
        pid.store(0, Ordering::SeqCst);
        let RunEnd::Failed(reason) = outcome else { break };
        if *stop.borrow() {
            break;
        }
        failures = if started.elapsed() >= STABLE_RUN {
            1
        } else {
            failures + 1
        };
        if failures > MAX_RESTARTS {
            tracing::error!(%reason, "ffmpeg keeps failing; the recording stops here");
            break;
        }
        let pause = (settings.first_restart_pause * 2u32.pow(failures - 1)).min(MAX_RESTART_PAUSE);
        tracing::warn!(%reason, run, "ffmpeg stopped during the call; restarting it as a new part");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stopped(&mut stop) => break,
        }
    }
    state.send_modify(|s| s.finished = true);
}

/// Until a stop is requested (or can no longer be).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

enum RunEnd {
    /// Stopped on request.
    Stopped,
    /// Ended on its own (or never started).
    Failed(String),
}

async fn run_once(
    settings: &CaptureSettings,
    dir: &Path,
    stop: &mut watch::Receiver<bool>,
    state: &watch::Sender<CaptureState>,
    audio_started: &Arc<watch::Sender<Option<i64>>>,
    pid: &AtomicU32,
) -> RunEnd {
    let mut command = Command::new(&settings.ffmpeg);
    command
        .args(ffmpeg_args(&settings.spec, &settings.display))
        .current_dir(dir)
        .env("PULSE_SERVER", &settings.pulse_server)
        .env("DISPLAY", &settings.display);
    let mut parser = AudioStartParser::default();
    let started = audio_started.clone();
    let observe = Box::new(move |line: &str| {
        if let Some(at) = parser.feed(line) {
            started.send_if_modified(|first| first.is_none() && first.replace(at).is_none());
        }
    });
    let mut ffmpeg = match Helper::spawn_observed("ffmpeg", &mut command, true, Some(observe)) {
        Ok(h) => h,
        Err(e) => return RunEnd::Failed(format!("cannot run {}: {e}", settings.ffmpeg.display())),
    };
    pid.store(ffmpeg.pid().unwrap_or(0), Ordering::SeqCst);
    state.send_modify(|s| s.runs.push(dir.to_path_buf()));
    tracing::info!(dir = %dir.display(), pid = ffmpeg.pid().unwrap_or(0), "capture started");
    let silence_check = tokio::time::sleep(NO_MEDIA_WARNING_AFTER);
    tokio::pin!(silence_check);
    let mut checked = false;
    loop {
        tokio::select! {
            status = ffmpeg.wait() => {
                // Let the stderr reader catch up so the reason is in the message.
                tokio::time::sleep(Duration::from_millis(100)).await;
                let status = status.map(|s| s.to_string()).unwrap_or_default();
                return RunEnd::Failed(format!("ffmpeg exited ({status}): {}", ffmpeg.tail()));
            }
            _ = stopped(stop) => {
                finish_run(ffmpeg).await;
                return RunEnd::Stopped;
            }
            _ = &mut silence_check, if !checked => {
                checked = true;
                // ffmpeg alive but no finished segment: on a starved machine the encoder falls
                // behind and a short call can end before its first segment. Say so, once.
                if read_playlist(dir).await.segments.is_empty() {
                    tracing::warn!(
                        after_secs = NO_MEDIA_WARNING_AFTER.as_secs(),
                        ffmpeg_says = %ffmpeg.tail(),
                        "ffmpeg runs but has finished no segment yet; the machine may be too busy to encode"
                    );
                }
            }
        }
    }
}

/// When a running ffmpeg without a finished segment is worth a warning (segments are
/// a few seconds long).
const NO_MEDIA_WARNING_AFTER: Duration = Duration::from_secs(30);

/// Ends ffmpeg so the last segment is written: `q`, then SIGINT, then SIGKILL.
async fn finish_run(mut ffmpeg: Helper) {
    if let Some(stdin) = ffmpeg.stdin() {
        let _ = stdin.write_all(b"q").await;
        let _ = stdin.flush().await;
    }
    match tokio::time::timeout(STOP_WITHIN, ffmpeg.wait()).await {
        Ok(_) => tracing::info!("capture stopped"),
        Err(_) => {
            tracing::warn!("ffmpeg did not stop on `q`; interrupting it");
            ffmpeg.stop(Signal::SIGINT, Duration::from_secs(3)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_listed_and_complete_segments_count() {
        let text = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n\
                    #EXT-X-PLAYLIST-TYPE:EVENT\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:6.000000,\nseg000000.m4s\n\
                    #EXTINF:5.9995,\nseg000001.m4s\n#EXTINF:6.0,\nseg0000";
        let playlist = parse_playlist(text);
        assert_eq!(playlist.init.as_deref(), Some("init.mp4"));
        assert_eq!(
            playlist.segments,
            [
                Segment {
                    uri: "seg000000.m4s".into(),
                    duration_ms: 6000
                },
                Segment {
                    uri: "seg000001.m4s".into(),
                    duration_ms: 6000
                }
            ],
            "the half-written last line is not a segment"
        );
        assert!(!playlist.ended);
        // A URI without its #EXTINF is not trusted either; the end marker is seen.
        let playlist = parse_playlist("#EXTM3U\nseg000000.m4s\n#EXTINF:0.7065,\nseg000001.m4s\n#EXT-X-ENDLIST\n");
        assert_eq!(playlist.segments.len(), 1);
        assert_eq!(playlist.segments[0].duration_ms, 707);
        assert!(playlist.ended);
        assert_eq!(parse_playlist(""), Playlist::default());
        assert_eq!(parse_playlist("#EXTM3U"), Playlist::default());
    }

    #[test]
    fn the_sound_inputs_start_is_the_recordings_time_zero() {
        // ffmpeg 5.1's dump for the video command: the screen first, then the sound.
        let dump = "Input #0, x11grab, from ':99':\n  Duration: N/A, start: 1796550729.100000, bitrate: N/A\n\
                    Input #1, pulse, from 'meeboter_sink.monitor':\n  \
                    Duration: N/A, start: 1796550729.390872, bitrate: 1536 kb/s\n  \
                    Stream #1:0: Audio: pcm_s16le, 48000 Hz, stereo, s16, 1536 kb/s";
        let mut parser = AudioStartParser::default();
        let found: Vec<i64> = dump.lines().filter_map(|l| parser.feed(l)).collect();
        assert_eq!(found, [1_796_550_729_391], "the screen's start is not the sound's");
        let mut parser = AudioStartParser::default();
        assert_eq!(parser.feed("Input #0, pulse, from 'meeboter_sink.monitor':"), None);
        assert_eq!(
            parser.feed("  Duration: N/A, start: 12.5, bitrate: N/A"),
            None,
            "not a wall-clock time"
        );
        assert_eq!(
            parser.feed("  Duration: N/A, start: 1796550729.000000"),
            None,
            "one per input"
        );
        assert_eq!(
            ffmpeg_args(&RecordingSpec::parse("audio").unwrap(), ":99")[3],
            "info",
            "the dump needs info level"
        );
    }

    #[test]
    fn video_grabs_the_screen_and_the_sink_into_fmp4_hls() {
        let spec = RecordingSpec::parse(r#"{"mode":"video","width":1280,"height":720,"fps":15}"#).unwrap();
        let args = ffmpeg_args(&spec, ":99").join(" ");
        for needle in [
            "-thread_queue_size 15 -f x11grab -draw_mouse 0 -video_size 1280x720 -framerate 15 -i :99",
            "-f pulse -i meeboter_sink.monitor",
            "-c:v libx264 -preset veryfast -tune zerolatency -pix_fmt yuv420p -g 30 -keyint_min 30",
            "-c:a aac -b:a 64k",
            "-f hls -hls_time 6 -hls_segment_type fmp4 -hls_fmp4_init_filename init.mp4 \
             -hls_segment_filename seg%06d.m4s -hls_playlist_type event -hls_flags independent_segments index.m3u8",
        ] {
            assert!(args.contains(needle), "`{needle}` not in {args}");
        }
        let audio = ffmpeg_args(&RecordingSpec::parse("audio").unwrap(), ":99").join(" ");
        assert!(audio.contains("-c:a libopus -b:a 32k"), "{audio}");
        assert!(!audio.contains("x11grab"), "{audio}");
    }
}

//! Recording end to end: `runtime::run` in `video` or `audio` mode joins a Meet replica
//! under Xvfb and PulseAudio, ffmpeg captures the call, and the chunks go up to a control
//! channel over HTTP; then the stored parts are checked with ffprobe/ffmpeg: they play,
//! last as long as the call (not the lobby), hold the replica's 440 Hz tone and moving
//! pictures, and a killed ffmpeg only starts a new part.
//!
//! The tests run one at a time (two-core CI machines: parallel encoders would skew the
//! timings being checked).

mod common;

use common::channel::{FakeChannel, TOKEN};
use common::{configure, host, serve, until_guest};
use meeboter_bot::recorder::display::{self, VirtualDisplay};
use meeboter_bot::recorder::{RecordingSpec, audio::SoundServer};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// What a scripted call produced.
struct Recorded {
    channel: FakeChannel,
    /// Seconds between the bot's IN_CALL and its final status, as the channel saw them.
    in_call: f64,
    /// One playable file per part (init + segments).
    parts: Vec<PathBuf>,
    /// When the bot's process would have exited.
    exited_at: Instant,
    _files: tempfile::TempDir,
}

/// Children of this process named `name` that still run (zombies excluded).
fn children_named(name: &str) -> Vec<u32> {
    let me = std::process::id();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(entry.path().join("stat")).ok()?;
            let (comm, rest) = stat.split_once(") ")?;
            let mut fields = rest.split_whitespace();
            let state = fields.next()?;
            let ppid: u32 = fields.next()?.parse().ok()?;
            (comm.ends_with(&format!("({name}")) && ppid == me && state != "Z").then_some(pid)
        })
        .collect()
}

/// The bot's own ffmpeg.
fn bots_ffmpeg() -> Option<u32> {
    children_named("ffmpeg").into_iter().next()
}

/// Runs a bot with `mode` against a Meet replica (`replica_config` applied first); once the
/// bot is in the call, `during_call` runs, then the host ends the meeting.
async fn record<F: Future<Output = ()>>(
    mode: &str,
    code: &'static str,
    replica_config: Value,
    during_call: impl FnOnce() -> F,
) -> Recorded {
    let channel = FakeChannel::new();
    let callback = channel.serve().await;
    let replica = serve(meeboter_replica::router()).await;
    configure(&replica, code, replica_config).await;
    let chromium = meeboter_bot::browser::find_chromium(None).expect("scripts/test installs Chromium");
    let vars = std::collections::HashMap::from([
        ("BOT_ID", "bot-1".to_string()),
        ("MEETING_URL", format!("{replica}/{code}")),
        ("MEETING_PLATFORM", "meet".to_string()),
        ("BOT_NAME", "Meeboter Notes".to_string()),
        ("API_CALLBACK_URL", callback),
        ("MILO_AUTH_TOKEN", TOKEN.to_string()),
        ("RECORDING_MODE", mode.to_string()),
        ("CHROMIUM_PATH", chromium.display().to_string()),
    ]);
    let env = meeboter_bot::env::BotEnv::from_vars(|k| vars.get(k).cloned()).unwrap();
    let bot = tokio::spawn(meeboter_bot::runtime::run(env));
    until_guest(&replica, code, "call").await;
    host(&replica, code, "participants", Some(json!({"name": "Ada Lovelace"}))).await;
    during_call().await;
    host(&replica, code, "end", None).await;
    let exit = tokio::time::timeout(Duration::from_secs(40), bot)
        .await
        .expect("the bot exits within its flush budget")
        .unwrap();
    let exited_at = Instant::now();
    assert_eq!(exit, 0, "ENDED");
    for helper in ["ffmpeg", "Xvfb", "pulseaudio"] {
        assert_eq!(
            children_named(helper),
            Vec::<u32>::new(),
            "{helper} is stopped when the bot exits"
        );
    }
    let in_call = channel.status_at("ENDED").unwrap() - channel.status_at("IN_CALL").unwrap();
    let files = tempfile::tempdir().unwrap();
    let parts_reported = channel.lock().finish.clone().expect("recording/finish was called");
    assert_eq!(
        parts_reported["mode"],
        RecordingSpec::parse(mode).unwrap().mode.as_str()
    );
    let count = parts_reported["parts"].as_u64().unwrap() as u32;
    let mut parts = Vec::new();
    for part in 1..=count {
        let chunks = channel.part(part);
        let seqs: Vec<u32> = chunks.iter().map(|(s, _)| *s).collect();
        assert_eq!(
            seqs,
            (0..chunks.len() as u32).collect::<Vec<_>>(),
            "part {part}: no gaps"
        );
        assert!(chunks.len() >= 2, "part {part}: an init section and segments");
        let path = files.path().join(format!("part{part}.mp4"));
        std::fs::write(&path, chunks.into_iter().flat_map(|(_, b)| b).collect::<Vec<u8>>()).unwrap();
        parts.push(path);
    }
    Recorded {
        channel,
        in_call,
        parts,
        exited_at,
        _files: files,
    }
}

fn run(program: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(program)
        .args(args)
        .output()
        .expect("scripts/test installs ffmpeg");
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// ffprobe's view of a file, after checking it decodes without a single error.
fn probe(path: &Path) -> Value {
    let file = path.to_str().unwrap();
    let decode = run("ffmpeg", &["-v", "error", "-i", file, "-f", "null", "-"]);
    assert!(decode.stderr.is_empty(), "{}", String::from_utf8_lossy(&decode.stderr));
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
            file,
        ],
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// How long the file plays: from its first packet to the end of its last, over all
/// streams. (The headers of concatenated fragmented MP4 only describe the first fragment,
/// so `format.duration` cannot be trusted here.)
fn duration(path: &Path) -> f64 {
    let out = run(
        "ffprobe",
        &[
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_entries",
            "packet=pts_time,duration_time",
            path.to_str().unwrap(),
        ],
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let time = |p: &Value, k: &str| p[k].as_str().and_then(|t| t.parse::<f64>().ok());
    let packets = json["packets"].as_array().unwrap();
    let start = packets
        .iter()
        .filter_map(|p| time(p, "pts_time"))
        .fold(f64::MAX, f64::min);
    let end = packets
        .iter()
        .filter_map(|p| Some(time(p, "pts_time")? + time(p, "duration_time").unwrap_or(0.0)))
        .fold(f64::MIN, f64::max);
    end - start
}

/// Where each stream ends (seconds): the end of its last packet, `(video, audio)`.
fn stream_ends(path: &Path) -> (f64, f64) {
    let end_of = |stream: &str| {
        let out = run(
            "ffprobe",
            &[
                "-v",
                "error",
                "-select_streams",
                stream,
                "-print_format",
                "json",
                "-show_entries",
                "packet=pts_time,duration_time",
                path.to_str().unwrap(),
            ],
        );
        let json: Value = serde_json::from_slice(&out.stdout).unwrap();
        let time = |p: &Value, k: &str| p[k].as_str().and_then(|t| t.parse::<f64>().ok());
        json["packets"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|p| Some(time(p, "pts_time")? + time(p, "duration_time").unwrap_or(0.0)))
            .fold(f64::MIN, f64::max)
    };
    (end_of("v"), end_of("a"))
}

fn stream_types(probe: &Value) -> Vec<(String, String)> {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["codec_type"].as_str().unwrap().to_string(),
                s["codec_name"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The audio as 16 kHz mono samples.
fn pcm(path: &Path) -> Vec<f64> {
    let out = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            path.to_str().unwrap(),
            "-vn",
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            "16000",
            "-",
        ],
    );
    out.stdout
        .chunks_exact(2)
        .map(|b| f64::from(i16::from_le_bytes([b[0], b[1]])))
        .collect()
}

/// Power of `samples` at `hz` (Goertzel).
fn power_at(samples: &[f64], hz: f64) -> f64 {
    let coeff = 2.0 * (2.0 * std::f64::consts::PI * hz / 16_000.0).cos();
    let (mut s1, mut s2) = (0.0, 0.0);
    for x in samples {
        let s0 = x + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / samples.len() as f64
}

/// The audio is not silent and its dominant frequency is the replica's 440 Hz tone.
fn assert_tone(path: &Path) {
    let samples = pcm(path);
    assert!(samples.len() > 16_000 * 3, "at least 3 s of audio");
    let steady = &samples[8_000..];
    let rms = (steady.iter().map(|x| x * x).sum::<f64>() / steady.len() as f64).sqrt();
    assert!(rms > 1_000.0, "{}: silent (rms {rms:.0})", path.display());
    let tone = power_at(steady, 440.0);
    for other in [
        220.0, 330.0, 400.0, 480.0, 550.0, 660.0, 880.0, 1_000.0, 2_000.0, 4_000.0,
    ] {
        let p = power_at(steady, other);
        assert!(
            tone > 20.0 * p,
            "{}: 440 Hz {tone:.3e} vs {other} Hz {p:.3e}",
            path.display()
        );
    }
}

/// Frames 0 and 30 differ (the replica draws a moving square and a clock).
fn assert_moving(path: &Path) {
    let out = run(
        "ffmpeg",
        &[
            "-v",
            "error",
            "-i",
            path.to_str().unwrap(),
            "-map",
            "0:v",
            "-vf",
            r"select=eq(n\,0)+eq(n\,30)",
            "-vsync",
            "0",
            "-f",
            "framemd5",
            "-",
        ],
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let hashes: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(str::trim))
        .collect();
    assert_eq!(hashes.len(), 2, "{text}");
    assert_ne!(hashes[0], hashes[1], "the picture moves");
}

fn assert_close(recorded: f64, in_call: f64) {
    assert!(
        (recorded - in_call).abs() <= 2.0,
        "recorded {recorded:.1} s for {in_call:.1} s in the call"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_video_recording_holds_the_call_with_its_tone_and_moving_pictures() {
    let _one = ONE_AT_A_TIME.lock().await;
    let started = Instant::now();
    let r = record("video", "rec-vide-oxx", json!({}), || {
        tokio::time::sleep(Duration::from_secs(20))
    })
    .await;
    assert_eq!(r.parts.len(), 1);
    let probe = probe(&r.parts[0]);
    assert_eq!(
        stream_types(&probe),
        [("video".into(), "h264".into()), ("audio".into(), "aac".into())]
    );
    let video = &probe["streams"][0];
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(1280), Some(720))
    );
    assert_close(duration(&r.parts[0]), r.in_call);
    // Both streams are flushed at the stop: the sound does not end before the picture.
    let (video_end, audio_end) = stream_ends(&r.parts[0]);
    eprintln!("video ends at {video_end:.3} s, audio at {audio_end:.3} s");
    if let Ok(keep) = std::env::var("KEEP_RECORDING") {
        std::fs::copy(&r.parts[0], keep).unwrap();
    }
    assert!(
        (video_end - audio_end).abs() < 0.3,
        "video ends at {video_end:.3} s, audio at {audio_end:.3} s"
    );
    assert_tone(&r.parts[0]);
    assert_moving(&r.parts[0]);
    let chunks = r.channel.lock().chunks.clone();
    assert!(chunks.values().all(|c| c.content_type == "video/mp4" && c.completed));
    assert!(
        chunks.values().filter(|c| c.duration_ms.is_some()).count() >= 3,
        "6 s segments"
    );
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audio_recording_has_only_the_tone() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = record("audio", "rec-audi-oxx", json!({}), || {
        tokio::time::sleep(Duration::from_secs(12))
    })
    .await;
    assert_eq!(r.parts.len(), 1);
    let probe = probe(&r.parts[0]);
    assert_eq!(stream_types(&probe), [("audio".into(), "opus".into())]);
    assert_close(duration(&r.parts[0]), r.in_call);
    assert_tone(&r.parts[0]);
    assert!(r.channel.lock().chunks.values().all(|c| c.content_type == "audio/mp4"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lobby_is_not_recorded() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = record(
        r#"{"mode":"video","width":960,"height":540,"fps":10}"#,
        "rec-lobb-yxx",
        json!({"lobby": true, "admitAfterSecs": 6}),
        || tokio::time::sleep(Duration::from_secs(10)),
    )
    .await;
    let waited = r.channel.status_at("IN_CALL").unwrap() - r.channel.status_at("IN_WAITING_ROOM").unwrap();
    assert!(waited >= 4.0, "the bot waited in the lobby ({waited:.1} s)");
    let probe = probe(&r.parts[0]);
    let video = &probe["streams"][0];
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(960), Some(540))
    );
    assert_close(duration(&r.parts[0]), r.in_call);
    assert_tone(&r.parts[0]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_ffmpeg_starts_a_new_part_and_both_parts_play() {
    let _one = ONE_AT_A_TIME.lock().await;
    let r = record("video", "rec-kill-edx", json!({}), || async {
        tokio::time::sleep(Duration::from_secs(9)).await;
        let pid = bots_ffmpeg().expect("the bot's ffmpeg runs");
        run("kill", &["-KILL", &pid.to_string()]);
        // Restarted after a pause as part 2.
        let mut restarted = None;
        for _ in 0..50 {
            restarted = bots_ffmpeg().filter(|p| *p != pid);
            if restarted.is_some() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(restarted.is_some(), "ffmpeg was restarted");
        tokio::time::sleep(Duration::from_secs(9)).await;
    })
    .await;
    assert_eq!(r.parts.len(), 2, "{:?}", r.channel.log());
    let mut total = 0.0;
    for part in &r.parts {
        let probe = probe(part);
        assert_eq!(stream_types(&probe).len(), 2);
        total += duration(part);
        assert_tone(part);
        assert_moving(part);
    }
    // The killed run loses the segment it was writing, the restart takes a second.
    assert!(
        total > r.in_call - 9.0 && total < r.in_call + 2.0,
        "{total:.1} s of {:.1} s",
        r.in_call
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helpers_take_free_displays_clear_stale_locks_and_clean_up() {
    let _one = ONE_AT_A_TIME.lock().await;
    // A display left behind by a killed server: its lock names a process that is gone.
    let tmp = Path::new("/tmp");
    let stale = (display::FIRST_DISPLAY..display::FIRST_DISPLAY + 20)
        .find(|n| display::claim(tmp, *n) == display::Claim::Free)
        .unwrap();
    std::fs::write(format!("/tmp/.X{stale}-lock"), "  999999999\n").unwrap();
    let spec = RecordingSpec::parse("video").unwrap();
    let (a, b) = tokio::join!(
        VirtualDisplay::start(spec.width, spec.height),
        VirtualDisplay::start(spec.width, spec.height)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_ne!(a.number(), b.number(), "two bots, two displays");
    assert!(
        [a.number(), b.number()].contains(&stale),
        "the stale display was reused"
    );
    let lock = format!("/tmp/.X{}-lock", a.number());
    assert!(Path::new(&lock).exists());
    a.shutdown().await;
    assert!(!Path::new(&lock).exists(), "shut down cleanly");
    let (pid, number) = (b.pid().unwrap(), b.number());
    drop(b);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !Path::new(&format!("/proc/{pid}/stat")).exists() || zombie(pid),
        "killed when dropped"
    );
    assert!(
        !Path::new(&format!("/tmp/.X{number}-lock")).exists(),
        "its lock removed"
    );

    let sound = SoundServer::start().await.unwrap();
    let socket = sound.socket();
    let sinks = Command::new("pactl")
        .args(["info"])
        .env("PULSE_SERVER", sound.address())
        .output();
    if let Ok(out) = sinks {
        // pactl comes with pulseaudio-utils, which may be absent; when present it agrees.
        if out.status.success() {
            assert!(String::from_utf8_lossy(&out.stdout).contains("Default Sink: meeboter_sink"));
        }
    }
    let dir = socket.parent().unwrap().to_path_buf();
    sound.shutdown().await;
    assert!(!dir.exists(), "its directory removed");
}

fn zombie(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| s.contains(") Z "))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_capture_and_flushes_the_recording_before_exit() {
    let _one = ONE_AT_A_TIME.lock().await;
    let signalled = std::sync::Arc::new(std::sync::Mutex::new(None));
    let at = signalled.clone();
    let r = record("video", "rec-sigt-erm", json!({}), move || async move {
        tokio::time::sleep(Duration::from_secs(8)).await;
        // The platform stops the bot. The runtime's handler is installed (the bot runs), so
        // this process is not killed by it.
        *at.lock().unwrap() = Some(Instant::now());
        run("kill", &["-TERM", &std::process::id().to_string()]);
        // The host ends the meeting only after the bot has left on its own.
        tokio::time::sleep(Duration::from_secs(5)).await;
    })
    .await;
    let signalled = signalled.lock().unwrap().unwrap();
    let exit_took = r.exited_at.duration_since(signalled);
    assert!(
        exit_took < Duration::from_secs(30),
        "exited {exit_took:?} after SIGTERM"
    );
    let statuses: Vec<String> = r
        .channel
        .lock()
        .statuses
        .iter()
        .map(|(s, c, _)| c.as_ref().map_or(s.clone(), |c| format!("{s}/{c}")))
        .collect();
    assert_eq!(
        statuses[statuses.len() - 2..],
        ["LEAVING/platform_stopped", "ENDED/platform_stopped"]
    );
    assert_eq!(r.parts.len(), 1);
    assert_close(duration(&r.parts[0]), r.in_call);
    assert_tone(&r.parts[0]);
    assert!(
        r.channel.log().last().unwrap().starts_with("finish 1"),
        "finish comes after every chunk"
    );
}

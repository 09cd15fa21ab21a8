//! Recording end to end: the real server starts the real `meeboter bot` (local platform),
//! which records the server's look-alike meeting (a 440 Hz tone and moving video) with
//! Xvfb, PulseAudio and ffmpeg and uploads it in chunks; the stored recording is checked
//! with ffprobe and by listening to it.

mod common;

use common::{PLATFORMS, Server, history, in_call_secs};
use meeboter_storage::testing::{S3Peer, SECRET_KEY};
use serde_json::{Value, json};
use std::process::Command;
use std::time::{Duration, Instant};

/// Browsers and encoders: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

async fn download(s: &Server, recording: &Value, dir: &std::path::Path) -> std::path::PathBuf {
    let url = recording["url"].as_str().expect("one part, one URL");
    let bytes = s.http.get(url).send().await.unwrap().bytes().await.unwrap();
    let path = dir.join("recording.mp4");
    std::fs::write(&path, &bytes).unwrap();
    path
}

fn ffprobe(path: &std::path::Path) -> Value {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-print_format", "json", "-show_format", "-show_streams"])
        .arg(path)
        .output()
        .expect("ffprobe (scripts/test installs ffmpeg)");
    assert!(
        out.status.success(),
        "ffprobe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The audio as 16 kHz mono samples.
fn pcm(path: &std::path::Path) -> Vec<f32> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(path)
        .args(["-vn", "-ac", "1", "-ar", "16000", "-f", "s16le", "-"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    out.stdout
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]) as f32 / 32768.0)
        .collect()
}

/// Power of one frequency (Goertzel).
fn power_at(samples: &[f32], hz: f32, rate: f32) -> f32 {
    let k = 2.0 * (2.0 * std::f32::consts::PI * hz / rate).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - k * s1 * s2) / samples.len() as f32
}

/// The tone is there: loud enough, and 440 Hz dominates the other candidates.
fn assert_tone(path: &std::path::Path) {
    let samples = pcm(path);
    assert!(samples.len() > 16_000 * 5, "at least 5 s of audio");
    // The middle of the recording (joins and leaves may click).
    let mid = &samples[samples.len() / 4..samples.len() * 3 / 4];
    let rms = (mid.iter().map(|x| x * x).sum::<f32>() / mid.len() as f32).sqrt();
    assert!(rms > 0.01, "audio is silent (rms {rms})");
    let tone = power_at(mid, 440.0, 16_000.0);
    for other in [220.0, 330.0, 550.0, 660.0, 880.0, 1000.0] {
        let p = power_at(mid, other, 16_000.0);
        assert!(tone > 20.0 * p, "440 Hz ({tone}) does not dominate {other} Hz ({p})");
    }
}

/// Two frames a few seconds apart differ: the video moves.
fn assert_video_moves(path: &std::path::Path) {
    let frame = |at: &str| {
        let out = Command::new("ffmpeg")
            .args(["-v", "error", "-ss", at, "-i"])
            .arg(path)
            .args([
                "-frames:v",
                "1",
                "-vf",
                "scale=64:36",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "gray",
                "-",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    };
    let (a, b) = (frame("1"), frame("4"));
    assert_eq!(a.len(), 64 * 36);
    let changed = a.iter().zip(&b).filter(|(x, y)| x.abs_diff(**y) > 10).count();
    assert!(changed > 20, "frames 3 s apart are alike ({changed} pixels changed)");
}

fn streams(probe: &Value, kind: &str) -> usize {
    probe["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["codec_type"] == kind)
        .count()
}

/// A bot in `mode` joins, someone is there, the host ends after `secs`.
async fn record(s: &Server, code: &str, mode: &str, secs: u64) -> (String, Value) {
    let p = &PLATFORMS[0];
    let id = s.create(p, code, json!({"recordingMode": mode})).await;
    s.reach(&id, "IN_CALL").await;
    s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
    tokio::time::sleep(Duration::from_secs(secs)).await;
    s.host(p, code, "end", json!({})).await;
    let bot = s.ended(&id).await;
    (id, bot)
}

#[test]
fn video_audio_and_none_recordings_through_the_real_server() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = Server::start().await;
        let dir = tempfile::tempdir().unwrap();

        let (id, bot) = record(&s, "rec-video", "video", 20).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{bot}");
        let recording = s.recording_ready(&id, Duration::from_secs(90)).await;
        let file = download(&s, &recording, dir.path()).await;
        let probe = ffprobe(&file);
        assert_eq!((streams(&probe, "video"), streams(&probe, "audio")), (1, 1), "{probe}");
        let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
        let expected = in_call_secs(&bot);
        assert!(
            (duration - expected).abs() <= 2.0,
            "recorded {duration} s of a {expected} s call"
        );
        assert!(
            (recording["durationSecs"].as_f64().unwrap() - duration).abs() <= 2.0,
            "{recording}"
        );
        assert_tone(&file);
        assert_video_moves(&file);

        let (id, bot) = record(&s, "rec-audio", "audio", 12).await;
        // The bot reported when its capture took its first sound sample (the recording's
        // time 0, which transcript times count from): after IN_CALL, within seconds.
        let in_call = bot["statusChanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "IN_CALL")
            .and_then(|c| chrono::DateTime::parse_from_rfc3339(c["at"].as_str()?).ok())
            .unwrap()
            .timestamp_millis();
        let events = s.events(&id).await;
        let started = events
            .iter()
            .find(|e| e["type"] == "recording_started")
            .and_then(|e| e["data"]["at"].as_i64())
            .unwrap_or_else(|| panic!("no recording_started: {events:?}"));
        assert!(
            (0..10_000).contains(&(started - in_call)),
            "recording started {} ms after IN_CALL",
            started - in_call
        );
        eprintln!("recording started {} ms after IN_CALL", started - in_call);
        let recording = s.recording_ready(&id, Duration::from_secs(90)).await;
        let file = download(&s, &recording, dir.path()).await;
        let probe = ffprobe(&file);
        assert_eq!((streams(&probe, "video"), streams(&probe, "audio")), (0, 1), "{probe}");
        assert_tone(&file);

        let (id, _) = record(&s, "rec-none", "none", 3).await;
        let r = s
            .http
            .get(format!("{}/api/bots/{id}/recording", s.public))
            .bearer_auth(&s.key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 404);
    });
}

#[test]
fn a_bot_killed_mid_meeting_leaves_a_playable_recording() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = Server::start().await;
        let p = &PLATFORMS[0];
        let code = "rec-killed";
        let id = s.create(p, code, json!({"recordingMode": "video"})).await;
        let bot = s.reach(&id, "IN_CALL").await;
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        let pid: i32 = bot["deployment"]["identifier"]
            .as_str()
            .unwrap()
            .split(':')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL).unwrap();
        let bot = s.ended(&id).await;
        assert_eq!(bot["status"], "FATAL", "{bot}");
        let last = bot["statusChanges"].as_array().unwrap().last().unwrap().clone();
        assert!(last["subCode"].is_string(), "a clear sub code: {bot}");
        // What the killed bot had started (Chromium, ffmpeg, Xvfb, PulseAudio) is cleaned up
        // with its release rather than left running as orphans.
        let left_over = |pgid: i32| -> Vec<String> {
            std::fs::read_dir("/proc")
                .unwrap()
                .flatten()
                .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
                .filter_map(|p| std::fs::read_to_string(format!("/proc/{p}/stat")).ok())
                .filter(|stat| {
                    let after = &stat[stat.rfind(')').unwrap() + 2..];
                    let f: Vec<&str> = after.split_whitespace().collect();
                    f[0] != "Z" && f[2] == pgid.to_string()
                })
                .collect()
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !left_over(pid).is_empty() {
            assert!(
                Instant::now() < deadline,
                "orphans of the killed bot: {:?}",
                left_over(pid)
            );
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        // Its private temporary directory (browser profile, sound server, segments) and the
        // X lock of its killed Xvfb go with the release.
        let private = std::env::temp_dir().join(format!("meeboter-bot-{id}-1"));
        let display = std::fs::read_to_string(private.join("x-display")).ok();
        let deadline = Instant::now() + Duration::from_secs(30);
        while private.exists() {
            assert!(Instant::now() < deadline, "{} is left behind", private.display());
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if let Some(n) = display {
            let lock = format!("/tmp/.X{}-lock", n.trim());
            let holder = std::fs::read_to_string(&lock).unwrap_or_default();
            assert!(
                holder.trim().is_empty() || std::path::Path::new(&format!("/proc/{}", holder.trim())).exists(),
                "{lock} of the killed Xvfb is left behind"
            );
        }
        // Assembled once the grace for late uploads has passed.
        let recording = s.recording_ready(&id, Duration::from_secs(120)).await;
        let dir = tempfile::tempdir().unwrap();
        let file = download(&s, &recording, dir.path()).await;
        let probe = ffprobe(&file);
        let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
        // Chunks are ~6 s: what was uploaded before the kill is there (at most the last chunk lost).
        assert!(duration >= 8.0, "only {duration} s of ~20 s survived");
        assert_tone(&file);
    });
}

#[test]
fn an_s3_outage_mid_meeting_delays_uploads_but_loses_nothing() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("s3");
        std::fs::create_dir(&data).unwrap();
        let mut peer = S3Peer::start(data, dir.path().join("s3s-fs.log")).await;
        let endpoint = peer.endpoint();
        let s = Server::start_with(&[
            ("S3_ENDPOINT", endpoint.as_str()),
            ("S3_BUCKET_NAME", meeboter_storage::testing::BUCKET),
            ("S3_ACCESS_KEY", meeboter_storage::testing::ACCESS_KEY),
            ("S3_SECRET_KEY", SECRET_KEY),
            ("S3_REQUEST_TIMEOUT_SECS", "2"),
        ])
        .await;
        let p = &PLATFORMS[0];
        let code = "rec-outage";
        let id = s.create(p, code, json!({"recordingMode": "video"})).await;
        s.reach(&id, "IN_CALL").await;
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        peer.kill().await;
        tokio::time::sleep(Duration::from_secs(20)).await;
        peer.spawn().await;
        tokio::time::sleep(Duration::from_secs(8)).await;
        s.host(p, code, "end", json!({})).await;
        let bot = s.ended(&id).await;
        let recording = s.recording_ready(&id, Duration::from_secs(120)).await;
        let file = download(&s, &recording, dir.path()).await;
        let probe = ffprobe(&file);
        let duration: f64 = probe["format"]["duration"].as_str().unwrap().parse().unwrap();
        let expected = in_call_secs(&bot);
        assert!(
            (duration - expected).abs() <= 2.0,
            "recorded {duration} s of a {expected} s call"
        );
        assert_tone(&file);
    });
}

/// Storage is unreachable while the bot leaves: the bot keeps its last segments and retries
/// for the platform's stop grace, then says what it could not send; the server assembles
/// what arrived and marks it `partial` with the missing span — never `ready`.
#[test]
fn storage_down_while_the_bot_leaves_makes_a_partial_recording() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("s3");
        std::fs::create_dir(&data).unwrap();
        let mut peer = S3Peer::start(data, dir.path().join("s3s-fs.log")).await;
        let endpoint = peer.endpoint();
        let s = Server::start_with(&[
            ("S3_ENDPOINT", endpoint.as_str()),
            ("S3_BUCKET_NAME", meeboter_storage::testing::BUCKET),
            ("S3_ACCESS_KEY", meeboter_storage::testing::ACCESS_KEY),
            ("S3_SECRET_KEY", SECRET_KEY),
            ("S3_REQUEST_TIMEOUT_SECS", "2"),
            // The bot flushes for 12 - 5 = 7 s.
            ("LOCAL_STOP_GRACE_SECS", "12"),
        ])
        .await;
        let p = &PLATFORMS[0];
        let code = "rec-partial";
        let id = s.create(p, code, json!({"recordingMode": "audio"})).await;
        s.reach(&id, "IN_CALL").await;
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        tokio::time::sleep(Duration::from_secs(14)).await;
        peer.kill().await;
        tokio::time::sleep(Duration::from_secs(13)).await;
        let left_at = Instant::now();
        s.host(p, code, "end", json!({})).await;
        let bot = s.ended(&id).await;
        // The bot exits once its flush gave up (storage still down).
        let private = std::env::temp_dir().join(format!("meeboter-bot-{id}-1"));
        while private.exists() {
            assert!(left_at.elapsed() < Duration::from_secs(30), "the bot never exited");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        let flushed_for = left_at.elapsed();
        // It retried until its deadline (grace 12 s - 5 s margin - 3 s kept for `finish`), and
        // exited by itself before the platform would have killed it.
        assert!(
            flushed_for >= Duration::from_secs(3) && flushed_for < Duration::from_secs(12),
            "flushed for {flushed_for:?}"
        );
        peer.spawn().await;
        let deadline = Instant::now() + Duration::from_secs(120);
        let recording = loop {
            let r = s.get(&format!("/api/bots/{id}/recording")).await;
            match r["state"].as_str() {
                Some("partial") => break r,
                Some("ready") => panic!("a truncated recording reported ready: {r}"),
                Some("failed") => panic!("recording failed: {r}"),
                _ => {}
            }
            assert!(Instant::now() < deadline, "never assembled: {r}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert_eq!(recording["complete"], false, "{recording}");
        let missing = recording["missing"].as_array().unwrap();
        assert!(!missing.is_empty(), "{recording}");
        assert!(
            missing.iter().all(|m| m["durationSecs"].as_f64().is_some()),
            "{recording}"
        );
        let got = recording["durationSecs"].as_f64().unwrap();
        let lost = recording["missingSecs"].as_f64().unwrap();
        assert!(lost >= 6.0, "the outage's segments are missing: {recording}");
        let expected = in_call_secs(&bot);
        assert!(
            (got + lost - expected).abs() <= 7.0,
            "{got} s arrived + {lost} s missing of a {expected} s call"
        );
        let file = download(&s, &recording, dir.path()).await;
        assert_tone(&file);
    });
}

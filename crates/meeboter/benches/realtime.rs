//! Real-time transcription (`cargo bench -p meeboter --bench realtime`): a real `meeboter
//! serve` starts a real `meeboter bot` that records the look-alike Meet call as audio and
//! streams it. Sentences spoken by espeak-ng are played into the meeting audio the bot
//! hears, one every few seconds. Two runs (`BENCH_PROVIDERS`, default `openai,deepgram`):
//! `openai` with faster-whisper-server (Whisper tiny.en on the CPU), and `deepgram` with
//! the scripted Deepgram fake over the live WebSocket (it cannot recognise speech: its
//! script is a word every 0.6 s of streamed audio, so every segment sent yields lines).
//!
//! - **Latency**: `openai`: from the moment a sentence's last word has been played to the
//!   `transcript.data` event holding that word (server time; one machine, one clock):
//!   p50, p95, max over the sentences found. Both: from the moment a line's last audio was
//!   heard (the recording's time 0 + its `endMs`) to its `transcript.data` event.
//! - **Server cost**: the server process's CPU (share of a core) and PSS from `/proc`, over
//!   10 s of the call in silence (nothing to transcribe: the baseline) and over the spoken
//!   stretch; the difference is what real-time transcription adds.
//! - **Cost of the audio tap**: the tap's ffmpeg (the bot's only ffmpeg writing `s16le`),
//!   read from `/proc` over the measured stretch: CPU share of a core and PSS — next to
//!   the recording's ffmpeg for scale. The sender is a task of the bot process; its
//!   share is the bot process's CPU, printed too.
//!
//! `MEEBOTER_TEST_WHISPER_BIN`/`_MODEL` must point at the peer for `openai` (as for the
//! tests); `BENCH_SENTENCES` sets how many sentences (default 12). Run it on an idle machine.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{PLATFORMS, Server, Whisper, bot_sound_server, machine, play_into, speech};
use deepgram_fake::{DeepgramFake, ScriptWord};
use meeboter_bot::procstat::{self, TICKS_PER_SEC};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Sentences, each ending with a word the others do not contain.
const SENTENCES: [(&str, &str); 12] = [
    ("Please open the report about the budget", "budget"),
    ("We need to call the biggest customers", "customers"),
    ("Next week we hire two more engineers", "engineers"),
    ("The team will meet again on Thursday", "thursday"),
    ("Our office will close for the holiday", "holiday"),
    ("Someone has to restart the database", "database"),
    ("The lawyers want to read the contract", "contract"),
    ("Sales grew a lot in the last quarter", "quarter"),
    ("Let us move on to the marketing", "marketing"),
    ("Everybody liked the new website", "website"),
    ("The train was late again this morning", "morning"),
    ("I will send you the slides tomorrow", "tomorrow"),
];

fn epoch_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as i64
}

fn cmdline(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .unwrap_or_default()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

/// The server's own CPU ticks and PSS (MB) now.
fn server_sample(pid: u32) -> (u64, f64) {
    (procstat::cpu_ticks(pid), procstat::pss_kib(pid) as f64 / 1024.0)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: usize = std::env::var("BENCH_SENTENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
        .clamp(1, SENTENCES.len());
    println!("machine: {}", machine());
    let providers = std::env::var("BENCH_PROVIDERS").unwrap_or_else(|_| "openai,deepgram".into());
    for provider in providers.split(',').map(str::trim) {
        match provider {
            "openai" => {
                let Some(whisper) = Whisper::start().await else {
                    println!("openai skipped: set MEEBOTER_TEST_WHISPER_BIN and MEEBOTER_TEST_WHISPER_MODEL");
                    continue;
                };
                let s = Server::start_with(&[("TRANSCRIPTION_OPENAI_URL", whisper.url.as_str())]).await;
                run(&s, "openai", n).await;
            }
            "deepgram" => {
                const KEY: &str = "bench-deepgram-key";
                let fake = DeepgramFake::start(KEY).await;
                let words = (0..1000)
                    .map(|i| {
                        let at = i as f64 * 0.6;
                        ScriptWord::new(&format!("word{i}"), at + 0.1, at + 0.5, (i / 10) % 2)
                    })
                    .collect();
                fake.set_script(words);
                let s = Server::start_with(&[
                    ("TRANSCRIPTION_DEEPGRAM_URL", fake.url.as_str()),
                    ("TRANSCRIPTION_DEEPGRAM_API_KEY", KEY),
                ])
                .await;
                run(&s, "deepgram", n).await;
            }
            other => println!("unknown provider {other}"),
        }
    }
}

async fn run(s: &Server, provider: &str, n: usize) {
    let p = &PLATFORMS[0];
    let code = "bench-realtime";
    s.configure(p, code, json!({"toneHz": 0})).await;
    let id = s
        .create(
            p,
            code,
            json!({"recordingMode": "audio",
                   "transcription": {"provider": provider, "language": "en", "realtime": true}}),
        )
        .await;
    s.reach(&id, "IN_CALL").await;
    s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
    let socket = bot_sound_server(&id).await;
    let bot = procstat::tree(s.child.id())
        .into_iter()
        .find(|pid| *pid != s.child.id() && procstat::name(*pid) == "meeboter")
        .expect("the bot process");
    let dir = tempfile::tempdir().unwrap();
    let clips: Vec<_> = SENTENCES[..n]
        .iter()
        .enumerate()
        .map(|(i, (text, _))| speech(dir.path(), &format!("s{i}"), text).0)
        .collect();
    tokio::time::sleep(Duration::from_secs(5)).await;
    // Baseline: the server with the bot in a silent call (the tap sends no silent segment).
    let server = s.child.id();
    let quiet_start = (server_sample(server), Instant::now());
    let mut pss_quiet = Vec::new();
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_secs(1)).await;
        pss_quiet.push(server_sample(server).1);
    }
    let quiet_secs = quiet_start.1.elapsed().as_secs_f64();
    let quiet_cores = (server_sample(server).0 - quiet_start.0.0) as f64 / TICKS_PER_SEC / quiet_secs;
    let ffmpegs: Vec<u32> = procstat::tree(bot)
        .into_iter()
        .filter(|pid| procstat::name(*pid) == "ffmpeg")
        .collect();
    let tap = *ffmpegs
        .iter()
        .find(|pid| cmdline(**pid).contains("s16le"))
        .expect("the tap's ffmpeg");
    let recorder = ffmpegs.iter().copied().find(|pid| *pid != tap);
    let ticks = |pid: Option<u32>| pid.map(procstat::cpu_ticks).unwrap_or(0);
    let start = (ticks(Some(tap)), ticks(recorder), ticks(Some(bot)), Instant::now());
    let server_start = server_sample(server).0;
    let mut pss_server = Vec::new();
    let mut pss_tap = Vec::new();
    let mut spoken = Vec::new();
    for (i, clip) in clips.iter().enumerate() {
        play_into(&socket, clip).await;
        spoken.push((SENTENCES[i].1, epoch_ms()));
        pss_tap.push(procstat::pss_kib(tap) as f64 / 1024.0);
        pss_server.push(server_sample(server).1);
        // A pause between speakers' turns, different each time.
        tokio::time::sleep(Duration::from_millis(1500 + 700 * (i as u64 % 4))).await;
    }
    // The last segment is cut within target + slack; then it is transcribed.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let secs = start.3.elapsed().as_secs_f64();
    let cores = |a: u64, b: u64| (b.saturating_sub(a)) as f64 / TICKS_PER_SEC / secs;
    let tap_cores = cores(start.0, ticks(Some(tap)));
    let rec_cores = cores(start.1, ticks(recorder));
    let bot_cores = cores(start.2, ticks(Some(bot)));
    let server_cores = cores(server_start, server_sample(server).0);

    // Wait (up to 5 min) until the last sentence's word was announced, or nothing is
    // pending: a slow provider shows as latency, not as missing sentences.
    let db = meeboter_db::Db::connect(s.database_url(), &Default::default())
        .await
        .unwrap();
    let last_word = spoken.last().unwrap().0;
    let deadline = Instant::now() + Duration::from_secs(300);
    let events = loop {
        let events = s.events(&id).await;
        let seen = events.iter().any(|e| {
            e["type"] == "transcript.data"
                && e["data"]["text"]
                    .as_str()
                    .is_some_and(|t| t.to_lowercase().contains(last_word))
        });
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM bot_audio_segments WHERE bot_id = $1 AND state = 'pending'")
                .bind(&id)
                .fetch_one(db.pool())
                .await
                .unwrap();
        if seen || pending == 0 || Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let mut latencies = Vec::new();
    let mut missing = Vec::new();
    for (word, at) in &spoken {
        let found = events.iter().find(|e| {
            e["type"] == "transcript.data"
                && e["data"]["text"]
                    .as_str()
                    .is_some_and(|t| t.to_lowercase().contains(word))
        });
        match found {
            Some(e) => {
                let when = chrono::DateTime::parse_from_rfc3339(e["at"].as_str().unwrap()).unwrap();
                latencies.push((when.timestamp_millis() - at) as f64 / 1000.0);
            }
            None => missing.push(*word),
        }
    }
    // Heard → announced, per line: the recording's time 0 (reported capture start, else
    // IN_CALL) + the line's endMs is when its last audio was heard.
    let (captured, in_call): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT capture_started_at, in_call_at FROM bots WHERE id = $1")
            .bind(&id)
            .fetch_one(db.pool())
            .await
            .unwrap();
    let t0 = captured.or(in_call).unwrap_or_default();
    let mut heard: Vec<f64> = events
        .iter()
        .filter(|e| e["type"] == "transcript.data")
        .filter_map(|e| {
            let at = chrono::DateTime::parse_from_rfc3339(e["at"].as_str()?)
                .ok()?
                .timestamp_millis();
            Some((at - (t0 + e["data"]["endMs"].as_i64()?)) as f64 / 1000.0)
        })
        .collect();
    heard.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Where the time goes, per segment: the bot (cutting, upload) and the server (queue,
    // provider), from the segments' receipts.
    let rows: Vec<(i64, i64, i64, Option<i64>)> = sqlx::query_as(
        "SELECT start_epoch_ms, duration_ms, received_at, done_at FROM bot_audio_segments WHERE bot_id = $1 ORDER BY seq",
    )
    .bind(&id)
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut upload: Vec<f64> = rows.iter().map(|r| (r.2 - r.0 - r.1) as f64 / 1000.0).collect();
    let mut server: Vec<f64> = rows
        .iter()
        .filter_map(|r| r.3.map(|done| (done - r.2) as f64 / 1000.0))
        .collect();
    upload.sort_by(|a, b| a.partial_cmp(b).unwrap());
    server.sort_by(|a, b| a.partial_cmp(b).unwrap());
    s.host(p, code, "end", json!({})).await;
    s.ended(&id).await;
    latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let what = if provider == "openai" {
        "faster-whisper-server tiny.en (CPU)"
    } else {
        "the Deepgram fake over the live WebSocket"
    };
    println!("\nreal-time transcription ({provider}), 5 s segments, {what}, {n} sentences:");
    println!(
        "  line's last audio heard → transcript.data: p50 {:.2} s, p95 {:.2} s, max {:.2} s ({} lines)",
        percentile(&heard, 0.5),
        percentile(&heard, 0.95),
        heard.last().copied().unwrap_or(f64::NAN),
        heard.len()
    );
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    println!(
        "  server process: {:.1} % of a core and PSS {:.0} MB in silence; {:.1} % and {:.0} MB (max {:.0}) while transcribing",
        quiet_cores * 100.0,
        mean(&pss_quiet),
        server_cores * 100.0,
        mean(&pss_server),
        pss_server.iter().copied().fold(0.0, f64::max)
    );
    if provider == "openai" {
        // The fake cannot hear the keywords; only a real recogniser finds them.
        println!(
            "  spoken keyword → transcript.data: p50 {:.1} s, p95 {:.1} s, max {:.1} s ({} found, not found: {missing:?})",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies.last().copied().unwrap_or(f64::NAN),
            latencies.len()
        );
    }
    println!(
        "  per segment ({} sent): segment end → stored on the server p50 {:.2} s, p95 {:.2} s; \
         stored → transcribed and announced p50 {:.1} s, p95 {:.1} s ({} done)",
        rows.len(),
        percentile(&upload, 0.5),
        percentile(&upload, 0.95),
        percentile(&server, 0.5),
        percentile(&server, 0.95),
        server.len()
    );
    println!(
        "  load average at the end: {}",
        std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    let pss_mean = pss_tap.iter().sum::<f64>() / pss_tap.len().max(1) as f64;
    println!(
        "  audio tap ffmpeg: {:.1} % of a core, PSS {pss_mean:.1} MB",
        tap_cores * 100.0
    );
    println!(
        "  for scale: recording ffmpeg {:.1} % of a core; the bot process (sender, driver, uploads) {:.1} %",
        rec_cores * 100.0,
        bot_cores * 100.0
    );
    println!("  measured over {secs:.0} s");
}

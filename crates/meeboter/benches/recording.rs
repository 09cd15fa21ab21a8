//! What one recording bot costs (`cargo bench -p meeboter --bench recording`): a real
//! `meeboter serve` (SQLite, filesystem storage, local platform) starts a real `meeboter
//! bot` that joins the server's look-alike Meet call (a 440 Hz tone, 15 fps moving video)
//! and records it. While it is in the call the bot's whole process tree — the bot itself,
//! Chromium, ffmpeg, Xvfb, PulseAudio — is read from `/proc` every 5 s: CPU over the
//! steady part of the call and PSS (steady mean and peak), per executable and in total.
//! After the host ends the meeting the stored recording's size gives MB per hour.
//!
//! `BENCH_SECS` sets the time in the call per mode (default 120); `BENCH_MODES` the
//! recording modes (default `video,audio`). Run it on an otherwise idle machine.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{PLATFORMS, Server, in_call_secs, machine};
use meeboter_bot::procstat::{self, TICKS_PER_SEC, TreeUsage};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// After `IN_CALL` the recorder starts ffmpeg and the page settles; not measured.
const WARM_UP: Duration = Duration::from_secs(15);
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

struct Measured {
    mode: String,
    secs: f64,
    cores_total: f64,
    cores_by_name: Vec<(String, f64)>,
    pss_mean_mb: f64,
    pss_peak_mb: f64,
    pss_by_name_mb: Vec<(String, f64)>,
    recording: Value,
    call_secs: f64,
}

/// The `meeboter bot` process the server started (the server's only `meeboter` child).
fn bot_pid(server: u32) -> Option<u32> {
    procstat::tree(server)
        .into_iter()
        .find(|pid| *pid != server && procstat::name(*pid) == "meeboter")
}

async fn measure(s: &Server, mode: &str, secs: u64) -> Measured {
    let platform = &PLATFORMS[0];
    let code = format!("bench-{mode}");
    let id = s.create(platform, &code, json!({"recordingMode": mode})).await;
    s.reach(&id, "IN_CALL").await;
    s.host(platform, &code, "participants", json!({"name": "Ada Lovelace"}))
        .await;
    let bot = bot_pid(s.child.id()).expect("the bot process");
    tokio::time::sleep(WARM_UP).await;

    let first = (TreeUsage::read(bot), Instant::now());
    let mut samples = vec![first.0.clone()];
    while first.1.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(SAMPLE_EVERY).await;
        samples.push(TreeUsage::read(bot));
    }
    let last = samples.last().unwrap().clone();
    let elapsed = first.1.elapsed().as_secs_f64();
    let cores = |ticks: u64| ticks as f64 / TICKS_PER_SEC / elapsed;
    let names: Vec<String> = last.by_name.iter().map(|g| g.0.clone()).collect();
    let cores_by_name = names
        .iter()
        .map(|n| (n.clone(), cores(last.ticks_since(&first.0, n))))
        .collect();
    let pss: Vec<f64> = samples.iter().map(|u| u.pss_kib() as f64 / 1024.0).collect();
    let pss_by_name_mb = names
        .iter()
        .map(|n| {
            let sum: u64 = samples
                .iter()
                .map(|u| u.by_name.iter().find(|g| &g.0 == n).map(|g| g.2).unwrap_or(0))
                .sum();
            (n.clone(), sum as f64 / 1024.0 / samples.len() as f64)
        })
        .collect();

    s.host(platform, &code, "end", json!({})).await;
    let ended = s.ended(&id).await;
    let recording = s.recording_ready(&id, Duration::from_secs(180)).await;
    Measured {
        mode: mode.to_string(),
        secs: elapsed,
        cores_total: cores(last.cpu_ticks().saturating_sub(first.0.cpu_ticks())),
        cores_by_name,
        pss_mean_mb: pss.iter().sum::<f64>() / pss.len() as f64,
        pss_peak_mb: pss.iter().cloned().fold(0.0, f64::max),
        pss_by_name_mb,
        recording,
        call_secs: in_call_secs(&ended),
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(120);
    let modes = std::env::var("BENCH_MODES").unwrap_or_else(|_| "video,audio".into());
    println!("machine: {}", machine());
    let s = Server::start().await;
    for mode in modes.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let m = measure(&s, mode, secs).await;
        let size_mb = m.recording["sizeBytes"].as_f64().unwrap_or(0.0) / 1e6;
        let duration = m.recording["durationSecs"].as_f64().unwrap_or(m.call_secs).max(1.0);
        println!(
            "\nRECORDING_MODE={}: {:.0} s measured in the call (after {} s warm-up)",
            m.mode,
            m.secs,
            WARM_UP.as_secs()
        );
        println!(
            "  CPU, whole bot: {:.2} cores  |  PSS steady {:.0} MB, peak {:.0} MB",
            m.cores_total, m.pss_mean_mb, m.pss_peak_mb
        );
        for ((name, cores), (_, pss)) in m.cores_by_name.iter().zip(&m.pss_by_name_mb) {
            println!("    {name:<16} {:>6.1} % of a core  {:>6.0} MB", cores * 100.0, pss);
        }
        println!(
            "  recording: {:.1} MB for {:.0} s ({}) → {:.0} MB per hour",
            size_mb,
            duration,
            m.recording["format"].as_str().unwrap_or("?"),
            size_mb * 3600.0 / duration
        );
    }
}

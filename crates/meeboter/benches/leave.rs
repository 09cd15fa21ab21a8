//! Leave latency (`cargo bench -p meeboter --bench leave`): a user's `POST /api/bots/{id}/leave`
//! → the bot `ENDED`, through a real `meeboter serve` (SQLite, local platform) and a real
//! `meeboter bot` in the server's look-alike Meet call, with heartbeats at the production
//! default of 30 s (so only the pushed command can make it fast). Measured on the server's own
//! clock: the `LEAVING` status change (the request) to the `ENDED` one. Without recording, and
//! with an audio recording — for which the time from the request to the recording being
//! `ready` (last segments uploaded after `ENDED`, then assembled by the server) is measured too.
//!
//! `BENCH_RUNS` sets the runs per mode (default 8).

#[path = "../tests/common/mod.rs"]
mod common;

use common::{PLATFORMS, Server, machine, seconds_between};
use serde_json::{Value, json};
use std::time::Duration;

fn change_at<'a>(bot: &'a Value, status: &str) -> &'a str {
    bot["statusChanges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["status"] == status)
        .and_then(|c| c["at"].as_str())
        .unwrap_or_else(|| panic!("no {status} in {bot}"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    println!("{}", machine());
    let s = Server::start_with(&[("HEARTBEAT_INTERVAL_SECS", "30"), ("HEARTBEAT_TIMEOUT_SECS", "300")]).await;
    let platform = &PLATFORMS[0];
    for mode in ["none", "audio"] {
        let mut latencies = Vec::new();
        let mut to_ready = Vec::new();
        for run in 0..runs {
            let code = format!("leave-{mode}-{run}");
            let id = s.create(platform, &code, json!({"recordingMode": mode})).await;
            s.reach(&id, "IN_CALL").await;
            s.host(platform, &code, "participants", json!({"name": "Ada Lovelace"}))
                .await;
            // A moment in the call (the recorder has segments to flush).
            tokio::time::sleep(Duration::from_secs(if mode == "none" { 2 } else { 8 })).await;
            let asked = std::time::Instant::now();
            s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
            let bot = s.ended(&id).await;
            if mode != "none" {
                // The last segments go up after ENDED; then the server assembles the file.
                s.recording_ready(&id, Duration::from_secs(120)).await;
                to_ready.push(asked.elapsed().as_secs_f64());
            }
            let last = bot["statusChanges"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(
                (last["status"].as_str(), last["subCode"].as_str()),
                (Some("ENDED"), Some("user_requested")),
                "{bot}"
            );
            latencies.push(seconds_between(change_at(&bot, "LEAVING"), change_at(&bot, "ENDED")));
        }
        latencies.sort_by(|a, b| a.partial_cmp(b).unwrap());
        println!(
            "recording {mode:<5}: leave → ENDED over {runs} runs: p50 {:.2} s, p95 {:.2} s, max {:.2} s",
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.95),
            latencies.last().unwrap()
        );
        if !to_ready.is_empty() {
            to_ready.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "recording {mode:<5}: leave → recording ready (flushed and assembled): p50 {:.2} s, p95 {:.2} s",
                percentile(&to_ready, 0.5),
                percentile(&to_ready, 0.95)
            );
        }
    }
}

//! The join-fidelity matrix as numbers (`cargo bench -p meeboter-bot --bench scenarios`):
//! pass rate per client and the time from the decisive moment (a person leaving, the host
//! denying, the page loading) to the bot's final status. Same scenarios as
//! `tests/scenarios.rs`; results go in BENCHMARKS.md.

#[path = "../tests/common/mod.rs"]
mod common;

use common::matrix::{CLIENTS, report, run_matrix};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let parallel = std::env::var("BENCH_PARALLEL")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    println!(
        "machine: {} cores; scenarios {} at a time",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        parallel
    );
    let verdicts = run_matrix(None, parallel).await;
    println!("{}", report(&verdicts));
    for client in CLIENTS {
        let mine: Vec<_> = verdicts.iter().filter(|v| v.client == client.name).collect();
        let passed = mine.iter().filter(|v| v.failure.is_none()).count();
        println!("{:<6} {passed}/{} passed", client.name, mine.len());
    }
    // Time to name a refusal, from the host's action or the page's load; an unknown screen is
    // named by its 10 s deadline, so it is reported apart.
    for (label, unknown) in [("refusals named", false), ("unknown screens named", true)] {
        let times: Vec<f64> = verdicts
            .iter()
            .filter(|v| v.outcome.starts_with("FATAL/") && v.failure.is_none())
            .filter(|v| (v.outcome == "FATAL/unknown_screen") == unknown)
            .map(|v| v.took.as_secs_f64())
            .collect();
        if !times.is_empty() {
            let max = times.iter().cloned().fold(0.0, f64::max);
            let mean = times.iter().sum::<f64>() / times.len() as f64;
            println!("{label}: {} scenarios, mean {mean:.1} s, max {max:.1} s", times.len());
        }
    }
}

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
    let refusals: Vec<f64> = verdicts
        .iter()
        .filter(|v| v.outcome.starts_with("FATAL/") && v.failure.is_none())
        .map(|v| v.took.as_secs_f64())
        .collect();
    if !refusals.is_empty() {
        let max = refusals.iter().cloned().fold(0.0, f64::max);
        let mean = refusals.iter().sum::<f64>() / refusals.len() as f64;
        println!(
            "refusals named: {} scenarios, mean {mean:.1} s, max {max:.1} s",
            refusals.len()
        );
    }
}

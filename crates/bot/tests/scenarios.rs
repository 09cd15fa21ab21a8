//! The join-fidelity matrix (`common/matrix.rs`) on every client: each scenario in its own
//! Chromium against a replica showing the variety of the real client. One test per client
//! so a failure names the client; every failing scenario is listed, not just the first.

mod common;

use common::matrix::{report, run_matrix};

/// Two browsers at a time: the CI machine has two cores.
const PARALLEL: usize = 2;

fn matrix(client: &str) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let verdicts = runtime.block_on(run_matrix(Some(client), PARALLEL));
    let table = report(&verdicts);
    println!("{table}");
    let failed = verdicts.iter().filter(|v| v.failure.is_some()).count();
    assert_eq!(
        failed,
        0,
        "{failed} of {} {client} scenarios failed:\n{table}",
        verdicts.len()
    );
}

#[test]
fn meet_scenarios() {
    matrix("meet");
}

#[test]
fn teams_scenarios() {
    matrix("teams");
}

#[test]
fn zoom_scenarios() {
    matrix("zoom");
}

//! The kubernetes platform's cost in API requests and its deploy latency
//! (`cargo bench -p meeboter --bench kubernetes`), through a real `meeboter serve` against
//! `kube-fake` (the in-repo kube-apiserver fake; no cluster runs here, so the numbers are the
//! platform's and the server's, not a cluster's scheduling or image pulls).
//!
//! 1. **Create → Job created**: `POST /api/bots` until the Job exists in the API server, one bot
//!    at a time (`BENCH_BOTS`, default 40), each a fake bot process (the fake's hook) that joins,
//!    stays 0.2 s and ends; p50/p99.
//! 2. **API requests per bot lifecycle**: every request the server made during step 1 (creates,
//!    adoption reads, deletes, list/watch restarts, the orphan sweep's lists), per bot.
//! 3. **Watch vs polling with 100 running bots**: 100 Jobs running (no process: the fake keeps
//!    the pods running), then the server's requests over `BENCH_SECS` (default 30) — the watch
//!    costs none while nothing changes — against what polling the same bots would cost.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Server, machine};
use kube_fake::{Controls, KubeFake};
use serde_json::json;
use std::time::{Duration, Instant};

const NS: &str = "meeboter-bots";

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

async fn server_on(fake: &KubeFake, limit: &str) -> Server {
    Server::start_with(&[
        ("DEPLOYMENT_PLATFORM", "kubernetes"),
        ("KUBERNETES_API_URL", fake.url.as_str()),
        ("KUBERNETES_BOT_NAMESPACE", NS),
        ("KUBERNETES_BOT_LIMIT", limit),
        ("BOT_IMAGE", "registry.example/meeboter-bot"),
        ("DEPLOY_TIMEOUT_SECS", "3600"),
    ])
    .await
}

#[tokio::main]
async fn main() {
    let bots: usize = std::env::var("BENCH_BOTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(40);
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    println!("machine: {}", machine());

    // 1 and 2: one bot at a time, full lifecycles.
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/fake_bot.py");
    let fake = KubeFake::start(Controls {
        hook: Some(vec!["python3".into(), script.into(), "--stay".into(), "0.2".into()]),
        ..Default::default()
    })
    .await;
    let server = server_on(&fake, "10").await;
    // Let the watch start (its first list) before counting.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = fake.requests().len();
    let mut latencies = Vec::new();
    let mut ids = Vec::new();
    for _ in 0..bots {
        let started = Instant::now();
        let bot = server
            .post("/api/bots", json!({"meetingUrl": "https://zoom.us/j/123456789"}))
            .await;
        let id = bot["id"].as_str().unwrap().to_string();
        let job = meeboter_platforms::kubernetes::job_name(&id, 1);
        while fake.object("jobs", NS, &job).is_none() {
            assert!(started.elapsed() < Duration::from_secs(30), "no Job for {id}");
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        ids.push(id);
    }
    for id in &ids {
        server.ended(id).await;
    }
    // Released: the Jobs and Secrets are gone.
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(fake.names("jobs", NS).is_empty() && fake.names("secrets", NS).is_empty()) {
        assert!(Instant::now() < deadline, "objects left behind");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let requests = &fake.requests()[before..];
    latencies.sort_by(f64::total_cmp);
    println!(
        "create → Job created, {bots} bots one at a time: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.last().unwrap()
    );
    let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
    for r in requests {
        *by_kind.entry(format!("{} {}", r.verb, r.resource)).or_default() += 1;
    }
    println!(
        "API requests per bot lifecycle: {:.2} ({} requests for {bots} bots: {by_kind:?})",
        requests.len() as f64 / bots as f64,
        requests.len()
    );
    drop(server);
    drop(fake);

    // 3: 100 running bots.
    let fake = KubeFake::start(Controls {
        run_for: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    let server = server_on(&fake, "100").await;
    for _ in 0..100 {
        server
            .post("/api/bots", json!({"meetingUrl": "https://zoom.us/j/123456789"}))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let running = fake
            .names("pods", NS)
            .iter()
            .filter(|p| {
                fake.object("pods", NS, p)
                    .is_some_and(|o| o["status"]["phase"] == "Running")
            })
            .count();
        if running == 100 {
            break;
        }
        assert!(Instant::now() < deadline, "{running} pods running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = fake.requests().len();
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let window = &fake.requests()[before..];
    let mut by_kind = std::collections::BTreeMap::<String, usize>::new();
    for r in window {
        *by_kind.entry(format!("{} {}", r.verb, r.resource)).or_default() += 1;
    }
    println!(
        "100 running bots, watch: {:.3} requests/s over {secs} s ({by_kind:?})",
        window.len() as f64 / secs as f64
    );
    // What polling would cost for the same bots, at the reconciler's pass (every 0.5 s): a
    // GET of each bot's Job and pod per pass, or one label-selected LIST of each per pass
    // (whose answer grows with the bots), or ECS's budget of one observation per bot per 10 s.
    println!(
        "100 running bots, polling instead: per-bot GETs every pass {:.0} requests/s; two LISTs every pass {:.0} requests/s; per-bot every 10 s {:.0} requests/s",
        100.0 * 2.0 / 0.5,
        2.0 / 0.5,
        100.0 * 2.0 / 10.0
    );
    drop(server);
}

//! Bot join benchmark (`cargo bench -p meeboter-bot --bench join`): Chromium start →
//! Meet test meeting joined (`IN_CALL`) on a direct-join replica, repeated; plus the
//! memory of the bot process (Chromium excluded) and of Chromium in the call.

use meeboter_bot::browser;
use meeboter_bot::driver::{Observation, Provider};
use meeboter_bot::procstat::{self, cpu_ticks, rss_kib};
use meeboter_bot::providers::{WebClient, meet::MEET};
use std::time::{Duration, Instant};

const RUNS: usize = 10;

/// PSS of Chromium's process tree.
fn tree_rss_kib(root: u32) -> u64 {
    procstat::TreeUsage::read(root).pss_kib()
}

fn tree_cpu_ticks(root: u32) -> u64 {
    procstat::TreeUsage::read(root).cpu_ticks()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[(((sorted.len() - 1) as f64) * p).round() as usize]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, meeboter_replica::router()).await });
    let chromium = browser::find_chromium(None).expect("Chromium");
    println!(
        "machine: {} cores; {}",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        String::from_utf8_lossy(
            &std::process::Command::new(&chromium)
                .arg("--version")
                .output()
                .unwrap()
                .stdout
        )
        .trim()
    );
    let mut joins = Vec::new();
    let mut in_call_rss = Vec::new();
    for run in 0..RUNS {
        let t0 = Instant::now();
        let mut running = browser::launch(&chromium, false, &[]).await.unwrap();
        let page = running.browser.new_page("about:blank").await.unwrap();
        let mut provider = WebClient::new(page, &MEET, &format!("{base}/ben-chxx-{run:03}"));
        provider.join("Bench Bot").await.unwrap();
        loop {
            if let Observation::InCall { .. } = provider.observe().await.unwrap() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        joins.push(t0.elapsed().as_secs_f64() * 1000.0);
        // Settle a moment in the call, then read memory.
        tokio::time::sleep(Duration::from_secs(2)).await;
        let own = rss_kib(std::process::id());
        let browser_pid = running.browser.get_mut_child().map(|c| c.inner.id().unwrap_or(0));
        let chrome = browser_pid.map(tree_rss_kib).unwrap_or(0);
        in_call_rss.push((own, chrome));
        if run == RUNS - 1
            && let Some(pid) = browser_pid
        {
            // Idle in the call as the driver is: one look at the page a second, for 10 s.
            let (chrome0, own0, t0) = (tree_cpu_ticks(pid), cpu_ticks(std::process::id()), Instant::now());
            for _ in 0..10 {
                provider.observe().await.unwrap();
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            let secs = t0.elapsed().as_secs_f64();
            let chrome_cores = (tree_cpu_ticks(pid) - chrome0) as f64 / 100.0 / secs;
            let own_cores = (cpu_ticks(std::process::id()) - own0) as f64 / 100.0 / secs;
            println!(
                "CPU idle in the call (10 s, one look a second): Chromium {:.1} % of a core, bot process {:.1} % (also serves the replica)",
                chrome_cores * 100.0,
                own_cores * 100.0
            );
        }
        provider.leave().await.unwrap();
        running.close().await;
    }
    joins.sort_by(f64::total_cmp);
    println!(
        "Chromium start → IN_CALL (direct join, {RUNS} runs): p50 {:.0} ms, p90 {:.0} ms, max {:.0} ms",
        percentile(&joins, 0.5),
        percentile(&joins, 0.9),
        joins[joins.len() - 1]
    );
    let (own, chrome) = in_call_rss[in_call_rss.len() - 1];
    println!(
        "memory in the call: bot process RSS {:.1} MB (this process, Chromium excluded), Chromium {:.0} MB (PSS of all its processes)",
        own as f64 / 1024.0,
        chrome as f64 / 1024.0
    );
}

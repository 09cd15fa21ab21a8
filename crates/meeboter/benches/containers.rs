//! What a bot costs as a container (`cargo bench -p meeboter --bench containers`), on the
//! docker platform against the engine and images `scripts/test` sets up
//! (`MEEBOTER_TEST_DOCKER_HOST`, `MEEBOTER_TEST_IMAGES`; without them it says so and stops).
//!
//! 1. **Pull**: the bot image is saved, gzipped (what a registry transfers) and loaded into an
//!    empty store: decompress, unpack and store every layer, as a host without the image does.
//! 2. **Cold start**: the page cache is dropped, then `create → IN_CALL` is timed; then
//!    **warm starts**, the image's files cached, as on a host that has run bots before.
//! 3. **Per container**, for `RECORDING_MODE` none, audio and video: CPU and memory read from
//!    the container's own cgroup (v1 or v2) every 2 s while it is in the call — steady (after
//!    a warm-up) and peak — plus what the start cost.
//! 4. **Under limits**: a video-recording bot with `DOCKER_BOT_CPUS`/`DOCKER_BOT_MEMORY` pairs
//!    (`BENCH_LIMITS`, default `0.5/1g,1/512m,1/768m,1/1g`): does it join, stay in the call and
//!    record all of it — the evidence behind the recommended task and slot sizes.
//!
//! `BENCH_SECS` sets the time measured per mode (default 60), `BENCH_MODES` the modes,
//! `BENCH_WARM` the number of warm starts (default 3), `BENCH_PULL=0` skips step 1. Run it
//! on an otherwise idle machine.

#[path = "../tests/common/mod.rs"]
mod common;

use common::engine::{Engine, engine};
use common::{PLATFORMS, Server, machine, seconds_between};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const WARM_UP: Duration = Duration::from_secs(15);
const SAMPLE_EVERY: Duration = Duration::from_secs(2);
const MB: f64 = 1024.0 * 1024.0;

/// One container's cgroup, found through its init process.
struct Cgroup {
    cpu: PathBuf,
    memory: PathBuf,
    v2: bool,
}

/// A reading of a cgroup's counters.
#[derive(Clone, Copy, Default)]
struct CgroupReading {
    cpu_ns: u64,
    /// Charged memory, page cache included.
    usage: u64,
    /// `usage` minus inactive file pages: what the kernel cannot simply drop, and what
    /// `docker stats` shows.
    working_set: u64,
    anon: u64,
    /// Shared memory (tmpfs, e.g. Chromium's `/dev/shm`), counted in the cache.
    shmem: u64,
    /// The cgroup's high-water mark since the container started (when the kernel keeps one).
    peak: Option<u64>,
}

impl Cgroup {
    fn of_pid(pid: u32) -> Cgroup {
        let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).expect("the container's cgroup");
        let controller = |name: &str| {
            text.lines().find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
                controllers.split(',').any(|c| c == name).then(|| path.to_string())
            })
        };
        match (controller("memory"), controller("cpuacct")) {
            (Some(memory), Some(cpu)) => {
                let cpu_root = ["/sys/fs/cgroup/cpuacct", "/sys/fs/cgroup/cpu,cpuacct"]
                    .into_iter()
                    .find(|r| Path::new(&format!("{r}{cpu}")).exists())
                    .expect("the cpuacct hierarchy");
                Cgroup {
                    cpu: PathBuf::from(format!("{cpu_root}{cpu}")),
                    memory: PathBuf::from(format!("/sys/fs/cgroup/memory{memory}")),
                    v2: false,
                }
            }
            _ => {
                let path = text
                    .lines()
                    .find_map(|l| l.strip_prefix("0::"))
                    .expect("a cgroup v2 path");
                let dir = PathBuf::from(format!("/sys/fs/cgroup{path}"));
                Cgroup {
                    cpu: dir.clone(),
                    memory: dir,
                    v2: true,
                }
            }
        }
    }

    fn read(&self) -> CgroupReading {
        let file = |dir: &Path, name: &str| std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        let number = |dir: &Path, name: &str| file(dir, name).trim().parse::<u64>().ok();
        let stat = file(&self.memory, "memory.stat");
        let field = |name: &str| {
            stat.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse::<u64>().ok())
                .unwrap_or(0)
        };
        if self.v2 {
            let cpu_us = file(&self.cpu, "cpu.stat")
                .lines()
                .find_map(|l| l.strip_prefix("usage_usec ")?.trim().parse::<u64>().ok())
                .unwrap_or(0);
            let usage = number(&self.memory, "memory.current").unwrap_or(0);
            CgroupReading {
                cpu_ns: cpu_us * 1000,
                usage,
                working_set: usage.saturating_sub(field("inactive_file")),
                anon: field("anon"),
                shmem: field("shmem"),
                peak: number(&self.memory, "memory.peak"),
            }
        } else {
            let usage = number(&self.memory, "memory.usage_in_bytes").unwrap_or(0);
            CgroupReading {
                cpu_ns: number(&self.cpu, "cpuacct.usage").unwrap_or(0),
                usage,
                working_set: usage.saturating_sub(field("total_inactive_file")),
                anon: field("total_rss"),
                shmem: field("total_shmem"),
                peak: number(&self.memory, "memory.max_usage_in_bytes"),
            }
        }
    }
}

impl Engine {
    /// The pid of a running container's init process, as the host sees it.
    fn pid_of(&self, container: &str) -> u32 {
        self.run(&["inspect", "--format", "{{.State.Pid}}", container])
            .parse()
            .expect("a pid")
    }
}

fn timed(what: &str, cmd: &mut Command) -> f64 {
    let t0 = Instant::now();
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(out.status.success(), "{what}: {}", String::from_utf8_lossy(&out.stderr));
    t0.elapsed().as_secs_f64()
}

/// What a host without the image does: the bot image is saved, compressed as a registry
/// serves it, and loaded (decompressed, unpacked, stored) into an empty, separate store, so
/// no layer is already present. Returns (archive MB, gzip MB, load seconds).
fn pull(engine: &Engine, dir: &Path) -> (f64, f64, f64) {
    let archive = dir.join("bot-image.tar");
    let archive_s = archive.to_str().unwrap();
    let save = timed(
        "podman save",
        Command::new(&engine.cli).args(["save", "--format", "docker-archive", "-o", archive_s, &engine.image()]),
    );
    let archive_mb = std::fs::metadata(&archive).unwrap().len() as f64 / MB;
    let gz = dir.join("bot-image.tar.gz");
    let gz_s = gz.to_str().unwrap().to_string();
    timed(
        "gzip",
        Command::new("sh").args(["-c", &format!("gzip -6 -c '{archive_s}' > '{gz_s}'")]),
    );
    let _ = std::fs::remove_file(&archive);
    let gzip_mb = std::fs::metadata(&gz).unwrap().len() as f64 / MB;
    let store = dir.join("empty-store");
    let (root, runroot) = (store.join("root"), store.join("run"));
    let separate = ["--root", root.to_str().unwrap(), "--runroot", runroot.to_str().unwrap()];
    // Podman 4 loads only uncompressed archives: decompress on the way in, as a pull does.
    let load = timed(
        "podman load into an empty store",
        Command::new("sh").args([
            "-c",
            &format!("gzip -dc '{gz_s}' | {} {} load -q", engine.cli, separate.join(" ")),
        ]),
    );
    let _ = Command::new(&engine.cli)
        .args(separate)
        .args(["system", "reset", "-f"])
        .output();
    let _ = std::fs::remove_dir_all(&store);
    println!("  saved in {save:.1} s");
    (archive_mb, gzip_mb, load)
}

/// Drops the kernel's page cache (root only), so the next start reads the image from disk.
fn drop_page_cache() -> bool {
    let _ = Command::new("sync").status();
    std::fs::write("/proc/sys/vm/drop_caches", "3").is_ok()
}

/// Creates a bot, waits for `IN_CALL`, makes it leave and waits for its container to go.
/// Returns the seconds from the bot's creation to each status it passed through.
async fn start(s: &Server, engine: &Engine, code: &str) -> Vec<(String, f64)> {
    let id = s.create(&PLATFORMS[0], code, json!({})).await;
    let bot = s.reach(&id, "IN_CALL").await;
    let created = bot["createdAt"].as_str().expect("createdAt").to_string();
    let steps = bot["statusChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["status"].as_str().unwrap().to_string(),
                seconds_between(&created, c["at"].as_str().unwrap()),
            )
        })
        .collect();
    s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
    s.ended(&id).await;
    engine.until_no_container(&id, Duration::from_secs(60)).await;
    steps
}

/// `QUEUED 0.00 · DEPLOYING 0.01 · …`
fn steps_line(steps: &[(String, f64)]) -> String {
    steps
        .iter()
        .map(|(s, t)| format!("{s} {t:.2}"))
        .collect::<Vec<_>>()
        .join(" · ")
}

fn in_call_at(steps: &[(String, f64)]) -> f64 {
    steps
        .iter()
        .find(|(s, _)| s == "IN_CALL")
        .map(|(_, t)| *t)
        .unwrap_or(f64::NAN)
}

struct Usage {
    mode: String,
    start_cpu_secs: f64,
    steady_cores: f64,
    peak_cores: f64,
    working_set_mean: f64,
    working_set_max: f64,
    anon_mean: f64,
    shmem_mean: f64,
    usage_mean: f64,
    lifetime_peak: Option<f64>,
}

async fn usage(s: &Server, engine: &Engine, mode: &str, secs: u64) -> Usage {
    let platform = &PLATFORMS[0];
    let code = format!("container-bench-{mode}");
    let id = s.create(platform, &code, json!({"recordingMode": mode})).await;
    s.reach(&id, "IN_CALL").await;
    let container = engine.containers_of(&id).remove(0);
    let cgroup = Cgroup::of_pid(engine.pid_of(&container));
    let at_in_call = cgroup.read();
    s.host(platform, &code, "participants", json!({"name": "Ada Lovelace"}))
        .await;
    tokio::time::sleep(WARM_UP).await;

    let t0 = Instant::now();
    let first = cgroup.read();
    let mut samples = vec![(first, 0.0)];
    while t0.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(SAMPLE_EVERY).await;
        samples.push((cgroup.read(), t0.elapsed().as_secs_f64()));
    }
    let last = samples.last().unwrap();
    let peak_cores = samples
        .windows(2)
        .map(|w| (w[1].0.cpu_ns - w[0].0.cpu_ns) as f64 / 1e9 / (w[1].1 - w[0].1))
        .fold(0.0, f64::max);
    let mean = |f: fn(&CgroupReading) -> u64| {
        samples.iter().map(|(r, _)| f(r) as f64).sum::<f64>() / samples.len() as f64 / MB
    };
    let usage = Usage {
        mode: mode.to_string(),
        start_cpu_secs: at_in_call.cpu_ns as f64 / 1e9,
        steady_cores: (last.0.cpu_ns - first.cpu_ns) as f64 / 1e9 / last.1,
        peak_cores,
        working_set_mean: mean(|r| r.working_set),
        working_set_max: samples.iter().map(|(r, _)| r.working_set).max().unwrap_or(0) as f64 / MB,
        anon_mean: mean(|r| r.anon),
        shmem_mean: mean(|r| r.shmem),
        usage_mean: mean(|r| r.usage),
        lifetime_peak: last.0.peak.map(|p| p as f64 / MB),
    };
    s.host(platform, &code, "end", json!({})).await;
    s.ended(&id).await;
    if mode != "none" {
        s.recording_ready(&id, Duration::from_secs(180)).await;
    }
    engine.until_no_container(&id, Duration::from_secs(60)).await;
    usage
}

/// A video-recording bot under `DOCKER_BOT_CPUS`/`DOCKER_BOT_MEMORY` limits: does it join,
/// stay and record the whole call? Returns a line for the table.
async fn under_limits(engine: &Engine, cpus: &str, memory: &str, secs: u64) -> String {
    let s = engine
        .server(&[("DOCKER_BOT_CPUS", cpus), ("DOCKER_BOT_MEMORY", memory)])
        .await;
    let platform = &PLATFORMS[0];
    let code = format!("container-limits-{}-{memory}", cpus.replace('.', "_"));
    let id = s.create(platform, &code, json!({"recordingMode": "video"})).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut bot = s.get(&format!("/api/bots/{id}")).await;
    while bot["status"] != "IN_CALL" && !matches!(bot["status"].as_str(), Some("ENDED" | "FATAL")) {
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        bot = s.get(&format!("/api/bots/{id}")).await;
    }
    let mut peak = String::from("n/a");
    if bot["status"] == "IN_CALL" {
        s.host(platform, &code, "participants", json!({"name": "Ada Lovelace"}))
            .await;
        let container = engine.containers_of(&id).pop();
        let cgroup = container.map(|c| Cgroup::of_pid(engine.pid_of(&c)));
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            tokio::time::sleep(Duration::from_secs(1)).await;
            if let Some(p) = cgroup.as_ref().and_then(|cg| cg.read().peak) {
                peak = format!("{:.0} MB", p as f64 / MB);
            }
        }
        s.host(platform, &code, "end", json!({})).await;
    }
    let bot = s.ended(&id).await;
    let history = common::history(&bot);
    if history.last().map(String::as_str) != Some("ENDED/meeting_ended") {
        // Why it went wrong, from the bot's own log.
        println!("\n{cpus} CPU / {memory}: {history:?}; the bot's last log lines:");
        for line in s.log_tail(&id, 25).await {
            println!("  {line}");
        }
    }
    let called = if bot["statusChanges"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["status"] == "IN_CALL")
    {
        common::in_call_secs(&bot)
    } else {
        0.0
    };
    let deadline = Instant::now() + Duration::from_secs(180);
    let recording = loop {
        let r = s.get(&format!("/api/bots/{id}/recording")).await;
        match r["state"].as_str() {
            Some("ready") => break format!("{:.1} s", r["durationSecs"].as_f64().unwrap_or(0.0)),
            Some("failed") | None => break format!("{}", r["state"]),
            _ if Instant::now() > deadline => break "never ready".to_string(),
            _ => tokio::time::sleep(Duration::from_millis(500)).await,
        }
    };
    engine.until_no_container(&id, Duration::from_secs(60)).await;
    format!(
        "| {cpus} | {memory} | {} | {called:.1} s | {recording} | {peak} |",
        history.last().map(String::as_str).unwrap_or("?")
    )
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Some(engine) = engine() else { return };
    let secs: u64 = env_or("BENCH_SECS", 60);
    let warm_runs: usize = env_or("BENCH_WARM", 3);
    let modes = std::env::var("BENCH_MODES").unwrap_or_else(|_| "none,audio,video".into());
    println!("machine: {}", machine());
    println!("engine: {} ({}), image {}", engine.cli, engine.host, engine.image());
    let dir = tempfile::tempdir().unwrap();

    if std::env::var("BENCH_PULL").as_deref() != Ok("0") {
        println!("\npull (save, gzip, load into an empty store):");
        let (archive, gzip, load) = pull(&engine, dir.path());
        println!("  image archive {archive:.0} MB, gzip -6 {gzip:.0} MB (what a registry sends)");
        println!("  load: decompress + unpack + store {load:.1} s");
        for mbps in [50.0, 200.0] {
            println!("  → at {mbps:.0} MB/s a pull takes ≈ {:.0} s + unpack", gzip / mbps);
        }
    }

    // Limits that do not get in the way of measuring.
    let s = engine
        .server(&[("DOCKER_BOT_CPUS", "2"), ("DOCKER_BOT_MEMORY", "2g")])
        .await;
    let dropped = drop_page_cache();
    let cold = start(&s, &engine, "container-cold").await;
    println!(
        "\ncold start ({}): create → IN_CALL {:.2} s",
        if dropped {
            "page cache dropped"
        } else {
            "page cache NOT dropped: not root"
        },
        in_call_at(&cold)
    );
    println!("  {}", steps_line(&cold));
    let mut warm = Vec::new();
    for i in 0..warm_runs {
        let steps = start(&s, &engine, &format!("container-warm-{i}")).await;
        println!(
            "warm start {}: create → IN_CALL {:.2} s  ({})",
            i + 1,
            in_call_at(&steps),
            steps_line(&steps)
        );
        warm.push(in_call_at(&steps));
    }
    if !warm.is_empty() {
        warm.sort_by(f64::total_cmp);
        println!(
            "warm starts: median {:.2} s, min {:.2} s, max {:.2} s",
            warm[warm.len() / 2],
            warm[0],
            warm[warm.len() - 1]
        );
    }

    let limits = std::env::var("BENCH_LIMITS").unwrap_or_else(|_| "0.5/1g,1/512m,1/768m,1/1g".into());
    let mut table = Vec::new();
    for pair in limits.split(',').filter(|p| !p.is_empty()) {
        let (cpus, memory) = pair.split_once('/').expect("BENCH_LIMITS is cpus/memory,…");
        table.push(under_limits(&engine, cpus, memory, secs).await);
    }
    if !table.is_empty() {
        println!("\nvideo bot under limits, {secs} s in the call:");
        println!("| DOCKER_BOT_CPUS | DOCKER_BOT_MEMORY | ended | in the call | recording | cgroup peak |");
        println!("|---|---|---|---|---|---|");
        for row in table {
            println!("{row}");
        }
    }

    for mode in modes.split(',').map(str::trim).filter(|m| !m.is_empty()) {
        let u = usage(&s, &engine, mode, secs).await;
        println!(
            "\nRECORDING_MODE={}: {secs} s in the call after {} s warm-up (cgroup)",
            u.mode,
            WARM_UP.as_secs()
        );
        println!(
            "  CPU: steady {:.2} core, peak {:.2} core (2 s windows); start to IN_CALL cost {:.1} CPU-s",
            u.steady_cores, u.peak_cores, u.start_cpu_secs
        );
        println!(
            "  memory: working set steady {:.0} MB, max {:.0} MB; charged incl. cache {:.0} MB (anon {:.0}, shmem {:.0}); lifetime peak {}",
            u.working_set_mean,
            u.working_set_max,
            u.usage_mean,
            u.anon_mean,
            u.shmem_mean,
            u.lifetime_peak
                .map(|p| format!("{p:.0} MB"))
                .unwrap_or_else(|| "n/a".into())
        );
    }
}

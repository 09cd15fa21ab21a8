//! `meeboter bench`: API throughput and latency against a real database.
//!
//! Starts the server in-process on a loopback port and drives it over HTTP with
//! concurrent clients, so the numbers include routing, auth, JSON and SQL — everything
//! a client pays for. Deployment is not involved (bots stay `QUEUED`).

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Args;
use meeboter_core::BotStatus;
use meeboter_core::create_bot::{CreateBotInput, validate_create_bot};
use meeboter_db::{Db, accounts, bots};
use meeboter_platforms::{BotLaunch, InstanceState, Launched, Platform, PlatformError};
use meeboter_server::config::Config;
use meeboter_server::deployment::{Deployer, PlatformSlot};
use meeboter_server::routes::keys::issue_key;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct BenchArgs {
    /// Database to benchmark (a scratch database: the benchmark writes to it).
    #[arg(long, default_value = "sqlite://bench.db")]
    pub db: String,
    /// Concurrent clients for the create benchmark.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Bots in the table for the list benchmark.
    #[arg(long, default_value_t = 100_000)]
    pub list_rows: usize,
    /// Concurrent clients for the list benchmark.
    #[arg(long, default_value_t = 8)]
    pub list_concurrency: usize,
    /// Live bots whose tokens the heartbeat benchmark cycles through.
    #[arg(long, default_value_t = 20_000)]
    pub heartbeat_bots: usize,
    /// Which runs: any of drain, create, list, heartbeat (comma-separated).
    #[arg(long, default_value = "drain,create,list,heartbeat", value_delimiter = ',')]
    pub scenarios: Vec<String>,
    /// Capacity ends measured by the drain benchmark.
    #[arg(long, default_value_t = 300)]
    pub drain_samples: usize,
}

struct Stats {
    count: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Stats {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let idx = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[idx] as f64 / 1000.0
    }

    fn print(&self, label: &str) {
        outln!(
            "{label}: {} requests in {:.1}s = {:.0} req/s; errors {}; latency ms p50 {:.2} p95 {:.2} p99 {:.2} max {:.2}",
            self.count,
            self.elapsed.as_secs_f64(),
            self.count as f64 / self.elapsed.as_secs_f64(),
            self.errors,
            self.percentile(0.50),
            self.percentile(0.95),
            self.percentile(0.99),
            self.percentile(1.0),
        );
    }
}

async fn drive<F, Fut>(concurrency: usize, duration: Duration, make: F) -> Stats
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let stop = Arc::new(AtomicBool::new(false));
    let make = Arc::new(make);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let stop = stop.clone();
        let make = make.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut errors = 0;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let ok = make().await;
                lat.push(t.elapsed().as_micros() as u64);
                if !ok {
                    errors += 1;
                }
            }
            (lat, errors)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    for t in tasks {
        if let Ok((lat, e)) = t.await {
            latencies_us.extend(lat);
            errors += e;
        }
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Stats {
        count: latencies_us.len(),
        errors,
        elapsed,
        latencies_us,
    }
}

/// Sends a request and reads the whole body, as a real client does; true if `expected`.
async fn read_ok(req: reqwest::RequestBuilder, expected: u16) -> bool {
    match req.send().await {
        Ok(res) => {
            let ok = res.status().as_u16() == expected;
            res.bytes().await.is_ok() && ok
        }
        Err(_) => false,
    }
}

async fn seed_bots(db: &Db, account_id: &str, rows: usize) -> anyhow::Result<()> {
    let now = Utc::now();
    let template = validate_create_bot(
        CreateBotInput {
            meeting_url: Some("https://meet.google.com/abc-defg-hij".into()),
            ..Default::default()
        },
        now,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut done = 0;
    while done < rows {
        let mut tx = db.begin_write().await?;
        let n = (rows - done).min(2000);
        for i in 0..n {
            let status = if (done + i) % 10 == 0 {
                BotStatus::Queued
            } else {
                BotStatus::Ended
            };
            bots::insert(&mut tx, account_id, &template, status, now).await?;
        }
        tx.commit().await?;
        done += n;
    }
    Ok(())
}

pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    if args.concurrency == 0 || args.list_concurrency == 0 || args.seconds == 0 {
        bail!("--concurrency, --list-concurrency and --seconds must be positive");
    }
    let mut config = Config::for_tests(&args.db);
    config.database_max_connections = 32;
    let mut state = meeboter_server::prepare(config)
        .await
        .context("preparing the benchmark database")?;
    // Bots are "deployed" on a platform that only records when it was called, so the
    // benchmarks measure the control plane, not process start-up.
    let recorder = Arc::new(RecordingPlatform::default());
    state.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
        platform: recorder.clone(),
        limit: 10,
    }]));
    let db = state.db.clone();
    let backend = db.backend().as_str();
    let suffix = meeboter_core::new_id().simple().to_string();
    let (create_key, list_key) = {
        let mut tx = db.begin_write().await?;
        let a = accounts::insert(&mut tx, &format!("bench-create-{suffix}"), Utc::now()).await?;
        let b = accounts::insert(&mut tx, &format!("bench-list-{suffix}"), Utc::now()).await?;
        let ka = issue_key(&mut tx, &a.id, "bench", meeboter_core::ApiKeyRole::Member, None).await?;
        let kb = issue_key(&mut tx, &b.id, "bench", meeboter_core::ApiKeyRole::Member, None).await?;
        tx.commit().await?;
        (ka.secret, (kb.secret, b.id))
    };

    let secret = state.bot_token_secret.to_string();
    let state_for_workers = state.clone();
    let state_for_directory = state.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let server = tokio::spawn(meeboter_server::serve(state, listener, std::future::pending()));
    let client = reqwest::Client::builder().pool_max_idle_per_host(256).build()?;
    outln!(
        "machine: {} cores; backend {backend}; create concurrency {}; {} s per run",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        args.concurrency,
        args.seconds
    );

    let duration = Duration::from_secs(args.seconds);
    let wants = |name: &str| args.scenarios.iter().any(|s| s == name);
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers = meeboter_server::workers::spawn(state_for_workers, workers_stopped);
    let mut errors = 0;
    if wants("drain") {
        drain(&client, &base, &create_key, &recorder, args.drain_samples).await?;
    }
    if wants("create") {
        let body = serde_json::json!({
            "meetingUrl": "https://zoom.us/j/123456789?pwd=abc",
            "botName": "Bench",
            "metadata": {"source": "bench"}
        })
        .to_string();
        let (c, b, k) = (client.clone(), base.clone(), create_key.clone());
        let create = drive(args.concurrency, duration, move || {
            let req = c
                .post(format!("{b}/api/bots"))
                .bearer_auth(&k)
                .header("content-type", "application/json")
                .body(body.clone());
            async move { read_ok(req, 201).await }
        })
        .await;
        create.print(&format!("create ({backend})"));
        errors += create.errors;
    }

    let (list_key, list_account) = list_key;
    if wants("list") {
        let started = Instant::now();
        seed_bots(&db, &list_account, args.list_rows).await?;
        outln!(
            "seeded {} bots in {:.1}s",
            args.list_rows,
            started.elapsed().as_secs_f64()
        );
        // Measure the steady state: PostgreSQL autovacuum analyses a table that grew by
        // 100k rows within a minute; before that the planner has no statistics and may
        // pick a sequential scan for the status-history lookup of a page.
        meeboter_db::analyze(&db).await?;
        let (c, b, k) = (client.clone(), base.clone(), list_key.clone());
        let list = drive(args.list_concurrency, duration, move || {
            let req = c.get(format!("{b}/api/bots?limit=50")).bearer_auth(&k);
            async move { read_ok(req, 200).await }
        })
        .await;
        list.print(&format!(
            "list 50 of {} ({backend}, {} clients)",
            args.list_rows, args.list_concurrency
        ));
        let (c, b, k) = (client.clone(), base.clone(), list_key);
        let filtered = drive(args.list_concurrency, duration, move || {
            let req = c.get(format!("{b}/api/bots?limit=50&status=QUEUED")).bearer_auth(&k);
            async move { read_ok(req, 200).await }
        })
        .await;
        filtered.print(&format!(
            "list 50 QUEUED of {} ({backend}, {} clients)",
            args.list_rows, args.list_concurrency
        ));
        errors += list.errors + filtered.errors;
    }

    if wants("heartbeat") {
        let started = Instant::now();
        let tokens = seed_live_bots(&db, &secret, &list_account, args.heartbeat_bots).await?;
        outln!(
            "seeded {} live bots with tokens in {:.1}s",
            tokens.len(),
            started.elapsed().as_secs_f64()
        );
        // Let the replica's directory load them, as it would have at startup.
        state_for_directory.heartbeats.flush(&db, meeboter_db::now()).await?;
        let tokens = Arc::new(tokens);
        let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (c, b) = (client.clone(), base.clone());
        let beats = drive(args.concurrency, duration, move || {
            let i = next.fetch_add(1, Ordering::Relaxed) % tokens.len();
            let req = c.post(format!("{b}/api/bot/v1/heartbeat")).bearer_auth(&tokens[i]);
            async move { read_ok(req, 200).await }
        })
        .await;
        beats.print(&format!(
            "heartbeat ({backend}, {} live bots, {} clients)",
            args.heartbeat_bots, args.concurrency
        ));
        errors += beats.errors;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let mut conn = db.pool().acquire().await?;
        let recorded = meeboter_db::bots::count_with_heartbeat(&mut conn).await?;
        outln!("bots with a recorded heartbeat after the run: {recorded}");
    }
    let _ = stop_workers.send(true);
    for w in workers {
        let _ = w.await;
    }
    server.abort();
    if errors > 0 {
        bail!("{errors} requests failed");
    }
    Ok(())
}

/// Creates `n` bots in `IN_CALL`, each with its own control-channel token.
async fn seed_live_bots(db: &Db, secret: &str, account_id: &str, n: usize) -> anyhow::Result<Vec<String>> {
    let now = meeboter_db::now();
    let template = validate_create_bot(
        CreateBotInput {
            meeting_url: Some("https://zoom.us/j/123456789".into()),
            ..Default::default()
        },
        now,
    )
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut tokens = Vec::with_capacity(n);
    while tokens.len() < n {
        let mut tx = db.begin_write().await?;
        for _ in 0..(n - tokens.len()).min(1000) {
            let (bot, _) = bots::insert(&mut tx, account_id, &template, BotStatus::Queued, now).await?;
            let write = bots::StatusWrite {
                in_call: true,
                ..Default::default()
            };
            bots::set_status(&mut tx, &bot.id, BotStatus::Queued, BotStatus::InCall, &write, now).await?;
            tokens.push(meeboter_server::bot_token::issue(&mut tx, secret, &bot.id, 1, now).await?);
        }
        tx.commit().await?;
    }
    Ok(tokens)
}

/// A platform that starts nothing and records each deploy call (bot id, token, when).
#[derive(Default)]
struct RecordingPlatform {
    calls: Mutex<Vec<(String, String, Instant)>>,
}

#[async_trait::async_trait]
impl Platform for RecordingPlatform {
    fn name(&self) -> &'static str {
        "test"
    }
    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError> {
        let token = launch.env.get("MILO_AUTH_TOKEN").cloned().unwrap_or_default();
        self.calls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((launch.bot_id.clone(), token, Instant::now()));
        Ok(Launched {
            identifier: format!("rec-{}", launch.bot_id),
        })
    }
    async fn stop(&self, _identifier: &str) -> Result<(), PlatformError> {
        Ok(())
    }
    async fn observe(&self, _identifier: &str) -> Result<InstanceState, PlatformError> {
        Ok(InstanceState::Running)
    }
    async fn find(&self, _bot_id: &str, _attempt: u32) -> Result<Option<Launched>, PlatformError> {
        Ok(None)
    }
}

/// Latency from a bot reporting ENDED (capacity freed) to the platform's deploy call for
/// the next queued bot, with the queue never empty and the platform full.
async fn drain(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    recorder: &RecordingPlatform,
    samples: usize,
) -> anyhow::Result<()> {
    let body = serde_json::json!({"meetingUrl": "https://zoom.us/j/123456789"}).to_string();
    let create = || {
        client
            .post(format!("{base}/api/bots"))
            .bearer_auth(key)
            .header("content-type", "application/json")
            .body(body.clone())
    };
    for _ in 0..(samples + 10) {
        if !read_ok(create(), 201).await {
            bail!("could not create a bot for the drain benchmark");
        }
    }
    let calls = |n: usize| recorder.calls.lock().unwrap_or_else(|p| p.into_inner()).len() >= n;
    let wait_for = |n: usize| async move {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !calls(n) {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        true
    };
    if !wait_for(10).await {
        bail!("the first 10 bots were not deployed");
    }
    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        let (_, token, _) = recorder.calls.lock().unwrap_or_else(|p| p.into_inner())[i].clone();
        let before = recorder.calls.lock().unwrap_or_else(|p| p.into_inner()).len();
        let ended_at = Instant::now();
        let report = client
            .post(format!("{base}/api/bot/v1/status"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(r#"{"status":"ENDED","subCode":"meeting_ended"}"#);
        if !read_ok(report, 200).await {
            bail!("ending bot {i} failed");
        }
        if !wait_for(before + 1).await {
            bail!("no bot deployed after capacity freed (sample {i})");
        }
        let deployed_at = recorder.calls.lock().unwrap_or_else(|p| p.into_inner())[before].2;
        latencies.push(deployed_at.duration_since(ended_at).as_micros() as u64);
    }
    latencies.sort_unstable();
    let stats = Stats {
        count: latencies.len(),
        errors: 0,
        elapsed: Duration::from_micros(latencies.iter().sum()),
        latencies_us: latencies,
    };
    outln!(
        "drain: capacity freed → next deploy call, {} samples: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        stats.count,
        stats.percentile(0.50),
        stats.percentile(0.95),
        stats.percentile(0.99),
        stats.percentile(1.0)
    );
    Ok(())
}

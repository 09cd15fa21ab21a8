//! Coolify pool benchmark (`cargo bench -p meeboter-server --bench coolify_pool`).
//!
//! A real server (HTTP, database from `MEEBOTER_TEST_DATABASE_URL`, default SQLite) with
//! the Coolify pool against the in-repo Coolify fake over loopback HTTP; each started
//! application runs an in-process bot speaking the control protocol, so bots really
//! join, stay and end. Measures:
//! - create → Coolify `POST /applications/{uuid}/start` latency with idle slots ready;
//! - Coolify API calls per bot lifecycle;
//! - Coolify API calls per minute while 20 slots are busy (Coolify allows 200/min).

use coolify_fake::{CoolifyFake, DESTINATION_UUID, PROJECT_UUID, SERVER_UUID};
use meeboter_db::testing::TestDatabase;
use meeboter_server::config::{Config, CoolifySettings};
use meeboter_server::deployment::coolify_pool::CoolifyPool;
use meeboter_server::deployment::{Deployer, PlatformSlot};
use std::sync::Arc;
use std::time::{Duration, Instant};

const SLOTS: u32 = 20;
const ROUNDS: usize = 10;

/// Runs an in-process bot (the control protocol over HTTP, like the real runtime) whenever
/// the fake brings an application up: the benchmark measures the control plane, not
/// bot processes competing for the same two cores.
fn run_bots(fake: &CoolifyFake, stay: Duration) {
    fake.control(move |c| {
        c.on_start = Some(Arc::new(move |_app, envs| {
            let base = envs["API_CALLBACK_URL"].clone();
            let token = envs["MILO_AUTH_TOKEN"].clone();
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let call = |method: reqwest::Method, path: &str, body: Option<serde_json::Value>| {
                    let mut req = http.request(method, format!("{base}{path}")).bearer_auth(&token);
                    if let Some(b) = body {
                        req = req.json(&b);
                    }
                    req.send()
                };
                let _ = call(reqwest::Method::GET, "/config", None).await;
                for status in ["JOINING_CALL", "IN_CALL"] {
                    let _ = call(
                        reqwest::Method::POST,
                        "/status",
                        Some(serde_json::json!({"status": status})),
                    )
                    .await;
                }
                let until = Instant::now() + stay;
                while Instant::now() < until {
                    let _ = call(reqwest::Method::POST, "/heartbeat", None).await;
                    tokio::time::sleep(Duration::from_secs(5).min(until - Instant::now())).await;
                }
                let ended = serde_json::json!({"status": "ENDED", "subCode": "meeting_ended"});
                let _ = call(reqwest::Method::POST, "/status", Some(ended)).await;
            });
        }));
    });
}

fn starts(fake: &CoolifyFake) -> Vec<Instant> {
    fake.timed_calls()
        .into_iter()
        .filter(|(_, c)| c.starts_with("POST ") && c.ends_with("/start"))
        .map(|(t, _)| t)
        .collect()
}

async fn idle_slots(db: &meeboter_db::Db) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM pool_slots WHERE status = 'IDLE'")
        .fetch_one(db.pool())
        .await
        .expect("count slots");
    n
}

async fn wait_for(what: &str, secs: u64, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let database = TestDatabase::create().await.expect("benchmark database");
    let backend = database.db.backend().as_str();
    let fake = CoolifyFake::start("bench-token").await;
    let settings = CoolifySettings {
        api_url: fake.base_url.clone(),
        api_token: "bench-token".into(),
        project_uuid: PROJECT_UUID.into(),
        server_uuid: SERVER_UUID.into(),
        environment_name: "production".into(),
        destination_uuid: Some(DESTINATION_UUID.into()),
        image: "ghcr.io/acme/meeboter-bot".into(),
        image_tag: "latest".into(),
        platform_images: Default::default(),
        min_idle: SLOTS,
        max_idle: None,
        idle_ttl_secs: 1800,
        slot_cpus: None,
        slot_memory: None,
        recovery_interval_secs: 300,
        request_timeout_secs: 15,
        mirror_descriptions: false,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let mut config = Config::for_tests(&database.url);
    config.public_url = base.clone(); // bots call back here
    let mut state = meeboter_server::prepare(config).await.expect("prepare");
    state.clock = Arc::new(meeboter_server::clock::SystemClock);
    let pool = CoolifyPool::new(state.db.clone(), settings, SLOTS);
    state.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
        platform: Arc::new(pool),
        limit: SLOTS,
    }]));
    let key = {
        let mut tx = state.db.begin_write().await.expect("tx");
        let account = meeboter_db::accounts::insert(&mut tx, "bench", chrono::Utc::now())
            .await
            .expect("account");
        let key = meeboter_server::routes::keys::issue_key(
            &mut tx,
            &account.id,
            "bench",
            meeboter_core::ApiKeyRole::Member,
            None,
        )
        .await
        .expect("key");
        tx.commit().await.expect("commit");
        key.secret
    };
    let db = state.db.clone();
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    meeboter_server::workers::spawn(state.clone(), stopped);
    tokio::spawn(meeboter_server::serve(state, listener, std::future::pending()));
    let client = reqwest::Client::new();
    println!(
        "machine: {} cores; backend {backend}; {SLOTS} pool slots",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );

    wait_for("the idle slots", 120, async || {
        idle_slots(&db).await == i64::from(SLOTS)
    })
    .await;
    run_bots(&fake, Duration::from_millis(200));
    let create = |client: reqwest::Client, base: String, key: String| async move {
        let res = client
            .post(format!("{base}/api/bots"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"meetingUrl": "https://zoom.us/j/123456789"}))
            .send()
            .await
            .expect("create");
        assert_eq!(res.status(), 201, "create failed");
    };

    // 1. create → start request, one bot at a time, an idle slot always ready.
    let calls_before = fake.calls().len();
    let mut latencies = Vec::new();
    for _ in 0..ROUNDS * SLOTS as usize {
        let seen = starts(&fake).len();
        let t0 = Instant::now();
        create(client.clone(), base.clone(), key.clone()).await;
        wait_for("the start request", 30, async || starts(&fake).len() > seen).await;
        let at = starts(&fake)[seen];
        latencies.push(at.duration_since(t0).as_secs_f64() * 1000.0);
        // Keep an idle slot ready: wait for one to be back when the pool runs low.
        wait_for("an idle slot", 60, async || idle_slots(&db).await > 0).await;
    }
    wait_for("all bots to end", 120, async || {
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')")
            .fetch_one(db.pool())
            .await
            .expect("count");
        open == 0
    })
    .await;
    wait_for("slots back in the pool", 60, async || {
        idle_slots(&db).await == i64::from(SLOTS)
    })
    .await;
    latencies.sort_by(f64::total_cmp);
    let n = latencies.len();
    println!(
        "create → Coolify start ({backend}): n={n} p50 {:.1} ms, p95 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.95),
        percentile(&latencies, 0.99),
        latencies[n - 1]
    );
    // Of which: the pool's deploy call (acquire slot, upsert env, start), as recorded.
    let rows: Vec<(String,)> = sqlx::query_as("SELECT data FROM bot_events WHERE type = 'deployed'")
        .fetch_all(db.pool())
        .await
        .expect("events");
    let mut deploy_ms: Vec<f64> = rows
        .iter()
        .filter_map(|(d,)| serde_json::from_str::<serde_json::Value>(d).ok()?["latencyMs"].as_f64())
        .collect();
    deploy_ms.sort_by(f64::total_cmp);
    if !deploy_ms.is_empty() {
        println!(
            "  of which the platform deploy call: p50 {:.1} ms, p99 {:.1} ms",
            percentile(&deploy_ms, 0.50),
            percentile(&deploy_ms, 0.99)
        );
    }
    let lifecycle_calls = fake.calls()[calls_before..]
        .iter()
        .filter(|c| !c.ends_with("/applications/dockerimage"))
        .count();
    println!(
        "Coolify calls per bot lifecycle: {:.2} ({lifecycle_calls} calls for {n} bots)",
        lifecycle_calls as f64 / n as f64
    );

    // 2. 20 busy slots for a minute: how many Coolify calls does that cost?
    run_bots(&fake, Duration::from_secs(100));
    for _ in 0..SLOTS {
        create(client.clone(), base.clone(), key.clone()).await;
    }
    wait_for("20 bots in the call", 60, async || {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status = 'IN_CALL'")
            .fetch_one(db.pool())
            .await
            .expect("count");
        n == i64::from(SLOTS)
    })
    .await;
    let window = Duration::from_secs(60);
    let from = Instant::now();
    tokio::time::sleep(window).await;
    let in_window = fake
        .timed_calls()
        .iter()
        .filter(|(t, _)| *t >= from && *t < from + window)
        .count();
    println!("Coolify calls per minute with {SLOTS} busy slots: {in_window} (Coolify's limit: 200/min per token)");
    std::process::exit(0);
}

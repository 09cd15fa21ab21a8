//! Metrics benchmark (`cargo bench -p meeboter-server --bench metrics`; database from
//! `MEEBOTER_TEST_DATABASE_URL`, default SQLite).
//!
//! - The cost of a `/metrics` scrape with 10 000 bots in the database (its grouped queries,
//!   encoding, the text-format conversion), through the router in-process.
//! - The cost of metrics recording on the create path: `POST /api/bots` through the router
//!   with metrics off (no HTTP layer: the "before") and on (`METRICS_TOKEN` set: every request
//!   counted and timed), interleaved in rounds so drift on a shared machine hits both alike.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use meeboter_core::BotStatus;
use meeboter_core::create_bot::{CreateBotInput, validate_create_bot};
use meeboter_db::testing::TestDatabase;
use meeboter_server::config::Config;
use std::time::{Duration, Instant};
use tower::ServiceExt;

const BOTS: usize = 10_000;
const SCRAPES: usize = 300;
const CREATES_PER_ROUND: usize = 500;
const ROUNDS: usize = 4;
const TOKEN: &str = "bench-metrics-token-0123456789";

fn summary(label: &str, mut samples: Vec<Duration>) -> f64 {
    samples.sort();
    let pct = |p: f64| samples[((samples.len() as f64 * p) as usize).min(samples.len() - 1)];
    let mean = samples.iter().sum::<Duration>() / samples.len() as u32;
    println!(
        "{label}: n={} mean {:.3} ms, p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms",
        samples.len(),
        mean.as_secs_f64() * 1e3,
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.95).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
    );
    mean.as_secs_f64() * 1e3
}

/// `n` bots spread over the statuses and platforms a busy installation has (most ended).
async fn seed(db: &meeboter_db::Db, account_id: &str, n: usize) {
    let now = meeboter_db::now();
    let template = validate_create_bot(
        CreateBotInput {
            meeting_url: Some("https://zoom.us/j/123456789".into()),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let mut done = 0;
    while done < n {
        let mut tx = db.begin_write().await.unwrap();
        for _ in 0..(n - done).min(1000) {
            meeboter_db::bots::insert(&mut tx, account_id, &template, BotStatus::Queued, now)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
        done = (done + 1000).min(n);
    }
    // 80 % ended, the rest live on three platforms or still queued.
    for (modulo, status, platform) in [
        ("0", "ENDED", Some("coolify")),
        ("1", "ENDED", Some("local")),
        ("2", "ENDED", Some("aws")),
        ("3", "FATAL", Some("coolify")),
        ("4", "IN_CALL", Some("coolify")),
        ("5", "IN_CALL", Some("aws")),
        ("6", "ENDED", Some("coolify")),
        ("7", "ENDED", Some("aws")),
        ("8", "ENDED", Some("local")),
    ] {
        let platform = platform.map_or("NULL".to_string(), |p| format!("'{p}'"));
        let sql = format!(
            "UPDATE bots SET status = '{status}', deployment_platform = {platform}
             WHERE substr(id, length(id), 1) IN ('{modulo}', '{}')",
            ["a", "b", "c", "d", "e", "f", "a", "b", "c"][modulo.parse::<usize>().unwrap()]
        );
        sqlx::query(sqlx::AssertSqlSafe(sql)).execute(db.pool()).await.unwrap();
    }
    meeboter_db::analyze(db).await.unwrap();
}

async fn call(router: &axum::Router, req: Request<Body>) -> (StatusCode, usize) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().len();
    (status, bytes)
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let database = TestDatabase::create().await.unwrap();
        let mut config = Config::for_tests(&database.url);
        config.metrics_token = Some(TOKEN.to_string());
        let state_on = meeboter_server::prepare(config.clone()).await.unwrap();
        let admin = meeboter_server::bootstrap::first_admin_key(&state_on.db)
            .await
            .unwrap()
            .unwrap();
        let mut config_off = config;
        config_off.metrics_token = None;
        let state_off = meeboter_server::prepare(config_off).await.unwrap();
        let (on, off) = (meeboter_server::app(state_on.clone()), meeboter_server::app(state_off));
        println!(
            "machine: {} cores; backend {}",
            std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
            state_on.db.backend().as_str()
        );

        // Scrape with 10 000 bots.
        let started = Instant::now();
        seed(&state_on.db, &admin.key.account_id, BOTS).await;
        println!("seeded {BOTS} bots in {:.1} s", started.elapsed().as_secs_f64());
        let mut queries = Vec::new();
        for _ in 0..SCRAPES {
            let started = Instant::now();
            let mut conn = state_on.db.pool().acquire().await.unwrap();
            meeboter_db::stats::read(&mut conn).await.unwrap();
            queries.push(started.elapsed());
        }
        summary(&format!("scrape queries alone, {BOTS} bots"), queries);
        let mut scrapes = Vec::new();
        let mut size = 0;
        for _ in 0..SCRAPES {
            let req = Request::get("/metrics")
                .header("authorization", format!("Bearer {TOKEN}"))
                .body(Body::empty())
                .unwrap();
            let started = Instant::now();
            let (status, bytes) = call(&on, req).await;
            scrapes.push(started.elapsed());
            assert_eq!(status, StatusCode::OK);
            size = bytes;
        }
        summary(&format!("GET /metrics, {BOTS} bots ({size} bytes)"), scrapes);

        // Create path, metrics off (before) and on (after).
        let create = |key: &str| {
            Request::post("/api/bots")
                .header("authorization", format!("Bearer {key}"))
                .header("content-type", "application/json")
                .body(Body::from(
                    r#"{"meetingUrl":"https://zoom.us/j/123456789","botName":"Bench"}"#,
                ))
                .unwrap()
        };
        for _ in 0..50 {
            call(&off, create(&admin.secret)).await;
            call(&on, create(&admin.secret)).await;
        }
        let (mut before, mut after) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            for (router, out) in [(&off, &mut before), (&on, &mut after)] {
                for _ in 0..CREATES_PER_ROUND {
                    let started = Instant::now();
                    let (status, _) = call(router, create(&admin.secret)).await;
                    out.push(started.elapsed());
                    assert_eq!(status, StatusCode::CREATED);
                }
            }
        }
        let b = summary("create, metrics off (before)", before);
        let a = summary("create, metrics on (after) ", after);
        println!(
            "recording overhead on create: {:+.3} ms ({:+.1} %)",
            a - b,
            (a - b) / b * 100.0
        );
    });
}

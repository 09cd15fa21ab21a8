//! `GET /metrics`: off by default, behind `METRICS_TOKEN` on the main listener or alone on
//! `METRICS_LISTEN`; the scrape passes `promtool check metrics`, and the alert rules in
//! `deploy/observability` pass `promtool check rules` and their unit tests.
//!
//! Counters are process-wide and other tests in this binary move them too, so values are
//! compared as "at least" before and after.

use crate::support::{TestApp, TestPlatform, with_test_platform};
use meeboter_platforms::PlatformError;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

const TOKEN: &str = "metrics-token-for-tests-0123456789";
const ZOOM: &str = "https://zoom.us/j/123456789";

async fn scrape(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let mut req = app.client.get(format!("{}/metrics", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn scrape_text(app: &TestApp) -> String {
    let res = scrape(app, Some(TOKEN)).await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        res.headers()
    );
    res.text().await.unwrap()
}

/// The value of the sample `name{labels}` (labels as written, in the exposition order), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

fn has_family(text: &str, name: &str, kind: &str) -> bool {
    text.lines().any(|l| l == format!("# TYPE {name} {kind}"))
}

#[tokio::test]
async fn metrics_are_off_unless_configured() {
    let app = TestApp::spawn().await;
    let res = scrape(&app, Some(TOKEN)).await;
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_found");
}

#[tokio::test]
async fn the_token_opens_metrics_and_the_values_follow_what_happens() {
    let app = TestApp::spawn_with(|c| c.metrics_token = Some(TOKEN.to_string())).await;

    // Refused without the token, or with another one, in the API's error envelope.
    for token in [
        None,
        Some("metrics-token-for-tests-wrong"),
        Some(&app.admin_key as &str),
    ] {
        let res = scrape(&app, token).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{token:?}");
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{body}");
    }

    let before = scrape_text(&app).await;
    let heartbeats_before = sample(&before, "meeboter_heartbeats_received_total").unwrap();
    let timeouts_before = sample(&before, "meeboter_heartbeat_timeouts_total").unwrap();
    let created_before = sample(
        &before,
        r#"meeboter_http_requests_total{method="POST",route="/api/bots",code="201"}"#,
    )
    .unwrap_or(0.0);

    // A queued bot, a deployed one that heartbeats and then times out, a few requests.
    let queued = app.create_bot(&app.admin_key, json!({"meetingUrl": ZOOM})).await;
    let queued_id = queued["id"].as_str().unwrap().to_string();
    let (deployed, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "JOINING_CALL", None).await;
    let hb = app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(hb.status, 200);
    assert_eq!(
        app.get(&app.admin_key, &format!("/api/bots/{queued_id}")).await.status,
        200
    );
    assert_eq!(app.get(&app.admin_key, "/api/bots/no-such-bot").await.status, 404);
    assert_eq!(app.get(&app.admin_key, "/no/such/path").await.status, 404);
    app.clock.advance(chrono::Duration::seconds(5));

    let text = scrape_text(&app).await;
    for (family, kind) in [
        ("meeboter_bots", "gauge"),
        ("meeboter_queue_length", "gauge"),
        ("meeboter_queue_oldest_wait_seconds", "gauge"),
        ("meeboter_deploy_duration_seconds", "histogram"),
        ("meeboter_deploy_failures_total", "counter"),
        ("meeboter_pool_slots", "gauge"),
        ("meeboter_heartbeats_received_total", "counter"),
        ("meeboter_heartbeat_timeouts_total", "counter"),
        ("meeboter_webhook_deliveries_total", "counter"),
        ("meeboter_webhook_outbox_backlog", "gauge"),
        ("meeboter_webhook_outbox_oldest_age_seconds", "gauge"),
        ("meeboter_release_jobs_pending", "gauge"),
        ("meeboter_http_requests_total", "counter"),
        ("meeboter_http_request_duration_seconds", "histogram"),
        ("meeboter_db_pool_connections", "gauge"),
        ("meeboter_db_pool_max_connections", "gauge"),
        ("meeboter_media_ingested_bytes_total", "counter"),
        ("meeboter_recording_assembly_duration_seconds", "histogram"),
    ] {
        assert!(has_family(&text, family, kind), "no {kind} {family} in:\n{text}");
    }
    // Database-derived gauges: exactly this database's bots.
    assert_eq!(
        sample(&text, r#"meeboter_bots{status="QUEUED",platform="none"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"meeboter_bots{status="JOINING_CALL",platform="test"}"#),
        Some(1.0)
    );
    assert_eq!(sample(&text, "meeboter_queue_length"), Some(1.0));
    assert!(
        sample(&text, "meeboter_queue_oldest_wait_seconds").unwrap() >= 5.0,
        "{text}"
    );
    assert!(sample(&text, r#"meeboter_db_pool_connections{state="in_use"}"#).unwrap() >= 1.0);
    assert!(sample(&text, "meeboter_db_pool_max_connections").unwrap() >= 1.0);
    // Counters moved.
    assert!(sample(&text, "meeboter_heartbeats_received_total").unwrap() > heartbeats_before);
    let created = sample(
        &text,
        r#"meeboter_http_requests_total{method="POST",route="/api/bots",code="201"}"#,
    )
    .unwrap();
    assert!(created >= created_before + 2.0, "{created} {created_before}");
    // Route templates, never raw paths (no bot id in any label).
    assert!(
        sample(
            &text,
            r#"meeboter_http_requests_total{method="GET",route="/api/bots/{id}",code="404"}"#
        )
        .unwrap()
            >= 1.0
    );
    assert!(
        sample(
            &text,
            r#"meeboter_http_requests_total{method="GET",route="unmatched",code="404"}"#
        )
        .unwrap()
            >= 1.0
    );
    assert!(
        !text.contains(&queued_id) && !text.contains(&deployed),
        "a bot id in a label"
    );
    assert!(!text.contains("no-such-bot") && !text.contains("/no/such/path"));
    assert!(text.contains(r#"meeboter_http_request_duration_seconds_count{method="POST",route="/api/bots"}"#));

    // The monitor writes the silent bot off: counted, and the gauges follow the database.
    let report = app
        .advance_and_monitor(app.state.config.heartbeat_timeout_secs as i64 + 1)
        .await;
    assert_eq!(report.heartbeat_timeouts, 1);
    let text = scrape_text(&app).await;
    assert!(sample(&text, "meeboter_heartbeat_timeouts_total").unwrap() > timeouts_before);
    assert_eq!(
        sample(&text, r#"meeboter_bots{status="FATAL",platform="test"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"meeboter_bots{status="JOINING_CALL",platform="test"}"#),
        None
    );
    assert_eq!(sample(&text, "meeboter_release_jobs_pending"), Some(1.0));

    promtool_check_metrics(&text);

    // A scraper that asks for OpenMetrics (as Prometheus does) gets it.
    let res = app
        .client
        .get(format!("{}/metrics", app.base))
        .bearer_auth(TOKEN)
        .header(
            "accept",
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        )
        .send()
        .await
        .unwrap();
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    let om = res.text().await.unwrap();
    assert!(
        om.ends_with("# EOF\n") && om.contains("# TYPE meeboter_http_requests counter"),
        "{om}"
    );
}

#[tokio::test]
async fn deploys_are_timed_and_failures_counted_by_platform_and_reason() {
    let platform = Arc::new(TestPlatform::default());
    let p = platform.clone();
    let app = TestApp::spawn_full(
        |c| c.metrics_token = Some(TOKEN.to_string()),
        move |s| with_test_platform(s, p, 5),
    )
    .await;
    let ok = r#"meeboter_deploy_duration_seconds_count{platform="test",outcome="ok"}"#;
    let failed = r#"meeboter_deploy_failures_total{platform="test",reason="permanent"}"#;
    let before = scrape_text(&app).await;
    let (ok_before, failed_before) = (
        sample(&before, ok).unwrap_or(0.0),
        sample(&before, failed).unwrap_or(0.0),
    );
    app.create_bot(&app.admin_key, json!({"meetingUrl": ZOOM})).await;
    meeboter_server::deployment::dispatcher::dispatch_once(&app.state)
        .await
        .unwrap();
    platform
        .failures
        .lock()
        .unwrap()
        .push_back(PlatformError::Permanent("image not found".into()));
    app.create_bot(&app.admin_key, json!({"meetingUrl": ZOOM})).await;
    meeboter_server::deployment::dispatcher::dispatch_once(&app.state)
        .await
        .unwrap();
    let text = scrape_text(&app).await;
    assert!(sample(&text, ok).unwrap() > ok_before, "{text}");
    assert!(sample(&text, failed).unwrap() > failed_before, "{text}");
    assert!(
        text.contains(r#"meeboter_deploy_duration_seconds_bucket{le="+Inf",platform="test",outcome="failed"}"#),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"meeboter_bots{status="DEPLOYING",platform="test"}"#),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"meeboter_bots{status="FATAL",platform="test"}"#),
        Some(1.0)
    );
    promtool_check_metrics(&text);
}

#[tokio::test]
async fn metrics_listen_serves_metrics_alone_on_its_own_address() {
    let addr = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap()
    };
    let app = TestApp::spawn_with(|c| c.metrics_listen = Some(addr)).await;
    let client = reqwest::Client::new();
    let mut res = None;
    for _ in 0..50 {
        match client.get(format!("http://{addr}/metrics")).send().await {
            Ok(r) => {
                res = Some(r);
                break;
            }
            Err(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
        }
    }
    let res = res.expect("the metrics listener answers");
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    assert!(has_family(&text, "meeboter_bots", "gauge"), "{text}");
    // Nothing else there, and still nothing on the API's listener.
    let other = client.get(format!("http://{addr}/api/bots")).send().await.unwrap();
    assert_eq!(other.status(), 404);
    assert_eq!(scrape(&app, None).await.status(), StatusCode::NOT_FOUND);
    promtool_check_metrics(&text);
}

/// Prometheus's `promtool`: `MEEBOTER_TEST_PROMTOOL` (set by `scripts/test`) names it and makes
/// it required; otherwise `promtool` on `PATH` if there is one, else the check is skipped.
fn promtool() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("MEEBOTER_TEST_PROMTOOL") {
        let path = if path.contains('/') {
            PathBuf::from(path)
        } else {
            PathBuf::from("promtool")
        };
        let ok = Command::new(&path)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        assert!(
            ok,
            "MEEBOTER_TEST_PROMTOOL={} but it does not run (apt-get install prometheus)",
            path.display()
        );
        return Some(path);
    }
    if Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return Some(PathBuf::from("promtool"));
    }
    eprintln!("SKIPPING promtool checks: promtool not found (apt-get install prometheus)");
    None
}

fn run_promtool(args: &[&str], stdin: Option<&str>) {
    let Some(promtool) = promtool() else { return };
    use std::io::Write;
    let mut child = Command::new(&promtool)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `promtool check metrics` lints the exposition (names, units, `_total`, HELP/TYPE).
fn promtool_check_metrics(text: &str) {
    run_promtool(&["check", "metrics"], Some(text));
}

fn observability_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/observability")
}

#[test]
fn alert_rules_pass_promtool_and_their_unit_tests() {
    let dir = observability_dir();
    let rules = dir.join("alerts.yml");
    let tests = dir.join("alerts.test.yml");
    run_promtool(&["check", "rules", rules.to_str().unwrap()], None);
    run_promtool(&["test", "rules", tests.to_str().unwrap()], None);
}

#[test]
fn the_dashboard_only_queries_metrics_the_server_exports() {
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(observability_dir().join("grafana-dashboard.json")).unwrap())
            .unwrap();
    let mut exprs = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(target["expr"].as_str().unwrap().to_string());
        }
    }
    assert!(exprs.len() >= 10, "{exprs:?}");
    let source = include_str!("../../src/metrics.rs");
    for expr in &exprs {
        for name in expr
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("meeboter_"))
        {
            let base = name
                .trim_start_matches("meeboter_")
                .trim_end_matches("_bucket")
                .trim_end_matches("_count")
                .trim_end_matches("_sum")
                .trim_end_matches("_total")
                .trim_end_matches("_seconds")
                .trim_end_matches("_bytes");
            assert!(
                source.contains(&format!("\"{base}\"")),
                "{name} in `{expr}` is not exported"
            );
        }
    }
}

//! Prometheus metrics (`GET /metrics`, text format), off the public API by default.
//!
//! Two kinds of metric:
//! - **Events counted by this process** (counters and histograms: HTTP requests, deploys,
//!   heartbeats, webhook attempts, media bytes, assemblies) live in one process-wide
//!   registry ([`recorder`]) and are recorded where the event happens. They are per replica,
//!   as usual with Prometheus: sum them across instances in queries.
//! - **State** (bots by status, the queue, pool slots, the outbox, release jobs) lives in the
//!   database, which every replica shares, so those gauges are computed from it at scrape time
//!   with a few grouped, index-backed queries ([`meeboter_db::stats`]) — never kept in memory,
//!   where each replica would see only its own part.
//!
//! Label values are bounded sets (status, platform, reason, route template, status code);
//! never a bot id, account id or URL.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Instant;

type Labels = Vec<(&'static str, String)>;
type CounterFamily = Family<Labels, Counter>;
type GaugeFamily = Family<Labels, Gauge>;
type HistogramFamily = Family<Labels, Histogram, fn() -> Histogram>;

/// The content type of the Prometheus text format (version 0.0.4).
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Every metric of this process. Cheap to record into: atomics behind a read lock per label set.
pub struct Metrics {
    registry: Registry,
    http_requests: CounterFamily,
    http_duration: HistogramFamily,
    deploy_duration: HistogramFamily,
    deploy_failures: CounterFamily,
    heartbeats: Counter,
    heartbeat_timeouts: Counter,
    webhook_deliveries: CounterFamily,
    media_bytes: CounterFamily,
    assembly_duration: HistogramFamily,
    // Computed at scrape time (database and pool state).
    bots: GaugeFamily,
    queue_length: Gauge,
    queue_oldest_wait: Gauge<f64, AtomicU64>,
    pool_slots: GaugeFamily,
    outbox_backlog: Gauge,
    outbox_oldest_age: Gauge<f64, AtomicU64>,
    release_jobs_pending: Gauge,
    db_connections: GaugeFamily,
    db_max_connections: Gauge,
    /// One scrape at a time: the scrape-time gauges are cleared and refilled.
    scrape: tokio::sync::Mutex<()>,
}

fn http_histogram() -> Histogram {
    // 1 ms … ~16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

fn deploy_histogram() -> Histogram {
    // 50 ms … ~100 s (Coolify and ECS deploys take seconds).
    Histogram::new(exponential_buckets(0.05, 2.0, 12))
}

fn assembly_histogram() -> Histogram {
    // 10 ms … ~10 min.
    Histogram::new(exponential_buckets(0.01, 2.0, 16))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("meeboter");
        let http_requests = CounterFamily::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by method, route template and status code",
            http_requests.clone(),
        );
        let http_duration = HistogramFamily::new_with_constructor(http_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (until the response head), by method and route template",
            prometheus_client::registry::Unit::Seconds,
            http_duration.clone(),
        );
        let deploy_duration = HistogramFamily::new_with_constructor(deploy_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "deploy_duration",
            "Platform deploy call latency, by platform and outcome (ok, failed)",
            prometheus_client::registry::Unit::Seconds,
            deploy_duration.clone(),
        );
        let deploy_failures = CounterFamily::default();
        registry.register(
            "deploy_failures",
            "Failed deploys, by platform and reason (timeout, transient, permanent, deployment_failed)",
            deploy_failures.clone(),
        );
        let heartbeats = Counter::default();
        registry.register("heartbeats_received", "Bot heartbeats answered", heartbeats.clone());
        let heartbeat_timeouts = Counter::default();
        registry.register(
            "heartbeat_timeouts",
            "Bots failed for heartbeat silence by this replica's monitor",
            heartbeat_timeouts.clone(),
        );
        let webhook_deliveries = CounterFamily::default();
        registry.register(
            "webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, retry, gave_up)",
            webhook_deliveries.clone(),
        );
        let media_bytes = CounterFamily::default();
        registry.register_with_unit(
            "media_ingested",
            "Media bytes stored from bots, by kind (chunk, screenshot)",
            prometheus_client::registry::Unit::Bytes,
            media_bytes.clone(),
        );
        let assembly_duration = HistogramFamily::new_with_constructor(assembly_histogram as fn() -> Histogram);
        registry.register_with_unit(
            "recording_assembly_duration",
            "Time to assemble a recording, by outcome (ready, failed, error)",
            prometheus_client::registry::Unit::Seconds,
            assembly_duration.clone(),
        );
        let bots = GaugeFamily::default();
        registry.register(
            "bots",
            "Bots in the database, by status and deployment platform (none before a deploy)",
            bots.clone(),
        );
        let queue_length = Gauge::default();
        registry.register(
            "queue_length",
            "Bots waiting in the queue (QUEUED)",
            queue_length.clone(),
        );
        let queue_oldest_wait = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "queue_oldest_wait",
            "How long the longest-waiting queued bot has waited (0 when the queue is empty)",
            prometheus_client::registry::Unit::Seconds,
            queue_oldest_wait.clone(),
        );
        let pool_slots = GaugeFamily::default();
        registry.register(
            "pool_slots",
            "Coolify pool slots, by platform and state",
            pool_slots.clone(),
        );
        let outbox_backlog = Gauge::default();
        registry.register(
            "webhook_outbox_backlog",
            "Webhook deliveries pending (not yet delivered or given up)",
            outbox_backlog.clone(),
        );
        let outbox_oldest_age = Gauge::<f64, AtomicU64>::default();
        registry.register_with_unit(
            "webhook_outbox_oldest_age",
            "Age of the oldest pending webhook delivery (0 when none)",
            prometheus_client::registry::Unit::Seconds,
            outbox_oldest_age.clone(),
        );
        let release_jobs_pending = Gauge::default();
        registry.register(
            "release_jobs_pending",
            "Release jobs (stop an ended bot's instance) not yet done",
            release_jobs_pending.clone(),
        );
        let db_connections = GaugeFamily::default();
        registry.register(
            "db_pool_connections",
            "This replica's database pool connections, by state (in_use, idle)",
            db_connections.clone(),
        );
        let db_max_connections = Gauge::default();
        registry.register(
            "db_pool_max_connections",
            "This replica's database pool size limit",
            db_max_connections.clone(),
        );
        Self {
            registry,
            http_requests,
            http_duration,
            deploy_duration,
            deploy_failures,
            heartbeats,
            heartbeat_timeouts,
            webhook_deliveries,
            media_bytes,
            assembly_duration,
            bots,
            queue_length,
            queue_oldest_wait,
            pool_slots,
            outbox_backlog,
            outbox_oldest_age,
            release_jobs_pending,
            db_connections,
            db_max_connections,
            scrape: tokio::sync::Mutex::new(()),
        }
    }
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process-wide metrics.
pub fn recorder() -> &'static Metrics {
    &METRICS
}

/// A platform deploy call returned after `elapsed`; `failure` names why it failed, if it did.
pub fn deploy_finished(platform: &str, elapsed: std::time::Duration, failure: Option<&'static str>) {
    let m = recorder();
    let outcome = if failure.is_some() { "failed" } else { "ok" };
    m.deploy_duration
        .get_or_create(&vec![
            ("platform", platform.to_string()),
            ("outcome", outcome.to_string()),
        ])
        .observe(elapsed.as_secs_f64());
    if let Some(reason) = failure {
        deploy_failed(platform, reason);
    }
}

/// A deploy failed (`reason`: timeout, transient, permanent, deployment_failed).
pub fn deploy_failed(platform: &str, reason: &'static str) {
    recorder()
        .deploy_failures
        .get_or_create(&vec![
            ("platform", platform.to_string()),
            ("reason", reason.to_string()),
        ])
        .inc();
}

pub fn heartbeat_received() {
    recorder().heartbeats.inc();
}

pub fn heartbeat_timeout() {
    recorder().heartbeat_timeouts.inc();
}

/// A webhook attempt ended (`outcome`: delivered, retry, gave_up).
pub fn webhook_attempt(outcome: &'static str) {
    recorder()
        .webhook_deliveries
        .get_or_create(&vec![("outcome", outcome.to_string())])
        .inc();
}

/// `bytes` of media (`kind`: chunk, screenshot) were stored.
pub fn media_ingested(kind: &'static str, bytes: u64) {
    recorder()
        .media_bytes
        .get_or_create(&vec![("kind", kind.to_string())])
        .inc_by(bytes);
}

/// A recording assembly ended (`outcome`: ready, failed, error).
pub fn assembly_finished(outcome: &'static str, elapsed: std::time::Duration) {
    recorder()
        .assembly_duration
        .get_or_create(&vec![("outcome", outcome.to_string())])
        .observe(elapsed.as_secs_f64());
}

/// Methods are a bounded label only when known ones are kept.
fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Middleware: counts every request by its route template (`MatchedPath`, never the raw path:
/// unmatched requests are `unmatched`) and status code, and times it.
pub async fn track_http(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "unmatched".to_string());
    let method = method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    let m = recorder();
    m.http_duration
        .get_or_create(&vec![("method", method.to_string()), ("route", route.clone())])
        .observe(started.elapsed().as_secs_f64());
    m.http_requests
        .get_or_create(&vec![
            ("method", method.to_string()),
            ("route", route),
            ("code", response.status().as_u16().to_string()),
        ])
        .inc();
    response
}

/// The scrape: refreshes the database-derived gauges, then encodes everything.
pub async fn render(state: &AppState) -> Result<String, ApiError> {
    let m = recorder();
    let _one_at_a_time = m.scrape.lock().await;
    let now_ms = state.now().timestamp_millis();
    let stats = {
        let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
        meeboter_db::stats::read(&mut conn).await?
    };
    m.bots.clear();
    let mut queued = 0;
    for row in &stats.bots {
        m.bots
            .get_or_create(&vec![
                ("status", row.status.clone()),
                ("platform", row.platform.clone()),
            ])
            .set(row.count);
        if row.status == "QUEUED" {
            queued += row.count;
        }
    }
    m.queue_length.set(queued);
    let age = |oldest: Option<i64>| oldest.map_or(0.0, |t| (now_ms - t).max(0) as f64 / 1000.0);
    m.queue_oldest_wait.set(age(stats.oldest_queued_at));
    m.pool_slots.clear();
    for row in &stats.pool_slots {
        m.pool_slots
            .get_or_create(&vec![("platform", row.platform.clone()), ("state", row.state.clone())])
            .set(row.count);
    }
    m.outbox_backlog.set(stats.outbox_pending);
    m.outbox_oldest_age.set(age(stats.outbox_oldest_created_at));
    m.release_jobs_pending.set(stats.release_jobs_pending);
    let pool = state.db.pool();
    let size = i64::from(pool.size());
    let idle = pool.num_idle() as i64;
    m.db_connections
        .get_or_create(&vec![("state", "in_use".to_string())])
        .set((size - idle).max(0));
    m.db_connections
        .get_or_create(&vec![("state", "idle".to_string())])
        .set(idle);
    m.db_max_connections
        .set(i64::from(pool.options().get_max_connections()));
    let mut out = String::new();
    encode(&mut out, &m.registry).map_err(|_| ApiError::internal())?;
    Ok(out)
}

/// The OpenMetrics exposition `prometheus-client` writes, in the Prometheus text format
/// (0.0.4) that every scraper and `promtool check metrics` read: a counter's `HELP` and
/// `TYPE` name its `_total` samples, and there are no `# UNIT` or `# EOF` lines. Samples
/// are the same in both formats.
pub fn to_text_format(openmetrics: &str) -> String {
    let counters: std::collections::HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let comment = ["# HELP ", "# TYPE "].into_iter().find_map(|p| {
            let rest = line.strip_prefix(p)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters.contains(name).then(|| format!("{p}{name}_total {tail}"))
        });
        match comment {
            Some(renamed) => out.push_str(renamed.trim_end()),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

/// Whether the scraper asked for OpenMetrics (Prometheus does, first): it then gets
/// `prometheus-client`'s own output, otherwise the classic text format.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/openmetrics-text"))
}

/// The OpenMetrics content type.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

fn metrics_response(headers: &HeaderMap, body: String) -> Response {
    if wants_openmetrics(headers) {
        ([(header::CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response()
    } else {
        ([(header::CONTENT_TYPE, CONTENT_TYPE)], to_text_format(&body)).into_response()
    }
}

/// Equal without an early exit: both sides are hashed first, so neither length nor a
/// common prefix shows in the timing.
fn token_matches(given: &str, expected: &str) -> bool {
    use sha2::{Digest, Sha256};
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `GET /metrics` on the main listener: a 404 unless `METRICS_TOKEN` is set, then a 401
/// without `Authorization: Bearer <METRICS_TOKEN>`.
pub async fn token_handler(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let Some(expected) = state.config.metrics_token.as_deref() else {
        return Err(ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint"));
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim);
    match given {
        Some(token) if token_matches(token, expected) => Ok(metrics_response(&headers, render(&state).await?)),
        _ => Err(ApiError::unauthorized(
            "send `Authorization: Bearer <METRICS_TOKEN>` to read metrics",
        )),
    }
}

/// The router of the separate `METRICS_LISTEN` listener: `GET /metrics` and nothing else.
pub fn listener_router(state: AppState) -> axum::Router {
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(|State(state): State<AppState>, headers: HeaderMap| async move {
                render(&state).await.map(|body| metrics_response(&headers, body))
            }),
        )
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::{to_text_format, token_matches};

    #[test]
    fn openmetrics_becomes_the_text_format() {
        let om = "# HELP meeboter_x_bytes Bytes.\n# TYPE meeboter_x_bytes counter\n# UNIT meeboter_x_bytes bytes\n\
meeboter_x_bytes_total{kind=\"chunk\"} 3\n# HELP meeboter_g A gauge.\n# TYPE meeboter_g gauge\nmeeboter_g 1\n# EOF\n";
        assert_eq!(
            to_text_format(om),
            "# HELP meeboter_x_bytes_total Bytes.\n# TYPE meeboter_x_bytes_total counter\n\
meeboter_x_bytes_total{kind=\"chunk\"} 3\n# HELP meeboter_g A gauge.\n# TYPE meeboter_g gauge\nmeeboter_g 1\n"
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(token_matches("a-metrics-token-123", "a-metrics-token-123"));
        assert!(!token_matches("a-metrics-token-12", "a-metrics-token-123"));
        assert!(!token_matches("", "a-metrics-token-123"));
    }
}

//! Meeboter's HTTP control plane: configuration, the REST API, authentication and the
//! OpenAPI document.
//!
//! **Architecture invariant:** handlers hold no state between requests; everything
//! lives in the database behind [`AppState::db`], so any number of replicas can serve
//! the same installation.

pub mod api_doc;
pub mod audio_provider;
pub mod auth;
pub mod bootstrap;
pub mod bot_token;
pub mod clock;
pub mod config;
pub mod dashboard;
pub mod deepgram_live;
pub mod deployment;
pub mod error;
pub mod extract;
pub mod heartbeats;
pub mod lifecycle;
pub mod mcp;
pub mod media;
pub mod metrics;
pub mod preflight;
pub mod rate_limit;
pub mod realtime_transcription;
pub mod routes;
pub mod secrets;
pub mod session;
pub mod telemetry;
pub mod transcription;
pub mod transcription_worker;
pub mod webhook_client;
pub mod workers;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use config::Config;
use error::ApiError;
use meeboter_db::Db;
use std::sync::Arc;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

/// Shared by every handler. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    /// Secret that mints per-bot tokens and signs media URLs (`MILO_AUTH_TOKEN` or
    /// generated once, stored encrypted).
    pub bot_token_secret: Arc<String>,
    /// Encrypts and decrypts the secrets stored in the database (`MEEBOTER_ENCRYPTION_KEY`).
    pub keys: Arc<meeboter_db::secrets::Keyring>,
    /// Per-key request limiter (`API_RATE_LIMIT_PER_MINUTE`).
    pub rate_limiter: Arc<rate_limit::RateLimiter>,
    /// Source of "now" for handlers and workers (a manual clock in tests).
    pub clock: Arc<dyn clock::Clock>,
    /// Batches heartbeat writes and caches their answers.
    pub heartbeats: Arc<heartbeats::HeartbeatBatcher>,
    /// The platforms bots run on, and the dispatcher's wake-up signal.
    pub deployer: Arc<deployment::Deployer>,
    /// Recordings, screenshots and logs (filesystem or S3-compatible).
    pub storage: meeboter_storage::Storage,
    /// This machine's start-up checks (tools bots need, storage writes), refreshed by `serve`.
    pub preflight: preflight::Preflight,
}

impl AppState {
    /// The current time, at stored precision.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Meeboter API",
        description = "Self-hosted meeting bots for Google Meet, Microsoft Teams and Zoom. \
Every error has the shape {\"error\": {\"code\", \"message\", \"details\"}}.",
        license(name = "AGPL-3.0-only")
    ),
    modifiers(&SecuritySchemes),
    components(schemas(error::ErrorBody, routes::wire::BotStatusWire, routes::wire::PlatformWire,
        routes::wire::RecordingModeWire, routes::wire::RoleWire, routes::wire::TranscriptFormatWire)),
    tags(
        (name = "bots", description = "Create and follow meeting bots"),
        (name = "keys", description = "API keys"),
        (name = "infrastructure", description = "Platforms, capacity and the deployment queue"),
        (name = "webhooks", description = "Webhook endpoints and deliveries (Standard Webhooks signatures)"),
        (name = "bot channel", description = "Called by bots with their own token (MILO_AUTH_TOKEN); v1 changes are additive only"),
        (name = "accounts", description = "Accounts (admin)"),
        (name = "health", description = "Probes"),
    )
)]
struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("mbk_…")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "botToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The bot's own token (MILO_AUTH_TOKEN in its environment)"))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Api-Key"))),
        );
    }
}

/// The API routes and the two OpenAPI documents describing them: the public API, and the
/// bot channel (`/api/bot/v1/…`, the internal protocol bots speak).
pub fn api_routes() -> (Router<AppState>, api_doc::Documents) {
    let (router, doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(routes::bots::create_bot, routes::bots::list_bots))
        .routes(routes!(routes::bots::get_bot, routes::bots::delete_bot))
        .routes(routes!(routes::infrastructure::pool_stats))
        .routes(routes!(routes::infrastructure::infrastructure))
        .routes(routes!(routes::infrastructure::history))
        .routes(routes!(routes::bot_activity::leave))
        .routes(routes!(routes::bot_activity::list_events))
        .routes(routes!(routes::bot_activity::list_participants))
        .routes(routes!(
            routes::bot_activity::send_chat,
            routes::bot_activity::list_chat
        ))
        .routes(routes!(routes::bot_activity::stream))
        .routes(routes!(routes::transcripts::get_transcript))
        .routes(routes!(routes::bot_activity::live))
        .routes(routes!(routes::bots::parse_meeting_url))
        .routes(routes!(routes::bot_channel::config))
        .routes(routes!(routes::bot_channel::report_status))
        .routes(routes!(routes::bot_channel::heartbeat))
        .routes(routes!(routes::bot_channel::commands))
        .routes(routes!(routes::bot_channel::report_events))
        .routes(routes!(routes::bot_channel::next_chat))
        .routes(routes!(routes::bot_channel::chat_result))
        .routes(routes!(routes::bot_audio::finish))
        .routes(routes!(
            routes::webhooks::create_endpoint,
            routes::webhooks::list_endpoints
        ))
        .routes(routes!(routes::webhooks::delete_endpoint))
        .routes(routes!(routes::webhooks::list_deliveries))
        .routes(routes!(routes::webhooks::redeliver))
        .routes(routes!(routes::webhooks::send_test))
        .routes(routes!(routes::webhooks::signing_secret))
        .routes(routes!(
            routes::accounts::create_account,
            routes::accounts::list_accounts
        ))
        .routes(routes!(routes::keys::create_key, routes::keys::list_keys))
        .routes(routes!(routes::keys::revoke_key))
        .routes(routes!(routes::keys::delete_revoked_key))
        .routes(routes!(routes::health::healthz))
        .routes(routes!(routes::health::readyz))
        .routes(routes!(routes::media::request_chunk_upload))
        .routes(routes!(routes::media::complete_chunk))
        .routes(routes!(routes::media::finish_recording))
        .routes(routes!(routes::media::get_recording))
        .routes(routes!(routes::media::list_screenshots))
        .routes(routes!(routes::media::get_logs))
        .routes(routes!(routes::media::download))
        .merge(upload_routes())
        .split_for_parts();
    (router, api_doc::Documents::from_derived(&doc))
}

/// Uploads carry media, so they get their own body limit (the API's is 256 KB).
fn upload_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(routes::media::upload_screenshot))
        .routes(routes!(routes::media::put_chunk))
        .routes(routes!(routes::bot_audio::put_segment))
        .layer(DefaultBodyLimit::max(routes::media::MAX_CHUNK_BYTES as usize + 1))
}

/// The public API's OpenAPI document alone (for `meeboter openapi` and tests).
pub fn openapi() -> serde_json::Value {
    api_routes().1.public
}

/// The bot channel's OpenAPI document alone (for `meeboter openapi --bot-channel`).
pub fn bot_openapi() -> serde_json::Value {
    api_routes().1.bot_channel
}

/// The complete application: API, docs, and uniform errors for everything else.
pub fn app(state: AppState) -> Router {
    let (api, documents) = api_routes();
    // The reference at /docs shows what users call; bots' protocol has its own document.
    let docs: Router<AppState> = SwaggerUi::new("/docs")
        .external_url_unchecked("/api/openapi.json", documents.public)
        .into();
    let bot_doc = Arc::new(documents.bot_channel);
    let mut api = api
        .merge(docs)
        .route(
            "/api/bot/openapi.json",
            axum::routing::get(move || {
                let doc = bot_doc.clone();
                async move { axum::Json((*doc).clone()) }
            }),
        )
        .merge(dashboard::router());
    if state.config.test_meetings {
        // The web clients' look-alikes, so `meeboter verify` can prove a deployment end to end.
        api = api
            .nest_service("/_test/meeting/meet", meeboter_replica::router())
            .nest_service("/_test/meeting/teams", meeboter_replica::teams_router())
            .nest_service("/_test/meeting/zoom", meeboter_replica::zoom_router());
    }
    // The API as MCP tools, for assistants and agents (API key required; see `mcp`).
    let (tool_api, _) = api_routes();
    let mcp = Router::new()
        .nest_service("/mcp", mcp::service(&state, tool_api.with_state(state.clone())))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            mcp::require_api_key,
        ));
    api = api.merge(mcp);
    // A 404 unless METRICS_TOKEN is set (METRICS_LISTEN serves it on its own address).
    api = api.route("/metrics", axum::routing::get(metrics::token_handler));
    // HTTP requests are counted and timed only when someone can read the numbers.
    let metrics_on = state.config.metrics_token.is_some() || state.config.metrics_listen.is_some();
    let api = api
        .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            )
        })
        .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("handler panicked");
            ApiError::internal().into_response()
        }));
    let api = if metrics_on {
        api.layer(axum::middleware::from_fn(metrics::track_http))
    } else {
        api
    };
    api.layer(TraceLayer::new_for_http().make_span_with(request_span).on_response(
        |response: &axum::http::Response<_>, _latency: std::time::Duration, span: &tracing::Span| {
            span.record("http.response.status_code", i64::from(response.status().as_u16()));
        },
    ))
    .with_state(state)
}

/// The span of one API request, the root of its trace when traces are exported: named by
/// method and route template (`POST /api/bots/{id}/leave`, never ids or query strings, which
/// may carry signatures), OpenTelemetry's HTTP server attributes.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or("unmatched", |p| p.as_str());
    let method = request.method().as_str();
    tracing::info_span!(
        "http.request",
        otel.name = %format!("{method} {route}"),
        otel.kind = "server",
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = tracing::field::Empty,
    )
}

/// Connects to the database, migrates, brings stored secrets under the encryption key,
/// bootstraps, and returns the state to serve.
pub async fn prepare(config: Config) -> anyhow::Result<AppState> {
    let settings = meeboter_db::PoolSettings {
        max_connections: config.database_max_connections,
        ..Default::default()
    };
    let db = Db::connect(&config.database_url, &settings).await?;
    db.migrate().await?;
    let keys = secrets::prepare(&config, &db).await?;
    let bot_token_secret = bootstrap::bot_token_secret(&db, &keys, config.milo_auth_token.as_deref()).await?;
    let installation = bootstrap::installation_id(&db).await?;
    let deployer = deployment::Deployer::from_config(&config, &db, &installation, Some(bot_log_sink(db.clone())))
        .await
        .map_err(anyhow::Error::msg)?;
    let storage = meeboter_storage::Storage::connect(config.storage.clone())
        .await
        .map_err(|e| anyhow::anyhow!("storage: {e}"))?;
    Ok(AppState {
        storage,
        preflight: preflight::Preflight::default(),
        deployer: Arc::new(deployer),
        db,
        rate_limiter: Arc::new(rate_limit::RateLimiter::new(config.api_rate_limit_per_minute)),
        clock: Arc::new(clock::SystemClock),
        heartbeats: Arc::new(heartbeats::HeartbeatBatcher::new()),
        config: Arc::new(config),
        bot_token_secret: Arc::new(bot_token_secret),
        keys: Arc::new(keys),
    })
}

/// Records bot process output (stdout/stderr of local bots) as `log` events.
pub fn bot_log_sink(db: Db) -> meeboter_platforms::LogSink {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, &'static str, String)>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = vec![first];
            while batch.len() < 200 {
                match rx.try_recv() {
                    Ok(line) => batch.push(line),
                    Err(_) => break,
                }
            }
            let written = async {
                let mut tx = db.begin_write().await?;
                for (bot_id, level, line) in &batch {
                    let line: String = line.chars().take(4000).collect();
                    let Some(data) = process_log_event(level, &line) else {
                        continue;
                    };
                    // The bot may have been deleted meanwhile; its lines are dropped with it.
                    if meeboter_db::bots::find_any(&mut tx, bot_id).await?.is_some() {
                        meeboter_db::events::insert(&mut tx, bot_id, "log", &data, meeboter_db::now()).await?;
                    }
                }
                tx.commit().await.map_err(meeboter_db::DbError::from)
            }
            .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, lines = batch.len(), "could not record bot output");
            }
        }
    });
    tx
}

/// The `log` event of a line a bot process wrote, or `None` for a line the bot also sends
/// over its control channel (`core::bot::bot_forwards_log_line`): every line is stored once.
/// Our own JSON log lines keep their level, message and fields; anything else (Chromium's
/// own output, a panic) is kept as written, with the level of the stream it came from.
fn process_log_event(stream_level: &str, line: &str) -> Option<serde_json::Value> {
    use serde_json::{Value, json};
    if let Ok(Value::Object(obj)) = serde_json::from_str::<Value>(line)
        && let (Some(level), Some(fields)) = (
            obj.get("level").and_then(Value::as_str),
            obj.get("fields").and_then(Value::as_object),
        )
    {
        let target = obj.get("target").and_then(Value::as_str).unwrap_or("");
        if meeboter_core::bot::bot_forwards_log_line(level, target) {
            return None;
        }
        let mut text = fields.get("message").and_then(Value::as_str).unwrap_or("").to_string();
        for (k, v) in fields.iter().filter(|(k, _)| k.as_str() != "message") {
            let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            text.push_str(&format!(" {k}={v}"));
        }
        return Some(json!({"level": level, "message": text, "target": target, "source": "process"}));
    }
    Some(json!({"level": stream_level, "message": line, "source": "process"}))
}

/// Serves `state` on `listener` until `shutdown` resolves, with the connection limits of
/// its configuration (`HTTP_HEADER_READ_TIMEOUT_SECS`, `HTTP_BODY_READ_TIMEOUT_SECS`,
/// `HTTP_MAX_CONNECTIONS`).
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let limits = ConnectionLimits::from_config(&state.config);
    // METRICS_LISTEN: `GET /metrics` alone on its own address, stopped with the API.
    let metrics_stop = tokio_util::sync::CancellationToken::new();
    let metrics_server = match state.config.metrics_listen {
        Some(addr) => {
            let metrics_listener = tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("METRICS_LISTEN {addr}: {e}")))?;
            tracing::info!(address = %metrics_listener.local_addr()?, "serving metrics");
            let stop = metrics_stop.clone();
            Some(tokio::spawn(serve_router(
                metrics::listener_router(state.clone()),
                metrics_listener,
                limits,
                async move { stop.cancelled().await },
            )))
        }
        None => None,
    };
    let served = serve_router(app(state), listener, limits, shutdown).await;
    metrics_stop.cancel();
    if let Some(task) = metrics_server {
        let _ = task.await;
    }
    served
}

/// What one client may hold of the server (see [`serve_router`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// From accepting a connection (or finishing a response on a kept-alive one) until the
    /// request head is complete; a client that is slower — or silent — is disconnected.
    pub header_read_timeout: std::time::Duration,
    /// Longest pause between two pieces of a request body; then the body fails to read
    /// (the handler answers 400) and the connection is closed.
    pub body_read_timeout: std::time::Duration,
    /// Connections served at once; the next ones wait in the listen backlog.
    pub max_connections: usize,
}

impl ConnectionLimits {
    pub fn from_config(config: &Config) -> Self {
        Self {
            header_read_timeout: std::time::Duration::from_secs(config.http_header_read_timeout_secs),
            body_read_timeout: std::time::Duration::from_secs(config.http_body_read_timeout_secs),
            max_connections: config.http_max_connections as usize,
        }
    }
}

/// Serves `router` over HTTP/1.1 on `listener` until `shutdown` resolves, then lets
/// in-flight requests finish.
///
/// Not `axum::serve`: it offers no header read timeout, so slow clients ("slowloris", a
/// header line a second) could hold connections forever. Here hyper's
/// `header_read_timeout` runs from the first byte a connection may send, and again while a
/// kept-alive connection waits for its next request; request bodies time out between
/// frames (`tower_http` `RequestBodyTimeout`); and at most `max_connections` are served
/// at once: above that the listener is not read, so new connections wait in the kernel's
/// backlog (they are not refused) until a served one ends — which the timeouts guarantee
/// for idle and slow ones.
pub async fn serve_router(
    router: Router,
    listener: tokio::net::TcpListener,
    limits: ConnectionLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let service = tower::ServiceBuilder::new()
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_read_timeout,
        ))
        .service(router);
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let permits = Arc::new(tokio::sync::Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Per-connection failures (reset before accept) are routine; running out
                    // of file descriptors is not: wait a moment instead of spinning.
                    if !matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionAborted
                            | std::io::ErrorKind::ConnectionReset
                            | std::io::ErrorKind::ConnectionRefused
                    ) {
                        tracing::error!(error = %e, "accepting a connection failed");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            hyper_util::service::TowerToHyperService::new(service.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::process_log_event;
    use serde_json::json;

    #[test]
    fn process_lines_are_stored_once_with_their_own_level() {
        // The bot forwards its own INFO line over the control channel: not stored again.
        let forwarded = r#"{"timestamp":"t","level":"INFO","fields":{"message":"virtual display started","display":101},"target":"meeboter_bot::recorder::display"}"#;
        assert_eq!(process_log_event("WARN", forwarded), None);
        // Its DEBUG lines and other crates' lines are not forwarded, so the process copy is kept.
        let debug = r#"{"timestamp":"t","level":"DEBUG","fields":{"message":"look","phase":"call"},"target":"meeboter_bot::driver"}"#;
        assert_eq!(
            process_log_event("WARN", debug),
            Some(json!({"level": "DEBUG", "message": "look phase=call",
                   "target": "meeboter_bot::driver", "source": "process"}))
        );
        let outbox =
            r#"{"timestamp":"t","level":"WARN","fields":{"message":"send failed"},"target":"meeboter_bot::outbox"}"#;
        assert_eq!(process_log_event("WARN", outbox).unwrap()["message"], "send failed");
        assert_eq!(
            process_log_event("WARN", "[1128/133441.2:ERROR:gpu_init.cc] Passthrough is not supported"),
            Some(
                json!({"level": "WARN", "message": "[1128/133441.2:ERROR:gpu_init.cc] Passthrough is not supported", "source": "process"})
            )
        );
    }
}

#[cfg(test)]
mod serve_tests {
    //! The server loop through real sockets: slow clients are cut off, the connection limit
    //! holds, normal requests and graceful shutdown still work.
    use super::{ConnectionLimits, serve_router};
    use axum::Router;
    use axum::routing::{get, post};
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    const LIMITS: ConnectionLimits = ConnectionLimits {
        header_read_timeout: Duration::from_secs(1),
        body_read_timeout: Duration::from_secs(1),
        max_connections: 2,
    };

    async fn start(limits: ConnectionLimits) -> (std::net::SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let router = Router::new()
            .route("/", get(|| async { "ok" }))
            .route("/echo", post(|body: axum::body::Bytes| async move { body }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve_router(router, listener, limits, async move {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    /// Everything the server sends until it closes the connection (or `within` passes).
    async fn read_to_close(stream: &mut TcpStream, within: Duration) -> Option<String> {
        let mut out = Vec::new();
        match tokio::time::timeout(within, stream.read_to_end(&mut out)).await {
            Ok(_) => Some(String::from_utf8_lossy(&out).into_owned()),
            Err(_) => None,
        }
    }

    async fn get_root(addr: std::net::SocketAddr) -> String {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        read_to_close(&mut s, Duration::from_secs(10)).await.expect("answered")
    }

    #[tokio::test]
    async fn a_stalled_request_head_is_cut_off_and_normal_requests_work() {
        let (addr, _stop) = start(LIMITS).await;
        assert!(get_root(addr).await.starts_with("HTTP/1.1 200"));

        // Half a request head, then nothing (a slowloris client between two lines).
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").await.unwrap();
        let started = Instant::now();
        let answer = read_to_close(&mut slow, Duration::from_secs(5)).await;
        assert!(answer.is_some(), "a stalled request head must be disconnected");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(!answer.unwrap().contains("200 OK"));

        // A connection that never sends a byte is closed the same way.
        let mut silent = TcpStream::connect(addr).await.unwrap();
        assert!(read_to_close(&mut silent, Duration::from_secs(5)).await.is_some());

        // A header line a second: the timeout counts from the start, not from the last line.
        let mut dribble = TcpStream::connect(addr).await.unwrap();
        dribble.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        let started = Instant::now();
        let mut closed = false;
        for i in 0..10 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            if dribble
                .write_all(format!("X-Line-{i}: x\r\n").as_bytes())
                .await
                .is_err()
            {
                closed = true;
                break;
            }
        }
        if !closed {
            closed = read_to_close(&mut dribble, Duration::from_secs(1)).await.is_some();
        }
        assert!(closed, "a dribbling client must be disconnected");
        assert!(started.elapsed() < Duration::from_secs(4), "{:?}", started.elapsed());
    }

    #[tokio::test]
    async fn a_stalled_request_body_is_abandoned() {
        let (addr, _stop) = start(LIMITS).await;
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nabc")
            .await
            .unwrap();
        let started = Instant::now();
        let answer = read_to_close(&mut s, Duration::from_secs(5))
            .await
            .expect("a stalled body must end the request");
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert!(
            answer.is_empty() || answer.starts_with("HTTP/1.1 4"),
            "a client error, never a 5xx: {answer}"
        );
        // A complete body is echoed.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello")
            .await
            .unwrap();
        let answer = read_to_close(&mut s, Duration::from_secs(5)).await.unwrap();
        assert!(
            answer.starts_with("HTTP/1.1 200") && answer.ends_with("hello"),
            "{answer}"
        );
    }

    #[tokio::test]
    async fn over_the_connection_limit_new_connections_wait_for_a_free_one() {
        let (addr, _stop) = start(LIMITS).await;
        // Two silent connections take both places...
        let _a = TcpStream::connect(addr).await.unwrap();
        let _b = TcpStream::connect(addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        // ...so a third is not served until the header timeout frees one (not refused).
        let started = Instant::now();
        let answer = get_root(addr).await;
        let waited = started.elapsed();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        assert!(
            waited >= Duration::from_millis(700),
            "served past the limit after {waited:?}"
        );
        assert!(waited < Duration::from_secs(4), "{waited:?}");
        // With places free, no wait.
        let started = Instant::now();
        assert!(get_root(addr).await.starts_with("HTTP/1.1 200"));
        assert!(started.elapsed() < Duration::from_millis(700));
    }

    #[tokio::test]
    async fn shutdown_stops_accepting_and_returns() {
        let router = Router::new().route("/", get(|| async { "ok" }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(serve_router(router, listener, LIMITS, async move {
            let _ = stopped.await;
        }));
        assert!(get_root(addr).await.starts_with("HTTP/1.1 200"));
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server)
            .await
            .expect("serve returns after shutdown")
            .unwrap()
            .unwrap();
        assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
    }
}

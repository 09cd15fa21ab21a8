//! A stateful fake of the Coolify v4.3 API for tests, modelled on Coolify's server code
//! (not its published spec, which differs in five places):
//!
//! - `Authorization: Bearer` (401 `Unauthenticated.`), JSON-only bodies (400), unknown
//!   fields → 422 `This field is not allowed.`, 404 texts as the controllers write them;
//! - start/stop/restart/deploy are POST-only (GET → 405 with `Allow: POST`);
//! - deployments progress `queued → in_progress → finished|failed`, then the application
//!   status goes `exited → starting:unknown → running:healthy`; stop is asynchronous
//!   (status stays `running:*` for a while); delete is asynchronous;
//! - a deployment takes the environment the application had when it was queued and, like
//!   Coolify's deployment job, is not stopped by `stop`: a stop sent while it is queued or
//!   in progress stops nothing, and the container comes up with that environment when the
//!   deployment finishes; a start while a deployment of the application is queued or in
//!   progress answers `Deployment already queued for this commit.` without a
//!   `deployment_uuid` (Coolify 4.3.11, `queue_application_deployment`);
//! - env vars keyed by `key` (409 on duplicate create), bulk upsert;
//! - `GET /deployments/applications/{uuid}` answers `{count, deployments}` (the code's shape).
//!
//! Tests steer it through [`FakeControls`]: phase durations, failing or slow deployments,
//! `degraded:unhealthy`, 5xx and 429 storms, a full deployment queue (start answers a
//! `deployment_uuid` that never exists), deleting an application behind the client's
//! back, and hooks that run when an application starts or stops (to launch a fake bot).

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A hook called with the application's uuid and its env vars when it starts running
/// (or, for stop hooks, when it stops).
pub type AppHook = Arc<dyn Fn(&str, &BTreeMap<String, String>) + Send + Sync>;

/// What tests can change while the fake runs.
pub struct FakeControls {
    /// Time a deployment waits in `queued`, then in `in_progress`.
    pub queued_for: Duration,
    pub in_progress_for: Duration,
    /// Time an application is `starting:unknown` after its deployment finished.
    pub starting_for: Duration,
    /// Time a stop takes to show as `exited`.
    pub stopping_for: Duration,
    /// The next N deployments fail.
    pub fail_next_deployments: usize,
    /// The next N starts answer with a `deployment_uuid` that is never created (queue full).
    pub queue_full_next: usize,
    /// The next N requests (any endpoint but `/health`) answer 500.
    pub error_next: usize,
    /// The next N requests answer 429 with `Retry-After: 1`.
    pub throttle_next: usize,
    /// Requests whose `METHOD /path` contains any of these answer 500 (e.g. `"/stop"`).
    pub fail_paths: Vec<String>,
    /// Share of requests (0.0–1.0, any endpoint but `/health`) that meet a fault, drawn
    /// from a seeded generator: a third answer 500 before acting, a third 429 with
    /// `Retry-After: 1`, a third act and then hold the answer for `lost_response_delay`
    /// (the client times out although the action happened).
    pub fault_rate: f64,
    pub lost_response_delay: Duration,
    /// Applications forced to `degraded:unhealthy` once running.
    pub degraded: Vec<String>,
    pub on_start: Option<AppHook>,
    pub on_stop: Option<AppHook>,
}

impl Default for FakeControls {
    fn default() -> Self {
        Self {
            queued_for: Duration::from_millis(20),
            in_progress_for: Duration::from_millis(50),
            starting_for: Duration::from_millis(20),
            stopping_for: Duration::from_millis(50),
            fail_next_deployments: 0,
            queue_full_next: 0,
            error_next: 0,
            throttle_next: 0,
            fail_paths: Vec::new(),
            fault_rate: 0.0,
            lost_response_delay: Duration::from_secs(3),
            degraded: Vec::new(),
            on_start: None,
            on_stop: None,
        }
    }
}

#[derive(Clone, Debug)]
struct App {
    uuid: String,
    name: String,
    description: Option<String>,
    image: String,
    tag: String,
    envs: BTreeMap<String, String>,
    /// When the last stop arrived: a container that came up before it is stopped.
    stopped_at: Option<Instant>,
    /// The newest deployment (possibly one that was never created: queue full).
    deployment: Option<String>,
    deleted: bool,
    /// The deployment whose container the start hook last ran for.
    hook_fired_for: Option<String>,
}

#[derive(Clone, Debug)]
struct Deployment {
    uuid: String,
    app: String,
    created: Instant,
    fails: bool,
    /// The application's environment when the deployment was queued.
    env: BTreeMap<String, String>,
}

/// One deployment as tests see it.
#[derive(Clone, Debug)]
pub struct DeploymentInfo {
    pub uuid: String,
    pub created: Instant,
    /// When its container came up (`None`: not yet, or it failed).
    pub up_at: Option<Instant>,
    pub status: &'static str,
    pub env: BTreeMap<String, String>,
}

struct Inner {
    token: String,
    project_uuid: String,
    server_uuid: String,
    destination_uuid: String,
    apps: BTreeMap<String, App>,
    deployments: HashMap<String, Deployment>,
    controls: FakeControls,
    /// Every request as `METHOD path` with when it arrived (for call-count assertions).
    calls: Vec<(Instant, String)>,
    /// Applications that came up since the ticker last ran the start hooks.
    started: Vec<(String, BTreeMap<String, String>)>,
    /// Seeded, so a fault pattern can be replayed.
    rng: rand::rngs::StdRng,
}

/// A running fake.
#[derive(Clone)]
pub struct CoolifyFake {
    inner: Arc<Mutex<Inner>>,
    /// `http://127.0.0.1:<port>/api/v1`.
    pub base_url: String,
}

pub const PROJECT_UUID: &str = "proj-meeboter";
pub const SERVER_UUID: &str = "srv-local";
pub const DESTINATION_UUID: &str = "dest-standalone";
pub const ENVIRONMENT: &str = "production";

impl CoolifyFake {
    /// Starts the fake on a loopback port, accepting `token`.
    pub async fn start(token: &str) -> CoolifyFake {
        let inner = Arc::new(Mutex::new(Inner {
            token: token.to_string(),
            project_uuid: PROJECT_UUID.into(),
            server_uuid: SERVER_UUID.into(),
            destination_uuid: DESTINATION_UUID.into(),
            apps: BTreeMap::new(),
            deployments: HashMap::new(),
            controls: FakeControls::default(),
            calls: Vec::new(),
            started: Vec::new(),
            rng: rand::SeedableRng::seed_from_u64(0x00c0_01f1),
        }));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base_url = format!("http://{}/api/v1", listener.local_addr().expect("addr"));
        let router = router(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        // Coolify runs deployments on its own, whether or not anyone is asking about them.
        // Start hooks run here, outside the lock, so a slow hook never stalls the API.
        let ticking = Arc::downgrade(&inner);
        tokio::spawn(async move {
            while let Some(inner) = ticking.upgrade() {
                let (hook, fired) = {
                    let mut guard = inner.lock().unwrap_or_else(|p| p.into_inner());
                    progress(&mut guard);
                    (guard.controls.on_start.clone(), std::mem::take(&mut guard.started))
                };
                drop(inner);
                if let Some(hook) = hook {
                    for (uuid, envs) in fired {
                        hook(&uuid, &envs);
                    }
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        CoolifyFake { inner, base_url }
    }

    /// Changes the controls.
    pub fn control(&self, f: impl FnOnce(&mut FakeControls)) {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()).controls);
    }

    /// Requests received so far, as `METHOD /path`.
    pub fn calls(&self) -> Vec<String> {
        self.timed_calls().into_iter().map(|(_, c)| c).collect()
    }

    /// Requests received so far with their arrival time.
    pub fn timed_calls(&self) -> Vec<(Instant, String)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).calls.clone()
    }

    /// The current status string of an application (as `GET` would return it).
    pub fn status_of(&self, uuid: &str) -> Option<String> {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        progress(&mut inner);
        let app = inner.apps.get(uuid)?;
        Some(status(&inner, app))
    }

    /// The env vars of an application.
    pub fn envs_of(&self, uuid: &str) -> Option<BTreeMap<String, String>> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.apps.get(uuid).map(|a| a.envs.clone())
    }

    /// The `image:tag` an application runs.
    pub fn image_of(&self, uuid: &str) -> Option<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.apps.get(uuid).map(|a| format!("{}:{}", a.image, a.tag))
    }

    /// Uuids of applications that exist (not deleted).
    pub fn app_uuids(&self) -> Vec<String> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner
            .apps
            .values()
            .filter(|a| !a.deleted)
            .map(|a| a.uuid.clone())
            .collect()
    }

    /// Deletes an application behind the client's back.
    pub fn delete_behind_back(&self, uuid: &str) {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        inner.apps.remove(uuid);
    }

    /// Adds an application this installation did not create (a neighbour on a shared Coolify).
    pub fn add_foreign_app(&self, name: &str) -> String {
        let mut inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let uuid = new_uuid();
        inner.apps.insert(
            uuid.clone(),
            App {
                uuid: uuid.clone(),
                name: name.into(),
                description: Some("someone else's app".into()),
                image: "nginx".into(),
                tag: "latest".into(),
                envs: BTreeMap::new(),
                stopped_at: None,
                deployment: None,
                deleted: false,
                hook_fired_for: None,
            },
        );
        uuid
    }
}

impl CoolifyFake {
    /// An application's deployments, oldest first.
    pub fn deployments_of(&self, app: &str) -> Vec<DeploymentInfo> {
        let inner = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut list: Vec<DeploymentInfo> = inner
            .deployments
            .values()
            .filter(|d| d.app == app)
            .map(|d| DeploymentInfo {
                uuid: d.uuid.clone(),
                created: d.created,
                up_at: up_at(&inner, d).filter(|t| *t <= Instant::now()),
                status: deployment_status(&inner, d),
                env: d.env.clone(),
            })
            .collect();
        list.sort_by_key(|d| d.created);
        list
    }
}

/// When a deployment's container comes up (`None` if it fails).
fn up_at(inner: &Inner, d: &Deployment) -> Option<Instant> {
    (!d.fails).then(|| d.created + inner.controls.queued_for + inner.controls.in_progress_for)
}

/// The application's newest deployment whose container is up now and came up after the
/// last stop: the container that runs.
fn running_deployment<'a>(inner: &'a Inner, app: &App) -> Option<(&'a Deployment, Instant)> {
    let dep = inner.deployments.get(app.deployment.as_ref()?)?;
    let up = up_at(inner, dep).filter(|t| *t <= Instant::now())?;
    app.stopped_at.is_none_or(|s| up > s).then_some((dep, up))
}

fn new_uuid() -> String {
    uuid::Uuid::now_v7().simple().to_string()[..24].to_string()
}

/// Moves deployments and statuses along with time; fires start hooks once running.
fn progress(inner: &mut Inner) {
    let starting = inner.controls.starting_for;
    let mut fire = Vec::new();
    for app in inner.apps.values().filter(|a| !a.deleted) {
        let Some((dep, up)) = running_deployment(inner, app) else {
            continue;
        };
        if up.elapsed() >= starting && app.hook_fired_for.as_deref() != Some(dep.uuid.as_str()) {
            fire.push((app.uuid.clone(), dep.uuid.clone(), dep.env.clone()));
        }
    }
    for (app, dep, env) in fire {
        if let Some(a) = inner.apps.get_mut(&app) {
            a.hook_fired_for = Some(dep);
        }
        inner.started.push((app, env));
    }
}

fn deployment_status(inner: &Inner, d: &Deployment) -> &'static str {
    let c = &inner.controls;
    let age = d.created.elapsed();
    if age < c.queued_for {
        "queued"
    } else if age < c.queued_for + c.in_progress_for {
        "in_progress"
    } else if d.fails {
        "failed"
    } else {
        "finished"
    }
}

fn status(inner: &Inner, app: &App) -> String {
    let c = &inner.controls;
    if let Some((_, up)) = running_deployment(inner, app) {
        return if up.elapsed() < c.starting_for {
            "starting:unknown".into()
        } else if c.degraded.contains(&app.uuid) {
            "degraded:unhealthy".into()
        } else {
            "running:healthy".into()
        };
    }
    // Stopped (or never up): a container that was up at the stop shows `running:*` for a
    // while. A deployment still queued or in progress runs no container yet.
    let was_up = app
        .deployment
        .as_ref()
        .and_then(|d| inner.deployments.get(d))
        .and_then(|d| up_at(inner, d))
        .zip(app.stopped_at)
        .is_some_and(|(up, stop)| up <= stop);
    match app.stopped_at {
        Some(t) if was_up && t.elapsed() < c.stopping_for => "running:healthy".into(),
        _ => "exited:unhealthy".into(),
    }
}

fn message(code: StatusCode, msg: &str) -> Response {
    (code, Json(json!({ "message": msg }))).into_response()
}

type Shared = Arc<Mutex<Inner>>;

/// Auth, fault injection and call recording, before every handler.
fn guard(inner: &mut Inner, method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    inner.calls.push((Instant::now(), format!("{method} {path}")));
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if token != Some(inner.token.as_str()) {
        return Some(message(StatusCode::UNAUTHORIZED, "Unauthenticated."));
    }
    if inner.controls.throttle_next > 0 {
        inner.controls.throttle_next -= 1;
        let mut r = message(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
        r.headers_mut()
            .insert(header::RETRY_AFTER, "1".parse().expect("static header"));
        r.headers_mut()
            .insert("x-ratelimit-limit", "200".parse().expect("static header"));
        r.headers_mut()
            .insert("x-ratelimit-remaining", "0".parse().expect("static header"));
        return Some(r);
    }
    if inner.controls.error_next > 0 {
        inner.controls.error_next -= 1;
        return Some(message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"));
    }
    let call = format!("{method} {path}");
    if inner.controls.fail_paths.iter().any(|p| call.contains(p.as_str())) {
        return Some(message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"));
    }
    None
}

#[allow(clippy::result_large_err)] // the error is the response itself, returned at once
fn json_body(headers: &HeaderMap, body: &str) -> Result<serde_json::Map<String, Value>, Response> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let invalid = |e: &str| {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Invalid request.", "error": e})),
        )
            .into_response()
    };
    if !is_json {
        return Err(invalid("Content-Type must be application/json."));
    }
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(m)) if m.is_empty() => Err(invalid("Empty JSON.")),
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(invalid("Invalid JSON.")),
    }
}

fn not_allowed(fields: &[&str], allowed: &[&str]) -> Option<Response> {
    let bad: serde_json::Map<String, Value> = fields
        .iter()
        .filter(|f| !allowed.contains(f))
        .map(|f| (f.to_string(), json!(["This field is not allowed."])))
        .collect();
    (!bad.is_empty()).then(|| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "Validation failed.", "errors": bad})),
        )
            .into_response()
    })
}

fn app_json(inner: &Inner, app: &App) -> Value {
    json!({
        "uuid": app.uuid,
        "name": app.name,
        "description": app.description,
        "docker_registry_image_name": app.image,
        "docker_registry_image_tag": app.tag,
        "status": status(inner, app),
        "build_pack": "dockerimage",
    })
}

const CREATE_FIELDS: &[&str] = &[
    "project_uuid",
    "server_uuid",
    "environment_name",
    "environment_uuid",
    "destination_uuid",
    "docker_registry_image_name",
    "docker_registry_image_tag",
    "ports_exposes",
    "name",
    "description",
    "domains",
    "autogenerate_domain",
    "limits_cpus",
    "limits_memory",
    "limits_memory_swap",
    "limits_shm_size",
    "instant_deploy",
    "tags",
    "health_check_enabled",
    "custom_docker_run_options",
];
const PATCH_FIELDS: &[&str] = &[
    "name",
    "description",
    "docker_registry_image_name",
    "docker_registry_image_tag",
    "ports_exposes",
    "limits_cpus",
    "limits_memory",
    "limits_shm_size",
    "instant_deploy",
    "custom_docker_run_options",
];
const ENV_FIELDS: &[&str] = &[
    "key",
    "value",
    "is_preview",
    "is_literal",
    "is_multiline",
    "is_shown_once",
    "is_runtime",
    "is_buildtime",
    "comment",
];

/// What a random fault does to one request.
enum Fault {
    Error,
    Throttle,
    LoseResponse(Duration),
}

/// Random faults (see [`FakeControls::fault_rate`]) around every handler.
async fn random_faults(State(s): State<Shared>, req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let fault = {
        let mut inner = s.lock().unwrap_or_else(|p| p.into_inner());
        let rate = inner.controls.fault_rate;
        if rate <= 0.0 || req.uri().path().ends_with("/health") || req.uri().path().contains("/_fake/") {
            None
        } else {
            use rand::Rng;
            let delay = inner.controls.lost_response_delay;
            let roll: f64 = inner.rng.random();
            if roll >= rate {
                None
            } else {
                let call = format!("{} {}", req.method(), req.uri().path());
                match inner.rng.random_range(0..3) {
                    0 => {
                        inner.calls.push((Instant::now(), call));
                        Some(Fault::Error)
                    }
                    1 => {
                        inner.calls.push((Instant::now(), call));
                        Some(Fault::Throttle)
                    }
                    _ => Some(Fault::LoseResponse(delay)),
                }
            }
        }
    };
    match fault {
        None => next.run(req).await,
        Some(Fault::Error) => message(StatusCode::INTERNAL_SERVER_ERROR, "Server Error"),
        Some(Fault::Throttle) => {
            let mut r = message(StatusCode::TOO_MANY_REQUESTS, "Too Many Attempts.");
            r.headers_mut()
                .insert(header::RETRY_AFTER, "1".parse().expect("static header"));
            r
        }
        Some(Fault::LoseResponse(delay)) => {
            let r = next.run(req).await;
            tokio::time::sleep(delay).await;
            r
        }
    }
}

fn router(inner: Shared) -> Router {
    Router::new()
        .route("/api/v1/health", get(|| async { "OK" }))
        .route("/api/v1/version", get(|| async { "4.3.11" }))
        .route("/api/v1/projects", get(projects))
        .route("/api/v1/servers", get(servers))
        .route("/api/v1/servers/{uuid}/destinations", get(destinations))
        .route("/api/v1/applications", get(list_apps))
        .route("/api/v1/applications/dockerimage", post(create_app))
        .route(
            "/api/v1/applications/{uuid}",
            get(get_app).patch(patch_app).delete(delete_app),
        )
        .route("/api/v1/applications/{uuid}/envs", get(list_envs).post(create_env))
        .route("/api/v1/applications/{uuid}/envs/bulk", patch(bulk_envs))
        .route("/api/v1/applications/{uuid}/{action}", any(app_action))
        .route("/api/v1/deployments/{uuid}", get(get_deployment))
        .route("/api/v1/deployments/applications/{uuid}", get(app_deployments))
        .route("/api/v1/_fake/reset", delete(reset))
        .layer(axum::middleware::from_fn_with_state(inner.clone(), random_faults))
        .with_state(inner)
}

macro_rules! guarded {
    ($state:expr, $method:expr, $path:expr, $headers:expr) => {{
        let mut inner = $state.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(r) = guard(&mut inner, &$method, &$path, &$headers) {
            return r;
        }
        progress(&mut inner);
        inner
    }};
}

async fn projects(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = guarded!(s, Method::GET, "/projects", headers);
    Json(json!([{"uuid": inner.project_uuid, "name": "Meeboter", "description": null}])).into_response()
}

async fn servers(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = guarded!(s, Method::GET, "/servers", headers);
    Json(json!([{"uuid": inner.server_uuid, "name": "localhost", "ip": "127.0.0.1", "is_reachable": true, "is_usable": true}]))
        .into_response()
}

async fn destinations(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let inner = guarded!(s, Method::GET, format!("/servers/{uuid}/destinations"), headers);
    if uuid != inner.server_uuid {
        return message(StatusCode::NOT_FOUND, "Server not found.");
    }
    Json(json!([{"uuid": inner.destination_uuid, "name": "coolify", "network": "coolify", "type": "standalone", "server_uuid": uuid}]))
        .into_response()
}

async fn list_apps(State(s): State<Shared>, headers: HeaderMap) -> Response {
    let inner = guarded!(s, Method::GET, "/applications", headers);
    let apps: Vec<Value> = inner
        .apps
        .values()
        .filter(|a| !a.deleted)
        .map(|a| app_json(&inner, a))
        .collect();
    Json(Value::Array(apps)).into_response()
}

async fn create_app(State(s): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let mut inner = guarded!(s, Method::POST, "/applications/dockerimage", headers);
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields: Vec<&str> = body.keys().map(String::as_str).collect();
    if let Some(r) = not_allowed(&fields, CREATE_FIELDS) {
        return r;
    }
    let mut missing = serde_json::Map::new();
    for f in ["project_uuid", "server_uuid", "docker_registry_image_name"] {
        if body.get(f).and_then(Value::as_str).is_none_or(str::is_empty) {
            missing.insert(f.into(), json!(["This field is required."]));
        }
    }
    if !missing.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "Validation failed.", "errors": missing})),
        )
            .into_response();
    }
    if body.get("environment_name").is_none() && body.get("environment_uuid").is_none() {
        return message(
            StatusCode::UNPROCESSABLE_ENTITY,
            "You need to provide at least one of environment_name or environment_uuid.",
        );
    }
    if body["project_uuid"] != json!(inner.project_uuid) {
        return message(StatusCode::NOT_FOUND, "Project not found.");
    }
    if body["server_uuid"] != json!(inner.server_uuid) {
        return message(StatusCode::NOT_FOUND, "Server not found.");
    }
    if body.get("environment_name").is_some_and(|e| e != ENVIRONMENT) {
        return message(StatusCode::NOT_FOUND, "Environment not found.");
    }
    if let Some(p) = body.get("ports_exposes").and_then(Value::as_str)
        && !p
            .split(',')
            .all(|x| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()))
    {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({"message": "Validation failed.", "errors": {"ports_exposes": ["The ports exposes field format is invalid."]}})),
        )
            .into_response();
    }
    let uuid = new_uuid();
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let app = App {
        uuid: uuid.clone(),
        name: text("name").unwrap_or_else(|| format!("docker-image-{uuid}")),
        description: text("description"),
        image: text("docker_registry_image_name").unwrap_or_default(),
        tag: text("docker_registry_image_tag").unwrap_or_else(|| "latest".into()),
        envs: BTreeMap::new(),
        stopped_at: None,
        deployment: None,
        deleted: false,
        hook_fired_for: None,
    };
    inner.apps.insert(uuid.clone(), app);
    (StatusCode::CREATED, Json(json!({"uuid": uuid, "domains": null}))).into_response()
}

async fn get_app(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let inner = guarded!(s, Method::GET, format!("/applications/{uuid}"), headers);
    match inner.apps.get(&uuid).filter(|a| !a.deleted) {
        Some(app) => Json(app_json(&inner, app)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Application not found."),
    }
}

async fn patch_app(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>, body: String) -> Response {
    let mut inner = guarded!(s, Method::PATCH, format!("/applications/{uuid}"), headers);
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields: Vec<&str> = body.keys().map(String::as_str).collect();
    if let Some(r) = not_allowed(&fields, PATCH_FIELDS) {
        return r;
    }
    let Some(app) = inner.apps.get_mut(&uuid).filter(|a| !a.deleted) else {
        return message(StatusCode::NOT_FOUND, "Application not found");
    };
    if let Some(d) = body.get("description") {
        app.description = d.as_str().map(str::to_string);
    }
    if let Some(n) = body.get("name").and_then(Value::as_str) {
        app.name = n.to_string();
    }
    if let Some(t) = body.get("docker_registry_image_tag").and_then(Value::as_str) {
        app.tag = t.to_string();
    }
    Json(json!({"uuid": uuid})).into_response()
}

async fn delete_app(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let mut inner = guarded!(s, Method::DELETE, format!("/applications/{uuid}"), headers);
    match inner.apps.get_mut(&uuid).filter(|a| !a.deleted) {
        Some(app) => {
            app.deleted = true;
            message(StatusCode::OK, "Application deletion request queued.")
        }
        None => message(StatusCode::NOT_FOUND, "Application not found"),
    }
}

async fn list_envs(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let inner = guarded!(s, Method::GET, format!("/applications/{uuid}/envs"), headers);
    let Some(app) = inner.apps.get(&uuid).filter(|a| !a.deleted) else {
        return message(StatusCode::NOT_FOUND, "Application not found");
    };
    let envs: Vec<Value> = app
        .envs
        .iter()
        .map(|(k, v)| json!({"uuid": format!("env-{k}"), "key": k, "value": v, "real_value": v, "is_preview": false}))
        .collect();
    Json(Value::Array(envs)).into_response()
}

async fn create_env(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>, body: String) -> Response {
    let mut inner = guarded!(s, Method::POST, format!("/applications/{uuid}/envs"), headers);
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let fields: Vec<&str> = body.keys().map(String::as_str).collect();
    if let Some(r) = not_allowed(&fields, ENV_FIELDS) {
        return r;
    }
    let Some(app) = inner.apps.get_mut(&uuid).filter(|a| !a.deleted) else {
        return message(StatusCode::NOT_FOUND, "Application not found");
    };
    let key = body.get("key").and_then(Value::as_str).unwrap_or_default().to_string();
    if app.envs.contains_key(&key) {
        return message(
            StatusCode::CONFLICT,
            "Environment variable already exists. Use PATCH request to update it.",
        );
    }
    let value = body
        .get("value")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    app.envs.insert(key.clone(), value);
    (StatusCode::CREATED, Json(json!({"uuid": format!("env-{key}")}))).into_response()
}

async fn bulk_envs(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>, body: String) -> Response {
    let mut inner = guarded!(s, Method::PATCH, format!("/applications/{uuid}/envs/bulk"), headers);
    let body = match json_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(Value::Array(items)) = body
        .get("data")
        .cloned()
        .filter(|d| d.as_array().is_some_and(|a| !a.is_empty()))
    else {
        return message(StatusCode::BAD_REQUEST, "Bulk data is required.");
    };
    let Some(app) = inner.apps.get_mut(&uuid).filter(|a| !a.deleted) else {
        return message(StatusCode::NOT_FOUND, "Application not found");
    };
    let mut out = Vec::new();
    // Per-item validation without a transaction: earlier items stay saved (as Coolify).
    for item in items {
        let Some(obj) = item.as_object() else {
            return message(StatusCode::UNPROCESSABLE_ENTITY, "Validation failed.");
        };
        let fields: Vec<&str> = obj.keys().map(String::as_str).collect();
        if let Some(r) = not_allowed(&fields, ENV_FIELDS) {
            return r;
        }
        let key = obj.get("key").and_then(Value::as_str).unwrap_or_default();
        if key.is_empty() || !key.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_') {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({"message": "Validation failed.", "errors": {"key": ["The key field format is invalid."]}})),
            )
                .into_response();
        }
        let value = obj
            .get("value")
            .map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()));
        app.envs.insert(key.to_string(), value.clone().unwrap_or_default());
        out.push(
            json!({"uuid": format!("env-{key}"), "key": key, "value": value, "is_buildtime": true, "is_runtime": true}),
        );
    }
    (StatusCode::CREATED, Json(Value::Array(out))).into_response()
}

#[derive(serde::Deserialize)]
struct ActionQuery {
    #[serde(default)]
    force: Option<bool>,
}

async fn app_action(
    State(s): State<Shared>,
    method: Method,
    headers: HeaderMap,
    Path((uuid, action)): Path<(String, String)>,
    Query(q): Query<ActionQuery>,
) -> Response {
    let mut inner = guarded!(s, method.clone(), format!("/applications/{uuid}/{action}"), headers);
    if !matches!(action.as_str(), "start" | "stop" | "restart") {
        return message(StatusCode::NOT_FOUND, "Not found.");
    }
    if method != Method::POST {
        let mut r = message(
            StatusCode::METHOD_NOT_ALLOWED,
            "This endpoint has changed to a POST request.",
        );
        r.headers_mut()
            .insert(header::ALLOW, "POST".parse().expect("static header"));
        return r;
    }
    if inner.apps.get(&uuid).is_none_or(|a| a.deleted) {
        return message(StatusCode::NOT_FOUND, "Application not found.");
    }
    if action == "stop" {
        // Stops the container that runs now; a deployment in flight is not stopped (it
        // starts its container when it finishes, after this stop).
        let hook = inner.controls.on_stop.clone();
        let envs = {
            let app = &inner.apps[&uuid];
            running_deployment(&inner, app).map_or_else(|| app.envs.clone(), |(d, _)| d.env.clone())
        };
        let app = inner.apps.get_mut(&uuid).expect("checked above");
        app.stopped_at = Some(Instant::now());
        drop(inner);
        if let Some(h) = hook {
            h(&uuid, &envs);
        }
        return message(StatusCode::OK, "Application stopping request queued.");
    }
    // start / restart: a deployment, unless one is already queued for this "commit".
    let busy = inner.apps[&uuid]
        .deployment
        .as_ref()
        .and_then(|d| inner.deployments.get(d))
        .is_some_and(|d| matches!(deployment_status(&inner, d), "queued" | "in_progress"));
    if busy && !q.force.unwrap_or(false) {
        return message(StatusCode::OK, "Deployment already queued for this commit.");
    }
    let dep_uuid = new_uuid();
    if inner.controls.queue_full_next > 0 {
        inner.controls.queue_full_next -= 1;
        let app = inner.apps.get_mut(&uuid).expect("checked above");
        app.deployment = Some(dep_uuid.clone());
        return Json(json!({"message": "Deployment request queued.", "deployment_uuid": dep_uuid})).into_response();
    }
    let fails = inner.controls.fail_next_deployments > 0;
    if fails {
        inner.controls.fail_next_deployments -= 1;
    }
    let env = inner.apps[&uuid].envs.clone();
    inner.deployments.insert(
        dep_uuid.clone(),
        Deployment {
            uuid: dep_uuid.clone(),
            app: uuid.clone(),
            created: Instant::now(),
            fails,
            env,
        },
    );
    let app = inner.apps.get_mut(&uuid).expect("checked above");
    app.deployment = Some(dep_uuid.clone());
    let msg = if action == "restart" {
        "Restart request queued."
    } else {
        "Deployment request queued."
    };
    Json(json!({"message": msg, "deployment_uuid": dep_uuid})).into_response()
}

fn deployment_json(inner: &Inner, d: &Deployment) -> Value {
    json!({"deployment_uuid": d.uuid, "application_id": d.app, "status": deployment_status(inner, d)})
}

async fn get_deployment(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let inner = guarded!(s, Method::GET, format!("/deployments/{uuid}"), headers);
    match inner.deployments.get(&uuid) {
        Some(d) => Json(deployment_json(&inner, d)).into_response(),
        None => message(StatusCode::NOT_FOUND, "Deployment not found."),
    }
}

async fn app_deployments(State(s): State<Shared>, headers: HeaderMap, Path(uuid): Path<String>) -> Response {
    let inner = guarded!(s, Method::GET, format!("/deployments/applications/{uuid}"), headers);
    if !inner.apps.contains_key(&uuid) {
        return message(StatusCode::NOT_FOUND, "Application not found");
    }
    let mut list: Vec<&Deployment> = inner.deployments.values().filter(|d| d.app == uuid).collect();
    list.sort_by_key(|d| std::cmp::Reverse(d.created));
    let deployments: Vec<Value> = list.iter().map(|d| deployment_json(&inner, d)).collect();
    Json(json!({"count": deployments.len(), "deployments": deployments})).into_response()
}

async fn reset(State(s): State<Shared>) -> StatusCode {
    let mut inner = s.lock().unwrap_or_else(|p| p.into_inner());
    inner.apps.clear();
    inner.deployments.clear();
    inner.calls.clear();
    StatusCode::NO_CONTENT
}

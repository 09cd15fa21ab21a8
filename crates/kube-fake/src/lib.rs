//! A stateful fake of the Kubernetes API server for tests: namespaced `batch/v1` Jobs, Pods
//! (with `/log`) and Secrets, a job-controller and garbage-collector simulation, and watches.
//! No real cluster can run in CI; this stands in for one over real HTTP.
//!
//! Modelled on kube-apiserver's own code and documented semantics, not on any client:
//!
//! - `k8s.io/apiserver/pkg/endpoints/handlers` (create/get/list/watch/delete): create answers
//!   201, a delete that completed answers 200 with a `Status` of `Success`, one that is still
//!   pending (graceful pod deletion, finalizers) answers 202 with the object;
//! - `k8s.io/apimachinery/pkg/api/errors` and `apis/meta/v1/types.go` (`Status`,
//!   `StatusReason`): `jobs.batch "x" already exists` (409 AlreadyExists), `pods "x" not found`
//!   (404 NotFound), `Job.batch "x" is invalid: <field>: Required value` with `causes` (422
//!   Invalid), `jobs.batch "x" is forbidden: exceeded quota: ...` (403 Forbidden),
//!   `User "..." cannot list resource "jobs" in API group "batch" in the namespace "..."` (403),
//!   429 TooManyRequests with `Retry-After` and `retryAfterSeconds`, 410 Expired
//!   `too old resource version: N (M)`;
//! - watch semantics (`apiserver/pkg/storage/cacher`, `apimachinery/pkg/watch`): one global,
//!   monotonically increasing resourceVersion; `resourceVersion` unset or `0` starts with
//!   synthetic ADDED events for the current state, `N` replays every event after N from the
//!   retained window, older than the window → an ERROR event carrying a 410 `Expired` Status;
//!   BOOKMARK events carry only `metadata.resourceVersion`; `timeoutSeconds` ends the stream;
//! - `pkg/registry/batch/job/strategy.go`: a generated selector on
//!   `batch.kubernetes.io/controller-uid`, the `job-name`/`controller-uid` labels (old and
//!   `batch.kubernetes.io/` forms) on the template, defaults (backoffLimit 6, completions and
//!   parallelism 1), and — for batch/v1 — `OrphanDependents` as the default deletion
//!   propagation, so a client must ask for Background or Foreground to remove the pods;
//! - `pkg/controller/job`: a pod per Job named `<job>-<5 random>` with a controller
//!   ownerReference, status `active`/`ready`/`succeeded`/`failed`/`terminating`,
//!   `SuccessCriteriaMet` then `Complete`, `FailureTarget` then `Failed` with reason
//!   `BackoffLimitExceeded` ("Job has reached the specified backoff limit") or
//!   `DeadlineExceeded` ("Job was active longer than specified deadline");
//!   `pkg/controller/ttlafterfinished` deletes a finished Job (Foreground) after
//!   `ttlSecondsAfterFinished`;
//! - `pkg/controller/garbagecollector`: dependents (pods, and Secrets whose ownerReference names
//!   the Job) are deleted after a Background delete, before the owner for Foreground
//!   (`foregroundDeletion` finalizer), and released for Orphan (`orphan` finalizer);
//! - pod status as the kubelet reports it: `PodScheduled=False` reason `Unschedulable` with the
//!   scheduler's message, container `waiting` `ErrImagePull` then `ImagePullBackOff`
//!   (`Back-off pulling image "..."`), `terminated` `OOMKilled` exit 137, phase `Failed` reason
//!   `Evicted`, `DisruptionTarget` for a lost node, `CreateContainerConfigError` for a missing
//!   Secret; graceful deletion sets `deletionTimestamp` and `deletionGracePeriodSeconds`, the
//!   container gets SIGTERM, then SIGKILL when the grace period ends.
//!
//! Tests steer it through [`Controls`] (timings, a [`Scenario`] per Job, a Job-count quota,
//! 429 throttling, RBAC rules, a short event window, dropping watch streams) and a **hook**: a
//! command run as "the container" when a pod starts running, with the pod's env resolved
//! (plain values and `secretKeyRef`s), whose exit code ends the pod. Every request is recorded
//! ([`KubeFake::requests`]) so a test can compare the verbs a client used with an RBAC Role.

use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::broadcast;

/// The Kubernetes version the fake reports at `/version`.
pub const GIT_VERSION: &str = "v1.34.0";

/// How a Job's pod behaves (chosen per Job name, see [`Controls::scenarios`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scenario {
    /// Scheduled, image pulled, runs the hook (or [`Controls::run_for`]) and ends with its exit code.
    Run,
    /// The image cannot be pulled: `ErrImagePull`, then `ImagePullBackOff`, forever.
    ImagePullFailure,
    /// No node fits: `PodScheduled=False`, reason `Unschedulable`, with this scheduler message.
    Unschedulable(String),
    /// The container is killed for memory after running a moment: `OOMKilled`, exit 137.
    OomKilled,
    /// The kubelet evicts the pod after it ran a moment (phase `Failed`, reason `Evicted`).
    Evicted,
    /// The node is lost after the pod ran a moment (`DisruptionTarget`, phase `Failed`).
    NodeLost,
}

/// A request as the fake saw it, for RBAC-coverage assertions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RecordedRequest {
    /// The Kubernetes verb: create, get, list, watch, delete (or `http` for discovery).
    pub verb: String,
    /// `group/resource[/subresource]`, the core group empty: `batch/jobs`, `/pods/log`.
    pub resource: String,
    pub namespace: String,
    pub path: String,
}

/// What tests can change while the fake runs.
pub struct Controls {
    /// Time from pod creation to scheduling, then from scheduling to the container running.
    pub schedule_delay: Duration,
    pub start_delay: Duration,
    /// How long a container without a hook runs before exiting 0.
    pub run_for: Duration,
    /// How long "a moment" is for OOMKilled/Evicted/NodeLost, and the ErrImagePull → BackOff step.
    pub fault_after: Duration,
    /// One Kubernetes "second" for activeDeadlineSeconds, ttlSecondsAfterFinished and grace
    /// periods, so tests need not wait real seconds.
    pub second: Duration,
    /// Scenario per Job name; the rest get `default_scenario`.
    pub scenarios: HashMap<String, Scenario>,
    pub default_scenario: Scenario,
    /// The command run as the container when a pod starts running (program, args); its env is
    /// the pod's resolved env plus `PATH`/`HOME` and `KUBE_FAKE_POD`.
    pub hook: Option<Vec<String>>,
    /// A ResourceQuota `count/jobs.batch` per namespace: creates past it → 403 exceeded quota.
    pub job_quota: Option<usize>,
    /// The next N requests (discovery excluded) answer 429 TooManyRequests.
    pub throttle_next: u32,
    /// RBAC: when set, only these `(group/resource, verb)` pairs are allowed (403 otherwise).
    pub allowed: Option<BTreeSet<(String, String)>>,
    /// How many events are kept for watches from a resourceVersion; older → 410 Expired.
    pub event_window: usize,
    /// Interval of BOOKMARK events on watches that allow them.
    pub bookmark_interval: Duration,
}

impl Default for Controls {
    fn default() -> Self {
        Controls {
            schedule_delay: Duration::from_millis(20),
            start_delay: Duration::from_millis(50),
            run_for: Duration::from_millis(300),
            fault_after: Duration::from_millis(100),
            second: Duration::from_millis(100),
            scenarios: HashMap::new(),
            default_scenario: Scenario::Run,
            hook: None,
            job_quota: None,
            throttle_next: 0,
            allowed: None,
            event_window: 10_000,
            bookmark_interval: Duration::from_millis(500),
        }
    }
}

/// One change, as a watch sends it.
#[derive(Debug, Clone)]
struct Event {
    rv: u64,
    resource: &'static str,
    namespace: String,
    kind: &'static str,
    object: Value,
}

type Key = (&'static str, String, String);

struct StateInner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    events: VecDeque<Event>,
    /// Every event with a resourceVersion at or below this has left the window.
    compacted: u64,
    requests: Vec<RecordedRequest>,
    /// Process ids of running hooks, per pod (namespace, name).
    processes: HashMap<(String, String), u32>,
    logs: HashMap<(String, String), String>,
    /// Bumped to end every open watch stream.
    watch_generation: u64,
}

struct Shared {
    state: Mutex<StateInner>,
    controls: Mutex<Controls>,
    events: broadcast::Sender<Event>,
    generation: tokio::sync::watch::Sender<u64>,
}

/// A running fake API server on a loopback port.
pub struct KubeFake {
    pub url: String,
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for KubeFake {
    fn drop(&mut self) {
        self.task.abort();
        let st = lock(&self.shared.state);
        for pid in st.processes.values() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(*pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl KubeFake {
    /// Starts the fake on 127.0.0.1 with the given controls.
    pub async fn start(controls: Controls) -> KubeFake {
        let (events, _) = broadcast::channel(65_536);
        let (generation, _) = tokio::sync::watch::channel(0);
        let shared = Arc::new(Shared {
            state: Mutex::new(StateInner {
                rv: 1000,
                objects: BTreeMap::new(),
                events: VecDeque::new(),
                compacted: 1000,
                requests: Vec::new(),
                processes: HashMap::new(),
                logs: HashMap::new(),
                watch_generation: 0,
            }),
            controls: Mutex::new(controls),
            events,
            generation,
        });
        let app = Router::new()
            .route("/version", get(version))
            .route("/api", get(api_versions))
            .route("/apis", get(api_groups))
            .route("/api/v1", get(core_resources))
            .route("/apis/batch/v1", get(batch_resources))
            .route("/api/v1/namespaces/{ns}/{resource}", get(collection).post(create))
            .route(
                "/apis/batch/v1/namespaces/{ns}/{resource}",
                get(collection).post(create),
            )
            .route("/api/v1/namespaces/{ns}/{resource}/{name}", get(one).delete(delete))
            .route(
                "/apis/batch/v1/namespaces/{ns}/{resource}/{name}",
                get(one).delete(delete),
            )
            .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pod_log))
            .fallback(not_found_path)
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        KubeFake { url, shared, task }
    }

    /// Changes controls while the fake runs.
    pub fn control(&self, f: impl FnOnce(&mut Controls)) {
        f(&mut lock(&self.shared.controls));
    }

    /// Every request so far (discovery included, as verb `http`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.state).requests.clone()
    }

    /// The distinct `(group/resource, verb)` pairs used so far, discovery excluded.
    pub fn verbs_used(&self) -> BTreeSet<(String, String)> {
        lock(&self.shared.state)
            .requests
            .iter()
            .filter(|r| r.verb != "http")
            .map(|r| (r.resource.clone(), r.verb.clone()))
            .collect()
    }

    /// An object as stored (`resource` is `jobs`, `pods` or `secrets`).
    pub fn object(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        let r = resource_name(resource)?;
        lock(&self.shared.state)
            .objects
            .get(&(r, namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Names of the stored objects of a resource in a namespace.
    pub fn names(&self, resource: &str, namespace: &str) -> Vec<String> {
        let Some(r) = resource_name(resource) else {
            return Vec::new();
        };
        lock(&self.shared.state)
            .objects
            .keys()
            .filter(|(res, ns, _)| *res == r && ns == namespace)
            .map(|(_, _, n)| n.clone())
            .collect()
    }

    /// Ends every open watch stream (as a load balancer or apiserver restart would).
    pub fn drop_watches(&self) {
        let g = {
            let mut st = lock(&self.shared.state);
            st.watch_generation += 1;
            st.watch_generation
        };
        let _ = self.shared.generation.send(g);
    }

    /// Forgets every retained event: any watch from a resourceVersion handed out so far gets
    /// 410 (as if changes elsewhere in etcd were compacted too, so even the newest one is old).
    pub fn compact(&self) {
        let mut st = lock(&self.shared.state);
        st.events.clear();
        st.rv += 1;
        st.compacted = st.rv;
    }

    /// The current (newest) resourceVersion.
    pub fn resource_version(&self) -> u64 {
        lock(&self.shared.state).rv
    }
}

// ---------------------------------------------------------------------------------------------
// Resources and errors

fn resource_name(r: &str) -> Option<&'static str> {
    match r {
        "jobs" => Some("jobs"),
        "pods" => Some("pods"),
        "secrets" => Some("secrets"),
        _ => None,
    }
}

fn group_of(resource: &str) -> &'static str {
    if resource == "jobs" { "batch" } else { "" }
}

fn kind_of(resource: &str) -> &'static str {
    match resource {
        "jobs" => "Job",
        "pods" => "Pod",
        _ => "Secret",
    }
}

fn api_version_of(resource: &str) -> &'static str {
    if resource == "jobs" { "batch/v1" } else { "v1" }
}

/// `jobs.batch` / `pods`: how errors name a resource.
fn qualified(resource: &str) -> String {
    match group_of(resource) {
        "" => resource.to_string(),
        g => format!("{resource}.{g}"),
    }
}

fn status_body(code: u16, reason: &str, message: String, details: Value) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {},
        "status": "Failure", "message": message, "reason": reason,
        "details": details, "code": code,
    })
}

fn status_response(code: u16, reason: &str, message: String, details: Value) -> Response {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, Json(status_body(code, reason, message, details))).into_response()
}

fn not_found(resource: &str, name: &str) -> Response {
    status_response(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", qualified(resource)),
        json!({"name": name, "group": group_of(resource), "kind": resource}),
    )
}

async fn not_found_path(req: Request) -> Response {
    status_response(
        404,
        "NotFound",
        "the server could not find the requested resource".to_string(),
        json!({"causes": [{"reason": "UnexpectedServerResponse", "message": format!("unknown path {}", req.uri().path())}]}),
    )
}

/// Records the request and applies throttling and RBAC; `Err` is the response to send.
fn admit(
    shared: &Shared,
    verb: &str,
    resource: &str,
    ns: &str,
    name: Option<&str>,
    path: &str,
) -> Result<(), Box<Response>> {
    let full = format!("{}/{resource}", group_of(resource.split('/').next().unwrap_or("")));
    lock(&shared.state).requests.push(RecordedRequest {
        verb: verb.to_string(),
        resource: full.clone(),
        namespace: ns.to_string(),
        path: path.to_string(),
    });
    let mut c = lock(&shared.controls);
    if c.throttle_next > 0 {
        c.throttle_next -= 1;
        let mut resp = status_response(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.".to_string(),
            json!({"retryAfterSeconds": 1}),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return Err(Box::new(resp));
    }
    if let Some(allowed) = &c.allowed
        && !allowed.contains(&(full.clone(), verb.to_string()))
    {
        let base = resource.split('/').next().unwrap_or(resource);
        let sub = resource.split('/').nth(1);
        let subject = match name {
            Some(n) => format!("{} \"{n}\"", qualified(base)),
            None => qualified(base),
        };
        let what = match sub {
            Some(s) => format!("{base}/{s}"),
            None => base.to_string(),
        };
        return Err(Box::new(status_response(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"system:serviceaccount:meeboter:meeboter-server\" cannot {verb} resource \"{what}\" in API group \"{}\" in the namespace \"{ns}\"",
                group_of(base)
            ),
            json!({"name": name.unwrap_or(""), "group": group_of(base), "kind": base}),
        )));
    }
    Ok(())
}

fn record_discovery(shared: &Shared, path: &str) {
    lock(&shared.state).requests.push(RecordedRequest {
        verb: "http".into(),
        resource: String::new(),
        namespace: String::new(),
        path: path.to_string(),
    });
}

// ---------------------------------------------------------------------------------------------
// Discovery

async fn version(State(s): State<Arc<Shared>>) -> Json<Value> {
    record_discovery(&s, "/version");
    Json(json!({
        "major": "1", "minor": "34", "gitVersion": GIT_VERSION, "gitCommit": "kube-fake",
        "gitTreeState": "clean", "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24",
        "compiler": "gc", "platform": "linux/amd64",
    }))
}

async fn api_versions(State(s): State<Arc<Shared>>) -> Json<Value> {
    record_discovery(&s, "/api");
    Json(json!({
        "kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }))
}

async fn api_groups(State(s): State<Arc<Shared>>) -> Json<Value> {
    record_discovery(&s, "/apis");
    Json(json!({
        "kind": "APIGroupList", "apiVersion": "v1",
        "groups": [{
            "name": "batch",
            "versions": [{"groupVersion": "batch/v1", "version": "v1"}],
            "preferredVersion": {"groupVersion": "batch/v1", "version": "v1"},
        }],
    }))
}

fn resource_entry(name: &str, kind: &str, namespaced: bool, verbs: &[&str]) -> Value {
    json!({"name": name, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs})
}

async fn core_resources(State(s): State<Arc<Shared>>) -> Json<Value> {
    record_discovery(&s, "/api/v1");
    let all = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    Json(json!({
        "kind": "APIResourceList", "groupVersion": "v1",
        "resources": [
            resource_entry("pods", "Pod", true, &all),
            resource_entry("pods/log", "Pod", true, &["get"]),
            resource_entry("secrets", "Secret", true, &all),
        ],
    }))
}

async fn batch_resources(State(s): State<Arc<Shared>>) -> Json<Value> {
    record_discovery(&s, "/apis/batch/v1");
    let all = [
        "create",
        "delete",
        "deletecollection",
        "get",
        "list",
        "patch",
        "update",
        "watch",
    ];
    Json(json!({
        "kind": "APIResourceList", "groupVersion": "batch/v1",
        "resources": [
            resource_entry("jobs", "Job", true, &all),
            resource_entry("jobs/status", "Job", true, &["get", "patch", "update"]),
        ],
    }))
}

// ---------------------------------------------------------------------------------------------
// State changes (all go through here so every change gets a resourceVersion and an event)

impl Shared {
    /// Stores `object` (new or changed), stamps a resourceVersion and emits the event.
    fn put(
        &self,
        st: &mut StateInner,
        resource: &'static str,
        ns: &str,
        mut object: Value,
        kind: &'static str,
    ) -> Value {
        st.rv += 1;
        object["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        st.objects.insert((resource, ns.to_string(), name), object.clone());
        self.emit(st, resource, ns, kind, object.clone());
        object
    }

    /// Removes an object for good (DELETED event with a new resourceVersion).
    fn remove(&self, st: &mut StateInner, resource: &'static str, ns: &str, name: &str) -> Option<Value> {
        let mut object = st.objects.remove(&(resource, ns.to_string(), name.to_string()))?;
        st.rv += 1;
        object["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        self.emit(st, resource, ns, "DELETED", object.clone());
        if resource == "pods" {
            st.processes.remove(&(ns.to_string(), name.to_string()));
        }
        Some(object)
    }

    fn emit(&self, st: &mut StateInner, resource: &'static str, ns: &str, kind: &'static str, object: Value) {
        let event = Event {
            rv: st.rv,
            resource,
            namespace: ns.to_string(),
            kind,
            object,
        };
        st.events.push_back(event.clone());
        let window = lock(&self.controls).event_window.max(1);
        while st.events.len() > window {
            if let Some(old) = st.events.pop_front() {
                st.compacted = old.rv;
            }
        }
        let _ = self.events.send(event);
    }

    fn get(&self, resource: &'static str, ns: &str, name: &str) -> Option<Value> {
        lock(&self.state)
            .objects
            .get(&(resource, ns.to_string(), name.to_string()))
            .cloned()
    }

    /// Applies `f` to a stored object and stores the result (no-op when it is gone).
    fn update(&self, resource: &'static str, ns: &str, name: &str, f: impl FnOnce(&mut Value)) -> Option<Value> {
        let mut st = lock(&self.state);
        let mut object = st.objects.get(&(resource, ns.to_string(), name.to_string())).cloned()?;
        let before = object.clone();
        f(&mut object);
        if object == before {
            return Some(object);
        }
        Some(self.put(&mut st, resource, ns, object, "MODIFIED"))
    }
}

// ---------------------------------------------------------------------------------------------
// Labels

/// One requirement of a label selector (`k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`).
enum Requirement {
    Eq(String, String),
    Ne(String, String),
    Exists(String),
    Absent(String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
}

fn parse_selector(s: &str) -> Result<Vec<Requirement>, String> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    let mut out = Vec::new();
    for p in parts.into_iter().map(str::trim).filter(|p| !p.is_empty()) {
        let set = |rest: &str| -> Result<Vec<String>, String> {
            let rest = rest.trim();
            let inner = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| format!("unable to parse requirement: {p}"))?;
            Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
        };
        if let Some((k, v)) = p.split_once("!=") {
            out.push(Requirement::Ne(k.trim().into(), v.trim().into()));
        } else if let Some((k, v)) = p.split_once("==").or_else(|| p.split_once('=')) {
            out.push(Requirement::Eq(k.trim().into(), v.trim().into()));
        } else if let Some((k, rest)) = p.split_once(" notin ") {
            out.push(Requirement::NotIn(k.trim().into(), set(rest)?));
        } else if let Some((k, rest)) = p.split_once(" in ") {
            out.push(Requirement::In(k.trim().into(), set(rest)?));
        } else if let Some(k) = p.strip_prefix('!') {
            out.push(Requirement::Absent(k.trim().into()));
        } else if p.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
            out.push(Requirement::Exists(p.into()));
        } else {
            return Err(format!("unable to parse requirement: {p}"));
        }
    }
    Ok(out)
}

fn matches(selector: &[Requirement], object: &Value) -> bool {
    let labels = &object["metadata"]["labels"];
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    selector.iter().all(|r| match r {
        Requirement::Eq(k, v) => label(k) == Some(v.as_str()),
        Requirement::Ne(k, v) => label(k) != Some(v.as_str()),
        Requirement::Exists(k) => label(k).is_some(),
        Requirement::Absent(k) => label(k).is_none(),
        Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
        Requirement::NotIn(k, vs) => label(k).is_none_or(|l| !vs.iter().any(|v| v == l)),
    })
}

/// `fieldSelector`: only `metadata.name=` and `metadata.namespace=` (what clients use here).
fn field_matches(selector: &Option<String>, object: &Value) -> bool {
    let Some(sel) = selector else { return true };
    sel.split(',')
        .filter(|p| !p.is_empty())
        .all(|p| match p.split_once('=') {
            Some(("metadata.name", v)) => object["metadata"]["name"] == v,
            Some(("metadata.namespace", v)) => object["metadata"]["namespace"] == v,
            _ => false,
        })
}

fn bad_request(message: String) -> Response {
    status_response(400, "BadRequest", message, Value::Null)
}

// ---------------------------------------------------------------------------------------------
// Create

fn is_dns_label(s: &str, max: usize) -> bool {
    !s.is_empty()
        && s.len() <= max
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

fn random_suffix(n: usize) -> String {
    // The apiserver's generateName alphabet: no vowels, no confusable characters.
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..n)
        .map(|_| ALPHABET[rand::random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Field errors as the validation code reports them: (field, type, detail).
fn invalid(kind: &str, group: &str, name: &str, errors: Vec<(String, &str, String)>) -> Response {
    let qualified_kind = if group.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}.{group}")
    };
    let describe = |(f, t, d): &(String, &str, String)| {
        if d.is_empty() {
            format!("{f}: {t}")
        } else {
            format!("{f}: {t}: {d}")
        }
    };
    let list: Vec<String> = errors.iter().map(describe).collect();
    let joined = if list.len() == 1 {
        list[0].clone()
    } else {
        format!("[{}]", list.join(", "))
    };
    let causes: Vec<Value> = errors
        .iter()
        .map(|(f, t, d)| {
            let reason = match *t {
                "Required value" => "FieldValueRequired",
                "Unsupported value" => "FieldValueNotSupported",
                "Forbidden" => "FieldValueForbidden",
                _ => "FieldValueInvalid",
            };
            json!({"reason": reason, "message": if d.is_empty() { t.to_string() } else { format!("{t}: {d}") }, "field": f})
        })
        .collect();
    status_response(
        422,
        "Invalid",
        format!("{qualified_kind} \"{name}\" is invalid: {joined}"),
        json!({"name": name, "group": group, "kind": kind, "causes": causes}),
    )
}

fn validate_job(job: &Value) -> Vec<(String, &'static str, String)> {
    let mut errors = Vec::new();
    let name = job["metadata"]["name"].as_str().unwrap_or_default();
    if !is_dns_label(name, 63) {
        errors.push((
            "metadata.name".to_string(),
            "Invalid value",
            format!("\"{name}\": a lowercase RFC 1123 subdomain of at most 63 characters"),
        ));
    }
    let pod = &job["spec"]["template"]["spec"];
    match pod["restartPolicy"].as_str() {
        Some("Never") | Some("OnFailure") => {}
        None => errors.push((
            "spec.template.spec.restartPolicy".to_string(),
            "Required value",
            "valid values: \"OnFailure\", \"Never\"".to_string(),
        )),
        Some(other) => errors.push((
            "spec.template.spec.restartPolicy".to_string(),
            "Unsupported value",
            format!("\"{other}\": supported values: \"OnFailure\", \"Never\""),
        )),
    }
    match pod["containers"].as_array() {
        Some(cs) if !cs.is_empty() => {
            for (i, c) in cs.iter().enumerate() {
                if c["name"].as_str().is_none_or(str::is_empty) {
                    errors.push((
                        format!("spec.template.spec.containers[{i}].name"),
                        "Required value",
                        String::new(),
                    ));
                }
                if c["image"].as_str().is_none_or(str::is_empty) {
                    errors.push((
                        format!("spec.template.spec.containers[{i}].image"),
                        "Required value",
                        String::new(),
                    ));
                }
            }
        }
        _ => errors.push((
            "spec.template.spec.containers".to_string(),
            "Required value",
            String::new(),
        )),
    }
    for field in ["backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"] {
        if let Some(v) = job["spec"].get(field)
            && v.as_i64()
                .is_none_or(|n| n < 0 || (field == "activeDeadlineSeconds" && n == 0))
        {
            errors.push((
                format!("spec.{field}"),
                "Invalid value",
                format!(
                    "{v}: must be greater than or equal to {}",
                    if field == "activeDeadlineSeconds" { 1 } else { 0 }
                ),
            ));
        }
    }
    errors
}

async fn create(State(s): State<Arc<Shared>>, Path((ns, resource)): Path<(String, String)>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    let Some(resource) = resource_name(&resource) else {
        return not_found_path(req).await;
    };
    if (resource == "jobs") != path.starts_with("/apis/batch/v1/") {
        return not_found_path(req).await;
    }
    if let Err(r) = admit(&s, "create", resource, &ns, None, &path) {
        return *r;
    }
    let bytes = match axum::body::to_bytes(req.into_body(), 4 << 20).await {
        Ok(b) => b,
        Err(e) => return bad_request(format!("unable to read the body: {e}")),
    };
    let mut object: Value = match serde_json::from_slice(&bytes) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad_request("the body is not a JSON object".into()),
        Err(e) => return bad_request(format!("the body of the request was in an unknown format: {e}")),
    };
    let kind = kind_of(resource);
    if object.get("kind").is_some_and(|k| k != kind)
        || object.get("apiVersion").is_some_and(|a| a != api_version_of(resource))
    {
        return bad_request(format!(
            "the API version in the data ({}) does not match the expected API version ({})",
            object["apiVersion"].as_str().unwrap_or(""),
            api_version_of(resource)
        ));
    }
    if object["metadata"]
        .get("namespace")
        .and_then(Value::as_str)
        .is_some_and(|n| n != ns)
    {
        return bad_request(
            "the namespace of the provided object does not match the namespace sent on the request".into(),
        );
    }
    if !object["metadata"].is_object() {
        object["metadata"] = json!({});
    }
    let name = match (
        object["metadata"]["name"].as_str(),
        object["metadata"]["generateName"].as_str(),
    ) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(g)) if !g.is_empty() => format!("{g}{}", random_suffix(5)),
        _ => {
            return invalid(
                kind,
                group_of(resource),
                "",
                vec![(
                    "metadata.name".into(),
                    "Required value",
                    "name or generateName is required".into(),
                )],
            );
        }
    };
    object["metadata"]["name"] = json!(name);
    if resource == "jobs" {
        let errors = validate_job(&object);
        if !errors.is_empty() {
            return invalid(kind, "batch", &name, errors);
        }
    } else if !is_dns_label(&name, 253) {
        return invalid(
            kind,
            "",
            &name,
            vec![(
                "metadata.name".into(),
                "Invalid value",
                format!("\"{name}\": a lowercase RFC 1123 subdomain"),
            )],
        );
    }
    if resource == "secrets" {
        // The Secret strategy folds stringData into base64 data.
        if let Some(sd) = object.get("stringData").and_then(Value::as_object).cloned() {
            for (k, v) in sd {
                let encoded = base64::engine::general_purpose::STANDARD.encode(v.as_str().unwrap_or_default());
                object["data"][k] = json!(encoded);
            }
            object.as_object_mut().unwrap().remove("stringData");
        }
        if object.get("type").is_none() {
            object["type"] = json!("Opaque");
        }
    }
    let stored = {
        let mut st = lock(&s.state);
        let key = (resource, ns.clone(), name.clone());
        if st.objects.contains_key(&key) {
            return status_response(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", qualified(resource)),
                json!({"name": name, "group": group_of(resource), "kind": resource}),
            );
        }
        if resource == "jobs"
            && let Some(limit) = lock(&s.controls).job_quota
        {
            let used = st.objects.keys().filter(|(r, n, _)| *r == "jobs" && *n == ns).count();
            if used >= limit {
                return status_response(
                    403,
                    "Forbidden",
                    format!(
                        "jobs.batch \"{name}\" is forbidden: exceeded quota: bots, requested: count/jobs.batch=1, used: count/jobs.batch={used}, limited: count/jobs.batch={limit}"
                    ),
                    json!({"name": name, "group": "batch", "kind": "jobs"}),
                );
            }
        }
        let uid = uuid::Uuid::now_v7().to_string();
        object["apiVersion"] = json!(api_version_of(resource));
        object["kind"] = json!(kind);
        let meta = &mut object["metadata"];
        meta["namespace"] = json!(ns);
        meta["uid"] = json!(uid);
        meta["creationTimestamp"] = json!(now());
        if resource == "jobs" {
            meta["generation"] = json!(1);
            prepare_job(&mut object, &uid, &name);
        }
        s.put(&mut st, resource, &ns, object, "ADDED")
    };
    if resource == "jobs" {
        tokio::spawn(run_job(s.clone(), ns, name));
    }
    (StatusCode::CREATED, Json(stored)).into_response()
}

/// The Job strategy's PrepareForCreate and defaults.
fn prepare_job(job: &mut Value, uid: &str, name: &str) {
    let spec = &mut job["spec"];
    for (k, v) in [
        ("backoffLimit", json!(6)),
        ("completions", json!(1)),
        ("parallelism", json!(1)),
    ] {
        if spec.get(k).is_none() {
            spec[k] = v;
        }
    }
    spec["completionMode"] = json!("NonIndexed");
    spec["suspend"] = spec.get("suspend").cloned().unwrap_or(json!(false));
    spec["podReplacementPolicy"] = json!("TerminatingOrFailed");
    spec["manualSelector"] = json!(false);
    spec["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}});
    let labels = &mut spec["template"]["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    for (k, v) in [
        ("batch.kubernetes.io/controller-uid", uid),
        ("batch.kubernetes.io/job-name", name),
        ("controller-uid", uid),
        ("job-name", name),
    ] {
        labels[k] = json!(v);
    }
    job["status"] = json!({});
}

// ---------------------------------------------------------------------------------------------
// Get and list (and watch)

async fn one(
    State(s): State<Arc<Shared>>,
    Path((ns, resource, name)): Path<(String, String, String)>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    let Some(resource) = resource_name(&resource) else {
        return not_found_path(req).await;
    };
    if (resource == "jobs") != path.starts_with("/apis/batch/v1/") {
        return not_found_path(req).await;
    }
    if let Err(r) = admit(&s, "get", resource, &ns, Some(&name), &path) {
        return *r;
    }
    match s.get(resource, &ns, &name) {
        Some(o) => Json(o).into_response(),
        None => not_found(resource, &name),
    }
}

async fn collection(
    State(s): State<Arc<Shared>>,
    Path((ns, resource)): Path<(String, String)>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    let Some(resource) = resource_name(&resource) else {
        return not_found_path(req).await;
    };
    if (resource == "jobs") != path.starts_with("/apis/batch/v1/") {
        return not_found_path(req).await;
    }
    let watching = q.get("watch").is_some_and(|w| w == "1" || w == "true");
    if let Err(r) = admit(&s, if watching { "watch" } else { "list" }, resource, &ns, None, &path) {
        return *r;
    }
    let selector = match parse_selector(q.get("labelSelector").map(String::as_str).unwrap_or("")) {
        Ok(sel) => sel,
        Err(e) => return bad_request(format!("unable to parse requirement: {e}")),
    };
    let fields = q.get("fieldSelector").cloned();
    if watching {
        return watch(s, resource, ns, selector, fields, &q);
    }
    let limit: usize = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return bad_request("limit must be a non-negative integer".into()),
    };
    let st = lock(&s.state);
    // continue: "<resourceVersion of the first page>/<last name>", as opaque to clients.
    let (snapshot_rv, after) = match q.get("continue").filter(|c| !c.is_empty()) {
        None => (st.rv, None),
        Some(token) => {
            let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            let Some((rv, last)) = decoded.as_deref().and_then(|d| d.split_once('/')) else {
                return bad_request("continue key is not valid: incorrect encoded start resourceVersion".into());
            };
            let rv: u64 = rv.parse().unwrap_or(0);
            if rv < st.compacted {
                return status_response(
                    410,
                    "Expired",
                    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.".to_string(),
                    Value::Null,
                );
            }
            (rv, Some(last.to_string()))
        }
    };
    let mut items: Vec<Value> = st
        .objects
        .iter()
        .filter(|((r, n, name), o)| {
            *r == resource
                && *n == ns
                && after.as_ref().is_none_or(|a| name > a)
                && matches(&selector, o)
                && field_matches(&fields, o)
        })
        .map(|(_, o)| {
            let mut o = o.clone();
            // List items carry no kind/apiVersion; the list does.
            if let Some(m) = o.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            o
        })
        .collect();
    let mut metadata = json!({"resourceVersion": snapshot_rv.to_string()});
    if limit > 0 && items.len() > limit {
        let remaining = items.len() - limit;
        items.truncate(limit);
        let last = items[limit - 1]["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        metadata["continue"] =
            json!(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{snapshot_rv}/{last}")));
        metadata["remainingItemCount"] = json!(remaining);
    }
    Json(json!({
        "kind": format!("{}List", kind_of(resource)),
        "apiVersion": api_version_of(resource),
        "metadata": metadata,
        "items": items,
    }))
    .into_response()
}

fn watch_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap_or_default();
    line.push(b'\n');
    Bytes::from(line)
}

fn watch(
    s: Arc<Shared>,
    resource: &'static str,
    ns: String,
    selector: Vec<Requirement>,
    fields: Option<String>,
    q: &HashMap<String, String>,
) -> Response {
    let bookmarks = q.get("allowWatchBookmarks").is_some_and(|b| b == "true" || b == "1");
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(Duration::from_secs(1800));
    let from = q.get("resourceVersion").cloned().unwrap_or_default();
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    // Subscribe before reading the state so no event falls between the two.
    let mut live = s.events.subscribe();
    let mut generation = s.generation.subscribe();
    let bookmark_every = lock(&s.controls).bookmark_interval;
    let wanted = move |e: &Event| {
        e.resource == resource
            && e.namespace == ns
            && matches(&selector, &e.object)
            && field_matches(&fields, &e.object)
    };
    let (initial, mut last_rv): (Vec<Bytes>, u64) = {
        let st = lock(&s.state);
        if from.is_empty() || from == "0" {
            let lines = st
                .objects
                .iter()
                .filter(|((r, n, _), o)| {
                    wanted(&Event {
                        rv: 0,
                        resource: r,
                        namespace: n.clone(),
                        kind: "ADDED",
                        object: (*o).clone(),
                    })
                })
                .map(|(_, o)| watch_line("ADDED", o))
                .collect();
            (lines, st.rv)
        } else {
            let Ok(rv) = from.parse::<u64>() else {
                return bad_request(format!("invalid resource version: {from}"));
            };
            if rv < st.compacted {
                let status = status_body(
                    410,
                    "Expired",
                    format!("too old resource version: {rv} ({})", st.compacted + 1),
                    Value::Null,
                );
                (vec![watch_line("ERROR", &status)], u64::MAX)
            } else {
                let lines = st
                    .events
                    .iter()
                    .filter(|e| e.rv > rv && wanted(e))
                    .map(|e| watch_line(e.kind, &e.object))
                    .collect();
                (lines, st.rv.max(rv))
            }
        }
    };
    let kind = kind_of(resource);
    let api_version = api_version_of(resource);
    tokio::spawn(async move {
        for line in initial {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        if last_rv == u64::MAX {
            return; // the ERROR event ends the watch, as in the real server
        }
        generation.borrow_and_update();
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut ticker = tokio::time::interval(bookmark_every);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = &mut deadline => return,
                _ = generation.changed() => return,
                _ = ticker.tick(), if bookmarks => {
                    let bookmark = json!({"kind": kind, "apiVersion": api_version, "metadata": {"resourceVersion": last_rv.to_string()}});
                    if tx.send(watch_line("BOOKMARK", &bookmark)).await.is_err() { return; }
                }
                event = live.recv() => match event {
                    Ok(e) => {
                        if e.rv <= last_rv { continue; }
                        last_rv = e.rv;
                        if wanted(&e) && tx.send(watch_line(e.kind, &e.object)).await.is_err() { return; }
                    }
                    // Fell behind the broadcast buffer: end the stream so the client resyncs.
                    Err(_) => return,
                }
            }
        }
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|b| (Ok::<_, std::io::Error>(b), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::TRANSFER_ENCODING, "chunked")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn pod_log(State(s): State<Arc<Shared>>, Path((ns, name)): Path<(String, String)>, req: Request) -> Response {
    let path = req.uri().path().to_string();
    if let Err(r) = admit(&s, "get", "pods/log", &ns, Some(&name), &path) {
        return *r;
    }
    let Some(pod) = s.get("pods", &ns, &name) else {
        return not_found("pods", &name);
    };
    let container = pod["spec"]["containers"][0]["name"].as_str().unwrap_or("").to_string();
    if let Some(waiting) = pod["status"]["containerStatuses"][0]["state"].get("waiting") {
        return bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: {}",
            waiting["reason"].as_str().unwrap_or("ContainerCreating")
        ));
    }
    if pod["status"]["containerStatuses"].as_array().is_none_or(Vec::is_empty) {
        return bad_request(format!(
            "container \"{container}\" in pod \"{name}\" is waiting to start: ContainerCreating"
        ));
    }
    let log = lock(&s.state).logs.get(&(ns, name)).cloned().unwrap_or_default();
    ([(header::CONTENT_TYPE, "text/plain")], log).into_response()
}

// ---------------------------------------------------------------------------------------------
// Delete and garbage collection

async fn delete(
    State(s): State<Arc<Shared>>,
    Path((ns, resource, name)): Path<(String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    req: Request,
) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let Some(resource) = resource_name(&resource) else {
        return not_found_path(req).await;
    };
    if (resource == "jobs") != path.starts_with("/apis/batch/v1/") || method != Method::DELETE {
        return not_found_path(req).await;
    }
    if let Err(r) = admit(&s, "delete", resource, &ns, Some(&name), &path) {
        return *r;
    }
    let bytes = axum::body::to_bytes(req.into_body(), 1 << 20).await.unwrap_or_default();
    let opts: Value = if bytes.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => return bad_request(format!("DeleteOptions: {e}")),
        }
    };
    let policy = opts["propagationPolicy"]
        .as_str()
        .map(String::from)
        .or_else(|| q.get("propagationPolicy").cloned());
    let grace = opts["gracePeriodSeconds"]
        .as_i64()
        .or_else(|| q.get("gracePeriodSeconds").and_then(|g| g.parse().ok()));
    let policy = match policy.as_deref() {
        None => {
            if resource == "jobs" {
                "Orphan"
            } else {
                "Background"
            }
        }
        Some(p @ ("Background" | "Foreground" | "Orphan")) => p,
        Some(other) => {
            return invalid(
                "DeleteOptions",
                "",
                "",
                vec![(
                    "propagationPolicy".into(),
                    "Unsupported value",
                    format!("\"{other}\": supported values: \"Foreground\", \"Background\", \"Orphan\", \"nil\""),
                )],
            );
        }
    };
    let Some(object) = s.get(resource, &ns, &name) else {
        return not_found(resource, &name);
    };
    let uid = object["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let success = || {
        Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "group": group_of(resource), "kind": resource, "uid": uid},
        }))
        .into_response()
    };
    match resource {
        "pods" => {
            let grace = grace
                .or(object["spec"]["terminationGracePeriodSeconds"].as_i64())
                .unwrap_or(30);
            match delete_pod(&s, &ns, &name, grace) {
                Some(pod) => (StatusCode::ACCEPTED, Json(pod)).into_response(),
                None => success(),
            }
        }
        "secrets" => {
            s.remove_now("secrets", &ns, &name);
            success()
        }
        _ => {
            if object["metadata"].get("deletionTimestamp").is_some() {
                return (StatusCode::ACCEPTED, Json(object)).into_response();
            }
            match policy {
                "Background" => {
                    s.remove_now("jobs", &ns, &name);
                    collect_dependents(&s, &ns, &uid, false);
                    success()
                }
                finalizer_policy => {
                    let finalizer = if finalizer_policy == "Foreground" {
                        "foregroundDeletion"
                    } else {
                        "orphan"
                    };
                    let job = s.update("jobs", &ns, &name, |j| {
                        j["metadata"]["deletionTimestamp"] = json!(now());
                        j["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                        j["metadata"]["finalizers"] = json!([finalizer]);
                    });
                    let orphan = finalizer == "orphan";
                    let s2 = s.clone();
                    tokio::spawn(async move {
                        if orphan {
                            collect_dependents(&s2, &ns, &uid, true);
                        } else {
                            collect_dependents(&s2, &ns, &uid, false);
                            // Foreground: the owner goes once its blocking dependents are gone.
                            while owned_by(&s2, "pods", &ns, &uid) > 0 {
                                tokio::time::sleep(Duration::from_millis(10)).await;
                            }
                        }
                        s2.remove_now("jobs", &ns, &name);
                    });
                    (StatusCode::ACCEPTED, Json(job.unwrap_or(object))).into_response()
                }
            }
        }
    }
}

impl Shared {
    fn remove_now(&self, resource: &'static str, ns: &str, name: &str) -> Option<Value> {
        let mut st = lock(&self.state);
        self.remove(&mut st, resource, ns, name)
    }
}

fn owners(object: &Value) -> impl Iterator<Item = &str> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["uid"].as_str())
}

fn owned_by(s: &Shared, resource: &'static str, ns: &str, uid: &str) -> usize {
    lock(&s.state)
        .objects
        .iter()
        .filter(|((r, n, _), o)| *r == resource && n == ns && owners(o).any(|u| u == uid))
        .count()
}

/// The garbage collector for one owner: delete its pods (gracefully) and Secrets, or, for
/// Orphan, strip the owner's reference from them.
fn collect_dependents(s: &Arc<Shared>, ns: &str, uid: &str, orphan: bool) {
    let dependents: Vec<(&'static str, String, Value)> = lock(&s.state)
        .objects
        .iter()
        .filter(|((r, n, _), o)| (*r == "pods" || *r == "secrets") && n == ns && owners(o).any(|u| u == uid))
        .map(|((r, _, name), o)| (*r, name.clone(), o.clone()))
        .collect();
    for (resource, name, pod) in dependents {
        if orphan {
            s.update(resource, ns, &name, |o| {
                if let Some(refs) = o["metadata"]["ownerReferences"].as_array_mut() {
                    refs.retain(|r| r["uid"] != uid);
                }
            });
        } else if resource == "pods" {
            let grace = pod["spec"]["terminationGracePeriodSeconds"].as_i64().unwrap_or(30);
            delete_pod(s, ns, &name, grace);
        } else {
            s.remove_now(resource, ns, &name);
        }
    }
}

/// Graceful pod deletion: `Some(pod)` while it terminates (202), `None` when it went at once.
fn delete_pod(s: &Arc<Shared>, ns: &str, name: &str, grace: i64) -> Option<Value> {
    let pod = s.get("pods", ns, name)?;
    let finished = matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
    let unscheduled = pod["spec"]["nodeName"].as_str().is_none();
    if grace <= 0 || finished || unscheduled {
        s.remove_now("pods", ns, name);
        return None;
    }
    if pod["metadata"].get("deletionTimestamp").is_some() {
        return Some(pod);
    }
    let second = lock(&s.controls).second;
    let deadline = Utc::now() + chrono::Duration::seconds(grace);
    let pod = s.update("pods", ns, name, |p| {
        p["metadata"]["deletionTimestamp"] = json!(deadline.to_rfc3339_opts(SecondsFormat::Secs, true));
        p["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    });
    let pid = lock(&s.state)
        .processes
        .get(&(ns.to_string(), name.to_string()))
        .copied();
    let (s2, ns2, name2) = (s.clone(), ns.to_string(), name.to_string());
    tokio::spawn(async move {
        match pid {
            Some(pid) => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid as i32),
                    nix::sys::signal::Signal::SIGTERM,
                );
                // The hook's task finishes the pod when the process exits; SIGKILL at the deadline.
                let deadline = tokio::time::Instant::now() + second * grace as u32;
                let finished = |s: &Shared| {
                    s.get("pods", &ns2, &name2)
                        .is_none_or(|p| matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")))
                };
                while !finished(&s2) && tokio::time::Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                if !finished(&s2) {
                    let _ = nix::sys::signal::kill(
                        nix::unistd::Pid::from_raw(pid as i32),
                        nix::sys::signal::Signal::SIGKILL,
                    );
                    let killed_by = tokio::time::Instant::now() + Duration::from_secs(5);
                    while !finished(&s2) && tokio::time::Instant::now() < killed_by {
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                }
            }
            None => {
                // A container without a process stops promptly on SIGTERM.
                tokio::time::sleep(second.min(Duration::from_millis(50))).await;
                finish_pod(&s2, &ns2, &name2, 143, "Error", None);
            }
        }
        s2.remove_now("pods", &ns2, &name2);
    });
    pod
}

// ---------------------------------------------------------------------------------------------
// Job controller and kubelet simulation

/// Creates the Job's pod and follows it to the end, then updates the Job's status.
async fn run_job(s: Arc<Shared>, ns: String, job_name: String) {
    let Some(job) = s.get("jobs", &ns, &job_name) else {
        return;
    };
    let second = lock(&s.controls).second;
    if let Some(deadline) = job["spec"]["activeDeadlineSeconds"].as_u64() {
        let (s2, ns2, name2) = (s.clone(), ns.clone(), job_name.clone());
        tokio::spawn(async move {
            tokio::time::sleep(second * deadline as u32).await;
            fail_job(
                &s2,
                &ns2,
                &name2,
                "DeadlineExceeded",
                "Job was active longer than specified deadline",
            );
        });
    }
    let backoff_limit = job["spec"]["backoffLimit"].as_u64().unwrap_or(6);
    let mut failed = 0u64;
    loop {
        let Some(job) = s.get("jobs", &ns, &job_name) else {
            return;
        };
        if job["metadata"].get("deletionTimestamp").is_some() || job_finished(&job) {
            return;
        }
        let pod_name = format!("{job_name}-{}", random_suffix(5));
        let pod = new_pod(&job, &pod_name);
        {
            let mut st = lock(&s.state);
            s.put(&mut st, "pods", &ns, pod, "ADDED");
        }
        s.update("jobs", &ns, &job_name, |j| {
            if j["status"].get("startTime").is_none() {
                j["status"]["startTime"] = json!(now());
            }
            j["status"]["active"] = json!(1);
            j["status"]["ready"] = json!(0);
            j["status"]["terminating"] = json!(0);
            j["status"]["uncountedTerminatedPods"] = json!({});
        });
        let exit = run_pod(&s, &ns, &job_name, &pod_name).await;
        let Some(job) = s.get("jobs", &ns, &job_name) else {
            return;
        };
        if job_finished(&job) {
            return;
        }
        match exit {
            Some(0) => {
                s.update("jobs", &ns, &job_name, |j| {
                    let t = now();
                    j["status"]["active"] = json!(0);
                    j["status"]["ready"] = json!(0);
                    j["status"]["succeeded"] = json!(1);
                    j["status"]["completionTime"] = json!(t);
                    j["status"]["conditions"] = json!([
                        {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": t, "lastTransitionTime": t},
                        {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": t, "lastTransitionTime": t},
                    ]);
                });
                schedule_ttl(&s, &ns, &job_name);
                return;
            }
            Some(_) => {
                failed += 1;
                s.update("jobs", &ns, &job_name, |j| {
                    j["status"]["active"] = json!(0);
                    j["status"]["ready"] = json!(0);
                    j["status"]["failed"] = json!(failed);
                });
                if failed > backoff_limit {
                    fail_job(
                        &s,
                        &ns,
                        &job_name,
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                    );
                    return;
                }
            }
            // The pod went away without finishing (deleted): the Job is being deleted or the
            // deadline ended it.
            None => return,
        }
    }
}

fn job_finished(job: &Value) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| (c["type"] == "Complete" || c["type"] == "Failed") && c["status"] == "True")
    })
}

fn fail_job(s: &Arc<Shared>, ns: &str, name: &str, reason: &str, message: &str) {
    let Some(job) = s.get("jobs", ns, name) else { return };
    if job_finished(&job) {
        return;
    }
    let uid = job["metadata"]["uid"].as_str().unwrap_or_default().to_string();
    let active = lock(&s.state)
        .objects
        .iter()
        .filter(|((r, n, _), o)| {
            *r == "pods"
                && n == ns
                && owners(o).any(|u| u == uid)
                && !matches!(o["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        })
        .count();
    s.update("jobs", ns, name, |j| {
        let t = now();
        j["status"]["active"] = json!(0);
        j["status"]["ready"] = json!(0);
        if active > 0 {
            j["status"]["terminating"] = json!(active);
        }
        j["status"]["conditions"] = json!([
            {"type": "FailureTarget", "status": "True", "reason": reason, "message": message, "lastProbeTime": t, "lastTransitionTime": t},
            {"type": "Failed", "status": "True", "reason": reason, "message": message, "lastProbeTime": t, "lastTransitionTime": t},
        ]);
    });
    // The controller deletes the Job's active pods; finished ones stay until the Job goes.
    let pods: Vec<(String, i64)> = lock(&s.state)
        .objects
        .iter()
        .filter(|((r, n, _), o)| {
            *r == "pods"
                && n == ns
                && owners(o).any(|u| u == uid)
                && !matches!(o["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
        })
        .map(|((_, _, pn), o)| {
            (
                pn.clone(),
                o["spec"]["terminationGracePeriodSeconds"].as_i64().unwrap_or(30),
            )
        })
        .collect();
    for (pod, grace) in pods {
        delete_pod(s, ns, &pod, grace);
    }
    schedule_ttl(s, ns, name);
}

fn schedule_ttl(s: &Arc<Shared>, ns: &str, name: &str) {
    let Some(job) = s.get("jobs", ns, name) else { return };
    let Some(ttl) = job["spec"]["ttlSecondsAfterFinished"].as_u64() else {
        return;
    };
    let second = lock(&s.controls).second;
    let (s2, ns2, name2) = (s.clone(), ns.to_string(), name.to_string());
    tokio::spawn(async move {
        tokio::time::sleep(second * ttl as u32).await;
        // The TTL controller deletes with Foreground propagation.
        let Some(job) = s2.get("jobs", &ns2, &name2) else {
            return;
        };
        let uid = job["metadata"]["uid"].as_str().unwrap_or_default().to_string();
        s2.update("jobs", &ns2, &name2, |j| {
            j["metadata"]["deletionTimestamp"] = json!(now());
            j["metadata"]["finalizers"] = json!(["foregroundDeletion"]);
        });
        collect_dependents(&s2, &ns2, &uid, false);
        while owned_by(&s2, "pods", &ns2, &uid) > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        s2.remove_now("jobs", &ns2, &name2);
    });
}

fn new_pod(job: &Value, name: &str) -> Value {
    let template = &job["spec"]["template"];
    let mut spec = template["spec"].clone();
    if spec.get("terminationGracePeriodSeconds").is_none() {
        spec["terminationGracePeriodSeconds"] = json!(30);
    }
    let mut metadata = template["metadata"].clone();
    if !metadata.is_object() {
        metadata = json!({});
    }
    metadata["name"] = json!(name);
    metadata["generateName"] = json!(format!("{}-", job["metadata"]["name"].as_str().unwrap_or_default()));
    metadata["namespace"] = job["metadata"]["namespace"].clone();
    metadata["uid"] = json!(uuid::Uuid::now_v7().to_string());
    metadata["creationTimestamp"] = json!(now());
    metadata["ownerReferences"] = json!([{
        "apiVersion": "batch/v1", "kind": "Job",
        "name": job["metadata"]["name"], "uid": job["metadata"]["uid"],
        "controller": true, "blockOwnerDeletion": true,
    }]);
    metadata["finalizers"] = json!(["batch.kubernetes.io/job-tracking"]);
    json!({
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec,
        "status": {"phase": "Pending", "qosClass": "Burstable"},
    })
}

fn container_name(pod: &Value) -> String {
    pod["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or("main")
        .to_string()
}

fn image_of(pod: &Value) -> String {
    pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn waiting(pod: &mut Value, reason: &str, message: Option<String>) {
    let mut state = json!({"reason": reason});
    if let Some(m) = message {
        state["message"] = json!(m);
    }
    pod["status"]["containerStatuses"] = json!([{
        "name": container_name(pod), "image": image_of(pod), "imageID": "",
        "ready": false, "restartCount": 0, "started": false,
        "state": {"waiting": state}, "lastState": {},
    }]);
}

/// Marks the pod finished with the container's exit code (phase from the code).
fn finish_pod(s: &Arc<Shared>, ns: &str, name: &str, code: i32, reason: &str, message: Option<String>) {
    s.update("pods", ns, name, |p| {
        if matches!(p["status"]["phase"].as_str(), Some("Succeeded" | "Failed")) {
            return;
        }
        let t = now();
        let started = p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"].clone();
        let mut terminated = json!({"exitCode": code, "reason": reason, "startedAt": started, "finishedAt": t, "containerID": "containerd://fake"});
        if let Some(m) = &message {
            terminated["message"] = json!(m);
        }
        p["status"]["phase"] = json!(if code == 0 { "Succeeded" } else { "Failed" });
        p["status"]["containerStatuses"] = json!([{
            "name": container_name(p), "image": image_of(p), "imageID": format!("{}@sha256:0", image_of(p)),
            "ready": false, "restartCount": 0, "started": false,
            "state": {"terminated": terminated}, "lastState": {},
        }]);
        set_condition(p, "Ready", "False", Some("PodCompleted"), None);
        set_condition(p, "ContainersReady", "False", Some("PodCompleted"), None);
        strip_tracking_finalizer(p);
    });
}

fn strip_tracking_finalizer(p: &mut Value) {
    if let Some(f) = p["metadata"]["finalizers"].as_array_mut() {
        f.retain(|f| f != "batch.kubernetes.io/job-tracking");
    }
}

fn set_condition(p: &mut Value, kind: &str, status: &str, reason: Option<&str>, message: Option<&str>) {
    if !p["status"]["conditions"].is_array() {
        p["status"]["conditions"] = json!([]);
    }
    let mut c = json!({"type": kind, "status": status, "lastProbeTime": null, "lastTransitionTime": now()});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    let conditions = p["status"]["conditions"].as_array_mut().unwrap();
    conditions.retain(|x| x["type"] != kind);
    conditions.push(c);
}

fn scenario_for(s: &Shared, job: &str) -> Scenario {
    let c = lock(&s.controls);
    c.scenarios
        .get(job)
        .cloned()
        .unwrap_or_else(|| c.default_scenario.clone())
}

fn gone_or_deleting(s: &Shared, ns: &str, pod: &str) -> bool {
    s.get("pods", ns, pod)
        .is_none_or(|p| p["metadata"].get("deletionTimestamp").is_some())
}

/// Resolves the container's env: plain values and `secretKeyRef`s from stored Secrets.
/// `Err` is the kubelet's CreateContainerConfigError message.
fn resolve_env(s: &Shared, ns: &str, pod: &Value) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for e in pod["spec"]["containers"][0]["env"].as_array().into_iter().flatten() {
        let name = e["name"].as_str().unwrap_or_default().to_string();
        if let Some(v) = e["value"].as_str() {
            out.push((name, v.to_string()));
        } else if let Some(r) = e["valueFrom"].get("secretKeyRef") {
            let secret = r["name"].as_str().unwrap_or_default();
            let key = r["key"].as_str().unwrap_or_default();
            let optional = r["optional"].as_bool().unwrap_or(false);
            match s.get("secrets", ns, secret) {
                None if optional => {}
                None => return Err(format!("secret \"{secret}\" not found")),
                Some(obj) => match obj["data"][key].as_str() {
                    Some(b64) => {
                        let bytes = base64::engine::general_purpose::STANDARD
                            .decode(b64)
                            .unwrap_or_default();
                        out.push((name, String::from_utf8_lossy(&bytes).into_owned()));
                    }
                    None if optional => {}
                    None => return Err(format!("couldn't find key {key} in Secret {ns}/{secret}")),
                },
            }
        } else {
            out.push((name, String::new()));
        }
    }
    Ok(out)
}

/// The kubelet for one pod: returns the container's exit code, or `None` when the pod was
/// deleted (or never started) before it finished.
async fn run_pod(s: &Arc<Shared>, ns: &str, job: &str, pod: &str) -> Option<i32> {
    let (schedule_delay, start_delay, run_for, fault_after, hook) = {
        let c = lock(&s.controls);
        (
            c.schedule_delay,
            c.start_delay,
            c.run_for,
            c.fault_after,
            c.hook.clone(),
        )
    };
    let scenario = scenario_for(s, job);
    tokio::time::sleep(schedule_delay).await;
    if gone_or_deleting(s, ns, pod) {
        return None;
    }
    if let Scenario::Unschedulable(message) = &scenario {
        s.update("pods", ns, pod, |p| {
            set_condition(p, "PodScheduled", "False", Some("Unschedulable"), Some(message))
        });
        // Stays Pending until deleted.
        while s.get("pods", ns, pod).is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        return None;
    }
    s.update("pods", ns, pod, |p| {
        p["spec"]["nodeName"] = json!("kube-fake-node");
        p["status"]["hostIP"] = json!("10.0.0.1");
        p["status"]["podIP"] = json!("10.244.0.10");
        p["status"]["startTime"] = json!(now());
        set_condition(p, "PodScheduled", "True", None, None);
        waiting(p, "ContainerCreating", None);
    });
    tokio::time::sleep(start_delay).await;
    if gone_or_deleting(s, ns, pod) {
        return None;
    }
    if scenario == Scenario::ImagePullFailure {
        let image = s.get("pods", ns, pod).map(|p| image_of(&p)).unwrap_or_default();
        s.update("pods", ns, pod, |p| {
            waiting(
                p,
                "ErrImagePull",
                Some(format!(
                    "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": not found"
                )),
            )
        });
        tokio::time::sleep(fault_after).await;
        s.update("pods", ns, pod, |p| {
            waiting(
                p,
                "ImagePullBackOff",
                Some(format!("Back-off pulling image \"{image}\"")),
            )
        });
        while s.get("pods", ns, pod).is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        return None;
    }
    let snapshot = s.get("pods", ns, pod)?;
    // The kubelet retries a container it could not configure on every pod sync: a Secret
    // created a moment after its pod (the usual order for an owned Secret) lets it start.
    let mut reported = false;
    let env = loop {
        match resolve_env(s, ns, &snapshot) {
            Ok(env) => break env,
            Err(message) => {
                if !reported {
                    s.update("pods", ns, pod, |p| {
                        waiting(p, "CreateContainerConfigError", Some(message.clone()))
                    });
                    reported = true;
                }
                if s.get("pods", ns, pod)
                    .is_none_or(|p| p["metadata"].get("deletionTimestamp").is_some())
                {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    s.update("pods", ns, pod, |p| {
        p["status"]["phase"] = json!("Running");
        p["status"]["containerStatuses"] = json!([{
            "name": container_name(p), "image": image_of(p), "imageID": format!("{}@sha256:0", image_of(p)),
            "ready": true, "restartCount": 0, "started": true, "containerID": "containerd://fake",
            "state": {"running": {"startedAt": now()}}, "lastState": {},
        }]);
        set_condition(p, "Initialized", "True", None, None);
        set_condition(p, "ContainersReady", "True", None, None);
        set_condition(p, "Ready", "True", None, None);
    });
    s.update("jobs", ns, job, |j| j["status"]["ready"] = json!(1));
    match scenario {
        Scenario::OomKilled => {
            tokio::time::sleep(fault_after).await;
            if gone_or_deleting(s, ns, pod) {
                return None;
            }
            finish_pod(s, ns, pod, 137, "OOMKilled", None);
            Some(137)
        }
        Scenario::Evicted => {
            tokio::time::sleep(fault_after).await;
            if gone_or_deleting(s, ns, pod) {
                return None;
            }
            finish_pod(s, ns, pod, 137, "Error", None);
            s.update("pods", ns, pod, |p| {
                p["status"]["reason"] = json!("Evicted");
                p["status"]["message"] = json!("The node was low on resource: memory. Threshold quantity: 100Mi, available: 50Mi. Container bot was using 900Mi, request is 512Mi, has larger consumption of memory.");
                set_condition(p, "DisruptionTarget", "True", Some("TerminationByKubelet"), Some("The node was low on resource: memory."));
            });
            Some(137)
        }
        Scenario::NodeLost => {
            tokio::time::sleep(fault_after).await;
            if gone_or_deleting(s, ns, pod) {
                return None;
            }
            s.update("pods", ns, pod, |p| {
                set_condition(
                    p,
                    "Ready",
                    "False",
                    Some("NodeStatusUnknown"),
                    Some("Kubelet stopped posting node status."),
                );
                set_condition(
                    p,
                    "DisruptionTarget",
                    "True",
                    Some("DeletionByTaintManager"),
                    Some("Taint manager: deleting due to NoExecute taint"),
                );
            });
            // The pod garbage collector marks the orphaned pod Failed and deletes it.
            finish_pod(s, ns, pod, 137, "Error", None);
            s.update("pods", ns, pod, |p| {
                p["status"]["reason"] = json!("NodeLost");
                p["status"]["message"] = json!("Node kube-fake-node which was running pod is unresponsive");
            });
            Some(137)
        }
        _ => match hook {
            Some(cmd) if !cmd.is_empty() => run_hook(s, ns, pod, &cmd, env).await,
            _ => {
                let step = Duration::from_millis(10);
                let mut waited = Duration::ZERO;
                while waited < run_for {
                    tokio::time::sleep(step).await;
                    waited += step;
                    if s.get("pods", ns, pod)
                        .is_none_or(|p| p["metadata"].get("deletionTimestamp").is_some())
                    {
                        // Deleted while running: delete_pod finishes it after SIGTERM.
                        return None;
                    }
                }
                finish_pod(s, ns, pod, 0, "Completed", None);
                Some(0)
            }
        },
    }
}

/// Runs the hook as the container; its exit code ends the pod.
async fn run_hook(s: &Arc<Shared>, ns: &str, pod: &str, cmd: &[String], env: Vec<(String, String)>) -> Option<i32> {
    use tokio::io::AsyncReadExt;
    let mut command = tokio::process::Command::new(&cmd[0]);
    command
        .args(&cmd[1..])
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOME", std::env::var("HOME").unwrap_or_default())
        .env("KUBE_FAKE_POD", pod)
        .envs(env)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            finish_pod(
                s,
                ns,
                pod,
                128,
                "StartError",
                Some(format!("failed to start {}: {e}", cmd[0])),
            );
            return Some(128);
        }
    };
    if let Some(pid) = child.id() {
        lock(&s.state).processes.insert((ns.to_string(), pod.to_string()), pid);
    }
    let (mut out, mut err) = (child.stdout.take(), child.stderr.take());
    let read = async {
        let mut buf = Vec::new();
        let mut ebuf = Vec::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_end(&mut buf).await;
        }
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_end(&mut ebuf).await;
        }
        buf.extend(ebuf);
        buf
    };
    let (status, log) = tokio::join!(child.wait(), read);
    lock(&s.state).logs.insert(
        (ns.to_string(), pod.to_string()),
        String::from_utf8_lossy(&log).into_owned(),
    );
    let code = match status {
        Ok(st) => st.code().unwrap_or_else(|| {
            use std::os::unix::process::ExitStatusExt;
            128 + st.signal().unwrap_or(9)
        }),
        Err(_) => 128,
    };
    finish_pod(s, ns, pod, code, if code == 0 { "Completed" } else { "Error" }, None);
    let deleting = s
        .get("pods", ns, pod)
        .is_none_or(|p| p["metadata"].get("deletionTimestamp").is_some());
    if deleting {
        // Deleted while running: the pod goes away (delete_pod removes it); the Job does not count it.
        return None;
    }
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labelled(labels: Value) -> Value {
        json!({"metadata": {"labels": labels}})
    }

    #[test]
    fn label_selectors_follow_the_apimachinery_grammar() {
        let o = labelled(json!({"app": "meeboter", "tier": "bot"}));
        let ok = |s: &str| matches(&parse_selector(s).unwrap(), &o);
        assert!(ok(""));
        assert!(ok("app=meeboter"));
        assert!(ok("app==meeboter,tier"));
        assert!(ok("tier in (bot, server),!missing"));
        assert!(ok("app notin (other)"));
        assert!(!ok("app!=meeboter"));
        assert!(!ok("tier notin (bot)"));
        assert!(!ok("missing"));
        assert!(parse_selector("app in bot").is_err());
        assert!(parse_selector("a b c").is_err());
    }

    #[test]
    fn one_invalid_field_has_no_brackets_several_do() {
        let one = validate_job(&json!({
            "metadata": {"name": "j"},
            "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}}},
        }));
        assert!(one.is_empty());
        let several = validate_job(&json!({"metadata": {"name": "J_"}, "spec": {"activeDeadlineSeconds": 0}}));
        let fields: Vec<&str> = several.iter().map(|(f, _, _)| f.as_str()).collect();
        assert_eq!(
            fields,
            [
                "metadata.name",
                "spec.template.spec.restartPolicy",
                "spec.template.spec.containers",
                "spec.activeDeadlineSeconds"
            ]
        );
    }

    #[test]
    fn generated_suffixes_use_the_apiservers_alphabet() {
        for _ in 0..100 {
            let s = random_suffix(5);
            assert_eq!(s.len(), 5);
            assert!(s.chars().all(|c| "bcdfghjklmnpqrstvwxz2456789".contains(c)));
        }
    }
}

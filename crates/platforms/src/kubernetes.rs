//! Kubernetes: one `batch/v1` Job per bot attempt, observed through a watch.
//!
//! - Deploy creates the Job (named from the bot id and attempt, so a retried create meets its
//!   own Job: 409 AlreadyExists → adopt it), then the bot's token `Secret` with an
//!   ownerReference to the Job (the garbage collector deletes it with the Job); the container
//!   reads the token through `secretKeyRef`, the other seed variables are plain env.
//! - The Job never retries (`backoffLimit: 0`, `restartPolicy: Never`): retries belong to the
//!   server's queue, which knows the bot's state. `activeDeadlineSeconds` is the bot's longest
//!   allowed run plus a margin, `ttlSecondsAfterFinished` cleans up what a stop missed.
//! - Observation is a label-selected watch of this installation's Jobs and Pods (kube-runtime's
//!   `watcher`, which relists after `410 Gone` or a dropped stream), mirrored in memory; the
//!   reconciler reads the mirror, so observing a hundred bots costs no API request. Only the
//!   replica holding the server's watch lease runs it ([`Platform::set_watching`]).
//! - Stop deletes the Job with `propagationPolicy: Background` and the pod's grace period (the
//!   bot gets SIGTERM and uploads its recording) and the Secret; the orphan sweep lists this
//!   installation's Jobs and Secrets by label.
//!
//! Every API call has a timeout and bounded retries with exponential backoff and jitter;
//! throttling (429) and `ResourceQuota` refusals are [`PlatformError::Full`]: the bot waits in the
//! queue without spending a deploy attempt, and never fails for it.

use crate::{BotLaunch, Instance, InstanceState, Launched, LogSink, Platform, PlatformError};
use async_trait::async_trait;
use futures::StreamExt;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{Pod, Secret};
use kube::api::{Api, DeleteParams, ListParams, LogParams, PostParams, PropagationPolicy};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PLATFORM: &str = "kubernetes";
/// Labels on every Job, pod and Secret this installation creates.
pub const LABEL_BOT: &str = "meeboter.io/bot-id";
pub const LABEL_ATTEMPT: &str = "meeboter.io/attempt";
pub const LABEL_INSTALLATION: &str = "meeboter.io/installation";
/// The label the job controller puts on a Job's pods.
const LABEL_JOB_NAME: &str = "batch.kubernetes.io/job-name";
/// The container that runs the bot (a pod template may add sidecars beside it).
pub const CONTAINER: &str = "bot";
/// The key of the bot token in its Secret.
const TOKEN_KEY: &str = "token";
/// The seed variable carried by the Secret instead of plain env.
const TOKEN_ENV: &str = "MILO_AUTH_TOKEN";
/// Pod grace period: a stopping bot flushes its recording for up to 50 s.
pub const STOP_GRACE_SECS: u32 = 60;
/// Added to the bot's longest run for `activeDeadlineSeconds`: scheduling, image pull, joining
/// and the final upload happen outside the meeting's duration.
pub const DEADLINE_MARGIN_SECS: u32 = 900;
/// Attempts per API call (the first included).
const MAX_TRIES: u32 = 4;

/// The settings of the Kubernetes platform (the deployment guide's names in brackets).
#[derive(Debug, Clone, PartialEq)]
pub struct KubernetesSettings {
    /// `KUBERNETES_BOT_NAMESPACE`
    pub namespace: String,
    /// `KUBERNETES_API_URL`: talk to this API server directly (tests, `kubectl proxy`);
    /// unset = in-cluster config or the kubeconfig.
    pub api_url: Option<String>,
    /// `KUBERNETES_CONTEXT`: kubeconfig context (default: the current one).
    pub context: Option<String>,
    /// Image with tag per `MEETING_PLATFORM` value, and for the rest.
    pub images: BTreeMap<String, String>,
    pub default_image: String,
    /// `KUBERNETES_BOT_CPU_REQUEST`, `_CPU_LIMIT`, `_MEMORY_REQUEST`, `_MEMORY_LIMIT`, `_SHM`
    /// (Kubernetes quantities).
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    pub shm_size: String,
    /// `KUBERNETES_JOB_TTL_SECS`: `ttlSecondsAfterFinished`.
    pub job_ttl_secs: u32,
    /// `KUBERNETES_IMAGE_PULL_GRACE_SECS`: how long a pod may fail to pull its image before
    /// the bot fails (registries have hiccups; a wrong image name never heals).
    pub image_pull_grace: Duration,
    /// `KUBERNETES_POD_TEMPLATE`, loaded and checked by [`load_pod_template`]: merged into
    /// the generated pod template.
    pub pod_template: Option<Value>,
    /// `KUBERNETES_REQUEST_TIMEOUT_SECS`: timeout of one API call attempt.
    pub request_timeout: Duration,
}

impl KubernetesSettings {
    /// The image for a `MEETING_PLATFORM` value.
    pub fn image_for(&self, meeting_platform: &str) -> &str {
        self.images.get(meeting_platform).unwrap_or(&self.default_image)
    }
}

/// Reads and checks a `KUBERNETES_POD_TEMPLATE` file (YAML or JSON): a pod template fragment
/// with `metadata` (labels, annotations) and/or `spec` (node selectors, tolerations, priority
/// class, image pull secrets, volumes, a `bot` container's extra mounts, sidecars). The error
/// names the file and the problem, for `config check` and a refused start.
pub fn load_pod_template(path: &str) -> Result<Value, String> {
    let text =
        std::fs::read_to_string(path).map_err(|e| format!("KUBERNETES_POD_TEMPLATE {path}: cannot read it: {e}"))?;
    let value: Value = serde_saphyr::from_str(&text)
        .map_err(|e| format!("KUBERNETES_POD_TEMPLATE {path}: not valid YAML or JSON: {e}"))?;
    check_pod_template(&value).map_err(|e| format!("KUBERNETES_POD_TEMPLATE {path}: {e}"))?;
    Ok(value)
}

/// What a pod template may contain, and that the merged pod spec is a valid `PodTemplateSpec`.
pub fn check_pod_template(template: &Value) -> Result<(), String> {
    let obj = template
        .as_object()
        .ok_or("must be a mapping with `metadata` and/or `spec`")?;
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "metadata" | "spec")) {
        return Err(format!(
            "unexpected top-level key `{k}` (a pod template has only `metadata` and `spec`)"
        ));
    }
    if let Some(spec) = obj.get("spec") {
        let spec = spec.as_object().ok_or("`spec` must be a mapping")?;
        if let Some(policy) = spec.get("restartPolicy")
            && policy != "Never"
        {
            return Err(format!(
                "spec.restartPolicy must stay Never (got {policy}): the server retries bots, not the kubelet"
            ));
        }
        if let Some(containers) = spec.get("containers") {
            let list = containers.as_array().ok_or("spec.containers must be a list")?;
            for c in list {
                if c.get("name").and_then(Value::as_str).is_none() {
                    return Err(
                        "every entry of spec.containers needs a `name` (`bot` to extend the bot's container)".into(),
                    );
                }
            }
        }
    }
    if let Some(meta) = obj.get("metadata")
        && !meta.is_object()
    {
        return Err("`metadata` must be a mapping".into());
    }
    let sample = KubernetesSettings {
        namespace: "check".into(),
        api_url: None,
        context: None,
        images: BTreeMap::new(),
        default_image: "check:latest".into(),
        cpu_request: "500m".into(),
        cpu_limit: "1".into(),
        memory_request: "768Mi".into(),
        memory_limit: "1536Mi".into(),
        shm_size: "512Mi".into(),
        job_ttl_secs: 300,
        image_pull_grace: Duration::from_secs(60),
        pod_template: Some(template.clone()),
        request_timeout: Duration::from_secs(10),
    };
    let launch = BotLaunch {
        bot_id: "check".into(),
        attempt: 1,
        env: BTreeMap::new(),
        max_duration_secs: 3600,
    };
    serde_json::from_value::<Job>(job_manifest(&sample, "inst", &launch))
        .map_err(|e| format!("the merged pod template is not a valid pod spec: {e}"))?;
    Ok(())
}

/// A label value from arbitrary text: at most 63 of `[A-Za-z0-9._-]`, alphanumeric at both ends.
fn label_value(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(63)
        .collect();
    cleaned.trim_matches(|c: char| !c.is_ascii_alphanumeric()).to_string()
}

/// The Job's name for a bot attempt: deterministic, a DNS label of at most 63 characters.
pub fn job_name(bot_id: &str, attempt: u32) -> String {
    let mut id: String = bot_id
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let suffix = format!("-a{attempt}");
    let budget = 63 - "mbot-".len() - suffix.len();
    if id.len() > budget {
        // Keep it unique: a prefix plus a digest of the whole id.
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bot_id.hash(&mut h);
        let digest = format!("{:08x}", h.finish() as u32);
        id = format!("{}-{digest}", &id[..budget - 9]);
    }
    format!("mbot-{}{suffix}", id.trim_matches('-'))
}

fn secret_name(job: &str) -> String {
    format!("{job}-token")
}

/// Merges `overlay` into `base`: mappings key by key, the `bot` container (and any other
/// container) by name, other lists appended; scalars from the overlay win.
fn merge(base: &mut Value, overlay: &Value) {
    match (base, overlay) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                if k == "containers"
                    && let (Some(Value::Array(mine)), Value::Array(theirs)) = (b.get_mut(k), v)
                {
                    for c in theirs {
                        match mine.iter_mut().find(|m| m.get("name") == c.get("name")) {
                            Some(m) => merge(m, c),
                            None => mine.push(c.clone()),
                        }
                    }
                    continue;
                }
                match b.get_mut(k) {
                    Some(existing) => merge(existing, v),
                    None => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(b), Value::Array(o)) => b.extend(o.iter().cloned()),
        (b, o) => *b = o.clone(),
    }
}

/// The Job for one bot attempt (the operator's pod template merged under what the platform
/// must control: labels, env, restart policy, the token's `secretKeyRef`).
pub fn job_manifest(settings: &KubernetesSettings, installation: &str, launch: &BotLaunch) -> Value {
    let name = job_name(&launch.bot_id, launch.attempt);
    let labels = json!({
        LABEL_BOT: label_value(&launch.bot_id),
        LABEL_ATTEMPT: launch.attempt.to_string(),
        LABEL_INSTALLATION: label_value(installation),
        "app.kubernetes.io/name": "meeboter-bot",
        "app.kubernetes.io/managed-by": "meeboter",
    });
    let annotations = json!({
        "cluster-autoscaler.kubernetes.io/safe-to-evict": "false",
        "karpenter.sh/do-not-disrupt": "true",
        "meeboter.io/bot-id": launch.bot_id,
    });
    let mut env: Vec<Value> = launch
        .env
        .iter()
        .filter(|(k, _)| k.as_str() != TOKEN_ENV)
        .map(|(k, v)| json!({"name": k, "value": v}))
        .collect();
    env.push(json!({"name": TOKEN_ENV, "valueFrom": {"secretKeyRef": {"name": secret_name(&name), "key": TOKEN_KEY}}}));
    let meeting_platform = launch.env.get("MEETING_PLATFORM").map(String::as_str).unwrap_or("");
    let mut pod = json!({
        "metadata": {"labels": labels.clone(), "annotations": annotations.clone()},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": false,
            "terminationGracePeriodSeconds": STOP_GRACE_SECS,
            "securityContext": {"runAsNonRoot": true, "runAsUser": 1000, "runAsGroup": 1000, "fsGroup": 1000,
                                "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": CONTAINER,
                "image": settings.image_for(meeting_platform),
                "env": [],
                "resources": {
                    "requests": {"cpu": settings.cpu_request, "memory": settings.memory_request},
                    "limits": {"cpu": settings.cpu_limit, "memory": settings.memory_limit},
                },
                "securityContext": {"allowPrivilegeEscalation": false, "capabilities": {"drop": ["ALL"]}},
                "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
            }],
            "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": settings.shm_size}}],
        }
    });
    if let Some(template) = &settings.pod_template {
        merge(&mut pod, template);
    }
    // What the platform relies on wins over the template.
    pod["spec"]["restartPolicy"] = json!("Never");
    merge(&mut pod["metadata"]["labels"], &labels);
    merge(&mut pod["metadata"]["annotations"], &annotations);
    if let Some(containers) = pod["spec"]["containers"].as_array_mut()
        && let Some(bot) = containers.iter_mut().find(|c| c["name"] == CONTAINER)
    {
        let mut all: Vec<Value> = bot["env"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|e| !launch.env.contains_key(e["name"].as_str().unwrap_or("")) && e["name"] != TOKEN_ENV)
            .collect();
        all.extend(env);
        bot["env"] = Value::Array(all);
    }
    json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name, "labels": labels, "annotations": annotations},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": settings.job_ttl_secs,
            "activeDeadlineSeconds": launch.max_duration_secs.saturating_add(DEADLINE_MARGIN_SECS),
            "template": pod,
        }
    })
}

/// One failed API call.
enum Failure {
    Api(Box<kube::core::Status>),
    Other(String),
}

impl Failure {
    fn code(&self) -> u16 {
        match self {
            Failure::Api(s) => s.code,
            Failure::Other(_) => 0,
        }
    }
}

/// An API failure as the server's deployment layer sees it.
fn classify(what: &str, failure: Failure) -> PlatformError {
    match failure {
        Failure::Api(s) => {
            let msg = format!("Kubernetes {what}: {} ({} {})", s.message, s.code, s.reason);
            let quota = s.message.contains("exceeded quota");
            match s.code {
                // ResourceQuota full or throttled (after our own retries): like no capacity,
                // the bot waits in the queue.
                403 if quota => PlatformError::Full(msg),
                429 => PlatformError::Full(msg),
                401 | 403 => PlatformError::Permanent(format!(
                    "{msg} — the server's ServiceAccount needs the Role in deploy/kubernetes/rbac.yaml in KUBERNETES_BOT_NAMESPACE"
                )),
                404 if s.reason == "NotFound" && s.message.contains("namespaces") => {
                    PlatformError::Permanent(format!("{msg} (check KUBERNETES_BOT_NAMESPACE)"))
                }
                422 | 400 => {
                    PlatformError::Permanent(format!("{msg} (check KUBERNETES_POD_TEMPLATE and the bot resources)"))
                }
                _ => PlatformError::Transient(msg),
            }
        }
        Failure::Other(e) => PlatformError::Transient(format!("Kubernetes {what}: {e}")),
    }
}

/// Whether a failed call is worth repeating at once (throttling, server errors, no answer).
fn retryable(f: &Failure) -> bool {
    matches!(f.code(), 0 | 429 | 500..=599)
}

fn backoff(try_no: u32) -> Duration {
    use rand::Rng;
    let base = 200u64 << try_no.min(5);
    Duration::from_millis(base / 2 + rand::rng().random_range(0..=base))
}

/// A watched collection mirrored in memory. A restarted watch (410 Gone, dropped stream)
/// relists into a buffer that replaces the mirror when complete, so objects deleted while
/// the watch was down disappear and nothing is seen twice.
struct Mirror<K> {
    live: HashMap<String, K>,
    buffer: Option<HashMap<String, K>>,
    ready: bool,
}

impl<K: kube::Resource> Mirror<K> {
    fn new() -> Self {
        Self {
            live: HashMap::new(),
            buffer: None,
            ready: false,
        }
    }

    fn apply(&mut self, event: watcher::Event<K>) {
        let name = |o: &K| o.meta().name.clone().unwrap_or_default();
        match event {
            watcher::Event::Apply(o) => {
                self.live.insert(name(&o), o);
            }
            watcher::Event::Delete(o) => {
                self.live.remove(&name(&o));
            }
            watcher::Event::Init => self.buffer = Some(HashMap::new()),
            watcher::Event::InitApply(o) => {
                self.buffer.get_or_insert_with(HashMap::new).insert(name(&o), o);
            }
            watcher::Event::InitDone => {
                self.live = self.buffer.take().unwrap_or_default();
                self.ready = true;
            }
        }
    }
}

#[derive(Default)]
struct Watching {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// Counters for benchmarks and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WatchStats {
    /// Watch events applied (initial lists included).
    pub events: u64,
    /// Times a watch (re)started with a full list.
    pub relists: u64,
}

struct Shared {
    jobs: Mutex<Mirror<Job>>,
    pods: Mutex<Mirror<Pod>>,
    stats: Mutex<WatchStats>,
}

/// The Kubernetes platform.
pub struct KubernetesPlatform {
    client: kube::Client,
    settings: KubernetesSettings,
    installation: String,
    shared: Arc<Shared>,
    watching: Mutex<Watching>,
    /// When each pod was first seen failing to pull its image.
    pull_failing: Mutex<HashMap<String, Instant>>,
    /// Pods whose last log lines were already sent to the log sink.
    logs_sent: Mutex<std::collections::HashSet<String>>,
    sink: Option<LogSink>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl KubernetesPlatform {
    /// Builds the client: `KUBERNETES_API_URL`, else in-cluster config, else the kubeconfig
    /// (`KUBECONFIG`, context `KUBERNETES_CONTEXT`).
    pub async fn connect(
        settings: KubernetesSettings,
        installation: &str,
        sink: Option<LogSink>,
    ) -> Result<Self, String> {
        let mut config = match (&settings.api_url, &settings.context) {
            (Some(url), _) => {
                let uri: http::Uri = url
                    .parse()
                    .map_err(|e| format!("KUBERNETES_API_URL `{url}` is not a URL: {e}"))?;
                kube::Config::new(uri)
            }
            (None, Some(context)) => kube::Config::from_kubeconfig(&kube::config::KubeConfigOptions {
                context: Some(context.clone()),
                ..Default::default()
            })
            .await
            .map_err(|e| format!("KUBERNETES_CONTEXT {context}: cannot load the kubeconfig: {e}"))?,
            (None, None) => kube::Config::infer().await.map_err(|e| {
                format!("no Kubernetes configuration: not in a cluster and no usable kubeconfig ({e}); set KUBERNETES_API_URL or KUBECONFIG")
            })?,
        };
        config.connect_timeout = Some(Duration::from_secs(5));
        // Both ring and aws-lc-rs are linked (the AWS SDK brings the latter): pick one for
        // the process, or rustls refuses to guess. An already installed provider stays.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = kube::Client::try_from(config).map_err(|e| format!("Kubernetes client: {e}"))?;
        Ok(Self {
            client,
            settings,
            installation: installation.to_string(),
            shared: Arc::new(Shared {
                jobs: Mutex::new(Mirror::new()),
                pods: Mutex::new(Mirror::new()),
                stats: Mutex::new(WatchStats::default()),
            }),
            watching: Mutex::new(Watching::default()),
            pull_failing: Mutex::new(HashMap::new()),
            logs_sent: Mutex::new(Default::default()),
            sink,
        })
    }

    fn jobs(&self) -> Api<Job> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }
    fn pods(&self) -> Api<Pod> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }
    fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.settings.namespace)
    }

    fn selector(&self) -> String {
        format!("{LABEL_INSTALLATION}={}", label_value(&self.installation))
    }

    /// Watch counters so far.
    pub fn watch_stats(&self) -> WatchStats {
        *lock(&self.shared.stats)
    }

    /// One API call with a timeout per attempt and bounded retries (backoff with jitter).
    async fn call<T, F, Fut>(&self, f: F) -> Result<T, Failure>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, kube::Error>>,
    {
        let mut try_no = 1;
        loop {
            let failure = match tokio::time::timeout(self.settings.request_timeout, f()).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(kube::Error::Api(s))) => Failure::Api(s),
                Ok(Err(e)) => Failure::Other(e.to_string()),
                Err(_) => Failure::Other(format!(
                    "no answer within {} s",
                    self.settings.request_timeout.as_secs_f32()
                )),
            };
            if try_no >= MAX_TRIES || !retryable(&failure) {
                return Err(failure);
            }
            tokio::time::sleep(backoff(try_no)).await;
            try_no += 1;
        }
    }

    /// Creates the bot's token Secret owned by the Job; an existing one owned by this Job is
    /// kept, one left from an earlier Job of the same name is replaced.
    async fn ensure_secret(&self, job: &Job, launch: &BotLaunch) -> Result<(), PlatformError> {
        let job_name = job.metadata.name.clone().unwrap_or_default();
        let uid = job.metadata.uid.clone().unwrap_or_default();
        let name = secret_name(&job_name);
        let secret: Secret = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {
                "name": name,
                "labels": job.metadata.labels,
                "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": job_name, "uid": uid,
                                     "controller": true, "blockOwnerDeletion": true}],
            },
            "type": "Opaque",
            "stringData": {TOKEN_KEY: launch.env.get(TOKEN_ENV).cloned().unwrap_or_default()},
        }))
        .map_err(|e| PlatformError::Permanent(format!("Kubernetes Secret: {e}")))?;
        let secrets = self.secrets();
        let pp = PostParams::default();
        for _ in 0..2 {
            match self.call(|| secrets.create(&pp, &secret)).await {
                Ok(_) => return Ok(()),
                Err(Failure::Api(s)) if s.code == 409 => {
                    let existing = self
                        .call(|| secrets.get_opt(&name))
                        .await
                        .map_err(|f| classify("get Secret", f))?;
                    let owned = existing.as_ref().is_some_and(|s| {
                        s.metadata
                            .owner_references
                            .as_ref()
                            .is_some_and(|refs| refs.iter().any(|r| r.uid == uid))
                    });
                    if owned {
                        return Ok(());
                    }
                    if existing.is_some() {
                        self.delete_secret(&name).await?;
                    }
                }
                Err(f) => return Err(classify("create Secret", f)),
            }
        }
        Err(PlatformError::Transient(format!(
            "Kubernetes Secret {name} keeps existing from an earlier Job"
        )))
    }

    async fn delete_secret(&self, name: &str) -> Result<(), PlatformError> {
        let secrets = self.secrets();
        let dp = DeleteParams::default();
        match self.call(|| secrets.delete(name, &dp)).await {
            Ok(_) => Ok(()),
            Err(Failure::Api(s)) if s.code == 404 => Ok(()),
            Err(f) => Err(classify("delete Secret", f)),
        }
    }

    fn start_watching(&self) {
        let mut w = lock(&self.watching);
        if !w.tasks.is_empty() {
            return;
        }
        let selector = self.selector();
        let shared = self.shared.clone();
        let jobs = self.jobs();
        let cfg = watcher::Config::default().labels(&selector);
        let job_cfg = cfg.clone();
        w.tasks.push(tokio::spawn(async move {
            let mut stream = watcher(jobs, job_cfg).default_backoff().boxed();
            while let Some(event) = stream.next().await {
                apply_event(&shared, event, |s| &s.jobs);
            }
        }));
        let shared = self.shared.clone();
        let pods = self.pods();
        w.tasks.push(tokio::spawn(async move {
            let mut stream = watcher(pods, cfg).default_backoff().boxed();
            while let Some(event) = stream.next().await {
                apply_event(&shared, event, |s| &s.pods);
            }
        }));
    }

    fn stop_watching(&self) {
        let tasks = std::mem::take(&mut lock(&self.watching).tasks);
        for t in tasks {
            t.abort();
        }
        *lock(&self.shared.jobs) = Mirror::new();
        *lock(&self.shared.pods) = Mirror::new();
    }

    /// Sends a failed pod's last log lines to the log sink, once per pod.
    async fn forward_logs(&self, bot_id: &str, pod: &str) {
        let Some(sink) = &self.sink else { return };
        if !lock(&self.logs_sent).insert(pod.to_string()) {
            return;
        }
        let pods = self.pods();
        let params = LogParams {
            container: Some(CONTAINER.into()),
            tail_lines: Some(50),
            ..Default::default()
        };
        match self.call(|| pods.logs(pod, &params)).await {
            Ok(text) => {
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    let _ = sink.send((bot_id.to_string(), "info", line.to_string()));
                }
            }
            Err(f) => tracing::debug!(pod, error = %classify("pod log", f), "no log of the failed pod"),
        }
    }
}

fn apply_event<K: kube::Resource>(
    shared: &Shared,
    event: Result<watcher::Event<K>, watcher::Error>,
    mirror: impl Fn(&Shared) -> &Mutex<Mirror<K>>,
) {
    match event {
        Ok(e) => {
            {
                let mut stats = lock(&shared.stats);
                stats.events += 1;
                if matches!(e, watcher::Event::Init) {
                    stats.relists += 1;
                }
            }
            lock(mirror(shared)).apply(e);
        }
        Err(e) => tracing::debug!(error = %e, "Kubernetes watch failed; it restarts with backoff"),
    }
}

/// What a Job and its pods mean for the bot. `pull_failing_since`: when the pod was first
/// seen failing to pull its image (for the grace period).
pub fn job_state(
    job: &Job,
    pods: &[&Pod],
    pull_failing_since: impl Fn(&str) -> Option<Duration>,
    image_pull_grace: Duration,
) -> InstanceState {
    let conditions = job
        .status
        .as_ref()
        .and_then(|s| s.conditions.clone())
        .unwrap_or_default();
    let failed = conditions
        .iter()
        .find(|c| c.status == "True" && (c.type_ == "Failed" || c.type_ == "FailureTarget"));
    let pod_cause = pods.iter().find_map(|p| pod_failure(p));
    if let Some(c) = failed {
        let reason = c.reason.clone().unwrap_or_default();
        if reason == "DeadlineExceeded" {
            return InstanceState::Stopped {
                reason: format!(
                    "DeadlineExceeded: {}",
                    c.message
                        .clone()
                        .unwrap_or_else(|| "the Job ran past its deadline".into())
                ),
            };
        }
        return InstanceState::Stopped {
            reason: pod_cause.unwrap_or_else(|| format!("{reason}: {}", c.message.clone().unwrap_or_default())),
        };
    }
    if let Some(cause) = pod_cause {
        return InstanceState::Stopped { reason: cause };
    }
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or("");
        let status = pod.status.as_ref();
        let waiting = status
            .and_then(|s| s.container_statuses.as_ref())
            .into_iter()
            .flatten()
            .find_map(|c| Some((c.image.clone(), c.state.as_ref()?.waiting.clone()?)));
        if let Some((image, w)) = waiting {
            let reason = w.reason.unwrap_or_default();
            if matches!(
                reason.as_str(),
                "ErrImagePull" | "ImagePullBackOff" | "InvalidImageName" | "CreateContainerConfigError"
            ) {
                if pull_failing_since(name).is_some_and(|d| d >= image_pull_grace) {
                    let what = if reason == "CreateContainerConfigError" {
                        "the bot's container cannot be created".to_string()
                    } else {
                        format!("the image {image} cannot be pulled")
                    };
                    return InstanceState::Unstartable {
                        reason: format!("{what}: {reason}: {}", w.message.unwrap_or_default()),
                    };
                }
                return InstanceState::Pending {
                    detail: format!("{reason}: {}", w.message.unwrap_or_default()),
                };
            }
        }
        let unschedulable = status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .find(|c| c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable"));
        if let Some(c) = unschedulable {
            return InstanceState::Pending {
                detail: format!("Unschedulable: {}", c.message.clone().unwrap_or_default()),
            };
        }
    }
    if conditions.iter().any(|c| c.status == "True" && c.type_ == "Complete") {
        let code = pods
            .iter()
            .find_map(|p| terminated(p).map(|t| t.exit_code))
            .unwrap_or(0);
        return InstanceState::Stopped {
            reason: format!("the bot's container exited with code {code}"),
        };
    }
    InstanceState::Running
}

fn terminated(pod: &Pod) -> Option<k8s_openapi::api::core::v1::ContainerStateTerminated> {
    pod.status
        .as_ref()?
        .container_statuses
        .as_ref()?
        .iter()
        .find(|c| c.name == CONTAINER)
        .or_else(|| pod.status.as_ref()?.container_statuses.as_ref()?.first())?
        .state
        .as_ref()?
        .terminated
        .clone()
}

/// Why a pod failed, if it did: OOMKilled, evicted, node lost, or the container's exit code.
fn pod_failure(pod: &Pod) -> Option<String> {
    let status = pod.status.as_ref()?;
    let phase = status.phase.as_deref().unwrap_or("");
    let reason = status.reason.as_deref().unwrap_or("");
    let message = status.message.clone().unwrap_or_default();
    if reason == "Evicted" {
        return Some(format!("Evicted: {message}"));
    }
    if reason == "NodeLost" || phase == "Unknown" {
        return Some(format!("node lost: {message}"));
    }
    if let Some(t) = terminated(pod)
        && t.reason.as_deref() == Some("OOMKilled")
    {
        return Some(format!(
            "OOMKilled: the bot's container exceeded its memory limit (exit {})",
            t.exit_code
        ));
    }
    let disruption = status
        .conditions
        .as_ref()
        .into_iter()
        .flatten()
        .find(|c| c.type_ == "DisruptionTarget" && c.status == "True");
    if phase == "Failed" {
        if let Some(c) = disruption {
            return Some(format!(
                "node lost or pod disrupted: {}: {}",
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default()
            ));
        }
        let code = terminated(pod).map(|t| t.exit_code).unwrap_or(-1);
        return Some(format!("the bot's container failed with exit code {code}"));
    }
    None
}

#[async_trait]
impl Platform for KubernetesPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError> {
        let manifest = job_manifest(&self.settings, &self.installation, launch);
        let job: Job = serde_json::from_value(manifest)
            .map_err(|e| PlatformError::Permanent(format!("Kubernetes Job manifest: {e}")))?;
        let name = job.metadata.name.clone().unwrap_or_default();
        let jobs = self.jobs();
        let pp = PostParams::default();
        let created = match self.call(|| jobs.create(&pp, &job)).await {
            Ok(j) => j,
            // A retried create meets its own Job: adopt it.
            Err(Failure::Api(s)) if s.code == 409 => self
                .call(|| jobs.get(&name))
                .await
                .map_err(|f| classify("get Job", f))?,
            Err(f) => return Err(classify("create Job", f)),
        };
        if let Err(e) = self.ensure_secret(&created, launch).await {
            // Without its token the bot cannot start: do not leave the Job waiting for it.
            let _ = self.stop(&name).await;
            return Err(e);
        }
        Ok(Launched { identifier: name })
    }

    async fn stop(&self, identifier: &str) -> Result<(), PlatformError> {
        let jobs = self.jobs();
        let params = DeleteParams {
            propagation_policy: Some(PropagationPolicy::Background),
            grace_period_seconds: Some(STOP_GRACE_SECS),
            ..Default::default()
        };
        match self.call(|| jobs.delete(identifier, &params)).await {
            Ok(_) => {}
            Err(Failure::Api(s)) if s.code == 404 => {}
            Err(f) => return Err(classify("delete Job", f)),
        }
        // The garbage collector would delete it with the Job; do not wait for it.
        self.delete_secret(&secret_name(identifier)).await
    }

    async fn observe(&self, identifier: &str) -> Result<InstanceState, PlatformError> {
        Ok(self
            .observe_many(&[identifier.to_string()])
            .await?
            .remove(identifier)
            .unwrap_or(InstanceState::Running))
    }

    async fn observe_many(&self, identifiers: &[String]) -> Result<HashMap<String, InstanceState>, PlatformError> {
        let mut out = HashMap::new();
        // Only the replica that watches observes; the others leave the bots to it.
        let (jobs, pods) = {
            let jobs = lock(&self.shared.jobs);
            let pods = lock(&self.shared.pods);
            if !jobs.ready || !pods.ready {
                return Ok(out);
            }
            let mut by_job: HashMap<String, Vec<Pod>> = HashMap::new();
            for p in pods.live.values() {
                if let Some(j) = p.metadata.labels.as_ref().and_then(|l| l.get(LABEL_JOB_NAME)) {
                    by_job.entry(j.clone()).or_default().push(p.clone());
                }
            }
            let wanted: HashMap<String, Option<Job>> = identifiers
                .iter()
                .map(|id| (id.clone(), jobs.live.get(id).cloned()))
                .collect();
            (wanted, by_job)
        };
        let mut failing_logs = Vec::new();
        for (id, job) in jobs {
            let Some(job) = job else {
                // Not (yet) in the watch: a Job created a moment ago, or one that is gone.
                let api = self.jobs();
                let state = match self.call(|| api.get_opt(&id)).await {
                    Ok(Some(_)) => continue,
                    Ok(None) => InstanceState::Gone,
                    Err(f) => {
                        tracing::debug!(job = %id, error = %classify("get Job", f), "cannot look the Job up");
                        continue;
                    }
                };
                out.insert(id, state);
                continue;
            };
            let my_pods: Vec<&Pod> = pods.get(&id).map(|v| v.iter().collect()).unwrap_or_default();
            let now = Instant::now();
            {
                let mut failing = lock(&self.pull_failing);
                for p in &my_pods {
                    let name = p.metadata.name.clone().unwrap_or_default();
                    let pulling_fails = p
                        .status
                        .as_ref()
                        .and_then(|s| s.container_statuses.as_ref())
                        .into_iter()
                        .flatten()
                        .any(|c| c.state.as_ref().and_then(|s| s.waiting.as_ref()).is_some());
                    if pulling_fails {
                        failing.entry(name).or_insert(now);
                    } else {
                        failing.remove(&name);
                    }
                }
            }
            let state = {
                let failing = lock(&self.pull_failing);
                job_state(
                    &job,
                    &my_pods,
                    |pod| failing.get(pod).map(|t| now.duration_since(*t)),
                    self.settings.image_pull_grace,
                )
            };
            if matches!(&state, InstanceState::Stopped { reason } if !reason.contains("exited with code 0"))
                && let (Some(bot), Some(pod)) = (
                    job.metadata.labels.as_ref().and_then(|l| l.get(LABEL_BOT)).cloned(),
                    my_pods.first().and_then(|p| p.metadata.name.clone()),
                )
            {
                failing_logs.push((bot, pod));
            }
            out.insert(id, state);
        }
        for (bot, pod) in failing_logs {
            self.forward_logs(&bot, &pod).await;
        }
        Ok(out)
    }

    async fn find(&self, bot_id: &str, attempt: u32) -> Result<Option<Launched>, PlatformError> {
        let name = job_name(bot_id, attempt);
        let jobs = self.jobs();
        let job = self
            .call(|| jobs.get_opt(&name))
            .await
            .map_err(|f| classify("get Job", f))?;
        Ok(job
            .filter(|j| {
                j.metadata.labels.as_ref().and_then(|l| l.get(LABEL_INSTALLATION))
                    == Some(&label_value(&self.installation))
            })
            .map(|_| Launched { identifier: name }))
    }

    fn observe_interval(&self) -> Duration {
        // Observation reads the watch mirror: no request budget to protect.
        Duration::ZERO
    }

    async fn instances(&self) -> Result<Option<Vec<Instance>>, PlatformError> {
        let lp = ListParams::default().labels(&self.selector());
        let jobs = self.jobs();
        let list = self
            .call(|| jobs.list(&lp))
            .await
            .map_err(|f| classify("list Jobs", f))?;
        let parse = |labels: Option<&BTreeMap<String, String>>| {
            let l = labels?;
            Some((l.get(LABEL_BOT)?.clone(), l.get(LABEL_ATTEMPT)?.parse::<u32>().ok()?))
        };
        let mut out = Vec::new();
        let mut with_job = std::collections::HashSet::new();
        for j in list.items {
            let name = j.metadata.name.clone().unwrap_or_default();
            with_job.insert(name.clone());
            if let Some((bot_id, attempt)) = parse(j.metadata.labels.as_ref()) {
                out.push(Instance {
                    identifier: name,
                    bot_id,
                    attempt,
                });
            }
        }
        // Secrets whose Job is gone (a create that failed half-way): stopping the Job name
        // deletes them.
        let secrets = self.secrets();
        let list = self
            .call(|| secrets.list(&lp))
            .await
            .map_err(|f| classify("list Secrets", f))?;
        for s in list.items {
            let name = s.metadata.name.clone().unwrap_or_default();
            let Some(job) = name.strip_suffix("-token") else {
                continue;
            };
            if with_job.contains(job) {
                continue;
            }
            if let Some((bot_id, attempt)) = parse(s.metadata.labels.as_ref()) {
                out.push(Instance {
                    identifier: job.to_string(),
                    bot_id,
                    attempt,
                });
            }
        }
        Ok(Some(out))
    }

    fn watches(&self) -> bool {
        true
    }

    async fn set_watching(&self, on: bool) {
        if on {
            self.start_watching();
        } else if !lock(&self.watching).tasks.is_empty() {
            self.stop_watching();
        }
    }
}

impl Drop for KubernetesPlatform {
    fn drop(&mut self) {
        for t in std::mem::take(&mut lock(&self.watching).tasks) {
            t.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> KubernetesSettings {
        KubernetesSettings {
            namespace: "bots".into(),
            api_url: None,
            context: None,
            images: [("zoom".to_string(), "reg/zoom-bot:1".to_string())]
                .into_iter()
                .collect(),
            default_image: "reg/bot:1".into(),
            cpu_request: "500m".into(),
            cpu_limit: "1".into(),
            memory_request: "768Mi".into(),
            memory_limit: "1536Mi".into(),
            shm_size: "512Mi".into(),
            job_ttl_secs: 300,
            image_pull_grace: Duration::from_secs(30),
            pod_template: None,
            request_timeout: Duration::from_secs(5),
        }
    }

    fn launch() -> BotLaunch {
        BotLaunch {
            bot_id: "0193ABCD-bot".into(),
            attempt: 2,
            env: [
                ("BOT_ID", "0193ABCD-bot"),
                ("MEETING_PLATFORM", "zoom"),
                ("MILO_AUTH_TOKEN", "s3cret"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            max_duration_secs: 3600,
        }
    }

    #[test]
    fn job_names_are_deterministic_dns_labels() {
        assert_eq!(job_name("0193ABCD-bot", 2), "mbot-0193abcd-bot-a2");
        assert_eq!(job_name("x", 1), job_name("x", 1));
        assert_ne!(job_name("x", 1), job_name("x", 2));
        let long = "a".repeat(100);
        let n = job_name(&long, 3);
        assert!(n.len() <= 63, "{n}");
        assert_ne!(n, job_name(&"a".repeat(99), 3), "long ids stay distinct");
        assert!(
            n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
    }

    #[test]
    fn the_job_carries_the_contract() {
        let j = job_manifest(&settings(), "inst", &launch());
        let spec = &j["spec"];
        assert_eq!(spec["backoffLimit"], 0);
        assert_eq!(spec["activeDeadlineSeconds"], 3600 + DEADLINE_MARGIN_SECS);
        assert_eq!(spec["ttlSecondsAfterFinished"], 300);
        let pod = &spec["template"];
        assert_eq!(pod["spec"]["restartPolicy"], "Never");
        assert_eq!(pod["spec"]["securityContext"]["runAsNonRoot"], true);
        assert_eq!(pod["metadata"]["annotations"]["karpenter.sh/do-not-disrupt"], "true");
        assert_eq!(
            j["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict"],
            "false"
        );
        assert_eq!(pod["metadata"]["labels"][LABEL_INSTALLATION], "inst");
        assert_eq!(pod["metadata"]["labels"][LABEL_ATTEMPT], "2");
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["image"], "reg/zoom-bot:1", "image per meeting platform");
        assert_eq!(c["resources"]["limits"]["memory"], "1536Mi");
        assert_eq!(pod["spec"]["volumes"][0]["emptyDir"]["medium"], "Memory");
        let env = c["env"].as_array().unwrap();
        let token = env.iter().find(|e| e["name"] == "MILO_AUTH_TOKEN").unwrap();
        assert!(token.get("value").is_none(), "the token is never plain env");
        assert_eq!(token["valueFrom"]["secretKeyRef"]["name"], "mbot-0193abcd-bot-a2-token");
        assert!(!j.to_string().contains("s3cret"));
        serde_json::from_value::<Job>(j).unwrap();
    }

    #[test]
    fn the_pod_template_is_merged_under_what_the_platform_controls() {
        let mut s = settings();
        let template = json!({
            "metadata": {"labels": {"team": "media", LABEL_INSTALLATION: "hijack"}},
            "spec": {
                "nodeSelector": {"pool": "bots"},
                "tolerations": [{"key": "bots", "operator": "Exists", "effect": "NoSchedule"}],
                "priorityClassName": "meetings",
                "imagePullSecrets": [{"name": "ghcr"}],
                "volumes": [{"name": "extra", "emptyDir": {}}],
                "containers": [{"name": "bot", "volumeMounts": [{"name": "extra", "mountPath": "/extra"}],
                                "env": [{"name": "TZ", "value": "UTC"}, {"name": "BOT_ID", "value": "evil"}]}],
            }
        });
        check_pod_template(&template).unwrap();
        s.pod_template = Some(template);
        let j = job_manifest(&s, "inst", &launch());
        let pod = &j["spec"]["template"];
        assert_eq!(pod["metadata"]["labels"]["team"], "media");
        assert_eq!(pod["metadata"]["labels"][LABEL_INSTALLATION], "inst");
        assert_eq!(pod["spec"]["nodeSelector"]["pool"], "bots");
        assert_eq!(pod["spec"]["priorityClassName"], "meetings");
        assert_eq!(pod["spec"]["volumes"].as_array().unwrap().len(), 2);
        let c = &pod["spec"]["containers"][0];
        assert_eq!(c["volumeMounts"].as_array().unwrap().len(), 2);
        let env = c["env"].as_array().unwrap();
        assert!(env.iter().any(|e| e["name"] == "TZ"));
        let bot_ids: Vec<&Value> = env.iter().filter(|e| e["name"] == "BOT_ID").collect();
        assert_eq!(bot_ids.len(), 1);
        assert_eq!(bot_ids[0]["value"], "0193ABCD-bot");
        serde_json::from_value::<Job>(j).unwrap();
    }

    #[test]
    fn bad_pod_templates_are_refused_with_the_problem() {
        for (t, needle) in [
            (json!([1]), "mapping"),
            (json!({"kind": "Pod"}), "`kind`"),
            (json!({"spec": {"restartPolicy": "Always"}}), "restartPolicy"),
            (json!({"spec": {"containers": [{"image": "x"}]}}), "name"),
            (json!({"spec": {"tolerations": "all"}}), "valid pod spec"),
        ] {
            let e = check_pod_template(&t).unwrap_err();
            assert!(e.contains(needle), "`{needle}` not in {e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pod.yaml");
        std::fs::write(
            &path,
            "spec:\n  nodeSelector:\n    pool: bots\n  priorityClassName: high\n",
        )
        .unwrap();
        let v = load_pod_template(path.to_str().unwrap()).unwrap();
        assert_eq!(v["spec"]["nodeSelector"]["pool"], "bots");
        std::fs::write(&path, "spec: [unclosed\n").unwrap();
        let e = load_pod_template(path.to_str().unwrap()).unwrap_err();
        assert!(e.contains("KUBERNETES_POD_TEMPLATE") && e.contains("pod.yaml"), "{e}");
        let e = load_pod_template("/no/such/file.yaml").unwrap_err();
        assert!(e.contains("/no/such/file.yaml"), "{e}");
    }

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "p"}, "status": status})).unwrap()
    }

    fn job(conditions: Value) -> Job {
        serde_json::from_value(json!({"metadata": {"name": "j"}, "status": {"conditions": conditions}})).unwrap()
    }

    #[test]
    fn pod_and_job_states_map_to_bot_facts() {
        let grace = Duration::from_secs(30);
        let none = |_: &str| None;
        let state = |j: &Job, p: &Pod| job_state(j, &[p], none, grace);
        let running = pod(json!({"phase": "Running"}));
        assert_eq!(state(&job(json!([])), &running), InstanceState::Running);
        let oom = pod(
            json!({"phase": "Failed", "containerStatuses": [{"name": "bot", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}}}]}),
        );
        assert!(
            matches!(state(&job(json!([])), &oom), InstanceState::Stopped { reason } if reason.starts_with("OOMKilled"))
        );
        let evicted = pod(json!({"phase": "Failed", "reason": "Evicted", "message": "low on memory"}));
        assert!(
            matches!(state(&job(json!([])), &evicted), InstanceState::Stopped { reason } if reason == "Evicted: low on memory")
        );
        let lost = pod(json!({"phase": "Failed", "reason": "NodeLost", "message": "unresponsive"}));
        assert!(
            matches!(state(&job(json!([])), &lost), InstanceState::Stopped { reason } if reason.contains("node lost"))
        );
        let deadline =
            job(json!([{"type": "Failed", "status": "True", "reason": "DeadlineExceeded", "message": "too long"}]));
        assert!(
            matches!(state(&deadline, &running), InstanceState::Stopped { reason } if reason.starts_with("DeadlineExceeded"))
        );
        let unsched = pod(
            json!({"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory."}]}),
        );
        assert_eq!(
            state(&job(json!([])), &unsched),
            InstanceState::Pending {
                detail: "Unschedulable: 0/3 nodes are available: 3 Insufficient memory.".into()
            }
        );
        let pull = pod(
            json!({"phase": "Pending", "containerStatuses": [{"name": "bot", "image": "reg/bot:nope", "imageID": "", "ready": false,
            "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image"}}}]}),
        );
        assert!(
            matches!(state(&job(json!([])), &pull), InstanceState::Pending { .. }),
            "within the grace"
        );
        let late = job_state(&job(json!([])), &[&pull], |_| Some(Duration::from_secs(31)), grace);
        assert!(
            matches!(&late, InstanceState::Unstartable { reason } if reason.contains("reg/bot:nope") && reason.contains("ImagePullBackOff")),
            "{late:?}"
        );
        let done = job(json!([{"type": "Complete", "status": "True"}]));
        let ok = pod(
            json!({"phase": "Succeeded", "containerStatuses": [{"name": "bot", "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}),
        );
        assert!(matches!(state(&done, &ok), InstanceState::Stopped { reason } if reason.contains("code 0")));
    }

    #[test]
    fn quota_and_throttling_mean_full_rbac_is_permanent() {
        let status = |code: u16, reason: &str, message: &str| {
            Failure::Api(Box::new(
                serde_json::from_value(json!({"code": code, "reason": reason, "message": message})).unwrap(),
            ))
        };
        assert!(matches!(
            classify(
                "create Job",
                status(
                    403,
                    "Forbidden",
                    "jobs.batch \"x\" is forbidden: exceeded quota: q, requested: count/jobs.batch=1"
                )
            ),
            PlatformError::Full(_)
        ));
        assert!(matches!(
            classify("create Job", status(429, "TooManyRequests", "slow down")),
            PlatformError::Full(_)
        ));
        assert!(matches!(
            classify("create Job", status(403, "Forbidden", "User \"x\" cannot create resource \"jobs\"")),
            PlatformError::Permanent(m) if m.contains("rbac.yaml")
        ));
        assert!(matches!(
            classify("create Job", status(503, "ServiceUnavailable", "etcd is slow")),
            PlatformError::Transient(_)
        ));
        assert!(matches!(
            classify("create Job", status(422, "Invalid", "bad")),
            PlatformError::Permanent(_)
        ));
    }
}

//! One validated configuration struct, loaded once at startup.
//!
//! Sources, later ones winning: built-in defaults → optional TOML file (`--config`,
//! keys are the variable names in lower or upper case) → environment variables (the
//! deployment guide's names) → command-line flags. Validation collects **every**
//! problem, so `meeboter config check` and a refused start show them all at once.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;

/// Where a configuration value came from, shown by `config check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Default,
    File,
    Env,
    Flag,
}

impl Source {
    fn label(self) -> &'static str {
        match self {
            Source::Default => "default",
            Source::File => "file",
            Source::Env => "env",
            Source::Flag => "flag",
        }
    }
}

/// A configuration key we understand.
pub struct KeySpec {
    pub name: &'static str,
    pub default: Option<&'static str>,
    pub secret: bool,
    pub help: &'static str,
}

const fn key(name: &'static str, default: Option<&'static str>, secret: bool, help: &'static str) -> KeySpec {
    KeySpec {
        name,
        default,
        secret,
        help,
    }
}

/// Every key, in the order `config check` and the README list them.
pub const KEYS: &[KeySpec] = &[
    key(
        "DATABASE_URL",
        Some("sqlite://meeboter.db"),
        true,
        "sqlite://FILE (embedded default) or postgres://USER:PASS@HOST/DB",
    ),
    key(
        "DATABASE_MAX_CONNECTIONS",
        Some("16"),
        false,
        "connection pool size (PostgreSQL; SQLite uses at most 4)",
    ),
    key(
        "MEEBOTER_LISTEN",
        Some("127.0.0.1:3000"),
        false,
        "address the HTTP server binds",
    ),
    key(
        "PUBLIC_URL",
        None,
        false,
        "base URL bots and browsers reach this server on; bots get API_CALLBACK_URL=<PUBLIC_URL>/api/bot/v1 (default http://<listen address>)",
    ),
    key(
        "MILO_AUTH_TOKEN",
        None,
        true,
        "server secret that mints per-bot tokens (≥ 32 chars); generated and stored in the database if unset",
    ),
    key(
        "MEEBOTER_ENCRYPTION_KEY",
        None,
        true,
        "key that encrypts secrets stored in the database: 32 bytes as base64 or hex (`openssl rand -base64 32`); required with PostgreSQL, generated into <database file>.key with SQLite if unset",
    ),
    key(
        "MEEBOTER_ENCRYPTION_KEY_PREVIOUS",
        None,
        true,
        "comma-separated earlier keys that still decrypt (key rotation); everything is re-encrypted under MEEBOTER_ENCRYPTION_KEY at start",
    ),
    key(
        "API_RATE_LIMIT_PER_MINUTE",
        Some("0"),
        false,
        "requests per minute per API key, per server replica (0 = unlimited)",
    ),
    key(
        "HTTP_HEADER_READ_TIMEOUT_SECS",
        Some("10"),
        false,
        "a connection that has not sent a complete request head this long after connecting (or after its last response, when kept alive) is closed",
    ),
    key(
        "HTTP_BODY_READ_TIMEOUT_SECS",
        Some("30"),
        false,
        "a request body that sends nothing for this long is abandoned (400) and its connection closed",
    ),
    key(
        "HTTP_MAX_CONNECTIONS",
        Some("512"),
        false,
        "most open client connections per server; further ones wait in the listen backlog until one closes",
    ),
    key(
        "METRICS_LISTEN",
        None,
        false,
        "address of a separate listener serving only GET /metrics (Prometheus), e.g. 127.0.0.1:9464; unset = no metrics listener",
    ),
    key(
        "METRICS_TOKEN",
        None,
        true,
        "bearer token (≥ 16 chars) that opens GET /metrics on the main listener; unset = /metrics is a 404 there",
    ),
    key(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        None,
        false,
        "OTLP/HTTP collector base URL (traces go to <url>/v1/traces as JSON), e.g. http://otel-collector:4318; unset = no traces",
    ),
    key(
        "OTEL_EXPORTER_OTLP_HEADERS",
        None,
        true,
        "headers sent to the collector, `name=value` pairs separated by commas (e.g. an API key)",
    ),
    key(
        "OTEL_SERVICE_NAME",
        Some("meeboter"),
        false,
        "service.name of the exported traces",
    ),
    key("LOG_FORMAT", Some("pretty"), false, "pretty or json"),
    key(
        "LOG_LEVEL",
        Some("info"),
        false,
        "tracing filter, e.g. info or meeboter=debug,info",
    ),
    key("HEARTBEAT_INTERVAL_SECS", Some("30"), false, "how often bots heartbeat"),
    key(
        "HEARTBEAT_TIMEOUT_SECS",
        Some("300"),
        false,
        "a live bot silent this long becomes FATAL/heartbeat_timeout and is stopped",
    ),
    key(
        "DEPLOY_TIMEOUT_SECS",
        Some("900"),
        false,
        "a bot DEPLOYING this long (from when deployment started) becomes FATAL/deploy_timeout",
    ),
    key(
        "LEAVE_TIMEOUT_SECS",
        Some("60"),
        false,
        "a bot told to leave that has not ended after this long is stopped and set ENDED",
    ),
    key(
        "SCHEDULE_LEAD_SECS",
        Some("60"),
        false,
        "scheduled bots are queued this long before joinAt",
    ),
    key(
        "MONITOR_INTERVAL_SECS",
        Some("5"),
        false,
        "how often monitors and the scheduler run",
    ),
    key(
        "WEBHOOK_ALLOW_PRIVATE",
        Some("false"),
        false,
        "allow webhook URLs that resolve to loopback/private addresses (tests, private networks)",
    ),
    key(
        "TEST_MEETINGS",
        Some("true"),
        false,
        "serve look-alike test meetings under /_test/meeting/ and accept them as meeting URLs (meeboter verify)",
    ),
    key(
        "PLATFORM_PRIORITY",
        None,
        false,
        "optional overflow order, e.g. coolify,aws: the next platform takes bots when the first is full",
    ),
    key(
        "LOCAL_BOT_LIMIT",
        Some("2"),
        false,
        "most bots running at once as local processes",
    ),
    key(
        "COOLIFY_BOT_LIMIT",
        Some("20"),
        false,
        "most bots running at once on Coolify (pool slots)",
    ),
    key("AWS_BOT_LIMIT", Some("50"), false, "most bots running at once on ECS"),
    key(
        "KUBERNETES_BOT_NAMESPACE",
        None,
        false,
        "kubernetes platform: namespace of the bot Jobs (setting it lets `auto` choose kubernetes, after Coolify and ECS)",
    ),
    key(
        "KUBERNETES_BOT_LIMIT",
        Some("50"),
        false,
        "kubernetes platform: most bot Jobs at once",
    ),
    key(
        "KUBERNETES_API_URL",
        None,
        false,
        "kubernetes platform: API server URL used directly, without credentials (kubectl proxy, tests); default: in-cluster config, else KUBECONFIG",
    ),
    key(
        "KUBERNETES_CONTEXT",
        None,
        false,
        "kubernetes platform: kubeconfig context (default: the current context)",
    ),
    key(
        "KUBERNETES_POD_TEMPLATE",
        None,
        false,
        "kubernetes platform: YAML/JSON pod template fragment merged into every bot pod (nodeSelector, tolerations, priorityClassName, imagePullSecrets, volumes)",
    ),
    key(
        "KUBERNETES_BOT_CPU_REQUEST",
        Some("500m"),
        false,
        "kubernetes platform: CPU request per bot (a 720p video bot uses about 0.35 core)",
    ),
    key(
        "KUBERNETES_BOT_CPU_LIMIT",
        Some("1"),
        false,
        "kubernetes platform: CPU limit per bot",
    ),
    key(
        "KUBERNETES_BOT_MEMORY_REQUEST",
        Some("768Mi"),
        false,
        "kubernetes platform: memory request per bot (a video bot uses about 660 MB)",
    ),
    key(
        "KUBERNETES_BOT_MEMORY_LIMIT",
        Some("1536Mi"),
        false,
        "kubernetes platform: memory limit per bot (counts the /dev/shm volume)",
    ),
    key(
        "KUBERNETES_BOT_SHM",
        Some("512Mi"),
        false,
        "kubernetes platform: size of the in-memory /dev/shm volume (Chromium)",
    ),
    key(
        "KUBERNETES_JOB_TTL_SECS",
        Some("300"),
        false,
        "kubernetes platform: ttlSecondsAfterFinished of bot Jobs",
    ),
    key(
        "KUBERNETES_IMAGE_PULL_GRACE_SECS",
        Some("120"),
        false,
        "kubernetes platform: a bot whose image cannot be pulled this long fails (FATAL/deploy_failed)",
    ),
    key(
        "KUBERNETES_REQUEST_TIMEOUT_SECS",
        Some("15"),
        false,
        "kubernetes platform: timeout of one API call attempt",
    ),
    key(
        "DOCKER_HOST",
        Some("unix:///var/run/docker.sock"),
        false,
        "docker platform: the Docker Engine API socket (Podman's compatible socket works too)",
    ),
    key(
        "DOCKER_BOT_IMAGE",
        Some("localhost/meeboter-bot:latest"),
        false,
        "docker platform: the bot image with its tag (scripts/images builds this one)",
    ),
    key(
        "DOCKER_BOT_CPUS",
        Some("1"),
        false,
        "docker platform: CPU limit per bot container, in cores",
    ),
    key(
        "DOCKER_BOT_MEMORY",
        Some("1g"),
        false,
        "docker platform: memory limit per bot container",
    ),
    key(
        "DOCKER_BOT_SHM",
        Some("1g"),
        false,
        "docker platform: /dev/shm size per bot container (Chromium)",
    ),
    key(
        "DOCKER_NETWORK",
        Some("host"),
        false,
        "docker platform: network for bot containers (host, or a network where PUBLIC_URL resolves)",
    ),
    key(
        "DOCKER_BOT_LIMIT",
        Some("4"),
        false,
        "docker platform: most bot containers at once",
    ),
    key(
        "QUEUE_TIMEOUT_SECS",
        Some("600"),
        false,
        "a bot queued this long without capacity becomes FATAL/queue_timeout",
    ),
    key(
        "LOCAL_BOT_COMMAND",
        None,
        false,
        "program (and arguments, space-separated) run per bot by the local platform; default: this binary with `bot`",
    ),
    key(
        "LOCAL_STOP_GRACE_SECS",
        Some("30"),
        false,
        "local platform: SIGTERM, then SIGKILL after this long (a stopping bot flushes its recording for this long less 5 s, at most 50 s)",
    ),
    key(
        "DEPLOYMENT_PLATFORM",
        Some("auto"),
        false,
        "auto, coolify, aws, kubernetes, docker or local",
    ),
    key(
        "COOLIFY_API_URL",
        None,
        false,
        "Coolify API base, e.g. https://coolify.example.com/api/v1",
    ),
    key("COOLIFY_API_TOKEN", None, true, "Coolify API token"),
    key(
        "COOLIFY_PROJECT_UUID",
        None,
        false,
        "Coolify project that holds the bot slots",
    ),
    key("COOLIFY_SERVER_UUID", None, false, "Coolify server the slots run on"),
    key(
        "COOLIFY_ENVIRONMENT_NAME",
        Some("production"),
        false,
        "Coolify environment of the slots",
    ),
    key(
        "COOLIFY_DESTINATION_UUID",
        None,
        false,
        "Coolify destination (needed when the server has several)",
    ),
    key(
        "GHCR_ORG",
        None,
        false,
        "GitHub org of the bot image: ghcr.io/<org>/meeboter-bot",
    ),
    key(
        "BOT_IMAGE",
        None,
        false,
        "bot image (default ghcr.io/<GHCR_ORG>/meeboter-bot)",
    ),
    key("BOT_IMAGE_TAG", Some("latest"), false, "bot image tag"),
    key(
        "BOT_IMAGE_ZOOM",
        None,
        false,
        "image for Zoom bots only, e.g. ghcr.io/<org>/meeboter-zoom-bot (default BOT_IMAGE)",
    ),
    key(
        "BOT_IMAGE_TEAMS",
        None,
        false,
        "image for Teams bots only, e.g. ghcr.io/<org>/meeboter-microsoft-teams-bot",
    ),
    key(
        "BOT_IMAGE_MEET",
        None,
        false,
        "image for Google Meet bots only, e.g. ghcr.io/<org>/meeboter-google-meet-bot",
    ),
    key(
        "POOL_MIN_IDLE",
        Some("1"),
        false,
        "idle Coolify slots kept ready ahead of demand",
    ),
    key(
        "POOL_MAX_IDLE",
        None,
        false,
        "idle slots above this number are deleted after POOL_IDLE_TTL_SECS (default: never)",
    ),
    key(
        "POOL_IDLE_TTL_SECS",
        Some("1800"),
        false,
        "how long a surplus idle slot is kept before it is deleted",
    ),
    key("POOL_SLOT_CPUS", None, false, "CPU limit per slot, e.g. 1"),
    key("POOL_SLOT_MEMORY", None, false, "memory limit per slot, e.g. 2048m"),
    key(
        "POOL_RECOVERY_INTERVAL_SECS",
        Some("300"),
        false,
        "how often ERROR slots are recovered (replaced after 3 failures)",
    ),
    key(
        "COOLIFY_REQUEST_TIMEOUT_SECS",
        Some("15"),
        false,
        "timeout of one Coolify API request",
    ),
    key(
        "COOLIFY_MIRROR_DESCRIPTIONS",
        Some("false"),
        false,
        "mirror each slot's state into its application's description (coalesced, in the background)",
    ),
    key("AWS_REGION", None, false, "AWS region for ECS"),
    key("ECS_CLUSTER", None, false, "ECS cluster name or ARN"),
    key(
        "ECS_SUBNETS",
        None,
        false,
        "comma-separated subnets for bot tasks (awsvpc)",
    ),
    key(
        "ECS_SECURITY_GROUPS",
        None,
        false,
        "comma-separated security groups for bot tasks (default: the VPC's default group)",
    ),
    key(
        "ECS_ASSIGN_PUBLIC_IP",
        Some("true"),
        false,
        "give bot tasks a public IP (needed in public subnets without a NAT)",
    ),
    key(
        "ECS_TASK_DEF",
        None,
        false,
        "task definition (family or family:revision) for every meeting platform",
    ),
    key("ECS_TASK_DEF_ZOOM", None, false, "task definition for Zoom bots"),
    key(
        "ECS_TASK_DEF_MICROSOFT_TEAMS",
        None,
        false,
        "task definition for Microsoft Teams bots",
    ),
    key(
        "ECS_TASK_DEF_GOOGLE_MEET",
        None,
        false,
        "task definition for Google Meet bots",
    ),
    key(
        "ECS_CONTAINER_NAME",
        None,
        false,
        "container to override (default: the task definition's first)",
    ),
    key(
        "ECS_CAPACITY_PROVIDERS",
        None,
        false,
        "e.g. FARGATE_SPOT,FARGATE: tried in order on no capacity (default: launch type FARGATE)",
    ),
    key(
        "ECS_REQUEST_TIMEOUT_SECS",
        Some("15"),
        false,
        "timeout of one ECS API call attempt",
    ),
    key(
        "AWS_ACCESS_KEY_ID",
        None,
        true,
        "AWS access key (default: the SDK's credential chain, e.g. an IAM role)",
    ),
    key("AWS_SECRET_ACCESS_KEY", None, true, "AWS secret key"),
    key(
        "AWS_ENDPOINT_URL",
        None,
        false,
        "ECS API endpoint override (LocalStack, moto)",
    ),
    key(
        "NOTETAKER_NAMES",
        Some("otter,fireflies,read.ai,fathom,tl;dv,notetaker,meeting bot,recall,meeboter"),
        false,
        "comma list: participants whose name contains one of these are other bots (they do not keep a bot in an empty meeting)",
    ),
    key(
        "STORAGE_PATH",
        Some("./data"),
        false,
        "directory for recordings, screenshots and logs when S3 is not configured",
    ),
    key(
        "S3_ENDPOINT",
        None,
        false,
        "S3-compatible endpoint for recordings (MinIO etc.; path-style); unset with S3_BUCKET_NAME set = AWS S3",
    ),
    key("S3_ACCESS_KEY", None, true, "S3 access key"),
    key("S3_SECRET_KEY", None, true, "S3 secret key"),
    key(
        "S3_BUCKET_NAME",
        None,
        false,
        "bucket for recordings; setting it switches storage from STORAGE_PATH to S3",
    ),
    key("S3_REGION", Some("us-east-1"), false, "S3 region"),
    key(
        "S3_REQUEST_TIMEOUT_SECS",
        Some("15"),
        false,
        "timeout of one S3 request attempt",
    ),
    key(
        "RECORDING_RETENTION_DAYS",
        None,
        false,
        "delete recordings and screenshots older than this many days (unset = keep)",
    ),
    key(
        "MEDIA_URL_TTL_SECS",
        Some("3600"),
        false,
        "how long recording and screenshot download URLs stay valid",
    ),
    key(
        "TRANSCRIPTION_OPENAI_URL",
        None,
        false,
        "base URL of an OpenAI-compatible transcription API (POST /v1/audio/transcriptions); enables provider `openai`",
    ),
    key(
        "TRANSCRIPTION_OPENAI_API_KEY",
        None,
        true,
        "bearer key for TRANSCRIPTION_OPENAI_URL (unset = no Authorization header)",
    ),
    key(
        "TRANSCRIPTION_OPENAI_MODEL",
        Some("whisper-1"),
        false,
        "model name sent to the OpenAI-compatible API",
    ),
    key(
        "TRANSCRIPTION_DEEPGRAM_API_KEY",
        None,
        true,
        "Deepgram API key (sent as `Authorization: Token`); enables provider `deepgram`",
    ),
    key(
        "TRANSCRIPTION_DEEPGRAM_URL",
        Some("https://api.deepgram.com"),
        false,
        "Deepgram API base URL (pre-recorded POST /v1/listen, streaming wss /v1/listen)",
    ),
    key(
        "TRANSCRIPTION_DEEPGRAM_MODEL",
        Some("nova-3"),
        false,
        "Deepgram model; its family (nova-3, nova-2) decides the accepted transcription.language values",
    ),
];

/// Server-side transcription providers (credentials never reach bots).
#[derive(Clone, Default)]
pub struct TranscriptionSettings {
    /// `TRANSCRIPTION_OPENAI_URL` (without a trailing slash), key and model.
    pub openai: Option<OpenAiTranscription>,
    /// `TRANSCRIPTION_DEEPGRAM_API_KEY`, `_URL` (without a trailing slash) and `_MODEL`.
    pub deepgram: Option<DeepgramSettings>,
}

#[derive(Clone)]
pub struct OpenAiTranscription {
    pub url: String,
    pub api_key: Option<String>,
    pub model: String,
}

#[derive(Clone)]
pub struct DeepgramSettings {
    pub url: String,
    pub api_key: String,
    pub model: String,
}

impl std::fmt::Debug for DeepgramSettings {
    /// Never prints the key (settings end up in logs and panics).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeepgramSettings")
            .field("url", &self.url)
            .field("api_key", &"***")
            .field("model", &self.model)
            .finish()
    }
}

impl TranscriptionSettings {
    pub fn configured(&self) -> meeboter_core::transcription::ProvidersConfigured {
        meeboter_core::transcription::ProvidersConfigured {
            openai: self.openai.is_some(),
            deepgram: self.deepgram.is_some(),
            deepgram_family: self
                .deepgram
                .as_ref()
                .map(|d| meeboter_core::transcription::DeepgramFamily::of_model(&d.model))
                .unwrap_or_default(),
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

/// Which deployment platform was asked for (the deployment layer resolves `Auto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeploymentPlatformChoice {
    Auto,
    Coolify,
    Aws,
    Local,
    Docker,
    Kubernetes,
}

/// A deployment platform Meeboter can run bots on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlatformKind {
    Local,
    Coolify,
    Aws,
    Docker,
    Kubernetes,
}

impl PlatformKind {
    /// Where bots of this platform run, in words for people (`serve`'s start-up summary).
    pub fn in_words(self) -> &'static str {
        match self {
            Self::Local => "bots run as local processes on this machine",
            Self::Coolify => "bots run in a warm pool of Coolify applications",
            Self::Aws => "bots run as AWS ECS Fargate tasks, one per meeting",
            Self::Docker => "bots run as containers on this machine's Docker or Podman engine",
            Self::Kubernetes => "bots run as Kubernetes Jobs, one per meeting",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Coolify => "coolify",
            Self::Aws => "aws",
            Self::Docker => "docker",
            Self::Kubernetes => "kubernetes",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "local" => Some(Self::Local),
            "coolify" => Some(Self::Coolify),
            "aws" => Some(Self::Aws),
            "docker" => Some(Self::Docker),
            "kubernetes" => Some(Self::Kubernetes),
            _ => None,
        }
    }
}

/// Trace export over OTLP/HTTP (JSON bodies), from the standard `OTEL_*` variables.
#[derive(Clone, PartialEq, Eq)]
pub struct OtlpTraces {
    /// `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, as the OTLP specification builds it.
    pub traces_url: String,
    /// `OTEL_EXPORTER_OTLP_HEADERS`, decoded (values may be secrets: never logged).
    pub headers: Vec<(String, String)>,
    pub service_name: String,
}

impl std::fmt::Debug for OtlpTraces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OtlpTraces")
            .field("traces_url", &self.traces_url)
            .field("headers", &self.headers.iter().map(|(k, _)| k).collect::<Vec<_>>())
            .field("service_name", &self.service_name)
            .finish()
    }
}

/// `name=value,name2=value2` with percent-encoded values (the OTLP exporter specification's
/// format for `OTEL_EXPORTER_OTLP_HEADERS`).
pub fn parse_otlp_headers(raw: &str) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for pair in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("`{}` is not name=value", pair.split('=').next().unwrap_or("")))?;
        let name = name.trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
            return Err(format!("`{name}` is not a header name"));
        }
        let value: String = url::form_urlencoded::parse(format!("v={}", value.trim().replace('+', "%2B")).as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default();
        if value.chars().any(|c| c.is_control()) {
            return Err(format!("the value of `{name}` has control characters"));
        }
        out.push((name.to_string(), value));
    }
    Ok(out)
}

/// Which platforms run bots, in overflow order, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformPlan {
    /// First entry is the primary platform.
    pub order: Vec<PlatformKind>,
    /// How the choice was made, for `config check` and the infrastructure page.
    pub explanation: String,
    /// Startup warnings (e.g. both Coolify and ECS configured under `auto`).
    pub warnings: Vec<String>,
}

/// Settings of the Coolify pool platform (present when Coolify is among the platforms).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoolifySettings {
    pub api_url: String,
    pub api_token: String,
    pub project_uuid: String,
    pub server_uuid: String,
    pub environment_name: String,
    pub destination_uuid: Option<String>,
    /// Image (without tag) for every meeting platform without its own image.
    pub image: String,
    pub image_tag: String,
    /// Per-meeting-platform images, keyed by `MEETING_PLATFORM` (`zoom`, `teams`, `meet`).
    pub platform_images: std::collections::BTreeMap<String, String>,
    pub min_idle: u32,
    /// `POOL_MAX_IDLE`: surplus idle slots are retired; `None` keeps them.
    pub max_idle: Option<u32>,
    pub idle_ttl_secs: u64,
    pub slot_cpus: Option<String>,
    pub slot_memory: Option<String>,
    pub recovery_interval_secs: u64,
    pub request_timeout_secs: u64,
    /// `COOLIFY_MIRROR_DESCRIPTIONS`: write each slot's state into its application's
    /// description for Coolify's UI (off by default: it costs API calls; coalesced and sent
    /// in the background, never on the deploy path).
    pub mirror_descriptions: bool,
}

impl CoolifySettings {
    /// The image (name, tag) that runs bots of `meeting_platform` (a `MEETING_PLATFORM` value).
    pub fn image_for(&self, meeting_platform: &str) -> (String, String) {
        let name = self.platform_images.get(meeting_platform).unwrap_or(&self.image);
        (name.clone(), self.image_tag.clone())
    }

    /// Every distinct image the pool runs, as `name:tag`.
    pub fn images(&self) -> Vec<String> {
        let mut all: Vec<String> = ["zoom", "teams", "meet"]
            .iter()
            .map(|p| {
                let (n, t) = self.image_for(p);
                format!("{n}:{t}")
            })
            .collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The resolved, validated configuration.
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub database_max_connections: u32,
    pub listen: SocketAddr,
    /// Base URL without a trailing slash.
    pub public_url: String,
    pub milo_auth_token: Option<String>,
    /// `MEEBOTER_ENCRYPTION_KEY`: encrypts secrets at rest (None: the SQLite key file).
    pub encryption_key: Option<meeboter_db::secrets::EncryptionKey>,
    /// `MEEBOTER_ENCRYPTION_KEY_PREVIOUS`: earlier keys that still decrypt.
    pub previous_encryption_keys: Vec<meeboter_db::secrets::EncryptionKey>,
    pub api_rate_limit_per_minute: u32,
    /// `HTTP_HEADER_READ_TIMEOUT_SECS`: slow or silent clients are disconnected.
    pub http_header_read_timeout_secs: u64,
    /// `HTTP_BODY_READ_TIMEOUT_SECS`: longest pause inside a request body.
    pub http_body_read_timeout_secs: u64,
    /// `HTTP_MAX_CONNECTIONS`: connections served at once.
    pub http_max_connections: u32,
    /// `METRICS_LISTEN`: a separate listener for `GET /metrics` only.
    pub metrics_listen: Option<SocketAddr>,
    /// `METRICS_TOKEN`: opens `GET /metrics` on the main listener with `Authorization: Bearer`.
    pub metrics_token: Option<String>,
    /// `OTEL_EXPORTER_OTLP_*`: where traces go, when anywhere.
    pub otlp: Option<OtlpTraces>,
    pub heartbeat_interval_secs: u64,
    pub heartbeat_timeout_secs: u64,
    pub deploy_timeout_secs: u64,
    pub leave_timeout_secs: u64,
    pub schedule_lead_secs: u64,
    pub monitor_interval_secs: u64,
    pub webhook_allow_private: bool,
    /// Serve the test meetings (`/_test/meeting/…`) and accept them as meeting URLs.
    pub test_meetings: bool,
    pub log_format: LogFormat,
    pub log_level: String,
    pub deployment_platform: DeploymentPlatformChoice,
    pub platforms: PlatformPlan,
    pub local_bot_limit: u32,
    pub coolify_bot_limit: u32,
    pub aws_bot_limit: u32,
    pub queue_timeout_secs: u64,
    pub local_bot_command: Option<Vec<String>>,
    pub local_stop_grace_secs: u64,
    pub coolify: Option<CoolifySettings>,
    /// Present when AWS ECS is among the platforms.
    pub aws: Option<meeboter_platforms::ecs::EcsSettings>,
    /// Present when the docker platform is among the platforms.
    pub docker: Option<meeboter_platforms::docker::DockerSettings>,
    pub docker_bot_limit: u32,
    /// `KUBERNETES_BOT_LIMIT`: most bot Jobs at once.
    pub kubernetes_bot_limit: u32,
    /// Present when the kubernetes platform is among the platforms.
    pub kubernetes: Option<meeboter_platforms::kubernetes::KubernetesSettings>,
    /// Where recordings, screenshots and logs go (S3 when `S3_BUCKET_NAME` is set).
    pub storage: meeboter_storage::StorageSettings,
    pub recording_retention_days: Option<u32>,
    /// Lower-case name fragments that mark other bots in a meeting.
    pub notetaker_names: Vec<String>,
    pub media_url_ttl_secs: u64,
    pub transcription: TranscriptionSettings,
    /// Every raw value with its source, for `config check`.
    values: BTreeMap<&'static str, (String, Source)>,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// Raw inputs before validation.
#[derive(Debug, Default, Clone)]
pub struct ConfigSources {
    /// Contents of the `--config` TOML file, if any, and its path for messages.
    pub file: Option<(String, String)>,
    /// Environment lookup (injected so tests need not touch the process environment).
    pub env: BTreeMap<String, String>,
    /// Command-line overrides by key name.
    pub flags: BTreeMap<&'static str, String>,
}

impl ConfigSources {
    /// Reads the process environment and the optional file.
    pub fn from_process(config_file: Option<&str>, flags: BTreeMap<&'static str, String>) -> Result<Self, Vec<String>> {
        let file = match config_file {
            None => None,
            Some(path) => match std::fs::read_to_string(path) {
                Ok(text) => Some((path.to_string(), text)),
                Err(e) => return Err(vec![format!("cannot read config file {path}: {e}")]),
            },
        };
        Ok(Self {
            file,
            env: std::env::vars().collect(),
            flags,
        })
    }
}

impl Config {
    /// Merges and validates all sources, returning every problem found.
    pub fn load(sources: &ConfigSources) -> Result<Config, Vec<String>> {
        let (values, mut problems) = merge(sources);
        let config = validate(values, &mut problems);
        if problems.is_empty() { Ok(config) } else { Err(problems) }
    }

    /// Like [`Config::load`], but on problems also returns a listing of the merged values
    /// (secrets masked), so `config check` can show what it resolved.
    pub fn check(sources: &ConfigSources) -> Result<Config, (String, Vec<String>)> {
        let (values, mut problems) = merge(sources);
        let listing = describe_values(&values, None);
        let config = validate(values, &mut problems);
        if problems.is_empty() {
            Ok(config)
        } else {
            Err((listing, problems))
        }
    }
}

fn merge(sources: &ConfigSources) -> (BTreeMap<&'static str, (String, Source)>, Vec<String>) {
    let mut problems = Vec::new();
    let mut values: BTreeMap<&'static str, (String, Source)> = BTreeMap::new();
    for spec in KEYS {
        if let Some(d) = spec.default {
            values.insert(spec.name, (d.to_string(), Source::Default));
        }
    }
    if let Some((path, text)) = &sources.file {
        match text.parse::<toml::Table>() {
            Err(e) => problems.push(format!("config file {path} is not valid TOML: {}", e.message())),
            Ok(table) => {
                for (k, v) in table {
                    let upper = k.to_ascii_uppercase();
                    let Some(spec) = KEYS.iter().find(|s| s.name == upper) else {
                        problems.push(format!("config file {path}: unknown key `{k}`"));
                        continue;
                    };
                    let value = match v {
                        toml::Value::String(s) => s,
                        toml::Value::Integer(i) => i.to_string(),
                        toml::Value::Boolean(b) => b.to_string(),
                        other => {
                            problems.push(format!(
                                "config file {path}: `{k}` must be a string or number, not {}",
                                other.type_str()
                            ));
                            continue;
                        }
                    };
                    values.insert(spec.name, (value, Source::File));
                }
            }
        }
    }
    for spec in KEYS {
        if let Some(v) = sources.env.get(spec.name) {
            values.insert(spec.name, (v.clone(), Source::Env));
        }
    }
    for (k, v) in &sources.flags {
        if let Some(spec) = KEYS.iter().find(|s| s.name == *k) {
            values.insert(spec.name, (v.clone(), Source::Flag));
        }
    }
    // An empty value is the same as an unset one (common in .env files and compose).
    values.retain(|_, (v, _)| !v.trim().is_empty());
    (values, problems)
}

fn validate(values: BTreeMap<&'static str, (String, Source)>, problems: &mut Vec<String>) -> Config {
    let get = |name: &str| values.get(name).map(|(v, _)| v.trim().to_string());

    let database_url = get("DATABASE_URL").unwrap_or_default();
    if !(database_url.starts_with("sqlite:")
        || database_url.starts_with("postgres://")
        || database_url.starts_with("postgresql://"))
    {
        problems.push("DATABASE_URL must start with sqlite:, postgres:// or postgresql://".to_string());
    }

    let database_max_connections = match get("DATABASE_MAX_CONNECTIONS").unwrap_or_default().parse::<u32>() {
        Ok(n) if (1..=1000).contains(&n) => n,
        _ => {
            problems.push("DATABASE_MAX_CONNECTIONS must be a whole number between 1 and 1000".to_string());
            16
        }
    };

    let listen_raw = get("MEEBOTER_LISTEN").unwrap_or_default();
    let listen = listen_raw.parse::<SocketAddr>().unwrap_or_else(|_| {
        problems.push(format!(
            "MEEBOTER_LISTEN `{listen_raw}` is not an address:port such as 127.0.0.1:3000 or 0.0.0.0:3000"
        ));
        SocketAddr::from(([127, 0, 0, 1], 3000))
    });

    let public_url = match get("PUBLIC_URL") {
        Some(raw) => match url::Url::parse(&raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                raw.trim_end_matches('/').to_string()
            }
            _ => {
                problems.push(format!(
                    "PUBLIC_URL `{raw}` must be an absolute http(s) URL such as https://bots.example.com"
                ));
                String::new()
            }
        },
        None => {
            let host = if listen.ip().is_unspecified() {
                "127.0.0.1".to_string()
            } else if listen.is_ipv6() {
                format!("[{}]", listen.ip())
            } else {
                listen.ip().to_string()
            };
            format!("http://{host}:{}", listen.port())
        }
    };

    let milo_auth_token = get("MILO_AUTH_TOKEN");
    if let Some(t) = &milo_auth_token
        && t.len() < 32
    {
        problems.push("MILO_AUTH_TOKEN must be at least 32 characters (or unset to generate one)".to_string());
    }

    let encryption_key = get("MEEBOTER_ENCRYPTION_KEY").and_then(|raw| {
        meeboter_db::secrets::EncryptionKey::parse(&raw)
            .map_err(|e| problems.push(format!("MEEBOTER_ENCRYPTION_KEY {e}")))
            .ok()
    });
    if encryption_key.is_none()
        && get("MEEBOTER_ENCRYPTION_KEY").is_none()
        && (database_url.starts_with("postgres://") || database_url.starts_with("postgresql://"))
    {
        problems.push(
            "MEEBOTER_ENCRYPTION_KEY is required with PostgreSQL: it encrypts the secrets stored in the database \
             and must be the same on every replica; generate one with `openssl rand -base64 32` and keep it \
             outside the database (and its backups)"
                .to_string(),
        );
    }
    let previous_encryption_keys = get("MEEBOTER_ENCRYPTION_KEY_PREVIOUS")
        .map(|raw| {
            raw.split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty())
                .enumerate()
                .filter_map(|(i, k)| {
                    meeboter_db::secrets::EncryptionKey::parse(k)
                        .map_err(|e| problems.push(format!("MEEBOTER_ENCRYPTION_KEY_PREVIOUS entry {} {e}", i + 1)))
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default();

    let api_rate_limit_per_minute = get("API_RATE_LIMIT_PER_MINUTE")
        .unwrap_or_default()
        .parse::<u32>()
        .unwrap_or_else(|_| {
            problems.push("API_RATE_LIMIT_PER_MINUTE must be a whole number (0 = unlimited)".to_string());
            0
        });

    let mut seconds = |name: &str, min: u64, max: u64| -> u64 {
        match get(name).unwrap_or_default().parse::<u64>() {
            Ok(v) if (min..=max).contains(&v) => v,
            _ => {
                problems.push(format!(
                    "{name} must be a whole number of seconds between {min} and {max}"
                ));
                min
            }
        }
    };
    let http_header_read_timeout_secs = seconds("HTTP_HEADER_READ_TIMEOUT_SECS", 1, 300);
    let http_body_read_timeout_secs = seconds("HTTP_BODY_READ_TIMEOUT_SECS", 1, 3600);
    let heartbeat_interval_secs = seconds("HEARTBEAT_INTERVAL_SECS", 1, 3600);
    let heartbeat_timeout_secs = seconds("HEARTBEAT_TIMEOUT_SECS", 5, 86_400);
    let deploy_timeout_secs = seconds("DEPLOY_TIMEOUT_SECS", 10, 86_400);
    let leave_timeout_secs = seconds("LEAVE_TIMEOUT_SECS", 5, 3600);
    let schedule_lead_secs = seconds("SCHEDULE_LEAD_SECS", 0, 3600);
    let monitor_interval_secs = seconds("MONITOR_INTERVAL_SECS", 1, 300);
    if heartbeat_timeout_secs <= heartbeat_interval_secs * 2 {
        problems.push(format!(
            "HEARTBEAT_TIMEOUT_SECS ({heartbeat_timeout_secs}) must be more than twice HEARTBEAT_INTERVAL_SECS ({heartbeat_interval_secs}), or one late heartbeat kills a healthy bot"
        ));
    }
    let http_max_connections = match get("HTTP_MAX_CONNECTIONS").unwrap_or_default().parse::<u32>() {
        Ok(n) if (1..=100_000).contains(&n) => n,
        _ => {
            problems.push("HTTP_MAX_CONNECTIONS must be a whole number between 1 and 100000".to_string());
            512
        }
    };
    let metrics_listen = get("METRICS_LISTEN").filter(|v| !v.is_empty()).and_then(|raw| {
        raw.parse::<SocketAddr>()
            .map_err(|_| {
                problems.push(format!(
                    "METRICS_LISTEN `{raw}` is not an address:port such as 127.0.0.1:9464"
                ))
            })
            .ok()
    });
    let metrics_token = get("METRICS_TOKEN").filter(|v| !v.is_empty());
    if let Some(t) = &metrics_token
        && (t.chars().count() < 16 || t.chars().any(|c| c.is_whitespace() || c.is_control()))
    {
        problems.push("METRICS_TOKEN must be at least 16 characters without spaces".to_string());
    }
    let otlp = get("OTEL_EXPORTER_OTLP_ENDPOINT")
        .filter(|v| !v.is_empty())
        .and_then(|raw| {
            let ok =
                url::Url::parse(&raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
            if !ok {
                problems.push(format!(
                "OTEL_EXPORTER_OTLP_ENDPOINT `{raw}` must be an absolute http(s) URL such as http://otel-collector:4318"
            ));
                return None;
            }
            let headers = match parse_otlp_headers(get("OTEL_EXPORTER_OTLP_HEADERS").as_deref().unwrap_or("")) {
                Ok(h) => h,
                Err(e) => {
                    problems.push(format!("OTEL_EXPORTER_OTLP_HEADERS: {e}"));
                    Vec::new()
                }
            };
            Some(OtlpTraces {
                traces_url: format!("{}/v1/traces", raw.trim_end_matches('/')),
                headers,
                service_name: get("OTEL_SERVICE_NAME")
                    .filter(|v| !v.is_empty())
                    .unwrap_or_else(|| "meeboter".into()),
            })
        });
    let webhook_allow_private = match get("WEBHOOK_ALLOW_PRIVATE").as_deref() {
        Some("true" | "1" | "yes") => true,
        Some("false" | "0" | "no") | None => false,
        Some(other) => {
            problems.push(format!("WEBHOOK_ALLOW_PRIVATE must be true or false (got `{other}`)"));
            false
        }
    };

    let test_meetings = match get("TEST_MEETINGS").as_deref() {
        Some("true" | "1" | "yes") | None => true,
        Some("false" | "0" | "no") => false,
        Some(other) => {
            problems.push(format!("TEST_MEETINGS must be true or false (got `{other}`)"));
            true
        }
    };

    let log_format = match get("LOG_FORMAT").as_deref() {
        Some("pretty") => LogFormat::Pretty,
        Some("json") => LogFormat::Json,
        other => {
            problems.push(format!(
                "LOG_FORMAT must be pretty or json (got `{}`)",
                other.unwrap_or_default()
            ));
            LogFormat::Pretty
        }
    };

    let log_level = get("LOG_LEVEL").unwrap_or_default();
    if tracing_subscriber::EnvFilter::builder().parse(&log_level).is_err() {
        problems.push(format!(
            "LOG_LEVEL `{log_level}` is not a valid filter such as info or meeboter=debug,warn"
        ));
    }

    let deployment_platform = match get("DEPLOYMENT_PLATFORM").as_deref() {
        Some("auto") => DeploymentPlatformChoice::Auto,
        Some("coolify") => DeploymentPlatformChoice::Coolify,
        Some("aws") => DeploymentPlatformChoice::Aws,
        Some("local") => DeploymentPlatformChoice::Local,
        Some("docker") => DeploymentPlatformChoice::Docker,
        Some("kubernetes") => DeploymentPlatformChoice::Kubernetes,
        other => {
            problems.push(format!(
                "DEPLOYMENT_PLATFORM must be auto, coolify, aws, kubernetes, docker or local (got `{}`)",
                other.unwrap_or_default()
            ));
            DeploymentPlatformChoice::Auto
        }
    };

    let set = |name: &str| get(name).is_some();
    let require_pair = |problems: &mut Vec<String>, a: &str, b: &str| {
        if set(a) && !set(b) {
            problems.push(format!("{a} is set but {b} is missing"));
        }
    };
    require_pair(problems, "S3_ACCESS_KEY", "S3_SECRET_KEY");
    require_pair(problems, "S3_SECRET_KEY", "S3_ACCESS_KEY");
    if (set("S3_ENDPOINT") || set("S3_ACCESS_KEY")) && !set("S3_BUCKET_NAME") {
        problems.push("S3 storage is configured but S3_BUCKET_NAME is missing".to_string());
    }
    let s3_request_timeout = seconds_in(&get, problems, "S3_REQUEST_TIMEOUT_SECS", 1, 300);
    let storage = match get("S3_BUCKET_NAME") {
        Some(bucket) => meeboter_storage::StorageSettings::S3 {
            endpoint: get("S3_ENDPOINT"),
            region: get("S3_REGION").unwrap_or_else(|| "us-east-1".into()),
            bucket,
            access_key: get("S3_ACCESS_KEY"),
            secret_key: get("S3_SECRET_KEY"),
            request_timeout: std::time::Duration::from_secs(s3_request_timeout),
        },
        None => meeboter_storage::StorageSettings::Filesystem {
            root: get("STORAGE_PATH").unwrap_or_else(|| "./data".into()).into(),
        },
    };
    let recording_retention_days = get("RECORDING_RETENTION_DAYS").and_then(|raw| match raw.parse::<u32>() {
        Ok(days) if (1..=36_500).contains(&days) => Some(days),
        _ => {
            problems.push(format!(
                "RECORDING_RETENTION_DAYS must be a whole number of days between 1 and 36500 (got `{raw}`)"
            ));
            None
        }
    });
    let notetaker_names: Vec<String> = get("NOTETAKER_NAMES")
        .unwrap_or_default()
        .split(',')
        .map(|n| n.trim().to_lowercase())
        .filter(|n| !n.is_empty())
        .collect();
    if notetaker_names.iter().any(|n| n.chars().count() > 64) {
        problems.push("NOTETAKER_NAMES entries must be at most 64 characters".to_string());
    }
    let media_url_ttl_secs = seconds_in(&get, problems, "MEDIA_URL_TTL_SECS", 10, 7 * 86_400);
    let mut http_url = |name: &str| -> Option<String> {
        let raw = get(name)?;
        if url::Url::parse(&raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some()) {
            Some(raw.trim_end_matches('/').to_string())
        } else {
            problems.push(format!("{name} `{raw}` must be an absolute http(s) URL"));
            None
        }
    };
    let openai_url = http_url("TRANSCRIPTION_OPENAI_URL");
    let deepgram_url = http_url("TRANSCRIPTION_DEEPGRAM_URL").unwrap_or_else(|| "https://api.deepgram.com".into());
    let transcription = TranscriptionSettings {
        openai: openai_url.map(|url| OpenAiTranscription {
            url,
            api_key: get("TRANSCRIPTION_OPENAI_API_KEY"),
            model: get("TRANSCRIPTION_OPENAI_MODEL").unwrap_or_else(|| "whisper-1".into()),
        }),
        deepgram: get("TRANSCRIPTION_DEEPGRAM_API_KEY").map(|api_key| DeepgramSettings {
            url: deepgram_url,
            api_key,
            model: get("TRANSCRIPTION_DEEPGRAM_MODEL").unwrap_or_else(|| "nova-3".into()),
        }),
    };
    if let Some(raw) = get("COOLIFY_API_URL")
        && !url::Url::parse(&raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        problems.push(format!("COOLIFY_API_URL `{raw}` must be an absolute http(s) URL"));
    }
    if let Some(raw) = get("S3_ENDPOINT")
        && !url::Url::parse(&raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        problems.push(format!("S3_ENDPOINT `{raw}` must be an absolute http(s) URL"));
    }
    let coolify_ready = set("COOLIFY_API_URL") && set("COOLIFY_API_TOKEN");
    let aws_ready = set("AWS_REGION") && set("ECS_CLUSTER");
    let kubernetes_ready = set("KUBERNETES_BOT_NAMESPACE");
    let mut warnings = Vec::new();
    let (primary, explanation) = match deployment_platform {
        DeploymentPlatformChoice::Coolify => (PlatformKind::Coolify, "DEPLOYMENT_PLATFORM=coolify".to_string()),
        DeploymentPlatformChoice::Aws => (PlatformKind::Aws, "DEPLOYMENT_PLATFORM=aws".to_string()),
        DeploymentPlatformChoice::Local => (PlatformKind::Local, "DEPLOYMENT_PLATFORM=local".to_string()),
        DeploymentPlatformChoice::Docker => (
            PlatformKind::Docker,
            "DEPLOYMENT_PLATFORM=docker (never chosen automatically)".to_string(),
        ),
        DeploymentPlatformChoice::Kubernetes => {
            (PlatformKind::Kubernetes, "DEPLOYMENT_PLATFORM=kubernetes".to_string())
        }
        DeploymentPlatformChoice::Auto if coolify_ready && aws_ready => {
            warnings.push(
                "both Coolify and AWS ECS are configured; Coolify takes precedence — set DEPLOYMENT_PLATFORM explicitly"
                    .to_string(),
            );
            (
                PlatformKind::Coolify,
                "auto: COOLIFY_API_URL and COOLIFY_API_TOKEN are set (ECS settings too; Coolify takes precedence)"
                    .to_string(),
            )
        }
        DeploymentPlatformChoice::Auto if coolify_ready => (
            PlatformKind::Coolify,
            "auto: COOLIFY_API_URL and COOLIFY_API_TOKEN are set".to_string(),
        ),
        DeploymentPlatformChoice::Auto if aws_ready => {
            (PlatformKind::Aws, "auto: AWS_REGION and ECS_CLUSTER are set".to_string())
        }
        // After the seed's Coolify and ECS rules, unchanged: only an explicit bot namespace
        // means "run bots on Kubernetes".
        DeploymentPlatformChoice::Auto if kubernetes_ready => (
            PlatformKind::Kubernetes,
            "auto: KUBERNETES_BOT_NAMESPACE is set".to_string(),
        ),
        DeploymentPlatformChoice::Auto => (
            PlatformKind::Local,
            "auto: neither Coolify (COOLIFY_API_URL + COOLIFY_API_TOKEN) nor ECS (AWS_REGION + ECS_CLUSTER) is configured"
                .to_string(),
        ),
    };
    let mut order = vec![primary];
    if let Some(raw) = get("PLATFORM_PRIORITY") {
        let mut listed = Vec::new();
        for name in raw.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match PlatformKind::parse(name) {
                Some(k) if listed.contains(&k) => problems.push(format!("PLATFORM_PRIORITY lists {name} twice")),
                Some(k) => listed.push(k),
                None => problems.push(format!(
                    "PLATFORM_PRIORITY: unknown platform `{name}` (use local, docker, coolify, aws, kubernetes)"
                )),
            }
        }
        if deployment_platform != DeploymentPlatformChoice::Auto && listed.first() != Some(&primary) {
            problems.push(format!(
                "PLATFORM_PRIORITY must start with DEPLOYMENT_PLATFORM ({})",
                primary.as_str()
            ));
        }
        if !listed.is_empty() {
            order = listed;
        }
    }
    // Why Coolify's and ECS's settings are needed, so that every missing one is named at
    // once (not one round per fix). Both platforms follow the same rule: chosen, listed in
    // PLATFORM_PRIORITY or selected → required; half configured under `auto` → required too
    // (the half decides nothing, so it is a mistake); half configured while
    // DEPLOYMENT_PLATFORM names another platform → unused, a warning (AWS_REGION in
    // particular is often set by the environment for other AWS clients).
    let mut unused_warnings = Vec::new();
    let mut requirement = |kind: PlatformKind, name: &str, pair: [&str; 2]| -> Option<String> {
        let first_set = pair.iter().copied().find(|k| set(k));
        let half = first_set.is_some() && !pair.iter().all(|k| set(k));
        if deployment_platform == DeploymentPlatformChoice::Auto && order.len() == 1 && order[0] == kind {
            Some(format!("the {name} platform is selected"))
        } else if order.first() == Some(&kind) && deployment_platform != DeploymentPlatformChoice::Auto {
            Some(format!("DEPLOYMENT_PLATFORM is {}", kind.as_str()))
        } else if order.contains(&kind) {
            Some(format!("PLATFORM_PRIORITY lists {}", kind.as_str()))
        } else if half && deployment_platform == DeploymentPlatformChoice::Auto {
            Some(format!("{} is set", first_set.unwrap_or_default()))
        } else {
            if let (true, Some(k)) = (half, first_set) {
                unused_warnings.push(format!(
                    "{k} is set but the {name} platform is not used (DEPLOYMENT_PLATFORM={})",
                    primary.as_str()
                ));
            }
            None
        }
    };
    let coolify_reason = requirement(
        PlatformKind::Coolify,
        "Coolify",
        ["COOLIFY_API_URL", "COOLIFY_API_TOKEN"],
    );
    let aws_reason = requirement(PlatformKind::Aws, "AWS ECS", ["AWS_REGION", "ECS_CLUSTER"]);
    // Under `auto` a half setup may be an ambient variable (AWS_REGION on AWS): say how out.
    let half_hint = |reason: &str, platform: &str| {
        if reason.ends_with(" is set") {
            format!(" (complete the {platform} settings, or set DEPLOYMENT_PLATFORM to the platform you use)")
        } else {
            String::new()
        }
    };
    warnings.extend(unused_warnings);
    let mut platforms = PlatformPlan {
        explanation: if order.len() > 1 {
            format!(
                "{explanation}; overflow order {}",
                order.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(" → ")
            )
        } else {
            explanation
        },
        order,
        warnings,
    };
    let mut limit = |name: &str| -> u32 {
        match get(name).unwrap_or_default().parse::<u32>() {
            Ok(v) if (1..=10_000).contains(&v) => v,
            _ => {
                problems.push(format!("{name} must be a whole number between 1 and 10000"));
                1
            }
        }
    };
    let local_bot_limit = limit("LOCAL_BOT_LIMIT");
    let coolify_bot_limit = limit("COOLIFY_BOT_LIMIT");
    let aws_bot_limit = limit("AWS_BOT_LIMIT");
    let docker_bot_limit = limit("DOCKER_BOT_LIMIT");
    let kubernetes_bot_limit = limit("KUBERNETES_BOT_LIMIT");
    let kubernetes = platforms
        .order
        .contains(&PlatformKind::Kubernetes)
        .then(|| kubernetes_settings(&get, problems));
    let docker = platforms.order.contains(&PlatformKind::Docker).then(|| {
        let cpus = match get("DOCKER_BOT_CPUS").unwrap_or_default().parse::<f64>() {
            Ok(v) if (0.1..=64.0).contains(&v) => v,
            _ => {
                problems.push("DOCKER_BOT_CPUS must be a number of cores between 0.1 and 64, e.g. 1.5".to_string());
                1.0
            }
        };
        let bytes = |problems: &mut Vec<String>, k: &str| match parse_bytes(&get(k).unwrap_or_default()) {
            Some(b) if b >= 64 << 20 => b,
            _ => {
                problems.push(format!("{k} must be a size of at least 64m, e.g. 1536m or 2g"));
                1 << 30
            }
        };
        let memory_bytes = bytes(problems, "DOCKER_BOT_MEMORY");
        let shm_bytes = bytes(problems, "DOCKER_BOT_SHM");
        // Below what a recording bot measurably needs (BENCHMARKS.md, bot containers under
        // limits): allowed, since audio-only bots cost less, but said at start.
        if cpus < MIN_RECORDING_CPUS {
            platforms.warnings.push(format!(
                "DOCKER_BOT_CPUS={cpus} is below {MIN_RECORDING_CPUS} core: a video-recording bot needs about 0.35 core; with less its encoder lags and recordings come out short"
            ));
        }
        if memory_bytes < MIN_RECORDING_MEMORY {
            platforms.warnings.push(format!(
                "DOCKER_BOT_MEMORY is below {} MiB: a video-recording bot's container stalls at its memory limit (256 MiB did, 320 MiB barely held; 512 MiB or more is recommended)",
                MIN_RECORDING_MEMORY >> 20
            ));
        }
        meeboter_platforms::docker::DockerSettings {
            host: get("DOCKER_HOST").unwrap_or_default(),
            image: get("DOCKER_BOT_IMAGE").unwrap_or_default(),
            cpus,
            memory_bytes,
            shm_bytes,
            network: get("DOCKER_NETWORK").unwrap_or_default(),
            stop_grace: std::time::Duration::from_secs(30),
            // Known once the database is open (`deployment::Deployer::from_config`).
            installation_id: String::new(),
            request_timeout: std::time::Duration::from_secs(30),
            command: None,
        }
    });
    let queue_timeout_secs = match get("QUEUE_TIMEOUT_SECS").unwrap_or_default().parse::<u64>() {
        Ok(v) if (10..=86_400 * 7).contains(&v) => v,
        _ => {
            problems.push("QUEUE_TIMEOUT_SECS must be a whole number of seconds between 10 and 604800".to_string());
            600
        }
    };
    let local_stop_grace_secs = match get("LOCAL_STOP_GRACE_SECS").unwrap_or_default().parse::<u64>() {
        Ok(v) if v <= 600 => v,
        _ => {
            problems.push("LOCAL_STOP_GRACE_SECS must be a whole number of seconds up to 600".to_string());
            30
        }
    };
    let local_bot_command = get("LOCAL_BOT_COMMAND").map(|c| c.split_whitespace().map(str::to_string).collect());
    let coolify = if let Some(reason) = &coolify_reason {
        let mut hint = half_hint(reason, "Coolify");
        for k in [
            "COOLIFY_API_URL",
            "COOLIFY_API_TOKEN",
            "COOLIFY_PROJECT_UUID",
            "COOLIFY_SERVER_UUID",
        ] {
            if !set(k) {
                problems.push(format!("{reason} but {k} is missing{}", std::mem::take(&mut hint)));
            }
        }
        let image = get("BOT_IMAGE").or_else(|| get("GHCR_ORG").map(|org| format!("ghcr.io/{org}/meeboter-bot")));
        let per_platform = ["BOT_IMAGE_ZOOM", "BOT_IMAGE_TEAMS", "BOT_IMAGE_MEET"];
        if image.is_none() && !per_platform.iter().all(|k| set(k)) {
            problems.push(format!("{reason} but neither BOT_IMAGE nor GHCR_ORG is set"));
        }
        for k in ["BOT_IMAGE"].iter().chain(per_platform.iter()) {
            // A tag in the name would be doubled with BOT_IMAGE_TAG (`bot:1.2:latest`).
            if get(k).is_some_and(|v| v.rsplit('/').next().is_some_and(|last| last.contains(':'))) {
                problems.push(format!(
                    "{k} must be an image name without a tag; set the tag with BOT_IMAGE_TAG"
                ));
            }
        }
        let min_idle = get("POOL_MIN_IDLE")
            .unwrap_or_default()
            .parse::<u32>()
            .unwrap_or_else(|_| {
                problems.push("POOL_MIN_IDLE must be a whole number".to_string());
                1
            });
        if min_idle > coolify_bot_limit {
            problems.push(format!(
                "POOL_MIN_IDLE ({min_idle}) cannot exceed COOLIFY_BOT_LIMIT ({coolify_bot_limit})"
            ));
        }
        let max_idle = get("POOL_MAX_IDLE").map(|v| match v.parse::<u32>() {
            Ok(n) if n >= min_idle => n,
            _ => {
                problems.push(format!(
                    "POOL_MAX_IDLE must be a whole number no smaller than POOL_MIN_IDLE ({min_idle})"
                ));
                min_idle
            }
        });
        let idle_ttl_secs = get("POOL_IDLE_TTL_SECS")
            .unwrap_or_default()
            .parse::<u64>()
            .unwrap_or_else(|_| {
                problems.push("POOL_IDLE_TTL_SECS must be a whole number of seconds".to_string());
                1800
            });
        let recovery_interval_secs = match get("POOL_RECOVERY_INTERVAL_SECS").unwrap_or_default().parse::<u64>() {
            Ok(v) if (1..=86_400).contains(&v) => v,
            _ => {
                problems.push("POOL_RECOVERY_INTERVAL_SECS must be between 1 and 86400".to_string());
                300
            }
        };
        let request_timeout_secs = match get("COOLIFY_REQUEST_TIMEOUT_SECS").unwrap_or_default().parse::<u64>() {
            Ok(v) if (1..=300).contains(&v) => v,
            _ => {
                problems.push("COOLIFY_REQUEST_TIMEOUT_SECS must be between 1 and 300".to_string());
                15
            }
        };
        let mirror_descriptions = match get("COOLIFY_MIRROR_DESCRIPTIONS").as_deref() {
            Some("true" | "1" | "yes") => true,
            Some("false" | "0" | "no") | None => false,
            Some(other) => {
                problems.push(format!(
                    "COOLIFY_MIRROR_DESCRIPTIONS must be true or false (got `{other}`)"
                ));
                false
            }
        };
        platforms
            .order
            .contains(&PlatformKind::Coolify)
            .then(|| CoolifySettings {
                api_url: get("COOLIFY_API_URL").unwrap_or_default(),
                api_token: get("COOLIFY_API_TOKEN").unwrap_or_default(),
                project_uuid: get("COOLIFY_PROJECT_UUID").unwrap_or_default(),
                server_uuid: get("COOLIFY_SERVER_UUID").unwrap_or_default(),
                environment_name: get("COOLIFY_ENVIRONMENT_NAME").unwrap_or_else(|| "production".into()),
                destination_uuid: get("COOLIFY_DESTINATION_UUID"),
                image: image.unwrap_or_default(),
                image_tag: get("BOT_IMAGE_TAG").unwrap_or_else(|| "latest".into()),
                platform_images: [
                    ("zoom", "BOT_IMAGE_ZOOM"),
                    ("teams", "BOT_IMAGE_TEAMS"),
                    ("meet", "BOT_IMAGE_MEET"),
                ]
                .into_iter()
                .filter_map(|(p, k)| get(k).map(|v| (p.to_string(), v)))
                .collect(),
                min_idle,
                max_idle,
                idle_ttl_secs,
                slot_cpus: get("POOL_SLOT_CPUS"),
                slot_memory: get("POOL_SLOT_MEMORY"),
                recovery_interval_secs,
                request_timeout_secs,
                mirror_descriptions,
            })
    } else {
        None
    };
    let aws = if let Some(reason) = &aws_reason {
        let mut hint = half_hint(reason, "AWS ECS");
        for k in ["AWS_REGION", "ECS_CLUSTER"] {
            if !set(k) {
                problems.push(format!("{reason} but {k} is missing{}", std::mem::take(&mut hint)));
            }
        }
        let list = |k: &str| -> Vec<String> {
            get(k)
                .unwrap_or_default()
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        };
        let subnets = list("ECS_SUBNETS");
        if subnets.is_empty() {
            problems.push(format!(
                "{reason} but ECS_SUBNETS is missing (bot tasks use awsvpc networking)"
            ));
        }
        let task_definitions: BTreeMap<String, String> = [
            ("zoom", "ECS_TASK_DEF_ZOOM"),
            ("teams", "ECS_TASK_DEF_MICROSOFT_TEAMS"),
            ("meet", "ECS_TASK_DEF_GOOGLE_MEET"),
        ]
        .into_iter()
        .filter_map(|(p, k)| get(k).map(|v| (p.to_string(), v)))
        .collect();
        let default_task_definition = get("ECS_TASK_DEF");
        if default_task_definition.is_none() && task_definitions.len() < 3 {
            let missing: Vec<&str> = [
                ("zoom", "ECS_TASK_DEF_ZOOM"),
                ("teams", "ECS_TASK_DEF_MICROSOFT_TEAMS"),
                ("meet", "ECS_TASK_DEF_GOOGLE_MEET"),
            ]
            .into_iter()
            .filter(|(p, _)| !task_definitions.contains_key(*p))
            .map(|(_, k)| k)
            .collect();
            problems.push(format!(
                "{reason} but there is no task definition for every meeting platform: set ECS_TASK_DEF or {}",
                missing.join(", ")
            ));
        }
        let assign_public_ip = match get("ECS_ASSIGN_PUBLIC_IP").unwrap_or_default().as_str() {
            "true" | "1" | "yes" => true,
            "false" | "0" | "no" => false,
            other => {
                problems.push(format!("ECS_ASSIGN_PUBLIC_IP must be true or false, not `{other}`"));
                true
            }
        };
        let capacity_providers = list("ECS_CAPACITY_PROVIDERS");
        let static_credentials = match (get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                problems.push("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set together".to_string());
                None
            }
        };
        if let Some(raw) = get("AWS_ENDPOINT_URL")
            && !url::Url::parse(&raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            problems.push(format!("AWS_ENDPOINT_URL `{raw}` must be an absolute http(s) URL"));
        }
        let request_timeout = match get("ECS_REQUEST_TIMEOUT_SECS").unwrap_or_default().parse::<u64>() {
            Ok(v) if (1..=300).contains(&v) => v,
            _ => {
                problems.push("ECS_REQUEST_TIMEOUT_SECS must be between 1 and 300".to_string());
                15
            }
        };
        platforms
            .order
            .contains(&PlatformKind::Aws)
            .then(|| meeboter_platforms::ecs::EcsSettings {
                region: get("AWS_REGION").unwrap_or_default(),
                cluster: get("ECS_CLUSTER").unwrap_or_default(),
                subnets,
                security_groups: list("ECS_SECURITY_GROUPS"),
                assign_public_ip,
                task_definitions,
                default_task_definition,
                container_name: get("ECS_CONTAINER_NAME"),
                capacity_providers,
                endpoint_url: get("AWS_ENDPOINT_URL"),
                static_credentials,
                request_timeout: std::time::Duration::from_secs(request_timeout),
            })
    } else {
        None
    };

    Config {
        database_url,
        database_max_connections,
        listen,
        public_url,
        milo_auth_token,
        encryption_key,
        previous_encryption_keys,
        api_rate_limit_per_minute,
        http_header_read_timeout_secs,
        http_body_read_timeout_secs,
        http_max_connections,
        metrics_listen,
        metrics_token,
        otlp,
        heartbeat_interval_secs,
        heartbeat_timeout_secs,
        deploy_timeout_secs,
        leave_timeout_secs,
        schedule_lead_secs,
        monitor_interval_secs,
        webhook_allow_private,
        test_meetings,
        log_format,
        log_level,
        deployment_platform,
        platforms,
        local_bot_limit,
        coolify_bot_limit,
        aws_bot_limit,
        docker_bot_limit,
        docker,
        kubernetes_bot_limit,
        kubernetes,
        queue_timeout_secs,
        local_bot_command,
        local_stop_grace_secs,
        coolify,
        aws,
        storage,
        recording_retention_days,
        notetaker_names,
        media_url_ttl_secs,
        transcription,
        values,
    }
}

/// A whole number of seconds in `min..=max`, or a problem naming the key.
fn seconds_in(
    get: &impl Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
    name: &str,
    min: u64,
    max: u64,
) -> u64 {
    match get(name).unwrap_or_default().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => v,
        _ => {
            problems.push(format!(
                "{name} must be a whole number of seconds between {min} and {max}"
            ));
            min
        }
    }
}

/// Width of the name column of `config check`: the longest key name.
fn name_width() -> usize {
    KEYS.iter().map(|k| k.name.len()).max().unwrap_or(0)
}

/// What an unset key means, for `config check` (keys whose default is not a plain value).
fn unset_meaning(name: &str, values: &BTreeMap<&'static str, (String, Source)>) -> Option<String> {
    let value = |k: &str| values.get(k).map(|(v, _)| v.as_str());
    Some(match name {
        "MILO_AUTH_TOKEN" => "generated at first start and kept in the database (encrypted)".to_string(),
        "MEEBOTER_ENCRYPTION_KEY" => match value("DATABASE_URL") {
            Some(url) if url.starts_with("sqlite:") => match crate::secrets::sqlite_key_file(url) {
                Some(path) => format!("generated at first start into {} (mode 0600)", path.display()),
                None => "a new key per start (in-memory database)".to_string(),
            },
            _ => "required with PostgreSQL".to_string(),
        },
        "LOCAL_BOT_COMMAND" => meeboter_platforms::local::LocalPlatform::default_command().join(" "),
        "PLATFORM_PRIORITY" => "the selected platform only".to_string(),
        "COOLIFY_DESTINATION_UUID" => "the server's only destination".to_string(),
        "BOT_IMAGE" => match value("GHCR_ORG") {
            Some(org) => format!("ghcr.io/{org}/meeboter-bot"),
            None => "ghcr.io/<GHCR_ORG>/meeboter-bot".to_string(),
        },
        "BOT_IMAGE_ZOOM" | "BOT_IMAGE_TEAMS" | "BOT_IMAGE_MEET" => "BOT_IMAGE".to_string(),
        "POOL_MAX_IDLE" => "none (idle slots are kept)".to_string(),
        "POOL_SLOT_CPUS" | "POOL_SLOT_MEMORY" => "no limit".to_string(),
        "ECS_SECURITY_GROUPS" => "the VPC's default security group".to_string(),
        "ECS_CONTAINER_NAME" => "the task definition's first container".to_string(),
        "ECS_CAPACITY_PROVIDERS" => "launch type FARGATE".to_string(),
        "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY" => "the AWS SDK's credential chain".to_string(),
        "AWS_ENDPOINT_URL" => "the AWS endpoint of AWS_REGION".to_string(),
        "S3_ENDPOINT" => "AWS S3 (when S3_BUCKET_NAME is set)".to_string(),
        "S3_ACCESS_KEY" | "S3_SECRET_KEY" => "the AWS credential chain".to_string(),
        "S3_BUCKET_NAME" => "none: media go to STORAGE_PATH".to_string(),
        "RECORDING_RETENTION_DAYS" => "kept forever".to_string(),
        "TRANSCRIPTION_OPENAI_URL" => "provider `openai` off".to_string(),
        "TRANSCRIPTION_OPENAI_API_KEY" => "no Authorization header".to_string(),
        "TRANSCRIPTION_DEEPGRAM_API_KEY" => "provider `deepgram` off".to_string(),
        _ => return None,
    })
}

fn describe_values(values: &BTreeMap<&'static str, (String, Source)>, public_url: Option<&str>) -> String {
    let mut out = String::new();
    let width = name_width();
    for spec in KEYS {
        let (shown, source) = match values.get(spec.name) {
            None if spec.name == "PUBLIC_URL" => match public_url {
                Some(url) => (url.to_string(), "derived"),
                None => ("http://<MEEBOTER_LISTEN>".to_string(), "default"),
            },
            None => match unset_meaning(spec.name, values) {
                Some(meaning) => (meaning, "default"),
                None => ("-".to_string(), "not set"),
            },
            Some((v, src)) => (mask(spec, v), src.label()),
        };
        let _ = writeln!(out, "{:<width$}  {:<8} {}", spec.name, source, shown);
    }
    out
}

impl Config {
    /// The raw value of a key, if set (for platform settings later layers read).
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(|(v, _)| v.as_str())
    }

    /// The URL bots call back on (the deployment guide's `API_CALLBACK_URL`).
    pub fn api_callback_url(&self) -> String {
        format!("{}/api/bot/v1", self.public_url)
    }

    /// A human-readable listing of every key, its value (secrets masked) and source.
    pub fn describe(&self) -> String {
        let mut out = describe_values(&self.values, Some(&self.public_url));
        let width = name_width();
        let _ = writeln!(
            out,
            "{:<width$}  {:<8} {}",
            "API_CALLBACK_URL",
            "derived",
            self.api_callback_url()
        );
        let _ = writeln!(out, "{:<width$}  {:<8} {}", "platform", "", self.platforms.explanation);
        for w in &self.platforms.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        out
    }

    /// A configuration for tests: SQLite at `database_url`, everything else default.
    pub fn for_tests(database_url: &str) -> Config {
        let mut flags = BTreeMap::new();
        flags.insert("DATABASE_URL", database_url.to_string());
        flags.insert("MEEBOTER_LISTEN", "127.0.0.1:0".to_string());
        // Each test app stores its media in its own directory.
        let storage = std::env::temp_dir().join(format!("meeboter-test-media-{}", meeboter_core::new_id().simple()));
        flags.insert("STORAGE_PATH", storage.display().to_string());
        // SQLite generates its key file beside the database; PostgreSQL needs a key.
        if !database_url.starts_with("sqlite:") {
            let key = meeboter_db::secrets::EncryptionKey::generate();
            flags.insert("MEEBOTER_ENCRYPTION_KEY", key.to_base64());
        }
        Config::load(&ConfigSources {
            flags,
            ..Default::default()
        })
        .expect("test configuration is valid")
    }
}

fn mask(spec: &KeySpec, value: &str) -> String {
    if !spec.secret {
        return value.to_string();
    }
    if spec.name == "DATABASE_URL" {
        return meeboter_db::redact_url(value);
    }
    format!("******** ({} chars)", value.chars().count())
}

/// Below this per-container CPU limit a video-recording bot's encoder lags (measured: 0.35
/// core steady; at 0.25 a 61 s call gave a 52 s recording).
pub const MIN_RECORDING_CPUS: f64 = 0.5;
/// Below this per-container memory limit a video-recording bot stalls (measured: 256 MiB
/// stalls, 320 MiB barely holds; 512 MiB is the recommendation).
pub const MIN_RECORDING_MEMORY: i64 = 384 << 20;

/// `1g`, `1536m`, `512M`, `2GiB`, `1073741824` → bytes.
fn parse_bytes(raw: &str) -> Option<i64> {
    let raw = raw.trim().to_ascii_lowercase();
    let raw = raw.trim_end_matches("ib").trim_end_matches('b');
    let (number, unit) = match raw.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&raw[..i], &raw[i..]),
        None => (raw, ""),
    };
    let shift = match unit {
        "" => 0,
        "k" => 10,
        "m" => 20,
        "g" => 30,
        _ => return None,
    };
    let value: f64 = number.trim().parse().ok()?;
    (value.is_finite() && value > 0.0).then(|| (value * (1u64 << shift) as f64) as i64)
}

/// Whether `v` is a Kubernetes quantity (`500m`, `1`, `1.5`, `768Mi`, `2G`).
fn is_quantity(v: &str) -> bool {
    let digits = v.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let suffix = &v[digits.len()..];
    !digits.is_empty()
        && digits.parse::<f64>().is_ok_and(|n| n > 0.0)
        && ["", "m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"].contains(&suffix)
}

/// The kubernetes platform's settings; problems are collected like every other setting's.
fn kubernetes_settings(
    get: &dyn Fn(&str) -> Option<String>,
    problems: &mut Vec<String>,
) -> meeboter_platforms::kubernetes::KubernetesSettings {
    let namespace = get("KUBERNETES_BOT_NAMESPACE").unwrap_or_default();
    if namespace.is_empty() {
        problems.push("the kubernetes platform is used but KUBERNETES_BOT_NAMESPACE is missing".to_string());
    } else if namespace.len() > 63
        || !namespace
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        problems.push(format!(
            "KUBERNETES_BOT_NAMESPACE `{namespace}` is not a namespace name (lowercase letters, digits and -)"
        ));
    }
    let api_url = get("KUBERNETES_API_URL");
    if let Some(raw) = &api_url
        && !url::Url::parse(raw).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
    {
        problems.push(format!("KUBERNETES_API_URL `{raw}` must be an absolute http(s) URL"));
    }
    let mut quantity = |k: &str| {
        let v = get(k).unwrap_or_default();
        if !is_quantity(&v) {
            problems.push(format!(
                "{k} must be a Kubernetes quantity such as 500m, 1, 768Mi or 2Gi (got `{v}`)"
            ));
        }
        v
    };
    let cpu_request = quantity("KUBERNETES_BOT_CPU_REQUEST");
    let cpu_limit = quantity("KUBERNETES_BOT_CPU_LIMIT");
    let memory_request = quantity("KUBERNETES_BOT_MEMORY_REQUEST");
    let memory_limit = quantity("KUBERNETES_BOT_MEMORY_LIMIT");
    let shm_size = quantity("KUBERNETES_BOT_SHM");
    let mut secs = |k: &str, min: u64, max: u64| match get(k).unwrap_or_default().parse::<u64>() {
        Ok(v) if (min..=max).contains(&v) => v,
        _ => {
            problems.push(format!("{k} must be a whole number of seconds between {min} and {max}"));
            min
        }
    };
    let job_ttl_secs = secs("KUBERNETES_JOB_TTL_SECS", 0, 604_800) as u32;
    let image_pull_grace = std::time::Duration::from_secs(secs("KUBERNETES_IMAGE_PULL_GRACE_SECS", 0, 3600));
    let request_timeout = std::time::Duration::from_secs(secs("KUBERNETES_REQUEST_TIMEOUT_SECS", 1, 300));
    let pod_template = get("KUBERNETES_POD_TEMPLATE").and_then(|path| {
        meeboter_platforms::kubernetes::load_pod_template(&path)
            .map_err(|e| problems.push(e))
            .ok()
    });
    // The same images as the other container platforms: BOT_IMAGE (or GHCR_ORG's), per
    // meeting platform BOT_IMAGE_ZOOM/_TEAMS/_MEET, tag BOT_IMAGE_TAG.
    let tag = get("BOT_IMAGE_TAG").unwrap_or_else(|| "latest".into());
    let image = get("BOT_IMAGE").or_else(|| get("GHCR_ORG").map(|org| format!("ghcr.io/{org}/meeboter-bot")));
    let per_platform = [
        ("zoom", "BOT_IMAGE_ZOOM"),
        ("teams", "BOT_IMAGE_TEAMS"),
        ("meet", "BOT_IMAGE_MEET"),
    ];
    if image.is_none() && !per_platform.iter().all(|(_, k)| get(k).is_some()) {
        problems.push("the kubernetes platform is used but neither BOT_IMAGE nor GHCR_ORG is set".to_string());
    }
    meeboter_platforms::kubernetes::KubernetesSettings {
        namespace,
        api_url,
        context: get("KUBERNETES_CONTEXT"),
        images: per_platform
            .into_iter()
            .filter_map(|(p, k)| get(k).map(|v| (p.to_string(), format!("{v}:{tag}"))))
            .collect(),
        default_image: format!("{}:{tag}", image.unwrap_or_default()),
        cpu_request,
        cpu_limit,
        memory_request,
        memory_limit,
        shm_size,
        job_ttl_secs,
        image_pull_grace,
        pod_template,
        request_timeout,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(env: &[(&str, &str)]) -> Result<Config, Vec<String>> {
        Config::load(&ConfigSources {
            env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            ..Default::default()
        })
    }

    #[test]
    fn defaults_need_nothing() {
        let c = load(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://meeboter.db");
        assert_eq!(c.listen.to_string(), "127.0.0.1:3000");
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
        assert_eq!(c.api_callback_url(), "http://127.0.0.1:3000/api/bot/v1");
        assert_eq!(c.deployment_platform, DeploymentPlatformChoice::Auto);
        assert_eq!(c.log_format, LogFormat::Pretty);
    }

    #[test]
    fn all_problems_are_reported_together() {
        let problems = load(&[
            ("DATABASE_URL", "mysql://x"),
            ("MEEBOTER_LISTEN", "nope"),
            ("PUBLIC_URL", "ftp://x"),
            ("MILO_AUTH_TOKEN", "short"),
            ("LOG_FORMAT", "xml"),
            ("LOG_LEVEL", "=[bad"),
            ("DEPLOYMENT_PLATFORM", "moon"),
            ("COOLIFY_API_URL", "https://coolify.example.com/api/v1"),
            ("ECS_CLUSTER", "c"),
            ("S3_ACCESS_KEY", "a"),
        ])
        .unwrap_err();
        let text = problems.join("\n");
        for needle in [
            "DATABASE_URL",
            "MEEBOTER_LISTEN",
            "PUBLIC_URL",
            "MILO_AUTH_TOKEN",
            "LOG_FORMAT",
            "LOG_LEVEL",
            "DEPLOYMENT_PLATFORM",
            "COOLIFY_API_URL is set but COOLIFY_API_TOKEN is missing",
            // Every missing setting of a half-configured platform at once, not one per round.
            "COOLIFY_API_URL is set but COOLIFY_PROJECT_UUID is missing",
            "COOLIFY_API_URL is set but COOLIFY_SERVER_UUID is missing",
            "COOLIFY_API_URL is set but neither BOT_IMAGE nor GHCR_ORG is set",
            "ECS_CLUSTER is set but AWS_REGION is missing",
            "ECS_CLUSTER is set but ECS_SUBNETS is missing",
            "ECS_CLUSTER is set but there is no task definition",
            "S3_ACCESS_KEY is set but S3_SECRET_KEY is missing",
            "S3_BUCKET_NAME is missing",
        ] {
            assert!(text.contains(needle), "missing `{needle}` in:\n{text}");
        }
        assert_eq!(problems.len(), 16, "{text}");
    }

    #[test]
    fn otlp_traces_are_off_by_default_and_their_headers_masked() {
        assert_eq!(load(&[]).unwrap().otlp, None);
        let c = load(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=s3cr3t%2Fkey+1, tenant = acme"),
        ])
        .unwrap();
        let otlp = c.otlp.clone().unwrap();
        assert_eq!(otlp.traces_url, "http://collector:4318/v1/traces");
        assert_eq!(otlp.service_name, "meeboter");
        assert_eq!(
            otlp.headers,
            [
                ("x-api-key".to_string(), "s3cr3t/key+1".to_string()),
                ("tenant".to_string(), "acme".to_string())
            ]
        );
        assert!(!c.describe().contains("s3cr3t"), "{}", c.describe());
        let problems = load(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ])
        .unwrap_err()
        .join("\n");
        assert!(
            problems.contains("OTEL_EXPORTER_OTLP_ENDPOINT `collector:4318`"),
            "{problems}"
        );
        let problems = load(&[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4318"),
            ("OTEL_EXPORTER_OTLP_HEADERS", "novalue"),
        ])
        .unwrap_err()
        .join("\n");
        assert!(
            problems.contains("OTEL_EXPORTER_OTLP_HEADERS: `novalue` is not name=value"),
            "{problems}"
        );
    }

    #[test]
    fn metrics_settings_are_checked_and_the_token_masked() {
        let c = load(&[]).unwrap();
        assert_eq!((c.metrics_listen, c.metrics_token.as_deref()), (None, None));
        let c = load(&[
            ("METRICS_LISTEN", "127.0.0.1:9464"),
            ("METRICS_TOKEN", "scrape-token-0123456789"),
        ])
        .unwrap();
        assert_eq!(c.metrics_listen.unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(c.metrics_token.as_deref(), Some("scrape-token-0123456789"));
        assert!(!c.describe().contains("scrape-token-0123456789"), "{}", c.describe());
        let problems = load(&[
            ("METRICS_LISTEN", "localhost"),
            ("METRICS_TOKEN", "short"),
            ("MEEBOTER_LISTEN", "nope"),
        ])
        .unwrap_err()
        .join("\n");
        for needle in ["METRICS_LISTEN `localhost`", "METRICS_TOKEN must be", "MEEBOTER_LISTEN"] {
            assert!(problems.contains(needle), "missing `{needle}` in:\n{problems}");
        }
    }

    #[test]
    fn platform_auto_detection_follows_the_deployment_guide() {
        let coolify = [
            ("COOLIFY_API_URL", "https://c.example.com/api/v1"),
            ("COOLIFY_API_TOKEN", "t"),
            ("COOLIFY_PROJECT_UUID", "p"),
            ("COOLIFY_SERVER_UUID", "s"),
            ("GHCR_ORG", "acme"),
        ];
        let aws = [
            ("AWS_REGION", "us-east-1"),
            ("ECS_CLUSTER", "bots"),
            ("ECS_SUBNETS", "subnet-1"),
            ("ECS_TASK_DEF", "meeboter-bot"),
        ];
        let order = |env: &[(&str, &str)]| load(env).unwrap().platforms.order;
        assert_eq!(order(&[]), vec![PlatformKind::Local]);
        assert_eq!(order(&coolify), vec![PlatformKind::Coolify]);
        assert_eq!(order(&aws), vec![PlatformKind::Aws]);
        let both: Vec<_> = coolify.iter().chain(aws.iter()).copied().collect();
        let c = load(&both).unwrap();
        assert_eq!(c.platforms.order, vec![PlatformKind::Coolify]);
        assert!(c.platforms.warnings[0].contains("set DEPLOYMENT_PLATFORM explicitly"));
        // Half a configuration does not select a platform; under `auto` it is a problem,
        // for Coolify and ECS alike, naming everything still missing.
        let p = load(&[("AWS_REGION", "us-east-1")]).unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
        assert!(
            p[0].starts_with("AWS_REGION is set but ECS_CLUSTER is missing"),
            "{p:?}"
        );
        assert!(p[0].contains("set DEPLOYMENT_PLATFORM"), "{p:?}");
        let p = load(&[("COOLIFY_API_TOKEN", "t")]).unwrap_err();
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(
            p[0].starts_with("COOLIFY_API_TOKEN is set but COOLIFY_API_URL is missing"),
            "{p:?}"
        );
        // With another platform chosen explicitly, a half setup is unused: a warning, alike.
        for half in [
            ("AWS_REGION", "us-east-1"),
            ("COOLIFY_API_URL", "https://c.example.com/api/v1"),
        ] {
            let c = load(&[half, ("DEPLOYMENT_PLATFORM", "local")]).unwrap();
            assert_eq!(c.platforms.order, vec![PlatformKind::Local]);
            assert_eq!(c.platforms.warnings.len(), 1, "{:?}", c.platforms.warnings);
            assert!(
                c.platforms.warnings[0].starts_with(&format!("{} is set but the", half.0)),
                "{:?}",
                c.platforms.warnings
            );
        }
        // Coolify selected without its pool settings: every missing one is named.
        let p = load(&[
            ("COOLIFY_API_URL", "https://c.example.com/api/v1"),
            ("COOLIFY_API_TOKEN", "t"),
        ])
        .unwrap_err()
        .join("\n");
        for k in ["COOLIFY_PROJECT_UUID", "COOLIFY_SERVER_UUID", "BOT_IMAGE nor GHCR_ORG"] {
            assert!(p.contains(k), "{p}");
        }
        let c = load(&coolify).unwrap().coolify.unwrap();
        assert_eq!(c.image, "ghcr.io/acme/meeboter-bot");
        assert_eq!(
            (c.image_tag.as_str(), c.min_idle, c.environment_name.as_str()),
            ("latest", 1, "production")
        );
        // Explicit choices win over detection.
        let mut explicit: Vec<_> = both.clone();
        explicit.push(("DEPLOYMENT_PLATFORM", "aws"));
        assert_eq!(order(&explicit), vec![PlatformKind::Aws]);
        assert!(load(&explicit).unwrap().platforms.warnings.is_empty());
        let mut local: Vec<_> = both.clone();
        local.push(("DEPLOYMENT_PLATFORM", "local"));
        assert_eq!(order(&local), vec![PlatformKind::Local]);
        // Overflow order.
        let mut prio = both.clone();
        prio.push(("PLATFORM_PRIORITY", "coolify,aws,local"));
        assert_eq!(
            order(&prio),
            vec![PlatformKind::Coolify, PlatformKind::Aws, PlatformKind::Local]
        );
        let p = load(&[("PLATFORM_PRIORITY", "local,aws,moon")]).unwrap_err().join("\n");
        assert!(
            p.contains("unknown platform `moon`")
                && p.contains("PLATFORM_PRIORITY lists aws but AWS_REGION is missing")
                && p.contains("PLATFORM_PRIORITY lists aws but ECS_CLUSTER is missing"),
            "{p}"
        );
        let p = load(&[("DEPLOYMENT_PLATFORM", "local"), ("PLATFORM_PRIORITY", "coolify,local")])
            .unwrap_err()
            .join("\n");
        assert!(p.contains("must start with DEPLOYMENT_PLATFORM (local)"), "{p}");
    }

    #[test]
    fn explicit_platform_requires_its_settings() {
        let p = load(&[("DEPLOYMENT_PLATFORM", "aws"), ("AWS_REGION", "eu-west-1")]).unwrap_err();
        // Every missing setting of the chosen platform is named, each once.
        assert_eq!(p.len(), 3, "{p:?}");
        assert_eq!(p[0], "DEPLOYMENT_PLATFORM is aws but ECS_CLUSTER is missing");
        assert!(p[1].contains("ECS_SUBNETS is missing"));
        assert!(p[2].contains("set ECS_TASK_DEF or ECS_TASK_DEF_ZOOM, ECS_TASK_DEF_MICROSOFT_TEAMS"));
        // Per-platform task definitions for all three stand in for ECS_TASK_DEF.
        let ok = load(&[
            ("DEPLOYMENT_PLATFORM", "aws"),
            ("AWS_REGION", "eu-west-1"),
            ("ECS_CLUSTER", "bots"),
            ("ECS_SUBNETS", "subnet-a, subnet-b"),
            ("ECS_TASK_DEF_ZOOM", "meeboter-zoom-bot:1"),
            ("ECS_TASK_DEF_MICROSOFT_TEAMS", "meeboter-microsoft-teams-bot:1"),
            ("ECS_TASK_DEF_GOOGLE_MEET", "meeboter-google-meet-bot:1"),
            ("ECS_CAPACITY_PROVIDERS", "FARGATE_SPOT,FARGATE"),
        ])
        .unwrap();
        let aws = ok.aws.unwrap();
        assert_eq!(aws.subnets, ["subnet-a", "subnet-b"]);
        assert_eq!(aws.task_definition_for("teams"), Some("meeboter-microsoft-teams-bot:1"));
        assert_eq!(aws.capacity_providers, ["FARGATE_SPOT", "FARGATE"]);
        assert!(aws.assign_public_ip);
        assert!(aws.static_credentials.is_none(), "the SDK's credential chain");
        let p = load(&[
            ("DEPLOYMENT_PLATFORM", "aws"),
            ("AWS_REGION", "eu-west-1"),
            ("ECS_CLUSTER", "bots"),
            ("ECS_SUBNETS", "subnet-a"),
            ("ECS_TASK_DEF", "meeboter-bot"),
            ("AWS_ACCESS_KEY_ID", "AKIA"),
            ("ECS_ASSIGN_PUBLIC_IP", "maybe"),
        ])
        .unwrap_err()
        .join("\n");
        assert!(
            p.contains("must be set together") && p.contains("ECS_ASSIGN_PUBLIC_IP"),
            "{p}"
        );
        assert!(load(&[("DEPLOYMENT_PLATFORM", "local")]).is_ok());
    }

    #[test]
    fn precedence_is_default_file_env_flag() {
        let mut flags = BTreeMap::new();
        flags.insert("MEEBOTER_LISTEN", "127.0.0.1:4000".to_string());
        let sources = ConfigSources {
            file: Some((
                "m.toml".into(),
                "database_url = \"sqlite://file.db\"\nLOG_LEVEL = \"debug\"\nmeeboter_listen = \"0.0.0.0:1\"\n".into(),
            )),
            env: [("LOG_LEVEL".to_string(), "warn".to_string())].into_iter().collect(),
            flags,
        };
        let c = Config::load(&sources).unwrap();
        assert_eq!(c.database_url, "sqlite://file.db");
        assert_eq!(c.log_level, "warn");
        assert_eq!(c.listen.to_string(), "127.0.0.1:4000");
        let d = c.describe();
        assert!(d.contains("file") && d.contains("env") && d.contains("flag"));
    }

    #[test]
    fn file_problems_are_reported() {
        let sources = ConfigSources {
            file: Some(("m.toml".into(), "colify_api_url = \"x\"\nlog_level = [1]\n".into())),
            ..Default::default()
        };
        let p = Config::load(&sources).unwrap_err();
        assert_eq!(p.len(), 2, "{p:?}");
        assert!(p[0].contains("unknown key `colify_api_url`"));
        let bad = ConfigSources {
            file: Some(("m.toml".into(), "this is not toml".into())),
            ..Default::default()
        };
        assert!(Config::load(&bad).unwrap_err()[0].contains("not valid TOML"));
    }

    #[test]
    fn the_encryption_key_is_validated_and_required_with_postgresql() {
        let key = "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJq80=";
        let pg = ("DATABASE_URL", "postgres://u@db/m");
        let problems = load(&[pg]).unwrap_err();
        assert!(
            problems.iter().any(
                |p| p.contains("MEEBOTER_ENCRYPTION_KEY is required with PostgreSQL") && p.contains("openssl rand")
            ),
            "{problems:?}"
        );
        let c = load(&[pg, ("MEEBOTER_ENCRYPTION_KEY", key)]).unwrap();
        assert_eq!(c.encryption_key.as_ref().map(|k| k.to_base64()).as_deref(), Some(key));
        // SQLite generates its key file when none is set.
        let c = load(&[("DATABASE_URL", "sqlite://data/m.db")]).unwrap();
        assert!(c.encryption_key.is_none() && c.previous_encryption_keys.is_empty());
        assert!(c.describe().contains("data/m.db.key"), "{}", c.describe());
        // Bad keys are named, never echoed; every bad previous key is listed.
        let problems = load(&[
            ("MEEBOTER_ENCRYPTION_KEY", "not-a-key-at-all-hunter2"),
            ("MEEBOTER_ENCRYPTION_KEY_PREVIOUS", &format!("{key}, c2hvcnQ=, zzz")),
        ])
        .unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(
            problems[0].starts_with("MEEBOTER_ENCRYPTION_KEY must be 32"),
            "{problems:?}"
        );
        assert!(
            problems[1].contains("PREVIOUS entry 2 must be 32 bytes, got 5"),
            "{problems:?}"
        );
        assert!(problems[2].contains("PREVIOUS entry 3"), "{problems:?}");
        assert!(!problems.concat().contains("hunter2"));
        let c = load(&[("MEEBOTER_ENCRYPTION_KEY_PREVIOUS", &format!("{key},"))]).unwrap();
        assert_eq!(c.previous_encryption_keys.len(), 1);
    }

    #[test]
    fn transcription_settings() {
        let c = load(&[]).unwrap();
        assert!(c.transcription.openai.is_none() && c.transcription.deepgram.is_none());
        assert!(c.describe().contains("provider `openai` off"), "{}", c.describe());
        let c = load(&[
            ("TRANSCRIPTION_OPENAI_URL", "http://whisper.internal:8000/"),
            ("TRANSCRIPTION_OPENAI_API_KEY", "sk-hunter2hunter2"),
            ("TRANSCRIPTION_DEEPGRAM_API_KEY", "dg-hunter3hunter3"),
            ("TRANSCRIPTION_DEEPGRAM_MODEL", "nova-2-meeting"),
        ])
        .unwrap();
        let openai = c.transcription.openai.as_ref().unwrap();
        assert_eq!(openai.url, "http://whisper.internal:8000");
        assert_eq!(openai.model, "whisper-1");
        let deepgram = c.transcription.deepgram.as_ref().unwrap();
        assert_eq!(deepgram.url, "https://api.deepgram.com");
        assert_eq!(deepgram.model, "nova-2-meeting");
        assert!(!format!("{deepgram:?}").contains("hunter3"));
        assert_eq!(
            c.transcription.configured().deepgram_family,
            meeboter_core::transcription::DeepgramFamily::Nova2
        );
        let c2 = load(&[
            ("TRANSCRIPTION_DEEPGRAM_API_KEY", "dg-hunter3hunter3"),
            ("TRANSCRIPTION_DEEPGRAM_URL", "http://127.0.0.1:4010/"),
        ])
        .unwrap();
        let d2 = c2.transcription.deepgram.as_ref().unwrap();
        assert_eq!(
            (d2.url.as_str(), d2.model.as_str()),
            ("http://127.0.0.1:4010", "nova-3")
        );
        let d = c.describe();
        assert!(!d.contains("hunter2") && !d.contains("hunter3"), "{d}");
        let problems = load(&[("TRANSCRIPTION_OPENAI_URL", "whisper:8000")]).unwrap_err();
        assert!(problems[0].contains("TRANSCRIPTION_OPENAI_URL"), "{problems:?}");
        // The server runs ffmpeg for it: named when missing.
        let empty = tempfile::tempdir().unwrap();
        let p = crate::preflight::transcription_problem(&c, empty.path().to_str()).unwrap();
        assert!(p.message.contains("ffmpeg"), "{p:?}");
        std::fs::write(empty.path().join("ffmpeg"), "").unwrap();
        assert!(crate::preflight::transcription_problem(&c, empty.path().to_str()).is_none());
        assert!(crate::preflight::transcription_problem(&load(&[]).unwrap(), None).is_none());
    }

    #[test]
    fn secrets_are_masked() {
        let c = load(&[
            ("DATABASE_URL", "postgres://u:hunter2hunter2@db/m"),
            ("MILO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef-secret"),
            (
                "MEEBOTER_ENCRYPTION_KEY",
                "q83vEjRWeJq83vEjRWeJq83vEjRWeJq83vEjRWeJ-sE=",
            ),
            (
                "MEEBOTER_ENCRYPTION_KEY_PREVIOUS",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
            ),
            ("COOLIFY_API_URL", "https://c.example.com/api/v1"),
            ("COOLIFY_API_TOKEN", "coolify-token-value"),
            ("COOLIFY_PROJECT_UUID", "p"),
            ("COOLIFY_SERVER_UUID", "s"),
            ("BOT_IMAGE", "registry.example.com/bot"),
        ])
        .unwrap();
        let d = c.describe();
        for secret in [
            "hunter2",
            "-secret",
            "coolify-token-value",
            "q83vEjRWeJq83v",
            "0123456789abcdef0123456789abcdef01234",
        ] {
            assert!(!d.contains(secret), "{secret} leaked:\n{d}");
        }
        assert!(!format!("{c:?}").contains("hunter2"));
        assert!(d.contains("COOLIFY_API_URL") && d.contains("https://c.example.com/api/v1"));
    }

    #[test]
    fn per_platform_images_override_the_shared_one() {
        let base = [
            ("COOLIFY_API_URL", "https://c.example.com/api/v1"),
            ("COOLIFY_API_TOKEN", "t"),
            ("COOLIFY_PROJECT_UUID", "p"),
            ("COOLIFY_SERVER_UUID", "s"),
            ("GHCR_ORG", "acme"),
            ("BOT_IMAGE_TAG", "1.4"),
        ];
        let c = load(&base).unwrap().coolify.unwrap();
        assert_eq!(c.images(), vec!["ghcr.io/acme/meeboter-bot:1.4".to_string()]);
        let mut env = base.to_vec();
        env.push(("BOT_IMAGE_ZOOM", "ghcr.io/acme/meeboter-zoom-bot"));
        let c = load(&env).unwrap().coolify.unwrap();
        assert_eq!(c.image_for("zoom").0, "ghcr.io/acme/meeboter-zoom-bot");
        assert_eq!(c.image_for("meet").0, "ghcr.io/acme/meeboter-bot");
        assert_eq!(c.images().len(), 2);
        // All three set: no shared image needed.
        let only = [
            ("COOLIFY_API_URL", "https://c.example.com/api/v1"),
            ("COOLIFY_API_TOKEN", "t"),
            ("COOLIFY_PROJECT_UUID", "p"),
            ("COOLIFY_SERVER_UUID", "s"),
            ("BOT_IMAGE_ZOOM", "r.example.com/z"),
            ("BOT_IMAGE_TEAMS", "r.example.com/t"),
            ("BOT_IMAGE_MEET", "r.example.com/m"),
        ];
        assert_eq!(load(&only).unwrap().coolify.unwrap().images().len(), 3);
        env.push(("BOT_IMAGE_MEET", "localhost:5000/meet-bot:2.0"));
        let problems = load(&env).unwrap_err().join("\n");
        assert!(
            problems.contains("BOT_IMAGE_MEET must be an image name without a tag"),
            "{problems}"
        );
        // A registry port is not a tag.
        env.pop();
        env.push(("BOT_IMAGE_MEET", "localhost:5000/meet-bot"));
        assert!(load(&env).is_ok());
        let mut m = env.clone();
        m.push(("POOL_MIN_IDLE", "3"));
        m.push(("POOL_MAX_IDLE", "2"));
        assert!(load(&m).unwrap_err().join("\n").contains("POOL_MAX_IDLE"));
        m.pop();
        m.push(("POOL_MAX_IDLE", "5"));
        let c = load(&m).unwrap().coolify.unwrap();
        assert_eq!((c.max_idle, c.idle_ttl_secs), (Some(5), 1800));
    }

    #[test]
    fn empty_values_count_as_unset() {
        let c = load(&[("PUBLIC_URL", ""), ("COOLIFY_API_URL", "  ")]).unwrap();
        assert_eq!(c.public_url, "http://127.0.0.1:3000");
    }

    #[test]
    fn unspecified_listen_derives_loopback_public_url() {
        let c = load(&[("MEEBOTER_LISTEN", "0.0.0.0:8080")]).unwrap();
        assert_eq!(c.public_url, "http://127.0.0.1:8080");
        let c = load(&[("PUBLIC_URL", "https://bots.example.com/")]).unwrap();
        assert_eq!(c.api_callback_url(), "https://bots.example.com/api/bot/v1");
    }

    #[test]
    fn sizes_are_read_with_units() {
        assert_eq!(parse_bytes("1g"), Some(1 << 30));
        assert_eq!(parse_bytes("1536m"), Some(1536 << 20));
        assert_eq!(parse_bytes("2GiB"), Some(2 << 30));
        assert_eq!(parse_bytes("1048576"), Some(1 << 20));
        assert_eq!(parse_bytes("lots"), None);
        assert_eq!(parse_bytes("-1g"), None);
    }

    #[test]
    fn the_docker_platform_is_explicit_and_validated() {
        let c = load(&[("DEPLOYMENT_PLATFORM", "docker")]).unwrap();
        assert_eq!(c.platforms.order, vec![PlatformKind::Docker]);
        let d = c.docker.unwrap();
        assert_eq!(
            (
                d.host.as_str(),
                d.image.as_str(),
                d.cpus,
                d.memory_bytes,
                d.network.as_str()
            ),
            (
                "unix:///var/run/docker.sock",
                "localhost/meeboter-bot:latest",
                1.0,
                1 << 30,
                "host"
            )
        );
        assert_eq!(c.docker_bot_limit, 4);
        let p = load(&[
            ("DEPLOYMENT_PLATFORM", "docker"),
            ("DOCKER_BOT_MEMORY", "lots"),
            ("DOCKER_BOT_CPUS", "0"),
        ])
        .unwrap_err();
        assert!(p.iter().any(|m| m.starts_with("DOCKER_BOT_MEMORY")), "{p:?}");
        assert!(p.iter().any(|m| m.starts_with("DOCKER_BOT_CPUS")), "{p:?}");
        // Below what a recording bot needs: allowed, with a warning for each.
        assert!(c.platforms.warnings.is_empty(), "{:?}", c.platforms.warnings);
        let small = load(&[
            ("DEPLOYMENT_PLATFORM", "docker"),
            ("DOCKER_BOT_MEMORY", "256m"),
            ("DOCKER_BOT_CPUS", "0.25"),
        ])
        .unwrap();
        let w = &small.platforms.warnings;
        assert!(w.iter().any(|m| m.starts_with("DOCKER_BOT_CPUS=0.25")), "{w:?}");
        assert!(w.iter().any(|m| m.starts_with("DOCKER_BOT_MEMORY")), "{w:?}");
        // Never chosen automatically.
        assert_ne!(
            load(&[("DOCKER_BOT_LIMIT", "3")]).unwrap().platforms.order,
            vec![PlatformKind::Docker]
        );
    }

    #[test]
    fn http_connection_limits_have_defaults_and_bounds() {
        let c = load(&[]).unwrap();
        assert_eq!(
            (
                c.http_header_read_timeout_secs,
                c.http_body_read_timeout_secs,
                c.http_max_connections
            ),
            (10, 30, 512)
        );
        let p = load(&[
            ("HTTP_HEADER_READ_TIMEOUT_SECS", "0"),
            ("HTTP_BODY_READ_TIMEOUT_SECS", "soon"),
            ("HTTP_MAX_CONNECTIONS", "0"),
        ])
        .unwrap_err();
        assert_eq!(p.len(), 3, "{p:?}");
        for k in [
            "HTTP_HEADER_READ_TIMEOUT_SECS",
            "HTTP_BODY_READ_TIMEOUT_SECS",
            "HTTP_MAX_CONNECTIONS",
        ] {
            assert!(p.iter().any(|m| m.starts_with(k)), "{k}: {p:?}");
        }
    }

    #[test]
    fn the_listing_shows_what_unset_keys_mean_and_aligns_names() {
        let d = load(&[]).unwrap().describe();
        assert!(!d.contains("(unset)"), "{d}");
        let line = |name: &str| {
            d.lines()
                .find(|l| l.split_whitespace().next() == Some(name))
                .unwrap_or_else(|| panic!("{name} missing:\n{d}"))
                .to_string()
        };
        assert!(line("MILO_AUTH_TOKEN").contains("generated at first start"), "{d}");
        assert!(line("LOCAL_BOT_COMMAND").trim_end().ends_with(" bot"), "{d}");
        assert!(line("RECORDING_RETENTION_DAYS").contains("kept forever"), "{d}");
        assert!(line("COOLIFY_API_URL").contains("not set"), "{d}");
        // Values start in one column, however long the name.
        let column = |l: &str| l.find("default").or_else(|| l.find("not set")).unwrap();
        let first = column(&line("DATABASE_URL"));
        for name in [
            "ECS_TASK_DEF_MICROSOFT_TEAMS",
            "POOL_RECOVERY_INTERVAL_SECS",
            "LOG_FORMAT",
        ] {
            assert_eq!(column(&line(name)), first, "{d}");
        }
    }

    #[test]
    fn kubernetes_is_chosen_explicitly_or_by_its_namespace_after_coolify_and_ecs() {
        let c = load(&[("KUBERNETES_BOT_NAMESPACE", "meeboter-bots"), ("BOT_IMAGE", "reg/bot")]).unwrap();
        assert_eq!(c.platforms.order, vec![PlatformKind::Kubernetes]);
        let k = c.kubernetes.unwrap();
        assert_eq!(k.namespace, "meeboter-bots");
        assert_eq!(k.default_image, "reg/bot:latest");
        assert_eq!(k.memory_limit, "1536Mi");
        assert_eq!(c.kubernetes_bot_limit, 50);
        // The seed's rules come first, unchanged.
        let c = load(&[
            ("KUBERNETES_BOT_NAMESPACE", "meeboter-bots"),
            ("AWS_REGION", "us-east-1"),
            ("ECS_CLUSTER", "bots"),
            ("ECS_SUBNETS", "subnet-1"),
            ("ECS_TASK_DEF", "bot"),
        ])
        .unwrap();
        assert_eq!(c.platforms.order, vec![PlatformKind::Aws]);
        assert!(c.kubernetes.is_none());
        assert_eq!(load(&[]).unwrap().platforms.order, vec![PlatformKind::Local]);
        let problems = load(&[("DEPLOYMENT_PLATFORM", "kubernetes")]).unwrap_err();
        assert!(
            problems.iter().any(|p| p.contains("KUBERNETES_BOT_NAMESPACE")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.contains("BOT_IMAGE")), "{problems:?}");
    }

    #[test]
    fn kubernetes_settings_are_validated_with_the_file_and_problem_named() {
        let dir = tempfile::tempdir().unwrap();
        let template = dir.path().join("bot-pod.yaml");
        std::fs::write(&template, "spec:\n  restartPolicy: Always\n").unwrap();
        let problems = load(&[
            ("DEPLOYMENT_PLATFORM", "kubernetes"),
            ("KUBERNETES_BOT_NAMESPACE", "Bad_NS"),
            ("BOT_IMAGE", "reg/bot"),
            ("KUBERNETES_BOT_MEMORY_LIMIT", "lots"),
            ("KUBERNETES_POD_TEMPLATE", template.to_str().unwrap()),
        ])
        .unwrap_err();
        let all = problems.join("\n");
        assert!(all.contains("Bad_NS"), "{all}");
        assert!(all.contains("KUBERNETES_BOT_MEMORY_LIMIT"), "{all}");
        assert!(all.contains("bot-pod.yaml") && all.contains("restartPolicy"), "{all}");
        std::fs::write(&template, "spec:\n  nodeSelector:\n    pool: bots\n").unwrap();
        let c = load(&[
            ("DEPLOYMENT_PLATFORM", "kubernetes"),
            ("KUBERNETES_BOT_NAMESPACE", "meeboter-bots"),
            ("BOT_IMAGE", "reg/bot"),
            ("KUBERNETES_POD_TEMPLATE", template.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(
            c.kubernetes.unwrap().pod_template.unwrap()["spec"]["nodeSelector"]["pool"],
            "bots"
        );
    }
}

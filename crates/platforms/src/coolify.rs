//! A typed client for the Coolify v4 API, written against its server code (see
//! `shared/reference/test-peers.md` §1): always `Accept: application/json`, POST for
//! start/stop/restart (GET is 405 since 4.2), statuses parsed as `state[:health]`,
//! 429 honoured: at least `Retry-After`, plus up to 20 % jitter, 404 on stop/delete treated as done, a
//! start without `deployment_uuid` ("already queued") and a `deployment_uuid` that later
//! 404s (queue full) both surfaced to the caller.

use rand::Rng;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// Default per-request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// Attempts for requests that are safe to repeat (reads, upserts, stop, delete).
const IDEMPOTENT_ATTEMPTS: u32 = 4;
/// Longest `Retry-After` we wait for inside one call before giving up on it.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoolifyError {
    #[error("Coolify rejected the token (401): check COOLIFY_API_TOKEN")]
    Unauthorized,
    #[error("Coolify refused: {0}")]
    Forbidden(String),
    #[error("Coolify rejected the request: {0}")]
    Invalid(String),
    #[error("Coolify is rate limiting this token (429)")]
    RateLimited,
    #[error("Coolify failed ({0}): {1}")]
    Server(u16, String),
    #[error("cannot reach Coolify: {0}")]
    Transport(String),
    #[error("unexpected answer from Coolify: {0}")]
    Unexpected(String),
}

impl CoolifyError {
    /// Worth retrying later (as opposed to a configuration or request problem).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::RateLimited | Self::Server(..) | Self::Transport(_))
    }
}

/// An application's container state, from `status` = `state[:health]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppState {
    Running,
    Starting,
    Restarting,
    Exited,
    /// Crash loop, mixed running and exited containers.
    Degraded,
    Paused,
    Other(String),
}

impl AppState {
    /// Parses the part before `:`; any suffix (or none) is accepted.
    pub fn parse(status: &str) -> Self {
        match status.split(':').next().unwrap_or("") {
            "running" => Self::Running,
            "starting" => Self::Starting,
            "restarting" => Self::Restarting,
            "exited" => Self::Exited,
            "degraded" => Self::Degraded,
            "paused" => Self::Paused,
            other => Self::Other(other.to_string()),
        }
    }
}

/// The fields of an application we use.
#[derive(Debug, Clone, PartialEq)]
pub struct Application {
    pub uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub status: String,
}

impl Application {
    fn from_json(v: &Value) -> Option<Self> {
        Some(Self {
            uuid: v.get("uuid")?.as_str()?.to_string(),
            name: v.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
            description: v.get("description").and_then(Value::as_str).map(str::to_string),
            status: v.get("status").and_then(Value::as_str).unwrap_or("exited").to_string(),
        })
    }

    pub fn state(&self) -> AppState {
        AppState::parse(&self.status)
    }
}

/// A docker-image application to create.
#[derive(Debug, Clone)]
pub struct NewApplication {
    pub project_uuid: String,
    pub server_uuid: String,
    pub environment_name: String,
    pub destination_uuid: Option<String>,
    pub image: String,
    pub tag: String,
    pub name: String,
    pub description: String,
    pub limits_cpus: Option<String>,
    pub limits_memory: Option<String>,
}

/// What a start request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    /// A deployment was queued; poll it.
    Queued { deployment_uuid: String },
    /// Coolify already had a deployment queued or running for this application.
    AlreadyQueued,
}

/// Deployment status (`ApplicationDeploymentStatus`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeploymentState {
    Queued,
    InProgress,
    Finished,
    Failed,
    Cancelled,
    Other(String),
}

impl DeploymentState {
    pub fn parse(s: &str) -> Self {
        match s {
            "queued" => Self::Queued,
            "in_progress" => Self::InProgress,
            "finished" => Self::Finished,
            "failed" => Self::Failed,
            "cancelled-by-user" => Self::Cancelled,
            other => Self::Other(other.to_string()),
        }
    }
}

#[derive(Clone)]
pub struct CoolifyClient {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl std::fmt::Debug for CoolifyClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CoolifyClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

fn jitter(d: Duration) -> Duration {
    let f = rand::rng().random_range(0.8..1.2);
    Duration::from_millis((d.as_millis() as f64 * f) as u64)
}

/// How long to wait after a 429 announcing `retry_after`: never less (a retry that comes
/// early only meets another 429), plus up to 20 % so waiting clients spread out.
pub fn retry_after_wait(retry_after: Duration) -> Duration {
    let f = rand::rng().random_range(1.0..=1.2);
    retry_after.mul_f64(f).max(retry_after)
}

fn message_of(body: &Value) -> String {
    let msg = body.get("message").and_then(Value::as_str).unwrap_or("").to_string();
    match body.get("errors") {
        Some(errors) => format!("{msg} {errors}"),
        None => msg,
    }
}

impl CoolifyClient {
    /// `base_url` is the API root, e.g. `https://coolify.example.com/api/v1`.
    pub fn new(base_url: &str, token: &str) -> Self {
        Self::with_timeout(base_url, token, REQUEST_TIMEOUT)
    }

    /// Like [`CoolifyClient::new`] with another per-request timeout.
    pub fn with_timeout(base_url: &str, token: &str, timeout: Duration) -> Self {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("Meeboter/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("static HTTP client configuration is valid");
        Self {
            http,
            base: base_url.trim_end_matches('/').to_string(),
            token: token.to_string(),
        }
    }

    /// Sends one request, retrying what is safe: 429 always (after `Retry-After`), server
    /// errors and transport failures only when `idempotent`. Returns status and JSON body.
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<(StatusCode, Value), CoolifyError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(&self.token)
                .header("accept", "application/json");
            if let Some(b) = body {
                req = req.json(b);
            }
            let last = attempt >= IDEMPOTENT_ATTEMPTS;
            let backoff = jitter(Duration::from_millis(200 * (1 << attempt.min(6))));
            let res = match req.send().await {
                Ok(r) => r,
                Err(e) if idempotent && !last => {
                    tracing::debug!(error = %e, path, "Coolify request failed; retrying");
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                Err(e) => return Err(CoolifyError::Transport(e.to_string())),
            };
            let status = res.status();
            if status == StatusCode::TOO_MANY_REQUESTS {
                let wait = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .unwrap_or(Duration::from_secs(5));
                if last || wait > MAX_RETRY_AFTER {
                    return Err(CoolifyError::RateLimited);
                }
                tokio::time::sleep(retry_after_wait(wait)).await;
                continue;
            }
            let text = res.text().await.unwrap_or_default();
            let json: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
            if status.is_server_error() {
                if idempotent && !last {
                    tokio::time::sleep(backoff).await;
                    continue;
                }
                return Err(CoolifyError::Server(status.as_u16(), message_of(&json)));
            }
            return match status {
                StatusCode::UNAUTHORIZED => Err(CoolifyError::Unauthorized),
                StatusCode::FORBIDDEN => Err(CoolifyError::Forbidden(message_of(&json))),
                StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY | StatusCode::METHOD_NOT_ALLOWED => {
                    Err(CoolifyError::Invalid(message_of(&json)))
                }
                _ => Ok((status, json)),
            };
        }
    }

    fn expect_ok(status: StatusCode, body: &Value, what: &str) -> Result<(), CoolifyError> {
        if status.is_success() {
            Ok(())
        } else {
            Err(CoolifyError::Unexpected(format!(
                "{what}: {status} {}",
                message_of(body)
            )))
        }
    }

    /// The Coolify version (also a cheap credentials check).
    pub async fn version(&self) -> Result<String, CoolifyError> {
        let (status, body) = self.send(Method::GET, "/version", None, true).await?;
        Self::expect_ok(status, &body, "version")?;
        Ok(body.as_str().map(str::to_string).unwrap_or_else(|| body.to_string()))
    }

    pub async fn list_applications(&self) -> Result<Vec<Application>, CoolifyError> {
        let (status, body) = self.send(Method::GET, "/applications", None, true).await?;
        Self::expect_ok(status, &body, "list applications")?;
        Ok(body
            .as_array()
            .map(|a| a.iter().filter_map(Application::from_json).collect())
            .unwrap_or_default())
    }

    /// `None` when the application does not exist (any more).
    pub async fn get_application(&self, uuid: &str) -> Result<Option<Application>, CoolifyError> {
        let (status, body) = self
            .send(Method::GET, &format!("/applications/{uuid}"), None, true)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::expect_ok(status, &body, "get application")?;
        Application::from_json(&body)
            .map(Some)
            .ok_or_else(|| CoolifyError::Unexpected(format!("application without uuid: {body}")))
    }

    /// Creates a docker-image application (never retried: a retry could create two).
    pub async fn create_application(&self, app: &NewApplication) -> Result<String, CoolifyError> {
        let mut body = json!({
            "project_uuid": app.project_uuid,
            "server_uuid": app.server_uuid,
            "environment_name": app.environment_name,
            "docker_registry_image_name": app.image,
            "docker_registry_image_tag": app.tag,
            "name": app.name,
            "description": app.description,
            "ports_exposes": "3000",
            "instant_deploy": false,
        });
        if let Some(d) = &app.destination_uuid {
            body["destination_uuid"] = json!(d);
        }
        if let Some(c) = &app.limits_cpus {
            body["limits_cpus"] = json!(c);
        }
        if let Some(m) = &app.limits_memory {
            body["limits_memory"] = json!(m);
        }
        let (status, resp) = self
            .send(Method::POST, "/applications/dockerimage", Some(&body), false)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Err(CoolifyError::Invalid(message_of(&resp)));
        }
        Self::expect_ok(status, &resp, "create application")?;
        resp.get("uuid")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| CoolifyError::Unexpected(format!("create answered without uuid: {resp}")))
    }

    /// Sets the description (we mirror slot state there for operators).
    pub async fn set_description(&self, uuid: &str, description: &str) -> Result<bool, CoolifyError> {
        let body = json!({ "description": description });
        let (status, resp) = self
            .send(Method::PATCH, &format!("/applications/{uuid}"), Some(&body), true)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        Self::expect_ok(status, &resp, "update application")?;
        Ok(true)
    }

    /// Upserts env vars in one call (`PATCH …/envs/bulk`). Returns false if the app is gone.
    pub async fn upsert_envs(&self, uuid: &str, envs: &BTreeMap<String, String>) -> Result<bool, CoolifyError> {
        let data: Vec<Value> = envs
            .iter()
            .map(|(k, v)| json!({"key": k, "value": v, "is_literal": true}))
            .collect();
        let body = json!({ "data": data });
        let (status, resp) = self
            .send(
                Method::PATCH,
                &format!("/applications/{uuid}/envs/bulk"),
                Some(&body),
                true,
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(false);
        }
        Self::expect_ok(status, &resp, "upsert env")?;
        Ok(true)
    }

    /// The application's env vars as Coolify holds them.
    pub async fn envs(&self, uuid: &str) -> Result<BTreeMap<String, String>, CoolifyError> {
        let (status, body) = self
            .send(Method::GET, &format!("/applications/{uuid}/envs"), None, true)
            .await?;
        Self::expect_ok(status, &body, "list env")?;
        Ok(body
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|e| !e.get("is_preview").and_then(Value::as_bool).unwrap_or(false))
                    .filter_map(|e| {
                        let k = e.get("key")?.as_str()?.to_string();
                        let v = e.get("value").and_then(Value::as_str).unwrap_or_default().to_string();
                        Some((k, v))
                    })
                    .collect()
            })
            .unwrap_or_default())
    }

    /// Starts (deploys) the application. `None` if it does not exist.
    ///
    /// Never repeated after a lost answer (only after 429, which means "not done"): a
    /// start repeated once the first deployment finished restarts the container. Callers
    /// that lose the answer check [`CoolifyClient::latest_deployment`] instead.
    pub async fn start(&self, uuid: &str) -> Result<Option<StartOutcome>, CoolifyError> {
        let (status, body) = self
            .send(Method::POST, &format!("/applications/{uuid}/start"), None, false)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::expect_ok(status, &body, "start")?;
        Ok(Some(match body.get("deployment_uuid").and_then(Value::as_str) {
            Some(d) => StartOutcome::Queued {
                deployment_uuid: d.to_string(),
            },
            None => StartOutcome::AlreadyQueued,
        }))
    }

    /// Asks the application to stop (asynchronous); an unknown application counts as stopped.
    pub async fn stop(&self, uuid: &str) -> Result<(), CoolifyError> {
        let (status, body) = self
            .send(Method::POST, &format!("/applications/{uuid}/stop"), None, true)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Self::expect_ok(status, &body, "stop")
    }

    /// Deletes the application and its volumes (asynchronous); unknown counts as deleted.
    pub async fn delete_application(&self, uuid: &str) -> Result<(), CoolifyError> {
        let path = format!(
            "/applications/{uuid}?delete_configurations=true&delete_volumes=true&docker_cleanup=true&delete_connected_networks=true"
        );
        let (status, body) = self.send(Method::DELETE, &path, None, true).await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(());
        }
        Self::expect_ok(status, &body, "delete")
    }

    /// A deployment's state; `None` if Coolify has no such deployment (e.g. the start was
    /// accepted while the queue was full).
    /// The application's newest deployment (uuid and state), if it has any; `None` also
    /// when the application does not exist.
    pub async fn latest_deployment(&self, app_uuid: &str) -> Result<Option<(String, DeploymentState)>, CoolifyError> {
        let (status, body) = self
            .send(
                Method::GET,
                &format!("/deployments/applications/{app_uuid}?take=1"),
                None,
                true,
            )
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::expect_ok(status, &body, "application deployments")?;
        // Coolify answers `{count, deployments: [...]}`, newest first.
        let newest = body
            .get("deployments")
            .and_then(Value::as_array)
            .and_then(|list| list.first())
            .and_then(|d| {
                let uuid = d.get("deployment_uuid")?.as_str()?.to_string();
                let state = DeploymentState::parse(d.get("status").and_then(Value::as_str).unwrap_or(""));
                Some((uuid, state))
            });
        Ok(newest)
    }

    pub async fn deployment(&self, deployment_uuid: &str) -> Result<Option<DeploymentState>, CoolifyError> {
        let (status, body) = self
            .send(Method::GET, &format!("/deployments/{deployment_uuid}"), None, true)
            .await?;
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        Self::expect_ok(status, &body, "deployment")?;
        Ok(body.get("status").and_then(Value::as_str).map(DeploymentState::parse))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coolify_fake::{CoolifyFake, DESTINATION_UUID, ENVIRONMENT, PROJECT_UUID, SERVER_UUID};

    fn new_app(name: &str) -> NewApplication {
        NewApplication {
            project_uuid: PROJECT_UUID.into(),
            server_uuid: SERVER_UUID.into(),
            environment_name: ENVIRONMENT.into(),
            destination_uuid: Some(DESTINATION_UUID.into()),
            image: "ghcr.io/acme/meeboter-bot".into(),
            tag: "latest".into(),
            name: name.into(),
            description: "meeboter slot".into(),
            limits_cpus: Some("1".into()),
            limits_memory: Some("2048m".into()),
        }
    }

    async fn wait_state(client: &CoolifyClient, uuid: &str, want: AppState) {
        for _ in 0..200 {
            if client.get_application(uuid).await.unwrap().unwrap().state() == want {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{uuid} never reached {want:?}");
    }

    #[test]
    fn retry_after_is_waited_in_full_and_jitter_only_adds() {
        for secs in [1u64, 5, 60] {
            let announced = Duration::from_secs(secs);
            let waits: Vec<Duration> = (0..2000).map(|_| retry_after_wait(announced)).collect();
            assert!(waits.iter().all(|w| *w >= announced), "never early");
            assert!(waits.iter().all(|w| *w <= announced.mul_f64(1.2)), "at most 20 % more");
            assert!(waits.iter().any(|w| *w > announced.mul_f64(1.1)), "spread out");
        }
    }

    #[test]
    fn statuses_parse_by_prefix() {
        assert_eq!(AppState::parse("running:healthy"), AppState::Running);
        assert_eq!(AppState::parse("running:unknown"), AppState::Running);
        assert_eq!(AppState::parse("exited"), AppState::Exited);
        assert_eq!(AppState::parse("exited:unhealthy"), AppState::Exited);
        assert_eq!(AppState::parse("degraded:unhealthy"), AppState::Degraded);
        assert_eq!(AppState::parse("starting:unknown"), AppState::Starting);
        assert_eq!(AppState::parse("weird"), AppState::Other("weird".into()));
    }

    #[tokio::test]
    async fn full_slot_cycle_against_the_fake() {
        let fake = CoolifyFake::start("tok").await;
        let client = CoolifyClient::new(&fake.base_url, "tok");
        assert_eq!(client.version().await.unwrap(), "4.3.11");
        let uuid = client.create_application(&new_app("meeboter-slot-1")).await.unwrap();
        assert_eq!(
            client.get_application(&uuid).await.unwrap().unwrap().state(),
            AppState::Exited
        );
        let envs = BTreeMap::from([
            ("BOT_ID".to_string(), "b1".to_string()),
            ("MEETING_URL".to_string(), "x".to_string()),
        ]);
        assert!(client.upsert_envs(&uuid, &envs).await.unwrap());
        // Upsert again with a changed value: updated, not duplicated.
        let envs2 = BTreeMap::from([("BOT_ID".to_string(), "b2".to_string())]);
        client.upsert_envs(&uuid, &envs2).await.unwrap();
        assert_eq!(client.envs(&uuid).await.unwrap()["BOT_ID"], "b2");
        let StartOutcome::Queued { deployment_uuid } = client.start(&uuid).await.unwrap().unwrap() else {
            panic!("expected a deployment");
        };
        assert_eq!(client.start(&uuid).await.unwrap(), Some(StartOutcome::AlreadyQueued));
        let mut seen = Vec::new();
        loop {
            let s = client.deployment(&deployment_uuid).await.unwrap().unwrap();
            if seen.last() != Some(&s) {
                seen.push(s.clone());
            }
            if s == DeploymentState::Finished {
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(seen.last(), Some(&DeploymentState::Finished));
        wait_state(&client, &uuid, AppState::Running).await;
        client.stop(&uuid).await.unwrap();
        assert_eq!(
            client.get_application(&uuid).await.unwrap().unwrap().state(),
            AppState::Running,
            "stop is async"
        );
        wait_state(&client, &uuid, AppState::Exited).await;
        assert!(client.set_description(&uuid, "meeboter:idle").await.unwrap());
        client.delete_application(&uuid).await.unwrap();
        assert_eq!(client.get_application(&uuid).await.unwrap(), None);
        // Gone is fine for stop and delete.
        client.stop(&uuid).await.unwrap();
        client.delete_application(&uuid).await.unwrap();
        assert_eq!(client.start(&uuid).await.unwrap(), None);
        // State-changing calls went out as POST.
        assert!(
            fake.calls()
                .iter()
                .any(|c| c == &format!("POST /applications/{uuid}/start"))
        );
    }

    /// Coolify 4.3.11: a stop does not stop a deployment in flight — its container comes up
    /// when it finishes, with the environment it was queued with — and a start meanwhile
    /// answers "already queued" without a deployment uuid.
    #[tokio::test]
    async fn a_deployment_in_flight_outlives_a_stop_and_refuses_a_second_start() {
        let fake = CoolifyFake::start("tok").await;
        fake.control(|c| {
            c.queued_for = Duration::from_millis(100);
            c.in_progress_for = Duration::from_millis(400);
        });
        let client = CoolifyClient::new(&fake.base_url, "tok");
        let uuid = client.create_application(&new_app("slot")).await.unwrap();
        let a = BTreeMap::from([("BOT_ID".to_string(), "a".to_string())]);
        client.upsert_envs(&uuid, &a).await.unwrap();
        let Some(StartOutcome::Queued { deployment_uuid }) = client.start(&uuid).await.unwrap() else {
            panic!("expected a deployment");
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        client.stop(&uuid).await.unwrap();
        let b = BTreeMap::from([("BOT_ID".to_string(), "b".to_string())]);
        client.upsert_envs(&uuid, &b).await.unwrap();
        assert_eq!(client.start(&uuid).await.unwrap(), Some(StartOutcome::AlreadyQueued));
        assert_eq!(
            client.latest_deployment(&uuid).await.unwrap(),
            Some((deployment_uuid.clone(), DeploymentState::InProgress))
        );
        wait_state(&client, &uuid, AppState::Running).await;
        let deployments = fake.deployments_of(&uuid);
        assert_eq!(deployments.len(), 1);
        assert_eq!(
            deployments[0].env["BOT_ID"], "a",
            "the container runs the first environment"
        );
        // Stopped again once the deployment is over, it stays stopped.
        client.stop(&uuid).await.unwrap();
        wait_state(&client, &uuid, AppState::Exited).await;
    }

    #[tokio::test]
    async fn errors_retries_and_rate_limits() {
        let fake = CoolifyFake::start("tok").await;
        let bad = CoolifyClient::new(&fake.base_url, "wrong");
        assert_eq!(bad.list_applications().await, Err(CoolifyError::Unauthorized));

        let client = CoolifyClient::new(&fake.base_url, "tok");
        // 429 with Retry-After: waited out and retried.
        fake.control(|c| c.throttle_next = 1);
        let started = std::time::Instant::now();
        assert!(client.list_applications().await.unwrap().is_empty());
        assert!(
            started.elapsed() >= Duration::from_secs(1),
            "Retry-After honoured in full"
        );
        // 5xx on a read: retried.
        fake.control(|c| c.error_next = 2);
        assert!(client.list_applications().await.is_ok());
        // 5xx on create: not retried (could create twice), reported as transient.
        fake.control(|c| c.error_next = 1);
        let err = client.create_application(&new_app("x")).await.unwrap_err();
        assert!(err.is_transient(), "{err:?}");
        assert!(fake.app_uuids().is_empty());
        // Validation: unknown environment is a permanent problem.
        let mut wrong = new_app("y");
        wrong.project_uuid = "nope".into();
        let err = client.create_application(&wrong).await.unwrap_err();
        assert!(
            matches!(err, CoolifyError::Invalid(ref m) if m.contains("Project not found")),
            "{err:?}"
        );
        // Queue full: a deployment uuid that never exists.
        let uuid = client.create_application(&new_app("z")).await.unwrap();
        fake.control(|c| c.queue_full_next = 1);
        let Some(StartOutcome::Queued { deployment_uuid }) = client.start(&uuid).await.unwrap() else {
            panic!("expected a deployment uuid");
        };
        assert_eq!(client.deployment(&deployment_uuid).await.unwrap(), None);
        // A failed deployment is reported as such.
        fake.control(|c| c.fail_next_deployments = 1);
        let Some(StartOutcome::Queued { deployment_uuid }) = client.start(&uuid).await.unwrap() else {
            panic!("expected a deployment uuid");
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert_eq!(
            client.deployment(&deployment_uuid).await.unwrap(),
            Some(DeploymentState::Failed)
        );
    }

    #[tokio::test]
    async fn the_fake_behaves_like_coolify_on_get_start_and_unknown_fields() {
        let fake = CoolifyFake::start("tok").await;
        let http = reqwest::Client::new();
        let client = CoolifyClient::new(&fake.base_url, "tok");
        let uuid = client.create_application(&new_app("a")).await.unwrap();
        let res = http
            .get(format!("{}/applications/{uuid}/start", fake.base_url))
            .bearer_auth("tok")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 405);
        assert_eq!(res.headers()["allow"], "POST");
        let res = http
            .patch(format!("{}/applications/{uuid}", fake.base_url))
            .bearer_auth("tok")
            .json(&json!({"project_uuid": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 422);
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["errors"]["project_uuid"][0], "This field is not allowed.");
        let res = http
            .post(format!("{}/applications/{uuid}/envs", fake.base_url))
            .bearer_auth("tok")
            .json(&json!({"key": "A", "value": "1"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let again = http
            .post(format!("{}/applications/{uuid}/envs", fake.base_url))
            .bearer_auth("tok")
            .json(&json!({"key": "A", "value": "2"}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 409);
    }
}

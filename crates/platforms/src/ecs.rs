//! AWS ECS (Fargate): one task per bot, stopped when the bot ends.
//!
//! - Deploy is `RunTask` with the bot's environment as a container override, `startedBy`
//!   = the bot id, tags naming the bot, attempt and installation, and a client token per
//!   bot attempt, so a retried call cannot start a second task.
//! - With `ECS_CAPACITY_PROVIDERS=FARGATE_SPOT,FARGATE`, Spot is tried first and on-demand
//!   when Spot reports no capacity.
//! - Observation batches `DescribeTasks` (≤ 100 ARNs); a `MISSING` task is gone.
//! - [`Platform::instances`] lists this installation's tasks (by tag) for the server's
//!   orphan sweep; tasks without our installation tag are never touched.
//!
//! Every call has a per-attempt and an overall timeout; the SDK's standard retry mode
//! (3 attempts, exponential backoff with jitter) retries throttling and 5xx.

use crate::{BotLaunch, Instance, InstanceState, Launched, Platform, PlatformError};
use async_trait::async_trait;
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, ContainerOverride, KeyValuePair, LaunchType,
    NetworkConfiguration, Tag, Task, TaskOverride,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

const PLATFORM: &str = "aws";
/// Tag keys on every task this installation starts.
pub const TAG_BOT: &str = "meeboter:bot-id";
pub const TAG_ATTEMPT: &str = "meeboter:attempt";
pub const TAG_INSTALLATION: &str = "meeboter:installation";
/// `DescribeTasks` takes at most this many ARNs.
const DESCRIBE_BATCH: usize = 100;

/// The settings of the ECS platform (the deployment guide's names in brackets).
#[derive(Clone, PartialEq, Eq)]
pub struct EcsSettings {
    /// `AWS_REGION`
    pub region: String,
    /// `ECS_CLUSTER` (name or ARN)
    pub cluster: String,
    /// `ECS_SUBNETS`
    pub subnets: Vec<String>,
    /// `ECS_SECURITY_GROUPS`
    pub security_groups: Vec<String>,
    /// `ECS_ASSIGN_PUBLIC_IP`
    pub assign_public_ip: bool,
    /// Task definition per `MEETING_PLATFORM` value (`zoom`, `teams`, `meet`):
    /// `ECS_TASK_DEF_ZOOM`, `ECS_TASK_DEF_MICROSOFT_TEAMS`, `ECS_TASK_DEF_GOOGLE_MEET`.
    pub task_definitions: BTreeMap<String, String>,
    /// `ECS_TASK_DEF`: for meeting platforms without their own.
    pub default_task_definition: Option<String>,
    /// `ECS_CONTAINER_NAME`; default: the task definition's first container.
    pub container_name: Option<String>,
    /// `ECS_CAPACITY_PROVIDERS` in order of preference; empty = launch type `FARGATE`.
    pub capacity_providers: Vec<String>,
    /// `AWS_ENDPOINT_URL` (LocalStack, moto).
    pub endpoint_url: Option<String>,
    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`; `None` = the default credential chain.
    pub static_credentials: Option<(String, String)>,
    /// Timeout of one API call attempt.
    pub request_timeout: Duration,
}

impl std::fmt::Debug for EcsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EcsSettings")
            .field("region", &self.region)
            .field("cluster", &self.cluster)
            .field("subnets", &self.subnets)
            .field("task_definitions", &self.task_definitions)
            .field("default_task_definition", &self.default_task_definition)
            .field("capacity_providers", &self.capacity_providers)
            .field("endpoint_url", &self.endpoint_url)
            .field(
                "static_credentials",
                &self.static_credentials.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

impl EcsSettings {
    /// The task definition for a `MEETING_PLATFORM` value.
    pub fn task_definition_for(&self, meeting_platform: &str) -> Option<&str> {
        self.task_definitions
            .get(meeting_platform)
            .or(self.default_task_definition.as_ref())
            .map(String::as_str)
    }
}

/// The ECS platform.
pub struct EcsPlatform {
    client: aws_sdk_ecs::Client,
    settings: EcsSettings,
    installation: String,
    /// First container name per task definition (read once).
    containers: Mutex<HashMap<String, String>>,
}

/// An ECS API failure, classified.
fn classify<E>(what: &str, err: SdkError<E, aws_sdk_ecs::config::http::HttpResponse>) -> PlatformError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match &err {
        SdkError::ServiceError(service) => {
            let e = service.err();
            let code = e.code().unwrap_or("Unknown");
            let msg = e.message().unwrap_or("");
            match code {
                "ThrottlingException" | "ServerException" | "ServiceUnavailableException" | "InternalFailure" => {
                    PlatformError::Transient(format!("ECS {what}: {code}: {msg}"))
                }
                "ClusterNotFoundException" => PlatformError::Permanent(format!(
                    "ECS {what}: the cluster does not exist (check ECS_CLUSTER and AWS_REGION): {msg}"
                )),
                "AccessDeniedException" | "UnrecognizedClientException" | "InvalidSignatureException" => {
                    PlatformError::Permanent(format!(
                        "ECS {what}: AWS refused the credentials or a permission is missing \
                         (ecs:RunTask, ecs:StopTask, ecs:DescribeTasks, ecs:ListTasks, iam:PassRole): {code}: {msg}"
                    ))
                }
                "ClientException" if msg.to_lowercase().contains("task definition") => PlatformError::Permanent(
                    format!("ECS {what}: unknown task definition (check ECS_TASK_DEF / ECS_TASK_DEF_*): {msg}"),
                ),
                _ => {
                    let lower = msg.to_lowercase();
                    let hint = if lower.contains("subnet") {
                        " (check ECS_SUBNETS)"
                    } else if lower.contains("security group") {
                        " (check ECS_SECURITY_GROUPS)"
                    } else if lower.contains("capacity provider") {
                        " (check ECS_CAPACITY_PROVIDERS)"
                    } else {
                        ""
                    };
                    if service.raw().status().as_u16() >= 500 {
                        PlatformError::Transient(format!("ECS {what}: {code}: {msg}"))
                    } else {
                        PlatformError::Permanent(format!("ECS {what}: {code}: {msg}{hint}"))
                    }
                }
            }
        }
        SdkError::ConstructionFailure(_) => PlatformError::Permanent(format!("ECS {what}: invalid request: {err:?}")),
        // Timeouts, connection failures, unreadable answers: try again later.
        _ => PlatformError::Transient(format!("ECS {what}: {}", error_chain(&err))),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// What a task's state means for its bot.
pub fn task_state(task: &Task) -> InstanceState {
    match task.last_status().unwrap_or("") {
        "DEACTIVATING" | "STOPPING" | "DEPROVISIONING" | "STOPPED" => {
            let mut reason = task.stopped_reason().unwrap_or("the task stopped").to_string();
            if let Some(code) = task.stop_code() {
                reason = format!("{reason} ({})", code.as_str());
            }
            InstanceState::Stopped { reason }
        }
        // PROVISIONING, PENDING, ACTIVATING (still deploying) and RUNNING.
        _ => InstanceState::Running,
    }
}

/// Whether a `RunTask` failure reason means "no capacity here, try elsewhere".
fn is_capacity_failure(reason: &str) -> bool {
    let r = reason.to_lowercase();
    r.contains("capacity") || r.starts_with("resource:")
}

impl EcsPlatform {
    /// Builds the SDK client from the settings; `installation` marks this installation's tasks.
    pub async fn new(settings: EcsSettings, installation: &str) -> Self {
        let timeouts = aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(settings.request_timeout)
            .operation_timeout(settings.request_timeout * 3 + Duration::from_secs(5))
            .connect_timeout(Duration::from_secs(5))
            .build();
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(settings.region.clone()))
            .timeout_config(timeouts)
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(3));
        if let Some(url) = &settings.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some((id, secret)) = &settings.static_credentials {
            loader = loader.credentials_provider(aws_sdk_ecs::config::Credentials::new(
                id,
                secret,
                None,
                None,
                "meeboter-config",
            ));
        }
        let conf = loader.load().await;
        Self {
            client: aws_sdk_ecs::Client::new(&conf),
            settings,
            installation: installation.to_string(),
            containers: Mutex::new(HashMap::new()),
        }
    }

    /// The container whose environment is overridden.
    async fn container_for(&self, task_definition: &str) -> Result<String, PlatformError> {
        if let Some(name) = &self.settings.container_name {
            return Ok(name.clone());
        }
        if let Some(name) = self
            .containers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(task_definition)
        {
            return Ok(name.clone());
        }
        let out = self
            .client
            .describe_task_definition()
            .task_definition(task_definition)
            .send()
            .await
            .map_err(|e| classify("DescribeTaskDefinition", e))?;
        let name = out
            .task_definition()
            .and_then(|td| td.container_definitions().first())
            .and_then(|c| c.name())
            .ok_or_else(|| {
                PlatformError::Permanent(format!(
                    "ECS task definition {task_definition} has no container definitions"
                ))
            })?
            .to_string();
        self.containers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(task_definition.to_string(), name.clone());
        Ok(name)
    }

    fn network(&self) -> Result<NetworkConfiguration, PlatformError> {
        let vpc = AwsVpcConfiguration::builder()
            .set_subnets(Some(self.settings.subnets.clone()))
            .set_security_groups(
                (!self.settings.security_groups.is_empty()).then(|| self.settings.security_groups.clone()),
            )
            .assign_public_ip(if self.settings.assign_public_ip {
                AssignPublicIp::Enabled
            } else {
                AssignPublicIp::Disabled
            })
            .build()
            .map_err(|e| PlatformError::Permanent(format!("ECS network configuration: {e}")))?;
        Ok(NetworkConfiguration::builder().awsvpc_configuration(vpc).build())
    }

    /// One `RunTask`; `provider` = capacity provider, or `None` for launch type FARGATE.
    async fn run_task(
        &self,
        launch: &BotLaunch,
        task_definition: &str,
        container: &str,
        provider: Option<&str>,
    ) -> Result<Result<String, String>, PlatformError> {
        let env: Vec<KeyValuePair> = launch
            .env
            .iter()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect();
        let overrides = TaskOverride::builder()
            .container_overrides(
                ContainerOverride::builder()
                    .name(container)
                    .set_environment(Some(env))
                    .build(),
            )
            .build();
        let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
        let mut req = self
            .client
            .run_task()
            .cluster(&self.settings.cluster)
            .task_definition(task_definition)
            .count(1)
            .started_by(&launch.bot_id)
            // One client token per bot attempt (and provider): a retried call answers with
            // the task the first one started instead of starting another.
            .client_token(format!(
                "{}-{}{}",
                launch.bot_id,
                launch.attempt,
                provider.map(|p| format!("-{}", p.to_lowercase())).unwrap_or_default()
            ))
            .network_configuration(self.network()?)
            .overrides(overrides)
            .tags(tag(TAG_BOT, &launch.bot_id))
            .tags(tag(TAG_ATTEMPT, &launch.attempt.to_string()))
            .tags(tag(TAG_INSTALLATION, &self.installation));
        req = match provider {
            Some(p) => req.capacity_provider_strategy(
                CapacityProviderStrategyItem::builder()
                    .capacity_provider(p)
                    .weight(1)
                    .build()
                    .map_err(|e| PlatformError::Permanent(format!("ECS capacity provider {p}: {e}")))?,
            ),
            None => req.launch_type(LaunchType::Fargate),
        };
        let out = req.send().await.map_err(|e| classify("RunTask", e))?;
        if let Some(arn) = out.tasks().first().and_then(|t| t.task_arn()) {
            return Ok(Ok(arn.to_string()));
        }
        let reasons: Vec<String> = out
            .failures()
            .iter()
            .map(|f| {
                let mut r = f.reason().unwrap_or("unknown").to_string();
                if let Some(d) = f.detail() {
                    r = format!("{r}: {d}");
                }
                r
            })
            .collect();
        Ok(Err(if reasons.is_empty() {
            "RunTask started no task and gave no reason".to_string()
        } else {
            reasons.join("; ")
        }))
    }

    /// `DescribeTasks` for any number of ARNs, in batches of 100 (the API's limit).
    async fn describe_tasks(&self, arns: &[String], with_tags: bool) -> Result<Vec<Task>, PlatformError> {
        let mut tasks = Vec::new();
        for batch in arns.chunks(DESCRIBE_BATCH) {
            let mut req = self
                .client
                .describe_tasks()
                .cluster(&self.settings.cluster)
                .set_tasks(Some(batch.to_vec()));
            if with_tags {
                req = req.include(aws_sdk_ecs::types::TaskField::Tags);
            }
            let res = req.send().await.map_err(|e| classify("DescribeTasks", e))?;
            tasks.extend(res.tasks().iter().cloned());
        }
        Ok(tasks)
    }

    /// What became of each task; unknown ones are `Gone`.
    pub async fn describe(&self, arns: &[String]) -> Result<HashMap<String, InstanceState>, PlatformError> {
        let mut out: HashMap<String, InstanceState> = self
            .describe_tasks(arns, false)
            .await?
            .iter()
            .filter_map(|t| Some((t.task_arn()?.to_string(), task_state(t))))
            .collect();
        // `failures: [{arn, reason: "MISSING"}]` — and moto simply leaves them out.
        for arn in arns {
            out.entry(arn.clone()).or_insert(InstanceState::Gone);
        }
        Ok(out)
    }

    /// Every task ARN in the cluster that is meant to run (all pages).
    pub async fn list_running(&self, started_by: Option<&str>) -> Result<Vec<String>, PlatformError> {
        let mut arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let res = self
                .client
                .list_tasks()
                .cluster(&self.settings.cluster)
                .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
                .set_started_by(started_by.map(str::to_string))
                .max_results(100)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| classify("ListTasks", e))?;
            arns.extend(res.task_arns().iter().cloned());
            match res.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => return Ok(arns),
            }
        }
    }

    /// Tasks of this installation (ARN → (bot id, attempt)), with their tags.
    async fn our_tasks(&self, arns: &[String]) -> Result<Vec<(String, String, u32)>, PlatformError> {
        let mut ours = Vec::new();
        for task in self.describe_tasks(arns, true).await? {
            let tag = |k: &str| {
                task.tags()
                    .iter()
                    .find(|t| t.key() == Some(k))
                    .and_then(|t| t.value())
                    .map(str::to_string)
            };
            if tag(TAG_INSTALLATION).as_deref() != Some(self.installation.as_str()) {
                continue; // never touch anything another installation (or person) started
            }
            if let (Some(arn), Some(bot)) = (task.task_arn(), tag(TAG_BOT)) {
                let attempt = tag(TAG_ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(0);
                ours.push((arn.to_string(), bot, attempt));
            }
        }
        Ok(ours)
    }
}

#[async_trait]
impl Platform for EcsPlatform {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError> {
        let meeting_platform = launch.env.get("MEETING_PLATFORM").map_or("", String::as_str);
        let task_definition = self.settings.task_definition_for(meeting_platform).ok_or_else(|| {
            PlatformError::Permanent(format!(
                "no ECS task definition for {meeting_platform} meetings: set ECS_TASK_DEF or the platform's ECS_TASK_DEF_*"
            ))
        })?;
        let container = self.container_for(task_definition).await?;
        let providers: Vec<Option<&str>> = if self.settings.capacity_providers.is_empty() {
            vec![None]
        } else {
            self.settings
                .capacity_providers
                .iter()
                .map(|p| Some(p.as_str()))
                .collect()
        };
        let mut capacity_failures = Vec::new();
        for provider in providers {
            match self.run_task(launch, task_definition, &container, provider).await? {
                Ok(arn) => {
                    tracing::info!(bot.id = %launch.bot_id, task = %arn, provider = provider.unwrap_or("FARGATE"), "ECS task started");
                    return Ok(Launched { identifier: arn });
                }
                Err(reason) if is_capacity_failure(&reason) => {
                    tracing::warn!(bot.id = %launch.bot_id, provider = provider.unwrap_or("FARGATE"), %reason, "no capacity; trying the next provider");
                    capacity_failures.push(format!("{}: {reason}", provider.unwrap_or("FARGATE")));
                }
                Err(reason) => return Err(PlatformError::Permanent(format!("ECS RunTask failed: {reason}"))),
            }
        }
        Err(PlatformError::Transient(format!(
            "no Fargate capacity: {}",
            capacity_failures.join("; ")
        )))
    }

    async fn stop(&self, identifier: &str) -> Result<(), PlatformError> {
        let res = self
            .client
            .stop_task()
            .cluster(&self.settings.cluster)
            .task(identifier)
            .reason("Meeboter: the bot has ended")
            .send()
            .await;
        match res {
            Ok(_) => Ok(()),
            Err(e) => {
                // Already stopped or unknown counts as stopped (AWS answers
                // InvalidParameterException for an unknown task; moto a 500).
                match self.describe(&[identifier.to_string()]).await {
                    Ok(states) if !matches!(states.get(identifier), Some(InstanceState::Running)) => Ok(()),
                    _ => Err(classify("StopTask", e)),
                }
            }
        }
    }

    async fn observe(&self, identifier: &str) -> Result<InstanceState, PlatformError> {
        Ok(self
            .describe(&[identifier.to_string()])
            .await?
            .remove(identifier)
            .unwrap_or(InstanceState::Gone))
    }

    async fn observe_many(&self, identifiers: &[String]) -> Result<HashMap<String, InstanceState>, PlatformError> {
        self.describe(identifiers).await
    }

    async fn find(&self, bot_id: &str, attempt: u32) -> Result<Option<Launched>, PlatformError> {
        let arns = self.list_running(Some(bot_id)).await?;
        Ok(self
            .our_tasks(&arns)
            .await?
            .into_iter()
            .find(|(_, bot, a)| bot == bot_id && *a == attempt)
            .map(|(arn, _, _)| Launched { identifier: arn }))
    }

    fn observe_interval(&self) -> Duration {
        Duration::from_secs(10)
    }

    async fn instances(&self) -> Result<Option<Vec<Instance>>, PlatformError> {
        let arns = self.list_running(None).await?;
        Ok(Some(
            self.our_tasks(&arns)
                .await?
                .into_iter()
                .map(|(identifier, bot_id, attempt)| Instance {
                    identifier,
                    bot_id,
                    attempt,
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    //! Behaviour moto does not model (MISSING failures, pagination, stop codes, Spot
    //! capacity failures, AWS error codes), against recorded ECS JSON responses.
    use super::*;
    use axum::http::{HeaderMap, StatusCode};
    use serde_json::{Value, json};
    use std::sync::Arc;

    type Script = Arc<dyn Fn(&str, &Value) -> (StatusCode, Value) + Send + Sync>;

    /// Serves the ECS JSON protocol from `script(operation, request)`; records requests.
    async fn scripted(script: Script) -> (String, Arc<Mutex<Vec<(String, Value)>>>) {
        let seen: Arc<Mutex<Vec<(String, Value)>>> = Arc::default();
        let log = seen.clone();
        let app = axum::Router::new().fallback(move |headers: HeaderMap, body: String| {
            let script = script.clone();
            let log = log.clone();
            async move {
                let op = headers
                    .get("x-amz-target")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.rsplit('.').next())
                    .unwrap_or("")
                    .to_string();
                let req: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push((op.clone(), req.clone()));
                let (status, out) = script(&op, &req);
                (
                    status,
                    [("content-type", "application/x-amz-json-1.1")],
                    out.to_string(),
                )
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        (url, seen)
    }

    fn settings(url: &str) -> EcsSettings {
        EcsSettings {
            region: "us-east-1".into(),
            cluster: "bots".into(),
            subnets: vec!["subnet-1".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: true,
            task_definitions: BTreeMap::new(),
            default_task_definition: Some("meeboter-bot".into()),
            container_name: Some("bot".into()),
            capacity_providers: vec![],
            endpoint_url: Some(url.into()),
            static_credentials: Some(("test".into(), "test".into())),
            request_timeout: Duration::from_secs(2),
        }
    }

    fn launch() -> BotLaunch {
        BotLaunch {
            bot_id: "01a2-bot".into(),
            attempt: 2,
            max_duration_secs: 14_400,
            env: [("BOT_ID", "01a2-bot"), ("MEETING_PLATFORM", "zoom")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[tokio::test]
    async fn describe_maps_states_stop_codes_and_missing_tasks() {
        let (url, seen) = scripted(Arc::new(|op, _| {
            assert_eq!(op, "DescribeTasks");
            (
                StatusCode::OK,
                json!({
                    "tasks": [
                        {"taskArn": "arn:task/a", "lastStatus": "PROVISIONING"},
                        {"taskArn": "arn:task/b", "lastStatus": "RUNNING"},
                        {"taskArn": "arn:task/c", "lastStatus": "STOPPED", "stopCode": "SpotInterruption",
                         "stoppedReason": "Your Spot Task was interrupted."},
                        {"taskArn": "arn:task/d", "lastStatus": "DEPROVISIONING", "stopCode": "EssentialContainerExited",
                         "stoppedReason": "Essential container in task exited"}
                    ],
                    "failures": [{"arn": "arn:task/e", "reason": "MISSING"}]
                }),
            )
        }))
        .await;
        let ecs = EcsPlatform::new(settings(&url), "inst").await;
        let arns: Vec<String> = ["a", "b", "c", "d", "e"]
            .iter()
            .map(|x| format!("arn:task/{x}"))
            .collect();
        let states = ecs.describe(&arns).await.unwrap();
        assert_eq!(states["arn:task/a"], InstanceState::Running);
        assert_eq!(states["arn:task/b"], InstanceState::Running);
        assert_eq!(
            states["arn:task/c"],
            InstanceState::Stopped {
                reason: "Your Spot Task was interrupted. (SpotInterruption)".into()
            }
        );
        assert!(
            matches!(&states["arn:task/d"], InstanceState::Stopped { reason } if reason.contains("EssentialContainerExited"))
        );
        assert_eq!(states["arn:task/e"], InstanceState::Gone);
        assert_eq!(seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn describe_batches_at_most_a_hundred_arns() {
        let (url, seen) = scripted(Arc::new(|_, _| (StatusCode::OK, json!({"tasks": [], "failures": []})))).await;
        let ecs = EcsPlatform::new(settings(&url), "inst").await;
        let arns: Vec<String> = (0..250).map(|i| format!("arn:task/{i}")).collect();
        let states = ecs.describe(&arns).await.unwrap();
        assert_eq!(states.len(), 250);
        let sizes: Vec<usize> = seen
            .lock()
            .unwrap()
            .iter()
            .map(|(_, r)| r["tasks"].as_array().unwrap().len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
    }

    #[tokio::test]
    async fn list_follows_next_tokens() {
        let (url, seen) = scripted(Arc::new(|_, req| {
            let page = req["nextToken"].as_str().unwrap_or("");
            let body = match page {
                "" => json!({"taskArns": ["t1", "t2"], "nextToken": "p2"}),
                "p2" => json!({"taskArns": ["t3"], "nextToken": "p3"}),
                _ => json!({"taskArns": ["t4"]}),
            };
            (StatusCode::OK, body)
        }))
        .await;
        let ecs = EcsPlatform::new(settings(&url), "inst").await;
        assert_eq!(ecs.list_running(None).await.unwrap(), ["t1", "t2", "t3", "t4"]);
        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 3);
        assert_eq!(reqs[0].1["desiredStatus"], "RUNNING");
        assert_eq!(reqs[0].1["cluster"], "bots");
    }

    #[tokio::test]
    async fn spot_without_capacity_falls_back_to_on_demand() {
        let (url, seen) = scripted(Arc::new(|op, req| {
            assert_eq!(op, "RunTask");
            let provider = req["capacityProviderStrategy"][0]["capacityProvider"].as_str();
            if provider == Some("FARGATE_SPOT") {
                (
                    StatusCode::OK,
                    json!({"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time. Please try again later or in a different availability zone"}]}),
                )
            } else {
                (StatusCode::OK, json!({"tasks": [{"taskArn": "arn:task/od", "lastStatus": "PROVISIONING"}], "failures": []}))
            }
        }))
        .await;
        let mut s = settings(&url);
        s.capacity_providers = vec!["FARGATE_SPOT".into(), "FARGATE".into()];
        let ecs = EcsPlatform::new(s, "inst").await;
        let launched = ecs.deploy(&launch()).await.unwrap();
        assert_eq!(launched.identifier, "arn:task/od");
        let reqs = seen.lock().unwrap().clone();
        assert_eq!(reqs.len(), 2);
        let run = &reqs[1].1;
        assert_eq!(run["startedBy"], "01a2-bot");
        assert_eq!(run["overrides"]["containerOverrides"][0]["name"], "bot");
        assert_eq!(
            run["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"],
            "ENABLED"
        );
        assert!(
            run.get("launchType").is_none(),
            "a strategy and a launch type exclude each other"
        );
        let tags: Vec<(String, String)> = run["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["key"].as_str().unwrap().into(), t["value"].as_str().unwrap().into()))
            .collect();
        assert!(tags.contains(&(TAG_BOT.into(), "01a2-bot".into())));
        assert!(tags.contains(&(TAG_ATTEMPT.into(), "2".into())));
        assert!(tags.contains(&(TAG_INSTALLATION.into(), "inst".into())));
        // Distinct idempotency tokens per provider, stable per bot attempt.
        assert_ne!(reqs[0].1["clientToken"], reqs[1].1["clientToken"]);
        assert!(run["clientToken"].as_str().unwrap().starts_with("01a2-bot-2"));
        // Both providers out of capacity: transient, so the bot is retried later.
        let (url, _) = scripted(Arc::new(|_, _| {
            (
                StatusCode::OK,
                json!({"tasks": [], "failures": [{"reason": "RESOURCE:FARGATE"}]}),
            )
        }))
        .await;
        let mut s = settings(&url);
        s.capacity_providers = vec!["FARGATE_SPOT".into(), "FARGATE".into()];
        let err = EcsPlatform::new(s, "inst").await.deploy(&launch()).await.unwrap_err();
        assert!(
            matches!(&err, PlatformError::Transient(m) if m.contains("no Fargate capacity")),
            "{err}"
        );
    }

    #[tokio::test]
    async fn aws_errors_are_classified_with_the_setting_to_fix() {
        let error = |kind: &'static str, msg: &'static str, status: StatusCode| -> Script {
            Arc::new(move |_, _| (status, json!({"__type": kind, "message": msg})))
        };
        let cases = [
            (
                error(
                    "ClusterNotFoundException",
                    "Cluster not found.",
                    StatusCode::BAD_REQUEST,
                ),
                "ECS_CLUSTER",
                false,
            ),
            (
                error(
                    "ClientException",
                    "Unable to describe task definition.",
                    StatusCode::BAD_REQUEST,
                ),
                "ECS_TASK_DEF",
                false,
            ),
            (
                error(
                    "InvalidParameterException",
                    "Error retrieving subnet information for [subnet-1]",
                    StatusCode::BAD_REQUEST,
                ),
                "ECS_SUBNETS",
                false,
            ),
            (
                error(
                    "AccessDeniedException",
                    "not authorized to perform ecs:RunTask",
                    StatusCode::BAD_REQUEST,
                ),
                "iam:PassRole",
                false,
            ),
            (
                error("ServerException", "internal", StatusCode::INTERNAL_SERVER_ERROR),
                "ServerException",
                true,
            ),
        ];
        for (script, needle, transient) in cases {
            let (url, _) = scripted(script).await;
            let err = EcsPlatform::new(settings(&url), "inst")
                .await
                .deploy(&launch())
                .await
                .unwrap_err();
            let (is_transient, msg) = match &err {
                PlatformError::Transient(m) => (true, m),
                PlatformError::Permanent(m) => (false, m),
                PlatformError::Full(m) => (true, m),
            };
            assert_eq!(is_transient, transient, "{err}");
            assert!(msg.contains(needle), "`{needle}` not in {msg}");
        }
    }

    #[tokio::test]
    async fn stop_counts_an_unknown_or_stopped_task_as_stopped() {
        let (url, _) = scripted(Arc::new(|op, _| match op {
            "StopTask" => (
                StatusCode::BAD_REQUEST,
                json!({"__type": "InvalidParameterException", "message": "The referenced task was not found."}),
            ),
            _ => (
                StatusCode::OK,
                json!({"tasks": [], "failures": [{"arn": "arn:task/x", "reason": "MISSING"}]}),
            ),
        }))
        .await;
        let ecs = EcsPlatform::new(settings(&url), "inst").await;
        ecs.stop("arn:task/x").await.unwrap();
    }

    #[tokio::test]
    async fn instances_are_only_this_installations_tasks() {
        let (url, _) = scripted(Arc::new(|op, _| match op {
            "ListTasks" => (StatusCode::OK, json!({"taskArns": ["t1", "t2", "t-foreign", "t-untagged"]})),
            _ => {
                let t = |arn: &str, inst: &str, bot: &str, attempt: &str| {
                    json!({"taskArn": arn, "lastStatus": "RUNNING", "tags": [
                        {"key": TAG_INSTALLATION, "value": inst}, {"key": TAG_BOT, "value": bot}, {"key": TAG_ATTEMPT, "value": attempt}]})
                };
                (
                    StatusCode::OK,
                    json!({"tasks": [t("t1", "inst", "b1", "1"), t("t2", "inst", "b2", "3"),
                                     t("t-foreign", "other", "b4", "1"), {"taskArn": "t-untagged", "lastStatus": "RUNNING"}]}),
                )
            }
        }))
        .await;
        let ecs = EcsPlatform::new(settings(&url), "inst").await;
        let found = ecs.instances().await.unwrap().unwrap();
        let ids: Vec<(&str, &str, u32)> = found
            .iter()
            .map(|i| (i.identifier.as_str(), i.bot_id.as_str(), i.attempt))
            .collect();
        assert_eq!(ids, [("t1", "b1", 1), ("t2", "b2", 3)]);
    }
}

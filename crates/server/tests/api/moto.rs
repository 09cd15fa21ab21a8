//! moto (`moto_server`, the AWS stand-in) for ECS tests: one server per test on its own
//! port, so state-manager settings and tasks never leak between tests.
//!
//! The fixture works around moto's known gaps (`shared/reference/test-peers.md` §3.3):
//! container-level `memory` in the task definition, security groups always passed, and a
//! subnet that exists in moto's default VPC.

use meeboter_platforms::ecs::EcsSettings;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Moto {
    child: Child,
    pub url: String,
    pub subnet: String,
    pub ecs: aws_sdk_ecs::Client,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub const CLUSTER: &str = "bots";
pub const TASK_DEF: &str = "meeboter-test-bot";

impl Moto {
    pub async fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server (pip install \"moto[server]\")");
        let url = format!("http://127.0.0.1:{port}");
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while http.get(format!("{url}/moto-api/")).send().await.is_err() {
            assert!(Instant::now() < deadline, "moto did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let mut moto = Moto {
            child,
            subnet: String::new(),
            ecs: client(&url).await,
            url,
        };
        // Tasks stay RUNNING until stopped (moto's default moves them one step per describe).
        moto.set_task_transition(serde_json::json!({"progression": "manual", "times": 1_000_000}))
            .await;
        moto.subnet = moto.default_subnet().await;
        moto.ecs.create_cluster().cluster_name(CLUSTER).send().await.unwrap();
        moto.register_task_definition(TASK_DEF).await;
        moto
    }

    /// Changes how moto moves ECS tasks along (global for this moto server).
    pub async fn set_task_transition(&self, transition: serde_json::Value) {
        let res = reqwest::Client::new()
            .post(format!("{}/moto-api/state-manager/set-transition", self.url))
            .json(&serde_json::json!({"model_name": "ecs::task", "transition": transition}))
            .send()
            .await
            .unwrap();
        assert!(res.status().is_success());
    }

    pub async fn register_task_definition(&self, family: &str) {
        use aws_sdk_ecs::types::{Compatibility, ContainerDefinition, NetworkMode};
        self.ecs
            .register_task_definition()
            .family(family)
            .requires_compatibilities(Compatibility::Fargate)
            .network_mode(NetworkMode::Awsvpc)
            .cpu("1024")
            .memory("2048")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("bot")
                    .image("ghcr.io/acme/meeboter-bot:latest")
                    .memory(2048) // moto needs a container-level memory
                    .essential(true)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// A subnet of moto's default VPC (moto checks subnets against its EC2).
    async fn default_subnet(&self) -> String {
        let body = reqwest::Client::new()
            .post(&self.url)
            .header(
                "authorization",
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0",
            )
            .header("content-type", "application/x-www-form-urlencoded")
            .body("Action=DescribeSubnets&Version=2016-11-15")
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let start = body.find("<subnetId>").expect("a default subnet") + "<subnetId>".len();
        let end = start + body[start..].find('<').unwrap();
        body[start..end].to_string()
    }

    /// Settings for the ECS platform against this moto.
    pub fn settings(&self) -> EcsSettings {
        EcsSettings {
            region: "us-east-1".into(),
            cluster: CLUSTER.into(),
            subnets: vec![self.subnet.clone()],
            security_groups: vec!["sg-meeboter".into()],
            assign_public_ip: true,
            task_definitions: BTreeMap::new(),
            default_task_definition: Some(TASK_DEF.into()),
            container_name: None,
            capacity_providers: Vec::new(),
            endpoint_url: Some(self.url.clone()),
            static_credentials: Some(("test".into(), "test".into())),
            request_timeout: Duration::from_secs(5),
        }
    }

    /// Every task in the cluster (any status), described.
    pub async fn tasks(&self) -> Vec<aws_sdk_ecs::types::Task> {
        let mut arns = Vec::new();
        for status in [
            aws_sdk_ecs::types::DesiredStatus::Running,
            aws_sdk_ecs::types::DesiredStatus::Stopped,
        ] {
            let out = self
                .ecs
                .list_tasks()
                .cluster(CLUSTER)
                .desired_status(status)
                .send()
                .await
                .unwrap();
            arns.extend(out.task_arns().iter().cloned());
        }
        if arns.is_empty() {
            return Vec::new();
        }
        let out = self
            .ecs
            .describe_tasks()
            .cluster(CLUSTER)
            .set_tasks(Some(arns))
            .include(aws_sdk_ecs::types::TaskField::Tags)
            .send()
            .await
            .unwrap();
        out.tasks().to_vec()
    }

    /// Plays the container runtime: every task that comes up RUNNING runs `command` with
    /// the task's override environment (the bot container's entrypoint, here a fake bot).
    pub fn run_bots(&self, command: Vec<String>) -> tokio::task::JoinHandle<()> {
        let ecs = self.ecs.clone();
        tokio::spawn(async move {
            let mut seen = std::collections::HashSet::new();
            loop {
                let running = ecs
                    .list_tasks()
                    .cluster(CLUSTER)
                    .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
                    .send()
                    .await;
                let arns: Vec<String> = running
                    .map(|o| o.task_arns().to_vec())
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|a| !seen.contains(a))
                    .collect();
                if !arns.is_empty()
                    && let Ok(out) = ecs.describe_tasks().cluster(CLUSTER).set_tasks(Some(arns)).send().await
                {
                    for task in out.tasks() {
                        if task.last_status() != Some("RUNNING") {
                            continue;
                        }
                        seen.insert(task.task_arn().unwrap_or_default().to_string());
                        let env: Vec<(String, String)> = task
                            .overrides()
                            .and_then(|o| o.container_overrides().first())
                            .map(|c| {
                                c.environment()
                                    .iter()
                                    .map(|kv| (kv.name().unwrap_or("").into(), kv.value().unwrap_or("").into()))
                                    .collect()
                            })
                            .unwrap_or_default();
                        let _ = Command::new(&command[0])
                            .args(&command[1..])
                            .env_clear()
                            .env("PATH", std::env::var("PATH").unwrap_or_default())
                            .envs(env)
                            .stdout(Stdio::null())
                            .stderr(Stdio::null())
                            .spawn();
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }
}

async fn client(url: &str) -> aws_sdk_ecs::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(url)
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ecs::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_ecs::Client::new(&conf)
}

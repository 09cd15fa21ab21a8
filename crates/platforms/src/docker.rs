//! `DEPLOYMENT_PLATFORM=docker`: each bot is a container on the local Docker Engine API
//! (Podman's compatible socket works too), for single-host self-hosting without Coolify.
//!
//! A bot's container is named `meeboter-bot-{bot id}-{attempt}`, so a create retried after
//! a lost answer meets its own container (409) instead of starting a second one, and is
//! labelled with the bot id, the attempt and the installation, so a restarted server finds
//! its containers and the orphan sweep never touches another installation's. Containers are
//! not auto-removed: an exit code and the OOM flag stay readable until the release removes
//! the container.

use crate::{BotLaunch, Instance, InstanceState, Launched, Platform, PlatformError};
use async_trait::async_trait;
use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{ContainerCreateBody, ContainerStateStatusEnum, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptions, InspectContainerOptions, ListContainersOptions, RemoveContainerOptions,
    StartContainerOptions, StopContainerOptions,
};
use std::collections::HashMap;
use std::time::Duration;

pub const LABEL_BOT: &str = "meeboter.bot-id";
pub const LABEL_ATTEMPT: &str = "meeboter.attempt";
pub const LABEL_INSTALLATION: &str = "meeboter.installation";

/// How a bot container is run.
#[derive(Debug, Clone)]
pub struct DockerSettings {
    /// `unix:///var/run/docker.sock` (or a plain path).
    pub host: String,
    /// The bot image, with its tag (e.g. `localhost/meeboter-bot:latest`).
    pub image: String,
    /// CPU limit in cores (`DOCKER_BOT_CPUS`).
    pub cpus: f64,
    /// Memory limit in bytes (`DOCKER_BOT_MEMORY`); also the swap limit, so no swapping.
    pub memory_bytes: i64,
    /// `/dev/shm` size; Chromium needs more than Docker's 64 MB default.
    pub shm_bytes: i64,
    /// Network mode or network name (`DOCKER_NETWORK`; default `host`, so a bot reaches a
    /// server on loopback; in Compose, the project network with the server's name).
    pub network: String,
    /// How long a stopping bot gets after SIGTERM before SIGKILL.
    pub stop_grace: Duration,
    /// Labels every container, so the sweep only ever touches this installation's.
    pub installation_id: String,
    /// Per API call.
    pub request_timeout: Duration,
    /// Overrides the image's command (`None`: the image's `meeboter bot`).
    pub command: Option<Vec<String>>,
}

pub struct DockerPlatform {
    docker: Docker,
    settings: DockerSettings,
}

fn socket_path(host: &str) -> &str {
    host.strip_prefix("unix://").unwrap_or(host)
}

/// Docker's errors: its own refusals are the operator's to fix (a missing image, a bad
/// network name); anything else (socket down, timeouts, 5xx) may pass.
fn classify(what: &str, e: DockerError) -> PlatformError {
    match e {
        DockerError::DockerResponseServerError { status_code, message } if (400..500).contains(&status_code) => {
            let hint = if message.contains("No such image") || message.contains("image not known") {
                " (build it with scripts/images, or set DOCKER_BOT_IMAGE)"
            } else {
                ""
            };
            PlatformError::Permanent(format!("{what}: Docker answered {status_code}: {message}{hint}"))
        }
        other => PlatformError::Transient(format!("{what}: {other}")),
    }
}

/// The container name is taken: Docker says 409, Podman's compatible API 500 with this text.
fn name_in_use(e: &DockerError) -> bool {
    matches!(e, DockerError::DockerResponseServerError { message, .. } if message.contains("already in use"))
}

fn is_status(e: &DockerError, code: u16) -> bool {
    matches!(e, DockerError::DockerResponseServerError { status_code, .. } if *status_code == code)
}

impl DockerPlatform {
    /// Connects to the engine's socket (no request yet; [`DockerPlatform::check`] pings).
    pub fn connect(settings: DockerSettings) -> Result<DockerPlatform, PlatformError> {
        let docker = Docker::connect_with_unix(
            socket_path(&settings.host),
            settings.request_timeout.as_secs().max(1),
            bollard::API_DEFAULT_VERSION,
        )
        .map_err(|e| {
            PlatformError::Permanent(format!(
                "cannot use the container engine at {} (DOCKER_HOST): {e}",
                settings.host
            ))
        })?;
        Ok(DockerPlatform { docker, settings })
    }

    /// Whether the engine answers (for startup and readiness).
    pub async fn check(&self) -> Result<(), PlatformError> {
        self.docker
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| classify("pinging the container engine", e))
    }

    fn container_name(bot_id: &str, attempt: u32) -> String {
        format!("meeboter-bot-{bot_id}-{attempt}")
    }

    fn create_body(&self, launch: &BotLaunch) -> ContainerCreateBody {
        let mut env: Vec<String> = launch.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.sort();
        let labels = HashMap::from([
            (LABEL_BOT.to_string(), launch.bot_id.clone()),
            (LABEL_ATTEMPT.to_string(), launch.attempt.to_string()),
            (LABEL_INSTALLATION.to_string(), self.settings.installation_id.clone()),
        ]);
        ContainerCreateBody {
            image: Some(self.settings.image.clone()),
            cmd: self.settings.command.clone(),
            env: Some(env),
            labels: Some(labels),
            stop_timeout: Some(self.settings.stop_grace.as_secs() as i64),
            host_config: Some(HostConfig {
                nano_cpus: Some((self.settings.cpus * 1e9) as i64),
                memory: Some(self.settings.memory_bytes),
                memory_swap: Some(self.settings.memory_bytes),
                shm_size: Some(self.settings.shm_bytes),
                init: Some(true),
                pids_limit: Some(4096),
                network_mode: Some(self.settings.network.clone()),
                auto_remove: Some(false),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// The id of the container named `name`, if it exists.
    async fn id_of(&self, name: &str) -> Result<Option<String>, PlatformError> {
        match self
            .docker
            .inspect_container(name, None::<InspectContainerOptions>)
            .await
        {
            Ok(c) => Ok(c.id),
            Err(e) if is_status(&e, 404) => Ok(None),
            Err(e) => Err(classify("inspecting a bot container", e)),
        }
    }
}

#[async_trait]
impl Platform for DockerPlatform {
    fn name(&self) -> &'static str {
        "docker"
    }

    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError> {
        let name = Self::container_name(&launch.bot_id, launch.attempt);
        let options = CreateContainerOptions {
            name: Some(name.clone()),
            ..Default::default()
        };
        let id = match self
            .docker
            .create_container(Some(options), self.create_body(launch))
            .await
        {
            Ok(created) => created.id,
            // This attempt's container exists already: a retry after a lost answer.
            Err(e) if is_status(&e, 409) || name_in_use(&e) => self
                .id_of(&name)
                .await?
                .ok_or_else(|| PlatformError::Transient(format!("container {name} is being removed")))?,
            Err(e) => return Err(classify("creating the bot container", e)),
        };
        match self.docker.start_container(&id, None::<StartContainerOptions>).await {
            // 304: already started (a retried start).
            Ok(()) => {}
            Err(e) if is_status(&e, 304) => {}
            Err(e) => return Err(classify("starting the bot container", e)),
        }
        tracing::info!(bot.id = %launch.bot_id, container = %name, "bot container started");
        Ok(Launched { identifier: id })
    }

    async fn stop(&self, identifier: &str) -> Result<(), PlatformError> {
        let grace = self.settings.stop_grace.as_secs() as i32;
        match self
            .docker
            .stop_container(
                identifier,
                Some(StopContainerOptions {
                    t: Some(grace),
                    signal: None,
                }),
            )
            .await
        {
            Ok(()) => {}
            Err(e) if is_status(&e, 304) || is_status(&e, 404) => {}
            // The engine would not stop it politely (a paused or half-dead container):
            // the forced removal below ends it; if the engine is down, that fails too.
            Err(e) => {
                tracing::warn!(container = identifier, error = %e, "stopping the bot container failed; removing it")
            }
        }
        match self
            .docker
            .remove_container(
                identifier,
                Some(RemoveContainerOptions {
                    force: true,
                    v: true,
                    link: false,
                }),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(e) if is_status(&e, 404) => Ok(()),
            // Docker is already removing it.
            Err(e) if is_status(&e, 409) => Ok(()),
            Err(e) => Err(classify("removing the bot container", e)),
        }
    }

    async fn observe(&self, identifier: &str) -> Result<InstanceState, PlatformError> {
        let mut attempt = 0;
        let container = loop {
            match self
                .docker
                .inspect_container(identifier, None::<InspectContainerOptions>)
                .await
            {
                Ok(c) => break c,
                Err(e) if is_status(&e, 404) => return Ok(InstanceState::Gone),
                // Podman's compatible API briefly reports a just-exited container as
                // `stopped`, a state Docker's schema does not have; it says `exited` a moment
                // later, with the exit code.
                Err(e) if e.to_string().contains("`stopped`") && attempt < 10 => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) if e.to_string().contains("`stopped`") => {
                    return Ok(InstanceState::Stopped {
                        reason: "container stopped".into(),
                    });
                }
                Err(e) => return Err(classify("inspecting the bot container", e)),
            }
        };
        let state = container.state.unwrap_or_default();
        Ok(match state.status {
            Some(ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::RUNNING)
            | Some(ContainerStateStatusEnum::RESTARTING | ContainerStateStatusEnum::PAUSED) => InstanceState::Running,
            _ => {
                let mut reason = format!("container exited with code {}", state.exit_code.unwrap_or(-1));
                if state.oom_killed == Some(true) {
                    reason.push_str(" (killed for exceeding DOCKER_BOT_MEMORY)");
                }
                if let Some(err) = state.error.filter(|e| !e.is_empty()) {
                    reason.push_str(&format!(": {err}"));
                }
                InstanceState::Stopped { reason }
            }
        })
    }

    async fn find(&self, bot_id: &str, attempt: u32) -> Result<Option<Launched>, PlatformError> {
        Ok(self
            .id_of(&Self::container_name(bot_id, attempt))
            .await?
            .map(|identifier| Launched { identifier }))
    }

    async fn instances(&self) -> Result<Option<Vec<Instance>>, PlatformError> {
        let filters = HashMap::from([(
            "label".to_string(),
            vec![format!("{LABEL_INSTALLATION}={}", self.settings.installation_id)],
        )]);
        let listed = self
            .docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .map_err(|e| classify("listing bot containers", e))?;
        Ok(Some(
            listed
                .into_iter()
                .filter_map(|c| {
                    let labels = c.labels.unwrap_or_default();
                    Some(Instance {
                        identifier: c.id?,
                        bot_id: labels.get(LABEL_BOT)?.clone(),
                        attempt: labels.get(LABEL_ATTEMPT)?.parse().ok()?,
                    })
                })
                .collect(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn settings() -> DockerSettings {
        DockerSettings {
            host: "unix:///nonexistent/docker.sock".into(),
            image: "localhost/meeboter-bot:latest".into(),
            cpus: 1.5,
            memory_bytes: 1 << 30,
            shm_bytes: 1 << 30,
            network: "host".into(),
            stop_grace: Duration::from_secs(25),
            installation_id: "inst-1".into(),
            request_timeout: Duration::from_secs(10),
            command: None,
        }
    }

    #[test]
    fn a_missing_socket_is_a_clear_permanent_error() {
        let e = DockerPlatform::connect(settings()).err().unwrap();
        assert!(
            matches!(&e, PlatformError::Permanent(m) if m.contains("DOCKER_HOST")),
            "{e}"
        );
    }

    #[test]
    fn containers_carry_limits_labels_and_only_the_bot_environment() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("docker.sock");
        let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
        let p = DockerPlatform::connect(DockerSettings {
            host: format!("unix://{}", sock.display()),
            ..settings()
        })
        .unwrap();
        let launch = BotLaunch {
            bot_id: "b1".into(),
            attempt: 2,
            max_duration_secs: 14_400,
            env: BTreeMap::from([("BOT_ID".into(), "b1".into()), ("MILO_AUTH_TOKEN".into(), "t".into())]),
        };
        let body = p.create_body(&launch);
        assert_eq!(body.env.unwrap(), ["BOT_ID=b1", "MILO_AUTH_TOKEN=t"]);
        let labels = body.labels.unwrap();
        assert_eq!(
            (
                labels[LABEL_BOT].as_str(),
                labels[LABEL_ATTEMPT].as_str(),
                labels[LABEL_INSTALLATION].as_str()
            ),
            ("b1", "2", "inst-1")
        );
        let host = body.host_config.unwrap();
        assert_eq!(host.nano_cpus, Some(1_500_000_000));
        assert_eq!(
            (host.memory, host.memory_swap, host.shm_size),
            (Some(1 << 30), Some(1 << 30), Some(1 << 30))
        );
        assert_eq!((host.init, host.auto_remove), (Some(true), Some(false)));
        assert_eq!(DockerPlatform::container_name("b1", 2), "meeboter-bot-b1-2");
    }
}

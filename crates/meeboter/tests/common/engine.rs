//! The container engine the image tests and the container benchmark use: Podman's
//! Docker-compatible API that `scripts/test` starts, and its CLI on the same store.

use super::Server;
use std::process::Command;
use std::time::{Duration, Instant};

/// The engine and the tag of the images `scripts/images` built.
pub struct Engine {
    /// `unix:///…/podman.sock`
    pub host: String,
    /// The CLI talking to the same store (`podman`).
    pub cli: String,
    pub tag: String,
}

pub fn engine() -> Option<Engine> {
    match (
        std::env::var("MEEBOTER_TEST_DOCKER_HOST"),
        std::env::var("MEEBOTER_TEST_IMAGES"),
    ) {
        (Ok(host), Ok(tag)) => Some(Engine {
            host,
            cli: std::env::var("MEEBOTER_TEST_ENGINE_CLI").unwrap_or_else(|_| "podman".into()),
            tag,
        }),
        _ => {
            eprintln!(
                "SKIPPED: no images (scripts/test builds them and sets MEEBOTER_TEST_DOCKER_HOST and MEEBOTER_TEST_IMAGES)"
            );
            None
        }
    }
}

impl Engine {
    /// The bot image `scripts/images` built.
    pub fn image(&self) -> String {
        format!("localhost/meeboter-bot:{}", self.tag)
    }

    pub fn run(&self, args: &[&str]) -> String {
        let out = Command::new(&self.cli).args(args).output().expect("the engine's CLI");
        assert!(
            out.status.success(),
            "{} {args:?}: {}",
            self.cli,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A container's output, both streams.
    pub fn logs(&self, id: &str) -> String {
        let out = Command::new(&self.cli)
            .args(["logs", id])
            .output()
            .expect("the engine's CLI");
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }

    /// Containers (running or not) of bot `id`.
    pub fn containers_of(&self, id: &str) -> Vec<String> {
        self.run(&["ps", "-a", "-q", "--filter", &format!("label=meeboter.bot-id={id}")])
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub async fn until_no_container(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.containers_of(id).is_empty() {
            assert!(Instant::now() < deadline, "the container of bot {id} is still there");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub async fn server(&self, extra: &[(&str, &str)]) -> Server {
        let image = self.image();
        let mut env: Vec<(&str, &str)> = vec![
            ("DEPLOYMENT_PLATFORM", "docker"),
            ("DOCKER_HOST", self.host.as_str()),
            ("DOCKER_BOT_IMAGE", image.as_str()),
            ("DOCKER_NETWORK", "host"),
            ("DOCKER_BOT_CPUS", "1.5"),
            ("DOCKER_BOT_MEMORY", "1536m"),
        ];
        env.extend_from_slice(extra);
        Server::start_with(&env).await
    }
}

//! The container images, for real (`scripts/test` builds them with `scripts/images` and
//! starts Podman's Docker-compatible API; without an engine these tests print why and stop):
//! the server image starts, migrates and answers `/readyz` as a non-root user; a bot created
//! through the API with `DEPLOYMENT_PLATFORM=docker` runs as a container from the bot image,
//! joins the server's look-alike meeting, records, uploads and ends, and its container is
//! gone afterwards; leave, kill and heartbeat-timeout paths remove the container too.

mod common;

use common::{PLATFORMS, Server, free_port, history};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// Containers: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

struct Engine {
    /// `unix:///…/podman.sock`
    host: String,
    /// The CLI talking to the same store (`podman`).
    cli: String,
    tag: String,
}

fn engine() -> Option<Engine> {
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
    fn run(&self, args: &[&str]) -> String {
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
    fn logs(&self, id: &str) -> String {
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
    fn containers_of(&self, id: &str) -> Vec<String> {
        self.run(&["ps", "-a", "-q", "--filter", &format!("label=meeboter.bot-id={id}")])
            .lines()
            .map(str::to_string)
            .collect()
    }

    async fn until_no_container(&self, id: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while !self.containers_of(id).is_empty() {
            assert!(Instant::now() < deadline, "the container of bot {id} is still there");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn server(&self, extra: &[(&str, &str)]) -> Server {
        let image = format!("localhost/meeboter-bot:{}", self.tag);
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

#[test]
fn the_server_image_migrates_and_is_ready_as_a_non_root_user() {
    let Some(engine) = engine() else { return };
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let port = free_port();
    let name = format!("meeboter-server-test-{port}");
    let id = engine.run(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        "host",
        "--log-driver",
        "k8s-file",
        "-e",
        &format!("MEEBOTER_LISTEN=127.0.0.1:{port}"),
        &format!("localhost/meeboter-server:{}", engine.tag),
    ]);
    let ready = (|| {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let ok = Command::new("curl")
                .args(["-fsS", &format!("http://127.0.0.1:{port}/readyz")])
                .output()
                .is_ok_and(|o| o.status.success());
            if ok {
                return true;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        false
    })();
    let logs = engine.logs(&id);
    let uid = engine.run(&["exec", &id, "id", "-u"]);
    // The image's HEALTHCHECK survived the build (Podman keeps it only in the Docker
    // format) and passes against the configured port, not a hard-coded one.
    let health = Command::new(&engine.cli)
        .args(["healthcheck", "run", &id])
        .output()
        .expect("the engine's CLI");
    engine.run(&["rm", "-f", &id]);
    assert!(ready, "/readyz never answered; logs:\n{logs}");
    assert_ne!(uid, "0", "the server runs as a non-root user");
    assert!(
        health.status.success(),
        "HEALTHCHECK: {}{}",
        String::from_utf8_lossy(&health.stdout),
        String::from_utf8_lossy(&health.stderr)
    );
    assert!(logs.contains("mbk_"), "first start prints the admin key: {logs}");
}

#[test]
fn a_bot_container_joins_records_ends_and_is_removed() {
    let Some(engine) = engine() else { return };
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = engine.server(&[]).await;
        let p = &PLATFORMS[0];
        let code = "container-call";
        let t0 = Instant::now();
        let id = s.create(p, code, json!({"recordingMode": "video"})).await;
        let bot = s.reach(&id, "IN_CALL").await;
        println!("create → IN_CALL in a container: {:.1} s", t0.elapsed().as_secs_f64());
        assert_eq!(bot["deployment"]["platform"], "docker", "{bot}");
        assert_eq!(engine.containers_of(&id).len(), 1);
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        // What the container costs while recording, as its cgroup sees it (printed for
        // BENCHMARKS.md; `cargo test -- --nocapture`).
        let container = engine.containers_of(&id).remove(0);
        for _ in 0..6 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let usage = engine.run(&[
                "stats",
                "--no-stream",
                "--format",
                "{{.CPUPerc}} {{.MemUsage}}",
                &container,
            ]);
            println!("container while recording video: {usage}");
        }
        s.host(p, code, "end", json!({})).await;
        let bot = s.ended(&id).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{bot}");
        engine.until_no_container(&id, Duration::from_secs(60)).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let r = s.get(&format!("/api/bots/{id}/recording")).await;
            if r["state"] == "ready" {
                assert!(r["durationSecs"].as_f64().unwrap() >= 8.0, "{r}");
                break;
            }
            assert!(Instant::now() < deadline && r["state"] != "failed", "{r}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
}

#[test]
fn leave_kill_and_heartbeat_timeout_remove_the_container() {
    let Some(engine) = engine() else { return };
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = engine
            .server(&[("HEARTBEAT_TIMEOUT_SECS", "12"), ("HEARTBEAT_INTERVAL_SECS", "2")])
            .await;
        let p = &PLATFORMS[0];
        // Leave through the API.
        let id = s.create(p, "container-leave", json!({})).await;
        s.reach(&id, "IN_CALL").await;
        s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
        let bot = s.ended(&id).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/user_requested", "{bot}");
        engine.until_no_container(&id, Duration::from_secs(60)).await;

        // The container is killed under the bot.
        let id = s.create(p, "container-kill", json!({})).await;
        s.reach(&id, "IN_CALL").await;
        let container = engine.containers_of(&id).remove(0);
        engine.run(&["kill", &container]);
        let bot = s.ended(&id).await;
        assert_eq!(bot["status"], "FATAL", "{bot}");
        engine.until_no_container(&id, Duration::from_secs(60)).await;

        // The bot goes silent (frozen): heartbeat timeout, then the container is removed.
        let id = s.create(p, "container-frozen", json!({})).await;
        s.reach(&id, "IN_CALL").await;
        let container = engine.containers_of(&id).remove(0);
        engine.run(&["pause", &container]);
        let bot = s.ended(&id).await;
        assert_eq!(history(&bot).last().unwrap(), "FATAL/heartbeat_timeout", "{bot}");
        engine.until_no_container(&id, Duration::from_secs(90)).await;
    });
}

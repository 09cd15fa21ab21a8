//! The container images, for real (`scripts/test` builds them with `scripts/images` and
//! starts Podman's Docker-compatible API; without an engine these tests print why and stop):
//! the server image starts, migrates and answers `/readyz` as a non-root user; a bot created
//! through the API with `DEPLOYMENT_PLATFORM=docker` runs as a container from the bot image,
//! joins the server's look-alike meeting, records, uploads and ends, and its container is
//! gone afterwards; leave, kill and heartbeat-timeout paths remove the container too.

mod common;

use common::engine::engine;
use common::{PLATFORMS, free_port, history};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

/// Containers: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

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
        // Long enough for a recording of at least 8 s (its cost: `cargo bench --bench containers`).
        tokio::time::sleep(Duration::from_secs(12)).await;
        s.host(p, code, "end", json!({})).await;
        let bot = s.ended(&id).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{bot}");
        engine.until_no_container(&id, Duration::from_secs(60)).await;
        let r = s.recording_ready(&id, Duration::from_secs(120)).await;
        assert!(r["durationSecs"].as_f64().unwrap() >= 8.0, "{r}");
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

        // The engine stops the container (SIGTERM, then SIGKILL after 20 s): the bot leaves
        // the call and ends well within the grace period.
        let id = s.create(p, "container-stop", json!({})).await;
        s.reach(&id, "IN_CALL").await;
        let container = engine.containers_of(&id).remove(0);
        let stopping = std::time::Instant::now();
        engine.run(&["stop", "-t", "20", &container]);
        let bot = s.ended(&id).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/platform_stopped", "{bot}");
        assert!(
            stopping.elapsed() < Duration::from_secs(15),
            "stopped within the grace period: {:?}",
            stopping.elapsed()
        );
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

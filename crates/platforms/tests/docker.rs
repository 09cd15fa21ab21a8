//! `DockerPlatform` against a real container engine: Podman's Docker-compatible API, which
//! `scripts/test` starts (`MEEBOTER_TEST_DOCKER_HOST`) with the Debian base image it builds
//! (`MEEBOTER_TEST_BASE_IMAGE`). Without them the tests say why and pass nothing off as run.

use meeboter_platforms::docker::{DockerPlatform, DockerSettings};
use meeboter_platforms::{BotLaunch, InstanceState, Platform, PlatformError};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn engine() -> Option<(String, String)> {
    match (
        std::env::var("MEEBOTER_TEST_DOCKER_HOST"),
        std::env::var("MEEBOTER_TEST_BASE_IMAGE"),
    ) {
        (Ok(host), Ok(image)) => Some((host, image)),
        _ => {
            eprintln!(
                "SKIPPED: no container engine (scripts/test sets MEEBOTER_TEST_DOCKER_HOST and MEEBOTER_TEST_BASE_IMAGE)"
            );
            None
        }
    }
}

fn platform(host: &str, image: &str, installation: &str, command: &str, memory: i64) -> DockerPlatform {
    DockerPlatform::connect(DockerSettings {
        host: host.to_string(),
        image: image.to_string(),
        cpus: 0.5,
        memory_bytes: memory,
        shm_bytes: 64 << 20,
        network: "none".into(),
        stop_grace: Duration::from_secs(5),
        installation_id: installation.to_string(),
        request_timeout: Duration::from_secs(60),
        command: Some(vec!["sh".into(), "-c".into(), command.into()]),
    })
    .unwrap()
}

fn launch(bot: &str, attempt: u32) -> BotLaunch {
    BotLaunch {
        bot_id: bot.to_string(),
        attempt,
        max_duration_secs: 14_400,
        env: BTreeMap::from([("BOT_ID".to_string(), bot.to_string())]),
    }
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

async fn until_stopped(p: &DockerPlatform, id: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match p.observe(id).await.unwrap() {
            InstanceState::Stopped { reason } => return reason,
            state => assert!(Instant::now() < deadline, "still {state:?}"),
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn containers_are_created_once_found_by_label_and_removed_on_stop() {
    let Some((host, image)) = engine() else { return };
    let installation = unique("inst");
    let p = platform(
        &host,
        &image,
        &installation,
        "echo started $BOT_ID; sleep 300",
        256 << 20,
    );
    p.check().await.unwrap();
    let bot = unique("bot");
    let first = p.deploy(&launch(&bot, 1)).await.unwrap();
    // A retried deploy (lost answer) meets the same container instead of starting another.
    let again = p.deploy(&launch(&bot, 1)).await.unwrap();
    assert_eq!(first, again);
    assert_eq!(p.observe(&first.identifier).await.unwrap(), InstanceState::Running);
    assert_eq!(p.find(&bot, 1).await.unwrap(), Some(first.clone()));
    assert_eq!(p.find(&bot, 2).await.unwrap(), None);
    let mine = p.instances().await.unwrap().unwrap();
    assert_eq!(mine.len(), 1, "{mine:?}");
    assert_eq!((mine[0].bot_id.as_str(), mine[0].attempt), (bot.as_str(), 1));
    // Another installation's sweep does not see it.
    let other = platform(&host, &image, &unique("other"), "true", 256 << 20);
    assert!(other.instances().await.unwrap().unwrap().is_empty());

    let t0 = Instant::now();
    p.stop(&first.identifier).await.unwrap();
    assert!(t0.elapsed() < Duration::from_secs(15), "stopped within the grace");
    assert_eq!(p.observe(&first.identifier).await.unwrap(), InstanceState::Gone);
    assert!(p.instances().await.unwrap().unwrap().is_empty());
    p.stop(&first.identifier).await.unwrap();
}

#[tokio::test]
async fn exits_and_memory_kills_are_reported_with_their_reason() {
    let Some((host, image)) = engine() else { return };
    let installation = unique("inst");
    let exits = platform(&host, &image, &installation, "exit 3", 256 << 20);
    let l = exits.deploy(&launch(&unique("bot"), 1)).await.unwrap();
    let reason = until_stopped(&exits, &l.identifier).await;
    assert!(reason.contains("code 3"), "{reason}");
    exits.stop(&l.identifier).await.unwrap();
    assert_eq!(exits.observe(&l.identifier).await.unwrap(), InstanceState::Gone);

    // The shell holds the whole command output: 300 MB in a 96 MB container.
    let hog = platform(
        &host,
        &image,
        &installation,
        "x=$(head -c 300000000 /dev/zero | tr '\\000' a); echo ${#x}",
        96 << 20,
    );
    let l = hog.deploy(&launch(&unique("bot"), 1)).await.unwrap();
    let reason = until_stopped(&hog, &l.identifier).await;
    assert!(
        reason.contains("DOCKER_BOT_MEMORY") || reason.contains("code 137"),
        "{reason}"
    );
    hog.stop(&l.identifier).await.unwrap();
}

#[tokio::test]
async fn a_missing_image_is_the_operators_to_fix() {
    let Some((host, _)) = engine() else { return };
    let p = platform(
        &host,
        "localhost/meeboter-no-such-image:0",
        &unique("inst"),
        "true",
        256 << 20,
    );
    match p.deploy(&launch(&unique("bot"), 1)).await {
        Err(PlatformError::Permanent(m)) => assert!(m.contains("scripts/images"), "{m}"),
        other => panic!("expected a permanent error, got {other:?}"),
    }
}

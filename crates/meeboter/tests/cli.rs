//! The `meeboter` binary as a user runs it.

use meeboter_db::testing::TestDatabase;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn meeboter() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meeboter"));
    // Start from a clean slate: no configuration leaks in from the developer's shell.
    for (k, _) in std::env::vars() {
        if meeboter_server::config::KEYS.iter().any(|s| s.name == k) {
            cmd.env_remove(k);
        }
    }
    cmd
}

#[test]
fn config_check_masks_secrets_and_exits_zero() {
    let out = meeboter()
        .args(["config", "check"])
        .env("DATABASE_URL", "postgres://app:s3cretpass@db.internal/meeboter")
        .env("MILO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef-topsecret")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("configuration OK"));
    assert!(stdout.contains("postgres://app:***@db.internal/meeboter"), "{stdout}");
    assert!(!stdout.contains("s3cretpass") && !stdout.contains("topsecret"));
}

#[test]
fn config_check_lists_every_problem_and_exits_one() {
    let out = meeboter()
        .args(["config", "check"])
        .env("COOLIFY_API_URL", "https://coolify.example.com/api/v1")
        .env("LOG_FORMAT", "yaml")
        .env("MEEBOTER_LISTEN", "localhost")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("COOLIFY_API_URL"), "listing expected: {stdout}");
    assert!(stderr.contains("3 problem(s)"), "{stderr}");
    assert!(stderr.contains("COOLIFY_API_URL is set but COOLIFY_API_TOKEN is missing"));
    assert!(stderr.contains("LOG_FORMAT") && stderr.contains("MEEBOTER_LISTEN"));
}

#[test]
fn serve_refuses_invalid_configuration() {
    let out = meeboter().arg("serve").env("ECS_CLUSTER", "bots").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("ECS_CLUSTER is set but AWS_REGION is missing"));
}

#[test]
fn config_file_and_flags_are_layered() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("meeboter.toml");
    std::fs::write(
        &file,
        "public_url = \"https://bots.example.com\"\nmeeboter_listen = \"0.0.0.0:9000\"\n",
    )
    .unwrap();
    let out = meeboter()
        .args([
            "--config",
            file.to_str().unwrap(),
            "--listen",
            "127.0.0.1:9100",
            "config",
            "check",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("https://bots.example.com/api/bot/v1"));
    assert!(stdout.contains("127.0.0.1:9100"));
    let missing = meeboter()
        .args(["--config", "/nonexistent.toml", "config", "check"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
}

#[tokio::test]
async fn keys_commands_work_offline() {
    let t = TestDatabase::create().await.unwrap();
    let out = meeboter()
        .args([
            "keys",
            "create",
            "--account",
            "acme",
            "--role",
            "admin",
            "--name",
            "ops",
        ])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let secret = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(secret.starts_with("mbk_") && secret.len() == 44, "{secret}");

    let list = meeboter()
        .args(["keys", "list"])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(listing.contains("acme") && listing.contains("admin") && listing.contains("active"));
    assert!(!listing.contains(&secret[12..]), "secret leaked into listing");
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let revoke = meeboter()
        .args(["keys", "revoke", &id])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert!(revoke.status.success());
    let list = meeboter()
        .args(["keys", "list"])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("revoked"));

    let bad = meeboter()
        .args(["keys", "create", "--role", "owner"])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--role must be admin or member"));
    let missing = meeboter()
        .args(["keys", "revoke", "nope"])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn migrate_creates_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let out = meeboter().arg("migrate").env("DATABASE_URL", &url).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(dir.path().join("fresh.db").exists());
}

/// Starts `meeboter serve` on a free port; returns the child, its address and stderr lines seen.
fn start_server(dir: &std::path::Path) -> (std::process::Child, String, Vec<String>) {
    let mut child = meeboter()
        .arg("serve")
        .current_dir(dir)
        .env("MEEBOTER_LISTEN", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(addr) = v["listen"].as_str()
            {
                let addr = addr.to_string();
                lines.push(line);
                return (child, addr, lines);
            }
            lines.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start: {lines:?}");
}

#[test]
fn first_start_prints_an_admin_key_once_and_serves_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, lines) = start_server(dir.path());
    let key = lines
        .iter()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("mbk_")))
        .expect("admin key printed on first start")
        .to_string();
    assert!(
        dir.path().join("meeboter.db").exists(),
        "default SQLite file in the working directory"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let status = runtime.block_on(async {
        reqwest::Client::new()
            .get(format!("http://{addr}/api/bots"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 200);
    let _ = child.kill();
    let _ = child.wait();

    let (mut again, _, lines) = start_server(dir.path());
    assert!(
        !lines.iter().any(|l| l.contains("mbk_")),
        "key printed twice: {lines:?}"
    );
    let _ = again.kill();
    let _ = again.wait();
}

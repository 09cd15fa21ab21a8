//! The `meeboter` binary as a user runs it.

mod common;

use common::{free_port, meeboter, start_server, start_server_with};
use meeboter_db::testing::TestDatabase;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn config_check_masks_secrets_and_exits_zero() {
    let out = meeboter()
        .args(["config", "check"])
        .env("DATABASE_URL", "postgres://app:s3cretpass@db.internal/meeboter")
        .env("MILO_AUTH_TOKEN", "0123456789abcdef0123456789abcdef-topsecret")
        .env(
            "MEEBOTER_ENCRYPTION_KEY",
            "c2VjcmV0LWtleS1zZWNyZXQta2V5LXNlY3JldC1rZXk=",
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("configuration OK"));
    assert!(stdout.contains("postgres://app:***@db.internal/meeboter"), "{stdout}");
    assert!(!stdout.contains("s3cretpass") && !stdout.contains("topsecret"));
    assert!(!stdout.contains("c2VjcmV0LWtleS1zZWNyZXQta2V5"), "{stdout}");
}

#[test]
fn postgresql_without_an_encryption_key_is_refused_with_the_way_to_make_one() {
    let out = meeboter()
        .args(["config", "check"])
        .env("DATABASE_URL", "postgres://app@db.internal/meeboter")
        .env_remove("MEEBOTER_ENCRYPTION_KEY")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("MEEBOTER_ENCRYPTION_KEY is required with PostgreSQL")
            && stderr.contains("openssl rand -base64 32"),
        "{stderr}"
    );
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
    // Every problem in one run, including everything the half Coolify setup still lacks
    // (not one more round per fix).
    assert!(stderr.contains("6 problem(s)"), "{stderr}");
    for needle in [
        "COOLIFY_API_URL is set but COOLIFY_API_TOKEN is missing",
        "COOLIFY_API_URL is set but COOLIFY_PROJECT_UUID is missing",
        "COOLIFY_API_URL is set but COOLIFY_SERVER_UUID is missing",
        "COOLIFY_API_URL is set but neither BOT_IMAGE nor GHCR_ORG is set",
        "LOG_FORMAT",
        "MEEBOTER_LISTEN",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
}

#[test]
fn config_check_treats_half_coolify_and_half_ecs_alike() {
    let check = |env: &[(&str, &str)]| {
        let out = meeboter()
            .args(["config", "check"])
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    };
    // Under `auto`, half a platform is a problem for both, with everything still missing.
    let (code, text) = check(&[("AWS_REGION", "eu-west-1")]);
    assert_eq!(code, Some(1), "{text}");
    for needle in [
        "3 problem(s)",
        "AWS_REGION is set but ECS_CLUSTER is missing",
        "AWS_REGION is set but ECS_SUBNETS is missing",
        "AWS_REGION is set but there is no task definition",
        "set DEPLOYMENT_PLATFORM",
    ] {
        assert!(text.contains(needle), "`{needle}` not in:\n{text}");
    }
    let (code, text) = check(&[("COOLIFY_API_TOKEN", "t")]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("4 problem(s)"), "{text}");
    assert!(
        text.contains("COOLIFY_API_TOKEN is set but COOLIFY_API_URL is missing"),
        "{text}"
    );
    // With another platform chosen, both are unused settings: a warning, and OK.
    for half in [("AWS_REGION", "eu-west-1"), ("COOLIFY_API_TOKEN", "t")] {
        let (code, text) = check(&[half, ("DEPLOYMENT_PLATFORM", "local")]);
        assert_eq!(code, Some(0), "{text}");
        assert!(
            text.contains(&format!("warning: {} is set but the", half.0)) && text.contains("is not used"),
            "{text}"
        );
    }
}

#[test]
fn config_check_shows_defaults_and_aligns_names() {
    let out = meeboter().args(["config", "check"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(!stdout.contains("(unset)"), "{stdout}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not listed:\n{stdout}"))
            .to_string()
    };
    let bot_command = format!("{} bot", env!("CARGO_BIN_EXE_meeboter"));
    assert!(line("LOCAL_BOT_COMMAND").contains(&bot_command), "{stdout}");
    assert!(line("MILO_AUTH_TOKEN").contains("generated at first start"), "{stdout}");
    assert!(line("HTTP_HEADER_READ_TIMEOUT_SECS").contains("10"), "{stdout}");
    // The source column starts at the same place on every line, long names included.
    let column = |name: &str| {
        let l = line(name);
        l.len() - l[name.len()..].trim_start().len()
    };
    let first = column("DATABASE_URL");
    for name in [
        "ECS_TASK_DEF_MICROSOFT_TEAMS",
        "POOL_RECOVERY_INTERVAL_SECS",
        "HTTP_HEADER_READ_TIMEOUT_SECS",
        "API_CALLBACK_URL",
    ] {
        assert_eq!(column(name), first, "{name} misaligned:\n{stdout}");
    }
}

/// Runs `meeboter args` with its stdout a pipe whose reader reads at most one line and
/// then goes away (`| head -1`); returns the exit code and stderr.
fn with_stdout_closed_early(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
    use std::io::Read;
    let mut child = meeboter()
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdout = child.stdout.take().unwrap();
        let mut byte = [0u8; 1];
        // One line at most, then the reader is dropped (closing the pipe).
        while let Ok(1) = stdout.read(&mut byte) {
            if byte[0] == b'\n' {
                break;
            }
        }
    }
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    let status = child.wait().unwrap();
    (status.code(), stderr)
}

#[tokio::test]
async fn no_command_panics_on_a_closed_stdout() {
    // `meeboter openapi | head -1`: 100 KB into a pipe nobody reads any more.
    let (code, stderr) = with_stdout_closed_early(&["openapi"], &[]);
    assert_eq!(code, Some(0), "{stderr}");
    assert!(!stderr.contains("panicked") && stderr.trim().is_empty(), "{stderr}");

    let t = TestDatabase::create().await.unwrap();
    let db = [("DATABASE_URL", t.url.as_str())];
    // Enough keys that the listing outgrows the pipe's buffer.
    for i in 0..3 {
        let out = meeboter()
            .args(["keys", "create", "--role", "admin", "--name", &format!("k{i}")])
            .envs(db.iter().copied())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    for args in [
        &["keys", "list"][..],
        &["config", "check"][..],
        &["migrate"][..],
        &["--help"][..],
    ] {
        let (code, stderr) = with_stdout_closed_early(args, &db);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    // The exit status still tells the truth when the output is cut short.
    let (code, stderr) = with_stdout_closed_early(&["config", "check"], &[("LOG_FORMAT", "yaml")]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("LOG_FORMAT") && !stderr.contains("panicked"),
        "{stderr}"
    );

    // A secret that cannot be shown is not kept: the key is rolled back, exit 1.
    let mut child = meeboter()
        .args(["keys", "create", "--role", "admin", "--name", "unseen"])
        .envs(db.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("the key was not created") && !stderr.contains("panicked"),
        "{stderr}"
    );
    let list = meeboter()
        .args(["keys", "list"])
        .envs(db.iter().copied())
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&list.stdout);
    assert!(!listing.contains("unseen"), "{listing}");
    assert_eq!(listing.lines().count(), 4, "{listing}");
}

#[test]
fn serve_on_a_taken_port_creates_nothing_then_a_free_start_prints_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = meeboter()
        .arg("serve")
        .current_dir(dir.path())
        .env("MEEBOTER_LISTEN", &addr)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&addr) && stderr.contains("MEEBOTER_LISTEN") && !stderr.contains("panicked"),
        "the error names the address: {stderr}"
    );
    assert!(
        !stderr.contains("mbk_"),
        "no key printed by a start that cannot serve: {stderr}"
    );
    assert!(
        !dir.path().join("meeboter.db").exists(),
        "nothing created before the port is held"
    );
    drop(taken);
    // The same address, now free: the first start that serves prints the admin key.
    let (mut child, _, lines) = start_server_with(dir.path(), &[("MEEBOTER_LISTEN", addr.as_str())]);
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        lines
            .iter()
            .any(|l| l.split_whitespace().any(|w| w.starts_with("mbk_"))),
        "{lines:?}"
    );
}

#[tokio::test]
async fn serve_says_how_to_create_an_admin_key_when_none_was_shown() {
    let hint = "meeboter keys create --role admin";
    // Only a member key: nobody holds an admin key.
    let t = TestDatabase::create().await.unwrap();
    let out = meeboter()
        .args(["keys", "create", "--role", "member"])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let dir = tempfile::tempdir().unwrap();
    let env = [("DATABASE_URL", t.url.as_str()), ("MEEBOTER_LISTEN", "127.0.0.1:0")];
    let (mut child, _, lines) = start_server_with(dir.path(), &env);
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains(hint)), "{lines:?}");
    assert!(!lines.iter().any(|l| l.contains("mbk_")), "{lines:?}");

    // A first start whose key was created but never printed (it died before, or its
    // stderr was unwritable): the record that it was shown is missing.
    let t = TestDatabase::create().await.unwrap();
    let env = [("DATABASE_URL", t.url.as_str()), ("MEEBOTER_LISTEN", "127.0.0.1:0")];
    let (mut child, _, lines) = start_server_with(dir.path(), &env);
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains("mbk_")), "{lines:?}");
    let db = meeboter_db::Db::connect(&t.url, &Default::default()).await.unwrap();
    let mut conn = db.pool().acquire().await.unwrap();
    sqlx::query("DELETE FROM server_settings WHERE name = 'first_admin_key_shown'")
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    db.pool().close().await;
    let (mut child, _, lines) = start_server_with(dir.path(), &env);
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains(hint)), "unseen first key: {lines:?}");
    assert!(!lines.iter().any(|l| l.contains("mbk_")), "{lines:?}");

    // A normal first start shows its key; the next start needs no hint.
    let t = TestDatabase::create().await.unwrap();
    let env = [("DATABASE_URL", t.url.as_str()), ("MEEBOTER_LISTEN", "127.0.0.1:0")];
    let (mut child, _, lines) = start_server_with(dir.path(), &env);
    let _ = child.kill();
    let _ = child.wait();
    assert!(lines.iter().any(|l| l.contains("mbk_")), "{lines:?}");
    let (mut child, _, lines) = start_server_with(dir.path(), &env);
    let _ = child.kill();
    let _ = child.wait();
    assert!(!lines.iter().any(|l| l.contains(hint)), "{lines:?}");
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

    // The account's last active admin key cannot be revoked, offline either.
    let refused = meeboter()
        .args(["keys", "revoke", &id])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("last active admin key of account `acme`"), "{stderr}");
    let second = meeboter()
        .args([
            "keys",
            "create",
            "--account",
            "acme",
            "--role",
            "admin",
            "--name",
            "ops2",
        ])
        .env("DATABASE_URL", &t.url)
        .output()
        .unwrap();
    assert!(second.status.success());
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

#[test]
fn healthcheck_asks_readyz_on_the_listen_address() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, _) = start_server(dir.path());
    let port = addr.rsplit(':').next().unwrap();
    // A wildcard listen address is asked on loopback, as inside a container.
    let out = meeboter()
        .arg("healthcheck")
        .env("MEEBOTER_LISTEN", format!("0.0.0.0:{port}"))
        .output()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("/readyz: 200"));

    let out = meeboter()
        .arg("healthcheck")
        .env("MEEBOTER_LISTEN", format!("127.0.0.1:{}", free_port()))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/readyz"));
}

/// The bot runtime's Chromium list and the start-up check's are the same list.
#[test]
fn the_start_up_check_looks_for_the_browsers_the_bot_runs() {
    assert_eq!(
        meeboter_bot::browser::CANDIDATES,
        meeboter_platforms::prerequisites::CHROMIUM_NAMES
    );
}

#[test]
fn config_check_names_missing_bot_tools_and_unwritable_storage() {
    let dir = tempfile::tempdir().unwrap();
    let empty_bin = dir.path().join("bin");
    std::fs::create_dir(&empty_bin).unwrap();
    // A regular file where the storage directory (or one of its parents) should be: no
    // directory can ever be created there, whoever runs the check (root included).
    let blocker = dir.path().join("blocker");
    std::fs::write(&blocker, "").unwrap();
    let out = meeboter()
        .args(["config", "check"])
        .current_dir(dir.path())
        .env("PATH", &empty_bin)
        .env("STORAGE_PATH", blocker.join("media"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for needle in [
        "no Chromium on PATH",
        "CHROMIUM_PATH",
        "Xvfb is not on PATH",
        "pulseaudio is not on PATH",
        "ffmpeg is not on PATH",
        "STORAGE_PATH",
        "6 problem(s)",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
    assert!(!String::from_utf8_lossy(&out.stdout).contains("configuration OK"));

    // An explicit CHROMIUM_PATH is taken; a Coolify-only setup asks nothing of this machine's tools.
    let out = meeboter()
        .args(["config", "check"])
        .current_dir(dir.path())
        .env("PATH", &empty_bin)
        .env("CHROMIUM_PATH", "/nonexistent/chrome")
        .env("DEPLOYMENT_PLATFORM", "coolify")
        .env("COOLIFY_API_URL", "https://coolify.example.com/api/v1")
        .env("COOLIFY_API_TOKEN", "1|token")
        .env("COOLIFY_PROJECT_UUID", "p")
        .env("COOLIFY_SERVER_UUID", "s")
        .env("BOT_IMAGE", "ghcr.io/example/bot")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("configuration OK"));
}

#[test]
fn serve_reports_what_bots_would_miss_in_readyz_and_the_infrastructure_page() {
    let dir = tempfile::tempdir().unwrap();
    let empty_bin = dir.path().join("bin");
    std::fs::create_dir(&empty_bin).unwrap();
    let path = empty_bin.display().to_string();
    let (mut child, addr, lines) =
        start_server_with(dir.path(), &[("MEEBOTER_LISTEN", "127.0.0.1:0"), ("PATH", &path)]);
    let key = common::admin_key(&lines);
    // Logged at start, before the server says it is serving.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"ERROR\"") && l.contains("no Chromium on PATH")),
        "{lines:?}"
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (ready, infra) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let ready = client.get(format!("http://{addr}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200);
        let ready: serde_json::Value = ready.json().await.unwrap();
        let infra: serde_json::Value = client
            .get(format!("http://{addr}/api/infrastructure"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (ready, infra)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(ready["status"], "degraded", "{ready}");
    let components: Vec<&str> = ready["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["component"].as_str().unwrap())
        .collect();
    assert_eq!(
        components,
        ["chromium", "Xvfb", "pulseaudio", "ffmpeg", "ffprobe"],
        "{ready}"
    );
    let warnings = infra["warnings"].to_string();
    assert!(warnings.contains("no Chromium on PATH"), "{infra}");
}

/// A bot that cannot write its working files fails naming its temporary directory — not as
/// a browser that "crashed".
#[test]
fn a_bot_whose_temp_dir_is_unwritable_fails_naming_it() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let dir = tempfile::tempdir().unwrap();
        // A regular file as TMPDIR: nothing can be created in it, whoever runs the test.
        let not_a_dir = dir.path().join("not-a-dir");
        std::fs::write(&not_a_dir, "").unwrap();
        // The local platform gives each bot a private TMPDIR; a container may have none that
        // is writable. `env` stands in for that here.
        let command = format!(
            "env TMPDIR={} {} bot",
            not_a_dir.display(),
            env!("CARGO_BIN_EXE_meeboter")
        );
        let s = common::Server::start_with(&[("LOCAL_BOT_COMMAND", &command)]).await;
        let id = s
            .create(&common::PLATFORMS[0], "tmp-unwritable", serde_json::json!({}))
            .await;
        let bot = s.ended(&id).await;
        let last = bot["statusChanges"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(
            (last["status"].as_str(), last["subCode"].as_str()),
            (Some("FATAL"), Some("temp_dir_unwritable")),
            "{bot}"
        );
        assert!(last["message"].as_str().unwrap().contains("not-a-dir"), "{last}");
    });
}

/// Every sub code Meeboter emits is explained in the README.
#[test]
fn every_sub_code_is_documented() {
    let readme = include_str!("../../../README.md");
    let table = &readme[readme.find("### Lifecycle and sub codes").expect("sub code section")..];
    for code in meeboter_core::lifecycle::sub_code::KNOWN {
        assert!(
            table.contains(&format!("| `{code}` |")),
            "`{code}` has no row in the README's sub code table"
        );
    }
}

/// The setting names in the first cells of a markdown table's rows (`| \`A\`, \`B\` | …`).
fn table_names(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| l.starts_with("| `"))
        .flat_map(|l| {
            let first = l[1..].split(" |").next().unwrap_or("");
            first
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Every setting has a row in one of the README's settings tables (the configuration table,
/// or a platform's deployment guide), and the configuration table names no setting that does
/// not exist.
#[test]
fn every_setting_has_a_row_in_the_readme() {
    let readme = include_str!("../../../README.md");
    let documented = table_names(readme);
    let missing: Vec<&str> = meeboter_server::config::KEYS
        .iter()
        .map(|k| k.name)
        .filter(|name| !documented.iter().any(|d| d == name))
        .collect();
    assert!(missing.is_empty(), "settings without a README row: {missing:?}");
    let start = readme.find("## Configuration").expect("configuration section");
    let end = start + readme[start..].find("\n## ").expect("section after configuration");
    for name in table_names(&readme[start..end]) {
        let looks_like_setting = name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
        let known = meeboter_server::config::KEYS.iter().any(|k| k.name == name);
        assert!(
            known || !looks_like_setting,
            "the README documents `{name}`, which is not a setting"
        );
    }
}

#[test]
fn first_start_prints_an_admin_key_once_and_serves_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let (mut child, addr, lines) = start_server(dir.path());
    let key = common::admin_key(&lines);
    // The start-up summary: dashboard and platform in words, no colour codes in a pipe.
    let text = lines.join("\n");
    for expected in ["Dashboard", "bots run as local processes on this machine", "SQLite"] {
        assert!(text.contains(expected), "`{expected}` missing: {text}");
    }
    assert!(!text.contains('\x1b'), "colour codes in a pipe: {text:?}");
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

#[test]
fn kill_dash_nine_mid_burst_loses_no_bot_and_starts_none_twice() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestDatabase::create()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let fake = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/fake_bot.py");
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let command = format!("python3 {fake} --stay 0.5");
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("MEEBOTER_LISTEN", listen.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("LOCAL_BOT_COMMAND", command.as_str()),
        ("LOCAL_BOT_LIMIT", "5"),
        ("MONITOR_INTERVAL_SECS", "1"),
    ];
    let (mut first, _, lines) = start_server_with(dir.path(), &env);
    let key = common::admin_key(&lines);
    let client = reqwest::Client::new();
    let total = 30;
    let ids: Vec<String> = runtime.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..total {
            let res = client
                .post(format!("{public}/api/bots"))
                .bearer_auth(&key)
                .json(&serde_json::json!({"meetingUrl": "https://zoom.us/j/123456789"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
            let body: serde_json::Value = res.json().await.unwrap();
            ids.push(body["id"].as_str().unwrap().to_string());
        }
        ids
    });
    std::thread::sleep(std::time::Duration::from_millis(1500));
    first.kill().unwrap(); // SIGKILL: no shutdown code runs
    first.wait().unwrap();

    let (mut second, _, _) = start_server_with(dir.path(), &env);
    let deadline = Instant::now() + Duration::from_secs(200);
    let db = t.db.clone();
    loop {
        let (open,): (i64,) = runtime
            .block_on(
                sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')").fetch_one(db.pool()),
            )
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} bots never finished after the restart"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let rows: Vec<(String, String, i64)> = runtime
        .block_on(sqlx::query_as("SELECT id, status, deploy_attempts FROM bots").fetch_all(db.pool()))
        .unwrap();
    assert_eq!(rows.len(), total, "no bot lost");
    for (id, status, attempts) in &rows {
        let history: Vec<(String, Option<String>, Option<String>)> = runtime
            .block_on(
                sqlx::query_as(
                    "SELECT status, sub_code, message FROM bot_status_changes WHERE bot_id = $1 ORDER BY id",
                )
                .bind(id)
                .fetch_all(db.pool()),
            )
            .unwrap();
        assert_eq!(status, "ENDED", "bot {id}: {history:?}");
        // An attempt interrupted before its process started is retried (attempt 2), but a
        // bot process is started at most once: one `deployed` record per bot.
        assert!(*attempts <= 2, "bot {id}: {attempts} attempts");
        let (deployed,): (i64,) = runtime
            .block_on(
                sqlx::query_as("SELECT COUNT(*) FROM bot_events WHERE bot_id = $1 AND type = 'deployed'")
                    .bind(id)
                    .fetch_one(db.pool()),
            )
            .unwrap();
        assert!(deployed <= 1, "bot {id} was started {deployed} times");
    }
    let (ended_twice,): (i64,) = runtime
        .block_on(
            sqlx::query_as(
                "SELECT COUNT(*) FROM (SELECT bot_id FROM bot_status_changes WHERE status IN ('ENDED', 'FATAL')
                 GROUP BY bot_id HAVING COUNT(*) > 1) x",
            )
            .fetch_one(db.pool()),
        )
        .unwrap();
    assert_eq!(ended_twice, 0, "every bot ended exactly once");
    // No orphans: every bot process is gone.
    let markers: Vec<String> = ids.iter().map(|id| format!("MEEBOTER_DEPLOYMENT={id}/")).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let running = std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter(|e| {
                std::fs::read(e.path().join("environ"))
                    .map(|env| {
                        env.split(|b| *b == 0)
                            .any(|kv| markers.iter().any(|m| kv.starts_with(m.as_bytes())))
                    })
                    .unwrap_or(false)
            })
            .count();
        if running == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{running} orphan bot processes");
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = second.kill();
    let _ = second.wait();
}

#[test]
fn kill_dash_nine_mid_coolify_deploy_leaves_a_consistent_pool() {
    use coolify_fake::{CoolifyFake, DESTINATION_UUID, PROJECT_UUID, SERVER_UUID};
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestDatabase::create()).unwrap();
    let fake = runtime.block_on(CoolifyFake::start("coolify-token"));
    let starts = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = starts.clone();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/fake_bot.py");
    fake.control(move |c| {
        // Slow deployments keep several launches in flight when the server dies.
        c.queued_for = Duration::from_millis(800);
        c.on_start = Some(std::sync::Arc::new(move |_app, envs| {
            seen.lock().unwrap().push(envs["MILO_AUTH_TOKEN"].clone());
            let _ = Command::new("python3")
                .args([script, "--stay", "0.5"])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(envs)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn();
        }));
    });
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("MEEBOTER_LISTEN", listen.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("DEPLOYMENT_PLATFORM", "coolify"),
        ("COOLIFY_API_URL", fake.base_url.as_str()),
        ("COOLIFY_API_TOKEN", "coolify-token"),
        ("COOLIFY_PROJECT_UUID", PROJECT_UUID),
        ("COOLIFY_SERVER_UUID", SERVER_UUID),
        ("COOLIFY_DESTINATION_UUID", DESTINATION_UUID),
        ("GHCR_ORG", "acme"),
        ("COOLIFY_BOT_LIMIT", "5"),
        ("POOL_MIN_IDLE", "2"),
        ("POOL_RECOVERY_INTERVAL_SECS", "2"),
        ("MONITOR_INTERVAL_SECS", "1"),
        ("DEPLOY_TIMEOUT_SECS", "60"),
    ];
    let (mut first, _, lines) = start_server_with(dir.path(), &env);
    let key = common::admin_key(&lines);
    let client = reqwest::Client::new();
    let total = 12;
    runtime.block_on(async {
        for _ in 0..total {
            let res = client
                .post(format!("{public}/api/bots"))
                .bearer_auth(&key)
                .json(&serde_json::json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    });
    std::thread::sleep(Duration::from_millis(700));
    first.kill().unwrap(); // SIGKILL mid-deploy
    first.wait().unwrap();

    let (mut second, _, _) = start_server_with(dir.path(), &env);
    let db = t.db.clone();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (open,): (i64,) = runtime
            .block_on(
                sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')").fetch_one(db.pool()),
            )
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} bots never finished after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let rows: Vec<(String, String, Option<String>)> = runtime
        .block_on(sqlx::query_as(
            "SELECT id, status, (SELECT sub_code FROM bot_status_changes c WHERE c.bot_id = bots.id ORDER BY c.id DESC LIMIT 1) FROM bots",
        ).fetch_all(db.pool()))
        .unwrap();
    assert_eq!(rows.len(), total, "no bot lost");
    for (id, status, sub_code) in &rows {
        assert_eq!(status, "ENDED", "bot {id}: {sub_code:?}");
    }
    // No attempt's environment was started twice.
    let mut tokens = starts.lock().unwrap().clone();
    let n = tokens.len();
    tokens.sort();
    tokens.dedup();
    assert_eq!(tokens.len(), n, "an attempt was started twice");
    // The pool settles: every slot idle, one application per slot, none leaked.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let slots: Vec<(String, Option<String>)> = runtime
            .block_on(sqlx::query_as("SELECT status, application_uuid FROM pool_slots").fetch_all(db.pool()))
            .unwrap();
        let apps = fake.app_uuids();
        let settled = slots.iter().all(|(s, _)| s == "IDLE")
            && slots.len() == apps.len()
            && slots.iter().all(|(_, a)| a.as_ref().is_some_and(|a| apps.contains(a)))
            && slots.len() <= 5;
        if settled {
            break;
        }
        assert!(Instant::now() < deadline, "pool not settled: {slots:?} vs {apps:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = second.kill();
    let _ = second.wait();
}

#[test]
fn kill_dash_nine_mid_kubernetes_burst_loses_no_bot_creates_no_job_twice_and_leaves_no_orphan() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestDatabase::create()).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tests/fixtures/fake_bot.py");
    let fake = runtime.block_on(kube_fake::KubeFake::start(kube_fake::Controls {
        hook: Some(vec!["python3".into(), script.into(), "--stay".into(), "0.5".into()]),
        ..Default::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("MEEBOTER_LISTEN", listen.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("DEPLOYMENT_PLATFORM", "kubernetes"),
        ("KUBERNETES_API_URL", fake.url.as_str()),
        ("KUBERNETES_BOT_NAMESPACE", "meeboter-bots"),
        ("KUBERNETES_BOT_LIMIT", "5"),
        ("BOT_IMAGE", "registry.example/meeboter-bot"),
        ("MONITOR_INTERVAL_SECS", "1"),
    ];
    let (mut first, _, lines) = start_server_with(dir.path(), &env);
    let key = common::admin_key(&lines);
    let client = reqwest::Client::new();
    let total = 20;
    runtime.block_on(async {
        for _ in 0..total {
            let res = client
                .post(format!("{public}/api/bots"))
                .bearer_auth(&key)
                .json(&serde_json::json!({"meetingUrl": "https://zoom.us/j/123456789"}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    });
    std::thread::sleep(Duration::from_millis(1500));
    first.kill().unwrap(); // SIGKILL: no shutdown code runs
    first.wait().unwrap();
    let db = t.db.clone();
    let (open_at_kill,): (i64,) = runtime
        .block_on(
            sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')").fetch_one(db.pool()),
        )
        .unwrap();
    assert!(open_at_kill > 0, "the burst was over before the kill");

    let (mut second, _, _) = start_server_with(dir.path(), &env);
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        let (open,): (i64,) = runtime
            .block_on(
                sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')").fetch_one(db.pool()),
            )
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{open} bots never finished after the restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let rows: Vec<(String, String, i64)> = runtime
        .block_on(sqlx::query_as("SELECT id, status, deploy_attempts FROM bots").fetch_all(db.pool()))
        .unwrap();
    assert_eq!(rows.len(), total, "no bot lost");
    let mut attempts_total = 0;
    for (id, status, attempts) in &rows {
        assert_eq!(status, "ENDED", "bot {id}");
        attempts_total += attempts;
        let (deployed,): (i64,) = runtime
            .block_on(
                sqlx::query_as("SELECT COUNT(*) FROM bot_events WHERE bot_id = $1 AND type = 'deployed'")
                    .bind(id)
                    .fetch_one(db.pool()),
            )
            .unwrap();
        assert!(deployed <= 1, "bot {id} was started {deployed} times");
    }
    // One Job create per deploy attempt at most (nothing throttles here, so no create is
    // repeated; a relaunch of the same attempt would meet its own Job with 409 and adopt it).
    let requests = fake.requests();
    let created = requests
        .iter()
        .filter(|r| r.verb == "create" && r.resource == "batch/jobs")
        .count() as i64;
    assert!(
        created <= attempts_total,
        "{created} Job creates for {attempts_total} attempts"
    );
    let pods_started = requests
        .iter()
        .filter(|r| r.verb == "create" && r.resource == "/pods")
        .count();
    assert_eq!(pods_started, 0, "only the job controller creates pods");
    // No orphan: every Job, pod and Secret is gone once the bots are released.
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let left = ["jobs", "pods", "secrets"]
            .iter()
            .map(|r| fake.names(r, "meeboter-bots").len())
            .sum::<usize>();
        if left == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{left} Kubernetes objects left behind");
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = second.kill();
    let _ = second.wait();
}

#[test]
fn bot_with_a_bad_environment_names_every_problem_and_exits_two() {
    let out = meeboter()
        .arg("bot")
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("MEETING_PLATFORM", "webex")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "BOT_ID is missing",
        "MEETING_URL is missing",
        "MEETING_PLATFORM `webex`",
        "API_CALLBACK_URL is missing",
        "MILO_AUTH_TOKEN is missing",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in:\n{stderr}");
    }
}

/// The whole product on one machine: `meeboter serve` starts `meeboter bot` as a local
/// process, which opens the server's own Meet test meeting in Chromium, joins, and leaves
/// when asked through the API.
#[test]
fn a_real_bot_joins_the_servers_test_meeting_and_leaves_on_request() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestDatabase::create()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let public = format!("http://{listen}");
    let command = format!("{} bot", env!("CARGO_BIN_EXE_meeboter"));
    let env = [
        ("DATABASE_URL", t.url.as_str()),
        ("MEEBOTER_LISTEN", listen.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("LOCAL_BOT_COMMAND", command.as_str()),
        ("HEARTBEAT_INTERVAL_SECS", "2"),
        ("HEARTBEAT_TIMEOUT_SECS", "20"),
        ("MONITOR_INTERVAL_SECS", "1"),
    ];
    let (mut server, _, lines) = start_server_with(dir.path(), &env);
    let key = common::admin_key(&lines);
    let client = reqwest::Client::new();
    let meeting = format!("{public}/_test/meeting/meet/abc-defg-hij");
    let get = |path: String| {
        let client = client.clone();
        let key = key.clone();
        async move {
            client
                .get(path)
                .bearer_auth(&key)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let outcome = runtime.block_on(async {
        let res = client
            .post(format!("{public}/api/bots"))
            .bearer_auth(&key)
            .json(&serde_json::json!({"meetingUrl": meeting, "botName": "Verify Bot", "recordingMode": "none"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let bot: serde_json::Value = res.json().await.unwrap();
        assert_eq!(bot["platform"], "google_meet");
        let id = bot["id"].as_str().unwrap().to_string();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let b = get(format!("{public}/api/bots/{id}")).await;
            if b["status"] == "IN_CALL" {
                break;
            }
            assert!(
                Instant::now() < deadline && !matches!(b["status"].as_str(), Some("FATAL" | "ENDED")),
                "bot never got into the call: {b}"
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        // The meeting sees the bot, under its name.
        let state = get(format!("{public}/_test/meeting/meet/_replica/abc-defg-hij")).await;
        assert_eq!(state["guests"][0]["name"], "Verify Bot", "{state}");
        assert_eq!(state["guests"][0]["screen"], "call", "{state}");
        let res = client
            .post(format!("{public}/api/bots/{id}/leave"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 202);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let b = get(format!("{public}/api/bots/{id}")).await;
            if b["status"] == "ENDED" {
                let replica = get(format!("{public}/_test/meeting/meet/_replica/abc-defg-hij")).await;
                return (b, replica);
            }
            assert!(Instant::now() < deadline, "bot never left: {b}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    });
    let (bot, replica) = outcome;
    let history: Vec<String> = bot["statusChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["subCode"].as_str() {
            Some(code) => format!("{}/{code}", c["status"].as_str().unwrap()),
            None => c["status"].as_str().unwrap().to_string(),
        })
        .collect();
    assert_eq!(
        history,
        [
            "QUEUED",
            "DEPLOYING",
            "JOINING_CALL",
            "IN_CALL",
            "LEAVING/user_requested",
            "ENDED/user_requested"
        ],
        "{bot}"
    );
    assert_eq!(
        replica["guests"][0]["screen"], "left",
        "the bot pressed Leave call: {replica}"
    );
    let _ = server.kill();
    let _ = server.wait();
}

/// `meeboter verify` against a fresh server; the server keeps running until the result is
/// dropped, so a test can ask it what verify left behind.
struct VerifyRun {
    out: std::process::Output,
    public: String,
    key: String,
    server: std::process::Child,
    _dir: tempfile::TempDir,
    _db: TestDatabase,
}

impl Drop for VerifyRun {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl VerifyRun {
    fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.out.stdout).into_owned()
    }

    fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.out.stderr).into_owned()
    }

    /// The status of `GET /api/bots/{id}` now.
    fn bot_status(&self, id: &str) -> u16 {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            reqwest::Client::new()
                .get(format!("{}/api/bots/{id}", self.public))
                .bearer_auth(&self.key)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        })
    }
}

/// `without_scheme`: pass `--url` as `127.0.0.1:<port>`, as people type it.
fn verify_against(local_bot_command: &str, env: &[(&str, &str)], args: &[&str], without_scheme: bool) -> VerifyRun {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let t = runtime.block_on(TestDatabase::create()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let public = format!("http://{listen}");
    let mut all = vec![
        ("DATABASE_URL", t.url.as_str()),
        ("MEEBOTER_LISTEN", listen.as_str()),
        ("PUBLIC_URL", public.as_str()),
        ("LOCAL_BOT_COMMAND", local_bot_command),
        ("HEARTBEAT_INTERVAL_SECS", "2"),
        ("HEARTBEAT_TIMEOUT_SECS", "20"),
        ("MONITOR_INTERVAL_SECS", "1"),
    ];
    all.extend_from_slice(env);
    let (server, _, lines) = start_server_with(dir.path(), &all);
    let key = common::admin_key(&lines);
    let url = if without_scheme { listen.clone() } else { public.clone() };
    let out = meeboter()
        .args(["verify", "--url", &url, "--key", &key, "--timeout-secs", "90"])
        .args(args)
        .output()
        .unwrap();
    VerifyRun {
        out,
        public,
        key,
        server,
        _dir: dir,
        _db: t,
    }
}

fn real_bot() -> String {
    format!("{} bot", env!("CARGO_BIN_EXE_meeboter"))
}

/// The test bot's id, from verify's "created test bot <id> for …" line.
fn verified_bot_id(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("created test bot "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no bot id in:\n{stdout}"))
        .to_string()
}

#[test]
fn verify_proves_a_working_deployment_step_by_step_and_deletes_its_bot() {
    let run = verify_against(&real_bot(), &[], &[], false);
    let stdout = run.stdout();
    assert!(run.out.status.success(), "{stdout}\n{}", run.stderr());
    let mut last = 0;
    for step in [
        "DEPLOYING",
        "JOINING_CALL",
        "IN_CALL",
        "ENDED",
        "verified in",
        "deleted the test bot",
    ] {
        let at = stdout
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` missing:\n{stdout}"));
        assert!(at >= last, "steps out of order:\n{stdout}");
        last = at;
    }
    // Not a terminal: no cursor codes in the output.
    assert!(!stdout.contains('\x1b'), "{stdout:?}");
    let id = verified_bot_id(&stdout);
    assert_eq!(run.bot_status(&id), 404, "the test bot was deleted");
}

#[test]
fn verify_keeps_its_bot_when_asked_and_takes_a_url_without_a_scheme() {
    let run = verify_against(&real_bot(), &[], &["--keep"], true);
    let stdout = run.stdout();
    assert!(run.out.status.success(), "{stdout}\n{}", run.stderr());
    assert!(stdout.contains("kept the test bot"), "{stdout}");
    let id = verified_bot_id(&stdout);
    assert_eq!(run.bot_status(&id), 200, "--keep kept the test bot");
}

#[test]
fn verify_names_test_meetings_when_the_test_meeting_is_refused() {
    let run = verify_against(&real_bot(), &[("TEST_MEETINGS", "false")], &[], false);
    assert_eq!(run.out.status.code(), Some(1));
    let stderr = run.stderr();
    assert!(stderr.contains("TEST_MEETINGS=true"), "{stderr}");
}

#[test]
fn verify_fails_when_bots_cannot_run() {
    // A "bot" that exits at once: the deployment is broken and verify must say so.
    let run = verify_against("false", &[], &[], false);
    assert_eq!(run.out.status.code(), Some(1));
    let stdout = run.stdout();
    let stderr = run.stderr();
    assert!(stdout.contains("FATAL"), "{stdout}");
    assert!(stderr.contains("the test bot failed"), "{stderr}");
    // A failed bot is kept, so its logs can be read.
    let id = verified_bot_id(&stdout);
    assert_eq!(run.bot_status(&id), 200);
}

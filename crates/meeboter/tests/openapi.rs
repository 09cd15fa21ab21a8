//! The OpenAPI documents, checked by the tools the outside world uses on them:
//! `openapi-spec-validator` on what `meeboter openapi` prints (both documents).
//!
//! The tools live in a Python virtual environment that `scripts/test` installs
//! (`ensure_api_tools`); `MEEBOTER_TEST_API_TOOLS` names its `bin` directory and makes these
//! tests fail, not skip, when a tool is missing.

mod common;

use std::path::PathBuf;
use std::process::Command;

/// The `bin` directory holding the pinned API tools, or `None` (with a note) to skip.
fn api_tools() -> Option<PathBuf> {
    let (dir, required) = match std::env::var("MEEBOTER_TEST_API_TOOLS") {
        Ok(dir) => (PathBuf::from(dir), true),
        Err(_) => {
            let home = std::env::var("HOME").unwrap_or_default();
            (PathBuf::from(home).join(".cache/meeboter-peers-api/bin"), false)
        }
    };
    let present = dir.join("openapi-spec-validator").is_file();
    if required {
        assert!(
            present,
            "MEEBOTER_TEST_API_TOOLS={} has no openapi-spec-validator (scripts/test installs it)",
            dir.display()
        );
    } else if !present {
        eprintln!(
            "SKIPPING: no API tools at {} (scripts/test installs them)",
            dir.display()
        );
        return None;
    }
    Some(dir)
}

fn printed_document(args: &[&str]) -> String {
    let out = common::meeboter().arg("openapi").args(args).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn both_documents_pass_openapi_spec_validator() {
    let Some(tools) = api_tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (name, args) in [("public.json", &[][..]), ("bot.json", &["--bot-channel"][..])] {
        let path = dir.path().join(name);
        std::fs::write(&path, printed_document(args)).unwrap();
        let out = Command::new(tools.join("openapi-spec-validator"))
            .arg(&path)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        // The validator echoes the whole document on failure: its last lines say what is wrong.
        let tail: String = text
            .chars()
            .rev()
            .take(3000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        assert!(out.status.success(), "{name}: …{tail}");
        assert!(text.contains("OK"), "{name}: {text}");
    }

    // And the validator does refuse a broken document (a response without a description).
    let mut broken: serde_json::Value = serde_json::from_str(&printed_document(&[])).unwrap();
    broken["paths"]["/healthz"]["get"]["responses"]["200"]
        .as_object_mut()
        .unwrap()
        .remove("description");
    let path = dir.path().join("broken.json");
    std::fs::write(&path, broken.to_string()).unwrap();
    let out = Command::new(tools.join("openapi-spec-validator"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success(), "the validator accepted a broken document");
}

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// schemathesis against a real server (`meeboter serve` on the test database, bots as local
/// processes joining whatever link the generated request names, one at a time; the request
/// example names the server's test meeting): every check
/// it has — no 5xx, no undocumented status, responses match their schemas, schema-valid
/// requests are accepted and schema-violating ones refused, auth is enforced — with a fixed
/// seed and 10 examples per operation. `GET /api/bots/live` is left out: it is an endless
/// event stream, nothing a request/response check can finish. The operations whose
/// schema-valid requests may still get a 422 for a rule JSON Schema cannot state are listed,
/// with the rule, in tests/fixtures/schemathesis.toml.
#[tokio::test(flavor = "multi_thread")]
async fn schemathesis_finds_nothing_against_a_real_server() {
    let Some(tools) = api_tools() else { return };
    let server = common::Server::start_with(&[("LOCAL_BOT_LIMIT", "1"), ("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let config = workspace_root().join("crates/meeboter/tests/fixtures/schemathesis.toml");
    // The document the server serves, with one change: the create-bot example (which
    // schemathesis sends as is) names this server's Meet test meeting instead of a real
    // meeting, so that bot joins and runs like a real one.
    let mut doc: serde_json::Value = server
        .http
        .get(format!("{}/api/openapi.json", server.public))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let test_meeting = format!("{}/_test/meeting/meet/schemathesis", server.public);
    let create = &mut doc["components"]["schemas"]["CreateBotRequest"];
    assert!(
        create["example"]["meetingUrl"].is_string(),
        "CreateBotRequest has no example"
    );
    create["example"]["meetingUrl"] = test_meeting.clone().into();
    create["properties"]["meetingUrl"]["example"] = test_meeting.into();
    let dir = tempfile::tempdir().unwrap();
    let doc_path = dir.path().join("openapi.json");
    std::fs::write(&doc_path, doc.to_string()).unwrap();
    let out = tokio::process::Command::new(tools.join("schemathesis"))
        .arg("--config-file")
        .arg(&config)
        .arg("run")
        .arg(&doc_path)
        .args(["--url", &server.public])
        .args(["--checks", "all", "--exclude-operation-id", "live"])
        .args(["--max-examples", "10", "--seed", "1", "--workers", "1", "--no-color"])
        .args(["--header", &format!("Authorization: Bearer {}", server.key)])
        .env("SCHEMATHESIS_TELEMETRY", "false")
        // Its cache of found failures goes to the scratch directory, not the source tree.
        .current_dir(dir.path())
        .output()
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found problems:\n{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("passed"), "{text}");
}

/// Runs a client example against a real server that may deliver webhooks to loopback; the
/// example creates a bot for the server's Meet test meeting, follows its event stream to
/// `ENDED` (asking it to leave once in the call) and verifies the signed `ENDED` delivery.
async fn run_example(program: &std::path::Path, args: &[&str], dir: &std::path::Path, env: &[(&str, String)]) {
    let server = common::Server::start_with(&[("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("MEEBOTER_URL", &server.public)
        .env("MEEBOTER_API_KEY", &server.key)
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(240), cmd.output())
        .await
        .expect("the example finishes within 4 minutes")
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "example failed:\n{stdout}\n{stderr}");
    for step in ["status: IN_CALL", "status: ENDED", "verified:"] {
        assert!(stdout.contains(step), "no `{step}` in:\n{stdout}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn python_client_example_follows_a_bot_to_ended_and_verifies_its_webhook() {
    let Some(tools) = api_tools() else { return };
    let root = workspace_root();
    run_example(
        &tools.join("python"),
        &["clients/examples/python/create_and_follow.py"],
        &root,
        &[("PYTHONPATH", root.join("clients/python").display().to_string())],
    )
    .await;
}

/// `MEEBOTER_TEST_TS_CLIENT` (set by `scripts/test` after `npm ci` in clients/typescript)
/// makes this fail, not skip, when the TypeScript toolchain is missing.
#[tokio::test(flavor = "multi_thread")]
async fn typescript_client_example_follows_a_bot_to_ended_and_verifies_its_webhook() {
    let dir = workspace_root().join("clients/typescript");
    let installed = dir.join("node_modules/.bin/tsc").is_file();
    if std::env::var_os("MEEBOTER_TEST_TS_CLIENT").is_some() {
        assert!(installed, "clients/typescript has no node_modules (npm ci there)");
    } else if !installed {
        eprintln!("SKIPPING: clients/typescript has no node_modules (npm ci there)");
        return;
    }
    let build = Command::new(dir.join("node_modules/.bin/tsc"))
        .args(["-p", "."])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "the example does not type-check against the generated client:\n{}",
        String::from_utf8_lossy(&build.stdout)
    );
    run_example(
        std::path::Path::new("node"),
        &["dist/examples/create_and_follow.js"],
        &dir,
        &[],
    )
    .await;
}

/// The committed clients were generated from today's document (`scripts/clients --check`
/// compares the generated code too; this catches the usual case without the generators).
#[test]
fn committed_client_document_is_current() {
    let committed = std::fs::read_to_string(workspace_root().join("clients/openapi.json")).unwrap();
    let now = printed_document(&[]);
    assert!(
        committed.trim_end() == now.trim_end(),
        "clients/openapi.json is stale: run scripts/clients and commit the result"
    );
}

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
/// processes joining whatever link the generated request names, one at a time): every check
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
    let out = tokio::process::Command::new(tools.join("schemathesis"))
        .arg("--config-file")
        .arg(&config)
        .args(["run", &format!("{}/api/openapi.json", server.public)])
        .args(["--checks", "all", "--exclude-operation-id", "live"])
        .args(["--max-examples", "10", "--seed", "1", "--workers", "1", "--no-color"])
        .args(["--header", &format!("Authorization: Bearer {}", server.key)])
        .env("SCHEMATHESIS_TELEMETRY", "false")
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

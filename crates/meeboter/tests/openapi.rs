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
        assert!(out.status.success(), "{name}: {text}");
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

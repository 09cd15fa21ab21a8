//! `/mcp` through a real `meeboter serve`: the official MCP Python SDK (PyPI `mcp`) as the
//! peer, and the endpoint's authentication over plain HTTP.

mod common;

use common::{admin_key, free_port, start_server, start_server_with};
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// The Python that has the official SDK: `MEEBOTER_TEST_MCP_PYTHON` (set by `scripts/test`)
/// makes it required; without it the SDK test is skipped, saying so.
fn mcp_python() -> Option<PathBuf> {
    let Ok(python) = std::env::var("MEEBOTER_TEST_MCP_PYTHON") else {
        eprintln!("SKIPPING the MCP SDK test: MEEBOTER_TEST_MCP_PYTHON is not set (scripts/test sets it)");
        return None;
    };
    let ok = Command::new(&python)
        .args(["-c", "import mcp"])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        ok,
        "MEEBOTER_TEST_MCP_PYTHON={python} cannot import mcp (pip install mcp)"
    );
    Some(PathBuf::from(python))
}

#[test]
fn the_official_mcp_client_lists_tools_creates_and_gets_a_bot() {
    let Some(python) = mcp_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    // The test meeting is accepted on the server's own origin: PUBLIC_URL is the listen address.
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let env = [("MEEBOTER_LISTEN", listen.as_str()), ("PUBLIC_URL", base.as_str())];
    let (mut server, _, lines) = start_server_with(dir.path(), &env);
    let key = admin_key(&lines);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/mcp_client.py");
    let out = Command::new(python)
        .args([
            script,
            &format!("{base}/mcp"),
            &key,
            &format!("{base}/_test/meeting/meet/mcp-abc"),
        ])
        .output()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_str(stdout.trim()).unwrap();

    assert_eq!(v["server"], "meeboter");
    let tools: Vec<&str> = v["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(
        tools,
        [
            "create_bot",
            "get_bot",
            "get_events",
            "get_participants",
            "get_transcript",
            "leave_meeting",
            "list_bots",
            "send_chat"
        ]
    );
    assert!(
        !v["readOnly"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "create_bot" || t == "leave_meeting")
    );

    assert_eq!(v["create"]["isError"], false, "{v}");
    let id = v["create"]["structured"]["id"].as_str().expect("the created bot's id");
    assert_eq!(v["create"]["structured"]["platform"], "google_meet");
    assert_eq!(v["get"]["isError"], false, "{v}");
    assert_eq!(v["get"]["structured"]["id"], id);
    assert_eq!(v["leave"]["isError"], false, "{v}");

    // Failures come back as tool errors carrying the API's envelope, so a model can read why.
    assert_eq!(v["missing"]["isError"], true, "{v}");
    let missing: Value = serde_json::from_str(v["missing"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(missing["error"]["code"], "not_found", "{missing}");
    assert_eq!(v["invalid"]["isError"], true, "{v}");
    let invalid: Value = serde_json::from_str(v["invalid"]["text"].as_str().unwrap()).unwrap();
    assert_eq!(invalid["error"]["code"], "validation_failed", "{invalid}");
    assert!(v["unknownTool"].as_str().unwrap().contains("unknown tool"), "{v}");
}

#[test]
fn mcp_needs_an_api_key_and_never_a_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, addr, _) = start_server(dir.path());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
    let (none, bad, cookie) = runtime.block_on(async {
        let client = reqwest::Client::new();
        let post = || {
            client
                .post(format!("http://{addr}/mcp"))
                .header("Content-Type", "application/json")
                .header("Accept", "application/json, text/event-stream")
                .body(initialize)
        };
        let none = post().send().await.unwrap();
        let bad = post()
            .bearer_auth("mbk_notakeynotakeynotakeynotakeynotakey")
            .send()
            .await
            .unwrap();
        let cookie = post().header("Cookie", "session=abc").send().await.unwrap();
        (none, bad, cookie)
    });
    for (what, res) in [("no key", none), ("a wrong key", bad), ("a cookie", cookie)] {
        assert_eq!(res.status(), 401, "{what}");
        let www = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_string());
        let body: Value = runtime.block_on(res.json()).unwrap();
        assert_eq!(body["error"]["code"], "unauthorized", "{what}: {body}");
        if what != "a wrong key" {
            assert_eq!(www.as_deref(), Some("Bearer"), "{what}");
        }
    }
    let _ = server.kill();
    let _ = server.wait();
}

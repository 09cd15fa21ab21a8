//! OTLP traces through a real `meeboter serve`: a collector stand-in receives OTLP/HTTP JSON
//! and the test checks one trace per API request and one per bot deploy, named by route, with
//! the collector's headers sent and no API key in any span.

mod common;

use axum::Router;
use axum::http::HeaderMap;
use axum::routing::post;
use common::{admin_key, free_port, start_server_with};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct Collected {
    bodies: Vec<Value>,
    authorizations: Vec<String>,
}

/// The names and `service.name` of every span received so far.
fn spans(c: &Collected) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for body in &c.bodies {
        for rs in body["resourceSpans"].as_array().into_iter().flatten() {
            let service = rs["resource"]["attributes"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["key"] == "service.name")
                .and_then(|a| a["value"]["stringValue"].as_str())
                .unwrap_or("")
                .to_string();
            for ss in rs["scopeSpans"].as_array().into_iter().flatten() {
                for span in ss["spans"].as_array().into_iter().flatten() {
                    let name = span["name"].as_str().unwrap_or("").to_string();
                    out.push((name, service.clone(), span.clone()));
                }
            }
        }
    }
    out
}

fn attribute<'a>(span: &'a Value, key: &str) -> Option<&'a Value> {
    span["attributes"]
        .as_array()?
        .iter()
        .find(|a| a["key"] == key)
        .map(|a| &a["value"])
}

#[test]
fn api_requests_and_deploys_become_traces_at_the_collector() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let collected = Arc::new(Mutex::new(Collected::default()));
    let sink = collected.clone();
    let collector = Router::new().route(
        "/v1/traces",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let sink = sink.clone();
            async move {
                let mut c = sink.lock().unwrap();
                if let Some(v) = headers.get("authorization").and_then(|v| v.to_str().ok()) {
                    c.authorizations.push(v.to_string());
                }
                c.bodies.push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                axum::Json(json!({}))
            }
        }),
    );
    let collector_port = free_port();
    runtime.spawn(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", collector_port))
            .await
            .unwrap();
        axum::serve(listener, collector).await.unwrap();
    });

    let dir = tempfile::tempdir().unwrap();
    let listen = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{listen}");
    let endpoint = format!("http://127.0.0.1:{collector_port}");
    let env = [
        ("MEEBOTER_LISTEN", listen.as_str()),
        ("PUBLIC_URL", base.as_str()),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_HEADERS", "authorization=Bearer%20collector-secret"),
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
        // A bot that exits at once: the deploy happens, the meeting does not matter here.
        ("LOCAL_BOT_COMMAND", "false"),
    ];
    let (mut server, _, lines) = start_server_with(dir.path(), &env);
    let key = admin_key(&lines);
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let list = client
            .get(format!("{base}/api/bots"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap();
        assert_eq!(list.status(), 200);
        let created = client
            .post(format!("{base}/api/bots"))
            .bearer_auth(&key)
            .json(&json!({"meetingUrl": format!("{base}/_test/meeting/meet/trace-me"), "recordingMode": "none"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), 201);
    });

    let wanted = ["GET /api/bots", "POST /api/bots", "deploy bot"];
    let deadline = Instant::now() + Duration::from_secs(20);
    let names = loop {
        let names: Vec<String> = spans(&collected.lock().unwrap()).into_iter().map(|s| s.0).collect();
        if wanted.iter().all(|w| names.iter().any(|n| n == w)) || Instant::now() > deadline {
            break names;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let _ = server.kill();
    let _ = server.wait();

    for w in wanted {
        assert!(names.iter().any(|n| n == w), "no `{w}` span among {names:?}");
    }
    let c = collected.lock().unwrap();
    let all = spans(&c);
    assert!(all.iter().all(|(_, service, _)| service == "meeboter"), "service.name");
    let (_, _, list) = all.iter().find(|(n, ..)| n == "GET /api/bots").unwrap();
    assert_eq!(
        attribute(list, "http.route").and_then(|v| v["stringValue"].as_str()),
        Some("/api/bots")
    );
    assert_eq!(
        attribute(list, "http.response.status_code").map(|v| v["intValue"].to_string()),
        Some("\"200\"".to_string()),
        "{list}"
    );
    let (_, _, deploy) = all.iter().find(|(n, ..)| n == "deploy bot").unwrap();
    assert_eq!(
        attribute(deploy, "platform").and_then(|v| v["stringValue"].as_str()),
        Some("local")
    );
    // A deploy is a trace of its own, not part of the request that created the bot.
    assert!(deploy["parentSpanId"].as_str().unwrap_or("").is_empty(), "{deploy}");
    assert!(
        c.authorizations.iter().all(|a| a == "Bearer collector-secret"),
        "{:?}",
        c.authorizations
    );
    let everything = serde_json::to_string(&c.bodies).unwrap();
    assert!(!everything.contains(&key), "the API key reached the collector");
}

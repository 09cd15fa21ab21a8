//! Chat in both directions, leaving the meeting's host, network blips and timed admission, against
//! the replicas in a real Chromium, per platform (refusal screens: `scenarios.rs`).

mod common;

use common::*;
use meeboter_bot::driver::{self, OutgoingChat};
use meeboter_bot::providers::{ClientSpec, meet::MEET, teams::TEAMS, zoom::ZOOM};
use serde_json::json;
use std::time::Duration;

fn platforms() -> [(axum::Router, &'static ClientSpec, &'static str); 3] {
    [
        (meeboter_replica::router(), &MEET, "/{code}"),
        (meeboter_replica::teams_router(), &TEAMS, "/{code}"),
        (
            meeboter_replica::zoom_router(),
            &ZOOM,
            "/wc/{code}/join?pwd=x&fromPWA=1",
        ),
    ]
}

/// The bot posts a queued message (reported as sent, visible to the meeting) and reports
/// what a person writes, but not its own message.
async fn chat_both_ways(router: axum::Router, spec: &'static ClientSpec, path: &str) {
    let code = "cha-tbot-two";
    let base = serve(router).await;
    let (running, mut provider) = open(spec, &format!("{base}{}", path.replace("{code}", code))).await;
    let channel = Recorder::default();
    channel.outgoing.lock().unwrap().push_back(OutgoingChat {
        id: "msg-1".into(),
        text: "Hello from the notetaker".into(),
    });
    let (s, _tx) = settings(60);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": "Ada Lovelace"}))).await;
            for _ in 0..100 {
                let state = replica_state(&base, code).await;
                if state["chat"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|m| m["guestId"].is_string())
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let body = json!({"sender": "Ada Lovelace", "text": "Can you share the notes?"});
            host(&base, code, "chat", Some(body)).await;
            host(
                &base,
                code,
                "chat",
                Some(json!({"sender": "Ada Lovelace", "text": "Thanks!"})),
            )
            .await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            host(&base, code, "end", None).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    running.close().await;
    assert_eq!(outcome.sub_code, "meeting_ended", "{}", spec.name);
    assert_eq!(
        channel.chat_results.lock().unwrap().as_slice(),
        [("msg-1".to_string(), None)],
        "{}",
        spec.name
    );
    let state = replica_state(&base, code).await;
    let posted: Vec<(String, String)> = state["chat"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["guestId"].is_string())
        .map(|m| (m["sender"].as_str().unwrap().into(), m["text"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        posted,
        [("Meeboter Notes".to_string(), "Hello from the notetaker".to_string())]
    );
    let received: Vec<(String, String)> = channel
        .events_of("chat_received")
        .iter()
        .map(|e| (e["sender"].as_str().unwrap().into(), e["text"].as_str().unwrap().into()))
        .collect();
    assert_eq!(
        received,
        [
            ("Ada Lovelace".to_string(), "Can you share the notes?".to_string()),
            ("Ada Lovelace".to_string(), "Thanks!".to_string())
        ],
        "{}: its own message is not reported as received",
        spec.name
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_both_ways_on_every_platform() {
    for (router, spec, path) in platforms() {
        chat_both_ways(router, spec, path).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_that_navigates_off_the_meeting_host_is_a_removal_at_once() {
    for (router, spec, path) in platforms() {
        let base = serve(router).await;
        let code = "awa-yxxx-now";
        let (running, mut provider) = open(spec, &format!("{base}{}", path.replace("{code}", code))).await;
        let channel = Recorder::default();
        let (s, _tx) = settings(60);
        let host_side = {
            let base = base.clone();
            tokio::spawn(async move {
                until_guest(&base, code, "call").await;
                host(&base, code, "participants", Some(json!({"name": "Ada Lovelace"}))).await;
                tokio::time::sleep(Duration::from_secs(2)).await;
                host(&base, code, "away", None).await;
            })
        };
        let t0 = std::time::Instant::now();
        let outcome = tokio::time::timeout(Duration::from_secs(60), driver::run(&mut provider, &channel, s))
            .await
            .expect("the bot finished");
        host_side.await.unwrap();
        running.close().await;
        assert_eq!(outcome.sub_code, "kicked", "{}", spec.name);
        assert!(
            t0.elapsed() < Duration::from_secs(25),
            "{}: a hard signal, no debounce",
            spec.name
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_network_blip_is_not_a_removal_and_timed_admission_works() {
    let base = serve(meeboter_replica::router()).await;
    let code = "bli-pxxx-net";
    configure(&base, code, json!({"admitAfterSecs": 3})).await;
    let (running, mut provider) = open(&MEET, &format!("{base}/{code}")).await;
    let channel = Recorder::default();
    let (s, _tx) = settings(60);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": "Ada Lovelace"}))).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            // 8 s without any call controls: well inside the 30 s debounce.
            host(&base, code, "blip", Some(json!({"secs": 8}))).await;
            tokio::time::sleep(Duration::from_secs(12)).await;
            host(&base, code, "end", None).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    running.close().await;
    assert_eq!(outcome.sub_code, "meeting_ended");
    assert_eq!(
        channel.statuses(),
        ["JOINING_CALL", "IN_WAITING_ROOM", "IN_CALL", "ENDED/meeting_ended"]
    );
    // Ada stayed in the roster through the blip (no leave/join pair).
    assert_eq!(channel.people_events(), ["participant_join Ada Lovelace"]);
}

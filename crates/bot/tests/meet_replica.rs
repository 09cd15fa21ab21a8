//! The web-client providers and the lifecycle driver against the replicas in a real
//! Chromium: lobby, admission, roster and the ways a call ends, per platform.

mod common;

use common::*;
use meeboter_bot::driver;
use meeboter_bot::providers::{ClientSpec, meet::MEET, teams::TEAMS, zoom::ZOOM};
use serde_json::json;
use std::time::Duration;

/// Lobby → admitted after a while (the lobby already shows call-like controls) → a person
/// joins and leaves → the bot leaves as `everyone_left` through the client's leave button.
async fn lobby_admission_roster_and_everyone_left(
    router: axum::Router,
    spec: &'static ClientSpec,
    code: &'static str,
    path: &str,
    person: &'static str,
) {
    let base = serve(router).await;
    configure(&base, code, json!({"lobby": true})).await;
    let (running, mut provider) = open(spec, &format!("{base}{path}")).await;
    let channel = Recorder::default();
    let (s, _tx) = settings(3);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            let lobby = until_guest(&base, code, "lobby").await;
            assert_eq!(lobby["guests"][0]["name"], "Meeboter Notes", "the name was entered");
            tokio::time::sleep(Duration::from_secs(3)).await;
            host(&base, code, "admit", None).await;
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": person}))).await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            remove_person(&base, code, person).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    assert_eq!(outcome.sub_code, "everyone_left", "{}", spec.name);
    assert_eq!(
        channel.statuses(),
        [
            "JOINING_CALL",
            "IN_WAITING_ROOM",
            "IN_CALL",
            "LEAVING/everyone_left",
            "ENDED/everyone_left"
        ]
    );
    assert_eq!(
        channel.people_events(),
        [
            format!("participant_join {person}"),
            format!("participant_leave {person}")
        ]
    );
    assert_eq!(channel.screenshot_kinds(), ["waiting_room", "in_call"]);
    assert!(
        channel
            .screenshots
            .lock()
            .unwrap()
            .iter()
            .all(|(_, size)| *size > 1_000)
    );
    // The bot pressed the client's leave button (and Zoom's confirm) on its way out.
    until_guest(&base, code, "left").await;
    running.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meet_lobby_admission_roster_and_everyone_left() {
    let code = "abc-defg-hij";
    lobby_admission_roster_and_everyone_left(meeboter_replica::router(), &MEET, code, "/abc-defg-hij", "Ada Lovelace")
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_continue_in_browser_lobby_roster_and_everyone_left() {
    let code = "19-meeting-abc";
    lobby_admission_roster_and_everyone_left(
        meeboter_replica::teams_router(),
        &TEAMS,
        code,
        "/19-meeting-abc",
        "Grace Hopper",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_typed_name_waiting_room_roster_and_leave_confirm() {
    let code = "81234567890";
    lobby_admission_roster_and_everyone_left(
        meeboter_replica::zoom_router(),
        &ZOOM,
        code,
        "/wc/81234567890/join?pwd=abc",
        "Katherine Johnson",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_inside_the_progressive_web_app_iframe() {
    let code = "81234567891";
    lobby_admission_roster_and_everyone_left(
        meeboter_replica::zoom_router(),
        &ZOOM,
        code,
        "/wc/81234567891/join?pwd=abc&fromPWA=1",
        "Dorothy Vaughan",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_from_the_landing_page_through_join_from_your_browser() {
    let code = "81234567892";
    lobby_admission_roster_and_everyone_left(
        meeboter_replica::zoom_router(),
        &ZOOM,
        code,
        "/j/81234567892?pwd=abc",
        "Mary Jackson",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_request_fails_the_bot_with_join_denied() {
    let base = serve(meeboter_replica::router()).await;
    let code = "den-iedx-req";
    configure(&base, code, json!({"lobby": true})).await;
    let (running, mut provider) = open(&MEET, &format!("{base}/{code}")).await;
    let channel = Recorder::default();
    let (s, _tx) = settings(60);
    let deny = {
        let base = base.clone();
        tokio::spawn(async move {
            until_guest(&base, code, "lobby").await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            host(&base, code, "deny", None).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(60), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    deny.await.unwrap();
    assert_eq!((outcome.status, outcome.sub_code.as_str()), ("FATAL", "join_denied"));
    assert_eq!(channel.statuses().last().unwrap(), "FATAL/join_denied");
    assert_eq!(channel.screenshot_kinds(), ["waiting_room", "failure"]);
    running.close().await;
}

/// Joins `code` directly (no lobby), lets the host act once the bot is in the call, and
/// returns the outcome and the reported statuses.
async fn in_call_then(code: &'static str, action: &'static str) -> (driver::Outcome, Vec<String>) {
    let base = serve(meeboter_replica::router()).await;
    let (running, mut provider) = open(&MEET, &format!("{base}/{code}")).await;
    let channel = Recorder::default();
    let (s, _tx) = settings(60);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": "Ada Lovelace"}))).await;
            tokio::time::sleep(Duration::from_secs(2)).await;
            host(&base, code, action, None).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(60), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    running.close().await;
    (outcome, channel.statuses())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kicked_bot_ends_as_kicked_at_once() {
    let (outcome, statuses) = in_call_then("kic-kedx-bot", "kick").await;
    assert_eq!((outcome.status, outcome.sub_code.as_str()), ("ENDED", "kicked"));
    assert_eq!(statuses, ["JOINING_CALL", "IN_CALL", "ENDED/kicked"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_ending_the_meeting_ends_the_bot() {
    let (outcome, statuses) = in_call_then("end-edxx-all", "end").await;
    assert_eq!((outcome.status, outcome.sub_code.as_str()), ("ENDED", "meeting_ended"));
    assert_eq!(statuses, ["JOINING_CALL", "IN_CALL", "ENDED/meeting_ended"]);
}

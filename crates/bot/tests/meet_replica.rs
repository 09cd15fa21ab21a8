//! The web-client providers and the lifecycle driver against the replicas in a real
//! Chromium (Meet, Teams).

use async_trait::async_trait;
use meeboter_bot::browser;
use meeboter_bot::control::{AutomaticLeave, ControlError, HeartbeatReply};
use meeboter_bot::driver::{self, Channel, DriverSettings};
use meeboter_bot::providers::{WebClient, meet::MEET};
use serde_json::{Value, json};
use std::sync::Mutex;
use std::time::Duration;

#[derive(Default)]
struct Recorder {
    statuses: Mutex<Vec<String>>,
    events: Mutex<Vec<Value>>,
}

#[async_trait]
impl Channel for Recorder {
    async fn report_status(
        &self,
        status: &str,
        sub_code: Option<&str>,
        _m: Option<&str>,
    ) -> Result<String, ControlError> {
        let entry = sub_code.map_or(status.to_string(), |c| format!("{status}/{c}"));
        self.statuses.lock().unwrap().push(entry);
        Ok(status.to_string())
    }
    async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError> {
        Ok(HeartbeatReply {
            leave: false,
            reason: None,
        })
    }
    async fn events(&self, events: &[Value]) -> Result<(), ControlError> {
        self.events.lock().unwrap().extend_from_slice(events);
        Ok(())
    }
}

async fn replica() -> String {
    replica_of(meeboter_replica::router()).await
}

async fn replica_of(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

fn settings(everyone_left: u64) -> (DriverSettings, tokio::sync::watch::Sender<bool>) {
    let (tx, rx) = tokio::sync::watch::channel(false);
    (
        DriverSettings {
            bot_name: "Meeboter Notes".into(),
            automatic_leave: AutomaticLeave {
                waiting_room_timeout_secs: 60,
                noone_joined_timeout_secs: 60,
                everyone_left_timeout_secs: everyone_left,
                max_duration_secs: 600,
            },
            heartbeat_every: Duration::from_secs(30),
            shutdown: rx,
        },
        tx,
    )
}

/// Polls the replica until a guest is on `screen`.
async fn until_guest(base: &str, code: &str, screen: &str) -> Value {
    let http = reqwest::Client::new();
    for _ in 0..300 {
        let state: Value = http
            .get(format!("{base}/_replica/{code}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if state["guests"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["screen"] == screen)
        {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no guest reached {screen}");
}

async fn host(base: &str, code: &str, action: &str, body: Option<Value>) {
    let http = reqwest::Client::new();
    let req = match body {
        Some(b) => http.post(format!("{base}/_replica/{code}/{action}")).json(&b),
        None => http.post(format!("{base}/_replica/{code}/{action}")),
    };
    assert!(req.send().await.unwrap().status().is_success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_asks_to_join_is_admitted_tracks_people_and_leaves_when_everyone_left() {
    let base = replica().await;
    let code = "abc-defg-hij";
    reqwest::Client::new()
        .put(format!("{base}/_replica/{code}"))
        .json(&json!({"lobby": true}))
        .send()
        .await
        .unwrap();
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.unwrap();
    let page = running.browser.new_page("about:blank").await.unwrap();
    let mut provider = WebClient::new(page, &MEET, &format!("{base}/{code}"));
    let channel = Recorder::default();
    let (s, _tx) = settings(3);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            let lobby = until_guest(&base, code, "lobby").await;
            assert_eq!(lobby["guests"][0]["name"], "Meeboter Notes", "the name was entered");
            tokio::time::sleep(Duration::from_secs(2)).await;
            host(&base, code, "admit", None).await;
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": "Ada Lovelace"}))).await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            reqwest::Client::new()
                .delete(format!("{base}/_replica/{code}/participants/Ada Lovelace"))
                .send()
                .await
                .unwrap();
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    assert_eq!(outcome.sub_code, "everyone_left");
    assert_eq!(
        channel.statuses.lock().unwrap().as_slice(),
        [
            "JOINING_CALL",
            "IN_WAITING_ROOM",
            "IN_CALL",
            "LEAVING/everyone_left",
            "ENDED/everyone_left"
        ]
    );
    let events = channel.events.lock().unwrap().clone();
    let people: Vec<String> = events
        .iter()
        .filter(|e| e["isBot"] == false)
        .map(|e| format!("{} {}", e["type"].as_str().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        people,
        ["participant_join Ada Lovelace", "participant_leave Ada Lovelace"]
    );
    // The bot pressed "Leave call" on its way out.
    until_guest(&base, code, "left").await;
    running.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_request_fails_the_bot_with_join_denied() {
    let base = replica().await;
    let code = "den-iedx-req";
    reqwest::Client::new()
        .put(format!("{base}/_replica/{code}"))
        .json(&json!({"lobby": true}))
        .send()
        .await
        .unwrap();
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.unwrap();
    let page = running.browser.new_page("about:blank").await.unwrap();
    let mut provider = WebClient::new(page, &MEET, &format!("{base}/{code}"));
    let channel = Recorder::default();
    let (s, _tx) = settings(60);
    let deny = {
        let base = base.clone();
        tokio::spawn(async move {
            until_guest(&base, code, "lobby").await;
            host(&base, code, "deny", None).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(60), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    deny.await.unwrap();
    assert_eq!((outcome.status, outcome.sub_code.as_str()), ("FATAL", "join_denied"));
    assert_eq!(channel.statuses.lock().unwrap().last().unwrap(), "FATAL/join_denied");
    running.close().await;
}

/// Joins `code` directly (no lobby), lets `host_side` act once the bot is in the call,
/// and returns the outcome and the reported statuses.
async fn in_call_then(code: &'static str, action: &'static str) -> (driver::Outcome, Vec<String>) {
    let base = replica().await;
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.unwrap();
    let page = running.browser.new_page("about:blank").await.unwrap();
    let mut provider = WebClient::new(page, &MEET, &format!("{base}/{code}"));
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
    let statuses = channel.statuses.lock().unwrap().clone();
    (outcome, statuses)
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teams_bot_continues_in_the_browser_waits_in_the_lobby_and_reads_the_roster() {
    use meeboter_bot::providers::teams::TEAMS;
    let base = replica_of(meeboter_replica::teams_router()).await;
    let code = "19-meeting-abc";
    reqwest::Client::new()
        .put(format!("{base}/_replica/{code}"))
        .json(&json!({"lobby": true}))
        .send()
        .await
        .unwrap();
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.unwrap();
    let page = running.browser.new_page("about:blank").await.unwrap();
    let mut provider = WebClient::new(page, &TEAMS, &format!("{base}/{code}"));
    let channel = Recorder::default();
    let (s, _tx) = settings(3);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            let lobby = until_guest(&base, code, "lobby").await;
            assert_eq!(lobby["guests"][0]["name"], "Meeboter Notes", "the name was entered");
            // The lobby shows a hang-up button: the bot must still read it as waiting.
            tokio::time::sleep(Duration::from_secs(3)).await;
            host(&base, code, "admit", None).await;
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": "Grace Hopper"}))).await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            reqwest::Client::new()
                .delete(format!("{base}/_replica/{code}/participants/Grace Hopper"))
                .send()
                .await
                .unwrap();
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    assert_eq!(outcome.sub_code, "everyone_left");
    assert_eq!(
        channel.statuses.lock().unwrap().as_slice(),
        [
            "JOINING_CALL",
            "IN_WAITING_ROOM",
            "IN_CALL",
            "LEAVING/everyone_left",
            "ENDED/everyone_left"
        ]
    );
    let people: Vec<String> = channel
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["isBot"] == false)
        .map(|e| format!("{} {}", e["type"].as_str().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        people,
        ["participant_join Grace Hopper", "participant_leave Grace Hopper"]
    );
    until_guest(&base, code, "left").await;
    running.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zoom_bot_types_its_name_waits_and_leaves_through_the_confirm() {
    use meeboter_bot::providers::zoom::ZOOM;
    let base = replica_of(meeboter_replica::zoom_router()).await;
    let code = "81234567890";
    reqwest::Client::new()
        .put(format!("{base}/_replica/{code}"))
        .json(&json!({"lobby": true}))
        .send()
        .await
        .unwrap();
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.unwrap();
    let page = running.browser.new_page("about:blank").await.unwrap();
    let mut provider = WebClient::new(page, &ZOOM, &format!("{base}/{code}"));
    let channel = Recorder::default();
    let (s, _tx) = settings(3);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            let lobby = until_guest(&base, code, "lobby").await;
            assert_eq!(
                lobby["guests"][0]["name"], "Meeboter Notes",
                "typed with real key events"
            );
            tokio::time::sleep(Duration::from_secs(2)).await;
            host(&base, code, "admit", None).await;
            until_guest(&base, code, "call").await;
            host(&base, code, "participants", Some(json!({"name": "Katherine Johnson"}))).await;
            tokio::time::sleep(Duration::from_secs(4)).await;
            reqwest::Client::new()
                .delete(format!("{base}/_replica/{code}/participants/Katherine Johnson"))
                .send()
                .await
                .unwrap();
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    assert_eq!(outcome.sub_code, "everyone_left");
    assert_eq!(
        channel.statuses.lock().unwrap().as_slice(),
        [
            "JOINING_CALL",
            "IN_WAITING_ROOM",
            "IN_CALL",
            "LEAVING/everyone_left",
            "ENDED/everyone_left"
        ]
    );
    let people: Vec<String> = channel
        .events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| e["isBot"] == false)
        .map(|e| format!("{} {}", e["type"].as_str().unwrap(), e["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        people,
        [
            "participant_join Katherine Johnson",
            "participant_leave Katherine Johnson"
        ]
    );
    // Leave, then "Leave Meeting" in the confirm.
    until_guest(&base, code, "left").await;
    running.close().await;
}

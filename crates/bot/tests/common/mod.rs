//! Shared by the bot's browser tests: a recording control channel, replica servers and
//! host actions, and a Chromium per test.
#![allow(dead_code)]

pub mod channel;
pub mod matrix;

use async_trait::async_trait;
use meeboter_bot::browser::{self, RunningBrowser};
use meeboter_bot::control::{AutomaticLeave, ControlError, HeartbeatReply};
use meeboter_bot::driver::{Channel, DriverSettings, OutgoingChat};
use meeboter_bot::providers::{ClientSpec, WebClient};
use serde_json::Value;
use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

/// A control channel that records what the driver reports and hands out queued chat.
#[derive(Default)]
pub struct Recorder {
    pub statuses: Mutex<Vec<String>>,
    pub events: Mutex<Vec<Value>>,
    pub outgoing: Mutex<VecDeque<OutgoingChat>>,
    pub chat_results: Mutex<Vec<(String, Option<String>)>>,
    /// (kind, size in bytes)
    pub screenshots: Mutex<Vec<(String, usize)>>,
    /// Set by the scenario matrix: from its mark to the outcome.
    pub since_mark: Mutex<Option<Duration>>,
}

impl Recorder {
    pub fn statuses(&self) -> Vec<String> {
        self.statuses.lock().unwrap().clone()
    }

    /// `participant_join Name` / `participant_leave Name` of people (not bots).
    pub fn people_events(&self) -> Vec<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["isBot"] == false)
            .map(|e| format!("{} {}", e["type"].as_str().unwrap(), e["name"].as_str().unwrap()))
            .collect()
    }

    pub fn events_of(&self, kind: &str) -> Vec<Value> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == kind)
            .cloned()
            .collect()
    }

    pub fn screenshot_kinds(&self) -> Vec<String> {
        self.screenshots
            .lock()
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect()
    }
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
    async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError> {
        Ok(self.outgoing.lock().unwrap().pop_front())
    }
    async fn chat_result(&self, id: &str, error: Option<&str>) -> Result<(), ControlError> {
        self.chat_results
            .lock()
            .unwrap()
            .push((id.to_string(), error.map(str::to_string)));
        Ok(())
    }
    async fn screenshot(&self, kind: &str, jpeg: Vec<u8>) -> Result<(), ControlError> {
        self.screenshots.lock().unwrap().push((kind.to_string(), jpeg.len()));
        Ok(())
    }
}

/// Serves `router` on a loopback port; returns its base URL.
pub async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    base
}

pub fn settings(everyone_left: u64) -> (DriverSettings, tokio::sync::watch::Sender<bool>) {
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
            control_lost_after: Duration::from_secs(180),
            shutdown: rx,
            notetaker_names: Vec::new(),
            capture: None,
            commands: None,
        },
        tx,
    )
}

pub async fn replica_state(base: &str, code: &str) -> Value {
    reqwest::Client::new()
        .get(format!("{base}/_replica/{code}"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Polls the replica until a guest is on `screen`.
pub async fn until_guest(base: &str, code: &str, screen: &str) -> Value {
    for _ in 0..300 {
        let state = replica_state(base, code).await;
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

/// A host action on the replica (`admit`, `participants`, `chat`, …).
pub async fn host(base: &str, code: &str, action: &str, body: Option<Value>) {
    let http = reqwest::Client::new();
    let req = match body {
        Some(b) => http.post(format!("{base}/_replica/{code}/{action}")).json(&b),
        None => http.post(format!("{base}/_replica/{code}/{action}")),
    };
    assert!(req.send().await.unwrap().status().is_success());
}

pub async fn configure(base: &str, code: &str, config: Value) {
    let res = reqwest::Client::new()
        .put(format!("{base}/_replica/{code}"))
        .json(&config)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success());
}

pub async fn remove_person(base: &str, code: &str, name: &str) {
    reqwest::Client::new()
        .delete(format!("{base}/_replica/{code}/participants/{name}"))
        .send()
        .await
        .unwrap();
}

/// A Chromium with one page on `url`'s client.
pub async fn open(spec: &'static ClientSpec, url: &str) -> (RunningBrowser, WebClient) {
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.unwrap();
    let page = running.browser.new_page("about:blank").await.unwrap();
    let provider = WebClient::new(page, spec, url);
    (running, provider)
}

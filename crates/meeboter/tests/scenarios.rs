//! The bot runtime end to end, per meeting platform: the real server with the local
//! platform starts the real `meeboter bot`, which drives Chromium into the server's own
//! look-alike meetings; a scripted host admits, denies, kicks, chats and ends. Every
//! scenario asserts the exact status sequence, sub codes and events.

mod common;

use common::{free_port, start_server_with};
use futures::future::join_all;
use meeboter_db::testing::TestDatabase;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The scenario tests start many browsers; one test at a time keeps the machine responsive.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A running server, its admin key and an HTTP client.
struct Server {
    child: std::process::Child,
    public: String,
    key: String,
    http: reqwest::Client,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    async fn start() -> Server {
        let db = TestDatabase::create().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let public = format!("http://{listen}");
        let command = format!("{} bot", env!("CARGO_BIN_EXE_meeboter"));
        let env = [
            ("DATABASE_URL", db.url.as_str()),
            ("MEEBOTER_LISTEN", listen.as_str()),
            ("PUBLIC_URL", public.as_str()),
            ("LOCAL_BOT_COMMAND", command.as_str()),
            ("LOCAL_BOT_LIMIT", "20"),
            ("HEARTBEAT_INTERVAL_SECS", "2"),
            ("HEARTBEAT_TIMEOUT_SECS", "30"),
            ("MONITOR_INTERVAL_SECS", "1"),
        ];
        let (child, _, lines) = start_server_with(dir.path(), &env);
        let key = lines
            .iter()
            .find_map(|l| l.split_whitespace().find(|w| w.starts_with("mbk_")))
            .expect("admin key")
            .to_string();
        Server {
            child,
            public,
            key,
            http: reqwest::Client::new(),
            _db: db,
            _dir: dir,
        }
    }

    async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.public))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap_or(Value::Null)
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.public))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    async fn create(&self, platform: &Platform, code: &str, extra: Value) -> String {
        let mut body = json!({
            "meetingUrl": format!("{}/_test/meeting/{}", self.public, (platform.path)(code)),
            "botName": "Meeboter Notes",
            "recordingMode": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let bot = self.post("/api/bots", body).await;
        bot["id"].as_str().unwrap().to_string()
    }

    /// Waits for `status`; fails at once if the bot ends some other way.
    async fn reach(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let bot = self.get(&format!("/api/bots/{id}")).await;
            if bot["status"] == status {
                return bot;
            }
            let over = matches!(bot["status"].as_str(), Some("ENDED" | "FATAL"));
            assert!(!over && Instant::now() < deadline, "never reached {status}: {bot}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits for the bot to end; returns it.
    async fn ended(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            let bot = self.get(&format!("/api/bots/{id}")).await;
            if matches!(bot["status"].as_str(), Some("ENDED" | "FATAL")) {
                return bot;
            }
            assert!(Instant::now() < deadline, "never ended: {bot}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    async fn host(&self, platform: &Platform, code: &str, action: &str, body: Value) {
        let url = format!("/_test/meeting/{}/_replica/{code}/{action}", platform.name);
        self.post(&url, body).await;
    }

    async fn configure(&self, platform: &Platform, code: &str, config: Value) {
        let url = format!("{}/_test/meeting/{}/_replica/{code}", self.public, platform.name);
        assert!(
            self.http
                .put(url)
                .json(&config)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }

    async fn remove_person(&self, platform: &Platform, code: &str, name: &str) {
        let url = format!(
            "{}/_test/meeting/{}/_replica/{code}/participants/{name}",
            self.public, platform.name
        );
        assert!(self.http.delete(url).send().await.unwrap().status().is_success());
    }

    async fn replica(&self, platform: &Platform, code: &str) -> Value {
        self.get(&format!("/_test/meeting/{}/_replica/{code}", platform.name))
            .await
    }

    /// Every event of the bot, oldest first (all pages).
    async fn events(&self, id: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self.get(&format!("/api/bots/{id}/events?limit=500{cursor}")).await;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            let done = events.len() < 500;
            all.extend(events);
            match page["nextCursor"].as_str() {
                Some(next) if !done => cursor = format!("&cursor={next}"),
                _ => return all,
            }
        }
    }

    /// Waits until an event matching `pred` was recorded.
    async fn event(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(e) = self.events(id).await.into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} event: {:?}",
                self.events(id).await
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A meeting platform as the server serves its look-alike.
struct Platform {
    name: &'static str,
    path: fn(&str) -> String,
}

const PLATFORMS: [Platform; 3] = [
    Platform {
        name: "meet",
        path: |code| format!("meet/{code}"),
    },
    Platform {
        name: "teams",
        path: |code| format!("teams/{code}"),
    },
    Platform {
        name: "zoom",
        path: |code| format!("zoom/wc/{code}/join?pwd=secret"),
    },
];

fn history(bot: &Value) -> Vec<String> {
    bot["statusChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["subCode"].as_str() {
            Some(code) => format!("{}/{code}", c["status"].as_str().unwrap()),
            None => c["status"].as_str().unwrap().to_string(),
        })
        .collect()
}

fn expect_history(bot: &Value, rest: &[&str], scenario: &str) {
    let mut expected = vec!["QUEUED", "DEPLOYING", "JOINING_CALL"];
    expected.extend_from_slice(rest);
    assert_eq!(history(bot), expected, "{scenario}: {bot}");
}

fn people_events(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e["type"] == "participant_join" || e["type"] == "participant_leave")
        .map(|e| {
            format!(
                "{} {} bot={}",
                e["type"].as_str().unwrap(),
                e["data"]["name"].as_str().unwrap(),
                e["data"]["isBot"]
            )
        })
        .collect()
}

/// Direct join, people (one of them another notetaker), chat both ways, then the leave command.
async fn chat_people_and_leave_command(s: &Server, p: &Platform) {
    let code = "chat-and-leave";
    let id = s.create(p, code, json!({})).await;
    s.reach(&id, "IN_CALL").await;
    s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
    s.host(p, code, "participants", json!({"name": "Otter.ai Notetaker"}))
        .await;
    s.post(
        &format!("/api/bots/{id}/chat"),
        json!({"message": "Hello from the API"}),
    )
    .await;
    s.event(&id, "participant_join", |e| e["data"]["name"] == "Ada Lovelace")
        .await;
    s.host(p, code, "chat", json!({"sender": "Ada Lovelace", "text": "Hi bot"}))
        .await;
    s.event(&id, "chat_received", |e| e["type"] == "chat_received").await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let chat = s.get(&format!("/api/bots/{id}/chat")).await;
        if chat["messages"][0]["status"] == "sent" {
            break;
        }
        assert!(Instant::now() < deadline, "{}: chat never sent: {chat}", p.name);
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
    let bot = s.ended(&id).await;
    expect_history(
        &bot,
        &["IN_CALL", "LEAVING/user_requested", "ENDED/user_requested"],
        &format!("{} chat and leave", p.name),
    );
    let events = s.events(&id).await;
    let people = people_events(&events);
    assert!(
        people.contains(&"participant_join Ada Lovelace bot=false".to_string()),
        "{people:?}"
    );
    assert!(
        people.contains(&"participant_join Otter.ai Notetaker bot=true".to_string()),
        "{people:?}"
    );
    let received: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["type"] == "chat_received")
        .map(|e| {
            (
                e["data"]["sender"].as_str().unwrap().into(),
                e["data"]["text"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        received,
        [("Ada Lovelace".to_string(), "Hi bot".to_string())],
        "{}",
        p.name
    );
    // The meeting saw the message, from the bot; the bot's own logs arrived as events.
    let replica = s.replica(p, code).await;
    let posted: Vec<&Value> = replica["chat"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["guestId"].is_string())
        .collect();
    assert_eq!(posted.len(), 1, "{replica}");
    assert_eq!(
        (posted[0]["sender"].as_str(), posted[0]["text"].as_str()),
        (Some("Meeboter Notes"), Some("Hello from the API"))
    );
    assert!(
        events
            .iter()
            .any(|e| e["type"] == "log" && e["data"]["source"].is_null()),
        "{}: forwarded bot log lines",
        p.name
    );
    let shots = s.get(&format!("/api/bots/{id}/screenshots")).await;
    let kinds: Vec<&str> = shots["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["in_call"], "{}", p.name);
}

/// Lobby → admitted; people come and go; only another notetaker is left → everyone_left.
async fn lobby_admitted_then_everyone_left(s: &Server, p: &Platform) {
    let code = "lobby-admitted";
    s.configure(p, code, json!({"lobby": true})).await;
    let id = s
        .create(p, code, json!({"automaticLeave": {"everyoneLeftTimeoutSecs": 3}}))
        .await;
    s.reach(&id, "IN_WAITING_ROOM").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.host(p, code, "admit", json!({})).await;
    s.reach(&id, "IN_CALL").await;
    s.host(p, code, "participants", json!({"name": "Fireflies.ai Notetaker"}))
        .await;
    s.host(p, code, "participants", json!({"name": "Grace Hopper"})).await;
    s.event(&id, "participant_join", |e| e["data"]["name"] == "Grace Hopper")
        .await;
    s.remove_person(p, code, "Grace Hopper").await;
    let bot = s.ended(&id).await;
    expect_history(
        &bot,
        &[
            "IN_WAITING_ROOM",
            "IN_CALL",
            "LEAVING/everyone_left",
            "ENDED/everyone_left",
        ],
        &format!("{} lobby admitted", p.name),
    );
    let people = people_events(&s.events(&id).await);
    assert!(
        people.contains(&"participant_leave Grace Hopper bot=false".to_string()),
        "{people:?}"
    );
    let replica = s.replica(p, code).await;
    assert_eq!(
        replica["guests"][0]["screen"], "left",
        "{}: left through the client: {replica}",
        p.name
    );
}

async fn lobby_timeout(s: &Server, p: &Platform) {
    let code = "lobby-timeout";
    s.configure(p, code, json!({"lobby": true})).await;
    let id = s
        .create(p, code, json!({"automaticLeave": {"waitingRoomTimeoutSecs": 10}}))
        .await;
    let bot = s.ended(&id).await;
    expect_history(
        &bot,
        &["IN_WAITING_ROOM", "ENDED/waiting_room_timeout"],
        &format!("{} lobby timeout", p.name),
    );
}

async fn denied(s: &Server, p: &Platform) {
    let code = "denied";
    s.configure(p, code, json!({"lobby": true})).await;
    let id = s.create(p, code, json!({})).await;
    s.reach(&id, "IN_WAITING_ROOM").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.host(p, code, "deny", json!({})).await;
    let bot = s.ended(&id).await;
    expect_history(
        &bot,
        &["IN_WAITING_ROOM", "FATAL/join_denied"],
        &format!("{} denied", p.name),
    );
    let shots = s.get(&format!("/api/bots/{id}/screenshots")).await;
    let kinds: Vec<&str> = shots["screenshots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["waiting_room", "failure"], "{}", p.name);
}

/// In the call with someone, then the host acts (`kick` or `end`).
async fn host_acts_in_call(s: &Server, p: &Platform, action: &str, expected: &[&str]) {
    let code = format!("host-{action}");
    let id = s.create(p, &code, json!({})).await;
    s.reach(&id, "IN_CALL").await;
    s.host(p, &code, "participants", json!({"name": "Ada Lovelace"})).await;
    s.event(&id, "participant_join", |e| e["data"]["name"] == "Ada Lovelace")
        .await;
    s.host(p, &code, action, json!({})).await;
    let bot = s.ended(&id).await;
    expect_history(&bot, expected, &format!("{} {action}", p.name));
}

async fn noone_joined(s: &Server, p: &Platform) {
    let id = s
        .create(
            p,
            "noone-joined",
            json!({"automaticLeave": {"nooneJoinedTimeoutSecs": 10}}),
        )
        .await;
    let bot = s.ended(&id).await;
    expect_history(
        &bot,
        &["IN_CALL", "LEAVING/noone_joined", "ENDED/noone_joined"],
        &format!("{} no one joined", p.name),
    );
}

async fn max_duration(s: &Server, p: &Platform) {
    let code = "max-duration";
    let id = s
        .create(p, code, json!({"automaticLeave": {"maxDurationSecs": 60}}))
        .await;
    s.reach(&id, "IN_CALL").await;
    s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
    let bot = s.ended(&id).await;
    expect_history(
        &bot,
        &["IN_CALL", "LEAVING/max_duration", "ENDED/max_duration"],
        &format!("{} max duration", p.name),
    );
}

/// The machine stops the bot (SIGTERM): it leaves politely and says why.
async fn sigterm(s: &Server, p: &Platform) {
    let code = "sigterm";
    let id = s.create(p, code, json!({})).await;
    let bot = s.reach(&id, "IN_CALL").await;
    s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
    let identifier = bot["deployment"]["identifier"].as_str().unwrap();
    let pid: i32 = identifier.split(':').next().unwrap().parse().unwrap();
    let started = Instant::now();
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM).unwrap();
    let bot = s.ended(&id).await;
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{}: exit within 30 s",
        p.name
    );
    expect_history(
        &bot,
        &["IN_CALL", "LEAVING/platform_stopped", "ENDED/platform_stopped"],
        &format!("{} SIGTERM", p.name),
    );
    let replica = s.replica(p, code).await;
    assert_eq!(replica["guests"][0]["screen"], "left", "{}: {replica}", p.name);
}

async fn every_scenario(s: &Server, p: &Platform) {
    join_all([
        Box::pin(chat_people_and_leave_command(s, p)) as std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
        Box::pin(lobby_admitted_then_everyone_left(s, p)),
        Box::pin(lobby_timeout(s, p)),
        Box::pin(denied(s, p)),
        Box::pin(host_acts_in_call(s, p, "kick", &["IN_CALL", "ENDED/kicked"])),
        Box::pin(host_acts_in_call(s, p, "end", &["IN_CALL", "ENDED/meeting_ended"])),
        Box::pin(noone_joined(s, p)),
        Box::pin(max_duration(s, p)),
        Box::pin(sigterm(s, p)),
    ])
    .await;
}

#[test]
fn every_scenario_on_every_platform_through_the_real_server() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        for platform in &PLATFORMS {
            // A server per platform: meeting codes repeat across platforms.
            let server = Server::start().await;
            every_scenario(&server, platform).await;
        }
    });
}

#[test]
fn ten_bots_in_one_meeting_stay_for_two_minutes() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = Server::start().await;
        let p = &PLATFORMS[0];
        let code = "ten-bots";
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        let mut ids = Vec::new();
        for n in 0..10 {
            let id = s.create(p, code, json!({"botName": format!("Notes {n}")})).await;
            ids.push(id);
        }
        join_all(ids.iter().map(|id| s.reach(id, "IN_CALL"))).await;
        let replica = s.replica(p, code).await;
        let in_call = replica["guests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["screen"] == "call")
            .count();
        assert_eq!(in_call, 10, "{replica}");
        // Two minutes in the same call: nobody is falsely removed or leaves.
        let until = Instant::now() + Duration::from_secs(120);
        while Instant::now() < until {
            for id in &ids {
                let bot = s.get(&format!("/api/bots/{id}")).await;
                assert_eq!(bot["status"], "IN_CALL", "{bot}");
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        for id in &ids {
            s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
        }
        for id in &ids {
            let bot = s.ended(id).await;
            expect_history(
                &bot,
                &["IN_CALL", "LEAVING/user_requested", "ENDED/user_requested"],
                "ten bots",
            );
        }
    });
}

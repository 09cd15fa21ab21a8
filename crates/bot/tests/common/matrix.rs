//! The join-fidelity scenario matrix: every client against the variety its real web client
//! shows (camera-off tiles, self markers, roles and qualifiers, panes that replace each
//! other, dialogs at every phase, every refusal screen), as data. Run by
//! `tests/scenarios.rs` (all must pass) and `benches/scenarios.rs` (pass rate and timings).
#![allow(dead_code)]

use super::{Recorder, configure, host, remove_person, replica_state, serve, settings, until_guest};
use meeboter_bot::browser;
use meeboter_bot::commands::Pushed;
use meeboter_bot::driver::{self, Outcome};
use meeboter_bot::providers::{ClientSpec, WebClient, meet::MEET, teams::TEAMS, zoom::ZOOM};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A client and how its replica is mounted and linked.
#[derive(Clone, Copy)]
pub struct Client {
    pub name: &'static str,
    pub spec: &'static ClientSpec,
    pub router: fn() -> axum::Router,
    /// The meeting link for a meeting code.
    pub path: &'static str,
}

pub const MEET_CLIENT: Client = Client {
    name: "meet",
    spec: &MEET,
    router: meeboter_replica::router,
    path: "/{code}",
};
pub const TEAMS_CLIENT: Client = Client {
    name: "teams",
    spec: &TEAMS,
    router: meeboter_replica::teams_router,
    path: "/{code}",
};
pub const ZOOM_CLIENT: Client = Client {
    name: "zoom",
    spec: &ZOOM,
    router: meeboter_replica::zoom_router,
    path: "/wc/{code}/join?pwd=abc123",
};
pub const CLIENTS: [Client; 3] = [MEET_CLIENT, TEAMS_CLIENT, ZOOM_CLIENT];

/// What the host (and the test) does, in order.
#[derive(Clone, Debug)]
pub enum Step {
    /// Wait until the bot's page is on this replica screen.
    Guest(&'static str),
    Sleep(u64),
    /// A host action (`admit`, `deny`, `kick`, `end`, `timeout`, `chat`, `participants`…).
    Host(&'static str, Option<Value>),
    Remove(&'static str),
    /// Push a leave command to the bot (as the control channel's long poll would).
    PushLeave,
    /// From here on, timings are measured ("named within").
    Mark,
}

/// An extra check on what the bot reported and the replica's final state.
pub type Check = fn(&Recorder, &Value) -> Result<(), String>;

/// One scenario: the replica's configuration, people already in the call, the automatic
/// leave timeouts, the host's steps, and what must come out.
pub struct Scenario {
    pub name: &'static str,
    pub clients: &'static [&'static str],
    pub config: Value,
    pub people: Vec<Value>,
    /// (everyone left, no one joined, waiting room) in seconds.
    pub timeouts: (u64, u64, u64),
    pub steps: Vec<Step>,
    /// Overrides the meeting link (`{base}` is the replica's address).
    pub url: Option<&'static str>,
    pub statuses: Vec<&'static str>,
    /// The outcome must come within this long of the `Mark` step (or of the start).
    pub within: Duration,
    pub check: Option<Check>,
}

impl Scenario {
    fn new(name: &'static str, clients: &'static [&'static str]) -> Self {
        Self {
            name,
            clients,
            config: json!({}),
            people: Vec::new(),
            timeouts: (60, 60, 60),
            steps: Vec::new(),
            url: None,
            statuses: Vec::new(),
            within: Duration::from_secs(60),
            check: None,
        }
    }
}

const ALL: &[&str] = &["meet", "teams", "zoom"];

fn person(name: &str) -> Value {
    json!({"name": name})
}

/// Every scenario of the matrix.
pub fn scenarios() -> Vec<Scenario> {
    use Step::*;
    let call_end = [
        "JOINING_CALL",
        "IN_CALL",
        "LEAVING/everyone_left",
        "ENDED/everyone_left",
    ];
    let mut out = Vec::new();

    let mut s = Scenario::new("everyone_left_camera_off", ALL);
    s.people = vec![person("Ada Lovelace")];
    s.timeouts = (5, 60, 60);
    s.steps = vec![Guest("call"), Sleep(3000), Mark, Remove("Ada Lovelace")];
    s.statuses = call_end.to_vec();
    s.within = Duration::from_secs(9);
    s.check = Some(|r, _| {
        expect_people(r, &["participant_join Ada Lovelace", "participant_leave Ada Lovelace"])?;
        since_mark_at_least(r, 5)
    });
    out.push(s);

    let mut s = Scenario::new("only_another_notetaker_remains", ALL);
    s.people = vec![person("Grace Hopper"), person("Otter.ai Notetaker")];
    s.timeouts = (5, 60, 60);
    s.steps = vec![Guest("call"), Sleep(3000), Mark, Remove("Grace Hopper")];
    s.statuses = call_end.to_vec();
    s.within = Duration::from_secs(9);
    s.check = Some(|r, _| {
        expect_people(r, &["participant_join Grace Hopper", "participant_leave Grace Hopper"])?;
        let bots: Vec<Value> = r
            .events_of("participant_join")
            .into_iter()
            .filter(|e| e["isBot"] == true)
            .collect();
        if bots.len() != 1 || bots[0]["name"] != "Otter.ai Notetaker" {
            return Err(format!("the notetaker is one bot participant: {bots:?}"));
        }
        Ok(())
    });
    out.push(s);

    let mut s = Scenario::new("two_people_stay_through_pane_switches", ALL);
    s.config = json!({"teamsRowPrefix": "attendeesInMeeting-"});
    s.people = vec![
        json!({"name": "Alice Host", "role": "Organizer"}),
        json!({"name": "Bob Guest", "qualifier": "(Guest)"}),
    ];
    s.timeouts = (5, 5, 60);
    s.steps = vec![
        Guest("call"),
        Sleep(4000),
        Host(
            "chat",
            Some(json!({"sender": "Alice Host", "text": "Welcome, notes bot"})),
        ),
        Sleep(16000),
        Mark,
        PushLeave,
    ];
    s.statuses = vec![
        "JOINING_CALL",
        "IN_CALL",
        "LEAVING/user_requested",
        "ENDED/user_requested",
    ];
    s.within = Duration::from_secs(5);
    s.check = Some(|r, _| {
        expect_people(r, &["participant_join Alice Host", "participant_join Bob Guest"])?;
        let chat: Vec<String> = r
            .events_of("chat_received")
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e["sender"].as_str().unwrap_or(""),
                    e["text"].as_str().unwrap_or("")
                )
            })
            .collect();
        if chat != ["Alice Host: Welcome, notes bot"] {
            return Err(format!("chat received: {chat:?}"));
        }
        Ok(())
    });
    out.push(s);

    let mut s = Scenario::new("no_one_joins", ALL);
    s.timeouts = (60, 5, 60);
    s.steps = vec![Guest("call"), Mark];
    s.statuses = vec!["JOINING_CALL", "IN_CALL", "LEAVING/noone_joined", "ENDED/noone_joined"];
    s.within = Duration::from_secs(9);
    s.check = Some(|r, _| expect_people(r, &[]));
    out.push(s);

    for (name, clients, text) in [
        ("lobby_then_admitted", ALL, 0),
        ("lobby_then_admitted_other_wording", ALL, 1),
        ("lobby_meeting_not_started_wording", &["teams"] as &[&str], 2),
    ] {
        let mut s = Scenario::new(name, clients);
        s.config = json!({"lobby": true, "lobbyText": text});
        s.steps = vec![
            Guest("lobby"),
            Sleep(2500),
            Host("admit", None),
            Guest("call"),
            Host("participants", Some(person("Ada Lovelace"))),
            Sleep(3000),
            Mark,
            Host("end", None),
        ];
        s.statuses = vec!["JOINING_CALL", "IN_WAITING_ROOM", "IN_CALL", "ENDED/meeting_ended"];
        s.within = Duration::from_secs(5);
        s.check = Some(|r, _| {
            let shots = r.screenshot_kinds();
            if shots != ["waiting_room", "in_call"] {
                return Err(format!("screenshots: {shots:?}"));
            }
            Ok(())
        });
        out.push(s);
    }

    let mut s = Scenario::new("denied_from_the_lobby", ALL);
    s.config = json!({"lobby": true});
    s.steps = vec![Guest("lobby"), Sleep(2000), Mark, Host("deny", None)];
    s.statuses = vec!["JOINING_CALL", "IN_WAITING_ROOM", "FATAL/join_denied"];
    s.within = Duration::from_secs(10);
    out.push(s);

    let mut s = Scenario::new("lobby_given_up_by_the_client", &["meet"]);
    s.config = json!({"lobby": true});
    s.steps = vec![Guest("lobby"), Sleep(2000), Mark, Host("timeout", None)];
    s.statuses = vec!["JOINING_CALL", "IN_WAITING_ROOM", "ENDED/waiting_room_timeout"];
    s.within = Duration::from_secs(10);
    out.push(s);

    let mut s = Scenario::new("kicked", ALL);
    s.people = vec![person("Ada Lovelace")];
    s.steps = vec![Guest("call"), Sleep(3000), Mark, Host("kick", None)];
    s.statuses = vec!["JOINING_CALL", "IN_CALL", "ENDED/kicked"];
    s.within = Duration::from_secs(5);
    out.push(s);

    for (name, clients, block, code) in [
        ("refused_meeting_not_found", ALL, "not_found", "meeting_not_found"),
        ("refused_sign_in_wall", ALL, "sign_in", "sign_in_required"),
        ("refused_captcha", ALL, "captcha", "captcha"),
        (
            "refused_sign_in_redirect",
            &["teams"] as &[&str],
            "sign_in_redirect",
            "sign_in_required",
        ),
        ("refused_could_not_connect", &["teams"], "blocked", "join_blocked"),
        ("refused_passcode_wrong", &["zoom"], "passcode_wrong", "passcode_wrong"),
        ("refused_bot_wall", &["zoom"], "bot_wall", "captcha"),
        ("unknown_screen", ALL, "unknown", "unknown_screen"),
    ] {
        let mut s = Scenario::new(name, clients);
        s.config = json!({"block": block});
        s.steps = vec![Mark];
        s.statuses = vec!["JOINING_CALL", Box::leak(format!("FATAL/{code}").into_boxed_str())];
        s.within = Duration::from_secs(if code == "unknown_screen" { 15 } else { 10 });
        s.check = Some(|r, _| {
            if r.screenshot_kinds() != ["failure"] {
                return Err(format!("screenshots: {:?}", r.screenshot_kinds()));
            }
            Ok(())
        });
        if code == "unknown_screen" {
            s.check = Some(|r, _| {
                let snapshots = r.events_of("page_snapshot");
                match snapshots.first() {
                    Some(snap) if snap["html"].as_str().is_some_and(|h| h.contains("<html")) => Ok(()),
                    _ => Err(format!("no page snapshot: {snapshots:?}")),
                }
            });
        }
        out.push(s);
    }

    for (name, url, code) in [
        (
            "network_unresolvable_host",
            "http://meeting.invalid/abc-defg-hij",
            "network_dns",
        ),
        (
            "network_refused",
            "http://127.0.0.1:9/abc-defg-hij",
            "network_unreachable",
        ),
    ] {
        let mut s = Scenario::new(name, &["meet"]);
        s.url = Some(url);
        s.steps = vec![Mark];
        s.statuses = vec!["JOINING_CALL", Box::leak(format!("FATAL/{code}").into_boxed_str())];
        s.within = Duration::from_secs(10);
        out.push(s);
    }

    // Dialogs at every phase, answered the safe way.
    let mut s = Scenario::new("dialogs_meet", &["meet"]);
    s.config = json!({"dialogs": [
        {"kind": "permission", "at": "prejoin"},
        {"kind": "recording", "at": "call"},
        {"kind": "got_it", "at": "call"},
    ]});
    s.people = vec![person("Ada Lovelace")];
    s.steps = vec![Guest("call"), Sleep(6000), Mark, Host("end", None)];
    s.statuses = vec!["JOINING_CALL", "IN_CALL", "ENDED/meeting_ended"];
    s.within = Duration::from_secs(5);
    s.check = Some(|r, state| {
        expect_answered(
            state,
            &[
                ("permission", "Continue without microphone and camera"),
                ("recording", "Join now"),
                ("got_it", "Got it"),
            ],
        )?;
        if r.events_of("dialog_dismissed").len() != 3 {
            return Err(format!("dialog events: {:?}", r.events_of("dialog_dismissed")));
        }
        Ok(())
    });
    out.push(s);

    let mut s = Scenario::new("dialogs_teams_audio_video_then_join_again", &["teams"]);
    s.config = json!({"dialogs": [
        {"kind": "audio_video", "at": "afterJoin"},
        {"kind": "got_it", "at": "call"},
    ]});
    s.people = vec![person("Ada Lovelace")];
    s.steps = vec![Guest("call"), Sleep(4000), Mark, Host("end", None)];
    s.statuses = vec!["JOINING_CALL", "IN_CALL", "ENDED/meeting_ended"];
    s.within = Duration::from_secs(5);
    s.check = Some(|_, state| {
        expect_answered(
            state,
            &[("audio_video", "Continue without audio or video"), ("got_it", "Got it")],
        )
    });
    out.push(s);

    let mut s = Scenario::new("dialogs_zoom", &["zoom"]);
    s.config = json!({"dialogs": [
        {"kind": "permission", "at": "prejoin"},
        {"kind": "join_audio", "at": "call"},
        {"kind": "recording", "at": "call"},
        {"kind": "ai_companion", "at": "call"},
    ]});
    s.people = vec![person("Ada Lovelace")];
    s.steps = vec![Guest("call"), Sleep(7000), Mark, Host("end", None)];
    s.statuses = vec!["JOINING_CALL", "IN_CALL", "ENDED/meeting_ended"];
    s.within = Duration::from_secs(5);
    s.check = Some(|_, state| {
        expect_answered(
            state,
            &[
                ("permission", "Continue without microphone and camera"),
                ("join_audio", "Join Audio by Computer"),
                ("recording", "Got it"),
                ("ai_companion", "OK"),
            ],
        )
    });
    out.push(s);

    out
}

fn expect_people(r: &Recorder, expected: &[&str]) -> Result<(), String> {
    let seen = r.people_events();
    if seen != expected {
        return Err(format!("participant events {seen:?}, expected {expected:?}"));
    }
    Ok(())
}

/// The timer checks in `since_mark_at_least` read the elapsed time the runner stored.
fn since_mark_at_least(r: &Recorder, secs: u64) -> Result<(), String> {
    let took = r.since_mark.lock().unwrap().unwrap_or_default();
    if took < Duration::from_secs(secs) {
        return Err(format!(
            "left {took:?} after the last person, before the {secs} s timeout"
        ));
    }
    Ok(())
}

fn expect_answered(state: &Value, expected: &[(&str, &str)]) -> Result<(), String> {
    let answered: Vec<(String, String)> = state["dialogsAnswered"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap_or("").to_string(),
                d["button"].as_str().unwrap_or("").trim().to_string(),
            )
        })
        .collect();
    for (kind, button) in expected {
        if !answered
            .iter()
            .any(|(k, b)| k == kind && b.eq_ignore_ascii_case(button))
        {
            return Err(format!("{kind} not answered with {button:?}: {answered:?}"));
        }
    }
    Ok(())
}

/// How one scenario went on one client.
#[derive(Debug)]
pub struct Verdict {
    pub scenario: &'static str,
    pub client: &'static str,
    pub outcome: String,
    /// From the start (or the `Mark` step) to the final status.
    pub took: Duration,
    pub failure: Option<String>,
}

/// Runs one scenario on one client in its own Chromium and replica.
pub async fn run(scenario: &Scenario, client: Client) -> Verdict {
    let base = serve((client.router)()).await;
    let code = format!("{}-{}", client.name, scenario.name.replace('_', "-"));
    let code = if client.name == "zoom" {
        // Zoom meeting ids are digits; the scenario's name makes it unique.
        let h = scenario
            .name
            .bytes()
            .fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        format!("8{:010}", h % 10_000_000_000)
    } else {
        code
    };
    let mut config = scenario.config.clone();
    if client.name == "teams" && config.get("teamsLauncher").is_none() {
        config["teamsLauncher"] = json!(true);
    }
    configure(&base, &code, config).await;
    for p in &scenario.people {
        host(&base, &code, "participants", Some(p.clone())).await;
    }
    let url = match scenario.url {
        Some(u) => u.replace("{base}", &base),
        None => format!("{base}{}", client.path.replace("{code}", &code)),
    };
    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &[]).await.expect("Chromium starts");
    let page = running.browser.new_page("about:blank").await.expect("a tab");
    let mut provider = WebClient::new(page, client.spec, &url);
    let channel = Recorder::default();
    let (mut s, _stop) = settings(scenario.timeouts.0);
    s.automatic_leave.noone_joined_timeout_secs = scenario.timeouts.1;
    s.automatic_leave.waiting_room_timeout_secs = scenario.timeouts.2;
    let (push, commands) = tokio::sync::watch::channel(Pushed::default());
    s.commands = Some(commands);
    let started = Instant::now();
    let marked = std::sync::Arc::new(std::sync::Mutex::new(None::<Instant>));
    let host_side = {
        let (base, code, steps, marked) = (base.clone(), code.clone(), scenario.steps.clone(), marked.clone());
        tokio::spawn(async move {
            for step in steps {
                match step {
                    Step::Guest(screen) => {
                        until_guest(&base, &code, screen).await;
                    }
                    Step::Sleep(ms) => tokio::time::sleep(Duration::from_millis(ms)).await,
                    Step::Host(action, body) => host(&base, &code, action, body).await,
                    Step::Remove(name) => remove_person(&base, &code, name).await,
                    Step::PushLeave => push.send_modify(|p| p.leave = Some("user_requested".into())),
                    Step::Mark => *marked.lock().unwrap() = Some(Instant::now()),
                }
            }
            push
        })
    };
    let outcome: Option<Outcome> =
        tokio::time::timeout(Duration::from_secs(120), driver::run(&mut provider, &channel, s))
            .await
            .ok();
    let ended = Instant::now();
    let host_result = tokio::time::timeout(Duration::from_secs(5), host_side).await;
    let state = replica_state(&base, &code).await;
    running.close().await;
    let from = marked.lock().unwrap().unwrap_or(started);
    let took = ended.saturating_duration_since(from);
    *channel.since_mark.lock().unwrap() = Some(took);
    let statuses = channel.statuses();
    let outcome_text = outcome
        .as_ref()
        .map(|o| format!("{}/{}", o.status, o.sub_code))
        .unwrap_or_else(|| "still running after 120 s".into());
    let mut failure = None;
    if outcome.is_none() {
        failure = Some(format!("no outcome within 120 s; statuses {statuses:?}"));
    } else if !matches!(host_result, Ok(Ok(_))) {
        failure = Some(format!("the host's script did not finish (statuses {statuses:?})"));
    } else if statuses != scenario.statuses {
        let message = outcome.as_ref().and_then(|o| o.message.clone()).unwrap_or_default();
        failure = Some(format!(
            "statuses {statuses:?}, expected {:?} ({message})",
            scenario.statuses
        ));
    } else if took > scenario.within {
        failure = Some(format!("took {took:?}, more than {:?}", scenario.within));
    } else if let Some(check) = scenario.check
        && let Err(e) = check(&channel, &state)
    {
        failure = Some(e);
    }
    Verdict {
        scenario: scenario.name,
        client: client.name,
        outcome: outcome_text,
        took,
        failure,
    }
}

/// Runs the whole matrix (`only`: a client's name, or every client), `parallel` at a time.
pub async fn run_matrix(only: Option<&str>, parallel: usize) -> Vec<Verdict> {
    let scenarios = scenarios();
    let mut jobs = Vec::new();
    for s in &scenarios {
        for c in CLIENTS {
            if s.clients.contains(&c.name) && only.is_none_or(|o| o == c.name) {
                jobs.push((s, c));
            }
        }
    }
    use futures::StreamExt;
    futures::stream::iter(jobs.into_iter().map(|(s, c)| run(s, c)))
        .buffer_unordered(parallel.max(1))
        .collect()
        .await
}

/// The matrix as a table: scenario, client, outcome, time, verdict.
pub fn report(verdicts: &[Verdict]) -> String {
    let mut rows: Vec<&Verdict> = verdicts.iter().collect();
    rows.sort_by_key(|v| (v.client, v.scenario));
    let mut out = String::new();
    for v in rows {
        out.push_str(&format!(
            "{:<6} {:<44} {:<32} {:>6.1} s  {}\n",
            v.client,
            v.scenario,
            v.outcome,
            v.took.as_secs_f64(),
            v.failure
                .as_deref()
                .map_or("ok".to_string(), |f| format!("FAILED: {f}"))
        ));
    }
    out
}

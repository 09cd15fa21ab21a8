//! Commands pushed to bots: `GET /api/bot/v1/commands` holds the request open and answers
//! as soon as the bot must leave or has chat to post — on this replica at once, from
//! another replica within the directory refresh — and a bot's LEAVING is an acknowledgement.

use crate::support::{TestApp, history};
use reqwest::Method;
use serde_json::json;
use std::time::{Duration, Instant};

const MEET: &str = "https://meet.google.com/abc-defg-hij";

/// Starts a long poll as the bot; resolves to (answer, how long it took).
fn poll(app: &TestApp, token: &str, wait_secs: u64) -> tokio::task::JoinHandle<(serde_json::Value, Duration)> {
    let req = app
        .client
        .get(format!("{}/api/bot/v1/commands?waitSecs={wait_secs}", app.base))
        .bearer_auth(token);
    tokio::spawn(async move {
        let started = Instant::now();
        let r = TestApp::read(req).await;
        assert_eq!(r.status, 200, "{}", r.body);
        (r.body, started.elapsed())
    })
}

/// Waits until the server holds a poll for some bot (so the command comes after it).
async fn until_waiting(app: &TestApp) {
    for _ in 0..200 {
        if app.state.heartbeats.bell().waiting() > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no poll was held");
}

#[tokio::test]
async fn an_idle_poll_waits_and_answers_nothing_to_do() {
    let app = TestApp::spawn().await;
    let (_id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    app.report(&token, "IN_CALL", None).await;
    let (body, took) = poll(&app, &token, 1).await.unwrap();
    assert_eq!(body, json!({"leave": false, "reason": null, "chatPending": false}));
    assert!(took >= Duration::from_millis(900), "{took:?}");
    assert_eq!(app.state.heartbeats.bell().waiting(), 0, "the waiter left the bell");
}

#[tokio::test]
async fn a_leave_wakes_the_held_poll_at_once_and_leaving_is_an_acknowledgement() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    app.report(&token, "IN_CALL", None).await;
    let held = poll(&app, &token, 20);
    until_waiting(&app).await;
    let asked = Instant::now();
    let r = app
        .post(&app.admin_key, &format!("/api/bots/{id}/leave"), json!({}))
        .await;
    assert_eq!(r.status, 202);
    let (body, _) = held.await.unwrap();
    assert!(asked.elapsed() < Duration::from_secs(2), "{:?}", asked.elapsed());
    assert_eq!(
        body,
        json!({"leave": true, "reason": "user_requested", "chatPending": false})
    );
    // Asked again, the answer is immediate.
    let (again, took) = poll(&app, &token, 20).await.unwrap();
    assert_eq!(again["leave"], true);
    assert!(took < Duration::from_secs(2));

    // The bot's LEAVING (already the server's status) acknowledges; no conflict, no noise.
    app.report(&token, "LEAVING", Some("user_requested")).await;
    app.report(&token, "ENDED", Some("user_requested")).await;
    let bot = app.bot_resource(&id).await;
    assert_eq!(
        history(&bot)[history(&bot).len() - 2..],
        ["LEAVING/user_requested", "ENDED/user_requested"]
    );
    let events = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=100"))
        .await;
    let types: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"leave_acknowledged"), "{types:?}");
    assert!(!types.contains(&"status_rejected"), "{types:?}");
    // An ended bot's poll is refused like its other calls.
    let r = app.bot(&token, Method::GET, "/commands?waitSecs=1", None).await;
    assert_eq!(r.status, 401);
}

#[tokio::test]
async fn queued_chat_wakes_the_poll_and_stays_pending_until_claimed() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    app.report(&token, "IN_CALL", None).await;
    let held = poll(&app, &token, 20);
    until_waiting(&app).await;
    let r = app
        .post(
            &app.admin_key,
            &format!("/api/bots/{id}/chat"),
            json!({"message": "hello"}),
        )
        .await;
    assert_eq!(r.status, 202, "{}", r.body);
    let (body, took) = held.await.unwrap();
    assert_eq!(body, json!({"leave": false, "reason": null, "chatPending": true}));
    assert!(took < Duration::from_secs(3), "{took:?}");
    let claimed = app.bot(&token, Method::GET, "/chat/next", None).await;
    assert_eq!(claimed.body["text"], "hello");
    let (body, _) = poll(&app, &token, 1).await.unwrap();
    assert_eq!(body["chatPending"], false);
}

#[tokio::test]
async fn a_change_made_on_another_replica_reaches_the_poll_through_the_directory() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    app.report(&token, "IN_CALL", None).await;
    // Load this replica's directory, then change the bot behind its back (as another
    // replica would: straight in the database, no local ring).
    app.state.heartbeats.flush(&app.db, app.state.now()).await.unwrap();
    let held = poll(&app, &token, 20);
    until_waiting(&app).await;
    {
        let mut tx = app.db.begin_write().await.unwrap();
        meeboter_db::bots::request_leave(&mut tx, &id, "max_duration", app.state.now())
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!held.is_finished(), "nothing rang yet");
    // The next directory refresh (every second on a running replica) sees it.
    app.state.heartbeats.flush(&app.db, app.state.now()).await.unwrap();
    let (body, _) = tokio::time::timeout(Duration::from_secs(2), held)
        .await
        .expect("woken by the refresh")
        .unwrap();
    assert_eq!(
        body,
        json!({"leave": true, "reason": "max_duration", "chatPending": false})
    );
}

#[tokio::test]
async fn wait_secs_out_of_range_is_a_clear_422() {
    let app = TestApp::spawn().await;
    let (_id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    for query in ["waitSecs=31", "waitSecs=-1", "waitSecs=abc", "other=1"] {
        let r = app.bot(&token, Method::GET, &format!("/commands?{query}"), None).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        r.error_code();
    }
    let r = app
        .request(Method::GET, Some(&app.admin_key), "/api/bot/v1/commands", None)
        .await;
    assert_eq!(r.status, 401, "a user key is not a bot token");
}

#[tokio::test]
async fn dialog_and_page_snapshot_events_are_kept_and_bounded() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    let huge = "x".repeat(150_000);
    let r = app
        .bot(
            &token,
            Method::POST,
            "/events",
            Some(json!({"events": [
                {"type": "dialog_dismissed", "dialog": "recording_notice", "button": "Join now"},
                {"type": "page_snapshot", "reason": "unknown_screen", "url": "https://meet.google.com/x",
                 "title": "Meet", "text": "Something unexpected", "html": huge},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let events = app
        .get(
            &app.admin_key,
            &format!("/api/bots/{id}/events?type=dialog_dismissed,page_snapshot"),
        )
        .await;
    let list = events.body["events"].as_array().unwrap();
    assert_eq!(list.len(), 2, "{}", events.body);
    assert_eq!(
        list[0]["data"],
        json!({"dialog": "recording_notice", "button": "Join now"})
    );
    assert_eq!(list[1]["data"]["text"], "Something unexpected");
    assert_eq!(
        list[1]["data"]["html"].as_str().unwrap().len(),
        meeboter_server::routes::bot_channel::SNAPSHOT_HTML_MAX_CHARS
    );
}

#[tokio::test]
async fn deleting_a_live_bot_refuses_its_held_poll_at_once() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    app.report(&token, "IN_CALL", None).await;
    let req = app
        .client
        .get(format!("{}/api/bot/v1/commands?waitSecs=20", app.base))
        .bearer_auth(&token);
    let held = tokio::spawn(async move {
        let started = Instant::now();
        (TestApp::read(req).await, started.elapsed())
    });
    until_waiting(&app).await;
    let r = app.delete(&app.admin_key, &format!("/api/bots/{id}")).await;
    assert_eq!(r.status, 204);
    let (r, took) = held.await.unwrap();
    assert_eq!(r.status, 401, "{}", r.body);
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn after_the_end_a_bot_token_delivers_only_its_own_diagnostics() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": MEET})).await;
    app.report(&token, "IN_CALL", None).await;
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    let r = app
        .bot(
            &token,
            Method::POST,
            "/events",
            Some(json!({"events": [
                {"type": "chat_received", "sender": "Mallory", "text": "injected after the end"},
                {"type": "participant_join", "participantId": "p9", "name": "Ghost", "isBot": false},
                {"type": "log", "level": "info", "message": "last words"},
                {"type": "page_snapshot", "reason": "exit", "url": "x", "text": "y", "html": "<html></html>"},
            ]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body, json!({"accepted": 2, "ignored": 2}));
    let events = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=500"))
        .await;
    let types: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(types.contains(&"log") && types.contains(&"page_snapshot"), "{types:?}");
    assert!(
        !types.contains(&"chat_received") && !types.contains(&"participant_join"),
        "{types:?}"
    );
    let participants = app.get(&app.admin_key, &format!("/api/bots/{id}/participants")).await;
    assert!(
        !participants.body.to_string().contains("Ghost"),
        "{}",
        participants.body
    );
}

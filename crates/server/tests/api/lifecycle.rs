use crate::support::{TestApp, history};
use reqwest::Method;
use serde_json::{Value, json};

const ZOOM: &str = "https://zoom.us/j/123456789";

#[tokio::test]
async fn a_bot_goes_through_its_whole_life_over_the_control_channel() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM, "botName": "Rec"})).await;

    let config = app.bot(&token, Method::GET, "/config", None).await;
    assert_eq!(config.status, 200);
    assert_eq!(config.body["botId"], id.as_str());
    assert_eq!(config.body["meetingUrl"], ZOOM);
    assert_eq!(config.body["platform"], "zoom");
    assert_eq!(config.body["botName"], "Rec");
    assert_eq!(config.body["automaticLeave"]["maxDurationSecs"], 14400);
    assert_eq!(config.body["heartbeatIntervalSecs"], 30);

    app.report(&token, "JOINING_CALL", None).await;
    app.report(&token, "IN_WAITING_ROOM", None).await;
    let hb = app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(hb.body, json!({"leave": false, "reason": null}));
    app.report(&token, "IN_CALL", None).await;

    let events = app
        .bot(
            &token,
            Method::POST,
            "/events",
            Some(json!({"events": [
                {"type": "participant_join", "participantId": "p1", "name": "Alice"},
                {"type": "participant_join", "participantId": "p2", "name": "Bob"},
                {"type": "participant_join", "participantId": "self", "name": "Rec", "isBot": true},
                {"type": "chat_received", "sender": "Alice", "text": "hello bot"},
                {"type": "active_speaker", "participantId": "p1", "name": "Alice"},
                {"type": "participant_leave", "participantId": "p2"},
                {"type": "log", "level": "info", "message": "grid view on"}
            ]})),
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.body);
    assert_eq!(events.body["accepted"], 7);

    let people = app.get(&app.admin_key, &format!("/api/bots/{id}/participants")).await;
    let list = people.body["participants"].as_array().unwrap();
    assert_eq!(list.len(), 3);
    let bob = list.iter().find(|p| p["participantId"] == "p2").unwrap();
    assert_eq!(bob["name"], "Bob");
    assert!(bob["leftAt"].is_string());
    assert!(list.iter().find(|p| p["participantId"] == "p1").unwrap()["leftAt"].is_null());
    assert_eq!(
        list.iter().find(|p| p["participantId"] == "self").unwrap()["isBot"],
        true
    );

    app.report(&token, "ENDED", Some("everyone_left")).await;
    let bot = app.bot_resource(&id).await;
    assert_eq!(
        history(&bot),
        vec![
            "QUEUED",
            "DEPLOYING",
            "JOINING_CALL",
            "IN_WAITING_ROOM",
            "IN_CALL",
            "ENDED/everyone_left"
        ]
    );
    assert!(bot["endedAt"].is_string());
    assert_eq!(bot["deployment"], json!({"platform": "test", "identifier": "proc-1"}));

    // Ending released the platform resources and closed the roster.
    let jobs = app.release_jobs(&id).await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(
        (jobs[0].kind.as_str(), jobs[0].identifier.as_deref()),
        ("release", Some("proc-1"))
    );
    let people = app.get(&app.admin_key, &format!("/api/bots/{id}/participants")).await;
    assert!(
        people.body["participants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["leftAt"].is_string())
    );

    // The token is dead for everything but a late status report, which is recorded and refused.
    let hb = app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(hb.status, 401);
    let late = app
        .bot(
            &token,
            Method::POST,
            "/status",
            Some(json!({"status": "FATAL", "subCode": "browser_crashed"})),
        )
        .await;
    assert_eq!(late.status, 409);
    assert_eq!(late.body["error"]["details"]["status"], "ENDED");
    assert_eq!(app.bot_resource(&id).await["status"], "ENDED");

    let all = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=500"))
        .await;
    let types: Vec<&str> = all.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    for t in [
        "status_change",
        "participant_join",
        "participant_leave",
        "chat_received",
        "active_speaker",
        "log",
        "status_rejected",
    ] {
        assert!(types.contains(&t), "{t} missing from {types:?}");
    }
    let only_chat = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?type=chat_received"))
        .await;
    assert_eq!(only_chat.body["events"].as_array().unwrap().len(), 1);
    assert_eq!(only_chat.body["events"][0]["data"]["text"], "hello bot");
    // Cursor paging returns the rest and then nothing.
    let first = app.get(&app.admin_key, &format!("/api/bots/{id}/events?limit=2")).await;
    let cursor = first.body["nextCursor"].as_str().unwrap();
    let rest = app
        .get(
            &app.admin_key,
            &format!("/api/bots/{id}/events?limit=500&cursor={cursor}"),
        )
        .await;
    assert_eq!(rest.body["events"].as_array().unwrap().len() + 2, types.len());
}

#[tokio::test]
async fn reports_that_do_not_fit_are_recorded_and_refused_with_409() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "IN_CALL", None).await; // skipping forward is fine
    for (status, why) in [
        ("IN_CALL", "duplicate"),
        ("JOINING_CALL", "backwards"),
        ("IN_WAITING_ROOM", "backwards"),
    ] {
        let r = app
            .bot(&token, Method::POST, "/status", Some(json!({"status": status})))
            .await;
        assert_eq!(r.status, 409, "{why}");
        assert_eq!(r.error_code(), "status_conflict");
        assert_eq!(r.body["error"]["details"]["status"], "IN_CALL");
    }
    app.report(&token, "FATAL", Some("browser_crashed")).await;
    // FATAL is sticky: a late ENDED cannot overwrite it.
    let r = app
        .bot(
            &token,
            Method::POST,
            "/status",
            Some(json!({"status": "ENDED", "subCode": "meeting_ended"})),
        )
        .await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["details"]["status"], "FATAL");
    let bot = app.bot_resource(&id).await;
    assert_eq!(
        history(&bot),
        vec!["QUEUED", "DEPLOYING", "IN_CALL", "FATAL/browser_crashed"]
    );
    let rejected = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?type=status_rejected"))
        .await;
    assert_eq!(rejected.body["events"].as_array().unwrap().len(), 4);

    // Bots may not claim control-plane statuses or invent malformed sub codes.
    let (_, other) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    for body in [
        json!({"status": "QUEUED"}),
        json!({"status": "DONE"}),
        json!({"status": "IN_CALL", "subCode": "Bad Code"}),
    ] {
        let r = app.bot(&other, Method::POST, "/status", Some(body)).await;
        assert_eq!(r.status, 422);
    }
}

#[tokio::test]
async fn control_channel_auth_matrix() {
    let app = TestApp::spawn().await;
    let (a, token_a) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    let (b, _token_b) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    for (method, path, body) in [
        (Method::GET, "/config", None),
        (Method::POST, "/heartbeat", None),
        (Method::POST, "/status", Some(json!({"status": "JOINING_CALL"}))),
        (Method::POST, "/events", Some(json!({"events": []}))),
        (Method::GET, "/chat/next", None),
    ] {
        let none = app
            .request(method.clone(), None, &format!("/api/bot/v1{path}"), body.clone())
            .await;
        assert_eq!(none.status, 401, "no token {path}");
        let user = app.bot(&app.admin_key, method.clone(), path, body.clone()).await;
        assert_eq!(user.status, 401, "user key on {path}");
        let forged = app
            .bot(
                "mbb_forgedforgedforgedforgedforgedforgedforg",
                method.clone(),
                path,
                body,
            )
            .await;
        assert_eq!(forged.status, 401, "forged token {path}");
    }
    // A bot token is not a user key.
    assert_eq!(app.get(&token_a, "/api/bots").await.status, 401);
    // A token acts on its own bot only: the path has no bot id to change.
    assert_eq!(
        app.bot(&token_a, Method::GET, "/config", None).await.body["botId"],
        a.as_str()
    );
    app.report(&token_a, "JOINING_CALL", None).await;
    assert_eq!(app.bot_resource(&b).await["status"], "DEPLOYING");
    // Redeploying (a new attempt) replaces the token; the old one stops working.
    let mut tx = app.db.begin_write().await.unwrap();
    let new_token = meeboter_server::bot_token::issue(&mut tx, &app.state.bot_token_secret, &a, 2, app.state.now())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(app.bot(&token_a, Method::GET, "/config", None).await.status, 401);
    assert_eq!(app.bot(&new_token, Method::GET, "/config", None).await.status, 200);
    // Tokens are stored hashed.
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE bot_token_hash = $1")
        .bind(&new_token)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(n, 0);
}

#[tokio::test]
async fn leave_cancels_undeployed_bots_at_once() {
    let app = TestApp::spawn().await;
    let soon = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    for body in [json!({"meetingUrl": ZOOM}), json!({"meetingUrl": ZOOM, "joinAt": soon})] {
        let bot = app.create_bot(&app.admin_key, body).await;
        let id = bot["id"].as_str().unwrap();
        let r = app
            .post(&app.admin_key, &format!("/api/bots/{id}/leave"), json!({}))
            .await;
        assert_eq!(r.status, 202);
        assert_eq!(r.body["status"], "ENDED");
        assert_eq!(history(&r.body).last().unwrap(), "ENDED/cancelled");
        assert!(app.release_jobs(id).await.is_empty(), "nothing was deployed");
        let again = app
            .post(&app.admin_key, &format!("/api/bots/{id}/leave"), json!({}))
            .await;
        assert_eq!(again.status, 409);
        assert_eq!(again.error_code(), "bot_ended");
    }
}

#[tokio::test]
async fn leave_is_signalled_on_heartbeat_and_enforced_after_60s() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "IN_CALL", None).await;
    let r = app
        .post(&app.admin_key, &format!("/api/bots/{id}/leave"), json!({}))
        .await;
    assert_eq!(r.status, 202);
    assert_eq!(r.body["status"], "LEAVING");
    let again = app
        .post(&app.admin_key, &format!("/api/bots/{id}/leave"), json!({}))
        .await;
    assert_eq!(again.status, 202, "asking twice is harmless");
    let hb = app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(hb.body, json!({"leave": true, "reason": "user_requested"}));

    assert_eq!(app.advance_and_monitor(59).await.leave_timeouts, 0);
    assert_eq!(app.advance_and_monitor(2).await.leave_timeouts, 1);
    let bot = app.bot_resource(&id).await;
    assert_eq!(history(&bot).last().unwrap(), "ENDED/user_requested");
    assert_eq!(app.release_jobs(&id).await.len(), 1);
    // Another pass changes nothing.
    assert_eq!(app.advance_and_monitor(120).await.leave_timeouts, 0);
    assert_eq!(history(&app.bot_resource(&id).await).len(), history(&bot).len());
}

#[tokio::test]
async fn a_silent_bot_times_out_after_five_minutes_of_no_heartbeat() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "IN_CALL", None).await;
    app.advance_and_monitor(200).await;
    app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(app.advance_and_monitor(299).await.heartbeat_timeouts, 0);
    assert_eq!(app.bot_resource(&id).await["status"], "IN_CALL");
    assert_eq!(app.advance_and_monitor(2).await.heartbeat_timeouts, 1);
    let bot = app.bot_resource(&id).await;
    assert_eq!(history(&bot).last().unwrap(), "FATAL/heartbeat_timeout");
    assert_eq!(
        app.release_jobs(&id).await[0].reason.as_deref(),
        Some("heartbeat_timeout")
    );
}

#[tokio::test]
async fn deploy_timeout_counts_from_the_start_of_deployment() {
    let app = TestApp::spawn().await;
    let bot = app.create_bot(&app.admin_key, json!({"meetingUrl": ZOOM})).await;
    let id = bot["id"].as_str().unwrap();
    // Queued for a long time: that is not deploying.
    app.advance_and_monitor(500).await;
    app.deploy(id).await;
    assert_eq!(app.advance_and_monitor(899).await.deploy_timeouts, 0);
    assert_eq!(app.advance_and_monitor(2).await.deploy_timeouts, 1);
    assert_eq!(
        history(&app.bot_resource(id).await).last().unwrap(),
        "FATAL/deploy_timeout"
    );
}

#[tokio::test]
async fn max_duration_tells_the_bot_to_leave_then_ends_it() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "automaticLeave": {"maxDurationSecs": 120}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    assert_eq!(app.advance_and_monitor(119).await.told_to_leave, 0);
    app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(app.advance_and_monitor(2).await.told_to_leave, 1);
    let hb = app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(hb.body, json!({"leave": true, "reason": "max_duration"}));
    app.bot(&token, Method::POST, "/heartbeat", None).await;
    assert_eq!(app.advance_and_monitor(61).await.leave_timeouts, 1);
    assert_eq!(
        history(&app.bot_resource(&id).await).last().unwrap(),
        "ENDED/max_duration"
    );
}

#[tokio::test]
async fn scheduled_bots_are_queued_once_before_join_at_even_across_restarts() {
    let app = TestApp::spawn().await;
    let join_at = app.state.now() + chrono::Duration::minutes(10);
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": ZOOM, "joinAt": join_at.to_rfc3339()}),
        )
        .await;
    let id = bot["id"].as_str().unwrap();
    assert_eq!(bot["status"], "SCHEDULED");
    assert_eq!(app.advance_and_monitor(60).await.scheduled_queued, 0);
    assert_eq!(
        app.advance_and_monitor(8 * 60).await.scheduled_queued,
        1,
        "queued 60 s before joinAt"
    );
    assert_eq!(
        history(&app.bot_resource(id).await),
        vec!["SCHEDULED", "QUEUED/scheduled_join"]
    );

    // A second server (a restart, or another replica) over the same database does not
    // queue it again.
    let mut restarted = meeboter_server::prepare(app.state.config.as_ref().clone())
        .await
        .unwrap();
    restarted.clock = app.clock.clone();
    let report = meeboter_server::workers::monitor::run_once(&restarted, "other-holder")
        .await
        .unwrap();
    assert!(!report.leased, "the first holder's lease is still valid");
    app.clock.advance(chrono::Duration::minutes(5));
    let report = meeboter_server::workers::monitor::run_once(&restarted, "other-holder")
        .await
        .unwrap();
    assert!(report.leased, "an expired lease is taken over");
    assert_eq!(report.scheduled_queued, 0);
    assert_eq!(history(&app.bot_resource(id).await).len(), 2);
}

#[tokio::test]
async fn chat_is_claimed_once_and_tracked_to_the_end() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "IN_CALL", None).await;
    assert_eq!(app.bot(&token, Method::GET, "/chat/next", None).await.status, 204);

    let sent = app
        .post(
            &app.admin_key,
            &format!("/api/bots/{id}/chat"),
            json!({"message": "Recording started"}),
        )
        .await;
    assert_eq!(sent.status, 202);
    assert_eq!(sent.body["status"], "queued");
    let claimed = app.bot(&token, Method::GET, "/chat/next", None).await;
    assert_eq!(claimed.status, 200);
    assert_eq!(claimed.body["text"], "Recording started");
    assert_eq!(app.bot(&token, Method::GET, "/chat/next", None).await.status, 204);
    let mid = claimed.body["id"].as_str().unwrap();
    let r = app
        .bot(
            &token,
            Method::POST,
            &format!("/chat/{mid}/result"),
            Some(json!({"status": "sent"})),
        )
        .await;
    assert_eq!(r.status, 204);
    let again = app
        .bot(
            &token,
            Method::POST,
            &format!("/chat/{mid}/result"),
            Some(json!({"status": "failed"})),
        )
        .await;
    assert_eq!(again.status, 404, "a result is recorded once");

    // Twenty messages, twenty concurrent claims: each message exactly once.
    for i in 0..20 {
        app.post(
            &app.admin_key,
            &format!("/api/bots/{id}/chat"),
            json!({"message": format!("m{i}")}),
        )
        .await;
    }
    let claims = futures::future::join_all((0..24).map(|_| app.bot(&token, Method::GET, "/chat/next", None))).await;
    let mut texts: Vec<String> = claims
        .iter()
        .filter(|c| c.status == 200)
        .map(|c| c.body["text"].as_str().unwrap().to_string())
        .collect();
    texts.sort();
    texts.dedup();
    assert_eq!(texts.len(), 20);
    assert_eq!(claims.iter().filter(|c| c.status == 204).count(), 4);

    // What people wrote is listed with the chat, in order, marked incoming.
    let r = app
        .bot(
            &token,
            Method::POST,
            "/events",
            Some(json!({"events": [{"type": "chat_received", "sender": "Ada Lovelace", "text": "Thanks!"}]})),
        )
        .await;
    assert_eq!(r.status, 200);

    // Ending fails what was never sent; chat to an ended bot is refused.
    app.post(
        &app.admin_key,
        &format!("/api/bots/{id}/chat"),
        json!({"message": "too late"}),
    )
    .await;
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    let list = app.get(&app.admin_key, &format!("/api/bots/{id}/chat")).await;
    let msgs = list.body["messages"].as_array().unwrap();
    assert_eq!(msgs.len(), 23);
    assert_eq!(msgs[0]["status"], "sent");
    assert_eq!(msgs[0]["direction"], "outgoing");
    let (incoming, outgoing): (Vec<&Value>, Vec<&Value>) = msgs[1..].iter().partition(|m| m["direction"] == "incoming");
    assert_eq!(incoming.len(), 1, "{msgs:?}");
    assert_eq!(
        (
            incoming[0]["sender"].as_str(),
            incoming[0]["text"].as_str(),
            incoming[0]["status"].as_str()
        ),
        (Some("Ada Lovelace"), Some("Thanks!"), Some("received"))
    );
    assert!(outgoing.iter().all(|m| m["status"] == "failed"));
    let times: Vec<&str> = msgs.iter().map(|m| m["createdAt"].as_str().unwrap()).collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted, "oldest first");
    let refused = app
        .post(&app.admin_key, &format!("/api/bots/{id}/chat"), json!({"message": "x"}))
        .await;
    assert_eq!(refused.status, 409);
    let empty = app
        .post(&app.admin_key, &format!("/api/bots/{id}/chat"), json!({"message": ""}))
        .await;
    assert_eq!(empty.status, 422);
}

#[tokio::test]
async fn monitor_lease_admits_one_holder_at_a_time() {
    let app = TestApp::spawn().await;
    let a = meeboter_server::workers::monitor::run_once(&app.state, "a")
        .await
        .unwrap();
    let b = meeboter_server::workers::monitor::run_once(&app.state, "b")
        .await
        .unwrap();
    assert!(a.leased);
    assert!(!b.leased);
    assert!(
        meeboter_server::workers::monitor::run_once(&app.state, "a")
            .await
            .unwrap()
            .leased,
        "renewal"
    );
}

#[tokio::test]
async fn the_stream_sends_events_live_and_ends_with_the_bot() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    let mut res = app
        .client
        .get(format!("{}/api/bots/{id}/stream", app.base))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    app.report(&token, "JOINING_CALL", None).await;
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while !text.contains("event: end") {
        let chunk = tokio::time::timeout_at(deadline, res.chunk())
            .await
            .expect("stream stalled")
            .unwrap();
        match chunk {
            Some(bytes) => text.push_str(&String::from_utf8_lossy(&bytes)),
            None => break,
        }
    }
    assert!(text.contains("event: status_change"), "{text}");
    assert!(text.contains("\"status\":\"JOINING_CALL\""), "{text}");
    assert!(text.contains("meeting_ended"), "{text}");
    assert!(text.contains("event: end"), "{text}");
    let other = app.member("x").await.1;
    assert_eq!(app.get(&other, &format!("/api/bots/{id}/stream")).await.status, 404);
    let _ = Value::Null;
}

#[tokio::test]
async fn deleting_a_running_bot_releases_its_resources() {
    let app = TestApp::spawn().await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "IN_CALL", None).await;
    assert_eq!(app.delete(&app.admin_key, &format!("/api/bots/{id}")).await.status, 204);
    let jobs = app.release_jobs(&id).await;
    assert_eq!(jobs.len(), 1, "release job survives the bot");
    assert_eq!(jobs[0].reason.as_deref(), Some("deleted"));
    assert_eq!(jobs[0].identifier.as_deref(), Some("proc-1"));
    assert_eq!(app.bot(&token, Method::GET, "/config", None).await.status, 401);
}

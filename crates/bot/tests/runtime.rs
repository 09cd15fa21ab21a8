//! The runtime's building blocks against real peers: the real server's control channel
//! over HTTP, and a real Chromium.

use meeboter_bot::browser;
use meeboter_bot::control::{ControlClient, ControlError};
use meeboter_db::testing::TestDatabase;
use std::time::Duration;

/// A real server on `listener`; returns (base URL, admin key, bot id, bot token) for one
/// bot that the deployment layer has just started.
async fn server_with_a_deployed_bot(
    database: &TestDatabase,
    listener: tokio::net::TcpListener,
) -> (String, String, String, String) {
    let base = format!("http://{}", listener.local_addr().unwrap());
    let mut config = meeboter_server::config::Config::for_tests(&database.url);
    config.public_url = base.clone();
    let state = meeboter_server::prepare(config).await.unwrap();
    let admin = meeboter_server::bootstrap::first_admin_key(&state.db)
        .await
        .unwrap()
        .unwrap();
    tokio::spawn(meeboter_server::serve(state.clone(), listener, std::future::pending()));
    let created: serde_json::Value = reqwest::Client::new()
        .post(format!("{base}/api/bots"))
        .bearer_auth(&admin.secret)
        .json(&serde_json::json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "botName": "Notetaker"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bot_id = created["id"].as_str().unwrap().to_string();
    // What the dispatcher does: QUEUED → DEPLOYING and a token for this attempt.
    let now = chrono::Utc::now();
    let mut tx = state.db.begin_write().await.unwrap();
    meeboter_server::lifecycle::transition(&mut tx, &bot_id, meeboter_core::BotStatus::Deploying, None, None, now)
        .await
        .unwrap();
    meeboter_db::bots::set_deployment(&mut tx, &bot_id, "local", Some("pid:1:1"), now)
        .await
        .unwrap();
    let token = meeboter_server::bot_token::issue(&mut tx, &state.bot_token_secret, &bot_id, 1, now)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    (base, admin.secret, bot_id, token)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_client_follows_a_bot_through_its_lifecycle() {
    let database = TestDatabase::create().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (base, admin, bot_id, token) = server_with_a_deployed_bot(&database, listener).await;
    let control = ControlClient::new(&format!("{base}/api/bot/v1/"), &token);

    let config = control.config().await.unwrap();
    assert_eq!(config.bot_id, bot_id);
    assert_eq!(config.bot_name, "Notetaker");
    assert!(config.automatic_leave.everyone_left_timeout_secs > 0);
    assert_eq!(
        control.report_status("JOINING_CALL", None, None).await.unwrap(),
        "JOINING_CALL"
    );
    assert_eq!(control.report_status("IN_CALL", None, None).await.unwrap(), "IN_CALL");
    let beat = control.heartbeat().await.unwrap();
    assert!(!beat.leave);
    let events = [serde_json::json!({"type": "participant_join", "participantId": "p1", "name": "Ada"})];
    control.events(&events).await.unwrap();

    // The user asks the bot to leave: the next heartbeat says so.
    let res = reqwest::Client::new()
        .post(format!("{base}/api/bots/{bot_id}/leave"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let beat = control.heartbeat().await.unwrap();
    assert!(beat.leave);
    assert_eq!(beat.reason.as_deref(), Some("user_requested"));
    assert_eq!(
        control
            .report_status("ENDED", Some("user_requested"), None)
            .await
            .unwrap(),
        "ENDED"
    );
    // Over: the token no longer works, and a late report is told the final status.
    assert!(matches!(control.heartbeat().await, Err(ControlError::Unauthorized(_))));
    match control.report_status("IN_CALL", None, None).await {
        Err(ControlError::Conflict { current, .. }) => assert_eq!(current, "ENDED"),
        other => panic!("{other:?}"),
    }
    // Someone else's token is refused outright.
    let stranger = ControlClient::new(&format!("{base}/api/bot/v1"), "mbb_not-a-token");
    assert!(matches!(stranger.config().await, Err(ControlError::Unauthorized(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_survives_the_server_being_down_for_a_moment() {
    let database = TestDatabase::create().await.unwrap();
    // Reserve a port, then close it: the server is "down" until it comes up there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let early = ControlClient::new(&format!("{base}/api/bot/v1"), "mbb_unknown-yet");
    let attempt = tokio::spawn(async move { early.config().await });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    let _ = server_with_a_deployed_bot(&database, listener).await;
    // The call kept retrying through the outage and got the server's real answer.
    let outcome = tokio::time::timeout(Duration::from_secs(60), attempt)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(outcome, Err(ControlError::Unauthorized(_))), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_starts_with_the_bot_flags_and_drives_a_page() {
    let page_html = r#"<!doctype html><title>Replica</title>
        <button id="join" onclick="document.title='Joined as ' + document.getElementById('name').value">Join now</button>
        <input id="name" aria-label="Your name">"#;
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move { axum::response::Html(page_html) }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let chromium = browser::find_chromium(None).expect("scripts/test installs Chromium");
    let running = browser::launch(&chromium, false, &["--lang=en-US".to_string()])
        .await
        .unwrap();
    let page = running.browser.new_page(url.as_str()).await.unwrap();
    page.wait_for_navigation().await.unwrap();
    page.find_element("input[aria-label='Your name']")
        .await
        .unwrap()
        .click()
        .await
        .unwrap()
        .type_str("Notetaker")
        .await
        .unwrap();
    page.find_element("#join").await.unwrap().click().await.unwrap();
    let title: String = page.evaluate("document.title").await.unwrap().into_value().unwrap();
    assert_eq!(title, "Joined as Notetaker");
    // Camera and microphone are granted without a prompt (fake devices).
    let media: bool = page
        .evaluate(
            "navigator.mediaDevices.getUserMedia({audio: true, video: true}).then(s => s.getTracks().length === 2)",
        )
        .await
        .unwrap()
        .into_value()
        .unwrap();
    assert!(media);
    running.close().await;
}

#[tokio::test]
async fn a_broken_browser_fails_fast_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("chromium");
    std::fs::write(&fake, "#!/bin/sh\necho 'cannot open display' >&2\nexit 1\n").unwrap();
    let mut perms = std::fs::metadata(&fake).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&fake, perms).unwrap();
    let started = std::time::Instant::now();
    let err = match browser::launch(&fake, false, &[]).await {
        Err(e) => e,
        Ok(_) => panic!("a browser that exits at once cannot launch"),
    };
    assert!(matches!(err, browser::BrowserError::Launch(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(40), "never a hang");
}

fn env_for(base: &str, bot_id: &str, token: &str, platform: &str, chromium: &str) -> meeboter_bot::env::BotEnv {
    let vars = std::collections::HashMap::from([
        ("BOT_ID", bot_id.to_string()),
        ("MEETING_URL", "https://meet.google.com/abc-defg-hij".to_string()),
        ("MEETING_PLATFORM", platform.to_string()),
        ("BOT_NAME", "Notetaker".to_string()),
        ("API_CALLBACK_URL", format!("{base}/api/bot/v1")),
        ("MILO_AUTH_TOKEN", token.to_string()),
        ("RECORDING_MODE", "none".to_string()),
        ("CHROMIUM_PATH", chromium.to_string()),
    ]);
    meeboter_bot::env::BotEnv::from_vars(|k| vars.get(k).cloned()).unwrap()
}

async fn last_change(base: &str, admin: &str, bot_id: &str) -> serde_json::Value {
    let bot: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/bots/{bot_id}"))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    bot["statusChanges"].as_array().unwrap().last().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_without_a_browser_fails_with_browser_missing_and_the_reason() {
    let database = TestDatabase::create().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (base, admin, bot_id, token) = server_with_a_deployed_bot(&database, listener).await;
    let env = env_for(&base, &bot_id, &token, "meet", "/nonexistent/chromium");
    let code = tokio::time::timeout(Duration::from_secs(30), meeboter_bot::runtime::run(env))
        .await
        .expect("never a hang");
    assert_eq!(code, 1);
    let change = last_change(&base, &admin, &bot_id).await;
    assert_eq!(
        (change["status"].as_str(), change["subCode"].as_str()),
        (Some("FATAL"), Some("browser_missing"))
    );
    assert!(
        change["message"].as_str().unwrap().contains("/nonexistent/chromium"),
        "{change}"
    );
}

use crate::support::TestApp;
use serde_json::json;

async fn post_with_key(app: &TestApp, key: &str, idem: &str, body: serde_json::Value) -> crate::support::Resp {
    TestApp::read(
        app.client
            .post(format!("{}/api/bots", app.base))
            .bearer_auth(key)
            .header("Idempotency-Key", idem)
            .json(&body),
    )
    .await
}

#[tokio::test]
async fn retry_with_same_key_replays_the_first_response() {
    let app = TestApp::spawn().await;
    let body = json!({"meetingUrl": "https://zoom.us/j/123456789", "botName": "A"});
    let first = post_with_key(&app, &app.admin_key, "req-1", body.clone()).await;
    assert_eq!(first.status, 201);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = post_with_key(&app, &app.admin_key, "req-1", body.clone()).await;
    assert_eq!(again.status, 201);
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(again.body, first.body);
    let list = app.get(&app.admin_key, "/api/bots").await;
    assert_eq!(list.body["bots"].as_array().unwrap().len(), 1);

    // Same key, different body: refused, nothing created.
    let other = post_with_key(
        &app,
        &app.admin_key,
        "req-1",
        json!({"meetingUrl": "https://zoom.us/j/987654321"}),
    )
    .await;
    assert_eq!(other.status, 422);
    assert_eq!(other.error_code(), "idempotency_key_reused");

    // Another account may use the same key value independently.
    let (_, member) = app.member("m").await;
    let theirs = post_with_key(&app, &member, "req-1", body).await;
    assert_eq!(theirs.status, 201);
    assert_ne!(theirs.body["id"], first.body["id"]);
}

#[tokio::test]
async fn concurrent_retries_create_one_bot() {
    let app = TestApp::spawn().await;
    let body = json!({"meetingUrl": "https://zoom.us/j/123456789"});
    let results =
        futures::future::join_all((0..10).map(|_| post_with_key(&app, &app.admin_key, "burst", body.clone()))).await;
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1);
    assert!(results.iter().all(|r| r.status == 201));
    let list = app.get(&app.admin_key, "/api/bots").await;
    assert_eq!(list.body["bots"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn expired_keys_are_forgotten_and_bad_keys_rejected() {
    let app = TestApp::spawn().await;
    let body = json!({"meetingUrl": "https://zoom.us/j/123456789"});
    let first = post_with_key(&app, &app.admin_key, "old", body.clone()).await;
    app.sql("UPDATE idempotency_keys SET created_at = created_at - 90000000")
        .await;
    let second = post_with_key(&app, &app.admin_key, "old", body.clone()).await;
    assert_eq!(second.status, 201);
    assert_ne!(second.body["id"], first.body["id"]);

    let bad = post_with_key(&app, &app.admin_key, &"k".repeat(300), body).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.error_code(), "invalid_idempotency_key");
}

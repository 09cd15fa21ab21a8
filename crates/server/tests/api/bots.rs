use crate::support::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn create_with_defaults_and_get() {
    let app = TestApp::spawn().await;
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": " meet.google.com/ABC-defg-hij?authuser=1 "}),
        )
        .await;
    assert_eq!(bot["meetingUrl"], "https://meet.google.com/abc-defg-hij");
    assert_eq!(bot["platform"], "google_meet");
    assert_eq!(bot["botName"], "Meeboter");
    assert_eq!(bot["recordingMode"], "video");
    assert_eq!(bot["status"], "QUEUED");
    assert_eq!(bot["statusChanges"][0]["status"], "QUEUED");
    assert_eq!(
        bot["automaticLeave"],
        json!({"waitingRoomTimeoutSecs": 1200, "nooneJoinedTimeoutSecs": 600, "everyoneLeftTimeoutSecs": 60, "maxDurationSecs": 14400})
    );
    assert_eq!(bot["metadata"], json!({}));
    assert_eq!(bot["deployment"], Value::Null);
    // Nothing deploys in this test, so the bot waits first in line — with capacity free for
    // it, so no wait is estimated (the dispatcher takes it within moments).
    assert_eq!(bot["queue"]["position"], 1);
    assert_eq!(bot["queue"]["estimatedWaitSecs"], 0);
    assert_eq!(bot["priority"], 0);
    assert_eq!(bot["endedAt"], Value::Null);
    let id = bot["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);

    let got = app.get(&app.admin_key, &format!("/api/bots/{id}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body, bot, "GET returns exactly what POST returned");
}

#[tokio::test]
async fn create_with_every_field() {
    let app = TestApp::spawn().await;
    let tomorrow = chrono::Utc::now().date_naive().succ_opt().unwrap();
    let join_at = format!("{tomorrow}T10:00:00+02:00");
    let expected_join_at = format!("{tomorrow}T08:00:00Z");
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({
                "meetingUrl": "https://us02web.zoom.us/j/89012345678?pwd=abc&from=addon",
                "botName": "Notes",
                "platform": "zoom",
                "recordingMode": "audio",
                "joinAt": join_at,
                "automaticLeave": {"waitingRoomTimeoutSecs": 30, "maxDurationSecs": 3600},
                "webhookUrl": "https://93.184.216.34/meeboter",
                "metadata": {"customer": 42, "tags": ["a"]},
                "deduplicationKey": "evt-1"
            }),
        )
        .await;
    assert_eq!(bot["meetingUrl"], "https://us02web.zoom.us/j/89012345678?pwd=abc");
    assert_eq!(bot["botName"], "Notes");
    assert_eq!(bot["recordingMode"], "audio");
    assert_eq!(bot["status"], "SCHEDULED");
    assert_eq!(bot["joinAt"], expected_join_at);
    assert_eq!(bot["automaticLeave"]["waitingRoomTimeoutSecs"], 30);
    assert_eq!(bot["automaticLeave"]["nooneJoinedTimeoutSecs"], 600);
    assert_eq!(bot["automaticLeave"]["maxDurationSecs"], 3600);
    assert_eq!(bot["webhookUrl"], "https://93.184.216.34/meeboter");
    assert_eq!(bot["metadata"], json!({"customer": 42, "tags": ["a"]}));
    assert_eq!(bot["deduplicationKey"], "evt-1");
}

#[tokio::test]
async fn platform_is_inferred_for_each_provider() {
    let app = TestApp::spawn().await;
    for (url, platform) in [
        (
            "https://teams.microsoft.com/meet/2345678901234?p=AbC",
            "microsoft_teams",
        ),
        ("teams.live.com/meet/9876543210987?p=x", "microsoft_teams"),
        (
            "https://teams.microsoft.com/l/meetup-join/19%3ameeting_abc%40thread.v2/0?context=%7b%7d",
            "microsoft_teams",
        ),
        ("https://zoom.us/my/jane", "zoom"),
        ("https://agency.zoomgov.com/j/1234567890", "zoom"),
        ("meet.google.com/abc-defg-hij", "google_meet"),
    ] {
        let bot = app.create_bot(&app.admin_key, json!({"meetingUrl": url})).await;
        assert_eq!(bot["platform"], platform, "{url}");
    }
}

#[tokio::test]
async fn url_and_platform_errors_are_422() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "platform": "google_meet"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_code(), "validation_failed");
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "platform_mismatch");
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["message"],
        "platform is `google_meet` (Google Meet) but meetingUrl is a Zoom link"
    );

    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://webex.com/meet/x"}),
        )
        .await;
    assert_eq!(r.status, 422);
    let msg = r.body["error"]["details"]["fields"][0]["message"].as_str().unwrap();
    assert!(
        msg.contains("meet.google.com") && msg.contains("zoom.us") && msg.contains("teams.microsoft.com"),
        "{msg}"
    );

    let r = app.post(&app.admin_key, "/api/bots", json!({})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), vec!["meetingUrl"]);
}

#[tokio::test]
async fn every_validation_error_is_reported_with_its_field() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({
                "meetingUrl": "https://zoom.us/pricing",
                "botName": "",
                "platform": "skype",
                "recordingMode": "4k",
                "joinAt": "next tuesday",
                "automaticLeave": {"waitingRoomTimeoutSecs": 1, "nooneJoinedTimeoutSecs": 100000, "everyoneLeftTimeoutSecs": 0, "maxDurationSecs": 59},
                "webhookUrl": "not-a-url",
                "metadata": "string",
                "deduplicationKey": ""
            }),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(
        r.error_fields(),
        vec![
            "meetingUrl",
            "platform",
            "botName",
            "recordingMode",
            "joinAt",
            "automaticLeave.waitingRoomTimeoutSecs",
            "automaticLeave.nooneJoinedTimeoutSecs",
            "automaticLeave.everyoneLeftTimeoutSecs",
            "automaticLeave.maxDurationSecs",
            "webhookUrl",
            "metadata",
            "deduplicationKey"
        ]
    );
    // Nothing was stored.
    let list = app.get(&app.admin_key, "/api/bots").await;
    assert_eq!(list.body["bots"], json!([]));
}

#[tokio::test]
async fn a_join_time_far_in_the_past_is_refused_and_a_little_late_one_joins_now() {
    let app = TestApp::spawn().await;
    let now = app.state.now();
    let late = (now - chrono::Duration::minutes(3)).to_rfc3339();
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": "https://zoom.us/j/123456789", "joinAt": late}),
        )
        .await;
    assert_eq!(bot["status"], "QUEUED", "{bot}");
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "joinAt": "2020-01-01T09:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["joinAt"]);
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "in_the_past");
}

#[tokio::test]
async fn wrong_types_and_unknown_fields_name_the_field() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "automaticLeave": {"maxDurationSecs": "long"}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), vec!["automaticLeave.maxDurationSecs"]);

    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "botname": "typo"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("botname"));

    // Every unknown field at once, nested ones with their path, not just the first.
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "botname": "typo", "recordingmode": "video",
                   "automaticLeave": {"maxDuration": 5}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let mut fields = r.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        ["automaticLeave.maxDuration", "botname", "recordingmode"],
        "{}",
        r.body
    );
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "unknown_field");
    // An unknown field beside a wrong type: the unknown ones are named first, then fixed.
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "extra": 1}),
        )
        .await;
    assert_eq!(r.error_fields(), ["extra"]);

    let r = app.post(&app.admin_key, "/api/bots", json!([1, 2])).await;
    assert_eq!(r.status, 422);
    let r = app.post(&app.admin_key, "/api/bots", json!({"meetingUrl": 5})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), vec!["meetingUrl"]);
}

#[tokio::test]
async fn metadata_over_16kb_is_rejected() {
    let app = TestApp::spawn().await;
    let big = "x".repeat(16 * 1024);
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "metadata": {"k": big}}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.body["error"]["details"]["fields"][0]["code"], "too_large");
}

#[tokio::test]
async fn list_is_newest_first_with_cursor_pagination_and_filters() {
    let app = TestApp::spawn().await;
    let mut ids = Vec::new();
    for i in 0..5 {
        let url = if i % 2 == 0 {
            "https://zoom.us/j/123456789"
        } else {
            "meet.google.com/abc-defg-hij"
        };
        ids.push(
            app.create_bot(&app.admin_key, json!({"meetingUrl": url})).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    let next_week = (chrono::Utc::now() + chrono::Duration::days(7)).to_rfc3339();
    app.create_bot(
        &app.admin_key,
        json!({"meetingUrl": "https://zoom.us/j/123456789", "joinAt": next_week}),
    )
    .await;
    ids.push(String::new()); // placeholder for the scheduled one, newest

    let page1 = app.get(&app.admin_key, "/api/bots?limit=2").await;
    assert_eq!(page1.status, 200);
    let got: Vec<&str> = page1.body["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(got[1], ids[4]);
    let cursor = page1.body["nextCursor"].as_str().unwrap().to_string();
    let page2 = app
        .get(&app.admin_key, &format!("/api/bots?limit=2&cursor={cursor}"))
        .await;
    let got2: Vec<&str> = page2.body["bots"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(got2, vec![ids[3].as_str(), ids[2].as_str()]);
    let page3 = app
        .get(
            &app.admin_key,
            &format!(
                "/api/bots?limit=2&cursor={}",
                page2.body["nextCursor"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(page3.body["bots"].as_array().unwrap().len(), 2);
    assert_eq!(page3.body["nextCursor"], Value::Null);

    let zoom = app.get(&app.admin_key, "/api/bots?platform=zoom").await;
    assert_eq!(zoom.body["bots"].as_array().unwrap().len(), 4);
    let scheduled = app.get(&app.admin_key, "/api/bots?status=SCHEDULED").await;
    assert_eq!(scheduled.body["bots"].as_array().unwrap().len(), 1);
    let both = app.get(&app.admin_key, "/api/bots?status=SCHEDULED,queued").await;
    assert_eq!(both.body["bots"].as_array().unwrap().len(), 6);
    let future = app
        .get(&app.admin_key, "/api/bots?createdAfter=2099-01-01T00:00:00Z")
        .await;
    assert_eq!(future.body["bots"], json!([]));
    let past = app
        .get(&app.admin_key, "/api/bots?createdAfter=2000-01-01T00:00:00%2B01:00")
        .await;
    assert_eq!(past.body["bots"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn list_rejects_bad_parameters() {
    let app = TestApp::spawn().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=abc", "limit"),
        ("status=DONE", "status"),
        ("platform=webex", "platform"),
        ("createdAfter=yesterday", "createdAfter"),
        ("cursor=zzz", "cursor"),
    ] {
        let r = app.get(&app.admin_key, &format!("/api/bots?{query}")).await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.error_fields(), vec![field], "{query}");
    }
    let r = app.get(&app.admin_key, "/api/bots?colour=red").await;
    assert_eq!(r.status, 422);
}

#[tokio::test]
async fn other_accounts_bots_are_invisible() {
    let app = TestApp::spawn().await;
    let (_, alice) = app.member("alice").await;
    let (_, bob) = app.member("bob").await;
    let bot = app
        .create_bot(&alice, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let id = bot["id"].as_str().unwrap();
    let path = format!("/api/bots/{id}");

    let r = app.get(&bob, &path).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    assert_eq!(app.delete(&bob, &path).await.status, 404);
    assert_eq!(app.get(&bob, "/api/bots").await.body["bots"], json!([]));
    // Admins of another account do not see it in their list either.
    assert_eq!(app.get(&app.admin_key, "/api/bots").await.body["bots"], json!([]));
    assert_eq!(app.get(&alice, &path).await.status, 200);
}

#[tokio::test]
async fn delete_removes_the_bot_and_its_history() {
    let app = TestApp::spawn().await;
    let bot = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let path = format!("/api/bots/{}", bot["id"].as_str().unwrap());
    let r = app.delete(&app.admin_key, &path).await;
    assert_eq!(r.status, 204);
    assert_eq!(app.get(&app.admin_key, &path).await.status, 404);
    assert_eq!(app.delete(&app.admin_key, &path).await.status, 404);
    let left: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bot_status_changes")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(left.0, 0);
    assert_eq!(app.get(&app.admin_key, "/api/bots/not-a-uuid").await.status, 404);
    assert_eq!(app.delete(&app.admin_key, "/api/bots/not-a-uuid").await.status, 404);
}

#[tokio::test]
async fn deduplication_key_returns_the_live_bot() {
    let app = TestApp::spawn().await;
    let body = json!({"meetingUrl": "https://zoom.us/j/123456789", "deduplicationKey": "cal-event-7"});
    let first = app.post(&app.admin_key, "/api/bots", body.clone()).await;
    assert_eq!(first.status, 201);
    let second = app.post(&app.admin_key, "/api/bots", body.clone()).await;
    assert_eq!(second.status, 200);
    assert_eq!(second.body["id"], first.body["id"]);

    // Other accounts have their own key space.
    let (_, other) = app.member("other").await;
    assert_eq!(app.post(&other, "/api/bots", body.clone()).await.status, 201);

    // Once the bot is terminal the key is free again.
    app.sql(&format!(
        "UPDATE bots SET status = 'ENDED' WHERE id = '{}'",
        first.body["id"].as_str().unwrap()
    ))
    .await;
    let third = app.post(&app.admin_key, "/api/bots", body).await;
    assert_eq!(third.status, 201);
    assert_ne!(third.body["id"], first.body["id"]);
}

#[tokio::test]
async fn concurrent_creates_with_one_deduplication_key_make_one_bot() {
    let app = TestApp::spawn().await;
    let body = json!({"meetingUrl": "https://zoom.us/j/123456789", "deduplicationKey": "race"});
    let results = futures::future::join_all((0..12).map(|_| app.post(&app.admin_key, "/api/bots", body.clone()))).await;
    let created = results.iter().filter(|r| r.status == 201).count();
    assert_eq!(created, 1, "exactly one create wins");
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 1, "every caller sees the same bot");
    assert!(results.iter().all(|r| r.status == 200 || r.status == 201));
}

#[tokio::test]
async fn the_servers_own_test_meetings_are_served_and_accepted_unless_disabled() {
    let app = crate::support::TestApp::spawn().await;
    let url = format!("{}/_test/meeting/meet/abc-defg-hij", app.base);
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains(r#"aria-label="Your name""#),
        "the Meet look-alike is served"
    );
    let r = app
        .post(&app.admin_key, "/api/bots", serde_json::json!({"meetingUrl": url}))
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["platform"], "google_meet");
    let teams = format!("{}/_test/meeting/teams/19-meeting-abc", app.base);
    let page = reqwest::get(&teams).await.unwrap().text().await.unwrap();
    assert!(
        page.contains("prejoin-display-name-input"),
        "the Teams look-alike is served"
    );
    let r = app
        .post(&app.admin_key, "/api/bots", serde_json::json!({"meetingUrl": teams}))
        .await;
    assert_eq!(r.body["platform"], "microsoft_teams", "{}", r.body);
    let zoom = format!("{}/_test/meeting/zoom/81234567890", app.base);
    let page = reqwest::get(&zoom).await.unwrap().text().await.unwrap();
    assert!(page.contains("input-for-name"), "the Zoom look-alike is served");
    // Another origin's /_test/ path is not a meeting.
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            serde_json::json!({"meetingUrl": "http://203.0.113.9/_test/meeting/meet/abc-defg-hij"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);

    let off = crate::support::TestApp::spawn_full(|c| c.test_meetings = false, |_| {}).await;
    let url = format!("{}/_test/meeting/meet/abc-defg-hij", off.base);
    assert_eq!(reqwest::get(&url).await.unwrap().status(), 404);
    let r = off
        .post(&off.admin_key, "/api/bots", serde_json::json!({"meetingUrl": url}))
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(
        r.body["error"]["details"]["fields"][0]["code"], "unsupported_meeting_url",
        "{}",
        r.body
    );
}

/// A bot's own `webhookUrl` meets the rule registered endpoints meet — at creation, not only
/// at delivery — and is reported with every other field problem.
#[tokio::test]
async fn a_bots_private_webhook_url_is_refused_at_creation() {
    let app = TestApp::spawn().await;
    for url in [
        "http://127.0.0.1:9/h",
        "http://localhost./h",
        "http://[64:ff9b::7f00:1]/h",
        "http://10.1.2.3/h",
    ] {
        let r = app
            .post(
                &app.admin_key,
                "/api/bots",
                json!({"meetingUrl": "https://zoom.us/j/123456789", "webhookUrl": url}),
            )
            .await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(r.error_fields(), vec!["webhookUrl"], "{url}");
        let field = &r.body["error"]["details"]["fields"][0];
        assert_eq!(field["code"], "private_target", "{url}");
        assert!(
            field["message"].as_str().unwrap().contains("WEBHOOK_ALLOW_PRIVATE"),
            "{}",
            r.body
        );
    }
    // Reported together with the other problems.
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/pricing", "webhookUrl": "http://127.0.0.1/h"}),
        )
        .await;
    assert_eq!(r.error_fields(), vec!["meetingUrl", "webhookUrl"]);
    assert_eq!(app.get(&app.admin_key, "/api/bots").await.body["bots"], json!([]));

    // Allowed when the operator says so.
    let open = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let ok = open
        .post(
            &open.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789", "webhookUrl": "http://127.0.0.1:9/h"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
}

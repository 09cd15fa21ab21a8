//! Media through the API: screenshots and recording chunks uploaded with a bot token,
//! assembled into one recording, downloaded through URLs that expire — on the filesystem
//! backend and on S3 (a real s3s-fs).

use crate::support::TestApp;
use meeboter_storage::testing::{S3Peer, SECRET_KEY};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn chunk(part: u32, seq: u32, bytes: &[u8]) -> Value {
    json!({"part": part, "seq": seq, "sizeBytes": bytes.len(), "sha256": sha(bytes), "durationMs": if seq == 0 { 0 } else { 6000 }, "contentType": "video/mp4"})
}

/// What the bot does per chunk: ask, upload where told, confirm.
async fn upload_chunk(app: &TestApp, token: &str, part: u32, seq: u32, bytes: &[u8]) {
    let ask = app
        .bot(token, Method::POST, "/recording/chunks", Some(chunk(part, seq, bytes)))
        .await;
    assert_eq!(ask.status, 200, "{}", ask.body);
    if let Some(upload) = ask.body["upload"].as_object() {
        let mut req = app.client.put(upload["url"].as_str().unwrap()).body(bytes.to_vec());
        for (k, v) in upload["headers"].as_object().unwrap() {
            req = req.header(k, v.as_str().unwrap());
        }
        if upload["auth"] == "bot_token" {
            req = req.bearer_auth(token);
        }
        let res = req.send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    }
    let done = app
        .bot(
            token,
            Method::POST,
            "/recording/chunks/complete",
            Some(chunk(part, seq, bytes)),
        )
        .await;
    assert_eq!(done.status, 204, "{}", done.body);
}

async fn media_pass(app: &TestApp) -> meeboter_server::media::MediaReport {
    meeboter_server::media::run_once(&app.state, "test-holder")
        .await
        .unwrap()
}

/// Chunks in, one recording out, with its metadata, URL and Range support.
async fn recording_round_trip(app: &TestApp) {
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "webhookUrl": "https://93.184.216.34/meeboter"}))
        .await;
    app.report(&token, "JOINING_CALL", None).await;
    app.report(&token, "IN_CALL", None).await;
    let init = b"init-segment".repeat(10);
    let segs: Vec<Vec<u8>> = (1..=3)
        .map(|n| format!("media-{n}-").repeat(500).into_bytes())
        .collect();
    upload_chunk(app, &token, 1, 0, &init).await;
    for (n, s) in segs.iter().enumerate() {
        upload_chunk(app, &token, 1, n as u32 + 1, s).await;
    }
    // Asking again for a stored chunk: nothing to upload. Different content: refused.
    let again = app
        .bot(&token, Method::POST, "/recording/chunks", Some(chunk(1, 1, &segs[0])))
        .await;
    assert_eq!((again.status.as_u16(), &again.body["upload"]), (200, &Value::Null));
    let other = app
        .bot(
            &token,
            Method::POST,
            "/recording/chunks",
            Some(chunk(1, 1, b"other bytes")),
        )
        .await;
    assert_eq!(
        (other.status.as_u16(), other.error_code()),
        (409, "chunk_exists".to_string())
    );
    let empty = app
        .bot(&token, Method::POST, "/recording/chunks", Some(chunk(1, 9, b"")))
        .await;
    assert_eq!(empty.status, 422);
    let missing = app
        .bot(
            &token,
            Method::POST,
            "/recording/chunks/complete",
            Some(chunk(1, 8, b"never sent")),
        )
        .await;
    assert_eq!(missing.error_code(), "chunk_missing");

    let pending = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(pending.body["state"], "recording", "{}", pending.body);
    let finish = app
        .bot(
            &token,
            Method::POST,
            "/recording/finish",
            Some(json!({"parts": 1, "mode": "video"})),
        )
        .await;
    assert_eq!(finish.status, 204, "{}", finish.body);
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    assert_eq!(media_pass(app).await.assembled, 1);

    let rec = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(rec.status, 200, "{}", rec.body);
    let expected: Vec<u8> = [init.clone(), segs.concat()].concat();
    assert_eq!(rec.body["state"], "ready");
    assert_eq!(rec.body["format"], "mp4");
    assert_eq!(rec.body["sizeBytes"], expected.len());
    assert_eq!(rec.body["sha256"], sha(&expected));
    assert_eq!(rec.body["durationSecs"], 18.0);
    assert_eq!(rec.body["segments"].as_array().unwrap().len(), 1);
    let url = rec.body["url"].as_str().unwrap();
    let whole = app.client.get(url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(whole.bytes().await.unwrap().to_vec(), expected);
    let part = app.client.get(url).header("range", "bytes=5-14").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.bytes().await.unwrap().to_vec(), expected[5..15].to_vec());
    // The chunks are gone once the recording is assembled.
    let mut conn = app.db.pool().acquire().await.unwrap();
    assert!(
        meeboter_db::media::list(&mut conn, &id, "chunk")
            .await
            .unwrap()
            .is_empty()
    );
    // And `bot.recording_ready` went out with the metadata.
    let sql =
        format!("SELECT payload FROM webhook_deliveries WHERE event_type = 'bot.recording_ready' AND bot_id = '{id}'");
    let payloads: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    assert_eq!(payloads.len(), 1, "one bot.recording_ready");
    assert!(payloads[0].contains(&sha(&expected)), "{}", payloads[0]);
}

#[tokio::test]
async fn a_recording_is_uploaded_in_chunks_and_assembled_on_the_filesystem() {
    let app = TestApp::spawn().await;
    recording_round_trip(&app).await;
}

#[tokio::test]
async fn a_recording_is_uploaded_through_presigned_urls_and_assembled_on_s3() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("s3");
    std::fs::create_dir(&data).unwrap();
    let peer = S3Peer::start(data, dir.path().join("s3s-fs.log")).await;
    let settings = peer.settings(SECRET_KEY);
    let app = TestApp::spawn_with(|c| c.storage = settings).await;
    recording_round_trip(&app).await;
    // The URLs handed out are S3's own, presigned.
    let (_, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    let ask = app
        .bot(&token, Method::POST, "/recording/chunks", Some(chunk(1, 0, b"x")))
        .await;
    let url = ask.body["upload"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&peer.endpoint()) && url.contains("X-Amz-Signature"),
        "{url}"
    );
    assert_eq!(ask.body["upload"]["auth"], "none");
}

#[tokio::test]
async fn a_bot_that_dies_mid_meeting_keeps_what_it_uploaded() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    app.report(&token, "JOINING_CALL", None).await;
    app.report(&token, "IN_CALL", None).await;
    upload_chunk(&app, &token, 1, 0, b"init").await;
    upload_chunk(&app, &token, 1, 1, b"first ten seconds").await;
    // The bot is killed: it never says it finished; the platform reports it gone.
    app.report(&token, "FATAL", Some("browser_crashed")).await;
    assert_eq!(media_pass(&app).await.assembled, 0, "late uploads get a grace period");
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(media_pass(&app).await.assembled, 1);
    let rec = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(rec.body["state"], "ready");
    assert_eq!(rec.body["sizeBytes"], 4 + 17);
}

#[tokio::test]
async fn a_corrupt_upload_is_refused_and_good_data_is_never_replaced() {
    let app = TestApp::spawn().await;
    let (_, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    let good = b"good bytes".to_vec();
    let ask = app
        .bot(&token, Method::POST, "/recording/chunks", Some(chunk(1, 1, &good)))
        .await;
    let url = ask.body["upload"]["url"].as_str().unwrap().to_string();
    // Bytes that do not match the declared hash: refused, nothing recorded.
    let bad = app
        .client
        .put(&url)
        .bearer_auth(&token)
        .body("evil bytes")
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 422);
    let complete = app
        .bot(
            &token,
            Method::POST,
            "/recording/chunks/complete",
            Some(chunk(1, 1, &good)),
        )
        .await;
    assert_eq!(complete.error_code(), "chunk_missing");
    // The right bytes, then a retry of the same upload: harmless.
    upload_chunk(&app, &token, 1, 1, &good).await;
    let retry = app
        .client
        .put(&url)
        .bearer_auth(&token)
        .body(good.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(retry.status(), 200);
    // Without a token, or with a user key: refused.
    let anonymous = app.client.put(&url).body(good.clone()).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn screenshots_are_listed_per_account_and_their_urls_expire() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    let jpeg = [0xffu8, 0xd8, 0xff, 0xe0, 1, 2, 3, 4];
    let res = app
        .client
        .post(format!("{}/api/bot/v1/screenshots?kind=in_call", app.base))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(jpeg.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let wrong_type = app
        .client
        .post(format!("{}/api/bot/v1/screenshots?kind=in_call", app.base))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("hi")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_type.status(), 415);

    let list = app.get(&app.admin_key, &format!("/api/bots/{id}/screenshots")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let shot = &list.body["screenshots"][0];
    assert_eq!(shot["kind"], "in_call");
    let url = shot["url"].as_str().unwrap().to_string();
    let got = app.client.get(&url).send().await.unwrap();
    assert_eq!(got.headers()["content-type"], "image/jpeg");
    assert_eq!(got.bytes().await.unwrap().to_vec(), jpeg.to_vec());
    // A tampered URL, another account, a bot token: refused.
    let tampered = app.client.get(url.replace("in_call", "failure")).send().await.unwrap();
    assert_eq!(tampered.status(), 403);
    let (_, other_key) = app.member("other").await;
    assert_eq!(
        app.get(&other_key, &format!("/api/bots/{id}/screenshots")).await.status,
        404
    );
    assert_eq!(
        app.get(&token, &format!("/api/bots/{id}/screenshots")).await.status,
        401
    );
    // After MEDIA_URL_TTL_SECS the URL no longer works.
    app.clock.advance(chrono::Duration::seconds(3601));
    let expired = app.client.get(&url).send().await.unwrap();
    assert_eq!(expired.status(), 403);
}

#[tokio::test]
async fn retention_deletes_old_media_and_says_so_on_the_bot() {
    let app = TestApp::spawn_with(|c| c.recording_retention_days = Some(1)).await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    upload_chunk(&app, &token, 1, 0, b"init").await;
    upload_chunk(&app, &token, 1, 1, b"media").await;
    let finish = app
        .bot(
            &token,
            Method::POST,
            "/recording/finish",
            Some(json!({"parts": 1, "mode": "video"})),
        )
        .await;
    assert_eq!(finish.status, 204);
    assert_eq!(media_pass(&app).await.assembled, 1);
    app.clock.advance(chrono::Duration::days(2));
    assert_eq!(media_pass(&app).await.expired, 1);
    let rec = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(rec.body["state"], "expired", "{}", rec.body);
    assert!(rec.body["url"].is_null());
    let left = app.state.storage.list(&format!("bots/{id}/")).await.unwrap();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test]
async fn a_bot_without_recording_has_no_recording() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "recordingMode": "none"}))
        .await;
    let r = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(r.status, 404);
    let ask = app
        .bot(&token, Method::POST, "/recording/chunks", Some(chunk(1, 0, b"x")))
        .await;
    assert_eq!(ask.error_code(), "not_recording");
}

#[tokio::test]
async fn log_lines_are_archived_as_gzipped_json_lines_once_the_bot_has_ended() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    let lines = json!({"events": [
        {"type": "log", "level": "INFO", "message": "opening the meeting"},
        {"type": "log", "level": "WARN", "message": "could not post a chat message"},
    ]});
    assert_eq!(app.bot(&token, Method::POST, "/events", Some(lines)).await.status, 200);
    app.report(&token, "FATAL", Some("browser_crashed")).await;
    // A late line is still taken (the bot's queue drains after its final status)...
    let late = json!({"events": [{"type": "log", "level": "INFO", "message": "bot finished"}]});
    assert_eq!(
        app.bot(&token, Method::POST, "/events", Some(late.clone()))
            .await
            .status,
        200
    );
    let not_yet = app.get(&app.admin_key, &format!("/api/bots/{id}/logs")).await;
    assert_eq!(not_yet.status, 404);
    // ...until the grace is over; then the lines are archived.
    app.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(app.bot(&token, Method::POST, "/events", Some(late)).await.status, 401);
    assert_eq!(media_pass(&app).await.logs_archived, 1);
    let logs = app.get(&app.admin_key, &format!("/api/bots/{id}/logs")).await;
    assert_eq!(logs.status, 200, "{}", logs.body);
    let gz = app
        .client
        .get(logs.body["url"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz[..]), &mut text).unwrap();
    let messages: Vec<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        messages,
        ["opening the meeting", "could not post a chat message", "bot finished"]
    );
    assert_eq!(media_pass(&app).await.logs_archived, 0, "archived once");
}

async fn recording_ready_payloads(app: &TestApp, id: &str) -> Vec<Value> {
    let sql =
        format!("SELECT payload FROM webhook_deliveries WHERE event_type = 'bot.recording_ready' AND bot_id = '{id}'");
    let payloads: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_all(app.db.pool())
        .await
        .unwrap();
    payloads.iter().map(|p| serde_json::from_str(p).unwrap()).collect()
}

/// Storage was down while the bot left: it says its recording is incomplete and what is
/// missing; the server assembles what arrived and marks it `partial`, in the API and in
/// the webhook.
#[tokio::test]
async fn a_recording_the_bot_could_not_finish_is_partial_with_the_missing_span() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "webhookUrl": "https://93.184.216.34/meeboter"}))
        .await;
    let config = app.bot(&token, Method::GET, "/config", None).await;
    assert_eq!(config.body["stopGraceSecs"], 30, "{}", config.body);
    app.report(&token, "IN_CALL", None).await;
    upload_chunk(&app, &token, 1, 0, b"init").await;
    for seq in 1..=6 {
        upload_chunk(&app, &token, 1, seq, format!("six seconds {seq}").as_bytes()).await;
    }
    // Refused: a span that ends before it starts.
    let bad = app
        .bot(
            &token,
            Method::POST,
            "/recording/finish",
            Some(json!({"parts": 1, "mode": "video", "complete": false,
                "missing": [{"part": 1, "fromSeq": 9, "toSeq": 7}]})),
        )
        .await;
    assert_eq!(
        (bad.status.as_u16(), bad.error_code()),
        (422, "validation_failed".to_string()),
        "{}",
        bad.body
    );
    let finish = app
        .bot(
            &token,
            Method::POST,
            "/recording/finish",
            Some(json!({"parts": 1, "mode": "video", "complete": false,
                "missing": [{"part": 1, "fromSeq": 7, "toSeq": 10, "startMs": 36000, "durationMs": 24000}]})),
        )
        .await;
    assert_eq!(finish.status, 204, "{}", finish.body);
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    assert_eq!(media_pass(&app).await.assembled, 1);
    let rec = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(rec.body["state"], "partial", "{}", rec.body);
    assert_eq!(rec.body["complete"], false);
    assert_eq!(rec.body["durationSecs"], 36.0);
    assert_eq!(rec.body["missingSecs"], 24.0);
    let span = json!({"part": 1, "fromSeq": 7, "toSeq": 10, "startSecs": 36.0, "durationSecs": 24.0});
    assert_eq!(rec.body["missing"], json!([span]));
    // What arrived plays: it is downloadable like a ready recording.
    let url = rec.body["url"].as_str().expect("a partial recording has a URL");
    let body = app.client.get(url).send().await.unwrap();
    assert_eq!(body.status(), 200);
    let payloads = recording_ready_payloads(&app, &id).await;
    assert_eq!(payloads.len(), 1);
    let data = &payloads[0]["data"];
    assert_eq!(data["complete"], false, "{}", payloads[0]);
    assert_eq!(data["missing"], json!([span]));
    assert_eq!(data["missingSecs"], 24.0);
}

/// A bot that died without saying `finish` and whose chunks have holes: `partial`, the holes
/// named (their length unknown). One that says nothing about completeness and has no
/// holes (an older bot): `ready` as before, `complete: true`.
#[tokio::test]
async fn holes_in_the_chunks_make_a_recording_partial_and_old_bots_stay_ready() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "webhookUrl": "https://93.184.216.34/meeboter"}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    upload_chunk(&app, &token, 1, 0, b"init").await;
    upload_chunk(&app, &token, 1, 1, b"first").await;
    upload_chunk(&app, &token, 1, 3, b"third").await;
    upload_chunk(&app, &token, 3, 0, b"init").await;
    upload_chunk(&app, &token, 3, 1, b"again").await;
    app.report(&token, "FATAL", Some("browser_crashed")).await;
    app.clock.advance(chrono::Duration::seconds(61));
    assert_eq!(media_pass(&app).await.assembled, 1);
    let rec = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(rec.body["state"], "partial", "{}", rec.body);
    assert_eq!(rec.body["complete"], false);
    assert_eq!(
        rec.body["missing"],
        json!([
            {"part": 1, "fromSeq": 2, "toSeq": 2, "startSecs": null, "durationSecs": null},
            {"part": 2, "fromSeq": 0, "toSeq": null, "startSecs": null, "durationSecs": null},
        ])
    );
    assert_eq!(
        rec.body["segments"].as_array().unwrap().len(),
        2,
        "what arrived is assembled"
    );
    let payloads = recording_ready_payloads(&app, &id).await;
    assert_eq!(payloads[0]["data"]["complete"], false);

    let (old, token) = app
        .deployed_bot(json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    upload_chunk(&app, &token, 1, 0, b"init").await;
    upload_chunk(&app, &token, 1, 1, b"first").await;
    let finish = app
        .bot(
            &token,
            Method::POST,
            "/recording/finish",
            Some(json!({"parts": 1, "mode": "video"})),
        )
        .await;
    assert_eq!(finish.status, 204);
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    assert_eq!(media_pass(&app).await.assembled, 1);
    let rec = app.get(&app.admin_key, &format!("/api/bots/{old}/recording")).await;
    assert_eq!(rec.body["state"], "ready", "{}", rec.body);
    assert_eq!(
        (rec.body["complete"].clone(), rec.body["missing"].clone()),
        (json!(true), json!([]))
    );
}

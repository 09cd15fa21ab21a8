//! Transcription: the create option, caption ingest, the transcript API and its states.

use crate::support::TestApp;
use meeboter_server::config::OpenAiTranscription;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

const ZOOM: &str = "https://zoom.us/j/123456789";

fn with_openai(c: &mut meeboter_server::config::Config) {
    c.transcription.openai = Some(OpenAiTranscription {
        url: "http://127.0.0.1:9".into(),
        api_key: None,
        model: "whisper-1".into(),
    });
}

async fn deliveries(app: &TestApp, event_type: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

async fn events(app: &TestApp, token: &str, list: Value) -> Value {
    let r = app.bot(token, Method::POST, "/events", Some(json!({"events": list}))).await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn create_validates_the_transcription_option() {
    let app = TestApp::spawn().await;
    let post = |t: Value| app.post(&app.admin_key, "/api/bots", json!({"meetingUrl": ZOOM, "transcription": t}));

    let r = post(json!({"provider": "openai"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["transcription.provider"]);
    assert!(r.body.to_string().contains("TRANSCRIPTION_OPENAI_URL"), "{}", r.body);
    let r = post(json!({"provider": "deepgram"})).await;
    assert_eq!(r.status, 422);
    assert!(r.body.to_string().contains("DEEPGRAM_API_KEY"), "{}", r.body);
    let r = post(json!({"provider": "whisperx", "language": "klingon"})).await;
    assert_eq!(r.error_fields(), ["transcription.provider", "transcription.language"]);
    let r = post(json!({"provider": "meeting_captions", "language": "xx"})).await;
    assert_eq!(r.error_fields(), ["transcription.language"]);
    let r = post(json!({"provider": "meeting_captions", "extra": 1})).await;
    assert_eq!(r.status, 422, "{}", r.body);

    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": ZOOM, "transcription": {"provider": "meeting_captions", "language": "en-us"}}),
        )
        .await;
    assert_eq!(
        bot["transcription"],
        json!({"provider": "meeting_captions", "language": "en-US", "realtime": true})
    );
    let plain = app.create_bot(&app.admin_key, json!({"meetingUrl": ZOOM})).await;
    assert_eq!(plain["transcription"], Value::Null);
    let t = app
        .get(&app.admin_key, &format!("/api/bots/{}/transcript", plain["id"].as_str().unwrap()))
        .await;
    assert_eq!(t.status, 200);
    assert_eq!(t.body["state"], "none");
    assert_eq!(t.body["provider"], Value::Null);

    // Configured: openai is accepted, but needs a recording and is not real time yet.
    let app = TestApp::spawn_with(with_openai).await;
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "recordingMode": "none", "transcription": {"provider": "openai", "realtime": true}}),
        )
        .await;
    assert_eq!(r.error_fields(), ["transcription.realtime", "transcription.provider"], "{}", r.body);
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "openai", "language": "de"}}),
        )
        .await;
    assert_eq!(bot["transcription"]["realtime"], false);

    // The OpenAPI document describes the endpoint.
    let doc = app.get(&app.admin_key, "/api/openapi.json").await;
    assert!(doc.body["paths"]["/api/bots/{id}/transcript"]["get"].is_object());
}

#[tokio::test]
async fn captions_become_a_live_then_ready_transcript() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let (id, token) = app
        .deployed_bot(json!({
            "meetingUrl": ZOOM,
            "webhookUrl": "http://127.0.0.1:9/hook",
            "transcription": {"provider": "meeting_captions"}
        }))
        .await;
    let config = app.bot(&token, Method::GET, "/config", None).await;
    assert_eq!(
        config.body["transcription"],
        json!({"provider": "meeting_captions", "language": null, "realtime": true})
    );
    app.report(&token, "IN_CALL", None).await;
    let t0 = app.state.now().timestamp_millis();
    let caption = |id: &str, text: &str, fin: bool, start: i64, end: i64| {
        json!({"type": "caption", "captionId": id, "speaker": "Ada Lovelace", "participantId": "p1",
               "text": text, "isFinal": fin, "startMs": t0 + start, "endMs": t0 + end})
    };
    let ack = events(
        &app,
        &token,
        json!([
            {"type": "active_speaker", "participantId": "p1", "name": "Ada Lovelace", "speaking": true, "at": t0 + 1000},
            caption("c1", "Hello", false, 1500, 2000),
            caption("c1", "Hello every", false, 1500, 2500),
        ]),
    )
    .await;
    assert_eq!(ack["ignored"], 0, "{ack}");
    let path = format!("/api/bots/{id}/transcript");
    let live = app.get(&app.admin_key, &path).await;
    assert_eq!(live.body["state"], "live", "{}", live.body);
    assert_eq!(live.body["source"], "meeting_captions");
    assert_eq!(live.body["utterances"][0]["text"], "Hello every");
    assert_eq!(live.body["utterances"][0]["isFinal"], false);
    assert_eq!(live.body["utterances"][0]["startMs"], 1500);

    let ack = events(
        &app,
        &token,
        json!([
            caption("c1", "Hello everyone.", true, 1500, 3000),
            caption("c1", "Hello every", false, 1500, 2500), // late partial: never replaces a final line
            caption("", "no id", true, 0, 1),
            {"type": "caption", "captionId": "c2", "speaker": "Charles Babbage", "participantId": null,
             "text": "Good   morning", "isFinal": false, "startMs": t0 + 65_000, "endMs": t0 + 66_000},
        ]),
    )
    .await;
    assert_eq!(ack["ignored"], 2, "{ack}");
    let page = app.get(&app.admin_key, &format!("{path}?limit=1")).await;
    assert_eq!(page.body["utterances"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["utterances"][0]["text"], "Hello everyone.");
    assert_eq!(page.body["utterances"][0]["endMs"], 3000);
    let cursor = page.body["nextCursor"].as_str().unwrap().to_string();
    let next = app.get(&app.admin_key, &format!("{path}?limit=1&cursor={cursor}")).await;
    assert_eq!(next.body["utterances"][0]["text"], "Good   morning");
    assert_eq!(next.body["nextCursor"], Value::Null);
    for q in ["?format=pdf", "?limit=0", "?cursor=nope", "?bogus=1"] {
        let r = app.get(&app.admin_key, &format!("{path}{q}")).await;
        assert_eq!(r.status, 422, "{q}: {}", r.body);
    }

    // SSE/event names and webhooks: finals are transcript.data + bot.transcript_data.
    let list = app.get(&app.admin_key, &format!("/api/bots/{id}/events?limit=100")).await;
    let types: Vec<&str> = list.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types.iter().filter(|t| **t == "transcript.partial").count(), 3, "{types:?}");
    assert_eq!(types.iter().filter(|t| **t == "transcript.data").count(), 1, "{types:?}");
    let speaker = list.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "active_speaker")
        .unwrap();
    assert_eq!(speaker["data"]["speaking"], true);
    assert_eq!(speaker["data"]["callMs"], 1000);
    assert_eq!(deliveries(&app, "bot.transcript_data").await, 1);

    // The end: remaining partial lines are kept, the transcript is ready, announced once.
    app.report(&token, "ENDED", None).await;
    let ready = app.get(&app.admin_key, &path).await;
    assert_eq!(ready.body["state"], "ready");
    assert!(ready.body["utterances"].as_array().unwrap().iter().all(|u| u["isFinal"] == true));
    assert_eq!(deliveries(&app, "bot.transcript_ready").await, 1);
    // Captions after the end are ignored (late-delivery rule).
    let ack = events(&app, &token, json!([caption("c3", "too late", true, 70_000, 71_000)])).await;
    assert_eq!(ack["ignored"], 1);

    let txt = app
        .client
        .get(format!("{}{path}?format=txt", app.base))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(txt.headers()["content-type"], "text/plain; charset=utf-8");
    assert_eq!(
        txt.text().await.unwrap(),
        "[00:00:01] Ada Lovelace: Hello everyone.\n[00:01:05] Charles Babbage: Good morning\n"
    );
    for (format, ctype, start) in [
        ("srt", "application/x-subrip; charset=utf-8", "1\n00:00:01,500 --> 00:00:03,000\nAda Lovelace: Hello everyone.\n"),
        ("vtt", "text/vtt; charset=utf-8", "WEBVTT\n\n00:00:01.500 --> 00:00:03.000\n<v Ada Lovelace>Hello everyone.\n"),
    ] {
        let r = app
            .client
            .get(format!("{}{path}?format={format}", app.base))
            .bearer_auth(&app.admin_key)
            .send()
            .await
            .unwrap();
        assert_eq!(r.headers()["content-type"], ctype);
        let body = r.text().await.unwrap();
        assert!(body.starts_with(start), "{format}: {body}");
    }

    // Another account sees nothing; deleting the bot removes the transcript.
    let (_, other) = app.member("other").await;
    assert_eq!(app.get(&other, &path).await.status, 404);
    assert_eq!(app.delete(&app.admin_key, &format!("/api/bots/{id}")).await.status, 204);
    assert_eq!(app.get(&app.admin_key, &path).await.status, 404);
    let left: i64 = sqlx::query("SELECT COUNT(*) FROM transcript_utterances WHERE bot_id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get(0);
    assert_eq!(left, 0);
}

#[tokio::test]
async fn captions_unavailable_falls_back_to_the_audio_provider() {
    let app = TestApp::spawn_with(with_openai).await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "meeting_captions"}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    let ack = events(&app, &token, json!([{"type": "captions_unavailable", "reason": "host_disabled"}])).await;
    assert_eq!(ack["ignored"], 0);
    let path = format!("/api/bots/{id}/transcript");
    let t = app.get(&app.admin_key, &path).await;
    assert!(t.body["error"].as_str().unwrap().contains("host_disabled"), "{}", t.body);
    assert!(t.body["error"].as_str().unwrap().contains("after the call"), "{}", t.body);
    app.report(&token, "ENDED", None).await;
    assert_eq!(app.get(&app.admin_key, &path).await.body["state"], "processing");

    // Without an audio provider: just the note, and the (empty) captions transcript is ready.
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "transcription": {"provider": "meeting_captions"}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    events(&app, &token, json!([{"type": "captions_unavailable", "reason": "no_button"}])).await;
    app.report(&token, "ENDED", None).await;
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.body["state"], "ready");
    assert!(!t.body["error"].as_str().unwrap().contains("after the call"));

    // A bot that never got into the call: failed, with the reason.
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "transcription": {"provider": "meeting_captions"}}))
        .await;
    app.report(&token, "FATAL", Some("meeting_not_found")).await;
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.body["state"], "failed");
    assert_eq!(t.body["error"], "the bot never got into the call");
    // A bot without a caption transcript: captions are ignored.
    let (_, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    let ack = events(
        &app,
        &token,
        json!([{"type": "caption", "captionId": "x", "text": "hi", "isFinal": true, "startMs": 0, "endMs": 1}]),
    )
    .await;
    assert_eq!(ack["ignored"], 1);
}

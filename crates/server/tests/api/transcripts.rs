//! Transcription: the create option, caption ingest, the transcript API and its states.

use crate::support::TestApp;
use meeboter_server::config::OpenAiTranscription;
use reqwest::Method;
use serde_json::{Value, json};
use sqlx::Row;

const ZOOM: &str = "https://zoom.us/j/123456789";

pub(crate) fn with_openai(c: &mut meeboter_server::config::Config) {
    c.transcription.openai = Some(OpenAiTranscription {
        url: "http://127.0.0.1:9".into(),
        api_key: None,
        model: "whisper-1".into(),
    });
}

pub(crate) async fn deliveries(app: &TestApp, event_type: &str) -> i64 {
    sqlx::query("SELECT COUNT(*) FROM webhook_deliveries WHERE event_type = $1")
        .bind(event_type)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get::<i64, _>(0)
}

pub(crate) async fn events(app: &TestApp, token: &str, list: Value) -> Value {
    let r = app
        .bot(token, Method::POST, "/events", Some(json!({"events": list})))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body
}

#[tokio::test]
async fn create_validates_the_transcription_option() {
    let app = TestApp::spawn().await;
    let post = |t: Value| {
        app.post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "transcription": t}),
        )
    };

    let r = post(json!({"provider": "openai"})).await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["transcription.provider"]);
    assert!(r.body.to_string().contains("TRANSCRIPTION_OPENAI_URL"), "{}", r.body);
    let r = post(json!({"provider": "deepgram"})).await;
    assert_eq!(r.status, 422);
    assert!(
        r.body.to_string().contains("TRANSCRIPTION_DEEPGRAM_API_KEY"),
        "{}",
        r.body
    );
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
        .get(
            &app.admin_key,
            &format!("/api/bots/{}/transcript", plain["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(t.status, 200);
    assert_eq!(t.body["state"], "none");
    assert_eq!(t.body["provider"], Value::Null);

    // Configured: openai is accepted (also in real time), but needs a recording.
    let app = TestApp::spawn_with(with_openai).await;
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "recordingMode": "none", "transcription": {"provider": "openai", "realtime": true}}),
        )
        .await;
    assert_eq!(r.error_fields(), ["transcription.provider"], "{}", r.body);
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
            caption("c1", "Hello everyone.", true, 1500, 3000), // resent: nothing fires twice
            caption("", "no id", true, 0, 1),
            {"type": "caption", "captionId": "c2", "speaker": "Charles Babbage", "participantId": null,
             "text": "Good   morning", "isFinal": false, "startMs": t0 + 65_000, "endMs": t0 + 66_000},
        ]),
    )
    .await;
    assert_eq!(ack["ignored"], 3, "{ack}");
    let page = app.get(&app.admin_key, &format!("{path}?limit=1")).await;
    assert_eq!(page.body["utterances"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["utterances"][0]["text"], "Hello everyone.");
    assert_eq!(page.body["utterances"][0]["endMs"], 3000);
    let cursor = page.body["nextCursor"].as_str().unwrap().to_string();
    let next = app
        .get(&app.admin_key, &format!("{path}?limit=1&cursor={cursor}"))
        .await;
    assert_eq!(next.body["utterances"][0]["text"], "Good   morning");
    assert_eq!(next.body["nextCursor"], Value::Null);
    for q in ["?format=pdf", "?limit=0", "?cursor=nope", "?bogus=1"] {
        let r = app.get(&app.admin_key, &format!("{path}{q}")).await;
        assert_eq!(r.status, 422, "{q}: {}", r.body);
    }

    // SSE/event names and webhooks: finals are transcript.data + bot.transcript_data.
    let list = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=100"))
        .await;
    let types: Vec<&str> = list.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "transcript.partial").count(),
        3,
        "{types:?}"
    );
    assert_eq!(
        types.iter().filter(|t| **t == "transcript.data").count(),
        1,
        "{types:?}"
    );
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
    assert!(
        ready.body["utterances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["isFinal"] == true)
    );
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
        (
            "srt",
            "application/x-subrip; charset=utf-8",
            "1\n00:00:01,500 --> 00:00:03,000\nAda Lovelace: Hello everyone.\n",
        ),
        (
            "vtt",
            "text/vtt; charset=utf-8",
            "WEBVTT\n\n00:00:01.500 --> 00:00:03.000\n<v Ada Lovelace>Hello everyone.\n",
        ),
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
        .deployed_bot(
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "meeting_captions"}}),
        )
        .await;
    app.report(&token, "IN_CALL", None).await;
    let ack = events(
        &app,
        &token,
        json!([{"type": "captions_unavailable", "reason": "host_disabled"}]),
    )
    .await;
    assert_eq!(ack["ignored"], 0);
    let path = format!("/api/bots/{id}/transcript");
    let t = app.get(&app.admin_key, &path).await;
    assert!(
        t.body["error"].as_str().unwrap().contains("host_disabled"),
        "{}",
        t.body
    );
    assert!(
        t.body["error"].as_str().unwrap().contains("after the call"),
        "{}",
        t.body
    );
    app.report(&token, "ENDED", None).await;
    assert_eq!(app.get(&app.admin_key, &path).await.body["state"], "processing");

    // Without an audio provider: just the note, and the (empty) captions transcript is ready.
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "transcription": {"provider": "meeting_captions"}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    events(
        &app,
        &token,
        json!([{"type": "captions_unavailable", "reason": "no_button"}]),
    )
    .await;
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

// ---- the audio provider (`openai`) after the call ----

use meeboter_server::transcription_worker::{Report, Tuning, run_once};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub(crate) fn fast() -> Tuning {
    Tuning {
        request_timeout: std::time::Duration::from_secs(120),
        retries: 2,
        backoff: std::time::Duration::from_millis(20),
        max_attempts: 2,
        lease: chrono::Duration::minutes(30),
    }
}

/// Stores `audio` (any ffmpeg input) as the bot's assembled recording.
pub(crate) async fn store_recording(app: &TestApp, bot_id: &str, audio: &std::path::Path, duration_ms: i64) {
    let key = format!("bots/{bot_id}/recordings/recording.mp4");
    let w = app.state.storage.put_file(&key, audio, "audio/mp4").await.unwrap();
    let mut tx = app.db.begin_write().await.unwrap();
    let now = app.state.now();
    meeboter_db::media::insert(
        &mut tx,
        &meeboter_db::media::NewMedia {
            bot_id,
            kind: "recording",
            label: "1",
            storage_key: &key,
            content_type: "audio/mp4",
            size_bytes: w.size as i64,
            sha256: &w.sha256,
            duration_ms: Some(duration_ms),
        },
        now,
    )
    .await
    .unwrap();
    meeboter_db::media::transition(
        &mut tx,
        bot_id,
        &["none", "recording", "finishing"],
        "ready",
        Some("{}"),
        now,
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

/// `secs` of tone as AAC in MP4 (what an audio recording is).
pub(crate) fn tone(dir: &std::path::Path, secs: u32) -> std::path::PathBuf {
    let out = dir.join("tone.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg(format!("sine=frequency=440:duration={secs}"))
        .args(["-c:a", "aac"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    out
}

/// A bot with `openai` transcription that was in the call and ended; its id.
async fn ended_openai_bot(app: &TestApp, speakers: Value) -> String {
    ended_audio_bot(app, json!({"provider": "openai", "language": "en"}), speakers).await
}

/// A recording bot with `transcription` that was in the call, reported the active-speaker
/// marks `speakers` (`[participantId, name, speaking, ms after IN_CALL]`) and ended; its id.
pub(crate) async fn ended_audio_bot(app: &TestApp, transcription: Value, speakers: Value) -> String {
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": transcription}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    let t0 = app.state.now().timestamp_millis();
    let marks: Vec<Value> = speakers
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({"type": "active_speaker", "participantId": m[0], "name": m[1], "speaking": m[2],
                   "at": t0 + m[3].as_i64().unwrap()})
        })
        .collect();
    events(app, &token, Value::Array(marks)).await;
    app.report(&token, "ENDED", None).await;
    id
}

/// A fake OpenAI-compatible endpoint answering from `answers` in turn (last one repeats).
pub(crate) async fn fake_provider(
    answers: Vec<(u16, String)>,
) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<String>>) {
    use axum::routing::post;
    let calls = Arc::new(AtomicUsize::new(0));
    let last_form = Arc::new(std::sync::Mutex::new(String::new()));
    let (c, f) = (calls.clone(), last_form.clone());
    let router = axum::Router::new().route(
        "/v1/audio/transcriptions",
        post(move |body: axum::body::Bytes| {
            let (c, f) = (c.clone(), f.clone());
            let answers = answers.clone();
            async move {
                let n = c.fetch_add(1, Ordering::SeqCst);
                // Keep the form fields (not the audio) for the assertions.
                *f.lock().unwrap() = String::from_utf8_lossy(&body[..body.len().min(2000)]).into_owned();
                let (status, text) = answers[n.min(answers.len() - 1)].clone();
                (axum::http::StatusCode::from_u16(status).unwrap(), text)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, calls, last_form)
}

#[tokio::test]
async fn openai_provider_retries_then_stores_attributed_segments() {
    let segments = json!({"text": "Hello there. General Kenobi.", "segments": [
        {"id": 0, "start": 0.5, "end": 2.0, "text": " Hello there."},
        {"id": 1, "start": 2.5, "end": 4.0, "text": " General Kenobi."},
        {"id": 2, "start": 8.0, "end": 9.0, "text": " Nobody."}
    ]});
    let (url, calls, form) = fake_provider(vec![
        (500, r#"{"error":{"message":"busy"}}"#.into()),
        (200, segments.to_string()),
    ])
    .await;
    let app = TestApp::spawn_with(|c| {
        c.webhook_allow_private = true;
        c.transcription.openai = Some(OpenAiTranscription {
            url: url.clone(),
            api_key: Some("sk-test".into()),
            model: "whisper-1".into(),
        });
    })
    .await;
    let id = ended_openai_bot(
        &app,
        json!([
            ["p1", "Ada", true, 0],
            ["p2", "Obi-Wan", true, 2300],
            ["p2", "Obi-Wan", false, 4500]
        ]),
    )
    .await;
    let path = format!("/api/bots/{id}/transcript");
    assert_eq!(app.get(&app.admin_key, &path).await.body["state"], "processing");
    // Nothing to do while the recording is not assembled.
    assert_eq!(run_once(&app.state, &fast()).await.unwrap(), Report::default());
    let dir = tempfile::tempdir().unwrap();
    store_recording(&app, &id, &tone(dir.path(), 3), 3000).await;
    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(report.ready, 1, "{report:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "500 then 200");
    let form = form.lock().unwrap().clone();
    for field in [
        "name=\"model\"\r\n\r\nwhisper-1",
        "name=\"response_format\"\r\n\r\nverbose_json",
        "name=\"language\"\r\n\r\nen",
        "timestamp_granularities[]",
    ] {
        assert!(form.contains(field), "{field} missing in {form}");
    }
    let t = app.get(&app.admin_key, &path).await;
    assert_eq!(t.body["state"], "ready", "{}", t.body);
    assert_eq!(t.body["source"], "openai");
    let u = t.body["utterances"].as_array().unwrap();
    let got: Vec<(Value, Value, i64)> = u
        .iter()
        .map(|u| (u["speaker"].clone(), u["text"].clone(), u["startMs"].as_i64().unwrap()))
        .collect();
    assert_eq!(
        got,
        [
            (json!("Ada"), json!("Hello there."), 500),
            (json!("Obi-Wan"), json!("General Kenobi."), 2500),
            (Value::Null, json!("Nobody."), 8000),
        ]
    );
    // 4 of 5 words have a speaker.
    assert_eq!(t.body["attributedShare"], 0.8);
    assert_eq!(
        deliveries(&app, "bot.transcript_ready").await,
        0,
        "no webhook endpoint, no bot webhookUrl"
    );
    let evs = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=200"))
        .await;
    assert!(evs.body.to_string().contains("transcript.ready"));
    // Done: nothing more to claim.
    assert_eq!(run_once(&app.state, &fast()).await.unwrap(), Report::default());
}

#[tokio::test]
async fn openai_provider_errors_fail_the_transcript_not_the_bot() {
    let (url, calls, _) = fake_provider(vec![(400, r#"{"error":{"message":"Invalid file format."}}"#.into())]).await;
    let app = TestApp::spawn_with(|c| {
        c.transcription.openai = Some(OpenAiTranscription {
            url: url.clone(),
            api_key: None,
            model: "whisper-1".into(),
        });
    })
    .await;
    let id = ended_openai_bot(&app, json!([])).await;
    let dir = tempfile::tempdir().unwrap();
    store_recording(&app, &id, &tone(dir.path(), 2), 2000).await;
    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(report.failed, 1);
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a 4xx is not retried");
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.body["state"], "failed");
    assert!(
        t.body["error"].as_str().unwrap().contains("Invalid file format."),
        "{}",
        t.body
    );
    let bot = app.bot_resource(&id).await;
    assert_eq!(bot["status"], "ENDED");

    // Garbage with 200, and a provider that stays down: retried, then failed with the reason.
    let (url, calls, _) = fake_provider(vec![(503, "upstream down".into())]).await;
    let app = TestApp::spawn_with(|c| {
        c.transcription.openai = Some(OpenAiTranscription {
            url: url.clone(),
            api_key: None,
            model: "whisper-1".into(),
        });
    })
    .await;
    let id = ended_openai_bot(&app, json!([])).await;
    store_recording(&app, &id, &tone(dir.path(), 2), 2000).await;
    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(report.retry_later, 1, "{report:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 3, "1 + 2 retries");
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.body["state"], "processing");
    assert!(
        t.body["error"].as_str().unwrap().contains("upstream down"),
        "{}",
        t.body
    );
    app.clock.advance(chrono::Duration::minutes(6));
    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(report.failed, 1, "{report:?}");
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.body["state"], "failed");
    assert!(
        t.body["error"]
            .as_str()
            .unwrap()
            .starts_with("gave up after 2 attempts"),
        "{}",
        t.body
    );

    let (url, _, _) = fake_provider(vec![(200, "<html>oops</html>".into())]).await;
    let app = TestApp::spawn_with(|c| {
        c.transcription.openai = Some(OpenAiTranscription {
            url: url.clone(),
            api_key: None,
            model: "whisper-1".into(),
        });
    })
    .await;
    let id = ended_openai_bot(&app, json!([])).await;
    store_recording(&app, &id, &tone(dir.path(), 2), 2000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().failed, 1);
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert!(t.body["error"].as_str().unwrap().contains("not JSON"), "{}", t.body);
}

// ---- the real peer: faster-whisper-server with Whisper tiny.en (offline) ----

/// `MEEBOTER_TEST_WHISPER_BIN` (the `faster-whisper-server` executable) and
/// `MEEBOTER_TEST_WHISPER_MODEL` (the CTranslate2 model directory), exported by
/// `scripts/test`. Unset → this test is skipped (a developer machine without the peer);
/// set → everything it needs must work.
pub(crate) fn whisper_peer() -> Option<(String, String)> {
    match (
        std::env::var("MEEBOTER_TEST_WHISPER_BIN").ok(),
        std::env::var("MEEBOTER_TEST_WHISPER_MODEL").ok(),
    ) {
        (Some(bin), Some(model)) => Some((bin, model)),
        (None, None) => None,
        _ => panic!("set both MEEBOTER_TEST_WHISPER_BIN and MEEBOTER_TEST_WHISPER_MODEL"),
    }
}

pub(crate) struct Whisper {
    child: std::process::Child,
    pub(crate) url: String,
}

impl Drop for Whisper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) async fn start_whisper(bin: &str, model: &str) -> Whisper {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    start_whisper_on(bin, model, port).await
}

/// The peer on a given port (a restart after a kill comes back at the same address).
pub(crate) async fn start_whisper_on(bin: &str, model: &str, port: u16) -> Whisper {
    let child = std::process::Command::new(bin)
        .arg(model)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
    let w = Whisper {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while reqwest::get(format!("{}/health", w.url)).await.is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "faster-whisper-server did not start"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    w
}

/// Two speakers, generated with espeak-ng: a 2 s pause between them.
fn conversation(dir: &std::path::Path) -> (std::path::PathBuf, [&'static str; 2]) {
    let lines = [
        "Good morning everyone. Today we review the budget for the next quarter.",
        "Thank you. The numbers look good and we can hire two more engineers.",
    ];
    for (i, (line, voice)) in lines.iter().zip(["en", "en+m3"]).enumerate() {
        let ok = std::process::Command::new("espeak-ng")
            .args(["-s", "140", "-v", voice, "-w"])
            .arg(dir.join(format!("s{i}.wav")))
            .arg(line)
            .status()
            .expect("espeak-ng (apt-get install espeak-ng)");
        assert!(ok.success());
    }
    let out = dir.join("conversation.mp4");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(dir.join("s0.wav"))
        .arg("-i")
        .arg(dir.join("s1.wav"))
        .args([
            "-filter_complex",
            "[0:a]aresample=16000,apad=pad_dur=2[a];[1:a]aresample=16000[b];[a][b]concat=n=2:v=0:a=1",
            "-c:a",
            "aac",
        ])
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    (out, lines)
}

fn duration_ms(path: &std::path::Path) -> i64 {
    let out = std::process::Command::new("ffprobe")
        .args(["-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .unwrap();
    (String::from_utf8_lossy(&out.stdout).trim().parse::<f64>().unwrap() * 1000.0) as i64
}

#[tokio::test]
async fn openai_provider_against_faster_whisper_server() {
    let Some((bin, model)) = whisper_peer() else {
        eprintln!("skipped: MEEBOTER_TEST_WHISPER_BIN/MODEL not set (scripts/test sets them)");
        return;
    };
    let whisper = start_whisper(&bin, &model).await;
    let dir = tempfile::tempdir().unwrap();
    let (audio, lines) = conversation(dir.path());
    let first_ms = duration_ms(&dir.path().join("s0.wav"));
    let app = TestApp::spawn_with(|c| {
        c.transcription.openai = Some(OpenAiTranscription {
            url: whisper.url.clone(),
            api_key: None,
            model: "whisper-1".into(),
        });
    })
    .await;
    // Ada speaks first; Charles starts in the pause and stops at the end.
    let id = ended_openai_bot(
        &app,
        json!([
            ["p-ada", "Ada Lovelace", true, 0],
            ["p-charles", "Charles Babbage", true, first_ms + 1000],
            ["p-charles", "Charles Babbage", false, first_ms + 60_000]
        ]),
    )
    .await;
    store_recording(&app, &id, &audio, duration_ms(&audio)).await;
    let tuning = Tuning {
        request_timeout: std::time::Duration::from_secs(300),
        ..fast()
    };
    let report = run_once(&app.state, &tuning).await.unwrap();
    assert_eq!(report.ready, 1, "{report:?}");
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.body["state"], "ready", "{}", t.body);
    let u = t.body["utterances"].as_array().unwrap();
    let text: Vec<&str> = u.iter().map(|u| u["text"].as_str().unwrap()).collect();
    let wer = meeboter_core::transcription::word_error_rate(&lines.join(" "), &text.join(" "));
    eprintln!("tiny.en on espeak-ng: WER {wer:.3}; {}", t.body);
    assert!(wer < 0.35, "WER {wer}: {text:?}");
    assert_eq!(u.first().unwrap()["speaker"], "Ada Lovelace");
    assert_eq!(u.first().unwrap()["participantId"], "p-ada");
    assert_eq!(u.last().unwrap()["speaker"], "Charles Babbage");
    assert!(t.body["attributedShare"].as_f64().unwrap() > 0.9, "{}", t.body);
    let txt = app
        .client
        .get(format!("{}/api/bots/{id}/transcript?format=txt", app.base))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(txt.starts_with("[00:00:00] Ada Lovelace: "), "{txt}");
}

#[tokio::test]
async fn retention_removes_transcripts_and_a_missing_recording_fails_the_audio_transcript() {
    let app = TestApp::spawn_with(|c| {
        c.recording_retention_days = Some(1);
        with_openai(c);
    })
    .await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "transcription": {"provider": "meeting_captions"}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    let t0 = app.state.now().timestamp_millis();
    events(
        &app,
        &token,
        json!([{"type": "caption", "captionId": "a", "speaker": "Ada", "text": "Kept a day.", "isFinal": true,
                "startMs": t0, "endMs": t0 + 500}]),
    )
    .await;
    app.report(&token, "ENDED", None).await;
    // An openai bot whose recording never came: after the settling time it fails, named.
    let audio = ended_openai_bot(&app, json!([])).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap(), Report::default());
    app.clock
        .advance(meeboter_server::transcription_worker::SETTLE + chrono::Duration::seconds(1));
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().failed, 1);
    let t = app.get(&app.admin_key, &format!("/api/bots/{audio}/transcript")).await;
    assert_eq!(t.body["state"], "failed");
    assert_eq!(t.body["error"], "no recording to transcribe (recording is none)");

    let path = format!("/api/bots/{id}/transcript");
    meeboter_server::media::run_once(&app.state, "test").await.unwrap();
    assert_eq!(
        app.get(&app.admin_key, &path).await.body["utterances"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    app.clock.advance(chrono::Duration::days(2));
    meeboter_server::media::run_once(&app.state, "test").await.unwrap();
    let t = app.get(&app.admin_key, &path).await;
    assert_eq!(t.body["utterances"], json!([]));
    assert_eq!(t.body["state"], "none");
    assert!(t.body["error"].as_str().unwrap().contains("RECORDING_RETENTION_DAYS"));
}

/// The recording starts 1–2 s after `IN_CALL` (ffmpeg opening its inputs); the bot's
/// `recording_started` makes that the transcript's time 0, so a line's time is where the
/// recording plays it: captions (also those stored before the report), `callMs` of the
/// speaking marks, and the post-call transcript's attribution.
#[tokio::test]
async fn transcript_times_count_from_when_the_recording_started() {
    let app = TestApp::spawn().await;
    let (id, token) = app
        .deployed_bot(
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "meeting_captions"}}),
        )
        .await;
    app.report(&token, "IN_CALL", None).await;
    let t0 = app.state.now().timestamp_millis();
    let caption = |id: &str, start: i64, end: i64| {
        json!({"type": "caption", "captionId": id, "speaker": "Ada", "text": id, "isFinal": true,
               "startMs": t0 + start, "endMs": t0 + end})
    };
    // A caption before the report is stored on the IN_CALL clock, then moved.
    events(&app, &token, json!([caption("early", 2500, 3000)])).await;
    let ack = events(
        &app,
        &token,
        json!([
            {"type": "recording_started", "at": t0 + 1500},
            caption("late", 4000, 4500),
            {"type": "active_speaker", "participantId": "p1", "name": "Ada", "at": t0 + 2000},
            {"type": "recording_started", "at": t0 + 9000}, // only the first report counts
            {"type": "recording_started", "at": 1000}, // before the bot existed
        ]),
    )
    .await;
    assert_eq!(ack["ignored"], 2, "{ack}");
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    let times: Vec<(Value, i64, i64)> = t.body["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["text"].clone(),
                u["startMs"].as_i64().unwrap(),
                u["endMs"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(times, [(json!("early"), 1000, 1500), (json!("late"), 2500, 3000)]);
    let list = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=100"))
        .await;
    let mark = list.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["type"] == "active_speaker")
        .unwrap()
        .clone();
    assert_eq!(mark["data"]["callMs"], 500, "{mark}");
    let started = sqlx::query("SELECT capture_started_at FROM bots WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap()
        .get::<Option<i64>, _>(0);
    assert_eq!(started, Some(t0 + 1500));

    // After the call: the recording's audio offsets and the speaking marks line up. Ada
    // speaks for the recording's first 2 s, Obi-Wan after; on the IN_CALL clock Ada's turn
    // would seem to run 1.5 s into Obi-Wan's line and take it.
    let segments = json!({"text": "", "segments": [
        {"id": 0, "start": 0.2, "end": 1.8, "text": " Hello there."},
        {"id": 1, "start": 2.2, "end": 3.8, "text": " General Kenobi."}
    ]});
    let (url, _, _) = fake_provider(vec![(200, segments.to_string())]).await;
    let app = TestApp::spawn_with(|c| {
        c.transcription.openai = Some(OpenAiTranscription {
            url: url.clone(),
            api_key: None,
            model: "whisper-1".into(),
        });
    })
    .await;
    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "openai"}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    let t0 = app.state.now().timestamp_millis();
    let mark = |pid: &str, name: &str, speaking: bool, at: i64| json!({"type": "active_speaker", "participantId": pid, "name": name, "speaking": speaking, "at": t0 + at});
    events(
        &app,
        &token,
        json!([
            {"type": "recording_started", "at": t0 + 1500},
            mark("p1", "Ada", true, 1500),
            mark("p1", "Ada", false, 3500),
            mark("p2", "Obi-Wan", true, 3500),
            mark("p2", "Obi-Wan", false, 6000),
        ]),
    )
    .await;
    app.report(&token, "ENDED", None).await;
    let dir = tempfile::tempdir().unwrap();
    store_recording(&app, &id, &tone(dir.path(), 4), 4000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().ready, 1);
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    let got: Vec<(Value, i64)> = t.body["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["speaker"].clone(), u["startMs"].as_i64().unwrap()))
        .collect();
    assert_eq!(got, [(json!("Ada"), 200), (json!("Obi-Wan"), 2200)], "{}", t.body);
}

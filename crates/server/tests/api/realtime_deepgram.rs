//! Real-time transcription with `deepgram`: the bot's segments streamed over one live
//! connection per bot to the scripted Deepgram fake, through the real server and worker.

use crate::realtime::{fast, wav};
use crate::support::TestApp;
use crate::transcripts::{deliveries, events};
use deepgram_fake::{DeepgramFake, ScriptWord};
use meeboter_server::config::DeepgramSettings;
use meeboter_server::realtime_transcription::{Tuning, run_once};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;

const ZOOM: &str = "https://zoom.us/j/123456789";
const KEY: &str = "dg-live-9b2e";

async fn app_with(fake: &DeepgramFake) -> TestApp {
    let url = fake.url.clone();
    TestApp::spawn_with(move |c| {
        c.transcription.deepgram = Some(DeepgramSettings {
            url,
            api_key: KEY.into(),
            model: "nova-3".into(),
        });
        c.webhook_allow_private = true;
    })
    .await
}

/// A deployed real-time deepgram bot in the call: `(id, token, call start epoch ms)`.
async fn bot_in_call(app: &TestApp) -> (String, String, i64) {
    let (id, token) = app
        .deployed_bot(
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "webhookUrl": "http://127.0.0.1:9/hook",
            "transcription": {"provider": "deepgram", "language": "en", "realtime": true}}),
        )
        .await;
    assert_eq!(
        app.bot(&token, Method::GET, "/config", None).await.body["transcription"]["realtime"],
        true
    );
    app.report(&token, "IN_CALL", None).await;
    (id, token, app.state.now().timestamp_millis())
}

/// PUTs `ms` of audio as segment `seq`, heard at `start_ms` (epoch).
async fn put(app: &TestApp, token: &str, seq: u64, start_ms: i64, ms: u32) {
    let body = wav(seq as i16 + 1, ms);
    let sha = hex::encode(sha2::Sha256::digest(&body));
    let r = TestApp::read(
        app.client
            .put(format!(
                "{}/api/bot/v1/audio/{seq}?startMs={start_ms}&durationMs={ms}&sha256={sha}",
                app.base
            ))
            .bearer_auth(token)
            .header("content-type", "audio/wav")
            .body(body),
    )
    .await;
    assert!(r.status.is_success(), "{}", r.body);
}

async fn transcript(app: &TestApp, id: &str) -> Value {
    app.get(&app.admin_key, &format!("/api/bots/{id}/transcript"))
        .await
        .body
}

fn lines(t: &Value) -> Vec<(String, Option<String>, i64)> {
    t["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["text"].as_str().unwrap().to_string(),
                u["speaker"].as_str().map(str::to_string),
                u["startMs"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Ends the bot (reported `audio/finish` first) and runs the worker until the transcript
/// is ready.
async fn end(app: &TestApp, token: &str, id: &str, segments: u64, tuning: &Tuning) -> Value {
    let r = app
        .bot(
            token,
            Method::POST,
            "/audio/finish",
            Some(json!({"segments": segments})),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.body);
    app.report(token, "ENDED", None).await;
    for _ in 0..5 {
        run_once(&app.state, tuning).await.unwrap();
        let t = transcript(app, id).await;
        if t["state"] == "ready" {
            return t;
        }
    }
    panic!("never ready: {}", transcript(app, id).await);
}

#[tokio::test]
async fn deepgram_utterances_arrive_live_named_from_the_timeline_then_ready() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(vec![
        ScriptWord::new("Good", 0.2, 0.5, 0),
        ScriptWord::new("morning.", 0.6, 1.0, 0),
        ScriptWord::new("Hello", 2.2, 2.6, 1),
        ScriptWord::new("there.", 2.7, 3.1, 1),
    ]);
    fake.control(|c| c.interim_every = 0.25);
    let app = app_with(&fake).await;
    let (id, token, t0) = bot_in_call(&app).await;
    events(
        &app,
        &token,
        json!([
            {"type": "active_speaker", "participantId": "p1", "name": "Ada", "speaking": true, "at": t0},
            {"type": "active_speaker", "participantId": "p1", "name": "Ada", "speaking": false, "at": t0 + 1900},
            {"type": "active_speaker", "participantId": "p2", "name": "Bob", "speaking": true, "at": t0 + 2000},
        ]),
    )
    .await;
    put(&app, &token, 0, t0, 2000).await;
    put(&app, &token, 1, t0 + 2000, 2000).await;
    let tuning = fast();
    let report = run_once(&app.state, &tuning).await.unwrap();
    assert_eq!((report.segments, report.utterances), (2, 2), "{report:?}");
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "live", "{t}");
    assert_eq!(
        lines(&t),
        [
            ("Good morning.".to_string(), Some("Ada".to_string()), 200),
            ("Hello there.".to_string(), Some("Bob".to_string()), 2200)
        ]
    );
    assert!(
        t["utterances"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["source"] == "deepgram" && u["isFinal"] == true)
    );
    let list = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=200"))
        .await;
    let types: Vec<&str> = list.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types.iter().filter(|t| **t == "transcript.data").count(),
        2,
        "{types:?}"
    );
    assert!(
        types.contains(&"transcript.partial"),
        "interim results are partial lines: {types:?}"
    );
    assert_eq!(deliveries(&app, "bot.transcript_data").await, 2);
    assert_eq!(
        tuning.streams.open().await,
        1,
        "the stream stays open for the next segments"
    );

    // More audio later goes over the same connection.
    put(&app, &token, 2, t0 + 4000, 1000).await;
    assert_eq!(run_once(&app.state, &tuning).await.unwrap().segments, 1);
    let t = end(&app, &token, &id, 3, &tuning).await;
    assert_eq!(t["source"], "deepgram");
    assert_eq!(lines(&t).len(), 2);
    assert_eq!(tuning.streams.open().await, 0, "closed at the end");
    let streams: Vec<_> = fake.requests().into_iter().filter(|r| r.kind == "streaming").collect();
    assert_eq!(streams.len(), 1, "one connection for the bot: {streams:?}");
    let messages = &streams[0].messages;
    assert_eq!(messages.iter().filter(|m| *m == "Finalize").count(), 3, "{messages:?}");
    assert_eq!(messages.last().map(String::as_str), Some("CloseStream"), "{messages:?}");
    assert!(streams[0].authorized);
    assert_eq!(streams[0].query.get("diarize").map(String::as_str), Some("true"));
}

#[tokio::test]
async fn deepgram_stream_dropped_mid_call_resumes_without_losing_or_doubling() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(vec![
        ScriptWord::new("one", 0.3, 0.8, 0),
        ScriptWord::new("two", 2.3, 2.8, 0),
        ScriptWord::new("three", 4.3, 4.8, 0),
    ]);
    // The first connection drops in the middle of the second segment's audio.
    fake.control(|c| {
        c.drop_streams_after = vec![3.0];
        c.resend_after_finalize = true;
    });
    let app = app_with(&fake).await;
    let (id, token, t0) = bot_in_call(&app).await;
    for seq in 0..3u64 {
        put(&app, &token, seq, t0 + 2000 * seq as i64, 2000).await;
    }
    let tuning = fast();
    let first = run_once(&app.state, &tuning).await.unwrap();
    assert_eq!((first.segments, first.retry_later), (1, 1), "{first:?}");
    let second = run_once(&app.state, &tuning).await.unwrap();
    assert_eq!(second.segments, 2, "{second:?}");
    let t = end(&app, &token, &id, 3, &tuning).await;
    assert_eq!(
        lines(&t).into_iter().map(|l| (l.0, l.2)).collect::<Vec<_>>(),
        [
            ("one".to_string(), 300),
            ("two".to_string(), 2300),
            ("three".to_string(), 4300)
        ]
    );
    let list = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?limit=200"))
        .await;
    let data = list.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "transcript.data")
        .count();
    assert_eq!(data, 3, "each line announced once");
    let streams = fake.requests().into_iter().filter(|r| r.kind == "streaming").count();
    assert_eq!(streams, 2, "the dropped connection and the one that resumed");
}

#[tokio::test]
async fn deepgram_down_for_good_fails_the_transcript_with_the_reason() {
    let fake = DeepgramFake::start(KEY).await;
    fake.control(|c| c.fail_next = vec![503; 100]);
    let app = app_with(&fake).await;
    let (id, token, t0) = bot_in_call(&app).await;
    put(&app, &token, 0, t0, 1000).await;
    let tuning = fast();
    let mut failed = 0;
    for _ in 0..tuning.max_failures {
        failed += run_once(&app.state, &tuning).await.unwrap().failed;
    }
    assert_eq!(failed, 1);
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "failed", "{t}");
    let error = t["error"].as_str().unwrap();
    assert!(error.contains("failed 3 times") && error.contains("503"), "{error}");
    assert!(!error.contains(KEY));
    let mut c = app.db.pool().acquire().await.unwrap();
    let (pending, _, _) = meeboter_db::audio_segments::counts(&mut c, &id).await.unwrap();
    assert_eq!(pending, 0, "pending audio dropped");
}

#[tokio::test]
async fn a_restarted_worker_resumes_on_a_new_connection() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(vec![
        ScriptWord::new("one", 0.3, 0.8, 0),
        ScriptWord::new("two", 2.3, 2.8, 0),
    ]);
    fake.control(|c| c.resend_after_finalize = true);
    let app = app_with(&fake).await;
    let (id, token, t0) = bot_in_call(&app).await;
    put(&app, &token, 0, t0, 2000).await;
    let first = fast();
    assert_eq!(run_once(&app.state, &first).await.unwrap().segments, 1);
    assert_eq!(first.streams.open().await, 1);
    // The worker (a replica) goes away: its connection with it.
    drop(first);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while fake.requests().iter().all(|r| r.ended.is_none()) {
        assert!(std::time::Instant::now() < deadline, "the first connection never ended");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    put(&app, &token, 1, t0 + 2000, 2000).await;
    let second = fast();
    assert_eq!(run_once(&app.state, &second).await.unwrap().segments, 1);
    let t = end(&app, &token, &id, 2, &second).await;
    assert_eq!(
        lines(&t).into_iter().map(|l| (l.0, l.2)).collect::<Vec<_>>(),
        [("one".to_string(), 300), ("two".to_string(), 2300)]
    );
    assert_eq!(fake.requests().iter().filter(|r| r.kind == "streaming").count(), 2);
}

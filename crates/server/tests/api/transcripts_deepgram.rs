//! The `deepgram` provider after the call, against the scripted Deepgram fake: diarized
//! speakers named from the active-speaker timeline, retries, errors, validation.

use crate::support::TestApp;
use crate::transcripts::{deliveries, ended_audio_bot, events, fast, store_recording, tone};
use deepgram_fake::{DeepgramFake, ScriptWord};
use meeboter_server::config::DeepgramSettings;
use meeboter_server::transcription_worker::{Report, run_once};
use serde_json::{Value, json};

const ZOOM: &str = "https://zoom.us/j/123456789";
const KEY: &str = "dg-secret-4f1c2a";

async fn app_with(fake: &DeepgramFake, key: &str) -> TestApp {
    let (url, key) = (fake.url.clone(), key.to_string());
    TestApp::spawn_with(move |c| {
        c.transcription.deepgram = Some(DeepgramSettings {
            url,
            api_key: key,
            model: "nova-3".into(),
        });
    })
    .await
}

async fn ended_deepgram_bot(app: &TestApp, speakers: Value) -> String {
    ended_audio_bot(app, json!({"provider": "deepgram", "language": "en"}), speakers).await
}

async fn transcript(app: &TestApp, id: &str) -> Value {
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.status, 200, "{}", t.body);
    t.body
}

#[tokio::test]
async fn deepgram_names_diarized_speakers_from_the_timeline_after_a_retried_429() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(vec![
        ScriptWord::new("Hello,", 0.5, 0.9, 0),
        ScriptWord::new("there.", 1.0, 1.4, 0),
        ScriptWord::new("General", 2.5, 2.9, 1),
        ScriptWord::new("Kenobi!", 3.0, 3.6, 1),
        ScriptWord::new("Indeed.", 4.0, 4.5, 0),
        ScriptWord::new("Who?", 5.0, 5.4, 2),
        // Past the end of the recording: never heard.
        ScriptWord::new("Beyond.", 6.5, 6.9, 0),
    ]);
    fake.control(|c| c.fail_next = vec![429]);
    let app = app_with(&fake, KEY).await;
    // The timeline shows Obi-Wan until 4.6 s, late: "Indeed." (speaker 0) overlaps him more
    // than Ada, but speaker 0 as a whole is Ada. Nobody is shown speaking for "Who?".
    let id = ended_deepgram_bot(
        &app,
        json!([
            ["p1", "Ada", true, 0],
            ["p2", "Obi-Wan", true, 2300],
            ["p1", "Ada", true, 4600],
            ["p1", "Ada", false, 4800]
        ]),
    )
    .await;
    assert_eq!(transcript(&app, &id).await["state"], "processing");
    let dir = tempfile::tempdir().unwrap();
    store_recording(&app, &id, &tone(dir.path(), 6), 6000).await;
    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(report.ready, 1, "{report:?}");

    let reqs = fake.requests();
    assert_eq!(
        reqs.iter().map(|r| r.status).collect::<Vec<_>>(),
        [429, 200],
        "429 then retried"
    );
    let q = &reqs[1].query;
    for (k, v) in [
        ("model", "nova-3"),
        ("language", "en"),
        ("diarize", "true"),
        ("utterances", "true"),
        ("punctuate", "true"),
        ("smart_format", "true"),
    ] {
        assert_eq!(q.get(k).map(String::as_str), Some(v), "{k} in {q:?}");
    }
    assert_eq!(reqs[1].auth_scheme.as_deref(), Some("Token"));
    assert!(reqs[1].authorized);
    assert_eq!(reqs[1].content_type.as_deref(), Some("audio/wav"));
    let secs = reqs[1].audio_secs.unwrap();
    assert!(
        (5.9..6.3).contains(&secs),
        "the WAV the server extracted lasts {secs} s"
    );

    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "ready", "{t}");
    assert_eq!(
        (t["provider"].as_str(), t["source"].as_str()),
        (Some("deepgram"), Some("deepgram"))
    );
    let got: Vec<(Value, Value, Value, i64, i64)> = t["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert_eq!(u["source"], "deepgram");
            (
                u["speaker"].clone(),
                u["participantId"].clone(),
                u["text"].clone(),
                u["startMs"].as_i64().unwrap(),
                u["endMs"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (json!("Ada"), json!("p1"), json!("Hello, there."), 500, 1400),
            (json!("Obi-Wan"), json!("p2"), json!("General Kenobi!"), 2500, 3600),
            (json!("Ada"), json!("p1"), json!("Indeed."), 4000, 4500),
            (json!("Speaker 3"), Value::Null, json!("Who?"), 5000, 5400),
        ]
    );
    // 5 of 6 words were named from the timeline.
    assert_eq!(t["attributedShare"], 0.833);
    assert_eq!(deliveries(&app, "bot.transcript_ready").await, 0, "no webhook endpoint");
    assert_eq!(run_once(&app.state, &fast()).await.unwrap(), Report::default());
}

#[tokio::test]
async fn deepgram_errors_fail_the_transcript_not_the_bot() {
    let fake = DeepgramFake::start(KEY).await;
    let dir = tempfile::tempdir().unwrap();
    let audio = tone(dir.path(), 2);

    // A wrong key: 401 INVALID_AUTH, not retried, the transcript fails with Deepgram's words.
    let app = app_with(&fake, "dg-wrong-key").await;
    let id = ended_deepgram_bot(&app, json!([])).await;
    store_recording(&app, &id, &audio, 2000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().failed, 1);
    assert_eq!(fake.requests().len(), 1, "a 401 is not retried");
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "failed");
    let error = t["error"].as_str().unwrap();
    assert!(
        error.contains("401") && error.contains("Invalid credentials."),
        "{error}"
    );
    assert!(!error.contains("dg-wrong-key"), "{error}");
    assert_eq!(app.bot_resource(&id).await["status"], "ENDED");

    let app = app_with(&fake, KEY).await;
    // A 400 (audio Deepgram cannot decode).
    fake.control(|c| c.fail_next = vec![400]);
    let id = ended_deepgram_bot(&app, json!([])).await;
    store_recording(&app, &id, &audio, 2000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().failed, 1);
    let t = transcript(&app, &id).await;
    assert!(
        t["error"].as_str().unwrap().contains("corrupt or unsupported data"),
        "{t}"
    );
    let rec = app.get(&app.admin_key, &format!("/api/bots/{id}/recording")).await;
    assert_eq!(rec.body["state"], "ready", "the recording is untouched: {}", rec.body);

    // Garbage with a 200.
    fake.control(|c| c.garbage_next = 1);
    let id = ended_deepgram_bot(&app, json!([])).await;
    store_recording(&app, &id, &audio, 2000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().failed, 1);
    let t = transcript(&app, &id).await;
    assert!(t["error"].as_str().unwrap().contains("not JSON"), "{t}");

    // Down for longer than the retry budget: tried again later, not failed yet.
    fake.control(|c| c.fail_next = vec![503, 502, 500]);
    let before = fake.requests().len();
    let id = ended_deepgram_bot(&app, json!([])).await;
    store_recording(&app, &id, &audio, 2000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().retry_later, 1);
    assert_eq!(fake.requests().len() - before, 3, "1 + 2 retries");
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "processing");
    assert!(t["error"].as_str().unwrap().contains("An internal server error"), "{t}");
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().ready, 1);
}

#[tokio::test]
async fn deepgram_create_validation() {
    // Not configured: 422 naming the setting.
    let app = TestApp::spawn().await;
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "deepgram"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["transcription.provider"]);
    assert!(
        r.body.to_string().contains("TRANSCRIPTION_DEEPGRAM_API_KEY"),
        "{}",
        r.body
    );

    let fake = DeepgramFake::start(KEY).await;
    let app = app_with(&fake, KEY).await;
    // Welsh is a Whisper language but not a Nova-3 one.
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "deepgram", "language": "cy"}}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    assert_eq!(r.error_fields(), ["transcription.language"]);
    assert!(r.body.to_string().contains("unsupported_language"), "{}", r.body);
    // …while openai's list has it (the same request with openai only lacks its setting).
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "openai", "language": "cy"}}),
        )
        .await;
    assert_eq!(r.error_fields(), ["transcription.provider"], "{}", r.body);
    // Needs a recording, like openai.
    let r = app
        .post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": ZOOM, "recordingMode": "none", "transcription": {"provider": "deepgram"}}),
        )
        .await;
    assert_eq!(r.error_fields(), ["transcription.provider"], "{}", r.body);
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "deepgram", "language": "pt-br"}}),
        )
        .await;
    assert_eq!(
        bot["transcription"],
        json!({"provider": "deepgram", "language": "pt-BR", "realtime": false})
    );
}

#[tokio::test]
async fn captions_fall_back_to_deepgram_when_it_is_the_only_audio_provider() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(vec![
        ScriptWord::new("Fallback", 0.2, 0.8, 0),
        ScriptWord::new("works.", 0.9, 1.3, 0),
    ]);
    let app = app_with(&fake, KEY).await;
    let (id, token) = app
        .deployed_bot(
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": {"provider": "meeting_captions"}}),
        )
        .await;
    app.report(&token, "IN_CALL", None).await;
    events(
        &app,
        &token,
        json!([{"type": "captions_unavailable", "reason": "host_disabled"}]),
    )
    .await;
    app.report(&token, "ENDED", None).await;
    assert_eq!(transcript(&app, &id).await["state"], "processing");
    let dir = tempfile::tempdir().unwrap();
    store_recording(&app, &id, &tone(dir.path(), 2), 2000).await;
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().ready, 1);
    let t = transcript(&app, &id).await;
    assert_eq!(t["source"], "deepgram", "{t}");
    assert_eq!(t["provider"], "meeting_captions");
    assert!(
        t["error"].as_str().unwrap().contains("host_disabled"),
        "the note stays: {t}"
    );
    let u = &t["utterances"][0];
    assert_eq!(
        (u["text"].as_str(), u["speaker"].as_str()),
        (Some("Fallback works."), Some("Speaker 1"))
    );
    // Without a language the provider detects it.
    assert_eq!(
        fake.requests()[0].query.get("detect_language").map(String::as_str),
        Some("true")
    );
    assert_eq!(t["attributedShare"], 0.0);
}

#[tokio::test]
async fn a_slow_deepgram_times_out_and_is_tried_again_later() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(vec![ScriptWord::new("Eventually.", 0.2, 0.9, 0)]);
    fake.control(|c| c.delay = std::time::Duration::from_millis(1500));
    let app = app_with(&fake, KEY).await;
    let id = ended_deepgram_bot(&app, json!([["p1", "Ada", true, 0]])).await;
    let dir = tempfile::tempdir().unwrap();
    store_recording(&app, &id, &tone(dir.path(), 2), 2000).await;
    let tuning = meeboter_server::transcription_worker::Tuning {
        request_timeout: std::time::Duration::from_millis(300),
        retries: 1,
        ..fast()
    };
    assert_eq!(run_once(&app.state, &tuning).await.unwrap().retry_later, 1);
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "processing");
    assert!(t["error"].as_str().unwrap().contains("timed out"), "{t}");
    // Deepgram is quick again: the next attempt succeeds.
    fake.control(|c| c.delay = std::time::Duration::ZERO);
    app.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(run_once(&app.state, &tuning).await.unwrap().ready, 1);
    let t = transcript(&app, &id).await;
    assert_eq!(t["utterances"][0]["speaker"], "Ada", "{t}");
    assert_eq!(t["error"], Value::Null, "the retry note is gone");
}

//! Real-time transcription: segments over the control channel, the real-time worker, its
//! failure budget, and two workers on one database.

use crate::support::TestApp;
use crate::transcripts::{deliveries, events, start_whisper, start_whisper_on, whisper_peer, with_openai};
use meeboter_server::audio_provider::RetryPolicy;
use meeboter_server::config::OpenAiTranscription;
use meeboter_server::realtime_transcription::{Tuning, run_once};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const ZOOM: &str = "https://zoom.us/j/123456789";

pub(crate) fn fast() -> Tuning {
    Tuning {
        policy: RetryPolicy {
            request_timeout: std::time::Duration::from_secs(60),
            retries: 1,
            backoff: std::time::Duration::from_millis(10),
        },
        lease: chrono::Duration::minutes(2),
        max_failures: 3,
        first_pause: chrono::Duration::zero(),
        max_pause: chrono::Duration::zero(),
        settle: chrono::Duration::minutes(2),
        batch: 12,
        live: meeboter_server::deepgram_live::LiveOptions {
            backoff: std::time::Duration::from_millis(10),
            max_reconnects: 1,
            close_timeout: std::time::Duration::from_secs(5),
            reconnect: false,
            ..Default::default()
        },
        final_wait: std::time::Duration::from_secs(10),
        finalize_quiet: std::time::Duration::from_secs(3),
        stream_idle: std::time::Duration::from_secs(60),
        streams: Default::default(),
    }
}

/// A 16 kHz mono 16-bit WAV of `ms` milliseconds whose every sample is `value` (the fake
/// provider reads it back to name the segment it transcribed).
pub(crate) fn wav(value: i16, ms: u32) -> Vec<u8> {
    let samples = 16 * ms;
    let data_len = samples * 2;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&16_000u32.to_le_bytes());
    out.extend_from_slice(&32_000u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for _ in 0..samples {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out
}

/// PUTs segment `seq` as the bot.
async fn put(app: &TestApp, token: &str, seq: u64, start_ms: i64, body: &[u8]) -> crate::support::Resp {
    let sha = hex::encode(sha2::Sha256::digest(body));
    let req = app
        .client
        .put(format!(
            "{}/api/bot/v1/audio/{seq}?startMs={start_ms}&durationMs=1000&sha256={sha}",
            app.base
        ))
        .bearer_auth(token)
        .header("content-type", "audio/wav")
        .body(body.to_vec());
    TestApp::read(req).await
}

/// An OpenAI-compatible fake that can be switched down (503) and up, answering one
/// segment `"segment <n>"` where n is the value of the WAV's samples; it takes `delay`
/// per request.
struct Provider {
    url: String,
    calls: Arc<AtomicUsize>,
    up: Arc<AtomicBool>,
}

async fn provider(delay: std::time::Duration) -> Provider {
    use axum::routing::post;
    let calls = Arc::new(AtomicUsize::new(0));
    let up = Arc::new(AtomicBool::new(true));
    let (c, u) = (calls.clone(), up.clone());
    let router = axum::Router::new().route(
        "/v1/audio/transcriptions",
        post(move |body: axum::body::Bytes| {
            let (c, u) = (c.clone(), u.clone());
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                if !u.load(Ordering::SeqCst) {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        r#"{"error":{"message":"overloaded"}}"#.to_string(),
                    );
                }
                let at = body.windows(4).position(|w| w == b"RIFF").expect("a WAV in the form");
                let n = i16::from_le_bytes([body[at + 44], body[at + 45]]);
                let answer = json!({"text": format!("segment {n}"), "segments": [
                    {"id": 0, "start": 0.1, "end": 0.9, "text": format!(" segment {n}")}]});
                (axum::http::StatusCode::OK, answer.to_string())
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });
    Provider { url, calls, up }
}

fn openai_at(url: &str) -> impl FnOnce(&mut meeboter_server::config::Config) + '_ {
    move |c| {
        c.transcription.openai = Some(OpenAiTranscription {
            url: url.to_string(),
            api_key: None,
            model: "whisper-1".into(),
        });
        c.webhook_allow_private = true;
    }
}

/// A deployed real-time openai bot in the call: `(id, token, call start epoch ms)`.
async fn bot_in_call(app: &TestApp) -> (String, String, i64) {
    let (id, token) = app
        .deployed_bot(
            json!({"meetingUrl": ZOOM, "recordingMode": "audio", "webhookUrl": "http://127.0.0.1:9/hook",
            "transcription": {"provider": "openai", "language": "en", "realtime": true}}),
        )
        .await;
    app.report(&token, "IN_CALL", None).await;
    (id, token, app.state.now().timestamp_millis())
}

async fn transcript(app: &TestApp, id: &str) -> Value {
    let t = app.get(&app.admin_key, &format!("/api/bots/{id}/transcript")).await;
    assert_eq!(t.status, 200, "{}", t.body);
    t.body
}

fn texts(t: &Value) -> Vec<String> {
    t["utterances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["text"].as_str().unwrap().to_string())
        .collect()
}

async fn counts(app: &TestApp, id: &str) -> (i64, i64, i64) {
    let mut c = app.db.pool().acquire().await.unwrap();
    meeboter_db::audio_segments::counts(&mut c, id).await.unwrap()
}

#[tokio::test]
async fn segments_become_utterances_while_in_call_then_the_transcript_is_ready() {
    let p = provider(std::time::Duration::ZERO).await;
    let app = TestApp::spawn_with(openai_at(&p.url)).await;
    let (id, token, t0) = bot_in_call(&app).await;
    events(
        &app,
        &token,
        json!([{"type": "active_speaker", "participantId": "p1", "name": "Ada", "speaking": true, "at": t0}]),
    )
    .await;

    // Bad input is a 4xx with the uniform error shape.
    let seg0 = wav(0, 1000);
    let sha = hex::encode(sha2::Sha256::digest(&seg0));
    for (query, field) in [
        (format!("startMs={t0}&durationMs=0&sha256={sha}"), "durationMs"),
        (format!("startMs={t0}&durationMs=1000&sha256=zz"), "sha256"),
        (format!("startMs=-5&durationMs=1000&sha256={sha}"), "startMs"),
        (format!("startMs={t0}&durationMs=1000"), ""),
    ] {
        let r = TestApp::read(
            app.client
                .put(format!("{}/api/bot/v1/audio/0?{query}", app.base))
                .bearer_auth(&token)
                .body(seg0.clone()),
        )
        .await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        r.error_code();
        if !field.is_empty() {
            assert_eq!(r.error_fields(), [field], "{query}");
        }
    }
    let r = put(&app, &token, 0, t0, b"not a wav file, clearly not one at all, no no no").await;
    assert_eq!((r.status.as_u16(), r.error_code().as_str()), (422, "invalid_audio"));
    let r = TestApp::read(
        app.client
            .put(format!(
                "{}/api/bot/v1/audio/0?startMs={t0}&durationMs=1000&sha256={sha}",
                app.base
            ))
            .bearer_auth(&token)
            .body(wav(1, 1000)),
    )
    .await;
    assert_eq!((r.status.as_u16(), r.error_code().as_str()), (422, "segment_mismatch"));
    let r = put(&app, &token, 0, t0, &seg0).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["stored"], true);
    // A retried PUT is a no-op; the same seq with other audio is a conflict.
    let r = put(&app, &token, 0, t0, &seg0).await;
    assert_eq!((r.status.as_u16(), r.body["stored"].as_bool()), (200, Some(false)));
    let r = put(&app, &token, 0, t0, &wav(9, 1000)).await;
    assert_eq!((r.status.as_u16(), r.error_code().as_str()), (409, "segment_conflict"));
    assert_eq!(counts(&app, &id).await, (1, 0, 0));

    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(
        (report.segments, report.utterances, report.ready),
        (1, 1, 0),
        "{report:?}"
    );
    // While the bot is still in the call: a live transcript, the event and the webhook.
    assert_eq!(app.bot_resource(&id).await["status"], "IN_CALL");
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "live", "{t}");
    assert_eq!(texts(&t), ["segment 0"]);
    let u = &t["utterances"][0];
    assert_eq!(
        (u["speaker"].as_str(), u["source"].as_str()),
        (Some("Ada"), Some("openai"))
    );
    assert_eq!((u["startMs"].as_i64(), u["endMs"].as_i64()), (Some(100), Some(900)));
    assert_eq!(deliveries(&app, "bot.transcript_data").await, 1);
    let ev = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?type=transcript.data"))
        .await;
    assert_eq!(ev.body["events"].as_array().map(Vec::len), Some(1), "{}", ev.body);
    // The audio bytes are gone once transcribed; the receipt stays (re-PUT still a no-op).
    assert_eq!(counts(&app, &id).await, (0, 1, 0));
    let r = put(&app, &token, 0, t0, &seg0).await;
    assert_eq!(r.body["stored"], false);
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().segments, 0);

    // The bot ends; its last segment arrives after the end, then it says it is done.
    app.report(&token, "ENDED", None).await;
    assert_eq!(transcript(&app, &id).await["state"], "processing");
    assert_eq!(put(&app, &token, 1, t0 + 1000, &wav(1, 1000)).await.status, 200);
    let r = app
        .bot(
            &token,
            Method::POST,
            "/audio/finish",
            Some(json!({"segments": 3, "droppedSegments": 1, "droppedMs": 1000})),
        )
        .await;
    assert_eq!(
        (r.status.as_u16(), r.body["pending"].as_i64()),
        (200, Some(1)),
        "{}",
        r.body
    );
    let report = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!((report.segments, report.ready), (1, 1), "{report:?}");
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "ready", "{t}");
    assert_eq!(texts(&t), ["segment 0", "segment 1"]);
    assert!(t["error"].as_str().unwrap().contains("1.0 s of audio"), "{t}");
    assert_eq!(deliveries(&app, "bot.transcript_ready").await, 1);
    let gap = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?type=audio_gap"))
        .await;
    assert_eq!(gap.body["events"][0]["data"]["droppedMs"], 1000, "{}", gap.body);
    // Closed: more audio is refused, and the post-call worker has nothing to do.
    let r = put(&app, &token, 2, t0 + 2000, &wav(2, 1000)).await;
    assert_eq!((r.status.as_u16(), r.error_code().as_str()), (409, "transcript_closed"));
    let calls = p.calls.load(Ordering::SeqCst);
    let post = meeboter_server::transcription_worker::run_once(&app.state, &Default::default())
        .await
        .unwrap();
    assert_eq!(post, Default::default());
    assert_eq!(
        p.calls.load(Ordering::SeqCst),
        calls,
        "the recording is not transcribed again"
    );
}

#[tokio::test]
async fn only_real_time_audio_bots_stream_and_the_backlog_is_bounded() {
    let app = TestApp::spawn_with(|c| {
        with_openai(c);
        c.webhook_allow_private = true;
    })
    .await;
    // A post-call openai bot and a captions bot take no segments.
    for transcription in [json!({"provider": "openai"}), json!({"provider": "meeting_captions"})] {
        let (_, token) = app
            .deployed_bot(json!({"meetingUrl": ZOOM, "recordingMode": "audio", "transcription": transcription}))
            .await;
        let r = put(&app, &token, 0, 1, &wav(0, 1000)).await;
        assert_eq!(
            (r.status.as_u16(), r.error_code().as_str()),
            (409, "realtime_audio_off")
        );
    }
    let r = app
        .request(
            Method::PUT,
            Some(&app.admin_key),
            "/api/bot/v1/audio/0?startMs=1&durationMs=1&sha256=x",
            None,
        )
        .await;
    assert_eq!(r.status, 401);

    let (id, token, t0) = bot_in_call(&app).await;
    let limit = meeboter_server::routes::bot_audio::MAX_PENDING_SEGMENTS;
    {
        let mut tx = app.db.begin_write().await.unwrap();
        for seq in 0..limit {
            meeboter_db::audio_segments::insert(
                &mut tx,
                &meeboter_db::audio_segments::NewSegment {
                    bot_id: &id,
                    seq,
                    start_epoch_ms: t0 + seq * 1000,
                    duration_ms: 1000,
                    size_bytes: 1,
                    sha256: "0",
                    storage_key: "nowhere",
                },
                app.state.now(),
            )
            .await
            .unwrap();
        }
        tx.commit().await.unwrap();
    }
    let r = put(&app, &token, limit as u64, t0, &wav(0, 1000)).await;
    assert_eq!((r.status.as_u16(), r.error_code().as_str()), (429, "audio_backlog"));
    // A retry of one already stored is still answered.
    let r = put(&app, &token, 0, t0, &wav(0, 1000)).await;
    assert_eq!(r.error_code(), "segment_conflict");
}

#[tokio::test]
async fn provider_down_mid_meeting_then_back_loses_nothing() {
    let p = provider(std::time::Duration::ZERO).await;
    let app = TestApp::spawn_with(openai_at(&p.url)).await;
    let (id, token, t0) = bot_in_call(&app).await;
    assert_eq!(put(&app, &token, 0, t0, &wav(0, 1000)).await.status, 200);
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().segments, 1);
    p.up.store(false, Ordering::SeqCst);
    for seq in 1..4 {
        assert_eq!(
            put(&app, &token, seq, t0 + seq as i64 * 1000, &wav(seq as i16, 1000))
                .await
                .status,
            200
        );
    }
    // Two failed rounds (the budget is three): still queued, not failed.
    for _ in 0..2 {
        let r = run_once(&app.state, &fast()).await.unwrap();
        assert_eq!((r.segments, r.retry_later, r.failed), (0, 1, 0), "{r:?}");
    }
    assert_eq!(counts(&app, &id).await, (3, 1, 0));
    assert_eq!(transcript(&app, &id).await["state"], "live");
    p.up.store(true, Ordering::SeqCst);
    let r = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(r.segments, 3, "{r:?}");
    assert_eq!(
        texts(&transcript(&app, &id).await),
        ["segment 0", "segment 1", "segment 2", "segment 3"]
    );
    // The failure count started over: two more failures do not fail the transcript.
    p.up.store(false, Ordering::SeqCst);
    assert_eq!(put(&app, &token, 4, t0 + 4000, &wav(4, 1000)).await.status, 200);
    for _ in 0..2 {
        assert_eq!(run_once(&app.state, &fast()).await.unwrap().failed, 0);
    }
    p.up.store(true, Ordering::SeqCst);
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().segments, 1);
}

#[tokio::test]
async fn provider_down_for_good_fails_the_transcript_with_the_reason_after_the_budget() {
    let p = provider(std::time::Duration::ZERO).await;
    p.up.store(false, Ordering::SeqCst);
    let app = TestApp::spawn_with(openai_at(&p.url)).await;
    let (id, token, t0) = bot_in_call(&app).await;
    for seq in 0..2 {
        assert_eq!(put(&app, &token, seq, t0, &wav(seq as i16, 1000)).await.status, 200);
    }
    let tuning = fast();
    for round in 1..tuning.max_failures {
        let r = run_once(&app.state, &tuning).await.unwrap();
        assert_eq!((r.retry_later, r.failed), (1, 0), "round {round}: {r:?}");
    }
    // Each round tried the request 1 + retries times.
    assert_eq!(
        p.calls.load(Ordering::SeqCst) as i64,
        (tuning.max_failures - 1) * (1 + tuning.policy.retries as i64)
    );
    let r = run_once(&app.state, &tuning).await.unwrap();
    assert_eq!(r.failed, 1, "{r:?}");
    let t = transcript(&app, &id).await;
    assert_eq!(t["state"], "failed");
    let reason = t["error"].as_str().unwrap();
    assert!(
        reason.contains("3 times") && reason.contains("503") && reason.contains("overloaded"),
        "{reason}"
    );
    assert_eq!(deliveries(&app, "bot.transcript_failed").await, 1);
    assert_eq!(counts(&app, &id).await, (0, 0, 2), "pending audio is dropped");
    let r = put(&app, &token, 2, t0, &wav(2, 1000)).await;
    assert_eq!(r.error_code(), "transcript_closed");
    // The bot ending does not revive it.
    app.report(&token, "ENDED", None).await;
    assert_eq!(transcript(&app, &id).await["state"], "failed");
    assert_eq!(run_once(&app.state, &tuning).await.unwrap(), Default::default());
}

#[tokio::test]
async fn two_workers_on_one_database_never_transcribe_a_segment_twice() {
    // Slow answers, so both workers' passes overlap.
    let p = provider(std::time::Duration::from_millis(150)).await;
    let first = TestApp::spawn_with(openai_at(&p.url)).await;
    let second = first.restart_with(|_| {}).await.unwrap();
    let mut bots = Vec::new();
    for _ in 0..2 {
        let (id, token, t0) = bot_in_call(&first).await;
        for seq in 0..4 {
            let at = if seq % 2 == 0 { &first } else { &second };
            assert_eq!(
                put(at, &token, seq, t0 + seq as i64 * 1000, &wav(seq as i16, 1000))
                    .await
                    .status,
                200
            );
        }
        bots.push(id);
    }
    let tuning = Tuning { batch: 2, ..fast() };
    let mut done = 0;
    for _ in 0..10 {
        let (a, b) = tokio::join!(run_once(&first.state, &tuning), run_once(&second.state, &tuning));
        done += a.unwrap().segments + b.unwrap().segments;
        if done == 8 {
            break;
        }
    }
    assert_eq!(done, 8);
    assert_eq!(
        p.calls.load(Ordering::SeqCst),
        8,
        "each segment went to the provider once"
    );
    for id in &bots {
        let t = transcript(&first, id).await;
        assert_eq!(
            texts(&t),
            ["segment 0", "segment 1", "segment 2", "segment 3"],
            "in order, once"
        );
    }
}

/// Speech as a 16 kHz mono WAV (what the bot's audio tap sends), made with espeak-ng.
fn speech(dir: &std::path::Path, text: &str) -> Vec<u8> {
    let raw = dir.join("raw.wav");
    let ok = std::process::Command::new("espeak-ng")
        .args(["-s", "140", "-w"])
        .arg(&raw)
        .arg(text)
        .status()
        .expect("espeak-ng (apt-get install espeak-ng)");
    assert!(ok.success());
    let out = dir.join("speech.wav");
    let ok = std::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-i"])
        .arg(&raw)
        .args(["-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(ok.success());
    std::fs::read(out).unwrap()
}

#[tokio::test]
async fn faster_whisper_killed_mid_meeting_then_restarted_loses_nothing() {
    let Some((bin, model)) = whisper_peer() else {
        eprintln!("skipped: MEEBOTER_TEST_WHISPER_BIN/MODEL not set (scripts/test sets them)");
        return;
    };
    let whisper = start_whisper(&bin, &model).await;
    let url = whisper.url.clone();
    let port: u16 = url.rsplit(':').next().unwrap().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_with(openai_at(&url)).await;
    let (id, token, t0) = bot_in_call(&app).await;
    let first = speech(dir.path(), "The budget review starts now.");
    assert_eq!(put(&app, &token, 0, t0, &first).await.status, 200);
    assert_eq!(run_once(&app.state, &fast()).await.unwrap().segments, 1);
    // The provider dies mid-meeting; the next segment waits.
    drop(whisper);
    let second = speech(dir.path(), "We can hire two more engineers.");
    assert_eq!(put(&app, &token, 1, t0 + 5000, &second).await.status, 200);
    let r = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!((r.segments, r.retry_later), (0, 1), "{r:?}");
    let _whisper = start_whisper_on(&bin, &model, port).await;
    let r = run_once(&app.state, &fast()).await.unwrap();
    assert_eq!(r.segments, 1, "{r:?}");
    let t = transcript(&app, &id).await;
    let all = texts(&t).join(" ").to_lowercase();
    assert!(all.contains("budget") && all.contains("engineers"), "{all}");
    let second_start = t["utterances"].as_array().unwrap().last().unwrap()["startMs"]
        .as_i64()
        .unwrap();
    assert!(
        second_start >= 5000,
        "the segment's place on the call clock: {second_start}"
    );
}

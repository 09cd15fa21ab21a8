use super::*;
use deepgram_fake::{DeepgramFake, ScriptWord};

const KEY: &str = "dg-live-secret-77";

fn settings(fake: &DeepgramFake, key: &str) -> DeepgramSettings {
    DeepgramSettings {
        url: fake.url.clone(),
        api_key: key.into(),
        model: "nova-3".into(),
    }
}

fn script() -> Vec<ScriptWord> {
    vec![
        ScriptWord::new("Hello,", 0.5, 0.9, 0),
        ScriptWord::new("there.", 1.0, 1.4, 0),
        ScriptWord::new("General", 2.5, 2.9, 1),
        ScriptWord::new("Kenobi!", 3.0, 3.6, 1),
    ]
}

fn fast() -> LiveOptions {
    LiveOptions {
        backoff: Duration::from_millis(20),
        close_timeout: Duration::from_secs(5),
        ..LiveOptions::default()
    }
}

/// 100 ms of silence at 16 kHz.
fn frame() -> Vec<i16> {
    vec![0; 1600]
}

async fn drain(session: &mut LiveSession) -> Vec<LiveEvent> {
    let mut out = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(300), session.next_event()).await {
        out.push(e);
    }
    out
}

fn finals(events: &[LiveEvent]) -> Vec<&LiveResult> {
    events
        .iter()
        .filter_map(|e| match e {
            LiveEvent::Result(r) if r.is_final && !r.text.is_empty() => Some(r),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn interim_then_final_results_and_a_clean_close() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    let mut s = DeepgramLive::connect(&settings(&fake, KEY), Some("en-US"), 16_000, fast())
        .await
        .unwrap();
    for _ in 0..45 {
        s.send_audio(&frame()).await.unwrap();
    }
    s.close().await.unwrap();
    let events = drain(&mut s).await;
    let first_final = events
        .iter()
        .position(|e| matches!(e, LiveEvent::Result(r) if r.is_final))
        .unwrap();
    assert!(
        events[..first_final]
            .iter()
            .any(|e| matches!(e, LiveEvent::Result(r) if !r.is_final)),
        "an interim result first: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, LiveEvent::SpeechStarted { at_ms: 500 }))
    );
    let f = finals(&events);
    let got: Vec<(&str, Option<u32>, bool)> = f.iter().map(|r| (r.text.as_str(), r.speaker, r.speech_final)).collect();
    assert_eq!(
        got,
        [("Hello, there.", Some(0), true), ("General Kenobi!", Some(1), true)]
    );
    assert_eq!(f[1].words[1].start_ms, 3000);
    assert_eq!(f[1].words[1].word, "Kenobi!");
    let rec = &fake.requests()[0];
    for (k, v) in [
        ("encoding", "linear16"),
        ("sample_rate", "16000"),
        ("channels", "1"),
        ("interim_results", "true"),
        ("diarize", "true"),
        ("punctuate", "true"),
        ("language", "en-US"),
        ("model", "nova-3"),
    ] {
        assert_eq!(rec.query.get(k).map(String::as_str), Some(v), "{k}");
    }
    assert_eq!((rec.auth_scheme.as_deref(), rec.authorized), (Some("Token"), true));
    assert_eq!(rec.messages.last().map(String::as_str), Some("CloseStream"));
    // The queue is gone after the close.
    assert_eq!(s.send_audio(&frame()).await, Err(LiveError::Closed));
}

#[tokio::test]
async fn keepalive_holds_the_stream_open_past_the_idle_timeout() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    fake.control(|c| c.idle_timeout = Duration::from_millis(500));
    let options = LiveOptions {
        keepalive_every: Duration::from_millis(150),
        ..fast()
    };
    let mut s = DeepgramLive::connect(&settings(&fake, KEY), None, 16_000, options)
        .await
        .unwrap();
    s.send_audio(&frame()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await; // three idle timeouts
    for _ in 0..15 {
        s.send_audio(&frame()).await.unwrap();
    }
    s.finalize().await.unwrap();
    s.close().await.unwrap();
    let events = drain(&mut s).await;
    assert!(
        !events.iter().any(|e| matches!(e, LiveEvent::Reconnected { .. })),
        "{events:?}"
    );
    let reqs = fake.requests();
    assert_eq!(reqs.len(), 1, "one connection throughout");
    assert!(
        reqs[0].messages.iter().filter(|m| *m == "KeepAlive").count() >= 5,
        "{:?}",
        reqs[0].messages
    );
    assert!(reqs[0].messages.contains(&"Finalize".to_string()));
    let fin = finals(&events);
    assert_eq!(fin[0].text, "Hello, there.");
}

#[tokio::test]
async fn without_keepalive_the_idle_stream_is_closed_and_reopened() {
    let fake = DeepgramFake::start(KEY).await;
    fake.control(|c| c.idle_timeout = Duration::from_millis(300));
    let options = LiveOptions {
        keepalive_every: Duration::from_secs(60),
        ..fast()
    };
    let mut s = DeepgramLive::connect(&settings(&fake, KEY), None, 16_000, options)
        .await
        .unwrap();
    s.send_audio(&frame()).await.unwrap();
    let event = tokio::time::timeout(Duration::from_secs(5), s.next_event())
        .await
        .unwrap();
    assert_eq!(event, Some(LiveEvent::Reconnected { at_ms: 100 }));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(fake.requests()[0].ended.as_deref(), Some("closed 1011 NET-0001"));
}

#[tokio::test]
async fn a_dropped_stream_reconnects_and_times_stay_on_the_call_clock() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    fake.control(|c| c.drop_streams_after = vec![2.0]);
    let mut s = DeepgramLive::connect(&settings(&fake, KEY), Some("en"), 16_000, fast())
        .await
        .unwrap();
    for _ in 0..45 {
        s.send_audio(&frame()).await.unwrap();
        // Faster than real time, slow enough for the drop to be noticed between frames.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    s.close().await.unwrap();
    let events = drain(&mut s).await;
    let reconnected = events
        .iter()
        .find_map(|e| match e {
            LiveEvent::Reconnected { at_ms } => Some(*at_ms),
            _ => None,
        })
        .expect("a reconnect");
    assert!((2000..=2300).contains(&reconnected), "reconnected at {reconnected} ms");
    let f = finals(&events);
    assert_eq!(f[0].text, "Hello, there.");
    let general = f
        .iter()
        .flat_map(|r| r.words.iter())
        .find(|w| w.word == "General")
        .expect("the words after the drop");
    // On the call's clock (2.5 s), not the new connection's (0.5 s); a frame or two in
    // flight when the socket dropped may shift it by their length.
    assert!((2400..=2800).contains(&general.start_ms), "{general:?}");
    assert_eq!(fake.requests().len(), 2);
}

#[tokio::test]
async fn refused_credentials_and_languages_are_clear_errors() {
    let fake = DeepgramFake::start(KEY).await;
    let err = DeepgramLive::connect(&settings(&fake, "dg-wrong"), None, 16_000, fast())
        .await
        .err()
        .unwrap();
    match &err {
        LiveError::Auth { status, message } => {
            assert_eq!(*status, 401);
            assert!(message.contains("Invalid credentials"), "{message}");
        }
        other => panic!("expected an auth error, got {other:?}"),
    }
    assert!(!err.to_string().contains("dg-wrong"), "{err}");
    assert_eq!(fake.requests().len(), 1, "credentials are not retried");
    let err = DeepgramLive::connect(&settings(&fake, KEY), Some("cy"), 16_000, fast())
        .await
        .err()
        .unwrap();
    assert!(matches!(err, LiveError::UnsupportedLanguage { .. }), "{err:?}");
    // Throttling at the handshake is retried.
    fake.control(|c| c.fail_next = vec![429, 503]);
    let mut s = DeepgramLive::connect(&settings(&fake, KEY), None, 16_000, fast())
        .await
        .unwrap();
    s.close().await.unwrap();
    let statuses: Vec<u16> = fake.requests().iter().map(|r| r.status).collect();
    assert_eq!(statuses[1..], [429, 503, 101]);
}

#[test]
fn results_on_the_call_clock() {
    let v = serde_json::json!({"type": "Results", "start": 1.0, "duration": 1.5, "is_final": true,
    "speech_final": false, "channel": {"alternatives": [{"transcript": "a b c", "words": [
        {"word": "a", "start": 1.0, "end": 1.2, "confidence": 0.9, "speaker": 1},
        {"word": "b", "start": 1.3, "end": 1.5, "confidence": 0.9, "speaker": 0},
        {"word": "c", "punctuated_word": "C.", "start": 1.6, "end": 2.0, "confidence": 0.9, "speaker": 1}
    ]}]}});
    let r = parse_result(&v, 60_000).unwrap();
    assert_eq!(
        (r.start_ms, r.end_ms, r.speaker, r.is_final),
        (61_000, 62_500, Some(1), true)
    );
    assert_eq!(r.words[2].word, "C.");
    assert_eq!(r.words[2].start_ms, 61_600);
    assert!(parse_result(&serde_json::json!({"type": "Results"}), 0).is_none());
}

#[test]
fn stream_urls() {
    let s = DeepgramSettings {
        url: "https://api.deepgram.com".into(),
        api_key: "k".into(),
        model: "nova-3".into(),
    };
    let url = stream_url(&s, Some("de"), 48_000, &LiveOptions::default()).unwrap();
    assert!(
        url.starts_with("wss://api.deepgram.com/v1/listen?model=nova-3&encoding=linear16&sample_rate=48000"),
        "{url}"
    );
    assert!(url.ends_with("&language=de") && !url.contains("k&"), "{url}");
    let local = DeepgramSettings {
        url: "http://127.0.0.1:9".into(),
        ..s
    };
    assert!(
        stream_url(&local, None, 16_000, &LiveOptions::default())
            .unwrap()
            .starts_with("ws://127.0.0.1:9/v1/listen?")
    );
}

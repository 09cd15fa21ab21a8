use super::*;
use async_tungstenite::tungstenite::client::IntoClientRequest;

const KEY: &str = "dg-test-key";

fn script() -> Vec<ScriptWord> {
    vec![
        ScriptWord::new("Hello,", 0.5, 0.9, 0),
        ScriptWord::new("there.", 1.0, 1.4, 0),
        ScriptWord::new("General", 2.5, 2.9, 1),
        ScriptWord::new("Kenobi!", 3.0, 3.6, 1),
        ScriptWord::new("Late.", 5.0, 5.4, 0),
    ]
}

fn silence(secs: f64) -> Vec<i16> {
    vec![0; (secs * 16_000.0) as usize]
}

async fn post(fake: &DeepgramFake, query: &str, auth: Option<&str>, ct: &str, body: Vec<u8>) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/v1/listen?{query}", fake.url))
        .header("content-type", ct)
        .body(body);
    if let Some(a) = auth {
        req = req.header("authorization", a);
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test]
async fn prerecorded_answers_the_scripted_words_inside_the_audio() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    let q = "model=nova-3&language=en&diarize=true&utterances=true&punctuate=true&smart_format=true";
    let (status, body) = post(
        &fake,
        q,
        Some("Token dg-test-key"),
        "audio/wav",
        wav(&silence(4.0), 16_000),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["metadata"]["duration"], 4.0);
    assert_eq!(v["metadata"]["channels"], 1);
    let alt = &v["results"]["channels"][0]["alternatives"][0];
    assert_eq!(alt["transcript"], "Hello, there. General Kenobi!");
    assert_eq!(alt["words"][0]["word"], "hello");
    assert_eq!(alt["words"][0]["punctuated_word"], "Hello,");
    assert_eq!(alt["words"][2]["speaker"], 1);
    let utts = v["results"]["utterances"].as_array().unwrap();
    let got: Vec<(f64, f64, &str, i64)> = utts
        .iter()
        .map(|u| {
            (
                u["start"].as_f64().unwrap(),
                u["end"].as_f64().unwrap(),
                u["transcript"].as_str().unwrap(),
                u["speaker"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, [(0.5, 1.4, "Hello, there.", 0), (2.5, 3.6, "General Kenobi!", 1)]);
    // Without diarize/punctuate: plain words, no speakers, one utterance per pause.
    let (_, body) = post(
        &fake,
        "model=nova-3",
        Some("Bearer dg-test-key"),
        "audio/wav",
        wav(&silence(2.0), 16_000),
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let alt = &v["results"]["channels"][0]["alternatives"][0];
    assert_eq!(alt["transcript"], "hello there");
    assert!(alt["words"][0].get("speaker").is_none());
    assert!(v["results"].get("utterances").is_none());
    // Raw linear16 needs its sample rate; the duration follows it.
    let raw: Vec<u8> = silence(3.0).iter().flat_map(|s| s.to_le_bytes()).collect();
    let (status, body) = post(
        &fake,
        "model=nova-3&encoding=linear16&sample_rate=8000",
        Some("Token dg-test-key"),
        "application/octet-stream",
        raw,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["metadata"]["duration"],
        6.0
    );
    // Hosted URLs are fetched; others are the remote-content error.
    fake.host_audio("https://media.example/a.wav", wav(&silence(1.5), 16_000));
    let (status, body) = post(
        &fake,
        "model=nova-3",
        Some("Token dg-test-key"),
        "application/json",
        br#"{"url":"https://media.example/a.wav"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"hello\""), "{body}");
    let (status, body) = post(
        &fake,
        "model=nova-3",
        Some("Token dg-test-key"),
        "application/json",
        br#"{"url":"https://nowhere.example/x.wav"}"#.to_vec(),
    )
    .await;
    assert_eq!((status, body.contains("REMOTE_CONTENT_ERROR")), (400, true), "{body}");
    let reqs = fake.requests();
    assert_eq!(reqs[0].query["diarize"], "true");
    assert_eq!(reqs[0].auth_scheme.as_deref(), Some("Token"));
    assert_eq!(reqs[1].auth_scheme.as_deref(), Some("Bearer"));
    assert!(reqs.iter().all(|r| r.authorized));
    assert!(!format!("{reqs:?}").contains(KEY), "the key is never recorded");
}

#[tokio::test]
async fn prerecorded_errors_and_faults() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    let audio = || wav(&silence(1.0), 16_000);
    let err = |body: &str| serde_json::from_str::<Value>(body).unwrap();
    let (s, b) = post(&fake, "model=nova-3", None, "audio/wav", audio()).await;
    assert_eq!((s, err(&b)["err_code"].as_str()), (401, Some("INVALID_AUTH")));
    assert!(err(&b)["request_id"].is_string());
    let (s, _) = post(&fake, "model=nova-3", Some("Token wrong"), "audio/wav", audio()).await;
    assert_eq!(s, 401);
    let (s, b) = post(&fake, "model=nova-9", Some("Token dg-test-key"), "audio/wav", audio()).await;
    assert_eq!(s, 400);
    assert!(err(&b)["err_msg"].as_str().unwrap().contains("model/language"), "{b}");
    let (s, _) = post(
        &fake,
        "model=nova-3&language=cy",
        Some("Token dg-test-key"),
        "audio/wav",
        audio(),
    )
    .await;
    assert_eq!(s, 400, "Welsh is not a Nova-3 language");
    let (s, b) = post(
        &fake,
        "model=nova-3",
        Some("Token dg-test-key"),
        "audio/wav",
        b"not audio".to_vec(),
    )
    .await;
    assert_eq!(s, 400);
    assert!(
        err(&b)["err_msg"].as_str().unwrap().contains("corrupt or unsupported"),
        "{b}"
    );
    let (s, _) = post(
        &fake,
        "model=nova-3",
        Some("Token dg-test-key"),
        "application/json",
        b"{".to_vec(),
    )
    .await;
    assert_eq!(s, 400);

    fake.control(|c| {
        c.fail_next = vec![429, 402, 503];
        c.garbage_next = 1;
    });
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(post(&fake, "model=nova-3", Some("Token dg-test-key"), "audio/wav", audio()).await);
    }
    assert_eq!(statuses[0].0, 429);
    assert_eq!(err(&statuses[0].1)["err_code"], "TOO_MANY_REQUESTS");
    assert_eq!(statuses[1].0, 402);
    assert_eq!(statuses[2].0, 503);
    assert_eq!(statuses[3].0, 200);
    assert!(serde_json::from_str::<Value>(&statuses[3].1).is_err(), "garbage body");
    let (s, b) = post(&fake, "model=nova-3", Some("Token dg-test-key"), "audio/wav", audio()).await;
    assert_eq!(s, 200);
    assert!(err(&b)["results"].is_object());
}

type Ws = WebSocketStream<async_tungstenite::tokio::ConnectStream>;

async fn connect(
    fake: &DeepgramFake,
    query: &str,
    key: Option<&str>,
) -> Result<Ws, async_tungstenite::tungstenite::Error> {
    let url = format!("{}/v1/listen?{query}", fake.url.replacen("http", "ws", 1));
    let mut req = url.into_client_request().unwrap();
    if let Some(k) = key {
        req.headers_mut()
            .insert("authorization", format!("Token {k}").parse().unwrap());
    }
    async_tungstenite::tokio::connect_async(req).await.map(|(ws, _)| ws)
}

fn frame(secs: f64) -> Message {
    Message::binary(silence(secs).iter().flat_map(|s| s.to_le_bytes()).collect::<Vec<u8>>())
}

/// Every text message until the close frame (or the end), and the close frame.
async fn drain(ws: &mut Ws) -> (Vec<Value>, Option<(u16, String)>) {
    let mut out = Vec::new();
    while let Ok(Some(m)) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
        match m {
            Ok(Message::Text(t)) => out.push(serde_json::from_str(&t).unwrap()),
            Ok(Message::Close(f)) => {
                // Polling on sends the close reply, so the server sees a clean close.
                while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(2), ws.next()).await {}
                return (out, f.map(|f| (u16::from(f.code), f.reason.to_string())));
            }
            Ok(_) => {}
            Err(_) => return (out, None),
        }
    }
    (out, None)
}

const LIVE: &str = "model=nova-3&encoding=linear16&sample_rate=16000&channels=1&interim_results=true&diarize=true\
                    &punctuate=true&vad_events=true&utterance_end_ms=1000&endpointing=300";

#[tokio::test]
async fn streaming_interim_then_final_then_metadata() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    let mut ws = connect(&fake, LIVE, Some(KEY)).await.unwrap();
    for _ in 0..45 {
        ws.send(frame(0.1)).await.unwrap();
    }
    ws.send(Message::text(r#"{"type":"KeepAlive"}"#)).await.unwrap();
    ws.send(Message::text(r#"{"type":"CloseStream"}"#)).await.unwrap();
    let (msgs, close) = drain(&mut ws).await;
    assert_eq!(close, Some((1000, String::new())));
    let types: Vec<&str> = msgs.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(types.first(), Some(&"SpeechStarted"), "{types:?}");
    assert_eq!(types.last(), Some(&"Metadata"));
    assert!(types.contains(&"UtteranceEnd"), "{types:?}");
    let results: Vec<&Value> = msgs.iter().filter(|m| m["type"] == "Results").collect();
    let first_final = results.iter().position(|r| r["is_final"] == true).unwrap();
    assert!(
        results[..first_final].iter().any(|r| r["is_final"] == false),
        "an interim result comes before the first final"
    );
    let finals: Vec<(String, bool)> = results
        .iter()
        .filter(|r| r["is_final"] == true)
        .map(|r| {
            (
                r["channel"]["alternatives"][0]["transcript"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r["speech_final"].as_bool().unwrap(),
            )
        })
        .filter(|(t, _)| !t.is_empty())
        .collect();
    assert_eq!(
        finals,
        [
            ("Hello, there.".to_string(), true),
            ("General Kenobi!".to_string(), true)
        ]
    );
    let kenobi = results
        .iter()
        .find(|r| r["is_final"] == true && r["channel"]["alternatives"][0]["words"][1]["punctuated_word"] == "Kenobi!")
        .unwrap();
    assert_eq!(kenobi["channel"]["alternatives"][0]["words"][1]["start"], 3.0);
    assert_eq!(kenobi["channel"]["alternatives"][0]["words"][1]["speaker"], 1);
    // Finals tile the audio: each starts where the previous ended.
    let mut at = 0.0;
    for r in results.iter().filter(|r| r["is_final"] == true) {
        assert!((r["start"].as_f64().unwrap() - at).abs() < 1e-6, "{r}");
        at = r["start"].as_f64().unwrap() + r["duration"].as_f64().unwrap();
    }
    assert!((at - 4.5).abs() < 1e-6);
    assert_eq!(msgs.last().unwrap()["duration"], 4.5);
    let rec = &fake.requests()[0];
    assert_eq!(rec.kind, "streaming");
    assert_eq!(rec.messages, ["KeepAlive", "CloseStream"]);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(fake.requests()[0].ended.as_deref(), Some("closed 1000"));
}

#[tokio::test]
async fn streaming_finalize_timeouts_bad_data_auth_and_drops() {
    let fake = DeepgramFake::start(KEY).await;
    fake.set_script(script());
    fake.control(|c| c.idle_timeout = Duration::from_millis(400));
    // Finalize flushes what was heard so far, marked from_finalize.
    let mut ws = connect(&fake, LIVE, Some(KEY)).await.unwrap();
    ws.send(frame(1.2)).await.unwrap();
    ws.send(Message::text(r#"{"type":"Finalize"}"#)).await.unwrap();
    // KeepAlive holds the stream open past the idle timeout…
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        ws.send(Message::text(r#"{"type":"KeepAlive"}"#)).await.unwrap();
    }
    // …and without it the stream closes with NET-0001.
    let (msgs, close) = drain(&mut ws).await;
    let fin = msgs.iter().find(|m| m["from_finalize"] == true).unwrap();
    assert_eq!(fin["channel"]["alternatives"][0]["transcript"], "Hello,");
    let (code, reason) = close.unwrap();
    assert_eq!(code, 1011);
    assert!(reason.starts_with("NET-0001"), "{reason}");

    // Containerized stream (no encoding) whose first frame is not audio: DATA-0000.
    let mut ws = connect(&fake, "model=nova-3", Some(KEY)).await.unwrap();
    ws.send(Message::binary(b"garbage".to_vec())).await.unwrap();
    let (_, close) = drain(&mut ws).await;
    let (code, reason) = close.unwrap();
    assert_eq!((code, reason.starts_with("DATA-0000")), (1008, true), "{reason}");
    // A containerized WAV stream is fine.
    let mut ws = connect(&fake, "model=nova-3&interim_results=true", Some(KEY))
        .await
        .unwrap();
    ws.send(Message::binary(wav(&silence(1.0), 16_000))).await.unwrap();
    ws.send(Message::text(r#"{"type":"CloseStream"}"#)).await.unwrap();
    let (msgs, close) = drain(&mut ws).await;
    assert_eq!(close.unwrap().0, 1000);
    assert!(msgs.iter().any(|m| m["type"] == "Results"));

    // Auth failure and injected statuses at the handshake are HTTP answers.
    match connect(&fake, LIVE, Some("wrong")).await {
        Err(async_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    fake.control(|c| c.fail_next = vec![503]);
    match connect(&fake, LIVE, Some(KEY)).await {
        Err(async_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }

    // A dropped stream ends without a close frame; the next connection continues the
    // script where the received audio left off, on its own clock.
    fake.set_script(script());
    fake.control(|c| {
        c.idle_timeout = Duration::from_secs(10);
        c.drop_streams_after = vec![2.0];
    });
    let mut ws = connect(&fake, LIVE, Some(KEY)).await.unwrap();
    for _ in 0..20 {
        if ws.send(frame(0.1)).await.is_err() {
            break;
        }
    }
    let (_, close) = drain(&mut ws).await;
    assert_eq!(close, None, "no close frame on a drop");
    let mut ws = connect(&fake, LIVE, Some(KEY)).await.unwrap();
    for _ in 0..20 {
        ws.send(frame(0.1)).await.unwrap();
    }
    ws.send(Message::text(r#"{"type":"CloseStream"}"#)).await.unwrap();
    let (msgs, _) = drain(&mut ws).await;
    let word = msgs
        .iter()
        .filter(|m| m["type"] == "Results" && m["is_final"] == true)
        .flat_map(|m| m["channel"]["alternatives"][0]["words"].as_array().unwrap().clone())
        .find(|w| w["punctuated_word"] == "General")
        .unwrap();
    assert_eq!(word["start"], 0.5, "script 2.5 s, 2.0 s already streamed");
    let reqs = fake.requests();
    assert!(reqs.iter().any(|r| r.ended.as_deref() == Some("dropped")), "{reqs:?}");
}

#[test]
fn wav_headers() {
    let w = wav(&silence(0.5), 16_000);
    assert_eq!(parse_wav(&w), Some((16_000, 1, 16, 16_000)));
    // A placeholder data size (streamed WAV) is bounded by the bytes present.
    let mut streamed = w.clone();
    streamed[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(parse_wav(&streamed), Some((16_000, 1, 16, 16_000)));
    assert_eq!(parse_wav(b"RIFF0000WAVE"), None);
    assert_eq!(parse_wav(b"ID3"), None);
}

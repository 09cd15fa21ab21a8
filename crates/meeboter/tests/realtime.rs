//! Real-time transcription end to end: the real server (with faster-whisper-server as its
//! `openai` provider) starts the real `meeboter bot`, which joins the look-alike meeting,
//! records it and streams its audio; a participant's voice (espeak-ng, played into the
//! meeting audio the bot hears) becomes `transcript.data` while the bot is still in the
//! call, and the transcript is `ready` after it leaves — without a second pass.

mod common;

use common::{PLATFORMS, Server, Whisper, bot_sound_server, play_into, speech};
use serde_json::json;
use std::time::{Duration, Instant};

#[test]
fn speech_in_the_meeting_becomes_real_time_utterances_while_the_bot_is_in_the_call() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let Some(whisper) = Whisper::start().await else {
            eprintln!("skipped: MEEBOTER_TEST_WHISPER_BIN/MODEL not set (scripts/test sets them)");
            return;
        };
        let s = Server::start_with(&[("TRANSCRIPTION_OPENAI_URL", whisper.url.as_str())]).await;
        let p = &PLATFORMS[0];
        let code = "realtime-e2e";
        // No tone: the call is silent but for the voice (silent segments are not sent).
        s.configure(p, code, json!({"toneHz": 0})).await;
        let id = s
            .create(
                p,
                code,
                json!({"recordingMode": "audio",
                       "transcription": {"provider": "openai", "language": "en", "realtime": true}}),
            )
            .await;
        s.reach(&id, "IN_CALL").await;
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        let socket = bot_sound_server(&id).await;
        let dir = tempfile::tempdir().unwrap();
        let (wav, _) = speech(
            dir.path(),
            "budget",
            "Good morning everyone. Today we review the budget for the next quarter.",
        );
        // The tap starts with IN_CALL; give its ffmpeg a moment to connect.
        tokio::time::sleep(Duration::from_secs(2)).await;
        play_into(&socket, &wav).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let utterance = loop {
            let events = s.events(&id).await;
            let found = events.iter().find(|e| {
                e["type"] == "transcript.data"
                    && e["data"]["text"]
                        .as_str()
                        .is_some_and(|t| t.to_lowercase().contains("budget"))
            });
            if let Some(e) = found {
                break e["data"].clone();
            }
            assert!(Instant::now() < deadline, "no real-time utterance: {events:?}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        };
        assert_eq!(utterance["source"], "openai", "{utterance}");
        assert_eq!(utterance["isFinal"], true, "{utterance}");
        let bot = s.get(&format!("/api/bots/{id}")).await;
        assert_eq!(bot["status"], "IN_CALL", "the utterance arrived during the call");
        let t = s.get(&format!("/api/bots/{id}/transcript")).await;
        assert_eq!(t["state"], "live", "{t}");

        s.host(p, code, "end", json!({})).await;
        s.ended(&id).await;
        let deadline = Instant::now() + Duration::from_secs(60);
        let t = loop {
            let t = s.get(&format!("/api/bots/{id}/transcript")).await;
            if t["state"] == "ready" {
                break t;
            }
            assert!(Instant::now() < deadline, "never ready: {t}");
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        let text: String = t["utterances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["text"].as_str().unwrap().to_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        assert!(text.contains("quarter"), "{t}");
        // Real time covered the audio: it is not transcribed again from the recording.
        let utterances = t["utterances"].as_array().unwrap().len();
        tokio::time::sleep(Duration::from_secs(5)).await;
        let again = s.get(&format!("/api/bots/{id}/transcript")).await;
        assert_eq!(again["utterances"].as_array().unwrap().len(), utterances);
        assert!(
            again["utterances"]
                .as_array()
                .unwrap()
                .iter()
                .all(|u| u["source"] == "openai")
        );
    });
}

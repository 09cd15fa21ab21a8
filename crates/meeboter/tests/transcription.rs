//! Transcription accuracy end to end, per client, through the real server: the replica's
//! people hold a spoken conversation (espeak-ng voices, known words), the real bot is in the
//! call, and the transcript the server ends up with is scored against the script — word error
//! rate and the share of words attributed to the right speaker (`core::transcription`).
//!
//! Paths: the client's captions (`meeting_captions`); the recording's audio sent after the call
//! to faster-whisper-server with Whisper tiny.en (`openai`, speakers from the bot's speaking
//! timeline); and captions disabled by the host with `openai` configured (`captions_unavailable`,
//! then the audio fallback). Each test prints a `transcription-accuracy` line per client, the
//! numbers in BENCHMARKS.md.

mod common;

use common::{PLATFORMS, Platform, Server, Whisper, machine};
use futures::future::join_all;
use meeboter_core::transcription::{Said, attribution_accuracy, word_error_rate};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Browsers, encoders and the Whisper peer: one test at a time.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Where the transcript comes from, and what the meeting allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    /// The client's live captions.
    Captions,
    /// The recording's audio, after the call (provider `openai`).
    Openai,
    /// `meeting_captions` asked, the host disabled captions: the audio fallback.
    CaptionsDisabled,
}

impl Source {
    fn name(self) -> &'static str {
        match self {
            Source::Captions => "meeting_captions",
            Source::Openai => "openai",
            Source::CaptionsDisabled => "captions_disabled_fallback",
        }
    }

    /// The bot's create options.
    fn bot(self) -> Value {
        match self {
            Source::Captions => json!({"transcription": {"provider": "meeting_captions"}}),
            Source::Openai => json!({"transcription": {"provider": "openai"}, "recordingMode": "audio"}),
            Source::CaptionsDisabled => {
                json!({"transcription": {"provider": "meeting_captions"}, "recordingMode": "audio"})
            }
        }
    }

    /// Which `source` the transcript's utterances carry.
    fn utterance_source(self) -> &'static str {
        match self {
            Source::Captions => "meeting_captions",
            Source::Openai | Source::CaptionsDisabled => "openai",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Score {
    wer: f64,
    attribution: f64,
}

/// The transcript's final utterances against the schedule the replica spoke.
fn score(schedule: &Value, transcript: &Value) -> Score {
    let said = |items: &Value, final_only: bool| -> Vec<(Option<String>, String)> {
        items
            .as_array()
            .into_iter()
            .flatten()
            .filter(|u| !final_only || u["isFinal"] == true)
            .map(|u| {
                (
                    u["speaker"].as_str().map(str::to_string),
                    u["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    let (reference, hypothesis) = (said(&schedule["lines"], false), said(&transcript["utterances"], true));
    fn tagged(lines: &[(Option<String>, String)]) -> Vec<Said<'_>> {
        lines
            .iter()
            .map(|(speaker, text)| Said {
                speaker: speaker.as_deref(),
                text,
            })
            .collect()
    }
    let text = |lines: &[(Option<String>, String)]| -> String {
        lines.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" ")
    };
    Score {
        wer: word_error_rate(&text(&reference), &text(&hypothesis)),
        attribution: attribution_accuracy(&tagged(&reference), &tagged(&hypothesis)).unwrap_or(0.0),
    }
}

/// One bot in one spoken meeting of `p`, transcribed from `source`; the transcript once
/// `ready`, scored.
async fn spoken_meeting(s: &Server, p: &Platform, source: Source) -> Score {
    let code = "spoken-meeting";
    let what = format!("{} {}", p.name, source.name());
    if source == Source::CaptionsDisabled {
        s.configure(p, code, json!({"captionsDisabled": true})).await;
    }
    let id = s.create(p, code, source.bot()).await;
    s.reach(&id, "IN_CALL").await;
    match source {
        // Time for the bot to find and turn on the captions.
        Source::Captions => tokio::time::sleep(Duration::from_secs(5)).await,
        // The bot gives up on the captions and says so; the server plans the fallback.
        Source::CaptionsDisabled => {
            let e = s
                .event(&id, "captions_unavailable", |e| e["type"] == "captions_unavailable")
                .await;
            assert_eq!(e["data"]["fallback"], true, "{what}: {e}");
        }
        // Time for the recorder to run.
        Source::Openai => tokio::time::sleep(Duration::from_secs(3)).await,
    }
    let schedule = s.speak(p, code).await;
    let lasts = schedule["durationMs"].as_u64().unwrap();
    // The whole script, then time for the last caption to settle.
    tokio::time::sleep(Duration::from_millis(lasts + 3000)).await;
    s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
    s.ended(&id).await;
    let deadline = Instant::now() + Duration::from_secs(300);
    let transcript = loop {
        let t = s.get(&format!("/api/bots/{id}/transcript")).await;
        match t["state"].as_str() {
            Some("ready") => break t,
            Some("failed") => panic!("{what}: transcript failed: {t}"),
            _ => {}
        }
        assert!(Instant::now() < deadline, "{what}: transcript never ready: {t}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    let utterances = transcript["utterances"].as_array().unwrap();
    assert!(!utterances.is_empty(), "{what}: {transcript}");
    assert!(
        utterances.iter().all(|u| u["source"] == source.utterance_source()),
        "{what}: {transcript}"
    );
    let score = score(&schedule, &transcript);
    eprintln!(
        "transcription-accuracy source={} platform={} wer={:.3} attribution={:.3} utterances={} machine=\"{}\"",
        source.name(),
        p.name,
        score.wer,
        score.attribution,
        utterances.len(),
        machine()
    );
    if score.wer > 0.05 || score.attribution < 0.95 {
        let speakers: Vec<Value> = s
            .events(&id)
            .await
            .into_iter()
            .filter(|e| e["type"] == "active_speaker")
            .collect();
        let recording = s.get(&format!("/api/bots/{id}/recording")).await;
        eprintln!(
            "{what}: reference {schedule}\n{what}: transcript {transcript}\n{what}: speaking {speakers:?}\n{what}: recording {recording}"
        );
    }
    score
}

/// Every client, concurrently (one server; codes are per client).
async fn on_every_platform(s: &Server, source: Source) -> Vec<(&'static str, Score)> {
    let scores = join_all(PLATFORMS.iter().map(|p| spoken_meeting(s, p, source))).await;
    PLATFORMS.iter().map(|p| p.name).zip(scores).collect()
}

#[test]
fn captions_transcripts_match_what_was_said_on_every_platform() {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = Server::start().await;
        for (platform, score) in on_every_platform(&s, Source::Captions).await {
            assert!(score.wer <= 0.1, "{platform}: {score:?}");
            assert!(score.attribution >= 0.9, "{platform}: {score:?}");
        }
    });
}

/// The audio paths need the Whisper peer; without it (a developer machine) they are skipped,
/// saying so.
fn with_whisper(source: Source) {
    let _serial = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let Some(whisper) = Whisper::start().await else {
            eprintln!("skipped: MEEBOTER_TEST_WHISPER_BIN/MODEL not set (scripts/test sets them)");
            return;
        };
        let s = Server::start_with(&[("TRANSCRIPTION_OPENAI_URL", whisper.url.as_str())]).await;
        for (platform, score) in on_every_platform(&s, source).await {
            // Whisper tiny.en on espeak-ng voices; measured 0.0x–0.1x (BENCHMARKS.md).
            assert!(score.wer <= 0.35, "{platform}: {score:?}");
            assert!(score.attribution >= 0.8, "{platform}: {score:?}");
        }
    });
}

#[test]
fn openai_transcripts_of_the_recording_match_what_was_said_on_every_platform() {
    with_whisper(Source::Openai);
}

#[test]
fn captions_disabled_falls_back_to_the_recording_on_every_platform() {
    with_whisper(Source::CaptionsDisabled);
}

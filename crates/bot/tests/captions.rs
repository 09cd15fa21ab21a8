//! Meeting captions and speaking indicators, against the replicas in a real Chromium, per
//! client: with `transcription.provider = meeting_captions` the bot turns the client's
//! captions on and reports what people said (partials, then one final per line, with the
//! speaker), and whoever speaks, as `active_speaker` events; a meeting without captions is
//! reported once as `captions_unavailable`.

mod common;

use common::*;
use meeboter_bot::driver;
use meeboter_bot::providers::{ClientSpec, meet::MEET, teams::TEAMS, zoom::ZOOM};
use serde_json::{Value, json};
use std::time::Duration;

fn client(name: &str) -> (axum::Router, &'static ClientSpec, &'static str) {
    match name {
        "meet" => (meeboter_replica::router(), &MEET, "/{code}"),
        "teams" => (meeboter_replica::teams_router(), &TEAMS, "/{code}"),
        _ => (
            meeboter_replica::zoom_router(),
            &ZOOM,
            "/wc/{code}/join?pwd=x&fromPWA=1",
        ),
    }
}

const ADA: &str = "The quick brown fox jumps over the lazy dog";
/// Says what the clients' end screens say: the bot must not take captions for the page.
const GRACE: &str = "You left the meeting so the meeting has ended and this meeting has been ended by host";

/// Runs the bot (captions wanted) in a meeting where Ada and Grace each say a line, one after
/// the other; returns every event it reported and its statuses.
async fn meeting(name: &str, disabled: bool, wanted: bool) -> (Vec<Value>, Vec<String>) {
    let (router, spec, path) = client(name);
    let code = if disabled { "cap-tion-off" } else { "cap-tion-onn" };
    let base = serve(router).await;
    if disabled {
        configure(&base, code, json!({"captionsDisabled": true})).await;
    }
    let (running, provider) = open(spec, &format!("{base}{}", path.replace("{code}", code))).await;
    let mut provider = provider.with_captions(wanted);
    let channel = Recorder::default();
    let (s, _tx) = settings(60);
    let host_side = {
        let base = base.clone();
        tokio::spawn(async move {
            until_guest(&base, code, "call").await;
            for person in ["Ada Lovelace", "Grace Hopper"] {
                host(&base, code, "participants", Some(json!({"name": person}))).await;
            }
            // Time for the bot to turn captions on.
            tokio::time::sleep(Duration::from_secs(5)).await;
            let say = |speaker: &str, text: &str| json!({"speaker": speaker, "text": text, "wordsPerSec": 3});
            host(&base, code, "captions", Some(say("Ada Lovelace", ADA))).await;
            tokio::time::sleep(Duration::from_secs(6)).await;
            host(&base, code, "captions", Some(say("Grace Hopper", GRACE))).await;
            tokio::time::sleep(Duration::from_secs(9)).await;
            host(&base, code, "end", None).await;
        })
    };
    let outcome = tokio::time::timeout(Duration::from_secs(90), driver::run(&mut provider, &channel, s))
        .await
        .expect("the bot finished");
    host_side.await.unwrap();
    running.close().await;
    assert_eq!(outcome.sub_code, "meeting_ended", "{name}");
    // Ended by the host, not by the bot leaving on its own.
    let state = replica_state(&base, code).await;
    assert_eq!(state["guests"][0]["screen"], "ended", "{name}: {state}");
    let events = channel.events.lock().unwrap().clone();
    (events, channel.statuses())
}

fn of<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

/// `[(name, speaking)]` of the `active_speaker` events for the two speakers, in order.
fn speaking(events: &[Value]) -> Vec<(String, bool)> {
    of(events, "active_speaker")
        .into_iter()
        .map(|e| {
            (
                e["name"].as_str().unwrap().to_string(),
                e["speaking"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// The `participantId` that `participant_join` gave `who`.
fn joined_id(events: &[Value], who: &str) -> Value {
    of(events, "participant_join")
        .into_iter()
        .find(|e| e["name"] == who)
        .map(|e| e["participantId"].clone())
        .unwrap_or_else(|| panic!("{who} joined: {events:?}"))
}

fn assert_spoke(name: &str, events: &[Value]) {
    let turns = speaking(events);
    for who in ["Ada Lovelace", "Grace Hopper"] {
        let mine: Vec<bool> = turns.iter().filter(|(n, _)| n == who).map(|(_, s)| *s).collect();
        assert_eq!(
            mine,
            [true, false],
            "{name}: {who} starts and stops speaking: {turns:?}"
        );
    }
    for e in of(events, "active_speaker") {
        assert!(e["at"].as_i64().unwrap() > 1_600_000_000_000, "{name}: {e}");
        let who = e["name"].as_str().unwrap();
        assert_eq!(
            e["participantId"],
            joined_id(events, who),
            "{name}: the roster's id: {e}"
        );
    }
}

async fn captions_are_read(name: &str) {
    let (events, statuses) = meeting(name, false, true).await;
    assert_eq!(statuses.last().unwrap(), "ENDED/meeting_ended", "{name}");
    assert!(of(&events, "captions_unavailable").is_empty(), "{name}: {events:?}");
    let captions = of(&events, "caption");
    let finals: Vec<(&str, &str)> = captions
        .iter()
        .filter(|e| e["isFinal"] == true)
        .map(|e| (e["speaker"].as_str().unwrap(), e["text"].as_str().unwrap()))
        .collect();
    assert_eq!(
        finals,
        [("Ada Lovelace", ADA), ("Grace Hopper", GRACE)],
        "{name}: {captions:#?}"
    );
    for final_ in captions.iter().filter(|e| e["isFinal"] == true) {
        let id = &final_["captionId"];
        assert!(id.as_str().unwrap().len() <= 100);
        let same: Vec<&&Value> = captions.iter().filter(|e| &e["captionId"] == id).collect();
        // Partials first (the line grew word by word), then exactly one final, last.
        assert_eq!(
            same.iter().filter(|e| e["isFinal"] == true).count(),
            1,
            "{name}: {same:?}"
        );
        assert_eq!(same.last().unwrap()["isFinal"], true, "{name}: {same:?}");
        let partial_words = same[0]["text"].as_str().unwrap().split_whitespace().count();
        let final_words = final_["text"].as_str().unwrap().split_whitespace().count();
        assert!(
            same[0]["isFinal"] == false && partial_words < final_words,
            "{name}: a shorter partial comes first: {same:?}"
        );
        let who = final_["speaker"].as_str().unwrap();
        assert_eq!(final_["participantId"], joined_id(&events, who), "{name}: {final_}");
        let (start, end) = (final_["startMs"].as_i64().unwrap(), final_["endMs"].as_i64().unwrap());
        assert!(start > 1_600_000_000_000 && end > start, "{name}: {final_}");
    }
    assert_spoke(name, &events);
}

async fn captions_disabled(name: &str) {
    let (events, _) = meeting(name, true, true).await;
    let unavailable = of(&events, "captions_unavailable");
    assert_eq!(unavailable.len(), 1, "{name}: {events:?}");
    assert!(
        unavailable[0]["reason"].as_str().unwrap().contains("not available"),
        "{name}: {unavailable:?}"
    );
    assert!(of(&events, "caption").is_empty(), "{name}: {events:?}");
    // Speaking indicators do not depend on captions.
    assert_spoke(name, &events);
}

/// Without `meeting_captions` the bot leaves captions alone but still reports who speaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_meeting_captions_only_speakers_are_reported() {
    let (events, _) = meeting("teams", false, false).await;
    assert!(of(&events, "caption").is_empty(), "{events:?}");
    assert!(of(&events, "captions_unavailable").is_empty(), "{events:?}");
    assert_spoke("teams", &events);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meet_captions() {
    captions_are_read("meet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_captions() {
    captions_are_read("teams").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_captions() {
    captions_are_read("zoom").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meet_captions_disabled() {
    captions_disabled("meet").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn teams_captions_disabled() {
    captions_disabled("teams").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zoom_captions_disabled() {
    captions_disabled("zoom").await;
}

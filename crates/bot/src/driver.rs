//! The lifecycle driver every meeting provider shares: join, wait in the lobby, stay in
//! the call, and leave at the right time with the right sub code.
//!
//! Providers only say what the page shows ([`Observation`]); the driver decides. Hard
//! signals (kicked dialog, "meeting ended" screen) act at once; a page that shows none of
//! the in-call indicators is only treated as removal after [`SOFT_SIGNAL_DEBOUNCE`], so a
//! reconnecting banner or a slow re-render never ends a healthy bot.

use crate::control::{AutomaticLeave, ControlError, HeartbeatReply};
use async_trait::async_trait;
use meeboter_core::lifecycle::sub_code;
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How long the in-call indicators may be missing before the bot counts as removed.
pub const SOFT_SIGNAL_DEBOUNCE: Duration = Duration::from_secs(30);
/// How often the page is looked at.
pub const POLL_EVERY: Duration = Duration::from_secs(1);
/// Names of other notetakers: they do not count as people in the meeting.
pub const KNOWN_BOT_NAMES: [&str; 9] = [
    "otter",
    "fireflies",
    "read.ai",
    "fathom",
    "tl;dv",
    "notetaker",
    "meeting bot",
    "recall",
    "meeboter",
];

use crate::roster::RosterTracker;
pub use crate::roster::{Participant, RosterReading};

/// Pre-admission screens must be recognised within this long, or the bot reports
/// `unknown_screen` with what it saw (instead of waiting out a lobby timeout).
pub const UNKNOWN_SCREEN_AFTER: Duration = Duration::from_secs(10);

/// A chat message as the page lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct ChatLine {
    pub sender: String,
    pub text: String,
    /// The client marks it as the bot's own (e.g. a run of messages under no name).
    #[serde(default)]
    pub own: bool,
}

/// A chat message the user queued for the bot to post.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct OutgoingChat {
    pub id: String,
    pub text: String,
}

/// How often the bot asks for queued chat messages while in the call.
pub const CHAT_POLL_EVERY: Duration = Duration::from_secs(2);

/// What the meeting page shows right now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// Still on the join screen (or between screens).
    Joining,
    /// In the lobby, waiting to be admitted.
    WaitingRoom,
    /// Admitted: in-call-only indicators are present; who is there, per source.
    InCall { roster: RosterReading },
    /// A screen that keeps the bot out (`meeting_not_found`, `sign_in_required`,
    /// `captcha`, `join_denied`, `knocking_disabled`), with the page's text.
    Blocked { sub_code: String, message: String },
    /// The host removed the bot (hard signal).
    Removed,
    /// The meeting is over (hard signal).
    MeetingEnded,
    /// None of the known screens (a soft signal once in the call), with the page's words.
    Unknown { text: String },
}

/// A meeting client (Meet, Teams, Zoom) driven in a browser page.
#[async_trait]
pub trait Provider: Send {
    /// Opens the meeting as `bot_name`. Fails only when the browser cannot (a network error
    /// page is a screen: `observe` names it).
    async fn join(&mut self, bot_name: &str) -> Result<(), String>;
    /// What the page shows now, after doing what the screen asks (answering a dialog, the
    /// next pre-join step, keeping the people panel in view).
    async fn observe(&mut self) -> Result<Observation, String>;
    /// Events the provider wants reported (e.g. `dialog_dismissed`), since the last call.
    async fn take_events(&mut self) -> Vec<Value> {
        Vec::new()
    }
    /// The page for a failure report: `{url, title, text, html}`.
    async fn page_snapshot(&mut self) -> Option<Value> {
        None
    }
    /// Leaves the call politely (best effort).
    async fn leave(&mut self) -> Result<(), String>;
    /// Chat messages that appeared since the last call (read during `observe`).
    async fn take_chat(&mut self) -> Vec<ChatLine> {
        Vec::new()
    }
    /// Posts a message to the meeting's chat; `Ok` once the client took it.
    async fn send_chat(&mut self, _text: &str) -> Result<(), String> {
        Err("this client has no chat".into())
    }
    /// A picture of the page (JPEG), for the record of what the bot saw.
    async fn screenshot(&mut self) -> Option<Vec<u8>> {
        None
    }
}

/// The control channel as the driver uses it (a trait so the driver is tested on its own).
#[async_trait]
pub trait Channel: Send + Sync {
    async fn report_status(
        &self,
        status: &str,
        sub_code: Option<&str>,
        message: Option<&str>,
    ) -> Result<String, ControlError>;
    async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError>;
    async fn events(&self, events: &[Value]) -> Result<(), ControlError>;
    /// Claims the next queued chat message, if any.
    async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError>;
    /// Reports whether a claimed chat message was posted.
    async fn chat_result(&self, id: &str, error: Option<&str>) -> Result<(), ControlError>;
    /// Uploads a screenshot; `kind` says when it was taken (`waiting_room`, `in_call`, `failure`).
    async fn screenshot(&self, kind: &str, jpeg: Vec<u8>) -> Result<(), ControlError>;
}

#[async_trait]
impl Channel for crate::control::ControlClient {
    async fn report_status(
        &self,
        status: &str,
        sub_code: Option<&str>,
        message: Option<&str>,
    ) -> Result<String, ControlError> {
        crate::control::ControlClient::report_status(self, status, sub_code, message).await
    }
    async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError> {
        crate::control::ControlClient::heartbeat(self).await
    }
    async fn events(&self, events: &[Value]) -> Result<(), ControlError> {
        crate::control::ControlClient::events(self, events).await
    }
    async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError> {
        crate::control::ControlClient::next_chat(self).await
    }
    async fn chat_result(&self, id: &str, error: Option<&str>) -> Result<(), ControlError> {
        crate::control::ControlClient::chat_result(self, id, error).await
    }
    async fn screenshot(&self, kind: &str, jpeg: Vec<u8>) -> Result<(), ControlError> {
        crate::control::ControlClient::screenshot(self, kind, jpeg).await
    }
}

/// How the bot's run ended: the final status and sub code it reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: &'static str,
    pub sub_code: String,
    pub message: Option<String>,
}

impl Outcome {
    fn ended(code: &str) -> Self {
        Self {
            status: "ENDED",
            sub_code: code.to_string(),
            message: None,
        }
    }
    fn fatal(code: &str, message: String) -> Self {
        Self {
            status: "FATAL",
            sub_code: code.to_string(),
            message: Some(message),
        }
    }
}

/// Whether a participant's name marks another bot (a notetaker) or this bot itself, by the
/// built-in [`KNOWN_BOT_NAMES`].
pub fn looks_like_a_bot(name: &str, own_name: &str) -> bool {
    is_bot_name(name, own_name, &[])
}

/// Like [`looks_like_a_bot`], with the server's list (`NOTETAKER_NAMES`; lower-case name
/// fragments) instead of the built-in one when it is not empty.
pub fn is_bot_name(name: &str, own_name: &str, notetakers: &[String]) -> bool {
    let lower = name.to_lowercase();
    if lower == own_name.to_lowercase() {
        return true;
    }
    if notetakers.is_empty() {
        KNOWN_BOT_NAMES.iter().any(|b| lower.contains(b))
    } else {
        notetakers.iter().any(|b| lower.contains(b.as_str()))
    }
}

/// Told when the bot gets into the call and when it leaves it, so a recording holds the
/// call and nothing else: never the lobby, never the screens after leaving.
#[async_trait]
pub trait CallCapture: Send + Sync {
    /// The bot was admitted: `IN_CALL` has just been reported. Called at most once.
    async fn started_call(&self);
    /// The bot is leaving the call it was in: called once, after `started_call`, before
    /// `LEAVING` and the final status are reported and before the leave button is pressed.
    async fn leaving(&self);
}

/// The driver's settings.
#[derive(Clone)]
pub struct DriverSettings {
    pub bot_name: String,
    pub automatic_leave: AutomaticLeave,
    pub heartbeat_every: Duration,
    /// With no answer from the control plane for this long the bot leaves
    /// (`FATAL`/`heartbeat_timeout`): the server has written it off by then, and a bot nobody
    /// accounts for must not stay in a meeting for hours.
    pub control_lost_after: Duration,
    /// A shutdown request (SIGTERM) makes the bot leave politely.
    pub shutdown: tokio::sync::watch::Receiver<bool>,
    /// Name fragments of other bots (from `GET config`; empty = the built-in list).
    pub notetaker_names: Vec<String>,
    /// What records the call, if anything does.
    pub capture: Option<Arc<dyn CallCapture>>,
    /// Commands pushed by the server (leave, chat); `None` relies on heartbeats alone.
    pub commands: Option<tokio::sync::watch::Receiver<crate::commands::Pushed>>,
}

impl std::fmt::Debug for DriverSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriverSettings")
            .field("bot_name", &self.bot_name)
            .field("automatic_leave", &self.automatic_leave)
            .field("heartbeat_every", &self.heartbeat_every)
            .field("capture", &self.capture.is_some())
            .finish_non_exhaustive()
    }
}

enum Phase {
    Joining,
    Waiting { since: Instant },
    InCall(InCall),
}

struct InCall {
    roster: RosterTracker,
    missing_since: Option<Instant>,
    next_chat_poll: Instant,
}

/// Runs a bot from join to leave; reports every status and returns the final outcome
/// (already reported unless the server had ended the bot itself).
pub async fn run(provider: &mut dyn Provider, channel: &dyn Channel, mut settings: DriverSettings) -> Outcome {
    let leave = settings.automatic_leave.clone();
    let capture = settings.capture.clone();
    // The capture to stop on the way out: only one that was started (in the call).
    let during_call = |in_call: bool| if in_call { capture.as_deref() } else { None };
    let started = Instant::now();
    let _ = channel.report_status("JOINING_CALL", None, None).await;
    tracing::info!(bot_name = %settings.bot_name, "opening the meeting");
    if let Err(e) = provider.join(&settings.bot_name).await {
        return finish(
            provider,
            channel,
            None,
            Outcome::fatal(sub_code::BROWSER_CRASHED, format!("could not join: {e}")),
            false,
        )
        .await;
    }
    let mut phase = Phase::Joining;
    let mut next_heartbeat = Instant::now();
    let mut last_answer = Instant::now();
    let mut chat_round = 0;
    let mut unknown_since: Option<Instant> = None;
    loop {
        // The machine stops the bot (SIGTERM: a container stop, a Spot reclaim, Ctrl-C): leave
        // politely and say why — it was not the user's doing.
        if *settings.shutdown.borrow_and_update() {
            let in_call = matches!(phase, Phase::InCall(_));
            let outcome = Outcome::ended(sub_code::PLATFORM_STOPPED);
            return finish(provider, channel, during_call(in_call), outcome, in_call).await;
        }
        // Commands pushed by the server act before anything else, within a second.
        let mut chat_now = false;
        if let Some(pushed) = settings.commands.as_mut().map(|rx| rx.borrow_and_update().clone()) {
            let in_call = matches!(phase, Phase::InCall(_));
            if let Some(reason) = pushed.leave {
                return finish(
                    provider,
                    channel,
                    during_call(in_call),
                    Outcome::ended(&reason),
                    in_call,
                )
                .await;
            }
            if let Some(message) = pushed.ended {
                // The server has ended (or deleted) this bot; leave without reporting.
                if let Some(capture) = during_call(in_call) {
                    capture.leaving().await;
                }
                let _ = provider.leave().await;
                return Outcome::fatal(sub_code::HEARTBEAT_TIMEOUT, message);
            }
            chat_now = pushed.chat_rounds != chat_round;
            chat_round = pushed.chat_rounds;
        }
        if Instant::now() >= next_heartbeat {
            next_heartbeat = Instant::now() + settings.heartbeat_every;
            let answer = channel.heartbeat().await;
            if !matches!(answer, Err(ControlError::Unreachable(_))) {
                last_answer = Instant::now();
            }
            match answer {
                Ok(HeartbeatReply { leave: true, reason }) => {
                    let code = reason.unwrap_or_else(|| sub_code::USER_REQUESTED.to_string());
                    let in_call = matches!(phase, Phase::InCall(_));
                    return finish(provider, channel, during_call(in_call), Outcome::ended(&code), in_call).await;
                }
                Err(ControlError::Unauthorized(msg)) => {
                    // The server has ended this bot; leave without reporting.
                    if let Some(capture) = during_call(matches!(phase, Phase::InCall(_))) {
                        capture.leaving().await;
                    }
                    let _ = provider.leave().await;
                    return Outcome::fatal(sub_code::HEARTBEAT_TIMEOUT, msg);
                }
                Err(ControlError::Unreachable(e)) if last_answer.elapsed() >= settings.control_lost_after => {
                    let message = format!(
                        "the server has not answered for {} s ({e}); leaving",
                        last_answer.elapsed().as_secs()
                    );
                    tracing::error!(%message, "control plane lost");
                    let in_call = matches!(phase, Phase::InCall(_));
                    let outcome = Outcome::fatal(sub_code::HEARTBEAT_TIMEOUT, message);
                    return finish(provider, channel, during_call(in_call), outcome, false).await;
                }
                _ => {}
            }
        }
        let now = Instant::now();
        if now - started >= Duration::from_secs(leave.max_duration_secs) {
            let in_call = matches!(phase, Phase::InCall(_));
            let outcome = Outcome::ended(sub_code::MAX_DURATION);
            return finish(provider, channel, during_call(in_call), outcome, in_call).await;
        }
        let in_call = matches!(phase, Phase::InCall(_));
        let seen = match provider.observe().await {
            Ok(o) => o,
            Err(e) => {
                let outcome = Outcome::fatal(sub_code::BROWSER_CRASHED, e);
                return finish(provider, channel, during_call(in_call), outcome, false).await;
            }
        };
        let mut noted = provider.take_events().await;
        if !noted.is_empty() {
            let roster = match &phase {
                Phase::InCall(call) => Some(&call.roster),
                _ => None,
            };
            let reading = match &seen {
                Observation::InCall { roster } => Some(roster),
                _ => None,
            };
            attribute(&mut noted, roster, reading);
            let _ = channel.events(&noted).await;
        }
        if matches!(seen, Observation::Unknown { .. }) && !in_call {
            let since = *unknown_since.get_or_insert(now);
            if now - since >= UNKNOWN_SCREEN_AFTER {
                let Observation::Unknown { text } = &seen else {
                    unreachable!()
                };
                return unknown_screen(provider, channel, text).await;
            }
        } else {
            unknown_since = None;
        }
        match (&mut phase, seen) {
            // The client gave up on the lobby itself ("No one responded to your request").
            (_, Observation::Blocked { sub_code, .. }) if sub_code == sub_code::WAITING_ROOM_TIMEOUT => {
                return finish(provider, channel, None, Outcome::ended(&sub_code), false).await;
            }
            (_, Observation::Blocked { sub_code, message }) => {
                let outcome = Outcome::fatal(&sub_code, message);
                return finish(provider, channel, during_call(in_call), outcome, false).await;
            }
            // Removed before ever being admitted: the host turned the request down.
            (Phase::Joining | Phase::Waiting { .. }, Observation::Removed) => {
                let outcome = Outcome::fatal(sub_code::JOIN_DENIED, "removed before being admitted".into());
                return finish(provider, channel, None, outcome, false).await;
            }
            (_, Observation::Removed) => {
                let outcome = Outcome::ended(sub_code::KICKED);
                return finish(provider, channel, during_call(in_call), outcome, false).await;
            }
            (_, Observation::MeetingEnded) => {
                let outcome = Outcome::ended(sub_code::MEETING_ENDED);
                return finish(provider, channel, during_call(in_call), outcome, false).await;
            }
            (Phase::Joining, Observation::WaitingRoom) => {
                tracing::info!("in the waiting room");
                let _ = channel.report_status("IN_WAITING_ROOM", None, None).await;
                snapshot(provider, channel, "waiting_room").await;
                phase = Phase::Waiting { since: now };
            }
            (
                Phase::Waiting { since },
                Observation::WaitingRoom | Observation::Joining | Observation::Unknown { .. },
            ) => {
                if now - *since >= Duration::from_secs(leave.waiting_room_timeout_secs) {
                    return finish(
                        provider,
                        channel,
                        None,
                        Outcome::ended(sub_code::WAITING_ROOM_TIMEOUT),
                        false,
                    )
                    .await;
                }
            }
            (Phase::Joining | Phase::Waiting { .. }, Observation::InCall { roster }) => {
                tracing::info!("admitted: in the call");
                let _ = channel.report_status("IN_CALL", None, None).await;
                if let Some(capture) = &capture {
                    capture.started_call().await;
                }
                snapshot(provider, channel, "in_call").await;
                let mut call = InCall {
                    roster: RosterTracker::new(&settings.bot_name, now),
                    missing_since: None,
                    next_chat_poll: now,
                };
                track(&mut call, roster, &settings, channel, now).await;
                phase = Phase::InCall(call);
            }
            (Phase::Joining, Observation::Joining | Observation::Unknown { .. }) => {
                // Joining without a lobby verdict for as long as a lobby may take.
                if now - started >= Duration::from_secs(leave.waiting_room_timeout_secs) {
                    return finish(
                        provider,
                        channel,
                        None,
                        Outcome::ended(sub_code::WAITING_ROOM_TIMEOUT),
                        false,
                    )
                    .await;
                }
            }
            (Phase::InCall(call), Observation::InCall { roster }) => {
                call.missing_since = None;
                track(call, roster, &settings, channel, now).await;
                relay_chat(provider, channel, &settings.bot_name).await;
                if now >= call.next_chat_poll || chat_now {
                    call.next_chat_poll = now + CHAT_POLL_EVERY;
                    post_queued_chat(provider, channel).await;
                }
                if let Some(alone) = call.roster.alone_since() {
                    let (timeout, code) = if call.roster.humans_ever() {
                        (leave.everyone_left_timeout_secs, sub_code::EVERYONE_LEFT)
                    } else {
                        (leave.noone_joined_timeout_secs, sub_code::NOONE_JOINED)
                    };
                    if now - alone >= Duration::from_secs(timeout) {
                        return finish(provider, channel, during_call(true), Outcome::ended(code), true).await;
                    }
                }
            }
            (Phase::InCall(call), Observation::WaitingRoom | Observation::Joining | Observation::Unknown { .. }) => {
                // Soft signal: only a sustained absence of the call means removal.
                let missing = *call.missing_since.get_or_insert(now);
                if now - missing >= SOFT_SIGNAL_DEBOUNCE {
                    let outcome = Outcome::ended(sub_code::KICKED);
                    return finish(provider, channel, during_call(true), outcome, false).await;
                }
            }
        }
        pause(&mut settings).await;
    }
}

/// Waits [`POLL_EVERY`], or less when a command or a stop request arrives.
async fn pause(settings: &mut DriverSettings) {
    // A closed channel never wakes the pause (it would return at once, forever).
    async fn changed<T>(rx: Option<&mut tokio::sync::watch::Receiver<T>>) {
        if let Some(rx) = rx
            && rx.changed().await.is_ok()
        {
            return;
        }
        std::future::pending::<()>().await
    }
    tokio::select! {
        _ = tokio::time::sleep(POLL_EVERY) => {}
        _ = changed(Some(&mut settings.shutdown)) => {}
        _ = changed(settings.commands.as_mut()) => {}
    }
}

/// Diffs the roster into `participant_join`/`participant_leave` events and keeps the
/// alone-since clock (only humans count).
async fn track(
    call: &mut InCall,
    reading: RosterReading,
    settings: &DriverSettings,
    channel: &dyn Channel,
    now: Instant,
) {
    let is_bot = |name: &str| is_bot_name(name, &settings.bot_name, &settings.notetaker_names);
    let change = call.roster.update(reading, now, is_bot);
    let event =
        |kind: &str, p: &Participant| json!({"type": kind, "participantId": p.id, "name": p.name, "isBot": p.is_bot});
    let events: Vec<Value> = change
        .joined
        .iter()
        .map(|p| event("participant_join", p))
        .chain(change.left.iter().map(|p| event("participant_leave", p)))
        .collect();
    if !events.is_empty() {
        let _ = channel.events(&events).await;
    }
}

/// Names the roster member behind `caption` and `active_speaker` events (`participantId`, the
/// id `participant_join` carried), where the roster knows the speaker; on the look that
/// admits the bot, from that look's reading (the id the roster is about to give).
fn attribute(events: &mut [Value], roster: Option<&RosterTracker>, reading: Option<&RosterReading>) {
    let from_reading = |name: &str| -> Option<String> {
        let key = crate::roster::name_key(name);
        let reading = reading?;
        let list = reading.list.iter().flatten();
        let seen = list
            .chain(&reading.tiles)
            .find(|s| crate::roster::name_key(&s.name) == key)?;
        Some(if seen.id.is_empty() {
            seen.name.clone()
        } else {
            seen.id.clone()
        })
    };
    for e in events.iter_mut() {
        let name = match e["type"].as_str() {
            Some("caption") => e["speaker"].as_str(),
            Some("active_speaker") => e["name"].as_str(),
            _ => None,
        };
        let Some(name) = name else { continue };
        let id = roster
            .and_then(|r| r.id_of(name))
            .map(str::to_string)
            .or_else(|| from_reading(name));
        if let Some(id) = id {
            e["participantId"] = json!(id);
        }
    }
}

/// Gives up on a screen nobody recognises: reports what the page said, where it was and its
/// markup (a `page_snapshot` event) before failing `unknown_screen` (a screenshot follows).
async fn unknown_screen(provider: &mut dyn Provider, channel: &dyn Channel, text: &str) -> Outcome {
    let snapshot = provider.page_snapshot().await;
    let url = snapshot
        .as_ref()
        .and_then(|s| s["url"].as_str())
        .unwrap_or("")
        .to_string();
    if let Some(mut snapshot) = snapshot {
        snapshot["type"] = json!("page_snapshot");
        snapshot["reason"] = json!(sub_code::UNKNOWN_SCREEN);
        let _ = channel.events(&[snapshot]).await;
    }
    let shown: String = text.chars().take(300).collect();
    let message = format!(
        "the page showed no screen the bot knows within {} s (at {url}): \"{shown}\"",
        UNKNOWN_SCREEN_AFTER.as_secs()
    );
    finish(
        provider,
        channel,
        None,
        Outcome::fatal(sub_code::UNKNOWN_SCREEN, message),
        false,
    )
    .await
}

/// Reports chat messages that appeared in the meeting (not the bot's own).
async fn relay_chat(provider: &mut dyn Provider, channel: &dyn Channel, own: &str) {
    let events: Vec<Value> = provider
        .take_chat()
        .await
        .into_iter()
        .filter(|m| !m.own && !m.sender.eq_ignore_ascii_case(own) && m.sender != "You")
        .map(|m| json!({"type": "chat_received", "sender": m.sender, "text": m.text}))
        .collect();
    if !events.is_empty() {
        let _ = channel.events(&events).await;
    }
}

/// Posts the next message the user queued, and reports how it went.
async fn post_queued_chat(provider: &mut dyn Provider, channel: &dyn Channel) {
    let Ok(Some(message)) = channel.next_chat().await else {
        return;
    };
    let error = provider.send_chat(&message.text).await.err();
    if let Some(e) = &error {
        tracing::warn!(message_id = %message.id, error = %e, "could not post a chat message");
    }
    let _ = channel.chat_result(&message.id, error.as_deref()).await;
}

async fn snapshot(provider: &mut dyn Provider, channel: &dyn Channel, kind: &str) {
    if let Some(jpeg) = provider.screenshot().await {
        let _ = channel.screenshot(kind, jpeg).await;
    }
}

/// Stops the capture (if one runs), reports `LEAVING` when leaving a call on purpose,
/// leaves, and reports the final status.
async fn finish(
    provider: &mut dyn Provider,
    channel: &dyn Channel,
    capture: Option<&dyn CallCapture>,
    outcome: Outcome,
    was_in_call: bool,
) -> Outcome {
    if let Some(capture) = capture {
        capture.leaving().await;
    }
    tracing::info!(status = outcome.status, sub_code = %outcome.sub_code, message = outcome.message.as_deref().unwrap_or(""), "leaving the meeting");
    if outcome.status == "FATAL" {
        // What the bot saw when it failed: the first thing anyone debugging asks for.
        snapshot(provider, channel, "failure").await;
    }
    if outcome.status == "ENDED" && was_in_call {
        let _ = channel.report_status("LEAVING", Some(&outcome.sub_code), None).await;
    }
    let _ = provider.leave().await;
    // What the call left open (final captions, speakers who stopped) goes before the status.
    let noted = provider.take_events().await;
    if !noted.is_empty() {
        let _ = channel.events(&noted).await;
    }
    let _ = channel
        .report_status(outcome.status, Some(&outcome.sub_code), outcome.message.as_deref())
        .await;
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    type Script = Box<dyn Fn(Duration) -> Observation + Send>;

    /// A provider whose page follows a script over (paused) time.
    struct Scripted {
        start: Instant,
        script: Script,
        left: Arc<Mutex<bool>>,
    }

    #[async_trait]
    impl Provider for Scripted {
        async fn join(&mut self, _name: &str) -> Result<(), String> {
            Ok(())
        }
        async fn observe(&mut self) -> Result<Observation, String> {
            Ok((self.script)(self.start.elapsed()))
        }
        async fn leave(&mut self) -> Result<(), String> {
            *self.left.lock().unwrap() = true;
            Ok(())
        }
    }

    #[derive(Default)]
    struct Recorder {
        statuses: Mutex<Vec<String>>,
        events: Mutex<Vec<Value>>,
        outgoing: Mutex<Vec<OutgoingChat>>,
        chat_results: Mutex<Vec<(String, Option<String>)>>,
        screenshots: Mutex<Vec<String>>,
        /// Answer heartbeats with "leave" from this point on.
        leave_after: Option<Duration>,
        /// Heartbeats fail as unreachable from this point on.
        unreachable_after: Option<Duration>,
        start: Option<Instant>,
    }

    #[async_trait]
    impl Channel for Recorder {
        async fn report_status(
            &self,
            status: &str,
            sub_code: Option<&str>,
            _m: Option<&str>,
        ) -> Result<String, ControlError> {
            let entry = match sub_code {
                Some(c) => format!("{status}/{c}"),
                None => status.to_string(),
            };
            self.statuses.lock().unwrap().push(entry);
            Ok(status.to_string())
        }
        async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError> {
            if let (Some(after), Some(start)) = (self.unreachable_after, self.start)
                && start.elapsed() >= after
            {
                return Err(ControlError::Unreachable("connection refused".into()));
            }
            let leave = match (self.leave_after, self.start) {
                (Some(after), Some(start)) => start.elapsed() >= after,
                _ => false,
            };
            Ok(HeartbeatReply {
                leave,
                reason: leave.then(|| "user_requested".to_string()),
            })
        }
        async fn events(&self, events: &[Value]) -> Result<(), ControlError> {
            self.events.lock().unwrap().extend_from_slice(events);
            Ok(())
        }
        async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError> {
            Ok(self.outgoing.lock().unwrap().pop())
        }
        async fn chat_result(&self, id: &str, error: Option<&str>) -> Result<(), ControlError> {
            self.chat_results
                .lock()
                .unwrap()
                .push((id.to_string(), error.map(str::to_string)));
            Ok(())
        }
        async fn screenshot(&self, kind: &str, _jpeg: Vec<u8>) -> Result<(), ControlError> {
            self.screenshots.lock().unwrap().push(kind.to_string());
            Ok(())
        }
    }

    fn people(names: &[&str]) -> Observation {
        Observation::InCall {
            roster: RosterReading::listing(names),
        }
    }

    fn settings() -> (DriverSettings, tokio::sync::watch::Sender<bool>) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let s = DriverSettings {
            bot_name: "Meeboter Notes".into(),
            automatic_leave: AutomaticLeave {
                waiting_room_timeout_secs: 120,
                noone_joined_timeout_secs: 300,
                everyone_left_timeout_secs: 60,
                max_duration_secs: 4 * 3600,
            },
            heartbeat_every: Duration::from_secs(30),
            control_lost_after: Duration::from_secs(180),
            shutdown: rx,
            notetaker_names: Vec::new(),
            capture: None,
            commands: None,
        };
        (s, tx)
    }

    async fn drive(script: Script, channel: Recorder) -> (Outcome, Vec<String>, Vec<Value>, bool, Duration) {
        let left = Arc::new(Mutex::new(false));
        let start = Instant::now();
        let mut provider = Scripted {
            start,
            script,
            left: left.clone(),
        };
        let (s, _tx) = settings();
        let outcome = run(&mut provider, &channel, s).await;
        let statuses = channel.statuses.lock().unwrap().clone();
        let events = channel.events.lock().unwrap().clone();
        let left = *left.lock().unwrap();
        (outcome, statuses, events, left, start.elapsed())
    }

    fn secs(d: Duration) -> u64 {
        d.as_secs()
    }

    /// A provider in a call with Ada that says she speaks, and leaves a final caption open
    /// until it leaves.
    struct Talking {
        events: Vec<Value>,
    }

    #[async_trait]
    impl Provider for Talking {
        async fn join(&mut self, _name: &str) -> Result<(), String> {
            Ok(())
        }
        async fn observe(&mut self) -> Result<Observation, String> {
            self.events.push(json!({"type": "active_speaker", "participantId": null, "name": "ada  lovelace", "speaking": true, "at": 1}));
            Ok(people(&["Ada Lovelace"]))
        }
        async fn take_events(&mut self) -> Vec<Value> {
            std::mem::take(&mut self.events)
        }
        async fn leave(&mut self) -> Result<(), String> {
            self.events.push(json!({"type": "caption", "captionId": "c-1", "speaker": "Ada Lovelace", "participantId": null, "text": "bye", "isFinal": true, "startMs": 1, "endMs": 2}));
            Ok(())
        }
    }

    /// Statuses and event types in the order they were sent.
    #[derive(Default)]
    struct Ordered(Mutex<Vec<Value>>);

    #[async_trait]
    impl Channel for Ordered {
        async fn report_status(
            &self,
            status: &str,
            _c: Option<&str>,
            _m: Option<&str>,
        ) -> Result<String, ControlError> {
            self.0.lock().unwrap().push(json!({"status": status}));
            Ok(status.to_string())
        }
        async fn heartbeat(&self) -> Result<HeartbeatReply, ControlError> {
            Ok(HeartbeatReply {
                leave: false,
                reason: None,
            })
        }
        async fn events(&self, events: &[Value]) -> Result<(), ControlError> {
            self.0.lock().unwrap().extend_from_slice(events);
            Ok(())
        }
        async fn next_chat(&self) -> Result<Option<OutgoingChat>, ControlError> {
            Ok(None)
        }
        async fn chat_result(&self, _id: &str, _error: Option<&str>) -> Result<(), ControlError> {
            Ok(())
        }
        async fn screenshot(&self, _kind: &str, _jpeg: Vec<u8>) -> Result<(), ControlError> {
            Ok(())
        }
    }

    #[tokio::test(start_paused = true)]
    async fn speech_events_carry_roster_ids_and_the_last_caption_precedes_the_final_status() {
        let mut provider = Talking { events: Vec::new() };
        let channel = Ordered::default();
        let (s, tx) = settings();
        let stop = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            let _ = tx.send(true);
            tokio::time::sleep(Duration::from_secs(60)).await;
        });
        let outcome = run(&mut provider, &channel, s).await;
        stop.abort();
        assert_eq!(outcome.sub_code, sub_code::PLATFORM_STOPPED);
        let log = channel.0.lock().unwrap().clone();
        let speaker = log.iter().find(|e| e["type"] == "active_speaker").unwrap();
        // The roster's id for Ada (a listing keys people by their lower-cased name).
        assert_eq!(speaker["participantId"], "ada lovelace");
        let at = |pred: &dyn Fn(&Value) -> bool| log.iter().position(pred).unwrap();
        let caption = at(&|e| e["type"] == "caption");
        let last = at(&|e| e["status"] == "ENDED");
        assert!(caption < last, "{log:?}");
        assert_eq!(last, log.len() - 1);
    }

    #[tokio::test(start_paused = true)]
    async fn lobby_then_admitted_then_everyone_leaves() {
        let script: Script = Box::new(|t| match secs(t) {
            0..5 => Observation::Joining,
            5..20 => Observation::WaitingRoom,
            20..40 => people(&["Fireflies.ai Notetaker"]),
            40..100 => people(&["Ada Lovelace", "Fireflies.ai Notetaker"]),
            // Only the other notetaker is left: that is "everyone left".
            _ => people(&["Fireflies.ai Notetaker"]),
        });
        let (outcome, statuses, events, left, took) = drive(script, Recorder::default()).await;
        assert_eq!(
            statuses,
            [
                "JOINING_CALL",
                "IN_WAITING_ROOM",
                "IN_CALL",
                "LEAVING/everyone_left",
                "ENDED/everyone_left"
            ]
        );
        assert_eq!(outcome, Outcome::ended("everyone_left"));
        assert!(left, "left the call politely");
        assert!((160..=162).contains(&secs(took)), "{took:?}");
        let kinds: Vec<(String, bool)> = events
            .iter()
            .map(|e| {
                (
                    format!("{} {}", e["type"].as_str().unwrap(), e["name"].as_str().unwrap()),
                    e["isBot"] == true,
                )
            })
            .collect();
        assert_eq!(
            kinds,
            [
                ("participant_join Fireflies.ai Notetaker".to_string(), true),
                ("participant_join Ada Lovelace".to_string(), false),
                ("participant_leave Ada Lovelace".to_string(), false),
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn no_one_joining_ends_the_bot_after_its_timeout() {
        let (outcome, statuses, ..) = drive(Box::new(|_| people(&["Otter.ai"])), Recorder::default()).await;
        assert_eq!(outcome, Outcome::ended("noone_joined"));
        assert_eq!(statuses.last().unwrap(), "ENDED/noone_joined");
    }

    #[tokio::test(start_paused = true)]
    async fn blocking_screens_and_hard_signals_act_at_once() {
        let denied: Script = Box::new(|t| {
            if t < Duration::from_secs(3) {
                Observation::WaitingRoom
            } else {
                Observation::Blocked {
                    sub_code: "join_denied".into(),
                    message: "Someone in the meeting denied your request to join".into(),
                }
            }
        });
        let (outcome, statuses, ..) = drive(denied, Recorder::default()).await;
        assert_eq!(outcome.status, "FATAL");
        assert_eq!(statuses, ["JOINING_CALL", "IN_WAITING_ROOM", "FATAL/join_denied"]);

        let kicked: Script = Box::new(|t| {
            if secs(t) < 10 {
                people(&["Ada"])
            } else {
                Observation::Removed
            }
        });
        let (outcome, _, _, _, took) = drive(kicked, Recorder::default()).await;
        assert_eq!(outcome, Outcome::ended("kicked"));
        assert!(secs(took) <= 11);

        let ended: Script = Box::new(|t| {
            if secs(t) < 10 {
                people(&["Ada"])
            } else {
                Observation::MeetingEnded
            }
        });
        assert_eq!(
            drive(ended, Recorder::default()).await.0,
            Outcome::ended("meeting_ended")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_short_blip_is_not_a_removal_but_a_long_absence_is() {
        // In-call indicators vanish for 20 s (reconnecting), then for good at 100 s.
        let script: Script = Box::new(|t| match secs(t) {
            40..60 => Observation::Unknown { text: String::new() },
            100.. => Observation::Unknown { text: String::new() },
            _ => people(&["Ada"]),
        });
        let (outcome, _, _, _, took) = drive(script, Recorder::default()).await;
        assert_eq!(outcome, Outcome::ended("kicked"));
        assert!(
            (129..=132).contains(&secs(took)),
            "removed only after the debounce: {took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_too_long_in_the_lobby_gives_up() {
        let (outcome, statuses, ..) = drive(Box::new(|_| Observation::WaitingRoom), Recorder::default()).await;
        assert_eq!(outcome, Outcome::ended("waiting_room_timeout"));
        assert_eq!(
            statuses,
            ["JOINING_CALL", "IN_WAITING_ROOM", "ENDED/waiting_room_timeout"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_pushed_leave_acts_within_a_second_and_is_acknowledged_by_leaving() {
        let left = Arc::new(Mutex::new(false));
        let mut provider = Scripted {
            start: Instant::now(),
            script: Box::new(|_| people(&["Ada"])),
            left: left.clone(),
        };
        let channel = Recorder::default();
        let (mut s, _tx) = settings();
        let (push, commands) = tokio::sync::watch::channel(crate::commands::Pushed::default());
        s.commands = Some(commands);
        let asked = Duration::from_millis(10_300);
        let pusher = tokio::spawn(async move {
            tokio::time::sleep(asked).await;
            push.send_modify(|p| p.leave = Some("user_requested".into()));
            push
        });
        let start = Instant::now();
        let outcome = run(&mut provider, &channel, s).await;
        let took = start.elapsed();
        drop(pusher.await.unwrap());
        assert_eq!(outcome, Outcome::ended("user_requested"));
        assert!(took - asked < Duration::from_millis(100), "{took:?}");
        assert!(*left.lock().unwrap());
        assert_eq!(
            channel.statuses.lock().unwrap().as_slice(),
            [
                "JOINING_CALL",
                "IN_CALL",
                "LEAVING/user_requested",
                "ENDED/user_requested"
            ]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_screen_nobody_knows_is_reported_within_seconds_with_its_words() {
        let script: Script = Box::new(|t| {
            if secs(t) < 2 {
                Observation::Joining
            } else {
                Observation::Unknown {
                    text: "Something unexpected happened".into(),
                }
            }
        });
        let (outcome, statuses, _, _, took) = drive(script, Recorder::default()).await;
        assert_eq!((outcome.status, outcome.sub_code.as_str()), ("FATAL", "unknown_screen"));
        assert!(outcome.message.unwrap().contains("Something unexpected happened"));
        assert_eq!(statuses, ["JOINING_CALL", "FATAL/unknown_screen"]);
        assert!((12..=13).contains(&secs(took)), "{took:?}");
        // A page that is merely slow to show its pre-join form is not unknown for long.
        let flicker: Script = Box::new(|t| match secs(t) {
            0..8 => Observation::Unknown { text: String::new() },
            8..12 => Observation::Joining,
            12..18 => Observation::Unknown { text: String::new() },
            _ => Observation::MeetingEnded,
        });
        assert_eq!(
            drive(flicker, Recorder::default()).await.0,
            Outcome::ended("meeting_ended")
        );
    }

    #[tokio::test(start_paused = true)]
    async fn refusals_are_named_by_phase_a_removal_before_admission_is_a_denial() {
        let removed_in_lobby: Script = Box::new(|t| {
            if secs(t) < 3 {
                Observation::WaitingRoom
            } else {
                Observation::Removed
            }
        });
        let (outcome, statuses, ..) = drive(removed_in_lobby, Recorder::default()).await;
        assert_eq!((outcome.status, outcome.sub_code.as_str()), ("FATAL", "join_denied"));
        assert_eq!(statuses, ["JOINING_CALL", "IN_WAITING_ROOM", "FATAL/join_denied"]);
        // The client giving up on the lobby is a lobby timeout, not a denial.
        let no_response: Script = Box::new(|t| {
            if secs(t) < 3 {
                Observation::WaitingRoom
            } else {
                Observation::Blocked {
                    sub_code: "waiting_room_timeout".into(),
                    message: "No one responded to your request to join the call".into(),
                }
            }
        });
        let (outcome, statuses, ..) = drive(no_response, Recorder::default()).await;
        assert_eq!(outcome, Outcome::ended("waiting_room_timeout"));
        assert_eq!(
            statuses,
            ["JOINING_CALL", "IN_WAITING_ROOM", "ENDED/waiting_room_timeout"]
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_heartbeat_answer_makes_the_bot_leave() {
        let channel = Recorder {
            leave_after: Some(Duration::from_secs(45)),
            start: Some(Instant::now()),
            ..Default::default()
        };
        let (outcome, statuses, _, left, took) = drive(Box::new(|_| people(&["Ada"])), channel).await;
        assert_eq!(outcome, Outcome::ended("user_requested"));
        assert_eq!(statuses.last().unwrap(), "ENDED/user_requested");
        assert!(left);
        // Heartbeats every 30 s: the request is seen at the second one after it.
        assert_eq!(secs(took), 60);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bot_that_loses_its_server_for_good_leaves() {
        // The server goes away at 100 s; the bot gives up 180 s after its last answer
        // (heartbeats at 90 s answered, then every 30 s refused: the first at ≥ 270 s).
        let channel = Recorder {
            unreachable_after: Some(Duration::from_secs(100)),
            start: Some(Instant::now()),
            ..Default::default()
        };
        let (outcome, statuses, _, left, took) = drive(Box::new(|_| people(&["Ada"])), channel).await;
        assert_eq!(
            (outcome.status, outcome.sub_code.as_str()),
            ("FATAL", "heartbeat_timeout")
        );
        assert!(
            outcome.message.as_deref().unwrap().contains("has not answered"),
            "{outcome:?}"
        );
        assert_eq!(statuses.last().unwrap(), "FATAL/heartbeat_timeout");
        assert!(left, "it leaves the meeting");
        assert_eq!(secs(took), 270);
    }

    #[tokio::test(start_paused = true)]
    async fn sigterm_makes_the_bot_leave_politely() {
        let left = Arc::new(Mutex::new(false));
        let mut provider = Scripted {
            start: Instant::now(),
            script: Box::new(|_| people(&["Ada"])),
            left: left.clone(),
        };
        let channel = Recorder::default();
        let (s, tx) = settings();
        let stopper = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(10)).await;
            tx.send(true).unwrap();
            tx
        });
        let outcome = run(&mut provider, &channel, s).await;
        let _tx = stopper.await.unwrap();
        assert_eq!(outcome, Outcome::ended("platform_stopped"));
        assert!(*left.lock().unwrap());
        assert_eq!(
            channel.statuses.lock().unwrap().as_slice(),
            [
                "JOINING_CALL",
                "IN_CALL",
                "LEAVING/platform_stopped",
                "ENDED/platform_stopped"
            ]
        );
    }

    /// In a call with Ada; chat arrives at 5 s (one line is the bot's own), the meeting ends
    /// at 20 s; posting works unless the text says "fail".
    struct Chatty {
        start: Instant,
        delivered: bool,
        sent: Arc<Mutex<Vec<String>>>,
    }

    #[async_trait]
    impl Provider for Chatty {
        async fn join(&mut self, _name: &str) -> Result<(), String> {
            Ok(())
        }
        async fn observe(&mut self) -> Result<Observation, String> {
            Ok(if self.start.elapsed() < Duration::from_secs(20) {
                people(&["Ada"])
            } else {
                Observation::MeetingEnded
            })
        }
        async fn leave(&mut self) -> Result<(), String> {
            Ok(())
        }
        async fn take_chat(&mut self) -> Vec<ChatLine> {
            if self.delivered || self.start.elapsed() < Duration::from_secs(5) {
                return Vec::new();
            }
            self.delivered = true;
            let line = |sender: &str, text: &str| ChatLine {
                sender: sender.into(),
                text: text.into(),
                own: false,
            };
            vec![
                line("Ada", "hello"),
                line("You", "own message"),
                line("meeboter notes", "own message, by name"),
            ]
        }
        async fn send_chat(&mut self, text: &str) -> Result<(), String> {
            if text.contains("fail") {
                return Err("no chat input".into());
            }
            self.sent.lock().unwrap().push(text.to_string());
            Ok(())
        }
        async fn screenshot(&mut self) -> Option<Vec<u8>> {
            Some(vec![0xff, 0xd8])
        }
    }

    #[tokio::test(start_paused = true)]
    async fn chat_is_relayed_both_ways_and_screenshots_are_taken() {
        let sent = Arc::new(Mutex::new(Vec::new()));
        let mut provider = Chatty {
            start: Instant::now(),
            delivered: false,
            sent: sent.clone(),
        };
        let channel = Recorder::default();
        channel.outgoing.lock().unwrap().extend([
            OutgoingChat {
                id: "m2".into(),
                text: "this will fail".into(),
            },
            OutgoingChat {
                id: "m1".into(),
                text: "Notes will follow".into(),
            },
        ]);
        let (s, _tx) = settings();
        let outcome = run(&mut provider, &channel, s).await;
        assert_eq!(outcome, Outcome::ended("meeting_ended"));
        assert_eq!(sent.lock().unwrap().as_slice(), ["Notes will follow"]);
        assert_eq!(
            channel.chat_results.lock().unwrap().as_slice(),
            [
                ("m1".to_string(), None),
                ("m2".to_string(), Some("no chat input".to_string()))
            ]
        );
        let received: Vec<Value> = channel
            .events
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e["type"] == "chat_received")
            .cloned()
            .collect();
        assert_eq!(
            received,
            [json!({"type": "chat_received", "sender": "Ada", "text": "hello"})]
        );
        assert_eq!(channel.screenshots.lock().unwrap().as_slice(), ["in_call"]);
    }

    /// A capture that writes `capture:start@<s>` / `capture:stop@<s>` into the channel's
    /// status list, so its place among the reports (and its time) can be checked.
    struct Journal {
        channel: Arc<Recorder>,
        start: Instant,
    }

    #[async_trait]
    impl CallCapture for Journal {
        async fn started_call(&self) {
            let at = self.start.elapsed().as_secs();
            self.channel
                .statuses
                .lock()
                .unwrap()
                .push(format!("capture:start@{at}"));
        }
        async fn leaving(&self) {
            let at = self.start.elapsed().as_secs();
            self.channel.statuses.lock().unwrap().push(format!("capture:stop@{at}"));
        }
    }

    /// Runs `script` with a journal capture; returns the statuses with the capture's marks.
    async fn captured(script: Script, channel: Recorder, stop_at: Option<Duration>) -> Vec<String> {
        let channel = Arc::new(channel);
        let start = Instant::now();
        let mut provider = Scripted {
            start,
            script,
            left: Arc::new(Mutex::new(false)),
        };
        let (mut s, tx) = settings();
        s.capture = Some(Arc::new(Journal {
            channel: channel.clone(),
            start,
        }));
        let stopper = tokio::spawn(async move {
            if let Some(at) = stop_at {
                tokio::time::sleep(at).await;
                let _ = tx.send(true);
            }
            tx
        });
        run(&mut provider, channel.as_ref(), s).await;
        drop(stopper.await.unwrap());
        channel.statuses.lock().unwrap().clone()
    }

    #[tokio::test(start_paused = true)]
    async fn capture_runs_from_admission_to_leaving_and_never_in_the_lobby() {
        let script: Script = Box::new(|t| match secs(t) {
            0..5 => Observation::Joining,
            5..20 => Observation::WaitingRoom,
            20..50 => people(&["Ada"]),
            _ => Observation::MeetingEnded,
        });
        assert_eq!(
            captured(script, Recorder::default(), None).await,
            [
                "JOINING_CALL",
                "IN_WAITING_ROOM",
                "IN_CALL",
                "capture:start@20",
                "capture:stop@50",
                "ENDED/meeting_ended"
            ]
        );
        // Leaving on purpose (SIGTERM at 30.5 s, seen at once: the pause between looks wakes
        // on it): the capture stops before LEAVING is even reported.
        let script: Script = Box::new(|t| {
            if secs(t) < 3 {
                Observation::Joining
            } else {
                people(&["Ada"])
            }
        });
        assert_eq!(
            captured(script, Recorder::default(), Some(Duration::from_millis(30_500))).await,
            [
                "JOINING_CALL",
                "IN_CALL",
                "capture:start@3",
                "capture:stop@30",
                "LEAVING/platform_stopped",
                "ENDED/platform_stopped"
            ]
        );
        // Kicked after a long absence of the call: stopped once, before the final status.
        let script: Script = Box::new(|t| {
            if secs(t) < 10 {
                people(&["Ada"])
            } else {
                Observation::Unknown { text: String::new() }
            }
        });
        let statuses = captured(script, Recorder::default(), None).await;
        assert_eq!(statuses[2..], ["capture:start@0", "capture:stop@40", "ENDED/kicked"]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_bot_that_never_gets_in_never_captures() {
        let lobby_forever: Script = Box::new(|_| Observation::WaitingRoom);
        assert_eq!(
            captured(lobby_forever, Recorder::default(), None).await,
            ["JOINING_CALL", "IN_WAITING_ROOM", "ENDED/waiting_room_timeout"]
        );
        let denied: Script = Box::new(|t| {
            if secs(t) < 5 {
                Observation::WaitingRoom
            } else {
                Observation::Blocked {
                    sub_code: "join_denied".into(),
                    message: "denied".into(),
                }
            }
        });
        assert_eq!(
            captured(denied, Recorder::default(), None).await,
            ["JOINING_CALL", "IN_WAITING_ROOM", "FATAL/join_denied"]
        );
        let stopped_in_lobby: Script = Box::new(|_| Observation::WaitingRoom);
        assert_eq!(
            captured(stopped_in_lobby, Recorder::default(), Some(Duration::from_secs(10))).await,
            ["JOINING_CALL", "IN_WAITING_ROOM", "ENDED/platform_stopped"]
        );
    }

    #[test]
    fn notetakers_and_the_bot_itself_are_not_people() {
        assert!(looks_like_a_bot("Fireflies.ai Notetaker", "Meeboter"));
        assert!(looks_like_a_bot("meeboter", "Meeboter"));
        assert!(looks_like_a_bot("Otter.ai", "x"));
        assert!(!looks_like_a_bot("Ada Lovelace", "Meeboter"));
        // The server's list replaces the built-in one.
        let custom = vec!["scribe".to_string()];
        assert!(is_bot_name("Team Scribe", "Meeboter", &custom));
        assert!(!is_bot_name("Otter.ai", "Meeboter", &custom));
        assert!(is_bot_name("meeboter", "Meeboter", &custom));
    }
}

//! Replica meetings: local pages that reproduce the markup contract of the real web
//! clients (the same labels, texts and flows the providers rely on), plus a control API
//! to script what the host and the other people do.
//!
//! They are fixtures, not the spec: providers follow the real clients
//! (`docs/research/meeting-web-clients.md` and `docs/research/signals-*.md`), and the replicas
//! show the variety those notes record, by default the most realistic variant. The call
//! screen plays a steady tone and draws moving content, so a recording of it can be checked.
//!
//! Routes (`code` is the meeting's id):
//! - `GET /{code}` — the page a bot opens (Zoom also: `/wc/{code}/join`, `/wc/join/{code}`,
//!   `/j/{code}` landing, and `?fromPWA=1`, which renders the client inside an iframe).
//! - `PUT /_replica/{code}` — (re)configure; every field is optional and keeps its value when
//!   left out:
//!   - `lobby` (bool): guests wait in the lobby until admitted; `admitAfterSecs`: lobby, and
//!     admitted that long after asking; `toneHz`: the call's tone (default 440).
//!   - `block`: a screen shown instead of the normal flow; `""` clears it. All platforms:
//!     `not_found`, `sign_in`, `captcha`, `locked`, `unknown` (an unrelated page, no known
//!     controls). Teams also `blocked` ("Sorry, we couldn't connect you.") and
//!     `sign_in_redirect` (only a Microsoft sign-in form); Teams' `not_found` and `blocked`
//!     appear after Join (its pre-join renders for any id). Zoom also `passcode_wrong`
//!     (passcode field stays invalid after Join) and `bot_wall` (pre-join with the bot notice
//!     and a Join that never enables).
//!   - `dialogs`: `[{"kind", "at"}]`, `at` = `prejoin` | `afterJoin` | `call` (default:
//!     `prejoin` for `permission`, `afterJoin` for `audio_video`, else `call`). Each is shown
//!     once per page at that phase, over an overlay that swallows clicks, until one of its
//!     buttons is clicked; the answers are in `dialogsAnswered`. Kinds — Meet: `permission`,
//!     `recording` (the call's media waits for it; Leave leaves), `got_it`; Teams:
//!     `audio_video`, `got_it`; Zoom: `permission`, `join_audio` (media waits for it),
//!     `recording`, `ai_companion`. Unknown kinds are ignored by the page.
//!   - `lobbyText`: index or literal text (`{name}` = the guest's name). Meet 0 "Please wait
//!     until a meeting host brings you into the call." (default), 1 "Asking to be let in…";
//!     Teams 0 "Hi, {name}. Someone will let you in when the meeting starts.", 1 "Someone in
//!     the meeting should let you in soon" (default), 2 "When the meeting starts, we'll let
//!     people know you're waiting."; Zoom 0 "Please wait, the meeting host will let you in
//!     soon." (default), 1 "Host has joined. We've let them know you're here".
//!   - Teams: `teamsLauncher` (default true; false = straight to pre-join), `teamsRowPrefix`
//!     (roster row `data-tid` prefix, default `participantsInCall-`, e.g. `attendeesInMeeting-`),
//!     `teamsJoinAgainAfterDialog` (default true: after an `afterJoin` dialog, Join must be
//!     clicked again; false: answering it continues the join).
//!   - Zoom: `zoomFooterAutoHide` (default true: `#wc-footer` gets `display:none` 3 s after
//!     admission and after each mouse move), `zoomDenyText` (default "You have been removed
//!     from this meeting", like a kick; e.g. "The host has denied your request"),
//!     `zoomPasscodeText` (default "Passcode wrong"; e.g. "Incorrect passcode").
//!
//!   `GET` reads the state: the config above, `guests` (`id`, `name`, `screen`), `people`
//!   (names), `persons` (people with `role`, `qualifier`, `cameraOn`), `chat`,
//!   `dialogsAnswered` (`[{kind, at, button}]`, `button` = the clicked button's text).
//! - `POST /_replica/{code}/{admit|deny|kick|end|away|timeout}` — the host's actions (on every
//!   guest; `away` sends the guests' pages off the meeting, to another origin; `timeout` ends
//!   a lobby wait unanswered: Meet "No one responded…", Teams back to an enabled pre-join
//!   (screen `prejoin`), Zoom like `deny`).
//! - `POST /_replica/{code}/participants` `{"name", "role"?, "qualifier"?, "cameraOn"?}`
//!   (`role` e.g. `Organizer` | `Host` | `Co-host`; `qualifier` e.g. `(Guest)` |
//!   `(Unverified)` | `(External)`), `DELETE …/participants/{name}`.
//! - `POST /_replica/{code}/chat` `{"sender", "text"}` — someone in the call writes.
//! - `POST /_replica/{code}/captions` `{"speaker", "text", "wordsPerSec"?}` (default 4) —
//!   someone says a line: while it lasts (words ÷ rate) their tile shows them speaking, and
//!   pages with captions on show it word by word in the caption region (then settled, for
//!   [`SPEECH_KEPT`]). Answers `{"id", "durationMs"}`. Captions are per page, off until the
//!   guest turns them on (Meet: the captions button or `c`; Teams: More → Language and
//!   speech → Turn on live captions; Zoom: Show Captions).
//!   Config `captionsDisabled` (bool): the client's captions control shows its
//!   not-available state and captions never show.
//! - `POST /_replica/{code}/speech` — the people of [`speech::SCRIPT`] (three, with distinct
//!   `espeak-ng` voices, ~45 s) hold a short conversation, starting [`speech::LEAD`] later:
//!   each line's WAV (synthesized once, cached by content hash) plays through the call's audio
//!   (the tone is silent meanwhile), the speaker's tile shows them speaking exactly while it
//!   plays, and pages with captions on show the line growing word by word at the audio's pace,
//!   then settled — as `…/captions` does. Speakers not yet in the call join it. Answers
//!   `{"lines": [{"id", "speaker", "text", "startMs", "durationMs"}], "durationMs"}` (offsets
//!   from now); 503 `speech_unavailable` if `espeak-ng` cannot run. Pages fetch the audio from
//!   `GET …/speech/{key}.wav`.
//! - `POST /_replica/{code}/blip` `{"secs"}` — the guests' connection drops for a while.
//! - What the page itself calls: `POST /_replica/{code}/guests` `{"name"}`,
//!   `GET …/guests/{id}`, `POST …/guests/{id}/leave`, `POST …/guests/{id}/chat` `{"text"}`,
//!   `POST /_replica/{code}/dialogs` `{"kind", "at", "button"}` (a dialog was answered).

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::{StatusCode, Uri, header};
use axum::response::Html;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub mod speech;

const COMMON_JS: &str = include_str!("pages/common.js");
const MEET_PAGE: &str = include_str!("pages/meet.html");
const TEAMS_PAGE: &str = include_str!("pages/teams.html");
const ZOOM_PAGE: &str = include_str!("pages/zoom.html");
const ZOOM_PWA_PAGE: &str = include_str!("pages/zoom_pwa.html");
const ZOOM_LANDING_PAGE: &str = include_str!("pages/zoom_landing.html");

/// The frequency of the call's tone unless configured otherwise.
pub const DEFAULT_TONE_HZ: u32 = 440;

/// The dialog phases a config may name.
const PHASES: [&str; 3] = ["prejoin", "afterJoin", "call"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Platform {
    Meet,
    Teams,
    Zoom,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Lobby,
    Call,
    Denied,
    /// Meet: nobody answered the knock.
    Timeout,
    /// Teams: the lobby wait expired and the page is back at an enabled pre-join.
    Prejoin,
    Removed,
    Ended,
    Left,
    /// The page navigated away from the meeting.
    Away,
}

impl Screen {
    fn as_str(&self) -> &'static str {
        match self {
            Screen::Lobby => "lobby",
            Screen::Call => "call",
            Screen::Denied => "denied",
            Screen::Timeout => "timeout",
            Screen::Prejoin => "prejoin",
            Screen::Removed => "removed",
            Screen::Ended => "ended",
            Screen::Left => "left",
            Screen::Away => "away",
        }
    }
}

#[derive(Debug)]
struct Guest {
    name: String,
    screen: Screen,
    joined: Instant,
}

/// Someone in the call who is not a guest of a page.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct Person {
    name: String,
    #[serde(default)]
    role: Option<String>,
    #[serde(default)]
    qualifier: Option<String>,
    #[serde(default)]
    camera_on: bool,
}

#[derive(Debug, Clone)]
struct ChatLine {
    id: u64,
    sender: String,
    text: String,
    /// Set when a guest (a page, i.e. a bot) wrote it.
    guest_id: Option<String>,
    /// Wall-clock time, milliseconds since the epoch (pages show it as "2:44 PM").
    at_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct DialogSpec {
    kind: String,
    #[serde(default)]
    at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
struct DialogAnswer {
    kind: String,
    #[serde(default)]
    at: Option<String>,
    button: String,
}

#[derive(Debug)]
struct Meeting {
    /// Guests wait in the lobby until admitted (otherwise they join directly).
    lobby: bool,
    /// Guests in the lobby are admitted this long after asking.
    admit_after: Option<Duration>,
    /// A screen shown instead of the pre-join page.
    block: Option<String>,
    tone_hz: u32,
    ended: bool,
    guests: BTreeMap<String, Guest>,
    /// Other people in the call (not guests of this page).
    people: Vec<Person>,
    chat: Vec<ChatLine>,
    /// Guests in the call see a reconnecting screen until then.
    blip_until: Option<Instant>,
    next_id: u64,
    dialogs: Vec<DialogSpec>,
    dialogs_answered: Vec<DialogAnswer>,
    lobby_text: Option<Value>,
    teams_launcher: bool,
    teams_row_prefix: String,
    teams_join_again_after_dialog: bool,
    zoom_footer_auto_hide: bool,
    zoom_deny_text: Option<String>,
    zoom_passcode_text: Option<String>,
    captions_disabled: bool,
    speech: Vec<Utterance>,
}

/// A line someone says (`POST …/captions`).
#[derive(Debug)]
struct Utterance {
    id: u64,
    speaker: String,
    words: Vec<String>,
    words_per_sec: f64,
    /// When it starts (a script schedules its lines ahead).
    started: Instant,
    /// The cache key of its spoken audio (`POST …/speech`), played by the pages.
    audio: Option<String>,
}

/// How long a finished line stays in the caption region.
pub const SPEECH_KEPT: Duration = Duration::from_secs(20);

impl Utterance {
    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.words.len() as f64 / self.words_per_sec)
    }
    /// The words said by `now` (the first at once).
    fn said(&self, now: Instant) -> usize {
        let secs = now.duration_since(self.started).as_secs_f64();
        ((secs * self.words_per_sec) as usize + 1).min(self.words.len())
    }
    fn speaking(&self, now: Instant) -> bool {
        self.begun(now) && now.duration_since(self.started) < self.duration()
    }
    fn begun(&self, now: Instant) -> bool {
        self.started <= now
    }
}

impl Default for Meeting {
    fn default() -> Self {
        Self {
            lobby: false,
            admit_after: None,
            block: None,
            tone_hz: DEFAULT_TONE_HZ,
            ended: false,
            guests: BTreeMap::new(),
            people: Vec::new(),
            chat: Vec::new(),
            blip_until: None,
            next_id: 0,
            dialogs: Vec::new(),
            dialogs_answered: Vec::new(),
            lobby_text: None,
            teams_launcher: true,
            teams_row_prefix: "participantsInCall-".to_string(),
            teams_join_again_after_dialog: true,
            zoom_footer_auto_hide: true,
            zoom_deny_text: None,
            zoom_passcode_text: None,
            captions_disabled: false,
            speech: Vec::new(),
        }
    }
}

/// The phase a dialog shows at when the config does not say.
fn default_phase(kind: &str) -> &'static str {
    match kind {
        "permission" => "prejoin",
        "audio_video" => "afterJoin",
        _ => "call",
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Meeting {
    fn configure(&mut self, c: Config) -> Result<(), String> {
        if let Some(dialogs) = &c.dialogs {
            for d in dialogs {
                if let Some(at) = &d.at
                    && !PHASES.contains(&at.as_str())
                {
                    return Err(format!("dialog {:?}: `at` must be one of {PHASES:?}", d.kind));
                }
            }
        }
        if let Some(lobby) = c.lobby {
            self.lobby = lobby;
        }
        if let Some(secs) = c.admit_after_secs {
            self.lobby = true;
            self.admit_after = Some(Duration::from_secs(secs));
        }
        if let Some(block) = c.block {
            self.block = (!block.is_empty()).then_some(block);
        }
        if let Some(hz) = c.tone_hz {
            self.tone_hz = hz;
        }
        if let Some(dialogs) = c.dialogs {
            self.dialogs = dialogs
                .into_iter()
                .map(|d| DialogSpec {
                    at: Some(d.at.unwrap_or_else(|| default_phase(&d.kind).to_string())),
                    kind: d.kind,
                })
                .collect();
        }
        if let Some(text) = c.lobby_text {
            self.lobby_text = (!text.is_null()).then_some(text);
        }
        if let Some(on) = c.teams_launcher {
            self.teams_launcher = on;
        }
        if let Some(prefix) = c.teams_row_prefix {
            self.teams_row_prefix = prefix;
        }
        if let Some(again) = c.teams_join_again_after_dialog {
            self.teams_join_again_after_dialog = again;
        }
        if let Some(hide) = c.zoom_footer_auto_hide {
            self.zoom_footer_auto_hide = hide;
        }
        if let Some(text) = c.zoom_deny_text {
            self.zoom_deny_text = (!text.is_empty()).then_some(text);
        }
        if let Some(text) = c.zoom_passcode_text {
            self.zoom_passcode_text = (!text.is_empty()).then_some(text);
        }
        if let Some(disabled) = c.captions_disabled {
            self.captions_disabled = disabled;
        }
        Ok(())
    }

    /// What pages need to know of the config (sent at load and with every poll).
    fn config_json(&self) -> Value {
        json!({
            "lobby": self.lobby,
            "block": self.block,
            "toneHz": self.tone_hz,
            "dialogs": self.dialogs,
            "lobbyText": self.lobby_text,
            "teamsLauncher": self.teams_launcher,
            "teamsRowPrefix": self.teams_row_prefix,
            "teamsJoinAgainAfterDialog": self.teams_join_again_after_dialog,
            "zoomFooterAutoHide": self.zoom_footer_auto_hide,
            "zoomDenyText": self.zoom_deny_text,
            "zoomPasscodeText": self.zoom_passcode_text,
            "captionsDisabled": self.captions_disabled,
        })
    }

    fn chat_json(&self) -> Vec<Value> {
        self.chat
            .iter()
            .map(|c| json!({"id": c.id, "sender": c.sender, "text": c.text, "guestId": c.guest_id, "at": c.at_ms}))
            .collect()
    }

    fn state_json(&self) -> Value {
        let guests: Vec<Value> = self
            .guests
            .iter()
            .map(|(id, g)| json!({"id": id, "name": g.name, "screen": g.screen.as_str()}))
            .collect();
        let mut state = self.config_json();
        let extra = json!({
            "ended": self.ended,
            "guests": guests,
            "people": self.people.iter().map(|p| p.name.clone()).collect::<Vec<_>>(),
            "persons": self.people,
            "chat": self.chat_json(),
            "dialogsAnswered": self.dialogs_answered,
        });
        if let (Some(state), Value::Object(extra)) = (state.as_object_mut(), extra) {
            state.extend(extra);
        }
        state
    }

    fn host_action(&mut self, platform: Platform, action: &str) {
        if action == "end" {
            self.ended = true;
        }
        for guest in self.guests.values_mut() {
            guest.screen = match (action, guest.screen.clone()) {
                ("admit", Screen::Lobby) => Screen::Call,
                ("deny", Screen::Lobby) => Screen::Denied,
                ("timeout", Screen::Lobby) => match platform {
                    Platform::Meet => Screen::Timeout,
                    Platform::Teams => Screen::Prejoin,
                    Platform::Zoom => Screen::Denied,
                },
                ("kick", Screen::Call) => Screen::Removed,
                ("end", Screen::Call | Screen::Lobby) => Screen::Ended,
                ("away", Screen::Call) => Screen::Away,
                (_, same) => same,
            };
        }
    }

    fn add_guest(&mut self, name: String) -> String {
        self.next_id += 1;
        let id = format!("g{}", self.next_id);
        let screen = if self.ended {
            Screen::Ended
        } else if self.lobby {
            Screen::Lobby
        } else {
            Screen::Call
        };
        self.guests.insert(
            id.clone(),
            Guest {
                name,
                screen,
                joined: Instant::now(),
            },
        );
        id
    }

    /// What one guest's page sees (and the lobby's timed admission).
    fn guest_json(&mut self, code: &str, id: &str) -> Value {
        let now = Instant::now();
        if let (Some(after), Some(guest)) = (self.admit_after, self.guests.get_mut(id))
            && guest.screen == Screen::Lobby
            && now.duration_since(guest.joined) >= after
        {
            guest.screen = Screen::Call;
        }
        let blipping = self.blip_until.is_some_and(|until| now < until);
        let screen = match self.guests.get(id) {
            Some(g) if g.screen == Screen::Call && blipping => "reconnecting",
            Some(g) => g.screen.as_str(),
            None => "left",
        };
        let mut participants: Vec<Value> = self
            .guests
            .iter()
            .filter(|(_, g)| g.screen == Screen::Call)
            .map(|(gid, g)| {
                json!({
                    "id": format!("spaces/{code}/devices/{gid}"),
                    "name": g.name,
                    "role": null,
                    "qualifier": null,
                    "cameraOn": false,
                    "self": gid == id,
                })
            })
            .collect();
        participants.extend(self.people.iter().map(|p| {
            json!({
                "id": format!("spaces/{code}/people/{}", p.name),
                "name": p.name,
                "role": p.role,
                "qualifier": p.qualifier,
                "cameraOn": p.camera_on,
                "self": false,
            })
        }));
        self.speech
            .retain(|u| now.duration_since(u.started) < u.duration() + SPEECH_KEPT);
        let speech: Vec<Value> = self
            .speech
            .iter()
            .filter(|u| u.begun(now))
            .map(|u| {
                json!({
                    "id": u.id,
                    "speaker": u.speaker,
                    "text": u.words[..u.said(now)].join(" "),
                    "speaking": u.speaking(now),
                })
            })
            .collect();
        // Spoken lines still to be heard: when they start (negative: started that long ago),
        // so a page schedules them on its own audio clock.
        let audio: Vec<Value> = self
            .speech
            .iter()
            .filter(|u| now < u.started + u.duration())
            .filter_map(|u| {
                let key = u.audio.as_ref()?;
                let starts_in = if u.started >= now {
                    i64::try_from(u.started.duration_since(now).as_millis()).unwrap_or(i64::MAX)
                } else {
                    -i64::try_from(now.duration_since(u.started).as_millis()).unwrap_or(i64::MAX)
                };
                Some(json!({"id": u.id, "key": key, "startsInMs": starts_in}))
            })
            .collect();
        json!({
            "screen": screen,
            "speech": speech,
            "audio": audio,
            "participants": participants,
            "chat": self.chat_json(),
            "toneHz": self.tone_hz,
            "config": self.config_json(),
        })
    }

    /// Someone says `text`; returns its id and how long it lasts.
    fn say(&mut self, speaker: String, text: &str, words_per_sec: f64) -> (u64, Duration) {
        self.next_id += 1;
        let utterance = Utterance {
            id: self.next_id,
            speaker,
            words: text.split_whitespace().map(str::to_string).collect(),
            words_per_sec: if words_per_sec > 0.0 { words_per_sec } else { 4.0 },
            started: Instant::now(),
            audio: None,
        };
        let answer = (utterance.id, utterance.duration());
        self.speech.push(utterance);
        answer
    }

    /// Schedules a spoken script: each line starts after the previous one and a gap, the
    /// first after `lead`; its words are shown at the pace of its audio. People not yet in
    /// the call join it. Returns the schedule (offsets from now).
    fn speak(&mut self, lines: &[(&speech::ScriptLine, speech::Synthesized)], lead: Duration, gap: Duration) -> Value {
        let now = Instant::now();
        let mut at = lead;
        let mut schedule = Vec::new();
        for (line, spoken) in lines {
            if !self.people.iter().any(|p| p.name == line.speaker) {
                self.add_person(Person {
                    name: line.speaker.to_string(),
                    role: None,
                    qualifier: None,
                    camera_on: false,
                });
            }
            self.next_id += 1;
            let words: Vec<String> = line.text.split_whitespace().map(str::to_string).collect();
            let secs = spoken.duration.as_secs_f64().max(0.1);
            let utterance = Utterance {
                id: self.next_id,
                speaker: line.speaker.to_string(),
                words_per_sec: words.len() as f64 / secs,
                words,
                started: now + at,
                audio: Some(spoken.key.clone()),
            };
            let lasts = utterance.duration();
            schedule.push(json!({
                "id": utterance.id,
                "speaker": line.speaker,
                "text": line.text,
                "startMs": millis(at),
                "durationMs": millis(lasts),
            }));
            self.speech.push(utterance);
            at += lasts + gap;
        }
        json!({"lines": schedule, "durationMs": millis(at.saturating_sub(gap))})
    }

    fn add_person(&mut self, person: Person) {
        self.people.push(person);
    }

    fn answer_dialog(&mut self, answer: DialogAnswer) {
        self.dialogs_answered.push(answer);
    }

    fn add_chat(&mut self, sender: String, text: String, guest_id: Option<String>) -> u64 {
        self.next_id += 1;
        let id = self.next_id;
        self.chat.push(ChatLine {
            id,
            sender,
            text,
            guest_id,
            at_ms: now_ms(),
        });
        id
    }
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

type Meetings = Arc<Mutex<BTreeMap<String, Meeting>>>;

#[derive(Clone)]
struct Replica {
    platform: Platform,
    meetings: Meetings,
}

fn with<T>(r: &Replica, code: &str, f: impl FnOnce(&mut Meeting) -> T) -> T {
    let mut all = r.meetings.lock().unwrap_or_else(|p| p.into_inner());
    f(all.entry(code.to_string()).or_default())
}

/// The Google Meet replica; mount it anywhere (tests serve it on a loopback port).
pub fn router() -> Router {
    page_routes(MEET_PAGE).merge(control_routes(Platform::Meet))
}

/// The Microsoft Teams replica (`/{id}`), same host controls.
pub fn teams_router() -> Router {
    page_routes(TEAMS_PAGE).merge(control_routes(Platform::Teams))
}

/// The Zoom web-client replica (`/{id}`, `/wc/{id}/join`, `/wc/join/{id}`, `/j/{id}`), same
/// host controls.
pub fn zoom_router() -> Router {
    page_routes(ZOOM_PAGE)
        .route("/wc/{code}/join", get(zoom_client))
        .route("/wc/join/{code}", get(zoom_client))
        .route("/j/{code}", get(zoom_landing))
        .merge(control_routes(Platform::Zoom))
}

fn control_routes(platform: Platform) -> Router {
    let replica = Replica {
        platform,
        meetings: Arc::default(),
    };
    Router::new()
        .route("/_replica/{code}", get(state).put(configure))
        .route("/_replica/{code}/admit", post(|s, p| host_action(s, p, "admit")))
        .route("/_replica/{code}/deny", post(|s, p| host_action(s, p, "deny")))
        .route("/_replica/{code}/timeout", post(|s, p| host_action(s, p, "timeout")))
        .route("/_replica/{code}/kick", post(|s, p| host_action(s, p, "kick")))
        .route("/_replica/{code}/end", post(|s, p| host_action(s, p, "end")))
        .route("/_replica/{code}/away", post(|s, p| host_action(s, p, "away")))
        .route("/_replica/{code}/participants", post(add_person))
        .route("/_replica/{code}/participants/{name}", delete(remove_person))
        .route("/_replica/{code}/chat", post(host_chat))
        .route("/_replica/{code}/captions", post(host_say))
        .route("/_replica/{code}/speech", post(host_speech))
        .route("/_replica/{code}/speech/{key}", get(speech_audio))
        .route("/_replica/{code}/blip", post(blip))
        .route("/_replica/{code}/dialogs", post(dialog_answered))
        .route("/_replica/{code}/guests", post(guest_join))
        .route("/_replica/{code}/guests/{id}", get(guest_state))
        .route("/_replica/{code}/guests/{id}/leave", post(guest_leave))
        .route("/_replica/{code}/guests/{id}/chat", post(guest_chat))
        .with_state(replica)
}

/// Where this router is mounted (e.g. `/_test/meeting/zoom` inside the server), so pages
/// reach their control API whatever the URL shape.
fn mount_point(original: &Uri, inner: &Uri) -> String {
    original
        .path()
        .strip_suffix(inner.path())
        .unwrap_or("")
        .trim_end_matches('/')
        .to_string()
}

fn render(page: &str, code: &str, base: &str) -> Html<String> {
    let common = COMMON_JS.replace("__CODE__", code).replace("__BASE__", base);
    Html(
        page.replace("__CODE__", &html_attr(code))
            .replace("__COMMON__", &common),
    )
}

fn page_routes(page: &'static str) -> Router {
    Router::new().route(
        "/{code}",
        get(
            move |Path(code): Path<String>, OriginalUri(original): OriginalUri, inner: Uri| async move {
                render(page, &code, &mount_point(&original, &inner))
            },
        ),
    )
}

/// Zoom's `/wc/…` client; with `fromPWA=1` (Zoom's progressive web app) the client runs in
/// an iframe of the same origin, which providers must look into.
async fn zoom_client(
    Path(code): Path<String>,
    OriginalUri(original): OriginalUri,
    inner: Uri,
    Query(query): Query<HashMap<String, String>>,
) -> Html<String> {
    let base = mount_point(&original, &inner);
    if query.get("fromPWA").is_some_and(|v| v == "1") && !query.contains_key("embedded") {
        let src = format!("{}?{}&embedded=1", original.path(), original.query().unwrap_or(""));
        return Html(ZOOM_PWA_PAGE.replace("__SRC__", &html_attr(&src)));
    }
    render(ZOOM_PAGE, &code, &base)
}

/// Zoom's `/j/{id}` landing page, whose "Join from your browser" link leads to the client.
async fn zoom_landing(Path(code): Path<String>, OriginalUri(original): OriginalUri, inner: Uri) -> Html<String> {
    let base = mount_point(&original, &inner);
    let query = original.query().map(|q| format!("?{q}")).unwrap_or_default();
    let src = format!("{base}/wc/{code}/join{query}");
    Html(ZOOM_LANDING_PAGE.replace("__SRC__", &html_attr(&src)))
}

fn html_attr(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;")
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    lobby: Option<bool>,
    admit_after_secs: Option<u64>,
    block: Option<String>,
    tone_hz: Option<u32>,
    dialogs: Option<Vec<DialogSpec>>,
    lobby_text: Option<Value>,
    teams_launcher: Option<bool>,
    teams_row_prefix: Option<String>,
    teams_join_again_after_dialog: Option<bool>,
    zoom_footer_auto_hide: Option<bool>,
    zoom_deny_text: Option<String>,
    zoom_passcode_text: Option<String>,
    captions_disabled: Option<bool>,
}

async fn configure(
    State(r): State<Replica>,
    Path(code): Path<String>,
    Json(c): Json<Config>,
) -> Result<Json<Value>, (StatusCode, String)> {
    with(&r, &code, |meeting| meeting.configure(c))
        .map(|()| Json(json!({"ok": true})))
        .map_err(|e| (StatusCode::BAD_REQUEST, e))
}

async fn state(State(r): State<Replica>, Path(code): Path<String>) -> Json<Value> {
    with(&r, &code, |meeting| Json(meeting.state_json()))
}

async fn host_action(State(r): State<Replica>, Path(code): Path<String>, action: &'static str) -> Json<Value> {
    let platform = r.platform;
    with(&r, &code, |meeting| meeting.host_action(platform, action));
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

async fn add_person(State(r): State<Replica>, Path(code): Path<String>, Json(p): Json<Person>) -> Json<Value> {
    with(&r, &code, |meeting| meeting.add_person(p));
    Json(json!({"ok": true}))
}

async fn remove_person(State(r): State<Replica>, Path((code, name)): Path<(String, String)>) -> Json<Value> {
    with(&r, &code, |meeting| meeting.people.retain(|p| p.name != name));
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct HostChat {
    sender: String,
    text: String,
}

async fn host_chat(State(r): State<Replica>, Path(code): Path<String>, Json(c): Json<HostChat>) -> Json<Value> {
    with(&r, &code, |meeting| {
        let id = meeting.add_chat(c.sender, c.text, None);
        Json(json!({"id": id}))
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Say {
    speaker: String,
    text: String,
    words_per_sec: Option<f64>,
}

async fn host_say(State(r): State<Replica>, Path(code): Path<String>, Json(c): Json<Say>) -> Json<Value> {
    with(&r, &code, |meeting| {
        let (id, lasts) = meeting.say(c.speaker, &c.text, c.words_per_sec.unwrap_or(4.0));
        Json(json!({"id": id, "durationMs": u64::try_from(lasts.as_millis()).unwrap_or(u64::MAX)}))
    })
}

/// Plays [`speech::SCRIPT`]: synthesizes (or finds in the cache) every line first, then
/// schedules them all at once, so the timing does not depend on `espeak-ng`.
async fn host_speech(
    State(r): State<Replica>,
    Path(code): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let spoken = tokio::task::spawn_blocking(|| {
        speech::SCRIPT
            .iter()
            .map(|line| speech::synthesize(line.voice, line.text).map(|s| (line, s)))
            .collect::<Result<Vec<_>, String>>()
    })
    .await
    .map_err(|e| e.to_string())
    .and_then(|r| r);
    match spoken {
        Ok(lines) => Ok(Json(with(&r, &code, |meeting| {
            meeting.speak(&lines, speech::LEAD, speech::GAP)
        }))),
        Err(e) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"code": "speech_unavailable", "message": e, "details": null}})),
        )),
    }
}

/// A spoken line's WAV, by its cache key.
async fn speech_audio(
    Path((_code, key)): Path<(String, String)>,
) -> Result<([(header::HeaderName, &'static str); 2], Vec<u8>), StatusCode> {
    let key = key.strip_suffix(".wav").unwrap_or(&key).to_string();
    let path = speech::wav_path(&key).ok_or(StatusCode::NOT_FOUND)?;
    let bytes = tokio::task::spawn_blocking(move || std::fs::read(path))
        .await
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?
        .map_err(|_| StatusCode::NOT_FOUND)?;
    Ok((
        [
            (header::CONTENT_TYPE, "audio/wav"),
            (header::CACHE_CONTROL, "max-age=86400"),
        ],
        bytes,
    ))
}

#[derive(Deserialize)]
struct Blip {
    secs: u64,
}

async fn blip(State(r): State<Replica>, Path(code): Path<String>, Json(b): Json<Blip>) -> Json<Value> {
    with(&r, &code, |meeting| {
        meeting.blip_until = Some(Instant::now() + Duration::from_secs(b.secs));
    });
    Json(json!({"ok": true}))
}

async fn dialog_answered(
    State(r): State<Replica>,
    Path(code): Path<String>,
    Json(a): Json<DialogAnswer>,
) -> Json<Value> {
    with(&r, &code, |meeting| meeting.answer_dialog(a));
    Json(json!({"ok": true}))
}

async fn guest_join(State(r): State<Replica>, Path(code): Path<String>, Json(p): Json<Named>) -> Json<Value> {
    with(&r, &code, |meeting| Json(json!({"id": meeting.add_guest(p.name)})))
}

async fn guest_state(State(r): State<Replica>, Path((code, id)): Path<(String, String)>) -> Json<Value> {
    with(&r, &code, |meeting| Json(meeting.guest_json(&code, &id)))
}

async fn guest_leave(State(r): State<Replica>, Path((code, id)): Path<(String, String)>) -> Json<Value> {
    with(&r, &code, |meeting| {
        if let Some(guest) = meeting.guests.get_mut(&id) {
            guest.screen = Screen::Left;
        }
    });
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct GuestChat {
    text: String,
}

async fn guest_chat(
    State(r): State<Replica>,
    Path((code, id)): Path<(String, String)>,
    Json(c): Json<GuestChat>,
) -> Json<Value> {
    with(&r, &code, |meeting| {
        let Some(guest) = meeting.guests.get(&id) else {
            return Json(json!({"ok": false}));
        };
        let sender = guest.name.clone();
        meeting.add_chat(sender, c.text, Some(id.clone()));
        Json(json!({"ok": true}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(v: Value) -> Config {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn pages_find_their_control_api_wherever_they_are_mounted() {
        let original: Uri = "/_test/meeting/zoom/wc/8123/join?pwd=x".parse().unwrap();
        let inner: Uri = "/wc/8123/join?pwd=x".parse().unwrap();
        assert_eq!(mount_point(&original, &inner), "/_test/meeting/zoom");
        let same: Uri = "/abc-defg-hij".parse().unwrap();
        assert_eq!(mount_point(&same, &same), "");
    }

    #[test]
    fn every_page_gets_the_shared_script() {
        for page in [MEET_PAGE, TEAMS_PAGE, ZOOM_PAGE] {
            let html = render(page, "abc", "/base").0;
            assert!(html.contains("const api = \"/base/_replica/\" + code;"));
            assert!(!html.contains("__COMMON__") && !html.contains("__CODE__"));
        }
    }

    #[test]
    fn the_old_config_still_applies_and_the_new_defaults_are_realistic() {
        let mut m = Meeting::default();
        m.configure(config(json!({"admitAfterSecs": 2, "block": "captcha", "toneHz": 500})))
            .unwrap();
        let s = m.state_json();
        assert_eq!(s["lobby"], true);
        assert_eq!(s["block"], "captcha");
        assert_eq!(s["toneHz"], 500);
        assert_eq!(s["teamsLauncher"], true);
        assert_eq!(s["teamsRowPrefix"], "participantsInCall-");
        assert_eq!(s["teamsJoinAgainAfterDialog"], true);
        assert_eq!(s["zoomFooterAutoHide"], true);
        assert_eq!(s["dialogs"], json!([]));
        m.configure(config(json!({"block": ""}))).unwrap();
        assert_eq!(m.state_json()["block"], Value::Null);
    }

    #[test]
    fn dialogs_get_their_default_phase_and_a_bad_phase_is_refused() {
        let mut m = Meeting::default();
        m.configure(config(json!({"dialogs": [
            {"kind": "permission"}, {"kind": "audio_video"}, {"kind": "recording"},
            {"kind": "got_it", "at": "prejoin"}
        ]})))
        .unwrap();
        let at: Vec<_> = m.dialogs.iter().map(|d| d.at.clone().unwrap()).collect();
        assert_eq!(at, ["prejoin", "afterJoin", "call", "prejoin"]);
        let err = m.configure(config(
            json!({"dialogs": [{"kind": "got_it", "at": "later"}], "lobby": true}),
        ));
        assert!(err.is_err());
        assert!(!m.lobby, "a refused config changes nothing");
        assert_eq!(m.dialogs.len(), 4);
    }

    #[test]
    fn a_line_is_said_word_by_word_and_stays_a_while_settled() {
        let mut m = Meeting::default();
        m.configure(config(json!({"captionsDisabled": true}))).unwrap();
        assert_eq!(m.state_json()["captionsDisabled"], true);
        let (id, lasts) = m.say("Ada".into(), "one two three four", 2.0);
        assert_eq!(lasts, Duration::from_secs(2));
        let u = m.speech.iter().find(|u| u.id == id).unwrap();
        let t0 = u.started;
        assert_eq!(u.said(t0), 1);
        assert_eq!(u.said(t0 + Duration::from_millis(1100)), 3);
        assert!(u.speaking(t0 + Duration::from_millis(1900)));
        assert_eq!(u.said(t0 + Duration::from_secs(9)), 4);
        assert!(!u.speaking(t0 + Duration::from_secs(2)));
        let g = m.add_guest("Bot".into());
        let seen = m.guest_json("abc", &g);
        assert_eq!(seen["speech"][0]["speaker"], "Ada");
        assert_eq!(seen["speech"][0]["speaking"], true);
    }

    #[test]
    fn a_script_is_scheduled_line_after_line_at_the_pace_of_its_audio() {
        let mut m = Meeting::default();
        let spoken = |key: &str, ms| speech::Synthesized {
            key: key.into(),
            duration: Duration::from_millis(ms),
        };
        let lines = [
            (&speech::SCRIPT[0], spoken("a", 4000)),
            (&speech::SCRIPT[1], spoken("b", 2000)),
        ];
        let plan = m.speak(&lines, Duration::from_millis(1000), Duration::from_millis(500));
        assert_eq!(plan["lines"][0]["startMs"], 1000);
        assert_eq!(plan["lines"][1]["startMs"], 5500);
        assert_eq!(plan["lines"][1]["durationMs"], 2000);
        assert_eq!(plan["durationMs"], 7500);
        assert_eq!(m.state_json()["people"], json!(["Ada Lovelace", "Charles Babbage"]));
        let g = m.add_guest("Bot".into());
        let seen = m.guest_json("abc", &g);
        assert_eq!(seen["speech"], json!([]), "nothing is said before it starts");
        let audio = seen["audio"].as_array().unwrap();
        assert_eq!(audio.len(), 2);
        assert_eq!(audio[0]["key"], "a");
        let starts_in = audio[0]["startsInMs"].as_i64().unwrap();
        assert!((900..=1000).contains(&starts_in), "{starts_in}");
        // Once the first line has started, it is said (and spoken) at its audio's pace.
        let u = &mut m.speech[0];
        u.started -= Duration::from_millis(1000);
        let t0 = u.started;
        assert!(u.speaking(t0 + Duration::from_millis(3900)));
        assert!(!u.speaking(t0 + Duration::from_millis(4000)));
        assert_eq!(u.said(t0 + Duration::from_millis(3999)), u.words.len());
        let seen = m.guest_json("abc", &g);
        assert_eq!(seen["speech"][0]["speaker"], "Ada Lovelace");
        assert_eq!(seen["speech"][0]["speaking"], true);
        assert!(seen["audio"][0]["startsInMs"].as_i64().unwrap() <= 0);
    }

    #[test]
    fn answered_dialogs_are_recorded_with_the_button_clicked() {
        let mut m = Meeting::default();
        m.answer_dialog(
            serde_json::from_value(
                json!({"kind": "permission", "at": "prejoin", "button": "Allow microphone and camera"}),
            )
            .unwrap(),
        );
        m.answer_dialog(serde_json::from_value(json!({"kind": "recording", "button": "Join now"})).unwrap());
        assert_eq!(
            m.state_json()["dialogsAnswered"],
            json!([
                {"kind": "permission", "at": "prejoin", "button": "Allow microphone and camera"},
                {"kind": "recording", "at": null, "button": "Join now"},
            ])
        );
    }

    #[test]
    fn people_carry_role_qualifier_and_camera_and_the_guest_sees_itself() {
        let mut m = Meeting::default();
        m.add_person(serde_json::from_value(json!({"name": "Ann Lee", "role": "Organizer"})).unwrap());
        m.add_person(serde_json::from_value(json!({"name": "Bo", "qualifier": "(Guest)", "cameraOn": true})).unwrap());
        let me = m.add_guest("Bot".into());
        let other = m.add_guest("Other bot".into());
        let s = m.guest_json("abc", &me);
        let p = s["participants"].as_array().unwrap();
        assert_eq!(p.len(), 4);
        assert_eq!(p[0]["name"], "Bot");
        assert_eq!(p[0]["self"], true);
        assert_eq!(p[0]["id"], format!("spaces/abc/devices/{me}"));
        assert_eq!(p[1]["self"], false);
        assert_eq!(
            p[2],
            json!({"id": "spaces/abc/people/Ann Lee", "name": "Ann Lee", "role": "Organizer", "qualifier": null, "cameraOn": false, "self": false})
        );
        assert_eq!(p[3]["qualifier"], "(Guest)");
        assert_eq!(p[3]["cameraOn"], true);
        assert_eq!(m.guest_json("abc", &other)["participants"][1]["self"], true);
        let state = m.state_json();
        assert_eq!(state["people"], json!(["Ann Lee", "Bo"]));
        assert_eq!(state["persons"][0]["role"], "Organizer");
        assert_eq!(state["persons"][1]["cameraOn"], true);
    }

    #[test]
    fn a_lobby_timeout_depends_on_the_platform() {
        for (platform, screen) in [
            (Platform::Meet, "timeout"),
            (Platform::Teams, "prejoin"),
            (Platform::Zoom, "denied"),
        ] {
            let mut m = Meeting {
                lobby: true,
                ..Meeting::default()
            };
            let id = m.add_guest("Bot".into());
            m.host_action(platform, "timeout");
            assert_eq!(m.guest_json("c", &id)["screen"], screen, "{platform:?}");
            m.host_action(platform, "admit");
            assert_eq!(
                m.guest_json("c", &id)["screen"],
                screen,
                "only a waiting guest is admitted"
            );
        }
    }

    #[test]
    fn page_knobs_reach_the_guest_poll() {
        let mut m = Meeting::default();
        m.configure(config(json!({
            "lobbyText": 2, "teamsLauncher": false, "teamsRowPrefix": "attendeesInMeeting-",
            "teamsJoinAgainAfterDialog": false, "zoomFooterAutoHide": false,
            "zoomDenyText": "The host has denied your request", "zoomPasscodeText": "Invalid password"
        })))
        .unwrap();
        let id = m.add_guest("Bot".into());
        let c = &m.guest_json("c", &id)["config"];
        assert_eq!(c["lobbyText"], 2);
        assert_eq!(c["teamsLauncher"], false);
        assert_eq!(c["teamsRowPrefix"], "attendeesInMeeting-");
        assert_eq!(c["teamsJoinAgainAfterDialog"], false);
        assert_eq!(c["zoomFooterAutoHide"], false);
        assert_eq!(c["zoomDenyText"], "The host has denied your request");
        assert_eq!(c["zoomPasscodeText"], "Invalid password");
    }

    #[test]
    fn chat_lines_carry_their_time() {
        let mut m = Meeting::default();
        let before = now_ms();
        m.add_chat("Ann".into(), "hi".into(), None);
        let at = m.state_json()["chat"][0]["at"].as_u64().unwrap();
        assert!(at >= before && at <= now_ms());
    }

    #[tokio::test]
    async fn the_control_api_records_dialogs_and_people() {
        let r = Replica {
            platform: Platform::Meet,
            meetings: Arc::default(),
        };
        let code = || Path("abc".to_string());
        let bad = configure(
            State(r.clone()),
            code(),
            Json(config(json!({"dialogs": [{"kind": "x", "at": "never"}]}))),
        )
        .await;
        assert_eq!(bad.unwrap_err().0, StatusCode::BAD_REQUEST);
        let person: Person = serde_json::from_value(json!({"name": "Ann", "role": "Host"})).unwrap();
        assert_eq!(add_person(State(r.clone()), code(), Json(person)).await.0["ok"], true);
        let answer: DialogAnswer =
            serde_json::from_value(json!({"kind": "got_it", "at": "call", "button": "Got it"})).unwrap();
        assert_eq!(
            dialog_answered(State(r.clone()), code(), Json(answer)).await.0["ok"],
            true
        );
        let Json(s) = state(State(r.clone()), code()).await;
        assert_eq!(s["persons"][0]["role"], "Host");
        assert_eq!(s["dialogsAnswered"][0]["button"], "Got it");
        assert_eq!(
            remove_person(State(r.clone()), Path(("abc".to_string(), "Ann".to_string())))
                .await
                .0["ok"],
            true
        );
        let Json(s) = state(State(r), code()).await;
        assert_eq!(s["people"], json!([]));
    }
}

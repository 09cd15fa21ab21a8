//! Meeting web clients as data. Each client is a [`ClientSpec`] — for every signal the bot
//! reads (pre-join controls, dialogs, lobby, in-call markers, refusal screens, roster
//! entries and names, self markers, counters, chat), several candidates from independent
//! evidence, tried in order, with the source of each in `docs/research/signals-*.md`. One
//! script (`page.js`) interprets any spec; one [`WebClient`] drives it. A client's UI change
//! is an edit to its spec file, not to code.
//!
//! Each look at the page ([`Provider::observe`]) classifies the screen, answers any known
//! dialog (at every phase: pre-join, lobby, call), does the next pre-join step, keeps the
//! people panel (and chat) in view, and reads the roster and chat.

pub mod meet;
pub mod teams;
pub mod zoom;

use crate::captions::{CaptionLine, CaptionTracker, Speaking, SpeakingTracker};
use crate::driver::{ChatLine, Observation, Provider};
use crate::roster::RosterReading;
use async_trait::async_trait;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType, InsertTextParams};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use meeboter_core::lifecycle::sub_code;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::time::Duration;
use tokio::time::Instant;

/// The script every client's page runs (functions over a spec and a document).
const PAGE_JS: &str = include_str!("page.js");

/// Everything the bot knows about one web client. Texts match case-insensitively, with
/// apostrophes and spaces normalised, as substrings of the page's visible text; button texts
/// match a button's text or accessible name exactly (join buttons: as a prefix).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSpec {
    pub name: &'static str,
    pub prejoin: PrejoinSpec,
    /// Dialogs answered the safe way whenever they show, in this order.
    pub dialogs: &'static [DialogSpec],
    /// Texts of the lobby (waiting to be admitted).
    pub lobby_texts: &'static [&'static str],
    /// Whether a lobby text outweighs in-call markers. True where the client renders call
    /// controls in the lobby (Meet); false where it shows lobby-like words in the call (Zoom's
    /// "Please wait" notices, which made other bots leave right after admission).
    pub lobby_text_wins: bool,
    /// Texts of known screens between others ("Getting ready…", "Joining Meeting…"): known,
    /// so they never count toward an unknown screen.
    pub transitional_texts: &'static [&'static str],
    /// Elements that exist only once admitted (visible).
    pub in_call: &'static [&'static str],
    /// `(container, marker)`: a marker inside a container that hides itself (Zoom's footer
    /// auto-hides in the call); counts while the container's parent is on screen.
    pub in_call_hideable: &'static [(&'static str, &'static str)],
    pub roster: RosterSpec,
    pub screens: ScreensSpec,
    /// The leave button, and a confirm button where the client asks (listed first).
    pub leave_buttons: &'static [&'static str],
    /// Iframes (CSS selectors) that hold the client when it is embedded, e.g. Zoom's
    /// progressive web app; the first same-origin match is where the scripts look.
    pub frames: &'static [&'static str],
    pub chat: ChatSpec,
    pub captions: CaptionsSpec,
    pub speaking: SpeakingSpec,
}

/// The client's own live captions: how a person turns them on, where the lines show, and
/// what the page says when the meeting does not offer them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaptionsSpec {
    /// Controls (CSS selectors) that turn captions on, first visible enabled one clicked.
    pub on_buttons: &'static [&'static str],
    /// The same by exact text or accessible name.
    pub on_texts: &'static [&'static str],
    /// Menus opened, in this order, when no control shows (Teams: More → Language and speech);
    /// the deepest visible step is clicked.
    pub menu_path: &'static [&'static str],
    /// A key that toggles captions (`c` in Meet), pressed when no control shows.
    pub shortcut: Option<&'static str>,
    /// Elements shown only while captions are on (the control's "off" state, the region).
    pub on_markers: &'static [&'static str],
    /// The caption region; lines are read inside the first visible one that holds lines.
    pub containers: &'static [&'static str],
    /// One element per caption line (a speaker's turn), inside the region.
    pub lines: &'static [&'static str],
    /// The speaker inside a line, as roster name sources (see [`EntrySpec::names`]).
    pub speakers: &'static [&'static str],
    /// The words inside a line; the line's words (less the speaker) otherwise.
    pub texts: &'static [&'static str],
    /// Texts that say the meeting offers no captions.
    pub unavailable_texts: &'static [&'static str],
    /// Controls in their "not available" state.
    pub unavailable_selectors: &'static [&'static str],
}

/// Who is speaking now: per participant element, a mark the client shows while they speak.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeakingSpec {
    pub indicators: &'static [SpeakingIndicator],
}

/// One speaking mark.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeakingIndicator {
    /// The participant's element (a tile).
    pub tile: &'static str,
    /// Inside or on the tile, an element that is there (visible) only while they speak;
    /// `""`: a tile matching `tile` is the speaker (Zoom's active-speaker frame).
    pub speaking: &'static str,
    /// Attribute with a stable id ("" when the client has none).
    pub id_attribute: &'static str,
    /// Name sources in the tile (see [`EntrySpec::names`]).
    pub names: &'static [&'static str],
}
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PrejoinSpec {
    /// Where the bot's name goes (CSS selectors, first visible match).
    pub name_inputs: &'static [&'static str],
    /// Where a meeting passcode goes (filled from the link's `pwd` when empty); one still
    /// shown after joining means the passcode was refused.
    pub passcode_inputs: &'static [&'static str],
    /// Buttons that turn the microphone or camera off, clicked once if present.
    pub mute_buttons: &'static [&'static str],
    /// Join buttons by text, as prefixes ("Ask to join" also matches "Ask to join without
    /// microphone & camera"), in order of preference.
    pub join_buttons: &'static [&'static str],
    /// Join buttons by selector (locale-free), tried first.
    pub join_selectors: &'static [&'static str],
}

/// A dialog and its safe answer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DialogSpec {
    /// Reported in the `dialog_dismissed` event.
    pub kind: &'static str,
    /// Texts that identify it (empty: the button alone does, e.g. a bare "Got it").
    pub texts: &'static [&'static str],
    /// The safe answer, by exact text or accessible name, in order.
    pub buttons: &'static [&'static str],
    /// The safe answer by selector (locale-free), tried first.
    pub button_selectors: &'static [&'static str],
}

/// Where people are listed and how names, self and counts are read.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterSpec {
    /// Buttons that open the people panel (clicked only while no list shows).
    pub panel_buttons: &'static [&'static str],
    /// The panel's list; entries are read inside it while it is on screen.
    pub list_containers: &'static [&'static str],
    pub list_entries: &'static [EntrySpec],
    /// Video tiles (anywhere outside the list).
    pub tiles: &'static [EntrySpec],
    /// The client's participant counter, the bot included (`[N]` or the first number).
    pub counters: &'static [CounterSpec],
    /// Texts in an entry (its text or accessible name) that mark the bot itself.
    pub self_markers: &'static [&'static str],
    /// Names that mean the bot itself ("You").
    pub self_names: &'static [&'static str],
    /// Suffixes stripped from names (roles, "(Guest)").
    pub qualifiers: &'static [&'static str],
    /// Entries whose name contains one of these are not people.
    pub not_people: &'static [&'static str],
    /// The client shows one side pane at a time: chat replaces the people panel. The bot
    /// keeps the panel open and looks at the chat every [`CHAT_LOOK_EVERY`].
    pub pane_shared_with_chat: bool,
}

/// One kind of roster entry.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EntrySpec {
    pub selector: &'static str,
    /// Attribute with a stable id ("" when the client has none; names key the roster).
    pub id_attribute: &'static str,
    /// Name sources in order: `@attr` (the entry's attribute), `sel@attr` (a child's),
    /// `sel` (a child's words, icons and controls left out), `""` (the entry's own words);
    /// `|comma` keeps what precedes the first comma. Never "the first line of text":
    /// with the camera off that is the avatar's initial.
    pub names: &'static [&'static str],
}

/// A participant counter.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CounterSpec {
    pub selector: &'static str,
    /// Read from this attribute; from the element's text when `None`.
    pub attribute: Option<&'static str>,
}

/// Screens that end or refuse the bot.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScreensSpec {
    /// `(sub code, texts)`: screens that keep the bot out, most specific first.
    /// `waiting_room_timeout` here means the client gave up on the lobby itself.
    pub refusals: &'static [(&'static str, &'static [&'static str])],
    /// `(sub code, selectors)`: the same, recognised by an element (e.g. a login form).
    pub refusal_selectors: &'static [(&'static str, &'static [&'static str])],
    /// The host removed the bot (a removal before admission is a denial).
    pub removed: &'static [&'static str],
    /// The meeting is over.
    pub ended: &'static [&'static str],
}

/// The chat panel of a client: where messages are typed and where they are listed (most
/// clients keep messages in the page only while the panel is open).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatSpec {
    /// Buttons (CSS selectors) that open the panel; clicked only while no input shows.
    pub open_buttons: &'static [&'static str],
    /// The message input (a textarea or a contenteditable), first visible match.
    pub inputs: &'static [&'static str],
    /// Send buttons, clicked when Enter did not send.
    pub send_buttons: &'static [&'static str],
    /// One element per message (buttons matching it, like Meet's pin button, are skipped).
    pub message: &'static str,
    /// The sender's name: inside the message, or in the nearest header before it (a header
    /// with only a time marks the bot's own messages).
    pub sender: &'static str,
    /// The text inside the message; the message's words otherwise.
    pub text: &'static str,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    state: String,
    sub_code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    roster: RosterReading,
    #[serde(default)]
    chat: Vec<ChatLine>,
    #[serde(default)]
    roster_open: bool,
    #[serde(default)]
    passcode_shown: bool,
    #[serde(default)]
    captions_state: Option<String>,
    #[serde(default)]
    captions: Vec<CaptionLine>,
    #[serde(default)]
    speaking: Vec<Speaking>,
}

#[derive(Debug, Deserialize)]
struct Swept {
    kind: String,
    button: String,
}

/// The host of a URL (`None` for URLs without one, such as `data:` pages).
fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase)
}

/// The passcode carried by a meeting link (`?pwd=`), if any.
fn passcode_of(url: &str) -> Option<String> {
    let url = reqwest::Url::parse(url).ok()?;
    url.query_pairs()
        .find(|(k, _)| k == "pwd")
        .map(|(_, v)| v.into_owned())
        .filter(|v| !v.is_empty())
}

/// How often the bot tries to open a chat panel that does not open (guests without chat).
const CHAT_OPEN_ATTEMPTS: u8 = 3;
/// Where the chat shares the side pane with the people panel, how often the bot shows the
/// chat for one look (to read new messages) before returning to the people panel.
pub const CHAT_LOOK_EVERY: Duration = Duration::from_secs(8);
/// A join button still shown this long after a click is clicked again (a lobby that
/// expired back to the pre-join form, a click the page swallowed).
const REJOIN_AFTER: Duration = Duration::from_secs(5);
/// A passcode field still shown this long after joining means the passcode was refused.
const PASSCODE_REFUSED_AFTER: Duration = Duration::from_secs(6);
/// The longest one script in the page may take (a live page answers in milliseconds).
const PAGE_CALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a dialog kind just answered is left alone (see `WebClient::sweep`).
const SWEEP_AGAIN_AFTER: Duration = Duration::from_secs(3);
/// How many looks may try to turn captions on before the bot says they are unavailable.
const CAPTIONS_ATTEMPTS: u8 = 5;
/// Looks between two tries to turn captions on (a click takes a moment to show).
const CAPTIONS_RETRY_AFTER: Duration = Duration::from_secs(2);
/// How many of its own messages the bot remembers, to skip them when the list shows them.
const OWN_MESSAGES_KEPT: usize = 50;

/// A meeting web client in a Chromium page.
pub struct WebClient {
    page: Page,
    spec: &'static ClientSpec,
    spec_json: String,
    meeting_url: String,
    passcode: Option<String>,
    chat_open_attempts: u8,
    next_chat_look: Option<Instant>,
    roster_open_attempts: u8,
    /// How often each (sender, text) has been seen: lists are re-read every look, and some
    /// clients virtualise them, so a message is new only when it shows more often than before.
    chat_seen: HashMap<(String, String), usize>,
    chat_new: Vec<ChatLine>,
    own_messages: VecDeque<String>,
    /// The host the meeting was opened on; once in the call, a page on another host means
    /// the client sent the bot away (a hard signal).
    meeting_host: Option<String>,
    seen_call: bool,
    joined_at: Option<Instant>,
    last_join_click: Option<Instant>,
    events: Vec<Value>,
    bot_name: String,
    /// Dialog kinds answered recently, and when.
    swept: HashMap<String, Instant>,
    captions: CaptionsState,
    speaking: SpeakingTracker,
}

/// Reading the client's captions (`transcription.provider = meeting_captions`).
struct CaptionsState {
    wanted: bool,
    tracker: CaptionTracker,
    attempts: u8,
    next_try: Option<Instant>,
    /// `captions_unavailable` was sent: the bot stops trying.
    given_up: bool,
}

/// Now, in milliseconds since the epoch (event times).
fn epoch_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl WebClient {
    pub fn new(page: Page, spec: &'static ClientSpec, meeting_url: &str) -> Self {
        Self {
            page,
            spec,
            spec_json: serde_json::to_string(spec).expect("specs serialise"),
            meeting_url: meeting_url.to_string(),
            passcode: passcode_of(meeting_url),
            chat_open_attempts: 0,
            next_chat_look: None,
            roster_open_attempts: 0,
            chat_seen: HashMap::new(),
            chat_new: Vec::new(),
            own_messages: VecDeque::new(),
            meeting_host: host_of(meeting_url),
            seen_call: false,
            joined_at: None,
            last_join_click: None,
            events: Vec::new(),
            bot_name: String::new(),
            swept: HashMap::new(),
            captions: CaptionsState {
                wanted: false,
                tracker: CaptionTracker::new(&format!("{:x}", epoch_ms())),
                attempts: 0,
                next_try: None,
                given_up: false,
            },
            speaking: SpeakingTracker::new(),
        }
    }

    /// Turns the client's captions on once in the call and reports their lines.
    pub fn with_captions(mut self, wanted: bool) -> Self {
        self.captions.wanted = wanted;
        self
    }

    fn captions_unavailable(&mut self, reason: String) {
        tracing::warn!(%reason, "captions unavailable");
        self.captions.given_up = true;
        self.events
            .push(json!({"type": "captions_unavailable", "reason": reason}));
    }

    /// Turns captions on as a person would (the control, the menus on the way to it, or
    /// the shortcut), a few steps per look and a few looks in all.
    async fn tend_captions(&mut self, state: Option<&str>) {
        let c = &self.captions;
        if !c.wanted || c.given_up {
            return;
        }
        match state {
            Some("on") => {
                self.captions.attempts = 0;
                return;
            }
            Some("unavailable") => {
                let reason = format!("{} says captions are not available in this meeting", self.spec.name);
                self.captions_unavailable(reason);
                return;
            }
            _ => {}
        }
        let now = Instant::now();
        if self.captions.next_try.is_some_and(|t| now < t) {
            return;
        }
        if self.captions.attempts >= CAPTIONS_ATTEMPTS {
            let reason = format!(
                "{} did not turn captions on after {CAPTIONS_ATTEMPTS} tries",
                self.spec.name
            );
            self.captions_unavailable(reason);
            return;
        }
        self.captions.attempts += 1;
        self.captions.next_try = Some(now + CAPTIONS_RETRY_AFTER);
        for _ in 0..3 {
            match self.call::<String>("captionsOn", "null").await.as_deref() {
                Ok("menu") => tokio::time::sleep(Duration::from_millis(200)).await,
                Ok("shortcut") => {
                    if let Some(key) = self.spec.captions.shortcut {
                        let _ = self.press_key(key).await;
                    }
                    return;
                }
                Ok("unavailable") => {
                    let reason = format!("{} says captions are not available in this meeting", self.spec.name);
                    self.captions_unavailable(reason);
                    return;
                }
                Ok("clicked") => {
                    tracing::info!("turned the captions on");
                    return;
                }
                _ => return,
            }
        }
    }

    /// Speaking marks and caption lines of one look, as events.
    fn note_speech(&mut self, speaking: &[Speaking], lines: &[CaptionLine]) {
        let now = Instant::now();
        let ms = epoch_ms();
        let mut events = self.speaking.update(speaking, now, ms);
        if self.captions.wanted {
            let current = match speaking {
                [one] => Some(one.name.as_str()),
                _ => None,
            };
            events.extend(self.captions.tracker.update(lines, current, now, ms));
        }
        self.events.extend(events);
    }

    /// Whether the page left the meeting's host (only checked once the call was reached:
    /// joining may legitimately redirect, e.g. zoom.us → app.zoom.us). Chromium's own error
    /// page is not "away": the probe names the network error.
    async fn navigated_away(&self) -> bool {
        if !self.seen_call {
            return false;
        }
        match tokio::time::timeout(PAGE_CALL_TIMEOUT, self.page.url())
            .await
            .unwrap_or(Ok(None))
        {
            Ok(Some(url)) if url.starts_with("chrome-error:") => false,
            Ok(Some(url)) => host_of(&url) != self.meeting_host,
            _ => false,
        }
    }

    /// Runs the `page.js` function `name(spec, doc, arg)` in the client's document.
    async fn call<T: for<'de> Deserialize<'de>>(&self, name: &str, arg: &str) -> Result<T, String> {
        let script = format!(
            "(() => {{ const spec = {}; {PAGE_JS}\n return {name}(spec, root(spec), {arg}); }})()",
            self.spec_json
        );
        // A browser that died mid-request never answers: bounded, so the bot can still report.
        tokio::time::timeout(PAGE_CALL_TIMEOUT, self.page.evaluate(script))
            .await
            .map_err(|_| format!("the page did not answer within {} s", PAGE_CALL_TIMEOUT.as_secs()))?
            .map_err(|e| format!("the page did not answer: {e}"))?
            .into_value()
            .map_err(|e| format!("unexpected answer from the page: {e}"))
    }

    /// Types into the focused element with trusted input events (some clients, like Zoom,
    /// ignore values set from script); works inside iframes too.
    async fn type_text(&self, text: &str) -> Result<(), String> {
        tokio::time::timeout(PAGE_CALL_TIMEOUT, self.page.execute(InsertTextParams::new(text)))
            .await
            .map_err(|_| "the page did not take the typing".to_string())?
            .map(|_| ())
            .map_err(|e| format!("cannot type: {e}"))
    }

    async fn press_enter(&self) -> Result<(), String> {
        self.press("Enter", "Enter", 13, "\r").await
    }

    /// Presses a letter key (a client's shortcut) with trusted input events.
    async fn press_key(&self, key: &str) -> Result<(), String> {
        let upper = key.to_ascii_uppercase();
        let code = upper.bytes().next().map_or(0, i64::from);
        self.press(key, &format!("Key{upper}"), code, key).await
    }

    async fn press(&self, key: &str, code: &str, virtual_code: i64, text: &str) -> Result<(), String> {
        let key = DispatchKeyEventParams::builder()
            .key(key)
            .code(code)
            .windows_virtual_key_code(virtual_code)
            .native_virtual_key_code(virtual_code);
        for (kind, text) in [
            (DispatchKeyEventType::KeyDown, Some(text)),
            (DispatchKeyEventType::KeyUp, None),
        ] {
            let mut event = key.clone().r#type(kind);
            if let Some(t) = text {
                event = event.text(t);
            }
            let event = event.build().map_err(|e| format!("bad key event: {e}"))?;
            tokio::time::timeout(PAGE_CALL_TIMEOUT, self.page.execute(event))
                .await
                .map_err(|_| "the page did not take the key".to_string())?
                .map_err(|e| format!("cannot press a key: {e}"))?;
        }
        Ok(())
    }

    async fn probe(&self) -> Result<Probe, String> {
        self.call("probe", "null").await
    }

    /// Answers a known dialog if one shows; true when it did. A kind answered less than
    /// [`SWEEP_AGAIN_AFTER`] ago is left alone meanwhile (its click may still be landing, or
    /// may be swallowed by another dialog on top).
    async fn sweep(&mut self) -> bool {
        self.swept.retain(|_, at| at.elapsed() < SWEEP_AGAIN_AFTER);
        let skip: Vec<&String> = self.swept.keys().collect();
        let arg = serde_json::to_string(&skip).expect("strings serialise");
        match self.call::<Option<Swept>>("sweep", &arg).await {
            Ok(Some(s)) => {
                tracing::info!(dialog = %s.kind, button = %s.button, "answered a dialog");
                self.events
                    .push(json!({"type": "dialog_dismissed", "dialog": s.kind, "button": s.button}));
                self.swept.insert(s.kind, Instant::now());
                true
            }
            _ => false,
        }
    }

    /// The pre-join steps that can be done now: name, passcode, mute, join (a few steps in
    /// one look; each may reveal the next).
    async fn prejoin(&mut self, bot_name: &str) {
        for _ in 0..4 {
            let may_join = self.last_join_click.is_none_or(|t| t.elapsed() >= REJOIN_AFTER);
            let arg = json!({"name": bot_name, "passcode": self.passcode, "mayJoin": may_join});
            let done: Vec<String> = self.call("prejoin", &arg.to_string()).await.unwrap_or_default();
            if done.iter().any(|d| d == "needs_name") {
                // The script focused and selected the input; typing replaces its content.
                let _ = self.type_text(bot_name).await;
                continue;
            }
            if done.iter().any(|d| d == "needs_passcode") {
                if let Some(code) = self.passcode.clone() {
                    let _ = self.type_text(&code).await;
                }
                continue;
            }
            if done.iter().any(|d| d == "joined") {
                let now = Instant::now();
                if self.last_join_click.is_some() {
                    tracing::info!("the join button is back; joining again");
                }
                self.last_join_click = Some(now);
                self.joined_at.get_or_insert(now);
            }
            return;
        }
    }

    /// Keeps the people panel in view and looks at the chat now and then (see
    /// [`RosterSpec::pane_shared_with_chat`]).
    async fn tend_panes(&mut self, roster_open: bool) {
        let now = Instant::now();
        let chat_usable = self.chat_open_attempts < CHAT_OPEN_ATTEMPTS && !self.spec.chat.open_buttons.is_empty();
        if self.spec.roster.pane_shared_with_chat {
            let chat_due = self.next_chat_look.is_none_or(|t| now >= t);
            if chat_usable && chat_due && roster_open {
                self.next_chat_look = Some(now + CHAT_LOOK_EVERY);
                self.open_chat_for_reading().await;
                return;
            }
            if !roster_open {
                let _ = self.call::<String>("openRoster", "null").await;
            }
            return;
        }
        if !roster_open && self.roster_open_attempts < 5 {
            match self.call::<String>("openRoster", "null").await.as_deref() {
                Ok("open") => {}
                _ => self.roster_open_attempts += 1,
            }
        }
        if chat_usable {
            self.open_chat_for_reading().await;
        }
    }

    async fn open_chat_for_reading(&mut self) {
        match self.call::<String>("chatOpen", "false").await.as_deref() {
            Ok("ready") | Ok("opening") => {}
            _ => self.chat_open_attempts += 1,
        }
        if self.chat_open_attempts >= CHAT_OPEN_ATTEMPTS {
            tracing::info!("{} shows this guest no chat", self.spec.name);
        }
    }

    /// Keeps what is new in the chat list (see `chat_seen`); the bot's own lines are skipped.
    fn note_chat(&mut self, lines: Vec<ChatLine>) {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        for line in lines {
            let key = (line.sender.clone(), line.text.clone());
            let count = counts.entry(key.clone()).or_default();
            *count += 1;
            let seen = self.chat_seen.entry(key).or_default();
            if *count > *seen {
                *seen = *count;
                let unnamed = line.sender.is_empty() || line.sender.eq_ignore_ascii_case("you");
                if line.own || (unnamed && self.own_messages.contains(&line.text)) {
                    continue;
                }
                self.chat_new.push(line);
            }
        }
    }

    /// A page that is navigating has no document for a moment; only a page that stays
    /// silent is a crash.
    async fn probe_patiently(&self) -> Result<Probe, String> {
        let mut attempt = 0;
        loop {
            match self.probe().await {
                Ok(p) => return Ok(p),
                Err(e) if attempt + 1 >= PROBE_ATTEMPTS => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "the page did not answer; looking again");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    }
}

/// How long `leave` keeps clicking before giving up (the whole SIGTERM path has 30 s).
const LEAVE_WITHIN: Duration = Duration::from_secs(4);

/// How often `observe` asks a silent page before calling it a crash (500 ms apart).
const PROBE_ATTEMPTS: u32 = 6;

#[async_trait]
impl Provider for WebClient {
    async fn join(&mut self, bot_name: &str) -> Result<(), String> {
        self.bot_name = bot_name.to_string();
        if let Err(e) = self.page.goto(self.meeting_url.as_str()).await {
            // A failed navigation still leaves a page (Chromium's error page, or a client whose
            // frames never finish loading): the next look classifies it. Only a browser that
            // no longer answers is a failure here.
            let answers = self
                .page
                .evaluate("document.readyState")
                .await
                .ok()
                .and_then(|v| v.into_value::<String>().ok())
                .is_some();
            if !answers {
                return Err(format!("cannot open {}: {e}", self.meeting_url));
            }
            tracing::warn!(error = %e, "navigation did not complete; looking at what the page shows");
        }
        Ok(())
    }

    async fn observe(&mut self) -> Result<Observation, String> {
        if self.navigated_away().await {
            tracing::info!("the page left the meeting's host");
            return Ok(Observation::Removed);
        }
        let p = self.probe_patiently().await?;
        Ok(match p.state.as_str() {
            "network_error" => {
                let code = p.sub_code.unwrap_or_default();
                Observation::Blocked {
                    sub_code: sub_code::for_network_error(&code)
                        .unwrap_or(sub_code::NETWORK_UNREACHABLE)
                        .to_string(),
                    message: format!(
                        "Chromium could not open the meeting ({code}): {}",
                        p.message.unwrap_or_default()
                    ),
                }
            }
            "blocked" => Observation::Blocked {
                sub_code: p.sub_code.unwrap_or_else(|| sub_code::JOIN_DENIED.into()),
                message: p.message.unwrap_or_default(),
            },
            "removed" => Observation::Removed,
            "ended" => Observation::MeetingEnded,
            "lobby" => {
                self.sweep().await;
                Observation::WaitingRoom
            }
            "in_call" => {
                self.seen_call = true;
                self.note_chat(p.chat);
                self.note_speech(&p.speaking, &p.captions);
                if !self.sweep().await {
                    self.tend_panes(p.roster_open).await;
                    self.tend_captions(p.captions_state.as_deref()).await;
                }
                Observation::InCall { roster: p.roster }
            }
            "joining" => {
                if p.passcode_shown && self.joined_at.is_some_and(|t| t.elapsed() >= PASSCODE_REFUSED_AFTER) {
                    return Ok(Observation::Blocked {
                        sub_code: sub_code::PASSCODE_WRONG.into(),
                        message: "the passcode field is still shown after joining: the passcode was refused".into(),
                    });
                }
                if !self.sweep().await {
                    let name = self.bot_name.clone();
                    self.prejoin(&name).await;
                }
                Observation::Joining
            }
            _ => {
                // Maybe a dialog we know sits on a page we do not.
                self.sweep().await;
                Observation::Unknown {
                    text: p.message.unwrap_or_default(),
                }
            }
        })
    }

    async fn take_chat(&mut self) -> Vec<ChatLine> {
        std::mem::take(&mut self.chat_new)
    }

    async fn take_events(&mut self) -> Vec<Value> {
        std::mem::take(&mut self.events)
    }

    async fn send_chat(&mut self, text: &str) -> Result<(), String> {
        let mut ready = false;
        for _ in 0..4 {
            match self.call::<String>("chatOpen", "true").await?.as_str() {
                "ready" => {
                    ready = true;
                    break;
                }
                "opening" => tokio::time::sleep(Duration::from_millis(500)).await,
                _ => return Err(format!("{} shows no chat in this meeting", self.spec.name)),
            }
        }
        if !ready {
            return Err("the chat panel did not open".into());
        }
        self.type_text(text).await?;
        self.press_enter().await?;
        // Sent once the input is empty again; clients where Enter does not send get the button.
        for attempt in 0..20 {
            let click_send = attempt == 6;
            if self
                .call::<String>("chatSent", if click_send { "true" } else { "false" })
                .await?
                == "sent"
            {
                if self.own_messages.len() >= OWN_MESSAGES_KEPT {
                    self.own_messages.pop_front();
                }
                self.own_messages.push_back(text.trim().to_string());
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        Err("the message stayed in the chat input".into())
    }

    async fn screenshot(&mut self) -> Option<Vec<u8>> {
        let params = ScreenshotParams::builder()
            .format(CaptureScreenshotFormat::Jpeg)
            .quality(70)
            .build();
        tokio::time::timeout(Duration::from_secs(10), self.page.screenshot(params))
            .await
            .ok()?
            .ok()
    }

    async fn page_snapshot(&mut self) -> Option<Value> {
        tokio::time::timeout(Duration::from_secs(5), self.call::<Value>("snapshot", "null"))
            .await
            .ok()?
            .ok()
    }

    async fn leave(&mut self) -> Result<(), String> {
        // Lines still open are final, and nobody speaks any more, as far as the bot knows.
        let mut last = self.captions.tracker.flush();
        last.extend(self.speaking.flush(epoch_ms()));
        self.events.extend(last);
        // Click until the client no longer shows the call: clients that confirm (Zoom's
        // "Leave Meeting") list the confirm button first, and a slow machine may take a
        // while to show it.
        let deadline = tokio::time::Instant::now() + LEAVE_WITHIN;
        loop {
            let _ = self.call::<bool>("leaveCall", "null").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            match self.probe().await {
                Ok(p) if p.state == "in_call" => {}
                // Any other screen, or a page that is gone: the bot is out.
                _ => return Ok(()),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!("{} still shows the call after clicking leave", self.spec.name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_passcode_is_read_from_pwd() {
        assert_eq!(
            passcode_of("https://app.zoom.us/wc/123/join?pwd=abc.1&fromPWA=1").as_deref(),
            Some("abc.1")
        );
        assert_eq!(passcode_of("https://app.zoom.us/wc/123/join?pwd="), None);
        assert_eq!(passcode_of("https://meet.google.com/abc-defg-hij"), None);
    }

    #[test]
    fn every_spec_serialises_with_the_fields_the_page_script_reads() {
        for spec in [&meet::MEET, &teams::TEAMS, &zoom::ZOOM] {
            let json: Value = serde_json::to_value(spec).unwrap();
            for path in [
                "/prejoin/nameInputs",
                "/prejoin/passcodeInputs",
                "/prejoin/joinButtons",
                "/dialogs",
                "/lobbyTexts",
                "/transitionalTexts",
                "/inCall",
                "/inCallHideable",
                "/roster/listContainers",
                "/roster/tiles",
                "/roster/counters",
                "/roster/selfMarkers",
                "/screens/refusals",
                "/screens/refusalSelectors",
                "/chat/message",
                "/captions/onButtons",
                "/captions/menuPath",
                "/captions/containers",
                "/captions/lines",
                "/captions/speakers",
                "/captions/texts",
                "/captions/unavailableTexts",
                "/speaking/indicators",
            ] {
                assert!(json.pointer(path).is_some(), "{}: {path}", spec.name);
            }
            // Every refusal names a sub code the vocabulary knows.
            for refusal in json["screens"]["refusals"].as_array().unwrap() {
                let code = refusal[0].as_str().unwrap();
                assert!(sub_code::KNOWN.contains(&code), "{}: {code}", spec.name);
            }
        }
    }
}

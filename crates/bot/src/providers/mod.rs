//! Meeting web clients. Each client is a [`ClientSpec`] — its selectors and texts in one
//! file, so a UI change is a one-file edit — driven by one [`WebClient`] provider.
//!
//! The page is read with one script per look ([`PROBE`]) that classifies the screen and
//! lists participants; the driver decides what that means.

pub mod meet;
pub mod teams;
pub mod zoom;

use crate::driver::{ChatLine, Observation, Participant, Provider};
use async_trait::async_trait;
use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType, InsertTextParams};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::time::Duration;

/// What identifies one web client's screens. Texts match case-insensitively as
/// substrings of the page's visible text (buttons: of their text or `aria-label`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientSpec {
    pub name: &'static str,
    /// Buttons clicked whenever present before joining: consent, "Got it", "Continue on
    /// this browser", "Join from your browser".
    pub dismiss_buttons: &'static [&'static str],
    /// Where the bot's name goes (CSS selectors, first match).
    pub name_inputs: &'static [&'static str],
    /// Buttons that turn the microphone or camera off, clicked once if present.
    pub mute_buttons: &'static [&'static str],
    /// The join button (text or aria-label), in order of preference.
    pub join_buttons: &'static [&'static str],
    /// Texts of the lobby.
    pub lobby_texts: &'static [&'static str],
    /// Elements that exist only once admitted. Checked only when no lobby text shows: real
    /// clients render some call controls (e.g. Meet's "Leave call") in the lobby already.
    pub in_call_selectors: &'static [&'static str],
    /// One element per participant tile or roster entry, and the attribute with its id.
    pub participant_selector: &'static str,
    pub participant_id_attribute: &'static str,
    /// Attribute holding the name; the element's first line of text otherwise.
    pub participant_name_attribute: Option<&'static str>,
    /// Participant elements with these names are not people (e.g. Meet's self-preview
    /// "Backgrounds and effects" tile).
    pub participant_ignore: &'static [&'static str],
    /// Hard signals.
    pub removed_texts: &'static [&'static str],
    pub ended_texts: &'static [&'static str],
    /// Screens that keep the bot out: (sub code, texts).
    pub blocked: &'static [(&'static str, &'static [&'static str])],
    /// The leave button.
    pub leave_buttons: &'static [&'static str],
    /// Clicked once when the call is reached (e.g. Teams' People panel, whose roster is
    /// only in the page while open).
    pub in_call_panels: &'static [&'static str],
    /// Iframes (CSS selectors) that hold the client when it is embedded, e.g. Zoom's
    /// progressive web app; the first same-origin match is where the scripts look.
    pub frames: &'static [&'static str],
    pub chat: ChatSpec,
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
    /// One element per message.
    pub message: &'static str,
    /// The sender: inside the message, or the nearest one before it (clients that show one
    /// header above a run of messages).
    pub sender: &'static str,
    /// The text inside the message; the message's last line of text otherwise.
    pub text: &'static str,
}

/// Classifies the page and lists participants; `spec` is the client's [`ClientSpec`].
pub const PROBE: &str = r#"
(spec, doc) => {
  const visible = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  // Clients mix typographic and plain apostrophes and ellipses; compare them normalised.
  const norm = (t) => (t || '').toLowerCase().replace(/[\u2018\u2019]/g, "'").replace(/\u2026/g, '...');
  const text = norm(doc.body ? doc.body.innerText : '');
  const has = (list) => list.find((t) => text.includes(norm(t)));
  for (const [code, texts] of spec.blocked) {
    const hit = has(texts);
    if (hit) return { state: 'blocked', subCode: code, message: hit };
  }
  if (has(spec.removedTexts)) return { state: 'removed' };
  if (has(spec.endedTexts)) return { state: 'ended' };
  // A lobby text wins over any call control: that is how bots avoid false admission.
  if (has(spec.lobbyTexts)) return { state: 'lobby' };
  const inCall = spec.inCallSelectors.some((s) => Array.from(doc.querySelectorAll(s)).some(visible));
  if (inCall) {
    const seen = new Map();
    for (const el of doc.querySelectorAll(spec.participantSelector)) {
      const attr = spec.participantNameAttribute ? el.getAttribute(spec.participantNameAttribute) : null;
      const name = (attr || el.innerText || '').split('\n')[0].trim();
      // Rosters without ids (Zoom) are keyed by name.
      const id = (spec.participantIdAttribute && el.getAttribute(spec.participantIdAttribute)) || name;
      if (!id || seen.has(id)) continue;
      if (spec.participantIgnore.some((x) => norm(name).includes(norm(x)))) continue;
      seen.set(id, { id, name });
    }
    const chat = [];
    if (spec.chat.message) {
      for (const el of doc.querySelectorAll(spec.chat.message)) {
        // The sender is in the message, or in the nearest header before it.
        let sender = el.querySelector(spec.chat.sender);
        for (let cur = el; !sender && cur && cur !== doc.body; cur = cur.parentElement) {
          for (let prev = cur.previousElementSibling; !sender && prev; prev = prev.previousElementSibling) {
            sender = prev.matches(spec.chat.sender) ? prev : prev.querySelector(spec.chat.sender);
          }
        }
        const body = spec.chat.text ? el.querySelector(spec.chat.text) : null;
        const lines = (el.innerText || '').trim().split('\n');
        const message = ((body ? body.innerText : lines[lines.length - 1]) || '').trim();
        if (message) chat.push({ sender: sender ? sender.innerText.trim() : '', text: message });
      }
    }
    return { state: 'in_call', participants: Array.from(seen.values()), chat };
  }
  return { state: 'joining' };
}
"#;

/// One pre-join step: dismiss what is in the way, fill the name, mute, press join.
/// Returns what it did (`joined` once the join button was pressed).
const PREJOIN: &str = r#"
(spec, doc, botName) => {
  const visible = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  const label = (el) => ((el.innerText || '') + ' ' + (el.getAttribute('aria-label') || '')).trim().toLowerCase();
  const buttons = () => Array.from(doc.querySelectorAll('button, [role="button"], a')).filter(visible);
  const find = (texts) => {
    for (const t of texts) {
      const hit = buttons().find((b) => label(b).includes(t.toLowerCase()) && !b.disabled
        && b.getAttribute('aria-disabled') !== 'true' && !b.classList.contains('disabled'));
      if (hit) return hit;
    }
    return null;
  };
  const done = [];
  // One step at a time: a dismissal may navigate (Zoom's "Join from your browser") or
  // reveal the real form, so the next look decides what follows.
  const dismiss = find(spec.dismissButtons);
  if (dismiss) { dismiss.click(); return ['dismissed']; }
  for (const sel of spec.nameInputs) {
    const input = Array.from(doc.querySelectorAll(sel)).find(visible);
    if (input && input.value !== botName) {
      // Typed with real key events by the caller: some clients (Zoom) keep Join disabled
      // when the value is set from script.
      // Focused and selected here, so the typed name replaces whatever is there.
      input.focus();
      input.select();
      return ['needs_name'];
    }
    if (input) break;
  }
  for (const sel of spec.muteButtons) {
    for (const b of doc.querySelectorAll(sel)) {
      if (visible(b) && !b.dataset.meeboterMuted) { b.dataset.meeboterMuted = '1'; b.click(); done.push('muted'); }
    }
  }
  const join = find(spec.joinButtons);
  if (join) { join.click(); done.push('joined'); }
  return done;
}
"#;

/// The document the client lives in: the page, or a same-origin iframe that embeds it.
const ROOT: &str = r#"
(spec) => {
  for (const sel of spec.frames) {
    const frame = document.querySelector(sel);
    try { if (frame && frame.contentDocument && frame.contentDocument.body) return frame.contentDocument; } catch (e) {}
  }
  return document;
}
"#;

/// Shared helpers for the chat scripts.
const CHAT_HELPERS: &str = r#"
  const visible = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  const first = (sels) => {
    for (const s of sels) { const el = Array.from(doc.querySelectorAll(s)).find(visible); if (el) return el; }
    return null;
  };
"#;

/// Makes sure the chat panel is open (clicking an open button only while no input shows);
/// with `focus`, focuses the input and selects its content so typing replaces it.
const CHAT_OPEN: &str = r#"
(spec, doc, focus) => {
  __HELPERS__
  const input = first(spec.chat.inputs);
  if (input) {
    if (focus) {
      input.focus();
      if (input.select) { input.select(); } else {
        const range = doc.createRange();
        range.selectNodeContents(input);
        const selection = doc.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
      }
    }
    return 'ready';
  }
  const open = first(spec.chat.openButtons);
  if (open) { open.click(); return 'opening'; }
  return 'none';
}
"#;

/// Whether the message left the input (sent); with `clickSend`, presses a send button.
const CHAT_SENT: &str = r#"
(spec, doc, clickSend) => {
  __HELPERS__
  const input = first(spec.chat.inputs);
  if (!input) return 'gone';
  const value = (input.value !== undefined ? input.value : input.innerText) || '';
  if (!value.trim()) return 'sent';
  if (clickSend) { const b = first(spec.chat.sendButtons); if (b) b.click(); }
  return 'pending';
}
"#;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Probe {
    state: String,
    sub_code: Option<String>,
    message: Option<String>,
    #[serde(default)]
    participants: Vec<ProbeParticipant>,
    #[serde(default)]
    chat: Vec<ChatLine>,
}

#[derive(Debug, Deserialize)]
struct ProbeParticipant {
    id: String,
    name: String,
}

/// The host of a URL (`None` for URLs without one, such as `data:` pages).
fn host_of(url: &str) -> Option<String> {
    reqwest::Url::parse(url).ok()?.host_str().map(str::to_ascii_lowercase)
}

/// How long the pre-join screens may take before joining counts as failed.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How often the bot tries to open a chat panel that does not open (guests without chat).
const CHAT_OPEN_ATTEMPTS: u8 = 3;

/// A meeting web client in a Chromium page.
pub struct WebClient {
    page: Page,
    spec: &'static ClientSpec,
    meeting_url: String,
    panels_opened: bool,
    chat_open_attempts: u8,
    /// How often each (sender, text) has been seen: lists are re-read every look, and some
    /// clients virtualise them, so a message is new only when it shows more often than before.
    chat_seen: HashMap<(String, String), usize>,
    chat_new: Vec<ChatLine>,
    /// The host the meeting was opened on; once in the call, a page on another host means
    /// the client sent the bot away (a hard signal).
    meeting_host: Option<String>,
    seen_call: bool,
}

impl WebClient {
    pub fn new(page: Page, spec: &'static ClientSpec, meeting_url: &str) -> Self {
        Self {
            page,
            spec,
            meeting_url: meeting_url.to_string(),
            panels_opened: false,
            chat_open_attempts: 0,
            chat_seen: HashMap::new(),
            chat_new: Vec::new(),
            meeting_host: host_of(meeting_url),
            seen_call: false,
        }
    }

    /// Whether the page left the meeting's host (only checked once the call was reached:
    /// joining may legitimately redirect, e.g. zoom.us → app.zoom.us).
    async fn navigated_away(&self) -> bool {
        if !self.seen_call {
            return false;
        }
        match self.page.url().await {
            Ok(Some(url)) => host_of(&url) != self.meeting_host,
            _ => false,
        }
    }

    /// Runs `function(spec, doc, arg)` in the client's document.
    async fn call<T: for<'de> Deserialize<'de>>(&self, function: &str, arg: &str) -> Result<T, String> {
        let spec = self.spec_json();
        let function = function.replace("__HELPERS__", CHAT_HELPERS);
        let script = format!("(() => {{ const spec = {spec}; return ({function})(spec, ({ROOT})(spec), {arg}); }})()");
        self.page
            .evaluate(script)
            .await
            .map_err(|e| format!("the page did not answer: {e}"))?
            .into_value()
            .map_err(|e| format!("unexpected answer from the page: {e}"))
    }

    fn spec_json(&self) -> String {
        serde_json::to_string(self.spec).expect("specs serialise")
    }

    /// Types into the focused element with trusted input events (some clients, like Zoom,
    /// ignore values set from script); works inside iframes too.
    async fn type_text(&self, text: &str) -> Result<(), String> {
        self.page
            .execute(InsertTextParams::new(text))
            .await
            .map(|_| ())
            .map_err(|e| format!("cannot type: {e}"))
    }

    async fn press_enter(&self) -> Result<(), String> {
        let key = DispatchKeyEventParams::builder()
            .key("Enter")
            .code("Enter")
            .windows_virtual_key_code(13)
            .native_virtual_key_code(13);
        for (kind, text) in [
            (DispatchKeyEventType::KeyDown, Some("\r")),
            (DispatchKeyEventType::KeyUp, None),
        ] {
            let mut event = key.clone().r#type(kind);
            if let Some(t) = text {
                event = event.text(t);
            }
            let event = event.build().map_err(|e| format!("bad key event: {e}"))?;
            self.page
                .execute(event)
                .await
                .map_err(|e| format!("cannot press Enter: {e}"))?;
        }
        Ok(())
    }

    async fn probe(&self) -> Result<Probe, String> {
        self.call(PROBE, "null").await
    }

    /// Keeps what is new in the chat list (see `chat_seen`).
    fn note_chat(&mut self, lines: Vec<ChatLine>) {
        let mut counts: HashMap<(String, String), usize> = HashMap::new();
        for line in lines {
            let key = (line.sender.clone(), line.text.clone());
            let count = counts.entry(key.clone()).or_default();
            *count += 1;
            let seen = self.chat_seen.entry(key).or_default();
            if *count > *seen {
                *seen = *count;
                self.chat_new.push(line);
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
        if let Err(e) = self.page.goto(self.meeting_url.as_str()).await {
            // Navigation tracking can give up on pages whose frames never finish loading;
            // what matters is whether the client's page answers.
            let answers = self
                .page
                .evaluate("document.readyState")
                .await
                .ok()
                .and_then(|v| v.into_value::<String>().ok())
                .is_some_and(|state| state != "loading");
            if !answers {
                return Err(format!("cannot open {}: {e}", self.meeting_url));
            }
            tracing::warn!(error = %e, "navigation did not report completion, but the page is there");
        }
        let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
        let name_arg = serde_json::to_string(bot_name).expect("a string");
        loop {
            // Already past the join screen (lobby, call, or a blocking screen)?
            if let Ok(p) = self.probe().await
                && p.state != "joining"
            {
                return Ok(());
            }
            let done: Vec<String> = self.call(PREJOIN, &name_arg).await.unwrap_or_default();
            if done.iter().any(|d| d == "joined") {
                return Ok(());
            }
            if done.iter().any(|d| d == "needs_name") {
                // The script focused and selected the input; typing replaces its content.
                let _ = self.type_text(bot_name).await;
                continue;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "no {} join button appeared within {} s",
                    self.spec.name,
                    JOIN_TIMEOUT.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    async fn observe(&mut self) -> Result<Observation, String> {
        // A page that is navigating has no document for a moment; only a page that stays
        // silent is a crash.
        let mut attempt = 0;
        let mut p = loop {
            if self.navigated_away().await {
                tracing::info!("the page left the meeting's host");
                return Ok(Observation::Removed);
            }
            match self.probe().await {
                Ok(p) => break p,
                Err(e) if attempt + 1 >= PROBE_ATTEMPTS => return Err(e),
                Err(e) => {
                    tracing::debug!(error = %e, "the page did not answer; looking again");
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        };
        self.seen_call |= p.state == "in_call";
        if p.state == "in_call" && !self.panels_opened && !self.spec.in_call_panels.is_empty() {
            self.panels_opened = true;
            let script = r#"(spec, doc) => { for (const s of spec.inCallPanels) { const b = doc.querySelector(s); if (b) b.click(); } }"#;
            let _ = self.call::<Value>(script, "null").await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            p = self.probe().await?;
        }
        if p.state == "in_call" && self.chat_open_attempts < CHAT_OPEN_ATTEMPTS {
            // Incoming messages are only in the page while the chat panel is open.
            match self.call::<String>(CHAT_OPEN, "false").await.as_deref() {
                Ok("ready") => self.chat_open_attempts = CHAT_OPEN_ATTEMPTS,
                _ => self.chat_open_attempts += 1,
            }
        }
        Ok(match p.state.as_str() {
            "blocked" => Observation::Blocked {
                sub_code: p.sub_code.unwrap_or_else(|| "join_denied".into()),
                message: p.message.unwrap_or_default(),
            },
            "removed" => Observation::Removed,
            "ended" => Observation::MeetingEnded,
            "in_call" => {
                self.note_chat(p.chat);
                Observation::InCall {
                    participants: p
                        .participants
                        .into_iter()
                        .map(|x| Participant { id: x.id, name: x.name })
                        .collect(),
                }
            }
            "lobby" => Observation::WaitingRoom,
            "joining" => Observation::Joining,
            _ => Observation::Unknown,
        })
    }

    async fn take_chat(&mut self) -> Vec<ChatLine> {
        std::mem::take(&mut self.chat_new)
    }

    async fn send_chat(&mut self, text: &str) -> Result<(), String> {
        let mut ready = false;
        for _ in 0..4 {
            match self.call::<String>(CHAT_OPEN, "true").await?.as_str() {
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
                .call::<String>(CHAT_SENT, if click_send { "true" } else { "false" })
                .await?
                == "sent"
            {
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

    async fn leave(&mut self) -> Result<(), String> {
        let script = r#"(spec, doc) => {
            const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
            for (const s of spec.leaveButtons) {
              const b = Array.from(doc.querySelectorAll(s)).find(visible);
              if (b) { b.click(); return true; }
            }
            return false;
        }"#;
        // Click until the client no longer shows the call: clients that confirm (Zoom's
        // "Leave Meeting") list the confirm button first, and a slow machine may take a
        // while to show it.
        let deadline = tokio::time::Instant::now() + LEAVE_WITHIN;
        loop {
            let _ = self.call::<bool>(script, "null").await;
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

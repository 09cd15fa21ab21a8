//! Meeting web clients. Each client is a [`ClientSpec`] — its selectors and texts in one
//! file, so a UI change is a one-file edit — driven by one [`WebClient`] provider.
//!
//! The page is read with one script per look ([`PROBE`]) that classifies the screen and
//! lists participants; the driver decides what that means.

pub mod meet;
pub mod teams;
pub mod zoom;

use crate::driver::{Observation, Participant, Provider};
use async_trait::async_trait;
use chromiumoxide::Page;
use serde::{Deserialize, Serialize};
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
}

/// Classifies the page and lists participants; `spec` is the client's [`ClientSpec`].
pub const PROBE: &str = r#"
(spec) => {
  const visible = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  // Clients mix typographic and plain apostrophes and ellipses; compare them normalised.
  const norm = (t) => (t || '').toLowerCase().replace(/[\u2018\u2019]/g, "'").replace(/\u2026/g, '...');
  const text = norm(document.body ? document.body.innerText : '');
  const has = (list) => list.find((t) => text.includes(norm(t)));
  for (const [code, texts] of spec.blocked) {
    const hit = has(texts);
    if (hit) return { state: 'blocked', subCode: code, message: hit };
  }
  if (has(spec.removedTexts)) return { state: 'removed' };
  if (has(spec.endedTexts)) return { state: 'ended' };
  // A lobby text wins over any call control: that is how bots avoid false admission.
  if (has(spec.lobbyTexts)) return { state: 'lobby' };
  const inCall = spec.inCallSelectors.some((s) => Array.from(document.querySelectorAll(s)).some(visible));
  if (inCall) {
    const seen = new Map();
    for (const el of document.querySelectorAll(spec.participantSelector)) {
      const attr = spec.participantNameAttribute ? el.getAttribute(spec.participantNameAttribute) : null;
      const name = (attr || el.innerText || '').split('\n')[0].trim();
      // Rosters without ids (Zoom) are keyed by name.
      const id = (spec.participantIdAttribute && el.getAttribute(spec.participantIdAttribute)) || name;
      if (!id || seen.has(id)) continue;
      if (spec.participantIgnore.some((x) => norm(name).includes(norm(x)))) continue;
      seen.set(id, { id, name });
    }
    return { state: 'in_call', participants: Array.from(seen.values()) };
  }
  return { state: 'joining' };
}
"#;

/// One pre-join step: dismiss what is in the way, fill the name, mute, press join.
/// Returns what it did (`joined` once the join button was pressed).
const PREJOIN: &str = r#"
(spec, botName) => {
  const visible = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
  const label = (el) => ((el.innerText || '') + ' ' + (el.getAttribute('aria-label') || '')).trim().toLowerCase();
  const buttons = () => Array.from(document.querySelectorAll('button, [role="button"], a')).filter(visible);
  const find = (texts) => {
    for (const t of texts) {
      const hit = buttons().find((b) => label(b).includes(t.toLowerCase()) && !b.disabled
        && b.getAttribute('aria-disabled') !== 'true' && !b.classList.contains('disabled'));
      if (hit) return hit;
    }
    return null;
  };
  const done = [];
  const dismiss = find(spec.dismissButtons);
  if (dismiss) { dismiss.click(); done.push('dismissed'); }
  for (const sel of spec.nameInputs) {
    const input = Array.from(document.querySelectorAll(sel)).find(visible);
    if (input && input.value !== botName) {
      // Typed with real key events by the caller: some clients (Zoom) keep Join disabled
      // when the value is set from script.
      for (const old of document.querySelectorAll('[data-meeboter-name]')) old.removeAttribute('data-meeboter-name');
      input.setAttribute('data-meeboter-name', '1');
      return ['needs_name'];
    }
    if (input) break;
  }
  for (const sel of spec.muteButtons) {
    for (const b of document.querySelectorAll(sel)) {
      if (visible(b) && !b.dataset.meeboterMuted) { b.dataset.meeboterMuted = '1'; b.click(); done.push('muted'); }
    }
  }
  const join = find(spec.joinButtons);
  if (join) { join.click(); done.push('joined'); }
  return done;
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
}

#[derive(Debug, Deserialize)]
struct ProbeParticipant {
    id: String,
    name: String,
}

/// How long the pre-join screens may take before joining counts as failed.
const JOIN_TIMEOUT: Duration = Duration::from_secs(60);

/// A meeting web client in a Chromium page.
pub struct WebClient {
    page: Page,
    spec: &'static ClientSpec,
    meeting_url: String,
    panels_opened: bool,
}

impl WebClient {
    pub fn new(page: Page, spec: &'static ClientSpec, meeting_url: &str) -> Self {
        Self {
            page,
            spec,
            meeting_url: meeting_url.to_string(),
            panels_opened: false,
        }
    }

    async fn call<T: for<'de> Deserialize<'de>>(&self, function: &str, args: &str) -> Result<T, String> {
        let script = format!("({function})({args})");
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

    /// Types the name into the input the pre-join script marked, with real key events.
    async fn type_name(&self, bot_name: &str) {
        let _ = self
            .page
            .evaluate("(() => { const i = document.querySelector('[data-meeboter-name]'); if (i) { i.focus(); i.select(); } })()")
            .await;
        if let Ok(input) = self.page.find_element("[data-meeboter-name]").await {
            let _ = input.click().await;
            // Clear whatever is there (a remembered name) before typing ours.
            let _ = self
                .page
                .evaluate(
                    "(() => { const i = document.querySelector('[data-meeboter-name]'); if (i) { i.select(); } })()",
                )
                .await;
            let _ = input.press_key("Backspace").await;
            let _ = input.type_str(bot_name).await;
        }
    }

    async fn probe(&self) -> Result<Probe, String> {
        self.call(PROBE, &self.spec_json()).await
    }
}

#[async_trait]
impl Provider for WebClient {
    async fn join(&mut self, bot_name: &str) -> Result<(), String> {
        self.page
            .goto(self.meeting_url.as_str())
            .await
            .map_err(|e| format!("cannot open {}: {e}", self.meeting_url))?;
        let deadline = tokio::time::Instant::now() + JOIN_TIMEOUT;
        let args = format!(
            "{}, {}",
            self.spec_json(),
            serde_json::to_string(bot_name).expect("a string")
        );
        loop {
            // Already past the join screen (lobby, call, or a blocking screen)?
            if let Ok(p) = self.probe().await
                && p.state != "joining"
            {
                return Ok(());
            }
            let done: Vec<String> = self.call(PREJOIN, &args).await.unwrap_or_default();
            if done.iter().any(|d| d == "joined") {
                return Ok(());
            }
            if done.iter().any(|d| d == "needs_name") {
                self.type_name(bot_name).await;
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
        let mut p = self.probe().await?;
        if p.state == "in_call" && !self.panels_opened && !self.spec.in_call_panels.is_empty() {
            self.panels_opened = true;
            let script = format!(
                "(() => {{ for (const s of {}) {{ const b = document.querySelector(s); if (b) b.click(); }} }})()",
                serde_json::to_string(self.spec.in_call_panels).expect("strings")
            );
            let _ = self.page.evaluate(script).await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            p = self.probe().await?;
        }
        Ok(match p.state.as_str() {
            "blocked" => Observation::Blocked {
                sub_code: p.sub_code.unwrap_or_else(|| "join_denied".into()),
                message: p.message.unwrap_or_default(),
            },
            "removed" => Observation::Removed,
            "ended" => Observation::MeetingEnded,
            "in_call" => Observation::InCall {
                participants: p
                    .participants
                    .into_iter()
                    .map(|x| Participant { id: x.id, name: x.name })
                    .collect(),
            },
            "lobby" => Observation::WaitingRoom,
            "joining" => Observation::Joining,
            _ => Observation::Unknown,
        })
    }

    async fn leave(&mut self) -> Result<(), String> {
        let script = format!(
            "(() => {{ const sels = {}; const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); for (const s of sels) {{ const b = Array.from(document.querySelectorAll(s)).find(visible); if (b) {{ b.click(); return true; }} }} return false; }})()",
            serde_json::to_string(self.spec.leave_buttons).expect("strings")
        );
        // Twice: clients that confirm (Zoom's "Leave Meeting") list the confirm button first.
        let _ = self.page.evaluate(script.clone()).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let _ = self.page.evaluate(script).await;
        Ok(())
    }
}

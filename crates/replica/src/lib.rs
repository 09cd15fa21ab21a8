//! Replica meetings: local pages that reproduce the markup contract of the real web
//! clients (the same labels, texts and flows the providers rely on), plus a control API
//! to admit, deny, kick, end, and add or remove participants.
//!
//! They are fixtures, not the spec: providers follow the real clients, and the replicas
//! follow what the providers need from them.
//!
//! Routes (`code` is a Meet-style `xxx-yyyy-zzz`):
//! - `GET /{code}` — the Meet page a bot opens.
//! - `PUT /_replica/{code}` `{"lobby": bool}` — (re)configure; `GET` reads the state.
//! - `POST /_replica/{code}/{admit|deny|kick|end}` — the host's actions (on every guest).
//! - `POST /_replica/{code}/participants` `{"name"}`, `DELETE …/participants/{name}`.
//! - `POST /_replica/{code}/guests` `{"name"}`, `GET …/guests/{id}`, `POST …/guests/{id}/leave`
//!   — what the page itself calls.

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Lobby,
    Call,
    Denied,
    Removed,
    Ended,
    Left,
}

impl Screen {
    fn as_str(&self) -> &'static str {
        match self {
            Screen::Lobby => "lobby",
            Screen::Call => "call",
            Screen::Denied => "denied",
            Screen::Removed => "removed",
            Screen::Ended => "ended",
            Screen::Left => "left",
        }
    }
}

#[derive(Debug, Default)]
struct Meeting {
    /// Guests wait in the lobby until admitted (otherwise they join directly).
    lobby: bool,
    ended: bool,
    guests: BTreeMap<String, (String, Screen)>,
    /// Other people in the call (not guests of this page).
    people: Vec<String>,
    next_id: u64,
}

type Meetings = Arc<Mutex<BTreeMap<String, Meeting>>>;

fn with<T>(meetings: &Meetings, code: &str, f: impl FnOnce(&mut Meeting) -> T) -> T {
    let mut all = meetings.lock().unwrap_or_else(|p| p.into_inner());
    f(all.entry(code.to_string()).or_default())
}

/// The Google Meet replica; mount it anywhere (tests serve it on a loopback port).
pub fn router() -> Router {
    router_with(MEET_PAGE)
}

/// The Zoom web-client replica (`/{id}`), same host controls.
pub fn zoom_router() -> Router {
    router_with(ZOOM_PAGE)
}

/// The Microsoft Teams replica (`/{id}`), same host controls.
pub fn teams_router() -> Router {
    router_with(TEAMS_PAGE)
}

fn router_with(page: &'static str) -> Router {
    let meetings: Meetings = Arc::default();
    Router::new()
        .route(
            "/{code}",
            get(move |Path(code): Path<String>| async move { Html(page.replace("__CODE__", &code)) }),
        )
        .route("/_replica/{code}", get(state).put(configure))
        .route("/_replica/{code}/admit", post(|s, p| host_action(s, p, "admit")))
        .route("/_replica/{code}/deny", post(|s, p| host_action(s, p, "deny")))
        .route("/_replica/{code}/kick", post(|s, p| host_action(s, p, "kick")))
        .route("/_replica/{code}/end", post(|s, p| host_action(s, p, "end")))
        .route("/_replica/{code}/participants", post(add_person))
        .route("/_replica/{code}/participants/{name}", delete(remove_person))
        .route("/_replica/{code}/guests", post(guest_join))
        .route("/_replica/{code}/guests/{id}", get(guest_state))
        .route("/_replica/{code}/guests/{id}/leave", post(guest_leave))
        .with_state(meetings)
}

#[derive(Deserialize)]
struct Config {
    lobby: bool,
}

async fn configure(State(m): State<Meetings>, Path(code): Path<String>, Json(c): Json<Config>) -> Json<Value> {
    with(&m, &code, |meeting| meeting.lobby = c.lobby);
    Json(json!({"ok": true}))
}

async fn state(State(m): State<Meetings>, Path(code): Path<String>) -> Json<Value> {
    with(&m, &code, |meeting| {
        let guests: Vec<Value> = meeting
            .guests
            .iter()
            .map(|(id, (name, screen))| json!({"id": id, "name": name, "screen": screen.as_str()}))
            .collect();
        Json(json!({"lobby": meeting.lobby, "ended": meeting.ended, "guests": guests, "people": meeting.people}))
    })
}

async fn host_action(State(m): State<Meetings>, Path(code): Path<String>, action: &'static str) -> Json<Value> {
    with(&m, &code, |meeting| {
        if action == "end" {
            meeting.ended = true;
        }
        for (_, screen) in meeting.guests.values_mut() {
            *screen = match (action, screen.clone()) {
                ("admit", Screen::Lobby) => Screen::Call,
                ("deny", Screen::Lobby) => Screen::Denied,
                ("kick", Screen::Call) => Screen::Removed,
                ("end", Screen::Call | Screen::Lobby) => Screen::Ended,
                (_, same) => same,
            };
        }
    });
    Json(json!({"ok": true}))
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

async fn add_person(State(m): State<Meetings>, Path(code): Path<String>, Json(p): Json<Named>) -> Json<Value> {
    with(&m, &code, |meeting| meeting.people.push(p.name));
    Json(json!({"ok": true}))
}

async fn remove_person(State(m): State<Meetings>, Path((code, name)): Path<(String, String)>) -> Json<Value> {
    with(&m, &code, |meeting| meeting.people.retain(|p| *p != name));
    Json(json!({"ok": true}))
}

async fn guest_join(State(m): State<Meetings>, Path(code): Path<String>, Json(p): Json<Named>) -> Json<Value> {
    with(&m, &code, |meeting| {
        meeting.next_id += 1;
        let id = format!("g{}", meeting.next_id);
        let screen = if meeting.ended {
            Screen::Ended
        } else if meeting.lobby {
            Screen::Lobby
        } else {
            Screen::Call
        };
        meeting.guests.insert(id.clone(), (p.name, screen));
        Json(json!({"id": id}))
    })
}

async fn guest_state(State(m): State<Meetings>, Path((code, id)): Path<(String, String)>) -> Json<Value> {
    with(&m, &code, |meeting| {
        let screen = meeting.guests.get(&id).map_or("left", |(_, s)| s.as_str());
        let mut participants: Vec<Value> = meeting
            .guests
            .iter()
            .filter(|(_, (_, s))| *s == Screen::Call)
            .map(|(gid, (name, _))| json!({"id": format!("spaces/{code}/devices/{gid}"), "name": name}))
            .collect();
        participants.extend(
            meeting
                .people
                .iter()
                .map(|name| json!({"id": format!("spaces/{code}/people/{name}"), "name": name})),
        );
        Json(json!({"screen": screen, "participants": participants}))
    })
}

async fn guest_leave(State(m): State<Meetings>, Path((code, id)): Path<(String, String)>) -> Json<Value> {
    with(&m, &code, |meeting| {
        if let Some((_, screen)) = meeting.guests.get_mut(&id) {
            *screen = Screen::Left;
        }
    });
    Json(json!({"ok": true}))
}

/// The Meet replica (contract: `docs/research/meeting-web-clients.md` §6.1): pre-join (name,
/// mic/camera toggles, "Ask to join"/"Join now"), a lobby that — like real Meet — already
/// shows "Leave call", the call (captions, chat and details buttons, `data-participant-id`
/// tiles named by `aria-label`, plus the self-preview effects tile that is not a person), and
/// the end screens with Meet's typographic apostrophes.
const MEET_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Meet</title>
<style>body{font-family:sans-serif} [hidden]{display:none!important} .tile{display:inline-block;margin:4px;padding:8px;border:1px solid #999}</style>
</head><body>
<main id="prejoin">
  <h1>Ready to join?</h1>
  <input type="text" aria-label="Your name" placeholder="Your name">
  <div role="button" tabindex="0" id="mic" aria-label="Turn off microphone (ctrl + d)">mic</div>
  <div role="button" tabindex="0" id="cam" aria-label="Turn off camera (ctrl + e)">cam</div>
  <button id="join" disabled><span id="join-label">Join now</span></button>
</main>
<main id="lobby" hidden><p>Asking to be let in…</p><p>You’ll join the call when someone lets you in</p>
  <button>Cancel</button><button aria-label="Leave call">☎</button></main>
<main id="call" hidden>
  <div id="tiles"><div data-participant-id="spaces/self/effects" aria-label="Backgrounds and effects">effects</div></div>
  <button aria-label="Leave call" id="leave">☎</button>
  <button aria-label="Chat with everyone">chat</button>
  <button aria-label="Meeting details">info</button>
  <button aria-label="Turn on captions">cc</button>
  <button aria-label="People">people</button>
</main>
<main id="denied" hidden><h1>Someone in the call denied your request to join</h1></main>
<main id="removed" hidden><div class="roSPhc">You’ve been removed from the meeting</div><button>Return to home screen</button></main>
<main id="ended" hidden><h1>Your host ended the meeting for everyone</h1></main>
<main id="left" hidden><h1>You left the meeting</h1><button>Rejoin</button></main>
<script>
const code = "__CODE__";
// Relative to where the page is mounted (a test server, or a server under /_test/meeting/meet).
const api = location.pathname.replace(/\/[^\/]*$/, '') + "/_replica/" + code;
let guest = null;
const show = (id) => { for (const m of document.querySelectorAll('main')) m.hidden = m.id !== id; };
const name = document.querySelector('input[aria-label="Your name"]');
const join = document.getElementById('join');
fetch(api).then(r => r.json()).then(s => {
  document.getElementById('join-label').textContent = s.lobby ? 'Ask to join' : 'Join now';
  if (s.ended) show('ended');
});
name.addEventListener('input', () => { join.disabled = name.value.trim() === ''; });
for (const id of ['mic', 'cam']) {
  const b = document.getElementById(id);
  b.addEventListener('click', () => { b.setAttribute('aria-label', b.getAttribute('aria-label').replace('Turn off', 'Turn on')); });
}
join.addEventListener('click', async () => {
  const r = await fetch(api + '/guests', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: name.value})});
  guest = (await r.json()).id;
  poll();
});
document.getElementById('leave').addEventListener('click', async () => {
  await fetch(api + '/guests/' + guest + '/leave', {method: 'POST'});
});
async function poll() {
  const s = await (await fetch(api + '/guests/' + guest)).json();
  show(s.screen);
  if (s.screen === 'call') {
    const tiles = document.getElementById('tiles');
    for (const t of tiles.querySelectorAll('.tile')) t.remove();
    for (const p of s.participants) {
      const t = document.createElement('div');
      t.className = 'tile';
      t.setAttribute('data-participant-id', p.id);
      t.setAttribute('aria-label', p.name);
      t.textContent = p.name;
      tiles.appendChild(t);
    }
  }
  setTimeout(poll, 250);
}
</script>
</body></html>
"#;

/// The Teams replica (contract: `docs/research/meeting-web-clients.md` §6.2): the "Continue on
/// this browser" launcher, the pre-join form (`data-tid` name input and switches), a lobby
/// with a hang-up button, the call toolbar, a roster that exists only while the People
/// panel is open, and the retry/end screens.
const TEAMS_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Microsoft Teams</title>
<style>[hidden]{display:none!important}</style></head><body>
<main id="launcher"><h1>How do you want to join your Teams meeting?</h1>
  <button aria-label="Continue on this browser" id="continue">Continue on this browser</button></main>
<main id="prejoin" hidden>
  <input data-tid="prejoin-display-name-input" placeholder="Type your name">
  <input type="checkbox" role="switch" data-tid="toggle-mute" aria-checked="true" checked>
  <input type="checkbox" role="switch" data-tid="toggle-video" aria-checked="true" checked>
  <button data-tid="prejoin-join-button" id="join" disabled>Join now</button>
  <button data-tid="prejoin-cancel-button">Cancel</button>
</main>
<main id="lobby" hidden><p>Someone in the meeting should let you in soon</p>
  <button data-tid="hangup-main-btn" aria-label="Leave (Ctrl+Shift+H)">Leave</button></main>
<main id="call" hidden>
  <button id="callingButtons-showMoreBtn">More</button>
  <button id="raisehands-button">Raise</button>
  <button id="chat-button">Chat</button>
  <button id="roster-button" aria-label="People">People</button>
  <button id="hangup-button" data-tid="hangup-main-btn" aria-label="Leave (Ctrl+Shift+H)">Leave</button>
  <div role="tree" aria-label="Attendees" id="roster" hidden></div>
</main>
<main id="denied" hidden><p>Sorry, but you were denied access to the meeting.</p><button data-tid="calling-retry-cancelbutton">Dismiss</button></main>
<main id="removed" hidden><h2 id="calling-retry-screen-title">You’ve been removed from this meeting</h2></main>
<main id="ended" hidden><p>The meeting has ended</p></main>
<main id="left" hidden><p>You left the meeting.</p><button>Rejoin</button></main>
<script>
const code = "__CODE__";
const api = location.pathname.replace(/\/[^\/]*$/, '') + "/_replica/" + code;
let guest = null;
const show = (id) => { for (const m of document.querySelectorAll('main')) m.hidden = m.id !== id; };
document.getElementById('continue').addEventListener('click', () => show('prejoin'));
const name = document.querySelector('[data-tid="prejoin-display-name-input"]');
const join = document.getElementById('join');
name.addEventListener('input', () => { join.disabled = name.value.trim() === ''; });
for (const sw of document.querySelectorAll('[role="switch"]')) {
  sw.addEventListener('click', () => sw.setAttribute('aria-checked', sw.checked ? 'true' : 'false'));
}
join.addEventListener('click', async () => {
  join.disabled = true;
  const r = await fetch(api + '/guests', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: name.value})});
  guest = (await r.json()).id;
  poll();
});
document.getElementById('roster-button').addEventListener('click', () => {
  const roster = document.getElementById('roster');
  roster.hidden = !roster.hidden;
});
document.getElementById('hangup-button').addEventListener('click', async () => {
  await fetch(api + '/guests/' + guest + '/leave', {method: 'POST'});
});
async function poll() {
  const s = await (await fetch(api + '/guests/' + guest)).json();
  show(s.screen);
  if (s.screen === 'call') {
    const roster = document.getElementById('roster');
    roster.innerHTML = '';
    if (!roster.hidden) {
      for (const p of s.participants) {
        const item = document.createElement('div');
        item.setAttribute('data-tid', 'participantsInCall-' + p.name);
        const span = document.createElement('span');
        span.title = p.name;
        span.textContent = p.name;
        item.appendChild(span);
        roster.appendChild(item);
      }
    }
  }
  setTimeout(poll, 250);
}
</script>
</body></html>
"#;

/// The Zoom replica (contract: `docs/research/meeting-web-clients.md` §6.3): a cookie
/// overlay, `#input-for-name` whose Join button (class `disabled`) only enables on real input
/// events, preview toggles, the waiting room inside `.meeting-app`, the footer with Leave (and
/// its "Leave Meeting" confirm) and the participants list, and the end screens.
const ZOOM_PAGE: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Zoom</title>
<style>[hidden]{display:none!important}</style></head><body>
<div id="onetrust-banner-sdk"><button id="onetrust-accept-btn-handler">Accept Cookies</button></div>
<main id="prejoin">
  <input id="input-for-name" type="text" placeholder="Your Name">
  <button id="preview-audio-control-button" aria-label="Mute">mic</button>
  <button id="preview-video-control-button" aria-label="Stop Video">cam</button>
  <button class="zm-btn preview-join-button disabled" id="join">Join</button>
</main>
<div class="meeting-app">
  <main id="lobby" hidden><p>Please wait, the meeting host will let you in soon.</p></main>
  <main id="call" hidden>
    <div id="wc-footer">
      <button aria-label="open the participants list" id="participants-button"><span class="footer-button__number-counter"><span id="count">1</span></span></button>
      <button aria-label="open the chat panel">Chat</button>
      <button aria-label="Leave" id="leave">Leave</button>
      <button class="leave-meeting-options__btn--danger" id="confirm-leave" hidden>Leave Meeting</button>
    </div>
    <ul id="participants-ul" hidden></ul>
  </main>
</div>
<main id="denied" hidden><p>Sorry, the host has denied your request to join.</p></main>
<main id="removed" hidden><p>You have been removed from this meeting</p></main>
<main id="ended" hidden><div aria-label="Meeting is end now"><div class="zm-modal-body-title">This meeting has been ended by host</div><button>OK</button></div></main>
<main id="left" hidden><p>You left the meeting.</p></main>
<script>
const code = "__CODE__";
const api = location.pathname.replace(/\/[^\/]*$/, '') + "/_replica/" + code;
let guest = null;
const show = (id) => { for (const m of document.querySelectorAll('main')) m.hidden = m.id !== id; };
document.getElementById('onetrust-accept-btn-handler').addEventListener('click', () => document.getElementById('onetrust-banner-sdk').remove());
const name = document.getElementById('input-for-name');
const join = document.getElementById('join');
// Like Zoom: only a trusted (real) input event enables Join.
name.addEventListener('input', (e) => { if (e.isTrusted) join.classList.toggle('disabled', name.value.trim() === ''); });
const audio = document.getElementById('preview-audio-control-button');
audio.addEventListener('click', () => audio.setAttribute('aria-label', audio.getAttribute('aria-label') === 'Mute' ? 'Unmute' : 'Mute'));
const video = document.getElementById('preview-video-control-button');
video.addEventListener('click', () => video.setAttribute('aria-label', video.getAttribute('aria-label') === 'Stop Video' ? 'Start Video' : 'Stop Video'));
join.addEventListener('click', async () => {
  if (join.classList.contains('disabled')) return;
  const r = await fetch(api + '/guests', {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({name: name.value})});
  guest = (await r.json()).id;
  poll();
});
document.getElementById('participants-button').addEventListener('click', () => {
  const ul = document.getElementById('participants-ul');
  ul.hidden = !ul.hidden;
});
document.getElementById('leave').addEventListener('click', () => { document.getElementById('confirm-leave').hidden = false; });
document.getElementById('confirm-leave').addEventListener('click', async () => {
  await fetch(api + '/guests/' + guest + '/leave', {method: 'POST'});
});
async function poll() {
  const s = await (await fetch(api + '/guests/' + guest)).json();
  show(s.screen);
  if (s.screen === 'call') {
    document.getElementById('count').textContent = String(s.participants.length);
    const ul = document.getElementById('participants-ul');
    ul.innerHTML = '';
    for (const p of s.participants) {
      const li = document.createElement('li');
      li.className = 'participants-li';
      const span = document.createElement('span');
      span.className = 'participants-item__display-name';
      span.textContent = p.name;
      li.appendChild(span);
      ul.appendChild(li);
    }
  }
  setTimeout(poll, 250);
}
</script>
</body></html>
"#;

//! Replica meetings: local pages that reproduce the markup contract of the real web
//! clients (the same labels, texts and flows the providers rely on), plus a control API
//! to script what the host and the other people do.
//!
//! They are fixtures, not the spec: providers follow the real clients
//! (`docs/research/meeting-web-clients.md`), and the replicas follow what the providers need
//! from them. The call screen plays a steady tone and draws moving content, so a recording
//! of it can be checked.
//!
//! Routes (`code` is the meeting's id):
//! - `GET /{code}` — the page a bot opens (Zoom also: `/wc/{code}/join`, `/wc/join/{code}`,
//!   `/j/{code}` landing, and `?fromPWA=1`, which renders the client inside an iframe).
//! - `PUT /_replica/{code}` `{"lobby", "admitAfterSecs", "block", "toneHz"}` — (re)configure
//!   (fields optional; `block` is `not_found` | `sign_in` | `captcha` | `locked` | `""`); `GET` reads
//!   the state (guests, people, chat).
//! - `POST /_replica/{code}/{admit|deny|kick|end|away}` — the host's actions (on every guest;
//!   `away` sends the guests' pages off the meeting, to another origin).
//! - `POST /_replica/{code}/participants` `{"name"}`, `DELETE …/participants/{name}`.
//! - `POST /_replica/{code}/chat` `{"sender", "text"}` — someone in the call writes.
//! - `POST /_replica/{code}/blip` `{"secs"}` — the guests' connection drops for a while.
//! - `POST /_replica/{code}/guests` `{"name"}`, `GET …/guests/{id}`, `POST …/guests/{id}/leave`,
//!   `POST …/guests/{id}/chat` `{"text"}` — what the page itself calls.

use axum::extract::{OriginalUri, Path, Query, State};
use axum::http::Uri;
use axum::response::Html;
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COMMON_JS: &str = include_str!("pages/common.js");
const MEET_PAGE: &str = include_str!("pages/meet.html");
const TEAMS_PAGE: &str = include_str!("pages/teams.html");
const ZOOM_PAGE: &str = include_str!("pages/zoom.html");
const ZOOM_PWA_PAGE: &str = include_str!("pages/zoom_pwa.html");
const ZOOM_LANDING_PAGE: &str = include_str!("pages/zoom_landing.html");

/// The frequency of the call's tone unless configured otherwise.
pub const DEFAULT_TONE_HZ: u32 = 440;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Screen {
    Lobby,
    Call,
    Denied,
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

#[derive(Debug, Clone)]
struct ChatLine {
    id: u64,
    sender: String,
    text: String,
    /// Set when a guest (a page, i.e. a bot) wrote it.
    guest_id: Option<String>,
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
    people: Vec<String>,
    chat: Vec<ChatLine>,
    /// Guests in the call see a reconnecting screen until then.
    blip_until: Option<Instant>,
    next_id: u64,
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
        }
    }
}

type Meetings = Arc<Mutex<BTreeMap<String, Meeting>>>;

fn with<T>(meetings: &Meetings, code: &str, f: impl FnOnce(&mut Meeting) -> T) -> T {
    let mut all = meetings.lock().unwrap_or_else(|p| p.into_inner());
    f(all.entry(code.to_string()).or_default())
}

/// The Google Meet replica; mount it anywhere (tests serve it on a loopback port).
pub fn router() -> Router {
    page_routes(MEET_PAGE).merge(control_routes())
}

/// The Microsoft Teams replica (`/{id}`), same host controls.
pub fn teams_router() -> Router {
    page_routes(TEAMS_PAGE).merge(control_routes())
}

/// The Zoom web-client replica (`/{id}`, `/wc/{id}/join`, `/wc/join/{id}`, `/j/{id}`), same
/// host controls.
pub fn zoom_router() -> Router {
    page_routes(ZOOM_PAGE)
        .route("/wc/{code}/join", get(zoom_client))
        .route("/wc/join/{code}", get(zoom_client))
        .route("/j/{code}", get(zoom_landing))
        .merge(control_routes())
}

fn control_routes() -> Router {
    let meetings: Meetings = Arc::default();
    Router::new()
        .route("/_replica/{code}", get(state).put(configure))
        .route("/_replica/{code}/admit", post(|s, p| host_action(s, p, "admit")))
        .route("/_replica/{code}/deny", post(|s, p| host_action(s, p, "deny")))
        .route("/_replica/{code}/kick", post(|s, p| host_action(s, p, "kick")))
        .route("/_replica/{code}/end", post(|s, p| host_action(s, p, "end")))
        .route("/_replica/{code}/away", post(|s, p| host_action(s, p, "away")))
        .route("/_replica/{code}/participants", post(add_person))
        .route("/_replica/{code}/participants/{name}", delete(remove_person))
        .route("/_replica/{code}/chat", post(host_chat))
        .route("/_replica/{code}/blip", post(blip))
        .route("/_replica/{code}/guests", post(guest_join))
        .route("/_replica/{code}/guests/{id}", get(guest_state))
        .route("/_replica/{code}/guests/{id}/leave", post(guest_leave))
        .route("/_replica/{code}/guests/{id}/chat", post(guest_chat))
        .with_state(meetings)
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
    Html(page.replace("__COMMON__", &common))
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Config {
    lobby: Option<bool>,
    admit_after_secs: Option<u64>,
    block: Option<String>,
    tone_hz: Option<u32>,
}

async fn configure(State(m): State<Meetings>, Path(code): Path<String>, Json(c): Json<Config>) -> Json<Value> {
    with(&m, &code, |meeting| {
        if let Some(lobby) = c.lobby {
            meeting.lobby = lobby;
        }
        if let Some(secs) = c.admit_after_secs {
            meeting.lobby = true;
            meeting.admit_after = Some(Duration::from_secs(secs));
        }
        if let Some(block) = c.block {
            meeting.block = (!block.is_empty()).then_some(block);
        }
        if let Some(hz) = c.tone_hz {
            meeting.tone_hz = hz;
        }
    });
    Json(json!({"ok": true}))
}

fn chat_json(meeting: &Meeting) -> Vec<Value> {
    meeting
        .chat
        .iter()
        .map(|c| json!({"id": c.id, "sender": c.sender, "text": c.text, "guestId": c.guest_id}))
        .collect()
}

async fn state(State(m): State<Meetings>, Path(code): Path<String>) -> Json<Value> {
    with(&m, &code, |meeting| {
        let guests: Vec<Value> = meeting
            .guests
            .iter()
            .map(|(id, g)| json!({"id": id, "name": g.name, "screen": g.screen.as_str()}))
            .collect();
        Json(json!({
            "lobby": meeting.lobby,
            "ended": meeting.ended,
            "block": meeting.block,
            "guests": guests,
            "people": meeting.people,
            "chat": chat_json(meeting),
        }))
    })
}

async fn host_action(State(m): State<Meetings>, Path(code): Path<String>, action: &'static str) -> Json<Value> {
    with(&m, &code, |meeting| {
        if action == "end" {
            meeting.ended = true;
        }
        for guest in meeting.guests.values_mut() {
            guest.screen = match (action, guest.screen.clone()) {
                ("admit", Screen::Lobby) => Screen::Call,
                ("deny", Screen::Lobby) => Screen::Denied,
                ("kick", Screen::Call) => Screen::Removed,
                ("end", Screen::Call | Screen::Lobby) => Screen::Ended,
                ("away", Screen::Call) => Screen::Away,
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

#[derive(Deserialize)]
struct HostChat {
    sender: String,
    text: String,
}

async fn host_chat(State(m): State<Meetings>, Path(code): Path<String>, Json(c): Json<HostChat>) -> Json<Value> {
    with(&m, &code, |meeting| {
        meeting.next_id += 1;
        let id = meeting.next_id;
        meeting.chat.push(ChatLine {
            id,
            sender: c.sender,
            text: c.text,
            guest_id: None,
        });
        Json(json!({"id": id}))
    })
}

#[derive(Deserialize)]
struct Blip {
    secs: u64,
}

async fn blip(State(m): State<Meetings>, Path(code): Path<String>, Json(b): Json<Blip>) -> Json<Value> {
    with(&m, &code, |meeting| {
        meeting.blip_until = Some(Instant::now() + Duration::from_secs(b.secs));
    });
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
        meeting.guests.insert(
            id.clone(),
            Guest {
                name: p.name,
                screen,
                joined: Instant::now(),
            },
        );
        Json(json!({"id": id}))
    })
}

async fn guest_state(State(m): State<Meetings>, Path((code, id)): Path<(String, String)>) -> Json<Value> {
    with(&m, &code, |meeting| {
        let now = Instant::now();
        if let (Some(after), Some(guest)) = (meeting.admit_after, meeting.guests.get_mut(&id))
            && guest.screen == Screen::Lobby
            && now.duration_since(guest.joined) >= after
        {
            guest.screen = Screen::Call;
        }
        let blipping = meeting.blip_until.is_some_and(|until| now < until);
        let screen = match meeting.guests.get(&id) {
            Some(g) if g.screen == Screen::Call && blipping => "reconnecting",
            Some(g) => g.screen.as_str(),
            None => "left",
        };
        let mut participants: Vec<Value> = meeting
            .guests
            .iter()
            .filter(|(_, g)| g.screen == Screen::Call)
            .map(|(gid, g)| json!({"id": format!("spaces/{code}/devices/{gid}"), "name": g.name}))
            .collect();
        participants.extend(
            meeting
                .people
                .iter()
                .map(|name| json!({"id": format!("spaces/{code}/people/{name}"), "name": name})),
        );
        Json(json!({
            "screen": screen,
            "participants": participants,
            "chat": chat_json(meeting),
            "toneHz": meeting.tone_hz,
        }))
    })
}

async fn guest_leave(State(m): State<Meetings>, Path((code, id)): Path<(String, String)>) -> Json<Value> {
    with(&m, &code, |meeting| {
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
    State(m): State<Meetings>,
    Path((code, id)): Path<(String, String)>,
    Json(c): Json<GuestChat>,
) -> Json<Value> {
    with(&m, &code, |meeting| {
        let Some(guest) = meeting.guests.get(&id) else {
            return Json(json!({"ok": false}));
        };
        let sender = guest.name.clone();
        meeting.next_id += 1;
        let line = ChatLine {
            id: meeting.next_id,
            sender,
            text: c.text,
            guest_id: Some(id.clone()),
        };
        meeting.chat.push(line);
        Json(json!({"ok": true}))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
}

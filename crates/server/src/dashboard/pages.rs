//! The dashboard's HTML. Every page is complete without script for its frame and forms;
//! `app.js` fills in the data (from the API) and keeps it live.

use crate::session::Session;
use meeboter_core::bot::{AUTOMATIC_LEAVE_BOUNDS, AutomaticLeave};
use meeboter_core::create_bot::DEFAULT_BOT_NAME;

/// The navigation entries; the current one is marked for screen readers and styles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    Bots,
    NewBot,
    Infrastructure,
    Keys,
    Webhooks,
}

impl Nav {
    pub fn title(self) -> &'static str {
        match self {
            Nav::Bots => "Bots",
            Nav::NewBot => "New bot",
            Nav::Infrastructure => "Infrastructure",
            Nav::Keys => "API keys",
            Nav::Webhooks => "Webhooks",
        }
    }

    fn href(self) -> &'static str {
        match self {
            Nav::Bots => "/",
            Nav::NewBot => "/bots/new",
            Nav::Infrastructure => "/infrastructure",
            Nav::Keys => "/keys",
            Nav::Webhooks => "/webhooks",
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn head(title: &str, csrf: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en" class="no-js">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="csrf-token" content="{csrf}">
<title>{title} · Meeboter</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/app.css">
<script src="/assets/app.js" defer></script>
</head>
"#,
        csrf = esc(csrf),
        title = esc(title)
    )
}

/// The frame of every signed-in page.
pub fn layout(session: &Session, current: Nav, title: &str, body: &str) -> String {
    let admin = session.key.role == meeboter_core::ApiKeyRole::Admin;
    let mut nav = String::new();
    for entry in [Nav::Bots, Nav::NewBot, Nav::Infrastructure, Nav::Keys, Nav::Webhooks] {
        if entry == Nav::Infrastructure && !admin {
            continue;
        }
        let mark = if entry == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        nav.push_str(&format!(r#"<a href="{}"{mark}>{}</a>"#, entry.href(), entry.title()));
    }
    format!(
        r##"{head}<body data-admin="{admin}">
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/"><img src="/assets/favicon.svg" alt="" width="24" height="24"> Meeboter</a>
  <button type="button" class="menu-toggle" aria-expanded="false" aria-controls="main-nav">Menu</button>
  <nav aria-label="Main" id="main-nav">{nav}</nav>
  <form method="post" action="/logout" class="signout">
    <input type="hidden" name="csrf" value="{csrf}">
    <span class="who" title="Signed in with this API key">{key_name} · {role}</span>
    <button type="submit" class="link">Sign out</button>
  </form>
</header>
<main id="main">
<h1>{title}</h1>
<div id="flash" role="status" aria-live="polite"></div>
{body}
</main>
</body>
</html>
"##,
        head = head(title, &session.csrf_token),
        csrf = esc(&session.csrf_token),
        key_name = esc(&session.key.name),
        role = esc(session.key.role.as_str()),
        title = esc(title),
    )
}

/// A page with only a heading and a sentence (errors, refusals).
pub fn message(title: &str, text: &str) -> String {
    format!(r#"<p class="empty" data-title="{}">{}</p>"#, esc(title), esc(text))
}

pub fn login(csrf: &str, next: &str, error: Option<&str>) -> String {
    let error = error
        .map(|e| format!(r#"<p class="error" role="alert">{}</p>"#, esc(e)))
        .unwrap_or_default();
    format!(
        r#"{head}<body class="login">
<main id="main">
  <form method="post" action="/login" class="card narrow">
    <h1><img src="/assets/favicon.svg" alt="" width="32" height="32"> Meeboter</h1>
    <p>Sign in with an API key. The key stays on the server; your browser keeps only a session cookie.</p>
    {error}
    <label for="api_key">API key</label>
    <input id="api_key" name="api_key" type="password" autocomplete="current-password" required
           placeholder="mbk_…" spellcheck="false" autofocus>
    <input type="hidden" name="csrf" value="{csrf}">
    <input type="hidden" name="next" value="{next}">
    <button type="submit" class="primary">Sign in</button>
    <p class="hint">No key yet? The server printed an admin key on its first start, or run
      <code>meeboter keys create --role admin</code> with the server's configuration.</p>
  </form>
</main>
</body>
</html>
"#,
        head = head("Sign in", ""),
        csrf = esc(csrf),
        next = esc(next),
    )
}

const STATUSES: [&str; 9] = [
    "SCHEDULED",
    "QUEUED",
    "DEPLOYING",
    "JOINING_CALL",
    "IN_WAITING_ROOM",
    "IN_CALL",
    "LEAVING",
    "ENDED",
    "FATAL",
];

const PLATFORMS: [(&str, &str); 3] = [
    ("google_meet", "Google Meet"),
    ("microsoft_teams", "Microsoft Teams"),
    ("zoom", "Zoom"),
];

/// The bots list. `test_meeting` is the base URL of the server's look-alike test meeting
/// (when `TEST_MEETINGS` serves it): the empty state offers to send a first bot there.
pub fn bots(test_meeting: Option<&str>) -> String {
    let statuses: String = STATUSES
        .iter()
        .map(|s| format!(r#"<option value="{s}">{s}</option>"#))
        .collect();
    let platforms: String = PLATFORMS
        .iter()
        .map(|(v, l)| format!(r#"<option value="{v}">{l}</option>"#))
        .collect();
    let try_it = test_meeting
        .map(|base| {
            format!(
                r#"<button type="button" class="primary" id="try-test" data-meeting="{}">Try the test meeting</button>"#,
                esc(base)
            )
        })
        .unwrap_or_default();
    format!(
        r#"<section data-page="bots">
<form id="filters" class="filters" role="search" aria-label="Filter bots">
  <label>Status <select name="status"><option value="">Any</option>{statuses}</select></label>
  <label>Platform <select name="platform"><option value="">Any</option>{platforms}</select></label>
  <label>From <input type="date" name="from"></label>
  <label>To <input type="date" name="to"></label>
  <label class="grow">Search <input type="search" name="search" placeholder="Name or meeting link"></label>
  <button type="submit">Apply</button>
</form>
<div class="bulk" id="bulk">
  <span id="bulk-count" class="muted" aria-live="polite">None selected</span>
  <button type="button" id="bulk-leave" disabled>Leave / cancel selected</button>
  <span class="spacer"></span>
  <span id="live-state" class="live" data-state="connecting" aria-live="polite">Connecting…</span>
</div>
<div class="table-wrap" id="bots-wrap">
<table id="bots-table" class="data">
  <caption class="sr-only">Your bots, newest first; statuses update live</caption>
  <thead><tr>
    <th scope="col"><input type="checkbox" id="select-all" aria-label="Select all bots on this page"></th>
    <th scope="col">Platform</th><th scope="col">Name</th><th scope="col">Meeting</th>
    <th scope="col">Status</th><th scope="col">Created</th><th scope="col">Joined</th><th scope="col">Ended</th>
  </tr></thead>
  <tbody id="bots-body"><tr><td colspan="8" class="loading">Loading bots…</td></tr></tbody>
</table>
</div>
<section id="bots-empty" class="card welcome" hidden aria-labelledby="welcome-title">
  <h2 id="welcome-title">Send your first bot</h2>
  <p class="muted">A bot joins a Google Meet, Microsoft Teams or Zoom meeting, records it and reports what happens.</p>
  <div class="actions">{try_it}<a class="button" href="/bots/new">Send a bot to a meeting</a></div>
  <p id="try-error" class="error" role="alert" hidden></p>
</section>
<p id="bots-none" class="empty" hidden>No bots match these filters.</p>
<nav class="pager" aria-label="Pages">
  <button type="button" id="page-first" disabled>Newest</button>
  <button type="button" id="page-next" disabled>Older</button>
</nav>
</section>"#
    )
}

pub fn new_bot() -> String {
    let defaults = AutomaticLeave::default().values();
    let labels = [
        "Waiting room timeout",
        "No one joined timeout",
        "Everyone left timeout",
        "Maximum duration",
    ];
    let mut leave = String::new();
    for (i, (name, min, max)) in AUTOMATIC_LEAVE_BOUNDS.iter().enumerate() {
        leave.push_str(&format!(
            r#"<label>{label} (s) <input type="number" name="{name}" min="{min}" max="{max}" value="{value}" required>
<small>default {value} s</small></label>"#,
            label = labels[i],
            value = defaults[i]
        ));
    }
    format!(
        r#"<section data-page="new-bot">
<form id="new-bot" class="card" novalidate>
  <label for="meetingUrl">Meeting link</label>
  <input id="meetingUrl" name="meetingUrl" type="url" required placeholder="https://meet.google.com/abc-defg-hij"
         aria-describedby="meetingUrl-help meetingUrl-error" autocomplete="off" spellcheck="false">
  <p id="meetingUrl-help" class="hint" aria-live="polite">Google Meet, Microsoft Teams or Zoom.</p>
  <p id="meetingUrl-error" class="field-error" role="alert"></p>

  <label for="botName">Bot name</label>
  <input id="botName" name="botName" maxlength="100" value="{name}" aria-describedby="botName-error">
  <p id="botName-error" class="field-error" role="alert"></p>

  <label for="recordingMode">Recording</label>
  <select id="recordingMode" name="recordingMode">
    <option value="video" selected>Video and audio</option>
    <option value="audio">Audio only</option>
    <option value="none">No recording</option>
  </select>

  <fieldset>
    <legend>When</legend>
    <label class="inline"><input type="radio" name="when" value="now" checked> Join now</label>
    <div class="when-at"><label class="inline"><input type="radio" name="when" value="at"> Join at</label>
      <input type="datetime-local" name="joinAt" aria-label="Join time (your time zone)"></div>
    <p id="joinAt-error" class="field-error" role="alert"></p>
  </fieldset>

  <details>
    <summary>Automatic leave</summary>
    <div class="grid">{leave}</div>
    <p id="automaticLeave-error" class="field-error" role="alert"></p>
  </details>

  <label for="webhookUrl">Webhook URL <small>(optional)</small></label>
  <input id="webhookUrl" name="webhookUrl" type="url" placeholder="https://example.com/meeboter" aria-describedby="webhookUrl-error">
  <p id="webhookUrl-error" class="field-error" role="alert"></p>

  <label for="metadata">Metadata <small>(optional JSON object)</small></label>
  <textarea id="metadata" name="metadata" rows="3" placeholder='{{"customer": "acme"}}' aria-describedby="metadata-error" spellcheck="false"></textarea>
  <p id="metadata-error" class="field-error" role="alert"></p>

  <p id="form-error" class="error" role="alert" hidden></p>
  <button type="submit" class="primary">Send bot</button>
</form>
</section>"#,
        name = esc(DEFAULT_BOT_NAME),
    )
}

pub fn bot_detail(id: &str) -> String {
    format!(
        r#"<section data-page="bot" data-bot-id="{id}">
<div class="toolbar">
  <span id="bot-status" class="badge">…</span>
  <span id="bot-title" class="meeting-link"></span>
  <span class="spacer"></span>
  <button type="button" id="bot-leave">Make it leave</button>
  <button type="button" id="bot-delete" class="danger">Delete</button>
</div>
<p id="bot-error" class="error" role="alert" hidden></p>
<div id="failure" class="banner" role="alert" hidden></div>
<div class="pair" id="media">
  <section class="card" aria-labelledby="recording-title"><h2 id="recording-title">Recording</h2><div id="recording"><p class="loading">Loading…</p></div></section>
  <section class="card" aria-labelledby="transcript-title" id="transcript-card"><h2 id="transcript-title">Transcript</h2>
    <div class="row"><label class="grow" for="transcript-search">Search the transcript
      <input id="transcript-search" type="search" placeholder="A word or name"></label></div>
    <p id="transcript-state" class="muted" aria-live="polite"></p>
    <ol id="transcript" class="transcript" tabindex="0" aria-label="Transcript lines; choose one to play the recording from there"></ol>
  </section>
</div>
<div class="columns">
  <div>
    <section class="card" id="chat-card" aria-labelledby="chat-title"><h2 id="chat-title">Chat</h2>
      <ol id="chat" class="chat" tabindex="0" aria-label="Chat messages"><li class="loading">Loading…</li></ol>
      <form id="chat-form" class="row" hidden>
        <label for="chat-text" class="sr-only">Message</label>
        <input id="chat-text" name="text" maxlength="4096" placeholder="Message the meeting" required class="grow">
        <button type="submit">Send</button>
      </form>
    </section>
    <section class="card" aria-labelledby="events-title"><h2 id="events-title">Events and logs</h2>
      <div class="row">
        <label>Show <select id="log-level">
          <option value="all">everything</option><option value="events">events only</option>
          <option value="INFO">logs: info and up</option><option value="WARN">logs: warnings and errors</option>
          <option value="ERROR">logs: errors</option></select></label>
        <label class="inline"><input type="checkbox" id="log-tail" checked> Live tail</label>
      </div>
      <ol id="events" class="log" tabindex="0" aria-label="Events and logs"><li class="loading">Loading…</li></ol>
    </section>
    <section class="card" aria-labelledby="shots-title"><h2 id="shots-title">Screenshots</h2><div id="screenshots" class="shots"><p class="loading">Loading…</p></div></section>
  </div>
  <div>
    <section class="card" aria-labelledby="timeline-title"><h2 id="timeline-title">Timeline</h2><ol id="timeline" class="timeline"><li class="loading">Loading…</li></ol></section>
    <section class="card" aria-labelledby="participants-title"><h2 id="participants-title">Participants</h2><div id="participants"><p class="loading">Loading…</p></div></section>
    <section class="card" aria-labelledby="details-title"><h2 id="details-title">Details</h2><dl id="details" class="details"></dl></section>
  </div>
</div>
<dialog id="viewer" class="viewer" aria-labelledby="viewer-title">
  <div class="row"><h2 id="viewer-title">Screenshot</h2>
    <span><button type="button" id="viewer-prev">Previous</button> <button type="button" id="viewer-next">Next</button>
    <button type="button" id="viewer-close">Close</button></span></div>
  <img id="viewer-img" alt="">
</dialog>
</section>"#,
        id = esc(id)
    )
}

/// The infrastructure page: the server-drawn charts (`charts`), then the live figures the
/// script fills in.
pub fn infrastructure(charts: &str) -> String {
    format!(
        r#"<section data-page="infrastructure">
<div id="infra"><p class="loading">Loading…</p></div>
{charts}
</section>"#
    )
}

/// The keys page. `own_key` is the signed-in key: a member may revoke only that one, so
/// the page offers "Revoke" on it alone (admins: on every active key).
pub fn keys(admin: bool, own_key: &str) -> String {
    let roles = if admin {
        r#"<option value="member">member</option><option value="admin">admin</option>"#
    } else {
        r#"<option value="member">member</option>"#
    };
    // Admins pick the account a new key belongs to (the script fills in the accounts) and
    // see every account's keys, so the table names the account.
    let (account_picker, account_col) = if admin {
        (
            r#"<label>Account <select name="accountId" id="key-account"><option value="">this account</option></select></label>"#,
            r#"<th scope="col">Account</th>"#,
        )
    } else {
        ("", "")
    };
    let cols = if admin { 9 } else { 8 };
    format!(
        r#"<section data-page="keys" data-admin="{admin}" data-own-key="{own_key}">
<form id="key-form" class="card row wrap">
  <label>Name <input name="name" required maxlength="100" placeholder="CI, laptop, …"></label>
  {account_picker}
  <label>Role <select name="role">{roles}</select></label>
  <label>Expires <input type="date" name="expires"></label>
  <button type="submit" class="primary">Create key</button>
</form>
<div id="secret" class="card secret" hidden role="alert"></div>
<div class="table-wrap" tabindex="0" role="region" aria-label="API keys"><table class="data"><caption class="sr-only">API keys</caption>
<thead><tr><th scope="col">Name</th>{account_col}<th scope="col">Prefix</th><th scope="col">Role</th><th scope="col">Created</th>
<th scope="col">Last used</th><th scope="col">Expires</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
<tbody id="keys-body"><tr><td colspan="{cols}" class="loading">Loading…</td></tr></tbody></table></div>
</section>"#,
        own_key = esc(own_key),
    )
}

pub fn webhooks() -> String {
    r#"<section data-page="webhooks">
<form id="endpoint-form" class="card row wrap">
  <label class="grow">Endpoint URL <input name="url" type="url" required placeholder="https://example.com/hooks/meeboter"></label>
  <label class="grow">Events <input name="events" placeholder="all (or e.g. bot.status_changed, bot.recording_ready)"></label>
  <button type="submit" class="primary">Add endpoint</button>
</form>
<div id="secret" class="card secret" hidden role="alert"></div>
<div id="endpoints"><p class="loading">Loading…</p></div>
</section>"#
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn the_new_bot_form_shows_the_defaults() {
        let html = new_bot();
        assert!(html.contains(r#"name="waitingRoomTimeoutSecs" min="10" max="86400" value="1200""#));
        assert!(html.contains(r#"value="Meeboter""#));
    }
}

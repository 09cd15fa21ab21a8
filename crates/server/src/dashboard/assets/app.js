// Meeboter dashboard: fills the server-rendered pages from the public API with the
// session cookie; every state-changing request carries the page's CSRF token.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]')?.content || "";

/** Calls the API; resolves to the JSON body, rejects with {status, code, message, details}. */
async function api(method, path, body) {
  const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
  if (method !== "GET") init.headers["X-CSRF-Token"] = CSRF;
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw { status: 0, code: "network", message: "The server cannot be reached. Check your connection." };
  }
  if (res.status === 401) {
    location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
    throw { status: 401, code: "unauthorized", message: "Signed out" };
  }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (!res.ok) {
    const err = (data && data.error) || {};
    throw { status: res.status, code: err.code || "error", message: err.message || res.statusText, details: err.details };
  }
  return data;
}

/** Builds an element: h("td", {class: "x"}, "text", child…). */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const $ = (sel, root = document) => root.querySelector(sel);

const TZ = Intl.DateTimeFormat().resolvedOptions().timeZone || "local time";
const EXACT = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "long" });
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

/** "3 min ago", "in 2 h", "yesterday": how far `iso` is from now. */
function relative(iso) {
  const secs = (new Date(iso) - Date.now()) / 1000;
  const abs = Math.abs(secs);
  const [value, unit] = abs < 45 ? [0, "second"] : abs < 3600 ? [secs / 60, "minute"] : abs < 86400 ? [secs / 3600, "hour"]
    : abs < 86400 * 30 ? [secs / 86400, "day"] : abs < 86400 * 365 ? [secs / (86400 * 30), "month"] : [secs / (86400 * 365), "year"];
  return unit === "second" ? (secs < 0 ? "just now" : "in a moment") : RELATIVE.format(Math.round(value), unit);
}

/** A <time>: relative text, the exact time with its time zone on hover and for screen readers. */
function timeEl(iso) {
  if (!iso) return "—";
  const exact = EXACT.format(new Date(iso)) + " (" + TZ + ")";
  return h("time", { datetime: iso, title: exact, "data-rel": "" }, relative(iso));
}

function fmtTime(iso) {
  return iso ? EXACT.format(new Date(iso)) : "—";
}

// Relative times drift: refresh them twice a minute.
setInterval(() => { for (const t of document.querySelectorAll("time[data-rel]")) t.textContent = relative(t.dateTime); }, 30000);

/** "45 s", "12 min 3 s", "4 h", "4 h 5 min", "2 d 3 h": the two largest units that matter. */
function fmtDuration(secs) {
  if (secs == null || Number.isNaN(secs)) return "—";
  secs = Math.max(0, Math.round(secs));
  if (secs < 60) return secs + " s";
  const d = Math.floor(secs / 86400), hh = Math.floor((secs % 86400) / 3600), mm = Math.floor((secs % 3600) / 60), ss = secs % 60;
  if (d) return d + " d" + (hh ? " " + hh + " h" : "");
  if (hh) return hh + " h" + (mm ? " " + mm + " min" : "");
  return mm + " min" + (ss ? " " + ss + " s" : "");
}

function fmtBytes(n) {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

const PLATFORM_NAMES = { google_meet: "Google Meet", microsoft_teams: "Microsoft Teams", zoom: "Zoom" };
const PLATFORM_SHORT = { google_meet: "Meet", microsoft_teams: "Teams", zoom: "Zoom" };

/** The platform as a labelled chip ("Meet", "Teams", "Zoom"): words, not a letter to guess. */
function platformIcon(p) {
  const name = PLATFORM_NAMES[p] || p;
  return h("span", { class: "platform p-" + p, title: name },
    h("span", { "aria-hidden": "true" }, PLATFORM_SHORT[p] || "?"), h("span", { class: "sr-only" }, name));
}

function statusBadge(status, subCode) {
  const cls = "badge s-" + String(status).toLowerCase();
  return h("span", { class: cls, "data-status": status }, status, subCode ? h("small", {}, " " + subCode) : null);
}

/** A button that copies `text`; says "Copied" for a moment. */
function copyButton(text, what) {
  const b = h("button", { type: "button", class: "small copy", "aria-label": "Copy " + what }, "Copy");
  b.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(text);
      b.textContent = "Copied";
    } catch (_) {
      b.textContent = "Select and copy";
    }
    setTimeout(() => { b.textContent = "Copy"; }, 2000);
  });
  return b;
}

/** A table cell that names its column (shown on phones, where rows become cards). */
function td(label, attrs, ...children) {
  return h("td", Object.assign({ "data-label": label }, attrs || {}), ...children);
}

/** A data table: `cols` are headings; `rows` arrays of cells (Nodes or text). */
function dataTable(caption, cols, rows, cls = "data compact") {
  return h("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": caption },
    h("table", { class: cls }, h("caption", { class: "sr-only" }, caption),
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col", class: c.num ? "num" : null }, c.name || c)))),
      h("tbody", {}, rows.map((r) => h("tr", {}, r.map((v, i) => td(cols[i].name || cols[i], cols[i].num ? { class: "num" } : {}, v)))))));
}

/** What a sub code means, and what to do about it. */
const SUB_CODES = {
  join_denied: ["Someone in the meeting declined the bot's request to join.", "Ask the host to admit it, then send a new bot."],
  meeting_not_found: ["The meeting link leads to no meeting (ended, mistyped or expired).", "Check the link in your calendar and send a new bot."],
  sign_in_required: ["The meeting only admits signed-in users of its organisation.", "Allow guests (anonymous join) in the meeting's settings, or use another meeting."],
  captcha: ["The meeting client asked for a CAPTCHA.", "Try again later; if it keeps happening, run bots from another network."],
  knocking_disabled: ["The meeting does not let guests ask to join.", "Let guests knock or join in the meeting's settings."],
  browser_crashed: ["The bot's browser stopped unexpectedly.", "Send a new bot; if it repeats, check the bot machine's memory."],
  platform_stopped: ["The deployment platform stopped the bot.", "Check the infrastructure page for the platform's errors."],
  recording_failed: ["The bot could not record (Xvfb, PulseAudio or ffmpeg missing or failing).", "Install the recording tools on the bot machine, or send the bot with recording off."],
  browser_missing: ["No Chromium was found on the bot machine.", "Install Chromium or set CHROMIUM_PATH on the bot machine."],
  passcode_wrong: ["The meeting's passcode was refused.", "Copy the full invite link (with its pwd=…) and send a new bot."],
  join_blocked: ["The meeting client refused to connect a guest (an organisation's policy).", "Ask the organiser to allow external guests."],
  unknown_screen: ["The meeting page showed something the bot does not recognise.", "Look at the failure screenshot below; report it if the page looks normal."],
  network_dns: ["The meeting's host name could not be resolved.", "Check the bot machine's DNS and the link."],
  network_offline: ["The bot machine has no network.", "Check its network connection."],
  network_unreachable: ["The meeting's server could not be reached.", "Check the bot machine's firewall and network."],
  network_tls: ["A TLS or certificate error (often a proxy intercepting traffic).", "Check the bot machine's proxy and certificates."],
  network_blocked: ["A proxy, an administrator or a browser policy blocked the page.", "Allow the meeting host on the bot machine's network."],
  http_error: ["The meeting host answered with an error page.", "Try again in a few minutes."],
  temp_dir_unwritable: ["The bot could not write its working files (disk full or read-only).", "Free space in the bot machine's temporary directory."],
  deploy_failed: ["The bot could not be started on the deployment platform.", "See the platform's errors on the infrastructure page."],
  deploy_timeout: ["The bot did not start in time.", "Check the deployment platform's capacity and logs."],
  queue_timeout: ["The bot waited in the queue too long: every slot was busy.", "Raise the platform's capacity or send the bot again later."],
  heartbeat_timeout: ["The server stopped hearing from the bot.", "Check the bot machine's logs and network to the server."],
};

function flash(message, kind = "ok") {
  const box = $("#flash");
  if (!box) return;
  box.replaceChildren(h("p", { class: kind === "ok" ? "notice" : "error" }, message));
  if (kind === "ok") setTimeout(() => box.replaceChildren(), 5000);
}

function changeAt(bot, status) {
  const c = (bot.statusChanges || []).find((x) => x.status === status);
  return c ? c.at : null;
}

function lastChange(bot) {
  const list = bot.statusChanges || [];
  return list.length ? list[list.length - 1] : null;
}

/** Keeps an EventSource open, reconnecting with growing pauses; returns a stop function. */
function follow(url, handlers, onState) {
  let source = null, stopped = false, wait = 1000;
  const open = () => {
    if (stopped) return;
    source = new EventSource(url);
    source.onopen = () => { wait = 1000; onState && onState("live"); };
    source.onerror = () => {
      source.close();
      onState && onState(wait >= 8000 || !navigator.onLine ? "offline" : "reconnecting");
      if (!stopped) setTimeout(open, wait);
      wait = Math.min(wait * 2, 15000);
    };
    for (const [name, fn] of Object.entries(handlers)) {
      source.addEventListener(name, (e) => { try { fn(JSON.parse(e.data)); } catch (_) { /* ignore a bad line */ } });
    }
  };
  open();
  return () => { stopped = true; source && source.close(); };
}

// ---------------------------------------------------------------- bots table

const LIVE_TEXT = { connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…", offline: "Disconnected — retrying" };

/** Shows the live feed's true state: a green "Live" only while the stream is open. */
function liveState(state) {
  const el = $("#live-state");
  if (!el) return;
  el.dataset.state = state;
  el.textContent = LIVE_TEXT[state] || state;
}

function botsPage(root) {
  const body = $("#bots-body"), empty = $("#bots-empty"), none = $("#bots-none"), form = $("#filters");
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) if (form.elements[k]) form.elements[k].value = v;
  let cursors = [null];
  const rows = new Map();
  const filtered = () => [...form.elements].some((el) => el.name && el.value);

  function query(cursor) {
    const q = new URLSearchParams({ limit: "25" });
    const f = form.elements;
    if (f.status.value) q.set("status", f.status.value);
    if (f.platform.value) q.set("platform", f.platform.value);
    if (f.from.value) q.set("createdAfter", new Date(f.from.value + "T00:00:00").toISOString());
    if (f.to.value) q.set("createdBefore", new Date(f.to.value + "T23:59:59.999").toISOString());
    if (f.search.value.trim()) q.set("search", f.search.value.trim());
    if (cursor) q.set("cursor", cursor);
    return "/api/bots?" + q;
  }

  function row(bot) {
    const last = lastChange(bot);
    const failed = bot.status === "FATAL" || (bot.status === "ENDED" && last && last.subCode);
    const tr = h("tr", { "data-bot-id": bot.id },
      h("td", {}, h("input", { type: "checkbox", class: "pick", value: bot.id, "aria-label": "Select " + bot.botName })),
      td("Platform", {}, platformIcon(bot.platform)),
      td("Name", {}, h("a", { href: "/bots/" + bot.id }, bot.botName)),
      td("Meeting", { class: "url" }, h("span", { title: bot.meetingUrl }, bot.meetingUrl)),
      td("Status", { class: "status" }, statusBadge(bot.status, failed && last ? last.subCode : null)),
      td("Created", {}, timeEl(bot.createdAt)),
      td("Joined", { class: "joined" }, timeEl(changeAt(bot, "IN_CALL"))),
      td("Ended", { class: "ended" }, timeEl(bot.endedAt)));
    rows.set(bot.id, tr);
    return tr;
  }

  function showEmpty(isEmpty) {
    const first = cursors.length === 1;
    empty.hidden = !(isEmpty && first && !filtered());
    none.hidden = !(isEmpty && (!first || filtered()));
    $("#bots-wrap").hidden = isEmpty;
  }

  async function load(cursor) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "loading" }, "Loading bots…")));
    try {
      const page = await api("GET", query(cursor));
      rows.clear();
      body.replaceChildren(...page.bots.map(row));
      showEmpty(!page.bots.length);
      $("#page-next").disabled = !page.nextCursor;
      $("#page-next").onclick = () => { cursors.push(page.nextCursor); load(page.nextCursor); };
      $("#page-first").disabled = cursors.length <= 1;
      $("#select-all").checked = false;
      updateBulk();
    } catch (e) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "error", role: "alert" },
        "Could not load bots: " + e.message)));
    }
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const el of form.elements) if (el.name && el.value) q.set(el.name, el.value);
    history.replaceState(null, "", "/?" + q);
    cursors = [null];
    load(null);
  });
  $("#page-first").onclick = () => { cursors = [null]; load(null); };

  function picked() { return [...body.querySelectorAll("input.pick:checked")].map((x) => x.value); }
  function updateBulk() {
    const n = picked().length;
    $("#bulk-leave").disabled = n === 0;
    $("#bulk-count").textContent = n ? n + " selected" : "None selected";
  }
  body.addEventListener("change", updateBulk);
  $("#select-all").addEventListener("change", (e) => {
    for (const box of body.querySelectorAll("input.pick")) box.checked = e.target.checked;
    updateBulk();
  });
  $("#bulk-leave").addEventListener("click", async () => {
    const ids = picked();
    if (!ids.length || !confirm(`Make ${ids.length} bot(s) leave? Bots not yet deployed are cancelled.`)) return;
    let failed = 0;
    await Promise.all(ids.map((id) => api("POST", `/api/bots/${id}/leave`, {}).catch(() => { failed++; })));
    flash(failed ? `${ids.length - failed} asked to leave, ${failed} failed` : `${ids.length} bot(s) asked to leave`,
      failed ? "error" : "ok");
    $("#select-all").checked = false;
    for (const box of body.querySelectorAll("input.pick")) box.checked = false;
    updateBulk();
  });

  // The empty state's shortcut: a bot to this server's look-alike meeting, then its page.
  const tryButton = $("#try-test");
  if (tryButton) tryButton.addEventListener("click", async () => {
    tryButton.disabled = true;
    const code = "try-" + Math.random().toString(36).slice(2, 8);
    try {
      const bot = await api("POST", "/api/bots", {
        meetingUrl: tryButton.dataset.meeting + code, botName: "Test meeting bot", recordingMode: "audio",
      });
      location.href = "/bots/" + bot.id;
    } catch (e) {
      tryButton.disabled = false;
      $("#try-error").hidden = false;
      $("#try-error").textContent = "Could not send the bot: " + e.message;
    }
  });

  // Live: a status change updates its row; a bot we have not shown appears on the first page.
  follow("/api/bots/live", {
    status: async (change) => {
      const tr = rows.get(change.botId);
      if (tr) {
        const failed = change.status === "FATAL" || (change.status === "ENDED" && change.subCode);
        $(".status", tr).replaceChildren(statusBadge(change.status, failed ? change.subCode : null));
        if (change.status === "IN_CALL") $(".joined", tr).replaceChildren(timeEl(change.at));
        if (change.status === "ENDED" || change.status === "FATAL") $(".ended", tr).replaceChildren(timeEl(change.at));
        tr.classList.add("flash");
        setTimeout(() => tr.classList.remove("flash"), 1200);
      } else if (cursors.length === 1 && !filtered()) {
        try {
          const bot = await api("GET", "/api/bots/" + change.botId);
          if (!rows.has(bot.id)) { body.prepend(row(bot)); showEmpty(false); }
        } catch (_) { /* deleted meanwhile */ }
      }
    },
  }, liveState);

  load(null);
}

// ---------------------------------------------------------------- new bot form

function newBotPage() {
  const form = $("#new-bot"), url = form.elements.meetingUrl, help = $("#meetingUrl-help");
  let timer = null, seq = 0;

  function fieldError(name, message) {
    const el = $("#" + name + "-error");
    if (el) el.textContent = message || "";
    const input = form.elements[name];
    if (input && input.setAttribute) {
      if (message) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }
  }

  async function detect() {
    const value = url.value.trim();
    const mine = ++seq;
    if (!value) { help.textContent = "Google Meet, Microsoft Teams or Zoom."; fieldError("meetingUrl", ""); return; }
    try {
      const parsed = await api("GET", "/api/meeting-urls/parse?url=" + encodeURIComponent(value));
      if (mine !== seq) return;
      help.replaceChildren(platformIcon(parsed.platform), " " + PLATFORM_NAMES[parsed.platform] + " meeting " + parsed.meetingId);
      help.dataset.platform = parsed.platform;
      fieldError("meetingUrl", "");
    } catch (e) {
      if (mine !== seq) return;
      help.textContent = "";
      delete help.dataset.platform;
      const field = e.details && e.details.fields && e.details.fields[0];
      linkError(field ? field.message : e.message);
    }
  }
  url.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(detect, 250); });

  /** The link's problem in one line; the list of supported forms folded away. */
  function linkError(message) {
    const at = message.search(/[;(]\s*supported forms:/);
    fieldError("meetingUrl", at > 0 ? message.slice(0, at).trim().replace(/[;(]$/, "") : message);
    if (at > 0) {
      const forms = message.slice(at).replace(/^[;(]\s*supported forms:\s*/, "").replace(/\)$/, "");
      $("#meetingUrl-error").append(h("details", {}, h("summary", {}, "Supported links"), forms));
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    for (const el of form.querySelectorAll(".field-error")) el.textContent = "";
    $("#form-error").hidden = true;
    const f = form.elements;
    const body = {
      meetingUrl: f.meetingUrl.value.trim(),
      botName: f.botName.value.trim() || undefined,
      recordingMode: f.recordingMode.value,
      automaticLeave: {},
    };
    for (const name of ["waitingRoomTimeoutSecs", "nooneJoinedTimeoutSecs", "everyoneLeftTimeoutSecs", "maxDurationSecs"]) {
      if (f[name].value !== "") body.automaticLeave[name] = Number(f[name].value);
    }
    if (f.when.value === "at") {
      if (!f.joinAt.value) { fieldError("joinAt", "Pick the time to join"); return; }
      body.joinAt = new Date(f.joinAt.value).toISOString();
    }
    if (f.webhookUrl.value.trim()) body.webhookUrl = f.webhookUrl.value.trim();
    if (f.metadata.value.trim()) {
      try {
        const meta = JSON.parse(f.metadata.value);
        if (meta === null || typeof meta !== "object" || Array.isArray(meta)) throw new Error("not an object");
        body.metadata = meta;
      } catch (err) {
        fieldError("metadata", "Metadata must be a JSON object, e.g. {\"customer\": \"acme\"}: " + err.message);
        return;
      }
    }
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const bot = await api("POST", "/api/bots", body);
      location.href = "/bots/" + bot.id;
    } catch (err) {
      button.disabled = false;
      const fields = (err.details && err.details.fields) || [];
      for (const field of fields) {
        const name = field.field.split(".")[0];
        if (name === "meetingUrl") linkError(field.message);
        else if ($("#" + name + "-error")) fieldError(name, field.message);
        else { $("#form-error").hidden = false; $("#form-error").textContent += field.field + ": " + field.message + " "; }
      }
      if (!fields.length) { $("#form-error").hidden = false; $("#form-error").textContent = err.message; }
      if (fields.some((x) => x.field.startsWith("automaticLeave"))) form.querySelector("details").open = true;
    }
  });
}

// ---------------------------------------------------------------- bot detail

/** Statuses in which a bot can still post to the meeting's chat. */
const CAN_CHAT = new Set(["JOINING_CALL", "IN_WAITING_ROOM", "IN_CALL"]);

function botDetailPage(root) {
  const id = root.dataset.botId;
  let bot = null, events = [], shots = [], viewing = 0;
  const terminal = (s) => s === "ENDED" || s === "FATAL";

  /** The last change with a sub code that means a failure (FATAL, or ENDED for a reason other than a normal end). */
  function failure() {
    const last = lastChange(bot);
    if (!last) return null;
    if (bot.status === "FATAL") return last;
    return null;
  }

  function renderBot() {
    const last = lastChange(bot);
    $("#bot-status").replaceWith(Object.assign(statusBadge(bot.status, last && last.subCode), { id: "bot-status" }));
    document.querySelector("h1").textContent = bot.botName;
    document.title = bot.botName + " · Meeboter";
    $("#bot-title").replaceChildren(platformIcon(bot.platform), " ", h("a", { href: bot.meetingUrl, rel: "noreferrer", target: "_blank" }, bot.meetingUrl));
    $("#bot-leave").disabled = terminal(bot.status) || bot.status === "LEAVING";

    const fail = failure();
    const banner = $("#failure");
    banner.hidden = !fail;
    if (fail) {
      const [what, todo] = SUB_CODES[fail.subCode] || ["The bot stopped with an error" + (fail.subCode ? " (" + fail.subCode + ")" : "") + ".", "Look at the timeline, logs and screenshots below."];
      banner.replaceChildren(h("h2", {}, "The bot could not finish" + (fail.subCode ? ": " + fail.subCode.replace(/_/g, " ") : "")),
        h("p", {}, what), fail.message && fail.message !== what ? h("p", {}, h("strong", {}, "Details: "), fail.message) : null,
        h("p", {}, h("strong", {}, "What to do: "), todo));
    }

    // Chat only while the bot can post; the history stays visible after.
    $("#chat-form").hidden = !CAN_CHAT.has(bot.status);

    const timeline = $("#timeline");
    const changes = bot.statusChanges || [];
    timeline.replaceChildren(...changes.map((c, i) => {
      const next = changes[i + 1];
      const took = next ? (new Date(next.at) - new Date(c.at)) / 1000 : null;
      return h("li", {}, statusBadge(c.status, c.subCode), " ", timeEl(c.at),
        took != null ? h("span", { class: "muted" }, " · for " + fmtDuration(took)) : null,
        c.message ? h("div", { class: "muted" }, c.message) : null);
    }));
    const d = bot.deployment || {};
    const rows = [
      ["Bot id", h("span", {}, h("span", { class: "id", "data-volatile": "" }, bot.id), copyButton(bot.id, "bot id"))],
      ["Recording", { video: "Video and audio", audio: "Audio only", none: "No recording" }[bot.recordingMode] || bot.recordingMode],
      ["Deployment platform", d.platform || "—"],
      ["Identifier", d.identifier ? h("span", { class: "id", "data-volatile": "" }, d.identifier) : "—"],
      ["Queue position", bot.queue ? String(bot.queue.position ?? "—") : "—"],
      ["Created", timeEl(bot.createdAt)],
      ["Joins at", bot.joinAt ? timeEl(bot.joinAt) : "now"],
      ["Waiting room timeout", fmtDuration(bot.automaticLeave.waitingRoomTimeoutSecs)],
      ["No one joined timeout", fmtDuration(bot.automaticLeave.nooneJoinedTimeoutSecs)],
      ["Everyone left timeout", fmtDuration(bot.automaticLeave.everyoneLeftTimeoutSecs)],
      ["Maximum duration", fmtDuration(bot.automaticLeave.maxDurationSecs)],
      ["Webhook", bot.webhookUrl || "—"],
      ["Metadata", JSON.stringify(bot.metadata || {})],
    ];
    $("#details").replaceChildren(...rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
  }

  async function loadBot() {
    try {
      bot = await api("GET", "/api/bots/" + id);
      renderBot();
    } catch (e) {
      $("#bot-error").hidden = false;
      $("#bot-error").textContent = e.status === 404 ? "This bot does not exist (or belongs to another account)." : "Could not load the bot: " + e.message;
    }
  }

  async function loadParticipants() {
    try {
      const list = (await api("GET", `/api/bots/${id}/participants`)).participants;
      if (!list.length) { $("#participants").replaceChildren(h("p", { class: "empty" }, "Nobody seen yet.")); return; }
      $("#participants").replaceChildren(dataTable("Participants", ["Name", "Joined", "Left"],
        list.map((p) => [h("span", {}, p.name, p.isBot ? h("span", { class: "tag" }, "bot") : null),
          timeEl(p.joinedAt), p.leftAt ? timeEl(p.leftAt) : "in the call"])));
    } catch (e) {
      $("#participants").replaceChildren(h("p", { class: "error" }, e.message));
    }
  }

  async function loadChat() {
    try {
      // Both directions, oldest first, from the chat resource itself.
      const all = (await api("GET", `/api/bots/${id}/chat`)).messages;
      const list = $("#chat");
      if (!all.length) {
        list.replaceChildren(h("li", { class: "empty" }, CAN_CHAT.has(bot && bot.status) ? "No messages yet." : "No messages."));
        return;
      }
      list.replaceChildren(...all.map((m) => m.direction === "incoming"
        ? h("li", {}, h("span", { class: "meta" }, h("span", { class: "who" }, m.sender || "Someone"), " wrote · ", timeEl(m.createdAt)), m.text)
        : h("li", { class: "mine", "data-state": m.status },
          h("span", { class: "meta" }, h("span", { class: "who" }, "Bot"), " sent · ", timeEl(m.createdAt), " · ",
            h("span", { class: "state state-" + m.status, title: m.error || "" }, m.status + (m.error ? ": " + m.error : ""))),
          m.text)));
    } catch (e) {
      $("#chat").replaceChildren(h("li", { class: "error" }, e.message));
    }
  }

  function renderEvents() {
    const filter = $("#log-level").value;
    const rank = { TRACE: 0, DEBUG: 1, INFO: 2, WARN: 3, ERROR: 4 };
    const shown = events.filter((e) => {
      if (filter === "all") return true;
      if (filter === "events") return e.type !== "log";
      if (e.type !== "log") return false;
      return (rank[String(e.data.level || "INFO").toUpperCase()] ?? 2) >= rank[filter];
    });
    const list = $("#events");
    if (!shown.length) { list.replaceChildren(h("li", { class: "empty" }, "Nothing yet.")); return; }
    list.replaceChildren(...shown.slice(-500).map((e) => {
      const level = e.type === "log" ? String(e.data.level || "INFO").toUpperCase() : "EVENT";
      const text = e.type === "log" ? e.data.message
        // A page snapshot carries the page's markup: show where and what it said, not the markup.
        : e.type === "page_snapshot"
          ? `page_snapshot (${e.data.reason || "?"}) ${e.data.url || ""}: "${String(e.data.text || "").slice(0, 300)}" [markup ${Math.round(String(e.data.html || "").length / 1024)} KB in the API]`
          : e.type + " " + JSON.stringify(e.data);
      return h("li", { class: "lvl-" + level.toLowerCase() }, h("time", { datetime: e.at }, new Date(e.at).toLocaleTimeString()), " ",
        h("span", { class: "lvl" }, level), " ", text);
    }));
    if ($("#log-tail").checked) list.scrollTop = list.scrollHeight;
  }

  async function loadEvents() {
    try {
      let cursor = null;
      const all = [];
      for (let i = 0; i < 20; i++) {
        const q = new URLSearchParams({ limit: "500" });
        if (cursor) q.set("cursor", cursor);
        const page = await api("GET", `/api/bots/${id}/events?` + q);
        all.push(...page.events);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      events = all;
      renderEvents();
    } catch (e) {
      $("#events").replaceChildren(h("li", { class: "error" }, e.message));
    }
  }

  function showShot(i) {
    viewing = (i + shots.length) % shots.length;
    const s = shots[viewing];
    $("#viewer-img").src = s.url;
    $("#viewer-img").alt = "Screenshot " + (viewing + 1) + " of " + shots.length + ": " + s.kind;
    $("#viewer-title").textContent = s.kind.replace(/_/g, " ") + " · " + fmtTime(s.takenAt || s.createdAt);
    $("#viewer-prev").disabled = $("#viewer-next").disabled = shots.length < 2;
  }

  async function loadScreenshots() {
    try {
      shots = (await api("GET", `/api/bots/${id}/screenshots`)).screenshots;
      if (!shots.length) { $("#screenshots").replaceChildren(h("p", { class: "empty" }, "No screenshots.")); return; }
      $("#screenshots").replaceChildren(...shots.map((s, i) => h("figure", {},
        h("button", { type: "button", "aria-label": "View screenshot " + (i + 1) + ": " + s.kind, onclick: () => { showShot(i); $("#viewer").showModal(); } },
          h("img", { src: s.url, alt: "", loading: "lazy" })),
        h("figcaption", {}, s.kind.replace(/_/g, " ") + " · ", timeEl(s.takenAt || s.createdAt)))));
    } catch (e) {
      $("#screenshots").replaceChildren(h("p", { class: "error" }, e.message));
    }
  }
  $("#viewer-close").addEventListener("click", () => $("#viewer").close());
  $("#viewer-prev").addEventListener("click", () => showShot(viewing - 1));
  $("#viewer-next").addEventListener("click", () => showShot(viewing + 1));
  $("#viewer").addEventListener("keydown", (e) => {
    if (e.key === "ArrowLeft") showShot(viewing - 1);
    if (e.key === "ArrowRight") showShot(viewing + 1);
  });

  async function loadRecording() {
    const box = $("#recording");
    if (bot && bot.recordingMode === "none") { box.replaceChildren(h("p", { class: "empty" }, "This bot does not record.")); return; }
    // Nothing to ask for yet: the recording exists once the bot has left, and only if it got in.
    if (bot && !terminal(bot.status)) {
      box.replaceChildren(h("p", { class: "muted" }, changeAt(bot, "IN_CALL")
        ? "Recording in progress — it becomes playable once the bot has left." : "The recording starts when the bot is in the call."));
      return;
    }
    if (bot && !changeAt(bot, "IN_CALL")) {
      box.replaceChildren(h("p", { class: "muted" }, bot.status === "FATAL"
        ? "No recording: the bot failed before it could record." : "No recording: the bot never got into the call."));
      return;
    }
    try {
      const r = await api("GET", `/api/bots/${id}/recording`);
      const urls = r.url ? [r.url] : (r.segments || []).map((x) => x.url).filter(Boolean);
      if ((r.state !== "ready" && r.state !== "partial") || !urls.length) {
        box.replaceChildren(h("p", { class: "muted" }, r.state === "failed" ? "The recording failed."
          : bot && bot.status === "FATAL" ? "No recording: the bot failed before it could record."
          : "Recording " + (r.state || "pending") + " — it becomes playable once the bot has left."));
        return;
      }
      const kind = bot.recordingMode === "audio" ? "audio" : "video";
      // Several segments (the recorder restarted): played one after the other.
      const players = urls.map((url, i) => h(kind, { controls: true, preload: "metadata", src: url, id: i ? null : "player",
        "aria-label": urls.length > 1 ? `Recording, part ${i + 1} of ${urls.length}` : "Recording" }));
      players.forEach((p, i) => { if (players[i + 1]) p.addEventListener("ended", () => players[i + 1].play()); });
      const gaps = r.state === "partial"
        ? [h("p", { class: "error" }, "Incomplete: " + (r.missingSecs ? fmtDuration(r.missingSecs) + " " : "parts ") +
            "of the recording never reached storage (" + (r.missing || []).length + " gap(s)).")]
        : [];
      box.replaceChildren(...players, ...gaps, h("p", { class: "muted" },
        fmtDuration(r.durationSecs) + " · " + fmtBytes(r.sizeBytes) + " · ",
        ...urls.map((url, i) => h("a", { href: url, download: "" }, urls.length > 1 ? `Download part ${i + 1} ` : "Download"))));
    } catch (e) {
      const why = bot && bot.status === "FATAL" ? "No recording: the bot failed before it could record."
        : bot && terminal(bot.status) ? "No recording was made." : "No recording yet — it becomes playable once the bot has left.";
      box.replaceChildren(h("p", { class: e.status === 404 ? "muted" : "error" },
        e.status === 404 ? why : "Could not load the recording: " + e.message));
    }
  }

  // ------------------------------------------------ transcript (live while in the call)
  const lines = new Map();
  let transcriptState = null;

  function clock(ms) {
    const t = Math.max(0, Math.floor(ms / 1000));
    const hh = Math.floor(t / 3600), mm = Math.floor((t % 3600) / 60), ss = t % 60;
    return (hh ? hh + ":" + String(mm).padStart(2, "0") : String(mm)) + ":" + String(ss).padStart(2, "0");
  }

  function highlight(text, needle) {
    if (!needle) return [text];
    const out = [];
    const low = text.toLowerCase();
    let at = 0;
    for (let i = low.indexOf(needle); i >= 0; i = low.indexOf(needle, at)) {
      out.push(text.slice(at, i), h("mark", {}, text.slice(i, i + needle.length)));
      at = i + needle.length;
    }
    out.push(text.slice(at));
    return out;
  }

  function renderTranscript() {
    const needle = $("#transcript-search").value.trim().toLowerCase();
    const all = [...lines.values()].sort((a, b) => a.startMs - b.startMs);
    const shown = needle ? all.filter((u) => (u.text + " " + (u.speaker || "")).toLowerCase().includes(needle)) : all;
    const list = $("#transcript");
    const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 8;
    list.replaceChildren(...shown.map((u) => h("li", { class: u.isFinal === false ? "partial" : null },
      h("button", { type: "button", title: "Play the recording from " + clock(u.startMs), onclick: () => seek(u.startMs) },
        h("span", { class: "at" }, clock(u.startMs)), h("strong", {}, (u.speaker || "Unknown speaker") + ": "), ...highlight(u.text, needle)))));
    const card = $("#transcript-card");
    card.hidden = transcriptState === "none" && !all.length;
    $("#transcript-state").textContent = needle ? `${shown.length} of ${all.length} lines match`
      : { live: "Live: lines appear as they are spoken.", processing: "Transcribing the recording…", failed: "The transcript failed.",
        ready: all.length + " lines.", none: "No transcript yet." }[transcriptState] || "";
    if (!needle && atEnd) list.scrollTop = list.scrollHeight;
  }

  /** Plays the recording from `ms` (the recording's clock): the transcript's times are on it. */
  function seek(ms) {
    const player = $("#player");
    if (!player) { flash("The recording is not ready yet: it becomes playable once the bot has left.", "error"); return; }
    player.currentTime = ms / 1000;
    player.play().catch(() => {});
    player.focus();
  }

  async function loadTranscript() {
    try {
      let cursor = null;
      for (let i = 0; i < 50; i++) {
        const q = new URLSearchParams({ limit: "1000" });
        if (cursor) q.set("cursor", cursor);
        const page = await api("GET", `/api/bots/${id}/transcript?` + q);
        transcriptState = page.state;
        if (page.error) $("#transcript-state").title = page.error;
        for (const u of page.utterances) lines.set(u.id, u);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      renderTranscript();
    } catch (e) {
      transcriptState = "none";
      if (e.status !== 404) $("#transcript-state").textContent = "Could not load the transcript: " + e.message;
      renderTranscript();
    }
  }

  function onUtterance(u) {
    if (!u || !u.id) return;
    // A partial line is replaced by its next version (same id) and finally by the final one.
    lines.set(u.id, u);
    if (transcriptState === "none" || !transcriptState) transcriptState = "live";
    renderTranscript();
  }
  $("#transcript-search").addEventListener("input", renderTranscript);

  $("#log-level").addEventListener("change", renderEvents);
  $("#chat-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const input = $("#chat-text");
    const text = input.value.trim();
    if (!text) return;
    try {
      await api("POST", `/api/bots/${id}/chat`, { message: text });
      input.value = "";
      loadChat();
    } catch (err) {
      flash("Message not sent: " + err.message, "error");
    }
  });
  $("#bot-leave").addEventListener("click", async () => {
    if (!confirm("Make this bot leave the meeting now?")) return;
    try { await api("POST", `/api/bots/${id}/leave`, {}); flash("The bot was asked to leave."); loadBot(); }
    catch (err) { flash(err.message, "error"); }
  });
  $("#bot-delete").addEventListener("click", async () => {
    if (!confirm("Delete this bot, its recording, screenshots and logs? This cannot be undone.")) return;
    try { await api("DELETE", "/api/bots/" + id); location.href = "/"; }
    catch (err) { flash(err.message, "error"); }
  });

  (async () => {
    await loadBot();
    if (!bot) return;
    await loadEvents();
    loadChat(); loadParticipants(); loadScreenshots(); loadRecording(); loadTranscript();
    let chatTimer = null;
    const refresh = () => { clearTimeout(chatTimer); chatTimer = setTimeout(() => { loadChat(); loadParticipants(); }, 300); };
    const onEvent = (e) => {
      if (events.some((x) => x.id === e.id)) return;
      events.push(e);
      renderEvents();
      if (e.type === "status_change") loadBot();
      if (e.type.startsWith("chat") || e.type.startsWith("participant")) refresh();
      if (e.type === "screenshot") loadScreenshots();
      if (e.type === "recording_ready") loadRecording();
      if (e.type === "transcript.data" || e.type === "transcript.partial") onUtterance(e.data);
      if (e.type === "transcript.ready" || e.type === "transcript.failed" || e.type === "captions_unavailable") loadTranscript();
    };
    const handlers = {};
    for (const t of ["status_change", "participant_join", "participant_leave", "chat_received", "chat_sent", "chat_failed",
      "log", "active_speaker", "screenshot", "recording_ready", "heartbeat", "transcript.data", "transcript.partial",
      "transcript.ready", "transcript.failed", "captions_unavailable"]) handlers[t] = onEvent;
    handlers.message = onEvent;
    handlers.end = () => { loadBot(); loadChat(); loadParticipants(); loadScreenshots(); loadTranscript(); setTimeout(loadRecording, 1500); };
    // The stream ends once the bot has ended; the chat's delivery states and the recording are polled besides.
    if (!terminal(bot.status)) {
      const stop = follow(`/api/bots/${id}/stream`, handlers);
      handlers.end = ((end) => () => { stop(); end(); })(handlers.end);
    }
    setInterval(() => { if (!terminal(bot.status)) { loadChat(); loadBot(); } }, 3000);
    setInterval(() => { if (terminal(bot.status) && bot.recordingMode !== "none" && !$("#player") && bot.status !== "FATAL") loadRecording(); }, 5000);
  })();
}

// ---------------------------------------------------------------- infrastructure

/** "queueLength" → "Queue length", "deployedAt" → "Deployed at". */
function human(key) {
  const words = String(key).replace(/([a-z0-9])([A-Z])/g, "$1 $2").replace(/_/g, " ").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/;

function percentile(sorted, q) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function fmtMs(ms) {
  return ms == null ? "—" : ms < 1000 ? Math.round(ms) + " ms" : fmtDuration(ms / 1000) === "0 s" ? ms + " ms" : (ms / 1000).toFixed(1) + " s";
}

function infrastructurePage() {
  const box = $("#infra");
  async function load() {
    try {
      const [infra, pool] = await Promise.all([api("GET", "/api/infrastructure"), api("GET", "/api/bots/pool-stats")]);
      const parts = [];
      parts.push(h("div", { class: "stats" },
        h("div", { class: "stat" }, h("b", {}, String(infra.queueLength)), h("span", {}, "bots waiting in the queue")),
        h("div", { class: "stat" }, h("b", {}, String(infra.platforms.reduce((n, p) => n + p.active, 0))), h("span", {}, "bots deployed now")),
        h("div", { class: "stat" }, h("b", {}, String(infra.platforms.reduce((n, p) => n + (p.capacity || 0), 0))), h("span", {}, "total capacity")),
        h("div", { class: "stat" }, h("b", {}, String(infra.pendingReleaseJobs)), h("span", {}, "release jobs pending"))));
      parts.push(h("section", { class: "card" }, h("h2", {}, "Active platform"),
        h("p", {}, h("strong", {}, infra.platforms.map((p) => p.name).join(", ") || "none"), " — ", infra.selection),
        infra.warnings.length ? h("ul", { class: "warnings" }, infra.warnings.map((w) => h("li", {}, w))) : null));
      parts.push(h("section", { class: "card" }, h("h2", {}, "Capacity per platform"),
        dataTable("Capacity per platform", ["Platform", { name: "In use", num: true }, { name: "Capacity", num: true },
          { name: "Deploy time (median)", num: true }, { name: "Deploy time (slowest recent)", num: true }, "Recent errors"],
        infra.platforms.map((p) => {
          const lat = [...p.recentDeployLatenciesMs].sort((x, y) => x - y);
          return [p.name, String(p.active), String(p.capacity),
            fmtMs(percentile(lat, 0.5)), fmtMs(lat.length ? lat[lat.length - 1] : null),
            p.recentErrors.length ? h("ul", {}, p.recentErrors.map((e) => h("li", {}, e))) : "none"];
        }))));
      parts.push(h("section", { class: "card" }, h("h2", {}, "Pool"),
        h("dl", { class: "details" }, Object.entries(pool).flatMap(([k, v]) => [h("dt", {}, human(k)), h("dd", {}, cell(v))]))));
      const titles = {
        slots: "Coolify pool slots",
        instances: "Running instances (bots deployed now)",
        queue: "Deployment queue",
        orphanedPlatforms: "Live bots on platforms no longer configured",
      };
      for (const [key, value] of Object.entries(infra)) {
        if (["platforms", "selection", "warnings", "queueLength", "pendingReleaseJobs"].includes(key)) continue;
        if (key === "slots" && !value.length) continue;
        parts.push(h("section", { class: "card" }, h("h2", {}, titles[key] || human(key)), genericTable(value, titles[key] || human(key))));
      }
      box.replaceChildren(...parts);
    } catch (e) {
      box.replaceChildren(h("p", { class: "error", role: "alert" }, "Could not load the infrastructure: " + e.message));
    }
  }
  load();
  setInterval(load, 10000);
}

/** Renders any JSON value: arrays of objects as tables, objects as definition lists. */
function genericTable(value, caption) {
  if (Array.isArray(value)) {
    if (!value.length) return h("p", { class: "empty" }, "None.");
    if (typeof value[0] !== "object") return h("p", {}, value.join(", "));
    const cols = [...new Set(value.flatMap((x) => Object.keys(x)))];
    return dataTable(caption, cols.map(human), value.map((row) => cols.map((c) => cell(row[c]))));
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return h("p", { class: "empty" }, "None.");
    return h("dl", { class: "details" }, entries.flatMap(([k, v]) => [h("dt", {}, human(k)), h("dd", {}, v && typeof v === "object" ? genericTable(v, human(k)) : cell(v))]));
  }
  return h("p", {}, cell(value));
}

function cell(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "string" && ISO_TIME.test(v)) return timeEl(v);
  if (typeof v === "boolean") return v ? "yes" : "no";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// ---------------------------------------------------------------- keys

function keysPage() {
  const body = $("#keys-body"), form = $("#key-form");
  // A member key may revoke only itself; an admin key any key (but never an account's last admin key).
  const root = $("[data-page=keys]"), admin = root.dataset.admin === "true", ownKey = root.dataset.ownKey;
  const cols = admin ? 9 : 8;
  let accounts = new Map();

  async function loadAccounts() {
    if (!admin) return;
    try {
      const list = (await api("GET", "/api/accounts")).accounts;
      accounts = new Map(list.map((a) => [a.id, a.name]));
      const picker = $("#key-account");
      const mine = picker.value;
      picker.replaceChildren(h("option", { value: "" }, "this account"),
        ...list.map((a) => h("option", { value: a.id }, a.name)));
      picker.value = mine;
    } catch (e) { flash("Could not load the accounts: " + e.message, "error"); }
  }

  function actions(k, state) {
    const mayAct = admin || k.id === ownKey;
    if (!mayAct) return "—";
    if (state === "revoked") {
      return h("button", {
        type: "button", class: "small", "aria-label": "Delete the revoked key " + k.name, onclick: async () => {
          if (!confirm(`Delete the revoked key “${k.name}” from the list?`)) return;
          try { await api("DELETE", `/api/keys/${k.id}/revoked`); flash("Revoked key deleted."); load(); } catch (e) { flash(e.message, "error"); }
        },
      }, "Delete");
    }
    return h("button", {
      type: "button", class: "danger small", "aria-label": "Revoke " + k.name, onclick: async () => {
        if (!confirm(`Revoke the key “${k.name}”? Apps using it stop working at once.`)) return;
        try { await api("DELETE", "/api/keys/" + k.id); flash("Key revoked."); load(); } catch (e) { flash(e.message, "error"); }
      },
    }, "Revoke");
  }

  async function load() {
    try {
      const keys = (await api("GET", "/api/keys")).keys;
      if (!keys.length) { body.replaceChildren(h("tr", {}, h("td", { colspan: cols, class: "empty" }, "No keys."))); return; }
      body.replaceChildren(...keys.map((k) => {
        const state = k.revokedAt ? "revoked" : k.expiresAt && new Date(k.expiresAt) < new Date() ? "expired" : "active";
        return h("tr", {}, td("Name", {}, k.name, k.id === ownKey ? h("span", { class: "tag" }, "this session") : null),
          admin ? td("Account", {}, accounts.get(k.accountId) || h("span", { class: "id" }, shortId(k.accountId))) : null,
          td("Prefix", {}, h("code", {}, k.prefix + "…")), td("Role", {}, k.role),
          td("Created", {}, timeEl(k.createdAt)), td("Last used", {}, k.lastUsedAt ? timeEl(k.lastUsedAt) : "never"),
          td("Expires", {}, k.expiresAt ? timeEl(k.expiresAt) : "never"),
          td("State", {}, h("span", { class: "badge s-" + (state === "active" ? "in_call" : state === "revoked" ? "ended" : "fatal") }, state)),
          td("Actions", {}, actions(k, state)));
      }));
    } catch (e) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: cols, class: "error" }, e.message)));
    }
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const req = { name: f.name.value.trim(), role: f.role.value };
    if (admin && f.accountId.value) req.accountId = f.accountId.value;
    if (f.expires.value) req.expiresAt = new Date(f.expires.value + "T23:59:59").toISOString();
    try {
      const created = await api("POST", "/api/keys", req);
      showSecret("Your new key “" + created.name + "”. Copy it now: it is shown only this once.", created.secret, "API key");
      form.reset();
      load();
    } catch (err) { flash(err.message, "error"); }
  });
  loadAccounts().then(load);
}

/** Shows a secret once, with a copy button and a way to hide it for good. */
function showSecret(text, secret, what) {
  const box = $("#secret");
  box.hidden = false;
  box.replaceChildren(h("p", {}, text), h("code", { "data-volatile": "" }, secret),
    h("div", { class: "row" }, copyButton(secret, what),
      h("button", { type: "button", class: "small", onclick: () => { box.replaceChildren(); box.hidden = true; } }, "I have stored it — hide")));
}

// ---------------------------------------------------------------- webhooks

const DELIVERIES_PER_PAGE = 10;

/** The random end of a UUIDv7 (its start is the time, the same for bots made together). */
function shortId(id) {
  return "…" + String(id).slice(-12);
}

function webhooksPage() {
  const box = $("#endpoints"), form = $("#endpoint-form");

  function attemptsCell(d) {
    if (!d.attempts.length) return "none yet";
    const last = d.attempts[d.attempts.length - 1];
    const summary = d.attempts.length + (d.attempts.length === 1 ? " attempt" : " attempts") + " · last: " +
      (last.statusCode ? "HTTP " + last.statusCode : "no answer");
    return h("details", { "data-delivery": d.id }, h("summary", { "data-volatile": "" }, summary),
      h("ol", { class: "log" }, d.attempts.map((a) => h("li", {}, timeEl(a.at), " ", a.statusCode ? "HTTP " + a.statusCode : "",
        a.error ? " " + a.error.slice(0, 300) + (a.error.length > 300 ? "…" : "") : "", " (" + a.durationMs + " ms)"))));
  }

  // The log is paged on the server: `cursors[i]` is the cursor of page i (null for the
  // newest), so "Newer" goes back without the client holding more than one page.
  function deliveryTable(endpoint, result, target, cursors) {
    const page = cursors.length - 1;
    const rows = result.deliveries.map((d) => [
      d.eventType,
      d.botId ? h("a", { href: "/bots/" + d.botId, class: "id", title: d.botId, "aria-label": "Bot " + d.botId, "data-volatile": "" }, shortId(d.botId)) : "—",
      h("span", { class: "badge s-" + (d.status === "delivered" ? "in_call" : d.status === "failed" ? "fatal" : "queued") }, d.status),
      attemptsCell(d),
      d.status === "pending" && d.nextAttemptAt ? timeEl(d.nextAttemptAt) : "—",
      timeEl(d.createdAt),
      h("button", {
        type: "button", class: "small", "aria-label": "Redeliver " + d.eventType, onclick: async () => {
          try { await api("POST", `/api/webhooks/${endpoint.id}/deliveries/${d.id}/redeliver`, {}); flash("Redelivery queued."); deliveries(endpoint, target, cursors); }
          catch (e) { flash(e.message, "error"); }
        },
      }, "Redeliver"),
    ]);
    const more = !!result.nextCursor;
    const pager = page > 0 || more ? h("nav", { class: "pager", "aria-label": "Delivery pages" },
      h("button", { type: "button", class: "small", disabled: page === 0, onclick: () => deliveries(endpoint, target, cursors.slice(0, -1)) }, "Newer"),
      h("span", { class: "muted" }, `Page ${page + 1}`),
      h("button", { type: "button", class: "small", disabled: !more, onclick: () => deliveries(endpoint, target, [...cursors, result.nextCursor]) }, "Older")) : null;
    target.replaceChildren(dataTable("Deliveries to " + endpoint.url,
      ["Event", "Bot", "State", "Attempts", "Next retry", "Created", { name: "Actions" }], rows), ...(pager ? [pager] : []));
  }

  /** Shows a page of the log; `timed` refreshes leave it alone while it has the keyboard's focus. */
  async function deliveries(endpoint, target, cursors = [null], timed = false) {
    clearTimeout(target.refresh);
    // Only the latest request draws (a timed refresh must not undo a page the user just chose).
    const mine = target.seq = (target.seq || 0) + 1;
    const cursor = cursors[cursors.length - 1];
    const query = "?limit=" + DELIVERIES_PER_PAGE + (cursor ? "&cursor=" + encodeURIComponent(cursor) : "");
    try {
      const result = await api("GET", `/api/webhooks/${endpoint.id}/deliveries${query}`);
      if (mine !== target.seq) return;
      if (!result.deliveries.length && cursors.length > 1) { deliveries(endpoint, target, cursors.slice(0, -1)); return; }
      if (!result.deliveries.length) { target.replaceChildren(h("p", { class: "empty" }, "No deliveries yet.")); return; }
      const shown = JSON.stringify(result);
      // A timed refresh redraws only what changed, and not under the keyboard's focus (it
      // would be lost). Attempts left open stay open; a focused pager button keeps the focus.
      const focused = target.contains(document.activeElement) ? document.activeElement : null;
      if (shown !== target.shown && !(timed && focused)) {
        const open = new Set([...target.querySelectorAll("details[open][data-delivery]")].map((d) => d.dataset.delivery));
        deliveryTable(endpoint, result, target, cursors);
        for (const d of target.querySelectorAll("details[data-delivery]")) d.open = open.has(d.dataset.delivery);
        target.shown = shown;
        if (focused && focused.closest(".pager")) {
          const buttons = [...target.querySelectorAll(".pager button")];
          (buttons.find((b) => b.textContent === focused.textContent && !b.disabled) || buttons.find((b) => !b.disabled))?.focus();
        }
      }
      // While deliveries on this page are pending, look again just after the next one is due.
      const due = result.deliveries.filter((d) => d.status === "pending" && d.nextAttemptAt).map((d) => new Date(d.nextAttemptAt) - Date.now());
      if (due.length) {
        const wait = Math.min(Math.max(Math.min(...due) + 1500, 5000), 60000);
        target.refresh = setTimeout(() => { if (target.isConnected) deliveries(endpoint, target, cursors, true); }, wait);
      }
    } catch (e) { if (mine === target.seq) { target.replaceChildren(h("p", { class: "error" }, e.message)); target.shown = null; } }
  }

  async function load() {
    try {
      const list = (await api("GET", "/api/webhooks")).endpoints;
      if (!list.length) { box.replaceChildren(h("p", { class: "empty" }, "No endpoints. Add one above to receive bot events.")); return; }
      box.replaceChildren(...list.map((ep) => {
        const log = h("div", {}, h("p", { class: "loading" }, "Loading deliveries…"));
        deliveries(ep, log);
        return h("section", { class: "card" }, h("div", { class: "toolbar" }, h("h2", {}, ep.url), h("span", { class: "spacer" }),
          h("button", {
            type: "button", class: "small", onclick: async () => {
              try { await api("POST", `/api/webhooks/${ep.id}/test`, {}); flash("Test event queued: it appears below."); deliveries(ep, log); }
              catch (e) { flash(e.message, "error"); }
            },
          }, "Send test event"),
          h("button", {
            type: "button", class: "danger small", onclick: async () => {
              if (!confirm("Delete this endpoint? Its pending deliveries are dropped.")) return;
              try { await api("DELETE", "/api/webhooks/" + ep.id); load(); } catch (e) { flash(e.message, "error"); }
            },
          }, "Delete")), h("p", { class: "muted" }, "Events: " + (ep.events.length ? ep.events.join(", ") : "all")), log);
      }));
    } catch (e) { box.replaceChildren(h("p", { class: "error" }, e.message)); }
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const events = f.events.value.split(",").map((x) => x.trim()).filter(Boolean);
    try {
      const ep = await api("POST", "/api/webhooks", { url: f.url.value.trim(), events });
      showSecret("Signing secret for this endpoint. Copy it now: it is shown only this once.", ep.secret || "(shared signing secret)", "signing secret");
      form.reset();
      load();
    } catch (err) { flash(err.message, "error"); }
  });
  load();
}

// ---------------------------------------------------------------- start

document.documentElement.classList.replace("no-js", "js");

document.addEventListener("DOMContentLoaded", () => {
  // Phones: the navigation folds behind the Menu button.
  const toggle = $(".menu-toggle");
  if (toggle) toggle.addEventListener("click", () => {
    const open = toggle.closest("header").classList.toggle("open");
    toggle.setAttribute("aria-expanded", String(open));
  });
  const root = document.querySelector("[data-page]");
  if (!root) return;
  const pages = {
    bots: botsPage, "new-bot": newBotPage, bot: botDetailPage,
    infrastructure: infrastructurePage, keys: keysPage, webhooks: webhooksPage,
  };
  const run = pages[root.dataset.page];
  if (run) run(root);
});

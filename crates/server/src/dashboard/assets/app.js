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

function fmtTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function fmtDuration(secs) {
  if (secs == null) return "—";
  secs = Math.round(secs);
  const hh = Math.floor(secs / 3600), mm = Math.floor((secs % 3600) / 60), ss = secs % 60;
  return (hh ? hh + " h " : "") + (hh || mm ? mm + " min " : "") + ss + " s";
}

function fmtBytes(n) {
  if (n == null) return "—";
  const units = ["B", "KB", "MB", "GB"];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
}

const PLATFORM_NAMES = { google_meet: "Google Meet", microsoft_teams: "Microsoft Teams", zoom: "Zoom" };
const PLATFORM_SHORT = { google_meet: "M", microsoft_teams: "T", zoom: "Z" };

function platformIcon(p) {
  return h("span", { class: "platform p-" + p, title: PLATFORM_NAMES[p] || p, "aria-label": PLATFORM_NAMES[p] || p },
    PLATFORM_SHORT[p] || "?");
}

function statusBadge(status, subCode) {
  const cls = "badge s-" + String(status).toLowerCase();
  return h("span", { class: cls, "data-status": status }, status, subCode ? h("small", {}, " " + subCode) : null);
}

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
      onState && onState("reconnecting");
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

function botsPage(root) {
  const body = $("#bots-body"), empty = $("#bots-empty"), form = $("#filters");
  const params = new URLSearchParams(location.search);
  for (const [k, v] of params) if (form.elements[k]) form.elements[k].value = v;
  let cursors = [null];
  const rows = new Map();

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
      h("td", {}, platformIcon(bot.platform)),
      h("td", {}, h("a", { href: "/bots/" + bot.id }, bot.botName)),
      h("td", { class: "url" }, h("span", { title: bot.meetingUrl }, bot.meetingUrl)),
      h("td", { class: "status" }, statusBadge(bot.status, failed && last ? last.subCode : null)),
      h("td", {}, fmtTime(bot.createdAt)),
      h("td", { class: "joined" }, fmtTime(changeAt(bot, "IN_CALL"))),
      h("td", { class: "ended" }, fmtTime(bot.endedAt)));
    rows.set(bot.id, tr);
    return tr;
  }

  async function load(cursor) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "loading" }, "Loading bots…")));
    try {
      const page = await api("GET", query(cursor));
      rows.clear();
      body.replaceChildren(...page.bots.map(row));
      empty.hidden = page.bots.length > 0;
      if (!page.bots.length && cursors.length === 1) empty.hidden = false;
      $("#page-next").disabled = !page.nextCursor;
      $("#page-next").onclick = () => { cursors.push(page.nextCursor); load(page.nextCursor); };
      $("#page-first").disabled = cursors.length <= 1;
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
    $("#bulk").hidden = n === 0;
    $("#bulk-count").textContent = n + " selected";
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

  // Live: a status change updates its row; a bot we have not shown appears on the first page.
  follow("/api/bots/live", {
    status: async (change) => {
      const tr = rows.get(change.botId);
      if (tr) {
        const failed = change.status === "FATAL" || (change.status === "ENDED" && change.subCode);
        $(".status", tr).replaceChildren(statusBadge(change.status, failed ? change.subCode : null));
        if (change.status === "IN_CALL") $(".joined", tr).textContent = fmtTime(change.at);
        if (change.status === "ENDED" || change.status === "FATAL") $(".ended", tr).textContent = fmtTime(change.at);
        tr.classList.add("flash");
        setTimeout(() => tr.classList.remove("flash"), 1200);
      } else if (cursors.length === 1 && !form.elements.status.value) {
        try {
          const bot = await api("GET", "/api/bots/" + change.botId);
          if (!rows.has(bot.id)) { body.prepend(row(bot)); empty.hidden = true; }
        } catch (_) { /* deleted meanwhile */ }
      }
    },
  }, (state) => { $("#live-state").textContent = state === "live" ? "● live" : "reconnecting…"; });

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
      fieldError("meetingUrl", field ? field.message : e.message);
    }
  }
  url.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(detect, 250); });

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
        if ($("#" + name + "-error")) fieldError(name, field.message);
        else { $("#form-error").hidden = false; $("#form-error").textContent += field.field + ": " + field.message + " "; }
      }
      if (!fields.length) { $("#form-error").hidden = false; $("#form-error").textContent = err.message; }
      if (fields.some((x) => x.field.startsWith("automaticLeave"))) form.querySelector("details").open = true;
    }
  });
}

// ---------------------------------------------------------------- bot detail

function botDetailPage(root) {
  const id = root.dataset.botId;
  let bot = null, events = [];
  const terminal = (s) => s === "ENDED" || s === "FATAL";

  function renderBot() {
    const last = lastChange(bot);
    $("#bot-status").replaceWith(Object.assign(statusBadge(bot.status, last && last.subCode), { id: "bot-status" }));
    document.querySelector("h1").textContent = bot.botName;
    document.title = bot.botName + " · Meeboter";
    $("#bot-title").replaceChildren(platformIcon(bot.platform), " ", h("a", { href: bot.meetingUrl, rel: "noreferrer", target: "_blank" }, bot.meetingUrl));
    $("#bot-leave").disabled = terminal(bot.status) || bot.status === "LEAVING";
    const timeline = $("#timeline");
    const changes = bot.statusChanges || [];
    timeline.replaceChildren(...changes.map((c, i) => {
      const next = changes[i + 1];
      const took = next ? (new Date(next.at) - new Date(c.at)) / 1000 : null;
      return h("li", {}, statusBadge(c.status, c.subCode), " ", h("time", { datetime: c.at }, fmtTime(c.at)),
        took != null ? h("span", { class: "muted" }, " · " + fmtDuration(took)) : null,
        c.message ? h("div", { class: "muted" }, c.message) : null);
    }));
    const d = bot.deployment || {};
    const rows = [
      ["Bot id", bot.id],
      ["Recording", bot.recordingMode],
      ["Deployment platform", d.platform || "—"],
      ["Identifier", d.identifier || "—"],
      ["Queue position", bot.queue ? String(bot.queue.position ?? "—") : "—"],
      ["Created", fmtTime(bot.createdAt)],
      ["Joins at", bot.joinAt ? fmtTime(bot.joinAt) : "now"],
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
      $("#participants").replaceChildren(h("table", { class: "data compact" },
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Name"), h("th", { scope: "col" }, "Joined"), h("th", { scope: "col" }, "Left"))),
        h("tbody", {}, list.map((p) => h("tr", {}, h("td", {}, p.name, p.isBot ? h("span", { class: "tag" }, "bot") : null),
          h("td", {}, fmtTime(p.joinedAt)), h("td", {}, p.leftAt ? fmtTime(p.leftAt) : "in the call"))))));
    } catch (e) {
      $("#participants").replaceChildren(h("p", { class: "error" }, e.message));
    }
  }

  async function loadChat() {
    try {
      // Both directions, oldest first, from the chat resource itself.
      const all = (await api("GET", `/api/bots/${id}/chat`)).messages.map((m) => m.direction === "incoming"
        ? { at: m.createdAt, mine: false, sender: m.sender || "", text: m.text }
        : { at: m.createdAt, mine: true, m });
      const list = $("#chat");
      if (!all.length) { list.replaceChildren(h("li", { class: "empty" }, "No messages yet.")); return; }
      list.replaceChildren(...all.map((x) => x.mine
        ? h("li", { class: "mine", "data-state": x.m.status }, h("span", { class: "who" }, "Bot"), " ", x.m.text, " ",
          h("span", { class: "state state-" + x.m.status, title: x.m.error || "" }, x.m.status + (x.m.error ? ": " + x.m.error : "")))
        : h("li", {}, h("span", { class: "who" }, x.sender), " ", x.text)));
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

  async function loadScreenshots() {
    try {
      const list = (await api("GET", `/api/bots/${id}/screenshots`)).screenshots;
      if (!list.length) { $("#screenshots").replaceChildren(h("p", { class: "empty" }, "No screenshots.")); return; }
      $("#screenshots").replaceChildren(...list.map((s) => h("figure", {},
        h("a", { href: s.url, target: "_blank", rel: "noreferrer" }, h("img", { src: s.url, alt: "Screenshot: " + s.kind, loading: "lazy" })),
        h("figcaption", {}, s.kind + " · " + fmtTime(s.takenAt || s.createdAt)))));
    } catch (e) {
      $("#screenshots").replaceChildren(h("p", { class: "error" }, e.message));
    }
  }

  async function loadRecording() {
    const box = $("#recording");
    if (bot && bot.recordingMode === "none") { box.replaceChildren(h("p", { class: "empty" }, "This bot does not record.")); return; }
    try {
      const r = await api("GET", `/api/bots/${id}/recording`);
      const urls = r.url ? [r.url] : (r.segments || []).map((x) => x.url).filter(Boolean);
      if ((r.state !== "ready" && r.state !== "partial") || !urls.length) {
        box.replaceChildren(h("p", { class: "muted" }, "Recording " + (r.state || "pending") +
          (r.state === "failed" ? "." : " — it becomes playable once the bot has left.")));
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
      box.replaceChildren(h("p", { class: e.status === 404 ? "muted" : "error" },
        e.status === 404 ? "No recording yet." : "Could not load the recording: " + e.message));
    }
  }

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
    loadChat(); loadParticipants(); loadScreenshots(); loadRecording();
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
    };
    const handlers = {};
    for (const t of ["status_change", "participant_join", "participant_leave", "chat_received", "chat_sent", "chat_failed",
      "log", "active_speaker", "screenshot", "recording_ready", "heartbeat"]) handlers[t] = onEvent;
    handlers.message = onEvent;
    handlers.end = () => { loadBot(); loadChat(); loadParticipants(); loadScreenshots(); setTimeout(loadRecording, 1500); };
    // The stream ends once the bot has ended; the chat's delivery states and the recording are polled besides.
    if (!terminal(bot.status)) {
      const stop = follow(`/api/bots/${id}/stream`, handlers);
      handlers.end = ((end) => () => { stop(); end(); })(handlers.end);
    }
    setInterval(() => { if (!terminal(bot.status)) { loadChat(); loadBot(); } }, 3000);
    setInterval(() => { if (terminal(bot.status) && bot.recordingMode !== "none" && !$("#player")) loadRecording(); }, 5000);
  })();
}

// ---------------------------------------------------------------- infrastructure

function infrastructurePage() {
  const box = $("#infra");
  async function load() {
    try {
      const [infra, pool] = await Promise.all([api("GET", "/api/infrastructure"), api("GET", "/api/bots/pool-stats")]);
      const parts = [];
      parts.push(h("section", { class: "card" }, h("h2", {}, "Active platform"),
        h("p", {}, h("strong", {}, infra.platforms.map((p) => p.name).join(", ") || "none"), " — ", infra.selection),
        infra.warnings.length ? h("ul", { class: "warnings" }, infra.warnings.map((w) => h("li", {}, w))) : null));
      parts.push(h("section", { class: "card" }, h("h2", {}, "Capacity"),
        h("table", { class: "data" },
          h("thead", {}, h("tr", {}, ["Platform", "Capacity", "Active", "Recent deploy latency (ms)", "Recent errors"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, infra.platforms.map((p) => h("tr", {}, h("td", {}, p.name), h("td", {}, p.capacity), h("td", {}, p.active),
            h("td", {}, p.recentDeployLatenciesMs.length ? p.recentDeployLatenciesMs.join(", ") : "—"),
            h("td", {}, p.recentErrors.length ? h("ul", {}, p.recentErrors.map((e) => h("li", {}, e))) : "—"))))),
        h("p", { class: "muted" }, `Queue: ${infra.queueLength} waiting · ${infra.pendingReleaseJobs} release job(s) pending`)));
      parts.push(h("section", { class: "card" }, h("h2", {}, "Pool stats"),
        h("dl", { class: "details" }, Object.entries(pool).flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]))));
      const titles = {
        slots: "Coolify pool slots",
        instances: "Running instances (bots deployed now)",
        queue: "Deployment queue",
        orphanedPlatforms: "Live bots on platforms no longer configured",
      };
      for (const [key, value] of Object.entries(infra)) {
        if (["platforms", "selection", "warnings", "queueLength", "pendingReleaseJobs"].includes(key)) continue;
        if (key === "slots" && !value.length) continue;
        parts.push(h("section", { class: "card" }, h("h2", {}, titles[key] || key), genericTable(value)));
      }
      box.replaceChildren(...parts);
    } catch (e) {
      box.replaceChildren(h("p", { class: "error", role: "alert" }, "Could not load the infrastructure: " + e.message));
    }
  }
  load();
  setInterval(load, 5000);
}

/** Renders any JSON value: arrays of objects as tables, objects as definition lists. */
function genericTable(value) {
  if (Array.isArray(value)) {
    if (!value.length) return h("p", { class: "empty" }, "None.");
    if (typeof value[0] !== "object") return h("p", {}, value.join(", "));
    const cols = [...new Set(value.flatMap((x) => Object.keys(x)))];
    return h("div", { class: "table-wrap" }, h("table", { class: "data compact" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, value.map((row) => h("tr", {}, cols.map((c) => h("td", {}, cell(row[c]))))))));
  }
  if (value && typeof value === "object") {
    const entries = Object.entries(value);
    if (!entries.length) return h("p", { class: "empty" }, "None.");
    return h("dl", { class: "details" }, entries.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, typeof v === "object" ? genericTable(v) : cell(v))]));
  }
  return h("p", {}, cell(value));
}

function cell(v) {
  if (v === null || v === undefined) return "—";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

// ---------------------------------------------------------------- keys

function keysPage() {
  const body = $("#keys-body"), form = $("#key-form");
  // A member key may revoke only itself; an admin key any key (but never an account's last admin key).
  const root = $("[data-page=keys]"), admin = root.dataset.admin === "true", ownKey = root.dataset.ownKey;
  async function load() {
    try {
      const keys = (await api("GET", "/api/keys")).keys;
      if (!keys.length) { body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "empty" }, "No keys."))); return; }
      body.replaceChildren(...keys.map((k) => {
        const state = k.revokedAt ? "revoked" : k.expiresAt && new Date(k.expiresAt) < new Date() ? "expired" : "active";
        return h("tr", {}, h("td", {}, k.name), h("td", {}, h("code", {}, k.prefix + "…")), h("td", {}, k.role),
          h("td", {}, fmtTime(k.createdAt)), h("td", {}, fmtTime(k.lastUsedAt)), h("td", {}, k.expiresAt ? fmtTime(k.expiresAt) : "never"),
          h("td", {}, state), h("td", {}, state === "active" && (admin || k.id === ownKey) ? h("button", {
            type: "button", class: "danger small", onclick: async () => {
              if (!confirm(`Revoke the key “${k.name}”? Apps using it stop working at once.`)) return;
              try { await api("DELETE", "/api/keys/" + k.id); flash("Key revoked."); load(); } catch (e) { flash(e.message, "error"); }
            },
          }, "Revoke") : null));
      }));
    } catch (e) {
      body.replaceChildren(h("tr", {}, h("td", { colspan: 8, class: "error" }, e.message)));
    }
  }
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const f = form.elements;
    const req = { name: f.name.value.trim(), role: f.role.value };
    if (f.expires.value) req.expiresAt = new Date(f.expires.value + "T23:59:59").toISOString();
    try {
      const created = await api("POST", "/api/keys", req);
      const box = $("#secret");
      box.hidden = false;
      box.replaceChildren(h("p", {}, "Your new key. Copy it now — it will not be shown again:"), h("code", { class: "copy" }, created.secret));
      form.reset();
      load();
    } catch (err) { flash(err.message, "error"); }
  });
  load();
}

// ---------------------------------------------------------------- webhooks

function webhooksPage() {
  const box = $("#endpoints"), form = $("#endpoint-form");
  async function deliveries(endpoint, target) {
    try {
      const list = (await api("GET", `/api/webhooks/${endpoint.id}/deliveries`)).deliveries;
      if (!list.length) { target.replaceChildren(h("p", { class: "empty" }, "No deliveries yet.")); return; }
      target.replaceChildren(h("table", { class: "data compact" },
        h("thead", {}, h("tr", {}, ["Event", "Bot", "State", "Attempts", "Created", ""].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", {}, list.map((d) => h("tr", {}, h("td", {}, d.eventType), h("td", {}, d.botId ? h("a", { href: "/bots/" + d.botId }, d.botId.slice(0, 8)) : "—"),
          h("td", {}, d.status), h("td", {}, d.attempts.map((a) => a.statusCode || a.error || "?").join(", ") || "—"),
          h("td", {}, fmtTime(d.createdAt)),
          h("td", {}, h("button", {
            type: "button", class: "small", onclick: async () => {
              try { await api("POST", `/api/webhooks/${endpoint.id}/deliveries/${d.id}/redeliver`, {}); flash("Redelivery queued."); deliveries(endpoint, target); }
              catch (e) { flash(e.message, "error"); }
            },
          }, "Redeliver")))))));
    } catch (e) { target.replaceChildren(h("p", { class: "error" }, e.message)); }
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
      const secretBox = $("#secret");
      secretBox.hidden = false;
      secretBox.replaceChildren(h("p", {}, "Signing secret for this endpoint. Copy it now — it will not be shown again:"), h("code", { class: "copy" }, ep.secret || "(shared signing secret)"));
      form.reset();
      load();
    } catch (err) { flash(err.message, "error"); }
  });
  load();
}

// ---------------------------------------------------------------- start

document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-page]");
  if (!root) return;
  const pages = {
    bots: botsPage, "new-bot": newBotPage, bot: botDetailPage,
    infrastructure: infrastructurePage, keys: keysPage, webhooks: webhooksPage,
  };
  const run = pages[root.dataset.page];
  if (run) run(root);
});

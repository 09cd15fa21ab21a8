// Shared by the replica pages: the guest's link to the replica server, dialogs, chat, and the
// call's media — a steady tone and moving content, so a recording of the call can be checked.
//
// A page defines `ready(conf)` (called once the meeting's config is known and no block hides the
// client), `render(state)` (called with every poll) and optionally `screens` (screen id →
// function showing it, for screens that are filled in rather than static), `lateBlocks` (blocks
// shown only after Join) and `lobbyTexts` (the platform's lobby wordings).
const code = "__CODE__";
const api = "__BASE__/_replica/" + code;
let guest = null;
let guestName = '';
let media = null;
// The meeting's config (from the control API), refreshed with every poll.
let conf = {};
// Like the real single-page clients, only the current screen is in the document: the other
// `main`s are detached (kept, with a placeholder marking their place).
const mains = [...document.querySelectorAll('main')].map((m) => {
  const spot = document.createComment(m.id);
  m.before(spot);
  m.remove();
  return {m, spot};
});
function showMain(id) {
  for (const {m, spot} of mains) {
    if (m.id === id) { m.hidden = false; if (!m.isConnected) spot.after(m); } else if (m.isConnected) m.remove();
  }
}
// Element lookup that also finds elements of detached screens.
const $ = (sel) => document.querySelector(sel) || mains.map(({m}) => m.querySelector(sel)).find(Boolean) || null;
const $all = (sel) => [...new Set([...document.querySelectorAll(sel), ...mains.flatMap(({m}) => [...m.querySelectorAll(sel)])])];
document.head.append(Object.assign(document.createElement('style'), {textContent:
  '.replica-overlay{position:fixed;inset:0;background:rgba(0,0,0,.45);z-index:1000}' +
  '.replica-dialog{position:fixed;top:15%;left:50%;transform:translateX(-50%);z-index:1001;background:#fff;padding:16px;border-radius:8px;max-width:480px}'}));
function show(id) {
  const special = typeof screens === 'object' && screens[id];
  if (special) special(id); else showMain(id);
}
const post = (url, body) => fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body || {})});
const el = (tag, attrs, ...children) => {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'class') e.className = v; else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
};
// A Material-style icon: its glyph is a font ligature, so its name is DOM text.
const icon = (name, cls) => el('i', {class: cls || 'google-material-icons', 'aria-hidden': 'true'}, name);
const initials = (name) => name.split(/\s+/).filter(Boolean).slice(0, 2).map(w => w[0].toUpperCase()).join('');
const clock = (ms) => new Date(ms || Date.now()).toLocaleTimeString('en-US', {hour: 'numeric', minute: '2-digit'});
// Rebuild a part of the page only when its data changed, so elements a bot holds stay valid.
const lastKeys = {};
function changed(part, data) {
  const key = JSON.stringify(data);
  if (lastKeys[part] === key) return false;
  lastKeys[part] = key;
  return true;
}
function lobbyText(index) {
  const v = conf.lobbyText;
  const text = typeof v === 'string' ? v : lobbyTexts[typeof v === 'number' && lobbyTexts[v] ? v : index];
  return text.replace('{name}', guestName);
}
async function enter(name) {
  guestName = name;
  const r = await post(api + '/guests', {name});
  guest = (await r.json()).id;
  poll(guest);
}
async function leaveCall() { if (guest) await post(api + '/guests/' + guest + '/leave'); }
async function sendChat(text) { if (guest && text.trim()) await post(api + '/guests/' + guest + '/chat', {text: text.trim()}); }

// Dialogs: `<template id="dialog-KIND">` holds a dialog's markup; its buttons carry
// `data-answer` ("ok", "leave" or "other"). While one is open, an overlay and a capturing
// click handler keep clicks from reaching the page behind it.
const dialogsShown = new Set();
let openDialog = null;
let mediaHeld = false;
document.addEventListener('click', (e) => {
  if (openDialog && !openDialog.contains(e.target)) { e.stopImmediatePropagation(); e.preventDefault(); }
}, true);
function showDialog(kind, phase) {
  const tpl = document.getElementById('dialog-' + kind);
  if (!tpl) return Promise.resolve(null);
  const overlay = el('div', {class: 'replica-overlay'});
  const node = tpl.content.firstElementChild.cloneNode(true);
  node.classList.add('replica-dialog');
  document.body.append(overlay, node);
  openDialog = node;
  if (tpl.dataset.holdsMedia !== undefined) { mediaHeld = true; stopMedia(); }
  return new Promise((resolve) => {
    node.addEventListener('click', (e) => {
      const b = e.target.closest('[data-answer]');
      if (!b) return;
      overlay.remove();
      node.remove();
      openDialog = null;
      if (tpl.dataset.holdsMedia !== undefined) mediaHeld = false;
      post(api + '/dialogs', {kind, at: phase, button: b.textContent.trim()});
      resolve(b.dataset.answer);
    });
  });
}
// Shows the dialogs configured for `phase`, one after another; each only once per page.
// Resolves to {shown, leave}: how many were shown, and whether one was answered with Leave.
async function runDialogs(phase) {
  let shown = 0;
  for (const d of conf.dialogs || []) {
    const key = d.kind + '@' + d.at;
    if (d.at !== phase || dialogsShown.has(key)) continue;
    dialogsShown.add(key);
    const answer = await showDialog(d.kind, phase);
    if (answer === null) continue;
    shown += 1;
    if (answer === 'leave') return {shown, leave: true};
  }
  return {shown, leave: false};
}

function startMedia(toneHz) {
  if (media || mediaHeld) return;
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = toneHz;
  const gain = ctx.createGain();
  gain.gain.value = 0.3;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  ctx.resume();
  const stage = $('#stage');
  const g = stage ? stage.getContext('2d') : null;
  let t = 0;
  // 15 frames a second: what a recording keeps, at a fraction of a 60 Hz animation's CPU.
  const draw = () => {
    if (!g) return;
    t += 1;
    g.fillStyle = '#123';
    g.fillRect(0, 0, stage.width, stage.height);
    g.fillStyle = '#fc0';
    g.fillRect((t * 6) % stage.width, 80 + 60 * Math.sin(t / 10), 90, 90);
    g.fillStyle = '#fff';
    g.font = '28px sans-serif';
    g.fillText(new Date().toISOString(), 20, 40);
  };
  media = {ctx, osc, gain, timer: setInterval(draw, 1000 / 15), spoken: new Set()};
}
// Spoken lines (`POST …/speech`): each WAV is fetched once and scheduled on the call's audio
// clock at the time the server gave (`startsInMs`, from the poll's answer), through the same
// output as the tone; the tone is silent while a script is being spoken, as a room would be.
function playSpeech(items, polledAt) {
  if (!media) return;
  media.gain.gain.value = items.length ? 0 : 0.3;
  const m = media;
  for (const a of items) {
    if (m.spoken.has(a.id)) continue;
    m.spoken.add(a.id);
    fetch(api + '/speech/' + a.key + '.wav')
      .then((r) => r.arrayBuffer())
      .then((b) => m.ctx.decodeAudioData(b))
      .then((buf) => {
        if (media !== m) return;
        const src = m.ctx.createBufferSource();
        src.buffer = buf;
        src.connect(m.ctx.destination);
        const inSecs = (a.startsInMs - (performance.now() - polledAt)) / 1000;
        if (inSecs >= 0) src.start(m.ctx.currentTime + inSecs);
        else if (-inSecs < buf.duration) src.start(0, -inSecs);
      })
      .catch(() => m.spoken.delete(a.id));
  }
}
function stopMedia() {
  if (!media) return;
  clearInterval(media.timer);
  try { media.osc.stop(); media.ctx.close(); } catch (e) {}
  media = null;
}
let callDialogs = null;
async function poll(id) {
  if (id !== guest) return;
  try {
    const polledAt = performance.now();
    const s = await (await fetch(api + '/guests/' + id)).json();
    if (id !== guest) return;
    conf = s.config || conf;
    if (s.screen === 'call' && !callDialogs) {
      callDialogs = runDialogs('call').then((r) => { if (r.leave) leaveCall(); });
    }
    if (s.screen === 'call') { startMedia(s.toneHz); playSpeech(s.audio || [], polledAt); } else stopMedia();
    // The client navigated elsewhere (some clients leave the meeting page when it is over).
    if (s.screen === 'away') { window.top.location.href = 'about:blank'; return; }
    render(s);
    // Back at the pre-join (Teams' lobby expiry): this guest is over, a new Join starts anew.
    if (s.screen === 'prejoin') { guest = null; return; }
  } catch (e) {}
  setTimeout(() => poll(id), 250);
}
// Screens shown before joining (not found, sign-in wall, captcha, ended), else the client.
fetch(api).then(r => r.json()).then(s => {
  conf = s;
  const late = typeof lateBlocks === 'object' && lateBlocks.includes(s.block);
  if (s.block && !late) show(s.block);
  else if (s.ended) show('ended');
  else if (typeof ready === 'function') ready(s);
});

// Captions, per page like the real clients: off until the guest turns them on; the meeting
// may have them disabled (`captionsDisabled`), then they never show.
let captionsShown = false;
function toggleCaptions() {
  if (conf.captionsDisabled) return;
  captionsShown = !captionsShown;
  delete lastKeys.captions;
  if (typeof lastState === 'object' && lastState) render(lastState);
}
// Who is speaking now (the lines being said).
const speakingNow = (s) => (s.speech || []).filter((u) => u.speaking).map((u) => u.speaker);
// Keeps one element per line in `box` (`make(u)` builds it, `fill(element, u)` updates it),
// so a line keeps its element while it grows, like the real clients.
const lineEls = new Map();
function renderLines(box, lines, make, fill) {
  const keep = new Set(lines.map((u) => u.id));
  for (const [id, e] of lineEls) if (!keep.has(id)) { e.remove(); lineEls.delete(id); }
  for (const u of lines) {
    let e = lineEls.get(u.id);
    if (!e) { e = make(u); lineEls.set(u.id, e); box.append(e); }
    fill(e, u);
  }
}

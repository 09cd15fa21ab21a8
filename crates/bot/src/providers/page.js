// What the bot runs inside a meeting page. Every function takes the client's spec (the
// `ClientSpec` of providers/<client>.rs, as JSON) and the document the client lives in;
// they only read the page and click — the Rust side decides what it means.

// An element takes space on screen (display:none anywhere above it says no).
const visible = (el) => !!(el && (el.offsetWidth || el.offsetHeight || el.getClientRects().length));
// Clients mix typographic and plain apostrophes, ellipses and non-breaking spaces.
const norm = (t) => (t || '').toLowerCase()
  .replace(/[\u2018\u2019]/g, "'").replace(/\u2026/g, '...').replace(/\s+/g, ' ').trim();
// Parts of a page that are not words a person wrote: icon ligatures (Material icons are
// font ligatures, so "keep" or "more_vert" are text nodes), hidden helpers, controls.
const NOISE = 'i, .google-material-icons, .google-symbols, [class*="material-icons"], [aria-hidden="true"], '
  + 'button, [role="button"], [role="tooltip"], [role="menu"], script, style';
// The words of an element without its noise.
const words = (el) => {
  if (!el) return '';
  const copy = el.cloneNode(true);
  for (const n of copy.querySelectorAll(NOISE)) n.remove();
  return (copy.textContent || '').replace(/\s+/g, ' ').trim();
};
const pageText = (doc) => norm(doc.body ? doc.body.innerText : '');
const firstText = (text, list) => list.find((t) => text.includes(norm(t)));
const all = (doc, sel) => { try { return Array.from(doc.querySelectorAll(sel)); } catch (e) { return []; } };
const anyVisible = (doc, sels) => sels.some((s) => all(doc, s).some(visible));
const label = (el) => norm((el.innerText || el.textContent || '') + ' ' + (el.getAttribute('aria-label') || ''));
const enabled = (b) => !b.disabled && b.getAttribute('aria-disabled') !== 'true' && !b.classList.contains('disabled');
const buttons = (scope) => all(scope, 'button, [role="button"], a, input[type="button"], input[type="submit"]').filter(visible);

// A clickable element whose text or accessible name is exactly one of `texts` (or, with
// `prefix`, starts with one), in the order given.
function findButton(scope, texts, selectors, prefix) {
  for (const s of selectors || []) {
    const hit = all(scope, s).find((b) => visible(b) && enabled(b));
    if (hit) return hit;
  }
  const list = buttons(scope).filter(enabled);
  for (const t of texts || []) {
    const want = norm(t);
    const hit = list.find((b) => {
      const text = norm(b.innerText || b.textContent || '');
      const aria = norm(b.getAttribute('aria-label') || '');
      return prefix ? (text.startsWith(want) || aria.startsWith(want)) : (text === want || aria === want);
    });
    if (hit) return hit;
  }
  return null;
}

// The Chromium error page shown when the meeting's host cannot be reached.
function networkError(doc) {
  const href = String(doc.location ? doc.location.href : '');
  const body = doc.body;
  if (!href.startsWith('chrome-error://') && !(body && (body.classList.contains('neterror') || doc.getElementById('main-frame-error')))) return null;
  const codeEl = doc.querySelector('.error-code, #error-code');
  let code = codeEl ? (codeEl.textContent || '').trim() : '';
  try { if (!code && window.loadTimeData) code = window.loadTimeData.getString('errorCode'); } catch (e) {}
  const heading = doc.querySelector('#main-message h1, h1');
  return { code: code || 'ERR_FAILED', message: ((heading ? heading.innerText : '') + ' — ' + (body ? body.innerText : '')).slice(0, 400) };
}

// A person's name from an entry, by the spec's name sources: "@attr" (the entry's attribute),
// "sel@attr" (a child's attribute), "sel" (a child's words); "|comma" keeps what is before
// the first comma (accessible names like "Ada, Organizer, Muted").
function entryName(spec, el, sources) {
  for (const source of sources) {
    let [path, mode] = source.split('|');
    let [sel, attr] = path.split('@');
    let value = '';
    const target = sel ? el.querySelector(sel) : el;
    if (!target) continue;
    value = attr ? (target.getAttribute(attr) || '') : words(target);
    if (mode === 'comma') value = value.split(',')[0];
    const name = cleanName(spec, value);
    if (name) return name;
  }
  return '';
}

// Strips self markers and qualifiers ("(You)", "(Guest)", "Organizer") from a name; '' when
// what is left is no name (an avatar initial, an icon ligature, a known non-person).
function cleanName(spec, raw) {
  let name = (raw || '').replace(/\s+/g, ' ').trim();
  const r = spec.roster;
  for (let again = true; again;) {
    again = false;
    for (const q of r.qualifiers.concat(r.selfMarkers)) {
      const n = norm(name), qn = norm(q);
      if (qn && n.endsWith(qn) && n.length > qn.length) { name = name.slice(0, name.length - q.length).replace(/[\s,]+$/, ''); again = true; }
    }
  }
  if (name.length < 2 || /^[^\s]*_[^\s]*$/.test(name)) return '';
  if (r.notPeople.some((x) => norm(name).includes(norm(x)))) return '';
  return name;
}

function isSelf(spec, el, name) {
  const r = spec.roster;
  const all = norm((el.getAttribute('aria-label') || '') + ' ' + (el.textContent || ''));
  if (r.selfMarkers.some((m) => all.includes(norm(m)))) return true;
  return r.selfNames.some((n) => norm(name) === norm(n));
}

function readEntries(spec, doc, entrySpecs, within) {
  const out = [];
  const seen = new Set();
  for (const e of entrySpecs) {
    for (const el of all(within || doc, e.selector)) {
      if (seen.has(el) || !visible(el)) continue;
      // Tiles inside an open panel list are the list's business.
      if (!within && spec.roster.listContainers.some((c) => el.closest(c))) continue;
      seen.add(el);
      const name = entryName(spec, el, e.names);
      const marker = isSelf(spec, el, name);
      if (!name && !marker) continue;
      out.push({ id: (e.idAttribute && el.getAttribute(e.idAttribute)) || '', name, isSelf: marker });
    }
  }
  return out;
}

function readCount(spec, doc) {
  for (const c of spec.roster.counters) {
    for (const el of all(doc, c.selector)) {
      const text = c.attribute ? (el.getAttribute(c.attribute) || '') : (el.textContent || '');
      const m = text.match(/\[(\d+)\]/) || text.match(/(\d+)/);
      if (m) return parseInt(m[1], 10);
    }
  }
  return null;
}

function readRoster(spec, doc) {
  const r = spec.roster;
  // One container may match several selectors; a list nested in another is the same list.
  const found = Array.from(new Set(r.listContainers.flatMap((c) => all(doc, c)))).filter(visible);
  const lists = found.filter((l) => !found.some((o) => o !== l && o.contains(l)));
  let list = null;
  if (lists.length) {
    list = [];
    for (const container of lists) list.push(...readEntries(spec, doc, r.listEntries, container));
  }
  return { list, tiles: readEntries(spec, doc, r.tiles, null), count: readCount(spec, doc) };
}

// The sender of a chat message: inside it, or the nearest header before it. A header that
// shows only a time is the bot's own run of messages (clients name others, not you).
function chatSender(spec, el) {
  const c = spec.chat;
  // "Name (You)": the client marks the bot's own messages.
  const named = (who) => {
    const name = words(who);
    const own = spec.roster.selfMarkers.some((m) => norm(name).endsWith(norm(m)));
    return { sender: own ? '' : name, own };
  };
  const inside = c.sender && el.querySelector(c.sender);
  if (inside) return named(inside);
  for (let cur = el; cur && cur.parentElement; cur = cur.parentElement) {
    for (let prev = cur.previousElementSibling; prev; prev = prev.previousElementSibling) {
      if (prev.matches(c.message) || prev.querySelector(c.message)) continue;
      const who = c.sender && (prev.matches(c.sender) ? prev : prev.querySelector(c.sender));
      if (who && words(who)) return named(who);
      const text = words(prev);
      if (/^\d{1,2}[:.]\d{2}(\s?[ap]\.?m\.?)?$/i.test(text)) return { sender: '', own: true };
    }
  }
  return { sender: '', own: false };
}

function readChat(spec, doc) {
  const c = spec.chat;
  const out = [];
  if (!c.message) return out;
  for (const el of all(doc, c.message)) {
    if (el.matches('button, [role="button"]')) continue;
    const body = c.text ? el.querySelector(c.text) : null;
    const text = words(body || el);
    if (!text) continue;
    const { sender, own } = chatSender(spec, el);
    out.push({ sender, text, own });
  }
  return out;
}

// The page's words less what people say in the captions: someone saying "this meeting has
// ended" is not the end screen.
function pageTextWithoutCaptions(spec, doc) {
  let text = pageText(doc);
  for (const sel of spec.captions.containers) {
    for (const box of all(doc, sel)) {
      // Only a region that holds caption lines (a generic candidate may match other regions).
      if (!spec.captions.lines.some((l) => all(box, l).length)) continue;
      const said = norm(box.innerText);
      if (said) text = text.split(said).join(' ');
    }
  }
  return text;
}

// Classifies the screen. Order matters: the browser's own error page, then screens that
// keep the bot out, then the lobby (it wins over call controls where the client shows some
// in the lobby), then the call, then the pre-join; anything else is unknown.
function probe(spec, doc) {
  const net = networkError(doc);
  if (net) return { state: 'network_error', subCode: net.code, message: net.message };
  const text = pageTextWithoutCaptions(spec, doc);
  for (const [code, texts] of spec.screens.refusals) {
    const hit = firstText(text, texts);
    if (hit) return { state: 'blocked', subCode: code, message: hit };
  }
  for (const [code, sels] of spec.screens.refusalSelectors) {
    if (anyVisible(doc, sels)) return { state: 'blocked', subCode: code, message: 'the page shows ' + sels.join(' / ') };
  }
  const pass = spec.prejoin.passcodeInputs.flatMap((s) => all(doc, s)).find(visible);
  if (pass) {
    const wrong = /(incorrect|invalid|wrong).{0,32}(passcode|password)|(passcode|password).{0,32}(incorrect|invalid|wrong)/i;
    const m = text.match(wrong);
    if (m || (pass.getAttribute('aria-invalid') === 'true' && pass.value)) {
      return { state: 'blocked', subCode: 'passcode_wrong', message: m ? m[0] : 'the passcode was refused' };
    }
  }
  const removed = firstText(text, spec.screens.removed);
  if (removed) return { state: 'removed', message: removed };
  const ended = firstText(text, spec.screens.ended);
  if (ended) return { state: 'ended', message: ended };
  const lobby = firstText(text, spec.lobbyTexts);
  const inCall = anyVisible(doc, spec.inCall) || spec.inCallHideable.some(([box, marker]) =>
    all(doc, box).some((b) => visible(b.parentElement) && b.querySelector(marker)));
  if (lobby && (spec.lobbyTextWins || !inCall)) return { state: 'lobby', message: lobby };
  if (inCall) {
    return { state: 'in_call', roster: readRoster(spec, doc), chat: readChat(spec, doc),
      rosterOpen: spec.roster.listContainers.some((c) => all(doc, c).some(visible)),
      captionsState: captionsState(spec, doc, text), captions: readCaptions(spec, doc), speaking: speakers(spec, doc) };
  }
  const known = anyVisible(doc, spec.prejoin.nameInputs)
    || !!pass
    || !!findButton(doc, spec.prejoin.joinButtons, [], true)
    || spec.dialogs.some((d) => d.texts.length ? !!firstText(text, d.texts) : !!findButton(doc, d.buttons, d.buttonSelectors, false))
    || !!firstText(text, spec.transitionalTexts);
  if (known) return { state: 'joining', passcodeShown: !!pass };
  return { state: 'unknown', message: (doc.body ? doc.body.innerText : '').replace(/\s+/g, ' ').trim().slice(0, 300) };
}

// Answers one known dialog the safe way; returns what it did, or null. A dialog on top
// (a modal: it swallows clicks on everything behind it) is answered first; `skip` lists
// kinds answered a moment ago that are still there (a click that did nothing is not
// repeated forever while something else waits).
const DIALOG_BOXES = '[role="dialog"], [role="alertdialog"], [aria-modal="true"], .zm-modal, .ReactModal__Content';
function sweep(spec, doc, skip) {
  const text = pageText(doc);
  const click = (d, b) => {
    const what = (b.innerText || b.getAttribute('aria-label') || '').trim().slice(0, 80);
    b.click();
    return { kind: d.kind, button: what };
  };
  const boxes = all(doc, DIALOG_BOXES).filter(visible).reverse();
  for (const box of boxes) {
    const boxText = norm(box.innerText);
    for (const d of spec.dialogs) {
      if (skip.includes(d.kind)) continue;
      if (d.texts.length && !firstText(boxText, d.texts)) continue;
      const b = findButton(box, d.buttons, d.buttonSelectors, false);
      if (b) return click(d, b);
    }
  }
  for (const d of spec.dialogs) {
    if (skip.includes(d.kind)) continue;
    if (d.texts.length && !firstText(text, d.texts)) continue;
    const b = findButton(doc, d.buttons, d.buttonSelectors, false);
    if (b) return click(d, b);
  }
  return null;
}

// One pre-join step: the name, the passcode, microphone and camera off, join. Returns what
// it did: 'needs_name' (the input is focused and selected: the caller types), 'joined'.
function prejoin(spec, doc, arg) {
  const done = [];
  for (const sel of spec.prejoin.nameInputs) {
    const input = all(doc, sel).find(visible);
    if (input && input.value !== arg.name) { input.focus(); input.select(); return ['needs_name']; }
    if (input) break;
  }
  if (arg.passcode) {
    const input = spec.prejoin.passcodeInputs.flatMap((s) => all(doc, s)).find(visible);
    if (input && !input.value) { input.focus(); input.select(); return ['needs_passcode']; }
  }
  for (const sel of spec.prejoin.muteButtons) {
    for (const b of all(doc, sel)) {
      if (visible(b) && !b.dataset.meeboterMuted) { b.dataset.meeboterMuted = '1'; b.click(); done.push('muted'); }
    }
  }
  if (arg.mayJoin) {
    const join = findButton(doc, spec.prejoin.joinButtons, spec.prejoin.joinSelectors, true);
    if (join) { join.click(); done.push('joined'); }
  }
  return done;
}

// Opens the people panel when no list is in the page.
function openRoster(spec, doc) {
  if (spec.roster.listContainers.some((c) => all(doc, c).some(visible))) return 'open';
  const b = spec.roster.panelButtons.flatMap((s) => all(doc, s)).find(visible);
  if (b) { b.click(); return 'opening'; }
  return 'none';
}

function chatInput(spec, doc) {
  for (const s of spec.chat.inputs) { const el = all(doc, s).find(visible); if (el) return el; }
  return null;
}

// Makes sure the chat panel is open; with `focus`, focuses the input and selects its content
// so typing replaces it.
function chatOpen(spec, doc, focus) {
  const input = chatInput(spec, doc);
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
  const open = spec.chat.openButtons.flatMap((s) => all(doc, s)).find(visible);
  if (open) { open.click(); return 'opening'; }
  return 'none';
}

// Whether the message left the input (sent); with `clickSend`, presses a send button.
function chatSent(spec, doc, clickSend) {
  const input = chatInput(spec, doc);
  if (!input) return 'gone';
  const value = (input.value !== undefined ? input.value : input.innerText) || '';
  if (!value.trim()) return 'sent';
  if (clickSend) {
    const b = spec.chat.sendButtons.flatMap((s) => all(doc, s)).find(visible);
    if (b) b.click();
  }
  return 'pending';
}

// Captions: 'on' (the client shows them), 'unavailable' (the meeting offers none), 'off'.
function captionsState(spec, doc, text) {
  const c = spec.captions;
  // Present, not necessarily on screen: a control bar that hid itself (Zoom's footer) still
  // holds the control in its current state.
  const present = (sels) => sels.some((s) => all(doc, s).length > 0);
  if (present(c.onMarkers)) return 'on';
  if (present(c.unavailableSelectors) || firstText(text === undefined ? pageText(doc) : text, c.unavailableTexts)) return 'unavailable';
  return 'off';
}

// One step toward captions on, as a person would: the control, else the next menu on the
// way to it, else the client's shortcut (the caller presses the key: it must be trusted).
// Returns 'on', 'unavailable', 'clicked', 'menu', 'shortcut' or 'none'.
function captionsOn(spec, doc) {
  const c = spec.captions;
  const state = captionsState(spec, doc);
  if (state !== 'off') return state;
  const b = findButton(doc, c.onTexts, c.onButtons, false);
  if (b) { b.click(); return 'clicked'; }
  const hidden = c.onButtons.flatMap((sel) => all(doc, sel)).find(enabled);
  if (hidden) { hidden.click(); return 'clicked'; }
  for (let i = c.menuPath.length - 1; i >= 0; i--) {
    const m = all(doc, c.menuPath[i]).find((e) => visible(e) && enabled(e));
    if (m) { m.click(); return 'menu'; }
  }
  if (c.shortcut) {
    // A focused input (the chat box) would take the key as text.
    const active = doc.activeElement;
    if (active && active !== doc.body && active.blur) active.blur();
    return 'shortcut';
  }
  return 'none';
}

// The caption lines on screen, oldest first: {key, speaker, text, self}. `key` is stable for
// as long as the client keeps the line's element (clients update a line in place while the
// speaker talks); it is written on the element the first time the bot sees it.
function readCaptions(spec, doc) {
  const c = spec.captions;
  let region = null, lines = [];
  for (const sel of c.containers) {
    for (const box of all(doc, sel)) {
      const found = Array.from(new Set(c.lines.flatMap((l) => all(box, l))));
      if (found.length) { region = box; lines = found; break; }
    }
    if (region) break;
  }
  if (!region) return [];
  lines = lines.filter((l) => !lines.some((o) => o !== l && o.contains(l)));
  const counter = doc.documentElement;
  const out = [];
  for (const line of lines) {
    let key = line.getAttribute('data-meeboter-caption');
    if (!key) {
      const next = parseInt(counter.getAttribute('data-meeboter-captions') || '0', 10) + 1;
      counter.setAttribute('data-meeboter-captions', String(next));
      key = String(next);
      line.setAttribute('data-meeboter-caption', key);
    }
    const speakerRaw = (() => {
      for (const source of c.speakers) {
        const [sel, attr] = source.split('@');
        const target = sel ? line.querySelector(sel) : line;
        if (!target) continue;
        const v = attr ? (target.getAttribute(attr) || '') : words(target);
        if (v.trim()) return { el: attr ? null : target, value: v };
      }
      return { el: null, value: '' };
    })();
    let text = '';
    const body = c.texts.map((t) => line.querySelector(t)).find(Boolean);
    if (body) text = words(body);
    else {
      const copy = line.cloneNode(true);
      for (const n of copy.querySelectorAll(NOISE)) n.remove();
      if (speakerRaw.el) for (const sel of c.speakers) { const n = copy.querySelector(sel.split('@')[0]); if (n) n.remove(); }
      text = (copy.textContent || '').replace(/\s+/g, ' ').trim();
    }
    if (!text) continue;
    const raw = speakerRaw.value.replace(/\s+/g, ' ').trim();
    const self = !!raw && (spec.roster.selfNames.some((n) => norm(n) === norm(raw))
      || spec.roster.selfMarkers.some((m) => norm(raw).endsWith(norm(m))));
    out.push({ key, speaker: cleanName(spec, raw), text, self });
  }
  return out;
}

// Who the page marks as speaking now: [{id, name}] (the bot itself left out).
function speakers(spec, doc) {
  const out = [];
  const seen = new Set();
  for (const ind of spec.speaking.indicators) {
    for (const tile of all(doc, ind.tile)) {
      if (!visible(tile)) continue;
      if (ind.speaking) {
        let on = false;
        try { on = tile.matches(ind.speaking) || !!tile.querySelector(ind.speaking); } catch (e) {}
        if (!on) continue;
      }
      const name = entryName(spec, tile, ind.names);
      if (!name || isSelf(spec, tile, name) || seen.has(name)) continue;
      seen.add(name);
      out.push({ id: (ind.idAttribute && tile.getAttribute(ind.idAttribute)) || '', name });
    }
  }
  return out;
}

function leaveCall(spec, doc) {
  const found = spec.leaveButtons.flatMap((s) => all(doc, s));
  // A control bar that hid itself (Zoom's footer) still holds the button.
  const b = found.find(visible) || found[0];
  if (b) { b.click(); return true; }
  return false;
}

// What the page is, for a failure report: where, what it says, and its markup.
function snapshot(spec, doc) {
  return {
    url: String(doc.location ? doc.location.href : ''),
    title: doc.title || '',
    text: (doc.body ? doc.body.innerText : '').slice(0, 4000),
    html: (doc.documentElement ? doc.documentElement.outerHTML : '').slice(0, 100000),
  };
}

// The document the client lives in: the page, or a same-origin iframe that embeds it.
function root(spec) {
  for (const sel of spec.frames) {
    const frame = document.querySelector(sel);
    try { if (frame && frame.contentDocument && frame.contentDocument.body) return frame.contentDocument; } catch (e) {}
  }
  return document;
}

// Shared by the replica pages: the guest's link to the replica server, chat, and the call's
// media — a steady tone and moving content, so a recording of the call can be checked.
const code = "__CODE__";
const api = "__BASE__/_replica/" + code;
let guest = null;
let media = null;
const show = (id) => { for (const m of document.querySelectorAll('main')) m.hidden = m.id !== id; };
const post = (url, body) => fetch(url, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify(body || {})});
async function enter(name) {
  const r = await post(api + '/guests', {name});
  guest = (await r.json()).id;
  poll();
}
async function leaveCall() { if (guest) await post(api + '/guests/' + guest + '/leave'); }
async function sendChat(text) { if (guest && text.trim()) await post(api + '/guests/' + guest + '/chat', {text: text.trim()}); }
function startMedia(toneHz) {
  if (media) return;
  const ctx = new AudioContext();
  const osc = ctx.createOscillator();
  osc.frequency.value = toneHz;
  const gain = ctx.createGain();
  gain.gain.value = 0.3;
  osc.connect(gain).connect(ctx.destination);
  osc.start();
  ctx.resume();
  const stage = document.getElementById('stage');
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
  media = {ctx, osc, timer: setInterval(draw, 1000 / 15)};
}
function stopMedia() {
  if (!media) return;
  clearInterval(media.timer);
  try { media.osc.stop(); media.ctx.close(); } catch (e) {}
  media = null;
}
async function poll() {
  try {
    const s = await (await fetch(api + '/guests/' + guest)).json();
    if (s.screen === 'call') startMedia(s.toneHz); else stopMedia();
    // The client navigated elsewhere (some clients leave the meeting page when it is over).
    if (s.screen === 'away') { window.top.location.href = 'about:blank'; return; }
    render(s);
  } catch (e) {}
  setTimeout(poll, 250);
}
// Screens shown before joining (not found, sign-in wall, captcha, ended).
fetch(api).then(r => r.json()).then(s => {
  if (s.block) show(s.block);
  else if (s.ended) show('ended');
  else if (typeof ready === 'function') ready(s);
});

//! Every dashboard page in headless Chromium at 360, 768 and 1440 px, in light and in dark:
//! no horizontal overflow, no serious or critical axe-core violations, no console errors,
//! and a screenshot close to the committed reference image of that theme; at 360 and 1440 px,
//! Tab (real key events) reaches every visible control — on a phone through the Menu button,
//! opened with Enter — in document order (and down the page on a phone), each with a focus
//! indicator that differs from its unfocused look and a target of at least 24×24 px (WCAG
//! 2.5.8; links inside text exempt).
//!
//! The data is real: a scheduled bot, a bot refused at the door (FATAL/join_denied), a bot
//! in the call with someone and a chat message, a webhook endpoint whose deliveries fail,
//! and a second key. Values that change from run to run (times, ids, secrets, live logs,
//! charts) are hidden before the screenshot, so what is compared is the layout.
//!
//! One server and one browser; the signed-in pages are checked in two tabs side by side
//! (with focus emulation, so each tab takes the keyboard as if it were in front).
//!
//! axe-core is npm's package at the version pinned in `tests/axe/package.json`, installed by
//! `scripts/test` (`npm ci --prefix crates/meeboter/tests/axe`); nothing comes from a CDN.
//!
//! Reference images live in `tests/dashboard-reference/`, one per page per width per theme
//! (`<page>-<width>.png` light, `<page>-<width>-dark.png` dark), stored at half resolution
//! (the whole set is under 2 MB). To update them deliberately, run this test
//! with `MEEBOTER_UPDATE_SCREENSHOTS=1` and look at the new images before committing them.
//! On a mismatch the actual image and a diff are written under
//! `$CARGO_TARGET_TMPDIR/dashboard-pages/`.

mod common;
mod in_page;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::emulation::{
    MediaFeature, SetDeviceMetricsOverrideParams, SetEmulatedMediaParams, SetFocusEmulationEnabledParams,
};
use chromiumoxide::cdp::browser_protocol::input::{DispatchKeyEventParams, DispatchKeyEventType};
use chromiumoxide::cdp::browser_protocol::log::{EnableParams as LogEnable, EventEntryAdded, LogEntryLevel};
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::cdp::js_protocol::runtime::{ConsoleApiCalledType, EventConsoleApiCalled, EventExceptionThrown};
use chromiumoxide::page::ScreenshotParams;
use common::{PLATFORMS, Server};
use futures::StreamExt;
use in_page::{goto, js, until};
use meeboter_bot::browser;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The version `tests/axe/package.json` pins; checked against the installed package.
const AXE_VERSION: &str = "4.14.1";

/// Viewport widths (phone, tablet, desktop) and the heights used with them.
const VIEWPORTS: [(i64, i64); 3] = [(360, 780), (768, 1024), (1440, 900)];

/// A pixel differs when one channel moved by more than this (of 255)...
const CHANNEL_TOLERANCE: u8 = 40;
/// ...and an image matches its reference while at most this share of pixels differ.
const PIXEL_TOLERANCE: f64 = 0.02;

fn axe_source() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/axe/node_modules/axe-core");
    let manifest = std::fs::read_to_string(dir.join("package.json")).unwrap_or_else(|_| {
        panic!("axe-core is not installed: run `npm ci --prefix crates/meeboter/tests/axe` (scripts/test does)")
    });
    let version = serde_json::from_str::<Value>(&manifest).unwrap()["version"].clone();
    assert_eq!(
        version,
        json!(AXE_VERSION),
        "installed axe-core is not the pinned version"
    );
    std::fs::read_to_string(dir.join("axe.min.js")).expect("axe.min.js")
}

fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dashboard-reference")
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-pages");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn emulate(page: &Page, width: i64, height: i64, dark: bool) {
    page.execute(SetDeviceMetricsOverrideParams::new(width, height, 1.0, false))
        .await
        .expect("viewport");
    let scheme = if dark { "dark" } else { "light" };
    page.execute(
        SetEmulatedMediaParams::builder()
            .features(vec![
                MediaFeature::new("prefers-color-scheme", scheme),
                MediaFeature::new("prefers-reduced-motion", "reduce"),
            ])
            .build(),
    )
    .await
    .expect("emulated media");
}

/// Console errors, uncaught exceptions and browser log errors (failed loads, CSP) of the page.
fn collect_errors(page: &Page, runtime: &tokio::runtime::Handle) -> Arc<Mutex<Vec<String>>> {
    let errors = Arc::new(Mutex::new(Vec::new()));
    let (p1, p2, p3) = (page.clone(), page.clone(), page.clone());
    let e1 = errors.clone();
    runtime.spawn(async move {
        let mut s = p1.event_listener::<EventConsoleApiCalled>().await.unwrap();
        while let Some(ev) = s.next().await {
            if matches!(ev.r#type, ConsoleApiCalledType::Error | ConsoleApiCalledType::Assert) {
                let text: Vec<String> = ev
                    .args
                    .iter()
                    .map(|a| {
                        a.value
                            .as_ref()
                            .map(|v| v.to_string())
                            .or(a.description.clone())
                            .unwrap_or_default()
                    })
                    .collect();
                e1.lock().unwrap().push(format!("console.error: {}", text.join(" ")));
            }
        }
    });
    let e2 = errors.clone();
    runtime.spawn(async move {
        let mut s = p2.event_listener::<EventExceptionThrown>().await.unwrap();
        while let Some(ev) = s.next().await {
            let d = &ev.exception_details;
            let what = d
                .exception
                .as_ref()
                .and_then(|x| x.description.clone())
                .unwrap_or_else(|| d.text.clone());
            e2.lock().unwrap().push(format!("uncaught: {what}"));
        }
    });
    let e3 = errors.clone();
    runtime.spawn(async move {
        let mut s = p3.event_listener::<EventEntryAdded>().await.unwrap();
        while let Some(ev) = s.next().await {
            if ev.entry.level == LogEntryLevel::Error {
                e3.lock().unwrap().push(format!(
                    "log: {} {}",
                    ev.entry.text,
                    ev.entry.url.clone().unwrap_or_default()
                ));
            }
        }
    });
    errors
}

/// One page to check: where it is and what shows that its data has loaded.
struct Target {
    name: &'static str,
    path: String,
    ready: &'static str,
}

/// An RGB image at half resolution (2×2 box filter): what is stored and compared.
struct Image {
    width: usize,
    height: usize,
    rgb: Vec<u8>,
}

impl Image {
    fn from_png(bytes: &[u8]) -> Image {
        let decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        let mut reader = decoder.read_info().expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("a PNG frame");
        let channels = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected PNG colour type {other:?}"),
        };
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let (w, h) = (info.width as usize, info.height as usize);
        let line = info.line_size;
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                let at = y * line + x * channels;
                rgb.extend_from_slice(&buf[at..at + 3]);
            }
        }
        Image {
            width: w,
            height: h,
            rgb,
        }
    }

    fn halved(&self) -> Image {
        let (w, h) = (self.width / 2, self.height / 2);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    let px = |dx: usize, dy: usize| self.rgb[((2 * y + dy) * self.width + 2 * x + dx) * 3 + c] as u32;
                    rgb.push(((px(0, 0) + px(1, 0) + px(0, 1) + px(1, 1) + 2) / 4) as u8);
                }
            }
        }
        Image {
            width: w,
            height: h,
            rgb,
        }
    }

    fn to_png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width as u32, self.height as u32);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Best);
        let mut writer = encoder.write_header().unwrap();
        writer.write_image_data(&self.rgb).unwrap();
        writer.finish().unwrap();
        out
    }

    /// The share of pixels that differ, and an image marking them (red on grey).
    fn diff(&self, other: &Image) -> Option<(f64, Image)> {
        if (self.width, self.height) != (other.width, other.height) {
            return None;
        }
        let mut marked = Vec::with_capacity(self.rgb.len());
        let mut differing = 0usize;
        for (a, b) in self.rgb.chunks(3).zip(other.rgb.chunks(3)) {
            let differs = a.iter().zip(b).any(|(x, y)| x.abs_diff(*y) > CHANNEL_TOLERANCE);
            if differs {
                differing += 1;
                marked.extend_from_slice(&[255, 0, 0]);
            } else {
                let grey = ((a[0] as u32 + a[1] as u32 + a[2] as u32) / 3 / 2 + 100) as u8;
                marked.extend_from_slice(&[grey, grey, grey]);
            }
        }
        let share = differing as f64 / (self.width * self.height) as f64;
        Some((
            share,
            Image {
                width: self.width,
                height: self.height,
                rgb: marked,
            },
        ))
    }
}

/// Hides what changes from run to run, so the screenshot shows the layout — also in what a
/// live page redraws afterwards (before it is painted: observers run first).
const MASK_VOLATILE: &str = r#"(() => {
  const volatile = 'time, [data-volatile], video, audio, .shots img, svg.chart, #events, code';
  const hide = (root) => {
    if (root.matches && root.matches(volatile)) root.style.visibility = 'hidden';
    if (root.querySelectorAll) for (const el of root.querySelectorAll(volatile)) el.style.visibility = 'hidden';
  };
  hide(document.body);
  new MutationObserver((changes) => changes.forEach((c) => c.addedNodes.forEach(hide)))
    .observe(document.body, { childList: true, subtree: true });
  document.activeElement && document.activeElement.blur && document.activeElement.blur();
  window.scrollTo(0, 0);
  return true;
})()"#;

/// Runs axe-core on the page; returns the serious and critical violations, described.
async fn axe(page: &Page, source: &str) -> Vec<String> {
    let loaded = js(page, "typeof window.axe === 'object'").await;
    if loaded != json!(true) {
        page.evaluate(source.to_string()).await.expect("axe-core loads");
    }
    let result = js(
        page,
        r#"(async () => {
          const r = await axe.run(document, { resultTypes: ['violations'] });
          return r.violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => v.impact + ' ' + v.id + ': ' + v.help + ' — ' +
              v.nodes.slice(0, 3).map(n => n.target.join(' ') + (n.failureSummary ? ' (' + n.failureSummary.replace(/\s+/g, ' ').slice(0, 200) + ')' : '')).join('; '));
        })()"#,
    )
    .await;
    serde_json::from_value(result).unwrap_or_default()
}

/// Every visible control of the page, as a CSS-path-like label (what Tab must reach).
const FOCUSABLE: &str = r#"(() => {
  const label = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? '[name=' + e.name + ']' : '') +
    (e.getAttribute('aria-label') ? '[' + e.getAttribute('aria-label') + ']' : '') + ':' + (e.textContent || '').trim().slice(0, 20);
  window.__label = label;
  const all = [...document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex="0"]')];
  // Controls folded inside a closed <details> are out of reach until it is opened.
  const folded = (e) => { const d = e.closest('details:not([open])'); return d && !(e.tagName === 'SUMMARY' && e.parentElement === d); };
  return all.filter((e) => !e.disabled && e.type !== 'hidden' && e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden' && !folded(e)
      && !(e.type === 'radio' && !e.checked && document.querySelector('input[type=radio][name="' + e.name + '"]:checked')))
    .map(label);
})()"#;

/// Moves the sequential focus starting point to the top of the page: a blurred element
/// (an autofocused field) would otherwise stay the point the next Tab starts from.
const FROM_THE_TOP: &str = "(() => { const t = document.createElement('span'); t.tabIndex = -1; document.body.prepend(t); \
    t.focus(); t.remove(); window.scrollTo(0, 0); })()";

/// One Tab stop, seen from the page: what is focused now, and what is wrong with it or
/// with the stop before it (its focus indicator, compared with the same element unfocused
/// once focus has left it; its size; its place after the previous stop).
const FOCUS_STEP: &str = r#"((narrow) => {
  const sig = (e) => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow].join(' | '); };
  const problems = [];
  const e = document.activeElement;
  const left = window.__focused;
  if (left && left !== e) {
    if (sig(left) === window.__focusedSig) problems.push('no visible focus on ' + window.__label(left) + ': the same outline and shadow as unfocused (' + window.__focusedSig + ')');
    window.__focused = null;
  }
  if (!e || e === document.body) return { problems };
  // Back at a stop already seen: the walk has come round, and ends there.
  const again = !!e.__walk;
  e.__walk = e.__walk || (window.__walked = (window.__walked || 0) + 1);
  const name = window.__label(e);
  if (!again && e !== left && e !== window.__last) {
    const s = getComputedStyle(e);
    if (!((s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2) || s.boxShadow !== 'none'))
      problems.push('no visible focus on ' + name + ' (outline ' + s.outlineStyle + ' ' + s.outlineWidth + ', shadow ' + s.boxShadow + ')');
    window.__focused = e;
    window.__focusedSig = sig(e);
    // The target: the control, or the label that operates it (checkboxes, radios).
    const r = e.getBoundingClientRect();
    let w = r.width, h = r.height;
    const label = (e.type === 'checkbox' || e.type === 'radio') && (e.closest('label') || (e.id && document.querySelector('label[for="' + e.id + '"]')));
    if (label) { const l = label.getBoundingClientRect(); w = Math.max(w, l.width); h = Math.max(h, l.height); }
    // WCAG 2.5.8: a link inside a sentence is exempt.
    let block = e.parentElement;
    while (block && getComputedStyle(block).display === 'inline') block = block.parentElement;
    const inText = e.tagName === 'A' && s.display === 'inline' && block && block.textContent.trim().length > e.textContent.trim().length;
    if (!inText && (w < 23.5 || h < 23.5)) problems.push(name + ' is ' + w.toFixed(1) + '×' + h.toFixed(1) + ' px (touch targets need 24×24)');
    // Order: the document's (no positive tabindex reorders it) and, on one column, down the page.
    const prev = window.__last;
    if (prev && prev.isConnected) {
      if (!(prev.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING) && !prev.contains(e))
        problems.push('Tab goes back in the document from ' + window.__label(prev) + ' to ' + name);
      const p = prev.getBoundingClientRect();
      if (narrow && r.top + r.height / 2 < p.top - 1)
        problems.push('Tab goes up the page from ' + window.__label(prev) + ' to ' + name);
    }
    if (e.tabIndex > 0) problems.push(name + ' has a positive tabindex');
    window.__last = e;
  }
  const toggle = e.matches('.menu-toggle') && e.getAttribute('aria-expanded') === 'false';
  return { name, id: e.__walk, problems, toggle };
})"#;

async fn press(page: &Page, key: &str, code: &str, vk: i64, text: Option<&str>) {
    let down = if text.is_some() {
        DispatchKeyEventType::KeyDown
    } else {
        DispatchKeyEventType::RawKeyDown
    };
    for kind in [down, DispatchKeyEventType::KeyUp] {
        let mut event = DispatchKeyEventParams::builder()
            .r#type(kind.clone())
            .key(key)
            .code(code)
            .windows_virtual_key_code(vk)
            .native_virtual_key_code(vk);
        if let (Some(t), DispatchKeyEventType::KeyDown) = (text, kind) {
            event = event.text(t);
        }
        page.execute(event.build().unwrap()).await.expect("key event");
    }
}

/// Presses Tab (real key events) through the page from the top, once round: every visible
/// control is reached, in document order and (at phone width, one column) down the page;
/// each shows a focus indicator that differs from its unfocused look and is 24×24 px or
/// larger (links inside text exempt). On a phone the Menu button is opened with Enter when
/// reached, so the walk goes on through the navigation. Returns what is wrong.
async fn keyboard_walk(page: &Page, label: &str, narrow: bool) -> Vec<String> {
    js(
        page,
        &format!("{FOCUSABLE}; {FROM_THE_TOP}; window.__last = window.__focused = null; true"),
    )
    .await;
    let step = format!("{FOCUS_STEP}({narrow})");
    let mut seen: Vec<String> = Vec::new();
    let mut seen_ids: Vec<i64> = Vec::new();
    let mut failures = Vec::new();
    let mut opened_menu = false;
    // Room for date inputs, which take a Tab per part (day, month, year).
    for _ in 0..400 {
        press(page, "Tab", "Tab", 9, None).await;
        let now = js(page, &step).await;
        for p in now["problems"].as_array().into_iter().flatten() {
            failures.push(format!("{label}: {}", p.as_str().unwrap_or_default()));
        }
        let Some(id) = now["id"].as_i64() else { continue };
        if seen_ids.last() == Some(&id) {
            continue; // the next part of the same control
        }
        if seen_ids.contains(&id) {
            break; // round the page once
        }
        seen_ids.push(id);
        seen.push(now["name"].as_str().unwrap_or("").to_string());
        if now["toggle"] == json!(true) {
            press(page, "Enter", "Enter", 13, Some("\r")).await;
            let open = js(page, "document.querySelector('.menu-toggle').getAttribute('aria-expanded') === 'true' && getComputedStyle(document.querySelector('#main-nav')).display !== 'none'").await;
            if open != json!(true) {
                failures.push(format!(
                    "{label}: Enter on the Menu button does not open the navigation"
                ));
            }
            opened_menu = true;
        }
    }
    // What Tab had to reach: every visible control, now (with the menu open).
    let expected: Vec<String> = serde_json::from_value(js(page, FOCUSABLE).await).unwrap_or_default();
    let mut missing = seen.clone();
    for e in &expected {
        match missing.iter().position(|s| s == e) {
            Some(i) => {
                missing.remove(i);
            }
            None => failures.push(format!("{label}: Tab never reaches {e}")),
        }
    }
    // The same problem on several rows of a table is one problem.
    let mut unique = Vec::new();
    for f in failures.drain(..) {
        if !unique.contains(&f) {
            unique.push(f);
        }
    }
    failures = unique;
    if opened_menu {
        js(page, "document.querySelector('.menu-toggle').click(); true").await;
    }
    failures
}

/// Checks the page open in `page` at every viewport and theme; returns the failures.
async fn check(
    page: &Page,
    target: &Target,
    public: &str,
    axe_js: &str,
    errors: &Arc<Mutex<Vec<String>>>,
) -> Vec<String> {
    let mut failures = Vec::new();
    let update = std::env::var_os("MEEBOTER_UPDATE_SCREENSHOTS").is_some();
    for dark in [false, true] {
        for (width, height) in VIEWPORTS {
            let label = format!(
                "{} at {width} px ({})",
                target.name,
                if dark { "dark" } else { "light" }
            );
            emulate(page, width, height, dark).await;
            errors.lock().unwrap().clear();
            goto(page, &format!("{public}{}", target.path)).await;
            until(page, target.ready, Duration::from_secs(20), &label).await;
            // Let late data (second requests, fonts) settle.
            tokio::time::sleep(Duration::from_millis(400)).await;

            let overflow = js(
                page,
                "[document.documentElement.scrollWidth, window.innerWidth, [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 && getComputedStyle(e).position !== 'fixed').slice(0, 4).map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.className && typeof e.className === 'string' ? '.' + e.className.split(' ').join('.') : ''))]",
            )
            .await;
            if overflow[0].as_i64() > overflow[1].as_i64() {
                failures.push(format!("{label}: horizontal overflow {overflow}"));
            }
            for v in axe(page, axe_js).await {
                failures.push(format!("{label}: {v}"));
            }
            let errs = std::mem::take(&mut *errors.lock().unwrap());
            // The not-found page is meant to answer 404; the browser logs that as a failed load.
            let own_404 = format!("404 (Not Found) {public}{}", target.path);
            for e in errs
                .into_iter()
                .filter(|e| !(target.name == "not-found" && e.ends_with(&own_404)))
            {
                failures.push(format!("{label}: {e}"));
            }

            if !dark && (width == 360 || width == 1440) {
                failures.extend(keyboard_walk(page, &label, width == 360).await);
            }
            {
                js(page, MASK_VOLATILE).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                let png = page
                    .screenshot(ScreenshotParams::builder().format(CaptureScreenshotFormat::Png).build())
                    .await
                    .expect("screenshot");
                let actual = Image::from_png(&png).halved();
                let theme = if dark { "-dark" } else { "" };
                let file = format!("{}-{width}{theme}.png", target.name);
                let reference = reference_dir().join(&file);
                if update {
                    std::fs::create_dir_all(reference_dir()).unwrap();
                    std::fs::write(&reference, actual.to_png()).unwrap();
                    continue;
                }
                let Ok(stored) = std::fs::read(&reference) else {
                    std::fs::write(artifacts().join(&file), actual.to_png()).unwrap();
                    failures.push(format!(
                        "{label}: no reference image {} (run with MEEBOTER_UPDATE_SCREENSHOTS=1 to create it)",
                        reference.display()
                    ));
                    continue;
                };
                let expected = Image::from_png(&stored);
                match actual.diff(&expected) {
                    Some((share, _)) if share <= PIXEL_TOLERANCE => {}
                    outcome => {
                        std::fs::write(artifacts().join(&file), actual.to_png()).unwrap();
                        let what = match outcome {
                            Some((share, marked)) => {
                                std::fs::write(artifacts().join(format!("diff-{file}")), marked.to_png()).unwrap();
                                format!("{:.1}% of pixels differ", share * 100.0)
                            }
                            None => "a different size".to_string(),
                        };
                        failures.push(format!(
                            "{label}: screenshot differs from {} ({what}); see {}",
                            reference.display(),
                            artifacts().display()
                        ));
                    }
                }
            }
        }
    }
    failures
}

/// The webhooks page's delivery log, with more deliveries than one page holds: ten rows a
/// page, fetched from the server a page at a time (`limit` and `cursor`), Older and Newer.
async fn delivery_log_pages_on_the_server(page: &Page, s: &Server) {
    let endpoint = s.get("/api/webhooks").await["endpoints"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let all = |list: Value| -> Vec<String> {
        list["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect()
    };
    // Enough for a second page, whatever the bots above already caused.
    while all(s.get(&format!("/api/webhooks/{endpoint}/deliveries?limit=100")).await).len() < 14 {
        s.post(&format!("/api/webhooks/{endpoint}/test"), json!({})).await;
    }
    let ids = all(s.get(&format!("/api/webhooks/{endpoint}/deliveries?limit=100")).await);
    emulate(page, 1440, 900, false).await;
    js(page, "window.__fetched = []; true").await;
    goto(page, &format!("{}/webhooks", s.public)).await;
    let rows = "(() => { const t = document.querySelector('#endpoints section .table-wrap tbody'); const p = document.querySelector('#endpoints .pager'); \
                return t && p ? [t.querySelectorAll('tr').length, p.textContent, [...p.querySelectorAll('button')].map(b => b.disabled)] : null; })()";
    let first = until(page, rows, Duration::from_secs(20), "the delivery log's first page").await;
    assert_eq!(first, json!([10, "NewerPage 1Older", [true, false]]), "first page");
    let requested = "performance.getEntriesByType('resource').map(e => e.name).filter(n => n.includes('/deliveries')).map(n => new URL(n).search)";
    let asked: Vec<String> = serde_json::from_value(js(page, requested).await).unwrap();
    assert_eq!(asked, vec!["?limit=10".to_string()], "one page asked of the server");

    js(
        page,
        "[...document.querySelectorAll('#endpoints .pager button')].find(b => b.textContent === 'Older').click(); true",
    )
    .await;
    let second = until(
        page,
        &format!("(() => {{ const r = {rows}; return r && r[1].includes('Page 2') ? r : null; }})()"),
        Duration::from_secs(10),
        "the delivery log's second page",
    )
    .await;
    let rest = (ids.len() - 10).min(10) as i64;
    assert_eq!(
        second,
        json!([rest, "NewerPage 2Older", [false, ids.len() <= 20]]),
        "second page"
    );
    let asked: Vec<String> = serde_json::from_value(js(page, requested).await).unwrap();
    assert_eq!(
        asked.last().unwrap(),
        &format!("?limit=10&cursor={}", ids[9]),
        "the cursor of the first page's end"
    );

    js(
        page,
        "[...document.querySelectorAll('#endpoints .pager button')].find(b => b.textContent === 'Newer').click(); true",
    )
    .await;
    until(
        page,
        &format!("(() => {{ const r = {rows}; return r && r[1].includes('Page 1') && r[0] === 10; }})()"),
        Duration::from_secs(10),
        "back to the first page",
    )
    .await;

    // Live: a test event to the endpoint that never answers shows up, then its retries as
    // they happen, with the next retry time — without reloading the page; an attempt list
    // left open stays open.
    let known: Vec<String> = all(s.get(&format!("/api/webhooks/{endpoint}/deliveries?limit=100")).await);
    js(
        page,
        "window.__samePage = true; document.activeElement && document.activeElement.blur(); true",
    )
    .await;
    js(
        page,
        "[...document.querySelectorAll('#endpoints button')].find(b => b.textContent === 'Send test event').click(); true",
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let sent = loop {
        let now = s.get(&format!("/api/webhooks/{endpoint}/deliveries?limit=100")).await;
        let new =
            now["deliveries"].as_array().unwrap().iter().find(|d| {
                d["eventType"] == "webhook.test" && !known.iter().any(|k| d["id"].as_str() == Some(k.as_str()))
            });
        if let Some(d) = new {
            break d["id"].as_str().unwrap().to_string();
        }
        assert!(Instant::now() < deadline, "the test event was not queued");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let row = format!(
        "(() => {{ const d = document.querySelector('#endpoints details[data-delivery=\"{sent}\"]'); const r = d && d.closest('tr'); \
           return r ? [parseInt(d.querySelector('summary').textContent), !!r.querySelector('td[data-label=\"Next retry\"] time'), d.open] : null; }})()"
    );
    let first = until(
        page,
        &row,
        Duration::from_secs(20),
        "the test event's first attempt in the log",
    )
    .await;
    let tried = first[0].as_i64().unwrap();
    js(
        page,
        &format!("document.querySelector('#endpoints details[data-delivery=\"{sent}\"]').open = true; true"),
    )
    .await;
    let later = until(
        page,
        &format!("(() => {{ const r = {row}; return r && r[0] > {tried} ? r : null; }})()"),
        Duration::from_secs(30),
        "the retry shown without a reload",
    )
    .await;
    assert_eq!(
        (&later[1], &later[2]),
        (&json!(true), &json!(true)),
        "the next retry time shown, the attempts still open: {later}"
    );
    assert_eq!(js(page, "window.__samePage === true").await, json!(true), "no reload");
}

/// Checks `targets` one after the other in `page`.
async fn check_all<'a>(
    page: &Page,
    targets: impl Iterator<Item = &'a Target>,
    public: &str,
    axe_js: &str,
    errors: &Arc<Mutex<Vec<String>>>,
) -> Vec<String> {
    let mut failures = Vec::new();
    for target in targets {
        failures.extend(check(page, target, public, axe_js, errors).await);
    }
    failures
}

async fn sign_in(page: &Page, s: &Server) {
    goto(page, &format!("{}/login", s.public)).await;
    js(
        page,
        &format!(
            "document.querySelector('#api_key').value = {}; document.querySelector('form').requestSubmit(); true",
            json!(s.key)
        ),
    )
    .await;
    until(page, "location.pathname === '/'", Duration::from_secs(10), "signed in").await;
}

#[test]
fn every_page_at_every_width_in_light_and_dark() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handle = runtime.handle().clone();
    runtime.block_on(async {
        let axe_js = axe_source();
        let s = Server::start_with(&[("WEBHOOK_ALLOW_PRIVATE", "true")]).await;
        let chromium = browser::find_chromium(None).expect("Chromium (scripts/test installs it)");
        let running = browser::launch(&chromium, false, &[]).await.expect("Chromium starts");
        let page = running.browser.new_page("about:blank").await.unwrap();
        page.execute(LogEnable::default()).await.expect("Log.enable");
        let errors = collect_errors(&page, &handle);
        let tab = running.browser.new_page("about:blank").await.unwrap();
        tab.execute(LogEnable::default()).await.expect("Log.enable");
        let tab_errors = collect_errors(&tab, &handle);
        // Both tabs take keyboard focus as if each were the one in front.
        for p in [&page, &tab] {
            p.execute(SetFocusEmulationEnabledParams::new(true)).await.expect("focus emulation");
        }
        let mut failures = Vec::new();

        // Signed out: the sign-in page.
        let login = Target { name: "sign-in", path: "/login".into(), ready: "!!document.querySelector('#api_key')" };
        failures.extend(check(&page, &login, &s.public, &axe_js, &errors).await);

        sign_in(&page, &s).await;

        // No bots yet: the empty state.
        let empty = Target {
            name: "bots-empty",
            path: "/".into(),
            ready: "!!document.querySelector('#bots-empty:not([hidden])')",
        };
        failures.extend(check(&page, &empty, &s.public, &axe_js, &errors).await);

        // The data the other pages show.
        let tomorrow = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
        s.post("/api/keys", json!({"name": "CI pipeline", "role": "member"})).await;
        let old = s.post("/api/keys", json!({"name": "Old laptop", "role": "member"})).await;
        let revoked = s
            .http
            .delete(format!("{}/api/keys/{}", s.public, old["id"].as_str().unwrap()))
            .bearer_auth(&s.key)
            .send()
            .await
            .unwrap();
        assert_eq!(revoked.status(), 204);
        s.post(
            "/api/webhooks",
            json!({"url": "http://127.0.0.1:9/meeboter-hook", "events": ["bot.status_changed"]}),
        )
        .await;
        let p = &PLATFORMS[0];
        s.create(p, "later-call", json!({"botName": "Weekly planning", "joinAt": tomorrow})).await;
        s.configure(p, "denied", json!({"lobby": true})).await;
        let fatal = s.create(p, "denied", json!({"botName": "Board meeting"})).await;
        s.reach(&fatal, "IN_WAITING_ROOM").await;
        s.host(p, "denied", "deny", json!({})).await;
        s.ended(&fatal).await;
        let live = s.create(p, "standup", json!({"botName": "Standup notes"})).await;
        s.reach(&live, "IN_CALL").await;
        s.host(p, "standup", "participants", json!({"name": "Ada Lovelace"})).await;
        s.host(p, "standup", "chat", json!({"sender": "Ada Lovelace", "text": "Welcome, bot"})).await;

        let targets = [
            Target { name: "bots", path: "/".into(), ready: "document.querySelectorAll('#bots-body tr[data-bot-id]').length === 3" },
            Target { name: "new-bot", path: "/bots/new".into(), ready: "!!document.querySelector('#new-bot')" },
            Target {
                name: "bot-in-call",
                path: format!("/bots/{live}"),
                ready: "document.querySelector('#bot-status')?.dataset.status === 'IN_CALL' && document.querySelector('#chat').textContent.includes('Welcome, bot') && document.querySelector('#participants').textContent.includes('Ada')",
            },
            Target {
                name: "bot-fatal",
                path: format!("/bots/{fatal}"),
                ready: "document.querySelector('#bot-status')?.dataset.status === 'FATAL' && !!document.querySelector('#screenshots img')",
            },
            Target { name: "infrastructure", path: "/infrastructure".into(), ready: "!!document.querySelector('#infra table')" },
            Target { name: "keys", path: "/keys".into(), ready: "document.querySelectorAll('#keys-body tr').length >= 3 && document.querySelector('#key-account option[value]:not([value=\\'\\'])')" },
            Target {
                name: "webhooks",
                path: "/webhooks".into(),
                ready: "!!document.querySelector('#endpoints section') && !document.querySelector('#endpoints .loading')",
            },
            Target { name: "not-found", path: "/bots/no-such-bot".into(), ready: "!!document.querySelector('h1')" },
        ];
        // Two tabs of the one browser check half the pages each, side by side (each tab has its
        // own viewport, media emulation, focus and error log).
        let (first_half, second_half): (Vec<_>, Vec<_>) = targets.iter().enumerate().partition(|(i, _)| i % 2 == 0);
        let (one, two) = futures::join!(
            check_all(&page, first_half.into_iter().map(|(_, t)| t), &s.public, &axe_js, &errors),
            check_all(&tab, second_half.into_iter().map(|(_, t)| t), &s.public, &axe_js, &tab_errors),
        );
        failures.extend(one);
        failures.extend(two);
        delivery_log_pages_on_the_server(&page, &s).await;
        // The bot in the call leaves, so its process does not outlive the server.
        s.post(&format!("/api/bots/{live}/leave"), json!({})).await;
        s.ended(&live).await;
        running.close().await;
        assert!(failures.is_empty(), "{} problem(s):\n{}", failures.len(), failures.join("\n"));
    });
}

/// "Try the test meeting" from the empty bots page; then the transcript panel on a bot's
/// page: lines arrive live while the bot is in the call
/// (no reload), search narrows and marks them, and once the recording is there a line
/// plays it from that line's time.
#[test]
fn try_the_test_meeting_then_the_transcript_panel_live_searchable_and_seeking() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let handle = runtime.handle().clone();
    runtime.block_on(async {
        let s = Server::start().await;
        let chromium = browser::find_chromium(None).expect("Chromium (scripts/test installs it)");
        let running = browser::launch(&chromium, false, &[]).await.expect("Chromium starts");
        let page = running.browser.new_page("about:blank").await.unwrap();
        page.execute(LogEnable::default()).await.expect("Log.enable");
        let errors = collect_errors(&page, &handle);
        emulate(&page, 1280, 900, false).await;
        sign_in(&page, &s).await;

        // The empty state's "Try the test meeting" sends a bot there and opens its page.
        until(&page, "!!document.querySelector('#bots-empty:not([hidden]) #try-test')", Duration::from_secs(10), "the empty state").await;
        js(&page, "document.querySelector('#try-test').click(); true").await;
        let tried = until(
            &page,
            "location.pathname.startsWith('/bots/') && location.pathname.slice(6)",
            Duration::from_secs(10),
            "the tried bot's page",
        )
        .await;
        let tried = tried.as_str().unwrap().to_string();
        let bot = s.get(&format!("/api/bots/{tried}")).await;
        let url = bot["meetingUrl"].as_str().unwrap();
        assert!(url.starts_with(&format!("{}/_test/meeting/meet/try-", s.public)), "{bot}");
        s.post(&format!("/api/bots/{tried}/leave"), json!({})).await;
        s.ended(&tried).await;

        let p = &PLATFORMS[0];
        let code = "transcript-panel";
        let id = s
            .create(
                p,
                code,
                json!({"botName": "Notes", "recordingMode": "audio", "transcription": {"provider": "meeting_captions"}}),
            )
            .await;
        s.reach(&id, "IN_CALL").await;
        goto(&page, &format!("{}/bots/{id}", s.public)).await;
        until(&page, "document.querySelector('#bot-status')?.dataset.status === 'IN_CALL'", Duration::from_secs(15), "the bot page").await;
        js(&page, "window.__samePage = true").await;
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let said = "Meeboter writes down what people say";
        s.host(p, code, "captions", json!({"speaker": "Ada Lovelace", "text": said, "wordsPerSec": 4})).await;
        until(
            &page,
            &format!("[...document.querySelectorAll('#transcript li:not(.partial)')].some(li => li.textContent.includes({}))", json!(said)),
            Duration::from_secs(45),
            "the final line shown live",
        )
        .await;
        assert_eq!(js(&page, "window.__samePage === true").await, json!(true), "no reload");
        let line = js(&page, "document.querySelector('#transcript li:not(.partial)').textContent").await;
        assert!(line.as_str().unwrap().contains("Ada Lovelace"), "{line}");

        // Search: a match is marked and counted; no match says so.
        let search = |q: &str| {
            format!(
                "(() => {{ const i = document.querySelector('#transcript-search'); i.value = {}; i.dispatchEvent(new Event('input')); return [document.querySelectorAll('#transcript li').length, document.querySelector('#transcript-state').textContent, document.querySelectorAll('#transcript mark').length]; }})()",
                json!(q)
            )
        };
        let found = js(&page, &search("WRITES")).await;
        assert_eq!((found[0].as_i64(), found[2].as_i64()), (Some(1), Some(1)), "{found}");
        assert!(found[1].as_str().unwrap().starts_with("1 of "), "{found}");
        let none = js(&page, &search("zebra")).await;
        assert_eq!(none[0], 0, "{none}");
        assert!(none[1].as_str().unwrap().starts_with("0 of "), "{none}");
        js(&page, &search("")).await;

        // After the call: the recording plays from the line's time when the line is chosen.
        s.post(&format!("/api/bots/{id}/leave"), json!({})).await;
        s.recording_ready(&id, Duration::from_secs(120)).await;
        until(&page, "!!document.querySelector('#player')", Duration::from_secs(60), "the player").await;
        let start = s.get(&format!("/api/bots/{id}/transcript")).await["utterances"][0]["startMs"]
            .as_f64()
            .unwrap();
        let at = until(
            &page,
            r#"(async () => { const v = document.querySelector('#player');
                 if (v.readyState < 1) await new Promise((ok) => { v.onloadedmetadata = ok; setTimeout(ok, 3000); });
                 if (v.readyState < 1) return null;
                 v.muted = true;
                 document.querySelector('#transcript li:not(.partial) button').click();
                 await new Promise((ok) => setTimeout(ok, 300));
                 v.pause();
                 return { t: v.currentTime, d: v.duration }; })()"#,
            Duration::from_secs(30),
            "the player seeking",
        )
        .await;
        let t = at["t"].as_f64().unwrap();
        let expected = (start / 1000.0).min(at["d"].as_f64().unwrap());
        assert!((t - expected).abs() < 1.5, "seeked to {t} s, the line starts at {expected} s ({at})");
        let errs = errors.lock().unwrap().clone();
        assert!(errs.is_empty(), "console errors: {errs:?}");
        running.close().await;
    });
}

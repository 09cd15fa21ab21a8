//! Live captions and speaking indicators, turned into events.
//!
//! The page shows caption lines (a speaker's turn, updated in place while they talk) and
//! marks who is speaking. Each look reads both; the trackers here turn successive readings
//! into the events the server gets:
//!
//! - [`CaptionTracker`]: `caption` events. A line gets a `captionId` the first time it shows;
//!   while it grows it is sent again (`isFinal: false`, at most every [`PARTIAL_EVERY`]), and
//!   once with `isFinal: true` when it has not changed for [`SETTLE_AFTER`], when the client
//!   removes or replaces it, or when the bot leaves ([`CaptionTracker::flush`]). Words added
//!   to a settled line (the speaker went on after a pause) become a new caption.
//! - [`SpeakingTracker`]: `active_speaker` events when someone starts or stops speaking. Looks
//!   are about a second apart, so a change is reported when first seen, unless that person's
//!   last reported change is less than [`SPEAKING_DEBOUNCE`] old: then only if it still holds
//!   at a later look (`at` = when it was first seen), so a flicker is no change.

use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use tokio::time::Instant;

/// A growing line is re-sent at most this often.
pub const PARTIAL_EVERY: Duration = Duration::from_secs(1);
/// A line unchanged this long is final.
pub const SETTLE_AFTER: Duration = Duration::from_secs(2);
/// Two reported changes of one person are at least this far apart.
pub const SPEAKING_DEBOUNCE: Duration = Duration::from_millis(300);

/// One caption line as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct CaptionLine {
    /// Stable while the client keeps the line's element.
    pub key: String,
    /// The speaker, cleaned like roster names; empty when the line names no one.
    #[serde(default)]
    pub speaker: String,
    pub text: String,
    /// The line is the bot's own ("You").
    #[serde(default, rename = "self")]
    pub is_self: bool,
}

/// Someone the page marks as speaking.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct Speaking {
    /// The client's id for the participant ("" when it has none).
    #[serde(default)]
    pub id: String,
    pub name: String,
}

struct Open {
    caption_id: String,
    key: String,
    speaker: String,
    /// The part of the element's text that an earlier caption already carried.
    base: String,
    /// The element's whole text.
    full: String,
    text: String,
    start_ms: i64,
    end_ms: i64,
    changed_at: Instant,
    sent_at: Option<Instant>,
    sent_text: String,
}

/// A line whose caption is final, kept while its element is on screen.
struct Settled {
    speaker: String,
    full: String,
}

/// Turns caption readings into `caption` events (see the module docs).
pub struct CaptionTracker {
    prefix: String,
    next: u64,
    open: Vec<Open>,
    settled: HashMap<String, Settled>,
}

/// Whether `new` is the same utterance as `old`, corrected or grown (same first word), rather
/// than a different one in a reused element.
fn continues(old: &str, new: &str) -> bool {
    let first = |s: &str| s.split_whitespace().next().map(str::to_lowercase);
    new.starts_with(old) || old.starts_with(new) || first(old) == first(new)
}

/// `full` less the `base` an earlier caption already carried.
fn after(base: &str, full: &str) -> String {
    match full.strip_prefix(base) {
        Some(rest) if !base.is_empty() => rest.trim().to_string(),
        _ => full.trim().to_string(),
    }
}

impl CaptionTracker {
    /// `prefix` makes caption ids unique across bots and runs (e.g. the start time).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.chars().take(60).collect(),
            next: 0,
            open: Vec::new(),
            settled: HashMap::new(),
        }
    }

    fn start(&mut self, line: &CaptionLine, speaker: String, base: String, now: Instant, now_ms: i64) {
        self.next += 1;
        let text = after(&base, &line.text);
        self.open.push(Open {
            caption_id: format!("{}-{}", self.prefix, self.next),
            key: line.key.clone(),
            speaker,
            base,
            full: line.text.clone(),
            text,
            start_ms: now_ms,
            end_ms: now_ms,
            changed_at: now,
            sent_at: None,
            sent_text: String::new(),
        });
    }

    fn event(o: &Open, is_final: bool) -> Value {
        json!({
            "type": "caption",
            "captionId": o.caption_id,
            "speaker": o.speaker,
            "participantId": null,
            "text": o.text,
            "isFinal": is_final,
            "startMs": o.start_ms,
            "endMs": o.end_ms,
        })
    }

    fn finish(&mut self, index: usize, out: &mut Vec<Value>) {
        let o = self.open.remove(index);
        if !o.text.is_empty() {
            out.push(Self::event(&o, true));
        }
        self.settled.insert(
            o.key,
            Settled {
                speaker: o.speaker,
                full: o.full,
            },
        );
    }

    /// One look's lines (oldest first). `current_speaker` names lines the client leaves
    /// unnamed (Zoom): the one person marked as speaking, if exactly one is.
    pub fn update(
        &mut self,
        lines: &[CaptionLine],
        current_speaker: Option<&str>,
        now: Instant,
        now_ms: i64,
    ) -> Vec<Value> {
        let mut out = Vec::new();
        let lines: Vec<&CaptionLine> = lines
            .iter()
            .filter(|l| !l.is_self && !l.text.trim().is_empty())
            .collect();
        for line in &lines {
            let speaker = if line.speaker.is_empty() {
                current_speaker.unwrap_or_default().to_string()
            } else {
                line.speaker.clone()
            };
            if let Some(i) = self.open.iter().position(|o| o.key == line.key) {
                let o = &self.open[i];
                let same = (line.speaker.is_empty() || o.speaker == speaker) && continues(&o.full, &line.text);
                if !same {
                    // The client reused the element for another utterance.
                    self.finish(i, &mut out);
                    self.settled.remove(&line.key);
                    self.start(line, speaker, String::new(), now, now_ms);
                } else if o.full != line.text {
                    let o = &mut self.open[i];
                    o.full = line.text.clone();
                    o.text = after(&o.base, &line.text);
                    o.end_ms = now_ms;
                    o.changed_at = now;
                }
                continue;
            }
            if let Some(s) = self.settled.get_mut(&line.key) {
                if s.full == line.text {
                    continue;
                }
                let same_speaker = line.speaker.is_empty() || s.speaker == speaker;
                if same_speaker && line.text.starts_with(&s.full) {
                    // The speaker went on after a pause: the new words are a new caption.
                    let base = s.full.clone();
                    let speaker = s.speaker.clone();
                    self.settled.remove(&line.key);
                    self.start(line, speaker, base, now, now_ms);
                } else if same_speaker && continues(&s.full, &line.text) {
                    // A late correction of a final line: not sent again.
                    s.full = line.text.clone();
                } else {
                    self.settled.remove(&line.key);
                    self.start(line, speaker, String::new(), now, now_ms);
                }
                continue;
            }
            self.start(line, speaker, String::new(), now, now_ms);
        }
        // Lines gone from the page, and lines that settled, are final.
        let mut i = 0;
        while i < self.open.len() {
            let o = &self.open[i];
            let gone = !lines.iter().any(|l| l.key == o.key);
            if gone || now.duration_since(o.changed_at) >= SETTLE_AFTER {
                self.finish(i, &mut out);
            } else {
                i += 1;
            }
        }
        self.settled.retain(|key, _| lines.iter().any(|l| &l.key == key));
        for o in &mut self.open {
            let due = o.sent_at.is_none_or(|t| now.duration_since(t) >= PARTIAL_EVERY);
            if o.text != o.sent_text && !o.text.is_empty() && due {
                o.sent_at = Some(now);
                o.sent_text = o.text.clone();
                out.push(Self::event(o, false));
            }
        }
        out
    }

    /// Every line still open, as final (the bot is leaving).
    pub fn flush(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while !self.open.is_empty() {
            self.finish(0, &mut out);
        }
        out
    }
}

struct SpeakerState {
    id: String,
    reported: bool,
    last_change: Option<Instant>,
    /// A change seen too soon after the last one: (speaking, epoch ms when first seen).
    pending: Option<(bool, i64)>,
}

/// Turns speaking marks into `active_speaker` events (see the module docs).
#[derive(Default)]
pub struct SpeakingTracker {
    people: BTreeMap<String, SpeakerState>,
}

impl SpeakingTracker {
    pub fn new() -> Self {
        Self::default()
    }

    fn event(name: &str, id: &str, speaking: bool, at: i64) -> Value {
        let id = if id.is_empty() { Value::Null } else { json!(id) };
        json!({"type": "active_speaker", "participantId": id, "name": name, "speaking": speaking, "at": at})
    }

    pub fn update(&mut self, speaking: &[Speaking], now: Instant, now_ms: i64) -> Vec<Value> {
        for s in speaking {
            let state = self.people.entry(s.name.clone()).or_insert_with(|| SpeakerState {
                id: String::new(),
                reported: false,
                last_change: None,
                pending: None,
            });
            if !s.id.is_empty() {
                state.id = s.id.clone();
            }
        }
        let mut out = Vec::new();
        for (name, state) in &mut self.people {
            let seen = speaking.iter().any(|s| &s.name == name);
            if seen == state.reported {
                state.pending = None;
                continue;
            }
            let at = match state.pending {
                Some((value, at)) if value == seen => at,
                _ => now_ms,
            };
            if state
                .last_change
                .is_none_or(|t| now.duration_since(t) >= SPEAKING_DEBOUNCE)
            {
                state.reported = seen;
                state.last_change = Some(now);
                state.pending = None;
                out.push(Self::event(name, &state.id, seen, at));
            } else {
                state.pending = Some((seen, at));
            }
        }
        out
    }

    /// Everyone still reported as speaking stops (the bot is leaving).
    pub fn flush(&mut self, now_ms: i64) -> Vec<Value> {
        let mut out = Vec::new();
        for (name, state) in &mut self.people {
            if state.reported {
                state.reported = false;
                out.push(Self::event(name, &state.id, false, now_ms));
            }
            state.pending = None;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(key: &str, speaker: &str, text: &str) -> CaptionLine {
        CaptionLine {
            key: key.into(),
            speaker: speaker.into(),
            text: text.into(),
            is_self: false,
        }
    }

    /// (id, text, final) of caption events.
    fn summary(events: &[Value]) -> Vec<(String, String, bool)> {
        events
            .iter()
            .map(|e| {
                assert_eq!(e["type"], "caption");
                (
                    e["captionId"].as_str().unwrap().to_string(),
                    e["text"].as_str().unwrap().to_string(),
                    e["isFinal"].as_bool().unwrap(),
                )
            })
            .collect()
    }

    async fn step(ms: u64) -> Instant {
        tokio::time::advance(Duration::from_millis(ms)).await;
        Instant::now()
    }

    #[tokio::test(start_paused = true)]
    async fn a_growing_line_sends_throttled_partials_then_one_final_when_it_settles() {
        let mut t = CaptionTracker::new("b1");
        let now = Instant::now();
        let e = t.update(&[line("1", "Ada Lovelace", "Hello")], None, now, 1_000);
        assert_eq!(summary(&e), [("b1-1".into(), "Hello".into(), false)]);
        assert_eq!(e[0]["speaker"], "Ada Lovelace");
        assert_eq!(e[0]["startMs"], 1_000);
        // Grows within the second: no partial yet.
        let e = t.update(
            &[line("1", "Ada Lovelace", "Hello there")],
            None,
            step(500).await,
            1_500,
        );
        assert!(e.is_empty(), "{e:?}");
        let e = t.update(
            &[line("1", "Ada Lovelace", "Hello there my")],
            None,
            step(500).await,
            2_000,
        );
        assert_eq!(summary(&e), [("b1-1".into(), "Hello there my".into(), false)]);
        let e = t.update(
            &[line("1", "Ada Lovelace", "Hello there my friend")],
            None,
            step(1000).await,
            3_000,
        );
        assert_eq!(summary(&e), [("b1-1".into(), "Hello there my friend".into(), false)]);
        // Unchanged: nothing until it has held for two seconds.
        let e = t.update(
            &[line("1", "Ada Lovelace", "Hello there my friend")],
            None,
            step(1000).await,
            4_000,
        );
        assert!(e.is_empty());
        let e = t.update(
            &[line("1", "Ada Lovelace", "Hello there my friend")],
            None,
            step(1000).await,
            5_000,
        );
        assert_eq!(summary(&e), [("b1-1".into(), "Hello there my friend".into(), true)]);
        assert_eq!(
            (e[0]["startMs"].as_i64(), e[0]["endMs"].as_i64()),
            (Some(1_000), Some(3_000))
        );
        // Still on screen, unchanged: never sent again.
        let e = t.update(
            &[line("1", "Ada Lovelace", "Hello there my friend")],
            None,
            step(5000).await,
            10_000,
        );
        assert!(e.is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_line_that_leaves_the_page_is_final_at_once_and_flush_finishes_the_rest() {
        let mut t = CaptionTracker::new("x");
        let now = Instant::now();
        t.update(
            &[line("1", "Ada", "one two"), line("2", "Grace Hopper", "three")],
            None,
            now,
            0,
        );
        let e = t.update(
            &[line("2", "Grace Hopper", "three four")],
            None,
            step(1000).await,
            1_000,
        );
        assert_eq!(
            summary(&e),
            [
                ("x-1".into(), "one two".into(), true),
                ("x-2".into(), "three four".into(), false)
            ]
        );
        let e = t.flush();
        assert_eq!(summary(&e), [("x-2".into(), "three four".into(), true)]);
        assert!(t.flush().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn words_after_a_pause_and_a_reused_element_become_new_captions() {
        let mut t = CaptionTracker::new("x");
        t.update(&[line("1", "Ada", "First part.")], None, Instant::now(), 0);
        let e = t.update(&[line("1", "Ada", "First part.")], None, step(2000).await, 2_000);
        assert_eq!(summary(&e), [("x-1".into(), "First part.".into(), true)]);
        // Ada goes on in the same element.
        let e = t.update(&[line("1", "Ada", "First part. Second")], None, step(500).await, 2_500);
        assert_eq!(summary(&e), [("x-2".into(), "Second".into(), false)]);
        // The element now shows someone else's words (a client that recycles lines).
        let e = t.update(
            &[line("1", "Grace", "Completely different")],
            None,
            step(1000).await,
            3_500,
        );
        assert_eq!(
            summary(&e),
            [
                ("x-2".into(), "Second".into(), true),
                ("x-3".into(), "Completely different".into(), false)
            ]
        );
        assert_eq!(e[1]["speaker"], "Grace");
    }

    #[tokio::test(start_paused = true)]
    async fn unnamed_lines_take_the_current_speaker_and_own_lines_are_skipped() {
        let mut t = CaptionTracker::new("x");
        let mut own = line("9", "You", "me talking");
        own.is_self = true;
        let e = t.update(&[own, line("1", "", "hello")], Some("Ada Lovelace"), Instant::now(), 0);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0]["speaker"], "Ada Lovelace");
        // The current speaker changes while the line grows: the line keeps its speaker.
        let e = t.update(&[line("1", "", "hello world")], Some("Grace"), step(1000).await, 1_000);
        assert_eq!(e[0]["speaker"], "Ada Lovelace");
    }

    #[tokio::test(start_paused = true)]
    async fn speaking_changes_are_debounced_and_dated_when_first_seen() {
        let mut t = SpeakingTracker::new();
        let ada = Speaking {
            id: "p1".into(),
            name: "Ada".into(),
        };
        // Reported at the first look that shows it.
        let e = t.update(std::slice::from_ref(&ada), Instant::now(), 100);
        assert_eq!(
            e,
            [json!({"type": "active_speaker", "participantId": "p1", "name": "Ada", "speaking": true, "at": 100})]
        );
        // A flicker right after a change is no change.
        assert!(t.update(&[], step(100).await, 200).is_empty());
        assert!(t.update(std::slice::from_ref(&ada), step(100).await, 300).is_empty());
        assert!(t.update(std::slice::from_ref(&ada), step(1000).await, 1_300).is_empty());
        let e = t.update(&[], step(1000).await, 2_300);
        assert_eq!(e[0]["speaking"], false);
        assert_eq!(e[0]["at"], 2_300);
        // A change too soon after the last one waits for the next look, dated when first seen.
        assert!(t.update(std::slice::from_ref(&ada), step(100).await, 2_400).is_empty());
        let e = t.update(std::slice::from_ref(&ada), step(900).await, 3_300);
        assert_eq!((&e[0]["speaking"], &e[0]["at"]), (&json!(true), &json!(2_400)));
        t.update(&[], step(1000).await, 4_300);
        // Leaving stops whoever is still speaking.
        let grace = Speaking {
            id: String::new(),
            name: "Grace".into(),
        };
        let e = t.update(std::slice::from_ref(&grace), step(1000).await, 5_700);
        assert_eq!(e[0]["participantId"], Value::Null);
        let e = t.flush(6_000);
        assert_eq!(
            e,
            [json!({"type": "active_speaker", "participantId": null, "name": "Grace", "speaking": false, "at": 6_000})]
        );
    }
}

//! Roster truth: who is in the call, from the strongest signal the page offers at each look.
//!
//! Meeting clients show people in up to three places: a people panel (complete, but only in
//! the page while open — and Teams and Meet replace it when the chat pane opens), video tiles
//! (always there, but a gallery may show a subset) and a participant counter. A
//! [`RosterTracker`] reconciles them:
//!
//! - an open panel is the truth (with tiles added: a panel still loading misses nobody);
//! - with the panel closed, the last panel's roster is kept (only joins are taken from the
//!   tiles): a pane the bot switched itself never empties the roster. After [`LIST_STALE`]
//!   without a panel, the tiles become the truth;
//! - the counter (which counts the bot itself) settles the two cases the others cannot: a
//!   count of one means everyone else left, a count above the names known means people are
//!   there whose names the page does not show;
//! - a person missing from an authoritative reading leaves only after [`LEAVE_DEBOUNCE`]
//!   (a re-render is not a departure), but "alone" is timed from the first look that saw no
//!   human, so automatic-leave timeouts count from the moment the last person left.

use std::collections::BTreeMap;
use std::time::Duration;
use tokio::time::Instant;

/// How long someone must be missing before a `participant_leave`.
pub const LEAVE_DEBOUNCE: Duration = Duration::from_secs(2);
/// How long the last panel's roster is trusted while the panel is closed.
pub const LIST_STALE: Duration = Duration::from_secs(90);

/// One person (or bot) as the page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Seen {
    /// The client's id for the entry, when it has one (`data-participant-id`, a roster row
    /// id); empty otherwise.
    #[serde(default)]
    pub id: String,
    /// The display name, without role chips, qualifiers or avatar initials.
    pub name: String,
    /// The client marks this entry as the bot itself ("(You)", "(Me)", the "You" tile).
    #[serde(default)]
    pub is_self: bool,
}

/// What one look at the page found, per source.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RosterReading {
    /// The people panel's entries, or `None` when no panel list is in the page.
    #[serde(default)]
    pub list: Option<Vec<Seen>>,
    /// Video tiles with a name.
    #[serde(default)]
    pub tiles: Vec<Seen>,
    /// The client's participant counter (the bot included), when it shows one.
    #[serde(default)]
    pub count: Option<u32>,
}

impl RosterReading {
    /// A complete panel listing exactly `names` (tests and simple clients).
    pub fn listing(names: &[&str]) -> Self {
        Self {
            list: Some(
                names
                    .iter()
                    .map(|n| Seen {
                        id: n.to_lowercase(),
                        name: n.to_string(),
                        is_self: false,
                    })
                    .collect(),
            ),
            ..Self::default()
        }
    }
}

/// Someone in the call, as reported in participant events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub id: String,
    pub name: String,
    pub is_bot: bool,
}

#[derive(Debug)]
struct Member {
    participant: Participant,
    missing_since: Option<Instant>,
}

/// Who joined and left at one look.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RosterChange {
    pub joined: Vec<Participant>,
    pub left: Vec<Participant>,
}

/// Reconciles readings into a roster and the time the bot has been alone (see the module).
pub struct RosterTracker {
    own_name: String,
    members: BTreeMap<String, Member>,
    last_list_at: Option<Instant>,
    /// People the counter shows beyond the names known (at the last look).
    unnamed: u32,
    /// When the current stretch without any human began (the call's start if none came).
    alone_since: Option<Instant>,
    humans_ever: bool,
}

/// Compares names the way clients vary them: case, spacing and typographic apostrophes.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace(['\u{2018}', '\u{2019}'], "'")
}

impl RosterTracker {
    /// A tracker for a bot named `own_name` that entered the call at `now`.
    pub fn new(own_name: &str, now: Instant) -> Self {
        Self {
            own_name: name_key(own_name),
            members: BTreeMap::new(),
            last_list_at: None,
            unnamed: 0,
            alone_since: Some(now),
            humans_ever: false,
        }
    }

    /// Takes one reading; `is_bot` says whether a name is another notetaker.
    pub fn update(&mut self, reading: RosterReading, now: Instant, is_bot: impl Fn(&str) -> bool) -> RosterChange {
        let own = self.own_name.clone();
        let keep = |s: &Seen| !s.is_self && !s.name.trim().is_empty() && name_key(&s.name) != own;
        let keyed = |entries: Vec<Seen>| -> BTreeMap<String, Seen> {
            // Two people with the same name are two entries: "ada", "ada#2".
            let mut out = BTreeMap::new();
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            for s in entries.into_iter().filter(keep) {
                let base = name_key(&s.name);
                let n = seen.entry(base.clone()).or_default();
                *n += 1;
                let key = if *n == 1 { base } else { format!("{base}#{n}") };
                out.insert(key, s);
            }
            out
        };
        let tiles = keyed(reading.tiles);
        let list_open = reading.list.is_some();
        let (mut observed, authoritative) = match reading.list {
            Some(list) => {
                self.last_list_at = Some(now);
                let mut all = keyed(list);
                for (k, s) in &tiles {
                    all.entry(k.clone()).or_insert_with(|| s.clone());
                }
                (all, true)
            }
            None => {
                let recent_list = self.last_list_at.is_some_and(|at| now - at < LIST_STALE);
                if recent_list || tiles.is_empty() {
                    // The bot's own pane switch (or a page without tiles): keep who was there,
                    // take joins from the tiles.
                    let mut all: BTreeMap<String, Seen> = self
                        .members
                        .iter()
                        .map(|(k, m)| {
                            let p = &m.participant;
                            (
                                k.clone(),
                                Seen {
                                    id: p.id.clone(),
                                    name: p.name.clone(),
                                    is_self: false,
                                },
                            )
                        })
                        .collect();
                    all.extend(tiles);
                    (all, false)
                } else {
                    (tiles, true)
                }
            }
        };
        // The counter includes the bot. One means no one else, whatever the others say
        // (unless an open panel lists people: a counter can lag a join).
        let others = reading.count.filter(|c| *c > 0).map(|c| c - 1);
        let mut authoritative = authoritative;
        if others == Some(0) && (!list_open || observed.is_empty()) {
            observed.clear();
            authoritative = true;
        }
        self.unnamed = others.map_or(0, |n| n.saturating_sub(observed.len() as u32));

        let mut change = RosterChange::default();
        for (key, seen) in &observed {
            match self.members.get_mut(key) {
                Some(member) => member.missing_since = None,
                None => {
                    let participant = Participant {
                        id: if seen.id.is_empty() {
                            seen.name.clone()
                        } else {
                            seen.id.clone()
                        },
                        name: seen.name.trim().to_string(),
                        is_bot: is_bot(&seen.name),
                    };
                    change.joined.push(participant.clone());
                    self.members.insert(
                        key.clone(),
                        Member {
                            participant,
                            missing_since: None,
                        },
                    );
                }
            }
        }
        if authoritative {
            let mut gone = Vec::new();
            for (key, member) in self.members.iter_mut() {
                if observed.contains_key(key) {
                    continue;
                }
                let since = *member.missing_since.get_or_insert(now);
                if now - since >= LEAVE_DEBOUNCE {
                    gone.push(key.clone());
                }
            }
            for key in gone {
                if let Some(member) = self.members.remove(&key) {
                    change.left.push(member.participant);
                }
            }
        }
        let human_here = self.unnamed > 0
            || self
                .members
                .values()
                .any(|m| m.missing_since.is_none() && !m.participant.is_bot);
        if human_here {
            self.humans_ever = true;
            self.alone_since = None;
        } else if self.alone_since.is_none() {
            self.alone_since = Some(now);
        }
        change
    }

    /// The roster id of the member called `name` (compared like roster names), if any.
    pub fn id_of(&self, name: &str) -> Option<&str> {
        self.members.get(&name_key(name)).map(|m| m.participant.id.as_str())
    }

    /// Since when no human has been in the call (`None` while someone is).
    pub fn alone_since(&self) -> Option<Instant> {
        self.alone_since
    }

    /// Whether a human was ever seen (decides `everyone_left` over `noone_joined`).
    pub fn humans_ever(&self) -> bool {
        self.humans_ever
    }

    /// Everyone currently on the roster.
    pub fn members(&self) -> Vec<Participant> {
        self.members.values().map(|m| m.participant.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(name: &str) -> Seen {
        Seen {
            id: String::new(),
            name: name.into(),
            is_self: false,
        }
    }

    fn me() -> Seen {
        Seen {
            id: "self".into(),
            name: "You".into(),
            is_self: true,
        }
    }

    fn notetaker(name: &str) -> bool {
        name.to_lowercase().contains("notetaker") || name.to_lowercase().contains("otter")
    }

    fn names(list: &[Participant]) -> Vec<&str> {
        list.iter().map(|p| p.name.as_str()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn the_bot_itself_never_counts_by_marker_or_by_name() {
        let start = Instant::now();
        let mut t = RosterTracker::new("Meeboter Notes", start);
        let reading = RosterReading {
            list: Some(vec![me(), seen("meeboter  notes"), seen("Ada Lovelace")]),
            tiles: vec![seen("Meeboter Notes")],
            count: Some(2),
        };
        let change = t.update(reading, start, notetaker);
        assert_eq!(names(&change.joined), ["Ada Lovelace"]);
        assert!(t.alone_since().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_pane_switched_by_the_bot_keeps_the_roster_and_tiles_still_add_people() {
        let start = Instant::now();
        let mut t = RosterTracker::new("Bot", start);
        t.update(RosterReading::listing(&["Alice", "Bob"]), start, notetaker);
        // Chat pane open: no list, no tiles — nobody leaves.
        tokio::time::advance(Duration::from_secs(30)).await;
        let change = t.update(RosterReading::default(), Instant::now(), notetaker);
        assert_eq!(change, RosterChange::default());
        assert!(t.alone_since().is_none());
        // A tile shows someone new: a join, still no leaves.
        let change = t.update(
            RosterReading {
                tiles: vec![seen("Carol")],
                ..Default::default()
            },
            Instant::now(),
            notetaker,
        );
        assert_eq!(names(&change.joined), ["Carol"]);
        assert!(change.left.is_empty());
        assert_eq!(t.members().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn a_counter_of_one_means_everyone_left_even_with_the_panel_closed() {
        let start = Instant::now();
        let mut t = RosterTracker::new("Bot", start);
        t.update(RosterReading::listing(&["Alice"]), start, notetaker);
        tokio::time::advance(Duration::from_secs(5)).await;
        let left_at = Instant::now();
        let reading = RosterReading {
            count: Some(1),
            ..Default::default()
        };
        let change = t.update(reading.clone(), left_at, notetaker);
        assert!(change.left.is_empty(), "debounced");
        assert_eq!(t.alone_since(), Some(left_at), "alone from the first look without her");
        tokio::time::advance(Duration::from_secs(2)).await;
        let change = t.update(reading, Instant::now(), notetaker);
        assert_eq!(names(&change.left), ["Alice"]);
        assert_eq!(t.alone_since(), Some(left_at));
        assert!(t.humans_ever());
    }

    #[tokio::test(start_paused = true)]
    async fn people_the_counter_shows_without_names_keep_the_bot_company() {
        let start = Instant::now();
        let mut t = RosterTracker::new("Bot", start);
        let change = t.update(
            RosterReading {
                count: Some(3),
                ..Default::default()
            },
            start,
            notetaker,
        );
        assert!(change.joined.is_empty());
        assert!(t.alone_since().is_none());
        assert!(t.humans_ever());
    }

    #[tokio::test(start_paused = true)]
    async fn only_another_notetaker_left_is_alone_and_a_blink_is_not_a_departure() {
        let start = Instant::now();
        let mut t = RosterTracker::new("Bot", start);
        t.update(
            RosterReading::listing(&["Otter.ai Notetaker", "Grace Hopper"]),
            start,
            notetaker,
        );
        assert!(t.alone_since().is_none());
        // Grace is missing for one look (a re-render), then back: no events.
        tokio::time::advance(Duration::from_secs(1)).await;
        let change = t.update(
            RosterReading::listing(&["Otter.ai Notetaker"]),
            Instant::now(),
            notetaker,
        );
        assert!(change.left.is_empty());
        tokio::time::advance(Duration::from_secs(1)).await;
        let change = t.update(
            RosterReading::listing(&["Otter.ai Notetaker", "Grace Hopper"]),
            Instant::now(),
            notetaker,
        );
        assert_eq!(change, RosterChange::default());
        assert!(t.alone_since().is_none());
        // She leaves for good: alone from the first look without her.
        tokio::time::advance(Duration::from_secs(1)).await;
        let gone_at = Instant::now();
        t.update(RosterReading::listing(&["Otter.ai Notetaker"]), gone_at, notetaker);
        tokio::time::advance(Duration::from_secs(3)).await;
        let change = t.update(
            RosterReading::listing(&["Otter.ai Notetaker"]),
            Instant::now(),
            notetaker,
        );
        assert_eq!(names(&change.left), ["Grace Hopper"]);
        assert_eq!(t.alone_since(), Some(gone_at));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stale_panel_gives_way_to_the_tiles_and_duplicates_are_two_people() {
        let start = Instant::now();
        let mut t = RosterTracker::new("Bot", start);
        t.update(RosterReading::listing(&["Ada", "Ada", "Bob"]), start, notetaker);
        assert_eq!(t.members().len(), 3);
        tokio::time::advance(LIST_STALE + Duration::from_secs(1)).await;
        let tiles_only = RosterReading {
            tiles: vec![seen("Ada")],
            ..Default::default()
        };
        t.update(tiles_only.clone(), Instant::now(), notetaker);
        tokio::time::advance(Duration::from_secs(3)).await;
        let change = t.update(tiles_only, Instant::now(), notetaker);
        assert_eq!(names(&change.left).len(), 2);
        assert_eq!(names(&t.members()), ["Ada"]);
    }

    #[test]
    fn names_compare_without_case_spacing_or_apostrophe_style() {
        assert_eq!(name_key("  Ada   O’Brien "), name_key("ada o'brien"));
    }
}

//! Transcription: the create-request option, its validation, transcript vocabulary and
//! the pure helpers (caption times, speaker attribution, text formats, and the accuracy
//! measures: word error rate and attribution accuracy).

use crate::validation::ValidationErrors;

/// Where a bot's transcript comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TranscriptionProvider {
    /// The meeting client's own live captions, read by the bot from the page.
    MeetingCaptions,
    /// An OpenAI-compatible `POST /v1/audio/transcriptions` endpoint, fed by the server.
    Openai,
    /// Deepgram (real-time streaming or pre-recorded), fed by the server.
    Deepgram,
}

impl TranscriptionProvider {
    pub const ALL: [Self; 3] = [Self::MeetingCaptions, Self::Openai, Self::Deepgram];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::MeetingCaptions => "meeting_captions",
            Self::Openai => "openai",
            Self::Deepgram => "deepgram",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == raw)
    }

    /// Whether the server transcribes the recording's audio (not the client's captions).
    pub fn needs_audio(self) -> bool {
        self != Self::MeetingCaptions
    }

    /// Whether a `realtime: true` bot of this provider streams audio segments to the
    /// server while the call runs (captions are read by the bot): `openai` transcribes
    /// each segment, `deepgram` gets them over one live stream per bot.
    pub fn streams_audio(self) -> bool {
        matches!(self, Self::Openai | Self::Deepgram)
    }
}

/// Which server-side providers are configured (their credentials/URLs are set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProvidersConfigured {
    pub openai: bool,
    pub deepgram: bool,
    /// The model family of `TRANSCRIPTION_DEEPGRAM_MODEL`: it decides which languages a
    /// deepgram transcript may ask for.
    pub deepgram_family: DeepgramFamily,
}

/// Deepgram model families with a documented language list. Languages differ per family,
/// so a create request is checked against the family the server is configured with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DeepgramFamily {
    /// `nova-3` and its variants (`nova-3-general`, `nova-3-medical`, …); the default model.
    #[default]
    Nova3,
    /// `nova-2` and its variants.
    Nova2,
    /// Any other model (`base`, `enhanced`, `whisper-*`, custom): no documented list here,
    /// so Whisper's language list is the check and Deepgram has the last word.
    Other,
}

impl DeepgramFamily {
    /// The family of a Deepgram model name.
    pub fn of_model(model: &str) -> Self {
        let m = model.trim().to_ascii_lowercase();
        if m == "nova-3" || m.starts_with("nova-3-") {
            Self::Nova3
        } else if m == "nova-2" || m.starts_with("nova-2-") {
            Self::Nova2
        } else {
            Self::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Nova3 => "nova-3",
            Self::Nova2 => "nova-2",
            Self::Other => "other",
        }
    }

    /// The documented language codes of the family (`None`: no list, see [`Self::Other`]).
    pub fn languages(self) -> Option<&'static [&'static str]> {
        match self {
            Self::Nova3 => Some(DEEPGRAM_NOVA3_LANGUAGES),
            Self::Nova2 => Some(DEEPGRAM_NOVA2_LANGUAGES),
            Self::Other => None,
        }
    }
}

/// Nova-3's monolingual language codes, from Deepgram's models-and-languages overview and
/// its Nova-3 changelog entries (2025-08 … 2026-03); see `docs/research/deepgram.md`.
pub const DEEPGRAM_NOVA3_LANGUAGES: &[&str] = &[
    "en", "en-US", "en-AU", "en-GB", "en-IN", "en-NZ", "de", "de-CH", "nl", "nl-BE", "sv", "sv-SE", "da", "da-DK",
    "es", "es-419", "fr", "fr-CA", "pt", "pt-BR", "pt-PT", "it", "tr", "no", "id", "bg", "cs", "fi", "hi", "hu", "ja",
    "ko", "ko-KR", "pl", "ru", "uk", "vi", "ca", "et", "el", "lv", "lt", "ms", "ro", "sk", "be", "bn", "bs", "hr",
    "kn", "mk", "mr", "sr", "sl", "ta", "tl", "te", "th", "th-TH", "zh", "zh-CN", "zh-Hans", "zh-TW", "zh-Hant",
    "zh-HK",
];

/// Nova-2's language codes (36 languages, Deepgram changelog 2024-05 and the overview).
pub const DEEPGRAM_NOVA2_LANGUAGES: &[&str] = &[
    "bg", "ca", "zh", "zh-CN", "zh-Hans", "zh-TW", "zh-Hant", "zh-HK", "cs", "da", "da-DK", "nl", "nl-BE", "en",
    "en-US", "en-AU", "en-GB", "en-IN", "en-NZ", "et", "fi", "fr", "fr-CA", "de", "de-CH", "el", "hi", "hu", "id",
    "it", "ja", "ko", "ko-KR", "lv", "lt", "ms", "no", "pl", "pt", "pt-BR", "pt-PT", "ro", "ru", "sk", "es", "es-419",
    "sv", "sv-SE", "th", "th-TH", "tr", "uk", "vi",
];

/// The code to send to Deepgram for a canonical tag (from [`check_language`]), or `None`
/// when the family does not support it: the tag itself if listed, else the tag without its
/// region (`zh-Hant-TW` → `zh-Hant`), else its primary subtag (`de-AT` → `de`).
pub fn deepgram_language(family: DeepgramFamily, tag: &str) -> Option<String> {
    let Some(list) = family.languages() else {
        return LANGUAGES
            .contains(&primary_language(tag).as_str())
            .then(|| tag.to_string());
    };
    let parts: Vec<&str> = tag.split('-').collect();
    let candidates = (1..=parts.len()).rev().map(|n| parts[..n].join("-"));
    for c in candidates {
        if let Some(hit) = list.iter().find(|l| l.eq_ignore_ascii_case(&c)) {
            return Some((*hit).to_string());
        }
    }
    None
}

/// Whether `provider` accepts the canonical language `tag` (with the server's Deepgram
/// model family). Captions follow the meeting client, which the server cannot know: any
/// Whisper language passes.
pub fn provider_accepts_language(provider: TranscriptionProvider, family: DeepgramFamily, tag: &str) -> bool {
    match provider {
        TranscriptionProvider::MeetingCaptions | TranscriptionProvider::Openai => {
            LANGUAGES.contains(&primary_language(tag).as_str())
        }
        TranscriptionProvider::Deepgram => deepgram_language(family, tag).is_some(),
    }
}

impl ProvidersConfigured {
    /// The setting a provider needs that is not set, if any.
    pub fn missing_setting(self, provider: TranscriptionProvider) -> Option<&'static str> {
        match provider {
            TranscriptionProvider::MeetingCaptions => None,
            TranscriptionProvider::Openai => (!self.openai).then_some("TRANSCRIPTION_OPENAI_URL"),
            TranscriptionProvider::Deepgram => (!self.deepgram).then_some("TRANSCRIPTION_DEEPGRAM_API_KEY"),
        }
    }
}

/// The raw `transcription` object of a create request.
#[derive(Debug, Clone, Default)]
pub struct TranscriptionInput {
    pub provider: Option<String>,
    pub language: Option<String>,
    pub realtime: Option<bool>,
}

/// A validated transcription option, stored on the bot (as JSON) and given to the bot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transcription {
    pub provider: TranscriptionProvider,
    /// BCP-47-ish tag (`en`, `en-US`); `None` lets the provider detect the language.
    pub language: Option<String>,
    /// Transcript while the meeting runs (captions are always real time; `openai` gets
    /// short audio segments the bot streams through its control channel).
    pub realtime: bool,
}

/// Whisper's language codes (ISO 639-1, plus `haw`, `yue`): the primary subtag every
/// provider accepts. A tag's region/script part is kept for caption-based providers.
pub const LANGUAGES: &[&str] = &[
    "af", "am", "ar", "as", "az", "ba", "be", "bg", "bn", "bo", "br", "bs", "ca", "cs", "cy", "da", "de", "el", "en",
    "es", "et", "eu", "fa", "fi", "fo", "fr", "gl", "gu", "ha", "haw", "he", "hi", "hr", "ht", "hu", "hy", "id", "is",
    "it", "ja", "jw", "ka", "kk", "km", "kn", "ko", "la", "lb", "ln", "lo", "lt", "lv", "mg", "mi", "mk", "ml", "mn",
    "mr", "ms", "mt", "my", "ne", "nl", "nn", "no", "oc", "pa", "pl", "ps", "pt", "ro", "ru", "sa", "sd", "si", "sk",
    "sl", "sn", "so", "sq", "sr", "su", "sv", "sw", "ta", "te", "tg", "th", "tk", "tl", "tr", "tt", "uk", "ur", "uz",
    "vi", "yi", "yo", "yue", "zh",
];

/// The primary language subtag of a BCP-47-ish tag (`en-US` → `en`), lower case.
pub fn primary_language(tag: &str) -> String {
    tag.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase()
}

/// Checks a language tag: `ll`, `lll`, optionally `-Ssss` (script) and/or `-RR`/`-999`
/// (region); primary subtag in [`LANGUAGES`]. Returns the canonical form (`en-US`).
pub fn check_language(raw: &str) -> Result<String, &'static str> {
    let parts: Vec<&str> = raw.split('-').collect();
    let primary = parts[0];
    if !(2..=3).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) || parts.len() > 3 {
        return Err("invalid_language");
    }
    let mut out = primary.to_ascii_lowercase();
    let mut seen_region = false;
    for (i, sub) in parts[1..].iter().enumerate() {
        let script = sub.len() == 4 && sub.bytes().all(|b| b.is_ascii_alphabetic()) && i == 0;
        let region = (sub.len() == 2 && sub.bytes().all(|b| b.is_ascii_alphabetic()))
            || (sub.len() == 3 && sub.bytes().all(|b| b.is_ascii_digit()));
        if script {
            let mut s = sub.to_ascii_lowercase();
            s[..1].make_ascii_uppercase();
            out.push('-');
            out.push_str(&s);
        } else if region && !seen_region {
            seen_region = true;
            out.push('-');
            out.push_str(&sub.to_ascii_uppercase());
        } else {
            return Err("invalid_language");
        }
    }
    if !LANGUAGES.contains(&out.split('-').next().unwrap_or("")) {
        return Err("unsupported_language");
    }
    Ok(out)
}

/// Validates the `transcription` object under the field path `transcription.*`.
pub fn validate_transcription(
    input: TranscriptionInput,
    configured: ProvidersConfigured,
    errors: &mut ValidationErrors,
) -> Option<Transcription> {
    let provider = match input.provider.as_deref() {
        None => {
            errors.push(
                "transcription.provider",
                "required",
                "transcription.provider is required: meeting_captions, openai or deepgram",
            );
            None
        }
        Some(raw) => match TranscriptionProvider::parse(raw) {
            None => {
                errors.push(
                    "transcription.provider",
                    "invalid_value",
                    format!("transcription.provider must be one of meeting_captions, openai, deepgram (got `{raw}`)"),
                );
                None
            }
            Some(p) => match configured.missing_setting(p) {
                Some(setting) => {
                    errors.push(
                        "transcription.provider",
                        "provider_not_configured",
                        format!(
                            "the {} provider is not configured on this server: set {setting}",
                            p.as_str()
                        ),
                    );
                    None
                }
                None => Some(p),
            },
        },
    };
    let language = match input.language.as_deref() {
        None => None,
        Some(raw) => match check_language(raw) {
            Ok(tag) => match provider {
                Some(p) if !provider_accepts_language(p, configured.deepgram_family, &tag) => {
                    let family = match p {
                        TranscriptionProvider::Deepgram => {
                            format!(" (model family {})", configured.deepgram_family.as_str())
                        }
                        _ => String::new(),
                    };
                    errors.push(
                        "transcription.language",
                        "unsupported_language",
                        format!(
                            "the {} provider{family} does not support the language `{tag}`",
                            p.as_str()
                        ),
                    );
                    None
                }
                _ => Some(tag),
            },
            Err(code) => {
                errors.push(
                    "transcription.language",
                    code,
                    format!(
                        "transcription.language must be a language tag such as `en` or `en-US` in a language the \
                         providers support (got `{raw}`)"
                    ),
                );
                None
            }
        },
    };
    let realtime = match (provider, input.realtime) {
        (Some(TranscriptionProvider::MeetingCaptions), Some(false)) => {
            errors.push(
                "transcription.realtime",
                "invalid_value",
                "meeting captions are always real time; omit transcription.realtime or set it to true",
            );
            false
        }
        (Some(TranscriptionProvider::MeetingCaptions), _) => true,
        (Some(TranscriptionProvider::Openai | TranscriptionProvider::Deepgram), Some(true)) => true,
        (_, r) => r.unwrap_or(false),
    };
    provider.map(|provider| Transcription {
        provider,
        language,
        realtime,
    })
}

/// A transcript's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TranscriptState {
    None,
    Live,
    Processing,
    Ready,
    Failed,
}

impl TranscriptState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Live => "live",
            Self::Processing => "processing",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Self::None, Self::Live, Self::Processing, Self::Ready, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

/// Longest accepted caption id.
pub const MAX_CAPTION_ID_CHARS: usize = 100;
/// Longest stored utterance text, in characters (longer text is cut).
pub const MAX_UTTERANCE_CHARS: usize = 10_000;

/// A time reported in epoch milliseconds, as milliseconds from the call start
/// (`IN_CALL`), never negative.
pub fn call_offset_ms(at_epoch_ms: i64, call_start_epoch_ms: i64) -> i64 {
    (at_epoch_ms - call_start_epoch_ms).max(0)
}

/// One span of someone speaking, in ms from the call start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakingSpan {
    pub participant_id: Option<String>,
    pub name: String,
    pub start_ms: i64,
    pub end_ms: i64,
}

/// An active-speaker observation, in ms from the call start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerMark {
    pub participant_id: Option<String>,
    pub name: String,
    pub speaking: bool,
    pub at_ms: i64,
}

/// Turns a time-ordered active-speaker timeline into spans. A `speaking: true` mark with
/// another person speaking ends that person's span (clients show one active speaker at a
/// time); `speaking: false` ends that person's own span only — a handover is often seen in
/// one look, as "B starts, A stops" at the same instant, and A's stop must not end B's span;
/// an open span ends at `end_ms`.
pub fn speaking_spans(marks: &[SpeakerMark], end_ms: i64) -> Vec<SpeakingSpan> {
    let mut spans = Vec::new();
    let mut open: Option<SpeakingSpan> = None;
    let key = |p: &Option<String>, n: &str| p.clone().unwrap_or_else(|| format!("name:{n}"));
    for m in marks {
        if let Some(cur) = open.take() {
            let same = key(&cur.participant_id, &cur.name) == key(&m.participant_id, &m.name);
            if same == m.speaking {
                // Still speaking, or someone else (not speaking now) stopped.
                open = Some(cur);
                continue;
            }
            if m.at_ms > cur.start_ms {
                spans.push(SpeakingSpan { end_ms: m.at_ms, ..cur });
            }
        }
        if m.speaking {
            open = Some(SpeakingSpan {
                participant_id: m.participant_id.clone(),
                name: m.name.clone(),
                start_ms: m.at_ms,
                end_ms: m.at_ms,
            });
        }
    }
    if let Some(cur) = open
        && end_ms > cur.start_ms
    {
        spans.push(SpeakingSpan { end_ms, ..cur });
    }
    spans
}

/// The span owner overlapping `[start_ms, end_ms)` the longest, if any overlaps.
pub fn attribute(spans: &[SpeakingSpan], start_ms: i64, end_ms: i64) -> Option<(Option<String>, String)> {
    let mut totals: Vec<((Option<String>, String), i64)> = Vec::new();
    for s in spans {
        let overlap = end_ms.min(s.end_ms) - start_ms.max(s.start_ms);
        if overlap <= 0 {
            continue;
        }
        let who = (s.participant_id.clone(), s.name.clone());
        match totals.iter_mut().find(|(w, _)| *w == who) {
            Some((_, t)) => *t += overlap,
            None => totals.push((who, overlap)),
        }
    }
    totals.into_iter().max_by_key(|(_, t)| *t).map(|(w, _)| w)
}

/// An utterance of a diarizing provider (Deepgram): its anonymous speaker number, its time
/// in ms from the call start and its word count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiarizedUtterance {
    pub speaker: Option<u32>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub words: usize,
}

/// Who said a diarized utterance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpeakerName {
    pub participant_id: Option<String>,
    pub name: String,
    /// Named from the active-speaker timeline (counts as attributed); false for the
    /// `Speaker N` fallback.
    pub from_timeline: bool,
}

/// Names diarized utterances from the active-speaker timeline. A diarizer's speaker numbers
/// are stable across a recording, so each number is mapped as a whole to the participant
/// whose speaking spans overlap all of that number's utterances the longest (a single
/// misplaced utterance does not rename it); a number that never overlaps anyone falls back
/// to each utterance's own overlap ([`attribute`]), and one still without a match is
/// `Speaker N` (N = number + 1, as people count). Utterances without a number use their
/// own overlap only. Returns one entry per utterance, in order.
pub fn name_diarized_speakers(utterances: &[DiarizedUtterance], spans: &[SpeakingSpan]) -> Vec<Option<SpeakerName>> {
    use std::collections::BTreeMap;
    /// A participant (id, display name) and a total overlap in ms.
    type Overlap = ((Option<String>, String), i64);
    // speaker number -> participants with their overlap
    let mut overlap: BTreeMap<u32, Vec<Overlap>> = BTreeMap::new();
    for u in utterances {
        let Some(n) = u.speaker else { continue };
        let totals = overlap.entry(n).or_default();
        for s in spans {
            let o = u.end_ms.min(s.end_ms) - u.start_ms.max(s.start_ms);
            if o <= 0 {
                continue;
            }
            let who = (s.participant_id.clone(), s.name.clone());
            match totals.iter_mut().find(|(w, _)| *w == who) {
                Some((_, t)) => *t += o,
                None => totals.push((who, o)),
            }
        }
    }
    // Ties go to the participant seen first, so the result does not depend on map order.
    let mapped: BTreeMap<u32, (Option<String>, String)> = overlap
        .into_iter()
        .filter_map(|(n, totals)| {
            let mut best: Option<Overlap> = None;
            for (who, t) in totals {
                if best.as_ref().is_none_or(|(_, b)| t > *b) {
                    best = Some((who, t));
                }
            }
            best.map(|(who, _)| (n, who))
        })
        .collect();
    utterances
        .iter()
        .map(|u| {
            let timeline = u
                .speaker
                .and_then(|n| mapped.get(&n).cloned())
                .or_else(|| attribute(spans, u.start_ms, u.end_ms));
            match (timeline, u.speaker) {
                (Some((participant_id, name)), _) => Some(SpeakerName {
                    participant_id,
                    name,
                    from_timeline: true,
                }),
                (None, Some(n)) => Some(SpeakerName {
                    participant_id: None,
                    name: format!("Speaker {}", n + 1),
                    from_timeline: false,
                }),
                (None, None) => None,
            }
        })
        .collect()
}

/// The share of words (0–1000 permille) whose speaker came from the timeline; `None`
/// without words.
pub fn attributed_permille(utterances: &[DiarizedUtterance], names: &[Option<SpeakerName>]) -> Option<i64> {
    let total: usize = utterances.iter().map(|u| u.words).sum();
    let named: usize = utterances
        .iter()
        .zip(names)
        .filter(|(_, n)| n.as_ref().is_some_and(|n| n.from_timeline))
        .map(|(u, _)| u.words)
        .sum();
    (total > 0).then(|| (named * 1000 / total) as i64)
}

/// `hh:mm:ss` (txt) from milliseconds.
pub fn clock(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// `hh:mm:ss,mmm` (SRT) or `hh:mm:ss.mmm` (WebVTT).
pub fn cue_time(ms: i64, sep: char) -> String {
    let ms = ms.max(0);
    format!("{}{sep}{:03}", clock(ms), ms % 1000)
}

/// One line of a text transcript.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub speaker: Option<&'a str>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub text: &'a str,
}

/// Plain text: `[hh:mm:ss] Speaker: text` (no speaker → just the text).
pub fn to_txt(lines: &[Line<'_>]) -> String {
    let mut out = String::new();
    for l in lines {
        match l.speaker {
            Some(s) => out.push_str(&format!("[{}] {s}: {}\n", clock(l.start_ms), one_line(l.text))),
            None => out.push_str(&format!("[{}] {}\n", clock(l.start_ms), one_line(l.text))),
        }
    }
    out
}

/// SubRip subtitles.
pub fn to_srt(lines: &[Line<'_>]) -> String {
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        out.push_str(&format!(
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            cue_time(l.start_ms, ','),
            cue_time(l.end_ms.max(l.start_ms), ','),
            cue_text(l)
        ));
    }
    out
}

/// WebVTT subtitles (speaker as a voice span).
pub fn to_vtt(lines: &[Line<'_>]) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for l in lines {
        let text = one_line(l.text)
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        let text = match l.speaker {
            Some(s) => format!("<v {}>{text}", one_line(s).replace(['<', '>', '&'], "")),
            None => text,
        };
        out.push_str(&format!(
            "{} --> {}\n{text}\n\n",
            cue_time(l.start_ms, '.'),
            cue_time(l.end_ms.max(l.start_ms), '.')
        ));
    }
    out
}

fn cue_text(l: &Line<'_>) -> String {
    match l.speaker {
        Some(s) => format!("{}: {}", one_line(s), one_line(l.text)),
        None => one_line(l.text),
    }
}

/// Text on one line (a blank line would end a cue); never empty.
fn one_line(text: &str) -> String {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() { "…".into() } else { t }
}

/// Words for scoring: lower case, letters/digits/apostrophes only.
pub fn words(text: &str) -> Vec<String> {
    text.split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| c.is_alphanumeric() || *c == '\'')
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Word error rate of `hypothesis` against `reference` (edit distance over words ÷
/// reference length).
pub fn word_error_rate(reference: &str, hypothesis: &str) -> f64 {
    let r = words(reference);
    let h = words(hypothesis);
    if r.is_empty() {
        return if h.is_empty() { 0.0 } else { 1.0 };
    }
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            let sub = prev[j] + usize::from(rw != hw);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[h.len()] as f64 / r.len() as f64
}

/// Who said a piece of text (a reference line, or a transcript utterance; `None` =
/// unattributed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Said<'a> {
    pub speaker: Option<&'a str>,
    pub text: &'a str,
}

/// Speaker attribution accuracy: of the reference words the transcript has a word for (the
/// word-level alignment behind [`word_error_rate`]: matches and substitutions), the share whose
/// transcript word is attributed to the reference word's speaker. Scored apart from the WER,
/// so a transcript with a few wrong words but the right speakers scores 1.0. `None` when no
/// word aligns (an empty transcript has no attribution to score).
pub fn attribution_accuracy(reference: &[Said<'_>], hypothesis: &[Said<'_>]) -> Option<f64> {
    let tagged = |lines: &[Said<'_>]| -> Vec<(String, Option<String>)> {
        lines
            .iter()
            .flat_map(|l| words(l.text).into_iter().map(|w| (w, l.speaker.map(str::to_string))))
            .collect()
    };
    let (r, h) = (tagged(reference), tagged(hypothesis));
    // Edit distance table, then a walk back through one cheapest alignment.
    let width = h.len() + 1;
    let mut d = vec![0usize; (r.len() + 1) * width];
    for (j, cell) in d.iter_mut().enumerate().take(width) {
        *cell = j;
    }
    for i in 1..=r.len() {
        d[i * width] = i;
        for j in 1..=h.len() {
            let sub = d[(i - 1) * width + j - 1] + usize::from(r[i - 1].0 != h[j - 1].0);
            d[i * width + j] = sub.min(d[(i - 1) * width + j] + 1).min(d[i * width + j - 1] + 1);
        }
    }
    let (mut i, mut j) = (r.len(), h.len());
    let (mut aligned, mut right) = (0usize, 0usize);
    while i > 0 && j > 0 {
        let here = d[i * width + j];
        let diagonal = d[(i - 1) * width + j - 1] + usize::from(r[i - 1].0 != h[j - 1].0);
        if here == diagonal {
            aligned += 1;
            right += usize::from(r[i - 1].1.is_some() && r[i - 1].1 == h[j - 1].1);
            i -= 1;
            j -= 1;
        } else if here == d[(i - 1) * width + j] + 1 {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    (aligned > 0).then(|| right as f64 / aligned as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> ProvidersConfigured {
        ProvidersConfigured {
            openai: true,
            deepgram: true,
            deepgram_family: DeepgramFamily::Nova3,
        }
    }

    fn input(p: &str, lang: Option<&str>, rt: Option<bool>) -> TranscriptionInput {
        TranscriptionInput {
            provider: Some(p.into()),
            language: lang.map(str::to_string),
            realtime: rt,
        }
    }

    fn fields(e: &ValidationErrors) -> Vec<(String, &'static str)> {
        e.errors.iter().map(|e| (e.field.clone(), e.code)).collect()
    }

    #[test]
    fn providers_and_settings() {
        let mut e = ValidationErrors::default();
        let t = validate_transcription(
            input("meeting_captions", Some("en-us"), None),
            Default::default(),
            &mut e,
        );
        assert!(e.is_empty());
        assert_eq!(
            t,
            Some(Transcription {
                provider: TranscriptionProvider::MeetingCaptions,
                language: Some("en-US".into()),
                realtime: true
            })
        );
        let mut e = ValidationErrors::default();
        assert!(validate_transcription(input("openai", None, None), Default::default(), &mut e).is_none());
        assert_eq!(
            fields(&e),
            [("transcription.provider".into(), "provider_not_configured")]
        );
        assert!(e.errors[0].message.contains("TRANSCRIPTION_OPENAI_URL"));
        let mut e = ValidationErrors::default();
        validate_transcription(input("deepgram", None, None), Default::default(), &mut e);
        assert!(e.errors[0].message.contains("TRANSCRIPTION_DEEPGRAM_API_KEY"));
        let mut e = ValidationErrors::default();
        let t = validate_transcription(input("deepgram", Some("en-gb"), None), all(), &mut e).unwrap();
        assert!(e.is_empty() && t.provider == TranscriptionProvider::Deepgram && !t.realtime);
        assert_eq!(t.language.as_deref(), Some("en-GB"));
        let mut e = ValidationErrors::default();
        let t = validate_transcription(input("openai", Some("de"), None), all(), &mut e).unwrap();
        assert!(!t.realtime && e.is_empty());
        let mut e = ValidationErrors::default();
        validate_transcription(input("whisperx", Some("xx"), None), all(), &mut e);
        assert_eq!(
            fields(&e),
            [
                ("transcription.provider".into(), "invalid_value"),
                ("transcription.language".into(), "unsupported_language")
            ]
        );
        // Real time with the openai provider: short segments streamed by the bot.
        let mut e = ValidationErrors::default();
        let t = validate_transcription(input("openai", None, Some(true)), all(), &mut e).unwrap();
        assert!(t.realtime && e.is_empty());
        // … and with deepgram: the segments go over one live stream.
        let mut e = ValidationErrors::default();
        let t = validate_transcription(input("deepgram", None, Some(true)), all(), &mut e).unwrap();
        assert!(t.realtime && e.is_empty() && t.provider.streams_audio());
    }

    #[test]
    fn languages_per_provider() {
        let check = |p: &str, lang: &str, family: DeepgramFamily| {
            let mut e = ValidationErrors::default();
            let c = ProvidersConfigured {
                deepgram_family: family,
                ..all()
            };
            validate_transcription(input(p, Some(lang), None), c, &mut e);
            fields(&e)
        };
        // Welsh: Whisper knows it, Deepgram's Nova models do not.
        assert!(check("openai", "cy", DeepgramFamily::Nova3).is_empty());
        assert_eq!(
            check("deepgram", "cy", DeepgramFamily::Nova3),
            [("transcription.language".into(), "unsupported_language")]
        );
        // Tamil arrived with Nova-3, it is not in Nova-2's list.
        assert!(check("deepgram", "ta", DeepgramFamily::Nova3).is_empty());
        assert_eq!(check("deepgram", "ta", DeepgramFamily::Nova2).len(), 1);
        // Other models: Whisper's list is the check.
        assert!(check("deepgram", "cy", DeepgramFamily::Other).is_empty());
        assert!(check("meeting_captions", "cy", DeepgramFamily::Nova3).is_empty());
        let mut e = ValidationErrors::default();
        validate_transcription(input("deepgram", Some("cy"), None), all(), &mut e);
        assert!(e.errors[0].message.contains("nova-3"), "{}", e.errors[0].message);

        assert_eq!(
            deepgram_language(DeepgramFamily::Nova3, "en-GB").as_deref(),
            Some("en-GB")
        );
        assert_eq!(deepgram_language(DeepgramFamily::Nova3, "de-AT").as_deref(), Some("de"));
        assert_eq!(
            deepgram_language(DeepgramFamily::Nova3, "zh-Hant-TW").as_deref(),
            Some("zh-Hant")
        );
        assert_eq!(
            deepgram_language(DeepgramFamily::Nova2, "es-419").as_deref(),
            Some("es-419")
        );
        assert_eq!(deepgram_language(DeepgramFamily::Nova3, "yue"), None);
        assert_eq!(DeepgramFamily::of_model("nova-3-medical"), DeepgramFamily::Nova3);
        assert_eq!(DeepgramFamily::of_model("Nova-2"), DeepgramFamily::Nova2);
        assert_eq!(DeepgramFamily::of_model("nova-30"), DeepgramFamily::Other);
        assert_eq!(DeepgramFamily::of_model("whisper-large"), DeepgramFamily::Other);
        // Every listed code is itself a valid tag whose primary subtag Whisper knows.
        for code in DEEPGRAM_NOVA3_LANGUAGES.iter().chain(DEEPGRAM_NOVA2_LANGUAGES) {
            assert_eq!(check_language(code).as_deref(), Ok(*code), "{code}");
        }
    }

    #[test]
    fn diarized_speakers_are_named_from_the_timeline() {
        let span = |p: &str, start_ms: i64, end_ms: i64| SpeakingSpan {
            participant_id: Some(p.into()),
            name: p.to_uppercase(),
            start_ms,
            end_ms,
        };
        let u = |speaker: Option<u32>, start_ms: i64, end_ms: i64, words: usize| DiarizedUtterance {
            speaker,
            start_ms,
            end_ms,
            words,
        };
        let spans = [span("a", 0, 4000), span("b", 4000, 8000), span("a", 8000, 9000)];
        let utts = [
            u(Some(0), 0, 3000, 5),
            // Speaker 0 again, but the timeline (late by a second) says B: the majority wins.
            u(Some(0), 3500, 5000, 3),
            u(Some(1), 5000, 7500, 4),
            // Speaker 2 never overlaps anyone.
            u(Some(2), 20_000, 21_000, 2),
            // No speaker number: its own overlap.
            u(None, 8000, 8900, 1),
            u(None, 30_000, 31_000, 1),
        ];
        let names = name_diarized_speakers(&utts, &spans);
        let got: Vec<Option<(&str, bool)>> = names
            .iter()
            .map(|n| n.as_ref().map(|n| (n.name.as_str(), n.from_timeline)))
            .collect();
        assert_eq!(
            got,
            [
                Some(("A", true)),
                Some(("A", true)),
                Some(("B", true)),
                Some(("Speaker 3", false)),
                Some(("A", true)),
                None,
            ]
        );
        assert_eq!(names[2].as_ref().unwrap().participant_id.as_deref(), Some("b"));
        // 13 of 16 words named from the timeline.
        assert_eq!(attributed_permille(&utts, &names), Some(812));
        assert_eq!(attributed_permille(&[], &[]), None);
        // Without a timeline every numbered speaker is `Speaker N`.
        let names = name_diarized_speakers(&utts[..1], &[]);
        assert_eq!(names[0].as_ref().unwrap().name, "Speaker 1");
        // Ties between participants go to the one seen first in the timeline.
        let tie = name_diarized_speakers(&[u(Some(0), 3000, 5000, 1)], &spans);
        assert_eq!(tie[0].as_ref().unwrap().name, "A");
    }

    #[test]
    fn language_tags() {
        assert_eq!(check_language("en").unwrap(), "en");
        assert_eq!(check_language("EN-gb").unwrap(), "en-GB");
        assert_eq!(check_language("zh-hant-TW").unwrap(), "zh-Hant-TW");
        assert_eq!(check_language("es-419").unwrap(), "es-419");
        assert_eq!(check_language("haw").unwrap(), "haw");
        for bad in ["", "e", "english", "en-", "en-US-US", "en_US", "1a", "en-U5"] {
            assert_eq!(check_language(bad), Err("invalid_language"), "{bad}");
        }
        assert_eq!(check_language("xx"), Err("unsupported_language"));
    }

    #[test]
    fn spans_and_attribution() {
        let m = |p: &str, speaking: bool, at_ms: i64| SpeakerMark {
            participant_id: Some(p.into()),
            name: p.to_uppercase(),
            speaking,
            at_ms,
        };
        let spans = speaking_spans(
            &[
                m("a", true, 0),
                m("a", true, 500),
                m("b", true, 1000),
                m("b", false, 3000),
                m("a", true, 5000),
            ],
            6000,
        );
        let got: Vec<(i64, i64)> = spans.iter().map(|s| (s.start_ms, s.end_ms)).collect();
        assert_eq!(got, [(0, 1000), (1000, 3000), (5000, 6000)]);
        assert_eq!(attribute(&spans, 800, 2500).unwrap().1, "B");
        assert_eq!(attribute(&spans, 0, 900).unwrap().1, "A");
        assert_eq!(attribute(&spans, 3100, 4900), None);
        // A handover seen in one look, in either order: the new speaker's span survives the
        // previous speaker's stop (found with the spoken replica meetings, where it dropped
        // whole lines onto the previous speaker).
        for handover in [
            [m("b", true, 2000), m("a", false, 2000)],
            [m("a", false, 2000), m("b", true, 2000)],
        ] {
            let mut marks = vec![m("a", true, 0)];
            marks.extend(handover);
            marks.push(m("b", false, 4000));
            let spans = speaking_spans(&marks, 6000);
            let got: Vec<(&str, i64, i64)> = spans.iter().map(|s| (s.name.as_str(), s.start_ms, s.end_ms)).collect();
            assert_eq!(got, [("A", 0, 2000), ("B", 2000, 4000)], "{marks:?}");
            assert_eq!(attribute(&spans, 1500, 4500).unwrap().1, "B");
        }
        // Someone else's stop while A speaks leaves A speaking.
        let spans = speaking_spans(&[m("a", true, 0), m("c", false, 1000)], 3000);
        assert_eq!(spans.len(), 1);
        assert_eq!((spans[0].start_ms, spans[0].end_ms), (0, 3000));
    }

    #[test]
    fn formats() {
        let lines = [
            Line {
                speaker: Some("Ada"),
                start_ms: 3_723_004,
                end_ms: 3_725_000,
                text: "Hello\n\nthere <b>",
            },
            Line {
                speaker: None,
                start_ms: 0,
                end_ms: 10,
                text: "",
            },
        ];
        assert_eq!(to_txt(&lines), "[01:02:03] Ada: Hello there <b>\n[00:00:00] …\n");
        assert_eq!(
            to_srt(&lines),
            "1\n01:02:03,004 --> 01:02:05,000\nAda: Hello there <b>\n\n2\n00:00:00,000 --> 00:00:00,010\n…\n\n"
        );
        assert!(to_vtt(&lines).starts_with("WEBVTT\n\n01:02:03.004 --> 01:02:05.000\n<v Ada>Hello there &lt;b&gt;\n"));
    }

    #[test]
    fn wer() {
        assert_eq!(word_error_rate("the cat sat", "The cat, sat."), 0.0);
        assert!((word_error_rate("the cat sat on", "the bat sat") - 0.5).abs() < 1e-9);
        assert_eq!(call_offset_ms(900, 1000), 0);
    }

    fn said<'a>(speaker: &'a str, text: &'a str) -> Said<'a> {
        Said {
            speaker: Some(speaker),
            text,
        }
    }

    #[test]
    fn attribution_counts_aligned_words_under_the_right_speaker() {
        let reference = [
            said("Ada", "good morning everyone"),
            said("Bob", "hello Ada how are you"),
        ];
        // Perfect, whatever the segmentation and punctuation.
        let same = [
            said("Ada", "Good morning,"),
            said("Ada", "everyone."),
            said("Bob", "Hello, Ada. How are you?"),
        ];
        assert_eq!(attribution_accuracy(&reference, &same), Some(1.0));
        // One segment spanning the turn change: Bob's five words go to Ada.
        let merged = [said("Ada", "good morning everyone hello Ada how are you")];
        assert_eq!(attribution_accuracy(&reference, &merged), Some(3.0 / 8.0));
        // Wrong words still count by who said them; missing words do not count at all.
        let sloppy = [said("Ada", "good mourning"), said("Bob", "hello Ada how are ewe")];
        assert_eq!(attribution_accuracy(&reference, &sloppy), Some(1.0));
        // Unattributed text is never right.
        let unnamed = [Said {
            speaker: None,
            text: "good morning everyone",
        }];
        assert_eq!(attribution_accuracy(&reference, &unnamed), Some(0.0));
        assert_eq!(attribution_accuracy(&reference, &[]), None);
        assert_eq!(attribution_accuracy(&[], &same), None);
        // Inserted words (not in the reference) do not shift who said what.
        let extra = [
            said("Carol", "um"),
            said("Ada", "good morning everyone"),
            said("Bob", "hello Ada how are you"),
        ];
        assert_eq!(attribution_accuracy(&reference, &extra), Some(1.0));
    }
}

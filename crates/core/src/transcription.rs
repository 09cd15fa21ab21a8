//! Transcription: the create-request option, its validation, transcript vocabulary and
//! the pure helpers (caption times, speaker attribution, text formats, word error rate).

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
    /// server while the call runs (captions are read by the bot; Deepgram's streaming
    /// client is not built yet).
    pub fn streams_audio(self) -> bool {
        self == Self::Openai
    }
}

/// Which server-side providers are configured (their credentials/URLs are set).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProvidersConfigured {
    pub openai: bool,
    pub deepgram: bool,
}

impl ProvidersConfigured {
    /// The setting a provider needs that is not set, if any.
    pub fn missing_setting(self, provider: TranscriptionProvider) -> Option<&'static str> {
        match provider {
            TranscriptionProvider::MeetingCaptions => None,
            TranscriptionProvider::Openai => (!self.openai).then_some("TRANSCRIPTION_OPENAI_URL"),
            TranscriptionProvider::Deepgram => (!self.deepgram).then_some("DEEPGRAM_API_KEY"),
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
                None if p == TranscriptionProvider::Deepgram => {
                    errors.push(
                        "transcription.provider",
                        "provider_not_available",
                        "the deepgram provider is not available in this version yet; use meeting_captions or openai",
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
            Ok(tag) => Some(tag),
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
        (Some(TranscriptionProvider::Openai), Some(true)) => true,
        (Some(p), Some(true)) => {
            errors.push(
                "transcription.realtime",
                "unsupported",
                format!(
                    "real-time transcription with {} is not available yet; omit transcription.realtime for a \
                     transcript after the call",
                    p.as_str()
                ),
            );
            true
        }
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
/// time); `speaking: false` ends the person's span; an open span ends at `end_ms`.
pub fn speaking_spans(marks: &[SpeakerMark], end_ms: i64) -> Vec<SpeakingSpan> {
    let mut spans = Vec::new();
    let mut open: Option<SpeakingSpan> = None;
    let key = |p: &Option<String>, n: &str| p.clone().unwrap_or_else(|| format!("name:{n}"));
    for m in marks {
        if let Some(cur) = open.take() {
            let same = key(&cur.participant_id, &cur.name) == key(&m.participant_id, &m.name);
            if same && m.speaking {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> ProvidersConfigured {
        ProvidersConfigured {
            openai: true,
            deepgram: true,
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
        assert!(e.errors[0].message.contains("DEEPGRAM_API_KEY"));
        let mut e = ValidationErrors::default();
        validate_transcription(input("deepgram", None, None), all(), &mut e);
        assert_eq!(
            fields(&e),
            [("transcription.provider".into(), "provider_not_available")]
        );
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
}

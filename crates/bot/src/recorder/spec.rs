//! `RECORDING_MODE`: what to record, and at what size and frame rate.
//!
//! The plain forms are the API's modes (`none`, `audio`, `video`); the JSON form lets a
//! deployment pick the video geometry (`{"mode":"video","width":1280,"height":720,"fps":15}`),
//! every field but `mode` optional. Anything else is refused at start, with the reason, so
//! a typo never turns into a bot that silently records nothing.

use meeboter_core::RecordingMode;
use serde::Deserialize;

/// Width of the recorded screen unless configured.
pub const DEFAULT_WIDTH: u32 = 1280;
/// Height of the recorded screen unless configured.
pub const DEFAULT_HEIGHT: u32 = 720;
/// Frames per second unless configured: meetings are mostly still faces and slides.
pub const DEFAULT_FPS: u32 = 15;

/// Accepted widths: from a thumbnail to full HD (larger costs more CPU than a bot has).
pub const WIDTHS: std::ops::RangeInclusive<u32> = 320..=1920;
/// Accepted heights.
pub const HEIGHTS: std::ops::RangeInclusive<u32> = 240..=1080;
/// Accepted frame rates.
pub const FPS: std::ops::RangeInclusive<u32> = 1..=30;

/// What the bot records (parsed `RECORDING_MODE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingSpec {
    pub mode: RecordingMode,
    /// The virtual screen and the video size (also used in audio mode for the screen).
    pub width: u32,
    pub height: u32,
    /// Video frames per second.
    pub fps: u32,
}

impl Default for RecordingSpec {
    /// Nothing is recorded unless asked for: a bot without `RECORDING_MODE` joins only.
    fn default() -> Self {
        Self::with_mode(RecordingMode::None)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonForm {
    mode: String,
    width: Option<u32>,
    height: Option<u32>,
    fps: Option<u32>,
}

impl RecordingSpec {
    /// `mode` at the default size and frame rate.
    pub fn with_mode(mode: RecordingMode) -> Self {
        Self {
            mode,
            width: DEFAULT_WIDTH,
            height: DEFAULT_HEIGHT,
            fps: DEFAULT_FPS,
        }
    }

    /// Parses `none` | `audio` | `video` | the JSON form; the error says what is wrong.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if !raw.starts_with('{') {
            return RecordingMode::parse(raw)
                .map(Self::with_mode)
                .ok_or_else(|| "is not none, audio, video or a JSON object".to_string());
        }
        let form: JsonForm = serde_json::from_str(raw).map_err(|e| format!("is not a valid JSON form: {e}"))?;
        let mode = RecordingMode::parse(&form.mode)
            .ok_or_else(|| format!("has mode `{}`, which is not none, audio or video", form.mode))?;
        if mode != RecordingMode::Video && (form.width.is_some() || form.height.is_some() || form.fps.is_some()) {
            return Err(format!(
                "sets width, height or fps, which only apply to video (mode is `{}`)",
                mode.as_str()
            ));
        }
        let spec = Self {
            mode,
            width: form.width.unwrap_or(DEFAULT_WIDTH),
            height: form.height.unwrap_or(DEFAULT_HEIGHT),
            fps: form.fps.unwrap_or(DEFAULT_FPS),
        };
        let mut problems = Vec::new();
        for (name, value, range) in [("width", spec.width, WIDTHS), ("height", spec.height, HEIGHTS)] {
            if !range.contains(&value) {
                problems.push(format!("{name} {value} is outside {}..={}", range.start(), range.end()));
            } else if value % 2 == 1 {
                // H.264 in 4:2:0 needs even dimensions.
                problems.push(format!("{name} {value} is odd (it must be even)"));
            }
        }
        if !FPS.contains(&spec.fps) {
            problems.push(format!("fps {} is outside {}..={}", spec.fps, FPS.start(), FPS.end()));
        }
        if problems.is_empty() {
            Ok(spec)
        } else {
            Err(format!("is invalid: {}", problems.join(", ")))
        }
    }

    /// Whether anything is captured (audio or video).
    pub fn records(&self) -> bool {
        self.mode != RecordingMode::None
    }

    /// The MIME type of the uploaded chunks.
    pub fn content_type(&self) -> &'static str {
        match self.mode {
            RecordingMode::Video => "video/mp4",
            _ => "audio/mp4",
        }
    }

    /// Frames between key frames: one every 2 s, so a player can seek within a segment.
    pub fn gop(&self) -> u32 {
        self.fps * 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_modes_use_the_default_geometry() {
        for (raw, mode) in [
            ("none", RecordingMode::None),
            ("audio", RecordingMode::Audio),
            (" video ", RecordingMode::Video),
        ] {
            let spec = RecordingSpec::parse(raw).unwrap();
            assert_eq!(spec, RecordingSpec::with_mode(mode));
            assert_eq!((spec.width, spec.height, spec.fps), (1280, 720, 15));
        }
        assert!(!RecordingSpec::default().records());
        assert!(RecordingSpec::parse("audio").unwrap().records());
        assert_eq!(RecordingSpec::parse("audio").unwrap().content_type(), "audio/mp4");
        assert_eq!(RecordingSpec::parse("video").unwrap().content_type(), "video/mp4");
        assert_eq!(RecordingSpec::parse("video").unwrap().gop(), 30);
    }

    #[test]
    fn the_json_form_sets_the_geometry() {
        let spec = RecordingSpec::parse(r#"{"mode":"video","width":1920,"height":1080,"fps":30}"#).unwrap();
        assert_eq!(
            (spec.mode, spec.width, spec.height, spec.fps),
            (RecordingMode::Video, 1920, 1080, 30)
        );
        let spec = RecordingSpec::parse(r#"{"mode":"video","fps":10}"#).unwrap();
        assert_eq!((spec.width, spec.height, spec.fps), (1280, 720, 10));
        assert_eq!(
            RecordingSpec::parse(r#"{"mode":"audio"}"#).unwrap(),
            RecordingSpec::with_mode(RecordingMode::Audio)
        );
    }

    #[test]
    fn bad_values_say_what_is_wrong() {
        for (raw, needle) in [
            ("hd", "is not none, audio, video"),
            ("VIDEO", "is not none, audio, video"),
            (r#"{"mode":"hologram"}"#, "mode `hologram`"),
            (r#"{"width":1280}"#, "missing field `mode`"),
            (r#"{"mode":"video","bitrate":5}"#, "unknown field `bitrate`"),
            (r#"{"mode":"video","width":-2}"#, "invalid value"),
            (r#"{"mode":"video","width":1281}"#, "width 1281 is odd"),
            (
                r#"{"mode":"video","width":8000,"fps":0}"#,
                "width 8000 is outside 320..=1920, fps 0",
            ),
            (r#"{"mode":"video","height":100}"#, "height 100 is outside"),
            (r#"{"mode":"audio","fps":15}"#, "only apply to video"),
            (r#"{"mode":"video""#, "is not a valid JSON form"),
        ] {
            let err = RecordingSpec::parse(raw).unwrap_err();
            assert!(err.contains(needle), "{raw}: `{err}` lacks `{needle}`");
        }
    }
}

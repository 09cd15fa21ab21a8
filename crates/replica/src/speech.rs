//! Speech for the replica meetings: a short scripted conversation with known words, spoken by
//! `espeak-ng` voices, so transcripts of a replica meeting (from its captions or from the
//! recording's audio) can be scored against what was really said.
//!
//! `espeak-ng` runs when a script is first played and its WAV files are cached on disk by a
//! hash of (voice, rate, text), so a second run costs nothing and gives the same audio. The
//! pages fetch a line's WAV from the control API and play it through the call's audio (the
//! same Web Audio output as the tone), while the speaker's tile shows them speaking and the
//! caption region shows the line word by word.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One line of the script: who says it, with which `espeak-ng` voice, and the words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScriptLine {
    pub speaker: &'static str,
    pub voice: &'static str,
    pub text: &'static str,
}

/// The conversation `POST /_replica/{code}/speech` plays: three people, distinct voices,
/// everyday words (no numerals or abbreviations, so a correct transcript has exactly these
/// words), about 45 seconds in all.
pub const SCRIPT: [ScriptLine; 9] = [
    ScriptLine {
        speaker: "Ada Lovelace",
        voice: "en-us+f3",
        text: "Good morning everyone, thank you for joining the weekly planning meeting.",
    },
    ScriptLine {
        speaker: "Charles Babbage",
        voice: "en-gb+m3",
        text: "Good morning. The new release is almost ready and the tests are passing.",
    },
    ScriptLine {
        speaker: "Grace Hopper",
        voice: "en-us+f5",
        text: "I found a small problem in the login page yesterday and fixed it this morning.",
    },
    ScriptLine {
        speaker: "Ada Lovelace",
        voice: "en-us+f3",
        text: "That is great news. When can we ship the release to our customers?",
    },
    ScriptLine {
        speaker: "Charles Babbage",
        voice: "en-gb+m3",
        text: "We can ship it on Friday if the review goes well.",
    },
    ScriptLine {
        speaker: "Grace Hopper",
        voice: "en-us+f5",
        text: "I will write the release notes and send them to the team tomorrow.",
    },
    ScriptLine {
        speaker: "Ada Lovelace",
        voice: "en-us+f3",
        text: "Please also update the documentation before the end of the week.",
    },
    ScriptLine {
        speaker: "Charles Babbage",
        voice: "en-gb+m3",
        text: "Of course. I will ask the design team to check the new screens.",
    },
    ScriptLine {
        speaker: "Grace Hopper",
        voice: "en-us+f5",
        text: "Thank you all. Let us meet again next Monday at the same time.",
    },
];

/// Speaking rate given to `espeak-ng` (words per minute): an ordinary conversational pace.
pub const WORDS_PER_MINUTE: u32 = 160;

/// Silence between two lines: long enough that speaking indicators (debounced by bots) and
/// transcription segments separate the speakers.
pub const GAP: Duration = Duration::from_millis(900);

/// Time between the request and the first line, so every page has fetched the audio before
/// it starts (pages poll every 250 ms).
pub const LEAD: Duration = Duration::from_millis(1500);

/// `espeak-ng` gets this long per line before it is killed.
const SYNTH_TIMEOUT: Duration = Duration::from_secs(20);

/// A synthesized line: its WAV in the cache and how long it plays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Synthesized {
    pub key: String,
    pub duration: Duration,
}

/// Where WAV files are cached: `MEEBOTER_REPLICA_SPEECH_DIR`, else a directory in the
/// system's temporary directory (shared by every replica on the machine; files are written
/// atomically, so concurrent replicas agree).
pub fn cache_dir() -> PathBuf {
    std::env::var_os("MEEBOTER_REPLICA_SPEECH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("meeboter-replica-speech"))
}

/// The cache key of a line: FNV-1a over what determines the audio. A stable hash (unlike
/// std's), so the cache survives rebuilds.
pub fn key(voice: &str, text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in format!("espeak-ng\0{voice}\0{WORDS_PER_MINUTE}\0{text}").bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

/// The cached WAV of a key, if the key is well-formed (keys come from URLs).
pub fn wav_path(key: &str) -> Option<PathBuf> {
    (key.len() == 16 && key.bytes().all(|b| b.is_ascii_hexdigit())).then(|| cache_dir().join(format!("{key}.wav")))
}

/// How long a PCM WAV plays: its `data` chunk's size over the `fmt` chunk's byte rate.
pub fn wav_duration(bytes: &[u8]) -> Option<Duration> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return None;
    }
    let u32_at = |at: usize| -> Option<u32> { Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)) };
    let mut at = 12;
    let mut byte_rate = None;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let size = u32_at(at + 4)? as usize;
        let body = at + 8;
        if id == b"fmt " {
            byte_rate = u32_at(body + 8);
        } else if id == b"data" {
            // espeak-ng writing to a pipe leaves the size unset; count what is there then.
            let size = if size == 0 || size == u32::MAX as usize || body + size > bytes.len() {
                bytes.len() - body
            } else {
                size
            };
            let rate = byte_rate.filter(|r| *r > 0)?;
            return Some(Duration::from_secs_f64(size as f64 / f64::from(rate)));
        }
        at = body + size + (size & 1);
    }
    None
}

/// Synthesizes a line (or finds it in the cache).
pub fn synthesize(voice: &str, text: &str) -> Result<Synthesized, String> {
    let key = key(voice, text);
    let dir = cache_dir();
    let path = dir.join(format!("{key}.wav"));
    if let Ok(bytes) = std::fs::read(&path)
        && let Some(duration) = wav_duration(&bytes)
    {
        return Ok(Synthesized { key, duration });
    }
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let partial = dir.join(format!("{key}.{}.part", std::process::id()));
    run_espeak(voice, text, &partial)?;
    let bytes = std::fs::read(&partial).map_err(|e| format!("espeak-ng wrote nothing readable: {e}"))?;
    let duration = wav_duration(&bytes).ok_or("espeak-ng wrote no PCM WAV")?;
    std::fs::rename(&partial, &path).map_err(|e| format!("cannot store {}: {e}", path.display()))?;
    Ok(Synthesized { key, duration })
}

fn run_espeak(voice: &str, text: &str, out: &Path) -> Result<(), String> {
    let mut child = Command::new("espeak-ng")
        .args(["-v", voice, "-s", &WORDS_PER_MINUTE.to_string(), "-w"])
        .arg(out)
        .arg("--")
        .arg(text)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run espeak-ng (install it: apt-get install espeak-ng): {e}"))?;
    let deadline = Instant::now() + SYNTH_TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(status)) => {
                let mut err = String::new();
                if let Some(mut stderr) = child.stderr.take() {
                    let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
                }
                return Err(format!("espeak-ng failed ({status}): {}", err.trim()));
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("espeak-ng took longer than {SYNTH_TIMEOUT:?}"));
            }
            Err(e) => return Err(format!("espeak-ng: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(byte_rate: u32, data: usize) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        v.extend(16u32.to_le_bytes());
        v.extend([1, 0, 1, 0]);
        v.extend((byte_rate / 2).to_le_bytes());
        v.extend(byte_rate.to_le_bytes());
        v.extend([2, 0, 16, 0]);
        v.extend(b"data");
        v.extend(u32::try_from(data).unwrap().to_le_bytes());
        v.extend(vec![0u8; data]);
        v
    }

    #[test]
    fn a_wav_plays_for_its_data_over_its_byte_rate() {
        assert_eq!(wav_duration(&wav(44_100, 44_100)), Some(Duration::from_secs(1)));
        assert_eq!(wav_duration(&wav(32_000, 8_000)), Some(Duration::from_millis(250)));
        assert_eq!(wav_duration(b"RIFF....WAVE"), None);
        assert_eq!(wav_duration(b"not a wav at all"), None);
    }

    #[test]
    fn keys_are_stable_and_only_keys_name_files() {
        assert_eq!(key("en", "hello"), key("en", "hello"));
        assert_ne!(key("en", "hello"), key("en+f3", "hello"));
        assert_eq!(key("en", "hello").len(), 16);
        assert!(wav_path(&key("en", "hello")).is_some());
        assert!(wav_path("../../etc/passwd").is_none());
        assert!(wav_path("0123456789abcdeg").is_none());
    }

    #[test]
    fn the_script_has_three_voices_and_plain_words() {
        let speakers: std::collections::BTreeSet<_> = SCRIPT.iter().map(|l| (l.speaker, l.voice)).collect();
        assert_eq!(speakers.len(), 3);
        assert!(SCRIPT.iter().all(|l| !l.text.chars().any(|c| c.is_ascii_digit())));
    }

    /// The real `espeak-ng` (a prerequisite of the replica): a line becomes a WAV of a
    /// plausible length, and the second time it comes from the cache unchanged.
    #[test]
    fn espeak_ng_speaks_a_line_and_the_cache_keeps_it() {
        let line = &SCRIPT[4];
        let first = synthesize(line.voice, line.text).unwrap();
        let words = line.text.split_whitespace().count() as f64;
        let secs = first.duration.as_secs_f64();
        assert!(
            secs > words * 60.0 / 320.0 && secs < words * 60.0 / 80.0,
            "{secs} s for {words} words"
        );
        let path = wav_path(&first.key).unwrap();
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        assert_eq!(synthesize(line.voice, line.text).unwrap(), first);
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);
    }
}

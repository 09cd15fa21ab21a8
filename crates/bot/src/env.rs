//! The bot's environment: exactly the deployment guide's variables, plus two optional
//! browser settings.

use crate::recorder::RecordingSpec;
use meeboter_core::MeetingPlatform;
use std::path::PathBuf;

/// What a bot is started with.
#[derive(Clone, PartialEq, Eq)]
pub struct BotEnv {
    pub bot_id: String,
    pub meeting_url: String,
    pub platform: MeetingPlatform,
    pub bot_name: String,
    /// Base URL of the control channel, e.g. `https://bots.example.com/api/bot/v1`.
    pub callback_url: String,
    /// The bot's own token (`MILO_AUTH_TOKEN`); never logged.
    pub token: String,
    /// `RECORDING_MODE`: `none` (the default), `audio`, `video`, or the JSON form
    /// (`{"mode":"video","width":…}`), parsed so a bad value stops the bot at start.
    pub recording: RecordingSpec,
    /// `CHROMIUM_PATH`: the browser to run (default: looked up on `PATH`).
    pub chromium_path: Option<PathBuf>,
    /// `BROWSER_EXTRA_ARGS`: flags appended to the browser's command line.
    pub browser_extra_args: Vec<String>,
}

impl std::fmt::Debug for BotEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BotEnv")
            .field("bot_id", &self.bot_id)
            .field("meeting_url", &self.meeting_url)
            .field("platform", &self.platform)
            .field("bot_name", &self.bot_name)
            .field("callback_url", &self.callback_url)
            .field("token", &"<redacted>")
            .field("recording", &self.recording)
            .finish_non_exhaustive()
    }
}

impl BotEnv {
    /// Reads and checks the environment through `get`; every problem is reported at once.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<BotEnv, Vec<String>> {
        let mut problems = Vec::new();
        let mut required = |name: &str| match get(name).map(|v| v.trim().to_string()) {
            Some(v) if !v.is_empty() => v,
            _ => {
                problems.push(format!("{name} is missing"));
                String::new()
            }
        };
        let bot_id = required("BOT_ID");
        let meeting_url = required("MEETING_URL");
        let platform_raw = required("MEETING_PLATFORM");
        let bot_name = required("BOT_NAME");
        let callback_url = required("API_CALLBACK_URL");
        let token = required("MILO_AUTH_TOKEN");
        let recording_raw = get("RECORDING_MODE")
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "none".into());
        let platform = match platform_raw.as_str() {
            "" => None,
            // The guide's short names, plus the API's and the image names' spellings.
            "google-meet" => Some(MeetingPlatform::GoogleMeet),
            "microsoft-teams" => Some(MeetingPlatform::MicrosoftTeams),
            other => {
                let p = MeetingPlatform::parse(other);
                if p.is_none() {
                    problems.push(format!("MEETING_PLATFORM `{other}` is not one of meet, teams, zoom"));
                }
                p
            }
        };
        for (name, value) in [("MEETING_URL", &meeting_url), ("API_CALLBACK_URL", &callback_url)] {
            if !(value.is_empty() || value.starts_with("http://") || value.starts_with("https://")) {
                problems.push(format!("{name} `{value}` must be an http(s) URL"));
            }
        }
        let recording = RecordingSpec::parse(&recording_raw).unwrap_or_else(|reason| {
            problems.push(format!("RECORDING_MODE `{recording_raw}` {reason}"));
            RecordingSpec::default()
        });
        let browser_extra_args = get("BROWSER_EXTRA_ARGS")
            .map(|v| v.split_whitespace().map(str::to_string).collect())
            .unwrap_or_default();
        let chromium_path = get("CHROMIUM_PATH").filter(|v| !v.trim().is_empty()).map(PathBuf::from);
        match (problems.is_empty(), platform) {
            (true, Some(platform)) => Ok(BotEnv {
                bot_id,
                meeting_url,
                platform,
                bot_name,
                callback_url: callback_url.trim_end_matches('/').to_string(),
                token,
                recording,
                chromium_path,
                browser_extra_args,
            }),
            _ => Err(problems),
        }
    }

    /// Reads the process environment.
    pub fn from_process() -> Result<BotEnv, Vec<String>> {
        Self::from_vars(|k| std::env::var(k).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn vars(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        move |k| map.get(k).cloned()
    }

    const FULL: [(&str, &str); 7] = [
        ("BOT_ID", "01a2-bot"),
        ("MEETING_URL", "https://meet.google.com/abc-defg-hij"),
        ("MEETING_PLATFORM", "meet"),
        ("BOT_NAME", "Notetaker"),
        ("API_CALLBACK_URL", "http://127.0.0.1:3000/api/bot/v1/"),
        ("MILO_AUTH_TOKEN", "mbb_secret"),
        ("RECORDING_MODE", "video"),
    ];

    #[test]
    fn the_guides_environment_is_enough() {
        let env = BotEnv::from_vars(vars(&FULL)).unwrap();
        assert_eq!(env.platform, MeetingPlatform::GoogleMeet);
        assert_eq!(env.callback_url, "http://127.0.0.1:3000/api/bot/v1");
        assert!(env.chromium_path.is_none() && env.browser_extra_args.is_empty());
        assert_eq!(env.recording.mode, meeboter_core::RecordingMode::Video);
        let without: Vec<_> = FULL.iter().copied().filter(|(k, _)| *k != "RECORDING_MODE").collect();
        assert!(
            !BotEnv::from_vars(vars(&without)).unwrap().recording.records(),
            "none by default"
        );
        assert!(!format!("{env:?}").contains("mbb_secret"), "the token is never printed");
        for (raw, platform) in [
            ("teams", MeetingPlatform::MicrosoftTeams),
            ("microsoft-teams", MeetingPlatform::MicrosoftTeams),
            ("google-meet", MeetingPlatform::GoogleMeet),
            ("zoom", MeetingPlatform::Zoom),
        ] {
            let mut v = FULL.to_vec();
            v[2] = ("MEETING_PLATFORM", raw);
            assert_eq!(BotEnv::from_vars(vars(&v)).unwrap().platform, platform);
        }
        let mut v = FULL.to_vec();
        v.push(("BROWSER_EXTRA_ARGS", "--lang=de  --window-size=1280,720"));
        v.push(("CHROMIUM_PATH", "/opt/chrome/chrome"));
        v[6] = (
            "RECORDING_MODE",
            r#"{"mode":"video","width":1280,"height":720,"fps":15}"#,
        );
        let env = BotEnv::from_vars(vars(&v)).unwrap();
        assert_eq!(env.recording.fps, 15);
        assert_eq!(env.browser_extra_args, ["--lang=de", "--window-size=1280,720"]);
        assert_eq!(env.chromium_path.unwrap(), PathBuf::from("/opt/chrome/chrome"));
    }

    #[test]
    fn every_problem_is_named() {
        let problems = BotEnv::from_vars(vars(&[
            ("MEETING_URL", "meet.google.com/abc"),
            ("MEETING_PLATFORM", "webex"),
            ("RECORDING_MODE", "hd"),
        ]))
        .unwrap_err();
        let text = problems.join("\n");
        for needle in [
            "BOT_ID is missing",
            "BOT_NAME is missing",
            "API_CALLBACK_URL is missing",
            "MILO_AUTH_TOKEN is missing",
            "MEETING_PLATFORM `webex`",
            "MEETING_URL `meet.google.com/abc` must be an http(s) URL",
            "RECORDING_MODE `hd`",
        ] {
            assert!(text.contains(needle), "`{needle}` not in:\n{text}");
        }
        assert_eq!(problems.len(), 7, "{text}");
        let mut v = FULL.to_vec();
        v[6] = ("RECORDING_MODE", r#"{"mode":"video","fps":99}"#);
        let problems = BotEnv::from_vars(vars(&v)).unwrap_err();
        assert_eq!(
            problems,
            [r#"RECORDING_MODE `{"mode":"video","fps":99}` is invalid: fps 99 is outside 1..=30"#]
        );
    }
}

//! Validation of a create-bot request into a [`NewBot`], with every problem reported.

use crate::bot::{AUTOMATIC_LEAVE_BOUNDS, AutomaticLeave, BotStatus, RecordingMode};
use crate::meeting_url::{MeetingPlatform, MeetingUrl, MeetingUrlError, parse_meeting_url};
use crate::transcription::{ProvidersConfigured, Transcription, TranscriptionInput, validate_transcription};
use crate::validation::ValidationErrors;
use chrono::{DateTime, Duration, Utc};

/// Largest accepted `metadata` object, serialised as compact JSON.
pub const MAX_METADATA_BYTES: usize = 16 * 1024;
/// Longest accepted bot display name, in characters.
pub const MAX_BOT_NAME_CHARS: usize = 100;
/// Longest accepted deduplication key.
pub const MAX_DEDUPLICATION_KEY_LEN: usize = 256;
/// How far ahead a bot may be scheduled.
pub const MAX_SCHEDULE_AHEAD_DAYS: i64 = 365;
/// Display name used when the request does not give one.
pub const DEFAULT_BOT_NAME: &str = "Meeboter";

/// The raw, untrusted fields of a create-bot request, as decoded from JSON.
#[derive(Debug, Clone, Default)]
pub struct CreateBotInput {
    pub meeting_url: Option<String>,
    pub bot_name: Option<String>,
    pub platform: Option<String>,
    pub recording_mode: Option<String>,
    pub join_at: Option<String>,
    pub automatic_leave: AutomaticLeaveInput,
    pub webhook_url: Option<String>,
    pub metadata: Option<serde_json::Value>,
    pub deduplication_key: Option<String>,
    pub priority: Option<i64>,
    /// `transcription` object; `None` when absent (no transcript).
    pub transcription: Option<TranscriptionInput>,
    /// Which server-side transcription providers are configured (not part of the request).
    pub providers_configured: ProvidersConfigured,
}

/// Accepted deployment-queue priorities (higher goes first; default 0).
pub const PRIORITY_RANGE: std::ops::RangeInclusive<i64> = -100..=100;

/// Raw automatic-leave overrides; absent fields take the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct AutomaticLeaveInput {
    pub waiting_room_timeout_secs: Option<i64>,
    pub noone_joined_timeout_secs: Option<i64>,
    pub everyone_left_timeout_secs: Option<i64>,
    pub max_duration_secs: Option<i64>,
}

/// A validated bot, ready to be stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewBot {
    pub meeting: MeetingUrl,
    pub bot_name: String,
    pub recording_mode: RecordingMode,
    /// `None` means "join now". Times in the past are treated as now.
    pub join_at: Option<DateTime<Utc>>,
    pub automatic_leave: AutomaticLeave,
    pub webhook_url: Option<String>,
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub deduplication_key: Option<String>,
    /// Deployment-queue priority; higher goes first.
    pub priority: i64,
    /// Transcription option; `None` means no transcript.
    pub transcription: Option<Transcription>,
}

impl NewBot {
    /// The status a bot starts in: `SCHEDULED` when it should join later, else `QUEUED`
    /// (waiting for the deployment layer to give it capacity).
    pub fn initial_status(&self, now: DateTime<Utc>) -> BotStatus {
        match self.join_at {
            Some(at) if at > now => BotStatus::Scheduled,
            _ => BotStatus::Queued,
        }
    }
}

/// A `joinAt` up to this many minutes in the past means "now"; older is refused.
pub const JOIN_AT_LATE_MINUTES: i64 = 5;

/// Checks every field of `input` and reports all problems at once.
pub fn validate_create_bot(input: CreateBotInput, now: DateTime<Utc>) -> Result<NewBot, ValidationErrors> {
    validate_create_bot_with(input, now, None)
}

/// A meeting link as `POST /api/bots` reads it: one of the server's own test meetings
/// (when `test_meeting_origin` is set) or a Meet/Teams/Zoom link; on failure the
/// validation code and a message that says what is wrong.
pub fn resolve_meeting_url(raw: &str, test_meeting_origin: Option<&str>) -> Result<MeetingUrl, (&'static str, String)> {
    if let Some(m) = test_meeting_origin.and_then(|origin| crate::meeting_url::parse_test_meeting_url(raw, origin)) {
        return Ok(m);
    }
    parse_meeting_url(raw).map_err(|e| {
        let code = match e {
            MeetingUrlError::Empty => "required",
            MeetingUrlError::TooLong => "too_long",
            _ => "unsupported_meeting_url",
        };
        (code, e.to_string())
    })
}

/// [`validate_create_bot`], also accepting the server's own test meetings when
/// `test_meeting_origin` (the server's public URL) is given.
pub fn validate_create_bot_with(
    input: CreateBotInput,
    now: DateTime<Utc>,
    test_meeting_origin: Option<&str>,
) -> Result<NewBot, ValidationErrors> {
    let mut errors = ValidationErrors::default();

    let meeting = match input.meeting_url.as_deref() {
        None => {
            errors.push("meetingUrl", "required", "meetingUrl is required");
            None
        }
        Some(raw) => match resolve_meeting_url(raw, test_meeting_origin) {
            Ok(m) => Some(m),
            Err((code, message)) => {
                errors.push("meetingUrl", code, message);
                None
            }
        },
    };

    if let Some(raw) = input.platform.as_deref() {
        match MeetingPlatform::parse(raw) {
            None => errors.push(
                "platform",
                "invalid_value",
                format!("platform must be one of google_meet, microsoft_teams, zoom (got `{raw}`)"),
            ),
            Some(p) => {
                if let Some(m) = &meeting
                    && m.platform != p
                {
                    errors.push(
                        "platform",
                        "platform_mismatch",
                        format!(
                            "platform is `{p}` ({}) but meetingUrl is a {} link",
                            p.display_name(),
                            m.platform.display_name()
                        ),
                    );
                }
            }
        }
    }

    let bot_name = match input.bot_name {
        None => DEFAULT_BOT_NAME.to_string(),
        Some(name) => {
            let name = name.trim().to_string();
            if name.is_empty() {
                errors.push("botName", "required", "botName must not be blank");
            } else if name.chars().count() > MAX_BOT_NAME_CHARS {
                errors.push(
                    "botName",
                    "too_long",
                    format!("botName must be at most {MAX_BOT_NAME_CHARS} characters"),
                );
            } else if name.chars().any(char::is_control) {
                errors.push(
                    "botName",
                    "invalid_value",
                    "botName must not contain control characters",
                );
            }
            name
        }
    };

    let recording_mode = match input.recording_mode.as_deref() {
        None => RecordingMode::default(),
        Some(raw) => RecordingMode::parse(raw).unwrap_or_else(|| {
            errors.push(
                "recordingMode",
                "invalid_value",
                format!("recordingMode must be one of none, audio, video (got `{raw}`)"),
            );
            RecordingMode::default()
        }),
    };

    let join_at = match input.join_at.as_deref() {
        None => None,
        Some(raw) => match DateTime::parse_from_rfc3339(raw) {
            Err(_) => {
                errors.push(
                    "joinAt",
                    "invalid_timestamp",
                    format!("joinAt must be an RFC 3339 timestamp such as 2026-01-31T15:00:00Z (got `{raw}`)"),
                );
                None
            }
            Ok(t) => {
                let t = t.with_timezone(&Utc);
                if t > now + Duration::days(MAX_SCHEDULE_AHEAD_DAYS) {
                    errors.push(
                        "joinAt",
                        "out_of_range",
                        format!("joinAt must be within {MAX_SCHEDULE_AHEAD_DAYS} days from now"),
                    );
                } else if t < now - Duration::minutes(JOIN_AT_LATE_MINUTES) {
                    // A slightly late request (clock skew, a slow queue) joins now; one far in
                    // the past is almost certainly a mistake (wrong date, time zone or unit).
                    errors.push(
                        "joinAt",
                        "in_the_past",
                        format!("joinAt is more than {JOIN_AT_LATE_MINUTES} minutes in the past; omit it to join now"),
                    );
                }
                Some(t)
            }
        },
    };

    let automatic_leave = validate_automatic_leave(input.automatic_leave, &mut errors);

    let webhook_url = input.webhook_url.and_then(|raw| match validate_webhook_url(&raw) {
        Ok(u) => Some(u),
        Err(msg) => {
            errors.push("webhookUrl", "invalid_url", msg);
            None
        }
    });

    let metadata = match input.metadata {
        None | Some(serde_json::Value::Null) => serde_json::Map::new(),
        Some(serde_json::Value::Object(map)) => {
            let size = serde_json::to_vec(&map).map(|v| v.len()).unwrap_or(usize::MAX);
            if size > MAX_METADATA_BYTES {
                errors.push(
                    "metadata",
                    "too_large",
                    format!("metadata is {size} bytes; at most {MAX_METADATA_BYTES} bytes of JSON are allowed"),
                );
            }
            map
        }
        Some(_) => {
            errors.push("metadata", "invalid_type", "metadata must be a JSON object");
            serde_json::Map::new()
        }
    };

    let deduplication_key = match input.deduplication_key {
        None => None,
        Some(key) if key.is_empty() || key.len() > MAX_DEDUPLICATION_KEY_LEN => {
            errors.push(
                "deduplicationKey",
                "invalid_length",
                format!("deduplicationKey must be 1 to {MAX_DEDUPLICATION_KEY_LEN} bytes"),
            );
            None
        }
        Some(key) => Some(key),
    };

    let priority = input.priority.unwrap_or(0);
    if !PRIORITY_RANGE.contains(&priority) {
        errors.push("priority", "out_of_range", "priority must be between -100 and 100");
    }

    let transcription = input
        .transcription
        .and_then(|t| validate_transcription(t, input.providers_configured, &mut errors));
    if let Some(t) = &transcription
        && t.provider.needs_audio()
        && recording_mode == RecordingMode::None
    {
        errors.push(
            "transcription.provider",
            "requires_recording",
            format!(
                "the {} provider transcribes the recording's audio: set recordingMode to audio or video",
                t.provider.as_str()
            ),
        );
    }

    match meeting {
        Some(meeting) if errors.is_empty() => Ok(NewBot {
            meeting,
            bot_name,
            recording_mode,
            join_at,
            automatic_leave,
            webhook_url,
            metadata,
            deduplication_key,
            priority,
            transcription,
        }),
        _ => Err(errors),
    }
}

fn validate_automatic_leave(input: AutomaticLeaveInput, errors: &mut ValidationErrors) -> AutomaticLeave {
    let defaults = AutomaticLeave::default().values();
    let raw = [
        input.waiting_room_timeout_secs,
        input.noone_joined_timeout_secs,
        input.everyone_left_timeout_secs,
        input.max_duration_secs,
    ];
    let mut out = [0u32; 4];
    for (i, ((name, min, max), value)) in AUTOMATIC_LEAVE_BOUNDS.iter().zip(raw).enumerate() {
        out[i] = match value {
            None => defaults[i],
            Some(v) if v >= i64::from(*min) && v <= i64::from(*max) => v as u32,
            Some(v) => {
                errors.push(
                    format!("automaticLeave.{name}"),
                    "out_of_range",
                    format!("{name} must be between {min} and {max} seconds (got {v})"),
                );
                defaults[i]
            }
        };
    }
    AutomaticLeave {
        waiting_room_timeout_secs: out[0],
        noone_joined_timeout_secs: out[1],
        everyone_left_timeout_secs: out[2],
        max_duration_secs: out[3],
    }
}

/// A webhook target must be an absolute `http(s)` URL with a host and no credentials.
pub fn validate_webhook_url(raw: &str) -> Result<String, String> {
    if raw.len() > 2048 {
        return Err("webhookUrl must be at most 2048 bytes".into());
    }
    let url = url::Url::parse(raw).map_err(|e| format!("webhookUrl is not a valid URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("webhookUrl must use http or https".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("webhookUrl must have a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("webhookUrl must not contain credentials".into());
    }
    Ok(url.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn input(url: &str) -> CreateBotInput {
        CreateBotInput {
            meeting_url: Some(url.into()),
            ..Default::default()
        }
    }

    fn codes(errors: &ValidationErrors) -> Vec<(String, &'static str)> {
        errors.errors.iter().map(|e| (e.field.clone(), e.code)).collect()
    }

    #[test]
    fn minimal_request_gets_defaults() {
        let bot = validate_create_bot(input("meet.google.com/abc-defg-hij"), now()).unwrap();
        assert_eq!(bot.bot_name, "Meeboter");
        assert_eq!(bot.recording_mode, RecordingMode::Video);
        assert_eq!(bot.automatic_leave, AutomaticLeave::default());
        assert_eq!(bot.meeting.platform, MeetingPlatform::GoogleMeet);
        assert_eq!(bot.initial_status(now()), BotStatus::Queued);
        assert!(bot.metadata.is_empty());
    }

    #[test]
    fn missing_url_is_required() {
        let err = validate_create_bot(CreateBotInput::default(), now()).unwrap_err();
        assert_eq!(codes(&err), vec![("meetingUrl".to_string(), "required")]);
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut i = input("https://example.com/meeting");
        i.bot_name = Some("   ".into());
        i.platform = Some("webex".into());
        i.recording_mode = Some("hologram".into());
        i.join_at = Some("tomorrow".into());
        i.automatic_leave.max_duration_secs = Some(-5);
        i.automatic_leave.waiting_room_timeout_secs = Some(1_000_000);
        i.webhook_url = Some("ftp://x".into());
        i.metadata = Some(serde_json::json!([1, 2]));
        i.deduplication_key = Some(String::new());
        let err = validate_create_bot(i, now()).unwrap_err();
        let fields: Vec<String> = err.errors.iter().map(|e| e.field.clone()).collect();
        assert_eq!(
            fields,
            [
                "meetingUrl",
                "platform",
                "botName",
                "recordingMode",
                "joinAt",
                "automaticLeave.waitingRoomTimeoutSecs",
                "automaticLeave.maxDurationSecs",
                "webhookUrl",
                "metadata",
                "deduplicationKey"
            ]
        );
    }

    #[test]
    fn platform_must_match_url() {
        let mut i = input("https://zoom.us/j/123456789");
        i.platform = Some("google_meet".into());
        let err = validate_create_bot(i.clone(), now()).unwrap_err();
        assert_eq!(codes(&err), vec![("platform".to_string(), "platform_mismatch")]);
        i.platform = Some("zoom".into());
        assert!(validate_create_bot(i, now()).is_ok());
    }

    #[test]
    fn join_at_future_schedules_and_past_joins_now() {
        let mut i = input("https://zoom.us/j/123456789");
        i.join_at = Some("2026-06-01T13:00:00+01:00".into()); // == 12:00Z, i.e. now
        assert_eq!(
            validate_create_bot(i.clone(), now()).unwrap().initial_status(now()),
            BotStatus::Queued
        );
        i.join_at = Some("2026-06-02T12:00:00Z".into());
        assert_eq!(
            validate_create_bot(i.clone(), now()).unwrap().initial_status(now()),
            BotStatus::Scheduled
        );
        i.join_at = Some("2028-06-02T12:00:00Z".into());
        let err = validate_create_bot(i.clone(), now()).unwrap_err();
        assert_eq!(codes(&err), vec![("joinAt".to_string(), "out_of_range")]);
        // Up to five minutes late is now; older is a mistake, named.
        i.join_at = Some("2026-06-01T11:55:00Z".into());
        assert_eq!(
            validate_create_bot(i.clone(), now()).unwrap().initial_status(now()),
            BotStatus::Queued
        );
        i.join_at = Some("2026-06-01T11:54:59Z".into());
        let err = validate_create_bot(i, now()).unwrap_err();
        assert_eq!(codes(&err), vec![("joinAt".to_string(), "in_the_past")]);
    }

    #[test]
    fn metadata_size_limit() {
        let mut i = input("https://zoom.us/j/123456789");
        i.metadata = Some(serde_json::json!({ "k": "x".repeat(MAX_METADATA_BYTES - 20) }));
        assert!(validate_create_bot(i.clone(), now()).is_ok());
        i.metadata = Some(serde_json::json!({ "k": "x".repeat(MAX_METADATA_BYTES) }));
        let err = validate_create_bot(i, now()).unwrap_err();
        assert_eq!(codes(&err), vec![("metadata".to_string(), "too_large")]);
    }

    #[test]
    fn bot_name_is_trimmed_and_limited() {
        let mut i = input("https://zoom.us/j/123456789");
        i.bot_name = Some("  Note Taker  ".into());
        assert_eq!(validate_create_bot(i.clone(), now()).unwrap().bot_name, "Note Taker");
        i.bot_name = Some("é".repeat(MAX_BOT_NAME_CHARS));
        assert!(validate_create_bot(i.clone(), now()).is_ok());
        i.bot_name = Some("é".repeat(MAX_BOT_NAME_CHARS + 1));
        assert!(validate_create_bot(i.clone(), now()).is_err());
        i.bot_name = Some("bad\u{0}name".into());
        assert!(validate_create_bot(i, now()).is_err());
    }

    #[test]
    fn automatic_leave_bounds_are_inclusive() {
        for (idx, (_, min, max)) in AUTOMATIC_LEAVE_BOUNDS.iter().enumerate() {
            for (v, ok) in [
                (*min as i64, true),
                (*max as i64, true),
                (*min as i64 - 1, false),
                (*max as i64 + 1, false),
            ] {
                let mut i = input("https://zoom.us/j/123456789");
                let slot = match idx {
                    0 => &mut i.automatic_leave.waiting_room_timeout_secs,
                    1 => &mut i.automatic_leave.noone_joined_timeout_secs,
                    2 => &mut i.automatic_leave.everyone_left_timeout_secs,
                    _ => &mut i.automatic_leave.max_duration_secs,
                };
                *slot = Some(v);
                assert_eq!(validate_create_bot(i, now()).is_ok(), ok, "field {idx} value {v}");
            }
        }
    }

    #[test]
    fn webhook_urls() {
        assert!(validate_webhook_url("https://example.com/hook").is_ok());
        assert!(validate_webhook_url("http://127.0.0.1:8080/x").is_ok());
        assert!(validate_webhook_url("https://u:p@example.com/").is_err());
        assert!(validate_webhook_url("mailto:x@example.com").is_err());
        assert!(validate_webhook_url("not a url").is_err());
    }
}

//! Bot vocabulary: statuses, recording modes, automatic-leave settings.

use std::fmt;

/// Where a bot is in its life.
///
/// The deployment guide's lifecycle is `DEPLOYING → JOINING_CALL → IN_WAITING_ROOM →
/// IN_CALL → ENDED`, any → `FATAL`; we add `SCHEDULED` (waiting for `joinAt`),
/// `QUEUED` (waiting for capacity) and `LEAVING`. `ENDED` and `FATAL` are terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BotStatus {
    Scheduled,
    Queued,
    Deploying,
    JoiningCall,
    InWaitingRoom,
    InCall,
    Leaving,
    Ended,
    Fatal,
}

impl BotStatus {
    pub const ALL: [BotStatus; 9] = [
        Self::Scheduled,
        Self::Queued,
        Self::Deploying,
        Self::JoiningCall,
        Self::InWaitingRoom,
        Self::InCall,
        Self::Leaving,
        Self::Ended,
        Self::Fatal,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Queued => "QUEUED",
            Self::Deploying => "DEPLOYING",
            Self::JoiningCall => "JOINING_CALL",
            Self::InWaitingRoom => "IN_WAITING_ROOM",
            Self::InCall => "IN_CALL",
            Self::Leaving => "LEAVING",
            Self::Ended => "ENDED",
            Self::Fatal => "FATAL",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    /// Terminal statuses are sticky: nothing moves a bot out of them.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Ended | Self::Fatal)
    }
}

impl fmt::Display for BotStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the bot records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RecordingMode {
    None,
    Audio,
    #[default]
    Video,
}

impl RecordingMode {
    pub const ALL: [RecordingMode; 3] = [Self::None, Self::Audio, Self::Video];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Audio => "audio",
            Self::Video => "video",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

/// When a bot leaves by itself. All values in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutomaticLeave {
    /// Give up if not admitted from the waiting room within this time.
    pub waiting_room_timeout_secs: u32,
    /// Leave if nobody else joins within this time after the bot got in.
    pub noone_joined_timeout_secs: u32,
    /// Leave this long after the last other participant left.
    pub everyone_left_timeout_secs: u32,
    /// Leave after this long in the call, whatever happens.
    pub max_duration_secs: u32,
}

impl Default for AutomaticLeave {
    fn default() -> Self {
        Self {
            waiting_room_timeout_secs: 1200,
            noone_joined_timeout_secs: 600,
            everyone_left_timeout_secs: 60,
            max_duration_secs: 14_400,
        }
    }
}

/// Accepted range for each automatic-leave field: `(api name, min, max)`.
///
/// The bounds keep a bot from leaving before it can possibly be admitted and from
/// staying longer than a day, the longest meeting anyone has asked us to record.
pub const AUTOMATIC_LEAVE_BOUNDS: [(&str, u32, u32); 4] = [
    ("waitingRoomTimeoutSecs", 10, 86_400),
    ("nooneJoinedTimeoutSecs", 10, 86_400),
    ("everyoneLeftTimeoutSecs", 1, 86_400),
    ("maxDurationSecs", 60, 86_400),
];

impl AutomaticLeave {
    /// The fields in the same order as [`AUTOMATIC_LEAVE_BOUNDS`].
    pub fn values(&self) -> [u32; 4] {
        [
            self.waiting_room_timeout_secs,
            self.noone_joined_timeout_secs,
            self.everyone_left_timeout_secs,
            self.max_duration_secs,
        ]
    }
}

/// What a bot is told when it asks (heartbeat, commands poll): the reason to leave, when a
/// leave was requested or it is already `LEAVING` — `user_requested` when none was recorded.
pub fn leave_instruction(status: BotStatus, leave_requested: bool, reason: Option<String>) -> Option<String> {
    (leave_requested || status == BotStatus::Leaving).then(|| reason.unwrap_or_else(|| "user_requested".into()))
}

/// Whether the bot runtime forwards a log line of its own over the control channel as a
/// `log` event: Meeboter's own targets at INFO and above, except the outbox's (which would
/// feed itself). The one rule both sides use, so a platform that also captures the process's
/// output (the local platform) stores every line once.
pub fn bot_forwards_log_line(level: &str, target: &str) -> bool {
    let level_forwarded = ["ERROR", "WARN", "INFO"].iter().any(|l| level.eq_ignore_ascii_case(l));
    level_forwarded && target.starts_with("meeboter") && !target.starts_with("meeboter_bot::outbox")
}

#[cfg(test)]
mod tests {
    #[test]
    fn leave_instructions() {
        assert_eq!(leave_instruction(BotStatus::InCall, false, None), None);
        assert_eq!(
            leave_instruction(BotStatus::InCall, true, None).as_deref(),
            Some("user_requested")
        );
        assert_eq!(
            leave_instruction(BotStatus::InCall, true, Some("max_duration".into())).as_deref(),
            Some("max_duration")
        );
        assert_eq!(
            leave_instruction(BotStatus::Leaving, false, None).as_deref(),
            Some("user_requested")
        );
    }

    #[test]
    fn forwarded_log_lines() {
        assert!(bot_forwards_log_line("WARN", "meeboter_bot::runtime"));
        assert!(bot_forwards_log_line("info", "meeboter_bot::driver"));
        assert!(!bot_forwards_log_line("DEBUG", "meeboter_bot::driver"));
        assert!(!bot_forwards_log_line("WARN", "chromiumoxide::conn"));
        assert!(!bot_forwards_log_line("ERROR", "meeboter_bot::outbox"));
    }

    use super::*;

    #[test]
    fn statuses_round_trip_and_only_two_are_terminal() {
        for s in BotStatus::ALL {
            assert_eq!(BotStatus::parse(s.as_str()), Some(s));
        }
        let terminal: Vec<_> = BotStatus::ALL.into_iter().filter(|s| s.is_terminal()).collect();
        assert_eq!(terminal, vec![BotStatus::Ended, BotStatus::Fatal]);
        assert_eq!(BotStatus::parse("DONE"), None);
    }

    #[test]
    fn recording_modes_round_trip() {
        for m in RecordingMode::ALL {
            assert_eq!(RecordingMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(RecordingMode::default(), RecordingMode::Video);
        assert_eq!(RecordingMode::parse("VIDEO"), None);
    }

    #[test]
    fn default_automatic_leave_is_within_bounds() {
        let values = AutomaticLeave::default().values();
        for ((name, min, max), v) in AUTOMATIC_LEAVE_BOUNDS.iter().zip(values) {
            assert!((*min..=*max).contains(&v), "{name}");
        }
    }
}

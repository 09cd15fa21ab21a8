//! The bot state machine: which status changes are allowed, and who may make them.
//!
//! ```text
//! SCHEDULED ─▶ QUEUED ─▶ DEPLOYING ─▶ JOINING_CALL ─▶ IN_WAITING_ROOM ─▶ IN_CALL ─▶ LEAVING ─▶ ENDED
//!     │           │          │             │                 │              │          │
//!     └───────────┴──────────┴─────────────┴─────────────────┴──────────────┴──────────┴──▶ FATAL / ENDED
//! ```
//!
//! Moves go forward only (a step may be skipped: a bot admitted at once goes
//! `JOINING_CALL → IN_CALL`). `ENDED` and `FATAL` are terminal and sticky: nothing leaves
//! them, so a late `ENDED` can never overwrite a `FATAL` or the reverse. A report that does
//! not fit is refused — the caller records it as an event and answers 409.

use crate::bot::BotStatus;

/// Position on the forward path; terminal statuses sit after every active one.
fn rank(s: BotStatus) -> u8 {
    match s {
        BotStatus::Scheduled => 0,
        BotStatus::Queued => 1,
        BotStatus::Deploying => 2,
        BotStatus::JoiningCall => 3,
        BotStatus::InWaitingRoom => 4,
        BotStatus::InCall => 5,
        BotStatus::Leaving => 6,
        BotStatus::Ended | BotStatus::Fatal => 7,
    }
}

/// Whether `from → to` is a legal change.
pub fn can_transition(from: BotStatus, to: BotStatus) -> bool {
    if from.is_terminal() || from == to {
        return false;
    }
    match to {
        // Terminal states are reachable from every live state.
        BotStatus::Ended | BotStatus::Fatal => true,
        // A scheduled bot becomes due and joins the queue; nothing re-enters scheduling.
        BotStatus::Scheduled => false,
        // A bot whose deployment attempt failed retryably goes back to the queue.
        BotStatus::Queued => matches!(from, BotStatus::Scheduled | BotStatus::Deploying),
        BotStatus::Deploying => matches!(from, BotStatus::Scheduled | BotStatus::Queued),
        // The in-meeting statuses are reached only from a deployed bot, forward only.
        BotStatus::JoiningCall | BotStatus::InWaitingRoom | BotStatus::InCall | BotStatus::Leaving => {
            rank(from) >= rank(BotStatus::Deploying) && rank(to) > rank(from)
        }
    }
}

/// Statuses a bot may report about itself over the control channel. The others
/// (`SCHEDULED`, `QUEUED`, `DEPLOYING`) belong to the control plane.
pub fn bot_may_report(status: BotStatus) -> bool {
    matches!(
        status,
        BotStatus::JoiningCall
            | BotStatus::InWaitingRoom
            | BotStatus::InCall
            | BotStatus::Leaving
            | BotStatus::Ended
            | BotStatus::Fatal
    )
}

/// Statuses in which a bot process is (or should be) running and must heartbeat.
pub fn expects_heartbeats(status: BotStatus) -> bool {
    matches!(
        status,
        BotStatus::JoiningCall | BotStatus::InWaitingRoom | BotStatus::InCall | BotStatus::Leaving
    )
}

/// Well-known sub codes. The vocabulary is **open**: bots and future versions add
/// codes, and clients must treat unknown ones as "other".
pub mod sub_code {
    pub const WAITING_ROOM_TIMEOUT: &str = "waiting_room_timeout";
    pub const NOONE_JOINED: &str = "noone_joined";
    pub const EVERYONE_LEFT: &str = "everyone_left";
    pub const MAX_DURATION: &str = "max_duration";
    pub const KICKED: &str = "kicked";
    pub const MEETING_ENDED: &str = "meeting_ended";
    pub const USER_REQUESTED: &str = "user_requested";
    pub const CANCELLED: &str = "cancelled";
    pub const HEARTBEAT_TIMEOUT: &str = "heartbeat_timeout";
    pub const DEPLOY_FAILED: &str = "deploy_failed";
    pub const DEPLOY_TIMEOUT: &str = "deploy_timeout";
    /// `QUEUED` again after a transient deploy failure (the platform refused for now, or a
    /// Coolify deployment failed); after the attempts the bot ends `deploy_failed`.
    pub const DEPLOY_RETRY: &str = "deploy_retry";
    /// `QUEUED` again: the server died between starting a launch and recording it, and the
    /// platform has no trace of it.
    pub const DEPLOY_INTERRUPTED: &str = "deploy_interrupted";
    pub const QUEUE_TIMEOUT: &str = "queue_timeout";
    pub const MEETING_NOT_FOUND: &str = "meeting_not_found";
    pub const SIGN_IN_REQUIRED: &str = "sign_in_required";
    pub const CAPTCHA: &str = "captcha";
    pub const JOIN_DENIED: &str = "join_denied";
    pub const KNOCKING_DISABLED: &str = "knocking_disabled";
    pub const BROWSER_CRASHED: &str = "browser_crashed";
    pub const PLATFORM_STOPPED: &str = "platform_stopped";
    pub const SCHEDULED_JOIN: &str = "scheduled_join";
    /// Asked to record but could not (no Xvfb, PulseAudio or ffmpeg, or one would not start).
    pub const RECORDING_FAILED: &str = "recording_failed";
    /// No Chromium to run (not installed, or `CHROMIUM_PATH` points at nothing runnable):
    /// the machine's to fix, not the meeting's.
    pub const BROWSER_MISSING: &str = "browser_missing";
    /// The meeting's passcode (Zoom's `pwd`) was refused.
    pub const PASSCODE_WRONG: &str = "passcode_wrong";
    /// The client refused to connect the guest: an organisation's policy, "we couldn't
    /// connect you" (not a person's decision, unlike `join_denied`).
    pub const JOIN_BLOCKED: &str = "join_blocked";
    /// Within seconds of settling, the page showed nothing the bot knows; the failure carries
    /// the page's text, URL, a screenshot and a DOM snapshot.
    pub const UNKNOWN_SCREEN: &str = "unknown_screen";
    /// The meeting's host name could not be resolved (Chromium's DNS error page).
    pub const NETWORK_DNS: &str = "network_dns";
    /// The machine has no network at all.
    pub const NETWORK_OFFLINE: &str = "network_offline";
    /// The host was resolved but not reached: refused, reset, timed out, unreachable.
    pub const NETWORK_UNREACHABLE: &str = "network_unreachable";
    /// A TLS or certificate failure (on a meeting host this means interception).
    pub const NETWORK_TLS: &str = "network_tls";
    /// Blocked by a proxy, an administrator or the browser's own policy.
    pub const NETWORK_BLOCKED: &str = "network_blocked";
    /// The meeting host answered with an HTTP error page.
    pub const HTTP_ERROR: &str = "http_error";
    /// The bot could not write its working files (browser profile, recording parts) in its
    /// temporary directory: read-only or full. The machine's to fix, like `browser_missing`.
    pub const TEMP_DIR_UNWRITABLE: &str = "temp_dir_unwritable";

    /// Every code Meeboter itself emits, for documentation.
    pub const KNOWN: &[&str] = &[
        WAITING_ROOM_TIMEOUT,
        NOONE_JOINED,
        EVERYONE_LEFT,
        MAX_DURATION,
        KICKED,
        MEETING_ENDED,
        USER_REQUESTED,
        CANCELLED,
        HEARTBEAT_TIMEOUT,
        DEPLOY_FAILED,
        DEPLOY_TIMEOUT,
        DEPLOY_RETRY,
        DEPLOY_INTERRUPTED,
        QUEUE_TIMEOUT,
        MEETING_NOT_FOUND,
        SIGN_IN_REQUIRED,
        CAPTCHA,
        JOIN_DENIED,
        KNOCKING_DISABLED,
        BROWSER_CRASHED,
        PLATFORM_STOPPED,
        SCHEDULED_JOIN,
        RECORDING_FAILED,
        BROWSER_MISSING,
        PASSCODE_WRONG,
        JOIN_BLOCKED,
        UNKNOWN_SCREEN,
        NETWORK_DNS,
        NETWORK_OFFLINE,
        NETWORK_UNREACHABLE,
        NETWORK_TLS,
        NETWORK_BLOCKED,
        HTTP_ERROR,
        TEMP_DIR_UNWRITABLE,
    ];

    /// The sub code for a Chromium network error, as `Page.navigate` reports it
    /// (`net::ERR_NAME_NOT_RESOLVED`) or its error page shows it (`ERR_…`,
    /// `DNS_PROBE_FINISHED_NXDOMAIN`, `NET::ERR_CERT_…`, `HTTP ERROR 502`). `None` for
    /// `ERR_ABORTED` (a superseded navigation, not a failure) and for text that is no
    /// network error at all.
    pub fn for_network_error(error: &str) -> Option<&'static str> {
        let upper = error.trim().to_ascii_uppercase();
        let code = upper
            .split_whitespace()
            .find(|w| w.contains("ERR_") || w.starts_with("DNS_PROBE") || *w == "HTTP")
            .unwrap_or("");
        let code = code
            .trim_start_matches("NET::")
            .trim_matches(|c: char| !c.is_ascii_alphanumeric() && c != '_');
        if upper.starts_with("HTTP ERROR")
            || code == "ERR_HTTP_RESPONSE_CODE_FAILURE"
            || code == "ERR_TOO_MANY_REDIRECTS"
        {
            return Some(HTTP_ERROR);
        }
        if code.is_empty() || code == "ERR_ABORTED" {
            return None;
        }
        Some(match code {
            "ERR_INTERNET_DISCONNECTED"
            | "DNS_PROBE_FINISHED_NO_INTERNET"
            | "ERR_NETWORK_CHANGED"
            | "ERR_NETWORK_IO_SUSPENDED" => NETWORK_OFFLINE,
            c if c.starts_with("DNS_PROBE") || c.starts_with("ERR_NAME_") => NETWORK_DNS,
            c if c.starts_with("ERR_CERT_") || c.starts_with("ERR_SSL_") || c == "ERR_BAD_SSL_CLIENT_AUTH_CERT" => {
                NETWORK_TLS
            }
            c if c.starts_with("ERR_BLOCKED_BY")
                || c.starts_with("ERR_PROXY")
                || c == "ERR_TUNNEL_CONNECTION_FAILED" =>
            {
                NETWORK_BLOCKED
            }
            _ => NETWORK_UNREACHABLE,
        })
    }

    /// A sub code is 1–64 characters of `a-z`, `0-9` and `_`.
    pub fn is_valid(code: &str) -> bool {
        !code.is_empty()
            && code.len() <= 64
            && code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chromium_network_errors_map_to_network_sub_codes() {
        use sub_code::for_network_error as code;
        assert_eq!(code("net::ERR_NAME_NOT_RESOLVED"), Some("network_dns"));
        assert_eq!(code("DNS_PROBE_FINISHED_NXDOMAIN"), Some("network_dns"));
        assert_eq!(code("net::ERR_CONNECTION_REFUSED"), Some("network_unreachable"));
        assert_eq!(code("ERR_CONNECTION_TIMED_OUT"), Some("network_unreachable"));
        assert_eq!(code("ERR_ADDRESS_UNREACHABLE"), Some("network_unreachable"));
        assert_eq!(code("net::ERR_INTERNET_DISCONNECTED"), Some("network_offline"));
        assert_eq!(code("NET::ERR_CERT_AUTHORITY_INVALID"), Some("network_tls"));
        assert_eq!(code("net::ERR_SSL_PROTOCOL_ERROR"), Some("network_tls"));
        assert_eq!(code("net::ERR_BLOCKED_BY_ADMINISTRATOR"), Some("network_blocked"));
        assert_eq!(code("net::ERR_PROXY_CONNECTION_FAILED"), Some("network_blocked"));
        assert_eq!(code("HTTP ERROR 502"), Some("http_error"));
        assert_eq!(code("net::ERR_ABORTED"), None);
        assert_eq!(code("Someone in the call denied your request"), None);
        assert_eq!(code(""), None);
        for c in [
            "network_dns",
            "network_offline",
            "network_unreachable",
            "network_tls",
            "network_blocked",
            "http_error",
        ] {
            assert!(sub_code::KNOWN.contains(&c) && sub_code::is_valid(c));
        }
    }
    use BotStatus::*;
    use proptest::prelude::*;

    #[test]
    fn the_guides_happy_path_is_legal() {
        for pair in [Deploying, JoiningCall, InWaitingRoom, InCall, Ended].windows(2) {
            assert!(can_transition(pair[0], pair[1]), "{:?}", pair);
        }
        assert!(can_transition(Scheduled, Queued));
        assert!(can_transition(Queued, Deploying));
        assert!(can_transition(InCall, Leaving));
        assert!(can_transition(Leaving, Ended));
    }

    #[test]
    fn the_table_exactly() {
        // Every allowed change, written out: the table is the contract.
        let allowed: &[(BotStatus, &[BotStatus])] = &[
            (Scheduled, &[Queued, Deploying, Ended, Fatal]),
            (Queued, &[Deploying, Ended, Fatal]),
            (
                Deploying,
                &[Queued, JoiningCall, InWaitingRoom, InCall, Leaving, Ended, Fatal],
            ),
            (JoiningCall, &[InWaitingRoom, InCall, Leaving, Ended, Fatal]),
            (InWaitingRoom, &[InCall, Leaving, Ended, Fatal]),
            (InCall, &[Leaving, Ended, Fatal]),
            (Leaving, &[Ended, Fatal]),
            (Ended, &[]),
            (Fatal, &[]),
        ];
        for (from, tos) in allowed {
            for to in BotStatus::ALL {
                assert_eq!(can_transition(*from, to), tos.contains(&to), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn sub_codes() {
        for code in sub_code::KNOWN {
            assert!(sub_code::is_valid(code), "{code}");
        }
        assert!(!sub_code::is_valid(""));
        assert!(!sub_code::is_valid("Has Spaces"));
        assert!(!sub_code::is_valid(&"a".repeat(65)));
    }

    fn any_status() -> impl Strategy<Value = BotStatus> {
        prop::sample::select(BotStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn terminal_states_are_sticky(from in any_status(), to in any_status()) {
            if from.is_terminal() {
                prop_assert!(!can_transition(from, to));
            }
        }

        #[test]
        fn no_self_loops_and_no_return_to_scheduled(s in any_status(), from in any_status()) {
            prop_assert!(!can_transition(s, s));
            prop_assert!(!can_transition(from, Scheduled));
        }

        /// Any sequence of reports applied through the table ends in a state reachable
        /// along the forward path, and once terminal stays terminal.
        #[test]
        fn random_report_sequences_never_leave_a_terminal_state(reports in prop::collection::vec(any_status(), 0..40)) {
            let mut current = Deploying;
            let mut terminal_seen = None;
            for r in reports {
                if can_transition(current, r) {
                    if current != Deploying || r != Queued {
                        prop_assert!(rank(r) > rank(current) || r.is_terminal());
                    }
                    current = r;
                }
                if current.is_terminal() {
                    if let Some(t) = terminal_seen { prop_assert_eq!(t, current); }
                    terminal_seen = Some(current);
                }
            }
        }

        #[test]
        fn bots_report_only_in_meeting_statuses(s in any_status()) {
            prop_assert_eq!(bot_may_report(s), !matches!(s, Scheduled | Queued | Deploying));
        }
    }
}

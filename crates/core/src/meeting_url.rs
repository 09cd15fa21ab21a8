//! Parsing and normalising meeting links for Google Meet, Microsoft Teams and Zoom.
//!
//! Users paste links from calendar invites, chat and e-mails: with or without a scheme,
//! with tracking parameters, in mixed case. We accept the forms the three web clients
//! accept, keep exactly the parts a bot needs to join (e.g. Zoom's `pwd`, Teams' `p` and
//! `context`), and drop the rest, so the same meeting always normalises to the same URL.

use std::fmt;
use url::Url;

/// The meeting provider a bot joins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MeetingPlatform {
    GoogleMeet,
    MicrosoftTeams,
    Zoom,
}

impl MeetingPlatform {
    pub const ALL: [MeetingPlatform; 3] = [Self::GoogleMeet, Self::MicrosoftTeams, Self::Zoom];

    /// Name used in the API (`google_meet`, `microsoft_teams`, `zoom`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::GoogleMeet => "google_meet",
            Self::MicrosoftTeams => "microsoft_teams",
            Self::Zoom => "zoom",
        }
    }

    /// The name people use: "Google Meet", "Microsoft Teams", "Zoom" (for messages; the
    /// wire value is [`Self::as_str`]).
    pub fn display_name(self) -> &'static str {
        match self {
            Self::GoogleMeet => "Google Meet",
            Self::MicrosoftTeams => "Microsoft Teams",
            Self::Zoom => "Zoom",
        }
    }

    /// Value of the `MEETING_PLATFORM` variable handed to bots, as the deployment guide
    /// writes it (`meet`, `teams`, `zoom`).
    pub fn bot_env_value(self) -> &'static str {
        match self {
            Self::GoogleMeet => "meet",
            Self::MicrosoftTeams => "teams",
            Self::Zoom => "zoom",
        }
    }

    /// Parses the API name; also accepts the bot-environment short names.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "google_meet" | "meet" => Some(Self::GoogleMeet),
            "microsoft_teams" | "teams" => Some(Self::MicrosoftTeams),
            "zoom" => Some(Self::Zoom),
            _ => None,
        }
    }
}

impl fmt::Display for MeetingPlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A meeting link that a bot can join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeetingUrl {
    pub platform: MeetingPlatform,
    /// Canonical `https://` URL carrying only what is needed to join.
    pub normalized: String,
    /// The provider's meeting identifier (Meet code, Zoom number or personal link name,
    /// Teams thread or meeting id).
    pub meeting_id: String,
}

/// Why a string is not a meeting link we can join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MeetingUrlError {
    Empty,
    TooLong,
    NotAUrl,
    UnsupportedScheme(String),
    /// The host is one of the three providers but the path is not a joinable meeting.
    UnrecognisedPath(MeetingPlatform),
    UnsupportedHost(String),
}

/// The forms we accept, listed in error messages so users know what to paste.
pub const SUPPORTED_FORMS: &str = "https://meet.google.com/abc-defg-hij, \
https://teams.microsoft.com/l/meetup-join/..., https://teams.microsoft.com/meet/<id>?p=<passcode>, \
https://teams.live.com/meet/<id>?p=<passcode>, https://<sub>.zoom.us/j/<number>?pwd=<password>, \
https://zoom.us/wc/join/<number>, https://zoom.us/my/<name>, https://<sub>.zoomgov.com/j/<number>";

/// Longest URL we accept; real links are far shorter (Teams' are the longest, ~600 bytes).
pub const MAX_URL_LEN: usize = 2048;

impl fmt::Display for MeetingUrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => write!(f, "meeting URL is empty; supported forms: {SUPPORTED_FORMS}"),
            Self::TooLong => write!(f, "meeting URL is longer than {MAX_URL_LEN} bytes"),
            Self::NotAUrl => write!(f, "not a URL; supported forms: {SUPPORTED_FORMS}"),
            Self::UnsupportedScheme(s) => {
                write!(
                    f,
                    "scheme `{s}` is not supported; use https:// (supported forms: {SUPPORTED_FORMS})"
                )
            }
            Self::UnrecognisedPath(p) => write!(
                f,
                "this {p} link does not point at a meeting; supported forms: {SUPPORTED_FORMS}"
            ),
            Self::UnsupportedHost(h) => write!(
                f,
                "`{h}` is not a Google Meet, Microsoft Teams or Zoom host; supported forms: {SUPPORTED_FORMS}"
            ),
        }
    }
}

impl std::error::Error for MeetingUrlError {}

/// Parses a user-supplied meeting link.
pub fn parse_meeting_url(input: &str) -> Result<MeetingUrl, MeetingUrlError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(MeetingUrlError::Empty);
    }
    if trimmed.len() > MAX_URL_LEN {
        return Err(MeetingUrlError::TooLong);
    }
    let with_scheme = if trimmed.contains("://") {
        trimmed.to_string()
    } else {
        format!("https://{trimmed}")
    };
    let url = Url::parse(&with_scheme).map_err(|_| MeetingUrlError::NotAUrl)?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(MeetingUrlError::UnsupportedScheme(other.to_string())),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(MeetingUrlError::NotAUrl);
    }
    let host = match url.host_str() {
        Some(h) if !h.is_empty() => h.trim_end_matches('.').to_ascii_lowercase(),
        _ => return Err(MeetingUrlError::NotAUrl),
    };
    if host == "meet.google.com" {
        parse_meet(&url)
    } else if is_teams_host(&host) {
        parse_teams(&url, &host)
    } else if is_zoom_host(&host) {
        parse_zoom(&url, &host)
    } else {
        Err(MeetingUrlError::UnsupportedHost(host))
    }
}

/// Path under which a server serves its own test meetings (replicas of the web clients),
/// e.g. `{origin}/_test/meeting/meet/abc-defg-hij`.
pub const TEST_MEETING_PREFIX: &str = "/_test/meeting/";

/// A link to one of the server's own test meetings: accepted only when it starts with
/// `{origin}{TEST_MEETING_PREFIX}` (the server's public URL), then `meet/<code>`,
/// `teams/<id>` or `zoom/<id>` (also Zoom's `zoom/wc/<id>/join`, `zoom/wc/join/<id>` and
/// `zoom/j/<id>`) picks the platform. The bot opens it exactly as given.
pub fn parse_test_meeting_url(input: &str, origin: &str) -> Option<MeetingUrl> {
    let trimmed = input.trim();
    let rest = trimmed
        .strip_prefix(origin.trim_end_matches('/'))?
        .strip_prefix(TEST_MEETING_PREFIX)?;
    let mut parts = rest.splitn(2, '/');
    let platform = match parts.next()? {
        "meet" => MeetingPlatform::GoogleMeet,
        "teams" => MeetingPlatform::MicrosoftTeams,
        "zoom" => MeetingPlatform::Zoom,
        _ => return None,
    };
    let path = parts.next()?.split(['?', '#']).next()?.trim_matches('/');
    let segments: Vec<&str> = path.split('/').collect();
    // Zoom's web client has several URL shapes; the test meetings serve them all.
    let id = match (platform, segments.as_slice()) {
        (_, [id]) => *id,
        (MeetingPlatform::Zoom, ["wc", id, "join"] | ["wc", "join", id] | ["j", id]) => *id,
        _ => return None,
    };
    let valid =
        !id.is_empty() && id.len() <= 200 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    valid.then(|| MeetingUrl {
        platform,
        normalized: trimmed.to_string(),
        meeting_id: id.to_string(),
    })
}

fn path_segments(url: &Url) -> Vec<&str> {
    url.path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).collect())
        .unwrap_or_default()
}

fn query_value(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, v)| k == name && !v.is_empty())
        .map(|(_, v)| v.into_owned())
}

fn is_meet_code(code: &str) -> bool {
    let parts: Vec<&str> = code.split('-').collect();
    parts.len() == 3
        && [3, 4, 3].iter().zip(&parts).all(|(len, p)| p.len() == *len)
        && parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_alphabetic()))
}

fn parse_meet(url: &Url) -> Result<MeetingUrl, MeetingUrlError> {
    let segments = path_segments(url);
    let code = match segments.as_slice() {
        [code] => code.to_ascii_lowercase(),
        _ => {
            return Err(MeetingUrlError::UnrecognisedPath(MeetingPlatform::GoogleMeet));
        }
    };
    // Meet also accepts the code without dashes; normalise to the dashed form.
    let code = if code.len() == 10 && code.bytes().all(|b| b.is_ascii_alphabetic()) {
        format!("{}-{}-{}", &code[..3], &code[3..7], &code[7..])
    } else {
        code
    };
    if !is_meet_code(&code) {
        return Err(MeetingUrlError::UnrecognisedPath(MeetingPlatform::GoogleMeet));
    }
    Ok(MeetingUrl {
        platform: MeetingPlatform::GoogleMeet,
        normalized: format!("https://meet.google.com/{code}"),
        meeting_id: code,
    })
}

fn is_teams_host(host: &str) -> bool {
    matches!(
        host,
        "teams.microsoft.com" | "teams.live.com" | "gov.teams.microsoft.us" | "dod.teams.microsoft.us"
    )
}

fn parse_teams(url: &Url, host: &str) -> Result<MeetingUrl, MeetingUrlError> {
    let not_meeting = || MeetingUrlError::UnrecognisedPath(MeetingPlatform::MicrosoftTeams);
    let segments = path_segments(url);
    match segments.as_slice() {
        // Classic join link: /l/meetup-join/<thread>/<message id>?context={...}
        ["l", "meetup-join", thread, rest @ ..] if !thread.is_empty() && rest.len() <= 1 => {
            let decoded = percent_decode(thread);
            if !decoded.contains("meeting_") && !decoded.contains("@thread") {
                return Err(not_meeting());
            }
            let mut normalized = format!("https://{host}{}", url.path());
            if let Some(context) = query_value(url, "context") {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("context", &context);
                normalized.push('?');
                normalized.push_str(&q.finish());
            }
            Ok(MeetingUrl {
                platform: MeetingPlatform::MicrosoftTeams,
                normalized,
                meeting_id: decoded,
            })
        }
        // Short join link: /meet/<numeric id>?p=<passcode>
        ["meet", id] if id.bytes().all(|b| b.is_ascii_digit()) && (6..=20).contains(&id.len()) => {
            let mut normalized = format!("https://{host}/meet/{id}");
            if let Some(passcode) = query_value(url, "p") {
                let mut q = url::form_urlencoded::Serializer::new(String::new());
                q.append_pair("p", &passcode);
                normalized.push('?');
                normalized.push_str(&q.finish());
            }
            Ok(MeetingUrl {
                platform: MeetingPlatform::MicrosoftTeams,
                normalized,
                meeting_id: (*id).to_string(),
            })
        }
        _ => Err(not_meeting()),
    }
}

fn percent_decode(s: &str) -> String {
    url::form_urlencoded::parse(format!("x={s}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

fn is_zoom_host(host: &str) -> bool {
    ["zoom.us", "zoomgov.com"]
        .iter()
        .any(|base| host == *base || host.strip_suffix(base).is_some_and(|p| p.ends_with('.')))
}

fn is_zoom_number(id: &str) -> bool {
    id.bytes().all(|b| b.is_ascii_digit()) && (9..=12).contains(&id.len())
}

fn parse_zoom(url: &Url, host: &str) -> Result<MeetingUrl, MeetingUrlError> {
    let segments = path_segments(url);
    let pwd = query_value(url, "pwd");
    let with_pwd = |mut base: String| {
        if let Some(pwd) = &pwd {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("pwd", pwd);
            base.push('?');
            base.push_str(&q.finish());
        }
        base
    };
    let number = match segments.as_slice() {
        ["j", id] | ["wc", "join", id] | ["wc", id, "join"] | ["w", id] => Some(*id),
        ["my", name]
            if !name.is_empty()
                && name.len() <= 64
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') =>
        {
            let name = name.to_ascii_lowercase();
            return Ok(MeetingUrl {
                platform: MeetingPlatform::Zoom,
                normalized: with_pwd(format!("https://{host}/my/{name}")),
                meeting_id: name,
            });
        }
        _ => None,
    };
    match number {
        Some(id) if is_zoom_number(id) => Ok(MeetingUrl {
            platform: MeetingPlatform::Zoom,
            normalized: with_pwd(format!("https://{host}/j/{id}")),
            meeting_id: id.to_string(),
        }),
        _ => Err(MeetingUrlError::UnrecognisedPath(MeetingPlatform::Zoom)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ok(input: &str) -> MeetingUrl {
        parse_meeting_url(input).unwrap_or_else(|e| panic!("{input}: {e}"))
    }

    #[test]
    fn google_meet_forms() {
        for input in [
            "https://meet.google.com/abc-defg-hij",
            "meet.google.com/abc-defg-hij",
            "http://meet.google.com/abc-defg-hij?authuser=1",
            "  https://MEET.google.com/ABC-DEFG-HIJ/?authuser=0&hs=122 ",
            "https://meet.google.com/abcdefghij",
        ] {
            let m = ok(input);
            assert_eq!(m.platform, MeetingPlatform::GoogleMeet);
            assert_eq!(m.normalized, "https://meet.google.com/abc-defg-hij");
            assert_eq!(m.meeting_id, "abc-defg-hij");
        }
        for bad in [
            "https://meet.google.com/",
            "https://meet.google.com/landing",
            "https://meet.google.com/abc-defg-hi1",
            "https://meet.google.com/abc-defg-hij/extra",
        ] {
            assert!(
                matches!(
                    parse_meeting_url(bad),
                    Err(MeetingUrlError::UnrecognisedPath(MeetingPlatform::GoogleMeet))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn teams_forms() {
        let classic = "https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjA5ZDk0YjQtYjE5Ni00@thread.v2/0?context=%7b%22Tid%22%3a%2272f988bf%22%2c%22Oid%22%3a%22abc%22%7d&utm=x";
        let m = ok(classic);
        assert_eq!(m.platform, MeetingPlatform::MicrosoftTeams);
        assert_eq!(m.meeting_id, "19:meeting_NjA5ZDk0YjQtYjE5Ni00@thread.v2");
        assert!(
            m.normalized
                .starts_with("https://teams.microsoft.com/l/meetup-join/19%3ameeting_")
        );
        assert!(m.normalized.contains("context="));
        assert!(!m.normalized.contains("utm"));

        let short = ok("teams.microsoft.com/meet/2345678901234?p=AbCdEf123&foo=bar");
        assert_eq!(
            short.normalized,
            "https://teams.microsoft.com/meet/2345678901234?p=AbCdEf123"
        );
        assert_eq!(short.meeting_id, "2345678901234");

        let live = ok("https://teams.live.com/meet/9876543210987?p=xyz");
        assert_eq!(live.platform, MeetingPlatform::MicrosoftTeams);
        assert_eq!(live.normalized, "https://teams.live.com/meet/9876543210987?p=xyz");

        for bad in [
            "https://teams.microsoft.com/",
            "https://teams.microsoft.com/l/channel/19%3aabc/General",
            "https://teams.microsoft.com/meet/abc?p=1",
            "https://teams.microsoft.com/l/meetup-join/hello/0",
        ] {
            assert!(
                matches!(
                    parse_meeting_url(bad),
                    Err(MeetingUrlError::UnrecognisedPath(MeetingPlatform::MicrosoftTeams))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn zoom_forms() {
        let cases = [
            (
                "https://us02web.zoom.us/j/89012345678?pwd=abcDEF.1",
                "https://us02web.zoom.us/j/89012345678?pwd=abcDEF.1",
            ),
            ("zoom.us/j/123456789", "https://zoom.us/j/123456789"),
            (
                "https://zoom.us/wc/join/123456789?pwd=x&from=addon",
                "https://zoom.us/j/123456789?pwd=x",
            ),
            (
                "https://acme.zoom.us/wc/123456789/join",
                "https://acme.zoom.us/j/123456789",
            ),
            (
                "https://agency.zoomgov.com/j/1234567890",
                "https://agency.zoomgov.com/j/1234567890",
            ),
            ("https://zoom.us/my/Jane.Doe", "https://zoom.us/my/jane.doe"),
        ];
        for (input, expected) in cases {
            let m = ok(input);
            assert_eq!(m.platform, MeetingPlatform::Zoom, "{input}");
            assert_eq!(m.normalized, expected, "{input}");
        }
        for bad in [
            "https://zoom.us/",
            "https://zoom.us/j/12",
            "https://zoom.us/j/abc",
            "https://zoom.us/pricing",
        ] {
            assert!(
                matches!(
                    parse_meeting_url(bad),
                    Err(MeetingUrlError::UnrecognisedPath(MeetingPlatform::Zoom))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn lookalike_hosts_and_junk_are_rejected() {
        assert!(matches!(parse_meeting_url(""), Err(MeetingUrlError::Empty)));
        assert!(matches!(parse_meeting_url("   "), Err(MeetingUrlError::Empty)));
        assert!(matches!(
            parse_meeting_url("https://evilzoom.us/j/123456789"),
            Err(MeetingUrlError::UnsupportedHost(_))
        ));
        assert!(matches!(
            parse_meeting_url("https://meet.google.com.evil.com/abc-defg-hij"),
            Err(MeetingUrlError::UnsupportedHost(_))
        ));
        assert!(matches!(
            parse_meeting_url("ftp://zoom.us/j/123456789"),
            Err(MeetingUrlError::UnsupportedScheme(_))
        ));
        assert!(matches!(
            parse_meeting_url("javascript:alert(1)"),
            Err(MeetingUrlError::NotAUrl) | Err(MeetingUrlError::UnsupportedHost(_))
        ));
        assert!(matches!(
            parse_meeting_url("https://user:pw@zoom.us/j/123456789"),
            Err(MeetingUrlError::NotAUrl)
        ));
        let long = format!("https://zoom.us/j/123456789?pwd={}", "a".repeat(MAX_URL_LEN));
        assert!(matches!(parse_meeting_url(&long), Err(MeetingUrlError::TooLong)));
        let msg = parse_meeting_url("https://example.com/x").unwrap_err().to_string();
        assert!(msg.contains("meet.google.com") && msg.contains("zoom.us") && msg.contains("teams"));
    }

    #[test]
    fn platform_names_round_trip() {
        for p in MeetingPlatform::ALL {
            assert_eq!(MeetingPlatform::parse(p.as_str()), Some(p));
            assert_eq!(MeetingPlatform::parse(p.bot_env_value()), Some(p));
        }
        assert_eq!(MeetingPlatform::parse("webex"), None);
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_input(s in ".{0,300}") {
            let _ = parse_meeting_url(&s);
        }

        #[test]
        fn meet_codes_normalise_idempotently(
            a in "[a-zA-Z]{3}", b in "[a-zA-Z]{4}", c in "[a-zA-Z]{3}",
            scheme in prop::sample::select(vec!["", "https://", "http://"]),
            query in prop::sample::select(vec!["", "?authuser=0", "?authuser=3&hs=1"]),
        ) {
            let m = parse_meeting_url(&format!("{scheme}meet.google.com/{a}-{b}-{c}{query}")).unwrap();
            prop_assert_eq!(m.platform, MeetingPlatform::GoogleMeet);
            let again = parse_meeting_url(&m.normalized).unwrap();
            prop_assert_eq!(&again, &m);
            prop_assert_eq!(m.meeting_id, format!("{a}-{b}-{c}").to_ascii_lowercase());
        }

        #[test]
        fn zoom_numbers_normalise_idempotently(
            sub in prop::option::of("[a-z][a-z0-9]{1,8}"),
            id in "[0-9]{9,12}",
            pwd in prop::option::of("[A-Za-z0-9.]{1,32}"),
            form in 0usize..3,
            gov in any::<bool>(),
        ) {
            let base = if gov { "zoomgov.com" } else { "zoom.us" };
            let host = match &sub { Some(s) => format!("{s}.{base}"), None => base.to_string() };
            let path = match form { 0 => format!("j/{id}"), 1 => format!("wc/join/{id}"), _ => format!("wc/{id}/join") };
            let query = pwd.as_ref().map(|p| format!("?pwd={p}")).unwrap_or_default();
            let m = parse_meeting_url(&format!("https://{host}/{path}{query}")).unwrap();
            prop_assert_eq!(m.platform, MeetingPlatform::Zoom);
            prop_assert_eq!(&m.meeting_id, &id);
            prop_assert_eq!(parse_meeting_url(&m.normalized).unwrap(), m.clone());
            prop_assert_eq!(m.normalized.contains("pwd="), pwd.is_some());
        }

        #[test]
        fn teams_short_links_normalise_idempotently(
            id in "[0-9]{6,20}", p in "[A-Za-z0-9]{1,20}", live in any::<bool>(),
        ) {
            let host = if live { "teams.live.com" } else { "teams.microsoft.com" };
            let m = parse_meeting_url(&format!("{host}/meet/{id}?p={p}")).unwrap();
            prop_assert_eq!(m.platform, MeetingPlatform::MicrosoftTeams);
            prop_assert_eq!(parse_meeting_url(&m.normalized).unwrap(), m);
        }

        #[test]
        fn other_hosts_are_rejected(host in "[a-z]{1,10}\\.(com|org|net|io)") {
            prop_assume!(host != "zoomgov.com");
            let result = parse_meeting_url(&format!("https://{host}/j/123456789"));
            prop_assert!(matches!(result, Err(MeetingUrlError::UnsupportedHost(_))));
        }
    }

    #[test]
    fn test_meetings_are_accepted_only_on_the_servers_own_origin() {
        let origin = "http://127.0.0.1:3000";
        let m = parse_test_meeting_url("http://127.0.0.1:3000/_test/meeting/meet/abc-defg-hij", origin).unwrap();
        assert_eq!(m.platform, MeetingPlatform::GoogleMeet);
        assert_eq!(m.meeting_id, "abc-defg-hij");
        assert_eq!(m.normalized, "http://127.0.0.1:3000/_test/meeting/meet/abc-defg-hij");
        let z = parse_test_meeting_url("http://127.0.0.1:3000/_test/meeting/zoom/8123?x=1", origin).unwrap();
        assert_eq!((z.platform, z.meeting_id.as_str()), (MeetingPlatform::Zoom, "8123"));
        for shape in [
            "zoom/wc/8123/join?pwd=x&fromPWA=1",
            "zoom/wc/join/8123",
            "zoom/j/8123?pwd=x",
        ] {
            let z = parse_test_meeting_url(&format!("{origin}/_test/meeting/{shape}"), origin).unwrap();
            assert_eq!(
                (z.platform, z.meeting_id.as_str()),
                (MeetingPlatform::Zoom, "8123"),
                "{shape}"
            );
        }
        for bad in [
            "http://evil.example/_test/meeting/meet/abc-defg-hij",
            "http://127.0.0.1:3000/_test/meeting/webex/abc",
            "http://127.0.0.1:3000/_test/meeting/meet/",
            "http://127.0.0.1:3000/_test/meeting/meet/a%2F..",
            "http://127.0.0.1:3000/_test/meeting/meet/wc/8123/join",
            "http://127.0.0.1:3000/_test/meeting/zoom/wc/8123/leave",
            "http://127.0.0.1:30001/_test/meeting/meet/abc-defg-hij",
        ] {
            assert!(parse_test_meeting_url(bad, origin).is_none(), "{bad}");
        }
    }
}

//! Google Meet (`meet.google.com/xxx-yyyy-zzz`), as a guest without a Google account.
//! Every selector and text the Meet provider relies on is here.

use super::ClientSpec;

pub const MEET: ClientSpec = ClientSpec {
    name: "Google Meet",
    dismiss_buttons: &[
        "Got it",
        "Dismiss",
        "Accept all",
        "Continue without microphone and camera",
    ],
    name_inputs: &["input[aria-label='Your name']", "input[placeholder='Your name']"],
    mute_buttons: &[
        "[role='button'][aria-label*='Turn off microphone']",
        "[role='button'][aria-label*='Turn off camera']",
        "button[aria-label*='Turn off microphone']",
        "button[aria-label*='Turn off camera']",
    ],
    join_buttons: &["Ask to join", "Join now", "Join anyway"],
    lobby_texts: &[
        "Asking to be let in",
        "You'll join the call when someone lets you in",
        "Please wait until a meeting host brings you into the call",
    ],
    // The leave-call button exists only in the call, never on the pre-join or lobby screens.
    in_call_selectors: &[
        "button[aria-label='Leave call']",
        "[role='button'][aria-label='Leave call']",
    ],
    participant_selector: "[data-participant-id]",
    participant_id_attribute: "data-participant-id",
    participant_name_attribute: None,
    removed_texts: &[
        "You've been removed from the meeting",
        "You have been removed from the meeting",
    ],
    ended_texts: &["The call has ended", "This call has ended", "The meeting has ended"],
    blocked: &[
        (
            "join_denied",
            &[
                "Someone in the call denied your request to join",
                "You can't join this video call",
                "No one responded to your request to join",
            ],
        ),
        (
            "meeting_not_found",
            &[
                "Check your meeting code",
                "Invalid video call name",
                "This video call doesn't exist",
            ],
        ),
        (
            "sign_in_required",
            &["Sign in to join this call", "You need to sign in"],
        ),
        ("captcha", &["unusual traffic", "I'm not a robot"]),
        ("knocking_disabled", &["You can't ask to join this call"]),
    ],
    leave_buttons: &[
        "button[aria-label='Leave call']",
        "[role='button'][aria-label='Leave call']",
    ],
};

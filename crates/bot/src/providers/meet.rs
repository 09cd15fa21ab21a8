//! Google Meet (`meet.google.com/xxx-yyyy-zzz`), as a guest without a Google account.
//! Every selector and text the Meet provider relies on is here; sources and dates are in
//! `docs/research/meeting-web-clients.md` §1.

use super::{ChatSpec, ClientSpec};

pub const MEET: ClientSpec = ClientSpec {
    name: "Google Meet",
    dismiss_buttons: &["Got it", "Dismiss", "Accept all"],
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
        "Asking to join",
        "You'll join the call when someone lets you in",
        "Please wait until a meeting host brings you into the call",
        "Waiting for the host to let you in",
    ],
    // "Leave call" is already on the lobby screen, so it proves nothing; these side-panel and
    // captions controls appear only in the call (three independent bots agree).
    in_call_selectors: &[
        "button[aria-label='Turn on captions']",
        "button[aria-label='Turn off captions']",
        "button[aria-label*='Chat with everyone']",
        "button[aria-label='Meeting details']",
        "button[aria-label='Host controls']",
    ],
    participant_selector: "[data-participant-id]",
    participant_id_attribute: "data-participant-id",
    participant_name_attribute: Some("aria-label"),
    participant_ignore: &["Backgrounds and effects", "visual_effects"],
    removed_texts: &["You've been removed from the meeting"],
    ended_texts: &[
        "Your host ended the meeting for everyone",
        "The call ended because everyone left",
        "This meeting has ended",
    ],
    blocked: &[
        // Checked first: the most specific copy of the "can't join" screen. No public source
        // shows a distinct knocking-disabled screen; this sentence is the likeliest (research §1.5).
        (
            "knocking_disabled",
            &[
                "No one can join a meeting unless invited or admitted by the host",
                "You can't ask to join this call",
            ],
        ),
        (
            "join_denied",
            &[
                "Someone in the call denied your request to join",
                "No one responded to your request to join the call",
                // Also what Meet shows when it blocks a bot; ambiguous in public sources.
                "You can't join this video call",
            ],
        ),
        (
            "meeting_not_found",
            &[
                "Check your meeting code",
                "Invalid video call name",
                "Your meeting code has expired",
                "The meeting code you entered doesn't work",
            ],
        ),
        ("sign_in_required", &["Use your Google Account"]),
        ("captcha", &["Our systems have detected unusual traffic"]),
    ],
    leave_buttons: &[
        "button[aria-label='Leave call']",
        "[role='button'][aria-label='Leave call']",
    ],
    in_call_panels: &[],
    frames: &[],
    // Sources disagree on the input's label and element; match "Send a message" on textareas
    // first. Sender and text classes are obfuscated and rotate (research §1.6).
    chat: ChatSpec {
        open_buttons: &[
            "button[aria-label*='Chat with everyone']",
            "button[aria-label='Toggle chat']",
        ],
        inputs: &[
            "textarea[aria-label*='Send a message']",
            "textarea[placeholder*='Send a message']",
            "input[aria-label*='Send a message']",
        ],
        send_buttons: &["button[aria-label*='Send a message']", "button[aria-label*='Send']"],
        message: "[data-message-id]",
        sender: ".poVWob",
        text: ".jO4O1",
    },
};

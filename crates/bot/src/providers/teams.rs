//! Microsoft Teams on the web (work meetings `teams.microsoft.com/l/meetup-join/…`,
//! `…/meet/<id>?p=…`, and `teams.live.com`), as an anonymous guest. Every selector and
//! text the Teams provider relies on is here; sources and dates are in
//! `docs/research/meeting-web-clients.md` §2.

use super::{ChatSpec, ClientSpec};

pub const TEAMS: ClientSpec = ClientSpec {
    name: "Microsoft Teams",
    dismiss_buttons: &["Continue on this browser", "Continue without audio or video", "Got it"],
    name_inputs: &[
        "[data-tid='prejoin-display-name-input']",
        "input[placeholder='Type your name']",
    ],
    // Switches: click only while on, so a second pass never turns them back on.
    mute_buttons: &[
        "[data-tid='toggle-mute'][aria-checked='true']",
        "[data-tid='toggle-video'][aria-checked='true']",
    ],
    join_buttons: &["Join now", "Join meeting"],
    lobby_texts: &[
        "Someone in the meeting should let you in soon",
        "Someone will let you in soon",
        "Someone will let you in shortly",
        "Waiting to be admitted",
        "When someone lets you in, you'll join the meeting",
    ],
    // The lobby shows a hang-up button too; these exist only in the call.
    in_call_selectors: &[
        "#callingButtons-showMoreBtn",
        "button#raisehands-button",
        "button#chat-button",
        "button#roster-button",
        "button[data-tid='calling-toolbar-people-button']",
    ],
    participant_selector: "[data-tid^='participantsInCall-'], [data-tid^='attendeesInMeeting-']",
    participant_id_attribute: "data-tid",
    participant_name_attribute: None,
    participant_ignore: &[],
    removed_texts: &[
        "You've been removed from this meeting",
        "You have been removed from this meeting",
        "Removed from the meeting",
    ],
    ended_texts: &[
        "The meeting has ended",
        "This meeting has ended",
        "Meeting has been ended",
    ],
    blocked: &[
        (
            "join_denied",
            &[
                "Sorry, but you were denied access to the meeting",
                "Your request to join was declined",
            ],
        ),
        ("meeting_not_found", &["Looks like the meeting URL is incorrect"]),
        // A locked meeting takes no one new, not even into the lobby (Microsoft's help pages;
        // not seen by the open-source bots).
        (
            "knocking_disabled",
            &["This meeting is locked", "The meeting has been locked"],
        ),
        (
            "sign_in_required",
            &[
                "We need to verify your info before you can join",
                "To join, sign in or use Teams on the web",
                "You need to be signed in to Teams to access this meeting",
                "Sign in to Teams to join",
                "you need to be signed in to an account",
                "Anonymous users can't join this meeting",
            ],
        ),
        ("captcha", &["Verify you're a real person"]),
    ],
    leave_buttons: &["#hangup-button", "button[data-tid='hangup-main-btn']"],
    in_call_panels: &[
        "button#roster-button",
        "button[data-tid='calling-toolbar-people-button']",
    ],
    frames: &[],
    // Anonymous guests may get no chat in some tenants; the bot then reports the send as failed.
    chat: ChatSpec {
        open_buttons: &["button#chat-button", "button[data-tid='calling-toolbar-chat-button']"],
        inputs: &[
            "[role='textbox'][aria-label*='Type a message']",
            "[contenteditable='true'][aria-label*='message']",
            "[placeholder='Type a message']",
        ],
        send_buttons: &[
            "button[data-tid='newMessageCommands-send']",
            "button[aria-label*='Send']",
        ],
        message: "[data-tid='chat-pane-message'], div[data-mid]",
        sender: "[data-tid='message-author-name']",
        text: "[data-tid='messageBodyContent'], [id^='content-']",
    },
};

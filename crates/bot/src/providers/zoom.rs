//! Zoom's web client (`app.zoom.us/wc/<id>/join?pwd=…`, `zoom.us/wc/join/<id>`, or an invite
//! `…/j/<id>` via "Join from your browser"), as a guest. Every selector and text the Zoom
//! provider relies on is here; sources and dates are in `docs/research/meeting-web-clients.md` §3.

use super::{ChatSpec, ClientSpec};

pub const ZOOM: ClientSpec = ClientSpec {
    name: "Zoom",
    dismiss_buttons: &[
        "Accept Cookies",
        "Accept All Cookies",
        "I Agree",
        "Continue without microphone and camera",
        "Join from your browser",
    ],
    name_inputs: &["#input-for-name", "#inputname"],
    // Only while live: "Mute" / "Stop Video" become "Unmute" / "Start Video" once clicked.
    mute_buttons: &[
        "#preview-audio-control-button[aria-label='Mute']",
        "#preview-video-control-button[aria-label='Stop Video']",
    ],
    join_buttons: &["Join"],
    lobby_texts: &[
        "Please wait, the meeting host will let you in soon",
        "Host has joined. We've let them know you're here",
        "Waiting for the host to start this meeting",
        "Waiting for the host to start the meeting",
    ],
    // The footer's Leave button is never rendered before admission.
    in_call_selectors: &["#wc-footer button[aria-label='Leave']", "button[aria-label='Leave']"],
    participant_selector: ".participants-item__display-name",
    participant_id_attribute: "",
    participant_name_attribute: None,
    participant_ignore: &[],
    removed_texts: &["You have been removed"],
    ended_texts: &["This meeting has been ended by host"],
    blocked: &[
        ("join_denied", &["the host has denied your request"]),
        // A locked meeting (Zoom's "Lock meeting") admits no one new (Zoom's help pages).
        (
            "knocking_disabled",
            &[
                "This meeting has been locked by host",
                "This meeting has been locked by the host",
            ],
        ),
        (
            "meeting_not_found",
            &["Invalid meeting ID", "This meeting link is invalid"],
        ),
        (
            "sign_in_required",
            &[
                "Sign in to join this meeting",
                "Only authenticated users can join",
                "This meeting requires authentication",
                "This meeting is for authorized attendees only",
            ],
        ),
        (
            "captcha",
            &["We detected you may be a bot", "Type the characters you see"],
        ),
    ],
    leave_buttons: &[
        "button.leave-meeting-options__btn--danger",
        "button[aria-label='Leave']",
    ],
    in_call_panels: &["button[aria-label*='participants list']"],
    // The progressive web app (`fromPWA=1`) runs the client in a same-origin iframe.
    frames: &["iframe#webclient", "iframe.pwa-webclient__iframe"],
    // One sender header above a run of messages; the list is virtualised (research §3.6).
    chat: ChatSpec {
        open_buttons: &["button[aria-label*='chat panel']"],
        inputs: &[
            ".chat-rtf-box__editor-outer [contenteditable='true']",
            ".tiptap.ProseMirror[contenteditable='true']",
        ],
        send_buttons: &["button[aria-label='send']", "button.chat-rtf-box__send"],
        message: ".new-chat-message__container",
        sender: ".chat-item__sender",
        text: ".chat-rtf-box__display, .new-chat-message__text-box",
    },
};

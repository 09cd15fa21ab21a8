//! Zoom's web client (`app.zoom.us/wc/<id>/join?pwd=…`, `zoom.us/wc/join/<id>`, or an invite
//! `…/j/<id>` via "Join from your browser"), as a guest. Every selector and text the bot
//! reads on Zoom is here; each candidate's sources and confidence are in
//! `docs/research/signals-zoom-and-errors.md` (§ numbers below) and `meeting-web-clients.md` §3.

use super::{
    CaptionsSpec, ChatSpec, ClientSpec, CounterSpec, DialogSpec, EntrySpec, PrejoinSpec, RosterSpec, ScreensSpec,
    SpeakingIndicator, SpeakingSpec,
};

pub const ZOOM: ClientSpec = ClientSpec {
    name: "Zoom",
    // §1. Join stays disabled unless the name arrives as trusted key input.
    prejoin: PrejoinSpec {
        name_inputs: &["#input-for-name", "#inputname", "input[placeholder='Your Name']"],
        // §2: shown when the link's `pwd` is missing or refused; filled from `pwd`.
        passcode_inputs: &[
            "#input-for-pwd",
            "input[placeholder*='passcode' i]",
            "input[placeholder*='password' i]",
            "input[type='password']",
        ],
        // Only while live: "Mute" / "Stop Video" become "Unmute" / "Start Video" once clicked.
        mute_buttons: &[
            "#preview-audio-control-button[aria-label='Mute']",
            "#preview-video-control-button[aria-label='Stop Video']",
        ],
        join_buttons: &["Join"],
        join_selectors: &["button.preview-join-button:not(.disabled)", "#joinBtn"],
    },
    // §1, §7. "Join Audio by Computer" is how the call's sound reaches the recording.
    dialogs: &[
        DialogSpec {
            kind: "cookies",
            texts: &[],
            buttons: &["Accept Cookies", "Accept All Cookies", "I Agree"],
            button_selectors: &["#onetrust-accept-btn-handler", "#wc_agree1", "#disclaimer_agree"],
        },
        DialogSpec {
            kind: "launcher",
            texts: &[],
            buttons: &["Join from your browser", "Join from Your Browser"],
            button_selectors: &[],
        },
        DialogSpec {
            kind: "media_permission",
            texts: &[],
            buttons: &["Continue without microphone and camera"],
            button_selectors: &[],
        },
        DialogSpec {
            kind: "join_audio",
            texts: &[],
            buttons: &["Join Audio by Computer", "Join with Computer Audio"],
            button_selectors: &[],
        },
        DialogSpec {
            kind: "recording_notice",
            texts: &["This meeting is being recorded", "is being recorded"],
            buttons: &["Got it", "Continue", "OK"],
            button_selectors: &[],
        },
        DialogSpec {
            kind: "notice",
            texts: &[],
            buttons: &["Got it"],
            button_selectors: &[".zm-modal .zm-btn--primary"],
        },
    ],
    // §3. Only long phrases: bare "Please wait" also shows in the call.
    lobby_texts: &[
        "Please wait, the meeting host will let you in soon",
        "the meeting host will let you in soon",
        "Host has joined. We've let them know you're here",
        "We've let them know you're here",
        "Waiting for the host to start this meeting",
        "Waiting for the host to start the meeting",
    ],
    // §3: in-call notices contain lobby-like words; the footer never exists in the lobby.
    lobby_text_wins: false,
    transitional_texts: &[
        "Joining Meeting",
        "joining the meeting",
        "connecting to the meeting",
        "Launch Meeting",
    ],
    // §4. The footer hides itself a few seconds after admission: its markers count by
    // presence inside it (`in_call_hideable`); the video frames stay visible.
    in_call: &[
        "#wc-footer button[aria-label='Leave']",
        "button.footer-button__button[aria-label='Leave']",
        ".single-main-container__video-frame",
        ".speaker-active-container__video-frame",
        ".gallery-video-container__main-view",
    ],
    in_call_hideable: &[
        ("#wc-footer", "button[aria-label='Leave']"),
        ("#foot-bar", "button[aria-label='Leave']"),
        ("#wc-footer", "button[aria-label*='my microphone']"),
    ],
    // §6. The list's name and its "(Me)"/"(Host)" label are separate elements.
    roster: RosterSpec {
        panel_buttons: &[
            "button[aria-label*='participants list']",
            "button[aria-label*='Participants']",
        ],
        list_containers: &[".participants-ul", "#participants-ul", "#participants-list-container"],
        list_entries: &[EntrySpec {
            selector: ".participants-li, li.participants-item-position, [id^='participants-list-']",
            id_attribute: "",
            names: &[".participants-item__display-name"],
        }],
        tiles: &[EntrySpec {
            selector: ".video-avatar__avatar-footer",
            id_attribute: "",
            names: &[""],
        }],
        counters: &[
            CounterSpec {
                selector: "button[aria-label*='participants list']",
                attribute: Some("aria-label"),
            },
            CounterSpec {
                selector: ".footer-button__number-counter",
                attribute: None,
            },
        ],
        self_markers: &["(Me)", "(Host, me)", "(Co-host, me)", "(me)"],
        self_names: &[],
        qualifiers: &["(Host)", "(Co-host)", "(Guest)"],
        not_people: &[],
        // Zoom shows the participants and chat panels side by side.
        pane_shared_with_chat: false,
    },
    // §5. A removal before admission is a denial (the driver decides by phase): Zoom's
    // waiting-room removal and in-call removal share "You have been removed".
    screens: ScreensSpec {
        refusals: &[
            (
                "join_denied",
                &[
                    "the host has denied your request",
                    "You are unable to rejoin this meeting because you were previously removed",
                ],
            ),
            (
                "knocking_disabled",
                &[
                    "This meeting has been locked by host",
                    "This meeting has been locked by the host",
                ],
            ),
            (
                "meeting_not_found",
                &[
                    "Invalid meeting ID",
                    "This meeting link is invalid",
                    "Meeting does not exist",
                ],
            ),
            (
                "join_blocked",
                &["Unable join from browser", "Unable to join from browser"],
            ),
            (
                "sign_in_required",
                &[
                    "Sign in to join this meeting",
                    "Only authenticated users can join",
                    "This meeting requires authentication",
                    "authentication is required",
                    "This meeting is for authorized attendees only",
                ],
            ),
            (
                "captcha",
                &[
                    "We detected you may be a bot",
                    "Automated bots aren't allowed to join",
                    "Type the characters you see",
                ],
            ),
        ],
        refusal_selectors: &[(
            "captcha",
            &[
                ".component_smart_captcha",
                ".CaptchaContainer",
                "iframe[src*='recaptcha'][src*='bframe']",
            ],
        )],
        removed: &["You have been removed", "You've been removed"],
        ended: &[
            "This meeting has been ended by host",
            "This meeting has been ended by the host",
            "The meeting has ended",
        ],
    },
    leave_buttons: &[
        "button.leave-meeting-options__btn--danger",
        "button[aria-label='Leave']",
    ],
    // The progressive web app (`fromPWA=1`) runs the client in a same-origin iframe.
    frames: &["iframe#webclient", "iframe.pwa-webclient__iframe"],
    // One sender header above a run of messages; the list is virtualised.
    chat: ChatSpec {
        open_buttons: &["button[aria-label*='chat panel']"],
        inputs: &[
            ".chat-rtf-box__editor-outer [contenteditable='true']",
            ".tiptap.ProseMirror[contenteditable='true']",
        ],
        send_buttons: &["button[aria-label='send']", "button.chat-rtf-box__send"],
        message: ".new-chat-message__container, [id^='chat-message-']",
        sender: ".chat-item__sender, .chat-message-text__user-name",
        text: ".chat-rtf-box__display, .new-chat-message__text-box",
    },
    // signals-captions.md §Z1–Z3. The footer's captions control ("Show Captions", or under
    // More); captions show one live line at a time in the subtitle box. The line rarely
    // names the speaker: the bot takes the active speaker then.
    captions: CaptionsSpec {
        on_buttons: &[
            "button[aria-label='Show Captions']",
            "button[aria-label*='show captions' i]",
            "[role='menuitem'][aria-label*='show captions' i]",
        ],
        on_texts: &["Show Captions", "Show Subtitle"],
        menu_path: &[],
        shortcut: None,
        on_markers: &[
            "button[aria-label='Hide Captions']",
            "button[aria-label*='hide captions' i]",
            "#live-transcription-subtitle",
        ],
        containers: &[
            "#live-transcription-subtitle",
            ".live-transcription-subtitle__box",
            "[class*='live-transcription-subtitle']",
        ],
        lines: &[".live-transcription-subtitle__item"],
        speakers: &["img.zmu-data-selector-item__icon@alt", "[class*='speaker-name']"],
        texts: &[],
        unavailable_texts: &[
            "Captions are not enabled",
            "Live transcription has not been enabled",
            "The host has disabled captions",
        ],
        unavailable_selectors: &["button[aria-label*='captions' i][aria-disabled='true']"],
    },
    // §Z4: the active speaker's frame (speaker view) and the gallery's active frame.
    speaking: SpeakingSpec {
        indicators: &[
            SpeakingIndicator {
                tile: ".gallery-video-container__video-frame--active, .speaker-bar-container__video-frame--active",
                speaking: "",
                id_attribute: "",
                names: &[".video-avatar__avatar-footer", ".video-avatar__avatar-name"],
            },
            SpeakingIndicator {
                tile: ".speaker-active-container__video-frame",
                speaking: "",
                id_attribute: "",
                names: &[".video-avatar__avatar-footer", ".video-avatar__avatar-name"],
            },
        ],
    },
};

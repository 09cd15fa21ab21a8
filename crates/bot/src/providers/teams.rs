//! Microsoft Teams on the web (work meetings `teams.microsoft.com/l/meetup-join/…`,
//! `…/meet/<id>?p=…`, and `teams.live.com`), as an anonymous guest. Every selector and text
//! the bot reads on Teams is here; each candidate's sources and confidence are in
//! `docs/research/signals-teams.md` (§ numbers below) and `meeting-web-clients.md` §2.

use super::{
    CaptionsSpec, ChatSpec, ClientSpec, CounterSpec, DialogSpec, EntrySpec, PrejoinSpec, RosterSpec, ScreensSpec,
    SpeakingIndicator, SpeakingSpec,
};

pub const TEAMS: ClientSpec = ClientSpec {
    name: "Microsoft Teams",
    // §1. Anonymous `/meet/<id>` links may skip the launcher: it is a dialog, not a step.
    prejoin: PrejoinSpec {
        name_inputs: &[
            "input[data-tid='prejoin-display-name-input']",
            "input[placeholder='Type your name']",
            "input[aria-label='Type your name']",
        ],
        passcode_inputs: &[],
        // Switches whose state is `checked` (aria-checked is often missing): click only while on.
        mute_buttons: &[
            "[data-tid='toggle-mute']:checked",
            "[data-tid='toggle-video']:checked",
            "[data-tid='toggle-mute'][aria-checked='true']",
            "[data-tid='toggle-video'][aria-checked='true']",
        ],
        join_buttons: &["Join now", "Join meeting", "Rejoindre maintenant"],
        join_selectors: &["button[data-tid='prejoin-join-button']", "button#prejoin-join-button"],
    },
    // §1, §2. "Are you sure you don't want audio or video?" sits over the still-present
    // Join now (its backdrop swallows clicks) before or after Join; once answered, Join again.
    dialogs: &[
        DialogSpec {
            kind: "launcher",
            texts: &[],
            buttons: &[
                "Continue on this browser",
                "Join on the web instead",
                "Use the web app instead",
                "Join meeting from this browser",
                "Continuer sur ce navigateur",
            ],
            button_selectors: &["[data-tid='joinOnWeb']"],
        },
        DialogSpec {
            kind: "audio_video",
            texts: &[
                "Are you sure you don't want audio or video?",
                "Continue without audio or video",
            ],
            buttons: &[
                "Continue without audio or video",
                "Continuer sans audio ni vidéo",
                "Poursuivre sans audio ni vidéo",
            ],
            button_selectors: &["button[data-focus-target='gum-continue']"],
        },
        DialogSpec {
            kind: "notice",
            texts: &[],
            buttons: &["Got it", "Dismiss notification"],
            button_selectors: &[],
        },
    ],
    // §3. "Waiting for others to join" is an in-call text, not a lobby one.
    lobby_texts: &[
        "Someone will let you in when the meeting starts",
        "When the meeting starts, we'll let people know you're waiting",
        "Someone in the meeting should let you in soon",
        "We've let people in the meeting know you're waiting",
        "Someone will let you in soon",
        "Someone will let you in shortly",
        "Waiting to be admitted",
        "When someone lets you in, you'll join the meeting",
        "Quelqu'un vous laissera bientôt entrer",
    ],
    lobby_text_wins: true,
    transitional_texts: &["How do you want to join your Teams meeting", "Connecting", "Loading"],
    // §4. The hang-up button is in the lobby too; these are not.
    in_call: &[
        "#callingButtons-showMoreBtn",
        "button[data-tid='more-button']",
        "#microphone-button",
        "button#chat-button",
        "button#roster-button",
        "button[data-tid='calling-toolbar-people-button']",
        "[role='main'][aria-label='Shared content view']",
        "[data-tid='call-duration']",
    ],
    in_call_hideable: &[],
    // §6. Rows only exist while the People pane is open; names from the row's `span[title]`
    // or avatar-image span, else its accessible name before the first comma — never the row's
    // text (avatar initials + name + role chip run together).
    roster: RosterSpec {
        panel_buttons: &[
            "button#roster-button",
            "button[data-tid='calling-toolbar-people-button']",
            "button[aria-label='People']",
        ],
        list_containers: &[
            "[role='tree'][aria-label='Attendees']",
            "[role='tree'][aria-label='Participants']",
        ],
        list_entries: &[EntrySpec {
            selector: "[data-tid^='participantsInCall-'], [data-tid^='attendeesInMeeting-'], [data-tid^='participantsFromThread-'], [data-cid='roster-participant']",
            id_attribute: "id",
            names: &[
                "span[id^='roster-avatar-img-']",
                "span[title]@title",
                "@aria-label|comma",
            ],
        }],
        tiles: &[EntrySpec {
            selector: "[data-cid='calling-participant-stream'], [data-stream-type='Video']",
            id_attribute: "",
            names: &["[data-tid='participant-info-nametag']", "@aria-label|comma"],
        }],
        counters: &[
            CounterSpec {
                selector: "[id^='roster-title-section']",
                attribute: Some("aria-label"),
            },
            CounterSpec {
                selector: "[id^='roster-title-section']",
                attribute: None,
            },
        ],
        self_markers: &["Myself video", "(You)", "(Me)"],
        self_names: &[],
        qualifiers: &[
            "(Guest)",
            "(Unverified)",
            "(External)",
            "(Invité)",
            "Contact externe non reconnu",
            "Organizer",
            "Presenter",
        ],
        not_people: &[
            "Content shared by",
            "In this meeting",
            "See more",
            "Leaving...",
            "left the meeting",
        ],
        // Opening chat replaces the People pane (§6).
        pane_shared_with_chat: true,
    },
    // §5. Most refusals share one retry-screen layout.
    screens: ScreensSpec {
        refusals: &[
            (
                "join_denied",
                &[
                    "Sorry, but you were denied access to the meeting",
                    "Your request to join was declined",
                    "You were denied access",
                ],
            ),
            (
                "meeting_not_found",
                &[
                    "We couldn't find a meeting matching this ID and passcode",
                    "Looks like the meeting URL is incorrect",
                ],
            ),
            (
                "knocking_disabled",
                &["This meeting is locked", "The meeting has been locked"],
            ),
            (
                "join_blocked",
                &[
                    "Sorry, we couldn't connect you",
                    "we couldn't connect you",
                    "Your organization's policies don't allow you to join",
                    "External participants are not permitted to join",
                    "An encryption error occurred",
                ],
            ),
            (
                "sign_in_required",
                &[
                    "We need to verify your info before you can join",
                    "To join, sign in or use Teams on the web",
                    "You need to be signed in to Teams to access this meeting",
                    "Sign in to Teams to join",
                    "you need to be signed in to an account",
                    "you need to sign in or use Teams on the web",
                    "Anonymous users can't join this meeting",
                ],
            ),
            ("captcha", &["Verify you're a real person"]),
        ],
        // A redirect to Microsoft's sign-in page (login.microsoftonline.com / login.live.com).
        refusal_selectors: &[("sign_in_required", &["input[name='loginfmt']"])],
        removed: &[
            "You've been removed from this meeting",
            "You have been removed from this meeting",
            "Someone removed you from the meeting",
            "Removed from the meeting",
        ],
        ended: &[
            "The meeting has ended",
            "This meeting has ended",
            "Meeting has been ended",
            "You left the meeting",
            "Stay connected after your meeting",
        ],
    },
    leave_buttons: &[
        "#hangup-button",
        "button[data-tid='hangup-main-btn']",
        "[data-inp='hangup-button']",
    ],
    frames: &[],
    // §8. Anonymous guests may get no chat in some tenants; the bot then reports the send as failed.
    chat: ChatSpec {
        open_buttons: &["button#chat-button", "button[data-tid='calling-toolbar-chat-button']"],
        inputs: &[
            "[role='textbox'][aria-label*='Type a message']",
            "[contenteditable='true'][aria-label*='message']",
            "[placeholder='Type a message']",
            "div[id^='new-message-'][contenteditable='true']",
        ],
        send_buttons: &[
            "button[data-tid='newMessageCommands-send']",
            "button[aria-label*='Send']",
        ],
        message: "[data-tid='chat-pane-message'], div[data-mid]",
        sender: "[data-tid='message-author-name']",
        text: "[data-tid='messageBodyContent'], [id^='content-'], [data-message-content]",
    },
    // signals-captions.md §T1–T3. Live captions sit under More → Language and speech (a
    // toolbar toggle after the 2026 redesign); captions render as a compact chat list with
    // stable data-tid hooks.
    captions: CaptionsSpec {
        on_buttons: &[
            "[id='closed-captions-button'][data-tid$='-off']",
            "[id='closed-captions-button']:not([data-tid$='-on'])",
            "[data-tid='closed-captions-button']",
        ],
        on_texts: &["Turn on live captions", "Show live captions"],
        menu_path: &[
            "#callingButtons-showMoreBtn, button[data-tid='more-button']",
            "[id='LanguageSpeechMenuControl-id'], [data-tid='LanguageSpeechMenuControl-id']",
        ],
        shortcut: None,
        on_markers: &[
            "[data-tid='closed-caption-v2-window-wrapper']",
            "[data-tid='closed-captions-renderer']",
            "[data-tid='closed-caption-renderer-wrapper']",
        ],
        containers: &[
            "[data-tid='closed-caption-v2-window-wrapper']",
            "[data-tid='closed-captions-renderer']",
            "[data-tid='closed-caption-renderer-wrapper']",
        ],
        lines: &[
            ".fui-ChatMessageCompact",
            "[data-tid='closed-caption-message-content-root']",
        ],
        speakers: &["[data-tid='author']", "[data-tid='closed-caption-speaker-name']"],
        texts: &["[data-tid='closed-caption-text']"],
        unavailable_texts: &[
            "Live captions aren't available",
            "Live captions are turned off for this meeting",
        ],
        unavailable_selectors: &[
            "[id='closed-captions-button'][aria-disabled='true']",
            "[id='closed-captions-button'][disabled]",
        ],
    },
    // §T4: the voice-level outline of a tile carries the speaking state (attribute in 2026
    // captures, a class set with `vdi-frame-occlusion` in others).
    speaking: SpeakingSpec {
        indicators: &[
            SpeakingIndicator {
                tile: "[data-cid='calling-participant-stream'], [data-stream-type='Video']",
                speaking: "[data-tid='voice-level-stream-outline'][data-is-speaking='true']",
                id_attribute: "",
                names: &["[data-tid='participant-info-nametag']", "@aria-label|comma"],
            },
            SpeakingIndicator {
                tile: "[data-cid='calling-participant-stream'], [data-stream-type='Video']",
                speaking: "[data-tid='voice-level-stream-outline'].vdi-frame-occlusion",
                id_attribute: "",
                names: &["[data-tid='participant-info-nametag']", "@aria-label|comma"],
            },
        ],
    },
};

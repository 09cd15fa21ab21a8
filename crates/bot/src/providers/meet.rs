//! Google Meet (`meet.google.com/xxx-yyyy-zzz`), as a guest without a Google account.
//! Every selector and text the bot reads on Meet is here; each candidate's sources (public
//! bots, real DOM captures) and confidence are in `docs/research/signals-meet.md` (§ numbers
//! below) and `meeting-web-clients.md` §1.

use super::{
    CaptionsSpec, ChatSpec, ClientSpec, CounterSpec, DialogSpec, EntrySpec, PrejoinSpec, RosterSpec, ScreensSpec,
    SpeakingIndicator, SpeakingSpec,
};

pub const MEET: ClientSpec = ClientSpec {
    name: "Google Meet",
    // §1: the guest form has one text input; labels are English-only, the bare input is not.
    prejoin: PrejoinSpec {
        name_inputs: &[
            "input[aria-label='Your name']",
            "input[placeholder='Your name']",
            "input[type='text'][jsname]",
            "input[autocomplete='name']",
        ],
        passcode_inputs: &[],
        // The label states the action ("Turn off …"), so a second pass finds nothing to click.
        mute_buttons: &[
            "[role='button'][aria-label*='Turn off microphone']",
            "[role='button'][aria-label*='Turn off camera']",
            "button[aria-label*='Turn off microphone']",
            "button[aria-label*='Turn off camera']",
        ],
        // Prefixes: a real capture shows "Ask to join without microphone & camera".
        join_buttons: &[
            "Ask to join",
            "Join now",
            "Join anyway",
            "Join the call now",
            "Join here too",
            "Switch here",
            "Teilnahme erbitten",
            "Jetzt teilnehmen",
            "Trotzdem teilnehmen",
        ],
        join_selectors: &[],
    },
    // §1, §4. The recording notice gates the call's media until accepted ("Join now" in the
    // dialog, never "Leave").
    dialogs: &[
        DialogSpec {
            kind: "media_permission",
            texts: &[
                "Do you want people to see and hear you in the meeting",
                "Continue without microphone and camera",
            ],
            buttons: &[
                "Continue without microphone and camera",
                "Ohne Mikrofon und Kamera fortfahren",
                "Continue without microphone",
            ],
            button_selectors: &[],
        },
        DialogSpec {
            kind: "recording_notice",
            texts: &[
                "This video call is being recorded",
                "This video call is being transcribed",
                "being recorded and transcribed",
                "Gemini is taking notes",
            ],
            buttons: &["Join now", "Continue", "Got it"],
            button_selectors: &[
                "[role='dialog'] button[data-mdc-dialog-action='ok']",
                "button[data-mdc-dialog-action='ok']",
            ],
        },
        DialogSpec {
            kind: "notice",
            texts: &[],
            buttons: &["Got it", "Verstanden"],
            button_selectors: &[],
        },
    ],
    // §2: the 2026 capture shows only "Please wait until a meeting host brings you into the call".
    lobby_texts: &[
        "Please wait until a meeting host brings you into the call",
        "Asking to be let in",
        "Asking to join",
        "You'll join the call when someone lets you in",
        "Waiting for the host to let you in",
        "Bitte warten Sie, bis Sie vom Organisator",
    ],
    // The lobby already shows Leave call, Chat and a participant element (§2).
    lobby_text_wins: true,
    transitional_texts: &[
        "Getting ready",
        "You'll be able to join in just a moment",
        "Ready to join?",
    ],
    // §3: present in the call, absent from the lobby in real captures.
    in_call: &[
        "[aria-label='Meeting details']",
        "[role='region'][aria-label='Call feature notifications and actions']",
        "button[aria-label='Turn on captions']",
        "button[aria-label='Turn off captions']",
        "[role='button'][aria-label='Turn on captions']",
        "[role='button'][aria-label='Turn off captions']",
        "button[aria-label='Host controls']",
    ],
    in_call_hideable: &[],
    // §6. Names from the panel's accessible labels, the tiles' name bars (`.notranslate`),
    // never a tile's first line (the avatar initial with the camera off).
    roster: RosterSpec {
        panel_buttons: &[
            "button[aria-label^='People']",
            "[role='button'][aria-label^='People']",
            "button[aria-label^='Show everyone']",
            "button[aria-label^='Personen']",
        ],
        list_containers: &[
            "[role='list'][aria-label='Participants']",
            "[role='list'][aria-label='Teilnehmer']",
        ],
        list_entries: &[EntrySpec {
            selector: "[role='listitem']",
            id_attribute: "data-participant-id",
            names: &["@aria-label", "span.zWGUib", "span.notranslate"],
        }],
        tiles: &[EntrySpec {
            selector: "[data-participant-id]",
            id_attribute: "data-participant-id",
            // Not `data-self-name`: where it exists it holds the viewer's own name on every tile.
            names: &["span.notranslate", "span.zWGUib"],
        }],
        counters: &[
            CounterSpec {
                selector: "[data-avatar-count]",
                attribute: Some("data-avatar-count"),
            },
            CounterSpec {
                selector: "button[aria-label^='People - ']",
                attribute: Some("aria-label"),
            },
        ],
        self_markers: &["(You)", "(Du)", "(Vous)", "(Tú)"],
        self_names: &["You", "Du", "Ich", "Vous", "Tú", "Você"],
        qualifiers: &["Meeting host"],
        not_people: &[
            "Backgrounds and effects",
            "visual_effects",
            "Your presentation",
            "is presenting",
            "Merged audio",
            "Adaptive audio group",
        ],
        // Opening chat hides the People pane (§8).
        pane_shared_with_chat: true,
    },
    // §5. Every end screen carries "No one can join a meeting unless invited or admitted by
    // the host" and "Return to home screen": boilerplate, never a signal.
    screens: ScreensSpec {
        refusals: &[
            (
                "join_denied",
                &[
                    "Someone in the call denied your request to join",
                    "denied your request to join",
                ],
            ),
            (
                "waiting_room_timeout",
                &[
                    "No one responded to your request to join the call",
                    "Niemand hat auf Ihre Teilnahmeanfrage geantwortet",
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
            // Also Meet's answer to a bot it blocks (attendee reads it so): a refusal the
            // host did not make.
            (
                "join_blocked",
                &[
                    "You can't join this video call",
                    "There is a problem connecting to this video call",
                ],
            ),
            (
                "sign_in_required",
                &["Use your Google Account", "Sign in with your Google Account"],
            ),
            ("captcha", &["Our systems have detected unusual traffic"]),
        ],
        refusal_selectors: &[
            ("sign_in_required", &["input[type='email'][name='identifier']"]),
            (
                "captcha",
                &[
                    "iframe[src*='recaptcha'][src*='bframe']",
                    "iframe[title*='recaptcha challenge']",
                ],
            ),
        ],
        removed: &[
            "You've been removed from the meeting",
            "You were removed from the meeting",
        ],
        ended: &[
            "Your host ended the meeting for everyone",
            "The call ended because everyone left",
            "This meeting has ended",
            "You left the meeting",
        ],
    },
    leave_buttons: &[
        "button[aria-label='Leave call']",
        "[role='button'][aria-label='Leave call']",
    ],
    frames: &[],
    // §8. The body's text leaf; the pin button beside it also carries `data-message-id` (and a
    // "keep" icon ligature) and is skipped; own runs have a time-only header.
    chat: ChatSpec {
        open_buttons: &[
            "button[aria-label^='Chat with everyone']",
            "button[aria-label='Toggle chat']",
        ],
        inputs: &[
            "textarea[aria-label*='Send a message']",
            "textarea[placeholder*='Send a message']",
            "input[aria-label*='Send a message']",
        ],
        send_buttons: &["button[aria-label*='Send a message']", "button[aria-label*='Send']"],
        message: "div[data-message-id]",
        sender: ".poVWob",
        text: "[jsname='dTKtvb'], [data-is-tv], .jO4O1",
    },
    // signals-captions.md §M1–M3. The control's label states the action; Meet also toggles
    // captions with `c`. Line classes are obfuscated (several peers agree on them in 2025),
    // the region's role/tabindex is the structural anchor they fall back to.
    captions: CaptionsSpec {
        on_buttons: &[
            "button[aria-label^='Turn on captions']",
            "[role='button'][aria-label^='Turn on captions']",
        ],
        on_texts: &["Turn on captions", "Untertitel aktivieren"],
        menu_path: &[],
        shortcut: Some("c"),
        on_markers: &[
            "button[aria-label^='Turn off captions']",
            "[role='button'][aria-label^='Turn off captions']",
        ],
        containers: &[
            "div[role='region'][aria-label='Captions']",
            "div[role='region'][tabindex='0']",
            ".a4cQT",
        ],
        lines: &[".nMcdL", "div[role='region'][aria-label='Captions'] > div"],
        speakers: &[".NWpY1d", ".KcIKyf", "img@alt"],
        texts: &[".ygicle", ".bh44bd"],
        unavailable_texts: &["Captions aren't available", "Captions are not available"],
        unavailable_selectors: &[
            "button[aria-label^='Turn on captions'][aria-disabled='true']",
            "button[aria-label^='Turn on captions'][disabled]",
        ],
    },
    // §M4: Meet marks a speaking tile with an animated border whose classes are obfuscated
    // (Vexa lists four); low confidence, several candidates.
    speaking: SpeakingSpec {
        indicators: &[
            SpeakingIndicator {
                tile: "[data-participant-id]",
                speaking: ".Oaajhc, .HX2H7, .wEsLMd, .OgVli",
                id_attribute: "data-participant-id",
                names: &["span.notranslate", "span.zWGUib"],
            },
            SpeakingIndicator {
                tile: "[data-participant-id]",
                speaking: "[data-speaking='true'], [class*='speaking']",
                id_attribute: "data-participant-id",
                names: &["span.notranslate", "span.zWGUib"],
            },
        ],
    },
};

//! Wire enums shared by several resources. They mirror the core types one to one so
//! the OpenAPI document lists their values; the core stays free of serde and utoipa.

use meeboter_core::{ApiKeyRole, BotStatus, MeetingPlatform, RecordingMode};
use serde::Serialize;
use utoipa::ToSchema;

/// Bot status. `ENDED` and `FATAL` are terminal.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BotStatusWire {
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

impl From<BotStatus> for BotStatusWire {
    fn from(s: BotStatus) -> Self {
        match s {
            BotStatus::Scheduled => Self::Scheduled,
            BotStatus::Queued => Self::Queued,
            BotStatus::Deploying => Self::Deploying,
            BotStatus::JoiningCall => Self::JoiningCall,
            BotStatus::InWaitingRoom => Self::InWaitingRoom,
            BotStatus::InCall => Self::InCall,
            BotStatus::Leaving => Self::Leaving,
            BotStatus::Ended => Self::Ended,
            BotStatus::Fatal => Self::Fatal,
        }
    }
}

/// Meeting platform.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PlatformWire {
    GoogleMeet,
    MicrosoftTeams,
    Zoom,
}

impl From<MeetingPlatform> for PlatformWire {
    fn from(p: MeetingPlatform) -> Self {
        match p {
            MeetingPlatform::GoogleMeet => Self::GoogleMeet,
            MeetingPlatform::MicrosoftTeams => Self::MicrosoftTeams,
            MeetingPlatform::Zoom => Self::Zoom,
        }
    }
}

/// What the bot records.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RecordingModeWire {
    None,
    Audio,
    Video,
}

impl From<RecordingMode> for RecordingModeWire {
    fn from(m: RecordingMode) -> Self {
        match m {
            RecordingMode::None => Self::None,
            RecordingMode::Audio => Self::Audio,
            RecordingMode::Video => Self::Video,
        }
    }
}

/// API key role.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RoleWire {
    Admin,
    Member,
}

impl From<ApiKeyRole> for RoleWire {
    fn from(r: ApiKeyRole) -> Self {
        match r {
            ApiKeyRole::Admin => Self::Admin,
            ApiKeyRole::Member => Self::Member,
        }
    }
}

/// Transcription provider. Which ones a server accepts depends on its configuration
/// (`openai` needs `TRANSCRIPTION_OPENAI_URL`, `deepgram` `TRANSCRIPTION_DEEPGRAM_API_KEY`): the others
/// are refused with 422 `provider_not_configured` / `provider_not_available`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptionProviderWire {
    MeetingCaptions,
    Openai,
    Deepgram,
}

/// Webhook event type (`events` of an endpoint). Kept equal to
/// [`crate::lifecycle::event_type::ALL`] by a test.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub enum WebhookEventWire {
    #[serde(rename = "bot.status_changed")]
    StatusChanged,
    #[serde(rename = "bot.participant_joined")]
    ParticipantJoined,
    #[serde(rename = "bot.participant_left")]
    ParticipantLeft,
    #[serde(rename = "bot.chat_received")]
    ChatReceived,
    #[serde(rename = "bot.recording_ready")]
    RecordingReady,
    #[serde(rename = "bot.transcript_data")]
    TranscriptData,
    #[serde(rename = "bot.transcript_ready")]
    TranscriptReady,
    #[serde(rename = "bot.transcript_failed")]
    TranscriptFailed,
}

impl WebhookEventWire {
    pub const ALL: [WebhookEventWire; 8] = [
        Self::StatusChanged,
        Self::ParticipantJoined,
        Self::ParticipantLeft,
        Self::ChatReceived,
        Self::RecordingReady,
        Self::TranscriptData,
        Self::TranscriptReady,
        Self::TranscriptFailed,
    ];
}

/// Format of `GET /api/bots/{id}/transcript`.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TranscriptFormatWire {
    Json,
    Txt,
    Srt,
    Vtt,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_event_enum_lists_every_event_the_server_sends() {
        let wire: Vec<String> = WebhookEventWire::ALL
            .iter()
            .map(|e| serde_json::to_value(e).unwrap().as_str().unwrap().to_string())
            .collect();
        assert_eq!(wire, crate::lifecycle::event_type::ALL);
    }
}

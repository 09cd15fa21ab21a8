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

//! Meeboter's domain core: the vocabulary every other crate speaks.
//!
//! **Architecture invariant:** this crate does no I/O and knows nothing of HTTP, SQL
//! or browsers. Everything here is a pure function of its inputs (the clock and the
//! random generator are passed in or isolated in tiny helpers), so it is tested
//! exhaustively without any services.

pub mod api_key;
pub mod bot;
pub mod create_bot;
pub mod lifecycle;
pub mod meeting_url;
pub mod transcription;
pub mod validation;

pub use api_key::{ApiKeyRole, GeneratedApiKey};
pub use bot::{AutomaticLeave, BotStatus, RecordingMode};
pub use meeting_url::{MeetingPlatform, MeetingUrl, MeetingUrlError};
pub use validation::{FieldError, ValidationErrors};

/// A new time-ordered identifier (UUIDv7).
///
/// Identifiers are never guessable integers, and sorting them as strings sorts them by
/// creation time, which is what cursor pagination relies on.
pub fn new_id() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}

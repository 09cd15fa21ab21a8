//! HTTP handlers, one module per resource.

pub mod accounts;
pub mod bot_activity;
pub mod bot_audio;
pub mod bot_channel;
pub mod bots;
pub mod health;
pub mod infrastructure;
pub mod keys;
pub mod media;
pub mod transcripts;
pub mod webhooks;
pub mod wire;

//! Applying status changes and publishing what happened, each in the caller's transaction.
//!
//! **Invariant:** every status change goes through [`transition`]. It checks the core
//! transition table, compares-and-sets the status (so two writers cannot both win),
//! appends the history entry and the `status_change` event, writes webhook deliveries to
//! the outbox, and — on a terminal status — enqueues the release of the bot's platform
//! resources. All of it commits or none of it does.

use chrono::{DateTime, Utc};
use meeboter_core::BotStatus;
use meeboter_core::lifecycle::can_transition;
use meeboter_db::bots::{self, BotRecord, StatusChangeRecord, StatusWrite};
use meeboter_db::webhooks::{self, Destination};
use meeboter_db::{AnyConnection, DbResult, chat, events, jobs, participants};
use serde_json::{Value, json};

/// Webhook event types (the `type` field of every payload).
pub mod event_type {
    pub const STATUS_CHANGED: &str = "bot.status_changed";
    pub const PARTICIPANT_JOINED: &str = "bot.participant_joined";
    pub const PARTICIPANT_LEFT: &str = "bot.participant_left";
    pub const CHAT_RECEIVED: &str = "bot.chat_received";
    pub const RECORDING_READY: &str = "bot.recording_ready";
    /// A final transcript utterance (captions, in real time).
    pub const TRANSCRIPT_DATA: &str = "bot.transcript_data";
    /// The transcript is complete.
    pub const TRANSCRIPT_READY: &str = "bot.transcript_ready";
    /// The transcript could not be made (`data.error` says why).
    pub const TRANSCRIPT_FAILED: &str = "bot.transcript_failed";
    pub const ALL: &[&str] = &[
        STATUS_CHANGED,
        PARTICIPANT_JOINED,
        PARTICIPANT_LEFT,
        CHAT_RECEIVED,
        RECORDING_READY,
        TRANSCRIPT_DATA,
        TRANSCRIPT_READY,
        TRANSCRIPT_FAILED,
    ];
}

/// Result of a requested status change.
#[derive(Debug)]
pub enum TransitionOutcome {
    Applied(Box<BotRecord>),
    /// The change does not fit the table; it was recorded as a `status_rejected` event.
    Rejected {
        current: BotStatus,
    },
}

/// Applies `to` to the bot if the transition table allows it. `None` if the bot does not exist.
pub async fn transition(
    conn: &mut AnyConnection,
    bot_id: &str,
    to: BotStatus,
    sub_code: Option<&str>,
    message: Option<&str>,
    now: DateTime<Utc>,
) -> DbResult<Option<TransitionOutcome>> {
    for _ in 0..5 {
        let Some(bot) = bots::find_any(conn, bot_id).await? else {
            return Ok(None);
        };
        if !can_transition(bot.status, to) {
            let data = json!({"requested": to.as_str(), "subCode": sub_code, "message": message, "current": bot.status.as_str()});
            events::insert(conn, bot_id, "status_rejected", &data, now).await?;
            return Ok(Some(TransitionOutcome::Rejected { current: bot.status }));
        }
        let write = StatusWrite {
            deployment_started: to == BotStatus::Deploying,
            in_call: to == BotStatus::InCall,
            terminal: to.is_terminal(),
            leave_reason: (to == BotStatus::Leaving).then(|| {
                sub_code
                    .unwrap_or(meeboter_core::lifecycle::sub_code::USER_REQUESTED)
                    .to_string()
            }),
        };
        if !bots::set_status(conn, bot_id, bot.status, to, &write, now).await? {
            continue; // Someone else changed it in between; decide again on fresh data.
        }
        let change = StatusChangeRecord {
            status: to,
            sub_code: sub_code.map(str::to_string),
            message: message.map(str::to_string),
            at: now,
        };
        bots::insert_status_change(conn, bot_id, &change).await?;
        let data = json!({
            "botId": bot_id,
            "previousStatus": bot.status.as_str(),
            "status": to.as_str(),
            "subCode": sub_code,
            "message": message,
            "at": now,
        });
        events::insert(conn, bot_id, "status_change", &data, now).await?;
        let mut payload = data;
        payload["metadata"] = Value::Object(bot.metadata.clone());
        publish(conn, &bot, event_type::STATUS_CHANGED, payload, now).await?;
        if to.is_terminal() {
            let reason = sub_code.unwrap_or(to.as_str());
            chat::fail_undelivered(conn, bot_id, &format!("bot {} ({reason})", to.as_str()), now).await?;
            participants::close_all(conn, bot_id, now).await?;
            crate::transcription::on_bot_ended(conn, &bot, now).await?;
            if bot.deployment_platform.is_some() {
                jobs::enqueue_release(
                    conn,
                    bot_id,
                    bot.deployment_platform.as_deref(),
                    bot.deployment_identifier.as_deref(),
                    reason,
                    now,
                )
                .await?;
            }
        }
        let updated = bots::find_any(conn, bot_id)
            .await?
            .ok_or_else(|| meeboter_db::DbError::Corrupt(format!("bot {bot_id} vanished during a transition")))?;
        return Ok(Some(TransitionOutcome::Applied(Box::new(updated))));
    }
    Err(meeboter_db::DbError::Unavailable(format!(
        "bot {bot_id} changed too often to apply a transition"
    )))
}

/// Writes a webhook event for `bot` to the outbox: to every account endpoint subscribed to
/// `event` and to the bot's own `webhookUrl`.
pub async fn publish(
    conn: &mut AnyConnection,
    bot: &BotRecord,
    event: &str,
    data: Value,
    now: DateTime<Utc>,
) -> DbResult<()> {
    let mut destinations: Vec<Destination> = webhooks::list_endpoints(conn, &bot.account_id)
        .await?
        .into_iter()
        .filter(|e| e.events.is_empty() || e.events.iter().any(|t| t == event))
        .map(|e| Destination {
            endpoint_id: Some(e.id),
            url: e.url,
        })
        .collect();
    if let Some(url) = &bot.webhook_url {
        // The account's signing secret is created (encrypted) on first delivery.
        destinations.push(Destination {
            endpoint_id: None,
            url: url.clone(),
        });
    }
    if destinations.is_empty() {
        return Ok(());
    }
    let payload = json!({"type": event, "timestamp": now, "data": data}).to_string();
    webhooks::enqueue(
        conn,
        &bot.account_id,
        Some(&bot.id),
        &destinations,
        event,
        &payload,
        now,
    )
    .await?;
    Ok(())
}

/// A Standard Webhooks secret: `whsec_` + base64 of 32 random bytes.
pub fn new_webhook_secret() -> String {
    use base64::Engine;
    let raw: [u8; 32] = rand::random();
    format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(raw))
}

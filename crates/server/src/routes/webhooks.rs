//! `/api/webhooks`: account-level endpoints, their deliveries, redelivery, and the
//! secret that signs per-bot `webhookUrl` deliveries.

use super::bots::parse_id;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::lifecycle::{event_type, new_webhook_secret};
use crate::webhook_client::check_registration_target;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use meeboter_core::create_bot::validate_webhook_url;
use meeboter_db::DbError;
use meeboter_db::webhooks::{self, AttemptRecord, DeliveryRecord, EndpointRecord};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"url": "https://example.com/meeboter-hook", "events": ["bot.status_changed", "bot.recording_ready"]}))]
#[serde(deny_unknown_fields)]
pub struct CreateEndpointRequest {
    /// http(s) URL. Unless the server sets `WEBHOOK_ALLOW_PRIVATE=true`, the host must be
    /// public: IP literals and every address a name resolves to are checked (loopback,
    /// private, link-local, reserved, NAT64/IPv4-mapped forms of those → 422 `private_target`),
    /// and a name that does not resolve is refused (422 `unresolvable_host`).
    #[schema(format = "uri", max_length = 2048)]
    pub url: String,
    /// Event types to receive; empty or absent = all (`bot.status_changed`,
    /// `bot.participant_joined`, `bot.participant_left`, `bot.chat_received`, `bot.recording_ready`).
    #[serde(default)]
    #[schema(value_type = Vec<crate::routes::wire::WebhookEventWire>)]
    pub events: Vec<String>,
    /// `whsec_<base64>` of 24 to 64 bytes (the schema states 25 to 63, which are always
    /// accepted); generated when absent.
    #[schema(value_type = Option<String>, required = false,
        pattern = "^whsec_(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$",
        min_length = 42, max_length = 90)]
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct EndpointResource {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub created_at: DateTime<Utc>,
    /// Present only in the create response.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn to_endpoint(e: EndpointRecord, secret: Option<String>) -> EndpointResource {
    EndpointResource {
        id: e.id,
        url: e.url,
        events: e.events,
        created_at: e.created_at,
        secret,
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointList {
    pub endpoints: Vec<EndpointResource>,
}

/// Register a webhook endpoint. The secret is shown in this response only.
#[utoipa::path(post, path = "/api/webhooks", tag = "webhooks", request_body = CreateEndpointRequest,
    responses((status = 201, body = EndpointResource), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn create_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    body: ApiJson<CreateEndpointRequest>,
) -> ApiResult<(StatusCode, Json<EndpointResource>)> {
    let req = body.value;
    let mut errors = meeboter_core::ValidationErrors::default();
    let url = match validate_webhook_url(&req.url) {
        Ok(u) => match check_registration_target(&u, state.config.webhook_allow_private).await {
            Ok(()) => u,
            Err(refusal) => {
                errors.push("url", refusal.code, refusal.message);
                String::new()
            }
        },
        Err(msg) => {
            errors.push("url", "invalid_url", msg);
            String::new()
        }
    };
    for e in &req.events {
        if !event_type::ALL.contains(&e.as_str()) {
            errors.push(
                "events",
                "invalid_value",
                format!("unknown event type `{e}`; known: {}", event_type::ALL.join(", ")),
            );
        }
    }
    let secret = match req.secret {
        None => new_webhook_secret(),
        Some(s) => {
            use base64::Engine;
            let ok = s.strip_prefix("whsec_").is_some_and(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .is_ok_and(|k| (24..=64).contains(&k.len()))
            });
            if !ok {
                errors.push(
                    "secret",
                    "invalid_value",
                    "secret must be whsec_ followed by base64 of 24 to 64 bytes",
                );
            }
            s
        }
    };
    errors.into_result(()).map_err(ApiError::from)?;
    let mut tx = state.db.begin_write().await?;
    let endpoint = webhooks::insert_endpoint(
        &mut tx,
        &state.keys,
        &caller.account_id,
        &url,
        &req.events,
        &secret,
        state.now(),
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::CREATED, Json(to_endpoint(endpoint, Some(secret)))))
}

/// Your webhook endpoints (without secrets).
#[utoipa::path(get, path = "/api/webhooks", tag = "webhooks",
    responses((status = 200, body = EndpointList)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_endpoints(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<EndpointList>> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let list = webhooks::list_endpoints(&mut conn, &caller.account_id).await?;
    Ok(Json(EndpointList {
        endpoints: list.into_iter().map(|e| to_endpoint(e, None)).collect(),
    }))
}

/// Delete a webhook endpoint (its pending deliveries go with it).
#[utoipa::path(delete, path = "/api/webhooks/{id}", tag = "webhooks", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn delete_endpoint(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "webhook endpoint")?;
    let mut tx = state.db.begin_write().await?;
    if !webhooks::delete_endpoint(&mut tx, &caller.account_id, &id).await? {
        return Err(ApiError::not_found("webhook endpoint"));
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::NO_CONTENT)
}

/// One try at sending a delivery.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AttemptResource {
    /// When it was sent.
    pub at: DateTime<Utc>,
    /// The receiver's HTTP status; null when there was no answer (refused, timed out).
    pub status_code: Option<i64>,
    /// Why it counts as failed (a non-2xx answer or the connection error); null on success.
    pub error: Option<String>,
    pub duration_ms: i64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryResource {
    /// Also the `webhook-id` header: stable across retries.
    pub id: String,
    pub event_type: String,
    pub bot_id: Option<String>,
    /// `pending`, `delivered` or `failed` (gave up after 24 h).
    pub status: String,
    /// Every attempt so far (redeliveries included), oldest first.
    pub attempts: Vec<AttemptResource>,
    /// When the next attempt is due; only while `pending`.
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// A page of an endpoint's deliveries, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryList {
    pub deliveries: Vec<DeliveryResource>,
    /// Pass as `cursor` to get the next (older) page; null on the last page.
    pub next_cursor: Option<String>,
}

fn to_delivery(d: DeliveryRecord, attempts: Vec<AttemptRecord>) -> DeliveryResource {
    DeliveryResource {
        next_attempt_at: (d.status == "pending").then_some(d.next_attempt_at),
        id: d.id,
        event_type: d.event_type,
        bot_id: d.bot_id,
        status: d.status,
        attempts: attempts
            .into_iter()
            .map(|a| AttemptResource {
                at: a.at,
                status_code: a.status_code,
                error: a.error,
                duration_ms: a.duration_ms,
            })
            .collect(),
        created_at: d.created_at,
        delivered_at: d.delivered_at,
    }
}

/// Page size of the delivery log when `limit` is absent, and its bounds.
const DELIVERIES_DEFAULT_LIMIT: u32 = 50;
const DELIVERIES_MAX_LIMIT: u32 = 100;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// Page size, 1–100 (default 50).
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
    /// `nextCursor` from the previous page (deliveries older than it).
    #[param(value_type = Option<String>, pattern = "^msg_[0-9a-f]{32}$")]
    pub cursor: Option<String>,
}

/// An endpoint's deliveries, newest first, a page at a time, each with its attempts
/// (oldest first) and, while pending, when the next attempt is due.
#[utoipa::path(get, path = "/api/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), DeliveriesQuery),
    responses((status = 200, body = DeliveryList), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<DeliveriesQuery>,
) -> ApiResult<Json<DeliveryList>> {
    let mut errors = meeboter_core::ValidationErrors::default();
    let limit = q.limit.unwrap_or(DELIVERIES_DEFAULT_LIMIT);
    if !(1..=DELIVERIES_MAX_LIMIT).contains(&limit) {
        errors.push("limit", "out_of_range", "limit must be between 1 and 100");
    }
    if let Some(c) = &q.cursor
        && !webhooks::is_delivery_id(c)
    {
        errors.push(
            "cursor",
            "invalid_cursor",
            "cursor must be a nextCursor value from a previous page",
        );
    }
    errors.into_result(()).map_err(ApiError::from)?;
    let id = parse_id(&id, "webhook endpoint")?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    webhooks::find_endpoint(&mut conn, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    let (page, has_more) =
        webhooks::list_deliveries(&mut conn, &caller.account_id, &id, q.cursor.as_deref(), limit).await?;
    let ids: Vec<&str> = page.iter().map(|d| d.id.as_str()).collect();
    let mut attempts = webhooks::attempts_of(&mut conn, &ids).await?;
    let next_cursor = if has_more {
        page.last().map(|d| d.id.clone())
    } else {
        None
    };
    let deliveries = page
        .into_iter()
        .map(|d| {
            let tried = attempts.remove(&d.id).unwrap_or_default();
            to_delivery(d, tried)
        })
        .collect();
    Ok(Json(DeliveryList {
        deliveries,
        next_cursor,
    }))
}

/// Send a delivery again now (same id, same payload).
#[utoipa::path(post, path = "/api/webhooks/{id}/deliveries/{deliveryId}/redeliver", tag = "webhooks",
    params(("id" = String, Path), ("deliveryId" = String, Path)),
    responses((status = 202, description = "queued for another attempt; no body"), (status = 404, body = ErrorBody)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn redeliver(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, delivery_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "webhook endpoint")?;
    let mut tx = state.db.begin_write().await?;
    if !webhooks::redeliver(&mut tx, &caller.account_id, &id, &delivery_id, state.now()).await? {
        return Err(ApiError::not_found("delivery"));
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(StatusCode::ACCEPTED)
}

/// The `type` of the event that "send test event" delivers. Not a bot event, so no endpoint
/// subscribes to it: it goes only to the endpoint it was sent for, whatever that endpoint's
/// event filter.
pub const TEST_EVENT: &str = "webhook.test";

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestDelivery {
    /// The queued delivery: it appears in the endpoint's deliveries (and is the `webhook-id`).
    pub delivery_id: String,
}

/// Queue a `webhook.test` event for this endpoint, so its receiver (URL, signature check,
/// answer) can be tried without waiting for a bot. It is delivered like any event: signed
/// with the endpoint's secret, retried with backoff, listed with its attempts.
#[utoipa::path(post, path = "/api/webhooks/{id}/test", tag = "webhooks",
    params(("id" = String, Path, description = "The endpoint's id")),
    responses(
        (status = 202, body = TestDelivery, description = "Queued; the deliverer sends it within seconds"),
        (status = 404, body = ErrorBody, description = "No such endpoint in this account (or a malformed id)"),
    ),
    security(("bearer" = []), ("apiKey" = [])))]
pub async fn send_test(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<TestDelivery>)> {
    let id = parse_id(&id, "webhook endpoint")?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let endpoint = webhooks::find_endpoint(&mut tx, &caller.account_id, &id)
        .await?
        .ok_or_else(|| ApiError::not_found("webhook endpoint"))?;
    let payload = serde_json::json!({
        "type": TEST_EVENT,
        "timestamp": now,
        "data": {"endpointId": endpoint.id, "message": "A test event sent from Meeboter."},
    })
    .to_string();
    let destination = webhooks::Destination {
        endpoint_id: Some(endpoint.id.clone()),
        url: endpoint.url.clone(),
    };
    let ids = webhooks::enqueue(
        &mut tx,
        &caller.account_id,
        None,
        &[destination],
        TEST_EVENT,
        &payload,
        now,
    )
    .await?;
    tx.commit().await.map_err(DbError::from)?;
    let delivery_id = ids.into_iter().next().ok_or_else(ApiError::internal)?;
    Ok((StatusCode::ACCEPTED, Json(TestDelivery { delivery_id })))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SigningSecret {
    /// Verifies deliveries to per-bot `webhookUrl`s of this account.
    pub secret: String,
}

/// The secret that signs deliveries to bots' own `webhookUrl` (created on first use).
#[utoipa::path(get, path = "/api/webhooks/signing-secret", tag = "webhooks",
    responses((status = 200, body = SigningSecret)), security(("bearer" = []), ("apiKey" = [])))]
pub async fn signing_secret(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<SigningSecret>> {
    let mut tx = state.db.begin_write().await?;
    let secret = webhooks::account_secret(&mut tx, &state.keys, &caller.account_id, &new_webhook_secret()).await?;
    tx.commit().await.map_err(DbError::from)?;
    Ok(Json(SigningSecret { secret }))
}

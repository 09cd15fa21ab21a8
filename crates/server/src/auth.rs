//! API-key authentication for user endpoints.

use crate::AppState;
use crate::error::ApiError;
use crate::session;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Duration;
use meeboter_core::ApiKeyRole;
use meeboter_core::api_key::{hash_secret, looks_like_api_key};
use meeboter_db::api_keys;

/// `last_used_at` is refreshed at most this often per key.
const TOUCH_INTERVAL: Duration = Duration::seconds(60);

/// The authenticated caller of a user endpoint.
#[derive(Debug, Clone)]
pub struct Caller {
    pub key_id: String,
    pub account_id: String,
    pub role: ApiKeyRole,
}

impl Caller {
    pub fn is_admin(&self) -> bool {
        self.role == ApiKeyRole::Admin
    }

    pub fn require_admin(&self) -> Result<(), ApiError> {
        if self.is_admin() {
            Ok(())
        } else {
            Err(ApiError::forbidden("this endpoint needs an admin API key"))
        }
    }
}

/// The key behind the dashboard session of the request's cookie; state-changing requests
/// must carry the session's CSRF token.
async fn key_of_session(parts: &Parts, state: &AppState) -> Result<api_keys::ApiKeyRecord, ApiError> {
    let live = session::current(state, &parts.headers)
        .await?
        .ok_or_else(|| ApiError::unauthorized("your dashboard session has ended; sign in again"))?;
    if session::is_unsafe(&parts.method) {
        let sent = parts
            .headers
            .get(session::CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !session::same_token(sent, &live.csrf_token) {
            return Err(session::csrf_refused());
        }
    }
    Ok(live.key)
}

/// The raw key from `Authorization: Bearer …` or `X-Api-Key: …`.
fn presented_key(parts: &Parts) -> Result<&str, ApiError> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| ApiError::unauthorized("the Authorization header is not valid text"))?;
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
            return Err(ApiError::unauthorized("use `Authorization: Bearer <API key>`"));
        }
        return Ok(token.trim());
    }
    if let Some(value) = parts.headers.get("x-api-key") {
        return value
            .to_str()
            .map(str::trim)
            .map_err(|_| ApiError::unauthorized("the X-Api-Key header is not valid text"));
    }
    Err(ApiError::unauthorized(
        "missing API key: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
    ))
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // Already authenticated in this process (the MCP endpoint's tool calls): request
        // extensions cannot be set from outside, so this is never a client's claim.
        if let Some(caller) = parts.extensions.get::<Caller>() {
            return Ok(caller.clone());
        }
        let key_sent =
            parts.headers.contains_key(axum::http::header::AUTHORIZATION) || parts.headers.contains_key("x-api-key");
        let key = if !key_sent && session::cookie(&parts.headers, session::SESSION_COOKIE).is_some() {
            key_of_session(parts, state).await?
        } else {
            let raw = presented_key(parts)?;
            if !looks_like_api_key(raw) {
                return Err(ApiError::unauthorized("invalid API key"));
            }
            let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
            api_keys::find_by_hash(&mut conn, &hash_secret(raw))
                .await?
                .ok_or_else(|| ApiError::unauthorized("invalid API key"))?
        };
        let mut conn = state.db.pool().acquire().await.map_err(meeboter_db::DbError::from)?;
        let now = state.now();
        if key.revoked_at.is_some() {
            return Err(ApiError::unauthorized("this API key has been revoked"));
        }
        if let Some(expired) = key.expires_at.filter(|e| *e <= now) {
            return Err(ApiError::unauthorized(format!(
                "this API key expired at {}",
                expired.to_rfc3339()
            )));
        }
        if let Err(wait) = state.rate_limiter.check(&key.id) {
            let mut e = ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!("too many requests for this API key; retry in {wait} s"),
            );
            e.retry_after_secs = Some(wait);
            return Err(e);
        }
        if key.last_used_at.is_none_or(|t| now - t > TOUCH_INTERVAL) {
            api_keys::touch(&mut conn, &key.id, now).await?;
        }
        Ok(Caller {
            key_id: key.id,
            account_id: key.account_id,
            role: key.role,
        })
    }
}

//! Dashboard sessions: signing in with an API key opens a browser session kept in the
//! database (so any replica serves it) and named by an HttpOnly, SameSite=Strict cookie.
//!
//! A request authenticated by the cookie rather than a key must prove it comes from our
//! own pages when it changes something: unsafe methods carry the session's CSRF token in
//! `X-CSRF-Token` (the dashboard's script) or a `csrf` form field (its plain forms). The
//! sign-in form itself, before any session exists, uses a double-submit cookie.

use crate::AppState;
use crate::error::ApiError;
use axum::http::{HeaderMap, HeaderValue, Method, header};
use chrono::Duration;
use meeboter_core::api_key::{hash_secret, random_token};
use meeboter_db::api_keys::ApiKeyRecord;
use meeboter_db::{DbError, sessions};

/// The session cookie.
pub const SESSION_COOKIE: &str = "meeboter_session";
/// The sign-in form's double-submit cookie.
pub const LOGIN_CSRF_COOKIE: &str = "meeboter_login_csrf";
/// The header the dashboard's script sends its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a dashboard session lasts (then: sign in again).
pub const SESSION_TTL: Duration = Duration::hours(12);

/// The value of cookie `name` in the request, if sent.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// `Set-Cookie` for a cookie only our pages' requests carry (`Secure` when the server is
/// reached over HTTPS); `max_age_secs = 0` deletes it.
pub fn set_cookie(state: &AppState, name: &str, value: &str, max_age_secs: i64) -> HeaderValue {
    let secure = if state.config.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let value = format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{secure}");
    HeaderValue::from_str(&value).expect("cookie values are token characters")
}

/// A random token for CSRF fields and session ids.
pub fn new_token(prefix: &str) -> String {
    random_token(prefix)
}

/// Equality that takes as long whatever the first differing byte.
pub fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A live session: its key and CSRF token.
pub struct Session {
    pub key: ApiKeyRecord,
    pub csrf_token: String,
}

/// Opens a session for `key`; returns the cookie's token.
pub async fn open(state: &AppState, key: &ApiKeyRecord) -> Result<String, ApiError> {
    let token = new_token("mbs_");
    let now = state.now();
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    sessions::delete_expired(&mut conn, now).await?;
    sessions::insert(
        &mut conn,
        &hash_secret(&token),
        &key.id,
        &new_token(""),
        now,
        now + SESSION_TTL,
    )
    .await?;
    Ok(token)
}

/// The session named by the request's cookie, if it is live.
pub async fn current(state: &AppState, headers: &HeaderMap) -> Result<Option<Session>, ApiError> {
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let found = sessions::find_live(&mut conn, &hash_secret(token), state.now()).await?;
    Ok(found.filter(|s| s.key.is_usable(state.now())).map(|s| Session {
        key: s.key,
        csrf_token: s.csrf_token,
    }))
}

/// Ends the session named by the request's cookie (if any).
pub async fn close(state: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    if let Some(token) = cookie(headers, SESSION_COOKIE) {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        sessions::delete(&mut conn, &hash_secret(token)).await?;
    }
    Ok(())
}

/// Whether `method` changes state (and so needs the CSRF token).
pub fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The refusal of a state-changing request without the right token.
pub fn csrf_refused() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::FORBIDDEN,
        "csrf_failed",
        "this request did not come from a Meeboter dashboard page (missing or wrong CSRF token); reload the page",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; meeboter_session=mbs_x ; b=2"),
        );
        headers.append(header::COOKIE, HeaderValue::from_static("c=3"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("mbs_x"));
        assert_eq!(cookie(&headers, "c"), Some("3"));
        assert_eq!(cookie(&headers, "meeboter"), None);
    }

    #[test]
    fn token_comparison() {
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("abc", "abcd"));
        assert!(is_unsafe(&Method::POST) && is_unsafe(&Method::DELETE) && !is_unsafe(&Method::GET));
    }
}

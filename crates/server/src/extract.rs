//! Request extractors whose rejections use our error shape.

use crate::error::ApiError;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Largest accepted request body. Bot creation needs ~20 KB at most (16 KB metadata).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// A JSON body. Malformed JSON is a 400 naming line and column; a well-formed body with
/// a wrong field is a 422 naming the field; an oversize body is a 413.
pub struct ApiJson<T> {
    pub value: T,
    /// The body as parsed, for request fingerprints (idempotency).
    pub raw: serde_json::Value,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_ascii_lowercase();
        let is_json = content_type.starts_with("application/json")
            || (content_type.starts_with("application/") && content_type.contains("+json"));
        if !is_json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("request body is larger than {MAX_BODY_BYTES} bytes"),
                )
            } else {
                ApiError::bad_request("unreadable_body", "the request body could not be read")
            }
        })?;
        let raw: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::bad_request("malformed_json", format!("request body is not valid JSON: {e}"))
                .with_details(json!({"line": e.line(), "column": e.column()}))
        })?;
        let value = deserialize_reporting_every_unknown_field(&raw).map_err(|e| {
            let e = match e {
                Rejected::Unknown(errors) => return ApiError::from(errors),
                Rejected::Other(e) => e,
            };
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            // serde reports a missing field at its parent; name the field itself.
            if let Some(name) = inner.strip_prefix("missing field `").and_then(|r| r.split('`').next()) {
                let field = if path == "." {
                    name.to_string()
                } else {
                    format!("{path}.{name}")
                };
                return ApiError::invalid_field(&field, "required", format!("{field} is required"));
            }
            let field = if path == "." { "body".to_string() } else { path };
            ApiError::invalid_field(&field, "invalid_type", inner)
        })?;
        Ok(ApiJson { value, raw })
    }
}

enum Rejected {
    /// Every field the type does not know, at once.
    Unknown(meeboter_core::ValidationErrors),
    Other(serde_path_to_error::Error<serde_json::Error>),
}

/// At most this many unknown fields are named in one answer.
const MAX_UNKNOWN_FIELDS: usize = 50;

/// Deserializes `raw`; when fields are unknown, names all of them (not just the first serde
/// meets): each unknown field is taken out and the rest tried again.
fn deserialize_reporting_every_unknown_field<T: DeserializeOwned>(raw: &serde_json::Value) -> Result<T, Rejected> {
    let mut probe = raw.clone();
    let mut unknown = meeboter_core::ValidationErrors::default();
    loop {
        let e = match serde_path_to_error::deserialize::<_, T>(&probe) {
            Ok(value) if unknown.errors.is_empty() => return Ok(value),
            Ok(_) => return Err(Rejected::Unknown(unknown)),
            Err(e) => e,
        };
        let message = e.inner().to_string();
        let name = message
            .strip_prefix("unknown field `")
            .and_then(|r| r.split('`').next())
            .map(str::to_string);
        let removed = name
            .as_deref()
            .is_some_and(|n| unknown.errors.len() < MAX_UNKNOWN_FIELDS && remove_at(&mut probe, e.path(), n));
        match (removed, name) {
            (true, Some(_)) => {
                // The path ends at the unknown key itself.
                let field = e.path().to_string();
                let expected = message.split_once(", ").map(|(_, rest)| rest).unwrap_or("");
                unknown.push(
                    field.clone(),
                    "unknown_field",
                    format!("unknown field `{field}`, {expected}"),
                );
            }
            _ if unknown.errors.is_empty() => return Err(Rejected::Other(e)),
            _ => return Err(Rejected::Unknown(unknown)),
        }
    }
}

/// Removes the unknown `key` that `path` ends at from `value`; false if it is not there.
fn remove_at(value: &mut serde_json::Value, path: &serde_path_to_error::Path, key: &str) -> bool {
    let segments: Vec<&serde_path_to_error::Segment> = path.iter().collect();
    match segments.last() {
        Some(serde_path_to_error::Segment::Map { key: last }) if last == key => {}
        _ => return false,
    }
    let mut cur = value;
    for segment in &segments[..segments.len() - 1] {
        cur = match (*segment, cur) {
            (serde_path_to_error::Segment::Map { key }, serde_json::Value::Object(map)) => match map.get_mut(key) {
                Some(next) => next,
                None => return false,
            },
            (serde_path_to_error::Segment::Seq { index }, serde_json::Value::Array(items)) => {
                match items.get_mut(*index) {
                    Some(next) => next,
                    None => return false,
                }
            }
            _ => return false,
        };
    }
    cur.as_object_mut().is_some_and(|map| map.remove(key).is_some())
}

/// Query-string parameters; a bad value is a 422 naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or("");
        let de = serde_urlencoded::Deserializer::new(url::form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de).map(ApiQuery).map_err(|e| {
            let field = e.path().to_string();
            ApiError::invalid_field(&field, "invalid_query", e.into_inner().to_string())
        })
    }
}

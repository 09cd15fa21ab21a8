//! The one API error type. Every failure a client sees has the same shape:
//! `{"error": {"code", "message", "details"}}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use meeboter_core::ValidationErrors;
use meeboter_db::DbError;
use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// An error answered to the client.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<Value>,
    /// Sent as `Retry-After` (429, 503).
    pub retry_after_secs: Option<u64>,
}

/// Wire form of an error.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorInfo,
}

/// The error itself. `code` is stable and machine-readable; `message` is for people;
/// `details` carries structure such as per-field validation errors.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorInfo {
    #[schema(example = "validation_failed")]
    pub code: String,
    pub message: String,
    #[schema(value_type = Option<Object>)]
    pub details: Option<Value>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after_secs: None,
        }
    }

    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, message)
    }

    /// A single-field validation error.
    pub fn invalid_field(field: &str, code: &'static str, message: impl Into<String>) -> Self {
        let mut errors = ValidationErrors::default();
        errors.push(field, code, message);
        errors.into()
    }

    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; it has been logged",
        )
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorInfo {
                code: self.code.to_string(),
                message: self.message.clone(),
                details: self.details.clone(),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        if let Some(secs) = self.retry_after_secs {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(errors: ValidationErrors) -> Self {
        let fields: Vec<Value> = errors
            .errors
            .iter()
            .map(|e| json!({"field": e.field, "code": e.code, "message": e.message}))
            .collect();
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            errors.to_string(),
        )
        .with_details(json!({ "fields": fields }))
    }
}

/// The single place where database failures become HTTP statuses. Internal detail is
/// logged, never sent.
impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        match e {
            DbError::Unavailable(detail) => {
                tracing::error!(error = %detail, "database unavailable");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "database_unavailable",
                    "the database is not reachable; retry shortly",
                )
            }
            DbError::UniqueViolation(constraint) => {
                ApiError::conflict("conflict", format!("conflicts with an existing record ({constraint})"))
            }
            other => {
                tracing::error!(error = %other, "database error");
                ApiError::internal()
            }
        }
    }
}

/// Storage failures: the store being down is a 503 the caller can retry, never a 500.
impl From<meeboter_storage::StorageError> for ApiError {
    fn from(e: meeboter_storage::StorageError) -> Self {
        use meeboter_storage::StorageError as S;
        match e {
            S::NotFound(_) => ApiError::not_found("stored object"),
            S::InvalidKey(m) => ApiError::bad_request("invalid_key", m),
            S::InvalidRange { range, size } => ApiError::new(
                StatusCode::RANGE_NOT_SATISFIABLE,
                "range_not_satisfiable",
                format!("the range `{range}` is outside the object"),
            )
            .with_details(serde_json::json!({"size": size})),
            S::Unavailable(m) | S::Denied(m) | S::Other(m) => {
                tracing::warn!(error = %m, "storage call failed");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage_unavailable",
                    "storage is unavailable; retry later",
                )
            }
        }
    }
}

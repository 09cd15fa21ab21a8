//! `/api/accounts` (admin only).

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use meeboter_db::DbError;
use meeboter_db::accounts::{self, AccountRecord};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "Acme"}))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAccountRequest {
    /// Unique name, 1–100 characters, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountResource {
    pub id: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

impl From<AccountRecord> for AccountResource {
    fn from(a: AccountRecord) -> Self {
        Self {
            id: a.id,
            name: a.name,
            created_at: a.created_at,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AccountList {
    pub accounts: Vec<AccountResource>,
}

/// Checks an account name; shared with the `keys create --account` command.
pub fn validate_account_name(name: &str) -> Result<String, ApiError> {
    let mut errors = meeboter_core::ValidationErrors::default();
    let name = meeboter_core::validation::check_label(&mut errors, "name", name);
    errors.into_result(name).map_err(ApiError::from)
}

/// Create an account (admin).
#[utoipa::path(
    post, path = "/api/accounts", tag = "accounts",
    request_body = CreateAccountRequest,
    responses(
        (status = 201, body = AccountResource),
        (status = 403, description = "not an admin key", body = ErrorBody),
        (status = 409, description = "name taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn create_account(
    State(state): State<AppState>,
    caller: Caller,
    body: ApiJson<CreateAccountRequest>,
) -> ApiResult<(StatusCode, Json<AccountResource>)> {
    caller.require_admin()?;
    let name = validate_account_name(&body.value.name)?;
    let mut tx = state.db.begin_write().await?;
    let account = accounts::insert(&mut tx, &name, state.now())
        .await
        .map_err(|e| match e {
            DbError::UniqueViolation(_) => {
                ApiError::conflict("account_exists", format!("an account named `{name}` already exists"))
            }
            other => other.into(),
        })?;
    tx.commit().await.map_err(DbError::from)?;
    Ok((StatusCode::CREATED, Json(account.into())))
}

/// List accounts (admin).
#[utoipa::path(
    get, path = "/api/accounts", tag = "accounts",
    responses((status = 200, body = AccountList), (status = 403, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn list_accounts(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<AccountList>> {
    caller.require_admin()?;
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let list = accounts::list(&mut conn).await?;
    Ok(Json(AccountList {
        accounts: list.into_iter().map(Into::into).collect(),
    }))
}

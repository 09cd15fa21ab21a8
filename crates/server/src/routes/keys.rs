//! `/api/keys`: create (raw key shown once), list, revoke.

use super::bots::parse_id;
use super::wire::RoleWire;
use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::extract::ApiJson;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use meeboter_core::ApiKeyRole;
use meeboter_core::api_key::generate_api_key;
use meeboter_db::api_keys::{self, ApiKeyRecord, NewApiKey, Revocation};
use meeboter_db::{AnyConnection, DbError, accounts};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
#[schema(example = json!({"name": "ci", "role": "member", "expiresAt": "2027-01-01T00:00:00Z"}))]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateKeyRequest {
    /// A label, 1–100 characters, not blank, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$"
    )]
    pub name: String,
    /// `admin` or `member`. Members may only create member keys.
    #[schema(value_type = RoleWire)]
    pub role: String,
    /// RFC 3339, in the future; the key stops working at this time.
    #[schema(value_type = Option<String>, format = DateTime, required = false)]
    pub expires_at: Option<String>,
    /// Account the key belongs to (admins only; default: the caller's account).
    pub account_id: Option<String>,
}

/// An API key's public description; the secret is never included.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyResource {
    pub id: String,
    pub account_id: String,
    pub name: String,
    #[schema(value_type = RoleWire)]
    pub role: String,
    /// First characters of the key, to recognise it.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl From<ApiKeyRecord> for KeyResource {
    fn from(k: ApiKeyRecord) -> Self {
        Self {
            id: k.id,
            account_id: k.account_id,
            name: k.name,
            role: k.role.as_str().to_string(),
            prefix: k.prefix,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
        }
    }
}

/// A new key with its secret, returned exactly once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreatedKey {
    #[serde(flatten)]
    pub key: KeyResource,
    /// The API key. Store it now: it cannot be shown again.
    pub secret: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    pub keys: Vec<KeyResource>,
}

/// Creates a key for `account_id` and returns it with its raw secret. Shared by the API
/// and the offline `meeboter keys create` command.
pub async fn issue_key(
    conn: &mut AnyConnection,
    account_id: &str,
    name: &str,
    role: ApiKeyRole,
    expires_at: Option<DateTime<Utc>>,
) -> Result<CreatedKey, DbError> {
    let generated = generate_api_key();
    let record = api_keys::insert(
        conn,
        NewApiKey {
            account_id,
            name,
            role,
            prefix: &generated.prefix,
            key_hash: &generated.hash,
            expires_at,
        },
        meeboter_db::now(),
    )
    .await?;
    Ok(CreatedKey {
        key: record.into(),
        secret: generated.raw,
    })
}

/// Create an API key. The response carries the secret once.
#[utoipa::path(
    post, path = "/api/keys", tag = "keys",
    request_body = CreateKeyRequest,
    responses(
        (status = 201, body = CreatedKey),
        (status = 403, description = "a member asked for an admin key", body = ErrorBody),
        (status = 404, description = "account not found", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn create_key(
    State(state): State<AppState>,
    caller: Caller,
    body: ApiJson<CreateKeyRequest>,
) -> ApiResult<(StatusCode, Json<CreatedKey>)> {
    let req = body.value;
    let now = state.now();
    let mut errors = meeboter_core::ValidationErrors::default();
    let name = meeboter_core::validation::check_label(&mut errors, "name", &req.name);
    let role = ApiKeyRole::parse(&req.role);
    if role.is_none() {
        errors.push("role", "invalid_value", "role must be admin or member");
    }
    let expires_at = match req.expires_at.as_deref().map(DateTime::parse_from_rfc3339) {
        None => None,
        Some(Ok(t)) if t.with_timezone(&Utc) > now => Some(t.with_timezone(&Utc)),
        Some(Ok(_)) => {
            errors.push("expiresAt", "out_of_range", "expiresAt must be in the future");
            None
        }
        Some(Err(_)) => {
            errors.push(
                "expiresAt",
                "invalid_timestamp",
                "expiresAt must be an RFC 3339 timestamp",
            );
            None
        }
    };
    let role = errors
        .into_result(role)
        .map_err(ApiError::from)?
        .unwrap_or(ApiKeyRole::Member);
    if role == ApiKeyRole::Admin && !caller.is_admin() {
        return Err(ApiError::forbidden("only admin keys can create admin keys"));
    }
    let account_id = match req.account_id {
        None => caller.account_id.clone(),
        Some(raw) => {
            let id = parse_id(&raw, "account")?;
            // Members see only their own account; any other id does not exist for them.
            if !caller.is_admin() && id != caller.account_id {
                return Err(ApiError::not_found("account"));
            }
            id
        }
    };
    let mut tx = state.db.begin_write().await?;
    if accounts::find(&mut tx, &account_id).await?.is_none() {
        return Err(ApiError::not_found("account"));
    }
    let created = issue_key(&mut tx, &account_id, &name, role, expires_at).await?;
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(key.id = %created.key.id, account.id = %account_id, role = role.as_str(), "API key created");
    Ok((StatusCode::CREATED, Json(created)))
}

/// List API keys: your account's, or every account's for admins.
#[utoipa::path(
    get, path = "/api/keys", tag = "keys",
    responses((status = 200, body = KeyList), (status = 401, body = ErrorBody)),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn list_keys(State(state): State<AppState>, caller: Caller) -> ApiResult<Json<KeyList>> {
    let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
    let scope = if caller.is_admin() {
        None
    } else {
        Some(caller.account_id.as_str())
    };
    let keys = api_keys::list(&mut conn, scope).await?;
    Ok(Json(KeyList {
        keys: keys.into_iter().map(Into::into).collect(),
    }))
}

/// Revoke an API key. Revoking an already revoked key succeeds.
///
/// A member key may revoke only itself; revoking any other key needs an admin key. The
/// last active (neither revoked nor expired) admin key of an account cannot be revoked:
/// that would lock everyone out (409 `last_admin_key`; create another admin key first).
#[utoipa::path(
    delete, path = "/api/keys/{id}", tag = "keys",
    params(("id" = String, Path, description = "key id")),
    responses(
        (status = 204, description = "revoked"),
        (status = 403, description = "a member key tried to revoke another key", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "`last_admin_key`: the account's last active admin key", body = ErrorBody),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn revoke_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "API key")?;
    let now = state.now();
    let mut tx = state.db.begin_write().await?;
    let key = key_the_caller_may_change(&mut tx, &caller, &id, "revoke").await?;
    let outcome = api_keys::revoke_unless_last_admin(&mut tx, state.db.backend(), &key.id, now)
        .await?
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if outcome == Revocation::LastAdminKey {
        return Err(last_admin_key(&key));
    }
    tx.commit().await.map_err(DbError::from)?;
    if outcome == Revocation::Revoked {
        tracing::info!(key.id = %key.id, account.id = %key.account_id, by = %caller.key_id, "API key revoked");
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Delete a revoked key, so the list keeps only keys that matter. Only revoked keys can be
/// deleted (409 `key_not_revoked` otherwise: revoke it first); who may delete is who may
/// revoke (an admin key any key, a member key only itself).
#[utoipa::path(
    delete, path = "/api/keys/{id}/revoked", tag = "keys",
    params(("id" = String, Path, description = "key id")),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, body = ErrorBody, description = "No or an unusable API key"),
        (status = 403, description = "a member key tried to delete another key", body = ErrorBody),
        (status = 404, body = ErrorBody, description = "No such key (or another account's, for a member)"),
        (status = 409, description = "`key_not_revoked`: the key is still active; revoke it first", body = ErrorBody),
    ),
    security(("bearer" = []), ("apiKey" = []))
)]
pub async fn delete_revoked_key(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id, "API key")?;
    let mut tx = state.db.begin_write().await?;
    let key = key_the_caller_may_change(&mut tx, &caller, &id, "delete").await?;
    if key.revoked_at.is_none() {
        return Err(ApiError::conflict(
            "key_not_revoked",
            format!(
                "key {} is not revoked; revoke it first (DELETE /api/keys/{})",
                key.id, key.id
            ),
        )
        .with_details(json!({"keyId": key.id})));
    }
    if !api_keys::delete_revoked(&mut tx, &key.id).await? {
        return Err(ApiError::not_found("API key"));
    }
    tx.commit().await.map_err(DbError::from)?;
    tracing::info!(key.id = %key.id, account.id = %key.account_id, by = %caller.key_id, "revoked API key deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// The key `id` if the caller may revoke or delete it (`verb`): an admin key any key of its
/// account, a member key only itself. Another account's key does not exist for a member.
async fn key_the_caller_may_change(
    conn: &mut AnyConnection,
    caller: &Caller,
    id: &str,
    verb: &str,
) -> ApiResult<ApiKeyRecord> {
    let key = api_keys::find(conn, id)
        .await?
        .filter(|k| caller.is_admin() || k.account_id == caller.account_id)
        .ok_or_else(|| ApiError::not_found("API key"))?;
    if !caller.is_admin() && key.id != caller.key_id {
        return Err(ApiError::forbidden(format!(
            "a member key can {verb} only itself; to {verb} another key use an admin key"
        )));
    }
    Ok(key)
}

/// The refusal to revoke an account's last active admin key.
fn last_admin_key(key: &ApiKeyRecord) -> ApiError {
    ApiError::conflict(
        "last_admin_key",
        format!(
            "key {} is the last active admin key of its account; revoking it would lock everyone out. \
             Create another admin key first, then revoke this one",
            key.id
        ),
    )
    .with_details(json!({"keyId": key.id, "accountId": key.account_id}))
}

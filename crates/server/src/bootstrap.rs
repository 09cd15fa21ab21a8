//! First-start work: the bot-token secret (stored encrypted) and the first admin key.

use crate::routes::keys::{CreatedKey, issue_key};
use meeboter_core::ApiKeyRole;
use meeboter_core::api_key::random_token;
use meeboter_db::secrets::{self, Keyring};
use meeboter_db::{Db, DbResult, accounts, api_keys, settings};

/// Name of the account created on first start.
pub const DEFAULT_ACCOUNT: &str = "default";
/// Id of the admin key the first start created, and whether its secret was printed.
const FIRST_ADMIN_KEY: &str = "first_admin_key_id";
const FIRST_ADMIN_KEY_SHOWN: &str = "first_admin_key_shown";

/// `MILO_AUTH_TOKEN` when configured, otherwise a secret generated once and stored
/// encrypted under `keys`.
pub async fn bot_token_secret(db: &Db, keys: &Keyring, configured: Option<&str>) -> DbResult<String> {
    if let Some(secret) = configured {
        return Ok(secret.to_string());
    }
    let mut tx = db.begin_write().await?;
    let secret = secrets::bot_token_secret(&mut tx, keys, &random_token("mbs_")).await?;
    tx.commit().await?;
    Ok(secret)
}

/// This installation's id, generated once: it marks the resources it starts on shared
/// infrastructure (ECS task tags), so it never touches another installation's.
pub async fn installation_id(db: &Db) -> DbResult<String> {
    let mut tx = db.begin_write().await?;
    let id = settings::get_or_insert(&mut tx, "installation_id", &meeboter_core::new_id().to_string()).await?;
    tx.commit().await?;
    Ok(id)
}

/// Creates the `default` account and an admin key when the database has no key at all.
/// Returns the new key (to print once) or `None` when keys already exist.
pub async fn first_admin_key(db: &Db) -> DbResult<Option<CreatedKey>> {
    let mut tx = db.begin_write().await?;
    if api_keys::count(&mut tx).await? > 0 {
        return Ok(None);
    }
    let account = match accounts::find_by_name(&mut tx, DEFAULT_ACCOUNT).await? {
        Some(a) => a,
        None => accounts::insert(&mut tx, DEFAULT_ACCOUNT, meeboter_db::now()).await?,
    };
    let key = issue_key(&mut tx, &account.id, "bootstrap admin", ApiKeyRole::Admin, None).await?;
    settings::get_or_insert(&mut tx, FIRST_ADMIN_KEY, &key.key.id).await?;
    match tx.commit().await {
        Ok(()) => Ok(Some(key)),
        // Another replica bootstrapped at the same moment; its key is the one to use.
        Err(e) => {
            let e = meeboter_db::DbError::from(e);
            if e.is_unique_violation() { Ok(None) } else { Err(e) }
        }
    }
}

/// Records that the first admin key's secret was printed (see [`needs_admin_key_hint`]).
pub async fn first_admin_key_shown(db: &Db) -> DbResult<()> {
    let mut tx = db.begin_write().await?;
    settings::get_or_insert(&mut tx, FIRST_ADMIN_KEY_SHOWN, "true").await?;
    tx.commit().await?;
    Ok(())
}

/// True when nobody can have an admin key in hand: no usable admin key exists, or the only
/// one is the first start's key whose secret was never printed (the start failed or stderr
/// was closed). `serve` then says how to create one.
pub async fn needs_admin_key_hint(db: &Db) -> DbResult<bool> {
    let mut conn = db.pool().acquire().await?;
    let unseen = match settings::get(&mut conn, FIRST_ADMIN_KEY).await? {
        Some(id) if settings::get(&mut conn, FIRST_ADMIN_KEY_SHOWN).await?.is_none() => Some(id),
        _ => None,
    };
    let now = meeboter_db::now();
    let usable = api_keys::list(&mut conn, None)
        .await?
        .into_iter()
        .any(|k| k.role == ApiKeyRole::Admin && k.is_usable(now) && Some(&k.id) != unseen.as_ref());
    Ok(!usable)
}

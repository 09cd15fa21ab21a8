//! `meeboter keys …`: key management without a running server.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use meeboter_core::ApiKeyRole;
use meeboter_db::{Db, accounts, api_keys};
use meeboter_server::config::Config;
use meeboter_server::routes::keys::issue_key;

#[derive(Subcommand)]
pub enum KeysCommand {
    /// Create a key; the account is created if it does not exist. Prints the secret once.
    Create {
        /// Account name.
        #[arg(long, default_value = meeboter_server::bootstrap::DEFAULT_ACCOUNT)]
        account: String,
        /// admin or member.
        #[arg(long, default_value = "member")]
        role: String,
        /// Label for the key.
        #[arg(long, default_value = "cli")]
        name: String,
        /// RFC 3339 expiry time.
        #[arg(long)]
        expires_at: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by id.
    Revoke { id: String },
}

pub async fn run(config: Config, command: KeysCommand) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, &Default::default())
        .await
        .with_context(|| format!("connecting to {}", meeboter_db::redact_url(&config.database_url)))?;
    db.migrate().await?;
    match command {
        KeysCommand::Create {
            account,
            role,
            name,
            expires_at,
        } => {
            let Some(role) = ApiKeyRole::parse(&role) else {
                bail!("--role must be admin or member");
            };
            let expires_at = match expires_at {
                None => None,
                Some(raw) => {
                    let t = DateTime::parse_from_rfc3339(&raw)
                        .with_context(|| format!("--expires-at `{raw}` is not RFC 3339"))?
                        .with_timezone(&Utc);
                    if t <= Utc::now() {
                        bail!("--expires-at must be in the future");
                    }
                    Some(t)
                }
            };
            let account_name = meeboter_server::routes::accounts::validate_account_name(&account)
                .map_err(|e| anyhow::anyhow!("--account: {}", e.message))?;
            let mut tx = db.begin_write().await?;
            let account = match accounts::find_by_name(&mut tx, &account_name).await? {
                Some(a) => a,
                None => accounts::insert(&mut tx, &account_name, Utc::now()).await?,
            };
            let created = issue_key(&mut tx, &account.id, &name, role, expires_at).await?;
            tx.commit().await?;
            eprintln!(
                "created {} key {} in account `{}` ({}); the secret below is shown only once:",
                role.as_str(),
                created.key.id,
                account.name,
                account.id
            );
            println!("{}", created.secret);
        }
        KeysCommand::List => {
            let mut conn = db.pool().acquire().await?;
            let names: std::collections::HashMap<String, String> = accounts::list(&mut conn)
                .await?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
            println!(
                "{:<36}  {:<12}  {:<8}  {:<16}  {:<8}  NAME",
                "ID", "PREFIX", "ROLE", "ACCOUNT", "STATE"
            );
            for k in api_keys::list(&mut conn, None).await? {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else if !k.is_usable(Utc::now()) {
                    "expired"
                } else {
                    "active"
                };
                let account = names.get(&k.account_id).map(String::as_str).unwrap_or("?");
                println!(
                    "{:<36}  {:<12}  {:<8}  {:<16}  {:<8}  {}",
                    k.id,
                    k.prefix,
                    k.role.as_str(),
                    account,
                    state,
                    k.name
                );
            }
        }
        KeysCommand::Revoke { id } => {
            let mut tx = db.begin_write().await?;
            if api_keys::find(&mut tx, &id).await?.is_none() {
                bail!("no API key with id {id}");
            }
            api_keys::revoke(&mut tx, &id, Utc::now()).await?;
            tx.commit().await?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

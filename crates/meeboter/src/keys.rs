//! `meeboter keys …`: key management without a running server.

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;
use meeboter_core::ApiKeyRole;
use meeboter_db::api_keys::Revocation;
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
            // The secret is printed before the key is kept: a key whose secret nobody saw
            // (stdout closed, `| head -0`) is rolled back instead of lingering unusable.
            if let Err(e) = crate::output::try_line(format_args!("{}", created.secret)) {
                drop(tx);
                bail!("could not print the secret ({e}); the key was not created");
            }
            tx.commit()
                .await
                .context("the key was not created (the secret printed above is void)")?;
            errln!(
                "created {} key {} in account `{}` ({}); the secret above is shown only once",
                role.as_str(),
                created.key.id,
                account.name,
                account.id
            );
        }
        KeysCommand::List => {
            let mut conn = db.pool().acquire().await?;
            let names: std::collections::HashMap<String, String> = accounts::list(&mut conn)
                .await?
                .into_iter()
                .map(|a| (a.id, a.name))
                .collect();
            outln!(
                "{:<36}  {:<12}  {:<8}  {:<16}  {:<8}  NAME",
                "ID",
                "PREFIX",
                "ROLE",
                "ACCOUNT",
                "STATE"
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
                outln!(
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
            // The same rule as `DELETE /api/keys/{id}`: never the account's last active
            // admin key, checked and revoked in one write transaction.
            let mut tx = db.begin_write().await?;
            let Some(key) = api_keys::find(&mut tx, &id).await? else {
                bail!("no API key with id {id}");
            };
            match api_keys::revoke_unless_last_admin(&mut tx, db.backend(), &id, Utc::now()).await? {
                None => bail!("no API key with id {id}"),
                Some(Revocation::LastAdminKey) => {
                    let account = accounts::find(&mut tx, &key.account_id)
                        .await?
                        .map(|a| a.name)
                        .unwrap_or_else(|| key.account_id.clone());
                    bail!(
                        "key {id} is the last active admin key of account `{account}`; revoking it would lock \
                         everyone out. Create another admin key first \
                         (meeboter keys create --role admin --account {account}), then revoke this one"
                    );
                }
                Some(Revocation::AlreadyRevoked) => {
                    tx.commit().await?;
                    outln!("{id} was already revoked");
                }
                Some(Revocation::Revoked) => {
                    tx.commit().await?;
                    outln!("revoked {id}");
                }
            }
        }
    }
    Ok(())
}

//! The key that encrypts secrets at rest (see `meeboter_db::secrets`), and bringing every
//! stored secret under it at start.
//!
//! The key comes from `MEEBOTER_ENCRYPTION_KEY`. With SQLite and no key set, a key is
//! generated at first start into `<database file>.key` (mode 0600), beside the database
//! but not in it. PostgreSQL without a key is refused by the configuration: replicas share
//! the database but not a filesystem, so a generated file would give each its own key.

use crate::config::Config;
use anyhow::{Context, bail};
use meeboter_db::Db;
use meeboter_db::secrets::{EncryptionKey, Keyring, SealError, SecretError, any_sealed_key_id, seal_all};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where a SQLite database's generated key lives: the database file + `.key`; `None` for
/// an in-memory database or another backend.
pub fn sqlite_key_file(database_url: &str) -> Option<PathBuf> {
    let rest = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))?;
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|p| p == "mode=memory") {
        return None;
    }
    Some(PathBuf::from(format!("{path}.key")))
}

/// The keyring this server uses, with every stored secret brought under its current key.
/// Fails with a message naming the problem (and what to set) when a stored secret does
/// not open with the configured keys.
pub async fn prepare(config: &Config, db: &Db) -> anyhow::Result<Keyring> {
    let (current, source) = match &config.encryption_key {
        Some(key) => (key.clone(), "MEEBOTER_ENCRYPTION_KEY".to_string()),
        None if config.database_url.starts_with("sqlite:") => match sqlite_key_file(&config.database_url) {
            Some(path) => {
                let key = key_file(&path, db).await?;
                (key, format!("the key file {}", path.display()))
            }
            // The database lives and dies with this process; so can its key.
            None => (
                EncryptionKey::generate(),
                "a key for this in-memory database".to_string(),
            ),
        },
        None => bail!("MEEBOTER_ENCRYPTION_KEY is required with PostgreSQL (`openssl rand -base64 32`)"),
    };
    let keys = Keyring::new(&current, &config.previous_encryption_keys);
    let report = seal_all(db, &keys).await.map_err(|e| match e {
        SealError::Db(e) => anyhow::Error::from(e).context("encrypting stored secrets"),
        SealError::Secret { table, row, error } => anyhow::anyhow!(explain(&keys, &source, table, &row, &error)),
    })?;
    if report.encrypted + report.reencrypted > 0 {
        tracing::info!(
            key_id = keys.current_id(),
            encrypted = report.encrypted,
            reencrypted = report.reencrypted,
            "stored secrets brought under the current encryption key"
        );
    }
    Ok(keys)
}

fn explain(keys: &Keyring, source: &str, table: &str, row: &str, error: &SecretError) -> String {
    let configured = {
        let ids = keys.key_ids();
        let mut s = format!("{source} is key {}", ids[0]);
        if ids.len() > 1 {
            s.push_str(&format!(
                ", MEEBOTER_ENCRYPTION_KEY_PREVIOUS holds {}",
                ids[1..].join(", ")
            ));
        }
        s
    };
    match error {
        SecretError::UnknownKey { key_id } => format!(
            "wrong encryption key: the secret in {table} row {row} is encrypted with key {key_id}, which is not \
             configured ({configured}). Set MEEBOTER_ENCRYPTION_KEY to the key this database was encrypted with; \
             to rotate, put the old key in MEEBOTER_ENCRYPTION_KEY_PREVIOUS. Nothing was changed."
        ),
        other => format!(
            "the secret in {table} row {row} {other} ({configured}); restore the row from a backup or remove it. \
             Nothing was changed."
        ),
    }
}

/// Reads the key file, or creates it (mode 0600, atomically: two processes starting at
/// once end up with the same key) when it does not exist and nothing is encrypted yet.
async fn key_file(path: &Path, db: &Db) -> anyhow::Result<EncryptionKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => return read_key_file(path, &text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot read the encryption key file {}: {e}", path.display()),
    }
    let mut conn = db.acquire().await?;
    if let Some(key_id) = any_sealed_key_id(&mut conn).await? {
        bail!(
            "the encryption key file {} is missing, but the database's secrets are encrypted (key {key_id}): \
             restore the file from where the database came from, or set MEEBOTER_ENCRYPTION_KEY to that key. \
             Nothing was changed.",
            path.display()
        );
    }
    drop(conn);
    let key = EncryptionKey::generate();
    let tmp = path.with_extension(format!("key.tmp-{}", meeboter_core::new_id().simple()));
    let written = (|| -> std::io::Result<()> {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp)?;
        writeln!(file, "{}", key.to_base64())?;
        file.sync_all()?;
        // A hard link never replaces: if another process created the file first, keep its key.
        std::fs::hard_link(&tmp, path)
    })();
    let _ = std::fs::remove_file(&tmp);
    match written {
        Ok(()) => {
            tracing::info!(
                path = %path.display(),
                key_id = key.id(),
                "generated the encryption key for secrets at rest; back it up apart from the database"
            );
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the encryption key file {}", path.display()))?;
            read_key_file(path, &text)
        }
        Err(e) => bail!(
            "cannot create the encryption key file {}: {e} (or set MEEBOTER_ENCRYPTION_KEY)",
            path.display()
        ),
    }
}

fn read_key_file(path: &Path, text: &str) -> anyhow::Result<EncryptionKey> {
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:o}"),
                "the encryption key file is readable by others; chmod 600 it"
            );
        }
    }
    EncryptionKey::parse(text).map_err(|e| anyhow::anyhow!("the encryption key file {} {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_file_sits_beside_the_sqlite_file() {
        assert_eq!(
            sqlite_key_file("sqlite://data/meeboter.db?mode=rwc"),
            Some(PathBuf::from("data/meeboter.db.key"))
        );
        assert_eq!(
            sqlite_key_file("sqlite:///var/lib/m.db"),
            Some(PathBuf::from("/var/lib/m.db.key"))
        );
        assert_eq!(sqlite_key_file("sqlite:m.db"), Some(PathBuf::from("m.db.key")));
        assert_eq!(sqlite_key_file("sqlite::memory:"), None);
        assert_eq!(sqlite_key_file("sqlite://x.db?mode=memory"), None);
        assert_eq!(sqlite_key_file("postgres://h/db"), None);
    }
}

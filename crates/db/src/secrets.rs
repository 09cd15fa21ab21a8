//! Secrets at rest: the values that let their holder act as the server (the bot-token
//! secret, which also signs media URLs; webhook endpoint secrets; each account's signing
//! secret for bots' own `webhookUrl`) are stored encrypted, under a key kept outside the
//! database.
//!
//! A stored value is `enc:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>`: AES-256-GCM
//! with a random 96-bit nonce. The associated data binds the value to its row
//! (`<table>:<row id>`), so a value copied into another row does not open. The key id is
//! the first 4 bytes of a SHA-256 of the key, so a value names the key that opens it
//! without revealing it.
//!
//! A [`Keyring`] holds the current key (which encrypts) and previous ones (which only
//! decrypt). [`seal_all`] brings every stored secret under the current key: values from
//! before encryption (plaintext) are encrypted, values under a previous key re-encrypted,
//! values under the current key verified; safe to run from several replicas at once
//! (each row is replaced only if it still holds what was read).

use crate::{AnyConnection, Db, DbError, DbResult};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use sqlx::Row;

/// Length of an encryption key in bytes.
pub const KEY_LEN: usize = 32;
/// Every encrypted value starts with this; anything else is a value from before encryption.
pub const SEALED_PREFIX: &str = "enc:";
const V1: &str = "enc:v1:";

/// The setting that holds the generated bot-token secret.
pub const BOT_TOKEN_SECRET_SETTING: &str = "bot_token_secret";

/// A 256-bit key. Its `Debug` shows only the key id.
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionKey([u8; KEY_LEN]);

impl std::fmt::Debug for EncryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey({})", self.id())
    }
}

impl EncryptionKey {
    /// 32 bytes as base64 (standard or URL-safe, padded or not) or as 64 hex digits.
    /// The error never repeats the value.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        let bytes = if raw.len() == 2 * KEY_LEN && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            (0..KEY_LEN)
                .map(|i| u8::from_str_radix(&raw[2 * i..2 * i + 2], 16).ok())
                .collect::<Option<Vec<u8>>>()
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(raw).ok())
        };
        match bytes {
            Some(b) if b.len() == KEY_LEN => {
                let mut key = [0u8; KEY_LEN];
                key.copy_from_slice(&b);
                Ok(Self(key))
            }
            Some(b) => Err(format!(
                "must be {KEY_LEN} bytes, got {} (generate one with `openssl rand -base64 32`)",
                b.len()
            )),
            None => Err(format!(
                "must be {KEY_LEN} random bytes as base64 (44 characters) or hex (64 characters), got {} \
                 characters that are neither (generate one with `openssl rand -base64 32`)",
                raw.chars().count()
            )),
        }
    }

    /// A new random key.
    pub fn generate() -> Self {
        let mut key = [0u8; KEY_LEN];
        SystemRandom::new()
            .fill(&mut key)
            .expect("the operating system's random generator works");
        Self(key)
    }

    /// The key as standard base64 (what [`EncryptionKey::parse`] reads back).
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    /// 8 hex digits naming this key in stored values and messages.
    pub fn id(&self) -> String {
        let digest = ring::digest::digest(
            &ring::digest::SHA256,
            &[b"meeboter-encryption-key-id:".as_slice(), &self.0].concat(),
        );
        digest.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Why a stored secret does not open.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error("is encrypted with key {key_id}, which is not configured")]
    UnknownKey { key_id: String },
    #[error("does not decrypt with its key {key_id}: it was altered, or copied from another row")]
    Tampered { key_id: String },
    #[error("is not a value this version can read (`enc:` without the v1 layout)")]
    Malformed,
}

/// The current key (encrypts) and previous keys (decrypt only).
pub struct Keyring {
    keys: Vec<(String, LessSafeKey)>,
    rng: SystemRandom,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("key_ids", &self.key_ids()).finish()
    }
}

impl Keyring {
    /// `current` encrypts; `current` and every key in `previous` decrypt.
    pub fn new(current: &EncryptionKey, previous: &[EncryptionKey]) -> Self {
        let mut keys: Vec<(String, LessSafeKey)> = Vec::new();
        for key in std::iter::once(current).chain(previous) {
            let id = key.id();
            if keys.iter().any(|(k, _)| *k == id) {
                continue;
            }
            let unbound = UnboundKey::new(&AES_256_GCM, &key.0).expect("a 32-byte key fits AES-256-GCM");
            keys.push((id, LessSafeKey::new(unbound)));
        }
        Self {
            keys,
            rng: SystemRandom::new(),
        }
    }

    /// Id of the key that encrypts.
    pub fn current_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Ids of every key, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// Encrypts `plaintext` for the row named by `context` (see [`context`]).
    pub fn seal(&self, plaintext: &str, context: &str) -> String {
        let (id, key) = &self.keys[0];
        let mut nonce = [0u8; NONCE_LEN];
        self.rng
            .fill(&mut nonce)
            .expect("the operating system's random generator works");
        let mut data = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(id, context)),
            &mut data,
        )
        .expect("AES-GCM seals any short value");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        format!("{V1}{id}:{}", URL_SAFE_NO_PAD.encode(out))
    }

    /// The plaintext of a stored value: decrypted, or returned as is when it was stored
    /// before encryption (no `enc:` prefix).
    pub fn open(&self, stored: &str, context: &str) -> Result<String, SecretError> {
        if !is_sealed(stored) {
            return Ok(stored.to_string());
        }
        let (key_id, body) = split(stored).ok_or(SecretError::Malformed)?;
        let Some((_, key)) = self.keys.iter().find(|(id, _)| id == key_id) else {
            return Err(SecretError::UnknownKey {
                key_id: key_id.to_string(),
            });
        };
        let tampered = || SecretError::Tampered {
            key_id: key_id.to_string(),
        };
        let raw = URL_SAFE_NO_PAD.decode(body).map_err(|_| tampered())?;
        if raw.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(tampered());
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| tampered())?;
        let mut data = sealed.to_vec();
        let plain = key
            .open_in_place(nonce, Aad::from(aad(key_id, context)), &mut data)
            .map_err(|_| tampered())?;
        String::from_utf8(plain.to_vec()).map_err(|_| tampered())
    }

    /// True when `stored` is encrypted under the current key (nothing to do for it).
    pub fn is_current(&self, stored: &str) -> bool {
        split(stored).is_some_and(|(id, _)| id == self.current_id())
    }
}

fn aad(key_id: &str, context: &str) -> Vec<u8> {
    format!("{V1}{key_id}:{context}").into_bytes()
}

/// `(key id, payload)` of a v1 value.
fn split(stored: &str) -> Option<(&str, &str)> {
    let rest = stored.strip_prefix(V1)?;
    let (id, body) = rest.split_once(':')?;
    (id.len() == 8 && id.bytes().all(|b| b.is_ascii_hexdigit())).then_some((id, body))
}

/// True when `stored` is an encrypted value (of any version).
pub fn is_sealed(stored: &str) -> bool {
    stored.starts_with(SEALED_PREFIX)
}

/// The key id an encrypted value names, if it is a v1 value.
pub fn key_id_of(stored: &str) -> Option<&str> {
    split(stored).map(|(id, _)| id)
}

/// The associated data that ties a value to its row: `<table>:<row id>`.
pub fn context(table: &str, row_id: &str) -> String {
    format!("{table}:{row_id}")
}

/// Every place a secret is stored: `(table, id column, secret column, extra condition)`.
const PLACES: [(&str, &str, &str, &str); 3] = [
    ("server_settings", "name", "value", " AND name = 'bot_token_secret'"),
    ("webhook_endpoints", "id", "secret", ""),
    ("accounts", "id", "webhook_secret", ""),
];

/// A secret that does not open, and where it is.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("the secret in {table} row {row} {error}")]
    Secret {
        table: &'static str,
        row: String,
        error: SecretError,
    },
}

/// What [`seal_all`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SealReport {
    /// Values from before encryption, now encrypted.
    pub encrypted: usize,
    /// Values under a previous key, now under the current one.
    pub reencrypted: usize,
    /// Values already under the current key (verified).
    pub current: usize,
}

/// Brings every stored secret under the keyring's current key, in one write transaction;
/// fails (changing nothing) on the first value no configured key opens.
pub async fn seal_all(db: &Db, keys: &Keyring) -> Result<SealReport, SealError> {
    let mut tx = db.begin_write().await?;
    let mut report = SealReport::default();
    for (table, id_col, col, extra) in PLACES {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {id_col}, {col} FROM {table} WHERE {col} IS NOT NULL{extra} ORDER BY {id_col}"
        )))
        .fetch_all(&mut *tx)
        .await
        .map_err(DbError::from)?;
        for row in rows {
            let id: String = row.get(0);
            let stored: String = row.get(1);
            let ctx = context(table, &id);
            let plain = keys.open(&stored, &ctx).map_err(|error| SealError::Secret {
                table,
                row: id.clone(),
                error,
            })?;
            if keys.is_current(&stored) {
                report.current += 1;
                continue;
            }
            if is_sealed(&stored) {
                report.reencrypted += 1;
            } else {
                report.encrypted += 1;
            }
            // Compare-and-set: another replica doing the same at this moment wins, harmlessly.
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE {table} SET {col} = $1 WHERE {id_col} = $2 AND {col} = $3"
            )))
            .bind(keys.seal(&plain, &ctx))
            .bind(&id)
            .bind(&stored)
            .execute(&mut *tx)
            .await
            .map_err(DbError::from)?;
        }
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(report)
}

/// The key id of some encrypted value in the database, if any is encrypted (to tell a lost
/// key file from a first start).
pub async fn any_sealed_key_id(conn: &mut AnyConnection) -> DbResult<Option<String>> {
    for (table, _, col, extra) in PLACES {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {col} FROM {table} WHERE {col} LIKE 'enc:%'{extra} LIMIT 1"
        )))
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(row) = row {
            let stored: String = row.get(0);
            return Ok(Some(key_id_of(&stored).unwrap_or("?").to_string()));
        }
    }
    Ok(None)
}

/// Opens a stored value, reporting one that does not open as corrupt data (the start-up
/// [`seal_all`] has verified every value, so this means the row changed since).
pub fn open_stored(keys: &Keyring, stored: &str, table: &str, row_id: &str) -> DbResult<String> {
    keys.open(stored, &context(table, row_id))
        .map_err(|e| DbError::Corrupt(format!("the secret in {table} row {row_id} {e}")))
}

/// The generated bot-token secret: `candidate` (encrypted) is stored if there is none yet;
/// returns the stored one, decrypted.
pub async fn bot_token_secret(conn: &mut AnyConnection, keys: &Keyring, candidate: &str) -> DbResult<String> {
    let ctx = context("server_settings", BOT_TOKEN_SECRET_SETTING);
    let stored = crate::settings::get_or_insert(conn, BOT_TOKEN_SECRET_SETTING, &keys.seal(candidate, &ctx)).await?;
    open_stored(keys, &stored, "server_settings", BOT_TOKEN_SECRET_SETTING)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(current: &EncryptionKey, previous: &[EncryptionKey]) -> Keyring {
        Keyring::new(current, previous)
    }

    #[test]
    fn values_round_trip_and_never_show_the_plaintext() {
        let key = EncryptionKey::generate();
        let keys = ring(&key, &[]);
        let a = keys.seal("whsec_c2VjcmV0", "webhook_endpoints:e1");
        let b = keys.seal("whsec_c2VjcmV0", "webhook_endpoints:e1");
        assert_ne!(a, b, "a fresh nonce every time");
        assert!(a.starts_with(&format!("enc:v1:{}:", key.id())), "{a}");
        assert!(!a.contains("whsec_") && !a.contains("c2VjcmV0"));
        assert_eq!(keys.open(&a, "webhook_endpoints:e1").unwrap(), "whsec_c2VjcmV0");
        assert_eq!(keys.open(&b, "webhook_endpoints:e1").unwrap(), "whsec_c2VjcmV0");
        assert!(keys.is_current(&a));
        assert_eq!(keys.open(&keys.seal("", "x:y"), "x:y").unwrap(), "");
    }

    #[test]
    fn tampering_and_other_rows_are_detected() {
        let keys = ring(&EncryptionKey::generate(), &[]);
        let sealed = keys.seal("mbs_secret", "server_settings:bot_token_secret");
        let id = keys.current_id().to_string();
        // Another row's value copied here does not open.
        assert_eq!(
            keys.open(&sealed, "accounts:a1"),
            Err(SecretError::Tampered { key_id: id.clone() })
        );
        // Every single changed character of the payload is caught.
        let prefix = format!("enc:v1:{id}:");
        let body = sealed.strip_prefix(&prefix).unwrap();
        for i in 0..body.len() {
            let mut chars: Vec<char> = body.chars().collect();
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let altered = format!("{prefix}{}", chars.into_iter().collect::<String>());
            assert!(
                keys.open(&altered, "server_settings:bot_token_secret").is_err(),
                "change at {i} went unnoticed"
            );
        }
        for broken in [prefix.clone(), format!("{prefix}!!"), format!("{prefix}AAAA")] {
            assert_eq!(
                keys.open(&broken, "server_settings:bot_token_secret"),
                Err(SecretError::Tampered { key_id: id.clone() })
            );
        }
        assert_eq!(keys.open("enc:v2:abc", "x:y"), Err(SecretError::Malformed));
        assert_eq!(keys.open("enc:v1:nothex!!:AAAA", "x:y"), Err(SecretError::Malformed));
    }

    #[test]
    fn a_wrong_key_is_named_and_a_previous_key_still_opens() {
        let old = EncryptionKey::generate();
        let new = EncryptionKey::generate();
        let sealed = ring(&old, &[]).seal("whsec_x", "accounts:a");
        assert_eq!(
            ring(&new, &[]).open(&sealed, "accounts:a"),
            Err(SecretError::UnknownKey { key_id: old.id() })
        );
        let rotated = ring(&new, std::slice::from_ref(&old));
        assert_eq!(rotated.open(&sealed, "accounts:a").unwrap(), "whsec_x");
        assert!(!rotated.is_current(&sealed));
        assert!(rotated.is_current(&rotated.seal("whsec_x", "accounts:a")));
        assert_eq!(rotated.key_ids(), vec![new.id(), old.id()]);
        // The same key twice is one key.
        assert_eq!(ring(&new, &[new.clone(), old.clone()]).key_ids().len(), 2);
    }

    #[test]
    fn values_from_before_encryption_pass_through() {
        let keys = ring(&EncryptionKey::generate(), &[]);
        for legacy in ["mbs_abcdef", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
            assert!(!is_sealed(legacy));
            assert_eq!(keys.open(legacy, "accounts:a").unwrap(), legacy);
            assert!(!keys.is_current(legacy));
        }
    }

    #[test]
    fn keys_parse_from_base64_or_hex_and_never_echo_bad_input() {
        let key = EncryptionKey::generate();
        let b64 = key.to_base64();
        assert_eq!(EncryptionKey::parse(&b64).unwrap(), key);
        assert_eq!(EncryptionKey::parse(&format!(" {b64}\n")).unwrap(), key);
        assert_eq!(EncryptionKey::parse(b64.trim_end_matches('=')).unwrap(), key);
        let url = URL_SAFE_NO_PAD.encode(key.0);
        assert_eq!(EncryptionKey::parse(&url).unwrap(), key);
        let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(EncryptionKey::parse(&hex).unwrap(), key);
        assert_eq!(EncryptionKey::parse(&hex.to_uppercase()).unwrap(), key);
        let short = EncryptionKey::parse(&STANDARD.encode([7u8; 16])).unwrap_err();
        assert!(short.contains("got 16"), "{short}");
        let junk = EncryptionKey::parse("correct horse battery staple").unwrap_err();
        assert!(!junk.contains("horse"), "{junk}");
        assert_eq!(key.id().len(), 8);
        assert_ne!(key.id(), EncryptionKey::generate().id());
        assert!(!format!("{key:?}").contains(&b64));
    }
}

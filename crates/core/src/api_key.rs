//! API keys: generation, hashing and roles.
//!
//! A raw key (`mbk_` + 40 base62 characters, ~238 bits) is shown to its owner once.
//! We store only its SHA-256 and a short visible prefix; a database dump therefore
//! reveals no usable key. A plain hash (no salt, no KDF) is enough because the key is
//! random and long: there is nothing to brute-force from a dictionary.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Prefix of every user API key, so leaked keys are easy to recognise and scan for.
pub const API_KEY_PREFIX: &str = "mbk_";
const RANDOM_CHARS: usize = 40;
/// How many leading characters of a key are stored and shown to identify it.
pub const VISIBLE_PREFIX_LEN: usize = 12;
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ApiKeyRole {
    /// Sees infrastructure and manages accounts and keys everywhere.
    Admin,
    /// Works within its own account only.
    Member,
}

impl ApiKeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "admin" => Some(Self::Admin),
            "member" => Some(Self::Member),
            _ => None,
        }
    }
}

/// A freshly generated key: the raw secret (show once) and what we store.
#[derive(Debug, Clone)]
pub struct GeneratedApiKey {
    pub raw: String,
    pub hash: String,
    pub prefix: String,
}

/// Generates a random secret token `"{prefix}{40 base62 chars}"`.
pub fn random_token(prefix: &str) -> String {
    let mut rng = rand::rng();
    let mut s = String::with_capacity(prefix.len() + RANDOM_CHARS);
    s.push_str(prefix);
    for _ in 0..RANDOM_CHARS {
        s.push(BASE62[rng.random_range(0..BASE62.len())] as char);
    }
    s
}

/// Generates a new API key.
pub fn generate_api_key() -> GeneratedApiKey {
    let raw = random_token(API_KEY_PREFIX);
    GeneratedApiKey {
        hash: hash_secret(&raw),
        prefix: raw[..VISIBLE_PREFIX_LEN].to_string(),
        raw,
    }
}

/// Hex SHA-256 of a secret, the only form in which secrets are stored.
pub fn hash_secret(raw: &str) -> String {
    hex::encode(Sha256::digest(raw.as_bytes()))
}

/// Cheap syntactic check before touching the database.
pub fn looks_like_api_key(raw: &str) -> bool {
    raw.len() == API_KEY_PREFIX.len() + RANDOM_CHARS
        && raw.starts_with(API_KEY_PREFIX)
        && raw[API_KEY_PREFIX.len()..].bytes().all(|b| b.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_and_distinct() {
        let a = generate_api_key();
        let b = generate_api_key();
        assert_ne!(a.raw, b.raw);
        assert!(looks_like_api_key(&a.raw));
        assert!(a.raw.starts_with(&a.prefix));
        assert_eq!(a.hash, hash_secret(&a.raw));
        assert_eq!(a.hash.len(), 64);
        assert!(!a.hash.contains(&a.raw[API_KEY_PREFIX.len()..]));
    }

    #[test]
    fn malformed_keys_are_rejected_early() {
        assert!(!looks_like_api_key(""));
        assert!(!looks_like_api_key("mbk_short"));
        assert!(!looks_like_api_key(&format!("xyz_{}", "a".repeat(40))));
        assert!(!looks_like_api_key(&format!("mbk_{}!", "a".repeat(39))));
    }

    #[test]
    fn roles_round_trip() {
        for r in [ApiKeyRole::Admin, ApiKeyRole::Member] {
            assert_eq!(ApiKeyRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(ApiKeyRole::parse("owner"), None);
    }
}

//! Per-bot control-channel tokens.
//!
//! A token is `mbb_` + base64url(HMAC-SHA256(server secret, bot id ‖ attempt)). Minting is
//! deterministic per deployment attempt, so a retried deploy hands the bot the same token
//! instead of racing two; a new attempt gets a new token and the old one stops working.
//! Only the SHA-256 of the token is stored.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use meeboter_core::api_key::hash_secret;
use meeboter_db::{AnyConnection, DbResult, bots};
use sha2::Sha256;

/// Prefix of bot tokens; user API keys start with `mbk_`, so the two never mix.
pub const BOT_TOKEN_PREFIX: &str = "mbb_";

/// Computes the token of `bot_id` for deployment `attempt`.
pub fn mint(secret: &str, bot_id: &str, attempt: u32) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(b"meeboter-bot-token:v1:");
    mac.update(bot_id.as_bytes());
    mac.update(b":");
    mac.update(attempt.to_string().as_bytes());
    format!(
        "{BOT_TOKEN_PREFIX}{}",
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    )
}

/// Mints the token for `attempt` and stores its hash on the bot; returns the raw token
/// (to hand to the bot as `MILO_AUTH_TOKEN`, never to store or log).
pub async fn issue(
    conn: &mut AnyConnection,
    secret: &str,
    bot_id: &str,
    attempt: u32,
    now: chrono::DateTime<chrono::Utc>,
) -> DbResult<String> {
    let token = mint(secret, bot_id, attempt);
    bots::set_token_hash(conn, bot_id, &hash_secret(&token), now).await?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_deterministic_per_attempt_and_distinct_otherwise() {
        let a = mint("secret-one-secret-one-secret-one", "bot-1", 1);
        assert_eq!(a, mint("secret-one-secret-one-secret-one", "bot-1", 1));
        assert_ne!(a, mint("secret-one-secret-one-secret-one", "bot-1", 2));
        assert_ne!(a, mint("secret-one-secret-one-secret-one", "bot-2", 1));
        assert_ne!(a, mint("secret-two-secret-two-secret-two", "bot-1", 1));
        assert!(a.starts_with(BOT_TOKEN_PREFIX));
        assert_eq!(a.len(), 4 + 43);
    }
}

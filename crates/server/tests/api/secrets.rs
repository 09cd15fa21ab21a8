//! Secrets at rest: the database holds no plaintext secret, yet bot tokens, webhook
//! signatures and media URLs keep working — across restarts, key rotation and databases
//! from before encryption; a wrong or missing key stops the start with a clear message.

use crate::support::TestApp;
use crate::webhooks::{Receiver, deliver, verify};
use meeboter_db::secrets::EncryptionKey;
use meeboter_db::testing::TestDatabase;
use reqwest::Method;
use serde_json::json;

const ZOOM: &str = "https://zoom.us/j/123456789";

/// The stored secrets, read straight from the tables: `(bot-token secret, endpoint
/// secrets, account signing secrets)`.
async fn stored(app: &TestApp) -> (String, Vec<String>, Vec<String>) {
    let column = |sql: &'static str| async move {
        sqlx::query_scalar::<_, String>(sql)
            .fetch_all(app.db.pool())
            .await
            .unwrap()
    };
    let setting = column("SELECT value FROM server_settings WHERE name = 'bot_token_secret'").await;
    let endpoints = column("SELECT secret FROM webhook_endpoints ORDER BY id").await;
    let accounts = column("SELECT webhook_secret FROM accounts WHERE webhook_secret IS NOT NULL ORDER BY id").await;
    (setting.into_iter().next().unwrap_or_default(), endpoints, accounts)
}

/// Every stored secret is encrypted under `key_id` and contains none of `plaintexts`.
async fn assert_encrypted(app: &TestApp, key_id: &str, plaintexts: &[&str]) {
    let (setting, endpoints, accounts) = stored(app).await;
    assert!(!endpoints.is_empty() && !accounts.is_empty());
    for value in std::iter::once(&setting).chain(&endpoints).chain(&accounts) {
        assert!(value.starts_with(&format!("enc:v1:{key_id}:")), "{value}");
        for p in plaintexts {
            let bare = p.trim_start_matches("whsec_");
            assert!(!value.contains(bare), "plaintext in {value}");
        }
    }
}

/// The key this app encrypts with: `MEEBOTER_ENCRYPTION_KEY`, or SQLite's key file.
fn current_key(app: &TestApp) -> EncryptionKey {
    match &app.state.config.encryption_key {
        Some(k) => k.clone(),
        None => {
            let path = meeboter_server::secrets::sqlite_key_file(&app.state.config.database_url).unwrap();
            EncryptionKey::parse(&std::fs::read_to_string(path).unwrap()).unwrap()
        }
    }
}

/// An app with an endpoint, a bot with its own `webhookUrl` that reported and delivered,
/// and a screenshot: `(endpoint secret, account secret, bot id, bot token, screenshot URL path)`.
struct World {
    endpoint_receiver: Receiver,
    bot_receiver: Receiver,
    endpoint_secret: String,
    account_secret: String,
    bot_id: String,
    token: String,
    screenshot_path: String,
}

async fn world(app: &TestApp) -> World {
    let endpoint_receiver = Receiver::start(0).await;
    let bot_receiver = Receiver::start(0).await;
    let endpoint = app
        .post(&app.admin_key, "/api/webhooks", json!({"url": endpoint_receiver.url}))
        .await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let endpoint_secret = endpoint.body["secret"].as_str().unwrap().to_string();
    let (bot_id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "webhookUrl": bot_receiver.url}))
        .await;
    app.report(&token, "JOINING_CALL", None).await;
    while deliver(app).await > 0 {}
    let account_secret = app.get(&app.admin_key, "/api/webhooks/signing-secret").await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let jpeg = [0xffu8, 0xd8, 0xff, 0xe0, 9, 9];
    let res = app
        .client
        .post(format!("{}/api/bot/v1/screenshots?kind=in_call", app.base))
        .bearer_auth(&token)
        .header("content-type", "image/jpeg")
        .body(jpeg.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let list = app
        .get(&app.admin_key, &format!("/api/bots/{bot_id}/screenshots"))
        .await;
    let url = list.body["screenshots"][0]["url"].as_str().unwrap();
    let screenshot_path = url.strip_prefix(&app.base).unwrap().to_string();
    World {
        endpoint_receiver,
        bot_receiver,
        endpoint_secret,
        account_secret,
        bot_id,
        token,
        screenshot_path,
    }
}

/// Everything still works on `app`: the bot's token, a media URL signed by any server of
/// this installation, and webhook signatures (endpoint and account secrets) of a new event.
async fn assert_working(app: &TestApp, w: &World) {
    let config = app.bot(&w.token, Method::GET, "/config", None).await;
    assert_eq!(config.status, 200, "{}", config.body);
    assert_eq!(
        meeboter_server::bot_token::mint(&app.state.bot_token_secret, &w.bot_id, 1),
        w.token,
        "the bot-token secret is the same one"
    );
    let shot = app
        .client
        .get(format!("{}{}", app.base, w.screenshot_path))
        .send()
        .await
        .unwrap();
    assert_eq!(shot.status(), 200, "a media URL signed before still verifies");
    let list = app
        .get(&app.admin_key, &format!("/api/bots/{}/screenshots", w.bot_id))
        .await;
    let fresh = list.body["screenshots"][0]["url"].as_str().unwrap();
    assert_eq!(app.client.get(fresh).send().await.unwrap().status(), 200);

    let (before_e, before_b) = (w.endpoint_receiver.requests().len(), w.bot_receiver.requests().len());
    let participant = meeboter_core::new_id().to_string();
    let events = app
        .bot(
            &w.token,
            Method::POST,
            "/events",
            Some(json!({"events": [{"type": "participant_join", "participantId": participant, "name": "Ann"}]})),
        )
        .await;
    assert_eq!(events.status, 200, "{}", events.body);
    while deliver(app).await > 0 {}
    let endpoint_requests = w.endpoint_receiver.requests();
    let bot_requests = w.bot_receiver.requests();
    assert!(endpoint_requests.len() > before_e && bot_requests.len() > before_b);
    for (headers, body) in &endpoint_requests[before_e..] {
        verify(headers, body, &w.endpoint_secret);
    }
    for (headers, body) in &bot_requests[before_b..] {
        verify(headers, body, &w.account_secret);
    }
    let account = app.get(&app.admin_key, "/api/webhooks/signing-secret").await;
    assert_eq!(account.body["secret"], w.account_secret.as_str());
}

#[tokio::test]
async fn the_database_holds_no_plaintext_secret_and_everything_still_works() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let w = world(&app).await;
    let key = current_key(&app);
    assert_encrypted(
        &app,
        &key.id(),
        &[&app.state.bot_token_secret, &w.endpoint_secret, &w.account_secret],
    )
    .await;
    assert_working(&app, &w).await;

    if TestDatabase::backend_under_test() == meeboter_db::Backend::Sqlite {
        // No key configured: it was generated beside the database, readable by its owner only.
        let path = meeboter_server::secrets::sqlite_key_file(&app.state.config.database_url).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{}", path.display());
    }
    // Neither the key nor a secret reaches the configuration listing.
    let listing = app.state.config.describe();
    assert!(!listing.contains(&key.to_base64()));
}

#[tokio::test]
async fn rotation_reencrypts_under_the_new_key_and_a_wrong_key_is_refused() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let w = world(&app).await;
    let old = current_key(&app);
    let before = stored(&app).await;

    // A key that never encrypted this database: refused, naming the problem, nothing changed.
    let stranger = EncryptionKey::generate();
    let err = app
        .restart_with(|c| {
            c.encryption_key = Some(stranger.clone());
            c.previous_encryption_keys = vec![];
        })
        .await
        .err()
        .expect("a wrong key must not start");
    let message = format!("{err:#}");
    assert!(message.contains("wrong encryption key"), "{message}");
    assert!(
        message.contains(&old.id()) && message.contains(&stranger.id()),
        "{message}"
    );
    assert!(message.contains("MEEBOTER_ENCRYPTION_KEY_PREVIOUS"), "{message}");
    assert!(!message.contains(&stranger.to_base64()) && !message.contains(&old.to_base64()));
    assert_eq!(stored(&app).await, before, "a refused start changes nothing");

    // New key, old one as previous: everything is re-encrypted under the new key.
    let new = EncryptionKey::generate();
    let rotated = app
        .restart_with(|c| {
            c.encryption_key = Some(new.clone());
            c.previous_encryption_keys = vec![old.clone()];
        })
        .await
        .expect("rotation start");
    assert_encrypted(
        &rotated,
        &new.id(),
        &[&app.state.bot_token_secret, &w.endpoint_secret, &w.account_secret],
    )
    .await;
    assert_working(&rotated, &w).await;

    // The old key is no longer needed; alone, it no longer opens anything.
    let new_only = app
        .restart_with(|c| {
            c.encryption_key = Some(new.clone());
            c.previous_encryption_keys = vec![];
        })
        .await
        .expect("the new key alone");
    assert_working(&new_only, &w).await;
    let err = app
        .restart_with(|c| {
            c.encryption_key = Some(old.clone());
            c.previous_encryption_keys = vec![];
        })
        .await
        .err()
        .expect("the retired key must not start");
    assert!(format!("{err:#}").contains(&new.id()), "{err:#}");
}

#[tokio::test]
async fn secrets_from_before_encryption_are_encrypted_at_start_by_any_replica() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let mut w = world(&app).await;
    // The database as an earlier version left it: every secret in plaintext.
    let legacy_token_secret = "mbs_legacy-secret-from-an-earlier-version-0123456789";
    let legacy_endpoint = "whsec_bGVnYWN5LWVuZHBvaW50LXNlY3JldC0wMTIzNDU2Nzg5";
    let legacy_account = "whsec_bGVnYWN5LWFjY291bnQtc2VjcmV0LTAxMjM0NTY3ODk=";
    app.sql(&format!(
        "UPDATE server_settings SET value = '{legacy_token_secret}' WHERE name = 'bot_token_secret'"
    ))
    .await;
    app.sql(&format!("UPDATE webhook_endpoints SET secret = '{legacy_endpoint}'"))
        .await;
    app.sql(&format!(
        "UPDATE accounts SET webhook_secret = '{legacy_account}' WHERE webhook_secret IS NOT NULL"
    ))
    .await;
    w.endpoint_secret = legacy_endpoint.to_string();
    w.account_secret = legacy_account.to_string();

    // Two replicas start at once over it: both succeed and agree.
    let (a, b) = tokio::join!(app.restart_with(|_| {}), app.restart_with(|_| {}));
    let (a, b) = (a.expect("replica a"), b.expect("replica b"));
    assert_eq!(a.state.bot_token_secret.as_str(), legacy_token_secret);
    assert_eq!(b.state.bot_token_secret.as_str(), legacy_token_secret);
    let key = current_key(&app);
    assert_encrypted(&a, &key.id(), &[legacy_token_secret, legacy_endpoint, legacy_account]).await;
    // Tokens minted from the earlier secret keep working; the bot's stored token is its own.
    w.token = meeboter_server::bot_token::issue(
        &mut a.db.acquire().await.unwrap(),
        &a.state.bot_token_secret,
        &w.bot_id,
        1,
        a.state.now(),
    )
    .await
    .unwrap();
    let list = a
        .get(&a.admin_key, &format!("/api/bots/{}/screenshots", w.bot_id))
        .await;
    w.screenshot_path = list.body["screenshots"][0]["url"]
        .as_str()
        .unwrap()
        .strip_prefix(&a.base)
        .unwrap()
        .to_string();
    assert_working(&a, &w).await;
    let shot = b
        .client
        .get(format!("{}{}", b.base, w.screenshot_path))
        .send()
        .await
        .unwrap();
    assert_eq!(shot.status(), 200, "replicas sign media URLs alike");

    // Idempotent: another start changes nothing.
    let sealed = stored(&a).await;
    let _again = app.restart_with(|_| {}).await.expect("third start");
    assert_eq!(stored(&a).await, sealed);
}

#[tokio::test]
async fn a_missing_sqlite_key_file_is_never_silently_replaced() {
    if TestDatabase::backend_under_test() != meeboter_db::Backend::Sqlite {
        return; // PostgreSQL has no key file (the configuration requires the key).
    }
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    world(&app).await;
    let path = meeboter_server::secrets::sqlite_key_file(&app.state.config.database_url).unwrap();
    let key = std::fs::read_to_string(&path).unwrap();
    std::fs::remove_file(&path).unwrap();
    let err = app.restart_with(|_| {}).await.err().expect("no key, no start");
    let message = format!("{err:#}");
    assert!(
        message.contains("is missing") && message.contains("MEEBOTER_ENCRYPTION_KEY"),
        "{message}"
    );
    assert!(!path.exists(), "no new key was generated over encrypted secrets");
    // Restored, the database opens again.
    std::fs::write(&path, key).unwrap();
    app.restart_with(|_| {}).await.expect("restored key file");
}

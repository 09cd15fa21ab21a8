use crate::support::TestApp;
use serde_json::{Value, json};

#[tokio::test]
async fn accounts_are_admin_only_and_unique() {
    let app = TestApp::spawn().await;
    let r = app.post(&app.admin_key, "/api/accounts", json!({"name": "acme"})).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["name"], "acme");
    let dup = app.post(&app.admin_key, "/api/accounts", json!({"name": "acme"})).await;
    assert_eq!(dup.status, 409);
    assert_eq!(dup.error_code(), "account_exists");
    let blank = app.post(&app.admin_key, "/api/accounts", json!({"name": "  "})).await;
    assert_eq!(blank.status, 422);
    let list = app.get(&app.admin_key, "/api/accounts").await;
    let names: Vec<&str> = list.body["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["default", "acme"]);

    let (_, member) = app.member("m").await;
    assert_eq!(app.get(&member, "/api/accounts").await.status, 403);
    let r = app.post(&member, "/api/accounts", json!({"name": "x"})).await;
    assert_eq!(r.status, 403);
    assert_eq!(r.error_code(), "forbidden");
}

#[tokio::test]
async fn keys_are_shown_once_and_stored_hashed() {
    let app = TestApp::spawn().await;
    let created = app
        .post(&app.admin_key, "/api/keys", json!({"name": "ci", "role": "member"}))
        .await;
    assert_eq!(created.status, 201);
    let secret = created.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("mbk_") && secret.len() == 44);
    assert!(secret.starts_with(created.body["prefix"].as_str().unwrap()));
    assert_eq!(created.body["accountId"], app.admin_account.as_str());

    // Works right away, and listing never shows secrets.
    assert_eq!(app.get(&secret, "/api/bots").await.status, 200);
    let list = app.get(&app.admin_key, "/api/keys").await;
    assert!(!list.body.to_string().contains(&secret[4..]));
    assert_eq!(list.body["keys"].as_array().unwrap().len(), 2);
    assert!(list.body["keys"][0].get("secret").is_none());

    // Nothing in the database contains the raw secrets.
    for raw in [&secret, &app.admin_key] {
        let needle = format!("%{}%", &raw[4..]);
        let (n,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM api_keys WHERE id LIKE $1 OR name LIKE $1 OR prefix LIKE $1 OR key_hash LIKE $1",
        )
        .bind(&needle)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
        assert_eq!(n, 0);
        let (s,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM server_settings WHERE value LIKE $1")
            .bind(&needle)
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        assert_eq!(s, 0);
    }
}

#[tokio::test]
async fn last_used_at_is_recorded() {
    let app = TestApp::spawn().await;
    let (_, member) = app.member("m").await;
    let before = app.get(&app.admin_key, "/api/keys").await;
    let member_key = before.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["role"] == "member")
        .unwrap()
        .clone();
    assert_eq!(member_key["lastUsedAt"], Value::Null);
    app.get(&member, "/api/bots").await;
    let after = app.get(&app.admin_key, "/api/keys").await;
    let k = after.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["id"] == member_key["id"])
        .unwrap()
        .clone();
    assert!(k["lastUsedAt"].is_string());
}

#[tokio::test]
async fn members_are_confined_to_their_account() {
    let app = TestApp::spawn().await;
    let (alice_account, alice) = app.member("alice").await;
    let (_, bob) = app.member("bob").await;

    let r = app
        .post(&alice, "/api/keys", json!({"name": "x", "role": "admin"}))
        .await;
    assert_eq!(r.status, 403);
    let r = app
        .post(
            &alice,
            "/api/keys",
            json!({"name": "x", "role": "member", "accountId": app.admin_account}),
        )
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .post(
            &alice,
            "/api/keys",
            json!({"name": "x", "role": "member", "accountId": alice_account}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["accountId"], alice_account.as_str());

    // Alice lists only her keys (2), the admin lists everyone's (admin + alice 2 + bob 1).
    assert_eq!(
        app.get(&alice, "/api/keys").await.body["keys"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let all = app.get(&app.admin_key, "/api/keys").await;
    assert_eq!(all.body["keys"].as_array().unwrap().len(), 4);

    // Bob cannot revoke Alice's key; the admin can.
    let alice_key_id = r.body["id"].as_str().unwrap();
    assert_eq!(app.delete(&bob, &format!("/api/keys/{alice_key_id}")).await.status, 404);
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{alice_key_id}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{alice_key_id}"))
            .await
            .status,
        204
    );
    assert_eq!(app.delete(&app.admin_key, "/api/keys/nope").await.status, 404);
}

#[tokio::test]
async fn admins_create_keys_in_any_account() {
    let app = TestApp::spawn().await;
    let (acc, _) = app.member("acme").await;
    let r = app
        .post(
            &app.admin_key,
            "/api/keys",
            json!({"name": "ops", "role": "admin", "accountId": acc}),
        )
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.body["role"], "admin");
    let missing = app
        .post(
            &app.admin_key,
            "/api/keys",
            json!({"name": "x", "role": "member", "accountId": uuid::Uuid::now_v7().to_string()}),
        )
        .await;
    assert_eq!(missing.status, 404);
}

#[tokio::test]
async fn key_validation_reports_every_field() {
    let app = TestApp::spawn().await;
    let r = app
        .post(
            &app.admin_key,
            "/api/keys",
            json!({"name": "", "role": "owner", "expiresAt": "2000-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), vec!["name", "role", "expiresAt"]);
    let r = app.post(&app.admin_key, "/api/keys", json!({"role": "member"})).await;
    assert_eq!(r.status, 422);
    assert_eq!(r.error_fields(), vec!["name"]);
}

#[tokio::test]
async fn revoked_and_expired_keys_stop_working() {
    let app = TestApp::spawn().await;
    let created = app
        .post(&app.admin_key, "/api/keys", json!({"name": "tmp", "role": "member"}))
        .await;
    let secret = created.body["secret"].as_str().unwrap();
    let id = created.body["id"].as_str().unwrap();
    assert_eq!(app.get(secret, "/api/bots").await.status, 200);
    assert_eq!(app.delete(&app.admin_key, &format!("/api/keys/{id}")).await.status, 204);
    let r = app.get(secret, "/api/bots").await;
    assert_eq!(r.status, 401);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("revoked"));

    let expiring = app
        .post(
            &app.admin_key,
            "/api/keys",
            json!({"name": "exp", "role": "member", "expiresAt": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(expiring.body["expiresAt"], "2099-01-01T00:00:00Z");
    let secret = expiring.body["secret"].as_str().unwrap();
    assert_eq!(app.get(secret, "/api/bots").await.status, 200);
    app.sql(&format!(
        "UPDATE api_keys SET expires_at = 1000 WHERE id = '{}'",
        expiring.body["id"].as_str().unwrap()
    ))
    .await;
    let r = app.get(secret, "/api/bots").await;
    assert_eq!(r.status, 401);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn bootstrap_creates_one_admin_key_only() {
    let app = TestApp::spawn().await;
    assert!(
        meeboter_server::bootstrap::first_admin_key(&app.db)
            .await
            .unwrap()
            .is_none()
    );
    let keys = app.get(&app.admin_key, "/api/keys").await;
    assert_eq!(keys.body["keys"].as_array().unwrap().len(), 1);
    assert_eq!(keys.body["keys"][0]["role"], "admin");
}

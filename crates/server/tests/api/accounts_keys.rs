use crate::support::TestApp;
use reqwest::Method;
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

/// The id of the key whose secret is `secret` (looked up by its visible prefix).
async fn id_of(app: &TestApp, secret: &str) -> String {
    let list = app.get(&app.admin_key, "/api/keys").await;
    let matching: Vec<&Value> = list.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| secret.starts_with(k["prefix"].as_str().unwrap()))
        .collect();
    assert_eq!(matching.len(), 1, "{}", list.body);
    matching[0]["id"].as_str().unwrap().to_string()
}

/// A new key of `role` in `account`, created by `by`: `(id, secret)`.
async fn new_key(app: &TestApp, by: &str, role: &str, account: &str) -> (String, String) {
    let r = app
        .post(
            by,
            "/api/keys",
            json!({"name": format!("{role} key"), "role": role, "accountId": account}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    (
        r.body["id"].as_str().unwrap().to_string(),
        r.body["secret"].as_str().unwrap().to_string(),
    )
}

/// Active (neither revoked nor expired) admin keys of `account`, read from the database.
async fn active_admin_keys(app: &TestApp, account: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM api_keys WHERE account_id = $1 AND role = 'admin' AND revoked_at IS NULL \
         AND (expires_at IS NULL OR expires_at > $2)",
    )
    .bind(account)
    .bind(chrono::Utc::now().timestamp_millis())
    .fetch_one(app.db.pool())
    .await
    .unwrap();
    n
}

#[tokio::test]
async fn member_keys_revoke_only_themselves() {
    let app = TestApp::spawn().await;
    let account = app.admin_account.clone();
    let first_admin = id_of(&app, &app.admin_key).await;
    let (second_admin, _) = new_key(&app, &app.admin_key, "admin", &account).await;
    let (member_id, member) = new_key(&app, &app.admin_key, "member", &account).await;
    let (other_member, other_member_secret) = new_key(&app, &app.admin_key, "member", &account).await;
    let (_, alice) = app.member("alice").await;
    let alice_key = id_of(&app, &alice).await;

    // The account's admin keys (the first one included) and its other member keys: the
    // member sees them but may not revoke them.
    for id in [&first_admin, &second_admin, &other_member] {
        let r = app.delete(&member, &format!("/api/keys/{id}")).await;
        assert_eq!(r.status, 403, "{id}: {}", r.body);
        assert_eq!(r.error_code(), "forbidden");
        assert!(r.body["error"]["message"].as_str().unwrap().contains("admin key"));
    }
    assert_eq!(active_admin_keys(&app, &account).await, 2);
    assert_eq!(app.get(&other_member_secret, "/api/bots").await.status, 200);
    // Another account's key does not exist for a member.
    assert_eq!(app.delete(&member, &format!("/api/keys/{alice_key}")).await.status, 404);
    assert_eq!(app.get(&alice, "/api/bots").await.status, 200);

    // Its own key it may revoke; then it stops working.
    assert_eq!(app.delete(&member, &format!("/api/keys/{member_id}")).await.status, 204);
    assert_eq!(app.get(&member, "/api/bots").await.status, 401);
    // An admin revokes any key.
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{other_member}"))
            .await
            .status,
        204
    );
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{alice_key}"))
            .await
            .status,
        204
    );
    assert_eq!(app.get(&alice, "/api/bots").await.status, 401);
}

#[tokio::test]
async fn the_last_active_admin_key_of_an_account_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let account = app.admin_account.clone();
    let first = id_of(&app, &app.admin_key).await;

    // The only admin key, revoking itself: refused, with the reason, and it keeps working.
    let r = app.delete(&app.admin_key, &format!("/api/keys/{first}")).await;
    assert_eq!(r.status, 409, "{}", r.body);
    assert_eq!(r.error_code(), "last_admin_key");
    assert_eq!(r.body["error"]["details"]["keyId"], first.as_str());
    assert_eq!(r.body["error"]["details"]["accountId"], account.as_str());
    assert!(
        r.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("last active admin key")
    );
    assert_eq!(app.get(&app.admin_key, "/api/bots").await.status, 200);

    // With a second admin key, the first may go (even revoking itself).
    let (second, second_secret) = new_key(&app, &app.admin_key, "admin", &account).await;
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{first}")).await.status,
        204
    );
    assert_eq!(app.get(&app.admin_key, "/api/bots").await.status, 401);
    // Revoking a revoked key still succeeds and changes nothing.
    assert_eq!(
        app.delete(&second_secret, &format!("/api/keys/{first}")).await.status,
        204
    );
    let r = app.delete(&second_secret, &format!("/api/keys/{second}")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "last_admin_key");

    // An expired admin key does not count as a way in (and may itself be revoked), nor
    // do member keys.
    let (expired, _) = new_key(&app, &second_secret, "admin", &account).await;
    app.sql(&format!("UPDATE api_keys SET expires_at = 1000 WHERE id = '{expired}'"))
        .await;
    new_key(&app, &second_secret, "member", &account).await;
    let r = app.delete(&second_secret, &format!("/api/keys/{second}")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.error_code(), "last_admin_key");
    assert_eq!(
        app.delete(&second_secret, &format!("/api/keys/{expired}")).await.status,
        204
    );

    // The rule holds per account: another account's only admin key stays too.
    let acme = app
        .post(&second_secret, "/api/accounts", json!({"name": "acme"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (acme_admin, acme_secret) = new_key(&app, &second_secret, "admin", &acme).await;
    let r = app.delete(&second_secret, &format!("/api/keys/{acme_admin}")).await;
    assert_eq!(r.status, 409);
    assert_eq!(r.body["error"]["details"]["accountId"], acme.as_str());
    assert_eq!(app.get(&acme_secret, "/api/bots").await.status, 200);
    assert_eq!(active_admin_keys(&app, &account).await, 1);
    assert_eq!(active_admin_keys(&app, &acme).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_revocations_of_the_last_two_admin_keys_leave_one() {
    let app = TestApp::spawn().await;
    let account = app.admin_account.clone();
    // An admin of another account revokes both of this account's admin keys at once: the
    // check and the update share one write transaction, so only one can succeed.
    let ops = app
        .post(&app.admin_key, "/api/accounts", json!({"name": "ops"}))
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, operator) = new_key(&app, &app.admin_key, "admin", &ops).await;
    let mut survivor = (id_of(&app, &app.admin_key).await, app.admin_key.clone());
    for round in 0..10 {
        let other = new_key(&app, &operator, "admin", &account).await;
        assert_eq!(active_admin_keys(&app, &account).await, 2);
        let (to_survivor, to_other) = (format!("/api/keys/{}", survivor.0), format!("/api/keys/{}", other.0));
        let (a, b) = tokio::join!(app.delete(&operator, &to_survivor), app.delete(&operator, &to_other));
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort_unstable();
        assert_eq!(statuses, [204, 409], "round {round}: {} / {}", a.body, b.body);
        let refused = if a.status == 409 { &a } else { &b };
        assert_eq!(refused.error_code(), "last_admin_key");
        assert_eq!(active_admin_keys(&app, &account).await, 1, "round {round}");
        survivor = if a.status == 204 { other } else { survivor };
        assert_eq!(app.get(&survivor.1, "/api/bots").await.status, 200, "round {round}");
    }

    // The two keys revoking each other: one wins; the other is refused, either as the
    // last admin key (409) or because its own key is already revoked (401).
    for round in 0..5 {
        let other = new_key(&app, &survivor.1, "admin", &account).await;
        let (to_other, to_survivor) = (format!("/api/keys/{}", other.0), format!("/api/keys/{}", survivor.0));
        let (a, b) = tokio::join!(app.delete(&survivor.1, &to_other), app.delete(&other.1, &to_survivor),);
        let wins = [&a, &b].iter().filter(|r| r.status == 204).count();
        assert_eq!(wins, 1, "round {round}: {} / {}", a.body, b.body);
        let loser = if a.status == 204 { &b } else { &a };
        assert!(
            matches!(loser.status.as_u16(), 401 | 409),
            "round {round}: {} {}",
            loser.status,
            loser.body
        );
        assert_eq!(active_admin_keys(&app, &account).await, 1, "round {round}");
        survivor = if a.status == 204 { survivor } else { other };
        assert_eq!(app.get(&survivor.1, "/api/bots").await.status, 200, "round {round}");
    }
}

#[tokio::test]
async fn only_revoked_keys_can_be_deleted_and_only_by_who_may_revoke_them() {
    let app = TestApp::spawn().await;
    let (account, member) = app.member("acme").await;
    let other = app
        .post(
            &app.admin_key,
            "/api/keys",
            json!({"name": "ci", "role": "member", "accountId": account}),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let other_id = other.body["id"].as_str().unwrap().to_string();
    let path = format!("/api/keys/{other_id}/revoked");

    // Still active: refused, and the key keeps working.
    let r = app.delete(&app.admin_key, &path).await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (409, "key_not_revoked".to_string()),
        "{}",
        r.body
    );
    // A member may not delete another key (even a revoked one).
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{other_id}"))
            .await
            .status,
        204
    );
    let r = app.delete(&member, &path).await;
    assert_eq!(
        (r.status.as_u16(), r.error_code()),
        (403, "forbidden".to_string()),
        "{}",
        r.body
    );
    // The admin deletes it: gone from the list; a second delete is a 404.
    assert_eq!(app.delete(&app.admin_key, &path).await.status, 204);
    let listed = app.get(&app.admin_key, "/api/keys").await;
    assert!(
        !listed.body["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == other_id.as_str())
    );
    let r = app.delete(&app.admin_key, &path).await;
    assert_eq!((r.status.as_u16(), r.error_code()), (404, "not_found".to_string()));
    let r = app.delete(&app.admin_key, "/api/keys/not-an-id/revoked").await;
    assert_eq!(r.status, 404);
    assert_eq!(app.request(Method::DELETE, None, &path, None).await.status, 401);
}

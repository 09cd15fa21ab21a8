use crate::support::TestApp;

#[tokio::test]
async fn probes_answer_without_auth() {
    let app = TestApp::spawn().await;
    let r = TestApp::read(app.client.get(format!("{}/healthz", app.base))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "ok");
    let r = TestApp::read(app.client.get(format!("{}/readyz", app.base))).await;
    assert_eq!(r.status, 200);
}

#[tokio::test]
async fn readyz_is_503_when_the_database_is_gone() {
    let app = TestApp::spawn().await;
    app.db.close().await;
    let res = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 503);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "database_unavailable");
    // The process itself is still alive.
    let res = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// Storage that stops taking writes makes the server `degraded` (the API stays up): the
/// start-up check's probe writes, reads back and deletes an object, and names the setting.
#[tokio::test]
async fn readyz_and_infrastructure_name_storage_that_does_not_take_a_write() {
    let app = TestApp::spawn().await;
    let found = app.state.preflight.refresh(&app.state.config, &app.state.storage).await;
    assert!(found.iter().all(|p| p.component != "storage"), "{found:?}");
    let r = TestApp::read(app.client.get(format!("{}/readyz", app.base))).await;
    assert_eq!(r.body["status"], if found.is_empty() { "ok" } else { "degraded" });

    // The storage directory is replaced by a file: nothing can be written under it any more
    // (whoever the tests run as).
    let meeboter_storage::StorageSettings::Filesystem { root } = &app.state.config.storage else {
        panic!("tests use filesystem storage");
    };
    std::fs::remove_dir_all(root).unwrap();
    std::fs::write(root, "").unwrap();
    let found = app.state.preflight.refresh(&app.state.config, &app.state.storage).await;
    let storage = found
        .iter()
        .find(|p| p.component == "storage")
        .expect("storage problem");
    assert!(storage.message.contains("STORAGE_PATH"), "{}", storage.message);
    let r = TestApp::read(app.client.get(format!("{}/readyz", app.base))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["status"], "degraded");
    assert!(
        r.body["problems"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["component"] == "storage"),
        "{}",
        r.body
    );
    let infra = app.get(&app.admin_key, "/api/infrastructure").await;
    assert!(
        infra.body["warnings"].to_string().contains("does not take a write"),
        "{}",
        infra.body
    );

    // Fixed: the next check clears it.
    std::fs::remove_file(root).unwrap();
    std::fs::create_dir_all(root).unwrap();
    let found = app.state.preflight.refresh(&app.state.config, &app.state.storage).await;
    assert!(found.iter().all(|p| p.component != "storage"), "{found:?}");
}

#[tokio::test]
async fn openapi_documents_every_route_and_the_error_shape() {
    let app = TestApp::spawn().await;
    let r = TestApp::read(app.client.get(format!("{}/api/openapi.json", app.base))).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["openapi"], "3.1.0");
    let paths = r.body["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/bots", &["get", "post"][..]),
        ("/api/bots/{id}", &["get", "delete"]),
        ("/api/accounts", &["get", "post"]),
        ("/api/keys", &["get", "post"]),
        ("/api/keys/{id}", &["delete"]),
        ("/api/bots/{id}/leave", &["post"]),
        ("/api/bots/{id}/events", &["get"]),
        ("/api/bots/{id}/participants", &["get"]),
        ("/api/bots/{id}/chat", &["get", "post"]),
        ("/api/bots/{id}/stream", &["get"]),
        ("/api/webhooks", &["get", "post"]),
        ("/api/webhooks/{id}", &["delete"]),
        ("/api/webhooks/{id}/deliveries", &["get"]),
        ("/api/webhooks/{id}/deliveries/{deliveryId}/redeliver", &["post"]),
        ("/api/webhooks/signing-secret", &["get"]),
        ("/healthz", &["get"]),
        ("/readyz", &["get"]),
    ] {
        for m in methods {
            assert!(paths[path].get(*m).is_some(), "{m} {path} missing");
        }
    }
    let schemas = r.body["components"]["schemas"].as_object().unwrap();
    for s in [
        "ErrorBody",
        "BotResource",
        "CreateBotRequest",
        "BotStatusWire",
        "CreatedKey",
    ] {
        assert!(schemas.contains_key(s), "schema {s} missing");
    }
    let statuses = &schemas["BotStatusWire"]["enum"];
    assert_eq!(statuses.as_array().unwrap().len(), 9);
    assert!(r.body["paths"]["/api/bots"]["post"]["responses"]["422"].is_object());
    // The main requests carry examples.
    for s in [
        "CreateBotRequest",
        "CreateEndpointRequest",
        "CreateKeyRequest",
        "CreateAccountRequest",
        "SendChatRequest",
    ] {
        assert!(schemas[s]["example"].is_object(), "{s} has no example");
    }
    // The bot channel is not part of the public reference.
    assert!(paths.keys().all(|p| !p.starts_with("/api/bot/")), "{:?}", paths.keys());
    assert!(!schemas.contains_key("StatusReport"));
    assert!(
        r.body["tags"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["name"] != "bot channel")
    );
    assert_complete(&r.body);

    // It has its own document, without the public API.
    let bot = TestApp::read(app.client.get(format!("{}/api/bot/openapi.json", app.base))).await;
    assert_eq!(bot.status, 200);
    let bot_paths = bot.body["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/bot/v1/config", "get"),
        ("/api/bot/v1/status", "post"),
        ("/api/bot/v1/heartbeat", "post"),
        ("/api/bot/v1/events", "post"),
        ("/api/bot/v1/commands", "get"),
        ("/api/bot/v1/chat/next", "get"),
        ("/api/bot/v1/chat/{messageId}/result", "post"),
        ("/api/bot/v1/recording/chunks/{part}/{seq}", "put"),
    ] {
        assert!(bot_paths[path].get(method).is_some(), "{method} {path} missing");
    }
    assert!(bot_paths.keys().all(|p| p.starts_with("/api/bot/v1/")));
    assert!(bot.body["components"]["securitySchemes"]["botToken"].is_object());
    assert_complete(&bot.body);
}

/// Every operation has a summary; every response a description (and a schema, unless it
/// has no body); every error response the error envelope; every schema reference resolves.
fn assert_complete(doc: &serde_json::Value) {
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for name in text.split("\"#/components/schemas/").skip(1) {
        let name = name.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling reference to {name}");
    }
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let summary = op["summary"].as_str().unwrap_or("");
            assert!(!summary.trim().is_empty(), "{method} {path} has no summary");
            for (status, response) in op["responses"].as_object().unwrap() {
                let described = response["description"].as_str().is_some_and(|d| !d.is_empty());
                assert!(described, "{method} {path} {status} has no description");
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                } else if status != "204" && !response["description"].as_str().unwrap().contains("no body") {
                    // A success without a body says so; every other one has a schema.
                    assert!(
                        response["content"].is_object(),
                        "{method} {path} {status} has no schema"
                    );
                }
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                assert!(op["responses"]["401"].is_object(), "{method} {path} omits 401");
            }
            if op["requestBody"]["content"]["application/json"].is_object() {
                for status in ["400", "413", "415", "422"] {
                    assert!(op["responses"][status].is_object(), "{method} {path} omits {status}");
                }
            }
        }
    }
}

#[tokio::test]
async fn docs_ui_is_served_locally_without_a_cdn() {
    let app = TestApp::spawn().await;
    let res = app.client.get(format!("{}/docs/", app.base)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    for external in ["cdn.", "unpkg.com", "jsdelivr"] {
        assert!(!html.contains(external), "docs reference {external}");
    }
    let js = app
        .client
        .get(format!("{}/docs/swagger-ui-bundle.js", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert!(js.bytes().await.unwrap().len() > 100_000);
}

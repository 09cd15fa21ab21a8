use crate::support::TestApp;
use axum::http::HeaderMap;
use reqwest::Method;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

const ZOOM: &str = "https://zoom.us/j/123456789";

/// A local webhook receiver that fails the first `fail_first` requests with 500.
pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<(HeaderMap, String)>>>,
    _server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(fail_first: usize) -> Receiver {
        let received: Arc<Mutex<Vec<(HeaderMap, String)>>> = Arc::default();
        let seen = received.clone();
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: String| {
                let seen = seen.clone();
                async move {
                    let mut list = seen.lock().unwrap();
                    list.push((headers, body));
                    if list.len() <= fail_first {
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR
                    } else {
                        axum::http::StatusCode::NO_CONTENT
                    }
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver {
            url,
            received,
            _server: server,
        }
    }

    pub fn requests(&self) -> Vec<(HeaderMap, String)> {
        self.received.lock().unwrap().clone()
    }
}

pub async fn deliver(app: &TestApp) -> usize {
    let client = meeboter_server::webhook_client::client(true);
    meeboter_server::workers::deliverer::run_once(&app.state, &client)
        .await
        .unwrap()
}

pub fn verify(headers: &HeaderMap, body: &str, secret: &str) {
    let id = headers["webhook-id"].to_str().unwrap();
    let ts: i64 = headers["webhook-timestamp"].to_str().unwrap().parse().unwrap();
    let expected = meeboter_server::webhook_client::sign(secret, id, ts, body).unwrap();
    assert_eq!(headers["webhook-signature"].to_str().unwrap(), expected);
}

#[tokio::test]
async fn events_are_delivered_signed_and_retried_with_a_stable_id() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let receiver = Receiver::start(2).await;
    let endpoint = app
        .post(
            &app.admin_key,
            "/api/webhooks",
            json!({"url": receiver.url, "events": ["bot.status_changed"]}),
        )
        .await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let secret = endpoint.body["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let endpoint_id = endpoint.body["id"].as_str().unwrap().to_string();
    let listed = app.get(&app.admin_key, "/api/webhooks").await;
    assert!(listed.body["endpoints"][0].get("secret").is_none(), "secret shown once");

    let (id, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "metadata": {"ref": 7}}))
        .await;
    app.report(&token, "IN_CALL", None).await;
    // Two status changes (DEPLOYING, IN_CALL) → two events for the endpoint.
    assert_eq!(deliver(&app).await, 2);
    assert_eq!(receiver.requests().len(), 2, "both failed once (500)");
    assert_eq!(deliver(&app).await, 0, "not due before the backoff");
    app.clock.advance(chrono::Duration::seconds(7));
    assert_eq!(deliver(&app).await, 2);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 4);
    // Same event, same id, on every attempt; every request verifies.
    let ids: Vec<&str> = requests
        .iter()
        .map(|(h, _)| h["webhook-id"].to_str().unwrap())
        .collect();
    let mut first_round = ids[..2].to_vec();
    let mut second_round = ids[2..].to_vec();
    first_round.sort();
    second_round.sort();
    assert_eq!(first_round, second_round, "retries reuse the event ids");
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 2);
    for (headers, body) in &requests {
        verify(headers, body, &secret);
        let payload: Value = serde_json::from_str(body).unwrap();
        assert_eq!(payload["type"], "bot.status_changed");
        assert_eq!(payload["data"]["botId"], id.as_str());
        assert_eq!(payload["data"]["metadata"], json!({"ref": 7}));
    }

    let deliveries = app
        .get(&app.admin_key, &format!("/api/webhooks/{endpoint_id}/deliveries"))
        .await;
    let list = deliveries.body["deliveries"].as_array().unwrap();
    assert_eq!(list.len(), 2);
    let statuses: Vec<&str> = list.iter().map(|d| d["status"].as_str().unwrap()).collect();
    assert!(
        statuses.iter().all(|s| *s == "delivered" || *s == "pending"),
        "{statuses:?}"
    );
    let delivered = list.iter().filter(|d| d["status"] == "delivered").count();
    assert!(delivered >= 1);
    let attempts = list
        .iter()
        .map(|d| d["attempts"].as_array().unwrap().len())
        .sum::<usize>();
    assert_eq!(attempts, 4);
    assert!(list.iter().any(|d| d["attempts"][0]["statusCode"] == 500));

    // Manual redelivery sends the same id again.
    let first = list[0]["id"].as_str().unwrap();
    let r = app
        .request(
            Method::POST,
            Some(&app.admin_key),
            &format!("/api/webhooks/{endpoint_id}/deliveries/{first}/redeliver"),
            None,
        )
        .await;
    assert_eq!(r.status, 202);
    deliver(&app).await;
    assert_eq!(
        receiver.requests().last().unwrap().0["webhook-id"].to_str().unwrap(),
        first
    );
}

#[tokio::test]
async fn bot_webhook_urls_get_events_signed_with_the_account_secret() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let receiver = Receiver::start(0).await;
    let (_, token) = app
        .deployed_bot(json!({"meetingUrl": ZOOM, "webhookUrl": receiver.url}))
        .await;
    app.bot(
        &token,
        Method::POST,
        "/events",
        Some(
            json!({"events": [{"type": "participant_join", "participantId": "p1", "name": "Ann"},
                                {"type": "chat_received", "sender": "Ann", "text": "hi"}]}),
        ),
    )
    .await;
    while deliver(&app).await > 0 {}
    let secret = app.get(&app.admin_key, "/api/webhooks/signing-secret").await.body["secret"]
        .as_str()
        .unwrap()
        .to_string();
    let requests = receiver.requests();
    let mut types: Vec<String> = requests
        .iter()
        .map(|(_, b)| {
            serde_json::from_str::<Value>(b).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    // Deliveries of one batch go out concurrently, so arrival order is not guaranteed.
    types.sort();
    assert_eq!(
        types,
        vec!["bot.chat_received", "bot.participant_joined", "bot.status_changed"]
    );
    for (headers, body) in &requests {
        verify(headers, body, &secret);
    }
}

#[tokio::test]
async fn deliveries_survive_a_restart_and_give_up_after_a_day() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let receiver = Receiver::start(0).await;
    app.post(&app.admin_key, "/api/webhooks", json!({"url": receiver.url}))
        .await;
    app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    // The server "dies" before delivering: a fresh server over the same database delivers.
    let mut restarted = meeboter_server::prepare(app.state.config.as_ref().clone())
        .await
        .unwrap();
    restarted.clock = app.clock.clone();
    let client = meeboter_server::webhook_client::client(true);
    assert_eq!(
        meeboter_server::workers::deliverer::run_once(&restarted, &client)
            .await
            .unwrap(),
        1
    );
    assert_eq!(receiver.requests().len(), 1);

    // A receiver that is down for good: retried, then given up after 24 h.
    let dead = "http://127.0.0.1:9/hook";
    app.post(&app.admin_key, "/api/webhooks", json!({"url": dead})).await;
    let (id, token) = app.deployed_bot(json!({"meetingUrl": ZOOM})).await;
    app.report(&token, "JOINING_CALL", None).await;
    for _ in 0..40 {
        deliver(&app).await;
        app.clock.advance(chrono::Duration::hours(1));
    }
    let mut conn = app.db.pool().acquire().await.unwrap();
    let dead_ones: Vec<_> = meeboter_db::webhooks::deliveries_for_bot(&mut conn, &id)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.url == dead)
        .collect();
    assert_eq!(dead_ones.len(), 2);
    assert!(dead_ones.iter().all(|d| d.status == "failed"), "{dead_ones:?}");
    assert!(dead_ones.iter().all(|d| d.attempts > 3));
}

#[tokio::test]
async fn endpoints_are_validated_and_private_targets_refused() {
    let app = TestApp::spawn().await;
    for (body, field) in [
        (json!({"url": "http://127.0.0.1:8080/hook"}), "url"),
        (json!({"url": "http://169.254.169.254/latest"}), "url"),
        (json!({"url": "http://localhost/hook"}), "url"),
        (json!({"url": "ftp://example.com/"}), "url"),
        (
            json!({"url": "https://93.184.216.34/h", "events": ["bot.exploded"]}),
            "events",
        ),
        (json!({"url": "https://93.184.216.34/h", "secret": "plain"}), "secret"),
    ] {
        let r = app.post(&app.admin_key, "/api/webhooks", body.clone()).await;
        assert_eq!(r.status, 422, "{body}");
        assert_eq!(r.error_fields(), vec![field], "{body}");
    }
    // A public IP literal needs no DNS, so this holds on machines without a resolver.
    let ok = app
        .post(
            &app.admin_key,
            "/api/webhooks",
            json!({"url": "https://93.184.216.34/h"}),
        )
        .await;
    assert_eq!(ok.status, 201, "{}", ok.body);
    let id = ok.body["id"].as_str().unwrap();
    // Other accounts cannot see or delete it.
    let (_, other) = app.member("o").await;
    assert_eq!(
        app.get(&other, &format!("/api/webhooks/{id}/deliveries")).await.status,
        404
    );
    assert_eq!(app.delete(&other, &format!("/api/webhooks/{id}")).await.status, 404);
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/webhooks/{id}")).await.status,
        204
    );
    assert_eq!(
        app.get(&app.admin_key, "/api/webhooks").await.body["endpoints"],
        json!([])
    );
}

/// The `url` field error of a 422 response: (code, message).
fn url_error(r: &crate::support::Resp) -> (String, String) {
    let fields = r.body["error"]["details"]["fields"].as_array().unwrap();
    assert_eq!(fields.len(), 1, "{}", r.body);
    assert_eq!(fields[0]["field"], "url", "{}", r.body);
    (
        fields[0]["code"].as_str().unwrap().to_string(),
        fields[0]["message"].as_str().unwrap().to_string(),
    )
}

#[tokio::test]
async fn registration_refuses_every_form_of_a_private_target_and_names_the_setting() {
    let app = TestApp::spawn().await;
    for url in [
        "http://localhost.:8080/hook",
        "http://LOCALHOST./hook",
        "http://api.localhost/hook",
        "http://ip6-localhost/hook",
        "http://ip6-loopback:9/hook",
        "http://[::1]/hook",
        "http://[::127.0.0.1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://[64:ff9b::a9fe:a9fe]/latest",
        "http://[64:ff9b:1::808:808]/hook",
        "http://[2002:7f00:1::1]/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://127.1/hook",
        "http://0x7f.0.0.1/hook",
        "http://2130706433/hook",
        "http://0.0.0.0/hook",
        "http://10.0.0.1/hook",
        "http://100.64.0.1/hook",
        "http://198.18.0.1/hook",
        "http://192.0.2.1/hook",
        "http://224.0.0.1/hook",
        "http://255.255.255.255/hook",
    ] {
        let r = app.post(&app.admin_key, "/api/webhooks", json!({ "url": url })).await;
        assert_eq!(r.status, 422, "{url}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "validation_failed", "{url}");
        let (code, message) = url_error(&r);
        assert_eq!(code, "private_target", "{url}: {message}");
        assert!(message.contains("WEBHOOK_ALLOW_PRIVATE"), "{url}: {message}");
    }
    assert_eq!(
        app.get(&app.admin_key, "/api/webhooks").await.body["endpoints"],
        json!([])
    );
}

#[tokio::test]
async fn registration_refuses_a_host_that_does_not_resolve() {
    let app = TestApp::spawn().await;
    // `.invalid` never resolves (RFC 6761).
    let r = app
        .post(
            &app.admin_key,
            "/api/webhooks",
            json!({"url": "https://hooks.nowhere.invalid/h"}),
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.body);
    let (code, message) = url_error(&r);
    assert_eq!(code, "unresolvable_host", "{message}");
    assert!(message.contains("hooks.nowhere.invalid"), "{message}");
}

#[tokio::test]
async fn registration_accepts_public_targets_including_embedded_public_ipv4() {
    let app = TestApp::spawn().await;
    for url in [
        "https://1.1.1.1/hook",
        "https://[2606:4700::1111]/hook",
        "https://[64:ff9b::808:808]/hook",
        "https://[::ffff:8.8.8.8]/hook",
    ] {
        let r = app.post(&app.admin_key, "/api/webhooks", json!({ "url": url })).await;
        assert_eq!(r.status, 201, "{url}: {}", r.body);
    }
}

#[tokio::test]
async fn registration_allows_private_targets_when_the_setting_is_on() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    for url in [
        "http://localhost.:8080/hook",
        "http://ip6-localhost/hook",
        "http://[::127.0.0.1]/hook",
        "http://[64:ff9b::7f00:1]/hook",
        "http://127.1/hook",
    ] {
        let r = app.post(&app.admin_key, "/api/webhooks", json!({ "url": url })).await;
        assert_eq!(r.status, 201, "{url}: {}", r.body);
    }
}

#[tokio::test]
async fn a_test_event_goes_to_that_endpoint_only_signed_and_listed() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    let receiver = Receiver::start(0).await;
    let other = Receiver::start(0).await;
    // Filtered to one bot event: the test event still goes to this endpoint, and only here.
    let endpoint = app
        .post(
            &app.admin_key,
            "/api/webhooks",
            json!({"url": receiver.url, "events": ["bot.recording_ready"]}),
        )
        .await;
    assert_eq!(endpoint.status, 201, "{}", endpoint.body);
    let secret = endpoint.body["secret"].as_str().unwrap().to_string();
    let endpoint_id = endpoint.body["id"].as_str().unwrap().to_string();
    let second = app
        .post(&app.admin_key, "/api/webhooks", json!({"url": other.url}))
        .await;
    assert_eq!(second.status, 201);

    let sent = app
        .request(
            Method::POST,
            Some(&app.admin_key),
            &format!("/api/webhooks/{endpoint_id}/test"),
            None,
        )
        .await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    let delivery_id = sent.body["deliveryId"].as_str().unwrap().to_string();
    assert_eq!(deliver(&app).await, 1);
    let requests = receiver.requests();
    assert_eq!(requests.len(), 1);
    assert!(other.requests().is_empty(), "only the endpoint it was sent for");
    let (headers, body) = &requests[0];
    verify(headers, body, &secret);
    assert_eq!(headers["webhook-id"].to_str().unwrap(), delivery_id);
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["type"], "webhook.test");
    assert_eq!(payload["data"]["endpointId"], endpoint_id.as_str());

    let listed = app
        .get(&app.admin_key, &format!("/api/webhooks/{endpoint_id}/deliveries"))
        .await;
    let d = &listed.body["deliveries"][0];
    assert_eq!(
        (d["id"].as_str(), d["eventType"].as_str(), d["status"].as_str()),
        (Some(delivery_id.as_str()), Some("webhook.test"), Some("delivered"))
    );
    assert!(d["botId"].is_null());

    // Unknown and malformed ids, and no key: the usual errors, nothing queued.
    for path in [
        "/api/webhooks/00000000-0000-7000-8000-000000000000/test".to_string(),
        "/api/webhooks/not-an-id/test".to_string(),
    ] {
        let r = app.request(Method::POST, Some(&app.admin_key), &path, None).await;
        assert_eq!(r.status, 404, "{path}: {}", r.body);
        assert_eq!(r.body["error"]["code"], "not_found");
    }
    let r = app
        .request(Method::POST, None, &format!("/api/webhooks/{endpoint_id}/test"), None)
        .await;
    assert_eq!(r.status, 401);
    assert_eq!(deliver(&app).await, 0);
}

/// Every delivery of an endpoint, following `nextCursor` with pages of `limit`: the ids of
/// each page, in order.
async fn delivery_pages(app: &TestApp, endpoint_id: &str, limit: u32) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/webhooks/{endpoint_id}/deliveries?limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let r = app.get(&app.admin_key, &path).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        let ids: Vec<String> = r.body["deliveries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["id"].as_str().unwrap().to_string())
            .collect();
        assert!(ids.len() <= limit as usize, "{path}: {}", r.body);
        pages.push(ids);
        match r.body["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return pages,
        }
        assert!(pages.len() < 20, "paging does not end");
    }
}

#[tokio::test]
async fn the_delivery_log_pages_on_the_server_with_attempts_per_delivery() {
    let app = TestApp::spawn_with(|c| c.webhook_allow_private = true).await;
    // The first three requests fail (500), then the receiver answers.
    let receiver = Receiver::start(3).await;
    let endpoint = app
        .post(&app.admin_key, "/api/webhooks", json!({"url": receiver.url}))
        .await;
    let endpoint_id = endpoint.body["id"].as_str().unwrap().to_string();
    let mut sent = Vec::new();
    for _ in 0..5 {
        let r = app
            .request(
                Method::POST,
                Some(&app.admin_key),
                &format!("/api/webhooks/{endpoint_id}/test"),
                None,
            )
            .await;
        assert_eq!(r.status, 202, "{}", r.body);
        sent.push(r.body["deliveryId"].as_str().unwrap().to_string());
    }
    // Another endpoint's deliveries never show in this log.
    let other = app
        .post(&app.admin_key, "/api/webhooks", json!({"url": "http://127.0.0.1:9/x"}))
        .await;
    let other_id = other.body["id"].as_str().unwrap().to_string();
    app.request(
        Method::POST,
        Some(&app.admin_key),
        &format!("/api/webhooks/{other_id}/test"),
        None,
    )
    .await;
    // Two rounds: 3 fail and 2 succeed at first (batches are concurrent, so which ones
    // varies), then the 3 are retried after the backoff and succeed.
    deliver(&app).await;
    let newest_first: Vec<String> = sent.iter().rev().cloned().collect();

    // Newest first; a page of `limit` and a cursor while more remain, none on the last page,
    // including when the last page is exactly full.
    for (limit, sizes) in [
        (2, vec![2, 2, 1]),
        (5, vec![5]),
        (4, vec![4, 1]),
        (1, vec![1, 1, 1, 1, 1]),
        (100, vec![5]),
    ] {
        let pages = delivery_pages(&app, &endpoint_id, limit).await;
        assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), sizes, "limit {limit}");
        assert_eq!(pages.concat(), newest_first, "limit {limit}");
    }
    let default = app
        .get(&app.admin_key, &format!("/api/webhooks/{endpoint_id}/deliveries"))
        .await;
    assert_eq!(default.body["deliveries"].as_array().unwrap().len(), 5);
    assert!(default.body["nextCursor"].is_null());

    // Attempts belong to their delivery; a failed one is pending with its next retry time.
    let pending: Vec<&Value> = default.body["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "pending")
        .collect();
    assert_eq!(pending.len(), 3, "{}", default.body);
    for d in &pending {
        let attempts = d["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{d}");
        assert_eq!(attempts[0]["statusCode"], 500, "{d}");
        assert_eq!(attempts[0]["error"], "receiver answered 500", "{d}");
        assert!(d["nextAttemptAt"].is_string(), "{d}");
    }
    app.clock.advance(chrono::Duration::seconds(7));
    deliver(&app).await;
    let after = app
        .get(
            &app.admin_key,
            &format!("/api/webhooks/{endpoint_id}/deliveries?limit=5"),
        )
        .await;
    let list = after.body["deliveries"].as_array().unwrap();
    let counts: Vec<usize> = list.iter().map(|d| d["attempts"].as_array().unwrap().len()).collect();
    assert_eq!(counts.iter().sum::<usize>(), 8, "{}", after.body);
    for d in list {
        assert_eq!(d["status"], "delivered", "{d}");
        assert!(d["nextAttemptAt"].is_null(), "{d}");
        let codes: Vec<&Value> = d["attempts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| &a["statusCode"])
            .collect();
        assert_eq!(codes.last().unwrap(), &&json!(204), "{d}");
    }

    // A cursor past the oldest delivery: an empty last page.
    let oldest = sent[0].clone();
    let r = app
        .get(
            &app.admin_key,
            &format!("/api/webhooks/{endpoint_id}/deliveries?cursor={oldest}"),
        )
        .await;
    assert_eq!(
        (
            r.status.as_u16(),
            r.body["deliveries"].clone(),
            r.body["nextCursor"].clone()
        ),
        (200, json!([]), Value::Null)
    );

    // Bad paging input: 422 with the field named, in the uniform error shape.
    for (query, field) in [
        ("cursor=nonsense", "cursor"),
        ("cursor=msg_0190C4F2A1B27C3D8E9F0A1B2C3D4E5F", "cursor"),
        ("cursor=", "cursor"),
        ("cursor=msg_1%27%20OR%201%3D1", "cursor"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
    ] {
        let r = app
            .get(
                &app.admin_key,
                &format!("/api/webhooks/{endpoint_id}/deliveries?{query}"),
            )
            .await;
        assert_eq!(r.status, 422, "{query}: {}", r.body);
        assert_eq!(r.error_code(), "validation_failed", "{query}");
        assert_eq!(r.error_fields(), vec![field], "{query}: {}", r.body);
    }
    for query in ["limit=many", "page=2"] {
        let r = app
            .get(
                &app.admin_key,
                &format!("/api/webhooks/{endpoint_id}/deliveries?{query}"),
            )
            .await;
        assert!(r.status.is_client_error(), "{query}: {}", r.status);
        r.error_code();
    }
}

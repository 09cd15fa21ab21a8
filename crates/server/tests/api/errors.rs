use crate::support::TestApp;
use proptest::prelude::*;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn malformed_json_is_400_with_position() {
    let app = TestApp::spawn().await;
    let r = TestApp::read(
        app.client
            .post(format!("{}/api/bots", app.base))
            .bearer_auth(&app.admin_key)
            .header("content-type", "application/json")
            .body("{\"meetingUrl\": "),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "malformed_json");
    assert!(r.body["error"]["details"]["line"].is_number());
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = TestApp::spawn().await;
    let r = TestApp::read(
        app.client
            .post(format!("{}/api/bots", app.base))
            .bearer_auth(&app.admin_key)
            .header("content-type", "text/plain")
            .body("meetingUrl=x"),
    )
    .await;
    assert_eq!(r.status, 415);
    assert_eq!(r.error_code(), "unsupported_media_type");
}

#[tokio::test]
async fn oversize_body_is_413() {
    let app = TestApp::spawn().await;
    let huge = format!("{{\"meetingUrl\": \"{}\"}}", "a".repeat(400 * 1024));
    let r = TestApp::read(
        app.client
            .post(format!("{}/api/bots", app.base))
            .bearer_auth(&app.admin_key)
            .header("content-type", "application/json")
            .body(huge),
    )
    .await;
    assert_eq!(r.status, 413);
    assert_eq!(r.error_code(), "payload_too_large");
}

#[tokio::test]
async fn authentication_failures_are_401() {
    let app = TestApp::spawn().await;
    let url = format!("{}/api/bots", app.base);
    let cases = [
        app.client.get(&url),
        app.client.get(&url).header("Authorization", "Basic dXNlcjpwYXNz"),
        app.client.get(&url).header("Authorization", "Bearer "),
        app.client.get(&url).bearer_auth("mbk_nope"),
        app.client.get(&url).bearer_auth(format!("mbk_{}", "A".repeat(40))),
        app.client.get(&url).header("X-Api-Key", "garbage"),
        app.client.get(&url).header(
            "Authorization",
            reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
        ),
    ];
    for req in cases {
        let r = TestApp::read(req).await;
        assert_eq!(r.status, 401, "{}", r.body);
        assert_eq!(r.error_code(), "unauthorized");
    }
    // X-Api-Key is accepted as well as Bearer.
    let ok = TestApp::read(app.client.get(&url).header("X-Api-Key", &app.admin_key)).await;
    assert_eq!(ok.status, 200);
}

#[tokio::test]
async fn rate_limited_keys_get_429_with_retry_after() {
    let app = TestApp::spawn_with(|c| c.api_rate_limit_per_minute = 5).await;
    let (_, member) = app.member("m").await; // two of the admin key's five requests
    for _ in 0..3 {
        assert_eq!(app.get(&app.admin_key, "/api/bots").await.status, 200);
    }
    let r = app.get(&app.admin_key, "/api/bots").await;
    assert_eq!(r.status, 429);
    assert_eq!(r.error_code(), "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&retry), "{retry}");
    // Another key has its own budget.
    assert_eq!(app.get(&member, "/api/bots").await.status, 200);
}

#[tokio::test]
async fn unknown_routes_and_methods_use_the_error_shape() {
    let app = TestApp::spawn().await;
    let r = app
        .request(Method::GET, Some(&app.admin_key), "/api/nothing", None)
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.error_code(), "not_found");
    let r = app
        .request(Method::PATCH, Some(&app.admin_key), "/api/bots", Some(json!({})))
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.error_code(), "method_not_allowed");
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        prop::sample::select(vec![
            "https://zoom.us/j/123456789",
            "meet.google.com/abc-defg-hij",
            "2030-01-01T00:00:00Z",
            "zoom",
            "video",
        ])
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(
                prop::sample::select(vec![
                    "meetingUrl",
                    "botName",
                    "platform",
                    "recordingMode",
                    "joinAt",
                    "automaticLeave",
                    "webhookUrl",
                    "metadata",
                    "deduplicationKey",
                    "maxDurationSecs",
                    "x",
                ])
                .prop_map(str::to_string),
                inner,
                0..6
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

#[test]
fn arbitrary_bodies_queries_and_headers_never_cause_a_server_error() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let app = runtime.block_on(TestApp::spawn());
    let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
        cases: 96,
        ..Default::default()
    });
    let strategy = (arb_json(), "[ -~]{0,60}", "[ -~]{0,40}");
    runner
        .run(&strategy, |(body, query, header)| {
            runtime.block_on(async {
                // TestApp::read asserts the status is below 500.
                TestApp::read(
                    app.client
                        .post(format!("{}/api/bots", app.base))
                        .bearer_auth(&app.admin_key)
                        .header("Idempotency-Key", header.clone())
                        .json(&body),
                )
                .await;
                let q: String = url::form_urlencoded::byte_serialize(query.as_bytes()).collect();
                TestApp::read(
                    app.client
                        .get(format!("{}/api/bots?status={q}&cursor={q}&limit={q}", app.base))
                        .bearer_auth(&app.admin_key),
                )
                .await;
                TestApp::read(
                    app.client
                        .get(format!("{}/api/bots", app.base))
                        .header("X-Api-Key", header),
                )
                .await;
            });
            Ok(())
        })
        .unwrap();
}

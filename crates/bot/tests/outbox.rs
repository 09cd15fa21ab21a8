//! The outbox against a real HTTP control channel that is down for a while: nothing the
//! bot reported is lost, order is kept, and the driver never waited for it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use meeboter_bot::control::ControlClient;
use meeboter_bot::driver::Channel;
use meeboter_bot::outbox::Outbox;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
struct Api {
    up_after: Instant,
    received: Arc<Mutex<Vec<String>>>,
}

async fn status(State(api): State<Api>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if Instant::now() < api.up_after {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"error": {"message": "down"}})),
        );
    }
    api.received
        .lock()
        .unwrap()
        .push(format!("status {}", body["status"].as_str().unwrap()));
    (StatusCode::OK, Json(json!({"status": body["status"]})))
}

async fn events(State(api): State<Api>, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    if Instant::now() < api.up_after {
        return (StatusCode::BAD_GATEWAY, Json(json!({})));
    }
    let batch = body["events"].as_array().unwrap();
    for e in batch {
        api.received
            .lock()
            .unwrap()
            .push(format!("event {}", e["name"].as_str().unwrap_or("?")));
    }
    (StatusCode::OK, Json(json!({"accepted": batch.len()})))
}

#[tokio::test]
async fn reports_survive_an_outage_in_order_and_never_block_the_bot() {
    let api = Api {
        up_after: Instant::now() + Duration::from_secs(4),
        received: Arc::default(),
    };
    let router = axum::Router::new()
        .route("/status", post(status))
        .route("/events", post(events))
        .with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await });

    let outbox = Outbox::start(ControlClient::new(&base, "token"));
    let started = Instant::now();
    outbox.report_status("JOINING_CALL", None, None).await.unwrap();
    outbox.report_status("IN_CALL", None, None).await.unwrap();
    for name in ["Ada", "Grace"] {
        let e = json!({"type": "participant_join", "participantId": name, "name": name});
        outbox.events(&[e]).await.unwrap();
    }
    outbox
        .report_status("ENDED", Some("meeting_ended"), None)
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(100),
        "queued without waiting for the network"
    );
    assert!(outbox.pending() > 0);
    assert!(
        outbox.close(Duration::from_secs(30)).await,
        "delivered once the API was back"
    );
    assert_eq!(
        api.received.lock().unwrap().as_slice(),
        [
            "status JOINING_CALL",
            "status IN_CALL",
            "event Ada",
            "event Grace",
            "status ENDED"
        ]
    );
}

//! Looking into a dashboard page from a test: evaluate, wait for, navigate. Shared by the
//! dashboard's end-to-end and per-page tests.

use chromiumoxide::Page;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Evaluates `expr` (awaiting promises) and returns its JSON value.
pub async fn js(page: &Page, expr: &str) -> Value {
    page.evaluate(expr)
        .await
        .unwrap_or_else(|e| panic!("{expr}: {e}"))
        .into_value()
        .unwrap_or(Value::Null)
}

/// Waits until `expr` is truthy in the page; fails with `what` and the page's text.
pub async fn until(page: &Page, expr: &str, within: Duration, what: &str) -> Value {
    let deadline = Instant::now() + within;
    loop {
        if let Ok(v) = page.evaluate(expr).await
            && let Ok(v) = v.into_value::<Value>()
            && !(v.is_null() || v == json!(false) || v == json!("") || v == json!(0))
        {
            return v;
        }
        if Instant::now() >= deadline {
            let text = js(page, "document.body ? document.body.innerText.slice(0, 3000) : ''").await;
            panic!("{what}: not within {within:?}; page shows:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Opens `url` and waits for the page to finish loading.
pub async fn goto(page: &Page, url: &str) {
    page.goto(url).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    until(page, "document.readyState === 'complete'", Duration::from_secs(20), url).await;
}

//! The dashboard in a real browser: headless Chromium signs in, sends a bot from the
//! new-bot form to the server's look-alike meeting, watches the bots table change live,
//! chats from the detail page, makes the bot leave, plays the recording and deletes the
//! bot. A screenshot of every page (desktop and phone width) is saved under
//! `$CARGO_TARGET_TMPDIR/dashboard-screenshots/` as test artifacts.

mod common;
mod in_page;

use chromiumoxide::Page;
use chromiumoxide::cdp::browser_protocol::emulation::SetDeviceMetricsOverrideParams;
use chromiumoxide::cdp::browser_protocol::page::CaptureScreenshotFormat;
use chromiumoxide::page::ScreenshotParams;
use common::{PLATFORMS, Server};
use in_page::{goto, js, until};
use meeboter_bot::browser;
use serde_json::json;
use std::time::Duration;

fn artifacts() -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

async fn shot(page: &Page, name: &str) {
    let png = page
        .screenshot(
            ScreenshotParams::builder()
                .format(CaptureScreenshotFormat::Png)
                .full_page(true)
                .build(),
        )
        .await
        .expect("screenshot");
    std::fs::write(artifacts().join(format!("{name}.png")), png).unwrap();
}

async fn viewport(page: &Page, width: i64, height: i64, mobile: bool) {
    page.execute(SetDeviceMetricsOverrideParams::new(width, height, 1.0, mobile))
        .await
        .expect("viewport");
}

#[test]
fn the_dashboard_end_to_end_in_chromium() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let s = Server::start().await;
        let chromium = browser::find_chromium(None).expect("Chromium (scripts/test installs it)");
        let running = browser::launch(&chromium, false, &[]).await.expect("Chromium starts");
        let page = running.browser.new_page("about:blank").await.unwrap();
        viewport(&page, 1280, 900, false).await;

        // Signed out: the table sends us to the sign-in page, which brings us back.
        goto(&page, &format!("{}/", s.public)).await;
        until(&page, "location.pathname === '/login'", Duration::from_secs(5), "redirect to sign-in").await;
        shot(&page, "01-sign-in").await;
        js(
            &page,
            &format!(
                "document.querySelector('#api_key').value = {}; document.querySelector('form').requestSubmit(); true",
                json!(s.key)
            ),
        )
        .await;
        until(
            &page,
            "location.pathname === '/' && !!document.querySelector('#bots-empty:not([hidden])')",
            Duration::from_secs(10),
            "the empty bots table after signing in",
        )
        .await;
        shot(&page, "02-bots-empty").await;

        // A second tab keeps the table open while the first creates the bot.
        let table = running.browser.new_page("about:blank").await.unwrap();
        viewport(&table, 1280, 900, false).await;
        goto(&table, &format!("{}/", s.public)).await;
        until(&table, "document.querySelector('#live-state').dataset.state === 'live'", Duration::from_secs(10), "live feed").await;
        js(
            &table,
            r#"window.__sameDocument = true; window.__seen = [];
               new MutationObserver(() => {
                 const b = document.querySelector('tr[data-bot-id] [data-status]');
                 if (b && window.__seen[window.__seen.length - 1] !== b.dataset.status) window.__seen.push(b.dataset.status);
               }).observe(document.body, {subtree: true, childList: true, attributes: true}); true"#,
        )
        .await;

        // The new-bot form: the platform is recognised as we type; bad input is explained.
        goto(&page, &format!("{}/bots/new", s.public)).await;
        let type_url = |url: String| {
            format!(
                "(() => {{ const i = document.querySelector('#meetingUrl'); i.value = {}; i.dispatchEvent(new Event('input')); return true; }})()",
                json!(url)
            )
        };
        js(&page, &type_url("https://example.com/not-a-meeting".into())).await;
        until(
            &page,
            "document.querySelector('#meetingUrl-error').textContent.includes('example.com')",
            Duration::from_secs(5),
            "an explained invalid link",
        )
        .await;
        let code = "dash-board-call";
        let meeting = format!("{}/_test/meeting/{}", s.public, (PLATFORMS[0].path)(code));
        js(&page, &type_url(meeting)).await;
        until(
            &page,
            "document.querySelector('#meetingUrl-help').textContent.includes('Google Meet')",
            Duration::from_secs(5),
            "the platform detected",
        )
        .await;
        js(&page, "document.querySelector('#metadata').value = '[1, 2]'; document.querySelector('#new-bot').requestSubmit(); true").await;
        until(
            &page,
            "document.querySelector('#metadata-error').textContent.includes('JSON object')",
            Duration::from_secs(5),
            "metadata validated",
        )
        .await;
        js(
            &page,
            r#"document.querySelector('#metadata').value = '{"customer": "acme"}';
               document.querySelector('#botName').value = 'Dashboard Notes';
               document.querySelector('#recordingMode').value = 'video'; true"#,
        )
        .await;
        shot(&page, "03-new-bot").await;
        js(&page, "document.querySelector('#new-bot').requestSubmit(); true").await;
        let id = until(
            &page,
            "location.pathname.startsWith('/bots/') && location.pathname !== '/bots/new' && location.pathname.slice(6)",
            Duration::from_secs(10),
            "the bot's page after sending it",
        )
        .await
        .as_str()
        .unwrap()
        .to_string();
        let bot = s.get(&format!("/api/bots/{id}")).await;
        assert_eq!((bot["botName"].as_str(), &bot["metadata"]), (Some("Dashboard Notes"), &json!({"customer": "acme"})));

        // The table in the other tab follows without a reload.
        let seen = until(
            &table,
            "window.__seen.includes('IN_CALL') && window.__seen",
            Duration::from_secs(90),
            "the row reaching IN_CALL live",
        )
        .await;
        assert_eq!(js(&table, "window.__sameDocument === true").await, json!(true), "no reload");
        let seen: Vec<String> = serde_json::from_value(seen).unwrap();
        assert_ne!(seen[0], "IN_CALL", "the row was there before the bot was in the call: {seen:?}");
        shot(&table, "04-bots-live").await;
        viewport(&table, 390, 844, true).await;
        shot(&table, "05-bots-phone").await;

        // Detail page: someone joins, chat both ways with delivery state.
        let p = &PLATFORMS[0];
        s.host(p, code, "participants", json!({"name": "Ada Lovelace"})).await;
        until(&page, "document.querySelector('#bot-status')?.dataset.status === 'IN_CALL'", Duration::from_secs(15), "IN_CALL on the detail page").await;
        js(&page, "document.querySelector('#chat-text').value = 'Hello from the dashboard'; document.querySelector('#chat-form').requestSubmit(); true").await;
        until(
            &page,
            "[...document.querySelectorAll('#chat li.mine')].some(li => li.dataset.state === 'sent' && li.textContent.includes('Hello from the dashboard'))",
            Duration::from_secs(30),
            "the chat message delivered",
        )
        .await;
        s.host(p, code, "chat", json!({"sender": "Ada Lovelace", "text": "Hi dashboard"})).await;
        until(
            &page,
            "document.querySelector('#chat').textContent.includes('Hi dashboard')",
            Duration::from_secs(30),
            "the meeting's message shown",
        )
        .await;
        until(&page, "document.querySelector('#participants').textContent.includes('Ada Lovelace')", Duration::from_secs(15), "participants").await;
        tokio::time::sleep(Duration::from_secs(8)).await; // something to record

        // Leave (confirmed), then the recording plays.
        js(&page, "window.confirm = () => true; document.querySelector('#bot-leave').click(); true").await;
        until(&page, "document.querySelector('#bot-status')?.dataset.status === 'ENDED'", Duration::from_secs(60), "ENDED after leaving").await;
        until(&page, "!!document.querySelector('#player')", Duration::from_secs(120), "the recording player").await;
        // Chromium defers loading media in background tabs.
        table.close().await.unwrap();
        page.bring_to_front().await.unwrap();
        let duration = until(
            &page,
            r#"(async () => { const v = document.querySelector('#player');
                 if (v.error) throw new Error('media error ' + v.error.code + ' ' + v.error.message);
                 if (v.readyState < 1) await new Promise((ok) => { v.onloadedmetadata = ok; setTimeout(ok, 3000); });
                 return v.readyState >= 1 && v.duration; })()"#,
            Duration::from_secs(30),
            "the recording's duration",
        )
        .await;
        assert!(duration.as_f64().unwrap() > 0.0, "{duration}");
        until(&page, "document.querySelector('#screenshots img') !== null", Duration::from_secs(10), "screenshots").await;
        until(&page, "document.querySelector('#events').textContent.includes('status_change')", Duration::from_secs(10), "events").await;
        shot(&page, "06-bot-detail").await;

        for (path, name, ready) in [
            ("/infrastructure", "07-infrastructure", "!!document.querySelector('#infra table')"),
            ("/keys", "08-keys", "!!document.querySelector('#keys-body code')"),
            ("/webhooks", "09-webhooks", "!!document.querySelector('#endpoints .empty, #endpoints section')"),
        ] {
            goto(&page, &format!("{}{path}", s.public)).await;
            until(&page, ready, Duration::from_secs(10), name).await;
            shot(&page, name).await;
        }

        // Delete (confirmed): back to the table, the bot is gone.
        goto(&page, &format!("{}/bots/{id}", s.public)).await;
        until(&page, "!!document.querySelector('#bot-status')?.dataset.status", Duration::from_secs(10), "detail page").await;
        js(&page, "window.confirm = () => true; document.querySelector('#bot-delete').click(); true").await;
        until(&page, "location.pathname === '/'", Duration::from_secs(10), "back to the table").await;
        let gone = s
            .http
            .get(format!("{}/api/bots/{id}", s.public))
            .bearer_auth(&s.key)
            .send()
            .await
            .unwrap();
        assert_eq!(gone.status(), 404);

        // Signing out ends the session: the table sends us to sign in again.
        js(&page, "document.querySelector('form.signout').requestSubmit(); true").await;
        until(&page, "location.pathname === '/login'", Duration::from_secs(10), "signed out").await;
        goto(&page, &format!("{}/keys", s.public)).await;
        until(&page, "location.pathname === '/login'", Duration::from_secs(5), "pages need a session").await;
        running.close().await;
    });
}

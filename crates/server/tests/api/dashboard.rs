//! The dashboard's sessions and what they may do, over HTTP: sign-in with the form's
//! double-submit token, the session cookie's attributes, CSRF on every state change,
//! pages and their JSON refusing without a session, accounts kept apart, sign-out and
//! revoked keys ending sessions; plus the API additions the dashboard uses (the live feed
//! of status changes, meeting-link checks, list search and date range).

use crate::support::TestApp;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;

/// An HTML form body (`application/x-www-form-urlencoded`), as a browser posts it.
trait FormBody {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body)
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `name=value` of a `Set-Cookie` for `name`, and the whole header.
fn set_cookie(res: &reqwest::Response, name: &str) -> Option<(String, String)> {
    res.headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| (v.split(';').next().unwrap().to_string(), v.to_string()))
}

/// The `value` of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let at = html.find(&format!(r#"name="{name}" value=""#)).expect("hidden field");
    let rest = &html[at + name.len() + 15..];
    rest[..rest.find('"').unwrap()].to_string()
}

fn meta_csrf(html: &str) -> String {
    let at = html.find(r#"<meta name="csrf-token" content=""#).expect("csrf meta");
    let rest = &html[at + 33..];
    rest[..rest.find('"').unwrap()].to_string()
}

/// A signed-in browser: its session cookie and the CSRF token of its pages.
struct Browser {
    cookie: String,
    csrf: String,
}

async fn sign_in(app: &TestApp, key: &str) -> Browser {
    let http = client();
    let form = http.get(format!("{}/login?next=/keys", app.base)).send().await.unwrap();
    assert_eq!(form.status(), 200);
    let (login_cookie, _) = set_cookie(&form, "meeboter_login_csrf").expect("login csrf cookie");
    let html = form.text().await.unwrap();
    let token = hidden(&html, "csrf");
    assert_eq!(login_cookie, format!("meeboter_login_csrf={token}"));
    let res = http
        .post(format!("{}/login", app.base))
        .header(COOKIE, &login_cookie)
        .form_body(&[("api_key", key), ("csrf", token.as_str()), ("next", "/keys")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[LOCATION], "/keys");
    let (cookie, header) = set_cookie(&res, "meeboter_session").expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(header.contains(attr), "{header}");
    }
    assert!(!header.contains(key), "the key itself is never a cookie");
    let page = http
        .get(format!("{}/", app.base))
        .header(COOKIE, &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    Browser {
        csrf: meta_csrf(&html),
        cookie,
    }
}

impl Browser {
    async fn call(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (StatusCode, Value) {
        let mut req = client()
            .request(method, format!("{}{path}", app.base))
            .header(COOKIE, &self.cookie);
        if csrf {
            req = req.header("X-CSRF-Token", &self.csrf);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }
}

#[tokio::test]
async fn pages_and_their_data_refuse_without_a_session() {
    let app = TestApp::spawn().await;
    let http = client();
    for page in ["/", "/bots/new", "/keys", "/webhooks", "/infrastructure"] {
        let res = http.get(format!("{}{page}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{page}");
        let to = res.headers()[LOCATION].to_str().unwrap().to_string();
        assert!(to.starts_with("/login?next="), "{page} → {to}");
    }
    // A made-up or stale session cookie is no session.
    for path in ["/api/bots", "/api/bots/live", "/api/keys"] {
        let res = http
            .get(format!("{}{path}", app.base))
            .header(COOKIE, "meeboter_session=mbs_forged")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    // The assets are public and same-origin only.
    let js = http.get(format!("{}/assets/app.js", app.base)).send().await.unwrap();
    assert_eq!(js.status(), 200);
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let page = http.get(format!("{}/login", app.base)).send().await.unwrap();
    let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
    assert!(
        csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{csp}"
    );
}

#[tokio::test]
async fn sign_in_needs_the_forms_token_and_a_valid_key() {
    let app = TestApp::spawn().await;
    let http = client();
    let form = http.get(format!("{}/login", app.base)).send().await.unwrap();
    let (login_cookie, _) = set_cookie(&form, "meeboter_login_csrf").unwrap();
    let token = hidden(&form.text().await.unwrap(), "csrf");
    // No token, or a token without its cookie (a cross-site form): refused.
    for (cookie, csrf) in [(login_cookie.as_str(), ""), ("", token.as_str())] {
        let res = http
            .post(format!("{}/login", app.base))
            .header(COOKIE, cookie)
            .form_body(&[("api_key", app.admin_key.as_str()), ("csrf", csrf)])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        assert!(set_cookie(&res, "meeboter_session").is_none());
    }
    // A wrong key: the form again, with the reason.
    let res = http
        .post(format!("{}/login", app.base))
        .header(COOKIE, &login_cookie)
        .form_body(&[("api_key", "mbk_wrong"), ("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(&res, "meeboter_session").is_none());
    assert!(res.text().await.unwrap().contains("not valid"));
    // `next` never leads off the site.
    let res = http
        .post(format!("{}/login", app.base))
        .header(COOKIE, &login_cookie)
        .form_body(&[
            ("api_key", app.admin_key.as_str()),
            ("csrf", token.as_str()),
            ("next", "//evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()[LOCATION], "/");
}

#[tokio::test]
async fn state_changes_need_the_csrf_token_and_accounts_stay_apart() {
    let app = TestApp::spawn().await;
    let admin = sign_in(&app, &app.admin_key).await;
    let bot = json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "recordingMode": "none"});

    let (status, body) = admin
        .call(&app, Method::POST, "/api/bots", Some(bot.clone()), false)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "csrf_failed");
    let mut wrong = Browser {
        cookie: admin.cookie.clone(),
        csrf: "x".repeat(admin.csrf.len()),
    };
    let (status, _) = wrong
        .call(&app, Method::POST, "/api/bots", Some(bot.clone()), true)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    wrong.csrf = admin.csrf.clone();
    let (status, created) = wrong
        .call(&app, Method::POST, "/api/bots", Some(bot.clone()), true)
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    // Reading needs no token.
    let (status, list) = admin.call(&app, Method::GET, "/api/bots", None, false).await;
    assert_eq!((status, list["bots"].as_array().unwrap().len()), (StatusCode::OK, 1));
    let (status, _) = admin
        .call(&app, Method::DELETE, &format!("/api/bots/{id}"), None, false)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "deleting is a state change too");

    // Another account's session sees none of it.
    let (_, member_key) = app.member("other").await;
    let other = sign_in(&app, &member_key).await;
    let (status, list) = other.call(&app, Method::GET, "/api/bots", None, false).await;
    assert_eq!((status, list["bots"].as_array().unwrap().len()), (StatusCode::OK, 0));
    for path in [
        format!("/api/bots/{id}"),
        format!("/api/bots/{id}/events"),
        format!("/api/bots/{id}/chat"),
    ] {
        let (status, _) = other.call(&app, Method::GET, &path, None, false).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
    }
    let (status, _) = other
        .call(
            &app,
            Method::POST,
            &format!("/api/bots/{id}/leave"),
            Some(json!({})),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Members do not get the admin pages.
    let res = client()
        .get(format!("{}/infrastructure", app.base))
        .header(COOKIE, &other.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let (status, _) = other.call(&app, Method::GET, "/api/infrastructure", None, false).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn sign_out_and_revoked_keys_end_sessions() {
    let app = TestApp::spawn().await;
    let browser = sign_in(&app, &app.admin_key).await;
    let http = client();
    let res = http
        .post(format!("{}/logout", app.base))
        .header(COOKIE, &browser.cookie)
        .form_body(&[("csrf", "nope")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN, "a cross-site sign-out is refused");
    let res = http
        .post(format!("{}/logout", app.base))
        .header(COOKIE, &browser.cookie)
        .form_body(&[("csrf", browser.csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let (cleared, _) = set_cookie(&res, "meeboter_session").unwrap();
    assert_eq!(cleared, "meeboter_session=");
    let (status, _) = browser.call(&app, Method::GET, "/api/bots", None, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (_, member_key) = app.member("acme").await;
    let member = sign_in(&app, &member_key).await;
    let keys = app.get(&member_key, "/api/keys").await;
    let key_id = keys.body["keys"][0]["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.delete(&app.admin_key, &format!("/api/keys/{key_id}")).await.status,
        204
    );
    let (status, _) = member.call(&app, Method::GET, "/api/bots", None, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "a revoked key's sessions end with it");

    // Sessions expire.
    let again = sign_in(&app, &app.admin_key).await;
    app.clock.advance(chrono::Duration::hours(13));
    let (status, _) = again.call(&app, Method::GET, "/api/bots", None, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn the_live_feed_carries_status_changes_of_the_accounts_bots_only() {
    let app = TestApp::spawn().await;
    let (_, member_key) = app.member("other").await;
    let browser = sign_in(&app, &app.admin_key).await;
    let mut feed = client()
        .get(format!("{}/api/bots/live", app.base))
        .header(COOKIE, &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(feed.status(), 200);
    app.create_bot(
        &member_key,
        json!({"meetingUrl": "https://meet.google.com/zzz-zzzz-zzz"}),
    )
    .await;
    let mine = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}),
        )
        .await;
    let mut text = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !text.contains("event: status") {
        let chunk = tokio::time::timeout_at(deadline, feed.chunk())
            .await
            .expect("an event in time");
        text.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
    }
    let data = text
        .lines()
        .find_map(|l| l.strip_prefix("data: "))
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .expect("a data line");
    assert_eq!(data["botId"], mine["id"], "only the account's own bots: {text}");
    assert!(data["status"].is_string());
}

#[tokio::test]
async fn meeting_links_are_checked_and_lists_searched() {
    let app = TestApp::spawn().await;
    let ok = app
        .get(
            &app.admin_key,
            "/api/meeting-urls/parse?url=https%3A%2F%2Fzoom.us%2Fj%2F1234567890",
        )
        .await;
    assert_eq!(
        (ok.status.as_u16(), ok.body["platform"].as_str()),
        (200, Some("zoom")),
        "{}",
        ok.body
    );
    let bad = app
        .get(
            &app.admin_key,
            "/api/meeting-urls/parse?url=https%3A%2F%2Fexample.com%2Fx",
        )
        .await;
    assert_eq!(bad.status, 422);
    assert_eq!(bad.error_fields(), ["meetingUrl"]);
    assert!(
        bad.body["error"]["details"]["fields"][0]["message"]
            .as_str()
            .unwrap()
            .contains("example.com")
    );

    for (url, name) in [
        ("https://meet.google.com/abc-defg-hij", "Weekly_Sync 100%"),
        ("https://meet.google.com/xyz-abcd-efg", "Standup"),
    ] {
        app.create_bot(&app.admin_key, json!({"meetingUrl": url, "botName": name}))
            .await;
    }
    let names = |r: &crate::support::Resp| -> Vec<String> {
        r.body["bots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["botName"].as_str().unwrap().to_string())
            .collect()
    };
    let r = app.get(&app.admin_key, "/api/bots?search=weekly").await;
    assert_eq!(names(&r), ["Weekly_Sync 100%"]);
    let r = app.get(&app.admin_key, "/api/bots?search=XYZ-ABCD").await;
    assert_eq!(
        names(&r),
        ["Standup"],
        "the meeting link is searched too, case-insensitively"
    );
    let r = app.get(&app.admin_key, "/api/bots?search=100%25").await;
    assert_eq!(names(&r), ["Weekly_Sync 100%"], "% is a character, not a wildcard");
    let r = app.get(&app.admin_key, "/api/bots?search=_").await;
    assert_eq!(names(&r), ["Weekly_Sync 100%"], "_ is a character, not a wildcard");
    let r = app
        .get(&app.admin_key, "/api/bots?createdBefore=2000-01-01T00:00:00Z")
        .await;
    assert!(names(&r).is_empty());
    let r = app.get(&app.admin_key, "/api/bots?createdBefore=yesterday").await;
    assert_eq!(r.error_fields(), ["createdBefore"]);
}

/// `next` values, as they appear (percent-encoded) in a link or a posted form, that must
/// not lead anywhere but `/`: other hosts however disguised, other schemes, and control
/// characters (which once made the redirect itself fail with a 500).
const HOSTILE_NEXT: [&str; 20] = [
    "/%09/evil.example/x",
    "%2F%09%2Fevil.example",
    "%09//evil.example",
    "//evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%5C/evil.example",
    "https://evil.example",
    "https%3A%2F%2Fevil.example%2F",
    "/%2F%2Fevil.example",
    "/.//evil.example",
    "javascript:alert(document.domain)",
    "javascript%3Aalert(1)",
    "/%0A",
    "/%0D",
    "/%7F",
    "/%00",
    "/%0D%0ASet-Cookie:%20x=1",
    "/bots%0A/1",
    "/%E2%80%A8",
];

/// Resolves a `Location` the way a browser does and checks it stays on the site.
fn assert_same_origin(app: &TestApp, location: &str, next: &str) {
    let base = url::Url::parse(&app.base).unwrap();
    let target = base.join(location).unwrap();
    assert_eq!(target.origin(), base.origin(), "next={next} → {location}");
}

/// The sign-in form's cookie and token.
async fn login_form(app: &TestApp) -> (String, String) {
    let form = client().get(format!("{}/login", app.base)).send().await.unwrap();
    let (cookie, _) = set_cookie(&form, "meeboter_login_csrf").unwrap();
    let token = hidden(&form.text().await.unwrap(), "csrf");
    (cookie, token)
}

/// Posts the sign-in form with `next` exactly as given (already form-encoded).
async fn post_login(app: &TestApp, form: &(String, String), key: &str, raw_next: &str) -> reqwest::Response {
    let res = client()
        .post(format!("{}/login", app.base))
        .header(COOKIE, &form.0)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("api_key={key}&csrf={}&next={raw_next}", form.1))
        .send()
        .await
        .unwrap();
    assert!(res.status().as_u16() < 500, "next={raw_next}: {}", res.status());
    res
}

async fn sessions(app: &TestApp) -> i64 {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM dashboard_sessions")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    n
}

#[tokio::test]
async fn next_leads_only_to_a_path_on_this_site() {
    let app = TestApp::spawn().await;
    let http = client();
    let browser = sign_in(&app, &app.admin_key).await;
    let form = login_form(&app).await;
    let before = sessions(&app).await;
    for raw in HOSTILE_NEXT {
        // Signed out: the form, carrying `/` on to the POST.
        let res = http.get(format!("{}/login?next={raw}", app.base)).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "GET next={raw}");
        assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
        assert_eq!(hidden(&res.text().await.unwrap(), "next"), "/", "GET next={raw}");

        // Signed in: straight to `/`.
        let res = http
            .get(format!("{}/login?next={raw}", app.base))
            .header(COOKIE, &browser.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "GET next={raw}");
        assert_eq!(res.headers()[LOCATION], "/", "GET next={raw}");

        // Signing in: `/`, with a working session.
        let res = post_login(&app, &form, &app.admin_key, raw).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "POST next={raw}");
        assert_eq!(res.headers()[LOCATION], "/", "POST next={raw}");
        let (cookie, _) = set_cookie(&res, "meeboter_session").expect("session cookie");
        let page = http
            .get(format!("{}/", app.base))
            .header(COOKIE, &cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK, "POST next={raw}");
    }
    // One session per sign-in, none written by a failed one.
    assert_eq!(sessions(&app).await - before, HOSTILE_NEXT.len() as i64);

    // A refused sign-in with a hostile `next` writes nothing and still answers the form.
    for raw in ["/%0A", "/%00", "/%09/evil.example"] {
        let res = post_login(&app, &form, "mbk_wrong", raw).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "next={raw}");
        assert_eq!(hidden(&res.text().await.unwrap(), "next"), "/");
    }
    assert_eq!(sessions(&app).await - before, HOSTILE_NEXT.len() as i64);

    // Paths on the site are kept (re-encoded where needed), query and all.
    for (raw, kept) in [
        ("%2Fbots%2F123%3Fx%3D1", "/bots/123?x=1"),
        ("/bots/123?x=1", "/bots/123?x=1"),
        ("/keys", "/keys"),
        ("/bots/%C3%A9", "/bots/%C3%A9"),
        ("/%252F%252Fevil.example", "/%2F%2Fevil.example"),
    ] {
        let res = http.get(format!("{}/login?next={raw}", app.base)).send().await.unwrap();
        assert_eq!(hidden(&res.text().await.unwrap(), "next"), kept, "GET next={raw}");
        let res = http
            .get(format!("{}/login?next={raw}", app.base))
            .header(COOKIE, &browser.cookie)
            .send()
            .await
            .unwrap();
        assert_eq!(res.headers()[LOCATION], kept, "GET next={raw}");
        let res = post_login(&app, &form, &app.admin_key, raw).await;
        assert_eq!(res.headers()[LOCATION], kept, "POST next={raw}");
        assert_same_origin(&app, kept, raw);
    }
}

#[tokio::test]
async fn the_keys_page_offers_members_only_their_own_key() {
    let app = TestApp::spawn().await;
    let created = app
        .post(
            &app.admin_key,
            "/api/keys",
            json!({"name": "teammate", "role": "member"}),
        )
        .await;
    let member_key = created.body["secret"].as_str().unwrap().to_string();
    let member_id = created.body["id"].as_str().unwrap().to_string();
    let member = sign_in(&app, &member_key).await;
    let (status, page) = member.call(&app, Method::GET, "/keys", None, false).await;
    assert_eq!(status, StatusCode::OK);
    let page = page.as_str().unwrap().to_string();
    assert!(
        page.contains(&format!(r#"data-admin="false" data-own-key="{member_id}""#)),
        "{page}"
    );
    // Through the session, as through the key: not the account's admin key…
    let admin_id = app.get(&app.admin_key, "/api/keys").await.body["keys"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = member
        .call(&app, Method::DELETE, &format!("/api/keys/{admin_id}"), None, true)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(app.get(&app.admin_key, "/api/bots").await.status, 200);
    // …but itself, which ends the session.
    let (status, _) = member
        .call(&app, Method::DELETE, &format!("/api/keys/{member_id}"), None, true)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = member.call(&app, Method::GET, "/api/bots", None, false).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// The infrastructure charts' data: the last 24 h from the database, admin only.
#[tokio::test]
async fn infrastructure_history_counts_bots_joins_and_deploy_times() {
    let app = TestApp::spawn().await;
    let zoom = |n: u32| json!({"meetingUrl": format!("https://zoom.us/j/12345678{n}")});
    let (joined, token) = app.deployed_bot(zoom(1)).await;
    app.report(&token, "IN_CALL", None).await;
    let (_refused, token) = app.deployed_bot(zoom(2)).await;
    app.report(&token, "IN_WAITING_ROOM", None).await;
    app.report(&token, "FATAL", Some("join_denied")).await;
    {
        let mut conn = app.db.pool().acquire().await.unwrap();
        for ms in [800, 1200] {
            meeboter_db::events::insert(
                &mut conn,
                &joined,
                "deployed",
                &json!({"platform": "test", "latencyMs": ms}),
                app.state.now(),
            )
            .await
            .unwrap();
        }
    }

    let r = app.get(&app.admin_key, "/api/infrastructure/history").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let samples = r.body["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 24 * 4 + 1, "every 15 minutes, both ends");
    let now = samples.last().unwrap();
    assert_eq!(now["byStatus"]["IN_CALL"], 1, "{now}");
    assert_eq!(now["byStatus"]["QUEUED"], 0);
    let joins = r.body["joins"].as_array().unwrap();
    assert_eq!(joins.len(), 24);
    let (ok, failed): (i64, i64) = joins.iter().fold((0, 0), |(a, b), j| {
        (a + j["joined"].as_i64().unwrap(), b + j["failed"].as_i64().unwrap())
    });
    assert_eq!((ok, failed), (1, 1));
    let last_hour = joins.last().unwrap();
    assert_eq!(last_hour["successRate"], 0.5, "{last_hour}");
    let latency = r.body["deployLatency"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(
        (
            latency["deployments"].as_i64(),
            latency["p50Ms"].as_i64(),
            latency["maxMs"].as_i64()
        ),
        (Some(2), Some(800), Some(1200))
    );

    // The dashboard's page draws it as SVG, with the numbers in words.
    let browser = sign_in(&app, &app.admin_key).await;
    let page = client()
        .get(format!("{}/infrastructure", app.base))
        .header(COOKIE, &browser.cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert_eq!(html.matches(r#"<svg class="chart""#).count(), 4, "{html}");
    assert!(html.contains("2 deployments in the last 24 hours"), "{html}");
    assert!(html.contains("1 of 2 bots got into their meeting (50 %)"), "{html}");

    // Admins only.
    let (_, member) = app.member("other").await;
    let refused = app.get(&member, "/api/infrastructure/history").await;
    assert_eq!(
        (refused.status.as_u16(), refused.error_code()),
        (403, "forbidden".to_string())
    );
    assert_eq!(
        app.request(Method::GET, None, "/api/infrastructure/history", None)
            .await
            .status,
        401
    );
}

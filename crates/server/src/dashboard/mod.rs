//! The web dashboard at `/`: server-rendered pages (sign-in, bots, new bot, bot detail,
//! infrastructure, API keys, webhooks) and one embedded script and stylesheet — nothing
//! from a CDN, nothing to build. The script reads and changes data through the public
//! API (`/api/...`) with the session cookie and the page's CSRF token, so the dashboard
//! can do exactly what the API allows the signed-in key, and no more.

mod charts;
mod pages;

use crate::AppState;
use crate::session::{self, LOGIN_CSRF_COOKIE, SESSION_COOKIE, SESSION_TTL, Session};
use axum::Form;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use meeboter_core::api_key::{hash_secret, looks_like_api_key};
use meeboter_db::{DbError, api_keys};
use serde::Deserialize;

/// Content-Security-Policy of every page: our own script and styles only; media and
/// images may come from the storage's presigned URLs (another origin with S3).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: http: https:; \
                   media-src 'self' http: https:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; \
                   base-uri 'none'";

/// The dashboard's routes (pages and assets); the data comes from the API.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(bots_page))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/bots/new", get(new_bot_page))
        .route("/bots/{id}", get(bot_page))
        .route("/infrastructure", get(infrastructure_page))
        .route("/keys", get(keys_page))
        .route("/webhooks", get(webhooks_page))
        .route("/assets/{name}", get(asset))
}

/// An HTML page with the dashboard's security headers.
fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Where to go after signing in: a path on this site, safe to put in `Location`.
///
/// `next` is resolved as a URL against the server's origin, the way a browser resolves
/// `Location`, and kept only if it is a plain path (one leading `/`) of the same origin,
/// with no control characters, whitespace or backslashes (browsers drop or rewrite those,
/// which is how `/\t/evil.example` becomes `//evil.example`). What is returned is the
/// parsed URL's path, query and fragment re-serialised (percent-encoded, visible ASCII
/// only) and checked again; anything else is `/`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct LocalPath(String);

impl LocalPath {
    fn root() -> Self {
        Self("/".to_string())
    }

    fn new(origin: &url::Url, next: Option<&str>) -> Self {
        next.and_then(|n| Self::checked(origin, n)).unwrap_or_else(Self::root)
    }

    fn checked(origin: &url::Url, next: &str) -> Option<Self> {
        let plain = next.starts_with('/')
            && !next.starts_with("//")
            && !next.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\');
        if !plain {
            return None;
        }
        let url = origin.join(next).ok()?;
        if url.origin() != origin.origin() {
            return None;
        }
        let mut local = url.path().to_string();
        if let Some(q) = url.query() {
            local.push('?');
            local.push_str(q);
        }
        if let Some(f) = url.fragment() {
            local.push('#');
            local.push_str(f);
        }
        // What the browser will see: again one leading slash (normalising `/.//x` gives
        // `//x`), the same origin, and nothing a header cannot carry.
        let same_site = local.starts_with('/')
            && !local.starts_with("//")
            && local.bytes().all(|b| b.is_ascii_graphic())
            && origin.join(&local).is_ok_and(|u| u.origin() == origin.origin());
        same_site.then_some(Self(local))
    }

    fn as_str(&self) -> &str {
        &self.0
    }

    /// `303 See Other` to this path. The value was checked to be a valid header.
    fn redirect(&self) -> Response {
        let location = HeaderValue::from_str(&self.0).unwrap_or_else(|_| HeaderValue::from_static("/"));
        (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
    }
}

/// The origin `next` is resolved against: the server's public URL.
fn site_origin(state: &AppState) -> url::Url {
    url::Url::parse(&state.config.public_url)
        .ok()
        .filter(|u| u.origin().is_tuple())
        .unwrap_or_else(|| url::Url::parse("http://localhost/").expect("a valid URL"))
}

/// Where to go after signing in, from the untrusted `next` parameter.
fn safe_next(state: &AppState, next: Option<&str>) -> LocalPath {
    LocalPath::new(&site_origin(state), next)
}

/// The signed-in session, or the way to the sign-in page.
async fn signed_in(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Session, Response> {
    match session::current(state, headers).await {
        Ok(Some(s)) => Ok(s),
        Ok(None) => {
            let next: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
            Err(Redirect::to(&format!("/login?next={next}")).into_response())
        }
        Err(e) => Err(e.into_response()),
    }
}

/// Renders a signed-in page: the shared layout around `body`.
async fn page(
    state: &AppState,
    headers: &HeaderMap,
    path: &str,
    current: pages::Nav,
    admin_only: bool,
    body: impl FnOnce(&Session) -> String,
) -> Response {
    let session = match signed_in(state, headers, path).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let is_admin = session.key.role == meeboter_core::ApiKeyRole::Admin;
    if admin_only && !is_admin {
        let body = pages::message(
            "Admins only",
            "This page needs an admin API key. Sign in with one to see it.",
        );
        return html(
            StatusCode::FORBIDDEN,
            pages::layout(&session, current, "Admins only", &body),
        );
    }
    let content = body(&session);
    html(
        StatusCode::OK,
        pages::layout(&session, current, current.title(), &content),
    )
}

async fn bots_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The look-alike meeting the empty state offers to try (only when this server serves it).
    let test_meeting = state
        .config
        .test_meetings
        .then(|| format!("{}/_test/meeting/meet/", state.config.public_url.trim_end_matches('/')));
    page(&state, &headers, "/", pages::Nav::Bots, false, |_| {
        pages::bots(test_meeting.as_deref())
    })
    .await
}

async fn new_bot_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page(&state, &headers, "/bots/new", pages::Nav::NewBot, false, |_| {
        pages::new_bot()
    })
    .await
}

async fn bot_page(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found(&state, &headers).await;
    };
    let path = format!("/bots/{id}");
    page(&state, &headers, &path, pages::Nav::Bots, false, |_| {
        pages::bot_detail(&id.to_string())
    })
    .await
}

async fn not_found(state: &AppState, headers: &HeaderMap) -> Response {
    match signed_in(state, headers, "/").await {
        Ok(s) => {
            let body = pages::message("Not found", "There is no such page or bot.");
            html(
                StatusCode::NOT_FOUND,
                pages::layout(&s, pages::Nav::Bots, "Not found", &body),
            )
        }
        Err(r) => r,
    }
}

async fn infrastructure_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    // The charts are drawn here from the database, only for a signed-in admin (anyone else
    // gets the sign-in page or the refusal from `page`, without the queries).
    let admin = matches!(
        session::current(&state, &headers).await,
        Ok(Some(ref s)) if s.key.role == meeboter_core::ApiKeyRole::Admin
    );
    let charts = if admin {
        match crate::routes::infrastructure::load_history(&state).await {
            Ok(history) => charts::infrastructure_charts(&history),
            Err(e) => {
                tracing::warn!(error = ?e, "infrastructure history unavailable");
                pages::message(
                    "Charts unavailable",
                    "The history could not be read; the figures below are live.",
                )
            }
        }
    } else {
        String::new()
    };
    page(
        &state,
        &headers,
        "/infrastructure",
        pages::Nav::Infrastructure,
        true,
        |_| pages::infrastructure(&charts),
    )
    .await
}

async fn keys_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page(&state, &headers, "/keys", pages::Nav::Keys, false, |s| {
        pages::keys(s.key.role == meeboter_core::ApiKeyRole::Admin, &s.key.id)
    })
    .await
}

async fn webhooks_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    page(&state, &headers, "/webhooks", pages::Nav::Webhooks, false, |_| {
        pages::webhooks()
    })
    .await
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// The sign-in form, with a fresh double-submit CSRF token.
async fn login_page(State(state): State<AppState>, headers: HeaderMap, Query(q): Query<LoginQuery>) -> Response {
    let next = safe_next(&state, q.next.as_deref());
    if let Ok(Some(_)) = session::current(&state, &headers).await {
        return next.redirect();
    }
    login_form(&state, StatusCode::OK, next.as_str(), None)
}

fn login_form(state: &AppState, status: StatusCode, next: &str, error: Option<&str>) -> Response {
    let csrf = session::new_token("");
    let mut response = html(status, pages::login(&csrf, next, error));
    response.headers_mut().append(
        header::SET_COOKIE,
        session::set_cookie(state, LOGIN_CSRF_COOKIE, &csrf, 3600),
    );
    response
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    api_key: Option<String>,
    csrf: Option<String>,
    next: Option<String>,
}

/// Signs in with an API key: checks `next`, the form's CSRF token against its cookie,
/// then the key, and only then opens a session.
async fn login(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LoginForm>) -> Response {
    // Validated before anything is written: the redirect below cannot fail.
    let next = safe_next(&state, form.next.as_deref());
    let expected = session::cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    let sent = form.csrf.as_deref().unwrap_or("");
    if expected.is_empty() || !session::same_token(sent, expected) {
        return login_form(
            &state,
            StatusCode::FORBIDDEN,
            next.as_str(),
            Some("The sign-in form expired or did not come from this page. Please try again."),
        );
    }
    let raw = form.api_key.as_deref().unwrap_or("").trim().to_string();
    let key = if looks_like_api_key(&raw) {
        let found = async {
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            api_keys::find_by_hash(&mut conn, &hash_secret(&raw)).await
        }
        .await;
        match found {
            Ok(k) => k.filter(|k| k.is_usable(state.now())),
            Err(e) => return crate::error::ApiError::from(e).into_response(),
        }
    } else {
        None
    };
    let Some(key) = key else {
        tracing::info!("dashboard sign-in refused: unknown, revoked or expired key");
        return login_form(
            &state,
            StatusCode::UNAUTHORIZED,
            next.as_str(),
            Some("That API key is not valid (unknown, revoked or expired). Keys start with mbk_."),
        );
    };
    let token = match session::open(&state, &key).await {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    tracing::info!(key_id = %key.id, "dashboard session opened");
    let mut response = next.redirect();
    let h = response.headers_mut();
    h.append(
        header::SET_COOKIE,
        session::set_cookie(&state, SESSION_COOKIE, &token, SESSION_TTL.num_seconds()),
    );
    h.append(
        header::SET_COOKIE,
        session::set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0),
    );
    response
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(State(state): State<AppState>, headers: HeaderMap, Form(form): Form<LogoutForm>) -> Response {
    let live = match session::current(&state, &headers).await {
        Ok(s) => s,
        Err(e) => return e.into_response(),
    };
    if let Some(live) = live {
        if !session::same_token(form.csrf.as_deref().unwrap_or(""), &live.csrf_token) {
            return session::csrf_refused().into_response();
        }
        if let Err(e) = session::close(&state, &headers).await {
            return e.into_response();
        }
    }
    let mut response = Redirect::to("/login").into_response();
    response
        .headers_mut()
        .append(header::SET_COOKIE, session::set_cookie(&state, SESSION_COOKIE, "", 0));
    response
}

/// The embedded script, stylesheet and icon.
async fn asset(Path(name): Path<String>) -> Response {
    let (body, kind): (&'static str, &'static str) = match name.as_str() {
        "app.js" => (include_str!("assets/app.js"), "text/javascript; charset=utf-8"),
        "app.css" => (include_str!("assets/app.css"), "text/css; charset=utf-8"),
        "favicon.svg" => (include_str!("assets/favicon.svg"), "image/svg+xml"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut response = body.into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        let origin = url::Url::parse("http://127.0.0.1:3000").unwrap();
        let next = |n: &str| LocalPath::new(&origin, Some(n)).0;
        assert_eq!(next("/bots/new"), "/bots/new");
        assert_eq!(next("/bots/123?x=1#top"), "/bots/123?x=1#top");
        assert_eq!(next("/bots/é"), "/bots/%C3%A9");
        for hostile in [
            "//evil.example",
            "///evil.example",
            "https://evil.example",
            "http://127.0.0.1:3000.evil.example/",
            "/\\evil.example",
            "\\/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "\t//evil.example",
            " //evil.example",
            "/.//evil.example",
            "/..//evil.example",
            "javascript:alert(1)",
            "bots",
            "/\n",
            "/\r",
            "/\u{7f}",
            "/\0",
            "/\u{85}",
            "",
        ] {
            assert_eq!(next(hostile), "/", "{hostile:?}");
        }
        assert_eq!(LocalPath::new(&origin, None).0, "/");
    }
}

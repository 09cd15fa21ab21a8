//! `TestApp`: a real server on a loopback port over a fresh database of the backend
//! selected for this test run (see `meeboter_db::testing`).

use meeboter_db::Db;
use meeboter_db::testing::TestDatabase;
use meeboter_server::AppState;
use meeboter_server::clock::ManualClock;
use meeboter_server::config::Config;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::sync::Arc;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub admin_key: String,
    pub admin_account: String,
    pub db: Db,
    /// The server's state, for driving workers directly.
    pub state: AppState,
    /// The server's clock; tests move it instead of waiting.
    pub clock: Arc<ManualClock>,
    /// The database's owner; `None` for a restart over another app's database.
    _database: Option<TestDatabase>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    workers: Option<tokio::sync::watch::Sender<bool>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(stop) = &self.workers {
            let _ = stop.send(true);
        }
        self.server.abort();
    }
}

/// A response: status, headers and the JSON body (`Null` when empty).
pub struct Resp {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Resp {
    /// Asserts the uniform error shape and returns the error code.
    pub fn error_code(&self) -> String {
        let err = &self.body["error"];
        assert!(err["code"].is_string(), "not an error body: {}", self.body);
        assert!(err["message"].is_string(), "error without message: {}", self.body);
        assert!(
            err.as_object().unwrap().contains_key("details"),
            "error without details: {}",
            self.body
        );
        err["code"].as_str().unwrap().to_string()
    }

    /// Fields named in a 422's `details.fields`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["error"]["details"]["fields"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| f["field"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Like [`TestApp::spawn`], with configuration changes applied first.
    pub async fn spawn_with(configure: impl FnOnce(&mut Config)) -> TestApp {
        Self::spawn_full(configure, |_| {}).await
    }

    /// Full control: configuration changes, then state changes (e.g. test platforms).
    pub async fn spawn_full(configure: impl FnOnce(&mut Config), adjust: impl FnOnce(&mut AppState)) -> TestApp {
        let database = TestDatabase::create().await.expect("test database");
        let mut config = Config::for_tests(&database.url);
        configure(&mut config);
        let mut state = meeboter_server::prepare(config).await.expect("prepare");
        let clock = Arc::new(ManualClock::new(chrono::Utc::now()));
        state.clock = clock.clone();
        adjust(&mut state);
        let admin = meeboter_server::bootstrap::first_admin_key(&state.db)
            .await
            .expect("bootstrap")
            .expect("empty database gets an admin key");
        Self::serve(state, clock, admin.secret, admin.key.account_id, Some(database)).await
    }

    /// A restart: another server over this app's database, with this app's configuration
    /// changed by `configure` (the admin key stays valid). Fails as `prepare` does.
    pub async fn restart_with(&self, configure: impl FnOnce(&mut Config)) -> anyhow::Result<TestApp> {
        let mut config = self.state.config.as_ref().clone();
        configure(&mut config);
        let mut state = meeboter_server::prepare(config).await?;
        let clock = Arc::new(ManualClock::new(self.state.now()));
        state.clock = clock.clone();
        Ok(Self::serve(state, clock, self.admin_key.clone(), self.admin_account.clone(), None).await)
    }

    async fn serve(
        mut state: AppState,
        clock: Arc<ManualClock>,
        admin_key: String,
        admin_account: String,
        database: Option<TestDatabase>,
    ) -> TestApp {
        let db = state.db.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Bots must be able to call back: point PUBLIC_URL at this listener.
        let mut config = state.config.as_ref().clone();
        config.public_url = base.clone();
        state.config = Arc::new(config);
        let server = tokio::spawn(meeboter_server::serve(state.clone(), listener, std::future::pending()));
        TestApp {
            base,
            client: reqwest::Client::new(),
            admin_key,
            admin_account,
            db,
            state,
            clock,
            _database: database,
            server,
            workers: None,
        }
    }

    pub async fn request(&self, method: Method, key: Option<&str>, path: &str, body: Option<Value>) -> Resp {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(k) = key {
            req = req.bearer_auth(k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req).await
    }

    pub async fn read(req: reqwest::RequestBuilder) -> Resp {
        let res = req.send().await.expect("request");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        assert!(status.as_u16() < 500, "server error {status}: {body}");
        Resp { status, headers, body }
    }

    pub async fn get(&self, key: &str, path: &str) -> Resp {
        self.request(Method::GET, Some(key), path, None).await
    }

    pub async fn post(&self, key: &str, path: &str, body: Value) -> Resp {
        self.request(Method::POST, Some(key), path, Some(body)).await
    }

    pub async fn delete(&self, key: &str, path: &str) -> Resp {
        self.request(Method::DELETE, Some(key), path, None).await
    }

    /// Creates an account (as admin) and a member key in it: `(account id, key)`.
    pub async fn member(&self, account: &str) -> (String, String) {
        let acc = self
            .post(&self.admin_key, "/api/accounts", json!({"name": account}))
            .await;
        assert_eq!(acc.status, 201, "{}", acc.body);
        let id = acc.body["id"].as_str().unwrap().to_string();
        let key = self
            .post(
                &self.admin_key,
                "/api/keys",
                json!({"name": "m", "role": "member", "accountId": id}),
            )
            .await;
        assert_eq!(key.status, 201, "{}", key.body);
        (id, key.body["secret"].as_str().unwrap().to_string())
    }

    /// Creates a bot and returns its resource.
    pub async fn create_bot(&self, key: &str, body: Value) -> Value {
        let r = self.post(key, "/api/bots", body).await;
        assert_eq!(r.status, 201, "{}", r.body);
        r.body
    }

    /// Runs a statement against the test database (for states the API cannot reach yet).
    pub async fn sql(&self, statement: &str) {
        sqlx::query(sqlx::AssertSqlSafe(statement.to_string()))
            .execute(self.db.pool())
            .await
            .unwrap();
    }
}

impl TestApp {
    /// Does what the deployment layer does when it starts a bot: `QUEUED → DEPLOYING`,
    /// records a (test) platform identifier, and issues the bot's token.
    pub async fn deploy(&self, bot_id: &str) -> String {
        let mut tx = self.db.begin_write().await.unwrap();
        let now = self.state.now();
        let outcome = meeboter_server::lifecycle::transition(
            &mut tx,
            bot_id,
            meeboter_core::BotStatus::Deploying,
            None,
            None,
            now,
        )
        .await
        .unwrap()
        .unwrap();
        assert!(
            matches!(outcome, meeboter_server::lifecycle::TransitionOutcome::Applied(_)),
            "{outcome:?}"
        );
        meeboter_db::bots::set_deployment(&mut tx, bot_id, "test", Some("proc-1"), now)
            .await
            .unwrap();
        let token = meeboter_server::bot_token::issue(&mut tx, &self.state.bot_token_secret, bot_id, 1, now)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        token
    }

    /// A bot created and deployed: `(bot id, bot token)`.
    pub async fn deployed_bot(&self, body: Value) -> (String, String) {
        let bot = self.create_bot(&self.admin_key, body).await;
        let id = bot["id"].as_str().unwrap().to_string();
        let token = self.deploy(&id).await;
        (id, token)
    }

    /// Calls a control-channel endpoint with a bot token.
    pub async fn bot(&self, token: &str, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.request(method, Some(token), &format!("/api/bot/v1{path}"), body)
            .await
    }

    /// Reports a status as the bot and expects it to be accepted.
    pub async fn report(&self, token: &str, status: &str, sub_code: Option<&str>) {
        let r = self
            .bot(
                token,
                Method::POST,
                "/status",
                Some(json!({"status": status, "subCode": sub_code})),
            )
            .await;
        assert_eq!(r.status, 200, "{status}: {}", r.body);
    }

    /// The bot as the user sees it.
    pub async fn bot_resource(&self, id: &str) -> Value {
        let r = self.get(&self.admin_key, &format!("/api/bots/{id}")).await;
        assert_eq!(r.status, 200, "{}", r.body);
        r.body
    }

    /// Moves time forward and runs the lifecycle monitor once.
    pub async fn advance_and_monitor(&self, secs: i64) -> meeboter_server::workers::monitor::MonitorReport {
        self.clock.advance(chrono::Duration::seconds(secs));
        meeboter_server::workers::monitor::run_once(&self.state, "test-holder")
            .await
            .unwrap()
    }

    /// Release jobs enqueued for a bot.
    pub async fn release_jobs(&self, bot_id: &str) -> Vec<meeboter_db::jobs::DeploymentJob> {
        let mut conn = self.db.pool().acquire().await.unwrap();
        meeboter_db::jobs::for_bot(&mut conn, bot_id).await.unwrap()
    }
}

/// Sub codes of a bot resource's status history, as `STATUS/subCode` strings.
pub fn history(bot: &Value) -> Vec<String> {
    bot["statusChanges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| match c["subCode"].as_str() {
            Some(code) => format!("{}/{code}", c["status"].as_str().unwrap()),
            None => c["status"].as_str().unwrap().to_string(),
        })
        .collect()
}

impl TestApp {
    /// Starts the background workers (dispatcher, releaser, reconciler, monitor, …).
    pub fn start_workers(&mut self) {
        let (tx, rx) = tokio::sync::watch::channel(false);
        meeboter_server::workers::spawn(self.state.clone(), rx);
        self.workers = Some(tx);
    }
}

/// The fake bot executable (Python, obeys the control protocol) with extra arguments.
pub fn fake_bot(args: &[&str]) -> Vec<String> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/fake_bot.py");
    let mut cmd = vec!["python3".to_string(), script.to_string()];
    cmd.extend(args.iter().map(|a| a.to_string()));
    cmd
}

/// A platform under the test's control: records launches, fails on command, and keeps
/// instances in memory (nothing runs).
#[derive(Default)]
pub struct TestPlatform {
    pub failures: std::sync::Mutex<std::collections::VecDeque<meeboter_platforms::PlatformError>>,
    pub launches: std::sync::Mutex<Vec<meeboter_platforms::BotLaunch>>,
    pub instances: std::sync::Mutex<std::collections::HashMap<String, meeboter_platforms::InstanceState>>,
    pub stopped: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl meeboter_platforms::Platform for TestPlatform {
    fn name(&self) -> &'static str {
        "test"
    }

    async fn deploy(
        &self,
        launch: &meeboter_platforms::BotLaunch,
    ) -> Result<meeboter_platforms::Launched, meeboter_platforms::PlatformError> {
        if let Some(e) = self.failures.lock().unwrap().pop_front() {
            return Err(e);
        }
        self.launches.lock().unwrap().push(launch.clone());
        let identifier = format!("inst-{}-{}", launch.bot_id, launch.attempt);
        self.instances
            .lock()
            .unwrap()
            .insert(identifier.clone(), meeboter_platforms::InstanceState::Running);
        Ok(meeboter_platforms::Launched { identifier })
    }

    async fn stop(&self, identifier: &str) -> Result<(), meeboter_platforms::PlatformError> {
        self.stopped.lock().unwrap().push(identifier.to_string());
        self.instances
            .lock()
            .unwrap()
            .insert(identifier.to_string(), meeboter_platforms::InstanceState::Gone);
        Ok(())
    }

    async fn observe(
        &self,
        identifier: &str,
    ) -> Result<meeboter_platforms::InstanceState, meeboter_platforms::PlatformError> {
        Ok(self
            .instances
            .lock()
            .unwrap()
            .get(identifier)
            .cloned()
            .unwrap_or(meeboter_platforms::InstanceState::Gone))
    }

    async fn find(
        &self,
        _bot_id: &str,
        _attempt: u32,
    ) -> Result<Option<meeboter_platforms::Launched>, meeboter_platforms::PlatformError> {
        Ok(None)
    }
}

/// Replaces the app's platforms with one test platform of `limit` capacity.
pub fn with_test_platform(state: &mut AppState, platform: Arc<TestPlatform>, limit: u32) {
    state.deployer = Arc::new(meeboter_server::deployment::Deployer::new(vec![
        meeboter_server::deployment::PlatformSlot { platform, limit },
    ]));
}

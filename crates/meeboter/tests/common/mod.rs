//! Shared by the binary's tests: the `meeboter` command with a clean environment, and a
//! server started on a free port.
#![allow(dead_code)]

pub mod engine;

use meeboter_db::testing::TestDatabase;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub fn meeboter() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meeboter"));
    // Start from a clean slate: no configuration leaks in from the developer's shell.
    for (k, _) in std::env::vars() {
        if meeboter_server::config::KEYS.iter().any(|s| s.name == k) {
            cmd.env_remove(k);
        }
    }
    if TestDatabase::backend_under_test() == meeboter_db::Backend::Postgres {
        // PostgreSQL requires the key that encrypts stored secrets: one for the whole run.
        cmd.env("MEEBOTER_ENCRYPTION_KEY", TEST_ENCRYPTION_KEY);
    }
    cmd
}

/// The encryption key of test servers on PostgreSQL (SQLite ones generate their key file).
pub const TEST_ENCRYPTION_KEY: &str = "dGVzdC1lbmNyeXB0aW9uLWtleS0zMi1ieXRlcy1sb24=";

/// Starts `meeboter serve` on a free port; returns the child, its address and stderr lines seen.
pub fn start_server(dir: &std::path::Path) -> (std::process::Child, String, Vec<String>) {
    start_server_with(dir, &[("MEEBOTER_LISTEN", "127.0.0.1:0")])
}

pub fn start_server_with(dir: &std::path::Path, env: &[(&str, &str)]) -> (std::process::Child, String, Vec<String>) {
    let mut cmd = meeboter();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .arg("serve")
        .current_dir(dir)
        .env("LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Keep draining after the test stops listening: a closed pipe would make the
        // server's log writes fail.
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(line) = rx.recv_timeout(Duration::from_millis(200)) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && let Some(addr) = v["listen"].as_str()
            {
                let addr = addr.to_string();
                lines.push(line);
                return (child, addr, lines);
            }
            lines.push(line);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("server did not start: {lines:?}");
}

/// The admin key a first start printed among `lines` (its stderr).
pub fn admin_key(lines: &[String]) -> String {
    lines
        .iter()
        .find_map(|l| l.split_whitespace().find(|w| w.starts_with("mbk_")))
        .unwrap_or_else(|| panic!("no admin key printed on first start: {lines:?}"))
        .to_string()
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running server, its admin key and an HTTP client.
pub struct Server {
    pub child: std::process::Child,
    pub public: String,
    pub key: String,
    pub http: reqwest::Client,
    _db: TestDatabase,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// The server's database (for measurements that read its tables).
    pub fn database_url(&self) -> &str {
        &self._db.url
    }

    pub async fn start() -> Server {
        Self::start_with(&[]).await
    }

    /// Like [`Server::start`], with extra configuration.
    pub async fn start_with(extra: &[(&str, &str)]) -> Server {
        let db = TestDatabase::create().await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let listen = format!("127.0.0.1:{}", free_port());
        let public = format!("http://{listen}");
        let command = format!("{} bot", env!("CARGO_BIN_EXE_meeboter"));
        let env = [
            ("DATABASE_URL", db.url.as_str()),
            ("MEEBOTER_LISTEN", listen.as_str()),
            ("PUBLIC_URL", public.as_str()),
            ("LOCAL_BOT_COMMAND", command.as_str()),
            ("LOCAL_BOT_LIMIT", "20"),
            ("HEARTBEAT_INTERVAL_SECS", "2"),
            ("HEARTBEAT_TIMEOUT_SECS", "30"),
            ("MONITOR_INTERVAL_SECS", "1"),
        ];
        let env: Vec<(&str, &str)> = env.iter().chain(extra.iter()).copied().collect();
        let (child, _, lines) = start_server_with(dir.path(), &env);
        let key = admin_key(&lines);
        Server {
            child,
            public,
            key,
            http: reqwest::Client::new(),
            _db: db,
            _dir: dir,
        }
    }

    pub async fn get(&self, path: &str) -> Value {
        let res = self
            .http
            .get(format!("{}{path}", self.public))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap();
        res.json().await.unwrap_or(Value::Null)
    }

    pub async fn post(&self, path: &str, body: Value) -> Value {
        let res = self
            .http
            .post(format!("{}{path}", self.public))
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = res.status();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "POST {path}: {status} {body}");
        body
    }

    pub async fn create(&self, platform: &Platform, code: &str, extra: Value) -> String {
        let mut body = json!({
            "meetingUrl": format!("{}/_test/meeting/{}", self.public, (platform.path)(code)),
            "botName": "Meeboter Notes",
            "recordingMode": "none",
        });
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let bot = self.post("/api/bots", body).await;
        bot["id"].as_str().unwrap().to_string()
    }

    /// Waits for `status`; fails at once if the bot ends some other way.
    pub async fn reach(&self, id: &str, status: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let bot = self.get(&format!("/api/bots/{id}")).await;
            if bot["status"] == status {
                return bot;
            }
            let over = matches!(bot["status"].as_str(), Some("ENDED" | "FATAL"));
            assert!(!over && Instant::now() < deadline, "never reached {status}: {bot}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Waits for the bot to end; returns it.
    pub async fn ended(&self, id: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(150);
        loop {
            let bot = self.get(&format!("/api/bots/{id}")).await;
            if matches!(bot["status"].as_str(), Some("ENDED" | "FATAL")) {
                return bot;
            }
            assert!(Instant::now() < deadline, "never ended: {bot}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    pub async fn host(&self, platform: &Platform, code: &str, action: &str, body: Value) {
        let url = format!("/_test/meeting/{}/_replica/{code}/{action}", platform.name);
        self.post(&url, body).await;
    }

    /// The meeting's people hold the replica's spoken conversation; returns its schedule
    /// (`lines` with `speaker`, `text`, `startMs`, `durationMs`; `durationMs` in all).
    pub async fn speak(&self, platform: &Platform, code: &str) -> Value {
        let url = format!("/_test/meeting/{}/_replica/{code}/speech", platform.name);
        self.post(&url, json!({})).await
    }

    pub async fn configure(&self, platform: &Platform, code: &str, config: Value) {
        let url = format!("{}/_test/meeting/{}/_replica/{code}", self.public, platform.name);
        assert!(
            self.http
                .put(url)
                .json(&config)
                .send()
                .await
                .unwrap()
                .status()
                .is_success()
        );
    }

    pub async fn remove_person(&self, platform: &Platform, code: &str, name: &str) {
        let url = format!(
            "{}/_test/meeting/{}/_replica/{code}/participants/{name}",
            self.public, platform.name
        );
        assert!(self.http.delete(url).send().await.unwrap().status().is_success());
    }

    pub async fn replica(&self, platform: &Platform, code: &str) -> Value {
        self.get(&format!("/_test/meeting/{}/_replica/{code}", platform.name))
            .await
    }

    /// Waits for the recording to reach `ready` (or fails on `failed` or `partial`).
    pub async fn recording_ready(&self, id: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let r = self.get(&format!("/api/bots/{id}/recording")).await;
            match r["state"].as_str() {
                Some("ready") => return r,
                Some("failed") => panic!("recording failed: {r}"),
                Some("partial") => panic!("recording partial (something never arrived): {r}"),
                _ => {}
            }
            if Instant::now() >= deadline {
                let logs = self.log_tail(id, usize::MAX).await;
                panic!("recording never ready: {r}\nbot log:\n{}", logs.join("\n"));
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Waits until the local bot process of `id` has exited (its deployment identifier is
    /// `pid:starttime`), then a moment for its last output lines to be stored.
    pub async fn process_exited(&self, id: &str) {
        let bot = self.get(&format!("/api/bots/{id}")).await;
        let identifier = bot["deployment"]["identifier"].as_str().unwrap_or_default().to_string();
        let pid = identifier.split(':').next().unwrap_or_default();
        assert!(!pid.is_empty(), "no local process for {id}: {bot}");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::path::Path::new(&format!("/proc/{pid}")).exists() {
            assert!(Instant::now() < deadline, "bot process {pid} still running");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }

    /// The bot's last `n` log lines (level and message, cut at 300 characters), oldest first.
    pub async fn log_tail(&self, id: &str, n: usize) -> Vec<String> {
        let events = self.events(id).await;
        let logs: Vec<&Value> = events.iter().filter(|e| e["type"] == "log").collect();
        logs[logs.len().saturating_sub(n)..]
            .iter()
            .map(|e| {
                let message: String = e["data"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .chars()
                    .take(300)
                    .collect();
                format!("{} {message}", e["data"]["level"].as_str().unwrap_or(""))
            })
            .collect()
    }

    /// Every event of the bot, oldest first (all pages).
    pub async fn events(&self, id: &str) -> Vec<Value> {
        let mut all = Vec::new();
        let mut cursor = String::new();
        loop {
            let page = self.get(&format!("/api/bots/{id}/events?limit=500{cursor}")).await;
            let events = page["events"].as_array().cloned().unwrap_or_default();
            let done = events.len() < 500;
            all.extend(events);
            match page["nextCursor"].as_str() {
                Some(next) if !done => cursor = format!("&cursor={next}"),
                _ => return all,
            }
        }
    }

    /// Waits until an event matching `pred` was recorded.
    pub async fn event(&self, id: &str, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(e) = self.events(id).await.into_iter().find(|e| pred(e)) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} event: {:?}",
                self.events(id).await
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

/// A meeting platform as the server serves its look-alike.
pub struct Platform {
    pub name: &'static str,
    pub path: fn(&str) -> String,
}

pub const PLATFORMS: [Platform; 3] = [
    Platform {
        name: "meet",
        path: |code| format!("meet/{code}"),
    },
    Platform {
        name: "teams",
        path: |code| format!("teams/{code}"),
    },
    Platform {
        name: "zoom",
        path: |code| format!("zoom/wc/{code}/join?pwd=secret"),
    },
];

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

/// Seconds between two RFC 3339 instants.
pub fn seconds_between(a: &str, b: &str) -> f64 {
    let a = chrono::DateTime::parse_from_rfc3339(a).unwrap();
    let b = chrono::DateTime::parse_from_rfc3339(b).unwrap();
    (b - a).num_milliseconds() as f64 / 1000.0
}

/// When the bot was in the call: from `IN_CALL` to its last status.
pub fn in_call_secs(bot: &Value) -> f64 {
    let changes = bot["statusChanges"].as_array().unwrap();
    let start = changes.iter().find(|c| c["status"] == "IN_CALL").unwrap()["at"]
        .as_str()
        .unwrap();
    let end = changes.last().unwrap()["at"].as_str().unwrap();
    seconds_between(start, end)
}

/// The machine a benchmark ran on, for its printout: cores, memory, CPU model.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().next()?.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map(|kib| kib / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    format!("{cores} cores, {mem:.0} GB, {cpu}")
}

/// faster-whisper-server (the OpenAI-compatible transcription peer), when the test run
/// provides it: `MEEBOTER_TEST_WHISPER_BIN` and `MEEBOTER_TEST_WHISPER_MODEL` (both or
/// neither). Killed on drop.
pub struct Whisper {
    child: std::process::Child,
    pub url: String,
}

impl Drop for Whisper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Whisper {
    /// `None` when the peer is not configured (the caller skips).
    pub async fn start() -> Option<Whisper> {
        let (bin, model) = match (
            std::env::var("MEEBOTER_TEST_WHISPER_BIN").ok(),
            std::env::var("MEEBOTER_TEST_WHISPER_MODEL").ok(),
        ) {
            (Some(b), Some(m)) => (b, m),
            (None, None) => return None,
            _ => panic!("set both MEEBOTER_TEST_WHISPER_BIN and MEEBOTER_TEST_WHISPER_MODEL"),
        };
        let port = free_port();
        let child = Command::new(&bin)
            .arg(&model)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin}: {e}"));
        let w = Whisper {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        while reqwest::get(format!("{}/health", w.url)).await.is_err() {
            assert!(Instant::now() < deadline, "faster-whisper-server did not start");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        Some(w)
    }
}

/// `text` spoken by espeak-ng, as a WAV file in `dir`; returns the path and its length.
pub fn speech(dir: &std::path::Path, name: &str, text: &str) -> (std::path::PathBuf, Duration) {
    let path = dir.join(format!("{name}.wav"));
    let ok = Command::new("espeak-ng")
        .args(["-s", "150", "-w"])
        .arg(&path)
        .arg(text)
        .status()
        .expect("espeak-ng (apt-get install espeak-ng)");
    assert!(ok.success());
    // 16-bit mono; the header says the rate.
    let bytes = std::fs::read(&path).unwrap();
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    let secs = (bytes.len() - 44) as f64 / 2.0 / f64::from(rate);
    (path, Duration::from_secs_f64(secs))
}

/// The socket of a local bot's private PulseAudio server (what Chromium plays the meeting
/// into), once it exists.
pub async fn bot_sound_server(id: &str) -> std::path::PathBuf {
    let private = std::env::temp_dir().join(format!("meeboter-bot-{id}-1"));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = std::fs::read_dir(&private).ok().and_then(|entries| {
            entries
                .flatten()
                .find(|e| e.file_name().to_string_lossy().starts_with("meeboter-pulse-"))
                .map(|e| e.path().join("native"))
                .filter(|p| p.exists())
        });
        if let Some(socket) = found {
            return socket;
        }
        assert!(Instant::now() < deadline, "no sound server under {}", private.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Plays `wav` into the bot's sound server as a participant's voice would arrive (the
/// meeting's audio is whatever plays into its default sink); returns when it has played.
pub async fn play_into(socket: &std::path::Path, wav: &std::path::Path) {
    let status = tokio::process::Command::new("paplay")
        .arg(format!("--server=unix:{}", socket.display()))
        .arg(wav)
        .status()
        .await
        .expect("paplay (apt-get install pulseaudio-utils)");
    assert!(status.success(), "paplay failed");
}

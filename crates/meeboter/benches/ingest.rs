//! Recording ingest benchmark (`cargo bench -p meeboter --bench ingest`): a real `meeboter
//! serve` (SQLite, filesystem storage) receives a 1 GiB recording as 8 MiB chunks through the
//! bot channel (ask → PUT → complete, as a bot does), then assembles it. Prints the server's
//! RSS before, at its peak, and the growth — the server must stream, not buffer.
//!
//! `INGEST_MIB` changes the size (default 1024).

use meeboter_bot::procstat::rss_kib;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const CHUNK: usize = 8 * 1024 * 1024;

/// Deterministic, incompressible-looking bytes for chunk `n`.
fn chunk_bytes(n: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(CHUNK);
    let mut block = Sha256::digest(n.to_le_bytes()).to_vec();
    while out.len() < CHUNK {
        block = Sha256::digest(&block).to_vec();
        out.extend_from_slice(&block);
    }
    out.truncate(CHUNK);
    out
}

#[tokio::main]
async fn main() {
    let mib: usize = std::env::var("INGEST_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let chunks = (mib * 1024 * 1024).div_ceil(CHUNK) as u32;
    let dir = tempfile::tempdir().unwrap();
    // The "bot" only hands its token over and waits: the benchmark speaks for it.
    let script = dir.path().join("bot.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho \"$MILO_AUTH_TOKEN\" > \"$(dirname \"$0\")/token\"\nexec sleep 3600\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_meeboter"))
        .arg("serve")
        .current_dir(dir.path())
        .env("DATABASE_URL", format!("sqlite://{}/bench.db", dir.path().display()))
        .env("STORAGE_PATH", dir.path().join("data"))
        .env("MEEBOTER_LISTEN", format!("127.0.0.1:{port}"))
        .env("LOCAL_BOT_COMMAND", &script)
        .env("HEARTBEAT_TIMEOUT_SECS", "3600")
        .env("LOG_FORMAT", "json")
        .env("LOG_LEVEL", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = server.id();
    let stderr = server.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let key = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server printed its admin key");
        if let Some(k) = line
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .find(|w| w.starts_with("mbk_"))
        {
            break k.to_string();
        }
    };
    let http = reqwest::Client::new();
    let bot: serde_json::Value = http
        .post(format!("{base}/api/bots"))
        .bearer_auth(&key)
        .json(&serde_json::json!({"meetingUrl": "https://meet.google.com/abc-defg-hij", "recordingMode": "video"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = bot["id"].as_str().unwrap().to_string();
    let token_file = dir.path().join("token");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !token_file.exists() {
        assert!(Instant::now() < deadline, "the bot never started");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let token = std::fs::read_to_string(&token_file).unwrap().trim().to_string();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(baseline));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    let api = format!("{base}/api/bot/v1");
    let t0 = Instant::now();
    for n in 0..chunks {
        let bytes = chunk_bytes(n);
        let (part, seq) = (1, n);
        let desc = serde_json::json!({"part": part, "seq": seq, "sizeBytes": bytes.len(),
            "sha256": hex::encode(Sha256::digest(&bytes)), "durationMs": 6000, "contentType": "video/mp4"});
        let ask: serde_json::Value = http
            .post(format!("{api}/recording/chunks"))
            .bearer_auth(&token)
            .json(&desc)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let upload = &ask["upload"];
        let mut put = http.put(upload["url"].as_str().unwrap()).body(bytes);
        for (k, v) in upload["headers"].as_object().unwrap() {
            put = put.header(k, v.as_str().unwrap());
        }
        let res = put.bearer_auth(&token).send().await.unwrap();
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        let done = http
            .post(format!("{api}/recording/chunks/complete"))
            .bearer_auth(&token)
            .json(&desc)
            .send()
            .await
            .unwrap();
        assert_eq!(done.status(), 204);
    }
    let upload_secs = t0.elapsed().as_secs_f64();
    let upload_peak = peak.load(Ordering::Relaxed);
    http.post(format!("{api}/recording/finish"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"parts": 1, "mode": "video"}))
        .send()
        .await
        .unwrap();
    let t1 = Instant::now();
    let recording = loop {
        let r: serde_json::Value = http
            .get(format!("{base}/api/bots/{id}/recording"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if r["state"] == "ready" {
            break r;
        }
        assert!(t1.elapsed() < Duration::from_secs(600), "never assembled: {r}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let assemble_secs = t1.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    let _ = server.kill();
    let _ = server.wait();
    let total = recording["sizeBytes"].as_u64().unwrap();
    assert_eq!(total, (chunks as u64) * CHUNK as u64);
    println!(
        "machine: {} cores",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0)
    );
    println!(
        "ingest {} MiB in {chunks} chunks of 8 MiB: upload {:.1} s ({:.0} MiB/s, ask + PUT + verify per chunk), assembly {:.1} s",
        total / 1024 / 1024,
        upload_secs,
        (total as f64 / 1024.0 / 1024.0) / upload_secs,
        assemble_secs
    );
    println!(
        "server RSS: {:.1} MB before, {:.1} MB peak while uploading, {:.1} MB peak overall → growth {:.1} MB",
        baseline as f64 / 1024.0,
        upload_peak as f64 / 1024.0,
        peak as f64 / 1024.0,
        (peak.saturating_sub(baseline)) as f64 / 1024.0
    );
}

//! Shared by the binary's tests: the `meeboter` command with a clean environment, and a
//! server started on a free port.
#![allow(dead_code)]

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
    cmd
}

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

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

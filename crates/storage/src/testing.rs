//! Test support: a real S3-compatible peer (s3s-fs) per test, for this crate's tests and
//! for the server's, so they exercise SigV4, presign expiry and multipart rules for real.

use std::net::TcpListener as StdListener;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::process::{Child, Command};

use crate::StorageSettings;

/// The access key every [`S3Peer`] accepts.
pub const ACCESS_KEY: &str = "AK";
/// The secret key every [`S3Peer`] accepts.
pub const SECRET_KEY: &str = "SK";
/// The bucket [`S3Peer::settings`] names.
pub const BUCKET: &str = "meeboter-test";

/// Finds the s3s-fs binary: `$S3S_FS_BIN`, then `PATH`, then the place `scripts/test` installs it.
pub fn s3s_fs_bin() -> PathBuf {
    let from_env = std::env::var_os("S3S_FS_BIN").map(PathBuf::from);
    let on_path = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("s3s-fs"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let home = std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache/meeboter-peers/bin/s3s-fs"));
    from_env
        .into_iter()
        .chain(on_path)
        .chain(home)
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "s3s-fs (the S3 test peer) was not found in $S3S_FS_BIN, PATH or ~/.cache/meeboter-peers/bin. Install \
             it with `cargo install s3s-fs@0.14.1 --locked --features binary --root $HOME/.cache/meeboter-peers` \
             (scripts/test does this), or set S3S_FS_BIN"
            )
        })
}

/// One s3s-fs process serving `dir` on `port`; killed when dropped.
pub struct S3Peer {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    log: PathBuf,
}

impl S3Peer {
    pub async fn start(dir: PathBuf, log: PathBuf) -> S3Peer {
        let port = StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut peer = S3Peer {
            child: None,
            port,
            dir,
            log,
        };
        peer.spawn().await;
        peer
    }

    /// Starts (or restarts) the server on the same port and directory and waits until it accepts.
    pub async fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(s3s_fs_bin())
            .args(["--host", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .expect("start s3s-fs");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            assert!(
                Instant::now() < deadline,
                "s3s-fs did not listen on port {} within 10 s; log: {}",
                self.port,
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.unwrap();
        }
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn settings(&self, secret: &str) -> StorageSettings {
        StorageSettings::S3 {
            endpoint: Some(self.endpoint()),
            region: "us-east-1".to_string(),
            bucket: BUCKET.to_string(),
            access_key: Some(ACCESS_KEY.to_string()),
            secret_key: Some(secret.to_string()),
            request_timeout: Duration::from_secs(2),
        }
    }
}

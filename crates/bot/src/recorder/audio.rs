//! A private PulseAudio server: Chromium plays the meeting into a null sink, and ffmpeg
//! records that sink's monitor. Nothing is heard and nothing leaves the bot.
//!
//! The server runs as a normal child process even as root (containers run as root; the
//! `--system` mode is for machine-wide servers and needs a `pulse` user). Its home,
//! runtime and state directories all point at a private temp dir, so it neither reads nor
//! writes anything outside it and several bots on one machine never share a server.
//! Command (verified with PulseAudio 16.1 on Debian 12, as root):
//!
//! ```text
//! HOME=D XDG_RUNTIME_DIR=D PULSE_RUNTIME_PATH=D PULSE_STATE_PATH=D \
//!   pulseaudio --daemonize=no --exit-idle-time=-1 --disallow-exit --use-pid-file=no \
//!     --realtime=no --high-priority=no --disable-shm=yes --log-target=stderr -n -F D/meeboter.pa
//! ```
//!
//! with `D/meeboter.pa`:
//!
//! ```text
//! load-module module-null-sink sink_name=meeboter_sink sink_properties=device.description=meeboter
//! load-module module-always-sink
//! set-default-sink meeboter_sink
//! load-module module-native-protocol-unix socket=D/native auth-anonymous=1
//! ```
//!
//! Clients use `PULSE_SERVER=unix:D/native`. The protocol module is loaded last, so the
//! socket exists only once the sink does: a connectable socket means ready. `-n` skips the
//! system's default script; `--disable-shm` avoids shared memory, which small container
//! `/dev/shm`s cannot hold for several clients (audio is a few hundred KB/s, copying it
//! costs nothing). As root it warns "This program is not intended to be run as root" and
//! that D-Bus is unavailable; both are harmless.

use super::RecorderError;
use super::process::{Helper, find_program};
use nix::sys::signal::Signal;
use std::path::PathBuf;
use std::time::Duration;
use tokio::process::Command;

/// The sink Chromium plays into (the default sink).
pub const SINK: &str = "meeboter_sink";
/// The source ffmpeg records: the sink's monitor.
pub const MONITOR: &str = "meeboter_sink.monitor";
/// How long PulseAudio may take to accept connections.
pub const READY_WITHIN: Duration = Duration::from_secs(10);

/// A running private PulseAudio server; dropping it kills the server and removes its
/// directory.
pub struct SoundServer {
    helper: Option<Helper>,
    dir: tempfile::TempDir,
}

impl std::fmt::Debug for SoundServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoundServer").field("dir", &self.dir.path()).finish()
    }
}

/// The startup script (see the module docs).
fn script(socket: &std::path::Path) -> String {
    format!(
        "load-module module-null-sink sink_name={SINK} sink_properties=device.description=meeboter\n\
         load-module module-always-sink\n\
         set-default-sink {SINK}\n\
         load-module module-native-protocol-unix socket={} auth-anonymous=1\n",
        socket.display()
    )
}

impl SoundServer {
    /// Starts the server in a fresh private directory and waits until it accepts clients.
    pub async fn start() -> Result<SoundServer, RecorderError> {
        let pulseaudio = find_program(&["pulseaudio"])
            .ok_or_else(|| RecorderError::Missing("pulseaudio is not on PATH (apt-get install pulseaudio)".into()))?;
        let dir = tempfile::Builder::new()
            .prefix("meeboter-pulse-")
            .tempdir()
            .map_err(|e| RecorderError::Start(format!("cannot create PulseAudio's directory: {e}")))?;
        let socket = dir.path().join("native");
        let script_path = dir.path().join("meeboter.pa");
        std::fs::write(&script_path, script(&socket))
            .map_err(|e| RecorderError::Start(format!("cannot write PulseAudio's script: {e}")))?;
        let mut command = Command::new(&pulseaudio);
        for var in ["HOME", "XDG_RUNTIME_DIR", "PULSE_RUNTIME_PATH", "PULSE_STATE_PATH"] {
            command.env(var, dir.path());
        }
        for var in ["PULSE_SERVER", "DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_CONFIG_HOME"] {
            command.env_remove(var);
        }
        command
            .args([
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--disallow-exit",
                "--use-pid-file=no",
            ])
            .args([
                "--realtime=no",
                "--high-priority=no",
                "--disable-shm=yes",
                "--log-target=stderr",
            ])
            .arg("-n")
            .arg("-F")
            .arg(&script_path);
        let mut helper = Helper::spawn("pulseaudio", &mut command, false)
            .map_err(|e| RecorderError::Start(format!("cannot run {}: {e}", pulseaudio.display())))?;
        let deadline = tokio::time::Instant::now() + READY_WITHIN;
        loop {
            if helper.exited().is_some() {
                // Let the stderr reader catch up so the message says why.
                tokio::time::sleep(Duration::from_millis(100)).await;
                return Err(RecorderError::Start(format!(
                    "PulseAudio exited at start: {}",
                    helper.tail()
                )));
            }
            if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
                tracing::info!(server = %socket.display(), "private sound server started");
                return Ok(SoundServer {
                    helper: Some(helper),
                    dir,
                });
            }
            if tokio::time::Instant::now() >= deadline {
                let tail = helper.tail();
                helper.stop(Signal::SIGKILL, Duration::from_secs(2)).await;
                return Err(RecorderError::Start(format!(
                    "PulseAudio did not accept connections within {} s: {tail}",
                    READY_WITHIN.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The socket clients connect to.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("native")
    }

    /// The `PULSE_SERVER` value for clients (Chromium, ffmpeg).
    pub fn address(&self) -> String {
        format!("unix:{}", self.socket().display())
    }

    /// Whether the server still runs.
    pub fn alive(&mut self) -> bool {
        self.helper.as_mut().is_some_and(|h| h.exited().is_none())
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.helper.as_ref().and_then(Helper::pid)
    }

    /// Stops the server (SIGTERM, then SIGKILL) and removes its directory.
    pub async fn shutdown(mut self) {
        if let Some(helper) = self.helper.take() {
            helper.stop(Signal::SIGTERM, Duration::from_secs(3)).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_protocol_comes_last_and_the_sink_is_the_default() {
        let text = script(std::path::Path::new("/tmp/x/native"));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("load-module module-null-sink sink_name=meeboter_sink"));
        assert_eq!(lines[2], "set-default-sink meeboter_sink");
        assert_eq!(
            lines.last().unwrap(),
            &"load-module module-native-protocol-unix socket=/tmp/x/native auth-anonymous=1"
        );
    }
}

//! The helper processes a recording needs (Xvfb, PulseAudio, ffmpeg): started with their
//! output kept for error messages, stopped politely with a bounded wait, and killed when
//! dropped, so no exit path of the bot leaves one behind.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::collections::VecDeque;
use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};

/// Lines of a helper's stderr kept for the error message when it fails.
const TAIL_LINES: usize = 20;

/// Called with each stderr line of a helper, in order.
pub type LineObserver = Box<dyn FnMut(&str) + Send>;

/// A running helper process; dropping it kills the process (SIGKILL).
pub struct Helper {
    name: &'static str,
    child: Child,
    /// Held apart from `child`: tokio's `Child::wait` closes the child's stdin, and ffmpeg
    /// takes EOF on stdin as "no more commands", so `q` could no longer reach it.
    stdin: Option<ChildStdin>,
    tail: Arc<Mutex<VecDeque<String>>>,
}

impl Helper {
    /// Starts `command` (stdout discarded, stderr kept, stdin piped when `with_stdin`).
    pub fn spawn(name: &'static str, command: &mut Command, with_stdin: bool) -> std::io::Result<Helper> {
        Self::spawn_observed(name, command, with_stdin, None)
    }

    /// [`Helper::spawn`], also handing every stderr line to `observe` (how the capture
    /// learns from ffmpeg's input dump when its first sample was taken).
    pub fn spawn_observed(
        name: &'static str,
        command: &mut Command,
        with_stdin: bool,
        mut observe: Option<LineObserver>,
    ) -> std::io::Result<Helper> {
        command
            .stdin(if with_stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn()?;
        let stdin = child.stdin.take();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let tail = tail.clone();
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    tracing::debug!(target: "meeboter_bot::recorder::helper", helper = name, "{line}");
                    if let Some(observe) = observe.as_mut() {
                        observe(&line);
                    }
                    let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                    if tail.len() == TAIL_LINES {
                        tail.pop_front();
                    }
                    tail.push_back(line);
                }
            });
        }
        Ok(Helper {
            name,
            child,
            stdin,
            tail,
        })
    }

    /// The process id (`None` once it has been reaped).
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// The helper's last stderr lines, joined (for error messages).
    pub fn tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join(" | ")
    }

    /// How the process ended, if it has.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the process to end.
    pub async fn wait(&mut self) -> std::io::Result<ExitStatus> {
        self.child.wait().await
    }

    /// The process's stdin, when it was started with one.
    pub fn stdin(&mut self) -> Option<&mut ChildStdin> {
        self.stdin.as_mut()
    }

    /// Sends `signal`, waits up to `within` for the process to end, then kills it.
    pub async fn stop(mut self, signal: Signal, within: Duration) {
        if self.exited().is_some() {
            return;
        }
        if let Some(pid) = self.pid().and_then(|p| i32::try_from(p).ok()) {
            let _ = kill(Pid::from_raw(pid), signal);
        }
        if tokio::time::timeout(within, self.child.wait()).await.is_err() {
            tracing::warn!(
                helper = self.name,
                "did not stop within {} ms; killing it",
                within.as_millis()
            );
            let _ = self.child.start_kill();
            let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        }
    }
}

/// Whether a process with this id exists (zombies included: their lock is still held).
pub fn pid_alive(pid: u32) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
}

/// The first of `names` found on `PATH`.
pub fn find_program(names: &[&str]) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| names.iter().map(move |n| dir.join(n)))
        .find(|p| p.is_file())
}

//! The virtual screen Chromium draws on and ffmpeg grabs: an Xvfb server on the first free
//! display number from `:99` up.
//!
//! X servers claim a display with `/tmp/.X{n}-lock` (holding the server's pid) and listen
//! on `/tmp/.X11-unix/X{n}`. A bot killed with SIGKILL leaves both behind, and Xvfb
//! refuses a display whose lock exists, so before starting on `:n` a lock whose process
//! is gone (or that is unreadable) is removed with its socket, and a socket nobody
//! listens on is removed. Two bots racing for the same number are settled by Xvfb itself
//! (it creates the lock atomically): the loser exits and the next number is tried, and a
//! server counts as ready only when the lock holds *our* child's pid and the socket
//! accepts connections.
//!
//! The display number is noted in the platform's private directory for the bot
//! (`$MEEBOTER_BOT_TMPDIR/x-display`, when set): the local platform's release removes a
//! killed bot's lock and socket with it.
//!
//! Command: `Xvfb :N -screen 0 {W}x{H}x24 -nolisten tcp -noreset` (`-noreset`: the server
//! keeps running when its last client disconnects).

use super::RecorderError;
use super::process::{Helper, find_program, pid_alive};
use nix::sys::signal::Signal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::process::Command;

/// The first display number tried (low numbers belong to real sessions).
pub const FIRST_DISPLAY: u32 = 99;
/// How many display numbers are tried.
pub const DISPLAYS_TRIED: u32 = 64;
/// How long Xvfb may take to accept connections.
pub const READY_WITHIN: Duration = Duration::from_secs(10);

/// Whether display `n` can be started on, after clearing what a dead server left behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nothing there (or only stale leftovers, now removed).
    Free,
    /// A live process holds the lock, or something listens on the socket.
    InUse,
}

fn lock_path(tmp: &Path, n: u32) -> PathBuf {
    tmp.join(format!(".X{n}-lock"))
}

fn socket_path(tmp: &Path, n: u32) -> PathBuf {
    tmp.join(".X11-unix").join(format!("X{n}"))
}

/// The pid in a lock file (`None` if missing or unreadable).
fn lock_pid(tmp: &Path, n: u32) -> Option<u32> {
    std::fs::read_to_string(lock_path(tmp, n)).ok()?.trim().parse().ok()
}

/// Checks display `n` under `tmp` (`/tmp` for real servers) and removes a dead server's
/// lock and socket.
pub fn claim(tmp: &Path, n: u32) -> Claim {
    let lock = lock_path(tmp, n);
    let socket = socket_path(tmp, n);
    if lock.exists() {
        match lock_pid(tmp, n) {
            Some(pid) if pid_alive(pid) => return Claim::InUse,
            stale => {
                tracing::info!(display = n, pid = stale.unwrap_or(0), "removing a stale X lock");
                let _ = std::fs::remove_file(&lock);
                let _ = std::fs::remove_file(&socket);
                return Claim::Free;
            }
        }
    }
    if socket.exists() {
        if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
            return Claim::InUse;
        }
        tracing::info!(display = n, "removing a stale X socket");
        let _ = std::fs::remove_file(&socket);
    }
    Claim::Free
}

/// A running Xvfb; dropped or shut down, it is stopped and its lock and socket removed.
pub struct VirtualDisplay {
    number: u32,
    helper: Option<Helper>,
}

impl std::fmt::Debug for VirtualDisplay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualDisplay").field("number", &self.number).finish()
    }
}

impl VirtualDisplay {
    /// Starts Xvfb with a `width`×`height`×24 screen on the first free display from
    /// [`FIRST_DISPLAY`], and waits until it accepts connections.
    pub async fn start(width: u32, height: u32) -> Result<VirtualDisplay, RecorderError> {
        let xvfb = find_program(&["Xvfb"])
            .ok_or_else(|| RecorderError::Missing("Xvfb is not on PATH (apt-get install xvfb)".into()))?;
        let tmp = Path::new("/tmp");
        let mut last_failure = String::from("every display number was in use");
        for n in FIRST_DISPLAY..FIRST_DISPLAY + DISPLAYS_TRIED {
            if claim(tmp, n) == Claim::InUse {
                continue;
            }
            let mut command = Command::new(&xvfb);
            command
                .arg(format!(":{n}"))
                .args(["-screen", "0", &format!("{width}x{height}x24")])
                .args(["-nolisten", "tcp", "-noreset"]);
            let mut helper = Helper::spawn("Xvfb", &mut command, false)
                .map_err(|e| RecorderError::Start(format!("cannot run {}: {e}", xvfb.display())))?;
            match wait_ready(tmp, n, &mut helper).await {
                Ready::Yes => {
                    tracing::info!(display = n, width, height, "virtual display started");
                    note_display(n);
                    return Ok(VirtualDisplay {
                        number: n,
                        helper: Some(helper),
                    });
                }
                Ready::Exited => {
                    // Most likely another server took the number first: try the next.
                    last_failure = format!("Xvfb :{n} exited: {}", helper.tail());
                    tracing::debug!(display = n, failure = %last_failure, "trying the next display");
                }
                Ready::TimedOut => {
                    let tail = helper.tail();
                    helper.stop(Signal::SIGKILL, Duration::from_secs(2)).await;
                    return Err(RecorderError::Start(format!(
                        "Xvfb :{n} did not accept connections within {} s: {tail}",
                        READY_WITHIN.as_secs()
                    )));
                }
            }
        }
        Err(RecorderError::Start(format!(
            "no virtual display could be started: {last_failure}"
        )))
    }

    /// The display number (`n` in `:n`).
    pub fn number(&self) -> u32 {
        self.number
    }

    /// The `DISPLAY` value, e.g. `:99`.
    pub fn name(&self) -> String {
        format!(":{}", self.number)
    }

    /// Whether the server still runs.
    pub fn alive(&mut self) -> bool {
        self.helper.as_mut().is_some_and(|h| h.exited().is_none())
    }

    /// Xvfb's process id.
    pub fn pid(&self) -> Option<u32> {
        self.helper.as_ref().and_then(Helper::pid)
    }

    /// Stops the server (SIGTERM, then SIGKILL) and removes its lock and socket.
    pub async fn shutdown(mut self) {
        if let Some(helper) = self.helper.take() {
            let pid = helper.pid();
            helper.stop(Signal::SIGTERM, Duration::from_secs(3)).await;
            remove_leftovers(self.number, pid);
        }
    }
}

/// Notes the display number in the private temporary directory the platform gave the bot
/// (`MEEBOTER_BOT_TMPDIR`, file `x-display`), so the platform can remove the X lock and
/// socket if the bot is killed before it can.
fn note_display(n: u32) {
    if let Some(dir) = std::env::var_os("MEEBOTER_BOT_TMPDIR")
        && let Err(e) = std::fs::write(Path::new(&dir).join("x-display"), format!("{n}\n"))
    {
        tracing::debug!(error = %e, "cannot note the display number");
    }
}

/// Removes the lock and socket of display `n` if the lock is `pid`'s (a killed Xvfb
/// cannot remove them itself).
fn remove_leftovers(n: u32, pid: Option<u32>) {
    let tmp = Path::new("/tmp");
    if pid.is_some() && lock_pid(tmp, n) == pid {
        let _ = std::fs::remove_file(lock_path(tmp, n));
        let _ = std::fs::remove_file(socket_path(tmp, n));
    }
}

impl Drop for VirtualDisplay {
    fn drop(&mut self) {
        if let Some(helper) = self.helper.take() {
            let pid = helper.pid();
            drop(helper); // SIGKILL
            remove_leftovers(self.number, pid);
        }
    }
}

enum Ready {
    Yes,
    Exited,
    TimedOut,
}

async fn wait_ready(tmp: &Path, n: u32, helper: &mut Helper) -> Ready {
    let deadline = tokio::time::Instant::now() + READY_WITHIN;
    let own = helper.pid();
    while tokio::time::Instant::now() < deadline {
        if helper.exited().is_some() {
            return Ready::Exited;
        }
        if own.is_some()
            && lock_pid(tmp, n) == own
            && std::os::unix::net::UnixStream::connect(socket_path(tmp, n)).is_ok()
        {
            return Ready::Yes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ready::TimedOut
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temp dir laid out like `/tmp` for X servers.
    fn x_tmp() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".X11-unix")).unwrap();
        dir
    }

    /// A pid that cannot exist (above the kernel's maximum).
    const DEAD_PID: u32 = 999_999_999;

    #[test]
    fn a_free_display_is_free() {
        let tmp = x_tmp();
        assert_eq!(claim(tmp.path(), 99), Claim::Free);
    }

    #[test]
    fn a_lock_of_a_live_process_is_respected() {
        let tmp = x_tmp();
        let lock = tmp.path().join(".X99-lock");
        std::fs::write(&lock, format!("{:>10}\n", std::process::id())).unwrap();
        assert_eq!(claim(tmp.path(), 99), Claim::InUse);
        assert!(lock.exists(), "never removed");
    }

    #[test]
    fn a_dead_servers_lock_and_socket_are_removed() {
        let tmp = x_tmp();
        let lock = tmp.path().join(".X100-lock");
        let socket = tmp.path().join(".X11-unix/X100");
        std::fs::write(&lock, format!("{DEAD_PID:>10}\n")).unwrap();
        // A socket file nobody listens on (its listener is dropped at once).
        drop(std::os::unix::net::UnixListener::bind(&socket).unwrap());
        assert_eq!(claim(tmp.path(), 100), Claim::Free);
        assert!(!lock.exists() && !socket.exists());
        // An unreadable lock is stale too.
        std::fs::write(&lock, "garbage").unwrap();
        assert_eq!(claim(tmp.path(), 100), Claim::Free);
        assert!(!lock.exists());
    }

    #[test]
    fn a_socket_without_a_lock_is_kept_while_someone_listens() {
        let tmp = x_tmp();
        let socket = tmp.path().join(".X11-unix/X101");
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        assert_eq!(claim(tmp.path(), 101), Claim::InUse);
        drop(listener);
        assert_eq!(claim(tmp.path(), 101), Claim::Free);
        assert!(!socket.exists());
    }

    #[test]
    fn the_display_name_and_paths_follow_the_x_conventions() {
        assert_eq!(lock_path(Path::new("/tmp"), 99), Path::new("/tmp/.X99-lock"));
        assert_eq!(socket_path(Path::new("/tmp"), 99), Path::new("/tmp/.X11-unix/X99"));
        assert!(!pid_alive(DEAD_PID));
        assert!(pid_alive(std::process::id()));
    }
}

//! The local platform: each bot is a child process of the server (the zero-setup default).
//!
//! The identifier is `"{pid}:{start time}"` (start time in clock ticks since boot, from
//! `/proc/<pid>/stat`), so a recycled PID is never mistaken for the bot. Each child gets a
//! clean environment — the guide's bot variables plus `PATH`/`HOME`/locale and a
//! `MEEBOTER_DEPLOYMENT=<bot id>/<attempt>` marker — never the server's own secrets, and
//! runs in its own process group so stopping it also stops its browser.
//! After a server restart, children that are still running are adopted (watched through
//! `/proc`), and a launch whose identifier was never stored is found by its marker. With an
//! installation id (`with_installation`), each child also carries
//! `MEEBOTER_INSTALLATION=<id>` and `instances()` lists this installation's bot processes
//! for the orphan sweep (never another installation's on the same machine).
//!
//! Each bot gets a private temporary directory, `<temp base>/meeboter-bot-<bot>-<attempt>`
//! (`TMPDIR` and `MEEBOTER_BOT_TMPDIR` in its environment), where its Chromium profile,
//! PulseAudio runtime directory and recording segments go, and where it notes its X display
//! (`x-display`). A file beside it (`….instance`) holds the bot's identifier, so `stop` —
//! the release — finds and removes the directory even after a server restart, and even
//! after `kill -9` of the bot, together with the X lock (`/tmp/.X<n>-lock`) and socket its
//! killed Xvfb left behind.

use crate::{BotLaunch, Instance, InstanceState, Launched, LogSink, Platform, PlatformError};
use async_trait::async_trait;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::collections::HashMap;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Variables passed through from the server's environment (nothing secret): the basics, and
/// the bot runtime's own optional settings (which browser, extra browser flags).
const PASSTHROUGH: [&str; 9] = [
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "TMPDIR",
    "DISPLAY",
    "CHROMIUM_PATH",
    "BROWSER_EXTRA_ARGS",
];
/// Marker variable that lets a restarted server find a child it launched.
pub const DEPLOYMENT_MARKER: &str = "MEEBOTER_DEPLOYMENT";
/// The bot's private temporary directory (also its `TMPDIR`).
pub const BOT_TMPDIR: &str = "MEEBOTER_BOT_TMPDIR";
/// The file in the private directory where a recording bot notes its X display number.
pub const X_DISPLAY_FILE: &str = "x-display";
const PRIVATE_PREFIX: &str = "meeboter-bot-";
const INSTANCE_SUFFIX: &str = ".instance";

pub struct LocalPlatform {
    command: Vec<String>,
    stop_grace: Duration,
    /// Where the bots' private temporary directories are made.
    temp_base: PathBuf,
    sink: Option<LogSink>,
    /// Exit reasons of children this process spawned (`None` while running).
    children: Arc<Mutex<HashMap<String, Option<String>>>>,
    /// Marks children as this installation's, so the orphan sweep can list them.
    installation: Option<String>,
}

/// Marker variable naming the installation that launched a child.
pub const INSTALLATION_MARKER: &str = "MEEBOTER_INSTALLATION";

impl LocalPlatform {
    /// `command` is the program and its arguments (default: this executable with `bot`).
    pub fn new(command: Vec<String>, stop_grace: Duration, sink: Option<LogSink>) -> Self {
        Self {
            command,
            stop_grace,
            temp_base: std::env::temp_dir(),
            sink,
            children: Arc::default(),
            installation: None,
        }
    }

    /// Makes the bots' private temporary directories under `base` (default: the server's
    /// temporary directory).
    pub fn with_temp_base(mut self, base: PathBuf) -> Self {
        self.temp_base = base;
        self
    }

    /// The private temporary directory of a bot's launch.
    pub fn private_dir(&self, bot_id: &str, attempt: u32) -> PathBuf {
        let safe: String = bot_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        self.temp_base.join(format!("{PRIVATE_PREFIX}{safe}-{attempt}"))
    }

    /// The private directory of the launch with `identifier`, from the `.instance` files.
    fn private_dir_of(&self, identifier: &str) -> Option<PathBuf> {
        let entries = std::fs::read_dir(&self.temp_base).ok()?;
        entries.flatten().find_map(|entry| {
            let name = entry.file_name();
            let name = name.to_str()?;
            let dir = name.strip_prefix(PRIVATE_PREFIX)?.strip_suffix(INSTANCE_SUFFIX)?;
            let owner = std::fs::read_to_string(entry.path()).ok()?;
            (owner.trim() == identifier).then(|| self.temp_base.join(format!("{PRIVATE_PREFIX}{dir}")))
        })
    }

    /// After the bot and its group are gone: removes its private directory and what its
    /// X server left in `/tmp`.
    async fn remove_private_files(&self, identifier: &str, pgid: i32) {
        // SIGKILLed members take a moment to die; Xvfb's lock must outlive it to be judged.
        for _ in 0..100 {
            let members = group_members(pgid);
            if members.is_empty() || members.contains(&pgid) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let Some(dir) = self.private_dir_of(identifier) else {
            return;
        };
        remove_x_leftovers(&dir, Path::new("/tmp"));
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => tracing::debug!(dir = %dir.display(), "removed the bot's temporary directory"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => tracing::warn!(dir = %dir.display(), error = %e, "cannot remove the bot's temporary directory"),
        }
        let _ = std::fs::remove_file(instance_file(&dir));
    }

    /// Marks every child with `MEEBOTER_INSTALLATION=<id>` and lists them in `instances()`.
    pub fn with_installation(mut self, id: &str) -> Self {
        self.installation = Some(id.to_string());
        self
    }

    /// `meeboter bot` from the running executable.
    pub fn default_command() -> Vec<String> {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| "meeboter".into());
        vec![exe, "bot".into()]
    }
}

fn instance_file(private: &Path) -> PathBuf {
    let mut name = private.file_name().unwrap_or_default().to_os_string();
    name.push(INSTANCE_SUFFIX);
    private.with_file_name(name)
}

/// Removes the X lock and socket of the display noted in `private` when the server that
/// held them is dead (a killed Xvfb cannot remove them itself); `tmp` is `/tmp`.
fn remove_x_leftovers(private: &Path, tmp: &Path) {
    let Some(n) = std::fs::read_to_string(private.join(X_DISPLAY_FILE))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
    else {
        return;
    };
    let lock = tmp.join(format!(".X{n}-lock"));
    let socket = tmp.join(".X11-unix").join(format!("X{n}"));
    let holder = std::fs::read_to_string(&lock)
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    if holder.is_some_and(|pid| start_time(pid).is_some()) {
        return; // a live server holds it (another bot took the number since)
    }
    if std::fs::remove_file(&lock).is_ok() {
        tracing::info!(display = n, "removed a dead bot's X lock");
    }
    if std::os::unix::net::UnixStream::connect(&socket).is_err() {
        let _ = std::fs::remove_file(&socket);
    }
}

/// Start time of `pid` in clock ticks since boot, if it is alive (and not a zombie).
fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    if fields.first() == Some(&"Z") || fields.first() == Some(&"X") {
        return None;
    }
    // `after` starts at field 3 (state); start time is field 22.
    fields.get(19)?.parse().ok()
}

/// Process group of `pid` (field 5 of `/proc/<pid>/stat`).
fn process_group(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    after.split_whitespace().nth(2)?.parse().ok()
}

fn parse_identifier(identifier: &str) -> Option<(i32, u64)> {
    let (pid, start) = identifier.split_once(':')?;
    Some((pid.parse().ok()?, start.parse().ok()?))
}

fn alive(identifier: &str) -> bool {
    parse_identifier(identifier).is_some_and(|(pid, start)| start_time(pid) == Some(start))
}

/// Live members of process group `pgid` (the bot and everything it started: Chromium,
/// ffmpeg, Xvfb, PulseAudio), from `/proc`.
fn group_members(pgid: i32) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .ok()
                .is_some_and(|stat| {
                    let after = stat.rfind(')').map(|i| &stat[i + 2..]).unwrap_or("");
                    let fields: Vec<&str> = after.split_whitespace().collect();
                    // `after` starts at field 3 (state); the process group is field 5.
                    !matches!(fields.first(), Some(&"Z") | Some(&"X"))
                        && fields.get(2) == Some(&pgid.to_string().as_str())
                })
        })
        .collect()
}

/// Kills what is left of a bot whose own process is gone (a `kill -9`, a crash): its
/// browser, encoder, display and sound server would otherwise live on as orphans. Only
/// when the group's leader slot is not taken by a new process (a reused pid leading a
/// group of its own is somebody else's).
fn kill_orphaned_group(pid: i32) -> usize {
    let members = group_members(pid);
    if members.is_empty() || members.contains(&pid) {
        return 0;
    }
    let _ = killpg(Pid::from_raw(pid), Signal::SIGKILL);
    members.len()
}

fn spawn_reader<R: tokio::io::AsyncRead + Unpin + Send + 'static>(
    reader: R,
    bot_id: String,
    level: &'static str,
    sink: Option<LogSink>,
) {
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            match &sink {
                Some(s) => {
                    let _ = s.send((bot_id.clone(), level, line));
                }
                None => tracing::debug!(bot.id = %bot_id, "{line}"),
            }
        }
    });
}

#[async_trait]
impl Platform for LocalPlatform {
    fn name(&self) -> &'static str {
        "local"
    }

    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError> {
        if let Some(existing) = self.find(&launch.bot_id, launch.attempt).await? {
            return Ok(existing);
        }
        let (program, args) = self
            .command
            .split_first()
            .ok_or_else(|| PlatformError::Permanent("LOCAL_BOT_COMMAND is empty".into()))?;
        let private = self.private_dir(&launch.bot_id, launch.attempt);
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&private)
            .map_err(|e| {
                PlatformError::Transient(format!("cannot create the bot's directory {}: {e}", private.display()))
            })?;
        let mut cmd = Command::new(program);
        cmd.args(args)
            .env_clear()
            .envs(
                PASSTHROUGH
                    .iter()
                    .filter_map(|k| std::env::var(k).ok().map(|v| (*k, v))),
            )
            .envs(&launch.env)
            .env(DEPLOYMENT_MARKER, format!("{}/{}", launch.bot_id, launch.attempt))
            .env("TMPDIR", &private)
            .env(BOT_TMPDIR, &private)
            .envs(self.installation.iter().map(|i| (INSTALLATION_MARKER, i.as_str())))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(false);
        let spawned = cmd.spawn();
        if spawned.is_err() {
            let _ = std::fs::remove_dir_all(&private);
        }
        let mut child = spawned.map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied => {
                PlatformError::Permanent(format!("cannot run {program}: {e}"))
            }
            _ => PlatformError::Transient(format!("cannot start {program}: {e}")),
        })?;
        let pid = child
            .id()
            .ok_or_else(|| PlatformError::Transient("child exited before it could be tracked".into()))?;
        let pid = i32::try_from(pid).map_err(|_| PlatformError::Transient("pid out of range".into()))?;
        let start = start_time(pid).unwrap_or(0);
        let identifier = format!("{pid}:{start}");
        if let Err(e) = std::fs::write(instance_file(&private), &identifier) {
            tracing::warn!(bot.id = %launch.bot_id, error = %e, "cannot note the bot's temporary directory; it will stay");
        }
        if let Some(out) = child.stdout.take() {
            spawn_reader(out, launch.bot_id.clone(), "info", self.sink.clone());
        }
        if let Some(err) = child.stderr.take() {
            spawn_reader(err, launch.bot_id.clone(), "warn", self.sink.clone());
        }
        self.children
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(identifier.clone(), None);
        let children = self.children.clone();
        let id = identifier.clone();
        tokio::spawn(async move {
            let reason = match child.wait().await {
                Ok(status) => match (status.code(), std::os::unix::process::ExitStatusExt::signal(&status)) {
                    (Some(code), _) => format!("process exited with code {code}"),
                    (None, Some(sig)) => format!("process killed by signal {sig}"),
                    _ => "process exited".to_string(),
                },
                Err(e) => format!("process could not be waited on: {e}"),
            };
            children
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, Some(reason));
        });
        tracing::info!(bot.id = %launch.bot_id, pid, "bot process started");
        Ok(Launched { identifier })
    }

    async fn stop(&self, identifier: &str) -> Result<(), PlatformError> {
        let Some((pid, _)) = parse_identifier(identifier) else {
            return Ok(()); // never a process of ours
        };
        if !alive(identifier) {
            let killed = kill_orphaned_group(pid);
            if killed > 0 {
                tracing::info!(
                    pid,
                    processes = killed,
                    "bot process was gone; killed what it left running"
                );
            }
            self.remove_private_files(identifier, pid).await;
            return Ok(());
        }
        let group = Pid::from_raw(pid);
        // The bot alone gets SIGTERM, like a container's main process: it leaves the meeting
        // through its browser and flushes its recording, which it could not do if the browser,
        // the encoder and the sound server were signalled at the same time. Whatever of its
        // group outlives it is killed then.
        let _ = nix::sys::signal::kill(group, Signal::SIGTERM);
        let deadline = tokio::time::Instant::now() + self.stop_grace;
        while tokio::time::Instant::now() < deadline {
            if !alive(identifier) {
                let left = kill_orphaned_group(pid);
                if left > 0 {
                    tracing::info!(pid, processes = left, "bot exited; killed what it left running");
                }
                self.remove_private_files(identifier, pid).await;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!(pid, "bot process ignored SIGTERM; sending SIGKILL");
        let _ = killpg(group, Signal::SIGKILL);
        for _ in 0..100 {
            if !alive(identifier) {
                self.remove_private_files(identifier, pid).await;
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Err(PlatformError::Transient(format!("process {pid} survived SIGKILL")))
    }

    async fn observe(&self, identifier: &str) -> Result<InstanceState, PlatformError> {
        if let Some(entry) = self.children.lock().unwrap_or_else(|p| p.into_inner()).get(identifier) {
            return Ok(match entry {
                None => InstanceState::Running,
                Some(reason) => InstanceState::Stopped { reason: reason.clone() },
            });
        }
        Ok(if alive(identifier) {
            InstanceState::Running
        } else {
            InstanceState::Gone
        })
    }

    /// This installation's bot processes (group leaders carrying both markers); `None`
    /// without an installation id.
    async fn instances(&self) -> Result<Option<Vec<Instance>>, PlatformError> {
        let Some(installation) = &self.installation else {
            return Ok(None);
        };
        let ours = format!("{INSTALLATION_MARKER}={installation}");
        let prefix = format!("{DEPLOYMENT_MARKER}=");
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Ok(None);
        };
        let mut found = Vec::new();
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            let vars: Vec<&[u8]> = environ.split(|b| *b == 0).collect();
            if !vars.contains(&ours.as_bytes()) || process_group(pid) != Some(pid) {
                continue; // another installation's, or the bot's browser (not the bot)
            }
            let deployment = vars
                .iter()
                .find_map(|kv| kv.strip_prefix(prefix.as_bytes()))
                .and_then(|v| std::str::from_utf8(v).ok())
                .and_then(|v| v.rsplit_once('/'))
                .and_then(|(bot, attempt)| Some((bot.to_string(), attempt.parse::<u32>().ok()?)));
            if let (Some((bot_id, attempt)), Some(start)) = (deployment, start_time(pid)) {
                found.push(Instance {
                    identifier: format!("{pid}:{start}"),
                    bot_id,
                    attempt,
                });
            }
        }
        Ok(Some(found))
    }

    async fn find(&self, bot_id: &str, attempt: u32) -> Result<Option<Launched>, PlatformError> {
        let marker = format!("{DEPLOYMENT_MARKER}={bot_id}/{attempt}");
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return Ok(None);
        };
        for entry in entries.flatten() {
            let Some(pid) = entry.file_name().to_str().and_then(|n| n.parse::<i32>().ok()) else {
                continue;
            };
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                continue;
            };
            if environ.split(|b| *b == 0).any(|kv| kv == marker.as_bytes())
                && let Some(start) = start_time(pid)
            {
                return Ok(Some(Launched {
                    identifier: format!("{pid}:{start}"),
                }));
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn launch(bot: &str) -> BotLaunch {
        let mut env = BTreeMap::new();
        env.insert("BOT_ID".to_string(), bot.to_string());
        env.insert("MEETING_URL".to_string(), "https://zoom.us/j/123456789".to_string());
        BotLaunch {
            bot_id: bot.to_string(),
            attempt: 1,
            max_duration_secs: 14_400,
            env,
        }
    }

    /// The marker is visible in /proc only once the child has exec'd; wait for that.
    async fn found(p: &LocalPlatform, bot: &str) -> Option<Launched> {
        for _ in 0..200 {
            if let Some(l) = p.find(bot, 1).await.unwrap() {
                return Some(l);
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        None
    }

    #[tokio::test]
    async fn stopping_a_dead_bot_kills_what_it_left_running() {
        let p = LocalPlatform::new(
            sh("sleep 300 & echo $! > \"$MARKER_DIR/child\"; wait"),
            Duration::from_secs(5),
            None,
        );
        let dir = tempfile::tempdir().unwrap();
        let mut l = launch("b-orphans");
        l.env.insert("MARKER_DIR".into(), dir.path().display().to_string());
        let launched = p.deploy(&l).await.unwrap();
        let (pid, _) = parse_identifier(&launched.identifier).unwrap();
        let child_file = dir.path().join("child");
        for _ in 0..200 {
            if std::fs::read_to_string(&child_file).is_ok_and(|s| s.ends_with('\n')) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let child: i32 = std::fs::read_to_string(&child_file).unwrap().trim().parse().unwrap();
        // The bot alone is killed, as by `kill -9`; its child lives on in the group.
        nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        for _ in 0..200 {
            if !alive(&launched.identifier) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(start_time(child).is_some(), "the orphan is still there before the stop");
        p.stop(&launched.identifier).await.unwrap();
        for _ in 0..200 {
            if start_time(child).is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the orphaned child {child} survived the stop");
    }

    /// The bot alone is asked to stop (its browser must still work while it leaves the
    /// meeting); what it leaves behind is killed once it has exited.
    #[tokio::test]
    async fn stop_signals_the_bot_alone_then_clears_its_group() {
        // The child notes whether it was signalled; the bot takes a moment to exit on TERM.
        let script = "(trap 'echo signalled > \"$MARKER_DIR/child-term\"; exit 0' TERM; \
                      echo $$ > /dev/null; sleep 300 & wait) & echo $! > \"$MARKER_DIR/child\"; \
                      trap 'sleep 0.3; exit 0' TERM; wait";
        let p = LocalPlatform::new(sh(script), Duration::from_secs(5), None);
        let dir = tempfile::tempdir().unwrap();
        let mut l = launch("b-leader");
        l.env.insert("MARKER_DIR".into(), dir.path().display().to_string());
        let launched = p.deploy(&l).await.unwrap();
        let child_file = dir.path().join("child");
        for _ in 0..200 {
            if std::fs::read_to_string(&child_file).is_ok_and(|s| s.ends_with('\n')) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let child: i32 = std::fs::read_to_string(&child_file).unwrap().trim().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        p.stop(&launched.identifier).await.unwrap();
        assert!(!alive(&launched.identifier));
        assert!(
            !dir.path().join("child-term").exists(),
            "the bot's helpers were not signalled while it was stopping"
        );
        for _ in 0..200 {
            if start_time(child).is_none() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the bot's helper {child} outlived it");
    }

    /// `kill -9` of a bot that runs Xvfb and writes temporary files: the release (`stop`)
    /// kills what it left running and removes its private directory and the X lock and
    /// socket — also from a restarted server (a fresh platform).
    #[tokio::test]
    async fn the_release_after_kill_9_leaves_no_temporary_files_nor_x_lock() {
        if which("Xvfb").is_none() {
            eprintln!("Xvfb is not installed; skipping");
            return;
        }
        let base = tempfile::tempdir().unwrap();
        // A display number of its own: not the recorder's range (99–162).
        let n = 300 + std::process::id() % 600;
        let script = format!(
            "mkdir -p \"$TMPDIR/chromium-profile\" && echo data > \"$TMPDIR/chromium-profile/Cookies\"; \
             Xvfb :{n} -nolisten tcp -noreset >/dev/null 2>&1 & \
             echo {n} > \"$MEEBOTER_BOT_TMPDIR/x-display\"; \
             echo \"$TMPDIR\" > \"$MARKER_DIR/tmpdir\"; wait"
        );
        let p = LocalPlatform::new(sh(&script), Duration::from_secs(5), None).with_temp_base(base.path().into());
        let marker = tempfile::tempdir().unwrap();
        let mut l = launch("b-kill9");
        l.env.insert("MARKER_DIR".into(), marker.path().display().to_string());
        let launched = p.deploy(&l).await.unwrap();
        let private = p.private_dir("b-kill9", 1);
        let lock = PathBuf::from(format!("/tmp/.X{n}-lock"));
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{n}"));
        for _ in 0..500 {
            if lock.exists() && socket.exists() && marker.path().join("tmpdir").exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(lock.exists(), "Xvfb :{n} started");
        let tmpdir = std::fs::read_to_string(marker.path().join("tmpdir")).unwrap();
        assert_eq!(Path::new(tmpdir.trim()), private, "TMPDIR is the private directory");
        assert!(private.join("chromium-profile/Cookies").exists());
        let (pid, _) = parse_identifier(&launched.identifier).unwrap();
        nix::sys::signal::kill(Pid::from_raw(pid), Signal::SIGKILL).unwrap();
        for _ in 0..200 {
            if !alive(&launched.identifier) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // A restarted server releases it.
        let fresh = LocalPlatform::new(sh("true"), Duration::from_secs(1), None).with_temp_base(base.path().into());
        fresh.stop(&launched.identifier).await.unwrap();
        assert!(!private.exists(), "the private directory is removed");
        assert_eq!(
            std::fs::read_dir(base.path()).unwrap().count(),
            0,
            "nothing of the bot is left in the temp base"
        );
        assert!(!lock.exists(), "the dead Xvfb's lock is removed");
        assert!(!socket.exists(), "the dead Xvfb's socket is removed");
    }

    /// A normal exit: the release removes the private directory too.
    #[tokio::test]
    async fn the_release_after_a_normal_exit_removes_the_private_directory() {
        let base = tempfile::tempdir().unwrap();
        let p = LocalPlatform::new(sh("echo x > \"$TMPDIR/part.m4s\""), Duration::from_secs(5), None)
            .with_temp_base(base.path().into());
        let launched = p.deploy(&launch("b-normal")).await.unwrap();
        for _ in 0..200 {
            if !alive(&launched.identifier) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(p.private_dir("b-normal", 1).join("part.m4s").exists());
        p.stop(&launched.identifier).await.unwrap();
        assert_eq!(std::fs::read_dir(base.path()).unwrap().count(), 0);
    }

    fn which(program: &str) -> Option<PathBuf> {
        std::env::var_os("PATH")?
            .to_str()?
            .split(':')
            .map(|d| Path::new(d).join(program))
            .find(|p| p.is_file())
    }

    fn sh(script: &str) -> Vec<String> {
        vec!["/bin/sh".into(), "-c".into(), script.into()]
    }

    #[tokio::test]
    async fn runs_with_only_the_bot_environment_and_logs_output() {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        // The test process has CARGO_MANIFEST_DIR set (by cargo); the child must not see it.
        assert!(std::env::var("CARGO_MANIFEST_DIR").is_ok());
        let script = "echo \"id=$BOT_ID leak=${CARGO_MANIFEST_DIR:-none}\"; echo oops >&2";
        let p = LocalPlatform::new(sh(script), Duration::from_secs(2), Some(tx));
        let launched = p.deploy(&launch("b1")).await.unwrap();
        let mut lines = Vec::new();
        while lines.len() < 2 {
            lines.push(
                tokio::time::timeout(Duration::from_secs(5), rx.recv())
                    .await
                    .unwrap()
                    .unwrap(),
            );
        }
        lines.sort_by_key(|l| l.1);
        assert_eq!(lines[0], ("b1".to_string(), "info", "id=b1 leak=none".to_string()));
        assert_eq!(lines[1].2, "oops");
        for _ in 0..100 {
            if matches!(
                p.observe(&launched.identifier).await.unwrap(),
                InstanceState::Stopped { .. }
            ) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            p.observe(&launched.identifier).await.unwrap(),
            InstanceState::Stopped {
                reason: "process exited with code 0".into()
            }
        );
        p.stop(&launched.identifier).await.unwrap();
    }

    #[tokio::test]
    async fn stop_terminates_then_kills_and_is_idempotent() {
        let p = LocalPlatform::new(sh("trap '' TERM; sleep 30"), Duration::from_millis(300), None);
        let launched = p.deploy(&launch("b2")).await.unwrap();
        assert_eq!(p.observe(&launched.identifier).await.unwrap(), InstanceState::Running);
        // Found again by its marker, so a retried deploy does not start a second one.
        assert_eq!(found(&p, "b2").await, Some(launched.clone()));
        assert_eq!(p.deploy(&launch("b2")).await.unwrap(), launched);
        p.stop(&launched.identifier).await.unwrap();
        assert!(!alive(&launched.identifier));
        p.stop(&launched.identifier).await.unwrap();
        p.stop("not-an-identifier").await.unwrap();
        // A fresh platform (a restarted server) sees it as gone.
        let fresh = LocalPlatform::new(sh("true"), Duration::from_secs(1), None);
        assert_eq!(fresh.observe(&launched.identifier).await.unwrap(), InstanceState::Gone);
    }

    #[tokio::test]
    async fn a_restarted_server_adopts_running_children() {
        let p = LocalPlatform::new(sh("sleep 30"), Duration::from_secs(1), None);
        let launched = p.deploy(&launch("b3")).await.unwrap();
        let fresh = LocalPlatform::new(sh("true"), Duration::from_secs(1), None);
        assert_eq!(
            fresh.observe(&launched.identifier).await.unwrap(),
            InstanceState::Running
        );
        assert_eq!(found(&fresh, "b3").await, Some(launched.clone()));
        fresh.stop(&launched.identifier).await.unwrap();
        assert_eq!(fresh.observe(&launched.identifier).await.unwrap(), InstanceState::Gone);
    }

    #[tokio::test]
    async fn a_missing_program_is_a_permanent_failure() {
        let p = LocalPlatform::new(vec!["/nonexistent/meeboter".into()], Duration::from_secs(1), None);
        assert!(matches!(
            p.deploy(&launch("b4")).await,
            Err(PlatformError::Permanent(_))
        ));
    }
}

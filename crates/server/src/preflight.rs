//! Start-up checks of this machine: what the local platform's bots need (Chromium, and for
//! recordings Xvfb, PulseAudio, ffmpeg) and whether storage takes a write. Problems are
//! logged at start, listed by `config check`, returned by `/readyz` and shown on the
//! infrastructure page — so the first bot does not fail on something knowable.
//!
//! The findings describe this machine, so each replica keeps its own (in memory, refreshed
//! every [`REFRESH_EVERY`]); they are never shared state.

use crate::config::{Config, PlatformKind};
use meeboter_storage::Storage;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use utoipa::ToSchema;

/// How long the storage write probe may take.
pub const STORAGE_PROBE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a running server checks again (a tool installed, storage back).
pub const REFRESH_EVERY: Duration = Duration::from_secs(60);

/// One thing that will make bots or recordings fail.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Problem {
    /// `chromium`, `Xvfb`, `pulseaudio`, `ffmpeg`, `ffprobe`, `local_bot_command`, `temp_dir`,
    /// `storage` or `transcription`.
    pub component: String,
    /// What is wrong, what it breaks and how to fix it.
    pub message: String,
}

/// The latest findings of this replica.
#[derive(Debug, Clone, Default)]
pub struct Preflight {
    problems: Arc<RwLock<Vec<Problem>>>,
}

impl Preflight {
    pub fn problems(&self) -> Vec<Problem> {
        self.problems.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Checks again and keeps the result; logs what changed.
    pub async fn refresh(&self, config: &Config, storage: &Storage) -> Vec<Problem> {
        let found = check(config, storage).await;
        let mut held = self.problems.write().unwrap_or_else(|p| p.into_inner());
        for p in found.iter().filter(|p| !held.contains(p)) {
            tracing::error!(component = %p.component, "{}", p.message);
        }
        for p in held.iter().filter(|p| !found.contains(p)) {
            tracing::info!(component = %p.component, "resolved: {}", p.message);
        }
        *held = found.clone();
        found
    }

    /// Re-checks every [`REFRESH_EVERY`] until the task is dropped.
    pub fn spawn_refresher(&self, config: Arc<Config>, storage: Storage) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(REFRESH_EVERY).await;
                this.refresh(&config, &storage).await;
            }
        })
    }
}

/// Every problem found now: the local platform's tools (when it is configured) and a storage
/// write probe.
pub async fn check(config: &Config, storage: &Storage) -> Vec<Problem> {
    let mut problems = local_platform_problems(config);
    problems.extend(transcription_problem(config, std::env::var("PATH").ok().as_deref()));
    if let Some(p) = storage_problem(storage).await {
        problems.push(p);
    }
    problems
}

/// What `config check` reports besides the settings: the local platform's tools and storage.
/// A filesystem store is judged without creating anything (the directory, or the nearest
/// existing parent it would be created in, must be writable); S3 is connected to and takes a
/// probe object that is deleted again.
pub async fn offline_check(config: &Config) -> Vec<Problem> {
    let mut problems = local_platform_problems(config);
    problems.extend(transcription_problem(config, std::env::var("PATH").ok().as_deref()));
    let storage_problem = match &config.storage {
        meeboter_storage::StorageSettings::Filesystem { root } => filesystem_problem(root),
        settings => match tokio::time::timeout(STORAGE_PROBE_TIMEOUT, Storage::connect(settings.clone())).await {
            Ok(Ok(storage)) => storage_problem(&storage).await,
            Ok(Err(e)) => Some(Problem {
                component: "storage".into(),
                message: format!("storage (s3) cannot be opened: {e}"),
            }),
            Err(_) => Some(Problem {
                component: "storage".into(),
                message: format!(
                    "storage (s3) did not answer within {} s; check S3_ENDPOINT",
                    STORAGE_PROBE_TIMEOUT.as_secs()
                ),
            }),
        },
    };
    problems.extend(storage_problem);
    problems
}

/// The audio transcription providers (`TRANSCRIPTION_OPENAI_URL`,
/// `TRANSCRIPTION_DEEPGRAM_API_KEY`) run ffmpeg on this server to extract a recording's
/// audio; without it every such transcript would fail.
pub fn transcription_problem(config: &Config, path: Option<&str>) -> Option<Problem> {
    let setting = match (&config.transcription.openai, &config.transcription.deepgram) {
        (Some(_), _) => "TRANSCRIPTION_OPENAI_URL",
        (None, Some(_)) => "TRANSCRIPTION_DEEPGRAM_API_KEY",
        (None, None) => return None,
    };
    let found = path
        .map(|p| std::env::split_paths(p).any(|d| d.join("ffmpeg").is_file()))
        .unwrap_or(false);
    (!found).then(|| Problem {
        component: "transcription".into(),
        message: format!(
            "{setting} is set but ffmpeg is not on this server's PATH; audio transcripts would fail \
             (Debian/Ubuntu: apt-get install ffmpeg)"
        ),
    })
}

fn filesystem_problem(root: &std::path::Path) -> Option<Problem> {
    let mut dir = root;
    let existing = loop {
        if dir.exists() {
            break dir;
        }
        match dir.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => dir = parent,
            _ => break std::path::Path::new("."),
        }
    };
    let problem = |why: String| {
        Some(Problem {
            component: "storage".into(),
            message: format!(
                "STORAGE_PATH {}: {why}; recordings, screenshots and logs would be lost",
                root.display()
            ),
        })
    };
    if !existing.is_dir() {
        return problem(format!("{} is not a directory", existing.display()));
    }
    match tempfile::Builder::new()
        .prefix(".meeboter-write-probe-")
        .tempfile_in(existing)
    {
        Ok(_) => None,
        Err(e) => problem(format!("cannot write in {}: {e}", existing.display())),
    }
}

/// What the local platform's bots would miss. With a custom `LOCAL_BOT_COMMAND` only its
/// program is checked, unless it runs `… bot` (Meeboter's bot runtime, which needs the tools).
pub fn local_platform_problems(config: &Config) -> Vec<Problem> {
    if !config.platforms.order.contains(&PlatformKind::Local) {
        return Vec::new();
    }
    let path = std::env::var("PATH").ok();
    let mut problems = Vec::new();
    let runs_bot_runtime = match &config.local_bot_command {
        None => true,
        Some(command) => {
            if let Some(program) = command.first()
                && !program_runnable(program, path.as_deref())
            {
                problems.push(Problem {
                    component: "local_bot_command".into(),
                    message: format!(
                        "LOCAL_BOT_COMMAND runs {program}, which is not an executable file or on PATH; \
                         every local bot would fail deploy_failed"
                    ),
                });
            }
            command.get(1).is_some_and(|a| a == "bot")
        }
    };
    // Each local bot's private temporary directory is made under the server's.
    let temp = std::env::temp_dir();
    if let Err(e) = tempfile::Builder::new()
        .prefix(".meeboter-write-probe-")
        .tempfile_in(&temp)
    {
        problems.push(Problem {
            component: "temp_dir".into(),
            message: format!(
                "cannot write in the temporary directory {} (TMPDIR): {e}; local bots keep their browser \
                 profile and recording parts there and would not start",
                temp.display()
            ),
        });
    }
    if runs_bot_runtime {
        let chromium_path = std::env::var("CHROMIUM_PATH").ok();
        for missing in meeboter_platforms::prerequisites::missing_tools(chromium_path.as_deref(), path.as_deref()) {
            problems.push(Problem {
                component: missing.tool.into(),
                message: missing.message,
            });
        }
    }
    problems
}

fn program_runnable(program: &str, path: Option<&str>) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let runnable =
        |p: &std::path::Path| std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if program.contains('/') {
        return runnable(std::path::Path::new(program));
    }
    path.is_some_and(|p| std::env::split_paths(p).any(|d| runnable(&d.join(program))))
}

/// Writes, reads back and deletes a small object; `None` when all of that works in time.
pub async fn storage_problem(storage: &Storage) -> Option<Problem> {
    let key = format!("system/write-probe-{}", meeboter_core::new_id());
    let payload = bytes::Bytes::from_static(b"meeboter storage write probe\n");
    let probe = async {
        storage.put(&key, payload.clone(), "text/plain").await?;
        let read = storage.get(&key, None).await?.bytes().await?;
        storage.delete(&key).await?;
        if read != payload {
            return Err(meeboter_storage::StorageError::Other(
                "an object read back differs from what was written".into(),
            ));
        }
        Ok(())
    };
    let failure = match tokio::time::timeout(STORAGE_PROBE_TIMEOUT, probe).await {
        Ok(Ok(())) => return None,
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {} s", STORAGE_PROBE_TIMEOUT.as_secs()),
    };
    let fix = match storage.backend() {
        "filesystem" => "check that STORAGE_PATH exists and the server's user may write there",
        _ => "check S3_ENDPOINT, S3_BUCKET_NAME and the credentials (the key needs PutObject, GetObject, DeleteObject)",
    };
    Some(Problem {
        component: "storage".into(),
        message: format!(
            "storage ({}) does not take a write: {failure}; recordings, screenshots and logs would be lost — {fix}",
            storage.backend()
        ),
    })
}

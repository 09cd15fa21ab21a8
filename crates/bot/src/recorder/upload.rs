//! Sends the recording to the server while the call goes on, one chunk at a time, in
//! order, as soon as ffmpeg has finished it.
//!
//! Per chunk (a part's `init.mp4` is `seq` 0, its segments 1, 2, … in playlist order):
//! announce it (`POST recording/chunks` with size and SHA-256), `PUT` the bytes where the
//! answer says (skipped when the answer is `upload: null`: the server has these bytes),
//! confirm it (`POST recording/chunks/complete`), and only then delete the local file.
//! Every step is repeated after transport errors, 5xx and 429, with backoff and jitter,
//! for as long as the bot runs, so a server or storage outage delays the upload but loses
//! nothing still on disk; repeating a step after a lost answer is harmless (the server
//! answers by chunk identity and checksum). A 409 (the server has that chunk with other
//! bytes) or a refusal skips the chunk without overwriting anything; a refused `PUT` or
//! `complete` starts the chunk over, up to [`UploadSettings::rounds`] times. A 401 means the
//! bot is over: uploading stops. Empty files are never sent.
//!
//! A part number is given to an ffmpeg run when its first segment is finished, so parts
//! are numbered 1, 2, … without gaps, and a run that died before finishing a segment is
//! not a part. Memory stays constant: one chunk (a few hundred KB) is held at a time.

use super::capture::{CaptureState, read_playlist};
use crate::control::{ChunkInfo, ControlClient, ControlError, MissingChunks};
use rand::Rng;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// How the uploader paces itself.
#[derive(Debug, Clone, Copy)]
pub struct UploadSettings {
    /// How often the playlist is read for new segments (also woken by new runs).
    pub poll_every: Duration,
    /// Pause after the first failed attempt of a step; it doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
    /// How often a chunk is started over after a refused `PUT` or `complete`.
    pub rounds: u32,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self {
            poll_every: Duration::from_secs(1),
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(15),
            rounds: 3,
        }
    }
}

/// What the uploader has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UploadProgress {
    /// Parts numbered so far (each with its init section announced).
    pub parts: u32,
    /// Chunks the server confirmed (init sections included).
    pub uploaded: u32,
    /// Chunks given up on (409, refused, unreadable or empty).
    pub skipped: u32,
    /// Bytes of the confirmed chunks.
    pub bytes: u64,
    /// The server refused the bot's token: nothing more can be sent.
    pub refused: bool,
    /// Every chunk of a finished capture has been dealt with.
    pub done: bool,
    /// The run directory of each numbered part.
    pub part_dirs: Vec<(u32, PathBuf)>,
    /// `(part, seq)` of every chunk the server confirmed.
    pub confirmed: BTreeSet<(u32, u32)>,
}

/// What of a capture never got confirmed: the number of parts the recording has (runs the
/// uploader never reached count too) and the missing spans, with where they start in their
/// part and how long they play (from the final playlists). A part without its init section
/// is missing whole. Local files are never touched here.
pub async fn unsent(runs: &[PathBuf], progress: &UploadProgress) -> (u32, Vec<MissingChunks>) {
    let mut parts = progress.parts;
    let mut missing = Vec::new();
    for dir in runs {
        let playlist = read_playlist(dir).await;
        if playlist.segments.is_empty() {
            continue; // a run that finished no segment is no part
        }
        let part = match progress.part_dirs.iter().find(|(_, d)| d == dir) {
            Some((p, _)) => *p,
            None => {
                parts += 1;
                parts
            }
        };
        let last = u32::try_from(playlist.segments.len()).unwrap_or(u32::MAX);
        let sent = |seq: u32| progress.confirmed.contains(&(part, seq));
        if !sent(0) {
            let duration_ms = playlist.segments.iter().map(|s| s.duration_ms).sum();
            missing.push(MissingChunks {
                part,
                from_seq: 0,
                to_seq: last,
                start_ms: 0,
                duration_ms,
            });
            continue;
        }
        let mut at_ms = 0u64;
        let mut open: Option<MissingChunks> = None;
        for (seq, segment) in (1..).zip(&playlist.segments) {
            if sent(seq) {
                missing.extend(open.take());
            } else {
                let span = open.get_or_insert(MissingChunks {
                    part,
                    from_seq: seq,
                    to_seq: seq,
                    start_ms: at_ms,
                    duration_ms: 0,
                });
                span.to_seq = seq;
                span.duration_ms += segment.duration_ms;
            }
            at_ms += segment.duration_ms;
        }
        missing.extend(open);
    }
    (parts, missing)
}

/// The uploader running as a task.
pub struct UploadTask {
    task: tokio::task::JoinHandle<()>,
    progress: Arc<Mutex<UploadProgress>>,
}

impl UploadTask {
    /// Starts uploading what `capture` produces, as `content_type` chunks.
    pub fn spawn(
        client: ControlClient,
        content_type: &'static str,
        capture: watch::Receiver<CaptureState>,
        settings: UploadSettings,
    ) -> UploadTask {
        let progress = Arc::new(Mutex::new(UploadProgress::default()));
        let uploader = Uploader {
            client,
            content_type,
            settings,
            progress: progress.clone(),
        };
        let task = tokio::spawn(uploader.run(capture));
        UploadTask { task, progress }
    }

    /// What has been done so far.
    pub fn progress(&self) -> UploadProgress {
        self.progress.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Waits until everything is uploaded (the capture must be stopping) or `deadline`
    /// passes, when what is left is abandoned (and stays on disk until the bot exits;
    /// [`unsent`] says what it was). Nothing unconfirmed is deleted before `deadline`.
    pub async fn finish_by(mut self, deadline: Instant) -> UploadProgress {
        if tokio::time::timeout_at(deadline, &mut self.task).await.is_err() {
            self.task.abort();
            tracing::warn!("the recording upload ran out of time; the rest of the recording is lost");
        }
        self.progress()
    }
}

impl Drop for UploadTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// How one chunk ended.
enum Sent {
    Stored(u64),
    Skipped,
    /// 401: the bot is over.
    Refused,
}

struct Uploader {
    client: ControlClient,
    content_type: &'static str,
    settings: UploadSettings,
    progress: Arc<Mutex<UploadProgress>>,
}

impl Uploader {
    fn update(&self, f: impl FnOnce(&mut UploadProgress)) {
        f(&mut self.progress.lock().unwrap_or_else(|p| p.into_inner()));
    }

    async fn run(self, mut capture: watch::Receiver<CaptureState>) {
        let mut run_index = 0usize;
        // Segments of the current run dealt with, and the run's part number once it has one.
        let mut handled = 0usize;
        let mut part: Option<u32> = None;
        loop {
            // The state first, then the playlist: a run seen as over has its final playlist.
            let state = capture.borrow_and_update().clone();
            let sender_gone = capture.has_changed().is_err();
            let Some(dir) = state.runs.get(run_index) else {
                if state.finished || sender_gone {
                    break;
                }
                self.wait(&mut capture).await;
                continue;
            };
            let run_over = run_index + 1 < state.runs.len() || state.finished || sender_gone;
            let playlist = read_playlist(dir).await;
            if playlist.segments.len() > handled {
                let part = match part {
                    Some(p) => p,
                    None => {
                        let p = self.progress().parts + 1;
                        self.update(|g| {
                            g.parts = p;
                            g.part_dirs.push((p, dir.clone()));
                        });
                        part = Some(p);
                        tracing::info!(part = p, dir = %dir.display(), "uploading a new recording part");
                        let init = playlist.init.as_deref().unwrap_or("init.mp4");
                        if self.send(p, 0, &dir.join(init), None).await.is_err() {
                            return;
                        }
                        p
                    }
                };
                for (i, segment) in playlist.segments.iter().enumerate().skip(handled) {
                    let seq = u32::try_from(i + 1).unwrap_or(u32::MAX);
                    if self
                        .send(part, seq, &dir.join(&segment.uri), Some(segment.duration_ms))
                        .await
                        .is_err()
                    {
                        return;
                    }
                    handled = i + 1;
                }
                continue;
            }
            if run_over {
                if part.is_none() {
                    let dir = dir.display();
                    tracing::warn!(%dir, "an ffmpeg run ended before finishing a segment; nothing to upload");
                }
                run_index += 1;
                handled = 0;
                part = None;
                continue;
            }
            self.wait(&mut capture).await;
        }
        self.update(|g| g.done = true);
        let p = self.progress();
        tracing::info!(
            parts = p.parts,
            uploaded = p.uploaded,
            skipped = p.skipped,
            bytes = p.bytes,
            "recording uploaded"
        );
    }

    fn progress(&self) -> UploadProgress {
        self.progress.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Until the capture changes or the next look at the playlist is due.
    async fn wait(&self, capture: &mut watch::Receiver<CaptureState>) {
        tokio::select! {
            changed = capture.changed() => {
                if changed.is_err() {
                    tokio::time::sleep(self.settings.poll_every).await;
                }
            }
            _ = tokio::time::sleep(self.settings.poll_every) => {}
        }
    }

    /// Uploads one file as chunk (`part`, `seq`); `Err` when the bot's token was refused.
    async fn send(&self, part: u32, seq: u32, path: &Path, duration_ms: Option<u64>) -> Result<(), ()> {
        match self.send_chunk(part, seq, path, duration_ms).await {
            Sent::Stored(bytes) => {
                self.update(|g| {
                    g.confirmed.insert((part, seq));
                    g.uploaded += 1;
                    g.bytes += bytes;
                });
                Ok(())
            }
            Sent::Skipped => {
                self.update(|g| g.skipped += 1);
                Ok(())
            }
            Sent::Refused => {
                tracing::warn!("the server refused the bot's token; the recording upload stops");
                self.update(|g| g.refused = true);
                Err(())
            }
        }
    }

    async fn send_chunk(&self, part: u32, seq: u32, path: &Path, duration_ms: Option<u64>) -> Sent {
        let bytes = match tokio::fs::read(path).await {
            Ok(b) => b,
            Err(e) => {
                let path = path.display();
                tracing::error!(part, seq, %path, error = %e, "cannot read a recording chunk; skipping it");
                return Sent::Skipped;
            }
        };
        if bytes.is_empty() {
            tracing::warn!(part, seq, path = %path.display(), "an empty recording chunk; skipping it");
            return Sent::Skipped;
        }
        let info = ChunkInfo {
            part,
            seq,
            size_bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
            duration_ms,
            content_type: self.content_type.to_string(),
        };
        let bytes = bytes::Bytes::from(bytes);
        for round in 1..=self.settings.rounds.max(1) {
            let last_round = round == self.settings.rounds.max(1);
            let target = match self.persist(|| self.client.recording_chunk(&info)).await {
                Ok(target) => target,
                Err(ControlError::Unauthorized(_)) => return Sent::Refused,
                Err(ControlError::Conflict { message, .. }) => {
                    tracing::warn!(part, seq, %message, "the server has this chunk with other bytes; skipping it");
                    return Sent::Skipped;
                }
                Err(e) => {
                    tracing::warn!(part, seq, error = %e, "the server refused a recording chunk; skipping it");
                    return Sent::Skipped;
                }
            };
            if let Some(target) = target
                && let Err(e) = self.persist(|| self.client.put_chunk(&target, bytes.clone())).await
            {
                tracing::warn!(part, seq, round, error = %e, "a recording chunk upload was refused");
                if last_round {
                    break;
                }
                tokio::time::sleep(self.backoff(round)).await;
                continue;
            }
            match self.persist(|| self.client.recording_chunk_complete(&info)).await {
                Ok(()) => {
                    if let Err(e) = tokio::fs::remove_file(path).await {
                        tracing::debug!(path = %path.display(), error = %e, "cannot remove an uploaded chunk");
                    }
                    tracing::debug!(part, seq, size = info.size_bytes, "recording chunk uploaded");
                    return Sent::Stored(info.size_bytes);
                }
                Err(ControlError::Unauthorized(_)) => return Sent::Refused,
                Err(e) => {
                    tracing::warn!(part, seq, round, error = %e, "a recording chunk was not confirmed");
                    if last_round {
                        break;
                    }
                    tokio::time::sleep(self.backoff(round)).await;
                }
            }
        }
        tracing::error!(part, seq, "a recording chunk could not be stored; skipping it");
        Sent::Skipped
    }

    /// The pause before attempt `n + 1` (1-based), with ±50 % jitter.
    fn backoff(&self, n: u32) -> Duration {
        let base = self
            .settings
            .first_backoff
            .saturating_mul(2u32.saturating_pow(n.saturating_sub(1).min(16)))
            .min(self.settings.max_backoff);
        base.mul_f64(rand::rng().random_range(0.5..1.5))
    }

    /// Repeats `step` while the server or storage is unreachable (transport error, 5xx,
    /// 429), for as long as the task runs; any other answer is returned.
    async fn persist<T, F>(&self, step: impl Fn() -> F) -> Result<T, ControlError>
    where
        F: Future<Output = Result<T, ControlError>>,
    {
        let mut attempt = 0u32;
        let started = Instant::now();
        loop {
            match step().await {
                Err(ControlError::Unreachable(reason)) => {
                    attempt += 1;
                    if attempt == 1 || attempt.is_multiple_of(10) {
                        tracing::warn!(
                            %reason,
                            since_secs = started.elapsed().as_secs(),
                            "the recording upload is waiting for the server"
                        );
                    }
                    tokio::time::sleep(self.backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }
}

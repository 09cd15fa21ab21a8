//! The real-time audio tap: while the bot is in the call, the meeting's audio as 16 kHz
//! mono 16-bit PCM, cut into short segments and sent to the server
//! (`PUT /api/bot/v1/audio/{seq}`) for real-time transcription.
//!
//! **Capture.** A second ffmpeg on the private PulseAudio server's monitor source, apart
//! from the recording's:
//!
//! ```text
//! PULSE_SERVER=unix:D/native ffmpeg -hide_banner -loglevel error -nostdin \
//!   -f pulse -fragment_size 3200 -i meeboter_sink.monitor -ac 1 -ar 16000 \
//!   -flush_packets 1 -f s16le pipe:1
//! ```
//!
//! `-fragment_size 3200` asks PulseAudio for 100 ms reads and `-flush_packets 1` makes
//! ffmpeg write each one at once (its output buffer would otherwise hold about a second).
//!
//! A separate process rather than a second output of the recording's ffmpeg: it works the
//! same with audio-only and video recordings, a recorder restart does not cut the
//! real-time stream (nor the other way round), and it costs little (measured in
//! `BENCHMARKS.md`: well under 1 % of a core). PulseAudio gives every client of a monitor
//! the same samples.
//!
//! **Segments.** About [`TapSettings::target`] long: cut at the first pause (a quiet 20 ms
//! frame) after `target - slack` as soon as it is heard, else at the quietest frame before
//! `target + slack` (cheap: sums over frames), so a word is rarely cut in two and a pause
//! costs no waiting. Each carries its start on the call clock: the wall time of the
//! stream's first sample plus the samples counted since (no drift from read jitter).
//! Segments that are silence throughout are not sent (no provider cost, no hallucinated
//! "thank you"); they take no sequence number.
//!
//! **Delivery.** A bounded queue ([`TapSettings::capacity`] segments): when the server is
//! unreachable longer than the queue holds, the oldest segment is dropped, counted and
//! logged, and the total is reported with `POST audio/finish` (the server notes the gap
//! on the transcript). The sender retries each segment with backoff and jitter across
//! server restarts; a segment's PUT is idempotent by its number, so a retry after a lost
//! answer is harmless. A 401 or `transcript_closed` ends the stream.

use crate::control::{ControlClient, ControlError};
use rand::Rng;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, watch};
use tokio::time::Instant;

/// Samples per second of the tap.
pub const RATE: u32 = 16_000;
/// Samples in one 20 ms frame (the unit of the silence search).
const FRAME: usize = (RATE / 50) as usize;
/// A segment whose loudest sample is below this is silence (about −54 dBFS).
pub const SILENCE_PEAK: i16 = 64;
/// A 20 ms frame whose mean amplitude is below this is a pause to cut at (about −50 dBFS).
const QUIET_MEAN: u64 = 100;

/// How the tap cuts and sends.
#[derive(Debug, Clone, Copy)]
pub struct TapSettings {
    /// Usual segment length.
    pub target: Duration,
    /// How far from `target` a cut may move to find a quiet frame.
    pub slack: Duration,
    /// Segments held while the server cannot take them (then the oldest is dropped).
    pub capacity: usize,
    /// First pause after a failed delivery; doubles up to `max_backoff`.
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for TapSettings {
    /// 5 s segments; 120 queued = 10 minutes of audio, about 19 MB at most.
    fn default() -> Self {
        TapSettings {
            target: Duration::from_secs(5),
            slack: Duration::from_secs(1),
            capacity: 120,
            first_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(15),
        }
    }
}

/// One cut segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PcmSegment {
    /// Epoch ms of its first sample.
    pub start_ms: i64,
    pub samples: Vec<i16>,
}

impl PcmSegment {
    pub fn duration_ms(&self) -> u64 {
        (self.samples.len() as u64 * 1000).div_ceil(u64::from(RATE))
    }

    pub fn is_silent(&self) -> bool {
        self.samples.iter().all(|s| s.unsigned_abs() < SILENCE_PEAK as u16)
    }

    /// As a WAV file (16 kHz mono 16-bit PCM).
    pub fn wav(&self) -> Vec<u8> {
        wav(&self.samples)
    }
}

/// A WAV file of `samples` (16 kHz mono 16-bit).
pub fn wav(samples: &[i16]) -> Vec<u8> {
    let data_len = (samples.len() * 2) as u32;
    let mut out = Vec::with_capacity(44 + data_len as usize);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes()); // PCM
    out.extend_from_slice(&1u16.to_le_bytes()); // mono
    out.extend_from_slice(&RATE.to_le_bytes());
    out.extend_from_slice(&(RATE * 2).to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&data_len.to_le_bytes());
    for s in samples {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Cuts a PCM stream into segments (pure: fed samples, hands out segments).
#[derive(Debug)]
pub struct Cutter {
    settings: TapSettings,
    /// Epoch ms of the first sample of `pending`.
    start_ms: f64,
    pending: Vec<i16>,
}

impl Cutter {
    /// A stream whose first sample was heard at `start_ms`.
    pub fn new(settings: TapSettings, start_ms: i64) -> Cutter {
        Cutter {
            settings,
            start_ms: start_ms as f64,
            pending: Vec::new(),
        }
    }

    fn samples(d: Duration) -> usize {
        (d.as_millis() as usize) * (RATE as usize) / 1000
    }

    /// Adds samples; returns the segments completed.
    pub fn push(&mut self, samples: &[i16]) -> Vec<PcmSegment> {
        self.pending.extend_from_slice(samples);
        let max = Self::samples(self.settings.target + self.settings.slack);
        let min = Self::samples(self.settings.target.saturating_sub(self.settings.slack)).max(FRAME);
        let mut out = Vec::new();
        loop {
            // A quiet frame past `min`: cut there at once (no waiting for the window to
            // close: that wait would be latency).
            let mut at = min;
            let mut early = None;
            while at + FRAME <= self.pending.len().min(max) {
                let energy: u64 = self.pending[at..at + FRAME]
                    .iter()
                    .map(|s| u64::from(s.unsigned_abs()))
                    .sum();
                if energy < QUIET_MEAN * FRAME as u64 {
                    early = Some(at + FRAME / 2);
                    break;
                }
                at += FRAME;
            }
            if let Some(cut) = early {
                out.push(self.take(cut));
                continue;
            }
            if self.pending.len() < max {
                break;
            }
            // No pause in the window: the quietest 20 ms frame in [min, max), cut in its middle.
            let mut best = (u64::MAX, max);
            let mut at = min;
            while at + FRAME <= max {
                let energy: u64 = self.pending[at..at + FRAME]
                    .iter()
                    .map(|s| u64::from(s.unsigned_abs()))
                    .sum();
                if energy < best.0 {
                    best = (energy, at + FRAME / 2);
                }
                at += FRAME;
            }
            out.push(self.take(best.1));
        }
        out
    }

    fn take(&mut self, n: usize) -> PcmSegment {
        let rest = self.pending.split_off(n);
        let samples = std::mem::replace(&mut self.pending, rest);
        let seg = PcmSegment {
            start_ms: self.start_ms.round() as i64,
            samples,
        };
        self.start_ms += n as f64 * 1000.0 / f64::from(RATE);
        seg
    }

    /// The end of the stream: what is left (at least 100 ms), if anything.
    pub fn flush(&mut self) -> Option<PcmSegment> {
        let n = self.pending.len();
        (n >= Self::samples(Duration::from_millis(100))).then(|| self.take(n))
    }
}

/// What the tap did, for the bot's log and `audio/finish`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TapSummary {
    /// Segments numbered (sent or dropped).
    pub segments: u64,
    pub sent: u64,
    /// Silent segments not sent.
    pub silent: u64,
    /// Dropped because the queue was full (or left over at the deadline).
    pub dropped: u64,
    pub dropped_ms: u64,
    /// The server refused the stream (transcript closed, token refused).
    pub refused: bool,
    /// `POST audio/finish` was accepted.
    pub reported: bool,
}

struct Queued {
    seq: u64,
    segment: PcmSegment,
}

#[derive(Default)]
struct QueueState {
    items: VecDeque<Queued>,
    next_seq: u64,
    summary: TapSummary,
    /// No more segments will come (capture stopped).
    closed: bool,
}

/// The bounded queue between the capture and the sender.
pub struct SegmentQueue {
    capacity: usize,
    state: Mutex<QueueState>,
    changed: Notify,
}

impl SegmentQueue {
    pub fn new(capacity: usize) -> SegmentQueue {
        SegmentQueue {
            capacity: capacity.max(1),
            state: Mutex::new(QueueState::default()),
            changed: Notify::new(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Queues a segment (numbering it), dropping the oldest when full; silent segments
    /// are counted and not queued.
    pub fn push(&self, segment: PcmSegment) {
        let mut s = self.lock();
        if s.summary.refused {
            return;
        }
        if segment.is_silent() {
            s.summary.silent += 1;
            return;
        }
        let seq = s.next_seq;
        s.next_seq += 1;
        s.summary.segments = s.next_seq;
        if s.items.len() >= self.capacity
            && let Some(old) = s.items.pop_front()
        {
            s.summary.dropped += 1;
            s.summary.dropped_ms += old.segment.duration_ms();
            tracing::warn!(
                seq = old.seq,
                dropped = s.summary.dropped,
                "the audio queue is full (server unreachable); dropped the oldest segment"
            );
        }
        s.items.push_back(Queued { seq, segment });
        drop(s);
        self.changed.notify_one();
    }

    /// No more segments.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_one();
    }

    pub fn len(&self) -> usize {
        self.lock().items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn summary(&self) -> TapSummary {
        self.lock().summary.clone()
    }

    /// The oldest segment (left in the queue until delivered); `None` once closed and
    /// empty.
    async fn front(&self) -> Option<(u64, PcmSegment)> {
        loop {
            let notified = self.changed.notified();
            {
                let s = self.lock();
                if let Some(q) = s.items.front() {
                    return Some((q.seq, q.segment.clone()));
                }
                if s.closed || s.summary.refused {
                    return None;
                }
            }
            notified.await;
        }
    }

    fn delivered(&self, seq: u64) {
        let mut s = self.lock();
        if s.items.front().is_some_and(|q| q.seq == seq) {
            s.items.pop_front();
            s.summary.sent += 1;
        }
    }

    fn refuse(&self) {
        let mut s = self.lock();
        s.summary.refused = true;
        s.items.clear();
    }

    /// Whatever was not delivered counts as dropped (the bot must exit now).
    fn abandon(&self) {
        let mut s = self.lock();
        let items: Vec<Queued> = s.items.drain(..).collect();
        for q in items {
            s.summary.dropped += 1;
            s.summary.dropped_ms += q.segment.duration_ms();
        }
    }
}

/// Sends queued segments in order until the queue is closed and empty (or refused).
pub async fn send_all(client: ControlClient, queue: Arc<SegmentQueue>, settings: TapSettings) {
    let mut backoff = settings.first_backoff;
    while let Some((seq, segment)) = queue.front().await {
        let wav = bytes::Bytes::from(segment.wav());
        match client
            .put_audio(seq, segment.start_ms, segment.duration_ms(), wav)
            .await
        {
            Ok(_) => {
                queue.delivered(seq);
                backoff = settings.first_backoff;
            }
            Err(ControlError::Unauthorized(m)) => {
                tracing::info!(reason = %m, "the server refuses real-time audio now; the audio tap stops sending");
                queue.refuse();
            }
            Err(ControlError::Conflict { code, message, .. }) if code != "segment_conflict" => {
                tracing::info!(%code, reason = %message, "the server takes no more real-time audio");
                queue.refuse();
            }
            Err(e @ (ControlError::Conflict { .. } | ControlError::Rejected { .. })) => {
                // This segment can never be accepted: skip it, keep the stream going.
                tracing::warn!(seq, error = %e, "the server refused an audio segment; skipped");
                queue.delivered(seq);
            }
            Err(ControlError::Unreachable(m)) => {
                tracing::debug!(seq, error = %m, "audio segment not delivered; retrying");
                let jittered = backoff.mul_f64(rand::rng().random_range(0.75..1.25));
                tokio::time::sleep(jittered).await;
                backoff = (backoff * 2).min(settings.max_backoff);
            }
        }
    }
}

/// The ffmpeg command line of the tap.
pub fn ffmpeg_args() -> Vec<String> {
    [
        "-hide_banner",
        "-loglevel",
        "error",
        "-nostdin",
        "-f",
        "pulse",
        "-fragment_size",
        "3200",
        "-i",
        super::audio::MONITOR,
        "-ac",
        "1",
        "-ar",
        "16000",
        "-flush_packets",
        "1",
        "-f",
        "s16le",
        "pipe:1",
    ]
    .map(String::from)
    .to_vec()
}

fn epoch_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Reads ffmpeg's PCM into the cutter and the queue until `stop`; restarts ffmpeg (after
/// a pause) if it dies on its own.
async fn capture(
    ffmpeg: PathBuf,
    pulse_server: String,
    settings: TapSettings,
    queue: Arc<SegmentQueue>,
    mut stop: watch::Receiver<bool>,
    pid: Arc<std::sync::atomic::AtomicU32>,
) {
    let mut pause = Duration::from_millis(500);
    while !*stop.borrow() {
        let child = tokio::process::Command::new(&ffmpeg)
            .args(ffmpeg_args())
            .env("PULSE_SERVER", &pulse_server)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn();
        let mut child = match child {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "cannot start the audio tap's ffmpeg");
                tokio::select! {
                    _ = tokio::time::sleep(pause) => {}
                    _ = stop.changed() => {}
                }
                pause = (pause * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        pid.store(child.id().unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let mut buf = vec![0u8; 6400];
        let mut cutter: Option<Cutter> = None;
        let mut odd: Option<u8> = None;
        let stopped = loop {
            tokio::select! {
                read = stdout.read(&mut buf) => {
                    let n = match read {
                        Ok(0) | Err(_) => break false,
                        Ok(n) => n,
                    };
                    let mut bytes = Vec::with_capacity(n + 1);
                    bytes.extend(odd.take());
                    bytes.extend_from_slice(&buf[..n]);
                    if bytes.len() % 2 == 1 {
                        odd = bytes.pop();
                    }
                    let samples: Vec<i16> = bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect();
                    let cutter = cutter.get_or_insert_with(|| {
                        // The first read holds the samples heard just before it returned.
                        let held_ms = samples.len() as i64 * 1000 / i64::from(RATE);
                        Cutter::new(settings, epoch_ms() - held_ms)
                    });
                    for seg in cutter.push(&samples) {
                        queue.push(seg);
                    }
                }
                _ = stop.changed() => break true,
            }
        };
        let _ = child.start_kill();
        let _ = child.wait().await;
        pid.store(0, std::sync::atomic::Ordering::Relaxed);
        if let Some(last) = cutter.as_mut().and_then(Cutter::flush) {
            queue.push(last);
        }
        if stopped || *stop.borrow() {
            break;
        }
        tracing::warn!("the audio tap's ffmpeg exited; restarting it");
        tokio::select! {
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => {}
        }
        pause = (pause * 2).min(Duration::from_secs(10));
    }
    queue.close();
}

/// A running tap: capture and sender.
pub struct AudioTap {
    stop: watch::Sender<bool>,
    capture: tokio::task::JoinHandle<()>,
    sender: tokio::task::JoinHandle<()>,
    queue: Arc<SegmentQueue>,
    client: ControlClient,
    pid: Arc<std::sync::atomic::AtomicU32>,
}

impl AudioTap {
    /// Starts capturing the sound server at `pulse_server` and sending through `client`.
    pub fn start(ffmpeg: PathBuf, pulse_server: String, client: ControlClient, settings: TapSettings) -> AudioTap {
        let (stop, stop_rx) = watch::channel(false);
        let queue = Arc::new(SegmentQueue::new(settings.capacity));
        let pid = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let capture = tokio::spawn(capture(
            ffmpeg,
            pulse_server,
            settings,
            queue.clone(),
            stop_rx,
            pid.clone(),
        ));
        let sender = tokio::spawn(send_all(client.clone(), queue.clone(), settings));
        tracing::info!("real-time audio tap started");
        AudioTap {
            stop,
            capture,
            sender,
            queue,
            client,
            pid,
        }
    }

    /// The tap's ffmpeg process id, while it runs.
    pub fn ffmpeg_pid(&self) -> Option<u32> {
        Some(self.pid.load(std::sync::atomic::Ordering::Relaxed)).filter(|p| *p != 0)
    }

    /// Stops capturing (the segment in progress is still sent).
    pub fn request_stop(&self) {
        let _ = self.stop.send(true);
    }

    /// Stops capturing, delivers what is queued until `deadline` less a moment for the
    /// report, then reports `POST audio/finish` (what was left counts as dropped).
    pub async fn finish_by(self, deadline: Instant) -> TapSummary {
        let _ = self.stop.send(true);
        let _ = tokio::time::timeout_at(deadline, self.capture).await;
        let report_by = deadline.checked_sub(Duration::from_secs(1)).unwrap_or(deadline);
        let mut sender = self.sender;
        if tokio::time::timeout_at(report_by, &mut sender).await.is_err() {
            sender.abort();
            self.queue.abandon();
        }
        let mut summary = self.queue.summary();
        if !summary.refused {
            let finish = self
                .client
                .audio_finish(summary.segments, summary.dropped, summary.dropped_ms);
            summary.reported = matches!(tokio::time::timeout_at(deadline, finish).await, Ok(Ok(())));
        }
        if summary.dropped > 0 {
            tracing::warn!(
                dropped = summary.dropped,
                dropped_secs = summary.dropped_ms as f64 / 1000.0,
                "part of the real-time audio never reached the server"
            );
        }
        tracing::info!(?summary, "real-time audio tap finished");
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TapSettings {
        TapSettings {
            target: Duration::from_secs(5),
            slack: Duration::from_secs(1),
            capacity: 3,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        }
    }

    fn tone(ms: usize) -> Vec<i16> {
        (0..ms * 16).map(|i| if i % 2 == 0 { 3000 } else { -3000 }).collect()
    }

    #[test]
    fn segments_are_cut_at_a_pause_near_the_target_with_exact_start_times() {
        let mut c = Cutter::new(settings(), 1_000_000);
        // 4.5 s of sound, 100 ms of silence, 3 s of sound: the cut lands in the silence.
        let mut stream = tone(4500);
        stream.extend(vec![0i16; 1600]);
        stream.extend(tone(3000));
        let mut got = Vec::new();
        for chunk in stream[..4600 * 16].chunks(1234) {
            got.extend(c.push(chunk));
        }
        assert_eq!(
            got.len(),
            1,
            "cut as soon as the pause is heard, not at the window's end"
        );
        for chunk in stream[4600 * 16..].chunks(1234) {
            got.extend(c.push(chunk));
        }
        assert_eq!(got.len(), 1);
        let first = &got[0];
        let len_ms = first.duration_ms() as i64;
        assert!((4500..=4600).contains(&len_ms), "cut at {len_ms} ms");
        assert_eq!(first.start_ms, 1_000_000);
        let rest = c.flush().unwrap();
        assert_eq!(
            rest.start_ms,
            1_000_000 + len_ms,
            "the next starts where this one ended"
        );
        assert_eq!(first.samples.len() + rest.samples.len(), stream.len(), "no sample lost");
        assert!(c.flush().is_none());
        // Continuous sound: cut no later than target + slack.
        let mut c = Cutter::new(settings(), 0);
        let got = c.push(&tone(13_000));
        assert_eq!(got.len(), 2);
        assert!(got.iter().all(|s| (4000..=6000).contains(&(s.duration_ms() as i64))));
    }

    #[test]
    fn wav_header_describes_16khz_mono_pcm() {
        let w = wav(&[1, -1, 2]);
        assert_eq!(&w[..4], b"RIFF");
        assert_eq!(&w[8..16], b"WAVEfmt ");
        assert_eq!(u32::from_le_bytes(w[24..28].try_into().unwrap()), 16_000);
        assert_eq!(u32::from_le_bytes(w[40..44].try_into().unwrap()), 6);
        assert_eq!(w.len(), 50);
    }

    #[test]
    fn the_queue_is_bounded_drops_the_oldest_and_counts_the_gap() {
        let q = SegmentQueue::new(3);
        let seg = |v: i16| PcmSegment {
            start_ms: 0,
            samples: vec![v; 16_000],
        };
        q.push(seg(0));
        assert_eq!(q.summary().silent, 1, "silence is not queued");
        for v in 1..=5 {
            q.push(seg(1000 * v));
        }
        assert_eq!(q.len(), 3);
        let s = q.summary();
        assert_eq!((s.segments, s.dropped, s.dropped_ms), (5, 2, 2000));
        let seqs: Vec<u64> = q.lock().items.iter().map(|i| i.seq).collect();
        assert_eq!(seqs, [2, 3, 4], "the oldest went");
    }

    /// A server that is down, then comes up on the same address, then closes the stream:
    /// every segment queued meanwhile arrives once, in order, and the closing 409 stops
    /// the sender.
    #[tokio::test]
    async fn the_sender_rides_out_a_server_restart_in_order_and_stops_when_the_stream_closes() {
        use axum::extract::Path;
        use axum::routing::put;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = ControlClient::new(&format!("http://127.0.0.1:{port}/api/bot/v1"), "mbb_test");
        let queue = Arc::new(SegmentQueue::new(10));
        for v in 1..=3 {
            queue.push(PcmSegment {
                start_ms: 1000 * i64::from(v),
                samples: vec![1000 * v; 1600],
            });
        }
        let sender = tokio::spawn(send_all(client, queue.clone(), settings()));
        // Down: nothing listens. The sender keeps the segments and retries.
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(queue.len(), 3);
        let got = Arc::new(Mutex::new(Vec::new()));
        let seen = got.clone();
        let router = axum::Router::new().route(
            "/api/bot/v1/audio/{seq}",
            put(move |Path(seq): Path<u64>| {
                let seen = seen.clone();
                async move {
                    seen.lock().unwrap().push(seq);
                    if seq == 3 {
                        let body = r#"{"error":{"code":"transcript_closed","message":"closed","details":{}}}"#;
                        return (axum::http::StatusCode::CONFLICT, body.to_string());
                    }
                    (axum::http::StatusCode::OK, format!(r#"{{"seq":{seq},"stored":true}}"#))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await });
        queue.push(PcmSegment {
            start_ms: 9000,
            samples: vec![4000; 1600],
        });
        tokio::time::timeout(Duration::from_secs(20), sender)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(*got.lock().unwrap(), [0, 1, 2, 3], "in order, each once");
        let s = queue.summary();
        assert_eq!((s.sent, s.refused), (3, true));
        queue.push(PcmSegment {
            start_ms: 0,
            samples: vec![4000; 1600],
        });
        assert!(queue.is_empty(), "nothing is queued once the server closed the stream");
    }
}

//! The recording uploader against a control channel over HTTP: order, idempotence,
//! skips, retries through failures and outages, and parts numbered without gaps.

mod common;

use common::channel::{FakeChannel, TOKEN};
use meeboter_bot::control::ControlClient;
use meeboter_bot::recorder::capture::CaptureState;
use meeboter_bot::recorder::upload::{UploadProgress, UploadSettings, UploadTask};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::watch;

fn fast() -> UploadSettings {
    UploadSettings {
        poll_every: Duration::from_millis(100),
        first_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(400),
        rounds: 3,
    }
}

/// The bytes of segment `n` of a run (distinct per run and segment).
fn segment(run: &Path, n: usize) -> Vec<u8> {
    format!("{}:segment-{n}:", run.display()).repeat(100).into_bytes()
}

/// Writes a run directory as ffmpeg would: init.mp4, `segments` segment files, and a
/// playlist listing the first `listed` of them (closed when `ended`).
fn write_run(run: &Path, segments: usize, listed: usize, ended: bool) {
    std::fs::create_dir_all(run).unwrap();
    std::fs::write(run.join("init.mp4"), format!("{}:init", run.display()).repeat(20)).unwrap();
    let mut playlist =
        String::from("#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-TARGETDURATION:6\n#EXT-X-MAP:URI=\"init.mp4\"\n");
    for n in 0..segments {
        let name = format!("seg{n:06}.m4s");
        if !run.join(&name).exists() && n < listed {
            std::fs::write(run.join(&name), segment(run, n)).unwrap();
        }
        if n < listed {
            playlist.push_str(&format!("#EXTINF:6.000000,\n{name}\n"));
        }
    }
    if ended {
        playlist.push_str("#EXT-X-ENDLIST\n");
    }
    std::fs::write(run.join("index.m3u8.tmp"), playlist).unwrap();
    std::fs::rename(run.join("index.m3u8.tmp"), run.join("index.m3u8")).unwrap();
}

fn in_order(part: u32, seqs: std::ops::RangeInclusive<u32>) -> Vec<String> {
    seqs.flat_map(|s| {
        [
            format!("announce {part}/{s}"),
            format!("put {part}/{s}"),
            format!("complete {part}/{s}"),
        ]
    })
    .collect()
}

async fn finish(task: UploadTask) -> UploadProgress {
    task.finish_by(tokio::time::Instant::now() + Duration::from_secs(30))
        .await
}

struct Setup {
    channel: FakeChannel,
    client: ControlClient,
    work: tempfile::TempDir,
    state: watch::Sender<CaptureState>,
}

impl Setup {
    async fn new() -> Setup {
        let channel = FakeChannel::new();
        let url = channel.serve().await;
        Setup {
            client: ControlClient::new(&url, TOKEN),
            channel,
            work: tempfile::tempdir().unwrap(),
            state: watch::channel(CaptureState::default()).0,
        }
    }

    fn run(&self, n: u32) -> PathBuf {
        self.work.path().join(format!("run-{n:03}"))
    }

    fn start(&self) -> UploadTask {
        UploadTask::spawn(self.client.clone(), "video/mp4", self.state.subscribe(), fast())
    }

    fn add_run(&self, n: u32) {
        let dir = self.run(n);
        self.state.send_modify(|s| s.runs.push(dir));
    }

    fn finished(&self) {
        self.state.send_modify(|s| s.finished = true);
    }
}

#[tokio::test]
async fn chunks_go_up_in_order_while_recording_and_are_deleted_once_confirmed() {
    let s = Setup::new().await;
    let run = s.run(1);
    write_run(&run, 3, 0, false);
    s.add_run(1);
    let task = s.start();
    // Nothing is listed yet: nothing is sent, not even the init section.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(s.channel.log().is_empty());
    write_run(&run, 3, 2, false);
    for _ in 0..50 {
        if s.channel.log().len() == 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.channel.log(), in_order(1, 0..=2), "uploaded while the run goes on");
    assert!(
        !run.join("seg000000.m4s").exists() && !run.join("init.mp4").exists(),
        "deleted once confirmed"
    );
    write_run(&run, 3, 3, true);
    s.finished();
    let progress = finish(task).await;
    assert_eq!(s.channel.log(), in_order(1, 0..=3));
    assert_eq!(
        (progress.parts, progress.uploaded, progress.skipped, progress.done),
        (1, 4, 0, true)
    );
    let stored = s.channel.part(1);
    assert_eq!(stored[1], (1, segment(&run, 0)));
    let chunks = s.channel.lock().chunks.clone();
    assert_eq!(chunks[&(1, 0)].duration_ms, None);
    assert_eq!(chunks[&(1, 3)].duration_ms, Some(6000));
    assert_eq!(chunks[&(1, 3)].content_type, "video/mp4");
}

#[tokio::test]
async fn a_chunk_the_server_has_is_confirmed_without_sending_it_and_a_conflict_is_skipped() {
    let s = Setup::new().await;
    let run = s.run(1);
    write_run(&run, 3, 3, true);
    // Chunk 1 arrived before (same bytes), chunk 2 is stored with other bytes.
    s.channel.seed(1, 1, &segment(&run, 0));
    s.channel.seed(1, 2, b"something else");
    s.add_run(1);
    s.finished();
    let progress = finish(s.start()).await;
    assert_eq!(
        s.channel.log(),
        [
            "announce 1/0",
            "put 1/0",
            "complete 1/0",
            "announce 1/1",
            "complete 1/1",
            "announce 1/2",
            "announce 1/3",
            "put 1/3",
            "complete 1/3"
        ]
    );
    assert_eq!((progress.uploaded, progress.skipped), (3, 1));
    assert_eq!(
        s.channel.part(1)[2],
        (2, b"something else".to_vec()),
        "never overwritten"
    );
    assert!(run.join("seg000001.m4s").exists(), "a skipped chunk is not deleted");
}

#[tokio::test]
async fn failures_are_retried_and_nothing_is_lost_or_reordered() {
    let s = Setup::new().await;
    write_run(&s.run(1), 4, 4, true);
    s.channel.fail("announce", &[503, 503]);
    s.channel.fail("put", &[500, 429, 403]);
    s.channel.fail("complete", &[502, 422]);
    s.add_run(1);
    s.finished();
    let progress = finish(s.start()).await;
    assert_eq!((progress.uploaded, progress.skipped, progress.done), (5, 0, true));
    // The refused PUT (403) and the refused confirmation (422) started their chunk over.
    let log = s.channel.log();
    let completes: Vec<&String> = log.iter().filter(|l| l.starts_with("complete")).collect();
    assert_eq!(
        completes,
        [
            "complete 1/0",
            "complete 1/1",
            "complete 1/2",
            "complete 1/3",
            "complete 1/4"
        ]
    );
    assert!(log.iter().filter(|l| *l == "announce 1/0").count() >= 2, "{log:?}");
    assert_eq!(s.channel.part(1).len(), 5);
}

#[tokio::test]
async fn a_server_down_for_a_few_seconds_delays_the_upload_but_loses_nothing() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let channel = FakeChannel::new();
    let client = ControlClient::new(&format!("http://127.0.0.1:{port}/api/bot/v1"), TOKEN);
    let work = tempfile::tempdir().unwrap();
    let run = work.path().join("run-001");
    write_run(&run, 3, 3, true);
    let (state, rx) = watch::channel(CaptureState {
        runs: vec![run.clone()],
        finished: true,
    });
    let task = UploadTask::spawn(client, "video/mp4", rx, fast());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!task.progress().done);
    assert!(run.join("init.mp4").exists(), "kept while the server is down");
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
    channel.serve_on(listener);
    let progress = finish(task).await;
    drop(state);
    assert_eq!((progress.uploaded, progress.done), (4, true));
    assert_eq!(channel.log(), in_order(1, 0..=3));
}

#[tokio::test]
async fn runs_become_parts_without_gaps_and_empty_files_are_never_sent() {
    let s = Setup::new().await;
    s.channel.lock().presigned = true;
    // run 1: two segments; run 2: died before its first segment; run 3: one segment,
    // one of them empty.
    write_run(&s.run(1), 2, 2, false);
    write_run(&s.run(2), 0, 0, false);
    write_run(&s.run(3), 2, 2, true);
    std::fs::write(s.run(3).join("seg000001.m4s"), b"").unwrap();
    for n in 1..=3 {
        s.add_run(n);
    }
    s.finished();
    let progress = finish(s.start()).await;
    assert_eq!((progress.parts, progress.uploaded, progress.skipped), (2, 5, 1));
    let mut expected = in_order(1, 0..=2);
    expected.extend(in_order(2, 0..=1));
    assert_eq!(
        s.channel.log(),
        expected,
        "presigned PUTs carry no token; the empty chunk is not announced"
    );
    assert!(s.run(3).join("seg000001.m4s").exists());
}

#[tokio::test]
async fn the_token_never_goes_to_another_origin() {
    let s = Setup::new().await;
    // The server (wrongly) points a bot_token upload at another origin.
    *s.channel.base.lock().unwrap() = "http://127.0.0.2:9".into();
    write_run(&s.run(1), 1, 1, true);
    s.add_run(1);
    s.finished();
    let progress = finish(s.start()).await;
    assert_eq!((progress.uploaded, progress.skipped), (0, 2));
    assert!(
        s.channel.log().iter().all(|l| l.starts_with("announce")),
        "{:?}",
        s.channel.log()
    );
}

/// Storage goes down while the bot leaves: the uploader keeps every unsent segment on disk
/// until its deadline, and the finish report says the recording is incomplete and exactly
/// what is missing (where in the part, how long), including a part it never reached.
#[tokio::test]
async fn when_uploads_fail_the_finish_report_names_what_is_missing() {
    use meeboter_bot::control::{FinishReport, MissingChunks};
    use meeboter_bot::recorder::upload::unsent;
    let s = Setup::new().await;
    let run = s.run(1);
    write_run(&run, 5, 2, false);
    s.add_run(1);
    let task = s.start();
    for _ in 0..50 {
        if s.channel.log().len() == 9 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(s.channel.log(), in_order(1, 0..=2));
    // Storage is unreachable from now on; the call ends with three more segments, and a
    // second ffmpeg run that the uploader never gets to.
    s.channel.fail("put", &[503; 10_000]);
    write_run(&run, 5, 5, true);
    write_run(&s.run(2), 2, 2, true);
    s.add_run(2);
    s.finished();
    let deadline = tokio::time::Instant::now() + Duration::from_millis(1500);
    let progress = task.finish_by(deadline).await;
    assert!(tokio::time::Instant::now() >= deadline, "retried until the deadline");
    assert!(!progress.done);
    for n in 2..5 {
        assert!(run.join(format!("seg{n:06}.m4s")).exists(), "unsent segment {n} kept");
    }
    let (parts, missing) = unsent(&[run.clone(), s.run(2)], &progress).await;
    let span = |part, from_seq, to_seq, start_ms, duration_ms| MissingChunks {
        part,
        from_seq,
        to_seq,
        start_ms,
        duration_ms,
    };
    assert_eq!(parts, 2, "the unreached run is a part too");
    assert_eq!(missing, vec![span(1, 3, 5, 12_000, 18_000), span(2, 0, 2, 0, 12_000)]);
    let report = FinishReport {
        complete: missing.is_empty(),
        missing,
    };
    s.client.recording_finish(parts, "video", &report).await.unwrap();
    let finish = s.channel.lock().finish.clone().unwrap();
    assert_eq!(finish["complete"], false, "{finish}");
    assert_eq!(finish["parts"], 2);
    assert_eq!(
        finish["missing"][0],
        serde_json::json!({"part": 1, "fromSeq": 3, "toSeq": 5, "startMs": 12000, "durationMs": 18000})
    );
}

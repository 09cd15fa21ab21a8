//! Behaviour tests for `meeboter-storage`, run against both backends: the filesystem in a temp
//! dir, and S3 through a real s3s-fs server (SigV4 checks, presign expiry, multipart limits)
//! started per test on a free loopback port.

use std::path::Path;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use meeboter_storage::{ByteRange, ObjectBody, S3_PART_SIZE, Storage, StorageError, StorageSettings};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

use meeboter_storage::testing::{ACCESS_KEY, BUCKET, S3Peer, SECRET_KEY};
const MIB: usize = 1024 * 1024;

/// A plain SDK client, to look at what the storage crate stored (e.g. multipart ETags).
fn raw_client(peer: &S3Peer) -> aws_sdk_s3::Client {
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new("us-east-1"))
        .endpoint_url(peer.endpoint())
        .force_path_style(true)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "test",
        ))
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A storage under test plus what keeps it alive.
struct Harness {
    storage: Storage,
    tmp: TempDir,
    peer: Option<S3Peer>,
}

impl Harness {
    async fn filesystem() -> Harness {
        let tmp = TempDir::new().unwrap();
        let root = tmp.path().join("store");
        let storage = Storage::connect(StorageSettings::Filesystem { root }).await.unwrap();
        Harness {
            storage,
            tmp,
            peer: None,
        }
    }

    async fn s3() -> Harness {
        let tmp = TempDir::new().unwrap();
        let dir = tmp.path().join("s3");
        std::fs::create_dir(&dir).unwrap();
        let peer = S3Peer::start(dir, tmp.path().join("s3s-fs.log")).await;
        let storage = Storage::connect(peer.settings(SECRET_KEY)).await.unwrap();
        Harness {
            storage,
            tmp,
            peer: Some(peer),
        }
    }

    fn peer(&mut self) -> &mut S3Peer {
        self.peer.as_mut().expect("S3 harness")
    }
}

/// Runs each listed `async fn name(h: Harness)` once per backend, as `name::filesystem` and
/// `name::s3`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn filesystem() {
                super::$name(super::Harness::filesystem().await).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn s3() {
                super::$name(super::Harness::s3().await).await;
            }
        }
    )*};
}

on_both_backends!(
    put_head_get_and_overwrite,
    ranges_follow_http_semantics,
    missing_objects_are_not_found,
    list_filters_by_prefix_and_sorts,
    list_follows_pagination,
    delete_is_idempotent,
    delete_prefix_removes_only_that_prefix,
    put_reader_streams_large_objects,
    put_file_streams_a_file,
    concat_joins_parts_in_order,
    failed_write_keeps_the_old_object,
    invalid_keys_are_rejected_everywhere,
);

/// Deterministic pseudo-random bytes (xorshift), so large-object checks catch misordered parts.
fn data(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Streams a body, checking it yields exactly `size` bytes, and returns their SHA-256.
async fn stream_sha256(body: ObjectBody) -> String {
    let mut hasher = Sha256::new();
    let mut seen = 0u64;
    let mut stream = body.stream;
    while let Some(chunk) = stream.try_next().await.unwrap() {
        assert!(chunk.len() <= 4 * MIB, "chunks stay bounded ({} bytes)", chunk.len());
        seen += chunk.len() as u64;
        hasher.update(&chunk);
    }
    assert_eq!(seen, body.size);
    hex::encode(hasher.finalize())
}

async fn get_bytes(storage: &Storage, key: &str, range: Option<ByteRange>) -> Vec<u8> {
    storage.get(key, range).await.unwrap().bytes().await.unwrap().to_vec()
}

async fn put_head_get_and_overwrite(h: Harness) {
    let s = &h.storage;
    let written = s
        .put(
            "rec/1/meta.json",
            Bytes::from_static(b"hello world"),
            "application/json",
        )
        .await
        .unwrap();
    assert_eq!(written.key, "rec/1/meta.json");
    assert_eq!(written.size, 11);
    assert_eq!(written.sha256, sha256(b"hello world"));

    let info = s.head("rec/1/meta.json").await.unwrap().expect("object exists");
    assert_eq!((info.key.as_str(), info.size), ("rec/1/meta.json", 11));
    let modified = info.last_modified.expect("backends report a modification time");
    assert!((chrono::Utc::now() - modified).num_seconds().abs() < 120, "{modified}");

    let body = s.get("rec/1/meta.json", None).await.unwrap();
    assert_eq!((body.size, body.total_size, body.range), (11, 11, None));
    assert_eq!(&body.bytes().await.unwrap()[..], b"hello world");

    s.put("rec/1/meta.json", Bytes::from_static(b"v2"), "application/json")
        .await
        .unwrap();
    assert_eq!(get_bytes(s, "rec/1/meta.json", None).await, b"v2");
    assert_eq!(s.head("rec/1/meta.json").await.unwrap().unwrap().size, 2);

    let empty = s.put("empty", Bytes::new(), "text/plain").await.unwrap();
    assert_eq!((empty.size, empty.sha256.as_str()), (0, sha256(b"").as_str()));
    assert_eq!(s.head("empty").await.unwrap().unwrap().size, 0);
    assert!(get_bytes(s, "empty", None).await.is_empty());
}

async fn ranges_follow_http_semantics(h: Harness) {
    let s = &h.storage;
    let content: Vec<u8> = (0..100u8).collect();
    s.put("r", Bytes::from(content.clone()), "application/octet-stream")
        .await
        .unwrap();

    for (range, first, last) in [
        (ByteRange::From(90), 90, 99),
        (ByteRange::From(0), 0, 99),
        (ByteRange::FromTo(10, 19), 10, 19),
        (ByteRange::FromTo(42, 42), 42, 42),
        (ByteRange::FromTo(95, 1000), 95, 99),
        (ByteRange::Suffix(5), 95, 99),
        (ByteRange::Suffix(1000), 0, 99),
    ] {
        let body = s.get("r", Some(range)).await.unwrap();
        assert_eq!(body.range, Some((first, last)), "{range}");
        assert_eq!(body.total_size, 100, "{range}");
        assert_eq!(body.size, last - first + 1, "{range}");
        let bytes = body.bytes().await.unwrap();
        assert_eq!(&bytes[..], &content[first as usize..=last as usize], "{range}");
    }

    for (range, size) in [
        (ByteRange::From(100), Some(100)),
        (ByteRange::FromTo(100, 200), Some(100)),
        (ByteRange::FromTo(5, 4), None),
        (ByteRange::Suffix(0), None),
    ] {
        match s.get("r", Some(range)).await {
            Err(StorageError::InvalidRange {
                range: shown,
                size: got,
            }) => {
                assert_eq!(shown, range.to_string());
                assert_eq!(got, size, "{range}");
            }
            other => panic!("{range}: expected InvalidRange, got {other:?}"),
        }
    }

    s.put("zero", Bytes::new(), "text/plain").await.unwrap();
    assert!(matches!(
        s.get("zero", Some(ByteRange::From(0))).await,
        Err(StorageError::InvalidRange { size: Some(0), .. })
    ));
    assert!(matches!(
        s.get("absent", Some(ByteRange::From(0))).await,
        Err(StorageError::NotFound(key)) if key == "absent"
    ));
}

async fn missing_objects_are_not_found(h: Harness) {
    let s = &h.storage;
    assert_eq!(s.head("no/such/key").await.unwrap(), None);
    match s.get("no/such/key", None).await {
        Err(StorageError::NotFound(key)) => assert_eq!(key, "no/such/key"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    s.put("parts/1", Bytes::from_static(b"one"), "text/plain")
        .await
        .unwrap();
    let parts = vec!["parts/1".to_string(), "parts/2".to_string()];
    match s.concat(&parts, "joined", "text/plain").await {
        Err(StorageError::NotFound(key)) => assert_eq!(key, "parts/2"),
        other => panic!("expected NotFound for the missing part, got {other:?}"),
    }
    assert_eq!(s.head("joined").await.unwrap(), None, "a failed concat writes nothing");
    assert!(s.list("no/").await.unwrap().is_empty());
}

async fn list_filters_by_prefix_and_sorts(h: Harness) {
    let s = &h.storage;
    let keys = ["rec/2", "rec/10/a", "rec/1/b", "other/x", "rec1", "rec/1/a"];
    for (i, key) in keys.iter().enumerate() {
        s.put(key, Bytes::from(vec![b'x'; i + 1]), "text/plain").await.unwrap();
    }
    let listed = |prefix: &'static str| async move {
        s.list(prefix)
            .await
            .unwrap()
            .into_iter()
            .map(|o| (o.key, o.size))
            .collect::<Vec<_>>()
    };
    let owned = |items: &[(&str, u64)]| items.iter().map(|(k, n)| (k.to_string(), *n)).collect::<Vec<_>>();
    assert_eq!(
        listed("rec/1").await,
        owned(&[("rec/1/a", 6), ("rec/1/b", 3), ("rec/10/a", 2)])
    );
    assert_eq!(listed("rec/1/").await, owned(&[("rec/1/a", 6), ("rec/1/b", 3)]));
    assert_eq!(
        listed("rec").await,
        owned(&[
            ("rec/1/a", 6),
            ("rec/1/b", 3),
            ("rec/10/a", 2),
            ("rec/2", 1),
            ("rec1", 5)
        ])
    );
    assert_eq!(listed("rec/2").await, owned(&[("rec/2", 1)]));
    assert_eq!(listed("").await.len(), keys.len());
    let all: Vec<String> = listed("").await.into_iter().map(|(k, _)| k).collect();
    let mut sorted = all.clone();
    sorted.sort();
    assert_eq!(all, sorted);
    assert!(listed("nothing/").await.is_empty());
    assert!(matches!(s.list("../").await, Err(StorageError::InvalidKey(_))));
}

async fn list_follows_pagination(h: Harness) {
    // S3 answers ListObjectsV2 with at most 1000 keys a page.
    let s = &h.storage;
    let count = 1003;
    let keys: Vec<String> = (0..count).map(|i| format!("many/{i:05}")).collect();
    futures::stream::iter(keys.clone())
        .map(|key| async move { s.put(&key, Bytes::from_static(b"."), "text/plain").await.map(|_| ()) })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
    let listed: Vec<String> = s.list("many/").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(listed.len(), count);
    assert_eq!(listed, keys);
}

async fn delete_is_idempotent(h: Harness) {
    let s = &h.storage;
    s.put("d/x", Bytes::from_static(b"1"), "text/plain").await.unwrap();
    s.delete("d/x").await.unwrap();
    assert_eq!(s.head("d/x").await.unwrap(), None);
    s.delete("d/x").await.unwrap();
    s.delete("never/existed").await.unwrap();
    // The prefix is reusable after its last object went.
    s.put("d/y", Bytes::from_static(b"2"), "text/plain").await.unwrap();
    assert_eq!(get_bytes(s, "d/y", None).await, b"2");
}

async fn delete_prefix_removes_only_that_prefix(h: Harness) {
    let s = &h.storage;
    for key in ["a/1", "a/2", "a/sub/3", "ab", "b"] {
        s.put(key, Bytes::from_static(b"x"), "text/plain").await.unwrap();
    }
    assert_eq!(s.delete_prefix("a/").await.unwrap(), 3);
    let left: Vec<String> = s.list("").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(left, ["ab", "b"]);
    assert_eq!(s.delete_prefix("a/").await.unwrap(), 0);
    assert!(matches!(s.delete_prefix("").await, Err(StorageError::InvalidKey(_))));
    assert_eq!(s.list("").await.unwrap().len(), 2, "an empty prefix deletes nothing");
}

async fn put_reader_streams_large_objects(h: Harness) {
    let s = &h.storage;
    // 12 MiB: more than one S3 part, so the S3 backend goes multipart.
    let content = data(12 * MIB, 1);
    let written = s
        .put_reader("big/video.webm", &content[..], "video/webm")
        .await
        .unwrap();
    assert_eq!(written.size, content.len() as u64);
    assert_eq!(written.sha256, sha256(&content));
    assert_eq!(
        s.head("big/video.webm").await.unwrap().unwrap().size,
        content.len() as u64
    );
    assert_eq!(
        stream_sha256(s.get("big/video.webm", None).await.unwrap()).await,
        written.sha256
    );

    // A range across the part boundary.
    let (first, last) = (S3_PART_SIZE as u64 - 10, S3_PART_SIZE as u64 + 9);
    let bytes = get_bytes(s, "big/video.webm", Some(ByteRange::FromTo(first, last))).await;
    assert_eq!(bytes, &content[first as usize..=last as usize]);

    // Exactly one part, and a small one, both fine as single uploads.
    for len in [S3_PART_SIZE, 1000] {
        let content = data(len, 2);
        let written = s.put_reader("big/one", &content[..], "video/webm").await.unwrap();
        assert_eq!((written.size, written.sha256.clone()), (len as u64, sha256(&content)));
        assert_eq!(
            stream_sha256(s.get("big/one", None).await.unwrap()).await,
            written.sha256
        );
    }
}

async fn put_file_streams_a_file(h: Harness) {
    let s = &h.storage;
    let content = data(9 * MIB + 7, 3);
    let path = h.tmp.path().join("upload.bin");
    std::fs::write(&path, &content).unwrap();
    let written = s
        .put_file("files/upload.bin", &path, "application/octet-stream")
        .await
        .unwrap();
    assert_eq!(
        (written.size, written.sha256.as_str()),
        (content.len() as u64, sha256(&content).as_str())
    );
    assert_eq!(
        stream_sha256(s.get("files/upload.bin", None).await.unwrap()).await,
        written.sha256
    );

    let missing = h.tmp.path().join("not-there.bin");
    match s.put_file("files/missing", &missing, "application/octet-stream").await {
        Err(StorageError::Other(msg)) => assert!(msg.contains("not-there.bin"), "{msg}"),
        other => panic!("expected an error naming the file, got {other:?}"),
    }
    assert_eq!(s.head("files/missing").await.unwrap(), None);
}

async fn concat_joins_parts_in_order(h: Harness) {
    let s = &h.storage;
    // Parts both above and below S3's 5 MiB minimum, 11+ MiB in total.
    let sizes = [6 * MIB, 3 * MIB, 1, 2 * MIB + 123, 17];
    let mut whole = Vec::new();
    let mut parts = Vec::new();
    for (i, size) in sizes.iter().enumerate() {
        let content = data(*size, 10 + i as u64);
        let key = format!("chunks/{i:03}");
        s.put(&key, Bytes::from(content.clone()), "video/webm").await.unwrap();
        whole.extend_from_slice(&content);
        parts.push(key);
    }
    assert!(whole.len() > 10 * MIB);
    let written = s.concat(&parts, "recording.webm", "video/webm").await.unwrap();
    assert_eq!(written.key, "recording.webm");
    assert_eq!(written.size, whole.len() as u64);
    assert_eq!(written.sha256, sha256(&whole));
    assert_eq!(
        stream_sha256(s.get("recording.webm", None).await.unwrap()).await,
        written.sha256
    );
    assert_eq!(s.list("chunks/").await.unwrap().len(), sizes.len(), "parts are kept");

    // Order matters, and an empty list makes an empty object.
    let reversed: Vec<String> = parts.iter().rev().cloned().collect();
    let written = s.concat(&reversed[3..], "small", "text/plain").await.unwrap();
    let mut expected = data(sizes[1], 11);
    expected.extend_from_slice(&data(sizes[0], 10));
    assert_eq!(written.sha256, sha256(&expected));
    let empty = s.concat(&[], "nothing", "text/plain").await.unwrap();
    assert_eq!(empty.size, 0);
    assert_eq!(s.head("nothing").await.unwrap().unwrap().size, 0);
}

/// Yields `good` bytes, then fails, like a client connection dropping mid-upload.
struct FailingReader {
    left: usize,
}

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        if self.left == 0 {
            return std::task::Poll::Ready(Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "peer gone",
            )));
        }
        let n = self.left.min(buf.remaining()).min(64 * 1024);
        buf.put_slice(&vec![b'z'; n]);
        self.left -= n;
        std::task::Poll::Ready(Ok(()))
    }
}

async fn failed_write_keeps_the_old_object(h: Harness) {
    let s = &h.storage;
    s.put("doc", Bytes::from_static(b"good"), "text/plain").await.unwrap();
    // Fails after the first multipart part went up on S3, and mid-file on the filesystem.
    for left in [S3_PART_SIZE + MIB, 1000] {
        let err = s
            .put_reader("doc", FailingReader { left }, "text/plain")
            .await
            .unwrap_err();
        assert!(err.to_string().contains("peer gone"), "{err}");
        assert_eq!(get_bytes(s, "doc", None).await, b"good");
    }
    let keys: Vec<String> = s.list("").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["doc"], "no temp files or partial objects are visible");
}

async fn invalid_keys_are_rejected_everywhere(h: Harness) {
    let s = &h.storage;
    let bad = ["../escape", "/abs", "a//b", "a b", "a/./b", "trailing/", ""];
    for key in bad {
        let invalid = |r: Result<(), StorageError>| matches!(r, Err(StorageError::InvalidKey(_)));
        assert!(
            invalid(s.put(key, Bytes::from_static(b"x"), "text/plain").await.map(drop)),
            "{key:?}"
        );
        assert!(
            invalid(s.put_reader(key, &b"x"[..], "text/plain").await.map(drop)),
            "{key:?}"
        );
        assert!(invalid(s.head(key).await.map(drop)), "{key:?}");
        assert!(invalid(s.get(key, None).await.map(drop)), "{key:?}");
        assert!(invalid(s.delete(key).await), "{key:?}");
        assert!(
            invalid(s.concat(&[key.to_string()], "ok", "text/plain").await.map(drop)),
            "{key:?}"
        );
        assert!(invalid(s.concat(&[], key, "text/plain").await.map(drop)), "{key:?}");
        assert!(
            invalid(s.presign_get(key, Duration::from_secs(60), None).await.map(drop)),
            "{key:?}"
        );
        assert!(
            invalid(s.presign_put(key, Duration::from_secs(60)).await.map(drop)),
            "{key:?}"
        );
    }
    assert!(matches!(
        s.put(&"k".repeat(513), Bytes::new(), "text/plain").await,
        Err(StorageError::InvalidKey(_))
    ));
    assert!(s.list("").await.unwrap().is_empty(), "nothing was written");
    assert!(!h.tmp.path().join("escape").exists(), "nothing left the root");
}

// ---- filesystem only ----

#[tokio::test]
async fn filesystem_has_no_presigned_urls() {
    let h = Harness::filesystem().await;
    assert_eq!(h.storage.backend(), "filesystem");
    h.storage
        .put("k", Bytes::from_static(b"x"), "text/plain")
        .await
        .unwrap();
    assert_eq!(
        h.storage
            .presign_get("k", Duration::from_secs(60), Some("k.txt"))
            .await
            .unwrap(),
        None
    );
    assert_eq!(h.storage.presign_put("k", Duration::from_secs(60)).await.unwrap(), None);
}

/// Every regular file and directory under `root`, relative.
fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(root).unwrap().to_string_lossy().into_owned());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

#[tokio::test]
async fn filesystem_layout_is_plain_files_without_leftovers() {
    let h = Harness::filesystem().await;
    let root = h.tmp.path().join("store");
    let s = &h.storage;
    s.put("rec/1/a.webm", Bytes::from_static(b"abc"), "video/webm")
        .await
        .unwrap();
    assert_eq!(std::fs::read(root.join("rec/1/a.webm")).unwrap(), b"abc");
    let _ = s
        .put_reader("rec/1/a.webm", FailingReader { left: 10 }, "video/webm")
        .await
        .unwrap_err();
    assert_eq!(
        tree(&root),
        ["rec", "rec/1", "rec/1/a.webm"],
        "temp files are cleaned up"
    );

    // A stray temp file (e.g. from a crash) is never listed.
    std::fs::write(root.join("rec/1/.~0123456789abcdef.tmp"), b"partial").unwrap();
    let keys: Vec<String> = s.list("").await.unwrap().into_iter().map(|o| o.key).collect();
    assert_eq!(keys, ["rec/1/a.webm"]);
    std::fs::remove_file(root.join("rec/1/.~0123456789abcdef.tmp")).unwrap();

    // Deleting the last object prunes the directories it leaves empty.
    s.delete("rec/1/a.webm").await.unwrap();
    assert!(tree(&root).is_empty(), "{:?}", tree(&root));
    assert!(root.is_dir(), "the root itself stays");

    // On a filesystem a key cannot be both an object and a "directory".
    s.put("x", Bytes::from_static(b"1"), "text/plain").await.unwrap();
    assert!(matches!(
        s.put("x/y", Bytes::from_static(b"2"), "text/plain").await,
        Err(StorageError::Other(_))
    ));
    assert_eq!(s.head("x/y").await.unwrap(), None);
    assert!(matches!(s.get("x/y", None).await, Err(StorageError::NotFound(_))));
}

// ---- S3 only ----

#[tokio::test]
async fn s3_connect_creates_the_bucket() {
    let h = Harness::s3().await;
    assert_eq!(h.storage.backend(), "s3");
    assert!(
        h.tmp.path().join("s3").join(BUCKET).is_dir(),
        "HeadBucket 404 → CreateBucket"
    );
    // Connecting again to the existing bucket works too.
    let peer = h.peer.as_ref().unwrap();
    Storage::connect(peer.settings(SECRET_KEY)).await.unwrap();
}

#[tokio::test]
async fn s3_large_uploads_use_multipart_and_small_ones_do_not() {
    let h = Harness::s3().await;
    let s = &h.storage;
    s.put_reader("big", &data(12 * MIB, 4)[..], "video/webm").await.unwrap();
    s.put_reader("small", &data(S3_PART_SIZE, 5)[..], "video/webm")
        .await
        .unwrap();
    let raw = raw_client(h.peer.as_ref().unwrap());
    let etag = |key: &'static str| {
        let raw = raw.clone();
        async move {
            raw.head_object()
                .bucket(BUCKET)
                .key(key)
                .send()
                .await
                .unwrap()
                .e_tag()
                .unwrap()
                .to_string()
        }
    };
    // A multipart ETag is "<md5 of part md5s>-<part count>".
    assert!(
        etag("big").await.trim_matches('"').ends_with("-2"),
        "{}",
        etag("big").await
    );
    assert!(!etag("small").await.contains('-'), "{}", etag("small").await);
    let head = raw.head_object().bucket(BUCKET).key("big").send().await.unwrap();
    assert_eq!(head.content_type(), Some("video/webm"));
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test]
async fn s3_presigned_get_downloads_the_object() {
    let h = Harness::s3().await;
    let content = data(3000, 6);
    h.storage
        .put("rec/out.webm", Bytes::from(content.clone()), "video/webm")
        .await
        .unwrap();
    let url = h
        .storage
        .presign_get("rec/out.webm", Duration::from_secs(300), Some("My meeting.webm"))
        .await
        .unwrap()
        .expect("S3 presigns");
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("response-content-disposition=attachment"), "{url}");
    let response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(&response.bytes().await.unwrap()[..], &content[..]);

    let plain = h
        .storage
        .presign_get("rec/out.webm", Duration::from_secs(300), None)
        .await
        .unwrap()
        .unwrap();
    assert!(!plain.contains("response-content-disposition"), "{plain}");
    assert_eq!(http().get(&plain).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn s3_presigned_get_expires() {
    let h = Harness::s3().await;
    h.storage
        .put("k", Bytes::from_static(b"secret"), "text/plain")
        .await
        .unwrap();
    let url = h
        .storage
        .presign_get("k", Duration::from_secs(1), None)
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(http().get(&url).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn s3_tampered_presigned_urls_are_refused() {
    let h = Harness::s3().await;
    h.storage
        .put("k1", Bytes::from_static(b"one"), "text/plain")
        .await
        .unwrap();
    h.storage
        .put("k2", Bytes::from_static(b"two"), "text/plain")
        .await
        .unwrap();
    let url = h
        .storage
        .presign_get("k1", Duration::from_secs(300), None)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        http().get(&url).send().await.unwrap().status(),
        200,
        "the untouched URL works"
    );

    let (head, signature) = url.split_once("X-Amz-Signature=").unwrap();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    let tampered_signature = format!("{head}X-Amz-Signature={flipped}{}", &signature[1..]);
    assert_eq!(http().get(&tampered_signature).send().await.unwrap().status(), 403);

    let other_key = url.replacen("/k1?", "/k2?", 1);
    assert_ne!(other_key, url);
    assert_eq!(http().get(&other_key).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn s3_presigned_put_uploads() {
    let h = Harness::s3().await;
    let url = h
        .storage
        .presign_put("uploads/bot.webm", Duration::from_secs(300))
        .await
        .unwrap()
        .unwrap();
    let content = data(5000, 7);
    let response = http().put(&url).body(content.clone()).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap_or_default());
    assert_eq!(get_bytes(&h.storage, "uploads/bot.webm", None).await, content);
}

#[tokio::test]
async fn s3_wrong_secret_is_denied_with_a_hint() {
    let h = Harness::s3().await;
    let settings = h.peer.as_ref().unwrap().settings("not-the-secret");
    let shown = format!("{settings:?}");
    assert!(
        !shown.contains("not-the-secret") && shown.contains("redacted"),
        "{shown}"
    );
    match Storage::connect(settings).await {
        Err(StorageError::Denied(msg)) => {
            assert!(msg.contains("S3_SECRET_KEY") && msg.contains("S3_ACCESS_KEY"), "{msg}");
            assert!(!msg.contains("not-the-secret"), "{msg}");
        }
        other => panic!("expected Denied, got {other:?}"),
    }
}

#[tokio::test]
async fn s3_stopped_server_is_unavailable_then_recovers() {
    let mut h = Harness::s3().await;
    h.storage
        .put("survives", Bytes::from_static(b"still here"), "text/plain")
        .await
        .unwrap();
    h.peer().kill().await;

    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), h.storage.head("survives")).await;
    let elapsed = started.elapsed();
    match outcome {
        Ok(Err(StorageError::Unavailable(msg))) => assert!(msg.contains("S3_ENDPOINT"), "{msg}"),
        other => panic!("expected Unavailable within 30 s, got {other:?}"),
    }
    let put = tokio::time::timeout(
        Duration::from_secs(30),
        h.storage.put("new", Bytes::from_static(b"x"), "text/plain"),
    )
    .await;
    assert!(matches!(put, Ok(Err(StorageError::Unavailable(_)))), "{put:?}");
    eprintln!("stopped S3 reported Unavailable after {elapsed:?}");

    // Connecting to a dead endpoint fails the same way instead of hanging at startup.
    let settings = h.peer.as_ref().unwrap().settings(SECRET_KEY);
    let connect = tokio::time::timeout(Duration::from_secs(30), Storage::connect(settings)).await;
    assert!(matches!(connect, Ok(Err(StorageError::Unavailable(_)))), "{connect:?}");

    h.peer().spawn().await;
    assert_eq!(get_bytes(&h.storage, "survives", None).await, b"still here");
    h.storage
        .put("new", Bytes::from_static(b"x"), "text/plain")
        .await
        .unwrap();
}

#[tokio::test]
async fn s3_silent_server_times_out_instead_of_hanging() {
    // Accepts connections and never answers: only the SDK timeouts can end the calls.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let settings = StorageSettings::S3 {
        endpoint: Some(format!("http://127.0.0.1:{port}")),
        region: "us-east-1".to_string(),
        bucket: BUCKET.to_string(),
        access_key: Some(ACCESS_KEY.to_string()),
        secret_key: Some(SECRET_KEY.to_string()),
        request_timeout: Duration::from_secs(1),
    };
    let started = Instant::now();
    let outcome = tokio::time::timeout(Duration::from_secs(30), Storage::connect(settings)).await;
    match outcome {
        Ok(Err(StorageError::Unavailable(msg))) => assert!(msg.contains("timed out"), "{msg}"),
        other => panic!("expected Unavailable within 30 s, got {other:?}"),
    }
    // At least two 1 s attempts were made (bounded retries), and it ended well before 30 s.
    assert!(started.elapsed() >= Duration::from_secs(2), "{:?}", started.elapsed());
    eprintln!("silent S3 reported Unavailable after {:?}", started.elapsed());
    acceptor.abort();
}

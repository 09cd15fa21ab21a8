//! Object storage for Meeboter's recordings and artifacts.
//!
//! The server stores the same kinds of objects whether it runs on one machine or in the cloud, so
//! this crate gives it one API, [`Storage`], over two backends:
//!
//! - the local filesystem (a directory; writes are atomic via temp file + fsync + rename), and
//! - S3-compatible storage (AWS S3, MinIO, Garage, s3s …) through `aws-sdk-s3`, with per-call
//!   timeouts and bounded retries so a dead endpoint turns into [`StorageError::Unavailable`]
//!   instead of a hang.
//!
//! Keys follow one strict rule set ([`validate_key`]) on both backends. Every transfer streams
//! with bounded buffers, so GB-sized recordings never sit in memory.
//!
//! One difference remains between the backends: on the filesystem a key cannot also be a
//! "directory" of other keys (`a` and `a/b` cannot both exist); S3 allows it. Keep keys
//! hierarchical (`recordings/<id>/video.webm`) and it never matters.

mod fs;
mod key;
mod range;
mod s3;
pub mod testing;

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncRead;

pub use key::{MAX_KEY_LEN, validate_key, validate_prefix};
pub use range::ByteRange;

/// Where objects live. Built by the server from its configuration (`STORAGE_*` / `S3_*`).
#[derive(Clone, PartialEq, Eq)]
pub enum StorageSettings {
    /// A directory on the local disk; created when missing.
    Filesystem {
        /// Directory holding the objects; a key `a/b` is the file `root/a/b`.
        root: PathBuf,
    },
    /// An S3-compatible bucket.
    S3 {
        /// Custom endpoint (`S3_ENDPOINT`), e.g. `http://127.0.0.1:9000`; path-style addressing is
        /// used whenever it is set. `None` means AWS itself.
        endpoint: Option<String>,
        /// Signing region (`S3_REGION`); `us-east-1` for most S3-compatible servers.
        region: String,
        /// Bucket (`S3_BUCKET_NAME`); created at connect time when missing.
        bucket: String,
        /// Static access key (`S3_ACCESS_KEY`); with `secret_key`, or both `None` to use the
        /// standard AWS credential chain (environment, profile, instance role).
        access_key: Option<String>,
        /// Static secret key (`S3_SECRET_KEY`); never logged nor shown by `Debug`.
        secret_key: Option<String>,
        /// Time budget for one request attempt (connect, response headers, each body chunk).
        /// Up to [`S3_MAX_ATTEMPTS`] attempts are made with backoff, so a dead endpoint fails
        /// after roughly `request_timeout × S3_MAX_ATTEMPTS`.
        request_timeout: Duration,
    },
}

impl fmt::Debug for StorageSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageSettings::Filesystem { root } => f.debug_struct("Filesystem").field("root", root).finish(),
            StorageSettings::S3 {
                endpoint,
                region,
                bucket,
                access_key,
                secret_key,
                request_timeout,
            } => f
                .debug_struct("S3")
                .field("endpoint", endpoint)
                .field("region", region)
                .field("bucket", bucket)
                .field("access_key", access_key)
                .field("secret_key", &secret_key.as_ref().map(|_| "<redacted>"))
                .field("request_timeout", request_timeout)
                .finish(),
        }
    }
}

/// Attempts per S3 call (first try + 3 retries), with exponential backoff and jitter in between.
pub const S3_MAX_ATTEMPTS: u32 = 4;

/// Size of the parts of an S3 multipart upload. Above S3's 5 MiB minimum, small enough to buffer
/// one per transfer, and 10 000 parts × 8 MiB allows objects up to ~78 GiB.
pub const S3_PART_SIZE: usize = 8 * 1024 * 1024;

/// What went wrong, in the terms the server needs to pick an HTTP status and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StorageError {
    /// The object (or, for `concat`, one of the parts) does not exist. Carries the key.
    #[error("object not found: {0}")]
    NotFound(String),
    /// The key or prefix breaks the key rules (see [`validate_key`]); nothing was touched.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The range selects nothing of the object (HTTP 416) or is malformed.
    #[error("{}", match size {
        Some(size) => format!("range {range} is not satisfiable for an object of {size} bytes"),
        None => format!("range {range} is malformed or empty"),
    })]
    InvalidRange {
        /// The range as given, in `bytes=…` form.
        range: String,
        /// The object's size when known, for `Content-Range: bytes */size`.
        size: Option<u64>,
    },
    /// The storage cannot be reached right now (timeouts, connection errors, 5xx after retries).
    /// Worth retrying later; the server should answer 503.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The storage refused the credentials or the access; the message names the settings to check.
    #[error("storage access denied: {0}")]
    Denied(String),
    /// Anything else (I/O errors, unexpected answers).
    #[error("storage error: {0}")]
    Other(String),
}

/// One stored object, as listed or looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectInfo {
    /// The object's key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last write time, when the backend reports it.
    pub last_modified: Option<DateTime<Utc>>,
}

/// The result of a write: what ended up stored, so callers can record size and checksum without
/// reading the object back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The key written.
    pub key: String,
    /// Bytes written.
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
}

/// A stream of an object's bytes; chunks are bounded in size, so memory use stays constant.
pub type BodyStream = BoxStream<'static, Result<Bytes, StorageError>>;

/// An object being read: sizes for the response headers, and the bytes as a stream.
pub struct ObjectBody {
    /// Bytes this body yields (the range's length for ranged reads).
    pub size: u64,
    /// Size of the whole object.
    pub total_size: u64,
    /// The inclusive `(first, last)` offsets served, when a range was asked for.
    pub range: Option<(u64, u64)>,
    /// The bytes.
    pub stream: BodyStream,
}

impl fmt::Debug for ObjectBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ObjectBody")
            .field("size", &self.size)
            .field("total_size", &self.total_size)
            .field("range", &self.range)
            .finish_non_exhaustive()
    }
}

impl ObjectBody {
    /// Collects the whole body into memory. Meant for small objects (metadata, tests); stream
    /// recordings instead. Fails if the stream yields a different number of bytes than `size`.
    pub async fn bytes(self) -> Result<Bytes, StorageError> {
        let expected = self.size;
        let mut out = Vec::with_capacity(usize::try_from(expected).unwrap_or(0).min(64 * 1024 * 1024));
        let mut stream = self.stream;
        while let Some(chunk) = stream.try_next().await? {
            out.extend_from_slice(&chunk);
        }
        if out.len() as u64 != expected {
            return Err(StorageError::Other(format!(
                "body ended after {} of {expected} bytes",
                out.len()
            )));
        }
        Ok(Bytes::from(out))
    }
}

/// Running SHA-256 and byte count of what has been written so far.
#[derive(Default)]
pub(crate) struct Tally {
    hasher: Sha256,
    size: u64,
}

impl Tally {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.size += data.len() as u64;
    }

    pub(crate) fn finish(self, key: &str) -> Written {
        Written {
            key: key.to_string(),
            size: self.size,
            sha256: hex::encode(self.hasher.finalize()),
        }
    }
}

/// Chunk size for reading files and readers; large enough for throughput, small for memory.
pub(crate) const CHUNK: usize = 256 * 1024;

enum Backend {
    Filesystem(fs::FsBackend),
    S3(s3::S3Backend),
}

/// Handle to the configured object storage. Cheap to clone (one `Arc`); share it freely.
#[derive(Clone)]
pub struct Storage {
    backend: Arc<Backend>,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("backend", &self.backend())
            .finish_non_exhaustive()
    }
}

impl Storage {
    /// Opens the storage and checks that it is usable, so a misconfiguration fails at startup
    /// rather than at the first recording: the filesystem root is created; for S3 the bucket is
    /// checked (HeadBucket) and created when missing. Errors name the settings to fix.
    pub async fn connect(settings: StorageSettings) -> Result<Storage, StorageError> {
        let backend = match settings {
            StorageSettings::Filesystem { root } => Backend::Filesystem(fs::FsBackend::connect(root).await?),
            StorageSettings::S3 {
                endpoint,
                region,
                bucket,
                access_key,
                secret_key,
                request_timeout,
            } => Backend::S3(
                s3::S3Backend::connect(s3::S3Config {
                    endpoint,
                    region,
                    bucket,
                    access_key,
                    secret_key,
                    request_timeout,
                })
                .await?,
            ),
        };
        Ok(Storage {
            backend: Arc::new(backend),
        })
    }

    /// Which backend this is: `"filesystem"` or `"s3"` (for logs, health output and metrics).
    pub fn backend(&self) -> &'static str {
        match *self.backend {
            Backend::Filesystem(_) => "filesystem",
            Backend::S3(_) => "s3",
        }
    }

    /// Stores `data` under `key`, replacing any previous object. For data already in memory;
    /// use [`Storage::put_file`] or [`Storage::put_reader`] for large objects.
    pub async fn put(&self, key: &str, data: Bytes, content_type: &str) -> Result<Written, StorageError> {
        validate_key(key)?;
        match &*self.backend {
            Backend::Filesystem(b) => b.put(key, data).await,
            Backend::S3(b) => b.put_reader(key, &data[..], content_type).await,
        }
    }

    /// Stores the file at `path` under `key`, streaming it with constant memory.
    pub async fn put_file(&self, key: &str, path: &Path, content_type: &str) -> Result<Written, StorageError> {
        validate_key(key)?;
        let file = tokio::fs::File::open(path)
            .await
            .map_err(|e| StorageError::Other(format!("cannot open {} for upload: {e}", path.display())))?;
        self.put_reader(key, file, content_type).await
    }

    /// Stores everything `reader` yields under `key`, streaming with constant memory. On S3 the
    /// data goes up as one PutObject when it fits in one [`S3_PART_SIZE`] part, else as a
    /// multipart upload (aborted on failure). A reader error leaves any previous object intact.
    pub async fn put_reader(
        &self,
        key: &str,
        reader: impl AsyncRead + Unpin + Send,
        content_type: &str,
    ) -> Result<Written, StorageError> {
        validate_key(key)?;
        match &*self.backend {
            Backend::Filesystem(b) => b.put_reader(key, reader).await,
            Backend::S3(b) => b.put_reader(key, reader, content_type).await,
        }
    }

    /// Size and modification time of `key`, or `None` when it does not exist.
    pub async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        validate_key(key)?;
        match &*self.backend {
            Backend::Filesystem(b) => b.head(key).await,
            Backend::S3(b) => b.head(key).await,
        }
    }

    /// Reads `key`, whole or the given range (HTTP `Range` semantics, see [`ByteRange`]), as a
    /// stream. `NotFound` when missing, `InvalidRange` when the range selects nothing.
    pub async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        validate_key(key)?;
        if let Some(range) = range {
            range.check_syntax()?;
        }
        match &*self.backend {
            Backend::Filesystem(b) => b.get(key, range).await,
            Backend::S3(b) => b.get(key, range).await,
        }
    }

    /// All objects whose key starts with `prefix` (a plain string prefix; `""` lists all),
    /// sorted by key. Follows S3 pagination to the end.
    pub async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        validate_prefix(prefix)?;
        let mut objects = match &*self.backend {
            Backend::Filesystem(b) => b.list(prefix).await?,
            Backend::S3(b) => b.list(prefix).await?,
        };
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    /// Deletes `key`. Deleting a missing object succeeds, so retries and cleanups are safe.
    pub async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        match &*self.backend {
            Backend::Filesystem(b) => b.delete(key).await,
            Backend::S3(b) => b.delete(key).await,
        }
    }

    /// Deletes every object whose key starts with `prefix` and returns how many were deleted.
    /// An empty prefix is refused (`InvalidKey`) so a bug cannot wipe the whole store.
    pub async fn delete_prefix(&self, prefix: &str) -> Result<u64, StorageError> {
        validate_prefix(prefix)?;
        if prefix.is_empty() {
            return Err(StorageError::InvalidKey(
                "delete_prefix needs a non-empty prefix (refusing to delete everything)".to_string(),
            ));
        }
        let keys: Vec<String> = self.list(prefix).await?.into_iter().map(|o| o.key).collect();
        match &*self.backend {
            Backend::Filesystem(b) => b.delete_many(&keys).await,
            Backend::S3(b) => b.delete_many(&keys).await,
        }
    }

    /// Writes the objects `parts`, in order, into `dest` (e.g. recording chunks into one file),
    /// streaming with constant memory. `NotFound` names a missing part; `dest` is only replaced
    /// once the whole result is written. Returns the size and SHA-256 of the result.
    pub async fn concat(&self, parts: &[String], dest: &str, content_type: &str) -> Result<Written, StorageError> {
        validate_key(dest)?;
        for part in parts {
            validate_key(part)?;
        }
        match &*self.backend {
            Backend::Filesystem(b) => b.concat(parts, dest).await,
            Backend::S3(b) => b.concat(parts, dest, content_type).await,
        }
    }

    /// A URL that lets a client download `key` directly from S3 for `ttl` (at most 7 days),
    /// saving the server the traffic. With `download_name` the download is offered as an
    /// attachment of that name. The filesystem backend has no such URLs: `Ok(None)`, and the
    /// server streams the object itself.
    pub async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<Option<String>, StorageError> {
        validate_key(key)?;
        match &*self.backend {
            Backend::Filesystem(_) => Ok(None),
            Backend::S3(b) => b.presign_get(key, ttl, download_name).await.map(Some),
        }
    }

    /// A URL that lets a client (e.g. a bot) upload `key` directly to S3 with one HTTP PUT within
    /// `ttl`. The filesystem backend has no such URLs: `Ok(None)`.
    pub async fn presign_put(&self, key: &str, ttl: Duration) -> Result<Option<String>, StorageError> {
        validate_key(key)?;
        match &*self.backend {
            Backend::Filesystem(_) => Ok(None),
            Backend::S3(b) => b.presign_put(key, ttl).await.map(Some),
        }
    }
}

/// Turns an `AsyncRead` into a stream of at most `limit` bytes in chunks of at most [`CHUNK`];
/// fails if the reader ends early (the object changed or was truncated under us).
pub(crate) fn read_stream<R>(reader: R, limit: u64, what: String) -> BodyStream
where
    R: AsyncRead + Unpin + Send + 'static,
{
    use tokio::io::AsyncReadExt;
    futures::stream::try_unfold((reader, limit, what), |(mut reader, remaining, what)| async move {
        if remaining == 0 {
            return Ok(None);
        }
        let want = usize::try_from(remaining).unwrap_or(usize::MAX).min(CHUNK);
        let mut buf = vec![0u8; want];
        let n = reader
            .read(&mut buf)
            .await
            .map_err(|e| StorageError::Other(format!("reading {what}: {e}")))?;
        if n == 0 {
            return Err(StorageError::Other(format!("{what} ended {remaining} bytes early")));
        }
        buf.truncate(n);
        Ok(Some((Bytes::from(buf), (reader, remaining - n as u64, what))))
    })
    .boxed()
}

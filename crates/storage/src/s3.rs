//! S3 backend on `aws-sdk-s3`.
//!
//! Every call goes through the SDK's retry (standard mode: exponential backoff with jitter,
//! [`S3_MAX_ATTEMPTS`] attempts) and timeout layers; body chunks of downloads get the same
//! per-attempt timeout, so nothing here can wait forever on a dead or stalled endpoint.

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CompletedMultipartUpload, CompletedPart, CreateBucketConfiguration, Delete,
    ObjectIdentifier,
};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::range::parse_content_range;
use crate::{ByteRange, CHUNK, ObjectBody, ObjectInfo, S3_MAX_ATTEMPTS, S3_PART_SIZE, StorageError, Tally, Written};

pub(crate) struct S3Config {
    pub endpoint: Option<String>,
    pub region: String,
    pub bucket: String,
    pub access_key: Option<String>,
    pub secret_key: Option<String>,
    pub request_timeout: Duration,
}

pub(crate) struct S3Backend {
    client: Client,
    bucket: String,
    /// For error messages only.
    endpoint: String,
    request_timeout: Duration,
}

/// S3 error codes that mean the credentials or permissions are wrong.
const DENIED_CODES: &[&str] = &[
    "AccessDenied",
    "SignatureDoesNotMatch",
    "InvalidAccessKeyId",
    "InvalidToken",
    "ExpiredToken",
    "AllAccessDisabled",
];

/// Objects per DeleteObjects request (the S3 maximum).
const DELETE_BATCH: usize = 1000;

impl S3Backend {
    pub(crate) async fn connect(cfg: S3Config) -> Result<S3Backend, StorageError> {
        if cfg.bucket.is_empty() {
            return Err(StorageError::Other("S3_BUCKET_NAME is empty".to_string()));
        }
        let region = Region::new(cfg.region.clone());
        let mut builder = match (&cfg.access_key, &cfg.secret_key) {
            (Some(access), Some(secret)) => aws_sdk_s3::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .credentials_provider(Credentials::new(access, secret, None, None, "meeboter-settings")),
            (None, None) => {
                // No static keys: the standard chain (env, profile, web identity, instance role).
                let shared = aws_config::defaults(BehaviorVersion::latest())
                    .region(region.clone())
                    .load()
                    .await;
                aws_sdk_s3::config::Builder::from(&shared)
            }
            _ => {
                return Err(StorageError::Other(
                    "S3_ACCESS_KEY and S3_SECRET_KEY must be set together (or neither, to use the AWS \
                     credential chain)"
                        .to_string(),
                ));
            }
        };
        let attempt = cfg.request_timeout;
        // Room for every attempt plus the backoff between them (standard mode caps each pause at
        // 2^n s with jitter: at most 1 + 2 + 4 s for four attempts).
        let operation = attempt * S3_MAX_ATTEMPTS + Duration::from_secs(8);
        builder = builder
            .region(region)
            .retry_config(RetryConfig::standard().with_max_attempts(S3_MAX_ATTEMPTS))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(attempt)
                    .read_timeout(attempt)
                    .operation_attempt_timeout(attempt)
                    .operation_timeout(operation)
                    .build(),
            )
            // S3-compatible servers differ in which flexible checksums they accept; compute them
            // only where S3 requires one (DeleteObjects). This also keeps presigned PUT URLs free
            // of checksum parameters a browser or bot could not satisfy.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &cfg.endpoint {
            // Custom endpoints (MinIO, Garage, s3s …) rarely have wildcard DNS for buckets.
            builder = builder.endpoint_url(endpoint).force_path_style(true);
        }
        let backend = S3Backend {
            client: Client::from_conf(builder.build()),
            bucket: cfg.bucket,
            endpoint: cfg.endpoint.unwrap_or_else(|| format!("AWS S3 in {}", cfg.region)),
            request_timeout: cfg.request_timeout,
        };
        backend.ensure_bucket(&cfg.region).await?;
        tracing::info!(
            bucket = %backend.bucket,
            endpoint = %backend.endpoint,
            region = %cfg.region,
            static_keys = cfg.access_key.is_some(),
            "S3 storage ready"
        );
        Ok(backend)
    }

    /// HeadBucket, and CreateBucket when it does not exist.
    async fn ensure_bucket(&self, region: &str) -> Result<(), StorageError> {
        let err = match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        if status(&err) != Some(404) {
            return Err(match self.map_err("HeadBucket", &self.bucket, err) {
                StorageError::NotFound(_) => StorageError::Other(format!("bucket `{}` not found", self.bucket)),
                other => other,
            });
        }
        tracing::info!(bucket = %self.bucket, "S3 bucket missing; creating it");
        let mut create = self.client.create_bucket().bucket(&self.bucket);
        if region != "us-east-1" {
            create = create.create_bucket_configuration(
                CreateBucketConfiguration::builder()
                    .location_constraint(BucketLocationConstraint::from(region))
                    .build(),
            );
        }
        match create.send().await {
            Ok(_) => Ok(()),
            Err(err) if code(&err) == Some("BucketAlreadyOwnedByYou") => Ok(()),
            Err(err) if code(&err) == Some("BucketAlreadyExists") => Err(StorageError::Denied(format!(
                "bucket `{}` belongs to another account; choose another S3_BUCKET_NAME",
                self.bucket
            ))),
            Err(err) => Err(self.map_err("CreateBucket", &self.bucket, err)),
        }
    }

    /// Maps an SDK error onto [`StorageError`], with messages that point at the setting to fix.
    fn map_err<E>(&self, op: &str, key: &str, err: SdkError<E, HttpResponse>) -> StorageError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let status = status(&err);
        let code = code(&err).unwrap_or_default().to_string();
        let detail = DisplayErrorContext(&err).to_string();
        let mapped = match &err {
            SdkError::TimeoutError(_) => StorageError::Unavailable(format!(
                "S3 {op} `{key}` timed out ({:?} per attempt, {S3_MAX_ATTEMPTS} attempts); is S3_ENDPOINT ({}) \
                 reachable?",
                self.request_timeout, self.endpoint
            )),
            SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => StorageError::Unavailable(format!(
                "S3 {op} `{key}` failed after retries; is S3_ENDPOINT ({}) reachable? {detail}",
                self.endpoint
            )),
            SdkError::ServiceError(_) => {
                let message = err
                    .as_service_error()
                    .and_then(|e| e.message())
                    .unwrap_or_default()
                    .to_string();
                if code == "NoSuchBucket" {
                    StorageError::Other(format!("bucket `{}` does not exist (S3_BUCKET_NAME)", self.bucket))
                } else if status == Some(404) || code == "NoSuchKey" || code == "NotFound" {
                    StorageError::NotFound(key.to_string())
                } else if matches!(status, Some(401 | 403)) || DENIED_CODES.contains(&code.as_str()) {
                    self.denied(op, &format!("{} {code} {message}", status.unwrap_or_default()))
                } else if status == Some(412) {
                    // Only sent with If-Match on suffix reads: the object was replaced meanwhile.
                    StorageError::Unavailable(format!("`{key}` changed while being read; try again"))
                } else if status.is_some_and(|s| s >= 500) || code == "SlowDown" {
                    StorageError::Unavailable(format!(
                        "S3 {op} `{key}` kept failing at {} (HTTP {}, {code}: {message})",
                        self.endpoint,
                        status.unwrap_or_default()
                    ))
                } else {
                    StorageError::Other(format!(
                        "S3 {op} `{key}` failed: HTTP {} {code}: {message}",
                        status.unwrap_or_default()
                    ))
                }
            }
            _ => StorageError::Other(format!("S3 {op} `{key}`: {detail}")),
        };
        tracing::debug!(op, key, error = %mapped, "S3 call failed");
        mapped
    }

    fn denied(&self, op: &str, detail: &str) -> StorageError {
        StorageError::Denied(format!(
            "S3 refused {op} ({}); check S3_ACCESS_KEY and S3_SECRET_KEY, and that this key may use bucket `{}` \
             (S3_BUCKET_NAME)",
            detail.trim(),
            self.bucket
        ))
    }

    pub(crate) async fn head(&self, key: &str) -> Result<Option<ObjectInfo>, StorageError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(out) => Ok(Some(ObjectInfo {
                key: key.to_string(),
                size: size(out.content_length),
                last_modified: out.last_modified.as_ref().and_then(to_chrono),
            })),
            Err(err) => match self.map_err("HeadObject", key, err) {
                StorageError::NotFound(_) => Ok(None),
                other => Err(other),
            },
        }
    }

    pub(crate) async fn get(&self, key: &str, range: Option<ByteRange>) -> Result<ObjectBody, StorageError> {
        // Suffix ranges are resolved here against HeadObject's size, pinned to that version with
        // If-Match: S3-compatible servers disagree on suffixes longer than the object (s3s-fs
        // answers 500) and on empty objects, while `first-last` ranges behave the same everywhere.
        let (sent_range, if_match) = match range {
            Some(ByteRange::Suffix(len)) => {
                let out = match self.client.head_object().bucket(&self.bucket).key(key).send().await {
                    Ok(out) => out,
                    Err(err) => return Err(self.map_err("HeadObject", key, err)),
                };
                let (first, last) = ByteRange::Suffix(len).resolve(size(out.content_length))?;
                (Some(ByteRange::FromTo(first, last)), out.e_tag)
            }
            other => (other, None),
        };
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_match(if_match)
            .set_range(sent_range.map(|r| r.to_string()));
        let out = match request.send().await {
            Ok(out) => out,
            Err(err) => {
                if let Some(range) = range
                    && (status(&err) == Some(416) || code(&err) == Some("InvalidRange"))
                {
                    let size = self.head(key).await.ok().flatten().map(|info| info.size);
                    return Err(StorageError::InvalidRange {
                        range: range.to_string(),
                        size,
                    });
                }
                return Err(self.map_err("GetObject", key, err));
            }
        };
        let length = size(out.content_length);
        let (total_size, served) = match range {
            None => (length, None),
            Some(range) => match out.content_range.as_deref().and_then(parse_content_range) {
                Some((first, last, total)) => (total, Some((first, last))),
                // Some servers answer a range on an empty object with an empty body.
                None if length == 0 => {
                    return Err(StorageError::InvalidRange {
                        range: range.to_string(),
                        size: Some(0),
                    });
                }
                None => {
                    return Err(StorageError::Other(format!(
                        "S3 GetObject `{key}`: the server ignored the range {range} (no Content-Range)"
                    )));
                }
            },
        };
        Ok(ObjectBody {
            size: length,
            total_size,
            range: served,
            stream: body_stream(out.body, key.to_string(), self.request_timeout),
        })
    }

    pub(crate) async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>, StorageError> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .set_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|err| self.map_err("ListObjectsV2", prefix, err))?;
            for object in out.contents() {
                if let Some(key) = object.key() {
                    found.push(ObjectInfo {
                        key: key.to_string(),
                        size: size(object.size),
                        last_modified: object.last_modified().and_then(to_chrono),
                    });
                }
            }
            match out.next_continuation_token() {
                Some(next) if out.is_truncated() == Some(true) => token = Some(next.to_string()),
                _ => break,
            }
        }
        Ok(found)
    }

    pub(crate) async fn delete(&self, key: &str) -> Result<(), StorageError> {
        match self.client.delete_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(()),
            Err(err) => match self.map_err("DeleteObject", key, err) {
                StorageError::NotFound(_) => Ok(()),
                other => Err(other),
            },
        }
    }

    pub(crate) async fn delete_many(&self, keys: &[String]) -> Result<u64, StorageError> {
        let mut deleted = 0u64;
        for batch in keys.chunks(DELETE_BATCH) {
            let objects = batch
                .iter()
                .map(|key| ObjectIdentifier::builder().key(key).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| StorageError::Other(format!("building DeleteObjects: {e}")))?;
            let delete = Delete::builder()
                .set_objects(Some(objects))
                .quiet(true)
                .build()
                .map_err(|e| StorageError::Other(format!("building DeleteObjects: {e}")))?;
            let first = batch.first().map(String::as_str).unwrap_or_default();
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|err| self.map_err("DeleteObjects", first, err))?;
            if let Some(failure) = out.errors().iter().find(|e| e.code() != Some("NoSuchKey")) {
                let code = failure.code().unwrap_or_default();
                let detail = format!("{code} {}", failure.message().unwrap_or_default());
                let key = failure.key().unwrap_or_default();
                return Err(if DENIED_CODES.contains(&code) {
                    self.denied("DeleteObjects", &detail)
                } else {
                    StorageError::Other(format!("S3 DeleteObjects `{key}` failed: {detail}"))
                });
            }
            deleted += batch.len() as u64;
        }
        Ok(deleted)
    }

    pub(crate) async fn put_reader(
        &self,
        key: &str,
        mut reader: impl AsyncRead + Unpin + Send,
        content_type: &str,
    ) -> Result<Written, StorageError> {
        let mut upload = Upload::new(self, key, content_type);
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    upload.abort().await;
                    return Err(StorageError::Other(format!("reading upload for {key}: {e}")));
                }
            };
            if n == 0 {
                break;
            }
            upload.push(&buf[..n]).await?;
        }
        upload.finish().await
    }

    pub(crate) async fn concat(
        &self,
        parts: &[String],
        dest: &str,
        content_type: &str,
    ) -> Result<Written, StorageError> {
        let mut upload = Upload::new(self, dest, content_type);
        for part in parts {
            let out = match self.client.get_object().bucket(&self.bucket).key(part).send().await {
                Ok(out) => out,
                Err(err) => {
                    upload.abort().await;
                    return Err(self.map_err("GetObject", part, err));
                }
            };
            let mut stream = body_stream(out.body, part.clone(), self.request_timeout);
            while let Some(chunk) = stream.next().await {
                match chunk {
                    Ok(chunk) => upload.push(&chunk).await?,
                    Err(e) => {
                        upload.abort().await;
                        return Err(e);
                    }
                }
            }
        }
        upload.finish().await
    }

    pub(crate) async fn presign_get(
        &self,
        key: &str,
        ttl: Duration,
        download_name: Option<&str>,
    ) -> Result<String, StorageError> {
        let presigned = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_response_content_disposition(download_name.map(content_disposition))
            .presigned(presigning(ttl)?)
            .await
            .map_err(|err| self.map_err("presign GetObject", key, err))?;
        Ok(presigned.uri().to_string())
    }

    pub(crate) async fn presign_put(&self, key: &str, ttl: Duration) -> Result<String, StorageError> {
        let presigned = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|err| self.map_err("presign PutObject", key, err))?;
        Ok(presigned.uri().to_string())
    }
}

/// An upload in progress: buffers at most one part, sends a single PutObject when everything fit
/// in one part, and switches to a multipart upload as soon as there is more.
struct Upload<'a> {
    s3: &'a S3Backend,
    key: &'a str,
    content_type: &'a str,
    buf: BytesMut,
    tally: Tally,
    multipart: Option<Multipart>,
}

/// A started multipart upload. Dropped without `done` (e.g. the future was cancelled), it aborts
/// itself in the background so the store does not keep orphaned parts.
struct Multipart {
    client: Client,
    bucket: String,
    key: String,
    upload_id: String,
    parts: Vec<CompletedPart>,
    done: bool,
}

impl Drop for Multipart {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, upload_id = %self.upload_id, "multipart upload left open (no runtime)");
            return;
        };
        let (client, bucket, key, upload_id) = (
            self.client.clone(),
            self.bucket.clone(),
            self.key.clone(),
            self.upload_id.clone(),
        );
        handle.spawn(async move { abort_multipart(&client, &bucket, &key, &upload_id).await });
    }
}

async fn abort_multipart(client: &Client, bucket: &str, key: &str, upload_id: &str) {
    let result = client
        .abort_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(upload_id)
        .send()
        .await;
    match result {
        Ok(_) => tracing::debug!(key, "aborted multipart upload"),
        Err(err) => {
            tracing::warn!(key, upload_id, error = %DisplayErrorContext(&err), "could not abort multipart upload")
        }
    }
}

impl<'a> Upload<'a> {
    fn new(s3: &'a S3Backend, key: &'a str, content_type: &'a str) -> Upload<'a> {
        Upload {
            s3,
            key,
            content_type,
            buf: BytesMut::new(),
            tally: Tally::default(),
            multipart: None,
        }
    }

    /// Adds data; sends a part whenever more than a part is buffered (so the last part is never
    /// empty and every part but the last is exactly [`S3_PART_SIZE`]). Aborts on failure.
    async fn push(&mut self, data: &[u8]) -> Result<(), StorageError> {
        self.tally.update(data);
        self.buf.extend_from_slice(data);
        while self.buf.len() > S3_PART_SIZE {
            let part = self.buf.split_to(S3_PART_SIZE).freeze();
            if let Err(e) = self.send_part(part).await {
                self.abort().await;
                return Err(e);
            }
        }
        Ok(())
    }

    async fn send_part(&mut self, part: Bytes) -> Result<(), StorageError> {
        let s3 = self.s3;
        if self.multipart.is_none() {
            let out = s3
                .client
                .create_multipart_upload()
                .bucket(&s3.bucket)
                .key(self.key)
                .content_type(self.content_type)
                .send()
                .await
                .map_err(|err| s3.map_err("CreateMultipartUpload", self.key, err))?;
            let upload_id = out
                .upload_id()
                .ok_or_else(|| StorageError::Other("CreateMultipartUpload returned no upload id".to_string()))?;
            tracing::debug!(key = self.key, "started multipart upload");
            self.multipart = Some(Multipart {
                client: s3.client.clone(),
                bucket: s3.bucket.clone(),
                key: self.key.to_string(),
                upload_id: upload_id.to_string(),
                parts: Vec::new(),
                done: false,
            });
        }
        let Some(multipart) = self.multipart.as_mut() else {
            return Err(StorageError::Other("multipart upload missing".to_string()));
        };
        let number = i32::try_from(multipart.parts.len() + 1)
            .map_err(|_| StorageError::Other("too many multipart parts".to_string()))?;
        let out = s3
            .client
            .upload_part()
            .bucket(&s3.bucket)
            .key(self.key)
            .upload_id(&multipart.upload_id)
            .part_number(number)
            .body(ByteStream::from(part))
            .send()
            .await
            .map_err(|err| s3.map_err("UploadPart", self.key, err))?;
        multipart.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(out.e_tag().map(str::to_string))
                .build(),
        );
        Ok(())
    }

    /// Stores what was pushed: one PutObject, or the last part and CompleteMultipartUpload.
    async fn finish(mut self) -> Result<Written, StorageError> {
        let s3 = self.s3;
        let rest = std::mem::take(&mut self.buf).freeze();
        if self.multipart.is_none() {
            s3.client
                .put_object()
                .bucket(&s3.bucket)
                .key(self.key)
                .content_type(self.content_type)
                .body(ByteStream::from(rest))
                .send()
                .await
                .map_err(|err| s3.map_err("PutObject", self.key, err))?;
            return Ok(self.tally.finish(self.key));
        }
        if let Err(e) = self.send_part(rest).await {
            self.abort().await;
            return Err(e);
        }
        let Some(mut multipart) = self.multipart.take() else {
            return Err(StorageError::Other("multipart upload missing".to_string()));
        };
        let completed = CompletedMultipartUpload::builder()
            .set_parts(Some(std::mem::take(&mut multipart.parts)))
            .build();
        let result = s3
            .client
            .complete_multipart_upload()
            .bucket(&s3.bucket)
            .key(self.key)
            .upload_id(&multipart.upload_id)
            .multipart_upload(completed)
            .send()
            .await;
        match result {
            Ok(_) => {
                multipart.done = true;
                Ok(self.tally.finish(self.key))
            }
            Err(err) => {
                let mapped = s3.map_err("CompleteMultipartUpload", self.key, err);
                multipart.done = true;
                abort_multipart(&s3.client, &s3.bucket, self.key, &multipart.upload_id).await;
                Err(mapped)
            }
        }
    }

    /// Gives up: aborts the multipart upload, if one was started, and waits for that.
    async fn abort(&mut self) {
        if let Some(mut multipart) = self.multipart.take() {
            multipart.done = true;
            abort_multipart(
                &multipart.client,
                &multipart.bucket,
                &multipart.key,
                &multipart.upload_id,
            )
            .await;
        }
    }
}

/// Streams a response body, failing with `Unavailable` if a chunk takes longer than `timeout`
/// (the SDK's timeouts stop at the response headers).
fn body_stream(body: ByteStream, key: String, timeout: Duration) -> crate::BodyStream {
    futures::stream::try_unfold((body, key), move |(mut body, key)| async move {
        match tokio::time::timeout(timeout, body.next()).await {
            Err(_) => Err(StorageError::Unavailable(format!(
                "S3 stopped sending `{key}` (no data for {timeout:?})"
            ))),
            Ok(None) => Ok(None),
            Ok(Some(Ok(chunk))) => Ok(Some((chunk, (body, key)))),
            Ok(Some(Err(e))) => Err(StorageError::Unavailable(format!(
                "reading `{key}` from S3: {}",
                DisplayErrorContext(&e)
            ))),
        }
    })
    .boxed()
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, StorageError> {
    PresigningConfig::expires_in(ttl)
        .map_err(|e| StorageError::Other(format!("presigned URL lifetime {ttl:?} not allowed: {e}")))
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

fn code<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> Option<&str> {
    err.as_service_error().and_then(|e| e.code())
}

fn size(length: Option<i64>) -> u64 {
    length.and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

fn to_chrono(t: &aws_sdk_s3::primitives::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())
}

/// `Content-Disposition: attachment` with the name both as a plain ASCII fallback and, for
/// non-ASCII names, RFC 8187 `filename*` (what browsers use).
pub(crate) fn content_disposition(name: &str) -> String {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn content_disposition_quotes_and_encodes() {
        assert_eq!(
            content_disposition("meeting.webm"),
            "attachment; filename=\"meeting.webm\"; filename*=UTF-8''meeting.webm"
        );
        assert_eq!(
            content_disposition("a \"b\"\\c.mp4"),
            "attachment; filename=\"a _b__c.mp4\"; filename*=UTF-8''a%20%22b%22%5Cc.mp4"
        );
        assert_eq!(
            content_disposition("réunion\r\n.webm"),
            "attachment; filename=\"r_union__.webm\"; filename*=UTF-8''r%C3%A9union%0D%0A.webm"
        );
    }
}

//! Bot media in storage: where objects go, URLs that expire, assembling a recording from
//! the chunks a bot uploaded, and retention.
//!
//! Bots hold no storage credentials. They upload through the control channel: the server
//! answers each chunk with a presigned PUT (S3) or a URL of its own (filesystem), verifies
//! what arrived (size and sha256), and only then records the chunk. When the bot is done —
//! or died — a leased worker concatenates each part's init segment and media segments into
//! one fragmented MP4 and fires `bot.recording_ready`.

use crate::AppState;
use crate::lifecycle::{self, event_type};
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use meeboter_db::{DbError, DbResult, bots, leases, media};
use meeboter_storage::{Storage, StorageError};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// Key prefix of everything a bot produced.
pub fn bot_prefix(bot_id: &str) -> String {
    format!("bots/{bot_id}/")
}

/// Where a recording chunk goes: seq 0 is the part's init segment.
pub fn chunk_key(bot_id: &str, part: u32, seq: u32) -> String {
    if seq == 0 {
        format!("bots/{bot_id}/recordings/chunks/{part:04}/init.mp4")
    } else {
        format!("bots/{bot_id}/recordings/chunks/{part:04}/{seq:06}.m4s")
    }
}

/// Where an assembled part goes (`recording.mp4` when there is one part).
pub fn recording_key(bot_id: &str, part: u32, parts: usize) -> String {
    if parts == 1 {
        format!("bots/{bot_id}/recordings/recording.mp4")
    } else {
        format!("bots/{bot_id}/recordings/part-{part:04}.mp4")
    }
}

/// Where a bot's log lines are archived once it has ended.
pub fn logs_key(bot_id: &str) -> String {
    format!("bots/{bot_id}/logs/{bot_id}.jsonl.gz")
}

pub fn screenshot_key(bot_id: &str, label: &str, extension: &str) -> String {
    format!("bots/{bot_id}/screenshots/{label}.{extension}")
}

/// A URL that downloads `key` until `expires`: presigned on S3, signed by this server on
/// the filesystem backend.
pub async fn download_url(
    state: &AppState,
    key: &str,
    download_name: Option<&str>,
) -> Result<(String, DateTime<Utc>), StorageError> {
    let ttl = std::time::Duration::from_secs(state.config.media_url_ttl_secs);
    let expires = state.now() + Duration::seconds(state.config.media_url_ttl_secs as i64);
    if let Some(url) = state.storage.presign_get(key, ttl, download_name).await? {
        return Ok((url, expires));
    }
    let exp = expires.timestamp();
    let name = download_name.unwrap_or("");
    let sig = sign(&state.bot_token_secret, "GET", key, exp, name);
    let mut url = url::Url::parse(&format!("{}/api/media", state.config.public_url)).expect("PUBLIC_URL is a URL");
    url.query_pairs_mut()
        .append_pair("key", key)
        .append_pair("exp", &exp.to_string())
        .append_pair("name", name)
        .append_pair("sig", &sig);
    Ok((url.to_string(), expires))
}

/// The signature of a server media URL (HMAC-SHA256 under a key derived from the server
/// secret, so it never equals a bot token's).
pub fn sign(secret: &str, method: &str, key: &str, exp: i64, name: &str) -> String {
    let mut derive = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    derive.update(b"meeboter media url v1");
    let derived = derive.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&derived).expect("any key length");
    mac.update(format!("{method}\n{key}\n{exp}\n{name}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Checks a server media URL's signature (constant time) and expiry.
pub fn verify(secret: &str, method: &str, key: &str, exp: i64, name: &str, sig: &str, now: DateTime<Utc>) -> bool {
    let expected = sign(secret, method, key, exp, name);
    let same =
        expected.len() == sig.len() && expected.bytes().zip(sig.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    same && now.timestamp() <= exp
}

/// Reads an object back and returns its size and sha256 (chunks are small).
pub async fn digest(storage: &Storage, key: &str) -> Result<(u64, String), StorageError> {
    use futures::StreamExt;
    let mut body = storage.get(key, None).await?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = body.stream.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((size, hex::encode(hasher.finalize())))
}

/// How long after a bot ended without finishing its recording the chunks are assembled
/// anyway (it crashed, or was killed): late uploads of a dying bot still make it in.
pub const ASSEMBLE_GRACE: Duration = Duration::seconds(60);
/// An assembly claimed this long ago whose worker vanished is taken over.
pub const ASSEMBLY_STALE: Duration = Duration::minutes(10);
const LEASE: &str = "media-worker";

/// What one media pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct MediaReport {
    pub assembled: usize,
    pub failed: usize,
    pub expired: usize,
    pub logs_archived: usize,
}

/// Assembles finished recordings and applies retention, under a lease (one replica).
pub async fn run_once(state: &AppState, holder: &str) -> DbResult<MediaReport> {
    let now = state.now();
    {
        let mut tx = state.db.begin_write().await?;
        let leased = leases::try_acquire(&mut tx, LEASE, holder, Duration::seconds(60), now).await?;
        tx.commit().await?;
        if !leased {
            return Ok(MediaReport::default());
        }
    }
    let mut report = MediaReport::default();
    let ids = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        media::ids_to_assemble(&mut conn, now - ASSEMBLE_GRACE, now - ASSEMBLY_STALE, 20).await?
    };
    for id in ids {
        let claimed = {
            let mut tx = state.db.begin_write().await?;
            let ok = media::transition(
                &mut tx,
                &id,
                &["finishing", "recording", "assembling"],
                "assembling",
                None,
                now,
            )
            .await?;
            tx.commit().await?;
            ok
        };
        if !claimed {
            continue;
        }
        match assemble(state, &id).await {
            Ok(true) => report.assembled += 1,
            Ok(false) => report.failed += 1,
            Err(e) => {
                // Storage trouble: try again on a later pass, nothing is lost.
                tracing::warn!(bot_id = %id, error = %e, "assembling a recording failed; will retry");
                let mut tx = state.db.begin_write().await?;
                media::transition(&mut tx, &id, &["assembling"], "finishing", None, state.now()).await?;
                tx.commit().await?;
            }
        }
    }
    report.logs_archived = archive_logs(state).await?;
    if let Some(days) = state.config.recording_retention_days {
        report.expired = expire(state, now - Duration::days(days as i64)).await?;
    }
    Ok(report)
}

#[derive(Debug, thiserror::Error)]
enum AssemblyError {
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Concatenates each part's chunks into one file. `Ok(false)`: nothing usable was
/// uploaded (the recording is marked failed).
async fn assemble(state: &AppState, bot_id: &str) -> Result<bool, AssemblyError> {
    let (chunks, recording) = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        let chunks = media::list(&mut conn, bot_id, "chunk").await?;
        let recording = media::recording_state(&mut conn, bot_id).await?;
        (chunks, recording)
    };
    let mode = recording.and_then(|r| r.mode).unwrap_or_else(|| "video".into());
    // Group by part; a part without its init segment cannot play and is skipped.
    let mut parts: std::collections::BTreeMap<u32, Vec<media::MediaRecord>> = Default::default();
    for c in chunks {
        let part = c.label.split('/').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        parts.entry(part).or_default().push(c);
    }
    parts.retain(|_, list| list.first().is_some_and(|c| c.label.ends_with("/000000")) && list.len() > 1);
    let now = state.now();
    if parts.is_empty() {
        let meta = json!({"error": "no playable media was uploaded"}).to_string();
        let mut tx = state.db.begin_write().await?;
        media::transition(&mut tx, bot_id, &["assembling"], "failed", Some(&meta), now).await?;
        tx.commit().await.map_err(DbError::from)?;
        return Ok(false);
    }
    let content_type = if mode == "audio" { "audio/mp4" } else { "video/mp4" };
    let count = parts.len();
    let mut segments = Vec::new();
    for (part, list) in &parts {
        let keys: Vec<String> = list.iter().map(|c| c.storage_key.clone()).collect();
        let dest = recording_key(bot_id, *part, count);
        let written = state.storage.concat(&keys, &dest, content_type).await?;
        let duration_ms: i64 = list.iter().filter_map(|c| c.duration_ms).sum();
        segments.push((*part, dest, written, duration_ms));
    }
    let size: u64 = segments.iter().map(|s| s.2.size).sum();
    let duration_ms: i64 = segments.iter().map(|s| s.3).sum();
    // One part: the file's hash. Several: the hash of the parts' hashes in order.
    let sha256 = if segments.len() == 1 {
        segments[0].2.sha256.clone()
    } else {
        let mut h = Sha256::new();
        for s in &segments {
            h.update(s.2.sha256.as_bytes());
        }
        hex::encode(h.finalize())
    };
    let meta = json!({
        "format": "mp4",
        "mode": mode,
        "contentType": content_type,
        "durationSecs": duration_ms as f64 / 1000.0,
        "sizeBytes": size,
        "sha256": sha256,
        "segments": segments.iter().map(|(part, key, w, d)| json!({
            "part": part, "key": key, "sizeBytes": w.size, "sha256": w.sha256, "durationSecs": *d as f64 / 1000.0,
        })).collect::<Vec<Value>>(),
    });
    let mut tx = state.db.begin_write().await?;
    media::mark_deleted(&mut tx, bot_id, "recording", now).await?;
    for (part, key, w, d) in &segments {
        let label = part.to_string();
        let new = media::NewMedia {
            bot_id,
            kind: "recording",
            label: &label,
            storage_key: key,
            content_type,
            size_bytes: w.size as i64,
            sha256: &w.sha256,
            duration_ms: Some(*d),
        };
        media::insert(&mut tx, &new, now).await?;
    }
    media::transition(&mut tx, bot_id, &["assembling"], "ready", Some(&meta.to_string()), now).await?;
    if let Some(bot) = bots::find_any(&mut tx, bot_id).await? {
        let mut data = meta.clone();
        data["botId"] = json!(bot_id);
        data["metadata"] = Value::Object(bot.metadata.clone());
        lifecycle::publish(&mut tx, &bot, event_type::RECORDING_READY, data, now).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    // The assembled files are confirmed: the chunks are no longer needed.
    match state
        .storage
        .delete_prefix(&format!("bots/{bot_id}/recordings/chunks/"))
        .await
    {
        Ok(_) => {
            let mut tx = state.db.begin_write().await?;
            media::mark_deleted(&mut tx, bot_id, "chunk", now).await?;
            tx.commit().await.map_err(DbError::from)?;
        }
        Err(e) => tracing::warn!(bot_id, error = %e, "could not delete recording chunks; they stay in storage"),
    }
    tracing::info!(bot_id, size, duration_ms, parts = count, "recording ready");
    Ok(true)
}

/// Archives the log lines of bots that ended more than the late-delivery grace ago as one
/// gzipped JSON-lines object each (`{"at", "level", "message", "source"}` per line), written
/// through a temporary file so a long meeting's logs never sit in memory.
async fn archive_logs(state: &AppState) -> DbResult<usize> {
    let ended_before = state.now() - crate::routes::bot_channel::LATE_DELIVERY_GRACE;
    let ids = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        media::ids_with_logs_to_archive(&mut conn, ended_before, 20).await?
    };
    let mut archived = 0;
    for id in ids {
        match archive_one(state, &id).await {
            Ok(()) => {
                let mut tx = state.db.begin_write().await?;
                media::set_logs_archived(&mut tx, &id, state.now()).await?;
                tx.commit().await?;
                archived += 1;
            }
            Err(e) => tracing::warn!(bot_id = %id, error = %e, "archiving logs failed; will retry"),
        }
    }
    Ok(archived)
}

async fn archive_one(state: &AppState, bot_id: &str) -> Result<(), AssemblyError> {
    use std::io::Write;
    let file = tempfile::NamedTempFile::new().map_err(|e| StorageError::Other(e.to_string()))?;
    let mut gz = flate2::write::GzEncoder::new(
        std::io::BufWriter::new(file.reopen().map_err(|e| StorageError::Other(e.to_string()))?),
        flate2::Compression::default(),
    );
    let types = vec!["log".to_string()];
    let mut after: Option<String> = None;
    loop {
        let page = {
            let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
            meeboter_db::events::list(&mut conn, bot_id, after.as_deref(), &types, 1000).await?
        };
        for e in &page {
            let line = json!({
                "at": e.at,
                "level": e.data["level"],
                "message": e.data["message"],
                "source": e.data.get("source").cloned().unwrap_or(json!("bot")),
            });
            writeln!(gz, "{line}").map_err(|e| StorageError::Other(e.to_string()))?;
        }
        match page.last() {
            Some(last) if page.len() == 1000 => after = Some(last.id.clone()),
            _ => break,
        }
    }
    gz.finish()
        .and_then(|mut w| w.flush())
        .map_err(|e| StorageError::Other(e.to_string()))?;
    state
        .storage
        .put_file(&logs_key(bot_id), file.path(), "application/gzip")
        .await?;
    Ok(())
}

/// Deletes media created before `cutoff` (`RECORDING_RETENTION_DAYS`) and marks it on the bots.
async fn expire(state: &AppState, cutoff: DateTime<Utc>) -> DbResult<usize> {
    let ids = {
        let mut conn = state.db.pool().acquire().await.map_err(DbError::from)?;
        media::bots_with_media_before(&mut conn, cutoff, 50).await?
    };
    let mut expired = 0;
    for id in ids {
        if let Err(e) = state.storage.delete_prefix(&bot_prefix(&id)).await {
            tracing::warn!(bot_id = %id, error = %e, "retention: could not delete media; will retry");
            continue;
        }
        let now = state.now();
        let mut tx = state.db.begin_write().await?;
        for kind in ["screenshot", "chunk", "recording"] {
            media::mark_deleted(&mut tx, &id, kind, now).await?;
        }
        let meta = json!({"expiredAt": now}).to_string();
        media::transition(
            &mut tx,
            &id,
            &["ready", "failed", "recording", "finishing"],
            "expired",
            Some(&meta),
            now,
        )
        .await?;
        tx.commit().await?;
        expired += 1;
    }
    Ok(expired)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_check_every_field_and_expire() {
        let now = Utc::now();
        let exp = now.timestamp() + 60;
        let key = "bots/b/recordings/recording.mp4";
        let sig = sign("secret", "GET", key, exp, "");
        let accepts =
            |secret: &str, key: &str, exp: i64, name: &str, at| verify(secret, "GET", key, exp, name, &sig, at);
        assert!(accepts("secret", key, exp, "", now));
        assert!(
            !accepts("secret", "bots/c/recordings/recording.mp4", exp, "", now),
            "other key"
        );
        assert!(!accepts("secret", key, exp + 1, "", now), "other expiry");
        assert!(!accepts("other", key, exp, "", now), "other secret");
        assert!(!accepts("secret", key, exp, "x.mp4", now), "other download name");
        assert!(!accepts("secret", key, exp, "", now + Duration::seconds(61)), "expired");
        assert!(!verify("secret", "PUT", key, exp, "", &sig, now), "other method");
    }

    #[test]
    fn keys_follow_the_layout() {
        assert_eq!(chunk_key("b1", 2, 0), "bots/b1/recordings/chunks/0002/init.mp4");
        assert_eq!(chunk_key("b1", 2, 7), "bots/b1/recordings/chunks/0002/000007.m4s");
        assert_eq!(recording_key("b1", 1, 1), "bots/b1/recordings/recording.mp4");
        assert_eq!(recording_key("b1", 2, 3), "bots/b1/recordings/part-0002.mp4");
        assert_eq!(
            screenshot_key("b1", "123-in_call", "jpg"),
            "bots/b1/screenshots/123-in_call.jpg"
        );
    }
}

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
        let started = std::time::Instant::now();
        let assembled = assemble(state, &id).await;
        crate::metrics::assembly_finished(
            match &assembled {
                Ok(true) => "ready",
                Ok(false) => "failed",
                Err(_) => "error",
            },
            started.elapsed(),
        );
        match assembled {
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
        // Transcripts follow the same retention (by the bot's end).
        let mut tx = state.db.begin_write().await?;
        meeboter_db::transcripts::expire_before(&mut tx, now - Duration::days(days as i64), now).await?;
        tx.commit().await?;
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
    let (mode, reported_parts, report) = match recording {
        Some(r) => (r.mode, r.parts, r.report),
        None => (None, None, None),
    };
    let mode = mode.unwrap_or_else(|| "video".into());
    // Group by part; a part without its init segment cannot play and is skipped.
    let mut parts: std::collections::BTreeMap<u32, Vec<media::MediaRecord>> = Default::default();
    for c in chunks {
        let part = c.label.split('/').next().and_then(|p| p.parse().ok()).unwrap_or(0);
        parts.entry(part).or_default().push(c);
    }
    // What is missing: what the bot said it could not send, and every hole in what arrived.
    let report: Option<Value> = report.and_then(|r| serde_json::from_str(&r).ok());
    let said_complete = report.as_ref().and_then(|r| r["complete"].as_bool());
    let reported: Vec<MissingSpan> = report
        .as_ref()
        .and_then(|r| serde_json::from_value(r["missing"].clone()).ok())
        .unwrap_or_default();
    let arrived: std::collections::BTreeMap<u32, Vec<u32>> = parts
        .iter()
        .map(|(part, list)| (*part, list.iter().filter_map(|c| chunk_seq(&c.label)).collect()))
        .collect();
    let missing = missing_spans(&arrived, reported_parts.unwrap_or(0).max(0) as u32, reported);
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
    let complete = said_complete != Some(false) && missing.is_empty();
    let missing_ms: u64 = missing.iter().filter_map(|m| m.duration_ms).sum();
    let meta = json!({
        "complete": complete,
        "missing": missing.iter().map(MissingSpan::to_wire).collect::<Vec<Value>>(),
        "missingSecs": missing_ms as f64 / 1000.0,
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
    let final_state = if complete { "ready" } else { "partial" };
    media::transition(
        &mut tx,
        bot_id,
        &["assembling"],
        final_state,
        Some(&meta.to_string()),
        now,
    )
    .await?;
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
    if complete {
        tracing::info!(bot_id, size, duration_ms, parts = count, "recording ready");
    } else {
        let spans = missing.len();
        tracing::warn!(
            bot_id,
            size,
            duration_ms,
            parts = count,
            spans,
            missing_ms,
            "recording partial"
        );
    }
    Ok(true)
}

/// The seq of a chunk label (`PPPP/SSSSSS`).
fn chunk_seq(label: &str) -> Option<u32> {
    label.split('/').nth(1)?.parse().ok()
}

/// Chunks `from_seq..=to_seq` of a part that are not in the recording (`to_seq`
/// `u32::MAX`: to an unknown end); the bot's
/// `recording/finish` vocabulary, see `routes::media::MissingSpan`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MissingSpan {
    pub part: u32,
    pub from_seq: u32,
    pub to_seq: u32,
    #[serde(default)]
    pub start_ms: Option<u64>,
    #[serde(default)]
    pub duration_ms: Option<u64>,
}

impl MissingSpan {
    /// As the API and the webhook show it: seconds, `null` where unknown.
    fn to_wire(&self) -> Value {
        json!({
            "part": self.part,
            "fromSeq": self.from_seq,
            // A part of which nothing arrived: how far it went is unknown.
            "toSeq": (self.to_seq != u32::MAX).then_some(self.to_seq),
            "startSecs": self.start_ms.map(|v| v as f64 / 1000.0),
            "durationSecs": self.duration_ms.map(|v| v as f64 / 1000.0),
        })
    }
}

/// Everything missing from a recording: the spans the bot reported, plus the holes in
/// what arrived that the bot did not report (a bot that died cannot): a part below
/// `parts` (what the bot said it recorded) or below the highest part that arrived with
/// no chunk at all, a missing init section (seq 0) and gaps between arrived seqs. Only
/// what the bot reported has a known duration. Sorted by part and seq.
pub fn missing_spans(
    arrived: &std::collections::BTreeMap<u32, Vec<u32>>,
    parts: u32,
    reported: Vec<MissingSpan>,
) -> Vec<MissingSpan> {
    let mut holes: Vec<(u32, u32, u32)> = Vec::new();
    let last_part = arrived.keys().copied().max().unwrap_or(0).max(parts);
    for part in 1..=last_part {
        let Some(seqs) = arrived.get(&part) else {
            // Nothing of it arrived; how long it was only the bot can say.
            holes.push((part, 0, u32::MAX));
            continue;
        };
        let mut seqs = seqs.clone();
        seqs.sort_unstable();
        seqs.dedup();
        let mut expected = 0u32;
        for seq in seqs {
            if seq > expected {
                holes.push((part, expected, seq - 1));
            }
            expected = seq.saturating_add(1);
        }
    }
    let mut spans = reported;
    for (part, from, to) in holes {
        // The part of the hole the bot did not report.
        let mut covered: Vec<(u32, u32)> = spans
            .iter()
            .filter(|s| s.part == part)
            .map(|s| (s.from_seq, s.to_seq))
            .collect();
        covered.sort_unstable();
        if to == u32::MAX && !covered.is_empty() {
            // A part that never arrived and that the bot described: its spans say it all.
            continue;
        }
        // The first seq not accounted for yet (`None`: the hole is covered to its end).
        let mut next = Some(from);
        let mut rest = Vec::new();
        for (a, b) in covered {
            let Some(n) = next else { break };
            if b < n {
                continue;
            }
            if a > to {
                break;
            }
            if a > n {
                rest.push((n, a - 1));
            }
            next = if b >= to { None } else { Some(b + 1) };
        }
        if let Some(n) = next {
            rest.push((n, to));
        }
        for (a, b) in rest {
            spans.push(MissingSpan {
                part,
                from_seq: a,
                to_seq: b,
                start_ms: None,
                duration_ms: None,
            });
        }
    }
    spans.sort_by_key(|s| (s.part, s.from_seq));
    spans
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
            &["ready", "partial", "failed", "recording", "finishing"],
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
    fn missing_spans_merge_the_bots_report_with_the_holes_that_arrived() {
        use std::collections::BTreeMap;
        let span = |part, from_seq, to_seq, duration_ms| MissingSpan {
            part,
            from_seq,
            to_seq,
            start_ms: None,
            duration_ms,
        };
        // Nothing missing.
        let arrived = BTreeMap::from([(1, vec![0, 1, 2, 3])]);
        assert_eq!(missing_spans(&arrived, 1, vec![]), vec![]);
        // The bot reported its unsent tail; the server adds a hole it did not report.
        let arrived = BTreeMap::from([(1, vec![0, 1, 3, 4]), (3, vec![1, 2])]);
        let reported = vec![span(1, 5, 9, Some(30_000))];
        assert_eq!(
            missing_spans(&arrived, 3, reported),
            vec![
                span(1, 2, 2, None),
                span(1, 5, 9, Some(30_000)),
                span(2, 0, u32::MAX, None),
                span(3, 0, 0, None),
            ]
        );
        // A reported span covering part of a hole leaves only the rest.
        let arrived = BTreeMap::from([(1, vec![0, 1, 6])]);
        let reported = vec![span(1, 3, 4, Some(12_000))];
        assert_eq!(
            missing_spans(&arrived, 1, reported),
            vec![span(1, 2, 2, None), span(1, 3, 4, Some(12_000)), span(1, 5, 5, None)]
        );
        // A part that never arrived but that the bot described.
        let arrived = BTreeMap::from([(1, vec![0, 1])]);
        let reported = vec![span(2, 0, 3, Some(18_000))];
        assert_eq!(
            missing_spans(&arrived, 2, reported.clone()),
            vec![span(2, 0, 3, Some(18_000))]
        );
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

//! The real-time worker's Deepgram path: a bot's segments go, in `seq` order, over one live
//! stream ([`crate::deepgram_live`]) that the worker holding the bot's lease keeps open
//! between passes (in [`Streams`]); Deepgram's interim results become `transcript.partial`
//! lines, its finals `transcript.data` lines.
//!
//! **Finals → segments.** After a segment's audio the worker sends `Finalize`, so Deepgram
//! finalises exactly the audio sent so far; the segment is complete once a final result
//! reaches its end on the stream's clock (silence gives empty finals, which count). Its
//! finals are then stored under caption ids `dg:{seq}:{n}` — the n-th line of that segment —
//! together with the segment's `done` mark and the lease extension, in one transaction that
//! only commits while the lease is held. Interim lines are stored under the id the final
//! will take (so a dashboard replaces the line in place), and those no final replaced are
//! deleted with the commit.
//!
//! **Resume.** A stream that drops (Deepgram's connection, or this worker's lease) is not
//! continued: the worker drops it and the next pass — on any replica — opens a new stream
//! that starts at the first segment not yet `done`. Audio Deepgram heard but had not
//! finalised is sent again, never lost; a segment is stored once (`done` is a
//! compare-and-set, caption ids make a repeat an update), never doubled.
//!
//! **Idle and end.** The live client sends `KeepAlive` after 5 s without audio; streams
//! unused for [`super::Tuning::stream_idle`] are closed, and at the bot's end the stream
//! gets `CloseStream` before the transcript becomes `ready`.

use super::{Outcome, Tuning, read_object};
use crate::AppState;
use crate::audio_provider::speaker_marks;
use crate::deepgram_live::{DeepgramLive, LiveError, LiveEvent, LiveResult, LiveSession};
use crate::transcription::{self, stream_event, utterance_json};
use chrono::{DateTime, Utc};
use meeboter_core::transcription::{DiarizedUtterance, call_offset_ms, name_diarized_speakers, speaking_spans, words};
use meeboter_db::audio_segments::{self, SegmentRecord};
use meeboter_db::bots::BotRecord;
use meeboter_db::transcripts::{self, NewUtterance};
use meeboter_db::{DbError, DbResult, events};
use std::collections::HashMap;
use std::sync::Arc;

/// The source stored with Deepgram's lines.
pub const SOURCE: &str = "deepgram";
/// 16 kHz mono 16-bit: bytes per millisecond of audio.
const BYTES_PER_MS: usize = 32;
/// Audio per WebSocket frame (ms).
const FRAME_MS: usize = 250;
/// How far short of a segment's end a final may stop and still complete it (rounding of
/// Deepgram's second-based times).
const END_SLACK_MS: i64 = 20;

/// The live streams one worker holds, per bot. Each worker loop has its own (replicas never
/// share a connection); a bot's entry is taken out while a pass works on it.
#[derive(Clone, Default)]
pub struct Streams(Arc<tokio::sync::Mutex<HashMap<String, BotStream>>>);

impl std::fmt::Debug for Streams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Streams")
    }
}

impl Streams {
    async fn take(&self, bot_id: &str) -> Option<BotStream> {
        self.0.lock().await.remove(bot_id)
    }

    async fn put(&self, bot_id: &str, stream: BotStream) {
        self.0.lock().await.insert(bot_id.to_string(), stream);
    }

    /// Closes (`CloseStream`, in the background) the streams unused for `idle`.
    pub async fn close_idle(&self, idle: std::time::Duration) {
        let stale: Vec<BotStream> = {
            let mut map = self.0.lock().await;
            let ids: Vec<String> = map
                .iter()
                .filter(|(_, s)| s.last_used.elapsed() >= idle)
                .map(|(id, _)| id.clone())
                .collect();
            ids.iter().filter_map(|id| map.remove(id)).collect()
        };
        for s in stale {
            tokio::spawn(s.close());
        }
    }

    /// How many streams are open (for tests and metrics).
    pub async fn open(&self) -> usize {
        self.0.lock().await.len()
    }

    /// Ends a bot's stream with `CloseStream`, waiting for Deepgram's confirmation.
    pub async fn close(&self, bot_id: &str) {
        if let Some(s) = self.take(bot_id).await {
            s.close().await;
        }
    }
}

struct BotStream {
    session: LiveSession,
    /// The segment the stream expects next; another means someone else went on meanwhile.
    next_seq: i64,
    /// Audio sent on this stream (ms): where the next segment starts on its clock.
    sent_ms: i64,
    last_used: std::time::Instant,
}

impl BotStream {
    async fn close(mut self) {
        if let Err(e) = self.session.close().await {
            tracing::debug!(error = %e, "closing a deepgram stream");
        }
    }
}

/// Works on `pending` (in `seq` order) over the bot's stream; returns segments and
/// utterances done, or why the round stops.
pub(super) async fn work(
    state: &AppState,
    tuning: &Tuning,
    bot: &BotRecord,
    pending: &[SegmentRecord],
    held: &mut DateTime<Utc>,
) -> DbResult<Result<(usize, usize), (Outcome, usize, usize)>> {
    let (mut segments, mut utterances) = (0, 0);
    let Some(first) = pending.first() else {
        return Ok(Ok((0, 0)));
    };
    let Some(settings) = state.config.transcription.deepgram.clone() else {
        let why = "the deepgram provider is no longer configured (TRANSCRIPTION_DEEPGRAM_API_KEY)";
        return Ok(Err((Outcome::Fail(why.into()), 0, 0)));
    };
    let mut stream = match tuning.streams.take(&bot.id).await {
        Some(s) if s.next_seq == first.seq => s,
        stale => {
            if let Some(s) = stale {
                tokio::spawn(s.close()); // another worker went on meanwhile
            }
            let language = bot.transcription.as_ref().and_then(|t| t.language.clone());
            match DeepgramLive::connect(&settings, language.as_deref(), 16_000, tuning.live.clone()).await {
                Ok(session) => BotStream {
                    session,
                    next_seq: first.seq,
                    sent_ms: 0,
                    last_used: std::time::Instant::now(),
                },
                Err(e @ (LiveError::Auth { .. } | LiveError::UnsupportedLanguage { .. })) => {
                    return Ok(Err((Outcome::Fail(e.to_string()), 0, 0)));
                }
                Err(e @ LiveError::Http { status, .. })
                    if (400..500).contains(&status) && status != 408 && status != 429 =>
                {
                    return Ok(Err((Outcome::Fail(e.to_string()), 0, 0)));
                }
                Err(e) => return Ok(Err((Outcome::Retry(e.to_string()), 0, 0))),
            }
        }
    };
    for segment in pending {
        match one_segment(state, tuning, &mut stream, bot, segment, held).await? {
            Ok(n) => {
                segments += 1;
                utterances += n;
                stream.next_seq = segment.seq + 1;
                stream.last_used = std::time::Instant::now();
            }
            Err(outcome) => {
                // The stream cannot be trusted past a failure: the next pass starts a new
                // one at the first segment not done.
                tokio::spawn(stream.close());
                return Ok(Err((outcome, segments, utterances)));
            }
        }
    }
    tuning.streams.put(&bot.id, stream).await;
    Ok(Ok((segments, utterances)))
}

/// A result's spoken stretch (its first word's start to its last word's end; a `Results`
/// message's own start/duration cover the whole audio window, silence included).
fn spoken(r: &LiveResult) -> (i64, i64) {
    match (r.words.first(), r.words.last()) {
        (Some(first), Some(last)) => (first.start_ms, last.end_ms.max(first.start_ms)),
        _ => (r.start_ms, r.end_ms),
    }
}

/// The PCM of a 16-bit WAV (its `data` chunk).
fn wav_pcm(wav: &[u8]) -> Option<&[u8]> {
    if wav.len() < 12 || &wav[..4] != b"RIFF" || &wav[8..12] != b"WAVE" {
        return None;
    }
    let mut at = 12;
    while at + 8 <= wav.len() {
        let len = u32::from_le_bytes(wav[at + 4..at + 8].try_into().ok()?) as usize;
        let body = at + 8;
        if &wav[at..at + 4] == b"data" {
            return Some(&wav[body..wav.len().min(body + len)]);
        }
        at = body + len + (len & 1);
    }
    None
}

async fn one_segment(
    state: &AppState,
    tuning: &Tuning,
    stream: &mut BotStream,
    bot: &BotRecord,
    segment: &SegmentRecord,
    held: &mut DateTime<Utc>,
) -> DbResult<Result<usize, Outcome>> {
    let wav = match read_object(state, &segment.storage_key).await {
        Ok(b) => b,
        Err(e) => return Ok(Err(Outcome::Retry(e))),
    };
    let Some(pcm) = wav_pcm(&wav) else {
        return Ok(Err(Outcome::Fail("a stored audio segment is not a WAV file".into())));
    };
    let pcm = &pcm[..pcm.len() - pcm.len() % 2];
    let seg_start = stream.sent_ms;
    let seg_end = seg_start + (pcm.len() / BYTES_PER_MS) as i64;
    // In frames of 250 ms, as Deepgram advises for live audio (it answers with interim
    // results as the frames come).
    let sent = async {
        for frame in pcm.chunks(FRAME_MS * BYTES_PER_MS) {
            stream.session.send_bytes(frame.to_vec()).await?;
        }
        stream.session.finalize().await
    };
    if let Err(e) = sent.await {
        return Ok(Err(Outcome::Retry(format!("the deepgram stream ended: {e}"))));
    }
    stream.sent_ms = seg_end;
    let call_start = transcription::call_start_ms(bot);
    let offset = call_offset_ms(segment.start_epoch_ms, call_start);
    let duration = seg_end - seg_start;
    // Stream clock → call clock, kept inside the segment.
    let to_call = |ms: i64| offset + (ms - seg_start).clamp(0, duration);
    let mut finals: Vec<LiveResult> = Vec::new();
    let mut open_interim = false;
    let deadline = tokio::time::Instant::now() + tuning.final_wait;
    loop {
        // Deepgram documents the `from_finalize` answer as typical "when there is a
        // noticeable amount of audio buffered": after audio it had already finalised
        // (silence), nothing may come. A quiet stream after `Finalize` completes the segment
        // — unless an interim line is still open (speech Deepgram has yet to finalise).
        let quiet = tokio::time::Instant::now() + tuning.finalize_quiet;
        let wait_until = if open_interim { deadline } else { deadline.min(quiet) };
        let event = match tokio::time::timeout_at(wait_until, stream.session.next_event()).await {
            Err(_) if tokio::time::Instant::now() < deadline => break,
            Err(_) => {
                let why = format!("deepgram did not finalise a segment within {:?}", tuning.final_wait);
                return Ok(Err(Outcome::Retry(why)));
            }
            Ok(None) => return Ok(Err(Outcome::Retry("the deepgram stream ended".into()))),
            Ok(Some(e)) => e,
        };
        match event {
            LiveEvent::Result(r) if r.is_final => {
                open_interim = false;
                let reached = r.end_ms >= seg_end - END_SLACK_MS;
                if !r.text.trim().is_empty() {
                    finals.push(r);
                }
                if reached {
                    break;
                }
            }
            LiveEvent::Result(r) => {
                open_interim = !r.text.trim().is_empty();
                if open_interim {
                    let n = finals.len();
                    let (start, end) = spoken(&r);
                    partial(state, bot, segment.seq, n, &r, to_call(start), to_call(end)).await?;
                }
            }
            LiveEvent::Reconnected { .. } => {
                return Ok(Err(Outcome::Retry("the deepgram connection dropped".into())));
            }
            LiveEvent::Failed(why) => return Ok(Err(Outcome::Retry(why))),
            LiveEvent::SpeechStarted { .. } | LiveEvent::UtteranceEnd { .. } => {}
        }
    }
    // Speakers: each diarized number named from the timeline (over this segment's lines).
    let marks = speaker_marks(state, &bot.id, call_start).await?;
    let spans = speaking_spans(&marks, offset + duration);
    let utts: Vec<DiarizedUtterance> = finals
        .iter()
        .map(|r| {
            let (start, end) = spoken(r);
            DiarizedUtterance {
                speaker: r.speaker,
                start_ms: to_call(start),
                end_ms: to_call(end).max(to_call(start) + 1),
                words: words(&r.text).len(),
            }
        })
        .collect();
    let names = name_diarized_speakers(&utts, &spans);
    let now = state.now();
    let until = now + tuning.lease;
    let mut tx = state.db.begin_write().await?;
    if !audio_segments::extend_claim(&mut tx, &bot.id, *held, until).await? {
        return Ok(Err(Outcome::Lost));
    }
    if !audio_segments::mark_done(&mut tx, &bot.id, segment.seq, now).await? {
        tx.commit().await.map_err(DbError::from)?;
        *held = until;
        return Ok(Ok(0));
    }
    let mut announced = Vec::new();
    for (n, (r, who)) in finals.iter().zip(&names).enumerate() {
        let text: String = r
            .text
            .trim()
            .chars()
            .take(meeboter_core::transcription::MAX_UTTERANCE_CHARS)
            .collect();
        let id = format!("dg:{}:{n}", segment.seq);
        let (start, end) = spoken(r);
        let start_ms = to_call(start);
        if let Some(u) = transcripts::upsert(
            &mut tx,
            &bot.id,
            &NewUtterance {
                caption_id: Some(&id),
                speaker: who.as_ref().map(|w| w.name.as_str()).filter(|n| !n.is_empty()),
                participant_id: who.as_ref().and_then(|w| w.participant_id.as_deref()),
                start_ms,
                end_ms: to_call(end).max(start_ms),
                text: &text,
                is_final: true,
                source: SOURCE,
            },
            now,
        )
        .await?
        {
            announced.push(u);
        }
    }
    transcripts::delete_partials(&mut tx, &bot.id, &format!("dg:{}:", segment.seq)).await?;
    super::announce_finals(&mut tx, bot, &announced, SOURCE, now).await?;
    audio_segments::reset_failures(&mut tx, &bot.id).await?;
    tx.commit().await.map_err(DbError::from)?;
    *held = until;
    if let Err(e) = state.storage.delete(&segment.storage_key).await {
        tracing::debug!(bot.id = %bot.id, error = %e, "deleting a transcribed segment failed; retention removes it");
    }
    Ok(Ok(announced.len()))
}

/// An interim result: stored as the partial line the final will replace (same caption id)
/// and announced as `transcript.partial`.
async fn partial(
    state: &AppState,
    bot: &BotRecord,
    seq: i64,
    n: usize,
    r: &LiveResult,
    start_ms: i64,
    end_ms: i64,
) -> DbResult<()> {
    let now = state.now();
    let id = format!("dg:{seq}:{n}");
    let text: String = r
        .text
        .trim()
        .chars()
        .take(meeboter_core::transcription::MAX_UTTERANCE_CHARS)
        .collect();
    let mut tx = state.db.begin_write().await?;
    let stored = transcripts::upsert(
        &mut tx,
        &bot.id,
        &NewUtterance {
            caption_id: Some(&id),
            speaker: None,
            participant_id: None,
            start_ms,
            end_ms: end_ms.max(start_ms),
            text: &text,
            is_final: false,
            source: SOURCE,
        },
        now,
    )
    .await?;
    if let Some(u) = stored {
        let t = transcripts::find(&mut tx, &bot.id).await?;
        if t.as_ref().is_some_and(|t| t.state == "none") {
            transcripts::set_state(&mut tx, &bot.id, "live", Some(SOURCE), None, now).await?;
        }
        events::insert(&mut tx, &bot.id, stream_event::PARTIAL, &utterance_json(&u), now).await?;
    }
    tx.commit().await.map_err(DbError::from)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pcm_of_a_wav_is_its_data_chunk() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        wav.extend_from_slice(&[0; 16]);
        wav.extend_from_slice(b"LIST\x03\0\0\0abc\0"); // odd length, padded
        wav.extend_from_slice(b"data\x04\0\0\0\x01\x02\x03\x04");
        assert_eq!(wav_pcm(&wav), Some(&[1u8, 2, 3, 4][..]));
        assert_eq!(wav_pcm(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(wav_pcm(b"not a wav at all"), None);
    }
}

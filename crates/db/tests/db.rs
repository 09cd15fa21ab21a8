//! Repository tests against a real database (SQLite or PostgreSQL, see `testing`).

use chrono::{Duration, Utc};
use meeboter_core::create_bot::{CreateBotInput, validate_create_bot};
use meeboter_core::{ApiKeyRole, BotStatus, api_key};
use meeboter_db::bots::BotFilter;
use meeboter_db::testing::TestDatabase;
use meeboter_db::{accounts, api_keys, bots, idempotency, settings};

fn new_bot(url: &str, dedup: Option<&str>) -> meeboter_core::create_bot::NewBot {
    validate_create_bot(
        CreateBotInput {
            meeting_url: Some(url.into()),
            deduplication_key: dedup.map(str::to_string),
            ..Default::default()
        },
        Utc::now(),
    )
    .unwrap()
}

#[tokio::test]
async fn migrations_are_idempotent_and_ping_works() {
    let t = TestDatabase::create().await.unwrap();
    t.db.migrate().await.unwrap();
    t.db.ping().await.unwrap();
    assert_eq!(t.db.backend(), TestDatabase::backend_under_test());
}

#[tokio::test]
async fn bots_round_trip_and_are_scoped_to_their_account() {
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = Utc::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let b = accounts::insert(&mut conn, "b", now).await.unwrap();
    let nb = new_bot("https://zoom.us/j/123456789?pwd=x", None);
    let (rec, _) = bots::insert(&mut conn, &a.id, &nb, BotStatus::Queued, now)
        .await
        .unwrap();
    let found = bots::find(&mut conn, &a.id, &rec.id).await.unwrap().unwrap();
    assert_eq!(found.meeting_url, "https://zoom.us/j/123456789?pwd=x");
    assert_eq!(found.created_at.timestamp_millis(), now.timestamp_millis());
    assert!(bots::find(&mut conn, &b.id, &rec.id).await.unwrap().is_none());
    let changes = bots::status_changes(&mut conn, &[rec.id.as_str()]).await.unwrap();
    assert_eq!(changes[&rec.id].len(), 1);
    assert!(!bots::delete(&mut conn, &b.id, &rec.id).await.unwrap());
    assert!(bots::delete(&mut conn, &a.id, &rec.id).await.unwrap());
    // Cascade removed the history too.
    assert!(
        bots::status_changes(&mut conn, &[rec.id.as_str()])
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn listing_pages_newest_first_with_filters() {
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = Utc::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..7 {
        let url = if i % 2 == 0 {
            "https://zoom.us/j/123456789"
        } else {
            "meet.google.com/abc-defg-hij"
        };
        let status = if i == 3 { BotStatus::Ended } else { BotStatus::Queued };
        let (rec, _) = bots::insert(&mut conn, &a.id, &new_bot(url, None), status, now)
            .await
            .unwrap();
        ids.push(rec.id);
    }
    let (page1, more) = bots::list(&mut conn, &a.id, &BotFilter::default(), 3).await.unwrap();
    assert!(more);
    let got: Vec<_> = page1.iter().map(|b| b.id.clone()).collect();
    assert_eq!(got, vec![ids[6].clone(), ids[5].clone(), ids[4].clone()]);
    let filter = BotFilter {
        before_id: Some(ids[4].clone()),
        ..Default::default()
    };
    let (page2, _) = bots::list(&mut conn, &a.id, &filter, 10).await.unwrap();
    assert_eq!(page2.len(), 4);
    let zoom = BotFilter {
        platform: Some(meeboter_core::MeetingPlatform::Zoom),
        ..Default::default()
    };
    assert_eq!(bots::list(&mut conn, &a.id, &zoom, 100).await.unwrap().0.len(), 4);
    let ended = BotFilter {
        statuses: vec![BotStatus::Ended],
        ..Default::default()
    };
    assert_eq!(bots::list(&mut conn, &a.id, &ended, 100).await.unwrap().0.len(), 1);
    let later = BotFilter {
        created_after: Some(now + Duration::seconds(1)),
        ..Default::default()
    };
    assert!(bots::list(&mut conn, &a.id, &later, 100).await.unwrap().0.is_empty());
}

#[tokio::test]
async fn dedup_key_is_unique_among_live_bots_only() {
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = Utc::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let nb = new_bot("https://zoom.us/j/123456789", Some("k1"));
    bots::insert(&mut conn, &a.id, &nb, BotStatus::Queued, now)
        .await
        .unwrap();
    let err = bots::insert(&mut conn, &a.id, &nb, BotStatus::Queued, now)
        .await
        .unwrap_err();
    assert!(err.is_unique_violation(), "{err:?}");
    // A terminal bot does not hold the key.
    bots::insert(
        &mut conn,
        &a.id,
        &new_bot("https://zoom.us/j/123456789", Some("k2")),
        BotStatus::Ended,
        now,
    )
    .await
    .unwrap();
    bots::insert(
        &mut conn,
        &a.id,
        &new_bot("https://zoom.us/j/123456789", Some("k2")),
        BotStatus::Queued,
        now,
    )
    .await
    .unwrap();
    assert!(
        bots::find_active_by_dedup_key(&mut conn, &a.id, "k2")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn api_keys_store_only_hashes() {
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = Utc::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let generated = api_key::generate_api_key();
    let rec = api_keys::insert(
        &mut conn,
        api_keys::NewApiKey {
            account_id: &a.id,
            name: "ci",
            role: ApiKeyRole::Member,
            prefix: &generated.prefix,
            key_hash: &generated.hash,
            expires_at: Some(now + Duration::days(1)),
        },
        now,
    )
    .await
    .unwrap();
    let by_hash = api_keys::find_by_hash(&mut conn, &generated.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_hash.id, rec.id);
    assert!(by_hash.is_usable(now));
    assert!(!by_hash.is_usable(now + Duration::days(2)));
    api_keys::revoke(&mut conn, &rec.id, now).await.unwrap();
    assert!(
        !api_keys::find(&mut conn, &rec.id)
            .await
            .unwrap()
            .unwrap()
            .is_usable(now)
    );
    // The raw secret is nowhere in the table.
    let secret = &generated.raw[4..];
    let rows: Vec<(String, String, String)> = sqlx::query_as("SELECT id, prefix, key_hash FROM api_keys")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    for (id, prefix, hash) in rows {
        for col in [id, prefix, hash] {
            assert!(!col.contains(secret));
        }
    }
}

#[tokio::test]
async fn idempotency_entries_expire_after_a_day() {
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = Utc::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let resp = idempotency::StoredResponse {
        request_hash: "h".into(),
        status: 201,
        body: "{}".into(),
    };
    idempotency::insert(&mut conn, &a.id, "k", &resp, now).await.unwrap();
    assert!(
        idempotency::insert(&mut conn, &a.id, "k", &resp, now)
            .await
            .unwrap_err()
            .is_unique_violation()
    );
    assert_eq!(
        idempotency::find(&mut conn, &a.id, "k", now).await.unwrap(),
        Some(resp.clone())
    );
    let later = now + Duration::hours(25);
    assert_eq!(idempotency::find(&mut conn, &a.id, "k", later).await.unwrap(), None);
    idempotency::insert(&mut conn, &a.id, "k", &resp, later).await.unwrap();
    assert_eq!(
        idempotency::purge_expired(&mut conn, later + Duration::hours(25), 100)
            .await
            .unwrap(),
        1
    );
}

#[tokio::test]
async fn settings_first_writer_wins() {
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    assert_eq!(settings::get_or_insert(&mut conn, "s", "one").await.unwrap(), "one");
    assert_eq!(settings::get_or_insert(&mut conn, "s", "two").await.unwrap(), "one");
}

#[tokio::test]
async fn transcript_captions_upsert_and_final_lines_stay_final() {
    use meeboter_core::transcription::{ProvidersConfigured, TranscriptionInput};
    use meeboter_db::transcripts::{self, NewUtterance};
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = Utc::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let nb = validate_create_bot(
        CreateBotInput {
            meeting_url: Some("https://zoom.us/j/123456789".into()),
            transcription: Some(TranscriptionInput {
                provider: Some("meeting_captions".into()),
                language: Some("en-US".into()),
                realtime: None,
            }),
            providers_configured: ProvidersConfigured::default(),
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let (bot, _) = bots::insert(&mut conn, &a.id, &nb, BotStatus::Queued, now)
        .await
        .unwrap();
    let stored = bots::find_any(&mut conn, &bot.id).await.unwrap().unwrap();
    assert_eq!(stored.transcription, nb.transcription);
    let state = transcripts::find(&mut conn, &bot.id).await.unwrap().unwrap();
    assert_eq!((state.state.as_str(), state.pending_audio), ("none", false));

    let line = |text: &'static str, is_final: bool| NewUtterance {
        caption_id: Some("c1"),
        speaker: Some("Ada"),
        participant_id: None,
        start_ms: 1000,
        end_ms: 2000,
        text,
        is_final,
        source: "meeting_captions",
    };
    let first = transcripts::upsert(&mut conn, &bot.id, &line("Hel", false), now)
        .await
        .unwrap()
        .unwrap();
    let grown = transcripts::upsert(&mut conn, &bot.id, &line("Hello", false), now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(first.id, grown.id);
    let fin = transcripts::upsert(&mut conn, &bot.id, &line("Hello there.", true), now)
        .await
        .unwrap()
        .unwrap();
    assert!(fin.is_final);
    assert!(
        transcripts::upsert(&mut conn, &bot.id, &line("Hello th", false), now)
            .await
            .unwrap()
            .is_none()
    );
    let other = NewUtterance {
        caption_id: None,
        ..line("no id", true)
    };
    transcripts::upsert(&mut conn, &bot.id, &other, now)
        .await
        .unwrap()
        .unwrap();
    transcripts::upsert(&mut conn, &bot.id, &other, now)
        .await
        .unwrap()
        .unwrap();
    let all = transcripts::list(&mut conn, &bot.id, None, 100).await.unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0].text, "Hello there.");
    let page = transcripts::list(&mut conn, &bot.id, Some(&all[0].id), 1)
        .await
        .unwrap();
    assert_eq!(page[0].id, all[1].id);
    // Deleting the bot removes its transcript.
    bots::delete(&mut conn, &a.id, &bot.id).await.unwrap();
    assert!(
        transcripts::list(&mut conn, &bot.id, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(transcripts::find(&mut conn, &bot.id).await.unwrap().is_none());
}

#[tokio::test]
async fn transcript_audio_claims_are_exclusive_and_extend_only_while_held() {
    use meeboter_core::transcription::{ProvidersConfigured, TranscriptionInput};
    use meeboter_db::transcripts;
    let t = TestDatabase::create().await.unwrap();
    let mut conn = t.db.pool().acquire().await.unwrap();
    let now = meeboter_db::now();
    let a = accounts::insert(&mut conn, "a", now).await.unwrap();
    let nb = validate_create_bot(
        CreateBotInput {
            meeting_url: Some("https://zoom.us/j/123456789".into()),
            transcription: Some(TranscriptionInput {
                provider: Some("openai".into()),
                ..Default::default()
            }),
            providers_configured: ProvidersConfigured {
                openai: true,
                deepgram: false,
                ..Default::default()
            },
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let (bot, _) = bots::insert(&mut conn, &a.id, &nb, BotStatus::Queued, now)
        .await
        .unwrap();
    assert!(
        transcripts::find(&mut conn, &bot.id)
            .await
            .unwrap()
            .unwrap()
            .pending_audio
    );
    let lease = now + Duration::minutes(30);
    assert!(transcripts::claim(&mut conn, &bot.id, now, lease).await.unwrap());
    assert!(
        !transcripts::claim(&mut conn, &bot.id, now, lease).await.unwrap(),
        "held"
    );
    let later = lease + Duration::minutes(1);
    assert!(
        transcripts::extend_lease(&mut conn, &bot.id, lease, later)
            .await
            .unwrap()
    );
    // Expired and taken over: the first holder's extension fails.
    let takeover = later + Duration::seconds(1);
    assert!(
        transcripts::claim(&mut conn, &bot.id, takeover, takeover + Duration::minutes(30))
            .await
            .unwrap()
    );
    assert!(
        !transcripts::extend_lease(&mut conn, &bot.id, later, later + Duration::minutes(30))
            .await
            .unwrap()
    );
    let state = transcripts::find(&mut conn, &bot.id).await.unwrap().unwrap();
    assert_eq!((state.state.as_str(), state.attempts), ("processing", 2));
}

#[tokio::test]
async fn segments_are_recorded_once_and_claims_exclude_each_other() {
    use meeboter_core::transcription::{ProvidersConfigured, TranscriptionInput};
    use meeboter_db::audio_segments::*;
    let t = TestDatabase::create().await.unwrap();
    let mut c = t.db.pool().acquire().await.unwrap();
    let now = meeboter_db::now();
    let a = accounts::insert(&mut c, "a", now).await.unwrap();
    let nb = validate_create_bot(
        CreateBotInput {
            meeting_url: Some("https://zoom.us/j/123456789".into()),
            recording_mode: Some("audio".into()),
            transcription: Some(TranscriptionInput {
                provider: Some("openai".into()),
                realtime: Some(true),
                ..Default::default()
            }),
            providers_configured: ProvidersConfigured {
                openai: true,
                deepgram: false,
                ..Default::default()
            },
            ..Default::default()
        },
        now,
    )
    .unwrap();
    let (rec, _) = bots::insert(&mut c, &a.id, &nb, BotStatus::Queued, now).await.unwrap();
    let bot = rec.id;
    let tr = meeboter_db::transcripts::find(&mut c, &bot).await.unwrap().unwrap();
    assert!(
        !tr.pending_audio,
        "real time covers the audio: nothing runs after the call"
    );
    let seg = |seq| NewSegment {
        bot_id: &bot,
        seq,
        start_epoch_ms: 1000 * seq,
        duration_ms: 1000,
        size_bytes: 10,
        sha256: "x",
        storage_key: "k",
    };
    assert!(insert(&mut c, &seg(1), now).await.unwrap());
    assert!(insert(&mut c, &seg(0), now).await.unwrap());
    assert!(!insert(&mut c, &seg(1), now).await.unwrap(), "a retried PUT is a no-op");
    assert_eq!(pending_count(&mut c, &bot).await.unwrap(), 2);
    let next: Vec<i64> = next_pending(&mut c, &bot, 10)
        .await
        .unwrap()
        .iter()
        .map(|s| s.seq)
        .collect();
    assert_eq!(next, [0, 1]);

    let until = now + chrono::Duration::seconds(30);
    assert!(claim(&mut c, &bot, now, until).await.unwrap());
    assert!(!claim(&mut c, &bot, now, until).await.unwrap(), "held");
    assert!(
        !extend_claim(&mut c, &bot, now, until).await.unwrap(),
        "not the holder's lease"
    );
    let later = until + chrono::Duration::seconds(30);
    assert!(extend_claim(&mut c, &bot, until, later).await.unwrap());
    assert!(mark_done(&mut c, &bot, 0, now).await.unwrap());
    assert!(!mark_done(&mut c, &bot, 0, now).await.unwrap());
    assert_eq!(counts(&mut c, &bot).await.unwrap(), (1, 1, 0));

    assert_eq!(record_failure(&mut c, &bot, now, "down").await.unwrap(), 1);
    assert_eq!(record_failure(&mut c, &bot, now, "down").await.unwrap(), 2);
    let rt = realtime_state(&mut c, &bot).await.unwrap().unwrap();
    assert_eq!((rt.failures, rt.last_error.as_deref()), (2, Some("down")));
    reset_failures(&mut c, &bot).await.unwrap();
    assert_eq!(realtime_state(&mut c, &bot).await.unwrap().unwrap().failures, 0);
    assert_eq!(drop_pending(&mut c, &bot, now).await.unwrap(), ["k"]);
    assert_eq!(counts(&mut c, &bot).await.unwrap(), (0, 1, 1));
    assert!(finish_stream(&mut c, &bot, 5000, now).await.unwrap());
    assert!(finish_stream(&mut c, &bot, 0, now).await.unwrap());
    let rt = realtime_state(&mut c, &bot).await.unwrap().unwrap();
    assert!(rt.audio_finished && rt.dropped_ms == 5000);
    release(&mut c, &bot, later).await.unwrap();
    assert!(claim(&mut c, &bot, now, until).await.unwrap());
}

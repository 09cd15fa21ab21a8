use crate::support::{TestApp, fake_bot, history};
use coolify_fake::{CoolifyFake, DESTINATION_UUID, PROJECT_UUID, SERVER_UUID};
use meeboter_server::config::CoolifySettings;
use meeboter_server::deployment::coolify_pool::CoolifyPool;
use meeboter_server::deployment::{Deployer, PlatformSlot};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A server on the wall clock (slots, processes and backoffs all run in real time) whose one
/// platform is the pool `make` builds on its database, `limit` bots at once, workers running.
async fn pool_app(limit: u32, make: impl FnOnce(meeboter_db::Db) -> CoolifyPool + Send + 'static) -> TestApp {
    let mut app = TestApp::spawn_full(
        |_| {},
        move |s| {
            s.clock = Arc::new(meeboter_server::clock::SystemClock);
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: Arc::new(make(s.db.clone())),
                limit,
            }]));
        },
    )
    .await;
    app.start_workers();
    app
}

fn settings(fake: &CoolifyFake, min_idle: u32) -> CoolifySettings {
    CoolifySettings {
        api_url: fake.base_url.clone(),
        api_token: "coolify-token".into(),
        project_uuid: PROJECT_UUID.into(),
        server_uuid: SERVER_UUID.into(),
        environment_name: "production".into(),
        destination_uuid: Some(DESTINATION_UUID.into()),
        image: "ghcr.io/acme/meeboter-bot".into(),
        image_tag: "latest".into(),
        platform_images: Default::default(),
        min_idle,
        max_idle: None,
        idle_ttl_secs: 1800,
        slot_cpus: Some("1".into()),
        slot_memory: Some("2048m".into()),
        recovery_interval_secs: 3600,
        request_timeout_secs: 15,
        mirror_descriptions: false,
    }
}

/// Starts the fake bot with the application's environment when the fake "runs" it — the
/// stand-in for the bot container.
fn run_bots_on_start(fake: &CoolifyFake) {
    fake.control(|c| {
        c.on_start = Some(Arc::new(|_app, envs| {
            let cmd = fake_bot(&["--stay", "0.3"]);
            let _ = std::process::Command::new(&cmd[0])
                .args(&cmd[1..])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(envs)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bots_run_in_pool_slots_and_slots_return_to_the_pool() {
    let fake = CoolifyFake::start("coolify-token").await;
    run_bots_on_start(&fake);
    let foreign = fake.add_foreign_app("someone-elses-app");
    let limit = 3;
    let f = fake.clone();
    let app = pool_app(limit, move |db| CoolifyPool::new(db, settings(&f, 1), limit)).await;
    let creates = (0..8).map(|_| {
        app.post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://zoom.us/j/123456789"}),
        )
    });
    let ids: Vec<String> = futures::future::join_all(creates)
        .await
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();

    let mut max_busy = 0;
    let mut max_total = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
        assert_eq!(stats["platform"], "coolify");
        max_total = max_total.max(stats["total"].as_i64().unwrap());
        max_busy = max_busy.max(stats["busy"].as_i64().unwrap());
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{open} bots still open; stats {stats}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(max_busy <= i64::from(limit));
    assert!(max_total <= i64::from(limit), "never more slots than COOLIFY_BOT_LIMIT");
    for id in &ids {
        let bot = app.bot_resource(id).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{id}: {bot}");
        assert_eq!(bot["deployment"]["platform"], "coolify");
    }
    // Every slot goes back to the pool once its bot's release ran.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
        if stats["busy"] == 0 && stats["idle"] == stats["total"] {
            assert!(stats["total"].as_i64().unwrap() >= 1);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slots not returned: {stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each slot application carries the last bot's environment plus its slot id.
    let mut conn = app.db.pool().acquire().await.unwrap();
    let slots = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap();
    for slot in &slots {
        let envs = fake.envs_of(slot.application_uuid.as_ref().unwrap()).unwrap();
        if let Some(bot) = envs.get("BOT_ID") {
            assert!(ids.contains(bot));
            assert_eq!(envs["MEEBOTER_SLOT_ID"], slot.id);
            assert_eq!(envs["MEETING_PLATFORM"], "zoom");
        }
    }
    // The neighbour's application was never touched.
    assert!(fake.app_uuids().contains(&foreign));
    assert!(
        !fake.calls().iter().any(|c| c.contains(&foreign)),
        "foreign app touched"
    );
    // All state changes went out as POST; no GET on start/stop.
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c.starts_with("GET") && (c.ends_with("/start") || c.ends_with("/stop")))
    );
}

#[tokio::test]
async fn recovery_resets_error_slots_replaces_repeat_failures_and_forgets_vanished_apps() {
    let fake = CoolifyFake::start("coolify-token").await;
    let app = TestApp::spawn().await;
    let pool = CoolifyPool::new(app.db.clone(), settings(&fake, 2), 5);
    meeboter_platforms::Platform::maintain(&pool).await; // creates the idle minimum
    let mut conn = app.db.pool().acquire().await.unwrap();
    let slots = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap();
    assert_eq!(slots.len(), 2);
    assert!(slots.iter().all(|s| s.status == "IDLE"));
    // An ERROR slot whose application answers is stopped, and IDLE again once Coolify
    // confirms the stop with no deployment in flight.
    app.sql(&format!(
        "UPDATE pool_slots SET status = 'ERROR', error = 'stop failed' WHERE id = '{}'",
        slots[0].id
    ))
    .await;
    pool.recover().await.unwrap();
    let s0 = meeboter_db::slots::find(&mut conn, &slots[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s0.status, "STOPPING");
    pool.drain().await.unwrap();
    let s0 = meeboter_db::slots::find(&mut conn, &slots[0].id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((s0.status.as_str(), s0.recovery_attempts), ("IDLE", 0));
    // An application deleted behind our back: the slot is forgotten (scaling replaces it).
    fake.delete_behind_back(slots[1].application_uuid.as_ref().unwrap());
    pool.recover().await.unwrap();
    assert!(
        meeboter_db::slots::find(&mut conn, &slots[1].id)
            .await
            .unwrap()
            .is_none()
    );
    // A slot whose recovery keeps failing (Coolify answers 500 to everything) is replaced
    // after 3 failures — once Coolify confirms the application's deletion.
    let app_uuid = slots[0].application_uuid.clone().unwrap();
    app.sql(&format!(
        "UPDATE pool_slots SET status = 'ERROR' WHERE id = '{}'",
        slots[0].id
    ))
    .await;
    for round in 1..=3 {
        fake.control(|c| c.error_next = 1000);
        pool.recover().await.unwrap();
        fake.control(|c| c.error_next = 0);
        let s = meeboter_db::slots::find(&mut conn, &slots[0].id).await.unwrap();
        if round < 3 {
            assert_eq!(s.unwrap().recovery_attempts, round, "round {round}");
        } else {
            assert_eq!(s.unwrap().recovery_attempts, 3, "kept until the delete is confirmed");
        }
    }
    // Coolify is back but stopping this application keeps failing: now it is replaced.
    fake.control(|c| c.fail_paths = vec![format!("/applications/{app_uuid}/stop")]);
    pool.recover().await.unwrap();
    fake.control(|c| c.fail_paths.clear());
    assert!(
        meeboter_db::slots::find(&mut conn, &slots[0].id)
            .await
            .unwrap()
            .is_none(),
        "replaced"
    );
    assert!(!fake.app_uuids().contains(&app_uuid), "its application was deleted");
    // Scaling brings the idle minimum back.
    meeboter_platforms::Platform::maintain(&pool).await;
    let idle = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap();
    assert_eq!(idle.iter().filter(|s| s.status == "IDLE").count(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_lifecycle_costs_at_most_eight_coolify_calls_two_on_the_deploy_path() {
    let fake = CoolifyFake::start("coolify-token").await;
    run_bots_on_start(&fake);
    let f = fake.clone();
    let app = pool_app(2, move |db| CoolifyPool::new(db, settings(&f, 1), 2)).await;
    // Let the idle minimum be created first; its calls are not part of a bot's lifecycle.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.get(&app.admin_key, "/api/bots/pool-stats").await.body["idle"] != 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // ...and the first recovery pass (which checks the idle slot's application) done.
    let slot_app = fake.app_uuids()[0].clone();
    while !fake.calls().contains(&format!("GET /applications/{slot_app}")) {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = fake.calls().len();
    let bot = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let id = bot["id"].as_str().unwrap().to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
        let done = app.bot_resource(&id).await["status"] == "ENDED";
        if done && stats["busy"] == 0 && stats["idle"] == stats["total"] {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let calls: Vec<String> = fake.calls()[before..].to_vec();
    let lifecycle: Vec<&String> = calls
        .iter()
        .filter(|c| !c.contains("/applications/dockerimage") && !c.ends_with(" /applications"))
        .collect();
    assert!(lifecycle.len() <= 8, "{} Coolify calls: {lifecycle:?}", lifecycle.len());
    assert!(lifecycle.iter().any(|c| c.starts_with("POST") && c.ends_with("/start")));
    assert!(lifecycle.iter().any(|c| c.starts_with("POST") && c.ends_with("/stop")));
    // The deploy path is two calls: the environment, then the start. No description mirror
    // (COOLIFY_MIRROR_DESCRIPTIONS is off by default), there or anywhere.
    let deploy_path: Vec<&&String> = lifecycle.iter().take_while(|c| !c.ends_with("/start")).collect();
    assert_eq!(
        deploy_path,
        vec![&&format!("PATCH /applications/{slot_app}/envs/bulk")],
        "{lifecycle:?}"
    );
    assert!(
        !fake
            .calls()
            .iter()
            .any(|c| c == &format!("PATCH /applications/{slot_app}")),
        "no description PATCH: {lifecycle:?}"
    );
}

/// With `COOLIFY_MIRROR_DESCRIPTIONS` on, the slot's state reaches its description — in the
/// background, coalesced (one PATCH per state actually sent, never on the deploy path).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptions_are_mirrored_in_the_background_when_asked() {
    let fake = CoolifyFake::start("coolify-token").await;
    run_bots_on_start(&fake);
    let f = fake.clone();
    let app = pool_app(1, move |db| {
        let mut settings = settings(&f, 1);
        settings.mirror_descriptions = true;
        CoolifyPool::new(db, settings, 1)
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.get(&app.admin_key, "/api/bots/pool-stats").await.body["idle"] != 1 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let slot_app = fake.app_uuids()[0].clone();
    let id = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    until_terminal(&app, &id, 30).await;
    loop {
        let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
        if stats["idle"] == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{stats}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let calls = fake.calls();
    let start = calls
        .iter()
        .position(|c| c == &format!("POST /applications/{slot_app}/start"))
        .unwrap();
    assert_eq!(
        calls[start - 1],
        format!("PATCH /applications/{slot_app}/envs/bulk"),
        "nothing between the environment and the start"
    );
    let patches = calls
        .iter()
        .filter(|c| *c == &format!("PATCH /applications/{slot_app}"))
        .count();
    assert!((1..=4).contains(&patches), "{patches} description PATCHes: {calls:?}");
    let all = fake.app_uuids();
    assert_eq!(all.len(), 1);
    let list = reqwest::Client::new()
        .get(format!("{}/applications/{slot_app}", fake.base_url))
        .bearer_auth("coolify-token")
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(list["description"], "meeboter pool slot — idle", "{list}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_idle_minimum_is_filled_in_the_background() {
    let fake = CoolifyFake::start("coolify-token").await;
    let f = fake.clone();
    let app = pool_app(5, move |db| CoolifyPool::new(db, settings(&f, 5), 5)).await;
    let filled = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
            if stats["idle"] == 5 {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the idle minimum was never reached");
    assert_eq!(filled["total"], 5);
    assert_eq!(fake.app_uuids().len(), 5);
}

#[tokio::test]
async fn per_platform_images_get_matching_slots() {
    let fake = CoolifyFake::start("coolify-token").await;
    let app = TestApp::spawn().await;
    let mut s = settings(&fake, 1);
    s.platform_images
        .insert("zoom".into(), "ghcr.io/acme/meeboter-zoom-bot".into());
    let pool = CoolifyPool::new(app.db.clone(), s, 2);
    // The idle minimum is kept per image: one shared-image slot, one Zoom slot.
    meeboter_platforms::Platform::maintain(&pool).await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let mut images: Vec<String> = meeboter_db::slots::list(&mut conn, "coolify")
        .await
        .unwrap()
        .iter()
        .map(|s| s.image.clone())
        .collect();
    images.sort();
    assert_eq!(
        images,
        [
            "ghcr.io/acme/meeboter-bot:latest",
            "ghcr.io/acme/meeboter-zoom-bot:latest"
        ]
    );
    let launch = |bot: &str, platform: &str| meeboter_platforms::BotLaunch {
        bot_id: bot.into(),
        attempt: 1,
        max_duration_secs: 14_400,
        env: [("BOT_ID", bot), ("MEETING_PLATFORM", platform)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    };
    let image_of = |slot_id: String| {
        let fake = fake.clone();
        let db = app.db.clone();
        async move {
            let mut conn = db.pool().acquire().await.unwrap();
            let slot = meeboter_db::slots::find(&mut conn, &slot_id).await.unwrap().unwrap();
            fake.image_of(slot.application_uuid.as_ref().unwrap()).unwrap()
        }
    };
    use meeboter_platforms::Platform;
    let zoom1 = pool.deploy(&launch("bot-z1", "zoom")).await.unwrap();
    assert_eq!(
        image_of(zoom1.identifier).await,
        "ghcr.io/acme/meeboter-zoom-bot:latest"
    );
    // No idle Zoom slot and the pool is full: the idle shared-image slot is retired (its
    // application deleted) to make room for a second Zoom slot.
    let zoom2 = pool.deploy(&launch("bot-z2", "zoom")).await.unwrap();
    assert_eq!(
        image_of(zoom2.identifier).await,
        "ghcr.io/acme/meeboter-zoom-bot:latest"
    );
    assert_eq!(fake.app_uuids().len(), 2, "the retired application was deleted");
    // Full with busy Zoom slots: a Meet bot has to wait (never runs in a Zoom image).
    let err = pool.deploy(&launch("bot-m1", "meet")).await.unwrap_err();
    assert!(matches!(err, meeboter_platforms::PlatformError::Transient(_)), "{err}");
}

/// Every bot's environment the fake started, as (BOT_ID, MILO_AUTH_TOKEN).
type Starts = Arc<std::sync::Mutex<Vec<(String, String)>>>;

fn run_and_record_bots(fake: &CoolifyFake, stay: &'static str) -> Starts {
    let starts: Starts = Arc::default();
    let seen = starts.clone();
    fake.control(move |c| {
        c.on_start = Some(Arc::new(move |_app, envs| {
            seen.lock()
                .unwrap()
                .push((envs["BOT_ID"].clone(), envs["MILO_AUTH_TOKEN"].clone()));
            let cmd = fake_bot(&["--stay", stay]);
            let _ = std::process::Command::new(&cmd[0])
                .args(&cmd[1..])
                .env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .envs(envs)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn();
        }));
    });
    starts
}

/// Waits until no bot is open any more; panics after `secs`.
async fn until_all_terminal(app: &TestApp, secs: u64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        if open == 0 {
            return;
        }
        if tokio::time::Instant::now() >= deadline {
            let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
                "SELECT id, status, deployment_identifier FROM bots WHERE status NOT IN ('ENDED', 'FATAL')",
            )
            .fetch_all(app.db.pool())
            .await
            .unwrap();
            let mut detail = Vec::new();
            for (id, _, _) in &rows {
                detail.push(history(&app.bot_resource(id).await));
            }
            let mut conn = app.db.pool().acquire().await.unwrap();
            let slots = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap();
            panic!("{open} bots still open: {rows:?}\n{detail:?}\nslots: {slots:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn with_thirty_percent_of_coolify_calls_failing_no_bot_or_slot_is_lost() {
    let fake = CoolifyFake::start("coolify-token").await;
    let starts = run_and_record_bots(&fake, "0.3");
    let foreign = fake.add_foreign_app("neighbour");
    fake.control(|c| {
        c.fault_rate = 0.3;
        c.lost_response_delay = Duration::from_millis(1500);
    });
    let limit = 6;
    let f = fake.clone();
    let mut app = TestApp::spawn_full(
        |c| c.deploy_timeout_secs = 15,
        move |s| {
            s.clock = Arc::new(meeboter_server::clock::SystemClock);
            let mut settings = settings(&f, 2);
            settings.request_timeout_secs = 1;
            settings.recovery_interval_secs = 1;
            let pool = CoolifyPool::new(s.db.clone(), settings, limit);
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: Arc::new(pool),
                limit,
            }]));
        },
    )
    .await;
    app.start_workers();
    let mut ids = Vec::new();
    for _ in 0..24 {
        let bot = app
            .create_bot(
                &app.admin_key,
                json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}),
            )
            .await;
        ids.push(bot["id"].as_str().unwrap().to_string());
    }
    until_all_terminal(&app, 240).await;

    // Every bot ended or failed with a sub_code that says why.
    let mut ended = 0;
    for id in &ids {
        let bot = app.bot_resource(id).await;
        let h = history(&bot);
        let last = h.last().unwrap().as_str();
        match last {
            "ENDED/meeting_ended" => ended += 1,
            "FATAL/deploy_failed" | "FATAL/deploy_timeout" | "FATAL/platform_stopped" => {}
            other => panic!("{id} ended as {other}: {h:?}"),
        }
        // A bot was in the call at most once (no second container acted for it).
        assert!(h.iter().filter(|s| s.starts_with("IN_CALL")).count() <= 1, "{h:?}");
    }
    assert!(ended >= ids.len() / 2, "only {ended} of {} bots ran", ids.len());
    // No bot environment (attempt token) was ever started twice.
    let starts = starts.lock().unwrap().clone();
    let mut tokens: Vec<&String> = starts.iter().map(|(_, t)| t).collect();
    tokens.sort();
    let n = tokens.len();
    tokens.dedup();
    assert_eq!(tokens.len(), n, "an attempt was started twice");

    // Faults stop: recovery brings every slot back; no application leaked or foreign touched.
    fake.control(|c| c.fault_rate = 0.0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let mut conn = app.db.pool().acquire().await.unwrap();
        let slots = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap();
        drop(conn);
        let ours: Vec<String> = fake.app_uuids().into_iter().filter(|u| *u != foreign).collect();
        let known: Vec<String> = slots.iter().filter_map(|s| s.application_uuid.clone()).collect();
        let settled = slots.iter().all(|s| s.status == "IDLE" && s.bot_id.is_none())
            && ours.len() == known.len()
            && ours.iter().all(|u| known.contains(u))
            && ours
                .iter()
                .all(|u| fake.status_of(u).is_some_and(|s| s.starts_with("exited")));
        if settled {
            assert!(slots.len() <= limit as usize);
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let mut bots = Vec::new();
            for s in &slots {
                if let Some(b) = &s.bot_id {
                    let events = app.get(&app.admin_key, &format!("/api/bots/{b}/events")).await.body;
                    bots.push((history(&app.bot_resource(b).await), events));
                }
            }
            panic!("pool not settled: slots {slots:?}, apps {ours:?}\nbots: {bots:?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
    assert_eq!(stats["busy"], 0, "{stats}");
    assert_eq!(stats["idle"], stats["total"], "{stats}");
    assert!(
        !fake.calls().iter().any(|c| c.contains(&foreign)),
        "foreign app touched"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_creates_share_twenty_slots_in_order() {
    let fake = CoolifyFake::start("coolify-token").await;
    let starts = run_and_record_bots(&fake, "0.4");
    let limit = 20;
    let f = fake.clone();
    let app = pool_app(limit, move |db| CoolifyPool::new(db, settings(&f, 1), limit)).await;
    let creates = (0..100).map(|i| {
        app.post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://teams.microsoft.com/meet/123456789?p=abc", "botName": format!("bot {i}")}),
        )
    });
    let created = futures::future::join_all(creates).await;
    let burst_end = chrono::Utc::now();
    assert!(created.iter().all(|r| r.status == 201));

    let active_sql = "SELECT COUNT(*) FROM bots WHERE status IN ('DEPLOYING', 'JOINING_CALL', 'IN_WAITING_ROOM', 'IN_CALL', 'LEAVING')";
    let mut max_queued = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
        let n = |k: &str| stats[k].as_i64().unwrap();
        assert!(n("total") <= i64::from(limit), "{stats}");
        assert!(n("idle") + n("busy") + n("error") <= n("total"), "{stats}");
        assert!(n("busy") <= i64::from(limit), "{stats}");
        max_queued = max_queued.max(n("queueLength"));
        let (active,): (i64,) = sqlx::query_as(active_sql).fetch_one(app.db.pool()).await.unwrap();
        assert!(active <= i64::from(limit), "{active} bots active at once");
        // Every held slot is held by the bot that records it (never two bots on one slot).
        let held: Vec<(String, String, Option<String>)> = sqlx::query_as(
            "SELECT s.id, s.bot_id, b.deployment_identifier FROM pool_slots s JOIN bots b ON b.id = s.bot_id",
        )
        .fetch_all(app.db.pool())
        .await
        .unwrap();
        for (slot, bot, recorded) in held {
            assert!(recorded.is_none_or(|r| r == slot), "bot {bot} holds {slot}");
        }
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{open} bots open; {stats}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(max_queued >= 60, "the queue peaked at only {max_queued}");
    // Served in order: bots were first deployed in the order they were created.
    let mut bots = Vec::new();
    for r in &created {
        let bot = app.bot_resource(r.body["id"].as_str().unwrap()).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{bot}");
        let first_deploy = bot["statusChanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "DEPLOYING")
            .map(|c| {
                c["at"]
                    .as_str()
                    .unwrap()
                    .parse::<chrono::DateTime<chrono::Utc>>()
                    .unwrap()
            })
            .unwrap();
        let created_at = bot["createdAt"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap();
        bots.push((created_at, bot["id"].as_str().unwrap().to_string(), first_deploy));
    }
    bots.sort();
    // While the creates were still committing, the queue held whatever had committed; once
    // all were in, bots were served strictly in creation order.
    let after: Vec<_> = bots.iter().filter(|b| b.2 > burst_end).collect();
    assert!(after.len() >= 60, "only {} bots waited for a slot", after.len());
    for pair in after.windows(2) {
        assert!(pair[0].2 <= pair[1].2, "{} deployed after {}", pair[0].1, pair[1].1);
    }
    // One start per bot, each with its own environment.
    let starts = starts.lock().unwrap().clone();
    assert_eq!(starts.len(), 100);
    let mut ids: Vec<&String> = starts.iter().map(|(b, _)| b).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 100);
}

#[tokio::test]
async fn a_slot_stuck_deploying_fails_its_bot_and_returns_to_the_pool() {
    let fake = CoolifyFake::start("coolify-token").await;
    // Coolify never gets to the deployment (its queue is stuck).
    fake.control(|c| c.queued_for = Duration::from_secs(3600));
    let f = fake.clone();
    let app = TestApp::spawn_full(
        |c| c.deploy_timeout_secs = 300,
        move |s| {
            let pool = CoolifyPool::new(s.db.clone(), settings(&f, 0), 2);
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: Arc::new(pool),
                limit: 2,
            }]));
        },
    )
    .await;
    let bot = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let id = bot["id"].as_str().unwrap();
    let started = meeboter_server::deployment::dispatcher::dispatch_once(&app.state)
        .await
        .unwrap();
    assert_eq!(started, 1);
    let mut conn = app.db.pool().acquire().await.unwrap();
    let slot = meeboter_db::slots::find_by_bot(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(slot.status, "DEPLOYING");
    let app_uuid = slot.application_uuid.clone().unwrap();
    // Four minutes in: still waiting.
    app.advance_and_monitor(240).await;
    assert_eq!(app.bot_resource(id).await["status"], "DEPLOYING");
    // Past five minutes without a word from the bot: FATAL/deploy_timeout...
    app.advance_and_monitor(61).await;
    let bot = app.bot_resource(id).await;
    assert_eq!(history(&bot).last().unwrap(), "FATAL/deploy_timeout", "{bot}");
    // ...and the slot is stopped, but not idle while its deployment is still queued: that
    // deployment would start the container after the stop.
    meeboter_server::deployment::releaser::release_once(&app.state)
        .await
        .unwrap();
    assert!(
        fake.calls().contains(&format!("POST /applications/{app_uuid}/stop")),
        "the application was stopped"
    );
    let slot = meeboter_db::slots::find(&mut conn, &slot.id).await.unwrap().unwrap();
    assert_eq!((slot.status.as_str(), slot.bot_id.as_deref()), ("STOPPING", None));
    pool_drain(&app).await;
    let again = meeboter_db::slots::find(&mut conn, &slot.id).await.unwrap().unwrap();
    assert_eq!(again.status, "STOPPING", "still deploying");
    // Coolify's queue moves: the deployment finishes, the application is stopped again
    // and only then is the slot back in the pool.
    fake.control(|c| c.queued_for = Duration::ZERO);
    let stops = || {
        fake.calls()
            .iter()
            .filter(|c| *c == &format!("POST /applications/{app_uuid}/stop"))
            .count()
    };
    let before = stops();
    for _ in 0..3 {
        pool_drain(&app).await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(stops(), before + 1, "stopped again after the deployment");
    let slot = meeboter_db::slots::find(&mut conn, &slot.id).await.unwrap().unwrap();
    assert_eq!((slot.status.as_str(), slot.bot_id.as_deref()), ("IDLE", None));
}

/// Runs the pool's drain pass (the test's only platform is the pool).
async fn pool_drain(app: &TestApp) {
    let pool = app.state.deployer.slots()[0].platform.clone();
    // Reached through the trait object: drain runs in `maintain` (at most every 2 s), which
    // also scales and recovers (nothing to do for either here).
    tokio::time::sleep(Duration::from_millis(2100)).await;
    meeboter_platforms::Platform::maintain(pool.as_ref()).await;
}

#[tokio::test]
async fn surplus_idle_slots_are_retired_after_their_ttl() {
    let fake = CoolifyFake::start("coolify-token").await;
    let app = TestApp::spawn().await;
    // A burst left four idle slots behind.
    let busy_day = CoolifyPool::new(app.db.clone(), settings(&fake, 4), 6);
    meeboter_platforms::Platform::maintain(&busy_day).await;
    assert_eq!(fake.app_uuids().len(), 4);
    // Keep at most two idle; none has been idle for an hour yet.
    let mut s = settings(&fake, 1);
    s.max_idle = Some(2);
    s.idle_ttl_secs = 3600;
    let quiet = CoolifyPool::new(app.db.clone(), s.clone(), 6);
    meeboter_platforms::Platform::maintain(&quiet).await;
    assert_eq!(fake.app_uuids().len(), 4, "not idle long enough to retire");
    // An hour later the two least recently used are deleted, in Coolify and in the pool.
    app.sql(&format!(
        "UPDATE pool_slots SET last_used_at = {}",
        (chrono::Utc::now() - chrono::Duration::hours(2)).timestamp_millis()
    ))
    .await;
    s.idle_ttl_secs = 3600;
    let later = CoolifyPool::new(app.db.clone(), s, 6);
    meeboter_platforms::Platform::maintain(&later).await;
    assert_eq!(fake.app_uuids().len(), 2);
    let mut conn = app.db.pool().acquire().await.unwrap();
    let left = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap();
    assert_eq!(left.len(), 2);
    assert!(left.iter().all(|s| s.status == "IDLE"));
    assert!(
        left.iter()
            .all(|s| fake.app_uuids().contains(s.application_uuid.as_ref().unwrap()))
    );
}

/// Waits until `id` is terminal; returns its resource.
async fn until_terminal(app: &TestApp, id: &str, secs: u64) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let bot = app.bot_resource(id).await;
        if bot["status"] == "ENDED" || bot["status"] == "FATAL" {
            return bot;
        }
        assert!(tokio::time::Instant::now() < deadline, "{id} not over: {bot}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// #17 item 8: bot A is deleted while its Coolify deployment runs (deployments take
/// seconds here, as on a real Coolify); bot B, created at once, must not get the slot
/// while that deployment still runs ("already queued" would leave B waiting for
/// `deploy_timeout` while the container comes up with A's environment). With one slot, B
/// gets the same application only once it truly stopped, and runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_slot_is_reused_only_after_the_deleted_bots_deployment_is_over_and_stopped() {
    let fake = CoolifyFake::start("coolify-token").await;
    fake.control(|c| {
        c.queued_for = Duration::from_millis(800);
        c.in_progress_for = Duration::from_secs(4);
        c.starting_for = Duration::from_millis(200);
        c.stopping_for = Duration::from_millis(500);
    });
    let starts = run_and_record_bots(&fake, "0.5");
    let f = fake.clone();
    let app = pool_app(1, move |db| CoolifyPool::new(db, settings(&f, 1), 1)).await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while app.get(&app.admin_key, "/api/bots/pool-stats").await.body["idle"] != 1 {
        assert!(tokio::time::Instant::now() < deadline, "no idle slot");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let slot_app = fake.app_uuids()[0].clone();
    let a = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // A's deployment is under way (queued, then in progress for 4 s)...
    while fake.deployments_of(&slot_app).is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "A never deployed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(fake.deployments_of(&slot_app)[0].status, "in_progress");
    // ...when A is deleted and B created.
    assert_eq!(app.delete(&app.admin_key, &format!("/api/bots/{a}")).await.status, 204);
    let b = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bot = until_terminal(&app, &b, 60).await;
    let h = history(&bot);
    assert_eq!(h.last().unwrap(), "ENDED/meeting_ended", "{h:?}");
    assert!(h.contains(&"IN_CALL".to_string()), "B ran: {h:?}");
    let retries = app
        .get(&app.admin_key, &format!("/api/bots/{b}/events?type=deploy_retry"))
        .await;
    assert_eq!(retries.body["events"], json!([]), "B was never started on a busy slot");

    // B's deployment was queued only after A's had finished and its container was stopped.
    let deployments = fake.deployments_of(&slot_app);
    assert_eq!(deployments.len(), 2, "{deployments:?}");
    let (dep_a, dep_b) = (&deployments[0], &deployments[1]);
    assert_eq!(dep_a.env["BOT_ID"], a);
    assert_eq!(dep_b.env["BOT_ID"], b);
    let a_up = dep_a.up_at.expect("A's deployment finished and came up, as on Coolify");
    assert!(dep_b.created > a_up, "B queued after A's deployment was over");
    let stop_after_a = fake
        .timed_calls()
        .iter()
        .any(|(t, c)| *t >= a_up && *t < dep_b.created && c == &format!("POST /applications/{slot_app}/stop"));
    assert!(stop_after_a, "A's late container was stopped before B was started");
    // A's container did come up (with A's environment) but could not act: its bot is gone
    // and the token refused; only B's token ever reached the server as a running bot.
    let started: Vec<String> = starts.lock().unwrap().iter().map(|(id, _)| id.clone()).collect();
    assert!(started.contains(&a) && started.contains(&b), "{started:?}");
    assert_eq!(app.get(&app.admin_key, &format!("/api/bots/{a}")).await.status, 404);
    // And the slot is back in the pool.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await.body;
        if stats["idle"] == 1 && stats["total"] == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "slot not returned: {stats}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// #17 item 9: a Coolify deployment that fails is a transient deploy failure: the bot is
/// queued again with backoff and, after the attempts, ends `FATAL/deploy_failed` (not
/// `platform_stopped`); a later attempt that succeeds runs normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn failed_coolify_deployments_are_retried_then_fail_the_bot_deploy_failed() {
    let fake = CoolifyFake::start("coolify-token").await;
    run_bots_on_start(&fake);
    let f = fake.clone();
    let app = pool_app(1, move |db| {
        CoolifyPool::new(db, settings(&f, 0), 1).with_observe_interval(Duration::from_millis(200))
    })
    .await;
    // Every attempt fails: three attempts, then deploy_failed.
    fake.control(|c| c.fail_next_deployments = 3);
    let doomed = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bot = until_terminal(&app, &doomed, 60).await;
    let h = history(&bot);
    assert_eq!(
        h,
        vec![
            "QUEUED",
            "DEPLOYING",
            "QUEUED/deploy_retry",
            "DEPLOYING",
            "QUEUED/deploy_retry",
            "DEPLOYING",
            "FATAL/deploy_failed"
        ],
        "{bot}"
    );
    assert!(bot.to_string().contains("the Coolify deployment ended failed"), "{bot}");
    // The first attempt fails, the second runs.
    fake.control(|c| c.fail_next_deployments = 1);
    let lucky = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let bot = until_terminal(&app, &lucky, 60).await;
    let h = history(&bot);
    assert_eq!(
        h[..4],
        ["QUEUED", "DEPLOYING", "QUEUED/deploy_retry", "DEPLOYING"],
        "{h:?}"
    );
    assert_eq!(h.last().unwrap(), "ENDED/meeting_ended", "{h:?}");
}

/// #17 item 8: a `DEPLOYING` slot without a deployment uuid is observed through its
/// application: running → `BUSY`; not yet → still deploying (never "running" blindly).
#[tokio::test]
async fn a_deploying_slot_without_a_deployment_uuid_is_observed_through_its_application() {
    let fake = CoolifyFake::start("coolify-token").await;
    let app = TestApp::spawn().await;
    let pool = CoolifyPool::new(app.db.clone(), settings(&fake, 1), 2);
    meeboter_platforms::Platform::maintain(&pool).await;
    let mut conn = app.db.pool().acquire().await.unwrap();
    let slot = meeboter_db::slots::list(&mut conn, "coolify").await.unwrap().remove(0);
    let app_uuid = slot.application_uuid.clone().unwrap();
    app.sql(&format!(
        "UPDATE pool_slots SET status = 'DEPLOYING', bot_id = 'bot-x', deployment_uuid = NULL WHERE id = '{}'",
        slot.id
    ))
    .await;
    // Not started yet: exited, so still deploying.
    let seen = meeboter_platforms::Platform::observe(&pool, &slot.id).await.unwrap();
    assert_eq!(seen, meeboter_platforms::InstanceState::Running);
    let s = meeboter_db::slots::find(&mut conn, &slot.id).await.unwrap().unwrap();
    assert_eq!(s.status, "DEPLOYING");
    // Started (by anyone): once the application runs, the slot is BUSY.
    let client = meeboter_platforms::coolify::CoolifyClient::new(&fake.base_url, "coolify-token");
    client.start(&app_uuid).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !fake.status_of(&app_uuid).unwrap().starts_with("running") {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let seen = meeboter_platforms::Platform::observe(&pool, &slot.id).await.unwrap();
    assert_eq!(seen, meeboter_platforms::InstanceState::Running);
    let s = meeboter_db::slots::find(&mut conn, &slot.id).await.unwrap().unwrap();
    assert_eq!(s.status, "BUSY");
}

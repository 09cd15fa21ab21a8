use crate::support::{TestApp, TestPlatform, fake_bot, history, with_test_platform};
use meeboter_platforms::local::LocalPlatform;
use meeboter_platforms::{InstanceState, PlatformError};
use meeboter_server::deployment::{Deployer, PlatformSlot, dispatcher, reconciler, releaser};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const ZOOM: &str = "https://zoom.us/j/123456789";

async fn create_n(app: &TestApp, n: usize, extra: Value) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..n {
        let mut body = json!({"meetingUrl": ZOOM});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            b.extend(e.clone());
        }
        ids.push(
            app.create_bot(&app.admin_key, body).await["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    ids
}

#[tokio::test]
async fn queued_bots_wait_in_line_with_positions_and_priority() {
    let platform = Arc::new(TestPlatform::default());
    let p = platform.clone();
    let app = TestApp::spawn_full(|_| {}, move |s| with_test_platform(s, p, 3)).await;
    let ids = create_n(&app, 6, json!({})).await;
    assert_eq!(dispatcher::dispatch_once(&app.state).await.unwrap(), 3);
    assert_eq!(dispatcher::dispatch_once(&app.state).await.unwrap(), 0, "full");
    for (i, id) in ids.iter().enumerate() {
        let bot = app.bot_resource(id).await;
        if i < 3 {
            assert_eq!(bot["status"], "DEPLOYING");
            assert_eq!(
                bot["deployment"],
                json!({"platform": "test", "identifier": format!("inst-{id}-1")})
            );
            assert_eq!(bot["queue"], Value::Null);
        } else {
            assert_eq!(bot["status"], "QUEUED");
            assert_eq!(bot["queue"]["position"], (i - 2) as u64);
            // Three ahead at most, capacity three: one turn of the default 600 s.
            assert_eq!(bot["queue"]["estimatedWaitSecs"], 600);
        }
    }
    let urgent = app
        .create_bot(&app.admin_key, json!({"meetingUrl": ZOOM, "priority": 10}))
        .await;
    assert_eq!(urgent["queue"]["position"], 1, "priority jumps the line");
    let stats = app.get(&app.admin_key, "/api/bots/pool-stats").await;
    assert_eq!(
        stats.body,
        json!({"platform": "test", "total": 3, "idle": 0, "busy": 3, "error": 0, "queueLength": 4})
    );

    // The launch carried exactly the deployment guide's environment.
    let launch = platform.launches.lock().unwrap()[0].clone();
    let names: Vec<&str> = launch.env.keys().map(String::as_str).collect();
    let mut expected = meeboter_platforms::BotLaunch::ENV_NAMES.to_vec();
    expected.sort();
    assert_eq!(names, expected);
    assert_eq!(launch.env["MEETING_PLATFORM"], "zoom");
    assert_eq!(launch.env["API_CALLBACK_URL"], format!("{}/api/bot/v1", app.base));
    assert!(launch.env["MILO_AUTH_TOKEN"].starts_with("mbb_"));

    // A bot ends: its capacity is free once its instance is stopped (a stopping instance
    // still costs what a running one does), and goes to the highest-priority bot.
    let token = launch.env["MILO_AUTH_TOKEN"].clone();
    app.report(&token, "ENDED", Some("meeting_ended")).await;
    assert_eq!(
        dispatcher::dispatch_once(&app.state).await.unwrap(),
        0,
        "instance not released yet"
    );
    assert_eq!(releaser::release_once(&app.state).await.unwrap(), 1);
    assert_eq!(
        platform.stopped.lock().unwrap().as_slice(),
        [format!("inst-{}-1", ids[0])]
    );
    assert_eq!(dispatcher::dispatch_once(&app.state).await.unwrap(), 1);
    assert_eq!(
        app.bot_resource(urgent["id"].as_str().unwrap()).await["status"],
        "DEPLOYING"
    );
}

#[tokio::test]
async fn transient_failures_are_retried_and_permanent_ones_fail_the_bot() {
    let platform = Arc::new(TestPlatform::default());
    let p = platform.clone();
    let app = TestApp::spawn_full(|_| {}, move |s| with_test_platform(s, p, 5)).await;
    {
        let mut f = platform.failures.lock().unwrap();
        f.push_back(PlatformError::Transient("registry timeout".into()));
        f.push_back(PlatformError::Transient("registry timeout".into()));
    }
    let id = create_n(&app, 1, json!({})).await.remove(0);
    dispatcher::dispatch_once(&app.state).await.unwrap();
    let bot = app.bot_resource(&id).await;
    assert_eq!(bot["status"], "QUEUED");
    assert_eq!(
        dispatcher::dispatch_once(&app.state).await.unwrap(),
        0,
        "backoff before the retry"
    );
    app.clock.advance(chrono::Duration::seconds(6));
    dispatcher::dispatch_once(&app.state).await.unwrap();
    app.clock.advance(chrono::Duration::seconds(11));
    assert_eq!(dispatcher::dispatch_once(&app.state).await.unwrap(), 1);
    let bot = app.bot_resource(&id).await;
    assert_eq!(bot["status"], "DEPLOYING");
    assert_eq!(bot["deployment"]["identifier"], format!("inst-{id}-3"));
    let retries = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?type=deploy_retry"))
        .await;
    assert_eq!(retries.body["events"].as_array().unwrap().len(), 2);
    assert_eq!(platform.launches.lock().unwrap().len(), 1, "started exactly once");

    platform
        .failures
        .lock()
        .unwrap()
        .push_back(PlatformError::Permanent("image not found: meeboter-bot:nope".into()));
    let id = create_n(&app, 1, json!({})).await.remove(0);
    dispatcher::dispatch_once(&app.state).await.unwrap();
    let bot = app.bot_resource(&id).await;
    assert_eq!(history(&bot).last().unwrap(), "FATAL/deploy_failed");
    assert!(
        bot["statusChanges"].as_array().unwrap().last().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("image not found")
    );

    // Three transient failures in a row exhaust the attempts.
    for _ in 0..3 {
        platform
            .failures
            .lock()
            .unwrap()
            .push_back(PlatformError::Transient("flaky".into()));
    }
    let id = create_n(&app, 1, json!({})).await.remove(0);
    for _ in 0..3 {
        dispatcher::dispatch_once(&app.state).await.unwrap();
        app.clock.advance(chrono::Duration::seconds(30));
    }
    assert_eq!(
        history(&app.bot_resource(&id).await).last().unwrap(),
        "FATAL/deploy_failed"
    );

    let infra = app.get(&app.admin_key, "/api/infrastructure").await;
    assert_eq!(infra.status, 200);
    assert_eq!(infra.body["platforms"][0]["name"], "test");
    assert!(
        !infra.body["platforms"][0]["recentErrors"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(
        !infra.body["platforms"][0]["recentDeployLatenciesMs"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let (_, member) = app.member("m").await;
    assert_eq!(app.get(&member, "/api/infrastructure").await.status, 403);
}

#[tokio::test]
async fn capacity_holds_with_two_replicas_dispatching_at_once() {
    let platform = Arc::new(TestPlatform::default());
    let p = platform.clone();
    let app = TestApp::spawn_full(|_| {}, move |s| with_test_platform(s, p, 5)).await;
    create_n(&app, 30, json!({})).await;
    // A second replica over the same database, with its own view of the same platform.
    let mut other = meeboter_server::prepare(app.state.config.as_ref().clone())
        .await
        .unwrap();
    other.clock = app.clock.clone();
    other.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
        platform: platform.clone(),
        limit: 5,
    }]));
    let runs = (0..8).map(|i| {
        let state = if i % 2 == 0 { app.state.clone() } else { other.clone() };
        async move { dispatcher::dispatch_once(&state).await.unwrap() }
    });
    let started: usize = futures::future::join_all(runs).await.into_iter().sum();
    assert_eq!(started, 5);
    let mut conn = app.db.pool().acquire().await.unwrap();
    assert_eq!(meeboter_db::bots::count_active(&mut conn, "test").await.unwrap(), 5);
    assert_eq!(platform.launches.lock().unwrap().len(), 5);
}

#[tokio::test]
async fn queue_timeout_fails_bots_that_never_got_capacity() {
    let platform = Arc::new(TestPlatform::default());
    let p = platform.clone();
    let app = TestApp::spawn_full(|c| c.queue_timeout_secs = 60, move |s| with_test_platform(s, p, 1)).await;
    let ids = create_n(&app, 2, json!({})).await;
    dispatcher::dispatch_once(&app.state).await.unwrap();
    assert_eq!(app.advance_and_monitor(59).await.queue_timeouts, 0);
    assert_eq!(app.advance_and_monitor(2).await.queue_timeouts, 1);
    assert_eq!(
        history(&app.bot_resource(&ids[1]).await).last().unwrap(),
        "FATAL/queue_timeout"
    );
    assert_eq!(app.bot_resource(&ids[0]).await["status"], "DEPLOYING");
}

#[tokio::test]
async fn the_reconciler_fails_vanished_bots_and_requeues_interrupted_launches() {
    let platform = Arc::new(TestPlatform::default());
    let p = platform.clone();
    let app = TestApp::spawn_full(|_| {}, move |s| with_test_platform(s, p, 5)).await;
    let ids = create_n(&app, 2, json!({})).await;
    dispatcher::dispatch_once(&app.state).await.unwrap();
    // The first bot's instance dies without reporting.
    platform.instances.lock().unwrap().insert(
        format!("inst-{}-1", ids[0]),
        InstanceState::Stopped {
            reason: "exit code 137".into(),
        },
    );
    // The second bot's launch was "interrupted": no identifier recorded.
    app.sql(&format!(
        "UPDATE bots SET deployment_identifier = NULL WHERE id = '{}'",
        ids[1]
    ))
    .await;
    assert_eq!(reconciler::reconcile_once(&app.state).await.unwrap(), 1);
    let dead = app.bot_resource(&ids[0]).await;
    assert_eq!(history(&dead).last().unwrap(), "FATAL/platform_stopped");
    assert!(
        dead["statusChanges"].as_array().unwrap().last().unwrap()["message"]
            .as_str()
            .unwrap()
            .contains("137")
    );
    assert_eq!(
        app.bot_resource(&ids[1]).await["status"],
        "DEPLOYING",
        "within the grace period"
    );
    app.clock.advance(chrono::Duration::seconds(121));
    assert_eq!(reconciler::reconcile_once(&app.state).await.unwrap(), 1);
    let requeued = app.bot_resource(&ids[1]).await;
    assert_eq!(history(&requeued).last().unwrap(), "QUEUED/deploy_interrupted");
    dispatcher::dispatch_once(&app.state).await.unwrap();
    let again = app.bot_resource(&ids[1]).await;
    assert_eq!(
        again["deployment"]["identifier"],
        format!("inst-{}-2", ids[1]),
        "second attempt, new token"
    );
}

/// Processes still running for any of `bot_ids` (found by the local platform's marker).
fn bot_processes(bot_ids: &[String]) -> usize {
    let markers: Vec<Vec<u8>> = bot_ids
        .iter()
        .map(|id| format!("MEEBOTER_DEPLOYMENT={id}/").into_bytes())
        .collect();
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            std::fs::read(e.path().join("environ"))
                .map(|env| {
                    env.split(|b| *b == 0)
                        .any(|kv| markers.iter().any(|m| kv.starts_with(m)))
                })
                .unwrap_or(false)
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_creates_respect_a_limit_of_ten_with_real_processes() {
    let (limit, total) = (10u32, 200usize);
    let mut app = TestApp::spawn_full(
        |_| {},
        move |s| {
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: Arc::new(LocalPlatform::new(
                    fake_bot(&["--stay", "0.2"]),
                    Duration::from_secs(5),
                    Some(meeboter_server::bot_log_sink(s.db.clone())),
                )),
                limit,
            }]));
        },
    )
    .await;
    let creates = (0..total).map(|_| app.post(&app.admin_key, "/api/bots", json!({"meetingUrl": ZOOM})));
    let created = futures::future::join_all(creates).await;
    // Workers start once every create committed: concurrent transactions may commit out of
    // id order, and only committed bots can be served first come, first served.
    app.start_workers();
    assert!(created.iter().all(|r| r.status == 201));
    let mut ids: Vec<String> = created
        .iter()
        .map(|r| r.body["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();

    let mut max_active = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    loop {
        let mut conn = app.db.pool().acquire().await.unwrap();
        max_active = max_active.max(meeboter_db::bots::count_active(&mut conn, "local").await.unwrap());
        let (ended,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status IN ('ENDED', 'FATAL')")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        drop(conn);
        if ended as usize == total {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {ended} of {total} bots ended"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        max_active <= i64::from(limit),
        "{max_active} active bots with a limit of {limit}"
    );
    assert!(max_active >= 5, "the limit was used ({max_active})");

    // Every bot ended exactly once, normally, deployed once, in queue order.
    let mut deploy_order = Vec::new();
    for id in &ids {
        let bot = app.bot_resource(id).await;
        let h = history(&bot);
        assert_eq!(
            h,
            vec!["QUEUED", "DEPLOYING", "JOINING_CALL", "IN_CALL", "ENDED/meeting_ended"],
            "{id}"
        );
        let events = app
            .get(&app.admin_key, &format!("/api/bots/{id}/events?type=deployed"))
            .await;
        let deployed = events.body["events"].as_array().unwrap();
        assert_eq!(deployed.len(), 1, "{id} deployed once");
        let change = app
            .get(&app.admin_key, &format!("/api/bots/{id}/events?type=status_change"))
            .await;
        let deploying = change.body["events"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["data"]["status"] == "DEPLOYING")
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
        deploy_order.push((deploying, id.clone()));
    }
    deploy_order.sort();
    let order: Vec<String> = deploy_order.into_iter().map(|(_, id)| id).collect();
    assert_eq!(order, ids, "drained first come, first served");
    // Process output became log events.
    let logs = app
        .get(&app.admin_key, &format!("/api/bots/{}/events?type=log", ids[0]))
        .await;
    assert!(logs.body["events"].to_string().contains("fake bot"), "{}", logs.body);

    // Every process is gone and every release job ran.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deployment_jobs WHERE status = 'pending'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{pending} release jobs still pending"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Every bot's release ran (a bot that ended before its launch was recorded has two: the
    // end's, which knew no identifier, and the launch's "ended during launch").
    let (done,): (i64,) = sqlx::query_as("SELECT COUNT(DISTINCT bot_id) FROM deployment_jobs WHERE status = 'done'")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(done as usize, total);
    assert_eq!(bot_processes(&ids), 0, "no orphan bot processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bot_process_that_dies_without_reporting_is_failed() {
    let mut app = TestApp::spawn_full(
        |_| {},
        |s| {
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: Arc::new(LocalPlatform::new(fake_bot(&["--crash"]), Duration::from_secs(5), None)),
                limit: 2,
            }]));
        },
    )
    .await;
    app.start_workers();
    let id = create_n(&app, 1, json!({})).await.remove(0);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let bot = app.bot_resource(&id).await;
        if bot["status"] == "FATAL" {
            let last = bot["statusChanges"].as_array().unwrap().last().unwrap().clone();
            assert_eq!(last["subCode"], "browser_crashed");
            assert!(last["message"].as_str().unwrap().contains("code 7"), "{last}");
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{bot}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(bot_processes(&[id]), 0);
}

/// #17 item 10: a bot deleted while it deploys is stopped, always. Each pair creates a bot
/// and deletes it a moment later, so deletions land before, during and after the launch.
/// The "bot" is a process that never reports (a token refused would not make it exit), so
/// only a release can end it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bots_deleted_while_deploying_leave_no_process_and_free_their_capacity() {
    let (limit, pairs) = (50u32, 40usize);
    let mut app = TestApp::spawn_full(
        |_| {},
        move |s| {
            s.clock = Arc::new(meeboter_server::clock::SystemClock);
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: Arc::new(LocalPlatform::new(
                    vec!["sleep".into(), "120".into()],
                    Duration::from_secs(2),
                    None,
                )),
                limit,
            }]));
        },
    )
    .await;
    app.start_workers();
    let app = &app;
    let runs = (0..pairs).map(|i| async move {
        let created = app.post(&app.admin_key, "/api/bots", json!({"meetingUrl": ZOOM})).await;
        assert_eq!(created.status, 201);
        let id = created.body["id"].as_str().unwrap().to_string();
        // Most deletions land within the first 60 ms (before or during the launch), some
        // later (after it).
        let wait = if i % 4 == 3 {
            300 + i as u64 * 20
        } else {
            (i as u64 * 7) % 60
        };
        tokio::time::sleep(Duration::from_millis(wait)).await;
        let deleted = app.delete(&app.admin_key, &format!("/api/bots/{id}")).await;
        assert_eq!(deleted.status, 204, "{}", deleted.body);
        id
    });
    let ids: Vec<String> = futures::future::join_all(runs).await;

    let deadline = tokio::time::Instant::now() + Duration::from_secs(40);
    loop {
        let (pending,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deployment_jobs WHERE status = 'pending'")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        let running = bot_processes(&ids);
        if pending == 0 && running == 0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{running} processes of deleted bots still run, {pending} release jobs pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut conn = app.db.pool().acquire().await.unwrap();
    assert_eq!(meeboter_db::bots::capacity_in_use(&mut conn, "local").await.unwrap(), 0);
    let (launched,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM deployment_jobs WHERE kind = 'release' AND identifier IS NOT NULL AND status = 'done'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(launched > 0, "some bots were launched before their deletion");
    let (failed,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deployment_jobs WHERE status = 'failed'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(failed, 0);
    // Still nothing running a moment later (nothing launched after the check).
    drop(conn);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(bot_processes(&ids), 0);
}

/// The orphan sweep catches a local bot process no live bot owns (e.g. a launch whose bot
/// was deleted and whose release was lost) — this installation's only: a process another
/// installation started on the same machine is left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orphan_sweep_stops_this_installations_local_processes_no_bot_owns() {
    let ours = Arc::new(
        LocalPlatform::new(vec!["sleep".into(), "120".into()], Duration::from_secs(2), None)
            .with_installation(&format!("inst-{}", uuid::Uuid::now_v7().simple())),
    );
    let theirs = LocalPlatform::new(vec!["sleep".into(), "120".into()], Duration::from_secs(2), None)
        .with_installation(&format!("other-{}", uuid::Uuid::now_v7().simple()));
    let platform = ours.clone();
    let app = TestApp::spawn_full(
        |_| {},
        move |s| {
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot { platform, limit: 5 }]));
        },
    )
    .await;
    let launch = |bot: &str| meeboter_platforms::BotLaunch {
        bot_id: bot.to_string(),
        attempt: 1,
        max_duration_secs: 14_400,
        env: Default::default(),
    };
    let ghost = format!("ghost-{}", uuid::Uuid::now_v7().simple());
    let neighbour = format!("neighbour-{}", uuid::Uuid::now_v7().simple());
    use meeboter_platforms::Platform;
    ours.deploy(&launch(&ghost)).await.unwrap();
    let other = theirs.deploy(&launch(&neighbour)).await.unwrap();
    // The marker shows in /proc once the child exec'd.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while bot_processes(std::slice::from_ref(&ghost)) == 0 || bot_processes(std::slice::from_ref(&neighbour)) == 0 {
        assert!(tokio::time::Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let listed = ours.instances().await.unwrap().unwrap();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0].bot_id, ghost);
    let stopped = reconciler::sweep_orphans(&app.state, "test").await.unwrap();
    assert_eq!(stopped, 1);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while bot_processes(std::slice::from_ref(&ghost)) > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the orphan still runs");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        bot_processes(std::slice::from_ref(&neighbour)),
        1,
        "another installation's process is left alone"
    );
    theirs.stop(&other.identifier).await.unwrap();
}

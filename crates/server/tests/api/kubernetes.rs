//! The kubernetes platform through the real server against `kube-fake` (a stateful
//! kube-apiserver fake whose hook runs the fake bot as the pod's container).

use crate::support::{TestApp, fake_bot, history};
use kube_fake::{Controls, KubeFake, Scenario};
use meeboter_platforms::kubernetes::{KubernetesPlatform, KubernetesSettings, LABEL_INSTALLATION, job_name};
use meeboter_server::deployment::{Deployer, PlatformSlot};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;

const NS: &str = "meeboter-bots";
const INSTALLATION: &str = "test-installation";
const IMAGE: &str = "registry.example/meeboter-bot:test";

fn settings(fake: &KubeFake) -> KubernetesSettings {
    KubernetesSettings {
        namespace: NS.into(),
        api_url: Some(fake.url.clone()),
        context: None,
        images: Default::default(),
        default_image: IMAGE.into(),
        cpu_request: "500m".into(),
        cpu_limit: "1".into(),
        memory_request: "768Mi".into(),
        memory_limit: "1536Mi".into(),
        shm_size: "512Mi".into(),
        // Long, in fake seconds: the releaser, not the TTL controller, cleans up here.
        job_ttl_secs: 100_000,
        image_pull_grace: Duration::from_millis(300),
        pod_template: None,
        request_timeout: Duration::from_secs(5),
    }
}

/// The Role in `deploy/kubernetes/rbac.yaml` as `(group/resource, verb)` pairs: every fake
/// here grants only these, so a request outside the Role fails the test that made it.
fn role() -> std::collections::BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../deploy/kubernetes/rbac.yaml");
    let docs: Vec<Value> = serde_saphyr::from_str_multiple(&std::fs::read_to_string(path).unwrap()).unwrap();
    let role = docs.iter().find(|d| d["kind"] == "Role").unwrap();
    let mut out = std::collections::BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        for g in rule["apiGroups"].as_array().unwrap() {
            for r in rule["resources"].as_array().unwrap() {
                for v in rule["verbs"].as_array().unwrap() {
                    out.insert((
                        format!("{}/{}", g.as_str().unwrap(), r.as_str().unwrap()),
                        v.as_str().unwrap().to_string(),
                    ));
                }
            }
        }
    }
    out
}

/// Default fake timings (bots start within ~100 ms), the Role's rights, and `hook`.
fn controls(hook: Option<Vec<String>>) -> Controls {
    Controls {
        hook,
        allowed: Some(role()),
        ..Controls::default()
    }
}

async fn app_on(fake: &KubeFake, limit: u32, deploy_timeout_secs: u64) -> (TestApp, Arc<KubernetesPlatform>) {
    let (mut app, platform) = app_without_workers(fake, limit, deploy_timeout_secs).await;
    app.start_workers();
    (app, platform)
}

async fn app_without_workers(
    fake: &KubeFake,
    limit: u32,
    deploy_timeout_secs: u64,
) -> (TestApp, Arc<KubernetesPlatform>) {
    let platform = Arc::new(
        KubernetesPlatform::connect(settings(fake), INSTALLATION, None)
            .await
            .unwrap(),
    );
    let slot_platform = platform.clone();
    let app = TestApp::spawn_full(
        move |c| {
            c.deploy_timeout_secs = deploy_timeout_secs;
            c.monitor_interval_secs = 1;
        },
        move |s| {
            s.clock = Arc::new(meeboter_server::clock::SystemClock);
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot {
                platform: slot_platform,
                limit,
            }]));
        },
    )
    .await;
    (app, platform)
}

async fn until(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn create(app: &TestApp, extra: Value) -> String {
    let mut body = json!({"meetingUrl": "https://zoom.us/j/123456789", "botName": "Notetaker"});
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    let bot = app.create_bot(&app.admin_key, body).await;
    bot["id"].as_str().unwrap().to_string()
}

async fn until_terminal(app: &TestApp, id: &str, secs: u64) -> Value {
    until("the bot to end", secs, async || {
        matches!(app.bot_resource(id).await["status"].as_str(), Some("ENDED" | "FATAL"))
    })
    .await;
    app.bot_resource(id).await
}

fn last_message(bot: &Value) -> String {
    bot["statusChanges"].as_array().unwrap().last().unwrap()["message"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

async fn nothing_left(fake: &KubeFake) {
    until("every Job, pod and Secret to be gone", 30, async || {
        fake.names("jobs", NS).is_empty() && fake.names("pods", NS).is_empty() && fake.names("secrets", NS).is_empty()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bot_runs_as_a_job_with_its_token_in_an_owned_secret_and_leaves_nothing() {
    let fake = KubeFake::start(controls(Some(fake_bot(&["--stay", "0.5"])))).await;
    let (app, _platform) = app_on(&fake, 5, 60).await;
    let id = create(&app, json!({})).await;
    let name = job_name(&id, 1);
    until("the Job and its Secret", 20, async || {
        fake.object("jobs", NS, &name).is_some() && fake.object("secrets", NS, &format!("{name}-token")).is_some()
    })
    .await;
    let job = fake.object("jobs", NS, &name).unwrap();
    let secret = fake.object("secrets", NS, &format!("{name}-token")).unwrap();
    assert_eq!(job["spec"]["backoffLimit"], 0);
    assert_eq!(job["spec"]["template"]["spec"]["restartPolicy"], "Never");
    assert_eq!(job["metadata"]["labels"][LABEL_INSTALLATION], INSTALLATION);
    let owner = &secret["metadata"]["ownerReferences"][0];
    assert_eq!(owner["kind"], "Job");
    assert_eq!(owner["uid"], job["metadata"]["uid"], "the Secret is owned by the Job");
    let env = job["spec"]["template"]["spec"]["containers"][0]["env"].to_string();
    assert!(
        env.contains("secretKeyRef") && env.contains("API_CALLBACK_URL"),
        "{env}"
    );
    assert_eq!(job["spec"]["template"]["spec"]["containers"][0]["image"], IMAGE);

    let bot = until_terminal(&app, &id, 60).await;
    let h = history(&bot);
    assert!(h.contains(&"IN_CALL".to_string()), "{h:?}");
    assert_eq!(h.last().unwrap(), "ENDED/meeting_ended", "{bot}");
    assert_eq!(bot["deployment"]["platform"], "kubernetes");
    assert_eq!(bot["deployment"]["identifier"], name.as_str());
    nothing_left(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_creates_never_run_more_than_ten_jobs_and_drain_in_order() {
    let fake = KubeFake::start(controls(Some(fake_bot(&["--stay", "0.2"])))).await;
    let (app, _platform) = app_on(&fake, 10, 120).await;
    let mut ids = Vec::new();
    for _ in 0..100 {
        ids.push(create(&app, json!({})).await);
    }
    let mut max_jobs = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(240);
    loop {
        let jobs = fake.names("jobs", NS).len();
        max_jobs = max_jobs.max(jobs);
        assert!(jobs <= 10, "{jobs} Jobs at once");
        let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')")
            .fetch_one(app.db.pool())
            .await
            .unwrap();
        if open == 0 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{open} bots still open");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(max_jobs >= 5, "capacity was barely used: {max_jobs}");
    // In order: a bot created later never started deploying before an earlier one.
    let mut started = Vec::new();
    for id in &ids {
        let bot = app.bot_resource(id).await;
        let h = history(&bot);
        assert_eq!(h.last().unwrap(), "ENDED/meeting_ended", "{bot}");
        assert_eq!(h.iter().filter(|s| s.starts_with("ENDED")).count(), 1, "{h:?}");
        let deploying_at = bot["statusChanges"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["status"] == "DEPLOYING")
            .map(|c| c["at"].as_str().unwrap().to_string())
            .unwrap();
        started.push(chrono::DateTime::parse_from_rfc3339(&deploying_at).unwrap());
    }
    assert!(
        started.windows(2).all(|w| w[0] <= w[1]),
        "the queue drained out of order"
    );
    nothing_left(&fake).await;
    // One Job per bot: the fake saw exactly 100 Job creates.
    let creates = fake
        .requests()
        .iter()
        .filter(|r| r.verb == "create" && r.resource == "batch/jobs")
        .count();
    assert_eq!(creates, 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pod_failures_fail_the_bot_with_the_reason() {
    let long_bot = fake_bot(&["--stay", "30"]);
    let cases: Vec<(Scenario, Option<Vec<String>>, &str, &str)> = vec![
        (Scenario::ImagePullFailure, None, "FATAL/deploy_failed", IMAGE),
        (Scenario::OomKilled, None, "FATAL/platform_stopped", "OOMKilled"),
        (Scenario::Evicted, None, "FATAL/platform_stopped", "Evicted"),
        (Scenario::NodeLost, None, "FATAL/platform_stopped", "node lost"),
        (
            Scenario::Run,
            Some(long_bot),
            "FATAL/platform_stopped",
            "DeadlineExceeded",
        ),
    ];
    for (scenario, hook, expected, needle) in cases {
        let deadline_case = needle == "DeadlineExceeded";
        let fake = KubeFake::start(Controls {
            default_scenario: scenario.clone(),
            hook,
            // activeDeadlineSeconds = 60 + 900 "seconds" of 1 ms: the deadline hits at once.
            second: if deadline_case {
                Duration::from_millis(1)
            } else {
                Duration::from_millis(100)
            },
            ..controls(None)
        })
        .await;
        let (app, _platform) = app_on(&fake, 5, 60).await;
        let id = create(&app, json!({"automaticLeave": {"maxDurationSecs": 60}})).await;
        let bot = until_terminal(&app, &id, 60).await;
        let h = history(&bot);
        assert_eq!(h.last().unwrap(), expected, "{scenario:?}: {bot}");
        let msg = last_message(&bot);
        assert!(msg.contains(needle), "{scenario:?}: `{needle}` not in {msg}");
        nothing_left(&fake).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_unschedulable_pod_keeps_the_bot_deploying_with_the_scheduler_message_until_the_timeout() {
    let message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available";
    let fake = KubeFake::start(Controls {
        default_scenario: Scenario::Unschedulable(message.into()),
        ..controls(None)
    })
    .await;
    let (app, platform) = app_on(&fake, 5, 4).await;
    let id = create(&app, json!({})).await;
    until("the scheduler's message on the infrastructure page", 20, async || {
        app.get(&app.admin_key, "/api/infrastructure").await.body["warnings"]
            .to_string()
            .contains("Insufficient memory")
    })
    .await;
    assert_eq!(app.bot_resource(&id).await["status"], "DEPLOYING");
    // The watch drops and its resourceVersion is compacted away: it relists, and the same
    // fact is not recorded twice.
    let relists = platform.watch_stats().relists;
    fake.compact();
    fake.drop_watches();
    until("the watch to relist", 10, async || {
        platform.watch_stats().relists > relists
    })
    .await;
    let bot = until_terminal(&app, &id, 30).await;
    assert_eq!(history(&bot).last().unwrap(), "FATAL/deploy_timeout", "{bot}");
    let events = app
        .get(&app.admin_key, &format!("/api/bots/{id}/events?type=deploy_pending"))
        .await
        .body;
    let pending = events.to_string().matches("Insufficient memory").count();
    assert_eq!(pending, 1, "{events}");
    nothing_left(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn quota_exceeded_and_throttling_keep_the_bot_queued_never_fatal() {
    let fake = KubeFake::start(Controls {
        job_quota: Some(0),
        ..controls(Some(fake_bot(&["--stay", "0.2"])))
    })
    .await;
    let (app, _platform) = app_on(&fake, 5, 60).await;
    let id = create(&app, json!({})).await;
    // Refused three times (more than the deploy attempts a transient failure gets): the bot
    // keeps waiting in the queue, never FATAL.
    until("three quota refusals", 40, async || {
        let h = history(&app.bot_resource(&id).await);
        assert!(!h.iter().any(|s| s.starts_with("FATAL")), "{h:?}");
        h.iter().filter(|s| *s == "QUEUED/deploy_retry").count() >= 3
    })
    .await;
    assert!(fake.names("jobs", NS).is_empty());
    let (attempts,): (i64,) = sqlx::query_as("SELECT deploy_attempts FROM bots WHERE id = $1")
        .bind(&id)
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    assert_eq!(attempts, 0, "a full platform spends no attempt");
    // The quota frees up and the API throttles a few requests: the bot still runs.
    fake.control(|c| {
        c.job_quota = None;
        c.throttle_next = 2;
    });
    let bot = until_terminal(&app, &id, 60).await;
    assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{bot}");
    nothing_left(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dropped_and_expired_watches_lose_and_duplicate_no_fact() {
    let fake = KubeFake::start(controls(Some(fake_bot(&["--stay", "4"])))).await;
    let (app, platform) = app_on(&fake, 10, 60).await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(create(&app, json!({})).await);
    }
    until("the bots to run", 20, async || fake.names("pods", NS).len() >= 6).await;
    let before = platform.watch_stats().relists;
    for _ in 0..3 {
        fake.compact();
        fake.drop_watches();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // The watcher backs off after each error, so its relist may come a few seconds later
    // (on a loaded machine); the bots are still running when it does.
    until("the watch to relist", 30, async || {
        platform.watch_stats().relists > before
    })
    .await;
    for id in &ids {
        let bot = until_terminal(&app, id, 60).await;
        let h = history(&bot);
        assert_eq!(h.last().unwrap(), "ENDED/meeting_ended", "{bot}");
        assert_eq!(
            h.iter()
                .filter(|s| s.starts_with("ENDED") || s.starts_with("FATAL"))
                .count(),
            1,
            "{h:?}"
        );
    }
    nothing_left(&fake).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_orphan_sweep_deletes_our_jobs_no_bot_owns_and_nothing_else() {
    let fake = KubeFake::start(controls(None)).await;
    let (app, platform) = app_without_workers(&fake, 5, 60).await;
    use meeboter_platforms::Platform;
    // A Job this installation started for a bot the database does not know.
    let launch = meeboter_platforms::BotLaunch {
        bot_id: "ghost-bot".into(),
        attempt: 1,
        env: [("BOT_ID", "ghost-bot"), ("MILO_AUTH_TOKEN", "t")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        max_duration_secs: 3600,
    };
    fake.control(|c| c.run_for = Duration::from_secs(60));
    platform.deploy(&launch).await.unwrap();
    // Another installation's Job in the same namespace is never touched.
    let other = KubernetesPlatform::connect(settings(&fake), "other-installation", None)
        .await
        .unwrap();
    let other_launch = meeboter_platforms::BotLaunch {
        bot_id: "foreign-bot".into(),
        ..launch.clone()
    };
    other.deploy(&other_launch).await.unwrap();
    let ours = job_name("ghost-bot", 1);
    assert!(fake.object("secrets", NS, &format!("{ours}-token")).is_some());
    let stopped = meeboter_server::deployment::reconciler::sweep_orphans(&app.state, "test")
        .await
        .unwrap();
    assert_eq!(stopped, 1);
    assert!(fake.object("jobs", NS, &ours).is_none());
    assert!(fake.object("secrets", NS, &format!("{ours}-token")).is_none());
    assert!(fake.object("jobs", NS, &job_name("foreign-bot", 1)).is_some());
    drop(app);
}

//! The ECS platform against moto: real RunTask/DescribeTasks/StopTask/ListTasks over HTTP.

use crate::moto::{CLUSTER, Moto};
use crate::support::{TestApp, fake_bot, history};
use meeboter_platforms::ecs::{EcsPlatform, EcsSettings, TAG_BOT, TAG_INSTALLATION};
use meeboter_server::deployment::{Deployer, PlatformSlot};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const INSTALLATION: &str = "test-installation";

async fn app_on(settings: EcsSettings, limit: u32) -> TestApp {
    let mut app = app_without_workers(settings, limit).await;
    app.start_workers();
    app
}

async fn app_without_workers(settings: EcsSettings, limit: u32) -> TestApp {
    let platform = Arc::new(EcsPlatform::new(settings, INSTALLATION).await);
    TestApp::spawn_full(
        |_| {},
        move |s| {
            s.clock = Arc::new(meeboter_server::clock::SystemClock);
            s.deployer = Arc::new(Deployer::new(vec![PlatformSlot { platform, limit }]));
        },
    )
    .await
}

async fn until(what: &str, secs: u64, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn open_bots(app: &TestApp) -> i64 {
    let (open,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bots WHERE status NOT IN ('ENDED', 'FATAL')")
        .fetch_one(app.db.pool())
        .await
        .unwrap();
    open
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_bot_runs_as_a_fargate_task_from_deploy_to_stop() {
    let moto = Moto::start().await;
    let _runtime = moto.run_bots(fake_bot(&["--stay", "0.5"]));
    let app = app_on(moto.settings(), 5).await;
    let bot = app
        .create_bot(
            &app.admin_key,
            json!({"meetingUrl": "https://teams.microsoft.com/meet/123456789?p=abc", "botName": "Notetaker"}),
        )
        .await;
    let id = bot["id"].as_str().unwrap().to_string();
    until("the bot to end", 60, async || {
        app.bot_resource(&id).await["status"] == "ENDED"
    })
    .await;
    let bot = app.bot_resource(&id).await;
    let h = history(&bot);
    assert!(h.contains(&"IN_CALL".to_string()), "{h:?}");
    assert_eq!(h.last().unwrap(), "ENDED/meeting_ended");
    assert_eq!(bot["deployment"]["platform"], "aws");
    let arn = bot["deployment"]["identifier"].as_str().unwrap().to_string();
    assert!(arn.starts_with("arn:aws:ecs:us-east-1:"), "{arn}");
    // The task carried exactly the deployment guide's environment, our tags and startedBy;
    // after the bot ended it was stopped with a reason.
    until("the task to stop", 30, async || {
        moto.tasks()
            .await
            .iter()
            .any(|t| t.task_arn() == Some(arn.as_str()) && t.last_status() == Some("STOPPED"))
    })
    .await;
    let task = moto
        .tasks()
        .await
        .into_iter()
        .find(|t| t.task_arn() == Some(arn.as_str()))
        .unwrap();
    assert_eq!(task.started_by(), Some(id.as_str()));
    assert!(task.stopped_reason().unwrap_or("").contains("Meeboter"));
    let tag = |k: &str| {
        task.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag(TAG_BOT).as_deref(), Some(id.as_str()));
    assert_eq!(tag(TAG_INSTALLATION).as_deref(), Some(INSTALLATION));
    let over = &task.overrides().unwrap().container_overrides()[0];
    assert_eq!(over.name(), Some("bot"), "the task definition's first container");
    let mut names: Vec<&str> = over.environment().iter().filter_map(|kv| kv.name()).collect();
    names.sort();
    let mut expected = meeboter_platforms::BotLaunch::ENV_NAMES.to_vec();
    expected.sort();
    assert_eq!(names, expected);
    let platform = over
        .environment()
        .iter()
        .find(|kv| kv.name() == Some("MEETING_PLATFORM"))
        .and_then(|kv| kv.value());
    assert_eq!(platform, Some("teams"));
    let net = task
        .attachments()
        .first()
        .map(|a| a.r#type().unwrap_or_default().to_string());
    assert_eq!(net.as_deref(), Some("ElasticNetworkInterface"), "awsvpc networking");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_dies_on_its_own_fails_its_bot_with_the_reason() {
    let moto = Moto::start().await;
    // No bot process answers; moto stops each task at its first DescribeTasks.
    moto.set_task_transition(json!({"progression": "immediate"})).await;
    let app = app_on(moto.settings(), 5).await;
    let bot = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let id = bot["id"].as_str().unwrap().to_string();
    until("the bot to fail", 60, async || {
        app.bot_resource(&id).await["status"] == "FATAL"
    })
    .await;
    let bot = app.bot_resource(&id).await;
    assert_eq!(history(&bot).last().unwrap(), "FATAL/platform_stopped", "{bot}");
    let message = bot["statusChanges"].as_array().unwrap().last().unwrap()["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(message.contains("stopped"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_cluster_or_task_definition_fails_the_bot_naming_the_setting() {
    let moto = Moto::start().await;
    for (change, needle) in [
        (
            Box::new(|s: &mut EcsSettings| s.cluster = "no-such-cluster".into()) as Box<dyn Fn(&mut EcsSettings)>,
            "ECS_CLUSTER",
        ),
        (
            Box::new(|s: &mut EcsSettings| s.default_task_definition = Some("no-such-family:9".into())),
            "ECS_TASK_DEF",
        ),
    ] {
        let mut settings = moto.settings();
        change(&mut settings);
        settings.container_name = Some("bot".into());
        let app = app_on(settings, 5).await;
        let bot = app
            .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
            .await;
        let id = bot["id"].as_str().unwrap().to_string();
        until("the bot to fail", 60, async || {
            app.bot_resource(&id).await["status"] == "FATAL"
        })
        .await;
        let bot = app.bot_resource(&id).await;
        assert_eq!(history(&bot).last().unwrap(), "FATAL/deploy_failed");
        let message = bot["statusChanges"].as_array().unwrap().last().unwrap()["message"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(message.contains(needle), "`{needle}` not in {message}");
        let infra = app.get(&app.admin_key, "/api/infrastructure").await.body;
        assert!(infra["warnings"].to_string().contains(needle), "{infra}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_creates_never_run_more_than_ten_tasks() {
    let moto = Moto::start().await;
    let _runtime = moto.run_bots(fake_bot(&["--stay", "0.3"]));
    let app = app_on(moto.settings(), 10).await;
    let creates = (0..50).map(|_| {
        app.post(
            &app.admin_key,
            "/api/bots",
            json!({"meetingUrl": "https://meet.google.com/abc-defg-hij"}),
        )
    });
    let created = futures::future::join_all(creates).await;
    assert!(created.iter().all(|r| r.status == 201));
    let mut max_running = 0;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    while open_bots(&app).await > 0 {
        let running = moto
            .tasks()
            .await
            .iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .count();
        max_running = max_running.max(running);
        assert!(running <= 10, "{running} tasks running at once");
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} bots open",
            open_bots(&app).await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(max_running >= 5, "capacity was barely used: {max_running}");
    for r in &created {
        let bot = app.bot_resource(r.body["id"].as_str().unwrap()).await;
        assert_eq!(history(&bot).last().unwrap(), "ENDED/meeting_ended", "{bot}");
    }
    until("every task to stop", 30, async || {
        moto.tasks().await.iter().all(|t| t.last_status() == Some("STOPPED"))
    })
    .await;
    assert_eq!(moto.tasks().await.len(), 50, "one task per bot");
}

/// Creates a Zoom bot and waits for its task; returns the task ARN.
async fn deploy_one(app: &TestApp) -> String {
    let bot = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let id = bot["id"].as_str().unwrap().to_string();
    until("the task", 30, async || {
        !app.bot_resource(&id).await["deployment"]["identifier"].is_null()
    })
    .await;
    app.bot_resource(&id).await["deployment"]["identifier"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Forwards to moto, except that Spot has no capacity.
async fn spot_outage_proxy(moto_url: String) -> String {
    let http = reqwest::Client::new();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap, body: String| {
        let http = http.clone();
        let moto_url = moto_url.clone();
        async move {
            let target = headers
                .get("x-amz-target")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if target.ends_with(".RunTask") && body.contains("FARGATE_SPOT") {
                let out = json!({"tasks": [], "failures": [{"reason": "Capacity is unavailable at this time. Please try again later or in a different availability zone"}]});
                return (axum::http::StatusCode::OK, out.to_string());
            }
            let mut req = http.post(&moto_url).body(body);
            for (k, v) in &headers {
                if k != "host" && k != "content-length" {
                    req = req.header(k, v);
                }
            }
            let res = req.send().await.unwrap();
            let status = axum::http::StatusCode::from_u16(res.status().as_u16()).unwrap();
            (status, res.text().await.unwrap())
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spot_is_tried_first_and_on_demand_takes_over_without_capacity() {
    let moto = Moto::start().await;
    // Spot with capacity: the task runs on FARGATE_SPOT.
    let mut settings = moto.settings();
    settings.capacity_providers = vec!["FARGATE_SPOT".into(), "FARGATE".into()];
    let app = app_on(settings.clone(), 5).await;
    let arn = deploy_one(&app).await;
    let provider = |tasks: Vec<aws_sdk_ecs::types::Task>, arn: &str| {
        tasks
            .into_iter()
            .find(|t| t.task_arn() == Some(arn))
            .and_then(|t| t.capacity_provider_name().map(str::to_string))
    };
    assert_eq!(provider(moto.tasks().await, &arn).as_deref(), Some("FARGATE_SPOT"));
    // Spot out of capacity: the same bot configuration lands on FARGATE.
    settings.endpoint_url = Some(spot_outage_proxy(moto.url.clone()).await);
    let app = app_on(settings, 5).await;
    let arn = deploy_one(&app).await;
    assert_eq!(provider(moto.tasks().await, &arn).as_deref(), Some("FARGATE"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweep_stops_our_orphan_tasks_and_nothing_else() {
    let moto = Moto::start().await;
    let app = app_without_workers(moto.settings(), 5).await;
    // Two tasks nobody in the database owns: one tagged as ours, one another installation's.
    let run = |installation: &'static str| {
        let ecs = moto.ecs.clone();
        let subnet = moto.subnet.clone();
        async move {
            use aws_sdk_ecs::types::{AwsVpcConfiguration, LaunchType, NetworkConfiguration, Tag};
            let net = NetworkConfiguration::builder()
                .awsvpc_configuration(
                    AwsVpcConfiguration::builder()
                        .subnets(subnet)
                        .security_groups("sg-x")
                        .build()
                        .unwrap(),
                )
                .build();
            let out = ecs
                .run_task()
                .cluster(CLUSTER)
                .task_definition(crate::moto::TASK_DEF)
                .launch_type(LaunchType::Fargate)
                .network_configuration(net)
                .tags(Tag::builder().key(TAG_INSTALLATION).value(installation).build())
                .tags(Tag::builder().key(TAG_BOT).value("01a2-gone").build())
                .tags(Tag::builder().key("meeboter:attempt").value("1").build())
                .send()
                .await
                .unwrap();
            out.tasks()[0].task_arn().unwrap().to_string()
        }
    };
    let orphan = run(INSTALLATION).await;
    let foreign = run("someone-else").await;
    let stopped = meeboter_server::deployment::reconciler::sweep_orphans(&app.state, "test-replica")
        .await
        .unwrap();
    assert_eq!(stopped, 1);
    // Within the minute the lease covers, another replica does not sweep again.
    let again = meeboter_server::deployment::reconciler::sweep_orphans(&app.state, "other-replica")
        .await
        .unwrap();
    assert_eq!(again, 0);
    let tasks = moto.tasks().await;
    let orphan_task = tasks.iter().find(|t| t.task_arn() == Some(orphan.as_str())).unwrap();
    assert_eq!(orphan_task.last_status(), Some("STOPPED"));
    let foreign_task = tasks.iter().find(|t| t.task_arn() == Some(foreign.as_str())).unwrap();
    assert_eq!(
        foreign_task.last_status(),
        Some("RUNNING"),
        "another installation's task was touched"
    );
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shipped_task_definition_registers_and_runs_a_bot() {
    let moto = Moto::start().await;
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../deploy/aws/task-definition.json"
    ))
    .unwrap();
    // Registered exactly as `aws ecs register-task-definition --cli-input-json` sends it.
    let res = reqwest::Client::new()
        .post(&moto.url)
        .header(
            "x-amz-target",
            "AmazonEC2ContainerServiceV20141113.RegisterTaskDefinition",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .header(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecs/aws4_request, SignedHeaders=host, Signature=0",
        )
        .body(shipped)
        .send()
        .await
        .unwrap();
    assert!(res.status().is_success(), "{}", res.text().await.unwrap());
    let _runtime = moto.run_bots(fake_bot(&["--stay", "0.3"]));
    let mut settings = moto.settings();
    settings.default_task_definition = Some("meeboter-bot".into());
    let app = app_on(settings, 2).await;
    let bot = app
        .create_bot(&app.admin_key, json!({"meetingUrl": "https://zoom.us/j/123456789"}))
        .await;
    let id = bot["id"].as_str().unwrap().to_string();
    until("the bot to end", 60, async || {
        app.bot_resource(&id).await["status"] == "ENDED"
    })
    .await;
    assert!(history(&app.bot_resource(&id).await).contains(&"IN_CALL".to_string()));
}

//! The fake Kubernetes API server over real HTTP (reqwest), checked against kube-apiserver's
//! documented behaviour: discovery, create/get/list/delete with Status errors, the job
//! controller's pods and conditions, propagation policies, watches with bookmarks and 410, the
//! fault scenarios, the hook that runs a process as the container, and request recording.

use kube_fake::{Controls, KubeFake, Scenario};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

const NS: &str = "meeboter-bots";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

fn jobs(fake: &KubeFake) -> String {
    format!("{}/apis/batch/v1/namespaces/{NS}/jobs", fake.url)
}

fn pods(fake: &KubeFake) -> String {
    format!("{}/api/v1/namespaces/{NS}/pods", fake.url)
}

fn secrets(fake: &KubeFake) -> String {
    format!("{}/api/v1/namespaces/{NS}/secrets", fake.url)
}

fn job(name: &str) -> Value {
    json!({
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name, "labels": {"meeboter.bot-id": name}},
        "spec": {
            "backoffLimit": 0,
            "ttlSecondsAfterFinished": 600,
            "template": {
                "metadata": {"labels": {"meeboter.bot-id": name}},
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 5,
                    "containers": [{
                        "name": "bot", "image": "ghcr.io/meeboter/meeboter-bot:test",
                        "env": [
                            {"name": "BOT_ID", "value": name},
                            {"name": "BOT_TOKEN", "valueFrom": {"secretKeyRef": {"name": format!("{name}-token"), "key": "token"}}},
                        ],
                    }],
                },
            },
        },
    })
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let r = client().post(url).json(body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn get_json(url: &str) -> (u16, Value) {
    let r = client().get(url).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn delete(url: &str, opts: Value) -> (u16, Value) {
    let r = client().delete(url).json(&opts).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

async fn secret_for(fake: &KubeFake, name: &str, token: &str) {
    let (code, _) = post(
        &secrets(fake),
        &json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": format!("{name}-token")}, "stringData": {"token": token}}),
    )
    .await;
    assert_eq!(code, 201);
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn pod_of(fake: &KubeFake, job: &str) -> Option<Value> {
    fake.names("pods", NS)
        .into_iter()
        .find(|p| p.starts_with(&format!("{job}-")))
        .and_then(|p| fake.object("pods", NS, &p))
}

fn condition(job: &Value, kind: &str) -> Option<Value> {
    job["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)
        .cloned()
}

#[tokio::test]
async fn discovery_answers_the_groups_and_resources() {
    let fake = KubeFake::start(Controls::default()).await;
    let (code, v) = get_json(&format!("{}/version", fake.url)).await;
    assert_eq!((code, v["major"].as_str()), (200, Some("1")));
    let (_, api) = get_json(&format!("{}/api", fake.url)).await;
    assert_eq!(api["versions"], json!(["v1"]));
    let (_, groups) = get_json(&format!("{}/apis", fake.url)).await;
    assert_eq!(groups["groups"][0]["preferredVersion"]["groupVersion"], "batch/v1");
    let (_, batch) = get_json(&format!("{}/apis/batch/v1", fake.url)).await;
    let names: Vec<&str> = batch["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"jobs"));
    let (_, core) = get_json(&format!("{}/api/v1", fake.url)).await;
    let names: Vec<&str> = core["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"pods") && names.contains(&"pods/log") && names.contains(&"secrets"));
    let (code, nf) = get_json(&format!("{}/apis/apps/v1/deployments", fake.url)).await;
    assert_eq!((code, nf["reason"].as_str()), (404, Some("NotFound")));
}

#[tokio::test]
async fn create_get_conflict_invalid_and_not_found_use_the_apiservers_status_bodies() {
    let fake = KubeFake::start(Controls {
        run_for: Duration::from_secs(30),
        ..Controls::default()
    })
    .await;
    let (code, created) = post(&jobs(&fake), &job("bot-1")).await;
    assert_eq!(code, 201);
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    assert!(
        created["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse::<u64>()
            .is_ok()
    );
    // The strategy's generated selector and labels, and batch/v1 defaults.
    assert_eq!(
        created["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"],
        uid
    );
    assert_eq!(
        created["spec"]["template"]["metadata"]["labels"]["batch.kubernetes.io/job-name"],
        "bot-1"
    );
    assert_eq!(created["spec"]["completions"], 1);

    let (code, again) = post(&jobs(&fake), &job("bot-1")).await;
    assert_eq!(code, 409);
    assert_eq!(again["reason"], "AlreadyExists");
    assert_eq!(again["message"], "jobs.batch \"bot-1\" already exists");
    assert_eq!(again["details"]["group"], "batch");

    let (code, got) = get_json(&format!("{}/bot-1", jobs(&fake))).await;
    assert_eq!((code, got["metadata"]["uid"].as_str()), (200, Some(uid.as_str())));
    let (code, missing) = get_json(&format!("{}/nope", jobs(&fake))).await;
    assert_eq!(code, 404);
    assert_eq!(missing["message"], "jobs.batch \"nope\" not found");
    let (code, missing) = get_json(&format!("{}/nope", pods(&fake))).await;
    assert_eq!(
        (code, missing["message"].as_str()),
        (404, Some("pods \"nope\" not found"))
    );

    let mut bad = job("bot-2");
    bad["spec"]["template"]["spec"]["restartPolicy"] = json!("Always");
    bad["spec"]["template"]["spec"]["containers"][0]["image"] = json!("");
    let (code, invalid) = post(&jobs(&fake), &bad).await;
    assert_eq!(code, 422);
    assert_eq!(invalid["reason"], "Invalid");
    let message = invalid["message"].as_str().unwrap();
    assert!(message.starts_with("Job.batch \"bot-2\" is invalid: ["), "{message}");
    assert!(
        message.contains("spec.template.spec.restartPolicy: Unsupported value: \"Always\""),
        "{message}"
    );
    let fields: BTreeSet<&str> = invalid["details"]["causes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["field"].as_str().unwrap())
        .collect();
    assert!(fields.contains("spec.template.spec.containers[0].image"));
    let (code, _) = post(
        &jobs(&fake),
        &json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}}),
    )
    .await;
    assert_eq!(code, 400);
}

#[tokio::test]
async fn a_job_runs_a_pod_to_completion_with_owner_references_and_conditions() {
    let fake = KubeFake::start(Controls::default()).await;
    let (_, created) = post(&jobs(&fake), &job("bot-ok")).await;
    secret_for(&fake, "bot-ok", "t0ken").await;
    let uid = created["metadata"]["uid"].as_str().unwrap().to_string();
    wait_for("the pod", || pod_of(&fake, "bot-ok").is_some()).await;
    let pod = pod_of(&fake, "bot-ok").unwrap();
    let name = pod["metadata"]["name"].as_str().unwrap();
    assert_eq!(name.len(), "bot-ok-".len() + 5);
    let owner = &pod["metadata"]["ownerReferences"][0];
    assert_eq!(
        (
            owner["kind"].as_str(),
            owner["uid"].as_str(),
            owner["controller"].as_bool()
        ),
        (Some("Job"), Some(uid.as_str()), Some(true))
    );
    assert_eq!(pod["metadata"]["labels"]["controller-uid"], uid);
    wait_for("Complete", || {
        fake.object("jobs", NS, "bot-ok")
            .and_then(|j| condition(&j, "Complete"))
            .is_some()
    })
    .await;
    let job = fake.object("jobs", NS, "bot-ok").unwrap();
    assert_eq!(job["status"]["succeeded"], 1);
    assert_eq!(job["status"]["active"], 0);
    assert!(condition(&job, "SuccessCriteriaMet").is_some());
    let pod = pod_of(&fake, "bot-ok").unwrap();
    assert_eq!(pod["status"]["phase"], "Succeeded");
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        0
    );
}

#[tokio::test]
async fn the_hook_runs_as_the_container_with_resolved_env_and_its_exit_code_ends_the_pod() {
    let fake = KubeFake::start(Controls {
        hook: Some(vec![
            "sh".into(),
            "-c".into(),
            "echo \"bot $BOT_ID token $BOT_TOKEN\"; [ \"$BOT_TOKEN\" = s3cret ] && exit 3; exit 0".into(),
        ]),
        ..Controls::default()
    })
    .await;
    secret_for(&fake, "bot-hook", "s3cret").await;
    post(&jobs(&fake), &job("bot-hook")).await;
    wait_for("Failed", || {
        fake.object("jobs", NS, "bot-hook")
            .and_then(|j| condition(&j, "Failed"))
            .is_some()
    })
    .await;
    let job = fake.object("jobs", NS, "bot-hook").unwrap();
    assert_eq!(condition(&job, "Failed").unwrap()["reason"], "BackoffLimitExceeded");
    assert_eq!(job["status"]["failed"], 1);
    let pod = pod_of(&fake, "bot-hook").unwrap();
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"],
        3
    );
    let name = pod["metadata"]["name"].as_str().unwrap();
    let log = client()
        .get(format!("{}/{name}/log", pods(&fake)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(log.trim(), "bot bot-hook token s3cret");
}

#[tokio::test]
async fn a_missing_secret_keeps_the_container_in_create_container_config_error() {
    let fake = KubeFake::start(Controls::default()).await;
    post(&jobs(&fake), &job("bot-nosecret")).await;
    wait_for("the config error", || {
        pod_of(&fake, "bot-nosecret").is_some_and(|p| {
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CreateContainerConfigError"
        })
    })
    .await;
    let pod = pod_of(&fake, "bot-nosecret").unwrap();
    assert_eq!(
        pod["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "secret \"bot-nosecret-token\" not found"
    );
}

#[tokio::test]
async fn failure_scenarios_report_what_the_kubelet_and_scheduler_report() {
    let fake = KubeFake::start(Controls::default()).await;
    let message = "0/3 nodes are available: 3 Insufficient memory. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod.";
    fake.control(|c| {
        c.scenarios.insert("bot-pull".into(), Scenario::ImagePullFailure);
        c.scenarios
            .insert("bot-sched".into(), Scenario::Unschedulable(message.into()));
        c.scenarios.insert("bot-oom".into(), Scenario::OomKilled);
        c.scenarios.insert("bot-evict".into(), Scenario::Evicted);
        c.scenarios.insert("bot-node".into(), Scenario::NodeLost);
    });
    for name in ["bot-pull", "bot-sched", "bot-oom", "bot-evict", "bot-node"] {
        secret_for(&fake, name, "t").await;
        assert_eq!(post(&jobs(&fake), &job(name)).await.0, 201);
    }
    wait_for("ImagePullBackOff", || {
        pod_of(&fake, "bot-pull")
            .is_some_and(|p| p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "ImagePullBackOff")
    })
    .await;
    let pull = pod_of(&fake, "bot-pull").unwrap();
    assert_eq!(
        pull["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
        "Back-off pulling image \"ghcr.io/meeboter/meeboter-bot:test\""
    );
    assert_eq!(pull["status"]["phase"], "Pending");

    wait_for("Unschedulable", || {
        pod_of(&fake, "bot-sched").is_some_and(|p| {
            p["status"]["conditions"]
                .as_array()
                .is_some_and(|cs| cs.iter().any(|c| c["reason"] == "Unschedulable"))
        })
    })
    .await;
    let sched = pod_of(&fake, "bot-sched").unwrap();
    let cond = sched["status"]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "PodScheduled")
        .unwrap()
        .clone();
    assert_eq!(
        (cond["status"].as_str(), cond["message"].as_str()),
        (Some("False"), Some(message))
    );

    for name in ["bot-oom", "bot-evict", "bot-node"] {
        wait_for(name, || {
            fake.object("jobs", NS, name)
                .and_then(|j| condition(&j, "Failed"))
                .is_some()
        })
        .await;
    }
    let oom = pod_of(&fake, "bot-oom").unwrap();
    let terminated = &oom["status"]["containerStatuses"][0]["state"]["terminated"];
    assert_eq!(
        (terminated["reason"].as_str(), terminated["exitCode"].as_i64()),
        (Some("OOMKilled"), Some(137))
    );
    let evicted = pod_of(&fake, "bot-evict").unwrap();
    assert_eq!(
        (
            evicted["status"]["phase"].as_str(),
            evicted["status"]["reason"].as_str()
        ),
        (Some("Failed"), Some("Evicted"))
    );
    let lost = pod_of(&fake, "bot-node").unwrap();
    assert!(
        lost["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "DisruptionTarget")
    );
}

#[tokio::test]
async fn active_deadline_fails_the_job_and_ttl_deletes_it_with_its_pods_and_secret() {
    let fake = KubeFake::start(Controls {
        run_for: Duration::from_secs(60),
        ..Controls::default()
    })
    .await;
    let mut j = job("bot-deadline");
    j["spec"]["activeDeadlineSeconds"] = json!(3); // 300 ms at the fake's 100 ms "second"
    j["spec"]["ttlSecondsAfterFinished"] = json!(5);
    let (_, created) = post(&jobs(&fake), &j).await;
    let uid = created["metadata"]["uid"].as_str().unwrap();
    // The token Secret owned by the Job, as the platform creates it.
    let (code, _) = post(
        &secrets(&fake),
        &json!({"metadata": {"name": "bot-deadline-token", "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "bot-deadline", "uid": uid}]}, "stringData": {"token": "x"}}),
    )
    .await;
    assert_eq!(code, 201);
    wait_for("DeadlineExceeded", || {
        fake.object("jobs", NS, "bot-deadline")
            .and_then(|j| condition(&j, "Failed"))
            .is_some_and(|c| c["reason"] == "DeadlineExceeded")
    })
    .await;
    assert_eq!(
        condition(&fake.object("jobs", NS, "bot-deadline").unwrap(), "Failed").unwrap()["message"],
        "Job was active longer than specified deadline"
    );
    wait_for("the TTL controller", || {
        fake.object("jobs", NS, "bot-deadline").is_none()
    })
    .await;
    assert!(pod_of(&fake, "bot-deadline").is_none());
    assert!(
        fake.object("secrets", NS, "bot-deadline-token").is_none(),
        "owned Secret collected"
    );
}

#[tokio::test]
async fn propagation_background_foreground_and_the_batch_v1_orphan_default() {
    let fake = KubeFake::start(Controls {
        run_for: Duration::from_secs(60),
        ..Controls::default()
    })
    .await;
    for name in ["bot-bg", "bot-fg", "bot-orphan"] {
        secret_for(&fake, name, "t").await;
        post(&jobs(&fake), &job(name)).await;
    }
    for name in ["bot-bg", "bot-fg", "bot-orphan"] {
        wait_for("running", || {
            pod_of(&fake, name).is_some_and(|p| p["status"]["phase"] == "Running")
        })
        .await;
    }
    // Background: the Job goes at once (200 Status Success), its pod terminates gracefully.
    let (code, status) = delete(
        &format!("{}/bot-bg", jobs(&fake)),
        json!({"propagationPolicy": "Background"}),
    )
    .await;
    assert_eq!((code, status["status"].as_str()), (200, Some("Success")));
    assert!(fake.object("jobs", NS, "bot-bg").is_none());
    wait_for("the pod collected", || pod_of(&fake, "bot-bg").is_none()).await;

    // Foreground: 202 with the foregroundDeletion finalizer, the Job goes after its pod.
    let (code, obj) = delete(
        &format!("{}/bot-fg", jobs(&fake)),
        json!({"propagationPolicy": "Foreground"}),
    )
    .await;
    assert_eq!(code, 202);
    assert_eq!(obj["metadata"]["finalizers"], json!(["foregroundDeletion"]));
    assert!(obj["metadata"]["deletionTimestamp"].is_string());
    wait_for("the job gone", || fake.object("jobs", NS, "bot-fg").is_none()).await;
    assert!(pod_of(&fake, "bot-fg").is_none());

    // No policy: batch/v1 orphans the pods (ownerReference removed, pod keeps running).
    let r = client()
        .delete(format!("{}/bot-orphan", jobs(&fake)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 202);
    wait_for("the job gone", || fake.object("jobs", NS, "bot-orphan").is_none()).await;
    let pod = pod_of(&fake, "bot-orphan").unwrap();
    assert_eq!(pod["metadata"]["ownerReferences"], json!([]));
    assert_eq!(pod["status"]["phase"], "Running");
}

#[tokio::test]
async fn graceful_pod_deletion_sends_sigterm_and_waits_for_the_process() {
    let fake = KubeFake::start(Controls {
        hook: Some(vec![
            "sh".into(),
            "-c".into(),
            "trap 'echo got-term; exit 0' TERM; while :; do sleep 0.05; done".into(),
        ]),
        ..Controls::default()
    })
    .await;
    secret_for(&fake, "bot-term", "t").await;
    post(&jobs(&fake), &job("bot-term")).await;
    wait_for("running", || {
        pod_of(&fake, "bot-term").is_some_and(|p| p["status"]["phase"] == "Running")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let name = pod_of(&fake, "bot-term").unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    let (code, pod) = delete(&format!("{}/{name}", pods(&fake)), json!({"gracePeriodSeconds": 30})).await;
    assert_eq!(code, 202);
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    assert!(pod["metadata"]["deletionTimestamp"].is_string());
    wait_for("the pod gone", || fake.object("pods", NS, &name).is_none()).await;
}

#[tokio::test]
async fn list_selects_by_label_and_pages_with_continue() {
    let fake = KubeFake::start(Controls {
        run_for: Duration::from_secs(60),
        ..Controls::default()
    })
    .await;
    for i in 0..5 {
        let mut s = json!({"metadata": {"name": format!("s{i}"), "labels": {"app": "meeboter", "n": i.to_string()}}, "stringData": {"k": "v"}});
        if i == 4 {
            s["metadata"]["labels"]["app"] = json!("other");
        }
        post(&secrets(&fake), &s).await;
    }
    let (_, list) = get_json(&format!("{}?labelSelector=app%3Dmeeboter&limit=3", secrets(&fake))).await;
    assert_eq!(list["kind"], "SecretList");
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert_eq!(list["metadata"]["remainingItemCount"], 1);
    assert_eq!(
        list["items"][0]["data"]["k"], "dg==",
        "stringData folded into base64 data"
    );
    let cont = list["metadata"]["continue"].as_str().unwrap();
    let (_, rest) = get_json(&format!(
        "{}?labelSelector=app%3Dmeeboter&limit=3&continue={cont}",
        secrets(&fake)
    ))
    .await;
    let names: Vec<&str> = rest["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["s3"]);
    let (_, set) = get_json(&format!("{}?labelSelector=n%20in%20(1,2),app!%3Dother", secrets(&fake))).await;
    assert_eq!(set["items"].as_array().unwrap().len(), 2);
    // A continue token from before a compaction is 410 Expired.
    fake.compact();
    post(&secrets(&fake), &json!({"metadata": {"name": "s9"}})).await;
    fake.compact();
    let (code, gone) = get_json(&format!("{}?limit=3&continue={cont}", secrets(&fake))).await;
    assert_eq!((code, gone["reason"].as_str()), (410, Some("Expired")));
}

/// Reads newline-delimited watch events until `n` arrived or the stream ended.
async fn read_events(resp: &mut reqwest::Response, n: usize, within: Duration) -> Vec<Value> {
    let mut buf = Vec::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + within;
    while out.len() < n {
        let chunk = match tokio::time::timeout_at(deadline, resp.chunk()).await {
            Ok(Ok(Some(c))) => c,
            _ => break,
        };
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            out.push(serde_json::from_slice(&line).unwrap());
        }
    }
    out
}

#[tokio::test]
async fn watches_replay_from_a_resource_version_send_bookmarks_and_expire_with_410() {
    let fake = KubeFake::start(Controls {
        bookmark_interval: Duration::from_millis(100),
        run_for: Duration::from_secs(60),
        ..Controls::default()
    })
    .await;
    post(
        &secrets(&fake),
        &json!({"metadata": {"name": "a", "labels": {"w": "1"}}}),
    )
    .await;
    let (_, list) = get_json(&format!("{}?labelSelector=w%3D1", secrets(&fake))).await;
    let rv = list["metadata"]["resourceVersion"].as_str().unwrap().to_string();
    post(
        &secrets(&fake),
        &json!({"metadata": {"name": "b", "labels": {"w": "1"}}}),
    )
    .await;
    post(
        &secrets(&fake),
        &json!({"metadata": {"name": "c", "labels": {"w": "2"}}}),
    )
    .await;
    client().delete(format!("{}/a", secrets(&fake))).send().await.unwrap();

    // From the list's resourceVersion: exactly the later changes that match, then bookmarks.
    let mut resp = client()
        .get(format!(
            "{}?watch=1&resourceVersion={rv}&labelSelector=w%3D1&allowWatchBookmarks=true",
            secrets(&fake)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let events = read_events(&mut resp, 3, Duration::from_secs(5)).await;
    let kinds: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap(),
                e["object"]["metadata"]["name"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(kinds[..2], [("ADDED", "b"), ("DELETED", "a")]);
    assert_eq!(events[2]["type"], "BOOKMARK");
    let bookmark_rv: u64 = events[2]["object"]["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(bookmark_rv >= rv.parse::<u64>().unwrap());

    // Live events arrive on an open watch; dropping streams ends them.
    post(
        &secrets(&fake),
        &json!({"metadata": {"name": "d", "labels": {"w": "1"}}}),
    )
    .await;
    let more = read_events(&mut resp, 1, Duration::from_secs(5)).await;
    let added: Vec<&Value> = more.iter().filter(|e| e["type"] == "ADDED").collect();
    assert!(added.is_empty() || added[0]["object"]["metadata"]["name"] == "d");
    fake.drop_watches();
    let rest = read_events(&mut resp, 1000, Duration::from_secs(5)).await;
    assert!(
        rest.iter().all(|e| e["type"] == "ADDED" || e["type"] == "BOOKMARK"),
        "the stream just ends"
    );

    // Unset resourceVersion: synthetic ADDED for the current state.
    let mut fresh = client()
        .get(format!(
            "{}?watch=true&labelSelector=w%3D1&timeoutSeconds=1",
            secrets(&fake)
        ))
        .send()
        .await
        .unwrap();
    let initial = read_events(&mut fresh, 100, Duration::from_secs(5)).await;
    let names: BTreeSet<&str> = initial
        .iter()
        .filter(|e| e["type"] == "ADDED")
        .map(|e| e["object"]["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, BTreeSet::from(["b", "d"]));

    // A resourceVersion older than the retained window: an ERROR event with a 410 Expired Status.
    fake.compact();
    let mut stale = client()
        .get(format!("{}?watch=1&resourceVersion={rv}", secrets(&fake)))
        .send()
        .await
        .unwrap();
    let error = read_events(&mut stale, 2, Duration::from_secs(5)).await;
    assert_eq!(error.len(), 1, "the ERROR event ends the stream: {error:?}");
    assert_eq!(error[0]["type"], "ERROR");
    assert_eq!(error[0]["object"]["code"], 410);
    assert_eq!(error[0]["object"]["reason"], "Expired");
    assert!(
        error[0]["object"]["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("too old resource version: {rv} ("))
    );
}

#[tokio::test]
async fn quota_throttling_and_rbac_faults_answer_like_the_apiserver() {
    let fake = KubeFake::start(Controls {
        job_quota: Some(1),
        run_for: Duration::from_secs(60),
        ..Controls::default()
    })
    .await;
    assert_eq!(post(&jobs(&fake), &job("bot-q1")).await.0, 201);
    let (code, quota) = post(&jobs(&fake), &job("bot-q2")).await;
    assert_eq!((code, quota["reason"].as_str()), (403, Some("Forbidden")));
    assert!(
        quota["message"].as_str().unwrap().starts_with("jobs.batch \"bot-q2\" is forbidden: exceeded quota: bots, requested: count/jobs.batch=1, used: count/jobs.batch=1, limited: count/jobs.batch=1"),
        "{quota}"
    );

    fake.control(|c| c.throttle_next = 1);
    let r = client().get(jobs(&fake)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 429);
    assert_eq!(r.headers()["retry-after"], "1");
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        (body["reason"].as_str(), body["details"]["retryAfterSeconds"].as_i64()),
        (Some("TooManyRequests"), Some(1))
    );
    assert_eq!(client().get(jobs(&fake)).send().await.unwrap().status().as_u16(), 200);

    fake.control(|c| c.allowed = Some(BTreeSet::from([("batch/jobs".to_string(), "get".to_string())])));
    let (code, denied) = get_json(&jobs(&fake)).await;
    assert_eq!(code, 403);
    assert_eq!(
        denied["message"],
        "jobs.batch is forbidden: User \"system:serviceaccount:meeboter:meeboter-server\" cannot list resource \"jobs\" in API group \"batch\" in the namespace \"meeboter-bots\""
    );
    assert_eq!(get_json(&format!("{}/bot-q1", jobs(&fake))).await.0, 200);
}

#[tokio::test]
async fn every_request_is_recorded_with_its_verb_and_resource() {
    let fake = KubeFake::start(Controls {
        run_for: Duration::from_secs(60),
        ..Controls::default()
    })
    .await;
    post(&jobs(&fake), &job("bot-r")).await;
    secret_for(&fake, "bot-r", "t").await;
    get_json(&format!("{}/bot-r", jobs(&fake))).await;
    get_json(&format!("{}?labelSelector=meeboter.bot-id", pods(&fake))).await;
    wait_for("running", || {
        pod_of(&fake, "bot-r").is_some_and(|p| p["status"]["phase"] == "Running")
    })
    .await;
    let pod = pod_of(&fake, "bot-r").unwrap()["metadata"]["name"]
        .as_str()
        .unwrap()
        .to_string();
    client().get(format!("{}/{pod}/log", pods(&fake))).send().await.unwrap();
    delete(
        &format!("{}/bot-r", jobs(&fake)),
        json!({"propagationPolicy": "Background"}),
    )
    .await;
    delete(&format!("{}/bot-r-token", secrets(&fake)), json!({})).await;
    let used = fake.verbs_used();
    let expected: BTreeSet<(String, String)> = [
        ("batch/jobs", "create"),
        ("/secrets", "create"),
        ("batch/jobs", "get"),
        ("/pods", "list"),
        ("/pods/log", "get"),
        ("batch/jobs", "delete"),
        ("/secrets", "delete"),
    ]
    .into_iter()
    .map(|(r, v)| (r.to_string(), v.to_string()))
    .collect();
    assert_eq!(used, expected);
    assert!(
        fake.requests()
            .iter()
            .any(|r| r.path == format!("/apis/batch/v1/namespaces/{NS}/jobs/bot-r"))
    );
}

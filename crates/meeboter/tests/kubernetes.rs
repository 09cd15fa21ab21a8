//! The Kubernetes manifests in `deploy/kubernetes/`: every one validates against a current
//! Kubernetes schema with the `kubernetes-validate` PyPI package (strict: unknown fields are
//! errors), the kustomization lists every manifest, the Role grants exactly the verbs the
//! kubernetes platform uses and nothing cluster-wide, and the server's configuration names only
//! real settings.
//!
//! `scripts/test` installs kubernetes-validate into `~/.cache/meeboter-peers-k8s` and sets
//! `MEEBOTER_TEST_KUBERNETES_VALIDATE`, which makes these tests fail rather than skip when the
//! validator does not run. The YAML is read with the PyYAML that kubernetes-validate depends on,
//! so the tests need no YAML crate.

use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The Kubernetes version the manifests must be valid for (kubernetes-validate's newest schema).
const KUBERNETES_VERSION: &str = "1.37.0";

fn manifests_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../deploy/kubernetes")
}

/// The validator, or `None` (after saying so) when it is not installed and not required.
fn validator() -> Option<PathBuf> {
    let runs = |p: &Path| {
        Command::new(p)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if let Ok(path) = std::env::var("MEEBOTER_TEST_KUBERNETES_VALIDATE") {
        let path = PathBuf::from(path);
        assert!(
            runs(&path),
            "MEEBOTER_TEST_KUBERNETES_VALIDATE={} but it does not run (scripts/test installs it)",
            path.display()
        );
        return Some(path);
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let cached = PathBuf::from(home).join(".cache/meeboter-peers-k8s/bin/kubernetes-validate");
    if runs(&cached) {
        return Some(cached);
    }
    eprintln!(
        "SKIPPING the Kubernetes manifest checks: kubernetes-validate is not installed (scripts/test installs it)"
    );
    None
}

/// The Python beside the validator (its venv), which has PyYAML.
fn python(validator: &Path) -> PathBuf {
    let beside = validator.with_file_name("python");
    if beside.exists() {
        beside
    } else {
        PathBuf::from("python3")
    }
}

/// Every `*.yaml` in the directory but the kustomization, sorted.
fn manifest_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(manifests_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml") && !p.ends_with("kustomization.yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifests in {}", manifests_dir().display());
    files
}

/// All documents of a YAML file as JSON values.
fn load(validator: &Path, file: &Path) -> Vec<Value> {
    let out = Command::new(python(validator))
        .args([
            "-c",
            "import json, sys, yaml\nprint(json.dumps([d for d in yaml.safe_load_all(open(sys.argv[1])) if d is not None]))",
        ])
        .arg(file)
        .output()
        .expect("python");
    assert!(
        out.status.success(),
        "{} does not parse: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn all_documents(validator: &Path) -> Vec<Value> {
    manifest_files().iter().flat_map(|f| load(validator, f)).collect()
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/kubernetes"))
}

#[test]
fn every_manifest_validates_strictly_against_a_current_kubernetes_schema() {
    let Some(validator) = validator() else { return };
    for file in manifest_files() {
        let out = Command::new(&validator)
            .args(["--strict", "--kubernetes-version", KUBERNETES_VERSION])
            .arg(&file)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "{} is not valid Kubernetes:\n{text}",
            file.display()
        );
        // A kind without a schema is only a warning for the validator; here it is an error.
        assert!(!text.contains("WARN"), "{}: {text}", file.display());
        assert!(
            text.contains("passed"),
            "{}: nothing was validated: {text}",
            file.display()
        );
    }
}

#[test]
fn the_kustomization_lists_every_manifest() {
    let Some(validator) = validator() else { return };
    let kustomization = load(&validator, &manifests_dir().join("kustomization.yaml"));
    let listed: BTreeSet<String> = kustomization[0]["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect();
    let present: BTreeSet<String> = manifest_files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(listed, present);
}

#[test]
fn the_role_grants_exactly_the_platform_verbs_in_the_bot_namespace_and_nothing_cluster_wide() {
    let Some(validator) = validator() else { return };
    let docs = all_documents(&validator);
    for d in &docs {
        let kind = d["kind"].as_str().unwrap();
        assert!(
            !kind.starts_with("Cluster"),
            "nothing cluster-wide: found {kind} {}",
            d["metadata"]["name"]
        );
    }
    let role = find(&docs, "Role", "meeboter-bot-manager");
    assert_eq!(role["metadata"]["namespace"], "meeboter-bots");
    let mut granted = BTreeSet::new();
    for rule in role["rules"].as_array().unwrap() {
        assert!(rule.get("resourceNames").is_none() && rule.get("nonResourceURLs").is_none());
        for group in rule["apiGroups"].as_array().unwrap() {
            for resource in rule["resources"].as_array().unwrap() {
                for verb in rule["verbs"].as_array().unwrap() {
                    let (g, r, v) = (
                        group.as_str().unwrap(),
                        resource.as_str().unwrap(),
                        verb.as_str().unwrap(),
                    );
                    assert!(g != "*" && r != "*" && v != "*", "no wildcards: {g}/{r}/{v}");
                    assert!(granted.insert(format!("{g}/{r}/{v}")), "granted twice: {g}/{r}/{v}");
                }
            }
        }
    }
    let expected: BTreeSet<String> = [
        "batch/jobs/create",
        "batch/jobs/get",
        "batch/jobs/list",
        "batch/jobs/watch",
        "batch/jobs/delete",
        "/pods/list",
        "/pods/watch",
        "/pods/log/get",
        "/secrets/create",
        "/secrets/get",
        "/secrets/list",
        "/secrets/delete",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(granted, expected);

    // The binding gives the Role to the account the server runs as, and to nothing else.
    let binding = find(&docs, "RoleBinding", "meeboter-bot-manager");
    assert_eq!(binding["metadata"]["namespace"], "meeboter-bots");
    assert_eq!(binding["roleRef"]["kind"], "Role");
    assert_eq!(binding["roleRef"]["name"], "meeboter-bot-manager");
    let subjects = binding["subjects"].as_array().unwrap();
    assert_eq!(subjects.len(), 1);
    let server = find(&docs, "Deployment", "meeboter");
    let pod = &server["spec"]["template"]["spec"];
    assert_eq!(subjects[0]["kind"], "ServiceAccount");
    assert_eq!(subjects[0]["name"], pod["serviceAccountName"]);
    assert_eq!(subjects[0]["namespace"], server["metadata"]["namespace"]);
    // Bots' own account holds no API token.
    let bot_account = find(&docs, "ServiceAccount", "meeboter-bot");
    assert_eq!(bot_account["metadata"]["namespace"], "meeboter-bots");
    assert_eq!(bot_account["automountServiceAccountToken"], false);
}

#[test]
fn the_server_runs_replicated_on_postgres_with_health_probes_and_real_settings() {
    let Some(validator) = validator() else { return };
    let docs = all_documents(&validator);
    let server = find(&docs, "Deployment", "meeboter");
    assert!(server["spec"]["replicas"].as_u64().unwrap() >= 2);
    let pod = &server["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    let container = &pod["containers"][0];
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");

    // Configuration comes from the ConfigMap and the Secret, and names only real settings.
    let config = find(&docs, "ConfigMap", "meeboter-config");
    let secret = find(&docs, "Secret", "meeboter-secrets");
    let refs: Vec<&str> = container["envFrom"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["configMapRef"]["name"]
                .as_str()
                .or(e["secretRef"]["name"].as_str())
                .unwrap()
        })
        .collect();
    assert_eq!(refs, ["meeboter-config", "meeboter-secrets"]);
    let known = |k: &str| meeboter_server::config::KEYS.iter().any(|s| s.name == k);
    for (k, _) in config["data"].as_object().unwrap() {
        assert!(known(k), "ConfigMap sets {k}, which is not a setting");
        let spec = meeboter_server::config::KEYS.iter().find(|s| s.name == k).unwrap();
        assert!(!spec.secret, "{k} is a secret: it belongs in the Secret");
    }
    let secrets = secret["stringData"].as_object().unwrap();
    for (k, _) in secrets {
        assert!(known(k), "the Secret sets {k}, which is not a setting");
    }
    assert!(secrets["DATABASE_URL"].as_str().unwrap().starts_with("postgres://"));
    assert!(
        secrets.contains_key("MEEBOTER_ENCRYPTION_KEY"),
        "required on PostgreSQL"
    );
    assert_eq!(config["data"]["MEEBOTER_LISTEN"], "0.0.0.0:3000");
    // S3: replicas share no filesystem.
    assert!(config["data"].get("S3_BUCKET_NAME").is_some());

    let budget = find(&docs, "PodDisruptionBudget", "meeboter");
    assert_eq!(
        budget["spec"]["selector"]["matchLabels"],
        server["spec"]["selector"]["matchLabels"]
    );
    let service = find(&docs, "Service", "meeboter");
    assert_eq!(service["spec"]["selector"], server["spec"]["selector"]["matchLabels"]);
}

/// The Role's rules as `(group/resource, verb)` pairs, the form `KubeFake::verbs_used` reports,
/// read with a YAML parser in Rust so this check runs even without the Python validator.
fn role_verbs() -> BTreeSet<(String, String)> {
    let text = std::fs::read_to_string(manifests_dir().join("rbac.yaml")).unwrap();
    let docs: Vec<Value> = serde_saphyr::from_str_multiple(&text).unwrap();
    let role = docs
        .iter()
        .find(|d| d["kind"] == "Role")
        .expect("rbac.yaml has the Role");
    let mut out = BTreeSet::new();
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

/// Every path of the kubernetes platform against the API fake with the Role as its only
/// rights: every request is allowed (a 403 would fail a step), and every verb the Role grants
/// is used — the Role is exactly what the platform needs. (The server's kubernetes tests run
/// their fakes with the same rights, so the whole suite stays inside the Role.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_uses_exactly_the_verbs_the_role_grants() {
    use meeboter_platforms::kubernetes::{KubernetesPlatform, KubernetesSettings, job_name};
    use meeboter_platforms::{BotLaunch, InstanceState, Platform};
    use std::time::Duration;
    let role = role_verbs();
    let fake = kube_fake::KubeFake::start(kube_fake::Controls {
        allowed: Some(role.clone()),
        scenarios: [(job_name("oom-bot", 1), kube_fake::Scenario::OomKilled)]
            .into_iter()
            .collect(),
        run_for: Duration::from_secs(30),
        ..Default::default()
    })
    .await;
    let settings = KubernetesSettings {
        namespace: "meeboter-bots".into(),
        api_url: Some(fake.url.clone()),
        context: None,
        images: Default::default(),
        default_image: "registry.example/meeboter-bot:test".into(),
        cpu_request: "500m".into(),
        cpu_limit: "1".into(),
        memory_request: "768Mi".into(),
        memory_limit: "1536Mi".into(),
        shm_size: "512Mi".into(),
        job_ttl_secs: 100_000,
        image_pull_grace: Duration::from_secs(60),
        pod_template: None,
        request_timeout: Duration::from_secs(5),
    };
    let (sink, mut logs) = tokio::sync::mpsc::unbounded_channel();
    let platform = KubernetesPlatform::connect(settings, "rbac-test", Some(sink))
        .await
        .unwrap();
    let launch = |bot: &str| BotLaunch {
        bot_id: bot.into(),
        attempt: 1,
        env: [
            ("BOT_ID", bot),
            ("MEETING_PLATFORM", "zoom"),
            ("MILO_AUTH_TOKEN", "token"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
        max_duration_secs: 3600,
    };
    let ok = platform.deploy(&launch("ok-bot")).await.unwrap();
    // A retried deploy meets its own Job and Secret (get both) and adopts them.
    assert_eq!(platform.deploy(&launch("ok-bot")).await.unwrap(), ok);
    let oom = platform.deploy(&launch("oom-bot")).await.unwrap();
    assert_eq!(
        platform.find("ok-bot", 1).await.unwrap().map(|l| l.identifier),
        Some(ok.identifier.clone())
    );
    platform.set_watching(true).await;
    let ids = [ok.identifier.clone(), oom.identifier.clone()];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let states = platform.observe_many(&ids).await.unwrap();
        if matches!(states.get(&oom.identifier), Some(InstanceState::Stopped { reason }) if reason.contains("OOMKilled"))
        {
            assert_eq!(states.get(&ok.identifier), Some(&InstanceState::Running));
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{states:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The failed pod's log was read for the bot's log events (the fake's container printed
    // nothing without a hook: the request is what counts here).
    while logs.try_recv().is_ok() {}
    let instances = platform.instances().await.unwrap().unwrap();
    assert_eq!(instances.len(), 2);
    for id in &ids {
        platform.stop(id).await.unwrap();
    }
    platform.set_watching(false).await;
    let used = fake.verbs_used();
    let outside: Vec<_> = used.difference(&role).collect();
    assert!(outside.is_empty(), "requests the Role does not grant: {outside:?}");
    let unused: Vec<_> = role.difference(&used).collect();
    assert!(
        unused.is_empty(),
        "the Role grants verbs the platform never uses: {unused:?}"
    );
}

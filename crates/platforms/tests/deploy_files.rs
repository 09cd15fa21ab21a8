//! The shipped AWS artifacts (`deploy/aws/`) parse and carry what the ECS platform needs.

use serde_json::Value;

fn load(name: &str) -> Value {
    let path = format!("{}/../../deploy/aws/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not valid JSON: {e}"))
}

#[test]
fn the_task_definition_is_a_fargate_awsvpc_definition_with_logs() {
    let td = load("task-definition.json");
    assert_eq!(td["family"], "meeboter-bot");
    assert_eq!(
        td["networkMode"], "awsvpc",
        "ECS_SUBNETS are passed as awsvpc configuration"
    );
    assert_eq!(td["requiresCompatibilities"][0], "FARGATE");
    assert_eq!(
        (td["cpu"].as_str(), td["memory"].as_str()),
        (Some("1024"), Some("2048"))
    );
    assert!(td["executionRoleArn"].as_str().unwrap().contains(":role/"));
    let containers = td["containerDefinitions"].as_array().unwrap();
    assert_eq!(containers.len(), 1, "the override targets the first container");
    let c = &containers[0];
    for field in ["name", "image"] {
        assert!(c[field].as_str().is_some_and(|v| !v.is_empty()), "container {field}");
    }
    assert_eq!(c["essential"], true);
    assert_eq!(c["logConfiguration"]["logDriver"], "awslogs");
    for option in ["awslogs-group", "awslogs-region", "awslogs-stream-prefix"] {
        assert!(c["logConfiguration"]["options"][option].is_string(), "{option}");
    }
    // Fargate allows a stop timeout of at most 120 s; the bot needs time to leave the call.
    let stop = c["stopTimeout"].as_i64().unwrap();
    assert!((10..=120).contains(&stop));
    // No bot environment is baked in: the platform passes it per task.
    assert!(c.get("environment").is_none());
}

#[test]
fn the_iam_policy_allows_every_call_the_platform_makes() {
    let policy = load("iam-policy.json");
    let actions: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(list) => list.iter().filter_map(|a| a.as_str().map(str::to_string)).collect(),
            _ => vec![],
        })
        .collect();
    for needed in [
        "ecs:RunTask",
        "ecs:StopTask",
        "ecs:DescribeTasks",
        "ecs:ListTasks",
        "ecs:DescribeTaskDefinition",
        "ecs:TagResource",
        "iam:PassRole",
    ] {
        assert!(actions.iter().any(|a| a == needed), "{needed} missing from the policy");
    }
}

//! `meeboter verify`: proves a deployment end to end. Against a running server, creates a
//! bot for the server's own test meeting, prints each lifecycle step as it happens with
//! its timing, tells the bot to leave once it is in the call, and exits 0 only if every
//! step happened (DEPLOYING → JOINING_CALL → IN_CALL → ENDED).

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct VerifyArgs {
    /// The server's public URL (what bots call back), e.g. https://bots.example.com.
    #[arg(long, env = "MEEBOTER_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// An API key (`mbk_…`).
    #[arg(long, env = "MEEBOTER_API_KEY")]
    pub key: String,
    /// How long to wait for the bot to reach the call (deployments can take minutes on
    /// a cold Coolify slot or Fargate task).
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
}

const STEPS: [&str; 4] = ["DEPLOYING", "JOINING_CALL", "IN_CALL", "ENDED"];

fn say(line: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{line}");
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let base = args.url.trim_end_matches('/').to_string();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()
        .context("HTTP client")?;
    let code = format!("vfy-{}-{}", letters(4), letters(3));
    let meeting = format!("{base}/_test/meeting/meet/{code}");
    let started = Instant::now();
    let res = http
        .post(format!("{base}/api/bots"))
        .bearer_auth(&args.key)
        .json(
            &json!({"meetingUrl": meeting, "botName": "Meeboter verify", "recordingMode": "none",
                      "metadata": {"verify": true}}),
        )
        .send()
        .await
        .with_context(|| format!("cannot reach {base}"))?;
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!(
            "the server refused the test bot ({status}): {}",
            body["error"]["message"].as_str().unwrap_or("no message")
        );
    }
    let id = body["id"].as_str().context("no bot id in the answer")?.to_string();
    say(&format!("created test bot {id} for {meeting}"));
    let mut seen: Vec<String> = Vec::new();
    let mut left_requested = false;
    let deadline = started + Duration::from_secs(args.timeout_secs);
    loop {
        let bot: Value = http
            .get(format!("{base}/api/bots/{id}"))
            .bearer_auth(&args.key)
            .send()
            .await?
            .json()
            .await?;
        for change in bot["statusChanges"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let status = change["status"].as_str().unwrap_or("").to_string();
            if seen.contains(&status) {
                continue;
            }
            let sub = change["subCode"]
                .as_str()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default();
            let message = change["message"].as_str().map(|m| format!(": {m}")).unwrap_or_default();
            say(&format!(
                "{:>7.1} s  {status}{sub}{message}",
                started.elapsed().as_secs_f64()
            ));
            seen.push(status);
        }
        let current = bot["status"].as_str().unwrap_or("");
        if current == "IN_CALL" && !left_requested {
            left_requested = true;
            say("in the call; asking the bot to leave");
            http.post(format!("{base}/api/bots/{id}/leave"))
                .bearer_auth(&args.key)
                .send()
                .await?;
        }
        if current == "FATAL" {
            bail!("the test bot failed; see the step above and `GET /api/bots/{id}/events`");
        }
        if current == "ENDED" {
            let missing: Vec<&str> = STEPS.iter().copied().filter(|s| !seen.iter().any(|x| x == s)).collect();
            if !missing.is_empty() {
                bail!("the bot ended without {}", missing.join(", "));
            }
            say(&format!(
                "verified in {:.1} s: this deployment starts bots that join meetings and leave",
                started.elapsed().as_secs_f64()
            ));
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the test bot did not finish within {} s (last status {current})",
                args.timeout_secs
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn letters(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n).map(|_| rng.random_range(b'a'..=b'z') as char).collect()
}

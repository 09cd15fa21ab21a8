//! `meeboter verify`: proves a deployment end to end. Against a running server, creates a
//! bot for the server's own test meeting, prints each lifecycle step as it happens with
//! its timing, tells the bot to leave once it is in the call, and exits 0 only if every
//! step happened (DEPLOYING → JOINING_CALL → IN_CALL → ENDED). While it waits it shows the
//! elapsed time and the current step; a verified bot is deleted afterwards (`--keep` keeps
//! it), a failed one is kept for inspection.

use anyhow::{Context, bail};
use clap::Args;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[derive(Args, Clone)]
pub struct VerifyArgs {
    /// The server's public URL (what bots call back), e.g. https://bots.example.com
    /// (`http://` is assumed when no scheme is given: `localhost:3000`).
    #[arg(long, env = "MEEBOTER_URL", default_value = "http://127.0.0.1:3000")]
    pub url: String,
    /// An API key (`mbk_…`).
    #[arg(long, env = "MEEBOTER_API_KEY")]
    pub key: String,
    /// How long to wait for the bot to reach the call (deployments can take minutes on
    /// a cold Coolify slot or Fargate task).
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Keep the test bot (and its events and logs) after a successful run; by default it is
    /// deleted. A failed test bot is always kept, so its logs can be read.
    #[arg(long)]
    pub keep: bool,
}

const STEPS: [&str; 4] = ["DEPLOYING", "JOINING_CALL", "IN_CALL", "ENDED"];

/// Polling interval: short, so the run's time is the bot's, not ours.
const POLL: Duration = Duration::from_millis(200);
/// Without a terminal, a "still waiting" line this often.
const QUIET_PROGRESS: Duration = Duration::from_secs(10);

fn say(line: &str) {
    PROGRESS.with(|p| p.borrow_mut().clear());
    outln!("{line}");
}

/// The "waiting" line: rewritten in place on a terminal, an occasional line otherwise.
#[derive(Default)]
struct Progress {
    shown: bool,
    last_quiet: Option<Instant>,
}

thread_local! {
    static PROGRESS: std::cell::RefCell<Progress> = std::cell::RefCell::new(Progress::default());
}

impl Progress {
    fn clear(&mut self) {
        if self.shown {
            out!("\r\x1b[2K");
            self.shown = false;
        }
    }

    fn waiting(&mut self, elapsed: Duration, step: &str) {
        use std::io::IsTerminal;
        if std::io::stdout().is_terminal() {
            out!("\r\x1b[2K{:>7.1} s  waiting ({step})…", elapsed.as_secs_f64());
            self.shown = true;
        } else if self.last_quiet.is_none_or(|at| at.elapsed() >= QUIET_PROGRESS) {
            if self.last_quiet.is_some() {
                outln!("{:>7.1} s  still waiting ({step})", elapsed.as_secs_f64());
            }
            self.last_quiet = Some(Instant::now());
        }
    }
}

/// `localhost:3000` → `http://localhost:3000`; no trailing slash.
pub fn server_base(raw: &str) -> anyhow::Result<String> {
    let raw = raw.trim();
    let with_scheme = if raw.contains("://") {
        raw.to_string()
    } else {
        format!("http://{raw}")
    };
    let url = reqwest::Url::parse(&with_scheme).with_context(|| format!("--url `{raw}` is not a URL"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        bail!("--url `{raw}` must be an http(s) address such as http://localhost:3000");
    }
    Ok(with_scheme.trim_end_matches('/').to_string())
}

/// What to tell the user when the server refuses the test bot.
fn refusal(status: reqwest::StatusCode, body: &Value, base: &str) -> String {
    let message = body["error"]["message"].as_str().unwrap_or("no message");
    let about_url = body["error"]["details"]["fields"]
        .as_array()
        .is_some_and(|d| d.iter().any(|f| f["field"].as_str() == Some("meetingUrl")));
    let hint = match status.as_u16() {
        401 | 403 => " — check --key (MEEBOTER_API_KEY): it must be an active key of this server".to_string(),
        422 if about_url => format!(
            " — the server did not accept its own test meeting: start it with TEST_MEETINGS=true, and pass \
             --url exactly as its PUBLIC_URL (test meetings are accepted only on the server's own origin; \
             this run used {base})"
        ),
        _ => String::new(),
    };
    format!("the server refused the test bot ({status}): {message}{hint}")
}

pub async fn run(args: VerifyArgs) -> anyhow::Result<()> {
    let base = server_base(&args.url)?;
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
        bail!("{}", refusal(status, &body, &base));
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
            bail!(
                "the test bot failed; see the step above, and its logs (kept): `GET /api/bots/{id}/logs`, \
                 `GET /api/bots/{id}/events`"
            );
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
            if args.keep {
                say(&format!("kept the test bot {id} (--keep)"));
            } else {
                let res = http
                    .delete(format!("{base}/api/bots/{id}"))
                    .bearer_auth(&args.key)
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => say(&format!("deleted the test bot {id}")),
                    Ok(r) => say(&format!("could not delete the test bot {id} ({})", r.status())),
                    Err(e) => say(&format!("could not delete the test bot {id}: {e}")),
                }
            }
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the test bot did not finish within {} s (last status {current})",
                args.timeout_secs
            );
        }
        PROGRESS.with(|p| p.borrow_mut().waiting(started.elapsed(), current));
        tokio::time::sleep(POLL).await;
    }
}

fn letters(n: usize) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..n).map(|_| rng.random_range(b'a'..=b'z') as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_without_a_scheme_is_http() {
        assert_eq!(server_base("localhost:3000").unwrap(), "http://localhost:3000");
        assert_eq!(
            server_base("https://bots.example.com/").unwrap(),
            "https://bots.example.com"
        );
        assert!(server_base("ftp://x").is_err());
        assert!(server_base("http://").is_err());
    }

    #[test]
    fn a_refused_test_meeting_names_test_meetings() {
        let body = serde_json::json!({"error": {"code": "validation_failed", "message": "invalid",
            "details": {"fields": [{"field": "meetingUrl", "message": "not a meeting link"}]}}});
        let text = refusal(reqwest::StatusCode::UNPROCESSABLE_ENTITY, &body, "http://x");
        assert!(
            text.contains("TEST_MEETINGS=true") && text.contains("PUBLIC_URL"),
            "{text}"
        );
        let text = refusal(reqwest::StatusCode::UNAUTHORIZED, &body, "http://x");
        assert!(text.contains("--key"), "{text}");
    }
}

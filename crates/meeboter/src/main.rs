//! The `meeboter` binary: one executable for every role.

#[macro_use]
mod output;
mod bench;
mod keys;
mod verify;

use anyhow::Context;
use clap::{Parser, Subcommand};
use meeboter_server::config::{Config, ConfigSources};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "meeboter",
    version,
    about = "Self-hosted meeting bots for Google Meet, Microsoft Teams and Zoom"
)]
struct Cli {
    /// TOML file with configuration keys (environment variables and flags override it).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<String>,
    /// Overrides DATABASE_URL.
    #[arg(long, global = true, value_name = "URL")]
    database_url: Option<String>,
    /// Overrides MEEBOTER_LISTEN.
    #[arg(long, global = true, value_name = "ADDR")]
    listen: Option<String>,
    /// Overrides PUBLIC_URL.
    #[arg(long, global = true, value_name = "URL")]
    public_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API server (migrates the database first).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Inspect configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Manage API keys offline, straight in the database.
    Keys {
        #[command(subcommand)]
        command: keys::KeysCommand,
    },
    /// Print the public API's OpenAPI document (served at /api/openapi.json).
    Openapi {
        /// Print the bot channel's document instead (served at /api/bot/openapi.json).
        #[arg(long)]
        bot_channel: bool,
    },
    /// Measure API throughput and latency (see BENCHMARKS.md).
    Bench(bench::BenchArgs),
    /// Run one bot (what a platform starts): reads BOT_ID, MEETING_URL, MEETING_PLATFORM,
    /// BOT_NAME, API_CALLBACK_URL, MILO_AUTH_TOKEN, RECORDING_MODE from the environment.
    /// Exit 0 ended, 1 failed (reported), 2 invalid environment, 3 control channel refused.
    Bot,
    /// Prove a deployment end to end: a test bot joins the server's own test meeting,
    /// every lifecycle step is printed with its timing, exit 0 only if all happened.
    Verify(verify::VerifyArgs),
    /// Ask this configuration's server for `/readyz` (the images' HEALTHCHECK; needs no
    /// curl). Exit 0 when ready, 1 otherwise with the reason.
    Healthcheck,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Print the resolved configuration (secrets masked) and every problem; exit 1 on problems.
    Check,
}

fn config_sources(cli: &Cli) -> Result<ConfigSources, Vec<String>> {
    let mut flags = BTreeMap::new();
    if let Some(v) = &cli.database_url {
        flags.insert("DATABASE_URL", v.clone());
    }
    if let Some(v) = &cli.listen {
        flags.insert("MEEBOTER_LISTEN", v.clone());
    }
    if let Some(v) = &cli.public_url {
        flags.insert("PUBLIC_URL", v.clone());
    }
    ConfigSources::from_process(cli.config.as_deref(), flags)
}

fn print_problems(problems: &[String]) {
    errln!("configuration has {} problem(s):", problems.len());
    for p in problems {
        errln!("  - {p}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::Openapi { bot_channel } = cli.command {
        let doc = if bot_channel {
            meeboter_server::bot_openapi()
        } else {
            meeboter_server::openapi()
        };
        outln!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
        return ExitCode::SUCCESS;
    }
    if let Command::Bot = cli.command {
        // A bot has no server configuration: only the deployment guide's environment.
        init_bot_logging();
        let code = match tokio::runtime::Runtime::new() {
            Ok(rt) => rt.block_on(meeboter_bot::runtime::run_from_env()),
            Err(_) => 1,
        };
        return ExitCode::from(code as u8);
    }
    if let Command::Verify(args) = &cli.command {
        return run_async(verify::run(args.clone()));
    }
    if let Command::Bench(args) = &cli.command {
        return run_async(bench::run(args.clone()));
    }
    let sources = match config_sources(&cli) {
        Ok(s) => s,
        Err(problems) => {
            print_problems(&problems);
            return ExitCode::from(1);
        }
    };
    let config = match Config::check(&sources) {
        Ok(c) => c,
        Err((listing, problems)) => {
            if let Command::Config { .. } = cli.command {
                out!("{listing}");
            }
            print_problems(&problems);
            if let Command::Config { .. } = cli.command {
                errln!("(this machine's tools and storage are checked once the settings are valid)");
            }
            return ExitCode::from(1);
        }
    };
    match cli.command {
        Command::Config {
            command: ConfigCommand::Check,
        } => {
            out!("{}", config.describe());
            // What bots need on this machine, and whether storage takes a write.
            let machine = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt.block_on(meeboter_server::preflight::offline_check(&config)),
                Err(e) => {
                    errln!("error: cannot start the async runtime: {e}");
                    return ExitCode::from(1);
                }
            };
            if machine.is_empty() {
                outln!("configuration OK");
                ExitCode::SUCCESS
            } else {
                let problems: Vec<String> = machine.into_iter().map(|p| p.message).collect();
                print_problems(&problems);
                ExitCode::from(1)
            }
        }
        Command::Serve => {
            // Held until `serve` returns: dropping it flushes the last traces.
            let _telemetry =
                meeboter_server::telemetry::init(config.log_format, &config.log_level, config.otlp.as_ref());
            run_async(serve(config))
        }
        Command::Migrate => run_async(migrate(config)),
        Command::Keys { command } => run_async(keys::run(config, command)),
        Command::Healthcheck => run_async(healthcheck(config.listen)),
        Command::Openapi { .. } | Command::Bench(_) | Command::Bot | Command::Verify(_) => ExitCode::SUCCESS,
    }
}

fn run_async(fut: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(fut) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            errln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = meeboter_db::Db::connect(&config.database_url, &Default::default())
        .await
        .with_context(|| format!("connecting to {}", meeboter_db::redact_url(&config.database_url)))?;
    db.migrate().await?;
    outln!(
        "migrations applied to {}",
        meeboter_db::redact_url(&config.database_url)
    );
    Ok(())
}

/// `GET /readyz` on the address the server listens on (a wildcard address is asked on
/// loopback), with a short timeout so a hung server counts as unhealthy.
async fn healthcheck(listen: std::net::SocketAddr) -> anyhow::Result<()> {
    use std::net::{Ipv4Addr, Ipv6Addr};
    let mut addr = listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr {
            std::net::SocketAddr::V4(_) => Ipv4Addr::LOCALHOST.into(),
            std::net::SocketAddr::V6(_) => Ipv6Addr::LOCALHOST.into(),
        });
    }
    let url = format!("http://{addr}/readyz");
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(3))
        .build()?;
    let res = client.get(&url).send().await.with_context(|| format!("GET {url}"))?;
    let status = res.status();
    let body = res.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "GET {url}: {status} {}", body.trim());
    outln!("{url}: {status} {}", body.trim());
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let listen = config.listen;
    // The port first: a start that cannot serve must not create the database, the account
    // and an admin key that is printed and then lost with the failed start.
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| {
        format!(
            "cannot listen on {listen} (MEEBOTER_LISTEN): nothing was created or changed; stop what uses \
             the address or choose another one"
        )
    })?;
    let local_addr = listener.local_addr()?;
    let redacted = meeboter_db::redact_url(&config.database_url);
    let state = meeboter_server::prepare(config)
        .await
        .with_context(|| format!("preparing database {redacted}"))?;
    match meeboter_server::bootstrap::first_admin_key(&state.db).await? {
        Some(key) => {
            if print_first_admin_key(&key.secret, local_addr).is_ok() {
                meeboter_server::bootstrap::first_admin_key_shown(&state.db).await?;
            } else {
                tracing::warn!(
                    "could not print the first admin key (stderr is closed); create one with \
                     `meeboter keys create --role admin` and this server's configuration"
                );
            }
        }
        None => {
            if meeboter_server::bootstrap::needs_admin_key_hint(&state.db).await? {
                tracing::warn!(
                    "no usable admin API key has been shown: create one with `meeboter keys create --role admin` \
                     (same DATABASE_URL as this server); it prints the key once"
                );
            }
        }
    }
    tracing::info!(platforms = %state.config.platforms.explanation, "deployment platforms selected");
    for warning in &state.config.platforms.warnings {
        tracing::warn!("{warning}");
    }
    warn_about_unmanaged_bots(&state).await?;
    // What bots need on this machine and a storage write: logged now, kept for /readyz and
    // the infrastructure page, checked again every minute.
    state.preflight.refresh(&state.config, &state.storage).await;
    let preflight = state
        .preflight
        .spawn_refresher(state.config.clone(), state.storage.clone());
    print_ready_summary(&state, local_addr);
    tracing::info!(
        listen = %local_addr,
        database = state.db.backend().as_str(),
        public_url = %state.config.public_url,
        "meeboter serving; API docs at /docs"
    );
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers = meeboter_server::workers::spawn(state.clone(), workers_stopped);
    meeboter_server::serve(state, listener, shutdown_signal()).await?;
    let _ = stop_workers.send(true);
    preflight.abort();
    for worker in workers {
        let _ = worker.await;
    }
    tracing::info!("shut down cleanly");
    Ok(())
}

/// The first admin key, on stderr (not the log: it must not end up in log storage by
/// default). Fails when stderr cannot be written, so the key is not counted as shown.
fn print_first_admin_key(secret: &str, listen: std::net::SocketAddr) -> std::io::Result<()> {
    use output::try_err_line as line;
    line(format_args!(""))?;
    line(format_args!(
        "================================================================"
    ))?;
    line(format_args!(
        " First start: created account `default` and an admin API key."
    ))?;
    line(format_args!(" It is shown only this once. Store it now:"))?;
    line(format_args!(""))?;
    line(format_args!("     {secret}"))?;
    line(format_args!(""))?;
    line(format_args!(
        " Try: curl -H 'Authorization: Bearer <key>' http://{listen}/api/bots"
    ))?;
    line(format_args!(
        "================================================================"
    ))?;
    line(format_args!(""))
}

/// What a person starting `serve` wants to know, in words, on stderr beside the logs:
/// where the dashboard is, where bots run, and how to try it. Plain text (no colour
/// codes), so it reads the same in a terminal, a pipe or a log file.
fn print_ready_summary(state: &meeboter_server::AppState, listen: std::net::SocketAddr) {
    let config = &state.config;
    let base = config.public_url.trim_end_matches('/');
    let plan = &config.platforms.order;
    let mut bots = plan.first().map_or("no platform", |p| p.in_words()).to_string();
    if plan.len() > 1 {
        let rest: Vec<&str> = plan[1..].iter().map(|p| p.as_str()).collect();
        bots.push_str(&format!("; overflow to {}", rest.join(", ")));
    }
    let database = match state.db.backend() {
        meeboter_db::Backend::Sqlite => format!("SQLite ({})", meeboter_db::redact_url(&config.database_url)),
        meeboter_db::Backend::Postgres => format!("PostgreSQL ({})", meeboter_db::redact_url(&config.database_url)),
    };
    errln!();
    errln!("Meeboter is ready (listening on {listen}).");
    errln!("  Dashboard     {base}/");
    errln!("  API reference {base}/docs");
    errln!("  Bots          {bots}");
    errln!("  Database      {database}");
    if config.test_meetings {
        errln!("  Test meeting  {base}/_test/meeting/meet/try-it (any id; also /teams/ and /zoom/)");
    }
    errln!();
}

/// After a platform change, bots still running on a platform that is no longer configured
/// cannot be watched or stopped: say so, with their ids.
async fn warn_about_unmanaged_bots(state: &meeboter_server::AppState) -> anyhow::Result<()> {
    let mut conn = state.db.pool().acquire().await?;
    for (platform, count) in meeboter_db::bots::live_platforms(&mut conn).await? {
        if state.deployer.get(&platform).is_some() {
            continue;
        }
        let ids: Vec<String> = meeboter_db::bots::live_on_platform(&mut conn, &platform)
            .await?
            .into_iter()
            .map(|(id, ..)| id)
            .collect();
        tracing::warn!(
            platform = %platform,
            count,
            bots = %ids.join(","),
            "bots are still running on a platform that is no longer configured; they cannot be monitored or stopped \
             until its settings are restored (or end them with POST /api/bots/{{id}}/leave)"
        );
    }
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Bot logs: one JSON line per event on stderr, which the platform collects (local
/// platform: bot log events; Coolify/ECS: container logs), and the bot's own lines also as
/// `log` events through the control channel. Write errors (a closed pipe
/// when the server that started the bot died) are ignored, never fatal.
fn init_bot_logging() {
    // chromiumoxide warns about every CDP message its generated types do not know (newer
    // Chromium events) — noise, not a problem of the bot — and reports the connection reset
    // of every normal exit as an ERROR; `meeboter_bot::browser` reports real connection errors.
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
        .add_directive("chromiumoxide::handler=off".parse().expect("a valid directive"));
    use tracing_subscriber::prelude::*;
    // Also streamed to the control channel once the bot knows it (`meeboter_bot::logs`).
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .json()
                .with_writer(std::io::stderr)
                // Its report of a failed write is an `eprintln!`, which panics on a closed stderr.
                .log_internal_errors(false),
        )
        .with(meeboter_bot::logs::ForwardLayer)
        .try_init();
}

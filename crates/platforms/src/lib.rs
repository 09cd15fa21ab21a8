//! Where bots run.
//!
//! A [`Platform`] starts a bot with exactly the deployment guide's environment, stops it
//! (idempotently), and reports what became of it. The control plane never needs more:
//! capacity, queueing and retries live in the server's deployment layer, over the
//! database, so every platform gets them for free.
//!
//! **Architecture invariant:** platforms know nothing of HTTP handlers or SQL; they are
//! driven by the server's deployment layer and report through return values and the
//! [`LogSink`].

pub mod coolify;
pub mod docker;
pub mod ecs;
pub mod kubernetes;
pub mod local;
pub mod prerequisites;

use async_trait::async_trait;
use std::collections::BTreeMap;

/// Everything a platform needs to start one bot.
#[derive(Debug, Clone)]
pub struct BotLaunch {
    pub bot_id: String,
    /// Which deployment attempt this is (1, 2, …); platforms use it to make a retried
    /// launch of the same attempt idempotent.
    pub attempt: u32,
    /// `BOT_ID`, `MEETING_URL`, `MEETING_PLATFORM`, `BOT_NAME`, `API_CALLBACK_URL`,
    /// `MILO_AUTH_TOKEN`, `RECORDING_MODE`.
    pub env: BTreeMap<String, String>,
    /// The bot's longest allowed run (`automaticLeave.maxDurationSecs`): platforms with a
    /// run deadline (Kubernetes' `activeDeadlineSeconds`) derive it from this.
    pub max_duration_secs: u32,
}

impl BotLaunch {
    /// The environment variables every platform passes to a bot, in the guide's names.
    pub const ENV_NAMES: [&'static str; 7] = [
        "BOT_ID",
        "MEETING_URL",
        "MEETING_PLATFORM",
        "BOT_NAME",
        "API_CALLBACK_URL",
        "MILO_AUTH_TOKEN",
        "RECORDING_MODE",
    ];
}

/// A started bot: the durable identifier stored on the bot (PID, slot, task ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Launched {
    pub identifier: String,
}

/// A running instance and the bot attempt it was started for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub identifier: String,
    pub bot_id: String,
    pub attempt: u32,
}

/// What a platform knows about a bot it started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InstanceState {
    Running,
    /// It stopped; `reason` says how (exit code, signal, platform message).
    Stopped {
        reason: String,
    },
    /// The platform has no trace of it.
    Gone,
    /// Not running yet, for a reason operators should see (a pod the scheduler cannot
    /// place): the bot stays `DEPLOYING` (until the deploy timeout) and `detail` is shown.
    Pending {
        detail: String,
    },
    /// It can never start (an image that cannot be pulled): the bot fails at once
    /// (`FATAL`/`deploy_failed`) without another attempt.
    Unstartable {
        reason: String,
    },
    /// The platform could not start it (e.g. a Coolify deployment that failed); nothing
    /// runs for it. Retried like a transient deploy failure.
    DeployFailed {
        reason: String,
    },
}

/// Why a platform call failed. Transient failures are retried with backoff; permanent
/// ones fail the bot (`FATAL`/`deploy_failed`) with the message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlatformError {
    #[error("transient platform failure: {0}")]
    Transient(String),
    #[error("platform refused: {0}")]
    Permanent(String),
    /// The platform has no room right now (a full Kubernetes `ResourceQuota`, API
    /// throttling): the bot goes back to the queue without spending one of its deploy
    /// attempts, as if capacity were taken — it never fails for this (the queue timeout
    /// still bounds its wait).
    #[error("platform full: {0}")]
    Full(String),
}

/// Receives a bot's output lines (`bot id`, `level`, `line`); the server records them as
/// the bot's log events.
pub type LogSink = tokio::sync::mpsc::UnboundedSender<(String, &'static str, String)>;

#[async_trait]
pub trait Platform: Send + Sync {
    /// `local`, `coolify`, `aws`, …: stored on each bot it runs.
    fn name(&self) -> &'static str;
    /// Starts a bot. Must not start a second instance for the same bot and attempt.
    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError>;
    /// Stops a bot; an instance that is already gone counts as stopped.
    async fn stop(&self, identifier: &str) -> Result<(), PlatformError>;
    /// What became of a bot this platform started.
    async fn observe(&self, identifier: &str) -> Result<InstanceState, PlatformError>;
    /// Finds an instance of `bot_id`/`attempt` whose identifier was never recorded (the
    /// server died between starting it and storing the identifier).
    async fn find(&self, bot_id: &str, attempt: u32) -> Result<Option<Launched>, PlatformError>;
    /// How often the reconciler may `observe` one bot (remote APIs have request budgets).
    fn observe_interval(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }
    /// [`Platform::observe`] for many bots at once (platforms with batch APIs override it).
    async fn observe_many(
        &self,
        identifiers: &[String],
    ) -> Result<std::collections::HashMap<String, InstanceState>, PlatformError> {
        let mut out = std::collections::HashMap::new();
        for id in identifiers {
            out.insert(id.clone(), self.observe(id).await?);
        }
        Ok(out)
    }
    /// Every instance this installation has running on the platform, for the orphan sweep
    /// (the server stops those no live bot owns). `None`: the platform cannot list them.
    async fn instances(&self) -> Result<Option<Vec<Instance>>, PlatformError> {
        Ok(None)
    }
    /// Whether observation needs a watch that one replica runs (under the server's lease).
    fn watches(&self) -> bool {
        false
    }
    /// Starts (`true`) or stops the platform's watch: the server calls it on every upkeep
    /// pass with whether this replica holds the watch lease.
    async fn set_watching(&self, _on: bool) {}
    /// Background upkeep (pool scaling, slot recovery); called often, throttles itself.
    async fn maintain(&self) {}
    /// Slot counts `(total, idle, busy, error)` for pool platforms; `None` for others.
    async fn pool_counts(&self) -> Option<(i64, i64, i64, i64)> {
        None
    }
}

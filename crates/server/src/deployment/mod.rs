//! The deployment layer: which platforms run bots, the durable queue in front of them,
//! and the workers that start, watch and release bots.
//!
//! **Invariants**
//! - A bot is started only after its `QUEUED → DEPLOYING` compare-and-set committed, in the
//!   same transaction that counted the platform's active bots under the platform's lock:
//!   capacity is never exceeded and no bot is claimed twice, whatever the replicas.
//! - Every terminal bot's resources are released through the platform it ran on (a
//!   `release` job written with the terminal transition), even after
//!   `DEPLOYMENT_PLATFORM` changed, as long as that platform is still configured.

pub mod coolify_pool;
pub mod dispatcher;
pub mod reconciler;
pub mod releaser;

use crate::config::{Config, PlatformKind};
use meeboter_platforms::local::LocalPlatform;
use meeboter_platforms::{LogSink, Platform};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// One platform and its capacity.
#[derive(Clone)]
pub struct PlatformSlot {
    pub platform: Arc<dyn Platform>,
    pub limit: u32,
}

/// The configured platforms in overflow order, plus the wake-up signal for the dispatcher.
pub struct Deployer {
    slots: Vec<PlatformSlot>,
    wake: Notify,
    /// Wakes the releaser (a bot ended: stop its instance now, which frees capacity).
    release_wake: Notify,
    /// Mean run time of recent bots, cached: queue estimates are rough by nature and must
    /// not cost a query on every bot read.
    mean_run: std::sync::Mutex<Option<(std::time::Instant, f64)>>,
    /// When each bot was last observed, so remote platforms are polled within budget.
    observed: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// How long the cached mean run time is used before it is read again.
const MEAN_RUN_TTL: Duration = Duration::from_secs(30);
/// Assumed run time before any bot has finished on this installation.
const DEFAULT_RUN_SECS: f64 = 600.0;

impl Deployer {
    pub fn new(slots: Vec<PlatformSlot>) -> Self {
        Self {
            slots,
            wake: Notify::new(),
            release_wake: Notify::new(),
            mean_run: std::sync::Mutex::new(None),
            observed: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    /// Builds the platforms the configuration selects.
    pub async fn from_config(
        config: &Config,
        db: &meeboter_db::Db,
        installation: &str,
        sink: Option<LogSink>,
    ) -> Result<Self, String> {
        let mut slots = Vec::new();
        for kind in &config.platforms.order {
            let slot = match kind {
                PlatformKind::Local => PlatformSlot {
                    platform: Arc::new(
                        LocalPlatform::new(
                            config
                                .local_bot_command
                                .clone()
                                .unwrap_or_else(LocalPlatform::default_command),
                            Duration::from_secs(config.local_stop_grace_secs),
                            sink.clone(),
                        )
                        .with_installation(installation),
                    ),
                    limit: config.local_bot_limit,
                },
                PlatformKind::Coolify => {
                    let settings = config.coolify.clone().ok_or("Coolify settings are missing")?;
                    PlatformSlot {
                        platform: Arc::new(coolify_pool::CoolifyPool::new(
                            db.clone(),
                            settings,
                            config.coolify_bot_limit,
                        )),
                        limit: config.coolify_bot_limit,
                    }
                }
                PlatformKind::Docker => {
                    let mut settings = config.docker.clone().ok_or("docker platform settings are missing")?;
                    settings.installation_id = installation.to_string();
                    let platform =
                        meeboter_platforms::docker::DockerPlatform::connect(settings).map_err(|e| e.to_string())?;
                    if let Err(e) = platform.check().await {
                        // Bots queue until the engine answers; say why at startup.
                        tracing::warn!(error = %e, "the container engine does not answer yet");
                    }
                    PlatformSlot {
                        platform: Arc::new(platform),
                        limit: config.docker_bot_limit,
                    }
                }
                PlatformKind::Kubernetes => {
                    let settings = config
                        .kubernetes
                        .clone()
                        .ok_or("kubernetes platform settings are missing")?;
                    let platform = meeboter_platforms::kubernetes::KubernetesPlatform::connect(
                        settings,
                        installation,
                        sink.clone(),
                    )
                    .await?;
                    PlatformSlot {
                        platform: Arc::new(platform),
                        limit: config.kubernetes_bot_limit,
                    }
                }
                PlatformKind::Aws => {
                    let settings = config.aws.clone().ok_or("AWS ECS settings are missing")?;
                    PlatformSlot {
                        platform: Arc::new(meeboter_platforms::ecs::EcsPlatform::new(settings, installation).await),
                        limit: config.aws_bot_limit,
                    }
                }
            };
            slots.push(slot);
        }
        Ok(Self::new(slots))
    }

    /// Platforms in overflow order.
    pub fn slots(&self) -> &[PlatformSlot] {
        &self.slots
    }

    /// The platform a bot runs on, by the name stored on the bot.
    pub fn get(&self, name: &str) -> Option<&PlatformSlot> {
        self.slots.iter().find(|s| s.platform.name() == name)
    }

    /// Total capacity of all platforms.
    pub fn total_capacity(&self) -> u32 {
        self.slots.iter().map(|s| s.limit).sum()
    }

    /// Mean seconds recent bots ran (cached for 30 s; 600 s before any bot finished).
    pub async fn mean_run_secs(&self, conn: &mut meeboter_db::AnyConnection) -> meeboter_db::DbResult<f64> {
        if let Some((at, v)) = *self.mean_run.lock().unwrap_or_else(|p| p.into_inner())
            && at.elapsed() < MEAN_RUN_TTL
        {
            return Ok(v);
        }
        let v = meeboter_db::bots::recent_mean_run_secs(conn)
            .await?
            .unwrap_or(DEFAULT_RUN_SECS);
        *self.mean_run.lock().unwrap_or_else(|p| p.into_inner()) = Some((std::time::Instant::now(), v));
        Ok(v)
    }

    /// Whether `bot_id` may be observed again (at most once per `interval`).
    pub fn due_for_observation(&self, bot_id: &str, interval: Duration) -> bool {
        if interval.is_zero() {
            return true;
        }
        let mut seen = self.observed.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, t| t.elapsed() < interval);
        }
        match seen.get(bot_id) {
            Some(t) if t.elapsed() < interval => false,
            _ => {
                seen.insert(bot_id.to_string(), std::time::Instant::now());
                true
            }
        }
    }

    /// Asks the dispatcher to look at the queue now (capacity freed or bots queued), and
    /// the releaser to stop ended bots' instances.
    pub fn wake(&self) {
        self.wake.notify_one();
        self.release_wake.notify_one();
    }

    /// Waits for [`Deployer::wake`] or `timeout` (the releaser's loop).
    pub async fn release_woken(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.release_wake.notified()).await;
    }

    /// Waits for [`Deployer::wake`] or `timeout`, whichever comes first.
    pub async fn woken(&self, timeout: Duration) {
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
    }
}

//! The Coolify pool platform: a pool of pre-provisioned bot applications ("slots") on a
//! self-hosted Coolify. A bot takes the least recently used idle slot; its environment is
//! upserted on the application and the application started; when the bot ends the
//! application is stopped and the slot is `STOPPING` until Coolify confirms the application
//! stopped and no deployment of it is queued or running — only then is it `IDLE` again.
//!
//! **Invariants**
//! - Slots live in the database (`pool_slots`); one bot per slot and one slot per bot are
//!   unique indexes, and a slot is taken with one compare-and-set `UPDATE`.
//! - A container started with a previous bot's environment cannot act for anyone: its
//!   `MILO_AUTH_TOKEN` belongs to a bot that has ended and the control channel refuses it.
//! - Only applications recorded in `pool_slots` are ever touched — never anything else on a
//!   shared Coolify.
//! - A slot is given to a bot only when it is `IDLE`, i.e. stopped with no deployment in
//!   flight: a deployment still running for the previous bot would otherwise answer the
//!   next bot's start with "already queued" and come up with the previous environment.
//! - Nothing but `PATCH …/envs/bulk` and `POST …/start` is on the deploy path; the
//!   description mirror (`COOLIFY_MIRROR_DESCRIPTIONS`, off by default) is coalesced and
//!   sent in the background.

use async_trait::async_trait;
use meeboter_db::{Db, DbResult, slots};
use meeboter_platforms::coolify::{
    AppState, CoolifyClient, CoolifyError, DeploymentState, NewApplication, StartOutcome,
};
use meeboter_platforms::{BotLaunch, InstanceState, Launched, Platform, PlatformError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::CoolifySettings;

const PLATFORM: &str = "coolify";
/// Failed recoveries after which a slot's application is deleted and replaced.
const MAX_RECOVERIES: i64 = 3;
/// How often a running bot's application is looked at (Coolify allows 200 requests/min).
const OBSERVE_EVERY: Duration = Duration::from_secs(30);
/// How often the pool checks its idle minimum.
const SCALE_EVERY: Duration = Duration::from_secs(5);
/// Error text of a slot whose application creation got no answer.
const UNCONFIRMED: &str = "application creation unconfirmed";
/// A slot still held by a bot this long after the bot ended missed its release.
const ABANDONED_GRACE: chrono::TimeDelta = chrono::TimeDelta::seconds(60);
/// A slot still `CREATING` after this long lost its creator (crash, kill -9).
const CREATING_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(2);
/// How often `STOPPING` slots are checked (two calls each: deployments, application).
const DRAIN_EVERY: Duration = Duration::from_secs(2);
/// A `STOPPING` slot whose application still runs this long after the stop is stopped again.
const STOP_RESEND: chrono::TimeDelta = chrono::TimeDelta::seconds(15);
/// A slot `STOPPING` this long is handed to recovery (`ERROR`).
const STOPPING_GRACE: chrono::TimeDelta = chrono::TimeDelta::minutes(30);
/// Error text of a `STOPPING` slot whose application had (or may have) a deployment in
/// flight when it was stopped: once that deployment is over, stop again (it started the
/// container after the first stop).
const STOP_AFTER_DEPLOYMENT: &str = "stop again once the running deployment is over";
/// Description PATCHes sent per maintenance pass (coalesced per application).
const MIRROR_BATCH: usize = 4;

pub struct CoolifyPool {
    db: Db,
    client: CoolifyClient,
    settings: CoolifySettings,
    limit: u32,
    last_scale: Mutex<Option<Instant>>,
    last_recovery: Mutex<Option<Instant>>,
    last_drain: Mutex<Option<Instant>>,
    observe_every: Duration,
    /// Descriptions waiting to be mirrored, newest text per application (cosmetic state:
    /// losing it with the process loses nothing that matters).
    mirrors: Mutex<std::collections::BTreeMap<String, String>>,
}

fn transient(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Transient(e.to_string())
}

fn classify(e: CoolifyError) -> PlatformError {
    if e.is_transient() {
        PlatformError::Transient(e.to_string())
    } else {
        PlatformError::Permanent(e.to_string())
    }
}

impl CoolifyPool {
    pub fn new(db: Db, settings: CoolifySettings, limit: u32) -> Self {
        Self {
            client: CoolifyClient::with_timeout(
                &settings.api_url,
                &settings.api_token,
                Duration::from_secs(settings.request_timeout_secs),
            ),
            db,
            settings,
            limit,
            last_scale: Mutex::new(None),
            last_recovery: Mutex::new(None),
            last_drain: Mutex::new(None),
            observe_every: OBSERVE_EVERY,
            mirrors: Mutex::new(Default::default()),
        }
    }

    /// Observes each live bot's slot this often instead of every 30 s (tests).
    pub fn with_observe_interval(mut self, every: Duration) -> Self {
        self.observe_every = every;
        self
    }

    /// The image (`name:tag`) a bot of `meeting_platform` runs in; slots are matched on it.
    fn image_for(&self, meeting_platform: &str) -> String {
        let (name, tag) = self.settings.image_for(meeting_platform);
        format!("{name}:{tag}")
    }

    async fn set_slot(
        &self,
        id: &str,
        status: &str,
        bot: Option<Option<&str>>,
        app: Option<&str>,
        deployment: Option<&str>,
        error: Option<&str>,
    ) -> DbResult<()> {
        let mut tx = self.db.begin_write().await?;
        let change = slots::SlotUpdate {
            status,
            bot,
            application_uuid: app,
            deployment_uuid: deployment,
            error,
        };
        slots::update(&mut tx, id, change, meeboter_db::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Like `set_slot`, but only while `bot_id` still holds the slot (see `slots::update_held`).
    async fn set_slot_held(
        &self,
        id: &str,
        bot_id: &str,
        status: &str,
        deployment: Option<&str>,
        error: Option<&str>,
    ) -> DbResult<bool> {
        let mut tx = self.db.begin_write().await?;
        let change = slots::SlotUpdate {
            status,
            bot: None,
            application_uuid: None,
            deployment_uuid: deployment,
            error,
        };
        let done = slots::update_held(&mut tx, id, bot_id, change, meeboter_db::now()).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// Mirrors the slot's state into the application's description for Coolify's UI, if
    /// `COOLIFY_MIRROR_DESCRIPTIONS` is on: only noted here (a newer state replaces an
    /// unsent one) and sent by [`CoolifyPool::flush_mirrors`] in the background.
    fn mirror(&self, app: &str, text: &str) {
        if self.settings.mirror_descriptions {
            self.mirrors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(app.to_string(), format!("meeboter pool slot — {text}"));
        }
    }

    /// Sends up to `MIRROR_BATCH` pending descriptions.
    async fn flush_mirrors(&self) {
        let batch: Vec<(String, String)> = {
            let mut pending = self.mirrors.lock().unwrap_or_else(|p| p.into_inner());
            let keys: Vec<String> = pending.keys().take(MIRROR_BATCH).cloned().collect();
            keys.into_iter()
                .filter_map(|k| pending.remove(&k).map(|v| (k, v)))
                .collect()
        };
        for (app, text) in batch {
            if let Err(e) = self.client.set_description(&app, &text).await {
                tracing::debug!(application = %app, error = %e, "description not mirrored");
            }
        }
    }

    /// Creates one slot running `image` (`name:tag`): a row first, then the application
    /// (never retried blindly).
    async fn create_slot(&self, image: &str, for_bot: Option<&str>) -> Result<slots::SlotRecord, PlatformError> {
        let name = format!("meeboter-slot-{}", &meeboter_core::new_id().simple().to_string()[20..]);
        let record = {
            let mut tx = self.db.begin_write().await.map_err(transient)?;
            let r = slots::insert_creating(
                &mut tx,
                self.db.backend(),
                PLATFORM,
                &name,
                image,
                i64::from(self.limit),
                meeboter_db::now(),
            )
            .await
            .map_err(transient)?;
            tx.commit().await.map_err(transient)?;
            r.ok_or_else(|| PlatformError::Transient(format!("the pool already has {} slots", self.limit)))?
        };
        let app = NewApplication {
            project_uuid: self.settings.project_uuid.clone(),
            server_uuid: self.settings.server_uuid.clone(),
            environment_name: self.settings.environment_name.clone(),
            destination_uuid: self.settings.destination_uuid.clone(),
            image: image.rsplit_once(':').map_or(image, |(n, _)| n).to_string(),
            tag: image.rsplit_once(':').map_or("latest", |(_, t)| t).to_string(),
            name: name.clone(),
            description: "meeboter pool slot — creating".into(),
            limits_cpus: self.settings.slot_cpus.clone(),
            limits_memory: self.settings.slot_memory.clone(),
        };
        match self.client.create_application(&app).await {
            Ok(uuid) => {
                let (status, bot) = match for_bot {
                    Some(b) => ("DEPLOYING", Some(Some(b))),
                    None => ("IDLE", Some(None)),
                };
                self.set_slot(&record.id, status, bot, Some(&uuid), None, None)
                    .await
                    .map_err(transient)?;
                tracing::info!(slot = %name, application = %uuid, "Coolify pool slot created");
                let mut conn = self.db.acquire().await.map_err(transient)?;
                slots::find(&mut conn, &record.id)
                    .await
                    .map_err(transient)?
                    .ok_or_else(|| transient("slot vanished"))
            }
            Err(e @ (CoolifyError::Transport(_) | CoolifyError::Server(..))) => {
                // The application may exist all the same (the answer was lost): keep the
                // row so recovery adopts the application by its unique name or forgets it.
                self.set_slot(&record.id, "ERROR", Some(None), None, None, Some(UNCONFIRMED))
                    .await
                    .map_err(transient)?;
                Err(classify(e))
            }
            Err(e) => {
                // Coolify refused: nothing was created; drop the reservation.
                self.forget_slot(&record.id).await?;
                Err(classify(e))
            }
        }
    }

    async fn acquire(&self, bot_id: &str, image: &str) -> Result<slots::SlotRecord, PlatformError> {
        let mut tx = self.db.begin_write().await.map_err(transient)?;
        if let Some(existing) = slots::find_by_bot(&mut tx, bot_id).await.map_err(transient)? {
            return Ok(existing); // a retried launch of the same bot keeps its slot
        }
        let now = meeboter_db::now();
        if let Some(slot) = slots::acquire_idle(&mut tx, self.db.backend(), PLATFORM, image, bot_id, now)
            .await
            .map_err(transient)?
        {
            tx.commit().await.map_err(transient)?;
            return Ok(slot);
        }
        let total: i64 = slots::counts(&mut tx, PLATFORM)
            .await
            .map_err(transient)?
            .iter()
            .map(|(_, n)| n)
            .sum();
        tx.commit().await.map_err(transient)?;
        if total >= i64::from(self.limit) && !self.retire_idle_other_than(image).await? {
            return Err(PlatformError::Transient(format!(
                "all {total} Coolify pool slots are busy or recovering"
            )));
        }
        self.create_slot(image, Some(bot_id)).await
    }

    /// With per-platform images a full pool may hold idle slots of another image: retire
    /// the least recently used one to make room. True if one was retired.
    async fn retire_idle_other_than(&self, image: &str) -> Result<bool, PlatformError> {
        let candidates = {
            let mut conn = self.db.acquire().await.map_err(transient)?;
            slots::list(&mut conn, PLATFORM).await.map_err(transient)?
        };
        let mut idle: Vec<_> = candidates
            .into_iter()
            .filter(|s| s.status == "IDLE" && s.image != image && s.bot_id.is_none())
            .collect();
        idle.sort_by_key(|s| s.last_used_at);
        for slot in idle {
            if self.retire(&slot, &format!("retired to make room for {image}")).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Deletes an idle slot's application and forgets the slot: taken out of the pool first
    /// (CAS on `IDLE`), so nobody acquires it meanwhile. False if someone took it first.
    async fn retire(&self, slot: &slots::SlotRecord, why: &str) -> Result<bool, PlatformError> {
        let taken = {
            let mut tx = self.db.begin_write().await.map_err(transient)?;
            let n = slots::mark_retiring(&mut tx, &slot.id, why, meeboter_db::now())
                .await
                .map_err(transient)?;
            tx.commit().await.map_err(transient)?;
            n
        };
        if !taken {
            return Ok(false);
        }
        let deleted = match &slot.application_uuid {
            Some(app) => self.client.delete_application(app).await,
            None => Ok(()),
        };
        match deleted {
            Ok(()) => {
                self.forget_slot(&slot.id).await?;
                tracing::info!(slot = %slot.name, image = %slot.image, why, "idle slot retired");
                Ok(true)
            }
            Err(e) => {
                // Recovery deletes or resets it later.
                self.set_slot(&slot.id, "ERROR", None, None, None, Some(&e.to_string()))
                    .await
                    .map_err(transient)?;
                Err(classify(e))
            }
        }
    }

    /// With `POOL_MAX_IDLE` set, deletes idle slots of `image` above that number that have
    /// been idle longer than `POOL_IDLE_TTL_SECS`, least recently used first.
    async fn trim_idle(&self, image: &str, all: &[slots::SlotRecord]) -> Result<(), PlatformError> {
        let Some(max_idle) = self.settings.max_idle else {
            return Ok(());
        };
        let mut idle: Vec<&slots::SlotRecord> = all
            .iter()
            .filter(|s| s.image == image && s.status == "IDLE" && s.bot_id.is_none())
            .collect();
        let surplus = idle.len().saturating_sub(max_idle as usize);
        if surplus == 0 {
            return Ok(());
        }
        idle.sort_by_key(|s| s.last_used_at.unwrap_or(s.status_at));
        let now = meeboter_db::now();
        let ttl = chrono::TimeDelta::seconds(self.settings.idle_ttl_secs as i64);
        for slot in idle.into_iter().take(surplus) {
            if now - slot.last_used_at.unwrap_or(slot.status_at) < ttl {
                break; // the rest were used more recently still
            }
            self.retire(slot, "idle above POOL_MAX_IDLE for longer than POOL_IDLE_TTL_SECS")
                .await?;
        }
        Ok(())
    }

    /// Forgets a slot record (its application is gone or was deleted).
    async fn forget_slot(&self, id: &str) -> Result<(), PlatformError> {
        let mut tx = self.db.begin_write().await.map_err(transient)?;
        slots::delete(&mut tx, id).await.map_err(transient)?;
        tx.commit().await.map_err(transient)
    }

    async fn slot(&self, id: &str) -> Result<Option<slots::SlotRecord>, PlatformError> {
        let mut conn = self.db.acquire().await.map_err(transient)?;
        slots::find(&mut conn, id).await.map_err(transient)
    }

    /// Keeps `POOL_MIN_IDLE` idle slots of every image the pool runs, within the limit, and
    /// retires idle slots above `POOL_MAX_IDLE` after `POOL_IDLE_TTL_SECS`.
    async fn scale(&self) -> Result<(), PlatformError> {
        for image in self.settings.images() {
            let all = {
                let mut conn = self.db.acquire().await.map_err(transient)?;
                slots::list(&mut conn, PLATFORM).await.map_err(transient)?
            };
            let total = all.len() as i64;
            let idle = all
                .iter()
                .filter(|s| s.image == image && (s.status == "IDLE" || s.status == "CREATING"))
                .count() as i64;
            let wanted = (i64::from(self.settings.min_idle) - idle).min(i64::from(self.limit) - total);
            for _ in 0..wanted.max(0) {
                if let Err(e) = self.create_slot(&image, None).await {
                    // Another creator may have reached the limit first; that is fine.
                    tracing::debug!(error = %e, "idle slot not created");
                    break;
                }
            }
            if let Err(e) = self.trim_idle(&image, &all).await {
                tracing::debug!(error = %e, "idle slot not retired; trying again later");
            }
        }
        Ok(())
    }

    /// Resets `ERROR` slots (stop, verify, back to idle); replaces a slot after
    /// `MAX_RECOVERIES` failed recoveries; forgets slots whose application vanished.
    pub async fn recover(&self) -> Result<(), PlatformError> {
        let all = {
            let mut conn = self.db.acquire().await.map_err(transient)?;
            slots::list(&mut conn, PLATFORM).await.map_err(transient)?
        };
        let all = self.adopt_unconfirmed(all).await?;
        let all = self.reclaim_abandoned(all).await?;
        for slot in all.into_iter().filter(|s| s.status == "ERROR" || s.status == "IDLE") {
            let Some(app) = slot.application_uuid.clone() else {
                continue;
            };
            // Rate limits and unreachable Coolify say nothing about the slot: try later.
            let unreachable = |e: &CoolifyError| matches!(e, CoolifyError::RateLimited | CoolifyError::Transport(_));
            let outcome: Result<(), String> = match self.client.get_application(&app).await {
                Ok(None) => {
                    tracing::warn!(slot = %slot.name, "slot's application vanished from Coolify; forgetting it");
                    self.forget_slot(&slot.id).await?;
                    continue;
                }
                Err(e) if unreachable(&e) => continue,
                _ if slot.status == "IDLE" => continue,
                Err(e) => Err(e.to_string()),
                Ok(Some(_)) => match self.client.stop(&app).await {
                    Ok(()) => Ok(()),
                    Err(e) if unreachable(&e) => continue,
                    Err(e) => Err(e.to_string()),
                },
            };
            let mut tx = self.db.begin_write().await.map_err(transient)?;
            match outcome {
                Ok(()) => {
                    // Idle only once the stop is confirmed and no deployment is in flight.
                    let stopping = slots::SlotUpdate {
                        status: "STOPPING",
                        bot: Some(None),
                        ..Default::default()
                    };
                    slots::update(&mut tx, &slot.id, stopping, meeboter_db::now())
                        .await
                        .map_err(transient)?;
                    tx.commit().await.map_err(transient)?;
                    self.mirror(&app, "stopping");
                    tracing::info!(slot = %slot.name, "slot recovered; stopping");
                }
                Err(error) if slot.recovery_attempts + 1 >= MAX_RECOVERIES => {
                    // Replace it: delete the application first; forget the slot only once
                    // Coolify confirmed, so no application of ours is ever left behind.
                    tx.commit().await.map_err(transient)?;
                    match self.client.delete_application(&app).await {
                        Ok(()) => {
                            self.forget_slot(&slot.id).await?;
                            tracing::warn!(slot = %slot.name, %error, "slot failed {MAX_RECOVERIES} recoveries; replaced");
                        }
                        Err(e) => {
                            let mut tx = self.db.begin_write().await.map_err(transient)?;
                            slots::bump_recovery(&mut tx, &slot.id).await.map_err(transient)?;
                            tx.commit().await.map_err(transient)?;
                            tracing::warn!(slot = %slot.name, error = %e, "could not delete a failed slot; will retry");
                        }
                    }
                }
                Err(error) => {
                    slots::bump_recovery(&mut tx, &slot.id).await.map_err(transient)?;
                    tx.commit().await.map_err(transient)?;
                    tracing::warn!(slot = %slot.name, %error, "slot recovery failed");
                }
            }
        }
        Ok(())
    }
}

impl CoolifyPool {
    /// Brings `STOPPING` slots back to the pool once Coolify confirms their application
    /// stopped and no deployment of it is queued or running. A deployment that was in
    /// flight at the stop starts the container when it finishes (with the previous bot's
    /// environment), so the application is stopped again after it.
    /// `set_slot`, but only while the slot is still `STOPPING` (several replicas drain).
    async fn set_if_stopping(
        &self,
        id: &str,
        status: &str,
        bot: Option<Option<&str>>,
        app: Option<&str>,
        deployment: Option<&str>,
        error: Option<&str>,
    ) -> DbResult<bool> {
        let mut tx = self.db.begin_write().await?;
        let change = slots::SlotUpdate {
            status,
            bot,
            application_uuid: app,
            deployment_uuid: deployment,
            error,
        };
        let done = slots::update_stopping(&mut tx, id, change, meeboter_db::now()).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn drain(&self) -> Result<(), PlatformError> {
        let all = {
            let mut conn = self.db.acquire().await.map_err(transient)?;
            slots::list(&mut conn, PLATFORM).await.map_err(transient)?
        };
        for slot in all.into_iter().filter(|s| s.status == "STOPPING") {
            let Some(app) = slot.application_uuid.clone() else {
                self.set_if_stopping(
                    &slot.id,
                    "ERROR",
                    Some(None),
                    None,
                    None,
                    Some("stopping without an application"),
                )
                .await
                .map_err(transient)?;
                continue;
            };
            let now = meeboter_db::now();
            if now - slot.status_at > STOPPING_GRACE {
                tracing::warn!(slot = %slot.name, "slot did not stop in time; handed to recovery");
                self.set_if_stopping(&slot.id, "ERROR", Some(None), None, None, Some("did not stop in time"))
                    .await
                    .map_err(transient)?;
                continue;
            }
            match self.client.latest_deployment(&app).await {
                Err(e) => {
                    tracing::debug!(slot = %slot.name, error = %e, "cannot read deployments; draining later");
                    continue;
                }
                Ok(Some((uuid, DeploymentState::Queued | DeploymentState::InProgress))) => {
                    if slot.error.as_deref() != Some(STOP_AFTER_DEPLOYMENT) {
                        self.set_if_stopping(
                            &slot.id,
                            "STOPPING",
                            None,
                            None,
                            Some(&uuid),
                            Some(STOP_AFTER_DEPLOYMENT),
                        )
                        .await
                        .map_err(transient)?;
                    }
                    continue;
                }
                Ok(_) => {}
            }
            if slot.error.as_deref() == Some(STOP_AFTER_DEPLOYMENT) {
                if self.client.stop(&app).await.is_ok() {
                    // A fresh `status_at`: the stop is confirmed from now on.
                    self.set_if_stopping(&slot.id, "STOPPING", None, None, None, None)
                        .await
                        .map_err(transient)?;
                }
                continue;
            }
            match self.client.get_application(&app).await {
                Err(e) => tracing::debug!(slot = %slot.name, error = %e, "cannot read the application; draining later"),
                Ok(None) => {
                    tracing::warn!(slot = %slot.name, "slot's application vanished from Coolify; forgetting it");
                    self.forget_slot(&slot.id).await?;
                }
                Ok(Some(a)) if a.state() == AppState::Exited => {
                    let mut tx = self.db.begin_write().await.map_err(transient)?;
                    let idle = slots::SlotUpdate {
                        status: "IDLE",
                        bot: Some(None),
                        ..Default::default()
                    };
                    if slots::update_stopping(&mut tx, &slot.id, idle, meeboter_db::now())
                        .await
                        .map_err(transient)?
                    {
                        slots::reset_recovery(&mut tx, &slot.id).await.map_err(transient)?;
                    }
                    tx.commit().await.map_err(transient)?;
                    self.mirror(&app, "idle");
                    tracing::debug!(slot = %slot.name, "slot stopped; back in the pool");
                }
                Ok(Some(_)) if now - slot.status_at > STOP_RESEND => {
                    if self.client.stop(&app).await.is_ok() {
                        self.set_if_stopping(&slot.id, "STOPPING", None, None, None, None)
                            .await
                            .map_err(transient)?;
                    }
                }
                Ok(Some(_)) => {}
            }
        }
        Ok(())
    }

    /// Slots still held by a bot that ended more than a minute ago (its release was lost,
    /// e.g. the server died in between) are marked `ERROR`, so this pass resets them.
    async fn reclaim_abandoned(&self, all: Vec<slots::SlotRecord>) -> Result<Vec<slots::SlotRecord>, PlatformError> {
        let now = meeboter_db::now();
        let mut out = Vec::with_capacity(all.len());
        for mut slot in all {
            if slot.bot_id.is_none()
                && matches!(slot.status.as_str(), "DEPLOYING" | "BUSY")
                && now - slot.status_at > ABANDONED_GRACE
            {
                // Should not happen (every write that clears the holder also sets the status);
                // if it does, recovery resets the slot rather than leaving it out of the pool.
                self.set_slot(&slot.id, "ERROR", None, None, None, Some("busy without a bot"))
                    .await
                    .map_err(transient)?;
                slot.status = "ERROR".into();
            }
            if let (Some(bot_id), "DEPLOYING" | "BUSY") = (slot.bot_id.clone(), slot.status.as_str()) {
                let bot = {
                    let mut conn = self.db.acquire().await.map_err(transient)?;
                    meeboter_db::bots::find_any(&mut conn, &bot_id)
                        .await
                        .map_err(transient)?
                };
                let over = bot.is_none_or(|b| b.status.is_terminal() && now - b.status_at > ABANDONED_GRACE);
                if over {
                    let mut tx = self.db.begin_write().await.map_err(transient)?;
                    let taken = slots::abandon(&mut tx, &slot.id, &bot_id, now)
                        .await
                        .map_err(transient)?;
                    tx.commit().await.map_err(transient)?;
                    if taken {
                        tracing::warn!(slot = %slot.name, bot.id = %bot_id, "slot held by an ended bot; recovering it");
                        slot.status = "ERROR".into();
                        slot.bot_id = None;
                    }
                }
            }
            out.push(slot);
        }
        Ok(out)
    }

    /// Slots whose application creation got no answer (or whose creator died) are matched
    /// to Coolify's applications by their unique name: adopted as `ERROR` (recovery then
    /// resets them) when found, forgotten when not. Returns the slots, updated.
    async fn adopt_unconfirmed(&self, all: Vec<slots::SlotRecord>) -> Result<Vec<slots::SlotRecord>, PlatformError> {
        let now = meeboter_db::now();
        let orphan = |s: &slots::SlotRecord| {
            s.application_uuid.is_none()
                && ((s.status == "ERROR" && s.error.as_deref() == Some(UNCONFIRMED))
                    || (s.status == "CREATING" && now - s.status_at > CREATING_GRACE))
        };
        if !all.iter().any(orphan) {
            return Ok(all);
        }
        let apps = match self.client.list_applications().await {
            Ok(apps) => apps,
            Err(e) => {
                tracing::debug!(error = %e, "cannot list Coolify applications; adoption deferred");
                return Ok(all);
            }
        };
        let mut kept = Vec::with_capacity(all.len());
        for mut slot in all {
            if !orphan(&slot) {
                kept.push(slot);
                continue;
            }
            match apps.iter().find(|a| a.name == slot.name) {
                Some(found) => {
                    self.set_slot(&slot.id, "ERROR", Some(None), Some(&found.uuid), None, Some("adopted"))
                        .await
                        .map_err(transient)?;
                    tracing::info!(slot = %slot.name, application = %found.uuid, "adopted an unconfirmed slot application");
                    slot.application_uuid = Some(found.uuid.clone());
                    slot.status = "ERROR".into();
                    kept.push(slot);
                }
                None => {
                    self.forget_slot(&slot.id).await?;
                    tracing::info!(slot = %slot.name, "unconfirmed slot application does not exist; forgotten");
                }
            }
        }
        Ok(kept)
    }
}

fn deployment_word(state: &DeploymentState) -> String {
    match state {
        DeploymentState::Failed => "failed".into(),
        DeploymentState::Cancelled => "cancelled".into(),
        DeploymentState::Finished => "finished".into(),
        DeploymentState::Queued => "queued".into(),
        DeploymentState::InProgress => "in progress".into(),
        DeploymentState::Other(s) => format!("as `{s}`"),
    }
}

fn due(last: &Mutex<Option<Instant>>, every: Duration) -> bool {
    let mut last = last.lock().unwrap_or_else(|p| p.into_inner());
    if last.is_some_and(|t| t.elapsed() < every) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

#[async_trait]
impl Platform for CoolifyPool {
    fn name(&self) -> &'static str {
        PLATFORM
    }

    async fn deploy(&self, launch: &BotLaunch) -> Result<Launched, PlatformError> {
        let meeting_platform = launch.env.get("MEETING_PLATFORM").map_or("", String::as_str);
        let slot = self.acquire(&launch.bot_id, &self.image_for(meeting_platform)).await?;
        let app = slot
            .application_uuid
            .clone()
            .ok_or_else(|| transient("slot has no application yet"))?;
        let mut env = launch.env.clone();
        env.insert("MEEBOTER_SLOT_ID".into(), slot.id.clone());
        let fail = |slot_id: String, status: &'static str, msg: String| async move {
            // Either way the bot no longer holds the slot (it will be retried elsewhere).
            let _ = self
                .set_slot(&slot_id, status, Some(None), None, None, Some(&msg))
                .await;
            msg
        };
        match self.client.upsert_envs(&app, &env).await {
            Ok(true) => {}
            Ok(false) => {
                let msg = fail(slot.id.clone(), "ERROR", "application vanished".into()).await;
                return Err(PlatformError::Transient(msg));
            }
            Err(e) => {
                // Nothing started: the slot is fine, give it back.
                let status = if e.is_transient() { "IDLE" } else { "ERROR" };
                let msg = fail(slot.id.clone(), status, e.to_string()).await;
                return Err(if e.is_transient() {
                    PlatformError::Transient(msg)
                } else {
                    PlatformError::Permanent(msg)
                });
            }
        }
        let started = match self.client.start(&app).await {
            Err(e @ (CoolifyError::Transport(_) | CoolifyError::Server(..))) => {
                // The answer was lost; the start may have happened. A deployment newer than
                // the last one we know proves it did (the slot was stopped and ours alone).
                match self.client.latest_deployment(&app).await {
                    Ok(Some((uuid, _))) if slot.last_deployment_uuid.as_deref() != Some(uuid.as_str()) => {
                        tracing::info!(slot = %slot.name, deployment = %uuid, "start answer lost but the deployment exists; adopted");
                        Ok(Some(StartOutcome::Queued { deployment_uuid: uuid }))
                    }
                    _ => Err(e),
                }
            }
            other => other,
        };
        match started {
            Ok(Some(StartOutcome::Queued { deployment_uuid })) => {
                self.set_slot_held(&slot.id, &launch.bot_id, "DEPLOYING", Some(&deployment_uuid), None)
                    .await
                    .map_err(transient)?;
            }
            Ok(Some(StartOutcome::AlreadyQueued)) => {
                // Coolify still runs a deployment of this application that is not ours (it
                // would come up with another environment): not a start. The slot drains
                // (stopped again once that deployment is over) and the bot is retried.
                let _ = self
                    .set_slot(
                        &slot.id,
                        "STOPPING",
                        Some(None),
                        None,
                        None,
                        Some(STOP_AFTER_DEPLOYMENT),
                    )
                    .await;
                return Err(PlatformError::Transient(
                    "the slot's application is still deploying for an earlier bot".into(),
                ));
            }
            Ok(None) => {
                let msg = fail(slot.id.clone(), "ERROR", "application vanished".into()).await;
                return Err(PlatformError::Transient(msg));
            }
            Err(e) => {
                let msg = fail(slot.id.clone(), "ERROR", e.to_string()).await;
                return Err(PlatformError::Transient(msg));
            }
        }
        self.mirror(&app, &format!("deploying bot {}", launch.bot_id));
        Ok(Launched { identifier: slot.id })
    }

    async fn stop(&self, identifier: &str) -> Result<(), PlatformError> {
        let Some(slot) = self.slot(identifier).await? else {
            return Ok(());
        };
        let Some(app) = slot.application_uuid.clone() else {
            return Ok(());
        };
        // A release is for a bot that ended or was deleted. A slot held by nobody was
        // released already (its drain or recovery finishes the job); a slot held by a live
        // bot was taken by that bot since: neither is touched.
        let Some(holder) = slot.bot_id.clone() else {
            return Ok(());
        };
        let holder_live = {
            let mut conn = self.db.acquire().await.map_err(transient)?;
            meeboter_db::bots::find_any(&mut conn, &holder)
                .await
                .map_err(transient)?
                .is_some_and(|b| !b.status.is_terminal())
        };
        if holder_live {
            return Ok(());
        }
        match self.client.stop(&app).await {
            Ok(()) => {
                // Back in the pool only once the stop is confirmed and no deployment is in
                // flight (see `drain`). A slot released while deploying had one: stop again
                // once it is over.
                let after = (slot.status == "DEPLOYING").then_some(STOP_AFTER_DEPLOYMENT);
                self.set_slot(&slot.id, "STOPPING", Some(None), None, None, after)
                    .await
                    .map_err(transient)?;
                self.mirror(&app, "stopping");
            }
            Err(e) => {
                // The bot is over either way; the recovery job deals with the slot.
                self.set_slot(&slot.id, "ERROR", Some(None), None, None, Some(&e.to_string()))
                    .await
                    .map_err(transient)?;
            }
        }
        Ok(())
    }

    async fn observe(&self, identifier: &str) -> Result<InstanceState, PlatformError> {
        let Some(slot) = self.slot(identifier).await? else {
            return Ok(InstanceState::Gone);
        };
        let Some(app) = slot.application_uuid.clone() else {
            return Ok(InstanceState::Gone);
        };
        let Some(holder) = slot.bot_id.clone() else {
            // Released meanwhile: whatever ran there is over.
            return Ok(InstanceState::Gone);
        };
        if slot.status == "DEPLOYING" {
            let Some(dep) = slot.deployment_uuid.clone() else {
                // No deployment to follow: the application tells whether the bot came up.
                return match self.client.get_application(&app).await.map_err(classify)? {
                    None => Ok(InstanceState::Gone),
                    Some(a) if a.state() == AppState::Running => {
                        self.set_slot_held(&slot.id, &holder, "BUSY", None, None)
                            .await
                            .map_err(transient)?;
                        Ok(InstanceState::Running)
                    }
                    Some(_) => Ok(InstanceState::Running),
                };
            };
            return match self.client.deployment(&dep).await.map_err(classify)? {
                Some(DeploymentState::Finished) => {
                    self.set_slot_held(&slot.id, &holder, "BUSY", None, None)
                        .await
                        .map_err(transient)?;
                    Ok(InstanceState::Running)
                }
                Some(DeploymentState::Queued | DeploymentState::InProgress) => Ok(InstanceState::Running),
                other => {
                    // Nothing runs for the bot: the slot drains (a failed deployment leaves
                    // the application stopped) and the bot is retried like any transient
                    // deploy failure.
                    let msg = match other {
                        Some(state) => format!("the Coolify deployment ended {}", deployment_word(&state)),
                        None => "Coolify has no record of the deployment (its queue was full)".to_string(),
                    };
                    let mut tx = self.db.begin_write().await.map_err(transient)?;
                    let release = slots::SlotUpdate {
                        status: "STOPPING",
                        bot: Some(None),
                        error: Some(&msg),
                        ..Default::default()
                    };
                    slots::update_held(&mut tx, &slot.id, &holder, release, meeboter_db::now())
                        .await
                        .map_err(transient)?;
                    tx.commit().await.map_err(transient)?;
                    Ok(InstanceState::DeployFailed { reason: msg })
                }
            };
        }
        match self.client.get_application(&app).await.map_err(classify)? {
            None => Ok(InstanceState::Gone),
            Some(a) => Ok(match a.state() {
                AppState::Exited => InstanceState::Stopped {
                    reason: format!("the application's container is {}", a.status),
                },
                _ => InstanceState::Running,
            }),
        }
    }

    async fn find(&self, bot_id: &str, _attempt: u32) -> Result<Option<Launched>, PlatformError> {
        let mut conn = self.db.acquire().await.map_err(transient)?;
        // A slot taken for the bot whose start was never recorded did not start it: the
        // bot is queued again and its next attempt reuses the slot (see `acquire`).
        Ok(slots::find_by_bot(&mut conn, bot_id)
            .await
            .map_err(transient)?
            .filter(|s| s.deployment_uuid.is_some() || s.status == "BUSY")
            .map(|s| Launched { identifier: s.id }))
    }

    fn observe_interval(&self) -> Duration {
        self.observe_every
    }

    async fn maintain(&self) {
        if due(&self.last_scale, SCALE_EVERY)
            && let Err(e) = self.scale().await
        {
            tracing::warn!(error = %e, "could not keep the Coolify pool's idle minimum");
        }
        if due(&self.last_drain, DRAIN_EVERY)
            && let Err(e) = self.drain().await
        {
            tracing::warn!(error = %e, "could not drain stopping Coolify slots");
        }
        self.flush_mirrors().await;
        if due(
            &self.last_recovery,
            Duration::from_secs(self.settings.recovery_interval_secs),
        ) && let Err(e) = self.recover().await
        {
            tracing::warn!(error = %e, "Coolify slot recovery failed");
        }
    }

    async fn pool_counts(&self) -> Option<(i64, i64, i64, i64)> {
        let mut conn = self.db.pool().acquire().await.ok()?;
        let counts = slots::counts(&mut conn, PLATFORM).await.ok()?;
        let get = |s: &str| counts.iter().find(|(k, _)| k == s).map(|(_, n)| *n).unwrap_or(0);
        let total: i64 = counts.iter().map(|(_, n)| n).sum();
        Some((
            total,
            get("IDLE"),
            get("DEPLOYING") + get("BUSY") + get("STOPPING"),
            get("ERROR"),
        ))
    }
}

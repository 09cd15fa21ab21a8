//! The bot runtime behind `meeboter bot`: everything a bot needs besides the meeting
//! providers themselves.
//!
//! - [`env::BotEnv`]: the deployment guide's environment, validated (a bot started with a
//!   bad environment says what is wrong and exits 2).
//! - [`control::ControlClient`]: the control channel (`config`, `status`, `heartbeat`,
//!   `events`), with timeouts and bounded retries so a short API outage loses nothing.
//! - [`outbox::Outbox`]: an ordered, bounded queue in front of the control channel, so the
//!   driver never waits on the network and an API outage loses no status.
//! - [`logs`]: the bot's own log lines streamed to the control channel.
//! - [`browser`]: finding and launching Chromium with the flags a meeting bot needs.
//! - [`driver`]: the lifecycle every provider shares (lobby, admission, automatic leave,
//!   removal with debounce, participants) over a `Provider` that only reports what the
//!   page shows.
//! - [`recorder`]: recording the call (`RECORDING_MODE` audio/video): Xvfb, a private
//!   PulseAudio and ffmpeg from `IN_CALL` to leaving, uploaded in chunks during the call.
//! - [`captions`]: live captions and speaking indicators → `caption`, `active_speaker` events.
//! - [`procstat`]: CPU and memory of the bot's process tree, logged once a minute.
//!
//! **Architecture invariant:** the runtime depends on `meeboter-core` only; it reaches the
//! server through HTTP, like a bot in a container on another machine.

pub mod browser;
pub mod captions;
pub mod commands;
pub mod control;
pub mod driver;
pub mod env;
pub mod logs;
pub mod outbox;
pub mod procstat;
pub mod providers;
pub mod recorder;
pub mod roster;
pub mod runtime;

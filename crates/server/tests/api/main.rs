//! End-to-end API tests over HTTP, run once per database backend by `scripts/test`.

mod accounts_keys;
mod bots;
mod commands;
mod coolify;
mod dashboard;
mod deployment;
mod ecs;
mod errors;
mod health_docs;
mod idempotency;
mod kubernetes;
mod lifecycle;
mod media;
mod metrics;
mod moto;
mod realtime;
mod realtime_deepgram;
mod secrets;
mod support;
mod transcripts;
mod transcripts_deepgram;
mod webhooks;

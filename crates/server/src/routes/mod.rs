//! HTTP handlers, one module per resource.

pub mod accounts;
pub mod bots;
pub mod health;
pub mod keys;
pub mod wire;

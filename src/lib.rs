//! A weapons marking and record-keeping registry: see README.md and docs/.

pub mod accounts;
pub mod audit;
pub mod auth;
pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod events;
pub mod firearms;
pub mod holders;
pub mod housekeeping;
pub mod http;
pub mod input;
pub mod openapi;
pub mod progress;
pub mod reports;
pub mod startup;
pub mod stockpiles;
pub mod telemetry;
pub mod tls;
pub mod trace;
pub mod webhooks;
pub mod witness;

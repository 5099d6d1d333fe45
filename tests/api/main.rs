//! Black-box tests: the real service over HTTP, on SQLite or PostgreSQL.

mod accounts;
mod audit;
mod auth;
mod cli;
mod conventions;
mod destruction;
mod firearms;
mod helpers;
mod holders;
mod idempotency;
mod import;
mod lifecycle;
mod migrations;
mod output;
mod policy;
mod reads;
mod reports;
mod rfc;
mod service;
mod stockpiles;
mod structure;
mod tlog;
mod trace;
mod trace_requests;
mod trust;
mod webhooks;

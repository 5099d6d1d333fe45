use std::sync::Arc;

use crate::audit::reads::ReadLog;
use crate::audit::sequencer::AuditLog;
use crate::auth::TokenKeys;
use crate::config::Settings;
use crate::db::Pool;
use crate::http::metrics::Metrics;

/// What every handler may reach, shared across workers.
pub struct AppState {
    pub pool: Pool,
    /// Hot standbys for reads that can stand a moment's lag, if any.
    pub replicas: Option<Arc<crate::db::replica::Replicas>>,
    pub tokens: TokenKeys,
    pub settings: Settings,
    pub metrics: Metrics,
    pub audit: Arc<AuditLog>,
    /// Where reads of registry data are recorded.
    pub reads: Arc<ReadLog>,
    /// The witnesses that cosign the log's heads, if any.
    pub witnesses: Option<Arc<crate::audit::witnessing::Witnesses>>,
    /// Full tiles served under `/tlog/`, kept in memory.
    pub tiles: crate::audit::tiles::Cache,
}

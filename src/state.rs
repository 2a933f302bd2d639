//! The state every service and job shares, and the one way to build it.
//!
//! A leaf: it knows the database pool, the object store and the settings,
//! and nothing about the services that use it, so any module may import it
//! without importing the server back.

use std::sync::Arc;

use crate::config::{ContentLimits, UsageCounters, WorkshopPolicy};
use crate::db::{DbPool, PooledConnection};
use crate::error::ApiResult;
use crate::outbox::admin::OutboxMetrics;
use crate::pagination::PageTokens;
use crate::storage::Storage;

/// The settings of [`AppState`] that are not connections.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// How large content may be.
    pub limits: ContentLimits,
    /// Who maintains the usage counters.
    pub usage_counters: UsageCounters,
    /// Plan caps, output limits and the session gap of the Workshop service.
    pub workshop: WorkshopPolicy,
}

/// What every service needs: the database pool, the object store and the
/// settings.
#[derive(Clone)]
pub struct AppState {
    /// Connections for RPCs and the worker.
    pub pool: DbPool,
    /// Skill content and build packs.
    pub storage: Storage,
    /// Content limits, usage counters, Workshop policy.
    pub settings: Settings,
    /// What this process's outbox workers processed.
    pub outbox_metrics: Arc<OutboxMetrics>,
    /// Signs and checks the page tokens of every List RPC.
    pub page_tokens: PageTokens,
}

impl AppState {
    /// The state over `pool` and `storage`: loads (or creates, on a new
    /// database) the page-token key. The server, the worker, the benchmark
    /// and the test harness all build their state here.
    pub async fn open(pool: DbPool, storage: Storage, settings: Settings) -> anyhow::Result<Self> {
        let page_tokens = {
            let mut conn = pool.get().await?;
            PageTokens::load_or_create(&mut conn).await?
        };
        Ok(Self {
            pool,
            storage,
            settings,
            outbox_metrics: Arc::default(),
            page_tokens,
        })
    }
}

impl AppState {
    /// A connection from the pool, or UNAVAILABLE (with RetryInfo) when
    /// none comes within the pool's timeout.
    pub async fn conn(&self) -> ApiResult<PooledConnection> {
        Ok(self.pool.get().await?)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pool", &self.pool.status())
            .field("storage", &self.storage)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

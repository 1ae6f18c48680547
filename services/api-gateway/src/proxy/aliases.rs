//! Org model aliases on the hot path: each org's aliases are loaded from Postgres on first use
//! and kept in memory for a TTL; `model_alias.changed` drops an org's entry at once on every
//! replica (see `events.rs`), so steady state reads no database.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use uuid::Uuid;

use crate::store::model_aliases;

/// Alias → target of one org.
pub type Aliases = Arc<HashMap<String, String>>;

/// The cache.
pub struct AliasCache {
    pool: PgPool,
    ttl: Duration,
    map: RwLock<HashMap<Uuid, (Aliases, Instant)>>,
    /// Bumped by every invalidation: a load that raced with one is used but not cached.
    generation: AtomicU64,
}

impl AliasCache {
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Self {
            pool,
            ttl,
            map: RwLock::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The aliases of `org`.
    ///
    /// # Errors
    /// The database could not be read (only on a miss).
    pub async fn get(&self, org: Uuid) -> sqlx::Result<Aliases> {
        if let Some((hit, at)) = self
            .map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&org)
            && at.elapsed() < self.ttl
        {
            return Ok(hit.clone());
        }
        let generation = self.generation.load(Ordering::Acquire);
        let loaded: Aliases = Arc::new(
            model_aliases::list(&self.pool, org)
                .await?
                .into_iter()
                .map(|a| (a.alias, a.target))
                .collect(),
        );
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            map.insert(org, (loaded.clone(), Instant::now()));
        }
        Ok(loaded)
    }

    /// Drops the aliases of `org`.
    pub fn invalidate(&self, org: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&org);
    }

    /// Drops everything.
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

//! Virtual keys on the hot path: HMAC of the presented key → record, from memory. A miss reads
//! Postgres once; `virtual_key.changed` events drop the entry (see `events.rs`), and a TTL bounds
//! how long a missed event can leave a stale entry.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use ipnet::IpNet;
use sqlx::PgPool;
use uuid::Uuid;

use super::limits::Limits;

/// What the proxy needs to know about a virtual key (never the key or its hash).
#[derive(Debug, Clone)]
pub struct VkeyRecord {
    pub id: Uuid,
    pub org_id: Uuid,
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub models: Vec<String>,
    pub providers: Vec<String>,
    pub cidrs: Vec<IpNet>,
    pub limits: Limits,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
    /// Set when the presented key is the one replaced by the last rotation: valid until then.
    pub previous_until: Option<DateTime<Utc>>,
}

/// Why a key is refused (all 401).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Revoked,
    Expired,
    RotatedOut,
}

impl Refusal {
    pub const fn message(self) -> &'static str {
        match self {
            Self::Unknown => "invalid virtual key",
            Self::Revoked => "this virtual key has been revoked",
            Self::Expired => "this virtual key has expired",
            Self::RotatedOut => "this virtual key was rotated and its grace period is over",
        }
    }
}

impl VkeyRecord {
    /// Whether the key may be used at `now`.
    pub fn usable(&self, now: DateTime<Utc>) -> Result<(), Refusal> {
        if self.revoked {
            return Err(Refusal::Revoked);
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(Refusal::Expired);
        }
        if self.previous_until.is_some_and(|e| e <= now) {
            return Err(Refusal::RotatedOut);
        }
        Ok(())
    }

    /// Whether the client address is allowed (no ranges: any).
    pub fn ip_allowed(&self, ip: Option<IpAddr>) -> bool {
        self.cidrs.is_empty() || ip.is_some_and(|ip| self.cidrs.iter().any(|n| n.contains(&ip)))
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    org_id: Uuid,
    team_id: Option<Uuid>,
    project_id: Option<Uuid>,
    user_id: Option<Uuid>,
    models: Vec<String>,
    providers: Vec<String>,
    allowed_cidrs: Vec<String>,
    rpm: Option<i32>,
    tpm: Option<i32>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    current: bool,
    previous_expires_at: Option<DateTime<Utc>>,
}

impl From<Row> for VkeyRecord {
    fn from(r: Row) -> Self {
        let cidrs = r
            .allowed_cidrs
            .iter()
            .filter_map(|c| {
                c.parse::<IpNet>()
                    .ok()
                    .or_else(|| c.parse::<IpAddr>().ok().map(IpNet::from))
            })
            .collect();
        let limit = |v: Option<i32>| v.and_then(|n| u32::try_from(n).ok()).filter(|n| *n > 0);
        Self {
            id: r.id,
            org_id: r.org_id,
            team_id: r.team_id,
            project_id: r.project_id,
            user_id: r.user_id,
            models: r.models,
            providers: r.providers,
            cidrs,
            limits: Limits {
                rpm: limit(r.rpm),
                tpm: limit(r.tpm),
            },
            expires_at: r.expires_at,
            revoked: r.revoked_at.is_some(),
            // A previous key without an end is not valid (the column pair is set together).
            previous_until: (!r.current).then(|| r.previous_expires_at.unwrap_or_default()),
        }
    }
}

struct Entry {
    record: Option<Arc<VkeyRecord>>,
    loaded: Instant,
}

impl Entry {
    /// Whether the entry may still be used: a key for `ttl`, an unknown key for `negative_ttl`.
    fn live(&self, ttl: Duration, negative_ttl: Duration) -> bool {
        let ttl = if self.record.is_some() {
            ttl
        } else {
            negative_ttl
        };
        self.loaded.elapsed() < ttl
    }
}

/// Entries before the first sweep of expired ones. Every presented key that is not a virtual
/// key leaves an unknown-key entry, so without sweeps a client sending made-up keys would grow
/// the map forever.
const SWEEP_AT: usize = 65_536;

/// The cached entries, swept of expired ones whenever they double.
struct Entries {
    map: HashMap<[u8; 32], Entry>,
    /// Size at which the next insert sweeps first.
    sweep_at: usize,
}

impl Default for Entries {
    fn default() -> Self {
        Self {
            map: HashMap::new(),
            sweep_at: SWEEP_AT,
        }
    }
}

impl Entries {
    /// Caches `entry`, after dropping the expired entries when the map is due for a sweep. The
    /// map then stays within twice its live entries (or `SWEEP_AT`): the real keys seen within
    /// `ttl` and the unknown ones seen within `negative_ttl`, and each sweep is paid for by as
    /// many inserts as the map held.
    fn insert(&mut self, hash: [u8; 32], entry: Entry, ttl: Duration, negative_ttl: Duration) {
        if self.map.len() >= self.sweep_at && !self.map.contains_key(&hash) {
            self.map.retain(|_, e| e.live(ttl, negative_ttl));
            self.sweep_at = (self.map.len() * 2).max(SWEEP_AT);
        }
        self.map.insert(hash, entry);
    }
}

/// The cache.
pub struct VkeyCache {
    pool: PgPool,
    ttl: Duration,
    negative_ttl: Duration,
    map: RwLock<Entries>,
    /// Bumped by every invalidation: a load that raced one is not cached.
    generation: AtomicU64,
}

/// Database trouble while loading a key (answered 503, never logged with the key).
#[derive(Debug, thiserror::Error)]
#[error("virtual key lookup failed: {0}")]
pub struct LookupError(String);

impl VkeyCache {
    pub fn new(pool: PgPool, ttl: Duration) -> Self {
        Self {
            pool,
            ttl,
            negative_ttl: ttl.min(Duration::from_secs(2)),
            map: RwLock::default(),
            generation: AtomicU64::new(0),
        }
    }

    /// The record of the key whose HMAC is `hash` (`None`: no such key).
    ///
    /// # Errors
    /// The database could not be read on a miss.
    pub async fn get(&self, hash: [u8; 32]) -> Result<Option<Arc<VkeyRecord>>, LookupError> {
        {
            let map = self.map.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(e) = map.map.get(&hash)
                && e.live(self.ttl, self.negative_ttl)
            {
                return Ok(e.record.clone());
            }
        }
        let generation = self.generation.load(Ordering::Acquire);
        let row: Option<Row> = sqlx::query_as(
            "SELECT id, org_id, team_id, project_id, user_id, models, providers, allowed_cidrs,
                    rpm, tpm, expires_at, revoked_at, key_hash = $1 AS current,
                    previous_expires_at
             FROM virtual_keys WHERE key_hash = $1 OR previous_key_hash = $1",
        )
        .bind(hash.as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(|e| LookupError(keyward_db::describe(&e)))?;
        let record = row.map(|r| Arc::new(VkeyRecord::from(r)));
        let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation.load(Ordering::Acquire) == generation {
            let entry = Entry {
                record: record.clone(),
                loaded: Instant::now(),
            };
            map.insert(hash, entry, self.ttl, self.negative_ttl);
        }
        Ok(record)
    }

    /// Drops every entry of virtual key `id` (and unknown-key entries: the change may have
    /// created the key they missed).
    pub fn invalidate(&self, id: Uuid) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.map
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .map
            .retain(|_, e| e.record.as_ref().is_some_and(|r| r.id != id));
    }

    /// Drops everything (events may have been missed while disconnected).
    pub fn clear(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        *self.map.write().unwrap_or_else(PoisonError::into_inner) = Entries::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash(n: usize) -> [u8; 32] {
        let mut h = [0; 32];
        h[..8].copy_from_slice(&(n as u64).to_le_bytes());
        h
    }

    fn entry(record: Option<Arc<VkeyRecord>>, age: Duration) -> Entry {
        Entry {
            record,
            loaded: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
        }
    }

    #[test]
    fn made_up_keys_do_not_grow_the_cache_forever() {
        let (ttl, negative_ttl) = (Duration::from_secs(60), Duration::from_secs(2));
        let real = Arc::new(VkeyRecord {
            id: Uuid::now_v7(),
            org_id: Uuid::now_v7(),
            team_id: None,
            project_id: None,
            user_id: None,
            models: Vec::new(),
            providers: Vec::new(),
            cidrs: Vec::new(),
            limits: Limits::default(),
            expires_at: None,
            revoked: false,
            previous_until: None,
        });
        let mut e = Entries::default();
        e.insert(
            hash(0),
            entry(Some(real), Duration::ZERO),
            ttl,
            negative_ttl,
        );
        // A flood of unknown keys, all older than the negative TTL by the time more arrive.
        for n in 1..=10 * SWEEP_AT {
            let age = negative_ttl + Duration::from_millis(1);
            e.insert(hash(n), entry(None, age), ttl, negative_ttl);
            assert!(
                e.map.len() <= SWEEP_AT + 1,
                "{} entries after {n}",
                e.map.len()
            );
        }
        assert!(e.map.contains_key(&hash(0)), "the real key stays cached");
        // Live entries are kept: the map grows past the first sweep only while they are live
        // (an hour-long TTL here, so a slow run cannot expire any).
        let mut e = Entries::default();
        let hour = Duration::from_secs(3_600);
        for n in 0..3 * SWEEP_AT {
            e.insert(hash(n), entry(None, Duration::ZERO), hour, hour);
        }
        assert_eq!(e.map.len(), 3 * SWEEP_AT);
        assert_eq!(e.sweep_at, 4 * SWEEP_AT);
    }
}

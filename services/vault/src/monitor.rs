//! Background work: KEK registration and rewrap convergence, grace expiry, key expiry, access
//! counters and anomalies, rotation/expiry notices, and jittered health checks.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, DurationRound, TimeDelta, Utc};
use keyward_proto::v1 as pb;
use rand::Rng;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::domain::{Result, Vault, VaultError};
use crate::store::{self, KeyRow, VersionRow};

/// In-memory resolve counters per key, flushed to `access_counts` by the maintenance loop.
#[derive(Default)]
pub struct Counters {
    inner: Mutex<HashMap<Uuid, KeyCounter>>,
}

#[derive(Default)]
struct KeyCounter {
    org: Uuid,
    windows: [(DateTime<Utc>, u64, u64); 3], // (window start, total count, unflushed delta)
    flagged: [bool; 3],
    last_used: Option<DateTime<Utc>>,
}

const BUCKETS: [(&str, TimeDelta); 3] = [
    ("minute", TimeDelta::minutes(1)),
    ("hour", TimeDelta::hours(1)),
    ("day", TimeDelta::days(1)),
];

impl Counters {
    /// Counts one resolve of `k`; publishes `key.access_anomaly` when a threshold is crossed.
    pub fn record(&self, vault: &Vault, k: &KeyRow) {
        let now = Utc::now();
        let t = vault.policies.thresholds(k.org_id, vault.cfg.anomaly);
        let limits = [t.per_minute, t.per_hour, t.per_day];
        let mut crossed = Vec::new();
        if let Ok(mut map) = self.inner.lock() {
            let c = map.entry(k.id).or_default();
            c.org = k.org_id;
            c.last_used = Some(now);
            for (i, (name, len)) in BUCKETS.iter().enumerate() {
                let start = now.duration_trunc(*len).unwrap_or(now);
                let w = &mut c.windows[i];
                if w.0 != start {
                    *w = (start, 0, 0);
                    c.flagged[i] = false;
                }
                w.1 += 1;
                w.2 += 1;
                if w.1 > limits[i] && !c.flagged[i] {
                    c.flagged[i] = true;
                    crossed.push((*name, w.1, limits[i]));
                }
            }
        }
        for (window, count, threshold) in crossed {
            tracing::warn!(key_id = %k.id, window, count, threshold, "key access anomaly");
            vault.domain_event(
                k.org_id,
                pb::domain_event::Payload::KeyAccessAnomaly(pb::KeyAccessAnomaly {
                    key_id: k.id.to_string(),
                    window: window.into(),
                    count,
                    threshold,
                }),
            );
            let pool = vault.pool.clone();
            let id = k.id;
            // Flagging is best effort and off the resolve path.
            tokio::spawn(async move {
                let _ = sqlx::query("UPDATE secrets SET access_flagged = true WHERE id = $1")
                    .bind(id)
                    .execute(&pool)
                    .await;
            });
        }
    }

    /// Writes unflushed counts and last-used times.
    async fn flush(&self, pool: &sqlx::PgPool) -> sqlx::Result<()> {
        let pending: Vec<Pending> = match self.inner.lock() {
            Ok(mut map) => map
                .iter_mut()
                .filter(|(_, c)| c.windows.iter().any(|w| w.2 > 0))
                .map(|(id, c)| {
                    let deltas = BUCKETS
                        .iter()
                        .zip(c.windows.iter_mut())
                        .filter(|(_, w)| w.2 > 0)
                        .map(|((name, _), w)| {
                            let d = std::mem::take(&mut w.2);
                            (*name, w.0, i64::try_from(d).unwrap_or(i64::MAX))
                        })
                        .collect();
                    (*id, c.last_used, deltas)
                })
                .collect(),
            Err(_) => return Ok(()),
        };
        for (id, last_used, deltas) in pending {
            for (bucket, start, delta) in deltas {
                sqlx::query(
                    "INSERT INTO access_counts (secret_id, bucket, window_start, count) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (secret_id, bucket, window_start) DO UPDATE SET count = access_counts.count + excluded.count",
                )
                .bind(id)
                .bind(bucket)
                .bind(start)
                .bind(delta)
                .execute(pool)
                .await?;
            }
            sqlx::query(
                "UPDATE secrets SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1",
            )
            .bind(id)
            .bind(last_used)
            .execute(pool)
            .await?;
        }
        Ok(())
    }
}

/// A key's unflushed counts: (key, last used, [(bucket, window start, delta)]).
type Pending = (
    Uuid,
    Option<DateTime<Utc>>,
    Vec<(&'static str, DateTime<Utc>, i64)>,
);

/// Runs until shutdown: registers KEK versions, then maintenance and health checks.
pub async fn run(vault: Arc<Vault>, shutdown: CancellationToken) -> Result<(), VaultError> {
    // Registration needs the database; keep trying (readiness reports it missing meanwhile).
    loop {
        match register_keks(&vault).await {
            Ok(()) => break,
            Err(VaultError::Precondition(msg)) => return Err(VaultError::Precondition(msg)),
            Err(e) => {
                tracing::warn!(error = %e, "waiting for the database to register KEK versions")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
    }
    vault
        .keks_registered
        .store(true, std::sync::atomic::Ordering::Release);
    let health = tokio::spawn(health_loop(vault.clone(), shutdown.clone()));
    let period = Duration::from_secs(vault.cfg.maintenance_interval_secs.max(1));
    loop {
        if let Err(e) = maintain(&vault).await {
            tracing::warn!(error = %e, "vault maintenance pass failed; retrying next pass");
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tokio::time::sleep(period) => {}
        }
    }
    let _ = vault.counters.flush(&vault.pool).await;
    health.abort();
    Ok(())
}

/// Registers every configured KEK version; a version whose key differs from the stored
/// fingerprint stops the vault (it would fail every open).
pub async fn register_keks(vault: &Vault) -> Result<()> {
    let provider = vault.keys.provider();
    for version in provider.versions() {
        let kek = provider
            .kek(version)
            .map_err(|e| VaultError::Internal(e.to_string()))?;
        let v = i32::try_from(version)
            .map_err(|_| VaultError::Precondition("KEK version too large".into()))?;
        store::register_kek(&vault.pool, v, &crate::kek::kek_fingerprint(&kek))
            .await?
            .map_err(VaultError::Precondition)?;
    }
    Ok(())
}

/// One maintenance pass.
pub async fn maintain(vault: &Vault) -> Result<()> {
    vault.policies.refresh(&vault.pool).await?;
    vault.counters.flush(&vault.pool).await?;
    // Grace over: the replaced version is revoked and erased.
    sqlx::query(
        "UPDATE secret_versions SET state = 'erased', ciphertext = NULL, nonce = NULL, wrapped_dek = NULL, \
         dek_nonce = NULL, kek_version = NULL WHERE state = 'grace' AND grace_until <= now()",
    )
    .execute(&vault.pool)
    .await?;
    // Expired keys.
    let expired: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "UPDATE secrets SET status = 'expired', updated_at = now() WHERE status = 'active' \
         AND expires_at IS NOT NULL AND expires_at <= now() RETURNING id, org_id",
    )
    .fetch_all(&vault.pool)
    .await?;
    for (id, org) in expired {
        vault.domain_event(
            org,
            pb::domain_event::Payload::KeyRevoked(pb::KeyRevoked {
                key_id: id.to_string(),
            }),
        );
    }
    notices(vault).await?;
    converge_rewrap(vault, 500).await?;
    Ok(())
}

async fn notices(vault: &Vault) -> Result<()> {
    let warn = i32::try_from(vault.cfg.rotation_warn_days).unwrap_or(60);
    let due = i32::try_from(vault.cfg.rotation_due_days).unwrap_or(90);
    // rotation_notice: 0 none, 1 warned, 2 due. Each level is announced once per rotation.
    let rows: Vec<(Uuid, Uuid, i32, i16)> = sqlx::query_as(
        "UPDATE secrets s SET rotation_notice = n.level FROM ( \
           SELECT s.id, CASE WHEN now() - s.rotated_at >= make_interval(days => LEAST(s.rotation_period_days, COALESCE(o.rotation_due_days, $2))) THEN 2 \
                             WHEN now() - s.rotated_at >= make_interval(days => COALESCE(o.rotation_warn_days, $1)) THEN 1 ELSE 0 END AS level \
           FROM secrets s LEFT JOIN org_settings o ON o.org_id = s.org_id WHERE s.status = 'active' AND s.kind = 'provider_key') n \
         WHERE s.id = n.id AND n.level > s.rotation_notice \
         RETURNING s.id, s.org_id, EXTRACT(day FROM now() - s.rotated_at)::int, n.level::int2",
    )
    .bind(warn)
    .bind(due)
    .fetch_all(&vault.pool)
    .await?;
    for (id, org, age, level) in rows {
        vault.domain_event(
            org,
            pb::domain_event::Payload::KeyRotationDue(pb::KeyRotationDue {
                key_id: id.to_string(),
                age_days: u32::try_from(age).unwrap_or(0),
                overdue: level >= 2,
            }),
        );
    }
    let days = i32::try_from(vault.cfg.expiry_warn_days).unwrap_or(14);
    let expiring: Vec<(Uuid, Uuid, DateTime<Utc>)> = sqlx::query_as(
        "UPDATE secrets SET expiry_notice_sent = true WHERE status = 'active' AND kind = 'provider_key' AND NOT expiry_notice_sent \
         AND expires_at IS NOT NULL AND expires_at <= now() + make_interval(days => $1) \
         RETURNING id, org_id, expires_at",
    )
    .bind(days)
    .fetch_all(&vault.pool)
    .await?;
    for (id, org, at) in expiring {
        vault.domain_event(
            org,
            pb::domain_event::Payload::KeyExpiring(pb::KeyExpiring {
                key_id: id.to_string(),
                expires_at: Some(crate::domain::to_ts(at)),
            }),
        );
    }
    Ok(())
}

/// Rewraps data keys still under an older KEK version, in batches, until none is left; then
/// retires the versions nothing references. Idempotent, and safe with several running at once:
/// each batch locks its rows (`SKIP LOCKED`) and an update only applies to the version it read.
pub async fn converge_rewrap(vault: &Vault, batch: i64) -> Result<u64> {
    let provider = vault.keys.provider();
    let current = i32::try_from(provider.current_version()).unwrap_or(i32::MAX);
    let mut total = 0u64;
    loop {
        let mut tx = vault.pool.begin().await?;
        let rows: Vec<(VersionRow, Uuid, String)> = sqlx::query_as::<_, VersionRowWithKey>(
            "SELECT v.secret_id, v.version, v.state, v.grace_until, v.ciphertext, v.nonce, v.wrapped_dek, \
             v.dek_nonce, v.kek_version, s.org_id, s.provider \
             FROM secret_versions v JOIN secrets s ON s.id = v.secret_id \
             WHERE v.ciphertext IS NOT NULL AND v.kek_version <> $1 \
             ORDER BY v.secret_id, v.version LIMIT $2 FOR UPDATE OF v SKIP LOCKED",
        )
        .bind(current)
        .bind(batch)
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .map(|r| (r.v, r.org_id, r.provider))
        .collect();
        if rows.is_empty() {
            tx.commit().await?;
            break;
        }
        for (v, org, provider_id) in &rows {
            let Some(sealed) = v.sealed() else { continue };
            let (org_s, id_s) = (org.to_string(), v.secret_id.to_string());
            let aad = keyward_crypto::Aad::new(
                &org_s,
                &id_s,
                provider_id,
                u32::try_from(v.version).unwrap_or(0),
            );
            let wraps = store::count_wrap(&mut tx, current).await?;
            keyward_crypto::check_wrap_budget(u64::try_from(wraps).unwrap_or(u64::MAX))
                .map_err(|e| VaultError::Precondition(e.to_string()))?;
            let re = keyward_crypto::rewrap(
                provider.as_ref(),
                &aad,
                &sealed,
                u32::try_from(current).unwrap_or(0),
            )
            .map_err(|e| VaultError::Internal(format!("rewrap of {id_s} v{}: {e}", v.version)))?;
            sqlx::query(
                "UPDATE secret_versions SET wrapped_dek = $3, dek_nonce = $4, kek_version = $5 \
                 WHERE secret_id = $1 AND version = $2 AND kek_version = $6",
            )
            .bind(v.secret_id)
            .bind(v.version)
            .bind(re.wrapped_dek.as_slice())
            .bind(re.dek_nonce.as_slice())
            .bind(current)
            .bind(v.kek_version)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        total += rows.len() as u64;
    }
    // Converged: retire versions no sealed row uses any more.
    sqlx::query(
        "UPDATE kek_versions k SET state = 'retired', retired_at = now() WHERE k.state = 'active' AND k.version <> $1 \
         AND NOT EXISTS (SELECT 1 FROM secret_versions v WHERE v.kek_version = k.version)",
    )
    .bind(current)
    .execute(&vault.pool)
    .await?;
    if total > 0 {
        tracing::info!(rewrapped = total, kek_version = current, "rewrap converged");
    }
    Ok(total)
}

#[derive(sqlx::FromRow)]
struct VersionRowWithKey {
    #[sqlx(flatten)]
    v: VersionRow,
    org_id: Uuid,
    provider: String,
}

/// Validates every active provider key once per interval, spread out with jitter.
async fn health_loop(vault: Arc<Vault>, shutdown: CancellationToken) {
    let interval = Duration::from_secs(vault.cfg.health_check_interval_secs.max(60));
    loop {
        let keys: Vec<(Uuid, Uuid)> = sqlx::query_as(
            "SELECT id, org_id FROM secrets WHERE status = 'active' AND kind = 'provider_key'",
        )
        .fetch_all(&vault.pool)
        .await
        .unwrap_or_default();
        let slot = interval / u32::try_from(keys.len().max(1)).unwrap_or(u32::MAX);
        for (id, org) in keys {
            let jitter = rand::rng().random_range(0..=slot.as_millis().max(1) as u64);
            tokio::select! {
                () = shutdown.cancelled() => return,
                () = tokio::time::sleep(Duration::from_millis(jitter)) => {}
            }
            let r = pb::KeyRef {
                ctx: None,
                org_id: org.to_string(),
                key_id: id.to_string(),
            };
            if let Err(e) = vault.validate(&r).await {
                tracing::debug!(key_id = %id, error = %e, "scheduled health check skipped");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(slot.max(Duration::from_secs(1))) => {}
        }
    }
}

/// Advisory lock key of KEK rotation (`keyward.vault.rotate_kek`).
const ROTATE_KEK_LOCK: i64 = 0x6b77_766b_726f_7431;

impl Vault {
    /// `RotateKek`: adds a KEK version (file-backed vaults) unless the configuration already
    /// holds a version newer than the data uses, then rewraps every data key to it.
    ///
    /// Rotations are serialized across every replica by a Postgres advisory lock held on one
    /// connection for the whole run: two at once would otherwise both add a version, and one
    /// would rewrap to a version the other had not registered yet.
    pub async fn rotate_kek(
        &self,
        ctx: Option<&pb::RequestContext>,
    ) -> Result<(u32, u64, Vec<u32>)> {
        let mut lock = self.pool.acquire().await?;
        sqlx::query("SELECT pg_advisory_lock($1)")
            .bind(ROTATE_KEK_LOCK)
            .execute(&mut *lock)
            .await?;
        let result = self.rotate_kek_locked(ctx).await;
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(ROTATE_KEK_LOCK)
            .execute(&mut *lock)
            .await;
        if unlocked.is_err() {
            // Never hand a connection that may still hold the lock back to the pool.
            drop(lock.detach());
        }
        result
    }

    async fn rotate_kek_locked(
        &self,
        ctx: Option<&pb::RequestContext>,
    ) -> Result<(u32, u64, Vec<u32>)> {
        self.keys.reload().map_err(VaultError::Precondition)?;
        let in_use: Option<i32> = sqlx::query_scalar(
            "SELECT max(kek_version) FROM secret_versions WHERE ciphertext IS NOT NULL",
        )
        .fetch_one(&self.pool)
        .await?;
        let current = self.keys.provider().current_version();
        let needs_new = in_use.is_none_or(|v| i64::from(v) >= i64::from(current));
        if needs_new {
            self.keys.add_version().map_err(VaultError::Precondition)?;
        }
        register_keks(self).await?;
        let before: Vec<i32> =
            sqlx::query_scalar("SELECT version FROM kek_versions WHERE state = 'retired'")
                .fetch_all(&self.pool)
                .await?;
        let rewrapped = converge_rewrap(self, 500).await?;
        let retired: Vec<u32> = sqlx::query_scalar::<_, i32>(
            "SELECT version FROM kek_versions WHERE state = 'retired' ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .filter(|v| !before.contains(v))
        .filter_map(|v| u32::try_from(v).ok())
        .collect();
        let new_version = self.keys.provider().current_version();
        let mut event = crate::audit::event(
            ctx,
            &Uuid::nil().to_string(),
            "rotate_kek",
            "",
            "success",
            "",
        );
        event.action = "vault.rotate_kek".into();
        event.resource_type = "kek".into();
        event.resource_id = new_version.to_string();
        self.audit(event).await;
        Ok((new_version, rewrapped, retired))
    }
}

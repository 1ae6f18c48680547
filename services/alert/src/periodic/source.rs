//! Where periodic rules read usage: the [`MetricsSource`] trait, its Postgres implementation over
//! the usage service's tables, and an in-memory one for tests and demos.

use std::sync::Mutex;

use chrono::{DateTime, DurationRound as _, Utc};
use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::conditions::GroupBy;
use crate::model::RuleScope;

/// The shared part of the call statistics query (a literal, for `concat!`).
macro_rules! call_stats_tail {
    () => {
        "count(*)::bigint AS requests, count(*) FILTER (WHERE status <> 'ok')::bigint AS errors, \
         percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms)::float8 AS p95 \
         FROM usage.events WHERE org_id = $1 AND ts >= $2 AND ts < $3 \
         AND ($4::uuid IS NULL OR team_id = $4) AND ($5::uuid IS NULL OR project_id = $5) \
         AND ($6::uuid IS NULL OR user_id = $6) AND ($7::uuid IS NULL OR virtual_key_id = $7) \
         GROUP BY 1 HAVING count(*) > 0"
    };
}

/// Why usage data could not be read. Periodic rules neither fire nor resolve then.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The tables are missing or the alert role may not read them (see docs/alerts.md).
    #[error("usage data unavailable: {0}")]
    Unavailable(String),
    #[error("usage query failed: {0}")]
    Failed(String),
}

/// Calls of one provider or provider key over a window.
#[derive(Clone, Debug, PartialEq)]
pub struct CallStats {
    /// The provider name or provider key id.
    pub group: String,
    pub requests: u64,
    pub errors: u64,
    pub p95_latency_ms: Option<f64>,
}

/// Read-only access to usage, as periodic rules need it.
#[tonic::async_trait]
pub trait MetricsSource: Send + Sync {
    /// Spend (micro-dollars) per hour starting in [`from`, `to`), oldest first; hours without
    /// spend may be absent.
    async fn hourly_spend(
        &self,
        org: Uuid,
        scope: &RuleScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, i64)>, SourceError>;

    /// Calls in [`from`, `to`) grouped by provider or provider key.
    async fn call_stats(
        &self,
        org: Uuid,
        scope: &RuleScope,
        group_by: GroupBy,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CallStats>, SourceError>;
}

/// The usage service's tables in the same database: `usage.rollup_hourly` for spend and
/// `usage.events` for calls (the p95 needs individual latencies). Needs
/// `GRANT USAGE ON SCHEMA usage` and `GRANT SELECT` on both tables to `keyward_alert`.
pub struct PgSource {
    pool: PgPool,
}

impl PgSource {
    /// Reads through `pool` (the alert role's).
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn classify(e: sqlx::Error) -> SourceError {
    match &e {
        // undefined_table, undefined_column, insufficient_privilege, invalid_schema_name
        sqlx::Error::Database(db)
            if matches!(
                db.code().as_deref(),
                Some("42P01" | "42703" | "42501" | "3F000")
            ) =>
        {
            SourceError::Unavailable(db.message().to_string())
        }
        _ => SourceError::Failed(keyward_db::describe(&e)),
    }
}

#[tonic::async_trait]
impl MetricsSource for PgSource {
    async fn hourly_spend(
        &self,
        org: Uuid,
        scope: &RuleScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, i64)>, SourceError> {
        let rows = sqlx::query(
            "SELECT bucket, sum(cost_micros)::bigint AS spend FROM usage.rollup_hourly \
             WHERE org_id = $1 AND bucket >= $2 AND bucket < $3 \
             AND ($4::uuid IS NULL OR team_id = $4) AND ($5::uuid IS NULL OR project_id = $5) \
             AND ($6::uuid IS NULL OR user_id = $6) AND ($7::uuid IS NULL OR virtual_key_id = $7) \
             GROUP BY bucket ORDER BY bucket",
        )
        .bind(org)
        .bind(from)
        .bind(to)
        .bind(scope.team_id)
        .bind(scope.project_id)
        .bind(scope.user_id)
        .bind(scope.virtual_key_id)
        .fetch_all(&self.pool)
        .await
        .map_err(classify)?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("bucket")?,
                    r.try_get::<Option<i64>, _>("spend")?.unwrap_or(0),
                ))
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(classify)
    }

    async fn call_stats(
        &self,
        org: Uuid,
        scope: &RuleScope,
        group_by: GroupBy,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CallStats>, SourceError> {
        let sql = match group_by {
            GroupBy::Provider => concat!("SELECT provider AS grp, ", call_stats_tail!()),
            GroupBy::ProviderKey => {
                concat!("SELECT provider_key_id::text AS grp, ", call_stats_tail!())
            }
        };
        let rows = sqlx::query(sql)
            .bind(org)
            .bind(from)
            .bind(to)
            .bind(scope.team_id)
            .bind(scope.project_id)
            .bind(scope.user_id)
            .bind(scope.virtual_key_id)
            .fetch_all(&self.pool)
            .await
            .map_err(classify)?;
        rows.iter()
            .map(|r| {
                Ok(CallStats {
                    group: r.try_get::<Option<String>, _>("grp")?.unwrap_or_default(),
                    requests: u64::try_from(r.try_get::<i64, _>("requests")?).unwrap_or(0),
                    errors: u64::try_from(r.try_get::<i64, _>("errors")?).unwrap_or(0),
                    p95_latency_ms: r.try_get("p95")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(classify)
    }
}

/// Usage held in memory: spend per hour and individual calls.
#[derive(Default)]
pub struct MemorySource {
    spend: Mutex<Vec<(Uuid, DateTime<Utc>, i64)>>,
    calls: Mutex<Vec<MemoryCall>>,
}

/// One call in a [`MemorySource`].
#[derive(Clone, Debug)]
pub struct MemoryCall {
    pub org: Uuid,
    pub at: DateTime<Utc>,
    pub provider: String,
    pub key_id: String,
    pub ok: bool,
    pub latency_ms: u32,
}

impl MemorySource {
    /// Adds spend at `at` (rolled into its hour).
    pub fn add_spend(&self, org: Uuid, at: DateTime<Utc>, micros: i64) {
        let hour = at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(at);
        if let Ok(mut s) = self.spend.lock() {
            s.push((org, hour, micros));
        }
    }

    /// Adds a call.
    pub fn add_call(&self, call: MemoryCall) {
        if let Ok(mut c) = self.calls.lock() {
            c.push(call);
        }
    }

    /// Forgets every call (spend stays).
    pub fn clear_calls(&self) {
        if let Ok(mut c) = self.calls.lock() {
            c.clear();
        }
    }
}

#[tonic::async_trait]
impl MetricsSource for MemorySource {
    async fn hourly_spend(
        &self,
        org: Uuid,
        _scope: &RuleScope,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(DateTime<Utc>, i64)>, SourceError> {
        let s = self
            .spend
            .lock()
            .map_err(|_| SourceError::Failed("poisoned".into()))?;
        let mut by_hour = std::collections::BTreeMap::new();
        for (o, h, m) in s.iter() {
            if *o == org && *h >= from && *h < to {
                *by_hour.entry(*h).or_insert(0i64) += m;
            }
        }
        Ok(by_hour.into_iter().collect())
    }

    async fn call_stats(
        &self,
        org: Uuid,
        _scope: &RuleScope,
        group_by: GroupBy,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<CallStats>, SourceError> {
        let c = self
            .calls
            .lock()
            .map_err(|_| SourceError::Failed("poisoned".into()))?;
        let mut groups: std::collections::BTreeMap<String, Vec<&MemoryCall>> = Default::default();
        for call in c
            .iter()
            .filter(|c| c.org == org && c.at >= from && c.at < to)
        {
            let g = match group_by {
                GroupBy::Provider => call.provider.clone(),
                GroupBy::ProviderKey => call.key_id.clone(),
            };
            groups.entry(g).or_default().push(call);
        }
        Ok(groups
            .into_iter()
            .map(|(group, calls)| {
                let mut lat: Vec<f64> = calls.iter().map(|c| f64::from(c.latency_ms)).collect();
                lat.sort_by(f64::total_cmp);
                CallStats {
                    group,
                    requests: calls.len() as u64,
                    errors: calls.iter().filter(|c| !c.ok).count() as u64,
                    p95_latency_ms: super::spike::percentile(&lat, 0.95),
                }
            })
            .collect())
    }
}

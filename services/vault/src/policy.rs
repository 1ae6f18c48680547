//! Per-org monitoring policy: anomaly thresholds and rotation ages, over the service defaults.

use std::collections::HashMap;
use std::sync::RwLock;

use keyward_proto::v1 as pb;
use uuid::Uuid;

use crate::config::{AnomalyThresholds, Config};
use crate::domain::{Result, Vault, VaultError, parse_id};

/// An org's overrides (`None` = service default).
#[derive(Clone, Copy, Debug, Default, sqlx::FromRow)]
pub struct OrgOverrides {
    pub resolves_per_minute: Option<i64>,
    pub resolves_per_hour: Option<i64>,
    pub resolves_per_day: Option<i64>,
    pub rotation_warn_days: Option<i32>,
    pub rotation_due_days: Option<i32>,
}

/// Overrides cached in memory (read on every resolve), refreshed by maintenance and on change.
#[derive(Default)]
pub struct Policies {
    inner: RwLock<HashMap<Uuid, OrgOverrides>>,
}

fn pick(v: Option<i64>, default: u64) -> u64 {
    v.and_then(|v| u64::try_from(v).ok())
        .filter(|v| *v > 0)
        .unwrap_or(default)
}

impl Policies {
    /// The anomaly thresholds in force for `org`.
    pub fn thresholds(&self, org: Uuid, defaults: AnomalyThresholds) -> AnomalyThresholds {
        let o = self
            .inner
            .read()
            .ok()
            .and_then(|m| m.get(&org).copied())
            .unwrap_or_default();
        AnomalyThresholds {
            per_minute: pick(o.resolves_per_minute, defaults.per_minute),
            per_hour: pick(o.resolves_per_hour, defaults.per_hour),
            per_day: pick(o.resolves_per_day, defaults.per_day),
        }
    }

    /// Reloads every org's overrides.
    pub async fn refresh(&self, pool: &sqlx::PgPool) -> sqlx::Result<()> {
        let rows: Vec<(Uuid, OrgOverrides)> = sqlx::query_as::<_, OrgRow>(
            "SELECT org_id, resolves_per_minute, resolves_per_hour, resolves_per_day, rotation_warn_days, \
             rotation_due_days FROM org_settings",
        )
        .fetch_all(pool)
        .await?
        .into_iter()
        .map(|r| (r.org_id, r.o))
        .collect();
        if let Ok(mut m) = self.inner.write() {
            *m = rows.into_iter().collect();
        }
        Ok(())
    }
}

#[derive(sqlx::FromRow)]
struct OrgRow {
    org_id: Uuid,
    #[sqlx(flatten)]
    o: OrgOverrides,
}

fn effective(org: Uuid, o: OrgOverrides, cfg: &Config) -> pb::OrgPolicy {
    let t = AnomalyThresholds {
        per_minute: pick(o.resolves_per_minute, cfg.anomaly.per_minute),
        per_hour: pick(o.resolves_per_hour, cfg.anomaly.per_hour),
        per_day: pick(o.resolves_per_day, cfg.anomaly.per_day),
    };
    let days = |v: Option<i32>, d: u32| {
        v.and_then(|v| u32::try_from(v).ok())
            .filter(|v| *v > 0)
            .unwrap_or(d)
    };
    pb::OrgPolicy {
        org_id: org.to_string(),
        resolves_per_minute: t.per_minute,
        resolves_per_hour: t.per_hour,
        resolves_per_day: t.per_day,
        rotation_warn_days: days(o.rotation_warn_days, cfg.rotation_warn_days),
        rotation_due_days: days(o.rotation_due_days, cfg.rotation_due_days),
    }
}

fn opt_i64(v: u64) -> Result<Option<i64>> {
    match v {
        0 => Ok(None),
        v => i64::try_from(v)
            .map(Some)
            .map_err(|_| VaultError::Invalid("threshold too large".into())),
    }
}

fn opt_days(field: &str, v: u32) -> Result<Option<i32>> {
    match v {
        0 => Ok(None),
        1..=3650 => Ok(Some(i32::try_from(v).unwrap_or(3650))),
        _ => Err(VaultError::Invalid(format!(
            "{field} must be 1 to 3650 days (0 = default)"
        ))),
    }
}

impl Vault {
    /// `GetOrgPolicy`: the effective policy of an org.
    pub async fn org_policy(&self, org: &str) -> Result<pb::OrgPolicy> {
        let org = parse_id("org_id", org)?;
        let o: Option<OrgOverrides> = sqlx::query_as(
            "SELECT resolves_per_minute, resolves_per_hour, resolves_per_day, rotation_warn_days, rotation_due_days \
             FROM org_settings WHERE org_id = $1",
        )
        .bind(org)
        .fetch_optional(&self.pool)
        .await?;
        Ok(effective(org, o.unwrap_or_default(), &self.cfg))
    }

    /// `SetOrgPolicy`: stores an org's overrides (0 = default) and applies them at once.
    pub async fn set_org_policy(&self, req: &pb::SetOrgPolicyRequest) -> Result<pb::OrgPolicy> {
        let p = req
            .policy
            .as_ref()
            .ok_or_else(|| VaultError::Invalid("policy is required".into()))?;
        let org = parse_id("policy.org_id", &p.org_id)?;
        let warn = opt_days("policy.rotation_warn_days", p.rotation_warn_days)?;
        let due = opt_days("policy.rotation_due_days", p.rotation_due_days)?;
        if let (Some(w), Some(d)) = (warn, due)
            && w > d
        {
            return Err(VaultError::Invalid(
                "policy.rotation_warn_days must not exceed rotation_due_days".into(),
            ));
        }
        sqlx::query(
            "INSERT INTO org_settings (org_id, resolves_per_minute, resolves_per_hour, resolves_per_day, \
             rotation_warn_days, rotation_due_days) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (org_id) DO UPDATE SET resolves_per_minute = excluded.resolves_per_minute, \
             resolves_per_hour = excluded.resolves_per_hour, resolves_per_day = excluded.resolves_per_day, \
             rotation_warn_days = excluded.rotation_warn_days, rotation_due_days = excluded.rotation_due_days, \
             updated_at = now()",
        )
        .bind(org)
        .bind(opt_i64(p.resolves_per_minute)?)
        .bind(opt_i64(p.resolves_per_hour)?)
        .bind(opt_i64(p.resolves_per_day)?)
        .bind(warn)
        .bind(due)
        .execute(&self.pool)
        .await?;
        self.policies.refresh(&self.pool).await?;
        let mut event = crate::audit::event(
            req.ctx.as_ref(),
            &org.to_string(),
            "set_policy",
            "",
            "success",
            "",
        );
        event.action = "vault.set_org_policy".into();
        event.resource_type = "vault_policy".into();
        event.resource_id = org.to_string();
        event.after_json = serde_json::json!({
            "resolves_per_minute": p.resolves_per_minute, "resolves_per_hour": p.resolves_per_hour,
            "resolves_per_day": p.resolves_per_day, "rotation_warn_days": p.rotation_warn_days,
            "rotation_due_days": p.rotation_due_days,
        })
        .to_string();
        self.audit(event).await;
        self.org_policy(&org.to_string()).await
    }
}

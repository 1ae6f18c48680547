//! Rules: create, replace, read, delete, list (a new org gets its defaults first).

use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;
use serde_json::json;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Api, audit_change, org_id, who};
use crate::conditions::Conditions;
use crate::defaults::{self, DEDUP_WINDOW_SECS};
use crate::error::{AlertError, Result, parse_id, parse_opt_id};
use crate::lifecycle::{self, Action};
use crate::model::{Rule, RuleScope, RuleType, Severity, Silence};
use crate::store::{alerts, channels, rules};

const MAX_ESCALATE_SECS: u32 = 7 * 24 * 3600;
const MAX_DEDUP_SECS: u32 = 30 * 24 * 3600;

fn invalid(m: impl Into<String>) -> AlertError {
    AlertError::Invalid(m.into())
}

fn ids(field: &str, values: &[String]) -> Result<Vec<Uuid>> {
    if values.len() > 20 {
        return Err(invalid(format!("{field} may list at most 20 channels")));
    }
    let mut out: Vec<Uuid> = Vec::with_capacity(values.len());
    for v in values {
        let id = parse_id(field, v)?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

fn seconds(secs: u32, minutes: u32) -> u32 {
    if secs > 0 {
        secs
    } else {
        minutes.saturating_mul(60)
    }
}

fn ts(t: Option<&prost_types::Timestamp>, field: &str) -> Result<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0)))
        .ok_or_else(|| invalid(format!("{field} is required")))
}

/// Checks a rule from the API. `existing` keeps id, type, origin and creation time on update.
pub fn parse_rule(p: &pb::AlertRule, org: Uuid, existing: Option<&Rule>) -> Result<Rule> {
    let name = p.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(invalid("name must be 1 to 200 characters"));
    }
    let rule_type = RuleType::parse(&p.rule_type)
        .ok_or_else(|| invalid(format!("rule_type must be one of {}", RuleType::names())))?;
    if let Some(e) = existing
        && e.rule_type != rule_type
    {
        return Err(invalid(
            "rule_type cannot change; create a new rule instead",
        ));
    }
    let severity = if p.severity.trim().is_empty() {
        Severity::Warning
    } else {
        Severity::parse(&p.severity)
            .ok_or_else(|| invalid(format!("severity must be one of {}", Severity::names())))?
    };
    let raw = if p.conditions_json.trim().is_empty() {
        serde_json::Value::Null
    } else {
        serde_json::from_str(&p.conditions_json)
            .map_err(|e| invalid(format!("conditions_json is not JSON: {e}")))?
    };
    let conditions = Conditions::parse(rule_type, &raw)?.to_json();
    let scope = match &p.scope {
        None => RuleScope::default(),
        Some(s) => {
            if !s.org_id.is_empty() && parse_id("scope.org_id", &s.org_id)? != org {
                return Err(invalid("scope.org_id must be the rule's org"));
            }
            RuleScope {
                team_id: parse_opt_id("scope.team_id", s.team_id.as_ref())?,
                project_id: parse_opt_id("scope.project_id", s.project_id.as_ref())?,
                user_id: parse_opt_id("scope.user_id", s.user_id.as_ref())?,
                virtual_key_id: parse_opt_id("scope.virtual_key_id", s.virtual_key_id.as_ref())?,
            }
        }
    };
    let channel_ids = ids("channel_ids", &p.channel_ids)?;
    let escalation_channel_ids = ids("escalation_channel_ids", &p.escalation_channel_ids)?;
    let escalate = seconds(p.escalate_after_seconds, p.escalate_after_minutes);
    if escalate > MAX_ESCALATE_SECS {
        return Err(invalid("escalation may wait at most 7 days"));
    }
    if !escalation_channel_ids.is_empty() && escalate == 0 {
        return Err(invalid(
            "escalation_channel_ids need escalate_after_minutes (or escalate_after_seconds)",
        ));
    }
    let dedup = match seconds(p.dedup_window_seconds, p.dedup_window_minutes) {
        0 => u32::try_from(DEDUP_WINDOW_SECS).unwrap_or(3600),
        d if d > MAX_DEDUP_SECS => return Err(invalid("the dedup window is at most 30 days")),
        d => d,
    };
    if p.silences.len() > 50 {
        return Err(invalid("at most 50 silence windows"));
    }
    let mut silences = Vec::with_capacity(p.silences.len());
    for s in &p.silences {
        let (from, to) = (
            ts(s.from.as_ref(), "silences.from")?,
            ts(s.to.as_ref(), "silences.to")?,
        );
        if from >= to {
            return Err(invalid("a silence window must end after it starts"));
        }
        silences.push(Silence {
            from,
            to,
            comment: s.comment.chars().take(500).collect(),
        });
    }
    let now = Utc::now();
    Ok(Rule {
        id: existing.map_or_else(Uuid::now_v7, |e| e.id),
        org_id: org,
        name: name.to_string(),
        rule_type,
        scope,
        conditions,
        severity,
        channel_ids,
        escalation_channel_ids,
        escalate_after_secs: i32::try_from(escalate).unwrap_or(i32::MAX),
        dedup_window_secs: i32::try_from(dedup).unwrap_or(i32::MAX),
        silences,
        enabled: p.enabled.unwrap_or(true),
        is_default: existing.is_some_and(|e| e.is_default),
        created_at: existing.map_or(now, |e| e.created_at),
        updated_at: now,
    })
}

/// The audited form of a rule.
pub fn rule_json(r: &Rule) -> serde_json::Value {
    json!({
        "name": r.name, "rule_type": r.rule_type.as_str(), "severity": r.severity.as_str(),
        "conditions": r.conditions, "channel_ids": r.channel_ids,
        "escalation_channel_ids": r.escalation_channel_ids,
        "escalate_after_secs": r.escalate_after_secs, "dedup_window_secs": r.dedup_window_secs,
        "silences": r.silences.len(), "enabled": r.enabled,
        "scope": {"team_id": r.scope.team_id, "project_id": r.scope.project_id,
                  "user_id": r.scope.user_id, "virtual_key_id": r.scope.virtual_key_id},
    })
}

async fn check_channels(conn: &mut PgConnection, r: &Rule) -> Result<()> {
    let all: Vec<Uuid> = r
        .channel_ids
        .iter()
        .chain(&r.escalation_channel_ids)
        .copied()
        .collect();
    let found = channels::existing(conn, r.org_id, &all).await?;
    match all.iter().find(|id| !found.contains(id)) {
        Some(missing) => Err(invalid(format!("channel {missing} not found"))),
        None => Ok(()),
    }
}

impl Api {
    /// `CreateRule`.
    pub async fn create_rule(&self, req: &pb::RuleRequest) -> Result<Rule> {
        let p = req
            .rule
            .as_ref()
            .ok_or_else(|| invalid("rule is required"))?;
        let org = org_id(&p.org_id)?;
        let rule = parse_rule(p, org, None)?;
        defaults::ensure_org(&self.pool, org).await?;
        let mut tx = self.pool.begin().await?;
        check_channels(&mut tx, &rule).await?;
        rules::insert(&mut tx, &rule).await?;
        let after = Some(rule_json(&rule));
        audit_change(
            &mut tx,
            &who(req.meta.as_ref()),
            org,
            "alert_rule.created",
            ("alert_rule", rule.id),
            None,
            after,
        )
        .await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        Ok(rule)
    }

    /// `UpdateRule`: replaces every editable field.
    pub async fn update_rule(&self, req: &pb::RuleRequest) -> Result<Rule> {
        let p = req
            .rule
            .as_ref()
            .ok_or_else(|| invalid("rule is required"))?;
        let (org, id) = (org_id(&p.org_id)?, parse_id("id", &p.id)?);
        let mut tx = self.pool.begin().await?;
        let old = rules::get_for_update(&mut tx, org, id)
            .await?
            .ok_or(AlertError::NotFound("rule"))?;
        let rule = parse_rule(p, org, Some(&old))?;
        check_channels(&mut tx, &rule).await?;
        rules::update(&mut tx, &rule).await?;
        let (before, after) = (Some(rule_json(&old)), Some(rule_json(&rule)));
        audit_change(
            &mut tx,
            &who(req.meta.as_ref()),
            org,
            "alert_rule.updated",
            ("alert_rule", id),
            before,
            after,
        )
        .await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        Ok(rule)
    }

    /// `GetRule`.
    pub async fn get_rule(&self, r: &pb::RuleRef) -> Result<Rule> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        rules::get(&self.pool, org, id)
            .await?
            .ok_or(AlertError::NotFound("rule"))
    }

    /// `DeleteRule`: its open alerts are resolved.
    pub async fn delete_rule(&self, r: &pb::RuleRef) -> Result<()> {
        let (org, id) = (org_id(&r.org_id)?, parse_id("id", &r.id)?);
        let who = who(r.meta.as_ref());
        let mut tx = self.pool.begin().await?;
        let old = rules::get_for_update(&mut tx, org, id)
            .await?
            .ok_or(AlertError::NotFound("rule"))?;
        rules::delete(&mut tx, org, id).await?;
        for a in alerts::open_of_rule(&mut tx, id).await? {
            lifecycle::act(&mut tx, a, Action::Resolve, &who, "rule deleted").await?;
        }
        audit_change(
            &mut tx,
            &who,
            org,
            "alert_rule.deleted",
            ("alert_rule", id),
            Some(rule_json(&old)),
            None,
        )
        .await?;
        tx.commit().await?;
        self.wake.audit.notify_one();
        Ok(())
    }

    /// `ListRules`.
    pub async fn list_rules(&self, org: &str) -> Result<Vec<Rule>> {
        let org = org_id(org)?;
        defaults::ensure_org(&self.pool, org).await?;
        rules::list(&self.pool, org).await
    }
}

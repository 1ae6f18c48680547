//! The rules every new org starts with: the first time the service sees an org (an event or an
//! API call), it creates one rule per type with the default conditions, notifying every channel
//! of the org. They are ordinary rules afterwards: edit, disable or delete them.

use chrono::Utc;
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::audit::{self, Change, Who};
use crate::conditions::Conditions;
use crate::error::Result;
use crate::model::{Rule, RuleScope, RuleType, Severity};
use crate::store::{outbox, rules};

/// The default dedup window.
pub const DEDUP_WINDOW_SECS: i32 = 3600;

/// Name, type and severity floor of each default rule.
const DEFAULTS: [(&str, RuleType, Severity); 6] = [
    ("Budget thresholds", RuleType::Budget, Severity::Info),
    ("Provider key health", RuleType::KeyHealth, Severity::Info),
    (
        "Key access anomaly",
        RuleType::AccessAnomaly,
        Severity::Warning,
    ),
    ("Spend spike", RuleType::SpendSpike, Severity::Warning),
    (
        "Provider error rate",
        RuleType::ErrorRate,
        Severity::Warning,
    ),
    (
        "Provider latency (p95)",
        RuleType::LatencyP95,
        Severity::Warning,
    ),
];

/// The default rules of `org`.
pub fn rules_for(org: Uuid) -> Vec<Rule> {
    let now = Utc::now();
    DEFAULTS
        .iter()
        .map(|(name, rule_type, severity)| Rule {
            id: Uuid::now_v7(),
            org_id: org,
            name: (*name).to_string(),
            rule_type: *rule_type,
            scope: RuleScope::default(),
            conditions: Conditions::parse(*rule_type, &serde_json::Value::Null)
                .map(|c| c.to_json())
                .unwrap_or_default(),
            severity: *severity,
            channel_ids: Vec::new(),
            escalation_channel_ids: Vec::new(),
            escalate_after_secs: 0,
            dedup_window_secs: DEDUP_WINDOW_SECS,
            silences: Vec::new(),
            enabled: true,
            is_default: true,
            created_at: now,
            updated_at: now,
        })
        .collect()
}

/// Creates `org`'s default rules if the org is new. Cheap when it is not.
pub async fn ensure_org(pool: &PgPool, org: Uuid) -> Result<()> {
    if rules::org_seeded(pool, org).await? {
        return Ok(());
    }
    let mut tx = pool.begin().await?;
    if rules::mark_org_seeded(&mut tx, org).await? {
        for rule in rules_for(org) {
            rules::insert(&mut tx, &rule).await?;
            let ev = audit::event(
                &Who::system(),
                Change {
                    org_id: &org.to_string(),
                    action: "alert_rule.created",
                    resource_type: "alert_rule",
                    resource_id: &rule.id.to_string(),
                    reason: "default rule of a new org",
                    before: None,
                    after: Some(json!({"name": rule.name, "rule_type": rule.rule_type.as_str()})),
                },
            );
            outbox::push_audit(&mut tx, &ev).await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

//! Domain events against an org's rules: which alerts fire, which resolve. Pure, no I/O.

use std::collections::BTreeMap;

use keyward_proto::v1::domain_event::Payload;
use keyward_proto::v1::{self as pb, DomainEvent};
use uuid::Uuid;

use crate::conditions::Conditions;
use crate::model::{Clearance, Rule, RuleScope, RuleType, Severity, Signal, fingerprint};

/// The rule types an event of routing key `kind` can concern.
pub fn rule_types_for(kind: &str) -> &'static [RuleType] {
    match kind {
        "budget.threshold" | "budget.exhausted" | "budget.reset" => &[RuleType::Budget],
        "key.invalid" | "key.expiring" | "key.rotation_due" | "key.validated" | "key.rotated" => {
            &[RuleType::KeyHealth]
        }
        "key.access_anomaly" => &[RuleType::AccessAnomaly],
        "key.revoked" => &[RuleType::KeyHealth, RuleType::AccessAnomaly],
        _ => &[],
    }
}

/// The severity a budget level carries by itself.
pub fn budget_severity(percent: i32) -> Severity {
    match percent {
        p if p >= 100 => Severity::Critical,
        p if p >= 80 => Severity::Warning,
        _ => Severity::Info,
    }
}

/// `$12.34` from micro-dollars (rounded down to the cent).
pub fn dollars(micros: i64) -> String {
    let sign = if micros < 0 { "-" } else { "" };
    let abs = micros.unsigned_abs();
    format!(
        "{sign}${}.{:02}",
        abs / 1_000_000,
        (abs % 1_000_000) / 10_000
    )
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn scope_matches(rule: &RuleScope, scope: Option<&pb::Scope>) -> bool {
    let eq = |want: Option<Uuid>, got: Option<&String>| {
        want.is_none_or(|w| got.is_some_and(|g| g.trim().eq_ignore_ascii_case(&w.to_string())))
    };
    let s = scope.cloned().unwrap_or_default();
    eq(rule.team_id, s.team_id.as_ref())
        && eq(rule.project_id, s.project_id.as_ref())
        && eq(rule.user_id, s.user_id.as_ref())
        && eq(rule.virtual_key_id, s.virtual_key_id.as_ref())
}

fn scope_labels(labels: &mut BTreeMap<String, String>, scope: Option<&pb::Scope>) {
    if let Some(s) = scope {
        for (k, v) in [
            ("team_id", &s.team_id),
            ("project_id", &s.project_id),
            ("user_id", &s.user_id),
            ("virtual_key_id", &s.virtual_key_id),
        ] {
            if let Some(v) = v.as_ref().filter(|v| !v.is_empty()) {
                labels.insert(k.into(), v.clone());
            }
        }
    }
}

fn listed(filter: &[String], value: &str) -> bool {
    filter.is_empty() || filter.iter().any(|f| f == value)
}

fn period_label(ts: Option<&prost_types::Timestamp>) -> String {
    ts.and_then(|t| chrono::DateTime::from_timestamp(t.seconds, 0))
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

struct Budget<'a> {
    budget_id: &'a str,
    scope: Option<&'a pb::Scope>,
    percent: i32,
    spent: i64,
    amount: i64,
    period: String,
    exhausted: Option<bool>,
}

fn budget_signal(org: Uuid, rule: &Rule, b: &Budget<'_>) -> Option<Signal> {
    let Ok(Conditions::Budget(c)) = Conditions::parse(rule.rule_type, &rule.conditions) else {
        return None;
    };
    let min = i32::try_from(c.min_percent).unwrap_or(i32::MAX);
    if b.percent < min
        || !listed(&c.budget_ids, b.budget_id)
        || !scope_matches(&rule.scope, b.scope)
    {
        return None;
    }
    let mut labels = BTreeMap::from([
        ("kind".to_string(), "budget".to_string()),
        ("budget_id".into(), b.budget_id.to_string()),
        ("period_start".into(), b.period.clone()),
        ("percent".into(), b.percent.to_string()),
        ("spent_micros".into(), b.spent.to_string()),
        ("amount_micros".into(), b.amount.to_string()),
    ]);
    scope_labels(&mut labels, b.scope);
    let title = match b.exhausted {
        Some(hard) => format!(
            "Budget {} exhausted: {} of {}{}",
            short(b.budget_id),
            dollars(b.spent),
            dollars(b.amount),
            if hard {
                " (hard limit: requests are blocked)"
            } else {
                ""
            }
        ),
        None => format!(
            "Budget {} at {}%: {} of {}",
            short(b.budget_id),
            b.percent,
            dollars(b.spent),
            dollars(b.amount)
        ),
    };
    Some(Signal {
        org_id: org,
        rule_id: rule.id,
        fingerprint: fingerprint(&[&rule.id.to_string(), "budget", b.budget_id, &b.period]),
        level: b.percent,
        severity: rule.severity.max(budget_severity(b.percent)),
        detail: format!(
            "Budget {} has used {}% of its {} for the period starting {}.",
            b.budget_id,
            b.percent,
            dollars(b.amount),
            b.period
        ),
        title,
        labels,
    })
}

struct KeyEvent<'a> {
    key_id: &'a str,
    kind: &'a str,
    severity: Severity,
    title: String,
    detail: String,
    extra: Vec<(&'static str, String)>,
}

fn key_signal(org: Uuid, rule: &Rule, k: &KeyEvent<'_>) -> Option<Signal> {
    let wanted = match Conditions::parse(rule.rule_type, &rule.conditions) {
        Ok(Conditions::KeyHealth(c)) => {
            listed(&c.events, k.kind) && listed(&c.key_ids, k.key_id) && !c.events.is_empty()
        }
        Ok(Conditions::AccessAnomaly(c)) => {
            let window = k.extra.iter().find(|(n, _)| *n == "window");
            window.is_some_and(|(_, w)| listed(&c.windows, w)) && listed(&c.key_ids, k.key_id)
        }
        _ => false,
    };
    if !wanted {
        return None;
    }
    let mut labels = BTreeMap::from([
        ("kind".to_string(), k.kind.to_string()),
        ("key_id".into(), k.key_id.to_string()),
    ]);
    let mut parts = vec![
        rule.id.to_string(),
        "key".into(),
        k.key_id.into(),
        k.kind.into(),
    ];
    for (name, value) in &k.extra {
        labels.insert((*name).into(), value.clone());
        if *name == "window" {
            parts.push(value.clone());
        }
    }
    let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
    Some(Signal {
        org_id: org,
        rule_id: rule.id,
        fingerprint: fingerprint(&parts),
        level: 0,
        severity: rule.severity.max(k.severity),
        title: k.title.clone(),
        detail: k.detail.clone(),
        labels,
    })
}

/// Which alerts `event` fires under `rules` (the org's enabled rules) and which it resolves.
pub fn evaluate(event: &DomainEvent, org: Uuid, rules: &[Rule]) -> (Vec<Signal>, Vec<Clearance>) {
    let of_type = |t: RuleType| rules.iter().filter(move |r| r.enabled && r.rule_type == t);
    let clear = |types: Vec<RuleType>, key: (&str, &str), kinds: &[&str], reason: &str| Clearance {
        org_id: org,
        rule_types: types,
        labels: BTreeMap::from([(key.0.to_string(), key.1.to_string())]),
        kinds: kinds.iter().map(|k| (*k).to_string()).collect(),
        reason: reason.into(),
    };
    let keyed = |ke: KeyEvent<'_>, t: RuleType| -> Vec<Signal> {
        of_type(t).filter_map(|r| key_signal(org, r, &ke)).collect()
    };
    match &event.payload {
        Some(Payload::BudgetThreshold(t)) => {
            let b = Budget {
                budget_id: &t.budget_id,
                scope: t.scope.as_ref(),
                percent: i32::try_from(t.percent).unwrap_or(i32::MAX),
                spent: t.spent.as_ref().map_or(0, |m| m.micros),
                amount: t.amount.as_ref().map_or(0, |m| m.micros),
                period: period_label(t.period_start.as_ref()),
                exhausted: None,
            };
            let s = of_type(RuleType::Budget).filter_map(|r| budget_signal(org, r, &b));
            (s.collect(), Vec::new())
        }
        Some(Payload::BudgetExhausted(e)) => {
            let (spent, amount) = (
                e.spent.as_ref().map_or(0, |m| m.micros),
                e.amount.as_ref().map_or(0, |m| m.micros),
            );
            let b = Budget {
                budget_id: &e.budget_id,
                scope: e.scope.as_ref(),
                // Exhausted is the 100% level, so a threshold event at 100% and this one are
                // the same notification.
                percent: 100,
                spent,
                amount,
                period: period_label(e.period_start.as_ref()),
                exhausted: Some(e.hard),
            };
            let s = of_type(RuleType::Budget).filter_map(|r| budget_signal(org, r, &b));
            (s.collect(), Vec::new())
        }
        Some(Payload::BudgetReset(r)) => (
            Vec::new(),
            vec![clear(
                vec![RuleType::Budget],
                ("budget_id", &r.budget_id),
                &[],
                "budget period reset",
            )],
        ),
        Some(Payload::KeyInvalid(k)) => {
            let ke = KeyEvent {
                key_id: &k.key_id,
                kind: "invalid",
                severity: Severity::Critical,
                title: format!("{} key {} is invalid", k.provider, short(&k.key_id)),
                detail: format!(
                    "The provider rejected key {} ({}): {}",
                    k.key_id,
                    k.outcome,
                    keyward_crypto::redact(&k.reason)
                ),
                extra: vec![("provider", k.provider.clone())],
            };
            (keyed(ke, RuleType::KeyHealth), Vec::new())
        }
        Some(Payload::KeyExpiring(k)) => {
            let at = period_label(k.expires_at.as_ref());
            let ke = KeyEvent {
                key_id: &k.key_id,
                kind: "expiring",
                severity: Severity::Warning,
                title: format!("Key {} expires {at}", short(&k.key_id)),
                detail: format!(
                    "Provider key {} expires at {at}. Rotate it before then.",
                    k.key_id
                ),
                extra: vec![("expires_at", at.clone())],
            };
            (keyed(ke, RuleType::KeyHealth), Vec::new())
        }
        Some(Payload::KeyRotationDue(k)) => {
            let ke = KeyEvent {
                key_id: &k.key_id,
                kind: "rotation_due",
                severity: if k.overdue {
                    Severity::Warning
                } else {
                    Severity::Info
                },
                title: format!(
                    "Key {} is {} days old: rotation {}",
                    short(&k.key_id),
                    k.age_days,
                    if k.overdue { "overdue" } else { "due" }
                ),
                detail: format!(
                    "Provider key {} was last rotated {} days ago.",
                    k.key_id, k.age_days
                ),
                extra: vec![("age_days", k.age_days.to_string())],
            };
            (keyed(ke, RuleType::KeyHealth), Vec::new())
        }
        Some(Payload::KeyAccessAnomaly(k)) => {
            let ke = KeyEvent {
                key_id: &k.key_id,
                kind: "access_anomaly",
                severity: Severity::Warning,
                title: format!(
                    "Unusual access to key {}: {} resolves in a {}",
                    short(&k.key_id),
                    k.count,
                    k.window
                ),
                detail: format!(
                    "Key {} was resolved {} times in one {} (threshold {}).",
                    k.key_id, k.count, k.window, k.threshold
                ),
                extra: vec![("window", k.window.clone()), ("count", k.count.to_string())],
            };
            (keyed(ke, RuleType::AccessAnomaly), Vec::new())
        }
        Some(Payload::KeyValidated(k)) => (
            Vec::new(),
            vec![clear(
                vec![RuleType::KeyHealth],
                ("key_id", &k.key_id),
                &["invalid"],
                "key validated again",
            )],
        ),
        Some(Payload::KeyRotated(k)) => (
            Vec::new(),
            vec![clear(
                vec![RuleType::KeyHealth],
                ("key_id", &k.key_id),
                &["invalid", "expiring", "rotation_due"],
                "key rotated",
            )],
        ),
        Some(Payload::KeyRevoked(k)) => (
            Vec::new(),
            vec![clear(
                vec![RuleType::KeyHealth, RuleType::AccessAnomaly],
                ("key_id", &k.key_id),
                &[],
                "key revoked",
            )],
        ),
        Some(
            Payload::VirtualKeyChanged(_)
            | Payload::KeyUpdated(_)
            | Payload::PolicyChanged(_)
            | Payload::ModelAliasChanged(_),
        )
        | None => (Vec::new(), Vec::new()),
    }
}

#[cfg(test)]
#[path = "matcher_tests.rs"]
mod tests;

//! Domain types to their protobuf messages.

use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;

use crate::model::{Alert, Attempt, Channel, Delivery, Rule};

/// A protobuf timestamp.
pub fn ts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: i32::try_from(t.timestamp_subsec_nanos()).unwrap_or(0),
    }
}

fn u32_of(v: i32) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

/// A rule.
pub fn rule(r: &Rule) -> pb::AlertRule {
    let secs = u32_of(r.escalate_after_secs);
    let dedup = u32_of(r.dedup_window_secs);
    pb::AlertRule {
        id: r.id.to_string(),
        org_id: r.org_id.to_string(),
        name: r.name.clone(),
        rule_type: r.rule_type.as_str().into(),
        scope: Some(pb::Scope {
            org_id: r.org_id.to_string(),
            team_id: r.scope.team_id.map(|v| v.to_string()),
            project_id: r.scope.project_id.map(|v| v.to_string()),
            user_id: r.scope.user_id.map(|v| v.to_string()),
            virtual_key_id: r.scope.virtual_key_id.map(|v| v.to_string()),
        }),
        conditions_json: r.conditions.to_string(),
        severity: r.severity.as_str().into(),
        channel_ids: r.channel_ids.iter().map(ToString::to_string).collect(),
        escalate_after_minutes: secs / 60,
        escalation_channel_ids: r
            .escalation_channel_ids
            .iter()
            .map(ToString::to_string)
            .collect(),
        dedup_window_minutes: dedup / 60,
        enabled: Some(r.enabled),
        silences: r
            .silences
            .iter()
            .map(|s| pb::SilenceWindow {
                from: Some(ts(s.from)),
                to: Some(ts(s.to)),
                comment: s.comment.clone(),
            })
            .collect(),
        escalate_after_seconds: secs,
        dedup_window_seconds: dedup,
        is_default: r.is_default,
        created_at: Some(ts(r.created_at)),
        updated_at: Some(ts(r.updated_at)),
    }
}

/// A channel (never its secrets).
pub fn channel(c: &Channel) -> pb::AlertChannel {
    pb::AlertChannel {
        id: c.id.to_string(),
        org_id: c.org_id.to_string(),
        name: c.name.clone(),
        kind: c.kind.as_str().into(),
        settings_json: c.settings.to_string(),
        secret_ref: c.secret_ref.map(|k| k.to_string()).unwrap_or_default(),
        enabled: Some(c.enabled),
        secret_hint: c.secret_hint.clone(),
        created_at: Some(ts(c.created_at)),
        updated_at: Some(ts(c.updated_at)),
    }
}

/// An alert.
pub fn alert(a: &Alert) -> pb::Alert {
    pb::Alert {
        id: a.id.to_string(),
        org_id: a.org_id.to_string(),
        rule_id: a.rule_id.to_string(),
        fingerprint: a.fingerprint.clone(),
        state: a.state.as_str().into(),
        severity: a.severity.as_str().into(),
        title: a.title.clone(),
        detail: a.detail.clone(),
        fired_at: Some(ts(a.fired_at)),
        snoozed_until: a.snoozed_until.map(ts),
        rule_name: a.rule_name.clone(),
        rule_type: a.rule_type.as_str().into(),
        level: u32_of(a.level),
        labels: a.labels.clone().into_iter().collect(),
        occurrences: u32_of(a.occurrences),
        last_seen_at: Some(ts(a.last_seen_at)),
        acknowledged_at: a.acknowledged_at.map(ts),
        acknowledged_by: a.acknowledged_by.clone(),
        resolved_at: a.resolved_at.map(ts),
        resolved_by: a.resolved_by.clone(),
        escalation_level: u32_of(a.escalation_level),
        escalate_at: a.escalate_at.map(ts),
        silenced: a.silenced,
    }
}

/// A delivery, with its attempt log when given.
pub fn delivery(d: &Delivery, attempts: &[Attempt]) -> pb::Delivery {
    pb::Delivery {
        id: d.id.to_string(),
        org_id: d.org_id.to_string(),
        alert_id: d.alert_id.map(|a| a.to_string()).unwrap_or_default(),
        channel_id: d.channel_id.to_string(),
        channel_kind: d.channel_kind.as_str().into(),
        reason: d.reason.as_str().into(),
        status: d.status.clone(),
        attempts: u32_of(d.attempts),
        max_attempts: u32_of(d.max_attempts),
        next_attempt_at: d.next_attempt_at.filter(|_| d.status == "pending").map(ts),
        last_error: d.last_error.clone(),
        last_http_status: u32_of(d.last_http_status),
        created_at: Some(ts(d.created_at)),
        finished_at: d.finished_at.map(ts),
        attempt_log: attempts
            .iter()
            .map(|a| pb::DeliveryAttempt {
                attempt: u32_of(a.attempt),
                started_at: Some(ts(a.started_at)),
                duration_ms: u32_of(a.duration_ms),
                outcome: a.outcome.clone(),
                http_status: u32_of(a.http_status),
                error: a.error.clone(),
            })
            .collect(),
    }
}

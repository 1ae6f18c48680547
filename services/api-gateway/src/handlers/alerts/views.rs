//! The JSON shapes of rules, channels, alerts and deliveries. None of them carries a channel
//! secret: channels show a hint, and delivery errors have every URL scrubbed (an error such as
//! "error sending request for url (…)" would otherwise echo a webhook URL, which is a secret).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use keyward_proto::v1 as pb;
use serde::Serialize;
use utoipa::ToSchema;

use super::{RuleScope, Silence};
use crate::handlers::{time, uuid_of};

/// Replaces every `http://…`/`https://…` token of `text` with `<url>`, then redacts keys.
pub fn scrub(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let i = match (rest.find("http://"), rest.find("https://")) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        out.push_str(&rest[..i]);
        out.push_str("<url>");
        let tail = &rest[i..];
        let end = tail
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>' | ','))
            .unwrap_or(tail.len());
        rest = &tail[end..];
    }
    out.push_str(rest);
    keyward_crypto::redact(&out).into_owned()
}

/// An alert rule.
#[derive(Serialize, ToSchema)]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub rule_type: String,
    pub scope: RuleScope,
    #[schema(value_type = Object)]
    pub conditions: serde_json::Value,
    pub severity: String,
    pub channel_ids: Vec<String>,
    pub escalate_after_seconds: u32,
    pub escalation_channel_ids: Vec<String>,
    pub dedup_window_seconds: u32,
    pub enabled: bool,
    pub silences: Vec<Silence>,
    /// Created by Keyward for a new org.
    pub is_default: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<pb::AlertRule> for Rule {
    fn from(r: pb::AlertRule) -> Self {
        let s = r.scope.unwrap_or_default();
        let secs = |s: u32, m: u32| if s > 0 { s } else { m.saturating_mul(60) };
        Self {
            scope: RuleScope {
                team_id: uuid_of(s.team_id.as_ref()),
                project_id: uuid_of(s.project_id.as_ref()),
                user_id: uuid_of(s.user_id.as_ref()),
                virtual_key_id: uuid_of(s.virtual_key_id.as_ref()),
            },
            conditions: serde_json::from_str(&r.conditions_json).unwrap_or(serde_json::Value::Null),
            escalate_after_seconds: secs(r.escalate_after_seconds, r.escalate_after_minutes),
            dedup_window_seconds: secs(r.dedup_window_seconds, r.dedup_window_minutes),
            enabled: r.enabled.unwrap_or(true),
            silences: r
                .silences
                .into_iter()
                .filter_map(|w| {
                    Some(Silence {
                        from: time(w.from.as_ref())?,
                        to: time(w.to.as_ref())?,
                        comment: w.comment,
                    })
                })
                .collect(),
            created_at: time(r.created_at.as_ref()),
            updated_at: time(r.updated_at.as_ref()),
            id: r.id,
            name: r.name,
            rule_type: r.rule_type,
            severity: r.severity,
            channel_ids: r.channel_ids,
            escalation_channel_ids: r.escalation_channel_ids,
            is_default: r.is_default,
        }
    }
}

/// A notification channel: settings and a hint of its secrets, never the secrets.
#[derive(Serialize, ToSchema)]
pub struct Channel {
    pub id: String,
    pub name: String,
    pub kind: String,
    #[schema(value_type = Object)]
    pub settings: serde_json::Value,
    /// e.g. `https://hooks.example.com/…`.
    pub secret_hint: String,
    pub enabled: bool,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
}

impl From<pb::AlertChannel> for Channel {
    fn from(c: pb::AlertChannel) -> Self {
        Self {
            settings: serde_json::from_str(&c.settings_json).unwrap_or(serde_json::Value::Null),
            enabled: c.enabled.unwrap_or(true),
            created_at: time(c.created_at.as_ref()),
            updated_at: time(c.updated_at.as_ref()),
            secret_hint: scrub_hint(&c.secret_hint),
            id: c.id,
            name: c.name,
            kind: c.kind,
        }
    }
}

/// Hints are built by the alert service to give nothing away; redact anyway.
fn scrub_hint(hint: &str) -> String {
    keyward_crypto::redact(hint).into_owned()
}

/// A created or updated channel; `generated_signing_secret` only when Keyward generated a
/// webhook signing secret, shown this once.
#[derive(Serialize, ToSchema)]
pub struct ChannelCreated {
    pub channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_signing_secret: Option<String>,
}

impl From<pb::ChannelResponse> for ChannelCreated {
    fn from(r: pb::ChannelResponse) -> Self {
        Self {
            channel: r.channel.map(Channel::from),
            generated_signing_secret: r.generated_signing_secret.map(|m| m.api_key),
        }
    }
}

/// A fired alert.
#[derive(Serialize, ToSchema)]
pub struct Alert {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_type: String,
    pub fingerprint: String,
    /// firing, acknowledged, snoozed, resolved.
    pub state: String,
    pub severity: String,
    pub level: u32,
    pub title: String,
    pub detail: String,
    pub labels: BTreeMap<String, String>,
    pub occurrences: u32,
    pub fired_at: Option<DateTime<Utc>>,
    pub last_seen_at: Option<DateTime<Utc>>,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: String,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: String,
    pub escalation_level: u32,
    pub escalate_at: Option<DateTime<Utc>>,
    pub silenced: bool,
}

impl From<pb::Alert> for Alert {
    fn from(a: pb::Alert) -> Self {
        Self {
            fired_at: time(a.fired_at.as_ref()),
            last_seen_at: time(a.last_seen_at.as_ref()),
            snoozed_until: time(a.snoozed_until.as_ref()),
            acknowledged_at: time(a.acknowledged_at.as_ref()),
            resolved_at: time(a.resolved_at.as_ref()),
            escalate_at: time(a.escalate_at.as_ref()),
            labels: a.labels.into_iter().collect(),
            id: a.id,
            rule_id: a.rule_id,
            rule_name: a.rule_name,
            rule_type: a.rule_type,
            fingerprint: a.fingerprint,
            state: a.state,
            severity: a.severity,
            level: a.level,
            title: a.title,
            detail: a.detail,
            occurrences: a.occurrences,
            acknowledged_by: a.acknowledged_by,
            resolved_by: a.resolved_by,
            escalation_level: a.escalation_level,
            silenced: a.silenced,
        }
    }
}

/// One attempt of a delivery.
#[derive(Serialize, ToSchema)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub started_at: Option<DateTime<Utc>>,
    pub duration_ms: u32,
    /// delivered, retry, failed.
    pub outcome: String,
    pub http_status: u32,
    pub error: String,
}

/// One notification of one channel, with its attempts.
#[derive(Serialize, ToSchema)]
pub struct Delivery {
    pub id: String,
    /// Absent for channel tests.
    pub alert_id: Option<String>,
    pub channel_id: String,
    pub channel_kind: String,
    /// fired, refired, escalation, reminder, test; acknowledged and resolved (PagerDuty only).
    pub reason: String,
    /// pending, delivered, failed.
    pub status: String,
    pub attempts: u32,
    pub max_attempts: u32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: String,
    pub last_http_status: u32,
    pub created_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub attempt_log: Vec<DeliveryAttempt>,
}

impl From<pb::Delivery> for Delivery {
    fn from(d: pb::Delivery) -> Self {
        Self {
            alert_id: Some(d.alert_id).filter(|a| !a.is_empty()),
            next_attempt_at: time(d.next_attempt_at.as_ref()),
            created_at: time(d.created_at.as_ref()),
            finished_at: time(d.finished_at.as_ref()),
            last_error: scrub(&d.last_error),
            attempt_log: d
                .attempt_log
                .into_iter()
                .map(|a| DeliveryAttempt {
                    started_at: time(a.started_at.as_ref()),
                    error: scrub(&a.error),
                    attempt: a.attempt,
                    duration_ms: a.duration_ms,
                    outcome: a.outcome,
                    http_status: a.http_status,
                })
                .collect(),
            id: d.id,
            channel_id: d.channel_id,
            channel_kind: d.channel_kind,
            reason: d.reason,
            status: d.status,
            attempts: d.attempts,
            max_attempts: d.max_attempts,
            last_http_status: d.last_http_status,
        }
    }
}

/// An alert with its deliveries and their attempts.
#[derive(Serialize, ToSchema)]
pub struct AlertDetail {
    pub alert: Option<Alert>,
    pub deliveries: Vec<Delivery>,
}

impl From<pb::AlertDetail> for AlertDetail {
    fn from(d: pb::AlertDetail) -> Self {
        Self {
            alert: d.alert.map(Alert::from),
            deliveries: d.deliveries.into_iter().map(Delivery::from).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::scrub;

    #[test]
    fn urls_are_scrubbed_from_errors() {
        assert_eq!(
            scrub("error sending request for url (http://10.0.0.1:9/hook?t=abc): refused"),
            "error sending request for url (<url>): refused"
        );
        assert_eq!(scrub("a https://x/y b http://z c"), "a <url> b <url> c");
        assert_eq!(scrub("status 500"), "status 500");
    }
}

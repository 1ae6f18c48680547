//! The alert service's domain types and their stored forms.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $s),+ }
            }

            /// Parses the stored and wire name.
            pub fn parse(s: &str) -> Option<Self> {
                match s.trim() { $($s => Some($name::$variant),)+ _ => None }
            }

            /// The accepted names, for error messages.
            pub fn names() -> String {
                [$($s),+].join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// What a rule watches.
    RuleType {
        Budget = "budget",
        KeyHealth = "key_health",
        AccessAnomaly = "access_anomaly",
        SpendSpike = "spend_spike",
        ErrorRate = "error_rate",
        LatencyP95 = "latency_p95",
    }
);

impl RuleType {
    /// Rules evaluated on a timer against usage data rather than on events.
    pub const fn is_periodic(self) -> bool {
        matches!(
            self,
            RuleType::SpendSpike | RuleType::ErrorRate | RuleType::LatencyP95
        )
    }
}

string_enum!(
    /// How bad it is. Ordered: info < warning < critical.
    Severity {
        Info = "info",
        Warning = "warning",
        Critical = "critical",
    }
);

string_enum!(
    /// An alert's lifecycle state.
    AlertState {
        Firing = "firing",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
        Snoozed = "snoozed",
    }
);

string_enum!(
    /// Where notifications go.
    ChannelKind {
        Webhook = "webhook",
        Slack = "slack",
        Email = "email",
        Pagerduty = "pagerduty",
    }
);

string_enum!(
    /// Why a delivery was made. `acknowledged` and `resolved` go only to PagerDuty channels
    /// that were sent the alert's trigger.
    Reason {
        Fired = "fired",
        Refired = "refired",
        Escalation = "escalation",
        Reminder = "reminder",
        Test = "test",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
);

/// A rule's narrower scope inside its org (all `None`: the whole org).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleScope {
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub virtual_key_id: Option<Uuid>,
}

/// A time window in which a rule notifies nobody.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(default)]
    pub comment: String,
}

/// An alert rule.
#[derive(Clone, Debug)]
pub struct Rule {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub rule_type: RuleType,
    pub scope: RuleScope,
    pub conditions: serde_json::Value,
    pub severity: Severity,
    pub channel_ids: Vec<Uuid>,
    pub escalation_channel_ids: Vec<Uuid>,
    /// 0: never escalate.
    pub escalate_after_secs: i32,
    pub dedup_window_secs: i32,
    pub silences: Vec<Silence>,
    pub enabled: bool,
    pub is_default: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Rule {
    /// Whether a silence window covers `at`.
    pub fn silenced_at(&self, at: DateTime<Utc>) -> bool {
        self.silences.iter().any(|s| s.from <= at && at < s.to)
    }

    /// When an alert fired at `at` escalates first, if it does.
    pub fn first_escalation(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        (self.escalate_after_secs > 0 && !self.escalation_channel_ids.is_empty())
            .then(|| at + chrono::Duration::seconds(i64::from(self.escalate_after_secs)))
    }
}

/// A notification channel. Its secrets live in the vault under `secret_ref`.
#[derive(Clone, Debug)]
pub struct Channel {
    pub id: Uuid,
    pub org_id: Uuid,
    pub name: String,
    pub kind: ChannelKind,
    pub settings: serde_json::Value,
    pub secret_ref: Option<Uuid>,
    pub secret_hint: String,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A fired alert.
#[derive(Clone, Debug)]
pub struct Alert {
    pub id: Uuid,
    pub org_id: Uuid,
    pub rule_id: Uuid,
    pub rule_name: String,
    pub rule_type: RuleType,
    pub fingerprint: String,
    pub state: AlertState,
    pub severity: Severity,
    pub level: i32,
    pub title: String,
    pub detail: String,
    pub labels: BTreeMap<String, String>,
    pub occurrences: i32,
    pub fired_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub last_notified_at: Option<DateTime<Utc>>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: String,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolved_by: String,
    pub snoozed_until: Option<DateTime<Utc>>,
    pub escalation_level: i32,
    pub escalate_at: Option<DateTime<Utc>>,
    pub silenced: bool,
}

/// One notification of one channel, and its retry state.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub id: Uuid,
    pub org_id: Uuid,
    pub alert_id: Option<Uuid>,
    pub channel_id: Uuid,
    pub channel_kind: ChannelKind,
    pub reason: Reason,
    pub status: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: String,
    pub last_http_status: i32,
    /// What is said, fixed when the delivery was queued.
    pub payload: Notice,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One logged attempt of a delivery.
#[derive(Clone, Debug)]
pub struct Attempt {
    pub attempt: i32,
    pub started_at: DateTime<Utc>,
    pub duration_ms: i32,
    pub outcome: String,
    pub http_status: i32,
    pub error: String,
}

/// The content of a notification, independent of the channel that carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub alert_id: String,
    pub org_id: String,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_type: String,
    pub fingerprint: String,
    pub state: String,
    pub severity: String,
    pub level: i32,
    pub title: String,
    pub detail: String,
    pub labels: BTreeMap<String, String>,
    pub fired_at: DateTime<Utc>,
    pub reason: String,
    pub escalation_level: i32,
    pub occurrences: i32,
}

impl Notice {
    /// The notice of `alert` sent for `reason`.
    pub fn of(alert: &Alert, reason: Reason) -> Self {
        Self {
            alert_id: alert.id.to_string(),
            org_id: alert.org_id.to_string(),
            rule_id: alert.rule_id.to_string(),
            rule_name: alert.rule_name.clone(),
            rule_type: alert.rule_type.as_str().into(),
            fingerprint: alert.fingerprint.clone(),
            state: alert.state.as_str().into(),
            severity: alert.severity.as_str().into(),
            level: alert.level,
            title: alert.title.clone(),
            detail: alert.detail.clone(),
            labels: alert.labels.clone(),
            fired_at: alert.fired_at,
            reason: reason.as_str().into(),
            escalation_level: alert.escalation_level,
            occurrences: alert.occurrences,
        }
    }
}

/// What an event or an evaluation says about one rule: fire (or refresh) this alert.
#[derive(Clone, Debug, PartialEq)]
pub struct Signal {
    pub org_id: Uuid,
    pub rule_id: Uuid,
    pub fingerprint: String,
    /// Budget percent crossed; 0 for other rules. A higher level re-notifies an open alert.
    pub level: i32,
    pub severity: Severity,
    pub title: String,
    pub detail: String,
    pub labels: BTreeMap<String, String>,
}

/// What an event says is over: resolve the open alerts of these rule types whose labels match.
#[derive(Clone, Debug, PartialEq)]
pub struct Clearance {
    pub org_id: Uuid,
    pub rule_types: Vec<RuleType>,
    /// Every pair must match the alert's labels.
    pub labels: BTreeMap<String, String>,
    /// When not empty, the alert's `kind` label must be one of these.
    pub kinds: Vec<String>,
    pub reason: String,
}

/// `hex(SHA-256(parts joined by NUL))`: the identity of an alert.
pub fn fingerprint(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            h.update([0u8]);
        }
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_severity_orders() {
        for t in RuleType::ALL {
            assert_eq!(RuleType::parse(t.as_str()), Some(*t));
        }
        for k in ChannelKind::ALL {
            assert_eq!(ChannelKind::parse(k.as_str()), Some(*k));
        }
        assert!(Severity::Info < Severity::Warning && Severity::Warning < Severity::Critical);
        assert_eq!(AlertState::parse("snoozed"), Some(AlertState::Snoozed));
        assert_eq!(AlertState::parse("nope"), None);
    }

    #[test]
    fn fingerprints_separate_their_parts() {
        assert_ne!(fingerprint(&["ab", "c"]), fingerprint(&["a", "bc"]));
        assert_eq!(fingerprint(&["a", "b"]), fingerprint(&["a", "b"]));
        assert_eq!(fingerprint(&["a"]).len(), 64);
    }
}

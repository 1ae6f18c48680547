//! Typed conditions of each rule type: parsed from the rule's JSON, defaults filled in, checked.

use serde::{Deserialize, Serialize};

use crate::error::{AlertError, Result};
use crate::model::RuleType;

/// `budget`: notify at every threshold the cost service reports from `min_percent` up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Budget {
    pub min_percent: u32,
    /// Only these budgets (empty: all in scope).
    pub budget_ids: Vec<String>,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            min_percent: 50,
            budget_ids: Vec::new(),
        }
    }
}

/// `key_health`: provider keys that are invalid, expiring or due for rotation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeyHealth {
    /// Any of `invalid`, `expiring`, `rotation_due`.
    pub events: Vec<String>,
    /// Only these provider keys (empty: all).
    pub key_ids: Vec<String>,
}

impl Default for KeyHealth {
    fn default() -> Self {
        Self {
            events: vec!["invalid".into(), "expiring".into(), "rotation_due".into()],
            key_ids: Vec::new(),
        }
    }
}

/// `access_anomaly`: a key resolved more often than the vault's thresholds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AccessAnomaly {
    /// Any of `minute`, `hour`, `day`.
    pub windows: Vec<String>,
    pub key_ids: Vec<String>,
}

impl Default for AccessAnomaly {
    fn default() -> Self {
        Self {
            windows: vec!["minute".into(), "hour".into(), "day".into()],
            key_ids: Vec::new(),
        }
    }
}

/// `spend_spike`: the last window's spend against a robust trailing baseline (docs/alerts.md).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpendSpike {
    /// Length of the window compared, in minutes: whole hours (spend rolls up per hour).
    pub window_minutes: u32,
    /// Days of trailing history forming the baseline.
    pub baseline_days: u32,
    /// How many scaled MADs above the baseline median count as a spike.
    pub sensitivity: f64,
    /// The window must also be at least this multiple of the median.
    pub min_ratio: f64,
    /// And at least this much money (micro-dollars), so cents never page anyone.
    pub min_spend_micros: i64,
}

impl Default for SpendSpike {
    fn default() -> Self {
        Self {
            window_minutes: 60,
            baseline_days: 7,
            sensitivity: 4.0,
            min_ratio: 2.0,
            min_spend_micros: 5_000_000,
        }
    }
}

/// How call statistics are grouped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    Provider,
    ProviderKey,
}

impl GroupBy {
    /// The label name of the group.
    pub const fn label(self) -> &'static str {
        match self {
            GroupBy::Provider => "provider",
            GroupBy::ProviderKey => "key_id",
        }
    }
}

/// `error_rate`: share of failed calls of a provider or key over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorRate {
    pub group_by: GroupBy,
    pub window_minutes: u32,
    /// 0 to 1.
    pub max_error_rate: f64,
    /// Fewer calls than this in the window are not judged.
    pub min_requests: u64,
}

impl Default for ErrorRate {
    fn default() -> Self {
        Self {
            group_by: GroupBy::Provider,
            window_minutes: 15,
            max_error_rate: 0.05,
            min_requests: 20,
        }
    }
}

/// `latency_p95`: 95th percentile latency of a provider or key over a window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyP95 {
    pub group_by: GroupBy,
    pub window_minutes: u32,
    pub max_p95_ms: u32,
    pub min_requests: u64,
}

impl Default for LatencyP95 {
    fn default() -> Self {
        Self {
            group_by: GroupBy::Provider,
            window_minutes: 15,
            max_p95_ms: 10_000,
            min_requests: 20,
        }
    }
}

/// The conditions of one rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Conditions {
    Budget(Budget),
    KeyHealth(KeyHealth),
    AccessAnomaly(AccessAnomaly),
    SpendSpike(SpendSpike),
    ErrorRate(ErrorRate),
    LatencyP95(LatencyP95),
}

/// Deserializes `v` (`null` reads as `{}`), naming the offending field in the error.
fn de<T: serde::de::DeserializeOwned>(v: &serde_json::Value) -> Result<T> {
    let v = if v.is_null() {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        v.clone()
    };
    serde_json::from_value(v).map_err(|e| AlertError::Invalid(format!("conditions: {e}")))
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(AlertError::Invalid(format!("conditions: {what}")))
    }
}

fn check_window(minutes: u32) -> Result<()> {
    check(
        (1..=1440).contains(&minutes),
        "window_minutes must be 1 to 1440",
    )
}

impl Conditions {
    /// Parses and checks `value` for `rule_type`; `null` or `{}` gives the defaults.
    pub fn parse(rule_type: RuleType, value: &serde_json::Value) -> Result<Self> {
        let c = match rule_type {
            RuleType::Budget => {
                let c: Budget = de(value)?;
                check(
                    (1..=1000).contains(&c.min_percent),
                    "min_percent must be 1 to 1000",
                )?;
                Conditions::Budget(c)
            }
            RuleType::KeyHealth => {
                let c: KeyHealth = de(value)?;
                for e in &c.events {
                    check(
                        ["invalid", "expiring", "rotation_due"].contains(&e.as_str()),
                        "events may hold invalid, expiring, rotation_due",
                    )?;
                }
                Conditions::KeyHealth(c)
            }
            RuleType::AccessAnomaly => {
                let c: AccessAnomaly = de(value)?;
                for w in &c.windows {
                    check(
                        ["minute", "hour", "day"].contains(&w.as_str()),
                        "windows may hold minute, hour, day",
                    )?;
                }
                Conditions::AccessAnomaly(c)
            }
            RuleType::SpendSpike => {
                let c: SpendSpike = de(value)?;
                check(
                    c.window_minutes.is_multiple_of(60) && (60..=1440).contains(&c.window_minutes),
                    "window_minutes must be whole hours, 60 to 1440 (spend is compared per hour)",
                )?;
                check(
                    (1..=90).contains(&c.baseline_days),
                    "baseline_days must be 1 to 90",
                )?;
                check(
                    c.sensitivity.is_finite() && c.sensitivity > 0.0,
                    "sensitivity must be positive",
                )?;
                check(
                    c.min_ratio.is_finite() && c.min_ratio >= 1.0,
                    "min_ratio must be at least 1",
                )?;
                check(
                    c.min_spend_micros >= 0,
                    "min_spend_micros must not be negative",
                )?;
                Conditions::SpendSpike(c)
            }
            RuleType::ErrorRate => {
                let c: ErrorRate = de(value)?;
                check_window(c.window_minutes)?;
                check(
                    (0.0..=1.0).contains(&c.max_error_rate),
                    "max_error_rate must be 0 to 1",
                )?;
                Conditions::ErrorRate(c)
            }
            RuleType::LatencyP95 => {
                let c: LatencyP95 = de(value)?;
                check_window(c.window_minutes)?;
                check(c.max_p95_ms > 0, "max_p95_ms must be positive")?;
                Conditions::LatencyP95(c)
            }
        };
        Ok(c)
    }

    /// The conditions as stored: every default filled in.
    pub fn to_json(&self) -> serde_json::Value {
        let v = match self {
            Conditions::Budget(c) => serde_json::to_value(c),
            Conditions::KeyHealth(c) => serde_json::to_value(c),
            Conditions::AccessAnomaly(c) => serde_json::to_value(c),
            Conditions::SpendSpike(c) => serde_json::to_value(c),
            Conditions::ErrorRate(c) => serde_json::to_value(c),
            Conditions::LatencyP95(c) => serde_json::to_value(c),
        };
        v.unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_gives_defaults_and_bad_values_are_named() {
        let c = Conditions::parse(RuleType::Budget, &json!(null)).unwrap();
        assert_eq!(c, Conditions::Budget(Budget::default()));
        assert_eq!(c.to_json()["min_percent"], 50);
        let e = Conditions::parse(RuleType::ErrorRate, &json!({"max_error_rate": 2.0}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_error_rate"), "{e}");
        let e = Conditions::parse(RuleType::Budget, &json!({"bogus": 1}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("bogus"), "{e}");
        let e = Conditions::parse(RuleType::KeyHealth, &json!({"events": ["gone"]}))
            .unwrap_err()
            .to_string();
        assert!(e.contains("events"), "{e}");
        let c =
            Conditions::parse(RuleType::LatencyP95, &json!({"group_by": "provider_key"})).unwrap();
        let Conditions::LatencyP95(c) = c else {
            panic!("wrong type")
        };
        assert_eq!(c.group_by, GroupBy::ProviderKey);
        assert_eq!(c.window_minutes, 15);
    }
}

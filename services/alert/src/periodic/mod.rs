//! Periodic rules: spend spike, error rate and p95 latency, evaluated on a timer against a
//! [`MetricsSource`]. Each evaluation fires what crosses its threshold and resolves this rule's
//! open alerts that no longer do. When usage data cannot be read nothing changes.

pub mod source;
pub mod spike;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;

use crate::audit::Who;
use crate::conditions::{Conditions, GroupBy};
use crate::dispatch::Wake;
use crate::error::{AlertError, Result};
use crate::lifecycle::{self, Action};
use crate::matcher::dollars;
use crate::metrics::AlertMetrics;
use crate::model::{Rule, Severity, Signal, fingerprint};
use crate::store::{alerts, rules};
pub use source::{CallStats, MemoryCall, MemorySource, MetricsSource, PgSource, SourceError};

/// What a rule says about usage at one moment.
pub fn signals_for(rule: &Rule, now: DateTime<Utc>, data: &Data) -> Vec<Signal> {
    let signal =
        |parts: &[&str], title: String, detail: String, labels: BTreeMap<String, String>| {
            let mut fp = vec![rule.id.to_string()];
            fp.extend(parts.iter().map(|p| (*p).to_string()));
            let fp: Vec<&str> = fp.iter().map(String::as_str).collect();
            Signal {
                org_id: rule.org_id,
                rule_id: rule.id,
                fingerprint: fingerprint(&fp),
                level: 0,
                severity: rule.severity.max(Severity::Warning),
                title,
                detail,
                labels,
            }
        };
    match (Conditions::parse(rule.rule_type, &rule.conditions), data) {
        (Ok(Conditions::SpendSpike(c)), Data::Spend(hourly)) => {
            let v = spike::judge(hourly, now, &c);
            if !v.spike {
                return Vec::new();
            }
            let labels = BTreeMap::from([
                ("kind".to_string(), "spend_spike".to_string()),
                ("window_minutes".into(), c.window_minutes.to_string()),
                ("spend_micros".into(), v.current.to_string()),
                ("baseline_median_micros".into(), format!("{:.0}", v.median)),
            ]);
            vec![signal(
                &["spend_spike"],
                format!(
                    "Spend spike: {} in the last {} min (usually about {})",
                    dollars(v.current),
                    c.window_minutes,
                    dollars(v.median as i64)
                ),
                format!(
                    "Spend over the last {} minutes is {}, above the threshold of {} (median {} + {} × 1.4826 × MAD {} over the last {} days).",
                    c.window_minutes,
                    dollars(v.current),
                    dollars(v.threshold as i64),
                    dollars(v.median as i64),
                    c.sensitivity,
                    dollars(v.mad as i64),
                    c.baseline_days
                ),
                labels,
            )]
        }
        (Ok(Conditions::ErrorRate(c)), Data::Calls(stats)) => stats
            .iter()
            .filter(|s| s.requests >= c.min_requests && s.requests > 0)
            .filter(|s| (s.errors as f64 / s.requests as f64) > c.max_error_rate)
            .map(|s| {
                let rate = s.errors as f64 / s.requests as f64;
                signal(
                    &["error_rate", c.group_by.label(), &s.group],
                    format!("{} error rate {:.1}% over {} min", s.group, rate * 100.0, c.window_minutes),
                    format!(
                        "{} of {} calls to {} {} failed in the last {} minutes (limit {:.1}%).",
                        s.errors, s.requests, c.group_by.label(), s.group, c.window_minutes,
                        c.max_error_rate * 100.0
                    ),
                    group_labels("error_rate", c.group_by, s),
                )
            })
            .collect(),
        (Ok(Conditions::LatencyP95(c)), Data::Calls(stats)) => stats
            .iter()
            .filter(|s| s.requests >= c.min_requests)
            .filter_map(|s| s.p95_latency_ms.map(|p| (s, p)))
            .filter(|(_, p)| *p > f64::from(c.max_p95_ms))
            .map(|(s, p)| {
                signal(
                    &["latency_p95", c.group_by.label(), &s.group],
                    format!("{} p95 latency {:.0} ms over {} min", s.group, p, c.window_minutes),
                    format!(
                        "The 95th percentile latency of {} calls to {} {} was {:.0} ms in the last {} minutes (limit {} ms).",
                        s.requests, c.group_by.label(), s.group, p, c.window_minutes, c.max_p95_ms
                    ),
                    group_labels("latency_p95", c.group_by, s),
                )
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn group_labels(kind: &str, g: GroupBy, s: &CallStats) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("kind".to_string(), kind.to_string()),
        (g.label().to_string(), s.group.clone()),
        ("requests".into(), s.requests.to_string()),
        ("errors".into(), s.errors.to_string()),
    ])
}

/// The usage a rule needs.
pub enum Data {
    Spend(Vec<(DateTime<Utc>, i64)>),
    Calls(Vec<CallStats>),
}

/// Reads what `rule` needs at `now`.
pub async fn fetch(
    source: &dyn MetricsSource,
    rule: &Rule,
    now: DateTime<Utc>,
) -> std::result::Result<Data, SourceError> {
    let window = |m: u32| now - chrono::Duration::minutes(i64::from(m));
    match Conditions::parse(rule.rule_type, &rule.conditions) {
        Ok(Conditions::SpendSpike(c)) => {
            let (from, to) = spike::span(now, &c);
            source
                .hourly_spend(rule.org_id, &rule.scope, from, to)
                .await
                .map(Data::Spend)
        }
        Ok(Conditions::ErrorRate(c)) => source
            .call_stats(
                rule.org_id,
                &rule.scope,
                c.group_by,
                window(c.window_minutes),
                now,
            )
            .await
            .map(Data::Calls),
        Ok(Conditions::LatencyP95(c)) => source
            .call_stats(
                rule.org_id,
                &rule.scope,
                c.group_by,
                window(c.window_minutes),
                now,
            )
            .await
            .map(Data::Calls),
        Ok(_) => Err(SourceError::Failed("not a periodic rule".into())),
        Err(e) => Err(SourceError::Failed(e.to_string())),
    }
}

/// Evaluates due periodic rules, each on one replica.
pub struct Evaluator {
    pub pool: PgPool,
    pub source: Arc<dyn MetricsSource>,
    pub interval: Duration,
    pub wake: Wake,
    pub metrics: AlertMetrics,
    pub max_attempts: i32,
}

impl Evaluator {
    /// Runs until `shutdown`, looking for due rules every few seconds.
    pub async fn run(self, shutdown: CancellationToken) -> std::result::Result<(), String> {
        let poll = self.interval.min(Duration::from_secs(5));
        let mut warned = false;
        loop {
            match self.once(Utc::now()).await {
                Ok(true) => self.wake.all(),
                Ok(false) => {}
                Err(AlertError::Precondition(why)) if !warned => {
                    tracing::warn!(reason = %why, "periodic alert rules idle: usage data unavailable");
                    warned = true;
                }
                Err(AlertError::Precondition(_)) => {}
                Err(e) => tracing::warn!(error = %e, "periodic rule evaluation failed"),
            }
            tokio::select! {
                () = shutdown.cancelled() => return Ok(()),
                () = tokio::time::sleep(poll) => {}
            }
        }
    }

    /// Evaluates every due rule once; `true` when an alert changed.
    pub async fn once(&self, now: DateTime<Utc>) -> Result<bool> {
        let every =
            chrono::Duration::from_std(self.interval).unwrap_or(chrono::Duration::minutes(1));
        let due = rules::claim_periodic(&self.pool, every, 100).await?;
        let mut changed = false;
        let mut unavailable = None;
        for rule in due {
            match fetch(self.source.as_ref(), &rule, now).await {
                Ok(data) => changed |= self.apply(&rule, &signals_for(&rule, now, &data)).await?,
                Err(SourceError::Unavailable(why)) => unavailable = Some(why),
                Err(e) => tracing::warn!(rule = %rule.id, error = %e, "periodic rule skipped"),
            }
        }
        match unavailable {
            Some(why) if !changed => Err(AlertError::Precondition(why)),
            _ => Ok(changed),
        }
    }

    /// Fires `signals` of `rule` and resolves its open alerts that are no longer signalled.
    pub async fn apply(&self, rule: &Rule, signals: &[Signal]) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let current: BTreeSet<&str> = signals.iter().map(|s| s.fingerprint.as_str()).collect();
        let mut changed = false;
        for a in alerts::open_of_rule(&mut tx, rule.id).await? {
            if !current.contains(a.fingerprint.as_str()) {
                lifecycle::act(
                    &mut tx,
                    a,
                    Action::Resolve,
                    &Who::system(),
                    "back under the threshold",
                )
                .await?;
                self.metrics.alerts.with_label_values(&["resolved"]).inc();
                changed = true;
            }
        }
        for s in signals {
            lifecycle::fire(&mut tx, rule, s, self.max_attempts).await?;
            changed = true;
        }
        tx.commit().await?;
        Ok(changed)
    }
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;

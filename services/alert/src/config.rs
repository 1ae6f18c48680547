//! `[alert]` configuration.

use std::time::Duration;

use serde::Deserialize;

/// `[alert]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `/livez`, `/readyz`, `/metrics`.
    pub http: String,
    /// gRPC listen address.
    pub grpc: String,
    /// How other services reach this one.
    pub grpc_url: String,
    /// How deliveries are retried.
    #[serde(default)]
    pub retry: RetryPolicy,
    /// Timeout of one webhook, Slack or PagerDuty request (connect included).
    #[serde(default = "default_http_timeout_ms")]
    pub http_timeout_ms: u64,
    /// Timeout of one SMTP session.
    #[serde(default = "default_smtp_timeout_ms")]
    pub smtp_timeout_ms: u64,
    /// How often due deliveries, escalations and snooze expiries are looked for (deliveries are
    /// also started right after the event that caused them commits).
    #[serde(default = "default_tick_ms")]
    pub tick_ms: u64,
    /// How often periodic rules (spend spike, error rate, p95 latency) are evaluated.
    #[serde(default = "default_evaluate_interval_secs")]
    pub evaluate_interval_secs: u64,
    /// How long a channel's secrets, read from the vault, are kept in memory.
    #[serde(default = "default_secret_cache_secs")]
    pub secret_cache_secs: u64,
    /// Deliveries sent at once.
    #[serde(default = "default_concurrency")]
    pub delivery_concurrency: usize,
    /// Processed event ids are kept this long for deduplication of redeliveries.
    #[serde(default = "default_event_retention_days")]
    pub event_retention_days: u32,
    /// Send webhook, Slack and PagerDuty notifications to `localhost` and to loopback, private
    /// and link-local addresses too. Off by default: such a receiver is refused when the
    /// request is made, after resolving its host name (SSRF guard; e-mail is not affected).
    #[serde(default)]
    pub allow_private_targets: bool,
}

/// Exponential backoff with jitter: attempt `n` (1-based) failing waits
/// `min(base * factor^(n-1), max) * (1 ± jitter)` before attempt `n + 1`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RetryPolicy {
    /// Attempts in total, the first included.
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    #[serde(default = "default_base_ms")]
    pub base_ms: u64,
    #[serde(default = "default_factor")]
    pub factor: f64,
    #[serde(default = "default_max_ms")]
    pub max_ms: u64,
    /// Fraction of the delay added or removed at random, 0 to 1.
    #[serde(default = "default_jitter")]
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: default_max_attempts(),
            base_ms: default_base_ms(),
            factor: default_factor(),
            max_ms: default_max_ms(),
            jitter: default_jitter(),
        }
    }
}

impl RetryPolicy {
    /// Checks the policy makes sense.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=50).contains(&self.max_attempts) {
            return Err("alert.retry.max_attempts must be 1 to 50".into());
        }
        if self.base_ms == 0 || self.max_ms < self.base_ms {
            return Err("alert.retry needs 0 < base_ms <= max_ms".into());
        }
        if !(1.0..=10.0).contains(&self.factor) {
            return Err("alert.retry.factor must be 1 to 10".into());
        }
        if !(0.0..=1.0).contains(&self.jitter) {
            return Err("alert.retry.jitter must be 0 to 1".into());
        }
        Ok(())
    }

    /// The nominal (jitter-free) wait after failed attempt `attempt` (1-based).
    pub fn nominal_delay(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let ms = (self.base_ms as f64) * self.factor.powi(exp);
        let capped = ms.min(self.max_ms as f64);
        Duration::from_secs_f64(capped / 1000.0)
    }

    /// The wait after failed attempt `attempt`, with jitter drawn from `unit` in [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let nominal = self.nominal_delay(attempt).as_secs_f64();
        let spread = (unit.clamp(0.0, 1.0) * 2.0 - 1.0) * self.jitter;
        Duration::from_secs_f64((nominal * (1.0 + spread)).max(0.0))
    }
}

fn default_max_attempts() -> u32 {
    8
}
fn default_base_ms() -> u64 {
    5_000
}
fn default_factor() -> f64 {
    2.0
}
fn default_max_ms() -> u64 {
    15 * 60 * 1000
}
fn default_jitter() -> f64 {
    0.2
}
fn default_http_timeout_ms() -> u64 {
    10_000
}
fn default_smtp_timeout_ms() -> u64 {
    30_000
}
fn default_tick_ms() -> u64 {
    1_000
}
fn default_evaluate_interval_secs() -> u64 {
    60
}
fn default_secret_cache_secs() -> u64 {
    300
}
fn default_concurrency() -> usize {
    16
}
fn default_event_retention_days() -> u32 {
    14
}

impl Config {
    /// Listen addresses with every other setting at its default.
    pub fn with_addrs(http: &str, grpc: &str, grpc_url: &str) -> Self {
        Self {
            http: http.into(),
            grpc: grpc.into(),
            grpc_url: grpc_url.into(),
            retry: RetryPolicy::default(),
            http_timeout_ms: default_http_timeout_ms(),
            smtp_timeout_ms: default_smtp_timeout_ms(),
            tick_ms: default_tick_ms(),
            evaluate_interval_secs: default_evaluate_interval_secs(),
            secret_cache_secs: default_secret_cache_secs(),
            delivery_concurrency: default_concurrency(),
            event_retention_days: default_event_retention_days(),
            allow_private_targets: false,
        }
    }

    /// Checks every setting.
    pub fn validate(&self) -> Result<(), String> {
        self.retry.validate()?;
        if self.http_timeout_ms == 0 || self.smtp_timeout_ms == 0 {
            return Err("alert timeouts must be positive".into());
        }
        if self.tick_ms == 0 || self.evaluate_interval_secs == 0 {
            return Err("alert.tick_ms and alert.evaluate_interval_secs must be positive".into());
        }
        if !(1..=256).contains(&self.delivery_concurrency) {
            return Err("alert.delivery_concurrency must be 1 to 256".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_is_capped_and_jitters_within_bounds() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_ms: 100,
            factor: 2.0,
            max_ms: 1_000,
            jitter: 0.2,
        };
        let ms = |d: Duration| d.as_millis();
        assert_eq!(ms(p.nominal_delay(1)), 100);
        assert_eq!(ms(p.nominal_delay(2)), 200);
        assert_eq!(ms(p.nominal_delay(3)), 400);
        assert_eq!(ms(p.nominal_delay(5)), 1_000, "capped");
        assert_eq!(ms(p.delay(2, 0.0)), 160);
        assert_eq!(ms(p.delay(2, 0.5)), 200);
        assert_eq!(ms(p.delay(2, 1.0)), 240);
        assert!(p.validate().is_ok());
        assert!(
            RetryPolicy {
                jitter: 1.5,
                ..p.clone()
            }
            .validate()
            .is_err()
        );
        assert!(
            RetryPolicy {
                max_attempts: 0,
                ..p
            }
            .validate()
            .is_err()
        );
    }
}

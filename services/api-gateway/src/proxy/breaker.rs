//! A circuit breaker per provider key: open after `threshold` consecutive failures (429, 5xx,
//! timeouts, rejected key), half-open after `cooldown` (one probe), closed again by a success.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Breaker settings.
#[derive(Debug, Clone, Copy)]
pub struct BreakerConfig {
    pub threshold: u32,
    pub cooldown: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        Self {
            threshold: 5,
            cooldown: Duration::from_secs(30),
        }
    }
}

#[derive(Debug, Clone, Copy)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing_since: Instant },
}

/// The state of a key's breaker, for metrics and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Circuit {
    Closed,
    Open,
    HalfOpen,
}

/// Every provider key's breaker.
#[derive(Debug, Default)]
pub struct Breakers {
    cfg: BreakerConfig,
    keys: Mutex<HashMap<String, State>>,
}

impl Breakers {
    pub fn new(cfg: BreakerConfig) -> Self {
        Self {
            cfg,
            keys: Mutex::default(),
        }
    }

    /// Whether a call may go to `key` now. An open breaker past its cooldown lets one probe
    /// through (half-open); a probe that never reports back frees the slot after a cooldown.
    pub fn allow(&self, key: &str) -> bool {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(state) = keys.get_mut(key) else {
            return true;
        };
        match *state {
            State::Closed { .. } => true,
            State::Open { until } if now >= until => {
                *state = State::HalfOpen { probing_since: now };
                true
            }
            State::Open { .. } => false,
            State::HalfOpen { probing_since } if now >= probing_since + self.cfg.cooldown => {
                *state = State::HalfOpen { probing_since: now };
                true
            }
            State::HalfOpen { .. } => false,
        }
    }

    /// The call succeeded: closed.
    pub fn success(&self, key: &str) {
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if keys.contains_key(key) {
            keys.insert(key.to_owned(), State::Closed { failures: 0 });
        }
    }

    /// The call failed in a way another key may not (429, 5xx, timeout, rejected key).
    pub fn failure(&self, key: &str) {
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let state = keys
            .entry(key.to_owned())
            .or_insert(State::Closed { failures: 0 });
        *state = match *state {
            State::Closed { failures } if failures + 1 < self.cfg.threshold => State::Closed {
                failures: failures + 1,
            },
            _ => {
                tracing::warn!(provider_key_id = key, "circuit opened");
                State::Open {
                    until: now + self.cfg.cooldown,
                }
            }
        };
    }

    /// The breaker's state.
    pub fn circuit(&self, key: &str) -> Circuit {
        let keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        match keys.get(key) {
            None | Some(State::Closed { .. }) => Circuit::Closed,
            Some(State::Open { .. }) => Circuit::Open,
            Some(State::HalfOpen { .. }) => Circuit::HalfOpen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_half_opens_and_closes() {
        let b = Breakers::new(BreakerConfig {
            threshold: 2,
            cooldown: Duration::from_millis(50),
        });
        assert!(b.allow("k"));
        b.failure("k");
        assert_eq!(b.circuit("k"), Circuit::Closed);
        b.failure("k");
        assert_eq!(b.circuit("k"), Circuit::Open);
        assert!(!b.allow("k"));
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow("k"), "one probe after the cooldown");
        assert!(!b.allow("k"), "only one probe");
        b.failure("k");
        assert_eq!(b.circuit("k"), Circuit::Open);
        std::thread::sleep(Duration::from_millis(60));
        assert!(b.allow("k"));
        b.success("k");
        assert_eq!(b.circuit("k"), Circuit::Closed);
        assert!(b.allow("k"));
    }
}

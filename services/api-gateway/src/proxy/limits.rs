//! RPM and TPM token buckets per virtual key, in memory (each gateway replica enforces its own
//! share; see `docs/proxy.md`).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use uuid::Uuid;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn full(capacity: u32, now: Instant) -> Self {
        Self {
            capacity: f64::from(capacity),
            tokens: f64::from(capacity),
            last: now,
        }
    }

    /// Refills at `capacity` per minute; rebuilt when the limit changed.
    fn refill(&mut self, capacity: u32, now: Instant) {
        if (self.capacity - f64::from(capacity)).abs() > f64::EPSILON {
            *self = Self::full(capacity, now);
            return;
        }
        let per_sec = self.capacity / 60.0;
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * per_sec).min(self.capacity);
        self.last = now;
    }

    /// Time until `need` tokens are there.
    fn wait_for(&self, need: f64) -> Duration {
        let per_sec = self.capacity / 60.0;
        if per_sec <= 0.0 {
            return Duration::from_secs(60);
        }
        Duration::from_secs_f64(((need - self.tokens) / per_sec).clamp(0.001, 60.0))
    }
}

#[derive(Debug, Default)]
struct Buckets {
    rpm: Option<Bucket>,
    tpm: Option<Bucket>,
}

/// The limits of one key.
#[derive(Debug, Clone, Copy, Default)]
pub struct Limits {
    pub rpm: Option<u32>,
    pub tpm: Option<u32>,
}

/// Token buckets of every virtual key seen by this replica.
#[derive(Debug, Default)]
pub struct Limiter {
    keys: Mutex<HashMap<Uuid, Buckets>>,
}

impl Limiter {
    /// Takes one request and `est_tokens` tokens (capped at the bucket size, so a single large
    /// request can still run when the bucket is full), or says how long to wait.
    ///
    /// # Errors
    /// The wait before a retry can succeed.
    pub fn acquire(&self, key: Uuid, limits: Limits, est_tokens: u64) -> Result<u64, Duration> {
        if limits.rpm.is_none() && limits.tpm.is_none() {
            return Ok(0);
        }
        let now = Instant::now();
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        let b = keys.entry(key).or_default();
        let rpm = limits.rpm.map(|cap| {
            let bucket = b.rpm.get_or_insert_with(|| Bucket::full(cap, now));
            bucket.refill(cap, now);
            bucket
        });
        if let Some(bucket) = &rpm
            && bucket.tokens < 1.0
        {
            return Err(bucket.wait_for(1.0));
        }
        let mut taken = 0;
        if let Some(cap) = limits.tpm {
            let bucket = b.tpm.get_or_insert_with(|| Bucket::full(cap, now));
            bucket.refill(cap, now);
            #[expect(clippy::cast_precision_loss, reason = "token counts fit f64 exactly")]
            let need = (est_tokens as f64).min(bucket.capacity).max(1.0);
            if bucket.tokens < need {
                return Err(bucket.wait_for(need));
            }
            bucket.tokens -= need;
            #[expect(
                clippy::cast_possible_truncation,
                clippy::cast_sign_loss,
                reason = "need is a positive whole number below u32::MAX"
            )]
            {
                taken = need as u64;
            }
        }
        if let Some(bucket) = b.rpm.as_mut().filter(|_| limits.rpm.is_some()) {
            bucket.tokens -= 1.0;
        }
        Ok(taken)
    }

    /// After the call: replaces the `taken` estimate by the tokens really used (the bucket may go
    /// negative, which delays the next requests).
    pub fn settle(&self, key: Uuid, taken: u64, actual: u64) {
        if taken == actual {
            return;
        }
        let mut keys = self.keys.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = keys.get_mut(&key).and_then(|b| b.tpm.as_mut()) {
            #[expect(clippy::cast_precision_loss, reason = "token counts fit f64 exactly")]
            let delta = actual as f64 - taken as f64;
            bucket.tokens = (bucket.tokens - delta).min(bucket.capacity);
        }
    }

    /// Forgets a key's buckets (key revoked or limits changed).
    pub fn forget(&self, key: Uuid) {
        self.keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpm_and_tpm() {
        let l = Limiter::default();
        let k = Uuid::now_v7();
        let lim = Limits {
            rpm: Some(2),
            tpm: None,
        };
        assert!(l.acquire(k, lim, 10).is_ok());
        assert!(l.acquire(k, lim, 10).is_ok());
        let wait = l.acquire(k, lim, 10).unwrap_err();
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30));
        let lim = Limits {
            rpm: None,
            tpm: Some(100),
        };
        let k = Uuid::now_v7();
        let taken = l.acquire(k, lim, 60).unwrap();
        assert_eq!(taken, 60);
        assert!(l.acquire(k, lim, 60).is_err());
        l.settle(k, taken, 10);
        assert!(l.acquire(k, lim, 60).is_ok());
        assert!(l.acquire(Uuid::now_v7(), Limits::default(), 1).is_ok());
    }
}

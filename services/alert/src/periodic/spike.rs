//! The spend-spike test (docs/alerts.md): the current window's spend against the median and
//! median absolute deviation (MAD) of the same-length windows in the trailing baseline.
//! Median and MAD ignore the odd past spike that would inflate a mean and standard deviation.

use chrono::{DateTime, Duration, DurationRound as _, Utc};

use crate::conditions::SpendSpike;

/// Scales a MAD to a standard deviation for normally distributed data.
pub const MAD_SCALE: f64 = 1.4826;
/// Baseline hours that must have had spend before a spike can be judged at all.
pub const MIN_HISTORY_HOURS: usize = 24;

/// The `p` quantile (0..=1) of sorted values, linearly interpolated; `None` when empty.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    let last = sorted.len().checked_sub(1)?;
    let rank = p.clamp(0.0, 1.0) * last as f64;
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    let (a, b) = (sorted.get(lo)?, sorted.get(hi)?);
    Some(a + (b - a) * (rank - lo as f64))
}

fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    percentile(&v, 0.5).unwrap_or(0.0)
}

/// What the test found.
#[derive(Clone, Debug, PartialEq)]
pub struct Verdict {
    /// Spend of the current window (the current hour is partial).
    pub current: i64,
    pub median: f64,
    pub mad: f64,
    /// `median + sensitivity × 1.4826 × MAD`.
    pub threshold: f64,
    /// Baseline hours with any spend.
    pub history_hours: usize,
    pub spike: bool,
}

/// The hours the test reads at `now`: from the baseline's first hour to the end of this hour.
pub fn span(now: DateTime<Utc>, c: &SpendSpike) -> (DateTime<Utc>, DateTime<Utc>) {
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let w = i64::from(c.window_minutes / 60).max(1);
    let windows = i64::from(c.baseline_days) * 24 / w;
    let current_start = hour - Duration::hours(w - 1);
    (
        current_start - Duration::hours(windows * w),
        hour + Duration::hours(1),
    )
}

/// Judges `hourly` spend (hour start → micro-dollars; missing hours spent nothing) at `now`.
pub fn judge(hourly: &[(DateTime<Utc>, i64)], now: DateTime<Utc>, c: &SpendSpike) -> Verdict {
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    let w = i64::from(c.window_minutes / 60).max(1);
    let windows = i64::from(c.baseline_days) * 24 / w;
    let current_start = hour - Duration::hours(w - 1);
    let sum_in = |from: DateTime<Utc>, to: DateTime<Utc>| -> i64 {
        hourly
            .iter()
            .filter(|(h, _)| *h >= from && *h < to)
            .map(|(_, m)| *m)
            .sum()
    };
    let current = sum_in(current_start, hour + Duration::hours(1));
    let baseline: Vec<f64> = (1..=windows)
        .map(|i| {
            let start = current_start - Duration::hours(i * w);
            sum_in(start, start + Duration::hours(w)) as f64
        })
        .collect();
    let baseline_start = current_start - Duration::hours(windows * w);
    let history_hours = hourly
        .iter()
        .filter(|(h, m)| *h >= baseline_start && *h < current_start && *m > 0)
        .count();
    let med = median(&baseline);
    let deviations: Vec<f64> = baseline.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&deviations);
    let threshold = med + c.sensitivity * MAD_SCALE * mad;
    let cur = current as f64;
    let spike = history_hours >= MIN_HISTORY_HOURS
        && cur > threshold
        && cur >= c.min_ratio * med
        && current >= c.min_spend_micros;
    Verdict {
        current,
        median: med,
        mad,
        threshold,
        history_hours,
        spike,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_750_000_000 - 1_750_000_000 % 3600 + h * 3600, 0).unwrap()
    }

    /// A week of $1–$2 hours with one old $40 outlier, then `last` in the current hour.
    fn week(last: i64) -> Vec<(DateTime<Utc>, i64)> {
        let mut v: Vec<(DateTime<Utc>, i64)> = (-168..0)
            .map(|h| (at(h), 1_000_000 + (h.rem_euclid(7)) * 150_000))
            .collect();
        v[10].1 = 40_000_000;
        v.push((at(0), last));
        v
    }

    #[test]
    fn a_spike_over_a_steady_week_fires_and_normal_spend_does_not() {
        let c = SpendSpike::default();
        let now = at(0) + Duration::minutes(30);
        let calm = judge(&week(2_000_000), now, &c);
        assert!(!calm.spike, "{calm:?}");
        let spike = judge(&week(12_000_000), now, &c);
        assert!(spike.spike, "{spike:?}");
        assert!(spike.median > 1_000_000.0 && spike.median < 2_000_000.0);
        // The old $40 hour does not move the robust baseline.
        assert!(spike.threshold < 5_000_000.0, "{spike:?}");
    }

    #[test]
    fn small_money_and_short_history_never_fire() {
        let c = SpendSpike {
            min_spend_micros: 50_000_000,
            ..SpendSpike::default()
        };
        let now = at(0);
        assert!(!judge(&week(12_000_000), now, &c).spike, "under min_spend");
        let young: Vec<_> = week(90_000_000).into_iter().skip(150).collect();
        let v = judge(&young, now, &SpendSpike::default());
        assert!(v.history_hours < MIN_HISTORY_HOURS && !v.spike, "{v:?}");
    }

    #[test]
    fn multi_hour_windows_sum_whole_hours() {
        let c = SpendSpike {
            window_minutes: 180,
            ..SpendSpike::default()
        };
        let mut v = week(0);
        v.last_mut().unwrap().1 = 9_000_000;
        v.push((at(-1), 9_000_000));
        let verdict = judge(&v, at(0), &c);
        assert!(verdict.current >= 18_000_000, "{verdict:?}");
        assert!(verdict.spike, "{verdict:?}");
        let (from, to) = span(at(0), &c);
        assert_eq!(to - from, Duration::hours(7 * 24 + 3));
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0], 0.5), Some(2.5));
        assert_eq!(percentile(&[10.0], 0.95), Some(10.0));
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert!((percentile(&v, 0.95).unwrap() - 95.05).abs() < 1e-9);
    }
}

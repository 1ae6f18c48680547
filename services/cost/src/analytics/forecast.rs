//! Forecast of a month's spend.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use keyward_proto::v1 as pb;

use super::Analytics;
use super::query::{Filter, to_ts, ts};
use super::rollups::{Range, cost_between};
use crate::error::Result;

/// How the forecast is made (returned with every forecast).
pub const METHOD: &str = "run-rate: month-to-date spend + the average daily spend of the last \
    7 full UTC days x the days left in the month; with no spend in those 7 days, today's spend \
    so far extrapolated to a full day is the rate";

/// First instant of the month containing `t`, and of the next month.
pub fn month_bounds(t: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let first = NaiveDate::from_ymd_opt(t.year(), t.month(), 1).unwrap_or_default();
    let next = if t.month() == 12 {
        NaiveDate::from_ymd_opt(t.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(t.year(), t.month() + 1, 1)
    }
    .unwrap_or_default();
    (
        first.and_time(chrono::NaiveTime::MIN).and_utc(),
        next.and_time(chrono::NaiveTime::MIN).and_utc(),
    )
}

/// `rate_per_day × seconds / 86 400`, rounded half-up, in micro-dollars.
fn prorate(rate_per_day: i64, seconds: i64) -> i64 {
    let v = (i128::from(rate_per_day) * i128::from(seconds) + 43_200) / 86_400;
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Analytics {
    /// Spend to the end of the month containing `at` (default now); see [`METHOD`].
    pub async fn forecast(&self, req: &pb::ForecastRequest) -> Result<pb::ForecastResponse> {
        let filter = Filter::from_proto(req.filter.as_ref())?;
        let at = match &req.at {
            Some(t) => ts(t)?,
            None => Utc::now(),
        };
        let (start, end) = month_bounds(at);
        let spend = |from, to| cost_between(self.pool(), &filter, Range { from, to });
        let spent = spend(start, at).await?;
        let today = at.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let history = spend(today - Duration::days(7), today).await?;
        let rate = if history > 0 {
            (history + 3) / 7
        } else {
            let so_far = spend(today, at).await?;
            let elapsed = (at - today).num_seconds().max(3_600);
            prorate(so_far, 86_400 * 86_400 / elapsed)
        };
        let remaining = (end - at).num_seconds().max(0);
        Ok(pb::ForecastResponse {
            spent_micros: spent,
            forecast_micros: spent.saturating_add(prorate(rate, remaining)),
            period_end: Some(to_ts(end)),
            method: METHOD.to_owned(),
            daily_rate_micros: rate,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn months_and_proration() {
        let t = Utc.with_ymd_and_hms(2026, 12, 15, 10, 0, 0).unwrap();
        let (a, b) = month_bounds(t);
        assert_eq!(a, Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap());
        assert_eq!(b, Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap());
        assert_eq!(prorate(1_000_000, 43_200), 500_000);
        assert_eq!(prorate(3, 86_400 * 2), 6);
    }
}

//! Budget periods: calendar (UTC day, ISO week from Monday, month) or rolling (the last 24 h,
//! 7 days or 30 days, hour-aligned because spend is read from the hourly rollups).

use chrono::{DateTime, Datelike, Duration, NaiveTime, Timelike, Utc};

use crate::analytics::forecast::month_bounds;

/// A budget's period length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Period {
    Day,
    Week,
    Month,
}

impl Period {
    /// Parses `day`, `week` or `month`.
    pub fn parse(s: &str) -> Option<Period> {
        match s {
            "day" => Some(Period::Day),
            "week" => Some(Period::Week),
            "month" => Some(Period::Month),
            _ => None,
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
        }
    }

    /// `[start, end)` of the period in force at `now`. Rolling windows end at the end of the
    /// current hour and span 1, 7 or 30 days.
    pub fn window(self, rolling: bool, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let midnight = now.date_naive().and_time(NaiveTime::MIN).and_utc();
        if rolling {
            let hour = midnight + Duration::hours(i64::from(now.hour()));
            let end = hour + Duration::hours(1);
            let span = match self {
                Period::Day => Duration::days(1),
                Period::Week => Duration::days(7),
                Period::Month => Duration::days(30),
            };
            return (end - span, end);
        }
        match self {
            Period::Day => (midnight, midnight + Duration::days(1)),
            Period::Week => {
                let start =
                    midnight - Duration::days(i64::from(now.weekday().num_days_from_monday()));
                (start, start + Duration::days(7))
            }
            Period::Month => month_bounds(now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows() {
        // Saturday 2026-11-21 22:37.
        let now = Utc.with_ymd_and_hms(2026, 11, 21, 22, 37, 5).unwrap();
        let at = |d, h| Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap();
        assert_eq!(Period::Day.window(false, now), (at(21, 0), at(22, 0)));
        assert_eq!(Period::Week.window(false, now), (at(16, 0), at(23, 0)));
        assert_eq!(
            Period::Month.window(false, now),
            (
                at(1, 0),
                Utc.with_ymd_and_hms(2026, 12, 1, 0, 0, 0).unwrap()
            )
        );
        assert_eq!(Period::Day.window(true, now), (at(20, 23), at(21, 23)));
        assert_eq!(Period::Week.window(true, now).0, at(14, 23));
    }
}

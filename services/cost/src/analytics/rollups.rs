//! Which rollup answers which part of a time range: whole UTC days from the daily rollup, the
//! rest from the hourly; and spend sums over a range read that way.

use chrono::{DateTime, Datelike, Months, NaiveTime, Utc};
use keyward_proto::v1 as pb;
use sqlx::{PgExecutor, QueryBuilder};

use super::query::{Filter, ts};
use crate::error::{Result, invalid};

/// A time range `[from, to)`.
#[derive(Clone, Copy, Debug)]
pub struct Range {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Range {
    /// From the proto range; both ends required, `from < to`.
    pub fn from_proto(r: Option<&pb::TimeRange>) -> Result<Range> {
        let r = r.ok_or_else(|| invalid("range is required"))?;
        let from = ts(r
            .from
            .as_ref()
            .ok_or_else(|| invalid("range.from is required"))?)?;
        let to = ts(r
            .to
            .as_ref()
            .ok_or_else(|| invalid("range.to is required"))?)?;
        if from >= to {
            return Err(invalid("range.from must be before range.to"));
        }
        Ok(Range { from, to })
    }

    /// The rollups that answer this range exactly, in time order: its whole UTC days
    /// `[ceil_day(from), day_start(to))` from the daily rollup and the partial days at either end
    /// from the hourly; all of it from the hourly when it holds no whole day or `hourly_only`.
    ///
    /// Exact because rows are included when their bucket starts inside the range and the daily
    /// row of a UTC day is the sum of its 24 hourly rows (usage-ingest upserts both in the
    /// insert's transaction): the parts' bucket ranges tile `[from, to)` without overlap.
    pub fn parts(&self, hourly_only: bool) -> Vec<Part> {
        let hourly = |from, to| Part {
            rollup: Rollup::Hourly,
            from,
            to,
        };
        let days = match ceil_day(self.from) {
            Some(first) if !hourly_only && first < day_start(self.to) => {
                (first, day_start(self.to))
            }
            _ => return vec![hourly(self.from, self.to)],
        };
        let mut out = Vec::with_capacity(3);
        if self.from < days.0 {
            out.push(hourly(self.from, days.0));
        }
        out.push(Part {
            rollup: Rollup::Daily,
            from: days.0,
            to: days.1,
        });
        if days.1 < self.to {
            out.push(hourly(days.1, self.to));
        }
        out
    }
}

/// A rollup table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rollup {
    Hourly,
    Daily,
}

impl Rollup {
    /// The table (a constant, safe to push into SQL).
    pub fn table(self) -> &'static str {
        match self {
            Rollup::Hourly => "usage.rollup_hourly",
            Rollup::Daily => "usage.rollup_daily",
        }
    }
}

/// The rows of one rollup whose bucket is in `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Part {
    pub rollup: Rollup,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// UTC midnight starting the day of `t`.
pub(crate) fn day_start(t: DateTime<Utc>) -> DateTime<Utc> {
    t.date_naive().and_time(NaiveTime::MIN).and_utc()
}

/// `t` when it is a UTC midnight, else the next one.
fn ceil_day(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let start = day_start(t);
    if start == t { Some(t) } else { next_day(start) }
}

/// The UTC midnight a day after the midnight `t`.
pub(crate) fn next_day(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(
        t.date_naive()
            .succ_opt()?
            .and_time(NaiveTime::MIN)
            .and_utc(),
    )
}

/// The first instant of the UTC month of `t`.
pub(crate) fn month_start(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    Some(
        t.date_naive()
            .with_day(1)?
            .and_time(NaiveTime::MIN)
            .and_utc(),
    )
}

/// The first instant of the UTC month after the month start `t`.
pub(crate) fn next_month(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let d = t.date_naive().checked_add_months(Months::new(1))?;
    Some(d.and_time(NaiveTime::MIN).and_utc())
}

/// Sum of `cost_micros` of the rollup rows matching `filter` whose bucket is in `range`: whole
/// UTC days from the daily rollup, the rest from the hourly ([`Range::parts`]). One statement,
/// so one snapshot: both rollups move in the same transaction, the sum is never half-updated.
pub async fn cost_between<'e>(
    exec: impl PgExecutor<'e>,
    filter: &Filter,
    range: Range,
) -> Result<i64> {
    let mut q = QueryBuilder::new("SELECT coalesce(sum(c), 0)::bigint FROM (");
    for (i, part) in range.parts(false).iter().enumerate() {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push("SELECT sum(cost_micros) AS c FROM ")
            .push(part.rollup.table())
            .push(" WHERE");
        filter.push(&mut q);
        q.push(" AND bucket >= ")
            .push_bind(part.from)
            .push(" AND bucket < ")
            .push_bind(part.to);
    }
    q.push(") AS p");
    // Unnamed, as the breakdowns are (`Analytics::rows`): planned with the actual range.
    Ok(q.build_query_scalar()
        .persistent(false)
        .fetch_one(exec)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(day: u32, h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, day, h, m, 0).unwrap()
    }

    fn parts(
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(Rollup, DateTime<Utc>, DateTime<Utc>)> {
        Range { from, to }
            .parts(false)
            .into_iter()
            .map(|p| (p.rollup, p.from, p.to))
            .collect()
    }

    #[test]
    fn whole_days_come_from_the_daily_rollup_and_the_ends_from_the_hourly() {
        use Rollup::{Daily, Hourly};
        // A dashboard range ending "now".
        assert_eq!(
            parts(at(1, 10, 30), at(30, 13, 5)),
            vec![
                (Hourly, at(1, 10, 30), at(2, 0, 0)),
                (Daily, at(2, 0, 0), at(30, 0, 0)),
                (Hourly, at(30, 0, 0), at(30, 13, 5)),
            ]
        );
        // Day-aligned: the daily rollup alone, as before.
        assert_eq!(
            parts(at(1, 0, 0), at(8, 0, 0)),
            vec![(Daily, at(1, 0, 0), at(8, 0, 0))]
        );
        // One end at midnight.
        assert_eq!(
            parts(at(1, 0, 0), at(3, 9, 0)),
            vec![
                (Daily, at(1, 0, 0), at(3, 0, 0)),
                (Hourly, at(3, 0, 0), at(3, 9, 0))
            ]
        );
        assert_eq!(
            parts(at(1, 9, 0), at(3, 0, 0)),
            vec![
                (Hourly, at(1, 9, 0), at(2, 0, 0)),
                (Daily, at(2, 0, 0), at(3, 0, 0))
            ]
        );
        // No whole day: the hourly rollup alone, inside one day or across one midnight.
        assert_eq!(
            parts(at(1, 1, 0), at(1, 23, 0)),
            vec![(Hourly, at(1, 1, 0), at(1, 23, 0))]
        );
        assert_eq!(
            parts(at(1, 9, 0), at(2, 23, 0)),
            vec![(Hourly, at(1, 9, 0), at(2, 23, 0))]
        );
        // Hour buckets only exist in the hourly rollup.
        let r = Range {
            from: at(1, 0, 0),
            to: at(8, 0, 0),
        };
        assert_eq!(
            r.parts(true),
            vec![Part {
                rollup: Hourly,
                from: r.from,
                to: r.to
            }]
        );
    }

    #[test]
    fn parts_tile_the_range_and_hourly_ends_stay_inside_one_day() {
        let base = at(10, 0, 0);
        let offsets = [0, 1, 59, 60, 630, 1439, 1440, 1441, 2880, 3000, 10_000];
        let nano = Duration::nanoseconds(1);
        for a in offsets {
            for b in offsets {
                for (from, to) in [
                    (base + Duration::minutes(a), base + Duration::minutes(b)),
                    (
                        base + Duration::minutes(a) + nano,
                        base + Duration::minutes(b) - nano,
                    ),
                ] {
                    if from >= to {
                        continue;
                    }
                    let ps = Range { from, to }.parts(false);
                    assert_eq!(ps[0].from, from, "{from} {to}");
                    assert_eq!(ps[ps.len() - 1].to, to, "{from} {to}");
                    assert!(ps.windows(2).all(|w| w[0].to == w[1].from), "{from} {to}");
                    assert!(ps.iter().all(|p| p.from < p.to), "{from} {to}");
                    let daily: Vec<_> = ps.iter().filter(|p| p.rollup == Rollup::Daily).collect();
                    let whole_day = ceil_day(from).is_some_and(|d| d + Duration::days(1) <= to);
                    assert_eq!(daily.len(), usize::from(whole_day), "{from} {to}");
                    for d in daily {
                        assert_eq!((day_start(d.from), day_start(d.to)), (d.from, d.to));
                    }
                    if whole_day {
                        for h in ps.iter().filter(|p| p.rollup == Rollup::Hourly) {
                            assert!(h.to <= day_start(h.from) + Duration::days(1), "{from} {to}");
                        }
                    }
                }
            }
        }
    }
}

//! Ranges that are not whole UTC days, part of the suite both storage paths run: their whole days
//! are read from the daily rollup and their partial ends from the hourly, and every answer must
//! equal the sums of the events themselves (an event counts when its hour starts inside the
//! range) and the hourly rollup's alone: no boundary day counted twice, none dropped.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use keyward_cost::analytics::Analytics;
use keyward_cost::analytics::query::Filter;
use keyward_cost::analytics::rollups::{Range, Rollup, cost_between};
use keyward_cost::budgets::store::{BudgetRow, spent};
use keyward_pricing::PriceBook;
use keyward_proto::v1::{self as pb, UsageEvent};

use crate::suite::{Fixture, bucket_of, cost_of, filter, range, ts_of};

/// Requests, input, output, cached input and cache-write tokens, errors, cost.
type Sums = [i64; 7];

fn add(into: &mut Sums, s: Sums) {
    for (a, b) in into.iter_mut().zip(s) {
        *a += b;
    }
}

fn event_sums(book: &PriceBook, e: &UsageEvent) -> Sums {
    let n = |v: u64| i64::try_from(v).unwrap();
    [
        1,
        n(e.input_tokens),
        n(e.output_tokens),
        n(e.cached_input_tokens),
        n(e.cache_write_5m_tokens + e.cache_write_1h_tokens),
        i64::from(e.status != "ok"),
        cost_of(book, e),
    ]
}

fn row_sums(r: &pb::BreakdownRow) -> Sums {
    let n = |v: u64| i64::try_from(v).unwrap();
    [
        n(r.requests),
        n(r.input_tokens),
        n(r.output_tokens),
        n(r.cached_input_tokens),
        n(r.cache_write_tokens),
        n(r.errors),
        r.cost_micros,
    ]
}

/// The start of the hourly rollup bucket an event is in.
fn hour_of(e: &UsageEvent) -> DateTime<Utc> {
    let t = ts_of(e);
    t - Duration::seconds(i64::from(t.minute() * 60 + t.second()))
}

/// The events' sums per key, for events whose hour starts in `[from, to)`.
fn want<K: Ord>(
    f: &Fixture,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    key: impl Fn(&UsageEvent) -> K,
) -> BTreeMap<K, Sums> {
    let book = PriceBook::builtin().unwrap();
    let mut out = BTreeMap::new();
    for e in f
        .events
        .iter()
        .filter(|e| hour_of(e) >= from && hour_of(e) < to)
    {
        add(out.entry(key(e)).or_insert([0; 7]), event_sums(&book, e));
    }
    out
}

/// The rows' sums per key; a key on two rows (a group split between rollups) fails.
fn got<K: Ord + std::fmt::Debug>(
    rows: &[pb::BreakdownRow],
    key: impl Fn(&pb::BreakdownRow) -> K,
) -> BTreeMap<K, Sums> {
    let mut out = BTreeMap::new();
    for r in rows {
        let k = key(r);
        let dup = format!("{k:?}");
        assert!(out.insert(k, row_sums(r)).is_none(), "two rows for {dup}");
    }
    out
}

fn day(r: &pb::BreakdownRow) -> NaiveDate {
    let b = bucket_of(r);
    assert_eq!(
        b.num_seconds_from_midnight(),
        0,
        "day buckets start at midnight"
    );
    b.date_naive()
}

fn month(r: &pb::BreakdownRow) -> (i32, u32) {
    let b = bucket_of(r);
    assert_eq!((b.day(), b.num_seconds_from_midnight()), (1, 0));
    (b.year(), b.month())
}

async fn query(
    analytics: &Analytics,
    f: &Fixture,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    group_by: &[&str],
    bucket: pb::Bucket,
) -> Vec<pb::BreakdownRow> {
    let req = pb::BreakdownRequest {
        filter: filter(f.org),
        range: range(from, to),
        group_by: group_by.iter().map(|d| (*d).to_owned()).collect(),
        bucket: bucket as i32,
        page: None,
    };
    let out = if group_by.is_empty() {
        analytics.time_series(&req).await
    } else {
        analytics.breakdown(&req).await
    };
    let out = out.unwrap();
    assert_eq!(out.page.unwrap().next_cursor, "", "every row on one page");
    out.rows
}

/// Every query over `[from, to)` against the events.
async fn check(analytics: &Analytics, f: &Fixture, name: &str, r: (DateTime<Utc>, DateTime<Utc>)) {
    let model = |r: &pb::BreakdownRow| r.group["model"].clone();
    let provider = |r: &pb::BreakdownRow| r.group["provider"].clone();

    // Day buckets by model.
    let days = query(analytics, f, r, &["model"], pb::Bucket::Day).await;
    let want_days = want(f, r, |e| (ts_of(e).date_naive(), e.model.clone()));
    assert!(!want_days.is_empty(), "{name}: the range holds events");
    assert_eq!(
        got(&days, |r| (day(r), model(r))),
        want_days,
        "{name}: days"
    );

    // The same from the hourly rollup alone (hour buckets), added up into days here.
    let hours = query(analytics, f, r, &["model"], pb::Bucket::Hour).await;
    let mut from_hours = BTreeMap::new();
    for h in &hours {
        add(
            from_hours
                .entry((bucket_of(h).date_naive(), model(h)))
                .or_insert([0; 7]),
            row_sums(h),
        );
    }
    assert_eq!(from_hours, want_days, "{name}: hourly rollup alone");

    // A time series (day buckets by default) without dimensions.
    let series = query(analytics, f, r, &[], pb::Bucket::Unspecified).await;
    let want_series = want(f, r, |e| ts_of(e).date_naive());
    assert_eq!(got(&series, day), want_series, "{name}: time series");

    // Month buckets by provider (the fixture's days may straddle a month boundary).
    let months = query(analytics, f, r, &["provider"], pb::Bucket::Month).await;
    let want_months = want(f, r, |e| {
        let t = ts_of(e);
        ((t.year(), t.month()), e.provider.clone())
    });
    assert_eq!(
        got(&months, |r| (month(r), provider(r))),
        want_months,
        "{name}: months"
    );

    // No buckets, two dimensions (absent teams group as "").
    let flat = query(
        analytics,
        f,
        r,
        &["team", "provider"],
        pb::Bucket::Unspecified,
    )
    .await;
    assert!(flat.iter().all(|r| r.bucket_start.is_none()));
    let want_flat = want(f, r, |e| {
        (e.team_id.clone().unwrap_or_default(), e.provider.clone())
    });
    assert_eq!(
        got(&flat, |r| (r.group["team"].clone(), provider(r))),
        want_flat,
        "{name}: no buckets"
    );

    // Top provider keys, costliest first.
    let top = analytics
        .top(&pb::TopRequest {
            filter: filter(f.org),
            range: range(r.0, r.1),
            dimension: "provider_key".into(),
            limit: 10,
        })
        .await
        .unwrap();
    let want_top = want(f, r, |e| e.provider_key_id.clone().unwrap());
    assert_eq!(
        got(&top.rows, |r| r.group["provider_key"].clone()),
        want_top,
        "{name}: top"
    );
    assert!(
        top.rows
            .windows(2)
            .all(|w| w[0].cost_micros >= w[1].cost_micros),
        "{name}: top is costliest first"
    );

    // Spend (forecast and budgets): the org's, and one team's through a budget's scope.
    let cost = |m: &BTreeMap<_, Sums>| m.values().map(|s| s[6]).sum::<i64>();
    let org_spend = cost_between(
        analytics.pool(),
        &Filter {
            org: f.org,
            ..Filter::default()
        },
        Range { from: r.0, to: r.1 },
    )
    .await
    .unwrap();
    assert_eq!(org_spend, cost(&want_days), "{name}: spend");
    let team = f.teams[1];
    let budget = BudgetRow {
        id: uuid::Uuid::now_v7(),
        org_id: f.org,
        team_id: Some(team),
        project_id: None,
        virtual_key_id: None,
        name: "team".into(),
        period: "week".into(),
        rolling: true,
        amount_micros: 1,
        hard: false,
        thresholds: vec![100],
    };
    let team_spend = spent(analytics.pool(), &budget, r.0, r.1).await.unwrap();
    let want_team = want(f, r, |e| e.team_id.clone());
    assert_eq!(
        team_spend,
        want_team.get(&Some(team.to_string())).map_or(0, |s| s[6]),
        "{name}: team budget spend"
    );
    assert!(team_spend > 0, "{name}: the team spent something");
}

/// The fixture's events run from its base (UTC midnight three days ago) to 14:36 two days later.
pub async fn run(analytics: &Analytics, f: &Fixture) {
    let at = |day: i64, hour: i64, minute: i64| {
        f.base + Duration::days(day) + Duration::hours(hour) + Duration::minutes(minute)
    };
    let hourly = |from, to| (Rollup::Hourly, from, to);
    let daily = |from, to| (Rollup::Daily, from, to);
    let cases = [
        (
            // Hour 10 of day 0 starts before the range (out); hour 13 of day 2 inside it (in,
            // with its event at 13:50).
            "several days, neither end at midnight",
            (at(0, 10, 30), at(2, 13, 30)),
            vec![
                hourly(at(0, 10, 30), at(1, 0, 0)),
                daily(at(1, 0, 0), at(2, 0, 0)),
                hourly(at(2, 0, 0), at(2, 13, 30)),
            ],
        ),
        (
            "inside one day",
            (at(1, 3, 0), at(1, 20, 15)),
            vec![hourly(at(1, 3, 0), at(1, 20, 15))],
        ),
        (
            "across one midnight, no whole day",
            (at(0, 15, 0), at(1, 8, 0)),
            vec![hourly(at(0, 15, 0), at(1, 8, 0))],
        ),
        (
            "from midnight to mid-day",
            (at(0, 0, 0), at(2, 9, 45)),
            vec![
                daily(at(0, 0, 0), at(2, 0, 0)),
                hourly(at(2, 0, 0), at(2, 9, 45)),
            ],
        ),
        (
            "from mid-day to midnight",
            (at(0, 7, 20), at(2, 0, 0)),
            vec![
                hourly(at(0, 7, 20), at(1, 0, 0)),
                daily(at(1, 0, 0), at(2, 0, 0)),
            ],
        ),
    ];
    for (name, r, parts) in cases {
        // Each case reads the rollups it is meant to exercise.
        let got: Vec<_> = Range { from: r.0, to: r.1 }
            .parts(false)
            .into_iter()
            .map(|p| (p.rollup, p.from, p.to))
            .collect();
        assert_eq!(got, parts, "{name}: parts");
        check(analytics, f, name, r).await;
    }
}

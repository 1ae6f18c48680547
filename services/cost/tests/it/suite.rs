//! The query suite both storage paths must pass (plain PostgreSQL partitions here, TimescaleDB
//! through tools/pglite-server in `timescale.rs`): fixed events go through the real ingest path,
//! and every analytics query is checked against sums computed here from the same events.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Timelike, Utc};
use keyward_cost::analytics::Analytics;
use keyward_pricing::{PriceBook, cost_micros};
use keyward_proto::v1::{self as pb, UsageEvent};
use sqlx::PgPool;
use uuid::Uuid;

pub struct Fixture {
    pub org: Uuid,
    pub teams: [Uuid; 2],
    pub events: Vec<UsageEvent>,
    pub base: DateTime<Utc>,
}

const MODELS: [(&str, &str); 3] = [
    ("openai", "gpt-4o-mini"),
    ("anthropic", "claude-sonnet-4-5"),
    ("openai", "gpt-4.1"),
];

fn pts(t: DateTime<Utc>) -> prost_types::Timestamp {
    prost_types::Timestamp {
        seconds: t.timestamp(),
        nanos: 0,
    }
}

pub fn fixture() -> Fixture {
    let org = Uuid::now_v7();
    let teams = [Uuid::now_v7(), Uuid::now_v7()];
    let pkeys = [Uuid::now_v7(), Uuid::now_v7()];
    let base = Utc::now().date_naive().and_time(NaiveTime::MIN).and_utc() - Duration::days(3);
    let events = (0..72u64)
        .map(|i| {
            let ts = base + Duration::minutes(i64::try_from(i * 53).unwrap());
            let (provider, model) = MODELS[(i % 3) as usize];
            UsageEvent {
                event_id: Uuid::now_v7().to_string(),
                ts: Some(pts(ts)),
                org_id: org.to_string(),
                team_id: (i % 4 != 3).then(|| teams[(i % 2) as usize].to_string()),
                provider_key_id: Some(pkeys[(i % 5 == 0) as usize].to_string()),
                provider: provider.into(),
                model: model.into(),
                input_tokens: 1_000 + i * 10,
                output_tokens: 100 + i,
                cached_input_tokens: i * 3,
                cache_write_5m_tokens: i % 2,
                reasoning_tokens: 0,
                status: if i % 9 == 0 { "error" } else { "ok" }.into(),
                http_status: 200,
                endpoint: "chat".into(),
                ..UsageEvent::default()
            }
        })
        .collect();
    Fixture {
        org,
        teams,
        events,
        base,
    }
}

pub fn ts_of(e: &UsageEvent) -> DateTime<Utc> {
    Utc.timestamp_opt(e.ts.as_ref().unwrap().seconds, 0)
        .unwrap()
}

pub fn cost_of(book: &PriceBook, e: &UsageEvent) -> i64 {
    let price = book.lookup(&e.provider, &e.model, ts_of(e)).unwrap();
    cost_micros(
        price,
        &keyward_pricing::Usage {
            input_tokens: e.input_tokens,
            cached_input_tokens: e.cached_input_tokens,
            cache_write_5m_tokens: e.cache_write_5m_tokens,
            cache_write_1h_tokens: e.cache_write_1h_tokens,
            output_tokens: e.output_tokens,
            reasoning_tokens: e.reasoning_tokens,
        },
    )
}

/// (requests, input tokens, cost) per key.
fn expect<K: Ord>(
    f: &Fixture,
    keep: impl Fn(&UsageEvent) -> bool,
    key: impl Fn(&UsageEvent) -> K,
) -> BTreeMap<K, (u64, u64, i64)> {
    let book = PriceBook::builtin().unwrap();
    let mut out = BTreeMap::new();
    for e in f.events.iter().filter(|e| keep(e)) {
        let slot = out.entry(key(e)).or_insert((0, 0, 0));
        slot.0 += 1;
        slot.1 += e.input_tokens;
        slot.2 += cost_of(&book, e);
    }
    out
}

pub fn range(from: DateTime<Utc>, to: DateTime<Utc>) -> Option<pb::TimeRange> {
    Some(pb::TimeRange {
        from: Some(pts(from)),
        to: Some(pts(to)),
    })
}

pub fn filter(org: Uuid) -> Option<pb::UsageFilter> {
    Some(pb::UsageFilter {
        org_id: org.to_string(),
        ..Default::default()
    })
}

pub fn bucket_of(r: &pb::BreakdownRow) -> DateTime<Utc> {
    Utc.timestamp_opt(r.bucket_start.as_ref().unwrap().seconds, 0)
        .unwrap()
}

fn got<K: Ord>(
    rows: &[pb::BreakdownRow],
    key: impl Fn(&pb::BreakdownRow) -> K,
) -> BTreeMap<K, (u64, u64, i64)> {
    rows.iter()
        .map(|r| (key(r), (r.requests, r.input_tokens, r.cost_micros)))
        .collect()
}

/// A breakdown of the org by one dimension over `[from, to)`, every row on one page.
async fn by(
    analytics: &Analytics,
    org: Uuid,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    dim: &str,
    bucket: pb::Bucket,
) -> Vec<pb::BreakdownRow> {
    analytics
        .breakdown(&pb::BreakdownRequest {
            filter: filter(org),
            range: range(from, to),
            group_by: vec![dim.into()],
            bucket: bucket as i32,
            page: None,
        })
        .await
        .unwrap()
        .rows
}

/// Ingests the fixture through `ingest` and checks every query through `analytics`.
pub async fn run(usage_pool: PgPool, analytics: Analytics) {
    let f = fixture();
    let cfg = keyward_usage_ingest::Config::with_addrs("x:1", "x:2", "http://x:2");
    let ingestor = keyward_usage_ingest::ingestor(
        usage_pool,
        &cfg,
        keyward_usage_ingest::IngestMetrics::new(None).unwrap(),
    )
    .unwrap();
    let first = ingestor.ingest_call(&f.events).await.unwrap();
    assert_eq!(first.inserted, 72);
    // Idempotent on both paths: the same batch again inserts and rolls up nothing.
    let again = ingestor.ingest_call(&f.events).await.unwrap();
    assert_eq!((again.inserted, again.duplicates), (0, 72));

    let end = f.base + Duration::days(3);
    let model = |r: &pb::BreakdownRow| r.group["model"].clone();

    // Day buckets by model over whole days: the daily rollup.
    let day = by(&analytics, f.org, (f.base, end), "model", pb::Bucket::Day).await;
    let want = expect(
        &f,
        |e| ts_of(e) < end,
        |e| (ts_of(e).date_naive(), e.model.clone()),
    );
    assert_eq!(got(&day, |r| (bucket_of(r).date_naive(), model(r))), want);

    // Hour buckets over a range that is not day-aligned: the hourly rollup.
    let (from, to) = (f.base + Duration::hours(5), f.base + Duration::hours(29));
    let hourly = by(&analytics, f.org, (from, to), "provider", pb::Bucket::Hour).await;
    let want = expect(
        &f,
        |e| ts_of(e) >= from && ts_of(e) < to,
        |e| (ts_of(e).with_minute(0).unwrap(), e.provider.clone()),
    );
    assert_eq!(
        got(&hourly, |r| (bucket_of(r), r.group["provider"].clone())),
        want
    );

    // Three dimensions, a team filter, no bucket; absent teams group as "".
    let t0 = f.teams[0].to_string();
    let by_team = analytics
        .breakdown(&pb::BreakdownRequest {
            filter: Some(pb::UsageFilter {
                org_id: f.org.to_string(),
                team_ids: vec![t0.clone()],
                ..Default::default()
            }),
            range: range(f.base, end),
            group_by: vec!["team".into(), "provider".into(), "model".into()],
            bucket: 0,
            page: None,
        })
        .await
        .unwrap();
    let want = expect(
        &f,
        |e| e.team_id.as_deref() == Some(t0.as_str()),
        |e| (e.provider.clone(), e.model.clone()),
    );
    assert_eq!(
        got(&by_team.rows, |r| (
            r.group["provider"].clone(),
            r.group["model"].clone()
        )),
        want
    );
    assert!(
        by_team
            .rows
            .iter()
            .all(|r| r.group["team"] == t0 && r.bucket_start.is_none())
    );

    // Month buckets and errors.
    let month = analytics
        .time_series(&pb::BreakdownRequest {
            filter: filter(f.org),
            range: range(f.base, end),
            group_by: vec![],
            bucket: pb::Bucket::Month as i32,
            page: None,
        })
        .await
        .unwrap();
    let want = expect(
        &f,
        |e| ts_of(e) < end,
        |e| (ts_of(e).year(), ts_of(e).month()),
    );
    assert_eq!(
        got(&month.rows, |r| (bucket_of(r).year(), bucket_of(r).month())),
        want
    );
    let errors: u64 = month.rows.iter().map(|r| r.errors).sum();
    let want_errors = f
        .events
        .iter()
        .filter(|e| e.status != "ok" && ts_of(e) < end)
        .count();
    assert_eq!(errors, u64::try_from(want_errors).unwrap());

    // Re-bucketing through the bucket list: months over a range spanning several months (and
    // not day-aligned, so the hourly rollup), days from the hourly rollup.
    let from = f.base - Duration::days(62) + Duration::hours(5);
    let months = by(&analytics, f.org, (from, end), "model", pb::Bucket::Month).await;
    let want = expect(
        &f,
        |e| ts_of(e) < end,
        |e| {
            let t = ts_of(e);
            (t.year(), t.month(), e.model.clone())
        },
    );
    assert_eq!(
        got(&months, |r| (
            bucket_of(r).year(),
            bucket_of(r).month(),
            model(r)
        )),
        want
    );
    assert!(
        months
            .iter()
            .all(|r| bucket_of(r).day() == 1 && bucket_of(r).num_seconds_from_midnight() == 0)
    );
    let (from, to) = (f.base + Duration::hours(5), end - Duration::hours(3));
    let days = by(&analytics, f.org, (from, to), "provider", pb::Bucket::Day).await;
    let want = expect(
        &f,
        |e| ts_of(e) >= from && ts_of(e).with_minute(0).unwrap() < to,
        |e| (ts_of(e).date_naive(), e.provider.clone()),
    );
    assert_eq!(
        got(&days, |r| (
            bucket_of(r).date_naive(),
            r.group["provider"].clone()
        )),
        want
    );
    assert!(
        days.iter()
            .all(|r| bucket_of(r).num_seconds_from_midnight() == 0)
    );

    // Pages: two rows at a time, then the rest.
    let page = |cursor: String| pb::BreakdownRequest {
        filter: filter(f.org),
        range: range(f.base, end),
        group_by: vec!["model".into()],
        bucket: pb::Bucket::Day as i32,
        page: Some(pb::PageRequest {
            page_size: 2,
            cursor,
        }),
    };
    let p1 = analytics.breakdown(&page(String::new())).await.unwrap();
    assert_eq!(p1.rows.len(), 2);
    let cursor = p1.page.unwrap().next_cursor;
    assert_eq!(cursor, "2");
    let p2 = analytics.breakdown(&page(cursor)).await.unwrap();
    assert_eq!(p2.rows[0], day[2]);

    // Top provider keys by cost.
    let top = analytics
        .top(&pb::TopRequest {
            filter: filter(f.org),
            range: range(f.base, end),
            dimension: "provider_key".into(),
            limit: 1,
        })
        .await
        .unwrap();
    let want = expect(
        &f,
        |e| ts_of(e) < end,
        |e| e.provider_key_id.clone().unwrap(),
    );
    let best = want.iter().max_by_key(|(_, v)| v.2).unwrap();
    assert_eq!(top.rows.len(), 1);
    assert_eq!(top.rows[0].group["provider_key"], *best.0);
    assert_eq!(top.rows[0].cost_micros, best.1.2);

    // Chargeback of the base day's month by team: every cost accounted for.
    let month_str = f.base.format("%Y-%m").to_string();
    let csv = analytics
        .chargeback(&pb::ChargebackRequest {
            org_id: f.org.to_string(),
            month: month_str.clone(),
            by: "team".into(),
        })
        .await
        .unwrap()
        .concat();
    let csv = String::from_utf8(csv).unwrap();
    let mut lines = csv.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("month,team_id,provider,model,")
    );
    let total: i64 = lines
        .map(|l| l.split(',').nth(10).unwrap().parse::<i64>().unwrap())
        .sum();
    let want: i64 = expect(
        &f,
        |e| ts_of(e).format("%Y-%m").to_string() == month_str,
        |_| (),
    )
    .values()
    .map(|v| v.2)
    .sum();
    assert_eq!(total, want);
    assert!(csv.contains("unassigned"));

    // Forecast: month-to-date spend is exact.
    let forecast = analytics
        .forecast(&pb::ForecastRequest {
            filter: filter(f.org),
            at: None,
        })
        .await
        .unwrap();
    let now = Utc::now();
    let want: i64 = expect(
        &f,
        |e| ts_of(e).year() == now.year() && ts_of(e).month() == now.month(),
        |_| (),
    )
    .values()
    .map(|v| v.2)
    .sum();
    assert_eq!(forecast.spent_micros, want);
    assert!(forecast.forecast_micros >= forecast.spent_micros);
    assert!(forecast.method.starts_with("run-rate"));

    // Ranges that are not whole days: daily rollup for the whole days, hourly for the ends.
    crate::ranges::run(&analytics, &f).await;

    // Bad requests are refused with a reason.
    let bad = |group_by: Vec<&str>, r: Option<pb::TimeRange>| pb::BreakdownRequest {
        filter: filter(f.org),
        range: r,
        group_by: group_by.into_iter().map(String::from).collect(),
        bucket: 0,
        page: None,
    };
    let e = analytics
        .breakdown(&bad(
            vec!["org", "team", "model", "user"],
            range(f.base, end),
        ))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "group_by takes 1 to 3 dimensions, got 4");
    let e = analytics
        .breakdown(&bad(vec!["colour"], range(f.base, end)))
        .await
        .unwrap_err();
    assert!(e.to_string().starts_with("unknown dimension `colour`"));
    let e = analytics
        .breakdown(&bad(vec!["model"], range(end, f.base)))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "range.from must be before range.to");
    assert_eq!(e.code(), keyward_core::ErrorCode::InvalidArgument);
}

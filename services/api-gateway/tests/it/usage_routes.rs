//! The usage, cost, budget and pricing routes against the real usage-ingest and cost services:
//! calls are metered through `UsageService.Ingest` over gRPC, then every number the REST API
//! answers is checked against the stored events.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, DurationRound as _, Utc};
use keyward_core::ServiceName;
use keyward_proto::v1::usage_service_client::UsageServiceClient;
use keyward_proto::v1::{IngestRequest, UsageEvent};
use serde_json::{Value, json};

use crate::harness::{Extra, Gw, Session};

const MODELS: [&str; 2] = ["gpt-4o-mini", "gpt-4o-2024-08-06"];

async fn start() -> Gw {
    Gw::start_full(&[Extra::UsageIngest, Extra::Cost], |_| {}).await
}

/// Meters `events` through the usage service's gRPC `Ingest`, as an internal system would.
async fn ingest(gw: &Gw, events: Vec<UsageEvent>) {
    let url = gw
        .tp
        .platform
        .endpoint(ServiceName::UsageIngest)
        .unwrap()
        .to_string();
    let channel = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect_lazy();
    let mut client = UsageServiceClient::with_interceptor(
        channel,
        keyward_telemetry::IdentityInjector::new(&gw.tp.platform.internal, "api-gateway").unwrap(),
    );
    let n = events.len() as u32;
    let r = client.ingest(IngestRequest { events }).await.unwrap();
    assert_eq!(r.into_inner().accepted, n);
}

fn event(org: &str, team: Option<&str>, model: &str, i: u64, ts: DateTime<Utc>) -> UsageEvent {
    UsageEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        ts: Some(prost_types::Timestamp {
            seconds: ts.timestamp(),
            nanos: 0,
        }),
        org_id: org.into(),
        team_id: team.map(str::to_string),
        provider: "openai".into(),
        model: model.into(),
        input_tokens: 1000 + 10 * i,
        output_tokens: 100 + i,
        cached_input_tokens: i,
        latency_ms: 200,
        http_status: if i == 3 { 500 } else { 200 },
        status: if i == 3 { "error" } else { "ok" }.into(),
        request_id: format!("req-{i}"),
        endpoint: "chat".into(),
        ..Default::default()
    }
}

/// `SELECT sum(cost_micros)` of the org's stored events matching `cond`.
async fn stored_cost(gw: &Gw, org: &str, cond: &str) -> i64 {
    let mut admin = gw.tp.db.admin().await;
    sqlx::query_scalar::<_, i64>(&format!(
        "SELECT coalesce(sum(cost_micros), 0)::bigint FROM usage.events \
         WHERE org_id = $1::uuid AND {cond}"
    ))
    .bind(org)
    .fetch_one(&mut admin)
    .await
    .unwrap()
}

struct World {
    gw: Gw,
    owner: Session,
    team_a: String,
    team_b: String,
    other: Session,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    ids: BTreeSet<String>,
}

/// Alpha: 12 calls in the last hour, alternating teams A and B and two models; Bravo: 3 calls.
async fn world() -> World {
    let gw = start().await;
    let owner = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let team_a = gw
        .create(&owner, "/api/v1/teams", json!({"name": "a"}))
        .await;
    let team_b = gw
        .create(&owner, "/api/v1/teams", json!({"name": "b"}))
        .await;
    let other = gw.bootstrap("Bravo", "owner@bravo.test").await;
    let now = Utc::now();
    let events: Vec<UsageEvent> = (0..12u64)
        .map(|i| {
            let team = if i % 2 == 0 { &team_a } else { &team_b };
            let ts = now - Duration::minutes(i as i64 * 4);
            event(
                &owner.org_id,
                Some(team),
                MODELS[(i % 4 / 2) as usize],
                i,
                ts,
            )
        })
        .collect();
    let ids = events.iter().map(|e| e.event_id.clone()).collect();
    ingest(&gw, events).await;
    let theirs = (0..3u64)
        .map(|i| event(&other.org_id, None, MODELS[0], i, now))
        .collect();
    ingest(&gw, theirs).await;
    let from = (now - Duration::hours(2))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    let to = (now + Duration::hours(1))
        .duration_trunc(Duration::hours(1))
        .unwrap();
    World {
        gw,
        owner,
        team_a,
        team_b,
        other,
        from,
        to,
        ids,
    }
}

fn range(w: &World) -> String {
    format!(
        "from={}&to={}",
        w.from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        w.to.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    )
}

async fn get(gw: &Gw, who: &Session, path: &str) -> Value {
    let r = gw.req("GET", path, Some(&who.access), None).await;
    assert_eq!(r.status, 200, "GET {path}: {}", r.text);
    r.body
}

fn by(items: &Value, dim: &str) -> BTreeMap<String, Value> {
    items["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["group"][dim].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

#[tokio::test]
async fn breakdown_timeseries_top_and_events_match_the_metered_calls() {
    let w = world().await;
    let (gw, o) = (&w.gw, &w.owner);

    // Breakdown by model: exact counts and the stored cost.
    let b = get(
        gw,
        o,
        &format!("/api/v1/usage/breakdown?{}&group_by=model", range(&w)),
    )
    .await;
    let rows = by(&b, "model");
    assert_eq!(rows.len(), 2, "{b}");
    for (m, model) in MODELS.iter().enumerate() {
        let is: Vec<u64> = (0..12u64).filter(|i| (i % 4 / 2) as usize == m).collect();
        let row = &rows[*model];
        assert_eq!(row["requests"], is.len() as u64);
        assert_eq!(row["errors"], is.iter().filter(|i| **i == 3).count() as u64);
        assert_eq!(
            row["input_tokens"],
            is.iter().map(|i| 1000 + 10 * i).sum::<u64>()
        );
        assert_eq!(
            row["output_tokens"],
            is.iter().map(|i| 100 + i).sum::<u64>()
        );
        assert_eq!(row["cached_input_tokens"], is.iter().sum::<u64>());
        let cost = stored_cost(gw, &o.org_id, &format!("model = '{model}'")).await;
        assert!(cost > 0, "priced models cost something");
        assert_eq!(row["cost_micros"], cost);
    }

    // Time series by team, hourly: the buckets add up to each team's totals.
    let t = get(
        gw,
        o,
        &format!(
            "/api/v1/usage/timeseries?{}&group_by=team&bucket=hour",
            range(&w)
        ),
    )
    .await;
    let mut per_team: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for r in t["items"].as_array().unwrap() {
        assert!(r["bucket_start"].is_string(), "{r}");
        let e = per_team
            .entry(r["group"]["team"].as_str().unwrap().into())
            .or_default();
        e.0 += r["requests"].as_u64().unwrap();
        e.1 += r["cost_micros"].as_i64().unwrap();
    }
    let cost_a = stored_cost(gw, &o.org_id, &format!("team_id = '{}'", w.team_a)).await;
    let cost_b = stored_cost(gw, &o.org_id, &format!("team_id = '{}'", w.team_b)).await;
    assert_eq!(per_team[&w.team_a], (6, cost_a));
    assert_eq!(per_team[&w.team_b], (6, cost_b));

    // Top team by cost.
    let top = get(
        gw,
        o,
        &format!("/api/v1/usage/top?{}&dimension=team&limit=1", range(&w)),
    )
    .await;
    let items = top["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let costlier = if cost_a >= cost_b {
        &w.team_a
    } else {
        &w.team_b
    };
    assert_eq!(items[0]["group"]["team"], costlier.as_str());
    assert_eq!(items[0]["cost_micros"], cost_a.max(cost_b));

    // Request-level events, newest first, paged by cursor; filters narrow them.
    let mut seen = Vec::new();
    let mut next = format!("/api/v1/usage/events?{}&page_size=5", range(&w));
    loop {
        let page = get(gw, o, &next).await;
        for e in page["items"].as_array().unwrap() {
            seen.push((
                e["ts"].as_str().unwrap().to_string(),
                e["event_id"].as_str().unwrap().to_string(),
            ));
            assert!(e["cost_micros"].is_i64());
        }
        match page["next_cursor"].as_str() {
            Some(c) => next = format!("/api/v1/usage/events?{}&page_size=5&cursor={c}", range(&w)),
            None => break,
        }
    }
    assert_eq!(seen.len(), 12);
    assert!(seen.windows(2).all(|p| p[0] >= p[1]), "newest first");
    let got: BTreeSet<String> = seen.into_iter().map(|(_, id)| id).collect();
    assert_eq!(got, w.ids);
    let errs = get(
        gw,
        o,
        &format!("/api/v1/usage/events?{}&status=error", range(&w)),
    )
    .await;
    assert_eq!(errs["items"].as_array().unwrap().len(), 1);
    assert_eq!(errs["items"][0]["http_status"], 500);
    let only_a = get(
        gw,
        o,
        &format!("/api/v1/usage/events?{}&team_id={}", range(&w), w.team_a),
    )
    .await;
    assert_eq!(only_a["items"].as_array().unwrap().len(), 6);

    // Another org sees none of it.
    let theirs = get(
        gw,
        &w.other,
        &format!("/api/v1/usage/breakdown?{}&group_by=team", range(&w)),
    )
    .await;
    assert_eq!(theirs["items"].as_array().unwrap().len(), 1);
    assert_eq!(theirs["items"][0]["requests"], 3);

    // Forecast answers for the month.
    let f = get(gw, o, "/api/v1/cost/forecast").await;
    assert!(f["forecast_micros"].as_i64().unwrap() >= f["spent_micros"].as_i64().unwrap());
}

#[tokio::test]
async fn a_team_grant_sees_only_its_teams_usage() {
    let w = world().await;
    let (gw, o) = (&w.gw, &w.owner);
    let dev = gw
        .member(o, "dev@alpha.test", "developer", Some(&w.team_a))
        .await;
    let b = get(
        gw,
        &dev,
        &format!("/api/v1/usage/breakdown?{}&group_by=team", range(&w)),
    )
    .await;
    let rows = by(&b, "team");
    assert_eq!(rows.keys().collect::<Vec<_>>(), vec![&w.team_a], "{b}");
    let r = gw
        .req(
            "GET",
            &format!(
                "/api/v1/usage/breakdown?{}&group_by=team&team_id={}",
                range(&w),
                w.team_b
            ),
            Some(&dev.access),
            None,
        )
        .await;
    assert_eq!(r.status, 403, "{}", r.text);
    for path in [
        "/api/v1/cost/chargeback.csv?month=2025-01",
        "/api/v1/cost/recommendations",
    ] {
        let r = gw.req("GET", path, Some(&dev.access), None).await;
        assert_eq!(r.status, 403, "{path}: {}", r.text);
    }
}

#[tokio::test]
async fn chargeback_streams_csv_with_each_teams_cost() {
    let w = world().await;
    let (gw, o) = (&w.gw, &w.owner);
    // The month of the calls (the newest is now; the oldest 44 minutes ago).
    let month = Utc::now().format("%Y-%m").to_string();
    let r = gw
        .req(
            "GET",
            &format!("/api/v1/cost/chargeback.csv?month={month}&by=team"),
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ct = r.headers["content-type"].to_str().unwrap();
    assert!(ct.starts_with("text/csv"), "{ct}");
    let mut lines = r.text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let team_col = header.iter().position(|h| *h == "team_id").unwrap();
    let cost_col = header.iter().position(|h| *h == "cost_micros").unwrap();
    let mut per_team: BTreeMap<String, i64> = BTreeMap::new();
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        *per_team.entry(cols[team_col].into()).or_default() +=
            cols[cost_col].parse::<i64>().unwrap();
    }
    let since = "ts >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'";
    for team in [&w.team_a, &w.team_b] {
        let cost = stored_cost(gw, &o.org_id, &format!("team_id = '{team}' AND {since}")).await;
        assert_eq!(
            per_team.get(team.as_str()).copied().unwrap_or(0),
            cost,
            "{}",
            r.text
        );
    }
    assert!(!r.text.contains(&w.other.org_id));
    let bad = gw
        .req(
            "GET",
            "/api/v1/cost/chargeback.csv?month=2025-13",
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.body["error"]["field"], "month");
}

#[tokio::test]
async fn budgets_crud_with_live_state_and_audit() {
    let w = world().await;
    let (gw, o) = (&w.gw, &w.owner);
    let r = gw
        .req(
            "POST",
            "/api/v1/budgets",
            Some(&o.access),
            Some(
                json!({"name": "team a monthly", "scope": {"team_id": w.team_a},
                        "period": "month", "amount_micros": 50_000_000, "hard": true}),
            ),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    let b = get(gw, o, &format!("/api/v1/budgets/{id}")).await;
    assert_eq!(b["scope"]["team_id"], w.team_a.as_str());
    assert_eq!(b["thresholds"], json!([50, 80, 100]));
    let (start, end) = (
        b["period_start"].as_str().unwrap(),
        b["period_end"].as_str().unwrap(),
    );
    let spent = stored_cost(
        gw,
        &o.org_id,
        &format!(
            "team_id = '{}' AND ts >= '{start}'::timestamptz AND ts < '{end}'::timestamptz",
            w.team_a
        ),
    )
    .await;
    assert!(spent > 0);
    assert_eq!(b["spent_micros"], spent);
    assert_eq!(
        b["remaining_micros"],
        50_000_000 - spent - b["reserved_micros"].as_i64().unwrap()
    );
    gw.wait_audit(|e| e.action == "budget.create" && e.resource_id == id)
        .await;

    let list = get(gw, o, "/api/v1/budgets").await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let r = gw
        .req(
            "PATCH",
            &format!("/api/v1/budgets/{id}"),
            Some(&o.access),
            Some(json!({"amount_micros": 1, "thresholds": [90]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["amount_micros"], 1);
    assert_eq!(r.body["exhausted"], true);
    assert_eq!(r.body["scope"]["team_id"], w.team_a.as_str());
    gw.wait_audit(|e| e.action == "budget.update" && e.resource_id == id)
        .await;

    // Another org cannot see or touch it.
    for (m, body) in [
        ("GET", None),
        ("PATCH", Some(json!({"hard": false}))),
        ("DELETE", None),
    ] {
        let r = gw
            .req(
                m,
                &format!("/api/v1/budgets/{id}"),
                Some(&w.other.access),
                body,
            )
            .await;
        assert_eq!(r.status, 404, "{m}: {}", r.text);
    }
    assert!(
        get(gw, &w.other, "/api/v1/budgets").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let r = gw
        .req(
            "DELETE",
            &format!("/api/v1/budgets/{id}"),
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(r.status, 204, "{}", r.text);
    let r = gw
        .req(
            "GET",
            &format!("/api/v1/budgets/{id}"),
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    gw.wait_audit(|e| e.action == "budget.delete" && e.resource_id == id)
        .await;
}

#[tokio::test]
async fn pricing_and_overrides() {
    let gw = start().await;
    let o = gw.bootstrap("Alpha", "owner@alpha.test").await;
    let other = gw.bootstrap("Bravo", "owner@bravo.test").await;
    let prices = get(&gw, &o, "/api/v1/pricing?provider=openai").await;
    let list = prices["items"].as_array().unwrap();
    assert!(!list.is_empty());
    assert!(list.iter().all(|p| p["provider"] == "openai"));
    let mini = |v: &Value| {
        v["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["model"] == "gpt-4o-mini")
            .cloned()
            .unwrap()
    };
    let before = mini(&prices);
    let r = gw
        .req(
            "POST",
            "/api/v1/pricing/overrides",
            Some(&o.access),
            Some(json!({"provider": "openai", "model": "gpt-4o-mini", "discount_bps": 2000})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    let id = r.body["id"].as_str().unwrap().to_string();
    gw.wait_audit(|e| e.action == "price_override.create" && e.resource_id == id)
        .await;
    let after = mini(&get(&gw, &o, "/api/v1/pricing?provider=openai").await);
    assert_eq!(after["org_override"], true);
    // Discounts are carried beside the list prices and applied when a call is priced.
    assert_eq!(after["discount_bps"], 2000);
    assert_eq!(after["input"], before["input"]);
    // The other org's book is untouched, and it cannot see or delete the override.
    assert_eq!(
        mini(&get(&gw, &other, "/api/v1/pricing?provider=openai").await),
        before
    );
    assert!(
        get(&gw, &other, "/api/v1/pricing/overrides").await["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let r = gw
        .req(
            "DELETE",
            &format!("/api/v1/pricing/overrides/{id}"),
            Some(&other.access),
            None,
        )
        .await;
    assert_eq!(r.status, 404);
    let listed = get(&gw, &o, "/api/v1/pricing/overrides").await;
    assert_eq!(listed["items"][0]["id"], id.as_str());
    let r = gw
        .req(
            "DELETE",
            &format!("/api/v1/pricing/overrides/{id}"),
            Some(&o.access),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        mini(&get(&gw, &o, "/api/v1/pricing?provider=openai").await),
        before
    );
}

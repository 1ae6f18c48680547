//! `/api/v1/events/stream`: Server-Sent Events of the caller's org only, from the real broker.

use std::time::Duration;

use futures::StreamExt as _;
use keyward_bus::events::{audit_message, domain_message};
use keyward_bus::{Broker, Publisher, PublisherOptions, Spool};
use keyward_proto::v1::domain_event::Payload;
use keyward_proto::v1::{AuditEvent, BudgetThreshold, DomainEvent, Money, Scope};
use serde_json::json;

use crate::harness::Gw;

/// Reads SSE frames from `resp` until `want` events named `name` arrived or `limit` passed;
/// returns every `(event, data)` frame seen.
async fn read_events(
    resp: reqwest::Response,
    until: impl Fn(&[(String, serde_json::Value)]) -> bool,
    limit: Duration,
) -> Vec<(String, serde_json::Value)> {
    let mut body = resp.bytes_stream();
    let mut buf = String::new();
    let mut out = Vec::new();
    let deadline = tokio::time::Instant::now() + limit;
    while !until(&out) {
        let chunk = tokio::select! {
            c = body.next() => c,
            () = tokio::time::sleep_until(deadline) => break,
        };
        let Some(Ok(chunk)) = chunk else { break };
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let frame: String = buf.drain(..end + 2).collect();
            let mut name = String::new();
            let mut data = String::new();
            for line in frame.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    name = v.to_string();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    data.push_str(v);
                }
            }
            if !name.is_empty() {
                out.push((name, serde_json::from_str(&data).unwrap()));
            }
        }
    }
    out
}

async fn publisher(gw: &Gw) -> Publisher {
    let broker = Broker::new(&gw.tp.platform.broker, "live-test-events", Vec::new());
    let b = broker.clone();
    let token = tokio_util::sync::CancellationToken::new();
    let t = token.clone();
    tokio::spawn(async move { b.run(t).await });
    broker
        .wait_connected(Duration::from_secs(30))
        .await
        .unwrap();
    let spool = Spool::open(&gw.tp.platform.broker.spool_dir, "live-test").unwrap();
    let (p, task) = Publisher::new(broker, spool, PublisherOptions::default(), token);
    tokio::spawn(task);
    p
}

fn threshold(org: &str, team: Option<&str>, budget: &str, percent: u32) -> DomainEvent {
    DomainEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        occurred_at: Some(keyward_proto::time::now()),
        org_id: org.to_string(),
        payload: Some(Payload::BudgetThreshold(BudgetThreshold {
            budget_id: budget.to_string(),
            scope: Some(Scope {
                org_id: org.to_string(),
                team_id: team.map(str::to_string),
                ..Scope::default()
            }),
            percent,
            spent: Some(Money { micros: 500_000 }),
            amount: Some(Money { micros: 1_000_000 }),
            period_start: None,
        })),
    }
}

#[tokio::test]
async fn streams_the_callers_org_events_only_and_respects_team_grants() {
    let gw = Gw::start().await;
    let a = gw.bootstrap("Live Alpha", "owner@alpha.test").await;
    let b = gw.bootstrap("Live Bravo", "owner@bravo.test").await;
    let team = gw
        .create(&a, "/api/v1/teams", json!({"name": "search"}))
        .await;
    let other_team = gw.create(&a, "/api/v1/teams", json!({"name": "ads"})).await;
    let dev = gw
        .member(&a, "dev@alpha.test", "developer", Some(&team))
        .await;
    let open = |token: String, query: bool| {
        let (http, base) = (gw.http.clone(), gw.base.clone());
        async move {
            let url = if query {
                format!("{base}/api/v1/events/stream?timeout_secs=20&access_token={token}")
            } else {
                format!("{base}/api/v1/events/stream?timeout_secs=20")
            };
            let mut r = http.get(url);
            if !query {
                r = r.bearer_auth(token);
            }
            let resp = r.send().await.unwrap();
            assert_eq!(resp.status(), 200);
            assert_eq!(resp.headers()["content-type"], "text/event-stream");
            resp
        }
    };
    let owner_stream = open(a.access.clone(), false).await;
    let dev_stream = open(dev.access.clone(), true).await;
    let bravo_stream = open(b.access.clone(), false).await;
    // Give the replica's queue binding a moment, then publish.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = publisher(&gw).await;
    for ev in [
        threshold(&a.org_id, Some(&team), "budget-team", 50),
        threshold(&a.org_id, Some(&other_team), "budget-other-team", 80),
        threshold(&a.org_id, None, "budget-org", 100),
        threshold(&b.org_id, None, "budget-bravo", 50),
    ] {
        p.publish_confirmed(domain_message("budget.threshold", &ev))
            .await
            .unwrap();
    }
    // An alert state change, as the alert service records it in the audit trail.
    for (org, service) in [
        (&a.org_id, "alert"),
        (&b.org_id, "alert"),
        (&a.org_id, "vault"),
    ] {
        let ev = AuditEvent {
            event_id: uuid::Uuid::now_v7().to_string(),
            occurred_at: Some(keyward_proto::time::now()),
            org_id: org.clone(),
            action: "alert.fired".into(),
            resource_type: "alert".into(),
            resource_id: format!("alert-of-{service}-{}", &org[..8]),
            outcome: "success".into(),
            service: service.into(),
            after_json: r#"{"state":"firing","severity":"critical","level":80}"#.into(),
            ..AuditEvent::default()
        };
        p.publish_confirmed(audit_message(&ev)).await.unwrap();
    }
    // A change made through the API arrives too.
    let vk = gw
        .create(&a, "/api/v1/virtual-keys", json!({"name": "app"}))
        .await;
    let r = gw
        .req(
            "POST",
            &format!("/api/v1/virtual-keys/{vk}/revoke"),
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);

    let owner = read_events(
        owner_stream,
        |seen| {
            seen.iter().any(|(n, _)| n == "virtual_key.changed")
                && seen.iter().any(|(n, _)| n == "alert.fired")
        },
        Duration::from_secs(15),
    )
    .await;
    let names: Vec<&str> = owner.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names.first(), Some(&"ready"), "{owner:?}");
    let budgets: Vec<&str> = owner
        .iter()
        .filter(|(n, _)| n == "budget.threshold")
        .map(|(_, d)| d["budget_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        budgets,
        ["budget-team", "budget-other-team", "budget-org"],
        "{owner:?}"
    );
    let changed = owner
        .iter()
        .find(|(n, _)| n == "virtual_key.changed")
        .unwrap();
    assert_eq!(changed.1["virtual_key_id"], vk.as_str());
    assert_eq!(changed.1["change"], "revoked");
    let first = &owner
        .iter()
        .find(|(n, _)| n == "budget.threshold")
        .unwrap()
        .1;
    assert_eq!(first["spent_micros"], 500_000);
    assert_eq!(first["percent"], 50);

    // A team-scoped developer sees its team's budget only; the other org sees its own only.
    let dev_seen = read_events(
        dev_stream,
        |seen| seen.iter().any(|(n, _)| n == "budget.threshold"),
        Duration::from_secs(10),
    )
    .await;
    let dev_budgets: Vec<&str> = dev_seen
        .iter()
        .filter(|(n, _)| n == "budget.threshold")
        .map(|(_, d)| d["budget_id"].as_str().unwrap())
        .collect();
    assert_eq!(dev_budgets, ["budget-team"], "{dev_seen:?}");
    let bravo = read_events(
        bravo_stream,
        |seen| seen.iter().any(|(n, _)| n == "budget.threshold"),
        Duration::from_secs(10),
    )
    .await;
    let text = format!("{bravo:?}");
    assert!(text.contains("budget-bravo"), "{text}");
    assert!(
        !text.contains("budget-org") && !text.contains(&vk),
        "{text}"
    );
}

#[tokio::test]
async fn stream_needs_a_token_and_ends_on_time() {
    let gw = Gw::start().await;
    let a = gw.bootstrap("Live Gamma", "owner@gamma.test").await;
    let r = gw
        .http
        .get(format!("{}/api/v1/events/stream", gw.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = gw
        .http
        .get(format!(
            "{}/api/v1/events/stream?access_token=garbage",
            gw.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    // Only the stream takes a token from the query string.
    let r = gw
        .http
        .get(format!(
            "{}/api/v1/teams?access_token={}",
            gw.base, a.access
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = gw
        .req(
            "GET",
            "/api/v1/events/stream?timeout_secs=100000",
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text);
    assert_eq!(r.field(), Some("timeout_secs"));
    // timeout_secs=1: `ready`, then the stream ends by itself.
    let started = std::time::Instant::now();
    let r = gw
        .req(
            "GET",
            "/api/v1/events/stream?timeout_secs=1",
            Some(&a.access),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    assert!(
        r.text.starts_with("retry: 3000\nevent: ready\n"),
        "{}",
        r.text
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

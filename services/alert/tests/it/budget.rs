//! Budget thresholds through the default rules, and redelivered events.

use std::time::Duration;

use keyward_proto::v1 as pb;
use pb::domain_event::Payload;

use crate::harness::{Options, key_invalid, start, until};
use crate::receivers::Receiver;

fn period() -> Option<prost_types::Timestamp> {
    Some(prost_types::Timestamp {
        seconds: 1_767_225_600,
        nanos: 0,
    })
}

fn threshold(org: &str, percent: u32) -> Payload {
    Payload::BudgetThreshold(pb::BudgetThreshold {
        budget_id: "0193f3c4-0000-7000-8000-00000000b001".into(),
        scope: Some(pb::Scope {
            org_id: org.into(),
            ..Default::default()
        }),
        percent,
        spent: Some(pb::Money {
            micros: i64::from(percent) * 1_000_000,
        }),
        amount: Some(pb::Money {
            micros: 100_000_000,
        }),
        period_start: period(),
    })
}

fn exhausted(org: &str) -> Payload {
    Payload::BudgetExhausted(pb::BudgetExhausted {
        budget_id: "0193f3c4-0000-7000-8000-00000000b001".into(),
        scope: Some(pb::Scope {
            org_id: org.into(),
            ..Default::default()
        }),
        spent: Some(pb::Money {
            micros: 100_500_000,
        }),
        amount: Some(pb::Money {
            micros: 100_000_000,
        }),
        hard: true,
        period_start: period(),
    })
}

fn level(r: &crate::receivers::Received) -> u64 {
    r.json()["alert"]["level"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn budget_crossing_50_80_100_sends_exactly_three_notifications_without_flapping() {
    let t = start(Options::default()).await;
    let rx = Receiver::start().await;
    t.webhook(&rx.url("/hook"), "whsec_budget").await;
    let org = t.org.clone();

    t.publish(threshold(&org, 50)).await;
    assert_eq!(level(&rx.wait_for(1).await[0]), 50);
    t.publish(threshold(&org, 80)).await;
    rx.wait_for(2).await;
    // Spend wobbles around 80% (reservations released, then taken again): no new notification.
    t.publish(threshold(&org, 50)).await;
    t.publish(threshold(&org, 80)).await;
    // 100% arrives twice: as a threshold and as budget.exhausted. One notification.
    t.publish(threshold(&org, 100)).await;
    t.publish(exhausted(&org)).await;
    t.publish(threshold(&org, 80)).await;
    until("all seven events folded into the alert", || async {
        t.alerts().await.first().is_some_and(|a| a.occurrences == 7)
    })
    .await;
    let got = rx.settle(Duration::from_millis(1500)).await;
    let levels: Vec<u64> = got.iter().map(level).collect();
    assert_eq!(
        levels,
        vec![50, 80, 100],
        "exactly three notifications, rising"
    );
    let types: Vec<String> = got
        .iter()
        .map(|r| r.json()["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, vec!["alert.fired", "alert.refired", "alert.refired"]);

    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1, "one alert per budget period");
    let a = &alerts[0];
    assert_eq!(
        (a.state.as_str(), a.severity.as_str(), a.level),
        ("firing", "critical", 100)
    );
    assert_eq!(a.rule_type, "budget");
    assert_eq!(a.labels["period_start"], "2026-01-01T00:00:00+00:00");
    assert!(a.title.contains("exhausted"), "{}", a.title);
    t.audits_with("alert.fired", 1).await;
    t.audits_with("alert.refired", 2).await;
    let delivered = t.deliveries(Some("delivered")).await;
    assert_eq!(delivered.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_event_delivered_twice_notifies_once() {
    let t = start(Options::default()).await;
    let rx = Receiver::start().await;
    t.webhook(&rx.url("/hook"), "whsec_dup").await;

    let ev = t
        .publish(key_invalid("0193f3c4-0000-7000-8000-0000000000a1"))
        .await;
    rx.wait_for(1).await;
    // The broker redelivers it (same event id) twice more.
    t.republish(&ev).await;
    t.republish(&ev).await;
    // A new event about the same key inside the dedup window folds in.
    t.publish(key_invalid("0193f3c4-0000-7000-8000-0000000000a1"))
        .await;
    until("the repeat is folded", || async {
        t.alerts().await.first().is_some_and(|a| a.occurrences == 2)
    })
    .await;
    let got = rx.settle(Duration::from_millis(1500)).await;
    assert_eq!(got.len(), 1, "one notification");
    let alerts = t.alerts().await;
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].occurrences, 2, "the redeliveries counted nothing");
}

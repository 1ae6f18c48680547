//! Periodic rules end to end, reading usage from the in-memory `MetricsSource`.

use std::sync::Arc;

use chrono::{Duration, Utc};
use keyward_alert::{MemoryCall, MemorySource};

use crate::harness::{Options, start, until};
use crate::receivers::Receiver;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_and_spend_spike_fire_from_usage_and_resolve_when_it_recovers() {
    let source = Arc::new(MemorySource::default());
    let t = start(Options {
        source: Some(source.clone()),
        evaluate_interval_secs: 1,
        ..Options::default()
    })
    .await;
    let org: uuid::Uuid = t.org.parse().unwrap();
    let rx = Receiver::start().await;
    t.webhook(&rx.url("/hook"), "whsec_usage").await;
    // A steady week of spend, and a provider failing a third of its calls.
    let now = Utc::now();
    for h in 1..=168 {
        source.add_spend(org, now - Duration::hours(h), 2_000_000 + (h % 4) * 250_000);
    }
    for i in 0..60 {
        source.add_call(MemoryCall {
            org,
            at: now - Duration::minutes(1),
            provider: "anthropic".into(),
            key_id: "k1".into(),
            ok: i % 3 != 0,
            latency_ms: 900,
        });
    }
    t.rules().await; // the org's default rules, evaluated every second
    let got = rx.wait_for(1).await;
    let body = got[0].json();
    assert_eq!(body["alert"]["rule_type"], "error_rate");
    assert_eq!(body["alert"]["labels"]["provider"], "anthropic");

    // Spend jumps to $40 this hour.
    source.add_spend(org, Utc::now(), 40_000_000);
    let got = rx.wait_for(2).await;
    let spike = got[1].json();
    assert_eq!(spike["alert"]["rule_type"], "spend_spike");
    assert!(
        spike["alert"]["title"]
            .as_str()
            .unwrap()
            .starts_with("Spend spike: $40."),
        "{spike}"
    );

    // The provider recovers: its alert resolves by itself.
    source.clear_calls();
    until("the error-rate alert resolves", || async {
        t.alerts().await.iter().any(|a| {
            a.rule_type == "error_rate" && a.state == "resolved" && a.resolved_by == "system"
        })
    })
    .await;
    let firing: Vec<String> = t
        .alerts()
        .await
        .into_iter()
        .filter(|a| a.state == "firing")
        .map(|a| a.rule_type)
        .collect();
    assert_eq!(firing, vec!["spend_spike"]);
    assert_eq!(
        rx.received().len(),
        2,
        "evaluations of a firing alert notify once"
    );
}

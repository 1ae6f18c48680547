//! Periodic rule logic against the in-memory [`MetricsSource`].

use chrono::{Duration, Utc};
use uuid::Uuid;

use super::*;
use crate::defaults;
use crate::model::RuleType;

fn rule(org: Uuid, t: RuleType, conditions: serde_json::Value) -> Rule {
    let mut r = defaults::rules_for(org)
        .into_iter()
        .find(|r| r.rule_type == t)
        .unwrap();
    if !conditions.is_null() {
        r.conditions = Conditions::parse(t, &conditions).unwrap().to_json();
    }
    r
}

fn call(org: Uuid, provider: &str, key: &str, ok: bool, latency_ms: u32) -> MemoryCall {
    MemoryCall {
        org,
        at: Utc::now() - Duration::minutes(2),
        provider: provider.into(),
        key_id: key.into(),
        ok,
        latency_ms,
    }
}

#[tokio::test]
async fn error_rate_fires_per_provider_above_the_limit_with_enough_calls() {
    let org = Uuid::now_v7();
    let src = MemorySource::default();
    for i in 0..100 {
        src.add_call(call(org, "openai", "k1", i % 10 != 0, 300)); // 10% errors
        src.add_call(call(org, "anthropic", "k2", i % 50 != 0, 300)); // 2% errors
    }
    for _ in 0..5 {
        src.add_call(call(org, "mistral", "k3", false, 300)); // 100% errors, too few calls
    }
    src.add_call(call(Uuid::now_v7(), "openai", "k9", false, 300)); // another org
    let r = rule(org, RuleType::ErrorRate, serde_json::Value::Null);
    let now = Utc::now();
    let data = fetch(&src, &r, now).await.unwrap();
    let signals = signals_for(&r, now, &data);
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0].labels["provider"], "openai");
    assert!(signals[0].title.contains("10.0%"), "{}", signals[0].title);

    let by_key = rule(
        org,
        RuleType::ErrorRate,
        serde_json::json!({"group_by": "provider_key"}),
    );
    let signals = signals_for(&by_key, now, &fetch(&src, &by_key, now).await.unwrap());
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].labels["key_id"], "k1");
    assert_ne!(
        signals[0].fingerprint,
        fingerprint(&[&by_key.id.to_string()])
    );
}

#[tokio::test]
async fn p95_latency_fires_on_the_slow_provider_only() {
    let org = Uuid::now_v7();
    let src = MemorySource::default();
    for i in 0..100u32 {
        // openai: 90 fast calls and 10 very slow ones, so p95 is slow.
        src.add_call(call(
            org,
            "openai",
            "k1",
            true,
            if i < 90 { 200 } else { 30_000 },
        ));
        src.add_call(call(org, "anthropic", "k2", true, 800 + i));
    }
    let r = rule(
        org,
        RuleType::LatencyP95,
        serde_json::json!({"max_p95_ms": 5000}),
    );
    let now = Utc::now();
    let signals = signals_for(&r, now, &fetch(&src, &r, now).await.unwrap());
    assert_eq!(signals.len(), 1, "{signals:?}");
    assert_eq!(signals[0].labels["provider"], "openai");
    // Old calls fall out of the window.
    src.clear_calls();
    let signals = signals_for(&r, now, &fetch(&src, &r, now).await.unwrap());
    assert!(signals.is_empty());
}

#[tokio::test]
async fn a_spend_spike_fires_from_hourly_spend() {
    let org = Uuid::now_v7();
    let src = MemorySource::default();
    let now = Utc::now();
    for h in 1..=168 {
        src.add_spend(org, now - Duration::hours(h), 1_000_000 + (h % 5) * 100_000);
    }
    let r = rule(org, RuleType::SpendSpike, serde_json::Value::Null);
    let calm = signals_for(&r, now, &fetch(&src, &r, now).await.unwrap());
    assert!(calm.is_empty());
    src.add_spend(org, now, 25_000_000);
    let spike = signals_for(&r, now, &fetch(&src, &r, now).await.unwrap());
    assert_eq!(spike.len(), 1);
    assert!(
        spike[0].title.starts_with("Spend spike: $25.00"),
        "{}",
        spike[0].title
    );
    assert_eq!(spike[0].severity, Severity::Warning);
}

//! The query suite on plain PostgreSQL (native partitions), and recommendations.

use chrono::{Duration, Utc};
use keyward_core::ServiceName;
use keyward_cost::analytics::Analytics;
use keyward_pricing::PriceBook;
use keyward_proto::v1::{self as pb, UsageEvent};
use uuid::Uuid;

use crate::harness::platform;

#[tokio::test]
async fn query_suite_on_plain_postgres() {
    let tp = platform().await;
    let usage = tp.db.pool(ServiceName::UsageIngest).await;
    let cost = tp.db.pool(ServiceName::Cost).await;
    crate::suite::run(usage, Analytics::new(cost)).await;
}

#[tokio::test]
async fn recommendations_find_idle_keys_cheaper_models_and_cache_opportunities() {
    let tp = platform().await;
    let usage = tp.db.pool(ServiceName::UsageIngest).await;
    let cost = tp.db.pool(ServiceName::Cost).await;
    let cfg = keyward_usage_ingest::Config::with_addrs("x:1", "x:2", "http://x:2");
    let ingestor = keyward_usage_ingest::ingestor(
        usage,
        &cfg,
        keyward_usage_ingest::IngestMetrics::new(None).unwrap(),
    )
    .unwrap();
    let org = Uuid::now_v7();
    let (idle_key, busy_key) = (Uuid::now_v7(), Uuid::now_v7());
    let event = |ts: chrono::DateTime<Utc>, key: Uuid, model: &str, input: u64| UsageEvent {
        event_id: Uuid::now_v7().to_string(),
        ts: Some(prost_types::Timestamp {
            seconds: ts.timestamp(),
            nanos: 0,
        }),
        org_id: org.to_string(),
        virtual_key_id: Some(key.to_string()),
        provider: "anthropic".into(),
        model: model.into(),
        input_tokens: input,
        output_tokens: 1_000,
        status: "ok".into(),
        ..UsageEvent::default()
    };
    let now = Utc::now();
    ingestor
        .ingest_call(&[
            event(
                now - Duration::days(45),
                idle_key,
                "claude-sonnet-4-5",
                1_000,
            ),
            // 2M uncached prompt tokens on Opus 4.1 ($15/M) in the last 30 days.
            event(
                now - Duration::days(2),
                busy_key,
                "claude-opus-4-1",
                2_000_000,
            ),
        ])
        .await
        .unwrap();
    let out = Analytics::new(cost)
        .recommendations(
            &PriceBook::builtin().unwrap(),
            &pb::RecommendationsRequest {
                org_id: org.to_string(),
            },
        )
        .await
        .unwrap();
    let kinds: Vec<(&str, &str)> = out
        .items
        .iter()
        .map(|r| (r.kind.as_str(), r.subject.as_str()))
        .collect();
    let idle = format!("virtual_key:{idle_key}");
    assert!(kinds.contains(&("idle_key", idle.as_str())), "{kinds:?}");
    assert!(
        !kinds
            .iter()
            .any(|(_, s)| s.ends_with(&busy_key.to_string()))
    );
    let cheaper = out
        .items
        .iter()
        .find(|r| r.kind == "cheaper_model")
        .unwrap();
    assert_eq!(cheaper.subject, "anthropic/claude-opus-4-1");
    assert!(
        cheaper.detail.starts_with("claude-opus-4-"),
        "{}",
        cheaper.detail
    );
    // Opus 4.1 at $15/$75 vs Opus 4.5+ at $5/$25: two thirds of $30.075 saved.
    assert_eq!(cheaper.estimated_monthly_saving_micros, 20_050_000);
    let cache = out
        .items
        .iter()
        .find(|r| r.kind == "cache_opportunity")
        .unwrap();
    // Half of 2M tokens at $15/M - $1.50/M.
    assert_eq!(cache.estimated_monthly_saving_micros, 13_500_000);
    assert!(
        out.items
            .windows(2)
            .all(|w| w[0].estimated_monthly_saving_micros >= w[1].estimated_monthly_saving_micros)
    );
}

//! Failover and circuit breaking, hard budgets under concurrency, and a broker outage.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use keyward_api_gateway::proxy::{BreakerConfig, Budget, BudgetLevel};
use keyward_providers::Provider;
use keyward_testkit::mock_providers::{Failure, KeyKind, REPLY, fixture_key};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::proxy_harness::{Px, PxOptions};

fn chat(max_tokens: u64) -> Value {
    json!({
        "model": "gpt-4o-mini", "max_tokens": max_tokens,
        "messages": [{"role": "user", "content": "Say hello."}],
    })
}

#[tokio::test]
async fn proxy_failover_to_the_secondary_and_the_circuit_opens_then_closes() {
    let px = Px::start_with(PxOptions {
        breaker: Some(BreakerConfig {
            threshold: 2,
            cooldown: Duration::from_millis(600),
        }),
        ..PxOptions::default()
    })
    .await;
    let primary = fixture_key(Provider::OpenAi, KeyKind::Valid);
    let secondary = "sk-proj-secondaryKEY0000000000000000000000000000000000000000000";
    let pk = px.store_key(Provider::OpenAi, &primary, 10).await;
    px.store_key(Provider::OpenAi, secondary, 0).await;
    let (_, key) = px.vkey(json!({"name": "failover"})).await;

    for failure in [Failure::RateLimited, Failure::ServerError] {
        px.mock
            .set_failure(Provider::OpenAi, &primary, Some(failure));
        let r = px.post("/v1/chat/completions", &key, &chat(16)).await;
        assert_eq!(r.status(), 200, "{failure:?}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["choices"][0]["message"]["content"], REPLY);
    }
    // Two failures: the primary's circuit is open; requests go straight to the secondary.
    let tried = px.mock.request_count_for_key(Provider::OpenAi, &primary);
    assert_eq!(tried, 2);
    for _ in 0..3 {
        assert_eq!(
            px.post("/v1/chat/completions", &key, &chat(16))
                .await
                .status(),
            200
        );
    }
    assert_eq!(px.mock.request_count_for_key(Provider::OpenAi, &primary), 2);
    // The primary recovers; after the cooldown a probe closes the circuit again.
    px.mock.set_failure(Provider::OpenAi, &primary, None);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let r = px.post("/v1/chat/completions", &key, &chat(16)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(px.mock.request_count_for_key(Provider::OpenAi, &primary), 3);
    let before_secondary = px.mock.request_count_for_key(Provider::OpenAi, secondary);
    for _ in 0..3 {
        assert_eq!(
            px.post("/v1/chat/completions", &key, &chat(16))
                .await
                .status(),
            200
        );
    }
    assert_eq!(px.mock.request_count_for_key(Provider::OpenAi, &primary), 6);
    assert_eq!(
        px.mock.request_count_for_key(Provider::OpenAi, secondary),
        before_secondary
    );
    let events = px.wait_usage(9, Duration::from_secs(15)).await;
    assert!(events.iter().all(|e| e.status == "ok"));
    assert!(
        events
            .iter()
            .any(|e| e.provider_key_id.as_deref() == Some(pk.as_str()))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn proxy_hard_budget_holds_under_64_concurrent_clients() {
    let px = Arc::new(Px::start().await);
    px.store_key(
        Provider::OpenAi,
        &fixture_key(Provider::OpenAi, KeyKind::Valid),
        0,
    )
    .await;
    let (vk_id, key) = px.vkey(json!({"name": "budgeted"})).await;
    let amount = 600;
    let budget = Arc::new(Budget::new(
        Uuid::now_v7(),
        BudgetLevel::VirtualKey,
        vk_id.parse().unwrap(),
        true,
        amount,
        0,
    ));
    px.budgets.upsert(budget.clone());
    let before = px.mock.request_count(Provider::OpenAi);
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (px, key) = (px.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for _ in 0..4 {
                let r = px.post("/v1/chat/completions", &key, &chat(100)).await;
                let status = r.status().as_u16();
                let cost = r
                    .headers()
                    .get("x-keyward-cost-micros")
                    .map(|v| v.to_str().unwrap().parse::<i64>().unwrap());
                let body: Value = r.json().await.unwrap();
                out.push((status, cost, body));
            }
            out
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    let ok: Vec<_> = results.iter().filter(|r| r.0 == 200).collect();
    let refused: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(ok.len() + refused.len(), results.len());
    assert!(!ok.is_empty() && !refused.is_empty(), "{} ok", ok.len());
    assert!(
        refused
            .iter()
            .all(|r| r.2["error"]["code"] == "budget_exceeded")
    );
    // Refused requests never started upstream.
    assert_eq!(px.mock.request_count(Provider::OpenAi) - before, ok.len());
    let settled: i64 = ok.iter().map(|r| r.1.unwrap()).sum();
    assert_eq!(budget.spent(), settled);
    assert!(
        budget.spent() <= amount,
        "spent {} of {amount}",
        budget.spent()
    );
    assert_eq!(budget.reserved(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_broker_outage_loses_no_usage_event() {
    let px = Px::start_with(PxOptions {
        broker_gate: true,
        ..PxOptions::default()
    })
    .await;
    px.store_key(
        Provider::OpenAi,
        &fixture_key(Provider::OpenAi, KeyKind::Valid),
        0,
    )
    .await;
    let (_, key) = px.vkey(json!({"name": "metered"})).await;
    let mut ids = HashSet::new();
    let send = async |n: usize, ids: &mut HashSet<String>| {
        for _ in 0..n {
            let r = px.post("/v1/chat/completions", &key, &chat(16)).await;
            let (status, headers) = (r.status(), r.headers().clone());
            assert_eq!(status, 200, "{}", r.text().await.unwrap_or_default());
            ids.insert(
                headers["x-keyward-request-id"]
                    .to_str()
                    .unwrap()
                    .to_string(),
            );
        }
    };
    send(10, &mut ids).await;
    px.wait_usage(10, Duration::from_secs(15)).await;
    let gate = px.gate.as_ref().unwrap();
    gate.close();
    tokio::time::sleep(Duration::from_millis(500)).await;
    send(25, &mut ids).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    gate.open();
    let events = px.wait_usage(35, Duration::from_secs(60)).await;
    let got: HashSet<String> = events.iter().map(|e| e.request_id.clone()).collect();
    assert_eq!(got, ids, "every request's usage event arrived");
    let unique: HashSet<_> = events.iter().map(|e| e.event_id.clone()).collect();
    assert_eq!(unique.len(), 35);
}

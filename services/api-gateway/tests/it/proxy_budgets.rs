//! Budgets from the real cost service: the gateway loads them with `ActiveBudgets`, reports its
//! reservations, and follows `budget.*` events; usage flows through the real broker into the
//! real usage-ingest, whose rollups are what cost counts.

use std::time::Duration;

use keyward_proto::v1::cost_service_client::CostServiceClient;
use keyward_proto::v1::vault_service_client::VaultServiceClient;
use keyward_proto::v1::{self as pb};
use keyward_providers::Provider;
use keyward_telemetry::IdentityInjector;
use keyward_testkit::eventually;
use keyward_testkit::mock_providers::{KeyKind, MockProviders, fixture_key};
use serde_json::{Value, json};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

use crate::harness::{Extra, Gw};

type Cost = CostServiceClient<InterceptedService<Channel, IdentityInjector>>;

fn client_channel(gw: &Gw, service: &str) -> InterceptedService<Channel, IdentityInjector> {
    let url = gw.tp.platform.endpoints[service].clone();
    let channel = Channel::from_shared(url).unwrap().connect_lazy();
    InterceptedService::new(
        channel,
        IdentityInjector::new(&gw.tp.platform.internal, "api-gateway").unwrap(),
    )
}

/// A prompt of about 10,000 tokens: each gpt-4o call costs ~25,000 micro-dollars.
fn big_chat(stream: bool) -> Value {
    json!({
        "model": "gpt-4o", "max_tokens": 16, "stream": stream,
        "messages": [{"role": "user", "content": "budget ".repeat(5_700)}],
    })
}

async fn budget(cost: &Cost, org: &str, id: &str) -> pb::Budget {
    cost.clone()
        .get_budget(pb::BudgetRef {
            org_id: org.into(),
            budget_id: id.into(),
        })
        .await
        .unwrap()
        .into_inner()
}

fn micros(m: Option<&pb::Money>) -> i64 {
    m.map_or(0, |m| m.micros)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proxy_hard_budget_from_the_cost_service_is_enforced_and_reconciled() {
    let gw = Gw::start_full(&[Extra::UsageIngest, Extra::Cost], |_| {}).await;
    let owner = gw.bootstrap("Budget Co", "owner@budget.test").await;
    let org = owner.org_id.clone();
    let mock = MockProviders::start().await.unwrap();
    let api_key = fixture_key(Provider::OpenAi, KeyKind::Valid);
    mock.register_key(Provider::OpenAi, &api_key);
    let mut vault = VaultServiceClient::new(client_channel(&gw, "vault"));
    vault
        .store(pb::StoreKeyRequest {
            name: "openai".into(),
            provider: "openai".into(),
            scope: Some(pb::Scope {
                org_id: org.clone(),
                ..Default::default()
            }),
            kind: pb::SecretKind::ProviderKey as i32,
            secret: Some(pb::SecretMaterial {
                api_key: api_key.clone(),
                ..Default::default()
            }),
            base_url: Some(mock.base_url(Provider::OpenAi)),
            ..Default::default()
        })
        .await
        .unwrap();
    let vk = gw
        .req(
            "POST",
            "/api/v1/virtual-keys",
            Some(&owner.access),
            Some(json!({"name": "budgeted"})),
        )
        .await;
    assert_eq!(vk.status, 201, "{}", vk.text);
    let (vk_id, key) = (
        vk.body["id"].as_str().unwrap().to_string(),
        vk.body["key"].as_str().unwrap().to_string(),
    );
    let (_, other_key) = {
        let r = gw
            .req(
                "POST",
                "/api/v1/virtual-keys",
                Some(&owner.access),
                Some(json!({"name": "not budgeted"})),
            )
            .await;
        assert_eq!(r.status, 201);
        (
            r.body["id"].as_str().unwrap().to_string(),
            r.body["key"].as_str().unwrap().to_string(),
        )
    };
    let cost: Cost = CostServiceClient::new(client_channel(&gw, "cost"));
    let amount = 100_000;
    let created = cost
        .clone()
        .create_budget(pb::Budget {
            scope: Some(pb::Scope {
                org_id: org.clone(),
                virtual_key_id: Some(vk_id.clone()),
                ..Default::default()
            }),
            name: "key cap".into(),
            period: "month".into(),
            amount: Some(pb::Money { micros: amount }),
            hard: true,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let post = |k: &str, body: Value| {
        let (h, url, k) = (
            gw.http.clone(),
            format!("{}/v1/chat/completions", gw.base),
            k.to_string(),
        );
        async move { h.post(url).bearer_auth(k).json(&body).send().await.unwrap() }
    };

    // A slow stream holds its reservation; the gateway reports it and cost's live state shows it.
    mock.set_stream_delay(Some(Duration::from_millis(700)));
    let slow = tokio::spawn(post(&key, big_chat(true)));
    let held = eventually(Duration::from_secs(8), || {
        let (c, o, id) = (cost.clone(), org.clone(), created.id.clone());
        async move {
            let b = budget(&c, &o, &id).await;
            (micros(b.reserved.as_ref()) > 0).then_some(b)
        }
    })
    .await
    .expect("the in-flight reservation never showed in cost's live state");
    assert!(micros(held.remaining.as_ref()) < amount);
    let r = slow.await.unwrap();
    assert_eq!(r.status(), 200);
    let sse = r.text().await.unwrap();
    assert!(sse.contains("[DONE]"), "{sse}");
    mock.set_stream_delay(None);

    // Fill the budget: every request the budget can cover passes; the first it cannot is
    // refused in OpenAI's shape before anything goes upstream.
    let upstream_before = mock.request_count(Provider::OpenAi);
    let mut settled = Vec::new();
    let refused = loop {
        let r = post(&key, big_chat(false)).await;
        if r.status() != 200 {
            break r;
        }
        let c: i64 = r.headers()["x-keyward-cost-micros"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        settled.push(c);
        assert!(settled.len() < 10, "the budget never refused");
    };
    assert_eq!(refused.status(), 429);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "budget_exceeded", "{body}");
    assert_eq!(body["error"]["type"], "rate_limit_error");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("virtual key budget")
    );
    assert_eq!(
        mock.request_count(Provider::OpenAi) - upstream_before,
        settled.len(),
        "the refused request never went upstream"
    );
    // Another key of the org is not in this budget's scope.
    assert_eq!(post(&other_key, big_chat(false)).await.status(), 200);

    // Cost's spend (from ingested usage) reconciles with what the gateway settled, never above
    // the amount, and the gateway's reservations are gone.
    let state = eventually(Duration::from_secs(20), || {
        let (c, o, id) = (cost.clone(), org.clone(), created.id.clone());
        let plain: i64 = settled.iter().sum();
        async move {
            let b = budget(&c, &o, &id).await;
            // The stream's cost plus the plain requests' once all are ingested.
            (micros(b.reserved.as_ref()) == 0 && micros(b.spent.as_ref()) > plain).then_some(b)
        }
    })
    .await
    .expect("cost never reconciled");
    let spent = micros(state.spent.as_ref());
    let plain: i64 = settled.iter().sum();
    assert!(
        spent > plain,
        "cost counts the stream and the plain requests"
    );
    assert!(spent <= amount, "spent {spent} of {amount}");
    assert!(!state.exhausted);

    // Lowering the amount under the spend exhausts the budget: the gateway blocks even a tiny
    // request; raising it (budget.reset) lets requests through again.
    let tiny = json!({"model": "gpt-4o", "max_tokens": 1, "messages": [{"role": "user", "content": "hi"}]});
    let mut lowered = state.clone();
    lowered.amount = Some(pb::Money { micros: spent / 2 });
    cost.clone().update_budget(lowered).await.unwrap();
    let blocked = eventually(Duration::from_secs(10), || {
        let f = post(&key, tiny.clone());
        async move { (f.await.status() == 429).then_some(()) }
    })
    .await;
    assert!(blocked.is_some(), "an exhausted hard budget did not block");
    let mut raised = state.clone();
    raised.amount = Some(pb::Money {
        micros: amount * 10,
    });
    cost.clone().update_budget(raised).await.unwrap();
    let open = eventually(Duration::from_secs(10), || {
        let f = post(&key, tiny.clone());
        async move { (f.await.status() == 200).then_some(()) }
    })
    .await;
    assert!(open.is_some(), "a raised budget did not unblock");
}

//! Org model aliases through the proxy, and weighted routing among provider keys.

use std::time::{Duration, Instant};

use keyward_providers::Provider;
use keyward_testkit::mock_providers::{Failure, KeyKind, fixture_key};
use serde_json::{Value, json};

use crate::harness::PASSWORD;
use crate::proxy_harness::Px;

fn chat(model: &str) -> Value {
    json!({
        "model": model, "max_tokens": 16,
        "messages": [{"role": "user", "content": "Say hello."}],
    })
}

async fn rest(px: &Px, method: &str, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut rb = px
        .http
        .request(method.parse().unwrap(), format!("{}{path}", px.base))
        .bearer_auth(token);
    if let Some(b) = body {
        rb = rb.json(&b);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn model_ids(px: &Px, key: &str) -> Vec<String> {
    let (status, v) = rest(px, "GET", "/v1/models", key, None).await;
    assert_eq!(status, 200);
    v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn alias_routes_upstream_disappears_within_a_second_and_stays_in_its_org() {
    let px = Px::start().await;
    px.store_key(
        Provider::OpenAi,
        &fixture_key(Provider::OpenAi, KeyKind::Valid),
        0,
    )
    .await;
    px.store_key(
        Provider::Anthropic,
        &fixture_key(Provider::Anthropic, KeyKind::Valid),
        0,
    )
    .await;
    let (_, key) = px.vkey(json!({"name": "aliases"})).await;

    // Unknown before it exists (and loaded into the cache as "no aliases").
    assert_eq!(
        px.post("/v1/chat/completions", &key, &chat("fast"))
            .await
            .status(),
        404
    );
    let (status, fast) = rest(
        &px,
        "POST",
        "/api/v1/model-aliases",
        &px.access,
        Some(json!({"alias": "fast", "target": "openai/gpt-4o-mini"})),
    )
    .await;
    assert_eq!(status, 201, "{fast}");
    assert_eq!(fast["alias"], "fast");
    let (status, smart) = rest(
        &px,
        "POST",
        "/api/v1/model-aliases",
        &px.access,
        Some(json!({"alias": "smart", "target": "claude-sonnet-4-20250514"})),
    )
    .await;
    assert_eq!(status, 201, "{smart}");
    // Duplicates conflict; an alias cannot point to an alias, nor be pointed at.
    for (body, want) in [
        (json!({"alias": "fast", "target": "gpt-4o"}), 409),
        (json!({"alias": "quick", "target": "fast"}), 400),
        (json!({"alias": "openai", "target": "gpt-4o"}), 201),
    ] {
        let (status, v) = rest(&px, "POST", "/api/v1/model-aliases", &px.access, Some(body)).await;
        assert_eq!(status, want, "{v}");
    }
    let (_, list) = rest(&px, "GET", "/api/v1/model-aliases", &px.access, None).await;
    let names: Vec<_> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["alias"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["fast", "openai", "smart"]);

    // The alias reaches the right provider with the target model (the event dropped the
    // cached empty alias set; poll briefly for delivery).
    let started = Instant::now();
    loop {
        let r = px.post("/v1/chat/completions", &key, &chat("fast")).await;
        if r.status() == 200 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "alias not live after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let sent = px.mock.last_request(Provider::OpenAi).unwrap();
    assert_eq!(sent.body.as_ref().unwrap()["model"], "gpt-4o-mini");
    let r = px.post("/v1/chat/completions", &key, &chat("smart")).await;
    assert_eq!(r.status(), 200);
    let sent = px.mock.last_request(Provider::Anthropic).unwrap();
    assert_eq!(
        sent.body.as_ref().unwrap()["model"],
        "claude-sonnet-4-20250514"
    );
    let ids = model_ids(&px, &key).await;
    assert!(ids.iter().any(|m| m == "fast") && ids.iter().any(|m| m == "gpt-4o-mini"));

    // A virtual key limited to a model sees and uses only the aliases of that model.
    let (_, narrow) = px
        .vkey(json!({"name": "narrow", "models": ["gpt-4o-mini"]}))
        .await;
    let ids = model_ids(&px, &narrow).await;
    assert!(ids.iter().any(|m| m == "fast") && !ids.iter().any(|m| m == "smart"));
    assert_eq!(
        px.post("/v1/chat/completions", &narrow, &chat("smart"))
            .await
            .status(),
        403
    );

    // Another org: same alias names are unknown there.
    let (status, org) = rest(
        &px,
        "POST",
        "/api/v1/orgs",
        &px.access,
        Some(json!({"name": "Other Co"})),
    )
    .await;
    assert_eq!(status, 201, "{org}");
    let login: Value = px
        .http
        .post(format!("{}/api/v1/auth/login", px.base))
        .json(&json!({"email": "owner@proxy.test", "password": PASSWORD, "org_id": org["id"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let other = login["access_token"].as_str().unwrap().to_string();
    let (_, list) = rest(&px, "GET", "/api/v1/model-aliases", &other, None).await;
    assert_eq!(list["items"], json!([]));
    let (status, v) = rest(
        &px,
        "POST",
        "/api/v1/virtual-keys",
        &other,
        Some(json!({"name": "o"})),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let other_key = v["key"].as_str().unwrap().to_string();
    let r = px
        .post("/v1/chat/completions", &other_key, &chat("fast"))
        .await;
    assert_eq!(r.status(), 404);
    assert!(!model_ids(&px, &other_key).await.iter().any(|m| m == "fast"));
    // Deleting from the other org does not reach this org's alias.
    let fast_id = fast["id"].as_str().unwrap();
    let path = format!("/api/v1/model-aliases/{fast_id}");
    assert_eq!(rest(&px, "DELETE", &path, &other, None).await.0, 404);

    // Deleted: unknown within a second (event), though it was cached.
    assert_eq!(rest(&px, "DELETE", &path, &px.access, None).await.0, 204);
    let deleted = Instant::now();
    loop {
        let r = px.post("/v1/chat/completions", &key, &chat("fast")).await;
        if r.status() == 404 {
            let v: Value = r.json().await.unwrap();
            assert_eq!(v["error"]["code"], "model_not_found");
            break;
        }
        assert!(
            deleted.elapsed() < Duration::from_secs(1),
            "alias still served after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!model_ids(&px, &key).await.iter().any(|m| m == "fast"));
    assert_eq!(rest(&px, "DELETE", &path, &px.access, None).await.0, 404);
}

/// Two org keys of equal priority, weights 300 and 100: the heavy key should take 3/4 of the
/// traffic. Over n = 400 requests its count is binomial(400, 0.75): mean 300, standard deviation
/// sqrt(400 · 0.75 · 0.25) ≈ 8.66. The tolerance ±35 is about 4 standard deviations, so the test
/// fails by chance with probability about 6e-5, while uniform routing (mean 200) or "always the
/// first" (400) are far outside it.
#[tokio::test]
async fn proxy_weighted_routing_shares_traffic_by_weight_and_still_fails_over() {
    let px = Px::start().await;
    let heavy = fixture_key(Provider::OpenAi, KeyKind::Valid);
    let light = "sk-proj-lightKEY000000000000000000000000000000000000000000000000";
    let heavy_id = px
        .store_key_weighted(Provider::OpenAi, &heavy, 0, 300)
        .await;
    px.store_key_weighted(Provider::OpenAi, light, 0, 100).await;
    // A lower-priority key is only a fallback: never chosen while the others work.
    let spare = "sk-proj-spareKEY000000000000000000000000000000000000000000000000";
    px.store_key_weighted(Provider::OpenAi, spare, -1, 1000)
        .await;
    let (_, key) = px.vkey(json!({"name": "weighted"})).await;

    let n = 400;
    for _ in 0..n {
        let r = px
            .post("/v1/chat/completions", &key, &chat("gpt-4o-mini"))
            .await;
        assert_eq!(r.status(), 200);
    }
    let h = px.mock.request_count_for_key(Provider::OpenAi, &heavy);
    let l = px.mock.request_count_for_key(Provider::OpenAi, light);
    assert_eq!(h + l, n, "heavy {h}, light {l}");
    assert!((265..=335).contains(&h), "heavy key served {h} of {n}");
    assert_eq!(px.mock.request_count_for_key(Provider::OpenAi, spare), 0);
    // The usage events name the key that served.
    let events = px.wait_usage(n, Duration::from_secs(30)).await;
    let by_heavy = events
        .iter()
        .filter(|e| e.provider_key_id.as_deref() == Some(heavy_id.as_str()))
        .count();
    assert_eq!(by_heavy, h);

    // Failover: the heavy key rate-limited, every request still succeeds through the others.
    px.mock
        .set_failure(Provider::OpenAi, &heavy, Some(Failure::RateLimited));
    let before = px.mock.request_count_for_key(Provider::OpenAi, light);
    for _ in 0..20 {
        let r = px
            .post("/v1/chat/completions", &key, &chat("gpt-4o-mini"))
            .await;
        assert_eq!(r.status(), 200);
    }
    assert_eq!(
        px.mock.request_count_for_key(Provider::OpenAi, light) - before,
        20
    );
    // Both of the tier down: the lower-priority key takes over.
    px.mock
        .set_failure(Provider::OpenAi, light, Some(Failure::ServerError));
    let r = px
        .post("/v1/chat/completions", &key, &chat("gpt-4o-mini"))
        .await;
    assert_eq!(r.status(), 200);
    assert!(px.mock.request_count_for_key(Provider::OpenAi, spare) >= 1);

    // The REST API shows and sets weights (default 100).
    let (status, v) = rest(
        &px,
        "POST",
        "/api/v1/provider-keys",
        &px.access,
        Some(
            json!({"name": "rest weighted", "provider": "openai", "weight": 250, "priority": 2,
                    "secret": "sk-proj-restKEY0000000000000000000000000000000000000000000000000"}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(
        (v["key"]["weight"].as_u64(), v["key"]["priority"].as_i64()),
        (Some(250), Some(2))
    );
    let (_, got) = rest(
        &px,
        "GET",
        &format!("/api/v1/provider-keys/{heavy_id}"),
        &px.access,
        None,
    )
    .await;
    assert_eq!(got["weight"], 300);
}

/// Changing a key's routing over the REST API takes effect on the proxy at once: the vault's
/// `key.updated` drops the gateway's cached pick, so the next requests go to the new primary
/// (well before the 60 s secret-cache TTL), and the secret itself is untouched.
#[tokio::test]
async fn proxy_follows_a_routing_change_made_over_the_rest_api() {
    let px = Px::start().await;
    let first = fixture_key(Provider::OpenAi, KeyKind::Valid);
    let second = "sk-proj-secondKEY00000000000000000000000000000000000000000000000";
    px.store_key(Provider::OpenAi, &first, 1).await;
    let second_id = px.store_key(Provider::OpenAi, second, 0).await;
    let (_, key) = px.vkey(json!({"name": "reroute"})).await;
    let send = async || {
        let r = px
            .post("/v1/chat/completions", &key, &chat("gpt-4o-mini"))
            .await;
        assert_eq!(r.status(), 200);
    };
    for _ in 0..5 {
        send().await;
    }
    assert_eq!(px.mock.request_count_for_key(Provider::OpenAi, second), 0);

    let (status, v) = rest(
        &px,
        "PATCH",
        &format!("/api/v1/provider-keys/{second_id}"),
        &px.access,
        Some(json!({"priority": 2, "weight": 700, "name": "now primary"})),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (&v["priority"], &v["weight"], &v["name"], &v["version"]),
        (&json!(2), &json!(700), &json!("now primary"), &json!(1))
    );
    let moved = keyward_testkit::eventually(Duration::from_secs(1), || async {
        send().await;
        (px.mock.request_count_for_key(Provider::OpenAi, second) > 0).then_some(())
    })
    .await;
    assert!(
        moved.is_some(),
        "traffic still on the old primary 1 s after the change"
    );
    let before = px.mock.request_count_for_key(Provider::OpenAi, &first);
    for _ in 0..10 {
        send().await;
    }
    assert_eq!(
        px.mock.request_count_for_key(Provider::OpenAi, &first),
        before
    );
}

//! The LLM proxy through the real gateway: both API shapes, streaming, embeddings, cross-shape
//! translation, policy refusals, metering, revocation and the provider-key canary.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use keyward_providers::Provider;
use keyward_testkit::mock_providers::{KeyKind, REPLY, fixture_key};
use serde_json::{Value, json};

use crate::proxy_harness::Px;

fn chat_body(stream: bool) -> Value {
    let mut b = json!({
        "model": "gpt-4o-mini",
        "max_tokens": 64,
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Say hello."}],
    });
    if stream {
        b["stream"] = json!(true);
        b["stream_options"] = json!({"include_usage": true});
    }
    b
}

fn messages_body(model: &str, stream: bool) -> Value {
    json!({
        "model": model, "max_tokens": 64, "system": "Be brief.", "stream": stream,
        "messages": [{"role": "user", "content": "Say hello."}],
    })
}

/// Reassembles an OpenAI SSE stream: (content, usage).
fn openai_stream(text: &str) -> (String, Value) {
    let (mut content, mut usage) = (String::new(), Value::Null);
    for line in text.lines() {
        let Some(data) = line.strip_prefix("data: ") else {
            continue;
        };
        if data == "[DONE]" {
            continue;
        }
        let v: Value = serde_json::from_str(data).unwrap();
        if let Some(c) = v
            .pointer("/choices/0/delta/content")
            .and_then(Value::as_str)
        {
            content.push_str(c);
        }
        if !v["usage"].is_null() {
            usage = v["usage"].clone();
        }
    }
    (content, usage)
}

#[tokio::test]
async fn proxy_openai_chat_plain_and_streaming_with_exact_metering() {
    let px = Px::start().await;
    let pk = px
        .store_key(
            Provider::OpenAi,
            &fixture_key(Provider::OpenAi, KeyKind::Valid),
            0,
        )
        .await;
    let (vk_id, key) = px.vkey(json!({"name": "app"})).await;

    let r = px
        .post("/v1/chat/completions", &key, &chat_body(false))
        .await;
    assert_eq!(r.status(), 200);
    let rid = r.headers()["x-keyward-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let cost: i64 = r.headers()["x-keyward-cost-micros"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cost > 0);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], REPLY);
    let usage = v["usage"].clone();

    let r = px
        .post("/v1/chat/completions", &key, &chat_body(true))
        .await;
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/event-stream")
    );
    let srid = r.headers()["x-keyward-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let (content, susage) = openai_stream(&r.text().await.unwrap());
    assert_eq!(content, REPLY);
    assert_eq!(susage["prompt_tokens"], usage["prompt_tokens"]);

    let events = px.wait_usage(2, Duration::from_secs(15)).await;
    let plain = events.iter().find(|e| e.request_id == rid).unwrap();
    assert_eq!(plain.org_id, px.org_id);
    assert_eq!(plain.virtual_key_id.as_deref(), Some(vk_id.as_str()));
    assert_eq!(plain.provider_key_id.as_deref(), Some(pk.as_str()));
    assert_eq!(
        (plain.provider.as_str(), plain.model.as_str()),
        ("openai", "gpt-4o-mini")
    );
    assert_eq!(
        plain.input_tokens + plain.cached_input_tokens,
        usage["prompt_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        plain.output_tokens + plain.reasoning_tokens,
        usage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!((plain.status.as_str(), plain.http_status), ("ok", 200));
    assert_eq!(plain.endpoint, "chat");
    assert!(!plain.streamed);
    let streamed = events.iter().find(|e| e.request_id == srid).unwrap();
    assert!(streamed.streamed);
    assert_eq!(
        streamed.output_tokens + streamed.reasoning_tokens,
        susage["completion_tokens"].as_u64().unwrap()
    );
    assert_eq!(
        uuid::Uuid::parse_str(&plain.event_id)
            .unwrap()
            .get_version_num(),
        7
    );
}

#[tokio::test]
async fn proxy_embeddings_messages_and_cross_shape() {
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
    let (_, key) = px.vkey(json!({"name": "app"})).await;

    let r = px
        .post(
            "/v1/embeddings",
            &key,
            &json!({"model": "text-embedding-3-small", "input": ["a b c", "d e"]}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["data"].as_array().unwrap().len(), 2);
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    // Anthropic client, Anthropic upstream, x-api-key.
    let r = px
        .http
        .post(format!("{}/v1/messages", px.base))
        .header("x-api-key", &key)
        .header("anthropic-version", "2023-06-01")
        .json(&messages_body("claude-sonnet-4-20250514", false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["content"][0]["text"], REPLY);
    assert!(v["usage"]["input_tokens"].as_u64().unwrap() > 0);

    // Streaming messages pass through as Anthropic SSE.
    let r = px
        .http
        .post(format!("{}/v1/messages", px.base))
        .header("x-api-key", &key)
        .json(&messages_body("claude-sonnet-4-20250514", true))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("event: message_delta") && text.contains("message_stop"),
        "{text}"
    );

    // OpenAI client → Anthropic upstream.
    let mut body = chat_body(false);
    body["model"] = json!("claude-sonnet-4-20250514");
    let r = px.post("/v1/chat/completions", &key, &body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], REPLY);
    assert_eq!(px.mock.request_count(Provider::Anthropic), 3);

    // Anthropic client → OpenAI upstream, explicit provider/model.
    let r = px
        .post(
            "/v1/messages",
            &key,
            &messages_body("openai/gpt-4o-mini", false),
        )
        .await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["type"], "message");
    assert_eq!(v["content"][0]["text"], REPLY);

    let r = px
        .http
        .get(format!("{}/v1/models", px.base))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert!(
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["id"] == "gpt-4o-mini")
    );
    let events = px.wait_usage(5, Duration::from_secs(15)).await;
    let endpoints: HashSet<_> = events.iter().map(|e| e.endpoint.clone()).collect();
    assert_eq!(
        endpoints,
        ["chat", "embeddings", "messages"].map(String::from).into()
    );
}

#[tokio::test]
async fn proxy_refusals_in_the_clients_shape() {
    let px = Px::start().await;
    px.store_key(
        Provider::OpenAi,
        &fixture_key(Provider::OpenAi, KeyKind::Valid),
        0,
    )
    .await;
    let before = px.mock.request_count(Provider::OpenAi);
    // No key, unknown key: 401 in OpenAI's and Anthropic's shapes.
    let r = px
        .http
        .post(format!("{}/v1/chat/completions", px.base))
        .json(&chat_body(false))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "authentication_error");
    let r = px
        .post(
            "/v1/messages",
            "kw_nope",
            &messages_body("gpt-4o-mini", false),
        )
        .await;
    assert_eq!(r.status(), 401);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["type"].as_str(), v["error"]["type"].as_str()),
        (Some("error"), Some("authentication_error"))
    );

    // Allow-lists: model, provider, client address.
    let (_, k) = px.vkey(json!({"name": "m", "models": ["gpt-4o"]})).await;
    let r = px.post("/v1/chat/completions", &k, &chat_body(false)).await;
    assert_eq!(r.status(), 403);
    let (_, k) = px
        .vkey(json!({"name": "p", "providers": ["anthropic"]}))
        .await;
    assert_eq!(
        px.post("/v1/chat/completions", &k, &chat_body(false))
            .await
            .status(),
        403
    );
    let (_, k) = px
        .vkey(json!({"name": "ip", "allowed_cidrs": ["10.0.0.0/8"]}))
        .await;
    assert_eq!(
        px.post("/v1/chat/completions", &k, &chat_body(false))
            .await
            .status(),
        403
    );
    let (_, k) = px
        .vkey(json!({"name": "ip ok", "allowed_cidrs": ["127.0.0.1/32"]}))
        .await;
    assert_eq!(
        px.post("/v1/chat/completions", &k, &chat_body(false))
            .await
            .status(),
        200
    );

    // Unknown model, bad body.
    let (_, k) = px.vkey(json!({"name": "any"})).await;
    let mut b = chat_body(false);
    b["model"] = json!("no-such-model");
    let r = px.post("/v1/chat/completions", &k, &b).await;
    assert_eq!(r.status(), 404);
    let r = px
        .http
        .post(format!("{}/v1/chat/completions", px.base))
        .bearer_auth(&k)
        .body("not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);

    // RPM: the third request in a minute is refused with retry-after.
    let (_, k) = px.vkey(json!({"name": "rpm", "rpm": 2})).await;
    for _ in 0..2 {
        assert_eq!(
            px.post("/v1/chat/completions", &k, &chat_body(false))
                .await
                .status(),
            200
        );
    }
    let r = px.post("/v1/chat/completions", &k, &chat_body(false)).await;
    assert_eq!(r.status(), 429);
    assert!(
        r.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "rate_limit_exceeded");
    // Only the allowed requests reached the provider.
    assert_eq!(px.mock.request_count(Provider::OpenAi) - before, 3);
}

#[tokio::test]
async fn proxy_revoked_virtual_key_is_rejected_within_a_second() {
    let px = Px::start().await;
    px.store_key(
        Provider::OpenAi,
        &fixture_key(Provider::OpenAi, KeyKind::Valid),
        0,
    )
    .await;
    let (id, key) = px.vkey(json!({"name": "soon revoked"})).await;
    // Cached now.
    assert_eq!(
        px.post("/v1/chat/completions", &key, &chat_body(false))
            .await
            .status(),
        200
    );
    let r = px
        .http
        .post(format!("{}/api/v1/virtual-keys/{id}/revoke", px.base))
        .bearer_auth(&px.access)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let revoked_at = Instant::now();
    loop {
        let r = px
            .post("/v1/chat/completions", &key, &chat_body(false))
            .await;
        if r.status() == 401 {
            let v: Value = r.json().await.unwrap();
            assert!(v["error"]["message"].as_str().unwrap().contains("revoked"));
            break;
        }
        assert!(
            revoked_at.elapsed() < Duration::from_secs(1),
            "still accepted after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(revoked_at.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn proxy_canary_provider_key_never_reaches_the_client() {
    let px = Px::start().await;
    // A key the mock rejects (OpenAI echoes part of a rejected key).
    let canary = fixture_key(Provider::OpenAi, KeyKind::Unknown);
    px.store_key(Provider::OpenAi, &canary, 0).await;
    // store_key registered it; make the mock reject it again.
    px.mock.set_failure(
        Provider::OpenAi,
        &canary,
        Some(keyward_testkit::mock_providers::Failure::Unauthorized),
    );
    let (_, key) = px.vkey(json!({"name": "canary"})).await;
    for body in [chat_body(false), chat_body(true)] {
        let r = px.post("/v1/chat/completions", &key, &body).await;
        assert_eq!(r.status(), 502);
        let headers = format!("{:?}", r.headers());
        let text = r.text().await.unwrap();
        for window in canary.as_bytes().windows(8) {
            let piece = std::str::from_utf8(window).unwrap();
            assert!(!text.contains(piece) && !headers.contains(piece), "{text}");
        }
        assert!(text.contains("rejected the provider key"), "{text}");
    }
}

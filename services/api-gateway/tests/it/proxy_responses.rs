//! `POST /v1/responses`: forwarded to OpenAI-compatible providers, plain and streamed, with the
//! usage metered; refused with a 400 in OpenAI's shape for other providers.

use std::time::Duration;

use keyward_providers::Provider;
use keyward_testkit::mock_providers::{KeyKind, REPLY, fixture_key, mock_tokens};
use serde_json::{Value, json};

use crate::proxy_harness::Px;

fn body(stream: bool) -> Value {
    json!({
        "model": "gpt-4o-mini", "stream": stream, "max_output_tokens": 64,
        "instructions": "Be brief.",
        "input": [{"role": "user", "content": [{"type": "input_text", "text": "Say hello."}]}],
    })
}

#[tokio::test]
async fn proxy_responses_api_plain_and_streaming_with_usage() {
    let px = Px::start().await;
    let pk = px
        .store_key(
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
    let (_, key) = px.vkey(json!({"name": "responses"})).await;
    let input = mock_tokens("Be brief.Say hello.");
    let output = mock_tokens(REPLY);

    let r = px.post("/v1/responses", &key, &body(false)).await;
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
    assert_eq!(v["object"], "response");
    assert_eq!(v["output"][0]["content"][0]["text"], REPLY);
    assert_eq!(v["usage"]["input_tokens"], input);
    let sent = px.mock.last_request(Provider::OpenAi).unwrap();
    assert!(sent.path.ends_with("/v1/responses"), "{}", sent.path);

    let r = px.post("/v1/responses", &key, &body(true)).await;
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
    let text = r.text().await.unwrap();
    let deltas: String = text
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .filter_map(|d| serde_json::from_str::<Value>(d).ok())
        .filter(|e| e["type"] == "response.output_text.delta")
        .map(|e| e["delta"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(deltas, REPLY);
    assert!(text.contains("response.completed"));

    let events = px.wait_usage(2, Duration::from_secs(15)).await;
    for (id, streamed) in [(&rid, false), (&srid, true)] {
        let e = events.iter().find(|e| &e.request_id == id).unwrap();
        assert_eq!(e.endpoint, "responses");
        assert_eq!(e.streamed, streamed);
        assert_eq!(e.provider_key_id.as_deref(), Some(pk.as_str()));
        assert_eq!(e.input_tokens + e.cached_input_tokens, input);
        assert_eq!(e.output_tokens + e.reasoning_tokens, output);
        assert_eq!((e.status.as_str(), e.http_status), ("ok", 200));
    }

    // Not an OpenAI-compatible provider: a clear 400 in OpenAI's shape; nothing goes upstream.
    let before = px.mock.request_count(Provider::Anthropic);
    let mut claude = body(false);
    claude["model"] = json!("claude-opus-4-6");
    let r = px.post("/v1/responses", &key, &claude).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["type"], "invalid_request_error");
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("/v1/responses is forwarded only to OpenAI"),
        "{v}"
    );
    assert_eq!(px.mock.request_count(Provider::Anthropic), before);
}

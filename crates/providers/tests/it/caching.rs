//! Cached-input and cache-write tokens, extracted from every provider that reports them, and
//! caching markers carried through translation.

use keyward_providers::{ClientApi, Provider, Usage};
use keyward_testkit::mock_providers::{MockProviders, REPLY, mock_tokens};
use serde_json::{Value, json};

use crate::support::{USER, complete, reassemble_anthropic, reassemble_openai, stream};

/// A long system prompt marked for caching, the way LiteLLM-style OpenAI clients do it.
fn cached_openai_request(ttl: Option<&str>, stream: bool) -> (Value, u64) {
    let rules = "Answer like a careful engineer. ".repeat(40);
    let mut marker = json!({"type": "ephemeral"});
    if let Some(ttl) = ttl {
        marker["ttl"] = json!(ttl);
    }
    let request = json!({
        "model": "alias", "stream": stream, "stream_options": {"include_usage": true},
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": rules, "cache_control": marker}]},
            {"role": "user", "content": USER}
        ]
    });
    (request, mock_tokens(&rules))
}

#[tokio::test]
async fn anthropic_cache_writes_then_reads_with_ttl_split() {
    let mock = MockProviders::start().await.unwrap();
    let (request, prefix) = cached_openai_request(Some("1h"), false);
    let total = prefix + mock_tokens(USER);
    let (first, body) = complete(&mock, ClientApi::OpenAiChat, Provider::Anthropic, &request).await;
    assert_eq!(
        first.usage.unwrap(),
        Usage {
            input_uncached: total - prefix,
            cache_write_1h: prefix,
            output: mock_tokens(REPLY),
            ..Usage::default()
        }
    );
    assert_eq!(body["usage"]["prompt_tokens"], total);
    assert_eq!(body["usage"]["cache_creation_input_tokens"], prefix);
    let sent = mock
        .last_request(Provider::Anthropic)
        .unwrap()
        .body
        .unwrap();
    assert_eq!(
        sent["system"][0]["cache_control"],
        json!({"type": "ephemeral", "ttl": "1h"})
    );

    let (second, body) =
        complete(&mock, ClientApi::OpenAiChat, Provider::Anthropic, &request).await;
    assert_eq!(second.usage.unwrap().cached_input, prefix);
    assert_eq!(second.usage.unwrap().cache_write(), 0);
    assert_eq!(
        body["usage"]["prompt_tokens_details"]["cached_tokens"],
        prefix
    );
}

#[tokio::test]
async fn anthropic_streams_report_cache_tokens_both_ways() {
    let mock = MockProviders::start().await.unwrap();
    let (request, prefix) = cached_openai_request(None, true);
    let (bytes, summary) =
        stream(&mock, ClientApi::OpenAiChat, Provider::Anthropic, &request).await;
    assert_eq!(summary.usage.unwrap().cache_write_5m, prefix);
    let usage = reassemble_openai(&bytes).usage.unwrap();
    assert_eq!(usage["cache_creation_input_tokens"], prefix);

    // An Anthropic client against Anthropic: pass-through, usage read from message_start/delta.
    let anthropic = json!({
        "model": "alias", "max_tokens": 100, "stream": true,
        "system": [{"type": "text", "text": "Answer like a careful engineer. ".repeat(40), "cache_control": {"type": "ephemeral"}}],
        "messages": [{"role": "user", "content": USER}]
    });
    let (bytes, summary) = stream(
        &mock,
        ClientApi::AnthropicMessages,
        Provider::Anthropic,
        &anthropic,
    )
    .await;
    assert_eq!(
        summary.usage.unwrap().cached_input,
        prefix,
        "the same prefix was cached by the first call"
    );
    let usage = reassemble_anthropic(&bytes).usage.unwrap();
    assert_eq!(usage["cache_read_input_tokens"], prefix);
}

#[tokio::test]
async fn bedrock_cache_points_write_then_read() {
    let mock = MockProviders::start().await.unwrap();
    let (request, prefix) = cached_openai_request(None, false);
    let (first, _) = complete(&mock, ClientApi::OpenAiChat, Provider::Bedrock, &request).await;
    assert_eq!(first.usage.unwrap().cache_write_5m, prefix);
    let sent = mock.last_request(Provider::Bedrock).unwrap().body.unwrap();
    assert_eq!(
        sent["system"][1],
        json!({"cachePoint": {"type": "default"}})
    );
    let (bytes, summary) = stream(
        &mock,
        ClientApi::OpenAiChat,
        Provider::Bedrock,
        &cached_openai_request(None, true).0,
    )
    .await;
    assert_eq!(summary.usage.unwrap().cached_input, prefix);
    assert_eq!(
        reassemble_openai(&bytes).usage.unwrap()["prompt_tokens_details"]["cached_tokens"],
        prefix
    );
}

#[tokio::test]
async fn implicit_caching_of_long_prompts_on_openai_and_gemini() {
    let mock = MockProviders::start().await.unwrap();
    let long = "All work and no play makes Jack a dull boy. ".repeat(100);
    let request = json!({"model": "alias", "messages": [{"role": "user", "content": long}]});
    let total = mock_tokens(&long);
    assert!(total >= 1024);
    for provider in [Provider::OpenAi, Provider::Gemini, Provider::Azure] {
        let (first, _) = complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
        assert_eq!(first.usage.unwrap().cached_input, 0, "{provider:?}");
        let (second, body) = complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
        let usage = second.usage.unwrap();
        assert_eq!(usage.cached_input, total / 128 * 128, "{provider:?}");
        assert_eq!(usage.input_total(), total, "{provider:?}");
        assert_eq!(
            body["usage"]["prompt_tokens_details"]["cached_tokens"], usage.cached_input,
            "{provider:?}"
        );
    }
}

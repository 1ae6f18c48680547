//! The mock providers' chat endpoints answer in the real wire formats, with exact usage.

use keyward_providers::{ANTHROPIC_VERSION, Provider};
use keyward_testkit::mock_providers::{KeyKind, MockProviders, REPLY, fixture_key, mock_tokens};
use serde_json::{Value, json};

use crate::client;

#[tokio::test]
async fn openai_style_chat_completions_report_usage() {
    let mock = MockProviders::start().await.unwrap();
    let prompt = "Say hello to the test suite, please.";
    for provider in [
        Provider::OpenAi,
        Provider::Mistral,
        Provider::OpenAiCompatible,
    ] {
        let url = format!("{}/chat/completions", mock.base_url(provider));
        let response = client()
            .post(url)
            .bearer_auth(fixture_key(provider, KeyKind::Valid))
            .json(
                &json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": prompt}]}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{provider:?}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["object"], "chat.completion");
        assert_eq!(body["choices"][0]["message"]["content"], REPLY);
        assert_eq!(body["usage"]["prompt_tokens"], mock_tokens(prompt));
        assert_eq!(body["usage"]["completion_tokens"], mock_tokens(REPLY));
        assert_eq!(
            body["usage"]["total_tokens"],
            mock_tokens(prompt) + mock_tokens(REPLY)
        );
    }
    // A wrong key gets the provider's 401, never a completion.
    let response = client()
        .post(format!(
            "{}/chat/completions",
            mock.base_url(Provider::OpenAi)
        ))
        .bearer_auth(fixture_key(Provider::OpenAi, KeyKind::Unknown))
        .json(&json!({"model": "gpt-4o-mini", "messages": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_api_key");
}

#[tokio::test]
async fn azure_deployments_and_perplexity_use_their_own_paths() {
    let mock = MockProviders::start().await.unwrap();
    let url = format!(
        "{}/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21",
        mock.base_url(Provider::Azure)
    );
    let body: Value = client()
        .post(url)
        .header("api-key", fixture_key(Provider::Azure, KeyKind::Valid))
        .json(&json!({"messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["model"], "gpt-4o-prod");
    assert_eq!(body["usage"]["prompt_tokens_details"]["cached_tokens"], 0);
    assert!(body["prompt_filter_results"].is_array());

    let body: Value = client()
        .post(format!(
            "{}/chat/completions",
            mock.base_url(Provider::Perplexity)
        ))
        .bearer_auth(fixture_key(Provider::Perplexity, KeyKind::Valid))
        .json(&json!({"model": "sonar", "messages": [{"role": "user", "content": "hi"}]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(body["usage"]["search_context_size"], "low");
    assert!(body["citations"].is_array());
}

#[tokio::test]
async fn anthropic_messages_report_usage_including_cache_fields() {
    let mock = MockProviders::start().await.unwrap();
    let url = format!("{}/v1/messages", mock.base_url(Provider::Anthropic));
    let request = json!({
        "model": "claude-sonnet-4-20250514",
        "max_tokens": 64,
        "system": "Be brief.",
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Hello, Claude"}]}]
    });
    let response = client()
        .post(&url)
        .header(
            "x-api-key",
            fixture_key(Provider::Anthropic, KeyKind::Valid),
        )
        .header("anthropic-version", ANTHROPIC_VERSION)
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], "message");
    assert_eq!(body["content"][0]["text"], REPLY);
    assert_eq!(
        body["usage"]["input_tokens"],
        mock_tokens("Be brief.Hello, Claude")
    );
    assert_eq!(body["usage"]["output_tokens"], mock_tokens(REPLY));
    assert_eq!(body["usage"]["cache_read_input_tokens"], 0);
    assert_eq!(body["usage"]["cache_creation_input_tokens"], 0);

    // Anthropic's real rules: the version header and max_tokens are required.
    let response = client()
        .post(&url)
        .header(
            "x-api-key",
            fixture_key(Provider::Anthropic, KeyKind::Valid),
        )
        .json(&request)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["type"], "invalid_request_error");
    assert_eq!(
        mock.request_count_at(Provider::Anthropic, "/v1/messages"),
        2
    );
}

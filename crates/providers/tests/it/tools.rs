//! Tool calls through every provider: definitions go out in each provider's format, calls come
//! back in the client's, and tool results are understood on the next turn.

use keyward_providers::{ClientApi, FinishReason, Provider};
use keyward_testkit::mock_providers::{MockProviders, REPLY, TOOL_ARGUMENTS};
use serde_json::{Value, json};

use crate::support::{PROVIDERS, complete, reassemble_anthropic, reassemble_openai, stream, text};

/// Providers with function calling (Perplexity has none).
fn tool_providers() -> impl Iterator<Item = Provider> {
    PROVIDERS.into_iter().filter(|p| *p != Provider::Perplexity)
}

fn openai_tools_request(stream: bool) -> Value {
    json!({
        "model": "alias", "stream": stream, "stream_options": {"include_usage": true},
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Current weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}],
        "tool_choice": "auto"
    })
}

#[tokio::test]
async fn openai_clients_get_tool_calls_and_send_results_back() {
    let mock = MockProviders::start().await.unwrap();
    for provider in tool_providers() {
        let request = openai_tools_request(false);
        let (translated, body) = complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
        assert_eq!(
            body["choices"][0]["finish_reason"], "tool_calls",
            "{provider:?}: {body}"
        );
        assert_eq!(
            translated.finish_reason,
            Some(FinishReason::ToolCalls),
            "{provider:?}"
        );
        let call = &body["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["type"], "function", "{provider:?}");
        assert_eq!(call["function"]["name"], "get_weather", "{provider:?}");
        let args: Value =
            serde_json::from_str(call["function"]["arguments"].as_str().unwrap()).unwrap();
        assert_eq!(
            args,
            serde_json::from_str::<Value>(TOOL_ARGUMENTS).unwrap(),
            "{provider:?}"
        );

        // Second turn: the tool result goes back; the mock answers in text only if it saw a
        // tool result in its own format.
        let mut next = request.clone();
        let messages = next["messages"].as_array_mut().unwrap();
        messages.push(body["choices"][0]["message"].clone());
        messages
            .push(json!({"role": "tool", "tool_call_id": call["id"], "content": "18C and sunny"}));
        let (_, body) = complete(&mock, ClientApi::OpenAiChat, provider, &next).await;
        assert_eq!(
            body["choices"][0]["message"]["content"], REPLY,
            "{provider:?}: {body}"
        );
        assert_eq!(body["choices"][0]["finish_reason"], "stop", "{provider:?}");
    }
    let bedrock = mock.last_request(Provider::Bedrock).unwrap().body.unwrap();
    assert_eq!(
        bedrock["toolConfig"]["tools"][0]["toolSpec"]["name"],
        "get_weather"
    );
    assert!(
        bedrock["messages"][2]["content"][0]["toolResult"].is_object(),
        "{bedrock}"
    );
    let gemini = mock.last_request(Provider::Gemini).unwrap().body.unwrap();
    assert_eq!(
        gemini["contents"][2]["parts"][0]["functionResponse"]["name"], "get_weather",
        "{gemini}"
    );
}

#[tokio::test]
async fn openai_clients_stream_tool_calls_from_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    for provider in tool_providers() {
        let (bytes, summary) = stream(
            &mock,
            ClientApi::OpenAiChat,
            provider,
            &openai_tools_request(true),
        )
        .await;
        let r = reassemble_openai(&bytes);
        assert_eq!(
            r.finish.as_deref(),
            Some("tool_calls"),
            "{provider:?}: {}",
            text(&bytes)
        );
        assert_eq!(r.tool_calls.len(), 1, "{provider:?}");
        let (id, name, args) = &r.tool_calls[0];
        assert!(!id.is_empty(), "{provider:?}");
        assert_eq!(name, "get_weather", "{provider:?}");
        assert_eq!(args, TOOL_ARGUMENTS, "{provider:?}");
        assert_eq!(
            summary.finish_reason,
            Some(FinishReason::ToolCalls),
            "{provider:?}"
        );
        assert!(summary.usage.is_some(), "{provider:?}");
    }
}

#[tokio::test]
async fn anthropic_clients_get_tool_use_from_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    let request = |stream: bool| {
        json!({
            "model": "alias", "max_tokens": 200, "stream": stream,
            "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
            "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "tool_choice": {"type": "any"}
        })
    };
    for provider in tool_providers() {
        let (_, body) = complete(
            &mock,
            ClientApi::AnthropicMessages,
            provider,
            &request(false),
        )
        .await;
        assert_eq!(body["stop_reason"], "tool_use", "{provider:?}: {body}");
        let block = body["content"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["type"] == "tool_use")
            .unwrap()
            .clone();
        assert_eq!(block["name"], "get_weather", "{provider:?}");
        assert_eq!(block["input"], json!({"city": "Paris"}), "{provider:?}");

        let (bytes, _) = stream(
            &mock,
            ClientApi::AnthropicMessages,
            provider,
            &request(true),
        )
        .await;
        let r = reassemble_anthropic(&bytes);
        assert_eq!(
            r.finish.as_deref(),
            Some("tool_use"),
            "{provider:?}: {}",
            text(&bytes)
        );
        assert_eq!(r.tool_calls[0].1, "get_weather", "{provider:?}");
        assert_eq!(r.tool_calls[0].2, TOOL_ARGUMENTS, "{provider:?}");

        // The result goes back as a tool_result block and the provider answers in text.
        let mut next = request(false);
        let messages = next["messages"].as_array_mut().unwrap();
        messages.push(json!({"role": "assistant", "content": body["content"]}));
        messages.push(json!({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": block["id"], "content": "18C"}]}));
        let (_, body) = complete(&mock, ClientApi::AnthropicMessages, provider, &next).await;
        assert_eq!(body["content"][0]["text"], REPLY, "{provider:?}: {body}");
    }
    let openai = mock.last_request(Provider::OpenAi).unwrap().body.unwrap();
    assert_eq!(openai["tool_choice"], "required");
    assert_eq!(openai["messages"][2]["role"], "tool");
}

#[tokio::test]
async fn perplexity_refuses_tools_clearly() {
    let request = openai_tools_request(false);
    let base = "http://127.0.0.1:9";
    let secret = keyward_testkit::mock_providers::fixture_secret(
        Provider::Perplexity,
        keyward_testkit::mock_providers::KeyKind::Valid,
    );
    let target = keyward_providers::Target {
        provider: Provider::Perplexity,
        model: "sonar",
        base_url: Some(base),
        secret: &secret,
    };
    let err = keyward_providers::prepare(ClientApi::OpenAiChat, &request, &target).unwrap_err();
    let client = err.to_client_error(keyward_providers::ApiShape::OpenAi);
    assert_eq!(client.status, 400);
    assert!(
        client.message.contains("Perplexity does not support tools"),
        "{}",
        client.message
    );
}

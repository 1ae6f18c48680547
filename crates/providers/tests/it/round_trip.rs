//! Non-streaming round trips: client request → `prepare` → the mock provider in its real wire
//! format → translated back to the client's shape, with exact usage.

use keyward_providers::{ClientApi, FinishReason, Provider, Usage};
use keyward_testkit::mock_providers::{MockProviders, REPLY, mock_tokens};
use serde_json::json;

use crate::support::{
    PROVIDERS, anthropic_request, complete, expected_input, model, openai_request,
};

#[tokio::test]
async fn openai_clients_get_chat_completions_from_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        let (translated, body) = complete(
            &mock,
            ClientApi::OpenAiChat,
            provider,
            &openai_request(false),
        )
        .await;
        assert_eq!(body["object"], "chat.completion", "{provider:?}");
        assert_eq!(
            body["choices"][0]["message"]["role"], "assistant",
            "{provider:?}"
        );
        assert_eq!(
            body["choices"][0]["message"]["content"], REPLY,
            "{provider:?}"
        );
        assert_eq!(body["choices"][0]["finish_reason"], "stop", "{provider:?}");
        assert_eq!(
            body["usage"]["prompt_tokens"],
            expected_input(),
            "{provider:?}"
        );
        assert_eq!(
            body["usage"]["completion_tokens"],
            mock_tokens(REPLY),
            "{provider:?}"
        );
        let usage = translated.usage.unwrap();
        assert_eq!(
            usage,
            Usage {
                input_uncached: expected_input(),
                output: mock_tokens(REPLY),
                ..Usage::default()
            },
            "{provider:?}"
        );
        assert_eq!(
            translated.finish_reason,
            Some(FinishReason::Stop),
            "{provider:?}"
        );
        // The mock authenticated the request (for Bedrock: a SigV4 signature over the body).
        assert_eq!(mock.last_auth_matched(provider), Some(true), "{provider:?}");
    }
}

#[tokio::test]
async fn the_mock_receives_each_providers_own_request_shape() {
    let mock = MockProviders::start().await.unwrap();
    let request = openai_request(false);
    for provider in [
        Provider::Anthropic,
        Provider::Gemini,
        Provider::Bedrock,
        Provider::Cohere,
    ] {
        complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
    }
    let anthropic = mock.last_request(Provider::Anthropic).unwrap();
    assert_eq!(anthropic.path, "/v1/messages");
    let body = anthropic.body.unwrap();
    assert_eq!(body["model"], model(Provider::Anthropic));
    assert_eq!(body["system"][0]["text"], "Be brief.");
    assert_eq!(body["max_tokens"], 4096);

    let gemini = mock.last_request(Provider::Gemini).unwrap();
    assert_eq!(
        gemini.path,
        "/v1beta/models/gemini-2.5-flash:generateContent"
    );
    assert_eq!(
        gemini.body.unwrap()["systemInstruction"]["parts"][0]["text"],
        "Be brief."
    );

    let bedrock = mock.last_request(Provider::Bedrock).unwrap();
    assert_eq!(
        bedrock.path,
        "/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse"
    );
    assert_eq!(bedrock.body.unwrap()["system"][0]["text"], "Be brief.");

    let cohere = mock.last_request(Provider::Cohere).unwrap();
    assert_eq!(cohere.path, "/v2/chat");
    assert_eq!(cohere.body.unwrap()["messages"][0]["role"], "system");
}

#[tokio::test]
async fn anthropic_clients_get_messages_from_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        let (translated, body) = complete(
            &mock,
            ClientApi::AnthropicMessages,
            provider,
            &anthropic_request(false),
        )
        .await;
        assert_eq!(body["type"], "message", "{provider:?}");
        assert_eq!(body["role"], "assistant", "{provider:?}");
        assert_eq!(
            body["content"],
            json!([{"type": "text", "text": REPLY}]),
            "{provider:?}"
        );
        assert_eq!(body["stop_reason"], "end_turn", "{provider:?}");
        assert_eq!(
            body["usage"]["input_tokens"],
            expected_input(),
            "{provider:?}"
        );
        assert_eq!(
            body["usage"]["output_tokens"],
            mock_tokens(REPLY),
            "{provider:?}"
        );
        assert_eq!(
            translated.usage.unwrap().input_total(),
            expected_input(),
            "{provider:?}"
        );
    }
    // Anthropic → Anthropic passes the body through; the OpenAI upstream got an OpenAI request.
    let openai = mock.last_request(Provider::OpenAi).unwrap().body.unwrap();
    assert_eq!(
        openai["messages"][0],
        json!({"role": "system", "content": "Be brief."})
    );
    assert_eq!(openai["max_completion_tokens"], 256);
    let anthropic = mock
        .last_request(Provider::Anthropic)
        .unwrap()
        .body
        .unwrap();
    assert_eq!(anthropic["system"], "Be brief.");
    assert_eq!(anthropic["model"], model(Provider::Anthropic));
}

#[tokio::test]
async fn reasoning_tokens_are_reported_for_openai_and_gemini() {
    let mock = MockProviders::start().await.unwrap();
    let mut request = openai_request(false);
    request["reasoning_effort"] = json!("low");
    for provider in [Provider::OpenAi, Provider::Gemini] {
        let (translated, body) = complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
        let usage = translated.usage.unwrap();
        assert_eq!(
            usage.reasoning,
            keyward_testkit::mock_providers::REASONING_TOKENS,
            "{provider:?}"
        );
        assert_eq!(
            usage.output,
            mock_tokens(REPLY) + usage.reasoning,
            "{provider:?}"
        );
        assert_eq!(
            body["usage"]["completion_tokens_details"]["reasoning_tokens"], usage.reasoning,
            "{provider:?}"
        );
    }
}

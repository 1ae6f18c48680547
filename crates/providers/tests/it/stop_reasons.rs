//! Stop sequences and output limits reach every provider in its own fields and come back as the
//! client's stop reason.

use keyward_providers::{ClientApi, FinishReason, Provider};
use keyward_testkit::mock_providers::MockProviders;
use serde_json::json;

use crate::support::{
    PROVIDERS, anthropic_request, complete, openai_request, reassemble_anthropic,
    reassemble_openai, stream,
};

#[tokio::test]
async fn stop_sequences_cut_the_answer_for_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    let mut request = openai_request(false);
    request["stop"] = json!(["mock"]);
    for provider in PROVIDERS {
        let (translated, body) = complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
        assert_eq!(
            body["choices"][0]["message"]["content"], "Hello from the Keyward ",
            "{provider:?}"
        );
        assert_eq!(body["choices"][0]["finish_reason"], "stop", "{provider:?}");
        let expected = match provider {
            // Providers that say a stop sequence (not the end of the answer) stopped them.
            Provider::Anthropic | Provider::Bedrock | Provider::Cohere => {
                FinishReason::StopSequence
            }
            _ => FinishReason::Stop,
        };
        assert_eq!(translated.finish_reason, Some(expected), "{provider:?}");
    }
    let mut request = anthropic_request(false);
    request["stop_sequences"] = json!(["mock"]);
    for provider in [Provider::Anthropic, Provider::Bedrock, Provider::Cohere] {
        let (_, body) = complete(&mock, ClientApi::AnthropicMessages, provider, &request).await;
        assert_eq!(body["stop_reason"], "stop_sequence", "{provider:?}");
    }
}

#[tokio::test]
async fn output_limits_end_with_length_or_max_tokens() {
    let mock = MockProviders::start().await.unwrap();
    let mut request = openai_request(false);
    request["max_tokens"] = json!(2);
    for provider in PROVIDERS {
        let (translated, body) = complete(&mock, ClientApi::OpenAiChat, provider, &request).await;
        assert_eq!(
            body["choices"][0]["finish_reason"], "length",
            "{provider:?}"
        );
        assert_eq!(
            body["choices"][0]["message"]["content"], "Hello fr",
            "{provider:?}"
        );
        assert_eq!(translated.usage.unwrap().output, 2, "{provider:?}");
    }
    let mut stream_request = openai_request(true);
    stream_request["max_completion_tokens"] = json!(2);
    for provider in PROVIDERS {
        let (bytes, summary) =
            stream(&mock, ClientApi::OpenAiChat, provider, &stream_request).await;
        assert_eq!(
            reassemble_openai(&bytes).finish.as_deref(),
            Some("length"),
            "{provider:?}"
        );
        assert_eq!(
            summary.finish_reason,
            Some(FinishReason::Length),
            "{provider:?}"
        );
    }
    let mut request = anthropic_request(true);
    request["max_tokens"] = json!(2);
    for provider in PROVIDERS {
        let (bytes, _) = stream(&mock, ClientApi::AnthropicMessages, provider, &request).await;
        assert_eq!(
            reassemble_anthropic(&bytes).finish.as_deref(),
            Some("max_tokens"),
            "{provider:?}"
        );
    }
}

//! Streaming for every provider, in both client shapes, with usage captured at the end.

use bytes::Bytes;
use keyward_providers::{ClientApi, FinishReason, Provider, Usage};
use keyward_testkit::mock_providers::{MockProviders, REPLY, mock_tokens};
use serde_json::json;

use crate::support::{
    PROVIDERS, anthropic_request, expected_input, openai_request, reassemble_anthropic,
    reassemble_openai, send, stream, text,
};

fn expected_usage() -> Usage {
    Usage {
        input_uncached: expected_input(),
        output: mock_tokens(REPLY),
        ..Usage::default()
    }
}

#[tokio::test]
async fn openai_clients_stream_from_every_provider_with_usage() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        let (bytes, summary) = stream(
            &mock,
            ClientApi::OpenAiChat,
            provider,
            &openai_request(true),
        )
        .await;
        let r = reassemble_openai(&bytes);
        assert_eq!(r.text, REPLY, "{provider:?}: {}", text(&bytes));
        assert_eq!(r.finish.as_deref(), Some("stop"), "{provider:?}");
        assert!(r.done, "{provider:?} ends with [DONE]");
        let usage = r
            .usage
            .unwrap_or_else(|| panic!("{provider:?}: no usage chunk in {}", text(&bytes)));
        assert_eq!(usage["prompt_tokens"], expected_input(), "{provider:?}");
        assert_eq!(
            usage["completion_tokens"],
            mock_tokens(REPLY),
            "{provider:?}"
        );
        assert_eq!(summary.usage, Some(expected_usage()), "{provider:?}");
        assert_eq!(
            summary.finish_reason,
            Some(FinishReason::Stop),
            "{provider:?}"
        );
        assert!(summary.completed, "{provider:?}");
        assert_eq!(summary.error, None, "{provider:?}");
    }
    // Keyward asked the OpenAI-style upstreams for usage; Mistral rejects the option.
    let body = mock.last_request(Provider::OpenAi).unwrap().body.unwrap();
    assert_eq!(body["stream_options"], json!({"include_usage": true}));
    let body = mock.last_request(Provider::Mistral).unwrap().body.unwrap();
    assert!(body.get("stream_options").is_none());
    let gemini = mock.last_request(Provider::Gemini).unwrap();
    assert_eq!(
        gemini.path,
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent"
    );
    assert_eq!(gemini.query, "alt=sse");
    let bedrock = mock.last_request(Provider::Bedrock).unwrap();
    assert!(bedrock.path.ends_with("/converse-stream"));
}

#[tokio::test]
async fn anthropic_clients_stream_from_every_provider_with_usage() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        let (bytes, summary) = stream(
            &mock,
            ClientApi::AnthropicMessages,
            provider,
            &anthropic_request(true),
        )
        .await;
        let r = reassemble_anthropic(&bytes);
        assert_eq!(r.text, REPLY, "{provider:?}: {}", text(&bytes));
        assert_eq!(r.finish.as_deref(), Some("end_turn"), "{provider:?}");
        assert!(r.done, "{provider:?}");
        let usage = r.usage.unwrap();
        assert_eq!(
            usage["input_tokens"],
            expected_input(),
            "{provider:?}: {usage}"
        );
        assert_eq!(usage["output_tokens"], mock_tokens(REPLY), "{provider:?}");
        assert_eq!(summary.usage, Some(expected_usage()), "{provider:?}");
        assert!(summary.completed, "{provider:?}");
    }
}

#[tokio::test]
async fn same_shape_streams_pass_through_byte_for_byte() {
    let mock = MockProviders::start().await.unwrap();
    // Anthropic → Anthropic.
    let request = anthropic_request(true);
    let (through, summary) = stream(
        &mock,
        ClientApi::AnthropicMessages,
        Provider::Anthropic,
        &request,
    )
    .await;
    let (_, direct) = send(
        &mock,
        ClientApi::AnthropicMessages,
        Provider::Anthropic,
        &request,
    )
    .await;
    assert_eq!(Bytes::from(through), direct.bytes().await.unwrap());
    assert_eq!(summary.usage, Some(expected_usage()));
    // OpenAI → OpenAI with the client asking for usage.
    let request = openai_request(true);
    let (through, _) = stream(&mock, ClientApi::OpenAiChat, Provider::OpenAi, &request).await;
    let (_, direct) = send(&mock, ClientApi::OpenAiChat, Provider::OpenAi, &request).await;
    assert_eq!(Bytes::from(through), direct.bytes().await.unwrap());
}

#[tokio::test]
async fn usage_is_captured_but_not_forwarded_when_the_client_did_not_ask() {
    let mock = MockProviders::start().await.unwrap();
    let mut request = openai_request(true);
    request.as_object_mut().unwrap().remove("stream_options");
    for provider in [
        Provider::OpenAi,
        Provider::Azure,
        Provider::OpenAiCompatible,
        Provider::Anthropic,
        Provider::Gemini,
    ] {
        let (bytes, summary) = stream(&mock, ClientApi::OpenAiChat, provider, &request).await;
        let r = reassemble_openai(&bytes);
        assert_eq!(r.text, REPLY, "{provider:?}");
        assert!(r.usage.is_none(), "{provider:?}: {}", text(&bytes));
        assert!(!text(&bytes).contains("\"choices\":[]}"), "{provider:?}");
        assert_eq!(summary.usage, Some(expected_usage()), "{provider:?}");
    }
    // Keyward still asked the upstream for usage.
    let body = mock.last_request(Provider::OpenAi).unwrap().body.unwrap();
    assert_eq!(body["stream_options"]["include_usage"], true);
}

#[tokio::test]
async fn slow_streams_still_arrive_whole() {
    let mock = MockProviders::start().await.unwrap();
    mock.set_stream_delay(Some(std::time::Duration::from_millis(5)));
    let started = std::time::Instant::now();
    let (bytes, summary) = stream(
        &mock,
        ClientApi::OpenAiChat,
        Provider::Bedrock,
        &openai_request(true),
    )
    .await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(30));
    assert_eq!(reassemble_openai(&bytes).text, REPLY);
    assert!(summary.completed);
}

#[tokio::test]
async fn upstream_bytes_split_anywhere_give_the_same_client_stream() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        for (api, request) in [
            (ClientApi::OpenAiChat, openai_request(true)),
            (ClientApi::AnthropicMessages, anthropic_request(true)),
        ] {
            let (exchange, response) = send(&mock, api, provider, &request).await;
            let upstream = response.bytes().await.unwrap();
            let run = |size: usize| {
                let mut observer = exchange.stream();
                let mut out = Vec::new();
                for piece in upstream.chunks(size) {
                    out.extend_from_slice(&observer.feed(Bytes::copy_from_slice(piece)));
                }
                out.extend_from_slice(&observer.finish());
                (out, observer.summary().clone())
            };
            let (whole, whole_summary) = run(upstream.len());
            for size in [1, 7, 64] {
                let (split, summary) = run(size);
                assert_eq!(
                    summary, whole_summary,
                    "{provider:?} {api:?} split every {size}"
                );
                let (a, b) = match api {
                    ClientApi::AnthropicMessages => {
                        (reassemble_anthropic(&split), reassemble_anthropic(&whole))
                    }
                    _ => (reassemble_openai(&split), reassemble_openai(&whole)),
                };
                assert_eq!(
                    (a.text, a.finish, a.usage, a.done),
                    (b.text, b.finish, b.usage, b.done),
                    "{provider:?} {api:?}"
                );
            }
            assert!(whole_summary.completed, "{provider:?} {api:?}");
        }
    }
}

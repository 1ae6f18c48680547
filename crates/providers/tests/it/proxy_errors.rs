//! Upstream errors reach clients in their own API's shape, scrubbed; per-key failures drive
//! failover; mid-stream errors and cut streams are reported, never passed off as complete.

use std::time::Duration;

use bytes::Bytes;
use keyward_providers::{ApiShape, ClientApi, ErrorKind, Provider, ProviderSecret};
use keyward_testkit::mock_providers::{
    Failure, KeyKind, MockProviders, REPLY, bedrock_frame, fixture_key, fixture_secret,
};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::support::{
    PROVIDERS, anthropic_request, complete, fail, openai_request, reassemble_anthropic,
    reassemble_openai, send, send_with,
};

fn secret_texts(secret: &ProviderSecret) -> Vec<String> {
    [
        secret
            .api_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        secret
            .aws_secret_access_key
            .as_ref()
            .map(|s| s.expose_secret().to_owned()),
        secret.aws_access_key_id.clone(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

#[track_caller]
fn assert_no_piece_of(text: &str, secret: &ProviderSecret) {
    for value in secret_texts(secret) {
        let chars: Vec<char> = value.chars().collect();
        for window in chars.windows(8) {
            let piece: String = window.iter().collect();
            assert!(
                !text.contains(&piece),
                "`{text}` contains `{piece}` of a secret"
            );
        }
    }
}

#[tokio::test]
async fn rate_limits_and_server_errors_in_both_shapes_for_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        for (kind, status, error_kind) in [
            (KeyKind::RateLimited, 429, ErrorKind::RateLimit),
            (KeyKind::ServerError, 502, ErrorKind::Api),
        ] {
            let secret = fixture_secret(provider, kind);
            let err = fail(
                &mock,
                ClientApi::OpenAiChat,
                provider,
                &secret,
                &openai_request(false),
            )
            .await;
            assert_eq!(
                (err.status, err.kind),
                (status, error_kind),
                "{provider:?} {kind:?}"
            );
            assert!(err.retryable, "{provider:?}");
            let body: Value = serde_json::from_slice(&err.body).unwrap();
            assert_eq!(
                body["error"]["type"],
                error_kind.openai_type(),
                "{provider:?}"
            );
            assert!(!body["error"]["message"].as_str().unwrap().is_empty());
            if kind == KeyKind::RateLimited {
                assert_eq!(
                    err.retry_after,
                    Some(Duration::from_secs(1)),
                    "{provider:?}"
                );
            }
            let err = fail(
                &mock,
                ClientApi::AnthropicMessages,
                provider,
                &secret,
                &anthropic_request(false),
            )
            .await;
            let body: Value = serde_json::from_slice(&err.body).unwrap();
            assert_eq!(body["type"], "error", "{provider:?}");
            assert_eq!(
                body["error"]["type"],
                error_kind.anthropic_type(),
                "{provider:?}"
            );
        }
    }
}

#[tokio::test]
async fn the_canary_key_never_appears_in_translated_errors() {
    let mock = MockProviders::start().await.unwrap();
    for provider in PROVIDERS {
        // Unknown keys: OpenAI echoes a masked form of the key it rejected.
        let secret = fixture_secret(provider, KeyKind::Unknown);
        for (api, request, shape) in [
            (
                ClientApi::OpenAiChat,
                openai_request(false),
                ApiShape::OpenAi,
            ),
            (
                ClientApi::AnthropicMessages,
                anthropic_request(false),
                ApiShape::Anthropic,
            ),
        ] {
            let err = fail(&mock, api, provider, &secret, &request).await;
            let text = String::from_utf8(err.body.to_vec()).unwrap();
            assert_no_piece_of(&text, &secret);
            assert_no_piece_of(&err.message, &secret);
            // The client's credentials were fine; Keyward's provider key was not.
            assert_eq!(err.status, 502, "{provider:?} {shape:?}: {text}");
            assert!(err.retryable);
            assert!(
                text.contains("rejected the provider key"),
                "{provider:?}: {text}"
            );
        }
    }
}

#[tokio::test]
async fn an_upstream_body_echoing_the_key_is_scrubbed() {
    let secret = ProviderSecret::from_api_key("sk-proj-CANARYcanary0123456789abcdefghijklmnop");
    let key = secret.api_key.as_ref().unwrap().expose_secret().to_owned();
    let body = json!({"error": {"message": format!("key {key} is over quota; Authorization: Bearer {key}"), "code": "insufficient_quota"}});
    let err = keyward_providers::translate_error(
        ApiShape::OpenAi,
        Provider::OpenAi,
        429,
        &Default::default(),
        body.to_string().as_bytes(),
        &secret,
    );
    let text = String::from_utf8(err.body.to_vec()).unwrap();
    assert_no_piece_of(&text, &secret);
    assert!(text.contains("over quota"), "{text}");
    assert!(text.contains("insufficient_quota"), "{text}");
}

#[tokio::test]
async fn failover_from_a_failing_primary_key_to_the_secondary() {
    let mock = MockProviders::start().await.unwrap();
    let provider = Provider::Anthropic;
    let primary = fixture_secret(provider, KeyKind::Valid);
    let primary_key = fixture_key(provider, KeyKind::Valid);
    let secondary_fast = "sk-ant-api03-secondarykey00000000000000000000000000000000000000000000000000000000000000000000000000000";
    mock.register_key(provider, secondary_fast);
    let secondary = ProviderSecret::from_api_key(secondary_fast);

    for failure in [Failure::RateLimited, Failure::ServerError] {
        mock.clear_requests();
        mock.set_failure(provider, &primary_key, Some(failure));
        let request = openai_request(false);
        let err = fail(&mock, ClientApi::OpenAiChat, provider, &primary, &request).await;
        assert!(err.retryable, "{failure:?}");
        let (exchange, response) =
            send_with(&mock, ClientApi::OpenAiChat, provider, &secondary, &request).await;
        assert_eq!(response.status, 200, "{failure:?}");
        let headers = response.headers.clone();
        let translated = exchange
            .response(&headers, &response.bytes().await.unwrap())
            .unwrap();
        let body: Value = serde_json::from_slice(&translated.body).unwrap();
        assert_eq!(body["choices"][0]["message"]["content"], REPLY);
        assert_eq!(mock.request_count_for_key(provider, &primary_key), 1);
        assert_eq!(mock.request_count_for_key(provider, secondary_fast), 1);
    }
    // The primary recovers (the circuit can close again).
    mock.set_failure(provider, &primary_key, None);
    complete(
        &mock,
        ClientApi::OpenAiChat,
        provider,
        &openai_request(false),
    )
    .await;
}

#[tokio::test]
async fn a_per_key_delay_slows_only_that_key() {
    let mock = MockProviders::start().await.unwrap();
    let key = fixture_key(Provider::Mistral, KeyKind::Valid);
    mock.set_failure(
        Provider::Mistral,
        &key,
        Some(Failure::Delay(Duration::from_millis(300))),
    );
    let started = std::time::Instant::now();
    complete(
        &mock,
        ClientApi::OpenAiChat,
        Provider::Mistral,
        &openai_request(false),
    )
    .await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    let started = std::time::Instant::now();
    complete(
        &mock,
        ClientApi::OpenAiChat,
        Provider::Cohere,
        &openai_request(false),
    )
    .await;
    assert!(started.elapsed() < Duration::from_millis(300));
}

#[tokio::test]
async fn mid_stream_errors_are_translated_and_scrubbed() {
    let mock = MockProviders::start().await.unwrap();
    let (exchange, _) = send(
        &mock,
        ClientApi::OpenAiChat,
        Provider::Anthropic,
        &openai_request(true),
    )
    .await;
    let mut observer = exchange.stream();
    let leak = "sk-ant-api03-LEAKEDleaked0123456789abcdefghij";
    let upstream = format!(
        "event: message_start\ndata: {}\n\nevent: error\ndata: {}\n\n",
        json!({"type": "message_start", "message": {"id": "msg_1", "model": "claude", "usage": {"input_tokens": 3, "output_tokens": 1}}}),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": format!("Overloaded ({leak})")}}),
    );
    let mut out = observer.feed(Bytes::from(upstream)).to_vec();
    out.extend_from_slice(&observer.finish());
    let r = reassemble_openai(&out);
    let error = r.error.unwrap();
    assert_eq!(error["type"], "api_error");
    assert!(error["message"].as_str().unwrap().starts_with("Overloaded"));
    assert!(!String::from_utf8_lossy(&out).contains("LEAKED"));
    assert!(!r.done, "no [DONE] after an error");
    assert_eq!(
        observer.summary().error.as_ref().unwrap().0,
        ErrorKind::Overloaded
    );

    // Bedrock exception frames, to an Anthropic client.
    let (exchange, _) = send(
        &mock,
        ClientApi::AnthropicMessages,
        Provider::Bedrock,
        &anthropic_request(true),
    )
    .await;
    let mut observer = exchange.stream();
    let mut upstream = bedrock_frame("event", "messageStart", &json!({"role": "assistant"}));
    upstream.extend(bedrock_frame(
        "exception",
        "throttlingException",
        &json!({"message": "Too many tokens, please wait."}),
    ));
    let mut out = observer.feed(Bytes::from(upstream)).to_vec();
    out.extend_from_slice(&observer.finish());
    let r = reassemble_anthropic(&out);
    assert_eq!(r.error.unwrap()["type"], "rate_limit_error");
    assert!(!r.done);
}

#[tokio::test]
async fn a_cut_stream_ends_in_an_error_not_a_normal_ending() {
    let mock = MockProviders::start().await.unwrap();
    let (exchange, _) = send(
        &mock,
        ClientApi::OpenAiChat,
        Provider::Cohere,
        &openai_request(true),
    )
    .await;
    let mut observer = exchange.stream();
    let partial = "event: message-start\ndata: {\"type\":\"message-start\",\"id\":\"x\"}\n\nevent: content-delta\ndata: {\"type\":\"content-delta\",\"index\":0,\"delta\":{\"message\":{\"content\":{\"text\":\"Hel\"}}}}\n\n";
    let mut out = observer.feed(Bytes::from(partial)).to_vec();
    out.extend_from_slice(&observer.finish());
    let r = reassemble_openai(&out);
    assert_eq!(r.text, "Hel");
    assert!(r.error.is_some());
    assert!(!r.done);
    assert!(!observer.summary().completed);

    // A pass-through stream cut before [DONE] is reported as incomplete too.
    let (exchange, _) = send(
        &mock,
        ClientApi::OpenAiChat,
        Provider::OpenAi,
        &openai_request(true),
    )
    .await;
    let mut observer = exchange.stream();
    let _ = observer.feed(Bytes::from_static(
        b"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}\n\n",
    ));
    let _ = observer.finish();
    assert!(!observer.summary().completed);
}

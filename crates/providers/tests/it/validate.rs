//! Live validation against the local mock providers (127.0.0.1 only).

use std::time::Duration;

use keyward_providers::{
    Outcome, Provider, ProviderSecret, ValidateOptions, ValidationResult, validate, validate_with,
};
use keyward_testkit::mock_providers::{
    KeyKind, MockProviders, fixture_aws_secret, fixture_key, fixture_secret,
};

use crate::client;

async fn check(mock: &MockProviders, provider: Provider, kind: KeyKind) -> ValidationResult {
    let secret = fixture_secret(provider, kind);
    validate(&client(), provider, &secret, Some(&mock.base_url(provider))).await
}

#[tokio::test]
async fn a_registered_key_is_valid_for_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    for provider in Provider::ALL {
        let result = check(&mock, provider, KeyKind::Valid).await;
        assert_eq!(
            result.outcome,
            Outcome::Valid,
            "{provider:?}: {}",
            result.message
        );
        assert_eq!(result.http_status, Some(200), "{provider:?}");
        assert!(
            result.message.contains("accepted the key"),
            "{}",
            result.message
        );
        let path = MockProviders::validation_path(provider);
        assert_eq!(
            mock.request_count_at(provider, path),
            1,
            "{provider:?} at {path}"
        );
        assert_eq!(mock.last_auth_matched(provider), Some(true), "{provider:?}");
    }
    assert_eq!(mock.requests().len(), Provider::ALL.len());
    mock.stop().await;
}

#[tokio::test]
async fn an_unknown_key_is_invalid_for_every_provider() {
    let mock = MockProviders::start().await.unwrap();
    for provider in Provider::ALL {
        let result = check(&mock, provider, KeyKind::Unknown).await;
        assert_eq!(
            result.outcome,
            Outcome::Invalid,
            "{provider:?}: {}",
            result.message
        );
        let expected = match provider {
            Provider::Gemini => 400, // Gemini's real answer: INVALID_ARGUMENT / API_KEY_INVALID
            Provider::Bedrock => 403,
            _ => 401,
        };
        assert_eq!(result.http_status, Some(expected), "{provider:?}");
        assert!(
            result.message.contains("rejected the key"),
            "{}",
            result.message
        );
        assert_eq!(
            mock.last_auth_matched(provider),
            Some(false),
            "{provider:?}"
        );
    }
}

#[tokio::test]
async fn upstream_error_text_is_quoted_after_scrubbing() {
    let mock = MockProviders::start().await.unwrap();
    let result = check(&mock, Provider::Anthropic, KeyKind::Unknown).await;
    assert_eq!(
        result.message,
        "Anthropic rejected the key (HTTP 401): invalid x-api-key"
    );
    // OpenAI echoes a masked copy of the key; only a placeholder may remain.
    let result = check(&mock, Provider::OpenAi, KeyKind::Unknown).await;
    assert!(
        result
            .message
            .contains("Incorrect API key provided: [REDACTED]"),
        "{}",
        result.message
    );
    // Perplexity answers with an HTML page, which is not quoted.
    let result = check(&mock, Provider::Perplexity, KeyKind::Unknown).await;
    assert_eq!(result.message, "Perplexity rejected the key (HTTP 401)");
}

#[tokio::test]
async fn a_throttled_key_is_rate_limited_with_retry_after() {
    let mock = MockProviders::start().await.unwrap();
    for provider in Provider::ALL {
        let result = check(&mock, provider, KeyKind::RateLimited).await;
        assert_eq!(
            result.outcome,
            Outcome::RateLimited,
            "{provider:?}: {}",
            result.message
        );
        assert_eq!(result.http_status, Some(429), "{provider:?}");
        assert_eq!(
            result.retry_after,
            Some(Duration::from_secs(1)),
            "{provider:?}"
        );
    }
}

#[tokio::test]
async fn a_server_error_is_provider_unavailable() {
    let mock = MockProviders::start().await.unwrap();
    for provider in Provider::ALL {
        let result = check(&mock, provider, KeyKind::ServerError).await;
        assert_eq!(
            result.outcome,
            Outcome::ProviderUnavailable,
            "{provider:?}: {}",
            result.message
        );
        assert_eq!(result.http_status, Some(500), "{provider:?}");
        assert!(
            result.message.contains("try again later"),
            "{}",
            result.message
        );
    }
}

#[tokio::test]
async fn a_wrong_base_url_path_is_unavailable_not_invalid() {
    let mock = MockProviders::start().await.unwrap();
    // Missing the `/v1` suffix: the mock answers 404 like the real API would.
    let base = format!("{}/openai", mock.root_url());
    let secret = fixture_secret(Provider::OpenAi, KeyKind::Valid);
    let result = validate(&client(), Provider::OpenAi, &secret, Some(&base)).await;
    assert_eq!(
        result.outcome,
        Outcome::ProviderUnavailable,
        "{}",
        result.message
    );
    assert_eq!(result.http_status, Some(404));
}

#[tokio::test]
async fn a_closed_port_is_a_network_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    for provider in Provider::ALL {
        let secret = fixture_secret(provider, KeyKind::Valid);
        let base = format!("http://127.0.0.1:{port}/{}", provider.as_str());
        let result = validate(&client(), provider, &secret, Some(&base)).await;
        assert_eq!(
            result.outcome,
            Outcome::NetworkError,
            "{provider:?}: {}",
            result.message
        );
        assert_eq!(result.http_status, None);
        assert!(
            result.message.contains("could not connect"),
            "{}",
            result.message
        );
        assert!(
            result.message.contains(&format!("127.0.0.1:{port}")),
            "{}",
            result.message
        );
    }
}

#[tokio::test]
async fn a_slow_provider_times_out_as_a_network_error() {
    let mock = MockProviders::start().await.unwrap();
    let secret = fixture_secret(Provider::Mistral, KeyKind::Slow);
    let base = mock.base_url(Provider::Mistral);
    let options = ValidateOptions {
        base_url: Some(&base),
        timeout: Duration::from_millis(300),
    };
    let started = std::time::Instant::now();
    let result = validate_with(&client(), Provider::Mistral, &secret, options).await;
    assert_eq!(result.outcome, Outcome::NetworkError, "{}", result.message);
    assert!(
        result.message.contains("timed out after 300 ms"),
        "{}",
        result.message
    );
    assert!(started.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn a_malformed_key_is_invalid_without_any_request() {
    let mock = MockProviders::start().await.unwrap();
    let secret = ProviderSecret::from_api_key("sk-too-short");
    let result = validate(
        &client(),
        Provider::OpenAi,
        &secret,
        Some(&mock.base_url(Provider::OpenAi)),
    )
    .await;
    assert_eq!(result.outcome, Outcome::Invalid);
    assert_eq!(result.http_status, None);
    assert!(
        result.message.starts_with("not sent to OpenAI: "),
        "{}",
        result.message
    );
    assert!(mock.requests().is_empty());
}

#[tokio::test]
async fn openai_compatible_needs_a_base_url() {
    let secret = ProviderSecret::from_api_key("local");
    let result = validate(&client(), Provider::OpenAiCompatible, &secret, None).await;
    assert_eq!(result.outcome, Outcome::Invalid);
    assert!(
        result.message.contains("needs a base URL"),
        "{}",
        result.message
    );
}

#[tokio::test]
async fn bedrock_signatures_are_really_verified() {
    let mock = MockProviders::start().await.unwrap();
    let base = mock.base_url(Provider::Bedrock);
    // A known access key id signed with the wrong secret: Bedrock's InvalidSignatureException.
    let id = "AKIAWRONGSECRET00000";
    mock.register_aws_key(id, &fixture_aws_secret(KeyKind::Slow));
    let secret = ProviderSecret::aws(id, fixture_aws_secret(KeyKind::Valid), "eu-west-1");
    let result = validate(&client(), Provider::Bedrock, &secret, Some(&base)).await;
    assert_eq!(result.outcome, Outcome::Invalid, "{}", result.message);
    assert_eq!(result.http_status, Some(403));
    assert!(result.message.contains("signature"), "{}", result.message);
    assert_eq!(mock.last_auth_matched(Provider::Bedrock), Some(false));

    // Temporary credentials: the session token is signed and sent.
    let id = "ASIATEMPORARY0000000";
    mock.register_aws_key(id, &fixture_aws_secret(KeyKind::Valid));
    let secret = ProviderSecret::aws(id, fixture_aws_secret(KeyKind::Valid), "us-west-2")
        .with_aws_session_token("FwoGZXIvYXdzEBYaDMockSessionToken");
    let result = validate(&client(), Provider::Bedrock, &secret, Some(&base)).await;
    assert_eq!(result.outcome, Outcome::Valid, "{}", result.message);
    assert_eq!(mock.last_auth_matched(Provider::Bedrock), Some(true));
}

#[tokio::test]
async fn keys_registered_later_become_valid() {
    let mock = MockProviders::start().await.unwrap();
    let unknown = fixture_key(Provider::Cohere, KeyKind::Unknown);
    assert_eq!(
        check(&mock, Provider::Cohere, KeyKind::Unknown)
            .await
            .outcome,
        Outcome::Invalid
    );
    mock.register_key(Provider::Cohere, &unknown);
    assert_eq!(
        check(&mock, Provider::Cohere, KeyKind::Unknown)
            .await
            .outcome,
        Outcome::Valid
    );
}

#[tokio::test]
async fn keys_never_follow_a_redirect() {
    let mock = MockProviders::start().await.unwrap();
    let secret = fixture_secret(Provider::OpenAi, KeyKind::Valid);
    let base = mock.redirecting_base_url();
    let client = keyward_providers::http_client().unwrap();
    let result = validate(&client, Provider::OpenAi, &secret, Some(&base)).await;
    assert_eq!(
        result.outcome,
        Outcome::ProviderUnavailable,
        "{}",
        result.message
    );
    assert_eq!(result.http_status, Some(307));
    assert!(result.message.contains("redirected"), "{}", result.message);
    assert_eq!(
        mock.request_count(Provider::OpenAi),
        0,
        "the key reached the redirect target"
    );

    // What the redirect-free client prevents: a default client carries the key along.
    let followed = validate(
        &client_following_redirects(),
        Provider::OpenAi,
        &secret,
        Some(&base),
    )
    .await;
    assert_eq!(followed.outcome, Outcome::Valid);
    assert_eq!(mock.request_count(Provider::OpenAi), 1);
}

fn client_following_redirects() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

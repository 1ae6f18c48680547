//! Offline key-format checks: what passes, what fails, and what the user is told.

use keyward_providers::{FormatError, Provider, ProviderSecret, check_format};

fn key(provider: Provider, key: &str) -> Result<(), FormatError> {
    check_format(provider, &ProviderSecret::from_api_key(key))
}

fn alnum(len: usize) -> String {
    "aB3dE5gH7jK9mN1pQ2rS4tU6vW8xY0z"
        .chars()
        .cycle()
        .take(len)
        .collect()
}

/// Asserts the error message mentions `expected` and contains no part of the key.
#[track_caller]
fn rejected(result: Result<(), FormatError>, expected: &str, secret: &str) {
    let message = result.expect_err("should be rejected").to_string();
    assert!(message.contains(expected), "`{message}` lacks `{expected}`");
    assert!(!message.contains(secret), "`{message}` leaks the key");
}

#[test]
fn well_formed_keys_of_every_provider_pass() {
    let ok = |provider, k: String| assert_eq!(key(provider, &k), Ok(()), "{provider:?}");
    ok(Provider::OpenAi, format!("sk-{}", alnum(48)));
    ok(
        Provider::OpenAi,
        format!("sk-proj-{}_{}", alnum(80), alnum(40)),
    );
    ok(Provider::Anthropic, format!("sk-ant-api03-{}", alnum(95)));
    ok(Provider::Gemini, format!("AIza{}", alnum(35)));
    ok(Provider::Cohere, alnum(40));
    ok(Provider::Mistral, alnum(32));
    ok(Provider::Perplexity, format!("pplx-{}", alnum(48)));
    ok(Provider::OpenAiCompatible, "anything-goes".to_owned());
    assert_eq!(
        check_format(Provider::OpenAiCompatible, &ProviderSecret::default()),
        Ok(())
    );

    let azure_classic = ProviderSecret::azure(
        "0123456789abcdef0123456789ABCDEF",
        "https://acme.openai.azure.com/",
        "2024-10-21",
    );
    assert_eq!(check_format(Provider::Azure, &azure_classic), Ok(()));
    let azure_new = ProviderSecret::azure(
        alnum(84),
        "https://acme.openai.azure.com",
        "2025-04-01-preview",
    );
    assert_eq!(check_format(Provider::Azure, &azure_new), Ok(()));

    let aws = ProviderSecret::aws(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "us-east-1",
    );
    assert_eq!(check_format(Provider::Bedrock, &aws), Ok(()));
    let temporary = ProviderSecret::aws(
        "ASIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "us-gov-west-1",
    )
    .with_aws_session_token("FwoGZXIvYXdzEBYaDExampleSessionToken");
    assert_eq!(check_format(Provider::Bedrock, &temporary), Ok(()));
}

#[test]
fn openai_rejections_say_what_is_wrong() {
    let k = format!("pk-{}", alnum(48));
    rejected(
        key(Provider::OpenAi, &k),
        "an OpenAI key starts with `sk-`",
        &k,
    );
    let k = format!("sk-ant-api03-{}", alnum(95));
    rejected(key(Provider::OpenAi, &k), "looks like an Anthropic key", &k);
    let k = format!("sk-{}", alnum(20));
    rejected(
        key(Provider::OpenAi, &k),
        "at least 40 characters; this one has 23",
        &k,
    );
    let k = format!("kw_{}", alnum(43));
    rejected(key(Provider::OpenAi, &k), "Keyward virtual key", &k);
    let k = format!("sk-{}.{}", alnum(30), alnum(20));
    rejected(
        key(Provider::OpenAi, &k),
        "only letters, digits, `-` and `_`",
        &k,
    );
    rejected(
        check_format(Provider::OpenAi, &ProviderSecret::default()),
        "OpenAI needs an API key",
        "\u{0}",
    );
    rejected(
        key(Provider::OpenAi, ""),
        "OpenAI needs an API key",
        "\u{0}",
    );
}

#[test]
fn whitespace_and_stray_characters_get_a_specific_message() {
    let clean = format!("sk-{}", alnum(48));
    let with_newline = format!("{clean}\n");
    rejected(
        key(Provider::OpenAi, &with_newline),
        "contains a line break at the start or end",
        &clean,
    );
    let with_space = format!("sk-{} {}", alnum(20), alnum(28));
    rejected(
        key(Provider::OpenAi, &with_space),
        "a space in the middle",
        &with_space,
    );
    let with_tab = format!("\t{clean}");
    rejected(
        key(Provider::OpenAi, &with_tab),
        "a tab at the start or end",
        &clean,
    );
    let quoted = format!("\"{clean}\"");
    rejected(key(Provider::OpenAi, &quoted), "quotes", &clean);
    let region = ProviderSecret::aws(
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "us-east-1\r\n",
    );
    rejected(
        check_format(Provider::Bedrock, &region),
        "the AWS region contains a line break",
        "wJalrXUtnFEMI",
    );
}

#[test]
fn anthropic_gemini_perplexity_rejections() {
    let k = format!("sk-proj-{}", alnum(60));
    rejected(key(Provider::Anthropic, &k), "looks like an OpenAI key", &k);
    let k = format!("sk-ant-admin01-{}", alnum(90));
    rejected(key(Provider::Anthropic, &k), "Admin API key", &k);
    let k = format!("sk-ant-{}", alnum(10));
    rejected(key(Provider::Anthropic, &k), "at least 40", &k);

    let k = format!("AIza{}", alnum(34));
    rejected(key(Provider::Gemini, &k), "39 characters", &k);
    let k = format!("AIzb{}", alnum(35));
    rejected(
        key(Provider::Gemini, &k),
        "a Gemini API key starts with `AIza`",
        &k,
    );
    let k = format!("pplx-{}", alnum(48));
    rejected(key(Provider::Gemini, &k), "looks like a Perplexity key", &k);

    let k = format!("ppx-{}", alnum(48));
    rejected(
        key(Provider::Perplexity, &k),
        "a Perplexity key starts with `pplx-`",
        &k,
    );
    let k = format!("pplx-{}", alnum(12));
    rejected(key(Provider::Perplexity, &k), "at least 40", &k);
}

#[test]
fn cohere_mistral_rejections() {
    let k = alnum(39);
    rejected(
        key(Provider::Cohere, &k),
        "a Cohere key is 40 letters and digits; this one has 39",
        &k,
    );
    let k = format!("{}-{}", alnum(20), alnum(19));
    rejected(key(Provider::Cohere, &k), "other characters", &k);
    let k = alnum(33);
    rejected(
        key(Provider::Mistral, &k),
        "a Mistral key is 32 letters and digits; this one has 33",
        &k,
    );
    let k = format!("AIza{}", alnum(28));
    rejected(
        key(Provider::Mistral, &k),
        "looks like a Google API key",
        &k,
    );
}

#[test]
fn azure_rejections() {
    let azure = |k: &str, endpoint: Option<&str>, version: Option<&str>| ProviderSecret {
        azure_endpoint: endpoint.map(str::to_owned),
        azure_api_version: version.map(str::to_owned),
        ..ProviderSecret::from_api_key(k)
    };
    let good = "0123456789abcdef0123456789abcdef";
    let endpoint = Some("https://acme.openai.azure.com");
    let version = Some("2024-10-21");
    let k = "0123456789abcdef0123456789abcde";
    rejected(
        check_format(Provider::Azure, &azure(k, endpoint, version)),
        "32 hexadecimal characters (older keys) or 84 letters and digits; this one has 31",
        k,
    );
    rejected(
        check_format(Provider::Azure, &azure(good, None, version)),
        "Azure OpenAI needs its resource endpoint",
        good,
    );
    rejected(
        check_format(
            Provider::Azure,
            &azure(good, Some("http://acme.openai.azure.com"), version),
        ),
        "https URL",
        good,
    );
    rejected(
        check_format(Provider::Azure, &azure(good, endpoint, None)),
        "needs an API version",
        good,
    );
    rejected(
        check_format(Provider::Azure, &azure(good, endpoint, Some("v1"))),
        "a date such as `2024-10-21`",
        good,
    );
}

#[test]
fn bedrock_rejections() {
    let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    let aws = |id: &str, key: &str, region: &str| ProviderSecret::aws(id, key, region);
    rejected(
        check_format(
            Provider::Bedrock,
            &aws("AKIAIOSFODNN7EXAMPL", secret, "us-east-1"),
        ),
        "20 capital letters and digits starting with `AKIA`",
        secret,
    );
    rejected(
        check_format(
            Provider::Bedrock,
            &aws("AKIBIOSFODNN7EXAMPLE", secret, "us-east-1"),
        ),
        "starting with `AKIA`",
        secret,
    );
    let short = &secret[..39];
    rejected(
        check_format(
            Provider::Bedrock,
            &aws("AKIAIOSFODNN7EXAMPLE", short, "us-east-1"),
        ),
        "40 characters (letters, digits, `/` and `+`); this one has 39",
        short,
    );
    rejected(
        check_format(
            Provider::Bedrock,
            &aws("ASIAIOSFODNN7EXAMPLE", secret, "us-east-1"),
        ),
        "AWS session token",
        secret,
    );
    rejected(
        check_format(
            Provider::Bedrock,
            &aws("AKIAIOSFODNN7EXAMPLE", secret, "useast1"),
        ),
        "looks like `us-east-1`",
        secret,
    );
    rejected(
        check_format(
            Provider::Bedrock,
            &ProviderSecret::from_api_key("ABSKsomething"),
        ),
        "Amazon Bedrock needs an AWS access key id",
        "ABSKsomething",
    );
}

//! Fixture credentials: well-formed (they pass `check_format`) fake keys whose text tells the mock
//! how to behave.
//!
//! The mock decides from the credential (API key, or AWS access key id, case-insensitively):
//! contains `ratelimit` → 429, `servererror` → 500, `slowkey` → answers after
//! [`SLOW_RESPONSE_DELAY`]; otherwise a registered key → 200 and anything else → the provider's
//! real 401/403.

use std::time::Duration;

use keyward_providers::{Provider, ProviderSecret};

/// How long the mock waits before answering a `slowkey` credential.
pub const SLOW_RESPONSE_DELAY: Duration = Duration::from_secs(3);

/// The Azure endpoint fixture secrets carry (validation overrides it with the mock's URL).
pub const AZURE_ENDPOINT: &str = "https://keyward-mock.openai.azure.com";
/// The Azure API version fixture secrets carry.
pub const AZURE_API_VERSION: &str = "2024-10-21";
/// The AWS region fixture secrets carry.
pub const AWS_REGION: &str = "us-east-1";

/// Which behaviour a fixture key triggers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// Registered with the mock at start: 200.
    Valid,
    /// Well-formed but never registered: the provider's 401/403.
    Unknown,
    /// 429 with the provider's error shape and `retry-after`.
    RateLimited,
    /// 500 with the provider's error shape.
    ServerError,
    /// Registered, but answers after [`SLOW_RESPONSE_DELAY`] (for timeout tests).
    Slow,
}

impl KeyKind {
    /// Every kind.
    pub const ALL: [KeyKind; 5] = [
        KeyKind::Valid,
        KeyKind::Unknown,
        KeyKind::RateLimited,
        KeyKind::ServerError,
        KeyKind::Slow,
    ];

    fn tag(self) -> &'static str {
        match self {
            KeyKind::Valid => "validkey",
            KeyKind::Unknown => "unknownkey",
            KeyKind::RateLimited => "ratelimit",
            KeyKind::ServerError => "servererror",
            KeyKind::Slow => "slowkey",
        }
    }
}

/// What the mock should do for a credential, from its text alone.
pub(crate) enum Marker {
    RateLimited,
    ServerError,
    Slow,
    None,
}

pub(crate) fn marker(credential: &str) -> Marker {
    let lower = credential.to_ascii_lowercase();
    if lower.contains("ratelimit") {
        Marker::RateLimited
    } else if lower.contains("servererror") {
        Marker::ServerError
    } else if lower.contains("slowkey") {
        Marker::Slow
    } else {
        Marker::None
    }
}

/// `tag` followed by digits up to `len` characters.
fn pad(tag: &str, len: usize) -> String {
    let digits = "0123456789".chars().cycle();
    tag.chars().chain(digits).take(len).collect()
}

/// The fixture API key (for Bedrock: the AWS access key id) of `provider` and `kind`.
pub fn fixture_key(provider: Provider, kind: KeyKind) -> String {
    let tag = kind.tag();
    match provider {
        Provider::OpenAi => format!("sk-proj-{}", pad(tag, 56)),
        Provider::OpenAiCompatible => format!("sk-local-{}", pad(tag, 40)),
        Provider::Anthropic => format!("sk-ant-api03-{}", pad(tag, 95)),
        Provider::Gemini => format!("AIza{}", pad(tag, 35)),
        Provider::Bedrock => format!("AKIA{}", pad(&tag.to_ascii_uppercase(), 16)),
        // Exercise both Azure key generations: a classic 32-hex key for the valid fixture.
        Provider::Azure if kind == KeyKind::Valid => "0a1b2c3d4e5f60718293a4b5c6d7e8f9".to_owned(),
        Provider::Azure => pad(tag, 84),
        Provider::Cohere => pad(tag, 40),
        Provider::Mistral => pad(tag, 32),
        Provider::Perplexity => format!("pplx-{}", pad(tag, 48)),
    }
}

/// The fixture AWS secret access key paired with [`fixture_key`]`(Bedrock, kind)`.
pub fn fixture_aws_secret(kind: KeyKind) -> String {
    pad(&format!("{}/Secret+Key/", kind.tag()), 40)
}

/// A complete fixture secret for `provider` and `kind`.
pub fn fixture_secret(provider: Provider, kind: KeyKind) -> ProviderSecret {
    let key = fixture_key(provider, kind);
    match provider {
        Provider::Bedrock => ProviderSecret::aws(key, fixture_aws_secret(kind), AWS_REGION),
        Provider::Azure => ProviderSecret::azure(key, AZURE_ENDPOINT, AZURE_API_VERSION),
        _ => ProviderSecret::from_api_key(key),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fixture_is_well_formed() {
        for provider in Provider::ALL {
            for kind in KeyKind::ALL {
                let secret = fixture_secret(provider, kind);
                assert_eq!(
                    keyward_providers::check_format(provider, &secret),
                    Ok(()),
                    "{provider:?} {kind:?}"
                );
            }
        }
    }
}

//! How each provider receives its credential: API key headers, or AWS SigV4 for Bedrock.

pub(crate) mod sigv4;

use reqwest::header::{AUTHORIZATION, HeaderName, HeaderValue};
use secrecy::ExposeSecret;

use crate::provider::Provider;
use crate::secret::ProviderSecret;

/// Anthropic's API version header value.
/// Source: <https://docs.anthropic.com/en/api/versioning>
pub(crate) const ANTHROPIC_VERSION: &str = "2023-06-01";

/// The headers that carry the API key (marked sensitive), plus `anthropic-version` for
/// Anthropic. Bedrock is signed instead (see [`sigv4`]).
pub(crate) fn key_headers(
    provider: Provider,
    secret: &ProviderSecret,
) -> Result<Vec<(HeaderName, HeaderValue)>, String> {
    let Some(key) = secret.api_key.as_ref().map(ExposeSecret::expose_secret) else {
        // Only OpenAI-compatible servers get here without a key (the format check requires one
        // everywhere else): local servers such as Ollama need none.
        return Ok(Vec::new());
    };
    let sensitive = |value: String| {
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| format!("the {provider} key cannot be sent in an HTTP header"))?;
        value.set_sensitive(true);
        Ok::<_, String>(value)
    };
    Ok(match provider {
        // https://docs.anthropic.com/en/api/overview#authentication
        Provider::Anthropic => vec![
            (
                HeaderName::from_static("x-api-key"),
                sensitive(key.to_owned())?,
            ),
            (
                HeaderName::from_static("anthropic-version"),
                HeaderValue::from_static(ANTHROPIC_VERSION),
            ),
        ],
        // https://ai.google.dev/gemini-api/docs/api-key — the header keeps the key out of URLs
        // (and so out of proxy and access logs).
        Provider::Gemini => vec![(
            HeaderName::from_static("x-goog-api-key"),
            sensitive(key.to_owned())?,
        )],
        // https://learn.microsoft.com/en-us/azure/ai-services/openai/reference#authentication
        Provider::Azure => vec![(
            HeaderName::from_static("api-key"),
            sensitive(key.to_owned())?,
        )],
        _ => vec![(AUTHORIZATION, sensitive(format!("Bearer {key}"))?)],
    })
}

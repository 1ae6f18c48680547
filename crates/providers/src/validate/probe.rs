//! The cheapest authenticated request of each provider.

use std::time::SystemTime;

use reqwest::Url;
use reqwest::header::{HeaderName, HeaderValue};

use crate::auth::{key_headers, sigv4};
use crate::provider::Provider;
use crate::secret::ProviderSecret;

/// A ready-to-send GET request.
pub(super) struct Probe {
    pub(super) url: Url,
    pub(super) headers: Vec<(HeaderName, HeaderValue)>,
    /// E.g. `"GET /v1/models"`, for messages.
    pub(super) description: &'static str,
}

impl Probe {
    /// `host[:port]`, for messages.
    pub(super) fn host(&self) -> String {
        let host = self.url.host_str().unwrap_or("the provider");
        match self.url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    }
}

/// Builds the probe, or says (without any secret) why it cannot be built.
pub(super) fn build(
    provider: Provider,
    secret: &ProviderSecret,
    base_url: Option<&str>,
) -> Result<Probe, String> {
    let base = match base_url {
        Some(base) => base.trim_end_matches('/').to_owned(),
        None => provider.base_url_for(secret).ok_or_else(|| {
            format!(
                "{provider} needs a base URL (e.g. `http://localhost:8000/v1`) to validate against"
            )
        })?,
    };
    let (path, description, query): (&str, &'static str, &[(&str, &str)]) = match provider {
        // https://platform.openai.com/docs/api-reference/models/list
        Provider::OpenAi | Provider::OpenAiCompatible => ("/models", "GET /models", &[]),
        // https://docs.mistral.ai/api/#tag/models/operation/list_models_v1_models_get
        Provider::Mistral => ("/models", "GET /v1/models", &[]),
        // https://docs.anthropic.com/en/api/models-list
        Provider::Anthropic => ("/v1/models", "GET /v1/models", &[("limit", "1")]),
        // https://ai.google.dev/api/models#method:-models.list
        Provider::Gemini => ("/v1beta/models", "GET /v1beta/models", &[("pageSize", "1")]),
        // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_ListFoundationModels.html
        Provider::Bedrock => ("/foundation-models", "GET /foundation-models", &[]),
        // https://learn.microsoft.com/en-us/rest/api/azureopenai/models/list
        Provider::Azure => ("/openai/models", "GET /openai/models", &[]),
        // https://docs.cohere.com/reference/list-models
        Provider::Cohere => ("/v1/models", "GET /v1/models", &[("page_size", "1")]),
        // Perplexity has no list-models endpoint. Listing the caller's async chat completion
        // jobs is the only read-only authenticated call; it costs nothing, while a 1-token chat
        // completion is billed (tokens plus a per-request search fee).
        // https://docs.perplexity.ai/api-reference/async-chat-completions-get
        Provider::Perplexity => (
            "/async/chat/completions",
            "GET /async/chat/completions",
            &[],
        ),
    };
    let mut url = Url::parse(&format!("{base}{path}"))
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())
        .ok_or_else(|| format!("the {provider} base URL is not a valid http(s) URL"))?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    if provider == Provider::Azure {
        let version = secret.azure_api_version.as_deref().unwrap_or_default();
        url.query_pairs_mut().append_pair("api-version", version);
    }

    let headers = match provider {
        Provider::Bedrock => sigv4::sign_get(&url, secret, SystemTime::now())?,
        _ => key_headers(provider, secret)?,
    };
    Ok(Probe {
        url,
        headers,
        description,
    })
}

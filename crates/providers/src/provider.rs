//! The provider catalog: stable ids, display names and official endpoints.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::secret::ProviderSecret;

/// An LLM provider Keyward can hold keys for and proxy to.
///
/// The lowercase id ([`Provider::as_str`]) is stable: it is stored in the database, sent over gRPC
/// and typed by people in the CLI, so it never changes once released.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Provider {
    /// OpenAI (`openai`).
    #[serde(rename = "openai")]
    OpenAi,
    /// Anthropic (`anthropic`).
    #[serde(rename = "anthropic")]
    Anthropic,
    /// Google AI Gemini API (`gemini`).
    #[serde(rename = "gemini")]
    Gemini,
    /// Amazon Bedrock, authenticated with AWS SigV4 (`bedrock`).
    #[serde(rename = "bedrock")]
    Bedrock,
    /// Azure OpenAI (`azure`); the endpoint is per resource and lives in the secret.
    #[serde(rename = "azure")]
    Azure,
    /// Cohere (`cohere`).
    #[serde(rename = "cohere")]
    Cohere,
    /// Mistral AI (`mistral`).
    #[serde(rename = "mistral")]
    Mistral,
    /// Perplexity (`perplexity`).
    #[serde(rename = "perplexity")]
    Perplexity,
    /// Any server speaking the OpenAI API at a base URL the admin supplies (`openai_compatible`):
    /// vLLM, Ollama, LM Studio, Together, Groq, …
    #[serde(rename = "openai_compatible")]
    OpenAiCompatible,
}

/// The error returned when parsing an unknown provider id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown provider {shown}; valid ids are: {}", Provider::valid_ids())]
pub struct UnknownProvider {
    /// What the user typed, quoted, or a placeholder when it does not look like an id (so a
    /// key pasted into the wrong field is never echoed back).
    shown: String,
}

impl Provider {
    /// Every provider, in catalog order.
    pub const ALL: [Provider; 9] = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Gemini,
        Provider::Bedrock,
        Provider::Azure,
        Provider::Cohere,
        Provider::Mistral,
        Provider::Perplexity,
        Provider::OpenAiCompatible,
    ];

    /// The stable lowercase id, e.g. `"openai"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Gemini => "gemini",
            Provider::Bedrock => "bedrock",
            Provider::Azure => "azure",
            Provider::Cohere => "cohere",
            Provider::Mistral => "mistral",
            Provider::Perplexity => "perplexity",
            Provider::OpenAiCompatible => "openai_compatible",
        }
    }

    /// The human name shown in the dashboard and in messages, e.g. `"Azure OpenAI"`.
    pub const fn display_name(self) -> &'static str {
        match self {
            Provider::OpenAi => "OpenAI",
            Provider::Anthropic => "Anthropic",
            Provider::Gemini => "Google Gemini",
            Provider::Bedrock => "Amazon Bedrock",
            Provider::Azure => "Azure OpenAI",
            Provider::Cohere => "Cohere",
            Provider::Mistral => "Mistral AI",
            Provider::Perplexity => "Perplexity",
            Provider::OpenAiCompatible => "OpenAI-compatible",
        }
    }

    /// The official API base URL when it is the same for every customer.
    ///
    /// `None` for providers whose endpoint depends on the secret (Bedrock: the AWS region; Azure:
    /// the resource endpoint) or on configuration (OpenAI-compatible): use
    /// [`Provider::base_url_for`] for those. Request paths are appended to this URL, e.g.
    /// OpenAI's `{base}/models` and Anthropic's `{base}/v1/models`.
    pub const fn default_base_url(self) -> Option<&'static str> {
        match self {
            // https://platform.openai.com/docs/api-reference/introduction
            Provider::OpenAi => Some("https://api.openai.com/v1"),
            // https://docs.anthropic.com/en/api/overview
            Provider::Anthropic => Some("https://api.anthropic.com"),
            // https://ai.google.dev/api
            Provider::Gemini => Some("https://generativelanguage.googleapis.com"),
            // https://docs.cohere.com/reference/about
            Provider::Cohere => Some("https://api.cohere.com"),
            // https://docs.mistral.ai/api/
            Provider::Mistral => Some("https://api.mistral.ai/v1"),
            // https://docs.perplexity.ai/api-reference/chat-completions-post
            Provider::Perplexity => Some("https://api.perplexity.ai"),
            Provider::Bedrock | Provider::Azure | Provider::OpenAiCompatible => None,
        }
    }

    /// The base URL to use with this secret: the official endpoint, Bedrock's regional control
    /// plane, or the Azure resource endpoint (without a trailing slash). `None` when the secret
    /// lacks what is needed (no region / endpoint) and for OpenAI-compatible servers, whose URL is
    /// configuration, not part of the secret.
    pub fn base_url_for(self, secret: &ProviderSecret) -> Option<String> {
        match self {
            Provider::Bedrock => secret.aws_region.as_deref().map(bedrock_control_plane_url),
            Provider::Azure => secret
                .azure_endpoint
                .as_deref()
                .map(|endpoint| endpoint.trim_end_matches('/').to_owned()),
            other => other.default_base_url().map(str::to_owned),
        }
    }

    fn valid_ids() -> String {
        let ids: Vec<&str> = Provider::ALL.iter().map(|p| p.as_str()).collect();
        ids.join(", ")
    }
}

/// Bedrock's control-plane endpoint (model catalog, `ListFoundationModels`) for a region.
///
/// Source: <https://docs.aws.amazon.com/general/latest/gr/bedrock.html>
pub fn bedrock_control_plane_url(region: &str) -> String {
    format!("https://bedrock.{region}.amazonaws.com")
}

/// Bedrock's inference endpoint (`InvokeModel`, `Converse`) for a region.
///
/// Source: <https://docs.aws.amazon.com/general/latest/gr/bedrock.html>
pub fn bedrock_runtime_url(region: &str) -> String {
    format!("https://bedrock-runtime.{region}.amazonaws.com")
}

impl fmt::Display for Provider {
    /// Writes the display name; use [`Provider::as_str`] for the id.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.display_name())
    }
}

impl FromStr for Provider {
    type Err = UnknownProvider;

    /// Parses an id, ignoring case and surrounding spaces and accepting `-` for `_`
    /// (`OpenAI-Compatible` parses as `openai_compatible`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let normalized = s.trim().to_ascii_lowercase().replace('-', "_");
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == normalized)
            .ok_or_else(|| UnknownProvider {
                shown: shown_input(s.trim()),
            })
    }
}

/// Quotes short, id-like input; anything else might be a secret typed into the wrong field.
fn shown_input(s: &str) -> String {
    let id_like = !s.is_empty()
        && s.len() <= 24
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == ' ');
    if id_like {
        format!("`{s}`")
    } else {
        "id".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_from_str_and_serde() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>(), Ok(p));
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.as_str()));
            assert_eq!(serde_json::from_str::<Provider>(&json).unwrap(), p);
        }
    }

    #[test]
    fn parsing_is_forgiving_about_case_and_dashes() {
        assert_eq!(" OpenAI ".parse(), Ok(Provider::OpenAi));
        assert_eq!("openai-compatible".parse(), Ok(Provider::OpenAiCompatible));
    }

    #[test]
    fn unknown_id_lists_valid_ids_and_never_echoes_key_like_input() {
        let err = "chatgpt".parse::<Provider>().unwrap_err().to_string();
        assert!(err.contains("`chatgpt`"), "{err}");
        assert!(
            err.contains("openai, anthropic, gemini, bedrock, azure"),
            "{err}"
        );
        let key = "sk-proj-FAKEfakeFAKEfakeFAKEfakeFAKE0123456789";
        let err = key.parse::<Provider>().unwrap_err().to_string();
        assert!(!err.contains(key), "{err}");
    }

    #[test]
    fn regional_and_per_resource_urls() {
        let secret = ProviderSecret {
            aws_region: Some("eu-west-3".into()),
            azure_endpoint: Some("https://acme.openai.azure.com/".into()),
            ..ProviderSecret::default()
        };
        assert_eq!(
            Provider::Bedrock.base_url_for(&secret).as_deref(),
            Some("https://bedrock.eu-west-3.amazonaws.com")
        );
        assert_eq!(
            bedrock_runtime_url("eu-west-3"),
            "https://bedrock-runtime.eu-west-3.amazonaws.com"
        );
        assert_eq!(
            Provider::Azure.base_url_for(&secret).as_deref(),
            Some("https://acme.openai.azure.com")
        );
        assert_eq!(Provider::OpenAiCompatible.base_url_for(&secret), None);
    }
}

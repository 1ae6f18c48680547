//! The credentials of one provider key, as the vault hands them out.

use std::fmt;

use secrecy::SecretString;

/// The credentials of one provider key.
///
/// Which fields a provider needs: `api_key` for every provider except Bedrock (optional for
/// OpenAI-compatible servers); Bedrock needs `aws_access_key_id`, `aws_secret_access_key` and
/// `aws_region` (plus `aws_session_token` for temporary `ASIA…` credentials); Azure needs
/// `api_key`, `azure_endpoint` and `azure_api_version`. [`crate::check_format`] says what is
/// missing or malformed.
///
/// `Debug` is written by hand and only says which fields are set; secret values never leave
/// their [`SecretString`].
#[derive(Clone, Default)]
pub struct ProviderSecret {
    /// The API key (every provider but Bedrock).
    pub api_key: Option<SecretString>,
    /// AWS access key id (`AKIA…` long-term, `ASIA…` temporary). Bedrock only.
    pub aws_access_key_id: Option<String>,
    /// AWS secret access key. Bedrock only.
    pub aws_secret_access_key: Option<SecretString>,
    /// AWS session token, required with temporary (`ASIA…`) credentials. Bedrock only.
    pub aws_session_token: Option<SecretString>,
    /// AWS region, e.g. `us-east-1`. Bedrock only.
    pub aws_region: Option<String>,
    /// Azure OpenAI resource endpoint, e.g. `https://acme.openai.azure.com`. Azure only.
    pub azure_endpoint: Option<String>,
    /// Azure OpenAI data-plane API version, e.g. `2024-10-21`. Azure only.
    pub azure_api_version: Option<String>,
}

impl ProviderSecret {
    /// A secret that is just an API key (OpenAI, Anthropic, Gemini, Cohere, Mistral, Perplexity,
    /// OpenAI-compatible).
    pub fn from_api_key(api_key: impl Into<String>) -> Self {
        Self {
            api_key: Some(SecretString::from(api_key.into())),
            ..Self::default()
        }
    }

    /// Long-term AWS credentials for Bedrock.
    pub fn aws(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        region: impl Into<String>,
    ) -> Self {
        Self {
            aws_access_key_id: Some(access_key_id.into()),
            aws_secret_access_key: Some(SecretString::from(secret_access_key.into())),
            aws_region: Some(region.into()),
            ..Self::default()
        }
    }

    /// Adds the session token that temporary (`ASIA…`) AWS credentials need.
    #[must_use]
    pub fn with_aws_session_token(mut self, token: impl Into<String>) -> Self {
        self.aws_session_token = Some(SecretString::from(token.into()));
        self
    }

    /// An Azure OpenAI key with its resource endpoint and API version.
    pub fn azure(
        api_key: impl Into<String>,
        endpoint: impl Into<String>,
        api_version: impl Into<String>,
    ) -> Self {
        Self {
            api_key: Some(SecretString::from(api_key.into())),
            azure_endpoint: Some(endpoint.into()),
            azure_api_version: Some(api_version.into()),
            ..Self::default()
        }
    }
}

impl fmt::Debug for ProviderSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn set<T>(field: &Option<T>) -> &'static str {
            if field.is_some() { "<set>" } else { "<unset>" }
        }
        f.debug_struct("ProviderSecret")
            .field("api_key", &set(&self.api_key))
            .field("aws_access_key_id", &set(&self.aws_access_key_id))
            .field("aws_secret_access_key", &set(&self.aws_secret_access_key))
            .field("aws_session_token", &set(&self.aws_session_token))
            .field("aws_region", &self.aws_region)
            .field("azure_endpoint", &self.azure_endpoint)
            .field("azure_api_version", &self.azure_api_version)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secret_values() {
        let secret = ProviderSecret::aws(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-east-1",
        )
        .with_aws_session_token("FwoGZXIvYXdzEXAMPLETOKEN");
        let shown = format!("{secret:?}");
        assert!(!shown.contains("AKIAIOSFODNN7EXAMPLE"), "{shown}");
        assert!(!shown.contains("wJalrXUtnFEMI"), "{shown}");
        assert!(!shown.contains("FwoGZXIvYXdz"), "{shown}");
        assert!(shown.contains("us-east-1"), "{shown}");
        let shown = format!("{:?}", ProviderSecret::from_api_key("sk-secret-value"));
        assert!(!shown.contains("sk-secret-value"), "{shown}");
    }
}

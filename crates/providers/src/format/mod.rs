//! Offline key-format checks: catch a truncated paste, a stray newline or a key stored under the
//! wrong provider before spending a network call, with a message that says how to fix it.
//!
//! No message ever contains any part of a secret: they are built only from static text, lengths
//! and field names.

use secrecy::{ExposeSecret, SecretString};

use crate::provider::Provider;
use crate::secret::ProviderSecret;

mod cloud;

use cloud::{check_azure_endpoint, check_bedrock};

/// Why a secret cannot be right for its provider. `Display` is safe to show to the user and to log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// A field the provider requires is absent or empty.
    #[error("{provider} needs {field}")]
    Missing {
        /// The provider being checked.
        provider: Provider,
        /// What is missing, e.g. `"an API key"`.
        field: &'static str,
    },
    /// A field contains whitespace, usually a copy-paste artifact.
    #[error(
        "the {field} contains {what} {place}; it was probably picked up when copying, remove it and try again"
    )]
    Whitespace {
        /// The field, e.g. `"API key"`.
        field: &'static str,
        /// `"a space"`, `"a tab"` or `"a line break"`.
        what: &'static str,
        /// `"at the start or end"` or `"in the middle"`.
        place: &'static str,
    },
    /// A field is wrapped in quotes or holds invisible / non-ASCII characters.
    #[error(
        "the {field} contains quotes or characters that are not plain ASCII; store the bare value, without quotes"
    )]
    StrayCharacters {
        /// The field, e.g. `"API key"`.
        field: &'static str,
    },
    /// The key has another provider's (or Keyward's own) prefix.
    #[error("this looks like {looks_like}, not {expected_article} {expected} key")]
    WrongProvider {
        /// The provider the key was stored under.
        expected: Provider,
        /// `"a"` or `"an"`, for `expected`.
        expected_article: &'static str,
        /// What the key looks like instead, e.g. `"an Anthropic key"`.
        looks_like: &'static str,
    },
    /// A field does not have the provider's documented shape.
    #[error("{problem}")]
    Malformed {
        /// The field, e.g. `"API key"`.
        field: &'static str,
        /// What is wrong and what the value should look like.
        problem: String,
    },
}

const API_KEY: &str = "API key";

/// Checks that `secret` has the fields `provider` needs, in the documented shapes.
///
/// This is offline and cheap; a key that passes may still be revoked, see [`crate::validate`].
pub fn check_format(provider: Provider, secret: &ProviderSecret) -> Result<(), FormatError> {
    check_text_fields(secret)?;
    match provider {
        Provider::Bedrock => return check_bedrock(secret),
        Provider::OpenAiCompatible => return Ok(()), // any key, or none (local servers)
        _ => {}
    }
    let key = required(provider, "an API key", secret.api_key.as_ref().map(expose))?;
    if let Some(looks_like) = foreign_prefix(provider, key) {
        return Err(FormatError::WrongProvider {
            expected: provider,
            expected_article: article(provider),
            looks_like,
        });
    }
    match provider {
        // https://platform.openai.com/docs/api-reference/authentication — keys are `sk-…`
        // (`sk-proj-…`, `sk-svcacct-…`); legacy keys were 51 characters, project keys longer.
        Provider::OpenAi => prefixed_token(key, "sk-", 40, "an OpenAI key"),
        // https://docs.anthropic.com/en/api/getting-started — keys are `sk-ant-api03-…`;
        // Admin API keys (`sk-ant-admin01-…`) cannot call the model endpoints.
        Provider::Anthropic if key.starts_with("sk-ant-admin") => Err(malformed(
            API_KEY,
            "this is an Anthropic Admin API key (`sk-ant-admin…`), which cannot call models; \
             store a regular API key (`sk-ant-api…`)"
                .to_owned(),
        )),
        Provider::Anthropic => prefixed_token(key, "sk-ant-", 40, "an Anthropic key"),
        // https://ai.google.dev/gemini-api/docs/api-key — Google API keys are `AIza` followed by
        // 35 letters, digits, `-` or `_` (39 characters in all).
        Provider::Gemini => {
            prefixed_token(key, "AIza", 39, "a Gemini API key")?;
            exact_len(
                key,
                39,
                "a Gemini API key is 39 characters (`AIza` and 35 more)",
            )
        }
        // https://learn.microsoft.com/en-us/azure/ai-services/authentication — classic keys are
        // 32 hexadecimal characters; keys issued since 2024 are 84 letters and digits.
        Provider::Azure => {
            let classic = key.len() == 32 && key.chars().all(|c| c.is_ascii_hexdigit());
            let current = key.len() == 84 && key.chars().all(|c| c.is_ascii_alphanumeric());
            if !(classic || current) {
                return Err(malformed(
                    API_KEY,
                    format!(
                        "an Azure OpenAI key is 32 hexadecimal characters (older keys) or 84 \
                         letters and digits; this one has {} characters",
                        key.chars().count()
                    ),
                ));
            }
            check_azure_endpoint(secret)
        }
        // Cohere does not publish the format; every key from https://dashboard.cohere.com/api-keys
        // is 40 letters and digits (also the pattern secret scanners such as gitleaks match).
        Provider::Cohere => alphanumeric(key, 40, "a Cohere key is 40 letters and digits"),
        // https://docs.mistral.ai/getting-started/quickstart/ — keys from the console are 32
        // letters and digits (the gitleaks pattern too).
        Provider::Mistral => alphanumeric(key, 32, "a Mistral key is 32 letters and digits"),
        // https://docs.perplexity.ai/guides/getting-started — keys are `pplx-` followed by 48
        // characters.
        Provider::Perplexity => prefixed_token(key, "pplx-", 40, "a Perplexity key"),
        Provider::Bedrock | Provider::OpenAiCompatible => Ok(()),
    }
}

fn expose(secret: &SecretString) -> &str {
    secret.expose_secret()
}

fn article(provider: Provider) -> &'static str {
    match provider {
        Provider::OpenAi | Provider::Anthropic | Provider::Azure | Provider::OpenAiCompatible => {
            "an"
        }
        _ => "a",
    }
}

fn malformed(field: &'static str, problem: String) -> FormatError {
    FormatError::Malformed { field, problem }
}

fn required<'a>(
    provider: Provider,
    field: &'static str,
    value: Option<&'a str>,
) -> Result<&'a str, FormatError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or(FormatError::Missing { provider, field })
}

/// Whitespace and stray characters, for every field that is set.
fn check_text_fields(secret: &ProviderSecret) -> Result<(), FormatError> {
    let fields: [(&'static str, Option<&str>); 7] = [
        (API_KEY, secret.api_key.as_ref().map(expose)),
        ("AWS access key id", secret.aws_access_key_id.as_deref()),
        (
            "AWS secret access key",
            secret.aws_secret_access_key.as_ref().map(expose),
        ),
        (
            "AWS session token",
            secret.aws_session_token.as_ref().map(expose),
        ),
        ("AWS region", secret.aws_region.as_deref()),
        ("Azure endpoint", secret.azure_endpoint.as_deref()),
        ("Azure API version", secret.azure_api_version.as_deref()),
    ];
    for (field, value) in fields {
        let Some(value) = value else { continue };
        if let Some((index, c)) = value.char_indices().find(|(_, c)| c.is_whitespace()) {
            let what = match c {
                '\n' | '\r' => "a line break",
                '\t' => "a tab",
                _ => "a space",
            };
            let at_edge = index == 0 || value[index..].trim_start().is_empty();
            let place = if at_edge {
                "at the start or end"
            } else {
                "in the middle"
            };
            return Err(FormatError::Whitespace { field, what, place });
        }
        if value
            .chars()
            .any(|c| !c.is_ascii() || c.is_ascii_control() || matches!(c, '"' | '\'' | '`'))
        {
            return Err(FormatError::StrayCharacters { field });
        }
    }
    Ok(())
}

/// Recognizes keys that clearly belong somewhere else.
fn foreign_prefix(provider: Provider, key: &str) -> Option<&'static str> {
    let (owner, looks_like) = if key.starts_with("kw_") {
        return Some("a Keyward virtual key (`kw_…`), which is for calling Keyward itself");
    } else if key.starts_with("sk-ant-") {
        (Provider::Anthropic, "an Anthropic key (`sk-ant-…`)")
    } else if key.starts_with("sk-") {
        (Provider::OpenAi, "an OpenAI key (`sk-…`)")
    } else if key.starts_with("AIza") {
        (Provider::Gemini, "a Google API key (`AIza…`)")
    } else if key.starts_with("pplx-") {
        (Provider::Perplexity, "a Perplexity key (`pplx-…`)")
    } else if key.starts_with("AKIA") || key.starts_with("ASIA") {
        (Provider::Bedrock, "an AWS access key id (`AKIA…`)")
    } else {
        return None;
    };
    (owner != provider).then_some(looks_like)
}

fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

fn prefixed_token(key: &str, prefix: &str, min_len: usize, what: &str) -> Result<(), FormatError> {
    if !key.starts_with(prefix) {
        return Err(malformed(API_KEY, format!("{what} starts with `{prefix}`")));
    }
    if !key.chars().all(is_token_char) {
        return Err(malformed(
            API_KEY,
            format!("{what} contains only letters, digits, `-` and `_`"),
        ));
    }
    let len = key.chars().count();
    if len < min_len {
        return Err(malformed(
            API_KEY,
            format!(
                "{what} is at least {min_len} characters; this one has {len} (was it cut off when copying?)"
            ),
        ));
    }
    Ok(())
}

fn exact_len(key: &str, len: usize, rule: &str) -> Result<(), FormatError> {
    let actual = key.chars().count();
    if actual == len {
        Ok(())
    } else {
        Err(malformed(API_KEY, format!("{rule}; this one has {actual}")))
    }
}

fn alphanumeric(key: &str, len: usize, rule: &str) -> Result<(), FormatError> {
    if !key.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(malformed(
            API_KEY,
            format!("{rule}; this one has other characters"),
        ));
    }
    exact_len(key, len, rule)
}

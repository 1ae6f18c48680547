//! Live validation: one cheap authenticated call per provider, classified into an [`Outcome`]
//! and a message that is safe to show and log (it never contains the secret).

mod probe;
pub(crate) mod upstream;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::format::check_format;
use crate::provider::Provider;
use crate::secret::ProviderSecret;

use probe::Probe;

/// The per-request timeout [`validate`] uses.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How much of a response body validation reads, at most.
const MAX_BODY_BYTES: usize = 16 * 1024;

/// What a validation call concluded about a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The provider accepted the key.
    Valid,
    /// The key is malformed, or the provider rejected it (401/403, or Gemini's 400
    /// `API_KEY_INVALID`). Re-trying will not help.
    Invalid,
    /// The provider answered 429: the key is throttled or out of quota. Retry later.
    RateLimited,
    /// The provider answered 5xx or something unexpected; the key's state is unknown.
    ProviderUnavailable,
    /// The provider could not be reached (DNS, connect, TLS, timeout).
    NetworkError,
}

impl Outcome {
    /// A stable lowercase name, e.g. `"rate_limited"`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Valid => "valid",
            Outcome::Invalid => "invalid",
            Outcome::RateLimited => "rate_limited",
            Outcome::ProviderUnavailable => "provider_unavailable",
            Outcome::NetworkError => "network_error",
        }
    }
}

/// The result of [`validate`]: outcome, a human message that never contains the secret, and
/// the upstream HTTP status when there was one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidationResult {
    /// What was concluded.
    pub outcome: Outcome,
    /// One or two sentences for the dashboard / CLI / audit log. Any upstream text it quotes has
    /// been scrubbed of key-like tokens and capped.
    pub message: String,
    /// The upstream status code, `None` when no response was received (format error, network).
    pub http_status: Option<u16>,
    /// The provider's `retry-after` (or Azure's `retry-after-ms`) on 429/503 responses.
    pub retry_after: Option<Duration>,
}

impl ValidationResult {
    fn new(outcome: Outcome, message: String, http_status: Option<u16>) -> Self {
        Self {
            outcome,
            message,
            http_status,
            retry_after: None,
        }
    }
}

/// Settings for [`validate_with`].
#[derive(Clone, Copy, Debug)]
pub struct ValidateOptions<'a> {
    /// Replaces the provider's base URL for this key (required for OpenAI-compatible servers;
    /// for Azure it replaces the endpoint). Same form as [`Provider::default_base_url`]: request
    /// paths are appended to it. This is how tests point validation at local mocks.
    pub base_url: Option<&'a str>,
    /// The timeout for the whole request, connect included.
    pub timeout: Duration,
}

impl Default for ValidateOptions<'_> {
    fn default() -> Self {
        Self {
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Checks the key's format, then makes the provider's cheapest authenticated call with
/// [`DEFAULT_TIMEOUT`].
///
/// The calls, all read-only and free of charge:
///
/// | provider | call |
/// |---|---|
/// | OpenAI, Mistral, OpenAI-compatible | `GET {base}/models`, `Authorization: Bearer` |
/// | Anthropic | `GET {base}/v1/models?limit=1`, `x-api-key`, `anthropic-version: 2023-06-01` |
/// | Gemini | `GET {base}/v1beta/models?pageSize=1`, `x-goog-api-key` (never in the URL) |
/// | Bedrock | `GET {base}/foundation-models`, SigV4 for service `bedrock` |
/// | Azure | `GET {endpoint}/openai/models?api-version=…`, `api-key` |
/// | Cohere | `GET {base}/v1/models?page_size=1`, `Authorization: Bearer` |
/// | Perplexity | `GET {base}/async/chat/completions`, `Authorization: Bearer` |
///
/// Sources are next to each call in `probe.rs`. The client is the caller's so its connection
/// pool, proxy and TLS settings apply; build it with [`crate::http_client`] (no redirects), so a
/// key sent in a custom header can never follow a redirect to another host.
pub async fn validate(
    client: &reqwest::Client,
    provider: Provider,
    secret: &ProviderSecret,
    base_url: Option<&str>,
) -> ValidationResult {
    let options = ValidateOptions {
        base_url,
        ..ValidateOptions::default()
    };
    validate_with(client, provider, secret, options).await
}

/// [`validate`] with explicit options (timeout).
pub async fn validate_with(
    client: &reqwest::Client,
    provider: Provider,
    secret: &ProviderSecret,
    options: ValidateOptions<'_>,
) -> ValidationResult {
    if let Err(err) = check_format(provider, secret) {
        return ValidationResult::new(
            Outcome::Invalid,
            format!("not sent to {provider}: {err}"),
            None,
        );
    }
    let probe = match probe::build(provider, secret, options.base_url) {
        Ok(probe) => probe,
        Err(message) => return ValidationResult::new(Outcome::Invalid, message, None),
    };
    let host = probe.host();
    let mut request = client.get(probe.url.clone()).timeout(options.timeout);
    for (name, value) in &probe.headers {
        request = request.header(name, value.clone());
    }
    match request.send().await {
        Ok(response) => classify(provider, secret, &probe, response).await,
        Err(err) => network_error(provider, &host, &err, options.timeout),
    }
}

fn network_error(
    provider: Provider,
    host: &str,
    err: &reqwest::Error,
    timeout: Duration,
) -> ValidationResult {
    // reqwest's own Display includes the full URL; these messages are built from parts we chose.
    let what = if err.is_timeout() {
        format!("timed out after {} ms", timeout.as_millis())
    } else if err.is_connect() {
        "could not connect".to_owned()
    } else {
        "the connection failed".to_owned()
    };
    ValidationResult::new(
        Outcome::NetworkError,
        format!("{provider} at {host}: {what}; check the network and the base URL, then retry"),
        None,
    )
}

async fn classify(
    provider: Provider,
    secret: &ProviderSecret,
    probe: &Probe,
    mut response: reqwest::Response,
) -> ValidationResult {
    let status = response.status().as_u16();
    let retry_after = upstream::retry_after(response.headers());
    let error_type = upstream::aws_error_type(response.headers());
    let body = read_capped(&mut response).await;
    let call = probe.description;
    let detail = upstream::message(&body, secret)
        .map(|m| format!(": {m}"))
        .unwrap_or_default();

    let (outcome, message) = match status {
        200..=299 if upstream::looks_like_json(&body) => (
            Outcome::Valid,
            format!("{provider} accepted the key ({call} returned {status})"),
        ),
        200..=299 => (
            Outcome::ProviderUnavailable,
            format!(
                "{call} returned {status} but not {provider}'s JSON; is the base URL right (a \
                 proxy or login page in between)?"
            ),
        ),
        403 if provider == Provider::Bedrock
            && error_type.as_deref() == Some("AccessDeniedException") =>
        {
            (
                Outcome::Invalid,
                format!(
                    "AWS accepted the credentials but they may not call bedrock:ListFoundationModels \
                 (HTTP 403){detail}; grant that permission (and bedrock:InvokeModel) to this IAM user"
                ),
            )
        }
        401 | 403 => (
            Outcome::Invalid,
            format!("{provider} rejected the key (HTTP {status}){detail}"),
        ),
        400 if provider == Provider::Gemini && upstream::gemini_key_rejected(&body) => (
            Outcome::Invalid,
            format!("{provider} rejected the key (HTTP 400){detail}"),
        ),
        429 if upstream::out_of_quota(&body) => (
            Outcome::RateLimited,
            format!(
                "{provider} accepted the key but its account is out of quota (HTTP 429){detail}; \
                 check billing"
            ),
        ),
        429 => (
            Outcome::RateLimited,
            format!("{provider} is rate limiting this key (HTTP 429){detail}; try again later"),
        ),
        300..=399 => (
            Outcome::ProviderUnavailable,
            format!(
                "{call} was redirected (HTTP {status}); {provider}'s API never redirects, so the \
                 base URL is probably wrong"
            ),
        ),
        _ => (
            Outcome::ProviderUnavailable,
            format!(
                "{provider} could not check the key: {call} answered HTTP {status}{detail}; try \
                 again later"
            ),
        ),
    };
    let mut result = ValidationResult::new(outcome, message, Some(status));
    if matches!(status, 429 | 503 | 529) {
        result.retry_after = retry_after;
    }
    result
}

/// Reads at most [`MAX_BODY_BYTES`]; a body that fails mid-way is treated as what was read.
async fn read_capped(response: &mut reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while body.len() < MAX_BODY_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(MAX_BODY_BYTES);
    body
}

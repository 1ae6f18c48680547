//! The upstream HTTP request: method, URL, headers (credentials included) and body, for every
//! provider and call. Built here, sent by the caller with its pooled [`crate::http_client`].

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;
use std::time::SystemTime;

use bytes::Bytes;
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};

use crate::auth::{key_headers, sigv4};
use crate::provider::{Provider, bedrock_runtime_url};
use crate::secret::ProviderSecret;

/// Where a call goes: the provider, the model as the provider names it, the credentials, and
/// optionally a base URL that replaces the provider's default (required for OpenAI-compatible
/// servers; for Azure it replaces the resource endpoint; for Bedrock the regional runtime URL).
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The provider.
    pub provider: Provider,
    /// The upstream model id: `claude-sonnet-4-20250514`, `gemini-2.5-flash`, a Bedrock model
    /// or inference-profile id, or the Azure **deployment** name.
    pub model: &'a str,
    /// Replaces the provider's base URL; same form as [`Provider::default_base_url`].
    pub base_url: Option<&'a str>,
    /// The provider key's credentials.
    pub secret: &'a ProviderSecret,
}

/// Which upstream operation a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// Chat / messages / generateContent / Converse.
    Chat,
    /// The streaming variant of [`Call::Chat`].
    ChatStream,
    /// Embeddings of one input (Gemini `embedContent`, Bedrock `invoke`).
    Embed,
    /// Embeddings of several inputs (Gemini `batchEmbedContents`); the same endpoint as
    /// [`Call::Embed`] elsewhere.
    EmbedBatch,
    /// OpenAI Responses API (`/responses`), OpenAI and OpenAI-compatible only.
    Responses,
    /// The streaming variant of [`Call::Responses`].
    ResponsesStream,
}

/// Why an upstream request could not be built. Messages never contain a secret.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildError {
    /// No base URL: OpenAI-compatible without one, Bedrock without a region, Azure without an
    /// endpoint.
    #[error("{0} needs a base URL (or a region / endpoint in the key's settings)")]
    MissingBaseUrl(Provider),
    /// The base URL does not parse as an http(s) URL.
    #[error("the {0} base URL is not a valid http(s) URL")]
    InvalidBaseUrl(Provider),
    /// The provider has no such operation (e.g. Perplexity embeddings).
    #[error("{0} does not offer this operation")]
    Unsupported(Provider),
    /// The credentials cannot be sent (incomplete AWS credentials, a key that is not a valid
    /// header value).
    #[error("{0}")]
    Credentials(String),
}

/// A ready-to-send upstream request. Its `Debug` shows header names only.
pub struct UpstreamRequest {
    /// Always `POST` today.
    pub method: Method,
    /// The full URL, query included.
    pub uri: http::Uri,
    /// Content type, accept, credentials (marked sensitive).
    pub headers: HeaderMap,
    /// The JSON body, exactly as signed (Bedrock).
    pub body: Bytes,
}

impl UpstreamRequest {
    /// A `reqwest` request for `client` (build it with [`crate::http_client`]: no redirects).
    /// Add a timeout on the returned builder.
    pub fn into_reqwest(self, client: &reqwest::Client) -> reqwest::RequestBuilder {
        client
            .request(self.method, self.uri.to_string())
            .headers(self.headers)
            .body(self.body)
    }
}

impl fmt::Debug for UpstreamRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UpstreamRequest")
            .field("method", &self.method)
            .field("url", &self.uri)
            .field("headers", &self.headers.keys().collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .finish()
    }
}

/// Percent-encodes a path segment: everything but RFC 3986 unreserved characters, as the AWS
/// SDKs do for Bedrock model ids (`…-v1:0` → `…-v1%3A0`, ARNs' `/` → `%2F`).
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn base_url(target: &Target<'_>) -> Result<String, BuildError> {
    let provider = target.provider;
    if let Some(base) = target.base_url {
        return Ok(base.trim_end_matches('/').to_owned());
    }
    match provider {
        Provider::Bedrock => target.secret.aws_region.as_deref().map(bedrock_runtime_url),
        _ => provider.base_url_for(target.secret),
    }
    .ok_or(BuildError::MissingBaseUrl(provider))
}

/// The path (and query) of `call` on `target`'s provider, after the base URL.
fn path(target: &Target<'_>, call: Call) -> Result<String, BuildError> {
    let model = encode_segment(target.model);
    let chat = matches!(call, Call::Chat | Call::ChatStream);
    if matches!(call, Call::Responses | Call::ResponsesStream) {
        // https://platform.openai.com/docs/api-reference/responses/create
        return match target.provider {
            Provider::OpenAi | Provider::OpenAiCompatible => Ok("/responses".to_owned()),
            other => Err(BuildError::Unsupported(other)),
        };
    }
    Ok(match target.provider {
        // https://platform.openai.com/docs/api-reference/chat/create
        // https://platform.openai.com/docs/api-reference/embeddings/create
        // https://docs.mistral.ai/api/#tag/chat  https://docs.mistral.ai/api/#tag/embeddings
        Provider::OpenAi | Provider::OpenAiCompatible | Provider::Mistral if chat => {
            "/chat/completions".to_owned()
        }
        Provider::OpenAi | Provider::OpenAiCompatible | Provider::Mistral => {
            "/embeddings".to_owned()
        }
        // https://docs.perplexity.ai/api-reference/chat-completions-post
        Provider::Perplexity if chat => "/chat/completions".to_owned(),
        Provider::Perplexity => return Err(BuildError::Unsupported(Provider::Perplexity)),
        // https://learn.microsoft.com/en-us/azure/ai-foundry/openai/reference#chat-completions
        Provider::Azure => {
            let version = target
                .secret
                .azure_api_version
                .as_deref()
                .unwrap_or("2024-10-21");
            let op = if chat {
                "chat/completions"
            } else {
                "embeddings"
            };
            format!(
                "/openai/deployments/{model}/{op}?api-version={}",
                encode_segment(version)
            )
        }
        // https://docs.anthropic.com/en/api/messages
        Provider::Anthropic if chat => "/v1/messages".to_owned(),
        Provider::Anthropic => return Err(BuildError::Unsupported(Provider::Anthropic)),
        // https://ai.google.dev/api/generate-content#method:-models.generatecontent
        // https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent
        // https://ai.google.dev/api/embeddings#method:-models.embedcontent
        Provider::Gemini => match call {
            Call::Chat => format!("/v1beta/models/{model}:generateContent"),
            Call::ChatStream => format!("/v1beta/models/{model}:streamGenerateContent?alt=sse"),
            Call::Embed => format!("/v1beta/models/{model}:embedContent"),
            Call::EmbedBatch => format!("/v1beta/models/{model}:batchEmbedContents"),
            Call::Responses | Call::ResponsesStream => {
                return Err(BuildError::Unsupported(Provider::Gemini));
            }
        },
        // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html
        // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
        // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_InvokeModel.html
        Provider::Bedrock => match call {
            Call::Chat => format!("/model/{model}/converse"),
            Call::ChatStream => format!("/model/{model}/converse-stream"),
            Call::Embed | Call::EmbedBatch => format!("/model/{model}/invoke"),
            Call::Responses | Call::ResponsesStream => {
                return Err(BuildError::Unsupported(Provider::Bedrock));
            }
        },
        // https://docs.cohere.com/reference/chat  https://docs.cohere.com/reference/embed
        Provider::Cohere if chat => "/v2/chat".to_owned(),
        Provider::Cohere => "/v2/embed".to_owned(),
    })
}

/// How many parsed URLs each thread keeps (it starts over when full).
const URL_CACHE: usize = 512;

thread_local! {
    /// Upstream URLs parsed on this thread: a proxy sends request after request to the same few
    /// URLs, and parsing one (IDNA host processing included) cost ~4% of the gateway's CPU.
    static PARSED_URLS: RefCell<HashMap<String, Rc<ParsedUrl>>> = RefCell::new(HashMap::new());
}

/// One upstream URL, parsed: as a `Url` (SigV4 signs it) and as the `http::Uri` requests carry.
#[derive(Debug, PartialEq)]
struct ParsedUrl {
    url: Url,
    uri: http::Uri,
}

/// `text` as an http(s) URL with a host, from this thread's cache when it was parsed before
/// (shared, not copied).
fn parse_http_url(text: String) -> Option<Rc<ParsedUrl>> {
    if let Some(parsed) = PARSED_URLS.with_borrow(|cache| cache.get(&text).cloned()) {
        return Some(parsed);
    }
    let url = Url::parse(&text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host_str().is_some())?;
    // The serialized `Url` is normalized (IDNA hosts in ASCII), which `Uri` accepts.
    let uri = http::Uri::try_from(url.as_str()).ok()?;
    let parsed = Rc::new(ParsedUrl { url, uri });
    PARSED_URLS.with_borrow_mut(|cache| {
        if cache.len() >= URL_CACHE {
            cache.clear();
        }
        cache.insert(text, parsed.clone());
    });
    Some(parsed)
}

/// Builds the request for `call` with `body` (already in the provider's format): URL, content
/// type, accept, and credentials — API key headers, or a SigV4 signature over the exact URL,
/// headers and body for Bedrock.
pub fn build_upstream(
    target: &Target<'_>,
    call: Call,
    body: impl Into<Bytes>,
) -> Result<UpstreamRequest, BuildError> {
    build_upstream_at(target, call, body.into(), SystemTime::now())
}

pub(crate) fn build_upstream_at(
    target: &Target<'_>,
    call: Call,
    body: Bytes,
    now: SystemTime,
) -> Result<UpstreamRequest, BuildError> {
    let provider = target.provider;
    let parsed = parse_http_url(format!("{}{}", base_url(target)?, path(target, call)?))
        .ok_or(BuildError::InvalidBaseUrl(provider))?;
    let accept = match (provider, call) {
        // https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html
        (Provider::Bedrock, Call::ChatStream) => "application/vnd.amazon.eventstream",
        (_, Call::ChatStream | Call::ResponsesStream) => "text/event-stream",
        _ => "application/json",
    };
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(ACCEPT, HeaderValue::from_static(accept));
    let credentials = if provider == Provider::Bedrock {
        let signed = [("content-type", "application/json"), ("accept", accept)];
        sigv4::sign_request("POST", &parsed.url, &signed, &body, target.secret, now)
    } else {
        key_headers(provider, target.secret)
    }
    .map_err(BuildError::Credentials)?;
    for (name, value) in credentials {
        headers.insert(name, value);
    }
    Ok(UpstreamRequest {
        method: Method::POST,
        uri: parsed.uri.clone(),
        headers,
        body,
    })
}

/// The header a provider's key travels in, for callers that log request headers.
pub fn credential_header(provider: Provider) -> HeaderName {
    match provider {
        Provider::Anthropic => HeaderName::from_static("x-api-key"),
        Provider::Gemini => HeaderName::from_static("x-goog-api-key"),
        Provider::Azure => HeaderName::from_static("api-key"),
        _ => reqwest::header::AUTHORIZATION,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(
        provider: Provider,
        secret: &ProviderSecret,
        model: &str,
        call: Call,
    ) -> UpstreamRequest {
        let target = Target {
            provider,
            model,
            base_url: None,
            secret,
        };
        build_upstream(&target, call, b"{}".to_vec()).unwrap()
    }

    #[test]
    fn parsed_urls_are_cached_per_thread_and_checked_every_time() {
        let text = "http://127.0.0.1:9/v1/chat/completions";
        let first = parse_http_url(text.to_owned()).unwrap();
        assert_eq!(
            first.uri.to_string(),
            first.url.as_str(),
            "the Uri is the same URL"
        );
        assert!(PARSED_URLS.with_borrow(|c| c.contains_key(text)));
        assert_eq!(parse_http_url(text.to_owned()).unwrap(), first);
        assert_eq!(parse_http_url("ftp://example.com/x".to_owned()), None);
        assert_eq!(parse_http_url("not a url".to_owned()), None);
        assert!(PARSED_URLS.with_borrow(|c| !c.contains_key("ftp://example.com/x")));
        for i in 0..URL_CACHE + 3 {
            assert!(parse_http_url(format!("https://h{i}.example/v1")).is_some());
        }
        assert!(
            PARSED_URLS.with_borrow(|c| c.len() <= URL_CACHE),
            "the cache stays bounded"
        );
    }

    #[test]
    fn urls_follow_each_providers_reference() {
        let key = ProviderSecret::from_api_key("sk-test-0123456789abcdefghij");
        let gemini = build(Provider::Gemini, &key, "gemini-2.5-flash", Call::ChatStream);
        assert_eq!(
            gemini.uri.to_string(),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
        );
        assert!(gemini.headers.contains_key("x-goog-api-key"));
        assert!(!gemini.uri.to_string().contains("key="));
        let anthropic = build(Provider::Anthropic, &key, "claude", Call::Chat);
        assert_eq!(
            anthropic.uri.to_string(),
            "https://api.anthropic.com/v1/messages"
        );
        assert_eq!(anthropic.headers["anthropic-version"], "2023-06-01");
        let azure = ProviderSecret::azure(
            "0123456789abcdef0123456789abcdef",
            "https://acme.openai.azure.com/",
            "2024-10-21",
        );
        let azure = build(Provider::Azure, &azure, "gpt-4o-prod", Call::Chat);
        assert_eq!(
            azure.uri.to_string(),
            "https://acme.openai.azure.com/openai/deployments/gpt-4o-prod/chat/completions?api-version=2024-10-21"
        );
        assert!(azure.headers.contains_key("api-key"));
        let cohere = build(Provider::Cohere, &key, "command-r", Call::Embed);
        assert_eq!(cohere.uri.to_string(), "https://api.cohere.com/v2/embed");
        assert!(format!("{cohere:?}").contains("authorization"));
        assert!(!format!("{cohere:?}").contains("sk-test"));
    }

    #[test]
    fn bedrock_is_signed_and_model_ids_are_encoded() {
        let aws = ProviderSecret::aws(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            "us-west-2",
        );
        let request = build(
            Provider::Bedrock,
            &aws,
            "anthropic.claude-3-5-sonnet-20240620-v1:0",
            Call::ChatStream,
        );
        assert_eq!(
            request.uri.to_string(),
            "https://bedrock-runtime.us-west-2.amazonaws.com/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream"
        );
        let auth = request.headers["authorization"].to_str().unwrap();
        assert!(
            auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/"),
            "{auth}"
        );
        assert!(auth.contains("/us-west-2/bedrock/aws4_request"), "{auth}");
        assert!(
            auth.contains("SignedHeaders=accept;content-type;host;x-amz-date"),
            "{auth}"
        );
        assert!(request.headers["authorization"].is_sensitive());
    }

    #[test]
    fn missing_base_url_and_unsupported_calls_are_errors() {
        let key = ProviderSecret::from_api_key("sk-local");
        let target = Target {
            provider: Provider::OpenAiCompatible,
            model: "m",
            base_url: None,
            secret: &key,
        };
        assert_eq!(
            build_upstream(&target, Call::Chat, Vec::new()).unwrap_err(),
            BuildError::MissingBaseUrl(Provider::OpenAiCompatible)
        );
        let target = Target {
            provider: Provider::Perplexity,
            model: "m",
            base_url: None,
            secret: &key,
        };
        assert!(matches!(
            build_upstream(&target, Call::Embed, Vec::new()),
            Err(BuildError::Unsupported(Provider::Perplexity))
        ));
    }
}

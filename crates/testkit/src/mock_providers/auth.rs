//! How each provider receives its credential, and whether the mock accepts it.

use actix_web::HttpRequest;
use keyward_providers::{BEDROCK_SIGNING_SERVICE, Provider};

use super::keys::{Marker, marker};
use super::sigv4;
use super::state::State;

/// The result of checking a request's credential.
pub(crate) enum Auth {
    /// No credential in the place this provider expects it.
    Missing,
    /// A credential the mock does not know; carries the API key (for OpenAI's masked echo).
    Unknown(String),
    /// Bedrock: a known access key id whose signature does not verify.
    BadSignature,
    /// A registered credential (for Bedrock: correctly signed).
    Matched,
}

/// The credential as sent: an API key, or (Bedrock) the SigV4 access key id.
pub(crate) fn credential(provider: Provider, req: &HttpRequest) -> Option<String> {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    match provider {
        // https://docs.anthropic.com/en/api/overview#authentication
        Provider::Anthropic => header("x-api-key"),
        // https://ai.google.dev/gemini-api/docs/api-key — header, or the `key` query parameter.
        Provider::Gemini => header("x-goog-api-key").or_else(|| query_param(req, "key")),
        // https://learn.microsoft.com/en-us/azure/ai-services/openai/reference#authentication
        Provider::Azure => header("api-key"),
        Provider::Bedrock => sigv4::parse(&header("authorization")?).map(|sig| sig.access_key_id),
        Provider::OpenAi
        | Provider::OpenAiCompatible
        | Provider::Cohere
        | Provider::Mistral
        | Provider::Perplexity => {
            let value = header("authorization")?;
            let (scheme, token) = value.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        }
    }
}

/// A query parameter's raw value (fixture keys need no percent-decoding).
pub(crate) fn query_param(req: &HttpRequest, name: &str) -> Option<String> {
    req.query_string().split('&').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key == name).then(|| value.to_owned())
    })
}

/// The behaviour marker in the request's credential, if any.
pub(crate) fn request_marker(provider: Provider, req: &HttpRequest) -> Marker {
    credential(provider, req).map_or(Marker::None, |c| marker(&c))
}

/// Checks the request's credential against the registered keys.
pub(crate) fn authenticate(
    provider: Provider,
    req: &HttpRequest,
    body: &[u8],
    state: &State,
) -> Auth {
    let Some(credential) = credential(provider, req) else {
        return Auth::Missing;
    };
    if provider != Provider::Bedrock {
        return if state.is_registered(provider, &credential) {
            Auth::Matched
        } else {
            Auth::Unknown(credential)
        };
    }
    let Some(secret) = state.aws_secret(&credential) else {
        return Auth::Unknown(credential);
    };
    let signature = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::parse);
    match signature {
        Some(sig) if sigv4::verify(&sig, &secret, req, body, BEDROCK_SIGNING_SERVICE) => {
            Auth::Matched
        }
        _ => Auth::BadSignature,
    }
}

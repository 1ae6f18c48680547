//! Chat endpoints of every provider, plain and streaming, answering what
//! [`super::scenario::complete`] decides in each provider's wire format.
//!
//! | provider | plain | streaming |
//! |---|---|---|
//! | OpenAI, Mistral, OpenAI-compatible | `/v1/chat/completions` | same, `stream: true` |
//! | Perplexity | `/chat/completions` | same |
//! | Azure | `/openai/deployments/{d}/chat/completions?api-version=` | same |
//! | Anthropic | `/v1/messages` | same, `stream: true` |
//! | Gemini | `/v1beta/models/{m}:generateContent` | `…:streamGenerateContent?alt=sse` |
//! | Bedrock | `/model/{id}/converse` | `/model/{id}/converse-stream` |
//! | Cohere | `/v2/chat` | same, `stream: true` |

use std::convert::Infallible;
use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use bytes::Bytes;
use futures::StreamExt as _;
use keyward_providers::Provider;
use serde_json::{Value, json};

use super::scenario::complete;
use super::state::State;
use super::wire_errors::builder;
use super::{wire_anthropic, wire_bedrock, wire_cohere, wire_gemini, wire_openai};

/// Which chat API a path is.
enum Kind {
    OpenAi,
    Anthropic,
    Gemini { stream: bool },
    Bedrock { stream: bool },
    Cohere,
}

/// Percent-decodes a path segment (Bedrock model ids arrive as `…-v1%3A0`).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn route(provider: Provider, path: &str) -> Option<(Kind, Option<String>)> {
    let segment =
        |prefix: &str, suffix: &str| path.strip_prefix(prefix)?.strip_suffix(suffix).map(decode);
    Some(match provider {
        Provider::OpenAi | Provider::OpenAiCompatible | Provider::Mistral
            if path == "/v1/chat/completions" =>
        {
            (Kind::OpenAi, None)
        }
        Provider::Perplexity if path == "/chat/completions" => (Kind::OpenAi, None),
        Provider::Azure => (
            Kind::OpenAi,
            Some(segment("/openai/deployments/", "/chat/completions")?),
        ),
        Provider::Anthropic if path == "/v1/messages" => (Kind::Anthropic, None),
        Provider::Gemini => match segment("/v1beta/models/", ":generateContent") {
            Some(model) => (Kind::Gemini { stream: false }, Some(model)),
            None => (
                Kind::Gemini { stream: true },
                Some(segment("/v1beta/models/", ":streamGenerateContent")?),
            ),
        },
        Provider::Bedrock => match segment("/model/", "/converse") {
            Some(model) => (Kind::Bedrock { stream: false }, Some(model)),
            None => (
                Kind::Bedrock { stream: true },
                Some(segment("/model/", "/converse-stream")?),
            ),
        },
        Provider::Cohere if path == "/v2/chat" => (Kind::Cohere, None),
        _ => return None,
    })
}

/// Handles a POST if it is a chat endpoint of `provider`; `None` otherwise.
pub(crate) fn handle(
    provider: Provider,
    path: &str,
    query: &str,
    request: Option<&Value>,
    state: &State,
) -> Option<HttpResponse> {
    let (kind, path_model) = route(provider, path)?;
    let Some(request) = request.filter(|r| r.is_object()) else {
        return Some(bad_request(
            provider,
            "We could not parse the JSON body of your request.",
        ));
    };
    let model = path_model.or_else(|| {
        request
            .get("model")
            .and_then(Value::as_str)
            .map(str::to_owned)
    });
    let Some(model) = model else {
        return Some(bad_request(provider, "model: Field required"));
    };
    let delay = state.stream_delay();
    let c = complete(provider, request, model, state);
    let ok = || builder(provider, StatusCode::OK);
    Some(match kind {
        Kind::OpenAi if c.stream => sse(provider, wire_openai::stream(provider, &c), delay),
        Kind::OpenAi => ok().json(wire_openai::completion(provider, &c)),
        Kind::Anthropic => {
            if request.get("max_tokens").is_none() {
                return Some(bad_request(provider, "max_tokens: Field required"));
            }
            if c.stream {
                sse(provider, wire_anthropic::stream(&c), delay)
            } else {
                ok().json(wire_anthropic::message(&c))
            }
        }
        Kind::Gemini { stream: true } if !query.split('&').any(|p| p == "alt=sse") => bad_request(
            provider,
            "the Keyward mock streams Gemini with alt=sse only",
        ),
        Kind::Gemini { stream: true } => sse(provider, wire_gemini::stream(&c), delay),
        Kind::Gemini { stream: false } => ok().json(wire_gemini::generate(&c)),
        Kind::Bedrock { stream: true } => streaming(
            provider,
            "application/vnd.amazon.eventstream",
            wire_bedrock::stream(&c),
            delay,
        ),
        Kind::Bedrock { stream: false } => ok().json(wire_bedrock::converse(&c)),
        Kind::Cohere if c.stream => sse(provider, wire_cohere::stream(&c), delay),
        Kind::Cohere => ok().json(wire_cohere::chat(&c)),
    })
}

pub(crate) fn sse(
    provider: Provider,
    events: Vec<Vec<u8>>,
    delay: Option<Duration>,
) -> HttpResponse {
    streaming(provider, "text/event-stream; charset=utf-8", events, delay)
}

/// A chunked response sending one element of `parts` at a time, `delay` apart.
fn streaming(
    provider: Provider,
    content_type: &str,
    parts: Vec<Vec<u8>>,
    delay: Option<Duration>,
) -> HttpResponse {
    let body = futures::stream::iter(parts).then(move |part| async move {
        if let Some(delay) = delay {
            tokio::time::sleep(delay).await;
        }
        Ok::<_, Infallible>(Bytes::from(part))
    });
    builder(provider, StatusCode::OK)
        .content_type(content_type)
        .insert_header(("cache-control", "no-cache"))
        .streaming(body)
}

/// A 400 in the provider's shape.
pub(crate) fn bad_request(provider: Provider, message: &str) -> HttpResponse {
    let body = match provider {
        Provider::Anthropic => {
            json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}})
        }
        Provider::Gemini => {
            json!({"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}})
        }
        Provider::Bedrock | Provider::Cohere | Provider::Mistral => json!({"message": message}),
        _ => {
            json!({"error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}})
        }
    };
    let mut reply = builder(provider, StatusCode::BAD_REQUEST);
    if provider == Provider::Bedrock {
        reply.insert_header((
            "x-amzn-ErrorType",
            "ValidationException:http://internal.amazon.com/coral/com.amazon.bedrock/",
        ));
    }
    reply.json(body)
}

//! The proxy's entry point: [`prepare`] turns a client request into the upstream request plus an
//! [`Exchange`] that translates whatever comes back (body, stream or error) for that client.

use bytes::Bytes;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::errors::{ApiShape, ClientError, ErrorKind, client_error, translate_error};
use crate::provider::Provider;
use crate::request::{BuildError, Call, Target, UpstreamRequest, build_upstream};
use crate::secret::ProviderSecret;
use crate::stream::{
    BedrockDecoder, Decoder, GeminiDecoder, Passthrough, PassthroughKind, StreamObserver,
    anthropic_decoder, cohere_decoder, openai_decoder,
};
use crate::translate::{
    TranslateError, anthropic, anthropic_client, bedrock, cohere, embeddings, gemini, openai_family,
};
use crate::usage::{FinishReason, Usage};

/// The API a client called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientApi {
    /// `POST /v1/chat/completions`.
    OpenAiChat,
    /// `POST /v1/embeddings`.
    OpenAiEmbeddings,
    /// `POST /v1/messages`.
    AnthropicMessages,
    /// `POST /v1/responses` (OpenAI Responses API): forwarded to OpenAI and OpenAI-compatible
    /// providers only.
    OpenAiResponses,
}

impl ClientApi {
    /// The shape of this API's errors and streams.
    pub const fn shape(self) -> ApiShape {
        match self {
            Self::OpenAiChat | Self::OpenAiEmbeddings | Self::OpenAiResponses => ApiShape::OpenAi,
            Self::AnthropicMessages => ApiShape::Anthropic,
        }
    }
}

/// The wire format family of an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Wire {
    OpenAi,
    Anthropic,
    Gemini,
    Bedrock,
    Cohere,
}

const fn wire(provider: Provider) -> Wire {
    match provider {
        Provider::OpenAi
        | Provider::Azure
        | Provider::Mistral
        | Provider::Perplexity
        | Provider::OpenAiCompatible => Wire::OpenAi,
        Provider::Anthropic => Wire::Anthropic,
        Provider::Gemini => Wire::Gemini,
        Provider::Bedrock => Wire::Bedrock,
        Provider::Cohere => Wire::Cohere,
    }
}

/// Why [`prepare`] failed. [`PrepareError::to_client_error`] gives the client's answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PrepareError {
    /// The request cannot be translated for this provider.
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// The upstream request cannot be built (key settings, base URL).
    #[error(transparent)]
    Build(#[from] BuildError),
}

impl PrepareError {
    /// The error to answer the client with: 400 for requests the provider cannot take, 502
    /// (retryable: another key may work) for provider key configuration problems.
    pub fn to_client_error(&self, shape: ApiShape) -> ClientError {
        let kind = match self {
            Self::Translate(TranslateError::InvalidRequest(_) | TranslateError::Unsupported(_)) => {
                ErrorKind::InvalidRequest
            }
            Self::Translate(TranslateError::InvalidResponse(_)) | Self::Build(_) => ErrorKind::Api,
        };
        client_error(shape, kind, &self.to_string())
    }
}

/// What [`prepare`] returns: send `upstream`, then use `exchange` on what comes back.
#[derive(Debug)]
pub struct Prepared {
    /// The request to send upstream.
    pub upstream: UpstreamRequest,
    /// How to translate the answer.
    pub exchange: Exchange,
}

/// Everything needed to translate one call's answer for its client. Holds no secret.
#[derive(Clone, Debug)]
pub struct Exchange {
    api: ClientApi,
    provider: Provider,
    model: String,
    stream: bool,
    include_usage: bool,
    encoding_format: Option<String>,
}

/// A translated non-streaming answer.
#[derive(Clone, Debug, PartialEq)]
pub struct Translated {
    /// The JSON body for the client.
    pub body: Bytes,
    /// The usage the provider reported.
    pub usage: Option<Usage>,
    /// Why generation stopped (chat only).
    pub finish_reason: Option<FinishReason>,
}

/// What [`Exchange::passed_through`] reads of a body; every other field is skipped.
#[derive(Deserialize)]
struct PassedThrough {
    #[serde(default)]
    usage: Option<Value>,
    /// OpenAI chat.
    #[serde(default)]
    choices: Option<Vec<ChoiceHead>>,
    /// Anthropic messages.
    #[serde(default)]
    stop_reason: Option<Value>,
    /// OpenAI Responses.
    #[serde(default)]
    status: Option<Value>,
}

#[derive(Deserialize)]
struct ChoiceHead {
    #[serde(default)]
    finish_reason: Option<Value>,
}

/// Translates a client `request` of `api` for `target` and builds the upstream request.
///
/// `target.model` (the upstream model id, or the Azure deployment) replaces the client's
/// `model`. Streaming is taken from the request's `stream`.
pub fn prepare(
    api: ClientApi,
    request: &Value,
    target: &Target<'_>,
) -> Result<Prepared, PrepareError> {
    if !request.is_object() {
        return Err(TranslateError::InvalidRequest(
            "the request body must be a JSON object".into(),
        )
        .into());
    }
    let provider = target.provider;
    let model = target.model;
    let stream = api != ClientApi::OpenAiEmbeddings
        && request.get("stream").and_then(Value::as_bool) == Some(true);
    let include_usage = request
        .pointer("/stream_options/include_usage")
        .and_then(Value::as_bool)
        == Some(true);
    let (call, body) = match api {
        ClientApi::OpenAiEmbeddings => embeddings::request_for(provider, request, model)?,
        ClientApi::AnthropicMessages if wire(provider) == Wire::Anthropic => {
            let mut body = request.clone();
            body["model"] = Value::String(model.to_owned());
            (chat_call(stream), body)
        }
        ClientApi::AnthropicMessages => {
            let max_completion = matches!(provider, Provider::OpenAi | Provider::Azure);
            let pivot = anthropic_client::request_to_openai(request, model, max_completion)?;
            (
                chat_call(stream),
                from_pivot(provider, pivot, model, stream)?,
            )
        }
        ClientApi::OpenAiChat => (
            chat_call(stream),
            from_pivot(provider, request.clone(), model, stream)?,
        ),
        ClientApi::OpenAiResponses if serves_responses(provider) => {
            let mut body = request.clone();
            body["model"] = Value::String(model.to_owned());
            let call = if stream {
                Call::ResponsesStream
            } else {
                Call::Responses
            };
            (call, body)
        }
        ClientApi::OpenAiResponses => {
            return Err(TranslateError::Unsupported(format!(
                "/v1/responses is forwarded only to OpenAI and OpenAI-compatible providers, not \
                 {}; use /v1/chat/completions for this model",
                provider.as_str()
            ))
            .into());
        }
    };
    let bytes = serde_json::to_vec(&body)
        .map_err(|_| TranslateError::InvalidRequest("unserializable request".into()))?;
    let upstream = build_upstream(target, call, bytes)?;
    let encoding_format = request
        .get("encoding_format")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Ok(Prepared {
        upstream,
        exchange: Exchange {
            api,
            provider,
            model: model.to_owned(),
            stream,
            include_usage,
            encoding_format,
        },
    })
}

/// Whether `provider` serves the OpenAI Responses API (`/v1/responses` is forwarded, not
/// translated).
pub const fn serves_responses(provider: Provider) -> bool {
    matches!(provider, Provider::OpenAi | Provider::OpenAiCompatible)
}

const fn chat_call(stream: bool) -> Call {
    if stream { Call::ChatStream } else { Call::Chat }
}

/// OpenAI-shaped pivot → the provider's request body.
fn from_pivot(
    provider: Provider,
    pivot: Value,
    model: &str,
    stream: bool,
) -> Result<Value, TranslateError> {
    match wire(provider) {
        Wire::OpenAi => openai_family::finalize(provider, pivot, model, stream),
        Wire::Anthropic => anthropic::request_from_openai(&pivot, model, stream),
        Wire::Gemini => gemini::request_from_openai(&pivot),
        Wire::Bedrock => bedrock::request_from_openai(&pivot),
        Wire::Cohere => cohere::request_from_openai(&pivot, model, stream),
    }
}

/// The usage in a provider's non-streaming chat response, in its own wire format.
pub fn usage_from_response(provider: Provider, body: &Value) -> Option<Usage> {
    match wire(provider) {
        Wire::OpenAi => body.get("usage").and_then(Usage::from_openai),
        Wire::Anthropic => body.get("usage").and_then(Usage::from_anthropic),
        Wire::Gemini => body.get("usageMetadata").and_then(Usage::from_gemini),
        Wire::Bedrock => body.get("usage").and_then(Usage::from_bedrock),
        Wire::Cohere => body.get("usage").and_then(Usage::from_cohere),
    }
}

impl Exchange {
    /// The API the client called.
    pub fn api(&self) -> ClientApi {
        self.api
    }

    /// The upstream provider.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The upstream model (or Azure deployment).
    pub fn model(&self) -> &str {
        &self.model
    }

    /// Whether the answer is a stream: feed it to [`Exchange::stream`]'s observer.
    pub fn is_stream(&self) -> bool {
        self.stream
    }

    /// Translates a successful (2xx) non-streaming body. `headers` matter for Bedrock
    /// embeddings, whose token count is a header.
    pub fn response(&self, headers: &HeaderMap, body: &[u8]) -> Result<Translated, TranslateError> {
        let same_shape = matches!(
            (self.api, wire(self.provider)),
            (ClientApi::OpenAiChat, Wire::OpenAi) | (ClientApi::AnthropicMessages, Wire::Anthropic)
        );
        if same_shape || self.api == ClientApi::OpenAiResponses {
            return self.passed_through(body);
        }
        let json: Value = serde_json::from_slice(body)
            .map_err(|_| TranslateError::InvalidResponse("the body is not JSON".into()))?;
        if self.api == ClientApi::OpenAiEmbeddings {
            let mut request = serde_json::json!({});
            if let Some(format) = &self.encoding_format {
                request["encoding_format"] = Value::String(format.clone());
            }
            let (out, usage) = embeddings::response_to_openai(
                self.provider,
                &request,
                &json,
                headers,
                &self.model,
            )?;
            let body = if wire(self.provider) == Wire::OpenAi {
                Bytes::copy_from_slice(body)
            } else {
                Bytes::from(out.to_string())
            };
            return Ok(Translated {
                body,
                usage,
                finish_reason: None,
            });
        }
        let usage = usage_from_response(self.provider, &json);
        let translated;
        let openai = match wire(self.provider) {
            Wire::OpenAi => &json,
            other => {
                translated = match other {
                    Wire::Anthropic => anthropic::response_to_openai(&json)?,
                    Wire::Gemini => gemini::response_to_openai(&json)?,
                    Wire::Bedrock => bedrock::response_to_openai(&json, &self.model)?,
                    _ => cohere::response_to_openai(&json, &self.model)?,
                };
                &translated
            }
        };
        let finish_reason = openai
            .pointer("/choices/0/finish_reason")
            .and_then(Value::as_str)
            .map(FinishReason::from_openai);
        let finish_reason = match wire(self.provider) {
            // Keep the provider's own reason when it is finer than OpenAI's (stop sequences).
            Wire::Anthropic => json
                .get("stop_reason")
                .and_then(Value::as_str)
                .map(FinishReason::from_anthropic),
            Wire::Bedrock => json
                .get("stopReason")
                .and_then(Value::as_str)
                .map(FinishReason::from_bedrock),
            Wire::Cohere => json
                .get("finish_reason")
                .and_then(Value::as_str)
                .map(FinishReason::from_cohere),
            _ => finish_reason,
        };
        let body = match self.api {
            ClientApi::AnthropicMessages => Bytes::from(
                anthropic_client::response_from_openai(openai, usage, finish_reason)?.to_string(),
            ),
            _ => Bytes::from(openai.to_string()),
        };
        Ok(Translated {
            body,
            usage,
            finish_reason,
        })
    }

    /// A body the client gets unchanged (its own API's shape): only the usage and the stop
    /// reason are read, without building the rest of the body as a tree; it must still be a
    /// JSON object.
    fn passed_through(&self, body: &[u8]) -> Result<Translated, TranslateError> {
        let head: PassedThrough = serde_json::from_slice(body)
            .map_err(|_| TranslateError::InvalidResponse("the body is not a JSON object".into()))?;
        fn word(v: &Option<Value>) -> Option<&str> {
            v.as_ref().and_then(Value::as_str)
        }
        let (usage, finish_reason) = match self.api {
            ClientApi::OpenAiResponses => (
                head.usage.as_ref().and_then(Usage::from_openai_responses),
                match word(&head.status) {
                    Some("completed") => Some(FinishReason::Stop),
                    Some("incomplete") => Some(FinishReason::Length),
                    _ => None,
                },
            ),
            ClientApi::AnthropicMessages => (
                head.usage.as_ref().and_then(Usage::from_anthropic),
                word(&head.stop_reason).map(FinishReason::from_anthropic),
            ),
            ClientApi::OpenAiChat | ClientApi::OpenAiEmbeddings => (
                head.usage.as_ref().and_then(Usage::from_openai),
                head.choices
                    .as_deref()
                    .and_then(<[ChoiceHead]>::first)
                    .and_then(|c| word(&c.finish_reason))
                    .map(FinishReason::from_openai),
            ),
        };
        Ok(Translated {
            body: Bytes::copy_from_slice(body),
            usage,
            finish_reason,
        })
    }

    /// A stream observer for this call's streaming answer (`text/event-stream` to the client).
    pub fn stream(&self) -> StreamObserver {
        let shape = self.api.shape();
        match (self.api, wire(self.provider)) {
            (ClientApi::AnthropicMessages, Wire::Anthropic) => {
                StreamObserver::passthrough(Passthrough::new(PassthroughKind::Anthropic))
            }
            (ClientApi::OpenAiResponses, _) => {
                StreamObserver::passthrough(Passthrough::new(PassthroughKind::OpenAiResponses))
            }
            (ClientApi::OpenAiChat | ClientApi::OpenAiEmbeddings, Wire::OpenAi) => {
                let asked_upstream = matches!(
                    self.provider,
                    Provider::OpenAi | Provider::Azure | Provider::OpenAiCompatible
                );
                let strip_usage_chunk = asked_upstream && !self.include_usage;
                StreamObserver::passthrough(Passthrough::new(PassthroughKind::OpenAi {
                    strip_usage_chunk,
                }))
            }
            (_, wire) => {
                let decoder: Box<dyn Decoder> = match wire {
                    Wire::OpenAi => Box::new(openai_decoder()),
                    Wire::Anthropic => Box::new(anthropic_decoder()),
                    Wire::Gemini => GeminiDecoder::boxed(),
                    Wire::Bedrock => BedrockDecoder::boxed(),
                    Wire::Cohere => cohere_decoder(),
                };
                StreamObserver::translate(decoder, shape, &self.model, self.include_usage)
            }
        }
    }

    /// Translates an upstream error (non-2xx) into the client's shape, scrubbed of `secret`.
    pub fn error(
        &self,
        status: u16,
        headers: &HeaderMap,
        body: &[u8],
        secret: &ProviderSecret,
    ) -> ClientError {
        translate_error(
            self.api.shape(),
            self.provider,
            status,
            headers,
            body,
            secret,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(api: ClientApi, provider: Provider) -> Exchange {
        Exchange {
            api,
            provider,
            model: "m".into(),
            stream: false,
            include_usage: false,
            encoding_format: None,
        }
    }

    fn answer(
        api: ClientApi,
        provider: Provider,
        body: &str,
    ) -> Result<Translated, TranslateError> {
        exchange(api, provider).response(&HeaderMap::new(), body.as_bytes())
    }

    #[test]
    fn bodies_passed_through_keep_their_bytes_usage_and_stop_reason() {
        let openai = r#"{"id":"c","choices":[{"index":0,"message":{"role":"assistant","content":"hi","tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{}"}}]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":30,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":10}}}"#;
        let t = answer(ClientApi::OpenAiChat, Provider::OpenAi, openai).unwrap();
        assert_eq!(t.body.as_ref(), openai.as_bytes());
        assert_eq!(t.finish_reason, Some(FinishReason::ToolCalls));
        let u = t.usage.unwrap();
        assert_eq!((u.input_uncached, u.cached_input, u.output), (20, 10, 7));

        let anthropic = r#"{"id":"msg","type":"message","content":[{"type":"text","text":"hi"}],"stop_reason":"max_tokens","usage":{"input_tokens":5,"cache_read_input_tokens":3,"output_tokens":2}}"#;
        let t = answer(ClientApi::AnthropicMessages, Provider::Anthropic, anthropic).unwrap();
        assert_eq!(t.body.as_ref(), anthropic.as_bytes());
        assert_eq!(t.finish_reason, Some(FinishReason::Length));
        let u = t.usage.unwrap();
        assert_eq!((u.input_uncached, u.cached_input, u.output), (5, 3, 2));

        let responses = r#"{"id":"resp","status":"incomplete","output":[],"usage":{"input_tokens":4,"output_tokens":9,"input_tokens_details":{"cached_tokens":0}}}"#;
        let t = answer(ClientApi::OpenAiResponses, Provider::OpenAi, responses).unwrap();
        assert_eq!(t.finish_reason, Some(FinishReason::Length));
        assert_eq!(t.usage.unwrap().output, 9);
    }

    #[test]
    fn odd_but_valid_bodies_pass_and_broken_ones_are_refused() {
        // null and unexpected types where a reason or usage would be: passed, nothing read.
        let odd =
            r#"{"choices":[{"finish_reason":null}],"usage":null,"status":200,"stop_reason":7}"#;
        for (api, provider) in [
            (ClientApi::OpenAiChat, Provider::Mistral),
            (ClientApi::AnthropicMessages, Provider::Anthropic),
            (ClientApi::OpenAiResponses, Provider::OpenAiCompatible),
        ] {
            let t = answer(api, provider, odd).unwrap();
            assert_eq!((t.usage, t.finish_reason), (None, None), "{api:?}");
        }
        let empty = answer(ClientApi::OpenAiChat, Provider::OpenAi, r#"{"choices":[]}"#).unwrap();
        assert_eq!(empty.finish_reason, None);
        for broken in [
            r#"{"choices":[{"finish_reason":"stop"}]"#,
            "[1,2]",
            "",
            "{} trailing",
        ] {
            let err = answer(ClientApi::OpenAiChat, Provider::OpenAi, broken).unwrap_err();
            assert!(
                matches!(err, TranslateError::InvalidResponse(_)),
                "{broken}"
            );
        }
    }
}

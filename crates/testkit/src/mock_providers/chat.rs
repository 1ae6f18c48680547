//! Non-streaming chat endpoints: OpenAI-style `chat/completions` (OpenAI, OpenAI-compatible,
//! Mistral, Perplexity, Azure deployments) and Anthropic `/v1/messages`, with the usage fields
//! each provider really returns.
//!
//! Token counts are deterministic: input = ceil(characters of all message text / 4), output =
//! the same for [`REPLY`], so tests can assert exact usage.

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use keyward_providers::Provider;
use serde_json::{Value, json};

use super::wire_errors::builder;

/// The assistant text every mock completion returns.
pub const REPLY: &str = "Hello from the Keyward mock provider.";

/// Fixed `created` timestamp, so responses are reproducible.
const CREATED: u64 = 1_735_689_600;

/// Mock token count of `text`: one token per four characters, rounded up.
pub fn mock_tokens(text: &str) -> u64 {
    let chars = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
    chars.div_ceil(4)
}

/// Handles a POST if it is a chat endpoint of `provider`; `None` otherwise.
pub(crate) fn handle(provider: Provider, path: &str, body: &[u8]) -> Option<HttpResponse> {
    let kind = match (provider, path) {
        (Provider::Anthropic, "/v1/messages") => Kind::AnthropicMessages,
        (
            Provider::OpenAi | Provider::OpenAiCompatible | Provider::Mistral,
            "/v1/chat/completions",
        )
        | (Provider::Perplexity, "/chat/completions") => Kind::ChatCompletions,
        (Provider::Azure, p)
            if p.starts_with("/openai/deployments/") && p.ends_with("/chat/completions") =>
        {
            Kind::ChatCompletions
        }
        _ => return None,
    };
    let Ok(request) = serde_json::from_slice::<Value>(body) else {
        return Some(bad_request(
            provider,
            "We could not parse the JSON body of your request.",
        ));
    };
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        return Some(bad_request(
            provider,
            "the Keyward mock does not stream yet",
        ));
    }
    let model = request
        .get("model")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .or_else(|| azure_deployment(provider, path));
    let Some(model) = model else {
        return Some(bad_request(provider, "model: Field required"));
    };
    let input = mock_tokens(&message_text(&request));
    let output = mock_tokens(REPLY);
    Some(match kind {
        Kind::AnthropicMessages => {
            if request.get("max_tokens").is_none() {
                return Some(bad_request(provider, "max_tokens: Field required"));
            }
            builder(provider, StatusCode::OK).json(anthropic_message(&model, input, output))
        }
        Kind::ChatCompletions => {
            builder(provider, StatusCode::OK).json(chat_completion(provider, &model, input, output))
        }
    })
}

enum Kind {
    ChatCompletions,
    AnthropicMessages,
}

fn azure_deployment(provider: Provider, path: &str) -> Option<String> {
    (provider == Provider::Azure).then_some(())?;
    let rest = path.strip_prefix("/openai/deployments/")?;
    rest.split('/').next().map(str::to_owned)
}

/// All text in `messages` (string contents and `{"type":"text","text":…}` blocks) and `system`.
fn message_text(request: &Value) -> String {
    fn collect(content: &Value, out: &mut String) {
        match content {
            Value::String(text) => out.push_str(text),
            Value::Array(blocks) => {
                for block in blocks {
                    if let Some(text) = block.get("text").and_then(Value::as_str) {
                        out.push_str(text);
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = String::new();
    if let Some(system) = request.get("system") {
        collect(system, &mut out);
    }
    for message in request
        .get("messages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(content) = message.get("content") {
            collect(content, &mut out);
        }
    }
    out
}

/// <https://platform.openai.com/docs/api-reference/chat/object>, with the per-provider extras.
fn chat_completion(provider: Provider, model: &str, input: u64, output: u64) -> Value {
    let mut usage = json!({
        "prompt_tokens": input,
        "completion_tokens": output,
        "total_tokens": input + output,
    });
    if matches!(provider, Provider::OpenAi | Provider::Azure) {
        usage["prompt_tokens_details"] = json!({"cached_tokens": 0, "audio_tokens": 0});
        usage["completion_tokens_details"] = json!({
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0
        });
    }
    if provider == Provider::Perplexity {
        // https://docs.perplexity.ai/api-reference/chat-completions-post
        usage["search_context_size"] = json!("low");
    }
    let mut body = json!({
        "id": "chatcmpl-mockKeyward0001",
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": REPLY, "refusal": null, "annotations": []},
            "logprobs": null,
            "finish_reason": "stop"
        }],
        "usage": usage,
        "system_fingerprint": "fp_mockkeyward"
    });
    match provider {
        Provider::Perplexity => {
            body["citations"] = json!(["https://example.com/source"]);
            body["search_results"] =
                json!([{"title": "Source", "url": "https://example.com/source", "date": null}]);
        }
        // https://learn.microsoft.com/en-us/azure/ai-services/openai/concepts/content-filter
        Provider::Azure => {
            body["prompt_filter_results"] =
                json!([{"prompt_index": 0, "content_filter_results": {}}]);
            body["choices"][0]["content_filter_results"] = json!({
                "hate": {"filtered": false, "severity": "safe"},
                "self_harm": {"filtered": false, "severity": "safe"},
                "sexual": {"filtered": false, "severity": "safe"},
                "violence": {"filtered": false, "severity": "safe"}
            });
        }
        _ => {}
    }
    body
}

/// <https://docs.anthropic.com/en/api/messages>
fn anthropic_message(model: &str, input: u64, output: u64) -> Value {
    json!({
        "id": "msg_01MockKeywardTestkit0001",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": REPLY}],
        "stop_reason": "end_turn",
        "stop_sequence": null,
        "usage": {
            "input_tokens": input,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": output,
            "service_tier": "standard"
        }
    })
}

fn bad_request(provider: Provider, message: &str) -> HttpResponse {
    let body = match provider {
        Provider::Anthropic => json!({
            "type": "error",
            "error": {"type": "invalid_request_error", "message": message}
        }),
        _ => json!({
            "error": {"message": message, "type": "invalid_request_error", "param": null, "code": null}
        }),
    };
    builder(provider, StatusCode::BAD_REQUEST).json(body)
}

//! OpenAI-style chat completions (OpenAI, Azure OpenAI, Mistral, Perplexity, OpenAI-compatible),
//! plain and streamed, with each provider's usage habits.
//!
//! - Object: <https://platform.openai.com/docs/api-reference/chat/object>; chunks:
//!   <https://platform.openai.com/docs/api-reference/chat-streaming>. The usage-only chunk
//!   (`choices: []`) comes last, only with `stream_options.include_usage`.
//! - Azure adds `prompt_filter_results` / `content_filter_results` and streams a first chunk with
//!   empty `choices` (<https://learn.microsoft.com/en-us/azure/ai-services/openai/concepts/content-filter>).
//! - Mistral puts `usage` on its final chunk unasked
//!   (<https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post>).
//! - Perplexity adds `citations` / `search_results` and puts `usage` on the final chunk
//!   (<https://docs.perplexity.ai/api-reference/chat-completions-post>).

use keyward_providers::Provider;
use serde_json::{Value, json};

use super::scenario::{Completion, Finish, TOOL_ARGUMENTS};

/// Fixed `created` timestamp, so responses are reproducible.
const CREATED: u64 = 1_735_689_600;

/// The id of the mock's tool calls.
pub const TOOL_CALL_ID: &str = "call_mockKeyward01";

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Stop | Finish::StopSequence(_) => "stop",
        Finish::Length => "length",
        Finish::ToolUse => "tool_calls",
    }
}

fn usage(provider: Provider, c: &Completion) -> Value {
    let u = &c.usage;
    let mut usage = json!({
        "prompt_tokens": u.prompt(),
        "completion_tokens": u.output,
        "total_tokens": u.prompt() + u.output,
    });
    if matches!(provider, Provider::OpenAi | Provider::Azure) {
        usage["prompt_tokens_details"] = json!({"cached_tokens": u.cached, "audio_tokens": 0});
        usage["completion_tokens_details"] = json!({
            "reasoning_tokens": u.reasoning, "audio_tokens": 0,
            "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0
        });
    }
    if provider == Provider::Perplexity {
        usage["search_context_size"] = json!("low");
    }
    usage
}

fn extras(provider: Provider, body: &mut Value) {
    if provider == Provider::Perplexity {
        body["citations"] = json!(["https://example.com/source"]);
        body["search_results"] =
            json!([{"title": "Source", "url": "https://example.com/source", "date": null}]);
    }
}

/// A non-streaming `chat.completion`.
pub(crate) fn completion(provider: Provider, c: &Completion) -> Value {
    let mut message =
        json!({"role": "assistant", "content": c.text, "refusal": null, "annotations": []});
    if let Some(name) = &c.tool {
        message["content"] = Value::Null;
        message["tool_calls"] = json!([{
            "id": TOOL_CALL_ID, "type": "function",
            "function": {"name": name, "arguments": TOOL_ARGUMENTS}
        }]);
    }
    let mut body = json!({
        "id": "chatcmpl-mockKeyward0001",
        "object": "chat.completion",
        "created": CREATED,
        "model": c.model,
        "choices": [{"index": 0, "message": message, "logprobs": null, "finish_reason": finish_reason(&c.finish)}],
        "usage": usage(provider, c),
        "system_fingerprint": "fp_mockkeyward"
    });
    extras(provider, &mut body);
    if provider == Provider::Azure {
        body["prompt_filter_results"] = json!([{"prompt_index": 0, "content_filter_results": {}}]);
        body["choices"][0]["content_filter_results"] = json!({
            "hate": {"filtered": false, "severity": "safe"},
            "self_harm": {"filtered": false, "severity": "safe"},
            "sexual": {"filtered": false, "severity": "safe"},
            "violence": {"filtered": false, "severity": "safe"}
        });
    }
    body
}

fn chunk(c: &Completion, choices: Value) -> Value {
    json!({
        "id": "chatcmpl-mockKeyward0001",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": c.model,
        "system_fingerprint": "fp_mockkeyward",
        "choices": choices,
    })
}

fn choice(delta: Value, finish: Option<&str>) -> Value {
    json!([{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}])
}

fn event(value: &Value) -> Vec<u8> {
    format!("data: {value}\n\n").into_bytes()
}

/// The SSE body of a streamed completion, one event per element.
pub(crate) fn stream(provider: Provider, c: &Completion) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    if provider == Provider::Azure {
        let mut first = chunk(c, json!([]));
        first["prompt_filter_results"] = json!([{"prompt_index": 0, "content_filter_results": {}}]);
        events.push(event(&first));
    }
    events.push(event(&chunk(
        c,
        choice(
            json!({"role": "assistant", "content": "", "refusal": null}),
            None,
        ),
    )));
    if let Some(name) = &c.tool {
        let start = json!({"tool_calls": [{"index": 0, "id": TOOL_CALL_ID, "type": "function",
            "function": {"name": name, "arguments": ""}}]});
        events.push(event(&chunk(c, choice(start, None))));
        let (a, b) = TOOL_ARGUMENTS.split_at(TOOL_ARGUMENTS.len() / 2);
        for part in [a, b] {
            let args = json!({"tool_calls": [{"index": 0, "function": {"arguments": part}}]});
            events.push(event(&chunk(c, choice(args, None))));
        }
    }
    for piece in c.pieces() {
        events.push(event(&chunk(c, choice(json!({"content": piece}), None))));
    }
    let mut last = chunk(c, choice(json!({}), Some(finish_reason(&c.finish))));
    if matches!(provider, Provider::Mistral | Provider::Perplexity) {
        last["usage"] = usage(provider, c);
        extras(provider, &mut last);
    }
    events.push(event(&last));
    if c.include_usage
        && matches!(
            provider,
            Provider::OpenAi | Provider::Azure | Provider::OpenAiCompatible
        )
    {
        let mut tail = chunk(c, json!([]));
        tail["usage"] = usage(provider, c);
        events.push(event(&tail));
    }
    events.push(b"data: [DONE]\n\n".to_vec());
    events
}

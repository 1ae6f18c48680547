//! Cohere v2 chat, plain and streamed.
//!
//! Response: <https://docs.cohere.com/reference/chat> (`message.content[]`, `tool_calls`,
//! `tool_plan`, `finish_reason`, `usage.billed_units` / `usage.tokens`). Stream:
//! <https://docs.cohere.com/v2/docs/streaming> — `message-start`, `content-start`,
//! `content-delta`, `content-end`, `tool-plan-delta`, `tool-call-start|delta|end`,
//! `message-end` with `finish_reason` and `usage`.

use serde_json::{Value, json};

use super::scenario::{Completion, Finish, TOOL_ARGUMENTS};

const RESPONSE_ID: &str = "c0a1b2c3-mock-4eyw-ard0-cohere000001";

/// The id of the mock's tool calls.
pub const TOOL_CALL_ID: &str = "weather_mockkeyward01";

/// Cohere's chat template adds tokens the caller does not pay for: `tokens` shows them,
/// `billed_units` does not.
const TEMPLATE_TOKENS: u64 = 100;

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Stop => "COMPLETE",
        Finish::StopSequence(_) => "STOP_SEQUENCE",
        Finish::Length => "MAX_TOKENS",
        Finish::ToolUse => "TOOL_CALL",
    }
}

fn usage(c: &Completion) -> Value {
    let u = &c.usage;
    json!({
        "billed_units": {"input_tokens": u.prompt(), "output_tokens": u.output},
        "tokens": {"input_tokens": u.prompt() + TEMPLATE_TOKENS, "output_tokens": u.output},
        "cached_tokens": 0
    })
}

fn tool_call(name: &str) -> Value {
    json!({"id": TOOL_CALL_ID, "type": "function", "function": {"name": name, "arguments": TOOL_ARGUMENTS}})
}

/// A non-streaming v2 chat response.
pub(crate) fn chat(c: &Completion) -> Value {
    let mut message = json!({"role": "assistant"});
    if !c.text.is_empty() {
        message["content"] = json!([{"type": "text", "text": c.text}]);
    }
    if let Some(name) = &c.tool {
        message["tool_plan"] = json!(format!("I will call {name}."));
        message["tool_calls"] = json!([tool_call(name)]);
    }
    json!({"id": RESPONSE_ID, "finish_reason": finish_reason(&c.finish), "message": message, "usage": usage(c)})
}

fn event(kind: &str, mut data: Value) -> Vec<u8> {
    data["type"] = json!(kind);
    format!("event: {kind}\ndata: {data}\n\n").into_bytes()
}

/// The SSE body of a streamed chat, one event per element.
pub(crate) fn stream(c: &Completion) -> Vec<Vec<u8>> {
    let mut events = vec![event(
        "message-start",
        json!({"id": RESPONSE_ID,
        "delta": {"message": {"role": "assistant", "content": [], "tool_plan": "", "tool_calls": [], "citations": []}}}),
    )];
    if !c.text.is_empty() {
        events.push(event(
            "content-start",
            json!({"index": 0,
            "delta": {"message": {"content": {"type": "text", "text": ""}}}}),
        ));
        for piece in c.pieces() {
            events.push(event(
                "content-delta",
                json!({"index": 0, "delta": {"message": {"content": {"text": piece}}}}),
            ));
        }
        events.push(event("content-end", json!({"index": 0})));
    }
    if let Some(name) = &c.tool {
        events.push(event(
            "tool-plan-delta",
            json!({"delta": {"message": {"tool_plan": format!("I will call {name}.")}}}),
        ));
        let mut start = tool_call(name);
        start["function"]["arguments"] = json!("");
        events.push(event(
            "tool-call-start",
            json!({"index": 0, "delta": {"message": {"tool_calls": start}}}),
        ));
        let (a, b) = TOOL_ARGUMENTS.split_at(TOOL_ARGUMENTS.len() / 2);
        for part in [a, b] {
            events.push(event(
                "tool-call-delta",
                json!({"index": 0,
                "delta": {"message": {"tool_calls": {"function": {"arguments": part}}}}}),
            ));
        }
        events.push(event("tool-call-end", json!({"index": 0})));
    }
    events.push(event(
        "message-end",
        json!({"delta": {"finish_reason": finish_reason(&c.finish), "usage": usage(c)}}),
    ));
    events
}

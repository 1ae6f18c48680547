//! Anthropic Messages, plain and streamed.
//!
//! - Message: <https://docs.anthropic.com/en/api/messages>; usage with
//!   `cache_creation_input_tokens`, `cache_read_input_tokens` and the `cache_creation` 5m/1h
//!   split (<https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching>).
//! - Stream: `message_start` (input usage, `output_tokens: 1`), `content_block_start`, `ping`,
//!   `content_block_delta` (`text_delta` / `input_json_delta`), `content_block_stop`,
//!   `message_delta` (stop reason, cumulative `output_tokens`), `message_stop`
//!   (<https://docs.anthropic.com/en/docs/build-with-claude/streaming>).

use serde_json::{Value, json};

use super::scenario::{Completion, Finish, TOOL_ARGUMENTS};

const MESSAGE_ID: &str = "msg_01MockKeywardTestkit0001";

/// The id of the mock's tool calls.
pub const TOOL_USE_ID: &str = "toolu_01MockKeywardTestkit01";

fn stop(finish: &Finish) -> (&'static str, Value) {
    match finish {
        Finish::Stop => ("end_turn", Value::Null),
        Finish::StopSequence(s) => ("stop_sequence", json!(s)),
        Finish::Length => ("max_tokens", Value::Null),
        Finish::ToolUse => ("tool_use", Value::Null),
    }
}

fn usage(c: &Completion, output: u64) -> Value {
    let u = &c.usage;
    json!({
        "input_tokens": u.input,
        "cache_creation_input_tokens": u.write_5m + u.write_1h,
        "cache_read_input_tokens": u.cached,
        "cache_creation": {"ephemeral_5m_input_tokens": u.write_5m, "ephemeral_1h_input_tokens": u.write_1h},
        "output_tokens": output,
        "service_tier": "standard"
    })
}

fn content(c: &Completion) -> Vec<Value> {
    let mut blocks = Vec::new();
    if !c.text.is_empty() {
        blocks.push(json!({"type": "text", "text": c.text}));
    }
    if let Some(name) = &c.tool {
        let input: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or_default();
        blocks.push(json!({"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": input}));
    }
    blocks
}

/// A non-streaming `message`.
pub(crate) fn message(c: &Completion) -> Value {
    let (stop_reason, stop_sequence) = stop(&c.finish);
    json!({
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": c.model,
        "content": content(c),
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": usage(c, c.usage.output)
    })
}

fn event(name: &str, data: &Value) -> Vec<u8> {
    format!("event: {name}\ndata: {data}\n\n").into_bytes()
}

/// The SSE body of a streamed message, one event per element.
pub(crate) fn stream(c: &Completion) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    let start = json!({"type": "message_start", "message": {
        "id": MESSAGE_ID, "type": "message", "role": "assistant", "model": c.model,
        "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage(c, 1)
    }});
    events.push(event("message_start", &start));
    let mut index = 0;
    if !c.text.is_empty() {
        events.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "text", "text": ""}}),
        ));
        events.push(event("ping", &json!({"type": "ping"})));
        for piece in c.pieces() {
            events.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "text_delta", "text": piece}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    if let Some(name) = &c.tool {
        events.push(event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index,
            "content_block": {"type": "tool_use", "id": TOOL_USE_ID, "name": name, "input": {}}}),
        ));
        let (a, b) = TOOL_ARGUMENTS.split_at(TOOL_ARGUMENTS.len() / 2);
        for part in ["", a, b] {
            events.push(event(
                "content_block_delta",
                &json!({"type": "content_block_delta", "index": index,
                "delta": {"type": "input_json_delta", "partial_json": part}}),
            ));
        }
        events.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
    }
    let (stop_reason, stop_sequence) = stop(&c.finish);
    events.push(event(
        "message_delta",
        &json!({"type": "message_delta",
        "delta": {"stop_reason": stop_reason, "stop_sequence": stop_sequence},
        "usage": {"output_tokens": c.usage.output}}),
    ));
    events.push(event("message_stop", &json!({"type": "message_stop"})));
    events
}

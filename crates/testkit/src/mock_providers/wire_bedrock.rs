//! Bedrock Converse and ConverseStream; the stream in AWS event stream binary frames.
//!
//! - Converse response: <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax>
//!   (`usage.inputTokens` excludes `cacheReadInputTokens` / `cacheWriteInputTokens`).
//! - Stream events: <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html>;
//!   each frame has `:event-type`, `:content-type: application/json`, `:message-type: event`.
//!   Framing (prelude, CRCs) is written by AWS's `aws-smithy-eventstream`.

use aws_smithy_eventstream::frame::write_message_to;
use aws_smithy_types::event_stream::{Header, HeaderValue, Message};
use serde_json::{Value, json};

use super::scenario::{Completion, Finish, TOOL_ARGUMENTS};

/// The id of the mock's tool calls.
pub const TOOL_USE_ID: &str = "tooluse_mockKeywardBedrock01";

fn stop_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Stop => "end_turn",
        Finish::StopSequence(_) => "stop_sequence",
        Finish::Length => "max_tokens",
        Finish::ToolUse => "tool_use",
    }
}

fn usage(c: &Completion) -> Value {
    let u = &c.usage;
    let mut usage = json!({
        "inputTokens": u.input,
        "outputTokens": u.output,
        "totalTokens": u.prompt() + u.output,
    });
    if u.cached + u.write_5m + u.write_1h > 0 {
        usage["cacheReadInputTokens"] = json!(u.cached);
        usage["cacheWriteInputTokens"] = json!(u.write_5m + u.write_1h);
    }
    usage
}

/// A Converse response.
pub(crate) fn converse(c: &Completion) -> Value {
    let mut content = Vec::new();
    if !c.text.is_empty() {
        content.push(json!({"text": c.text}));
    }
    if let Some(name) = &c.tool {
        let input: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or_default();
        content.push(json!({"toolUse": {"toolUseId": TOOL_USE_ID, "name": name, "input": input}}));
    }
    json!({
        "output": {"message": {"role": "assistant", "content": content}},
        "stopReason": stop_reason(&c.finish),
        "usage": usage(c),
        "metrics": {"latencyMs": 42}
    })
}

fn string(value: &str) -> HeaderValue {
    HeaderValue::String(value.to_owned().into())
}

/// One event stream frame.
pub(crate) fn frame(message_type: &str, name: &str, payload: &Value) -> Vec<u8> {
    let name_header = if message_type == "exception" {
        ":exception-type"
    } else {
        ":event-type"
    };
    let message = Message::new(payload.to_string().into_bytes())
        .add_header(Header::new(name_header, string(name)))
        .add_header(Header::new(":content-type", string("application/json")))
        .add_header(Header::new(":message-type", string(message_type)));
    let mut out = Vec::new();
    // Writing to a Vec cannot fail; an empty frame would make the test fail visibly.
    let _ = write_message_to(&message, &mut out);
    out
}

/// The frames of a ConverseStream answer, one per element.
pub(crate) fn stream(c: &Completion) -> Vec<Vec<u8>> {
    let event = |name: &str, payload: Value| frame("event", name, &payload);
    let mut frames = vec![event("messageStart", json!({"role": "assistant"}))];
    let mut index = 0;
    if !c.text.is_empty() {
        for piece in c.pieces() {
            frames.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index, "delta": {"text": piece}}),
            ));
        }
        frames.push(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        ));
        index += 1;
    }
    if let Some(name) = &c.tool {
        frames.push(event(
            "contentBlockStart",
            json!({"contentBlockIndex": index,
            "start": {"toolUse": {"toolUseId": TOOL_USE_ID, "name": name}}}),
        ));
        let (a, b) = TOOL_ARGUMENTS.split_at(TOOL_ARGUMENTS.len() / 2);
        for part in [a, b] {
            frames.push(event(
                "contentBlockDelta",
                json!({"contentBlockIndex": index,
                "delta": {"toolUse": {"input": part}}}),
            ));
        }
        frames.push(event(
            "contentBlockStop",
            json!({"contentBlockIndex": index}),
        ));
    }
    frames.push(event(
        "messageStop",
        json!({"stopReason": stop_reason(&c.finish)}),
    ));
    frames.push(event(
        "metadata",
        json!({"usage": usage(c), "metrics": {"latencyMs": 42}}),
    ));
    frames
}

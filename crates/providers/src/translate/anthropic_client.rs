//! For Anthropic-shaped clients against non-Anthropic upstreams: Anthropic Messages requests →
//! OpenAI chat completions (the pivot), and OpenAI `chat.completion` → Anthropic `message`.
//!
//! References: <https://docs.anthropic.com/en/api/messages>,
//! <https://platform.openai.com/docs/api-reference/chat/create>.

use serde_json::{Map, Value, json};

use super::{Result, TranslateError, invalid, parse_arguments, text_of};
use crate::usage::{FinishReason, Usage};

/// Builds the pivot (OpenAI-shaped) request for an Anthropic-shaped `request`.
///
/// `max_completion_tokens` is used instead of the deprecated `max_tokens` when
/// `max_completion_tokens` is true (OpenAI and Azure, whose reasoning models reject `max_tokens`).
pub(crate) fn request_to_openai(
    request: &Value,
    model: &str,
    max_completion_tokens: bool,
) -> Result<Value> {
    let mut messages = Vec::new();
    match request.get("system") {
        Some(Value::String(text)) => messages.push(json!({"role": "system", "content": text})),
        Some(Value::Array(blocks)) => {
            messages.push(json!({"role": "system", "content": text_parts(blocks)}));
        }
        _ => {}
    }
    let turns = request
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("messages: Field required"))?;
    for turn in turns {
        let role = turn.get("role").and_then(Value::as_str).unwrap_or_default();
        let content = turn.get("content").unwrap_or(&Value::Null);
        match (role, content) {
            (_, Value::String(text)) => messages.push(json!({"role": role, "content": text})),
            ("user", Value::Array(blocks)) => user_turn(blocks, &mut messages)?,
            ("assistant", Value::Array(blocks)) => messages.push(assistant_turn(blocks)),
            _ => {
                return Err(invalid(format!(
                    "messages: unexpected role `{role}` or content"
                )));
            }
        }
    }

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    if let Some(max) = request.get("max_tokens").filter(|v| v.is_u64()) {
        let name = if max_completion_tokens {
            "max_completion_tokens"
        } else {
            "max_tokens"
        };
        body.insert(name.into(), max.clone());
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "top_p"),
        ("stop_sequences", "stop"),
    ] {
        if let Some(value) = request.get(from).filter(|v| !v.is_null()) {
            body.insert(to.into(), value.clone());
        }
    }
    if let Some(user) = request
        .pointer("/metadata/user_id")
        .filter(|v| v.is_string())
    {
        body.insert("user".into(), user.clone());
    }
    if request.get("stream").and_then(Value::as_bool) == Some(true) {
        body.insert("stream".into(), json!(true));
    }
    add_tools(request, &mut body)?;
    Ok(Value::Object(body))
}

/// Text blocks as OpenAI text parts, keeping `cache_control` for providers that cache.
fn text_parts(blocks: &[Value]) -> Vec<Value> {
    blocks
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) == Some("text"))
        .map(|b| {
            let mut part =
                json!({"type": "text", "text": b.get("text").cloned().unwrap_or_default()});
            if let Some(cache) = b.get("cache_control") {
                part["cache_control"] = cache.clone();
            }
            part
        })
        .collect()
}

/// A user turn: its `tool_result` blocks become `tool` messages (first, right after the
/// assistant's tool calls), the rest one user message.
fn user_turn(blocks: &[Value], messages: &mut Vec<Value>) -> Result<()> {
    let mut parts = Vec::new();
    for block in blocks {
        let mut part = match block.get("type").and_then(Value::as_str) {
            Some("tool_result") => {
                let content = match block.get("content") {
                    Some(Value::Array(inner)) => text_of(&Value::Array(inner.clone())),
                    Some(other) => text_of(other),
                    None => String::new(),
                };
                messages.push(json!({
                    "role": "tool",
                    "tool_call_id": block.get("tool_use_id").cloned().unwrap_or_default(),
                    "content": content,
                }));
                continue;
            }
            Some("text") => {
                json!({"type": "text", "text": block.get("text").cloned().unwrap_or_default()})
            }
            Some("image") => json!({"type": "image_url", "image_url": {"url": source_url(block)?}}),
            Some("document") => json!({"type": "file", "file": {"file_data": source_url(block)?}}),
            Some(other) => {
                return Err(TranslateError::Unsupported(format!(
                    "content blocks of type `{other}` are not supported by this provider"
                )));
            }
            None => return Err(invalid("content blocks need a `type`")),
        };
        if let Some(cache) = block.get("cache_control") {
            part["cache_control"] = cache.clone();
        }
        parts.push(part);
    }
    if !parts.is_empty() {
        messages.push(json!({"role": "user", "content": parts}));
    }
    Ok(())
}

fn source_url(block: &Value) -> Result<String> {
    let source = block
        .get("source")
        .ok_or_else(|| invalid("source: Field required"))?;
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => Ok(format!(
            "data:{};base64,{}",
            source
                .get("media_type")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            source
                .get("data")
                .and_then(Value::as_str)
                .unwrap_or_default()
        )),
        Some("url") => Ok(source
            .get("url")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()),
        _ => Err(TranslateError::Unsupported(
            "this content source type is not supported".into(),
        )),
    }
}

fn assistant_turn(blocks: &[Value]) -> Value {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in blocks {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(
                block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            Some("tool_use") => calls.push(json!({
                "id": block.get("id").cloned().unwrap_or_default(),
                "type": "function",
                "function": {
                    "name": block.get("name").cloned().unwrap_or_default(),
                    "arguments": block.get("input").unwrap_or(&json!({})).to_string(),
                },
            })),
            // Thinking blocks are Anthropic-only and are not replayed to other providers.
            _ => {}
        }
    }
    let mut message = json!({"role": "assistant", "content": if text.is_empty() && !calls.is_empty() { Value::Null } else { json!(text) }});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    message
}

fn add_tools(request: &Value, body: &mut Map<String, Value>) -> Result<()> {
    let Some(tools) = request.get("tools").and_then(Value::as_array) else {
        return Ok(());
    };
    let mut out = Vec::new();
    for tool in tools {
        if let Some(kind) = tool
            .get("type")
            .and_then(Value::as_str)
            .filter(|k| *k != "custom")
        {
            return Err(TranslateError::Unsupported(format!(
                "Anthropic server tool `{kind}` is only available on Anthropic"
            )));
        }
        let mut function = json!({
            "name": tool.get("name").cloned().unwrap_or_default(),
            "parameters": tool.get("input_schema").cloned().unwrap_or_else(|| json!({"type": "object"})),
        });
        if let Some(description) = tool.get("description") {
            function["description"] = description.clone();
        }
        out.push(json!({"type": "function", "function": function}));
    }
    body.insert("tools".into(), Value::Array(out));
    if let Some(choice) = request.get("tool_choice") {
        let mapped = match choice.get("type").and_then(Value::as_str) {
            Some("any") => json!("required"),
            Some("none") => json!("none"),
            Some("tool") => {
                json!({"type": "function", "function": {"name": choice.get("name").cloned().unwrap_or_default()}})
            }
            _ => json!("auto"),
        };
        body.insert("tool_choice".into(), mapped);
        if choice.get("disable_parallel_tool_use") == Some(&json!(true)) {
            body.insert("parallel_tool_calls".into(), json!(false));
        }
    }
    Ok(())
}

/// Translates an OpenAI `chat.completion` into an Anthropic `message`. `usage` and `finish` are
/// the upstream's own when known (they keep cache-write details and stop sequences the OpenAI
/// shape lacks).
pub(crate) fn response_from_openai(
    response: &Value,
    usage: Option<Usage>,
    finish: Option<FinishReason>,
) -> Result<Value> {
    let message = response
        .pointer("/choices/0/message")
        .ok_or_else(|| TranslateError::InvalidResponse("no `choices[0].message`".into()))?;
    let mut content = Vec::new();
    let text = text_of(message.get("content").unwrap_or(&Value::Null));
    let refusal = message
        .get("refusal")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let text = if text.is_empty() {
        refusal.to_owned()
    } else {
        text
    };
    if !text.is_empty() {
        content.push(json!({"type": "text", "text": text}));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        content.push(json!({
            "type": "tool_use",
            "id": call.get("id").cloned().unwrap_or_default(),
            "name": call.pointer("/function/name").cloned().unwrap_or_default(),
            "input": parse_arguments(call.pointer("/function/arguments")),
        }));
    }
    let stop_reason = finish
        .or_else(|| {
            let reason = response.pointer("/choices/0/finish_reason")?.as_str()?;
            Some(FinishReason::from_openai(reason))
        })
        .map(FinishReason::as_anthropic);
    let usage = usage
        .or_else(|| response.get("usage").and_then(Usage::from_openai))
        .unwrap_or_default();
    Ok(json!({
        "id": response.get("id").cloned().unwrap_or_else(|| json!("msg")),
        "type": "message",
        "role": "assistant",
        "model": response.get("model").cloned().unwrap_or_default(),
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": null,
        "usage": usage.to_anthropic(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_become_tool_messages_before_the_user_text() {
        let request = json!({
            "model": "claude", "max_tokens": 100, "system": [{"type": "text", "text": "Be brief.", "cache_control": {"type": "ephemeral"}}],
            "messages": [
                {"role": "user", "content": "Weather?"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18C"}]},
                    {"type": "text", "text": "And tomorrow?"}
                ]}
            ],
            "tools": [{"name": "weather", "input_schema": {"type": "object"}}],
            "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
            "stop_sequences": ["END"], "stream": true
        });
        let body = request_to_openai(&request, "gpt-4o", true).unwrap();
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(
            messages[0]["content"][0]["cache_control"]["type"],
            "ephemeral"
        );
        assert_eq!(
            messages[2]["tool_calls"][0]["function"]["arguments"],
            "{\"city\":\"Paris\"}"
        );
        assert_eq!(
            messages[3],
            json!({"role": "tool", "tool_call_id": "toolu_1", "content": "18C"})
        );
        assert_eq!(messages[4]["role"], "user");
        assert_eq!(body["max_completion_tokens"], 100);
        assert_eq!(body["stop"], json!(["END"]));
        assert_eq!(body["tool_choice"], "required");
        assert_eq!(body["parallel_tool_calls"], false);
    }

    #[test]
    fn server_tools_are_refused() {
        let request = json!({"model": "m", "max_tokens": 1, "messages": [],
            "tools": [{"type": "web_search_20250305", "name": "web_search"}]});
        assert!(matches!(
            request_to_openai(&request, "gpt-4o", true),
            Err(TranslateError::Unsupported(_))
        ));
    }

    #[test]
    fn openai_completion_becomes_an_anthropic_message() {
        let response = json!({
            "id": "chatcmpl-1", "model": "gpt-4o",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]}}],
            "usage": {"prompt_tokens": 30, "completion_tokens": 5, "total_tokens": 35, "prompt_tokens_details": {"cached_tokens": 10}}
        });
        let message = response_from_openai(&response, None, None).unwrap();
        assert_eq!(message["stop_reason"], "tool_use");
        assert_eq!(message["content"][0]["input"], json!({"city": "Paris"}));
        assert_eq!(message["usage"]["input_tokens"], 20);
        assert_eq!(message["usage"]["cache_read_input_tokens"], 10);
        assert_eq!(message["usage"]["output_tokens"], 5);
    }
}

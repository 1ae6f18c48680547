//! OpenAI chat completions → Anthropic Messages requests, and Anthropic → OpenAI responses.
//!
//! Reference: <https://docs.anthropic.com/en/api/messages> (request and response),
//! <https://docs.anthropic.com/en/docs/build-with-claude/tool-use> (tools),
//! <https://docs.anthropic.com/en/docs/build-with-claude/prompt-caching> (`cache_control`).

use serde_json::{Map, Value, json};

use super::{
    Result, TranslateError, assistant_message, data_url, invalid, max_tokens, messages,
    openai_completion, parse_arguments, single_choice, stop_sequences, text_of, tool_call,
};
use crate::usage::{FinishReason, Usage};

/// `max_tokens` is required by Anthropic; OpenAI's is optional. 4096 is within every Claude
/// model's output limit.
pub(crate) const DEFAULT_MAX_TOKENS: u64 = 4096;

/// Builds the Anthropic request body for an OpenAI-shaped `request`.
pub(crate) fn request_from_openai(request: &Value, model: &str, stream: bool) -> Result<Value> {
    single_choice(request, "Anthropic")?;
    let mut system: Vec<Value> = Vec::new();
    let mut turns: Vec<(String, Vec<Value>)> = Vec::new();
    for message in messages(request)? {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.extend(text_blocks(content, message)),
            "user" => push_turn(&mut turns, "user", user_blocks(content)?),
            "assistant" => push_turn(&mut turns, "assistant", assistant_blocks(message)),
            "tool" => {
                let id = message
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let block = json!({
                    "type": "tool_result",
                    "tool_use_id": id,
                    "content": text_of(content),
                });
                push_turn(&mut turns, "user", vec![block]);
            }
            other => return Err(invalid(format!("unsupported message role `{other}`"))),
        }
    }
    let messages: Vec<Value> = turns
        .into_iter()
        .filter(|(_, blocks)| !blocks.is_empty())
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();

    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(messages));
    body.insert(
        "max_tokens".into(),
        json!(max_tokens(request).unwrap_or(DEFAULT_MAX_TOKENS)),
    );
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    if let Some(t) = request.get("temperature").and_then(Value::as_f64) {
        // OpenAI's range is 0–2, Anthropic's 0–1.
        body.insert("temperature".into(), json!(t.min(1.0)));
    }
    if let Some(p) = request.get("top_p").filter(|v| v.is_number()) {
        body.insert("top_p".into(), p.clone());
    }
    if let Some(stop) = stop_sequences(request) {
        body.insert("stop_sequences".into(), Value::Array(stop));
    }
    if let Some(user) = request.get("user").and_then(Value::as_str) {
        body.insert("metadata".into(), json!({"user_id": user}));
    }
    add_tools(request, &mut body);
    if let Some(format) = request
        .pointer("/response_format/type")
        .and_then(Value::as_str)
        && format == "json_schema"
    {
        return Err(TranslateError::Unsupported(
            "`response_format` of type `json_schema` is not supported by Anthropic; use a tool"
                .into(),
        ));
    }
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(body))
}

fn push_turn(turns: &mut Vec<(String, Vec<Value>)>, role: &str, blocks: Vec<Value>) {
    match turns.last_mut() {
        Some((last, content)) if last == role => content.extend(blocks),
        _ => turns.push((role.to_owned(), blocks)),
    }
}

/// Text blocks of a system/developer message, keeping any `cache_control` on the message or
/// on its parts (OpenAI has no caching field; LiteLLM-style clients put it there).
fn text_blocks(content: &Value, message: &Value) -> Vec<Value> {
    let with_cache = |mut block: Value, source: &Value| {
        if let Some(cache) = source.get("cache_control") {
            block["cache_control"] = cache.clone();
        }
        block
    };
    match content {
        Value::String(text) => vec![with_cache(json!({"type": "text", "text": text}), message)],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| {
                let text = p.get("text")?.as_str()?;
                Some(with_cache(json!({"type": "text", "text": text}), p))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn user_blocks(content: &Value) -> Result<Vec<Value>> {
    let Value::Array(parts) = content else {
        return Ok(vec![json!({"type": "text", "text": text_of(content)})]);
    };
    parts
        .iter()
        .map(|part| {
            let kind = part.get("type").and_then(Value::as_str).unwrap_or("text");
            let mut block = match kind {
                "text" => json!({"type": "text", "text": part.get("text").cloned().unwrap_or_default()}),
                "image_url" => {
                    let url = part.pointer("/image_url/url").and_then(Value::as_str).unwrap_or_default();
                    let source = match data_url(url) {
                        Some((media_type, data)) => {
                            json!({"type": "base64", "media_type": media_type, "data": data})
                        }
                        None => json!({"type": "url", "url": url}),
                    };
                    json!({"type": "image", "source": source})
                }
                "file" => {
                    let data = part.pointer("/file/file_data").and_then(Value::as_str).unwrap_or_default();
                    let (media_type, data) = data_url(data)
                        .ok_or_else(|| invalid("file parts need `file_data` as a base64 data URL"))?;
                    json!({"type": "document", "source": {"type": "base64", "media_type": media_type, "data": data}})
                }
                other => {
                    return Err(TranslateError::Unsupported(format!(
                        "content parts of type `{other}` are not supported by Anthropic"
                    )));
                }
            };
            if let Some(cache) = part.get("cache_control") {
                block["cache_control"] = cache.clone();
            }
            Ok(block)
        })
        .collect()
}

fn assistant_blocks(message: &Value) -> Vec<Value> {
    let mut blocks = Vec::new();
    let text = text_of(message.get("content").unwrap_or(&Value::Null));
    if !text.is_empty() {
        blocks.push(json!({"type": "text", "text": text}));
    }
    for call in message
        .get("tool_calls")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        blocks.push(json!({
            "type": "tool_use",
            "id": call.get("id").cloned().unwrap_or_default(),
            "name": call.pointer("/function/name").cloned().unwrap_or_default(),
            "input": parse_arguments(call.pointer("/function/arguments")),
        }));
    }
    blocks
}

fn add_tools(request: &Value, body: &mut Map<String, Value>) {
    let tools: Vec<Value> = request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let function = tool.get("function")?;
            let mut out = json!({
                "name": function.get("name")?,
                "input_schema": function
                    .get("parameters")
                    .cloned()
                    .unwrap_or_else(|| json!({"type": "object", "properties": {}})),
            });
            if let Some(description) = function.get("description") {
                out["description"] = description.clone();
            }
            if let Some(cache) = tool.get("cache_control") {
                out["cache_control"] = cache.clone();
            }
            Some(out)
        })
        .collect();
    let parallel_off = request.get("parallel_tool_calls") == Some(&json!(false));
    let mut choice = match request.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => Some(json!({"type": "none"})),
        Some(Value::String(s)) if s == "required" => Some(json!({"type": "any"})),
        Some(Value::String(s)) if s == "auto" => Some(json!({"type": "auto"})),
        Some(Value::Object(o)) => o
            .get("function")
            .and_then(|f| f.get("name"))
            .map(|name| json!({"type": "tool", "name": name})),
        _ => None,
    };
    if tools.is_empty() {
        return;
    }
    if parallel_off {
        let c = choice.get_or_insert_with(|| json!({"type": "auto"}));
        if c["type"] != "none" {
            c["disable_parallel_tool_use"] = json!(true);
        }
    }
    body.insert("tools".into(), Value::Array(tools));
    if let Some(choice) = choice {
        body.insert("tool_choice".into(), choice);
    }
}

/// Translates an Anthropic `message` response into an OpenAI `chat.completion`.
pub(crate) fn response_to_openai(response: &Value) -> Result<Value> {
    let content = response
        .get("content")
        .and_then(Value::as_array)
        .ok_or_else(|| TranslateError::InvalidResponse("no `content` array".into()))?;
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(
                block
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            Some("tool_use") => calls.push(tool_call(
                block.get("id").and_then(Value::as_str).unwrap_or_default(),
                block
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                block.get("input").unwrap_or(&json!({})),
            )),
            _ => {}
        }
    }
    let finish = response
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(|r| FinishReason::from_anthropic(r).as_openai());
    let usage = response
        .get("usage")
        .and_then(Usage::from_anthropic)
        .map(|u| u.to_openai());
    Ok(openai_completion(
        response.get("id").and_then(Value::as_str).unwrap_or("msg"),
        response
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        assistant_message(text, calls),
        finish,
        usage,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_tools_and_tool_results_map_to_anthropic() {
        let request = json!({
            "model": "ignored",
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather in Paris?"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "call_1", "content": "18C"},
                {"role": "user", "content": "Thanks"}
            ],
            "tools": [{"type": "function", "function": {"name": "weather", "parameters": {"type": "object"}}}],
            "tool_choice": "required", "parallel_tool_calls": false,
            "temperature": 1.5, "stop": "END", "max_completion_tokens": 50
        });
        let body = request_from_openai(&request, "claude-x", true).unwrap();
        assert_eq!(
            body["system"],
            json!([{"type": "text", "text": "Be brief."}])
        );
        assert_eq!(body["max_tokens"], 50);
        assert_eq!(body["temperature"], 1.0);
        assert_eq!(body["stop_sequences"], json!(["END"]));
        assert_eq!(
            body["tool_choice"],
            json!({"type": "any", "disable_parallel_tool_use": true})
        );
        assert_eq!(body["tools"][0]["input_schema"], json!({"type": "object"}));
        let messages = body["messages"].as_array().unwrap();
        assert_eq!(messages.len(), 3);
        assert_eq!(messages[1]["content"][0]["input"], json!({"city": "Paris"}));
        assert_eq!(messages[2]["content"][0]["type"], "tool_result");
        assert_eq!(
            messages[2]["content"][1],
            json!({"type": "text", "text": "Thanks"})
        );
        assert_eq!(body["stream"], true);
    }

    #[test]
    fn response_maps_tool_use_and_cache_usage() {
        let response = json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": "Checking."},
                        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 20, "output_tokens": 9}
        });
        let out = response_to_openai(&response).unwrap();
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        let call = &out["choices"][0]["message"]["tool_calls"][0];
        assert_eq!(call["function"]["arguments"], "{\"city\":\"Paris\"}");
        assert_eq!(out["usage"]["prompt_tokens"], 125);
        assert_eq!(out["usage"]["prompt_tokens_details"]["cached_tokens"], 100);
        assert_eq!(out["usage"]["cache_creation_input_tokens"], 20);
    }
}

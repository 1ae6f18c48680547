//! OpenAI chat completions → Bedrock Converse, and Converse responses → OpenAI.
//!
//! References: <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html>,
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ContentBlock.html>,
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ToolConfiguration.html>,
//! <https://docs.aws.amazon.com/bedrock/latest/userguide/prompt-caching.html> (`cachePoint`).

use serde_json::{Map, Value, json};

use super::{
    Result, TranslateError, assistant_message, data_url, invalid, max_tokens, messages,
    openai_completion, parse_arguments, single_choice, stop_sequences, text_of, tool_call,
};
use crate::usage::{FinishReason, Usage};

fn cache_point() -> Value {
    json!({"cachePoint": {"type": "default"}})
}

/// Builds the Converse request body (the model is in the URL) for an OpenAI-shaped `request`.
/// `cache_control` markers become `cachePoint` blocks after the marked content.
pub(crate) fn request_from_openai(request: &Value) -> Result<Value> {
    single_choice(request, "Bedrock")?;
    let mut system = Vec::new();
    let mut turns: Vec<(String, Vec<Value>)> = Vec::new();
    for message in messages(request)? {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.extend(blocks(content, message)?),
            "user" => push(&mut turns, "user", blocks(content, message)?),
            "assistant" => {
                let mut out = Vec::new();
                let text = text_of(content);
                if !text.is_empty() {
                    out.push(json!({"text": text}));
                }
                for call in message
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    out.push(json!({"toolUse": {
                        "toolUseId": call.get("id").cloned().unwrap_or_default(),
                        "name": call.pointer("/function/name").cloned().unwrap_or_default(),
                        "input": parse_arguments(call.pointer("/function/arguments")),
                    }}));
                }
                push(&mut turns, "assistant", out);
            }
            "tool" => push(
                &mut turns,
                "user",
                vec![json!({"toolResult": {
                    "toolUseId": message.get("tool_call_id").cloned().unwrap_or_default(),
                    "content": [{"text": text_of(content)}],
                }})],
            ),
            other => return Err(invalid(format!("unsupported message role `{other}`"))),
        }
    }
    let mut body = Map::new();
    let messages: Vec<Value> = turns
        .into_iter()
        .filter(|(_, content)| !content.is_empty())
        .map(|(role, content)| json!({"role": role, "content": content}))
        .collect();
    body.insert("messages".into(), Value::Array(messages));
    if !system.is_empty() {
        body.insert("system".into(), Value::Array(system));
    }
    let mut config = Map::new();
    if let Some(max) = max_tokens(request) {
        config.insert("maxTokens".into(), json!(max));
    }
    for (from, to) in [("temperature", "temperature"), ("top_p", "topP")] {
        if let Some(value) = request.get(from).filter(|v| v.is_number()) {
            config.insert(to.into(), value.clone());
        }
    }
    if let Some(stop) = stop_sequences(request) {
        config.insert("stopSequences".into(), Value::Array(stop));
    }
    if !config.is_empty() {
        body.insert("inferenceConfig".into(), Value::Object(config));
    }
    add_tools(request, &mut body);
    Ok(Value::Object(body))
}

fn push(turns: &mut Vec<(String, Vec<Value>)>, role: &str, content: Vec<Value>) {
    match turns.last_mut() {
        Some((last, existing)) if last == role => existing.extend(content),
        _ => turns.push((role.to_owned(), content)),
    }
}

/// Content blocks of a user or system message, with a `cachePoint` after each marked part.
fn blocks(content: &Value, message: &Value) -> Result<Vec<Value>> {
    let mut out = Vec::new();
    match content {
        Value::Array(parts) => {
            for part in parts {
                match part.get("type").and_then(Value::as_str) {
                    Some("text") | None => {
                        out.push(json!({"text": part.get("text").cloned().unwrap_or_default()}))
                    }
                    Some("image_url") => {
                        let url = part
                            .pointer("/image_url/url")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        let (media_type, data) = data_url(url).ok_or_else(|| {
                            TranslateError::Unsupported(
                                "Bedrock needs images as base64 data URLs".into(),
                            )
                        })?;
                        let format = media_type.strip_prefix("image/").unwrap_or(media_type);
                        out.push(json!({"image": {"format": format, "source": {"bytes": data}}}));
                    }
                    Some(other) => {
                        return Err(TranslateError::Unsupported(format!(
                            "content parts of type `{other}` are not supported by Bedrock"
                        )));
                    }
                }
                if part.get("cache_control").is_some() {
                    out.push(cache_point());
                }
            }
        }
        other => out.push(json!({"text": text_of(other)})),
    }
    if message.get("cache_control").is_some() {
        out.push(cache_point());
    }
    Ok(out)
}

fn add_tools(request: &Value, body: &mut Map<String, Value>) {
    let tools: Vec<Value> = request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let function = tool.get("function")?;
            let mut spec = json!({
                "name": function.get("name")?,
                "inputSchema": {"json": function.get("parameters").cloned().unwrap_or_else(|| json!({"type": "object"}))},
            });
            if let Some(description) = function.get("description") {
                spec["description"] = description.clone();
            }
            Some(json!({"toolSpec": spec}))
        })
        .collect();
    if tools.is_empty() {
        return;
    }
    let mut config = json!({"tools": tools});
    let choice = match request.get("tool_choice") {
        Some(Value::String(s)) if s == "required" => Some(json!({"any": {}})),
        Some(Value::String(s)) if s == "auto" => Some(json!({"auto": {}})),
        Some(Value::Object(o)) => o
            .get("function")
            .and_then(|f| f.get("name"))
            .map(|name| json!({"tool": {"name": name}})),
        _ => None,
    };
    if let Some(choice) = choice {
        config["toolChoice"] = choice;
    }
    body.insert("toolConfig".into(), config);
}

/// The text and tool calls (id, name, input) of a Converse output message.
fn output_parts(response: &Value) -> (String, Vec<Value>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for block in response
        .pointer("/output/message/content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(t) = block.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(tool) = block.get("toolUse") {
            calls.push(tool_call(
                tool.get("toolUseId")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                tool.get("name").and_then(Value::as_str).unwrap_or_default(),
                tool.get("input").unwrap_or(&json!({})),
            ));
        }
    }
    (text, calls)
}

/// Translates a Converse response into an OpenAI `chat.completion` (Converse has no id or
/// model in its body; `model` is the one called).
pub(crate) fn response_to_openai(response: &Value, model: &str) -> Result<Value> {
    if response.pointer("/output/message").is_none() {
        return Err(TranslateError::InvalidResponse(
            "no `output.message`".into(),
        ));
    }
    let (text, calls) = output_parts(response);
    let finish = response
        .get("stopReason")
        .and_then(Value::as_str)
        .map(|r| FinishReason::from_bedrock(r).as_openai());
    let usage = response
        .get("usage")
        .and_then(Usage::from_bedrock)
        .map(|u| u.to_openai());
    Ok(openai_completion(
        "chatcmpl-bedrock",
        model,
        assistant_message(text, calls),
        finish,
        usage,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_maps_system_cache_points_tools_and_results() {
        let request = json!({"messages": [
            {"role": "system", "content": [{"type": "text", "text": "Long rules", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "tooluse_1", "type": "function",
                "function": {"name": "weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "tooluse_1", "content": "18C"}
        ], "tools": [{"type": "function", "function": {"name": "weather"}}], "tool_choice": "required",
           "max_tokens": 10, "temperature": 0.2, "stop": "END"});
        let body = request_from_openai(&request).unwrap();
        assert_eq!(
            body["system"],
            json!([{"text": "Long rules"}, {"cachePoint": {"type": "default"}}])
        );
        assert_eq!(
            body["messages"][1]["content"][0]["toolUse"]["name"],
            "weather"
        );
        assert_eq!(
            body["messages"][2]["content"][0]["toolResult"]["content"][0]["text"],
            "18C"
        );
        assert_eq!(body["toolConfig"]["toolChoice"], json!({"any": {}}));
        assert_eq!(
            body["inferenceConfig"],
            json!({"maxTokens": 10, "temperature": 0.2, "stopSequences": ["END"]})
        );
    }

    #[test]
    fn response_maps_tool_use_and_cache_usage() {
        let response = json!({"output": {"message": {"role": "assistant", "content": [
            {"toolUse": {"toolUseId": "tooluse_1", "name": "weather", "input": {"city": "Paris"}}}]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 3, "outputTokens": 4, "totalTokens": 37, "cacheReadInputTokens": 10, "cacheWriteInputTokens": 20}});
        let out = response_to_openai(&response, "anthropic.claude").unwrap();
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(out["usage"]["prompt_tokens"], 33);
        assert_eq!(out["usage"]["prompt_tokens_details"]["cached_tokens"], 10);
        assert_eq!(out["usage"]["cache_creation_input_tokens"], 20);
    }
}

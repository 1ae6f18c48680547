//! OpenAI chat completions → Gemini `generateContent`, and `GenerateContentResponse` → OpenAI.
//!
//! References: <https://ai.google.dev/api/generate-content> (request, response, usage),
//! <https://ai.google.dev/gemini-api/docs/function-calling> (tools),
//! <https://ai.google.dev/api/caching#Content> (contents and parts).

use std::collections::HashMap;

use serde_json::{Map, Value, json};

use super::{
    Result, TranslateError, assistant_message, data_url, invalid, max_tokens, messages,
    openai_completion, parse_arguments, single_choice, stop_sequences, text_of, tool_call,
};
use crate::usage::{FinishReason, Usage};

/// Builds the Gemini request body for an OpenAI-shaped `request`.
pub(crate) fn request_from_openai(request: &Value) -> Result<Value> {
    single_choice(request, "this Gemini integration")?;
    let mut system = Vec::new();
    let mut contents: Vec<(String, Vec<Value>)> = Vec::new();
    // Gemini matches function responses by name; OpenAI tool messages carry only the call id.
    let mut names: HashMap<String, String> = HashMap::new();
    for message in messages(request)? {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let content = message.get("content").unwrap_or(&Value::Null);
        match role {
            "system" | "developer" => system.push(json!({"text": text_of(content)})),
            "user" => push(&mut contents, "user", user_parts(content)?),
            "assistant" => {
                let mut parts = Vec::new();
                let text = text_of(content);
                if !text.is_empty() {
                    parts.push(json!({"text": text}));
                }
                for call in message
                    .get("tool_calls")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = call
                        .pointer("/function/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    if let Some(id) = call.get("id").and_then(Value::as_str) {
                        names.insert(id.to_owned(), name.to_owned());
                    }
                    parts.push(json!({"functionCall": {
                        "name": name,
                        "args": parse_arguments(call.pointer("/function/arguments")),
                    }}));
                }
                push(&mut contents, "model", parts);
            }
            "tool" => {
                let id = message
                    .get("tool_call_id")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let name = names.get(id).ok_or_else(|| {
                    invalid(format!("tool message `{id}` answers no earlier tool call"))
                })?;
                push(
                    &mut contents,
                    "user",
                    vec![json!({"functionResponse": {
                        "name": name,
                        "response": {"content": text_of(content)},
                    }})],
                );
            }
            other => return Err(invalid(format!("unsupported message role `{other}`"))),
        }
    }
    let mut body = Map::new();
    let contents: Vec<Value> = contents
        .into_iter()
        .filter(|(_, parts)| !parts.is_empty())
        .map(|(role, parts)| json!({"role": role, "parts": parts}))
        .collect();
    body.insert("contents".into(), Value::Array(contents));
    if !system.is_empty() {
        body.insert("systemInstruction".into(), json!({"parts": system}));
    }
    let config = generation_config(request);
    if !config.is_empty() {
        body.insert("generationConfig".into(), Value::Object(config));
    }
    add_tools(request, &mut body);
    Ok(Value::Object(body))
}

fn push(contents: &mut Vec<(String, Vec<Value>)>, role: &str, parts: Vec<Value>) {
    match contents.last_mut() {
        Some((last, existing)) if last == role => existing.extend(parts),
        _ => contents.push((role.to_owned(), parts)),
    }
}

fn user_parts(content: &Value) -> Result<Vec<Value>> {
    let Value::Array(parts) = content else {
        return Ok(vec![json!({"text": text_of(content)})]);
    };
    parts
        .iter()
        .map(|part| match part.get("type").and_then(Value::as_str) {
            Some("text") | None => {
                Ok(json!({"text": part.get("text").cloned().unwrap_or_default()}))
            }
            Some("image_url") | Some("file") => {
                let url = part
                    .pointer("/image_url/url")
                    .or_else(|| part.pointer("/file/file_data"))
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (mime_type, data) = data_url(url).ok_or_else(|| {
                    TranslateError::Unsupported(
                        "Gemini needs images and files as base64 data URLs".into(),
                    )
                })?;
                Ok(json!({"inlineData": {"mimeType": mime_type, "data": data}}))
            }
            Some(other) => Err(TranslateError::Unsupported(format!(
                "content parts of type `{other}` are not supported by Gemini"
            ))),
        })
        .collect()
}

fn generation_config(request: &Value) -> Map<String, Value> {
    let mut config = Map::new();
    if let Some(max) = max_tokens(request) {
        config.insert("maxOutputTokens".into(), json!(max));
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "topP"),
        ("seed", "seed"),
        ("presence_penalty", "presencePenalty"),
        ("frequency_penalty", "frequencyPenalty"),
    ] {
        if let Some(value) = request.get(from).filter(|v| v.is_number()) {
            config.insert(to.into(), value.clone());
        }
    }
    if let Some(stop) = stop_sequences(request) {
        config.insert("stopSequences".into(), Value::Array(stop));
    }
    match request
        .pointer("/response_format/type")
        .and_then(Value::as_str)
    {
        Some("json_object") => {
            config.insert("responseMimeType".into(), json!("application/json"));
        }
        Some("json_schema") => {
            config.insert("responseMimeType".into(), json!("application/json"));
            if let Some(schema) = request.pointer("/response_format/json_schema/schema") {
                config.insert("responseJsonSchema".into(), schema.clone());
            }
        }
        _ => {}
    }
    // https://ai.google.dev/gemini-api/docs/thinking#set-budget
    let budget = match request.get("reasoning_effort").and_then(Value::as_str) {
        Some("minimal" | "none") => Some(0),
        Some("low") => Some(1024),
        Some("medium") => Some(8192),
        Some("high") => Some(24576),
        _ => None,
    };
    if let Some(budget) = budget {
        config.insert("thinkingConfig".into(), json!({"thinkingBudget": budget}));
    }
    config
}

/// Removes JSON Schema keywords Gemini's OpenAPI-subset `Schema` rejects.
fn clean_schema(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("$schema");
            map.remove("additionalProperties");
            map.remove("strict");
            map.values_mut().for_each(clean_schema);
        }
        Value::Array(items) => items.iter_mut().for_each(clean_schema),
        _ => {}
    }
}

fn add_tools(request: &Value, body: &mut Map<String, Value>) {
    let declarations: Vec<Value> = request
        .get("tools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|tool| {
            let function = tool.get("function")?;
            let mut declaration = json!({"name": function.get("name")?});
            if let Some(description) = function.get("description") {
                declaration["description"] = description.clone();
            }
            if let Some(parameters) = function.get("parameters") {
                let mut parameters = parameters.clone();
                clean_schema(&mut parameters);
                declaration["parameters"] = parameters;
            }
            Some(declaration)
        })
        .collect();
    if declarations.is_empty() {
        return;
    }
    body.insert(
        "tools".into(),
        json!([{"functionDeclarations": declarations}]),
    );
    let config = match request.get("tool_choice") {
        Some(Value::String(s)) if s == "none" => json!({"mode": "NONE"}),
        Some(Value::String(s)) if s == "required" => json!({"mode": "ANY"}),
        Some(Value::Object(o)) => match o.get("function").and_then(|f| f.get("name")) {
            Some(name) => json!({"mode": "ANY", "allowedFunctionNames": [name]}),
            None => json!({"mode": "AUTO"}),
        },
        _ => return,
    };
    body.insert(
        "toolConfig".into(),
        json!({"functionCallingConfig": config}),
    );
}

/// The text and function calls of a candidate, skipping thought parts.
pub(crate) fn candidate_parts(candidate: &Value) -> (String, Vec<(String, Value)>) {
    let mut text = String::new();
    let mut calls = Vec::new();
    for part in candidate
        .pointer("/content/parts")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if part.get("thought").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        if let Some(t) = part.get("text").and_then(Value::as_str) {
            text.push_str(t);
        }
        if let Some(call) = part.get("functionCall") {
            let name = call.get("name").and_then(Value::as_str).unwrap_or_default();
            calls.push((
                name.to_owned(),
                call.get("args").cloned().unwrap_or_else(|| json!({})),
            ));
        }
    }
    (text, calls)
}

/// Gemini's finish reason, as tool calls when the candidate called functions (Gemini says
/// `STOP` then).
pub(crate) fn finish_reason(candidate: &Value, called: bool) -> Option<FinishReason> {
    let reason = candidate.get("finishReason").and_then(Value::as_str)?;
    let reason = FinishReason::from_gemini(reason);
    Some(if called && reason == FinishReason::Stop {
        FinishReason::ToolCalls
    } else {
        reason
    })
}

/// Translates a `GenerateContentResponse` into an OpenAI `chat.completion`.
pub(crate) fn response_to_openai(response: &Value) -> Result<Value> {
    let candidate = response.pointer("/candidates/0");
    let (text, calls) = candidate.map(candidate_parts).unwrap_or_default();
    let finish = match candidate {
        Some(candidate) => finish_reason(candidate, !calls.is_empty()),
        // No candidate: the prompt itself was blocked (`promptFeedback.blockReason`).
        None if response.pointer("/promptFeedback/blockReason").is_some() => {
            Some(FinishReason::ContentFilter)
        }
        None => return Err(TranslateError::InvalidResponse("no `candidates`".into())),
    };
    let tool_calls = calls
        .iter()
        .enumerate()
        .map(|(i, (name, args))| tool_call(&format!("call_{i}"), name, args))
        .collect();
    let usage = response
        .get("usageMetadata")
        .and_then(Usage::from_gemini)
        .map(|u| u.to_openai());
    Ok(openai_completion(
        response
            .get("responseId")
            .and_then(Value::as_str)
            .unwrap_or("gemini"),
        response
            .get("modelVersion")
            .and_then(Value::as_str)
            .unwrap_or_default(),
        assistant_message(text, tool_calls),
        finish.map(FinishReason::as_openai),
        usage,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tool_results_are_matched_to_calls_by_name() {
        let request = json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "tool_calls": [{"id": "call_0", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            {"role": "tool", "tool_call_id": "call_0", "content": "18C"}
        ], "tools": [{"type": "function", "function": {"name": "weather",
            "parameters": {"type": "object", "additionalProperties": false, "properties": {}}}}],
           "tool_choice": {"type": "function", "function": {"name": "weather"}},
           "max_tokens": 20, "stop": ["x"], "reasoning_effort": "low"});
        let body = request_from_openai(&request).unwrap();
        assert_eq!(
            body["systemInstruction"],
            json!({"parts": [{"text": "Be brief."}]})
        );
        assert_eq!(
            body["contents"][1]["parts"][0]["functionCall"]["args"],
            json!({"city": "Paris"})
        );
        assert_eq!(
            body["contents"][2]["parts"][0]["functionResponse"]["name"],
            "weather"
        );
        assert!(
            body["tools"][0]["functionDeclarations"][0]["parameters"]
                .get("additionalProperties")
                .is_none()
        );
        assert_eq!(
            body["toolConfig"]["functionCallingConfig"]["allowedFunctionNames"],
            json!(["weather"])
        );
        assert_eq!(body["generationConfig"]["maxOutputTokens"], 20);
        assert_eq!(
            body["generationConfig"]["thinkingConfig"]["thinkingBudget"],
            1024
        );
        let orphan =
            json!({"messages": [{"role": "tool", "tool_call_id": "nope", "content": "x"}]});
        assert!(request_from_openai(&orphan).is_err());
    }

    #[test]
    fn function_calls_finish_as_tool_calls() {
        let response = json!({"candidates": [{"content": {"role": "model", "parts": [
            {"text": "thinking…", "thought": true},
            {"functionCall": {"name": "weather", "args": {"city": "Paris"}}}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15},
            "modelVersion": "gemini-2.5-flash", "responseId": "r1"});
        let out = response_to_openai(&response).unwrap();
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(out["choices"][0]["message"]["content"], Value::Null);
        assert_eq!(
            out["choices"][0]["message"]["tool_calls"][0]["function"]["name"],
            "weather"
        );
        assert_eq!(out["usage"]["total_tokens"], 15);
    }
}

//! OpenAI chat completions → Cohere v2 chat, and Cohere v2 responses → OpenAI.
//!
//! References: <https://docs.cohere.com/reference/chat> (request and response),
//! <https://docs.cohere.com/v2/docs/tool-use-overview> (tools),
//! <https://docs.cohere.com/v2/docs/migrating-v1-to-v2> (v2 message shapes).

use serde_json::{Map, Value, json};

use super::{
    Result, TranslateError, assistant_message, invalid, max_tokens, messages, openai_completion,
    single_choice, stop_sequences, text_of,
};
use crate::usage::{FinishReason, Usage};

/// Builds the Cohere v2 chat request body for an OpenAI-shaped `request`.
pub(crate) fn request_from_openai(request: &Value, model: &str, stream: bool) -> Result<Value> {
    single_choice(request, "Cohere")?;
    let mut out = Vec::new();
    for message in messages(request)? {
        let role = message
            .get("role")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let content = message.get("content").unwrap_or(&Value::Null);
        out.push(match role {
            "system" | "developer" => json!({"role": "system", "content": text_of(content)}),
            "user" => match content {
                Value::Array(parts) => json!({"role": "user", "content": user_parts(parts)?}),
                other => json!({"role": "user", "content": text_of(other)}),
            },
            "assistant" => {
                let mut turn = json!({"role": "assistant"});
                let text = text_of(content);
                if !text.is_empty() {
                    turn["content"] = json!(text);
                }
                if let Some(calls) = message.get("tool_calls").filter(|c| c.is_array()) {
                    turn["tool_calls"] = calls.clone();
                }
                turn
            }
            "tool" => json!({
                "role": "tool",
                "tool_call_id": message.get("tool_call_id").cloned().unwrap_or_default(),
                "content": text_of(content),
            }),
            other => return Err(invalid(format!("unsupported message role `{other}`"))),
        });
    }
    let mut body = Map::new();
    body.insert("model".into(), json!(model));
    body.insert("messages".into(), Value::Array(out));
    if let Some(max) = max_tokens(request) {
        body.insert("max_tokens".into(), json!(max));
    }
    for (from, to) in [
        ("temperature", "temperature"),
        ("top_p", "p"),
        ("seed", "seed"),
        ("frequency_penalty", "frequency_penalty"),
        ("presence_penalty", "presence_penalty"),
    ] {
        if let Some(value) = request.get(from).filter(|v| v.is_number()) {
            body.insert(to.into(), value.clone());
        }
    }
    if let Some(stop) = stop_sequences(request) {
        body.insert("stop_sequences".into(), Value::Array(stop));
    }
    match request
        .pointer("/response_format/type")
        .and_then(Value::as_str)
    {
        Some("json_object") => {
            body.insert("response_format".into(), json!({"type": "json_object"}));
        }
        Some("json_schema") => {
            let schema = request
                .pointer("/response_format/json_schema/schema")
                .cloned();
            body.insert(
                "response_format".into(),
                json!({"type": "json_object", "json_schema": schema}),
            );
        }
        _ => {}
    }
    add_tools(request, &mut body);
    if stream {
        body.insert("stream".into(), json!(true));
    }
    Ok(Value::Object(body))
}

fn user_parts(parts: &[Value]) -> Result<Vec<Value>> {
    parts
        .iter()
        .map(|part| match part.get("type").and_then(Value::as_str) {
            Some("text") | None => Ok(json!({"type": "text", "text": part.get("text").cloned().unwrap_or_default()})),
            Some("image_url") => Ok(json!({"type": "image_url", "image_url": part.get("image_url").cloned().unwrap_or_default()})),
            Some(other) => Err(TranslateError::Unsupported(format!(
                "content parts of type `{other}` are not supported by Cohere"
            ))),
        })
        .collect()
}

/// Tools are OpenAI-shaped in v2. Cohere's `tool_choice` is only `REQUIRED` or `NONE`; a named
/// function becomes `REQUIRED` with only that tool offered.
fn add_tools(request: &Value, body: &mut Map<String, Value>) {
    let Some(tools) = request
        .get("tools")
        .and_then(Value::as_array)
        .filter(|t| !t.is_empty())
    else {
        return;
    };
    let mut tools = tools.clone();
    match request.get("tool_choice") {
        Some(Value::String(s)) if s == "required" => {
            body.insert("tool_choice".into(), json!("REQUIRED"));
        }
        Some(Value::String(s)) if s == "none" => {
            body.insert("tool_choice".into(), json!("NONE"));
        }
        Some(Value::Object(o)) => {
            if let Some(name) = o.get("function").and_then(|f| f.get("name")) {
                tools.retain(|t| t.pointer("/function/name") == Some(name));
                body.insert("tool_choice".into(), json!("REQUIRED"));
            }
        }
        _ => {}
    }
    body.insert("tools".into(), Value::Array(tools));
}

/// Translates a Cohere v2 chat response into an OpenAI `chat.completion`.
pub(crate) fn response_to_openai(response: &Value, model: &str) -> Result<Value> {
    let message = response
        .get("message")
        .ok_or_else(|| TranslateError::InvalidResponse("no `message`".into()))?;
    let text = text_of(message.get("content").unwrap_or(&Value::Null));
    let calls: Vec<Value> = message
        .get("tool_calls")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let finish = response
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(|r| FinishReason::from_cohere(r).as_openai());
    let usage = response
        .get("usage")
        .and_then(Usage::from_cohere)
        .map(|u| u.to_openai());
    Ok(openai_completion(
        response
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("cohere"),
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
    fn request_and_response_round_trip_tools() {
        let request = json!({"messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "weather", "arguments": "{}"}}]},
            {"role": "tool", "tool_call_id": "c1", "content": "18C"}
        ], "tools": [{"type": "function", "function": {"name": "weather"}}, {"type": "function", "function": {"name": "other"}}],
           "tool_choice": {"type": "function", "function": {"name": "weather"}}, "top_p": 0.5, "stop": "END"});
        let body = request_from_openai(&request, "command-a", false).unwrap();
        assert_eq!(
            body["messages"][0],
            json!({"role": "system", "content": "Be brief."})
        );
        assert!(body["messages"][2].get("content").is_none());
        assert_eq!(body["messages"][3]["tool_call_id"], "c1");
        assert_eq!(body["tool_choice"], "REQUIRED");
        assert_eq!(body["tools"].as_array().unwrap().len(), 1);
        assert_eq!(body["p"], 0.5);
        assert_eq!(body["stop_sequences"], json!(["END"]));

        let response = json!({"id": "r1", "finish_reason": "TOOL_CALL", "message": {"role": "assistant",
            "tool_plan": "I will call weather.", "tool_calls": [{"id": "c2", "type": "function",
            "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
            "usage": {"billed_units": {"input_tokens": 7, "output_tokens": 3}, "tokens": {"input_tokens": 70, "output_tokens": 3}}});
        let out = response_to_openai(&response, "command-a").unwrap();
        assert_eq!(out["choices"][0]["finish_reason"], "tool_calls");
        assert_eq!(out["choices"][0]["message"]["tool_calls"][0]["id"], "c2");
        assert_eq!(out["usage"]["prompt_tokens"], 7);
    }
}

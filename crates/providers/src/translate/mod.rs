//! Request and response translation, with OpenAI chat completions JSON as the pivot: every
//! provider has `openai → provider` for requests and `provider → openai` for responses, and
//! Anthropic-shaped clients go through `anthropic → openai` first (except against Anthropic
//! itself, which is a pass-through). Unknown fields of the source are dropped, never guessed.

pub(crate) mod anthropic;
pub(crate) mod anthropic_client;
pub(crate) mod bedrock;
pub(crate) mod cohere;
pub(crate) mod embeddings;
pub(crate) mod gemini;
pub(crate) mod openai_family;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value, json};

/// Why a request or response could not be translated. Messages quote no secret and no content.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The client's request is malformed for its API (answer 400).
    #[error("{0}")]
    InvalidRequest(String),
    /// The request uses something the target provider cannot do (answer 400).
    #[error("{0}")]
    Unsupported(String),
    /// The provider answered something that is not its documented shape (answer 502).
    #[error("the provider's response could not be read: {0}")]
    InvalidResponse(String),
}

pub(crate) type Result<T> = std::result::Result<T, TranslateError>;

pub(crate) fn invalid(message: impl Into<String>) -> TranslateError {
    TranslateError::InvalidRequest(message.into())
}

/// Seconds since the Unix epoch, for `created` fields.
pub(crate) fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

/// The text of an OpenAI message `content`: a string, or the `text` of its text parts.
pub(crate) fn text_of(content: &Value) -> String {
    match content {
        Value::String(text) => text.clone(),
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        _ => String::new(),
    }
}

/// OpenAI `stop`: a string or an array of strings.
pub(crate) fn stop_sequences(request: &Value) -> Option<Vec<Value>> {
    match request.get("stop")? {
        Value::String(s) => Some(vec![json!(s)]),
        Value::Array(items) if !items.is_empty() => Some(items.clone()),
        _ => None,
    }
}

/// `max_completion_tokens`, else `max_tokens`.
pub(crate) fn max_tokens(request: &Value) -> Option<u64> {
    request
        .get("max_completion_tokens")
        .and_then(Value::as_u64)
        .or_else(|| request.get("max_tokens").and_then(Value::as_u64))
}

/// The messages array, or a 400.
pub(crate) fn messages(request: &Value) -> Result<&Vec<Value>> {
    request
        .get("messages")
        .and_then(Value::as_array)
        .ok_or_else(|| invalid("`messages` must be an array"))
}

/// Rejects `n > 1`, which only OpenAI-style APIs (and Gemini) support.
pub(crate) fn single_choice(request: &Value, provider: &str) -> Result<()> {
    match request.get("n").and_then(Value::as_u64) {
        Some(n) if n > 1 => Err(TranslateError::Unsupported(format!(
            "`n` greater than 1 is not supported by {provider}"
        ))),
        _ => Ok(()),
    }
}

/// Parses tool-call `arguments` (a JSON string) into an object; invalid JSON becomes `{}` so a
/// half-written call from a model does not fail the whole conversation.
pub(crate) fn parse_arguments(arguments: Option<&Value>) -> Value {
    match arguments {
        Some(Value::String(s)) => serde_json::from_str(s)
            .ok()
            .filter(Value::is_object)
            .unwrap_or_else(|| json!({})),
        Some(v @ Value::Object(_)) => v.clone(),
        _ => json!({}),
    }
}

/// A `data:` URL's media type and base64 payload.
pub(crate) fn data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (meta, data) = rest.split_once(',')?;
    let media_type = meta.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// An OpenAI `chat.completion` object with one choice.
pub(crate) fn openai_completion(
    id: &str,
    model: &str,
    message: Map<String, Value>,
    finish_reason: Option<&str>,
    usage: Option<Value>,
) -> Value {
    let mut body = json!({
        "id": id,
        "object": "chat.completion",
        "created": now_unix(),
        "model": model,
        "choices": [{
            "index": 0,
            "message": Value::Object(message),
            "logprobs": null,
            "finish_reason": finish_reason,
        }],
    });
    if let Some(usage) = usage {
        body["usage"] = usage;
    }
    body
}

/// An assistant message with `content` (null when empty and there are tool calls) and
/// `tool_calls` (omitted when empty).
pub(crate) fn assistant_message(text: String, tool_calls: Vec<Value>) -> Map<String, Value> {
    let mut message = Map::new();
    message.insert("role".into(), json!("assistant"));
    let content = if text.is_empty() && !tool_calls.is_empty() {
        Value::Null
    } else {
        json!(text)
    };
    message.insert("content".into(), content);
    if !tool_calls.is_empty() {
        message.insert("tool_calls".into(), Value::Array(tool_calls));
    }
    message
}

/// An OpenAI tool call.
pub(crate) fn tool_call(id: &str, name: &str, arguments: &Value) -> Value {
    let arguments = match arguments {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    json!({"id": id, "type": "function", "function": {"name": name, "arguments": arguments}})
}

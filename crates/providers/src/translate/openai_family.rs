//! The last step for OpenAI-shaped upstreams (OpenAI, Azure OpenAI, Mistral, Perplexity,
//! OpenAI-compatible servers): set the model, ask for usage in streams, and smooth each
//! provider's quirks.

use serde_json::{Map, Value, json};

use super::{Result, TranslateError, text_of};
use crate::provider::Provider;

/// Fields Mistral's chat API rejects (it validates strictly: `extra_forbidden`).
/// <https://docs.mistral.ai/api/#tag/chat/operation/chat_completion_v1_chat_completions_post>
const MISTRAL_DROPPED: [&str; 8] = [
    "user",
    "logit_bias",
    "store",
    "metadata",
    "service_tier",
    "logprobs",
    "top_logprobs",
    "stream_options",
];

/// Finalizes an OpenAI-shaped request for `provider`.
///
/// - `model` replaces the client's model (for Azure the deployment is in the URL; the field is
///   harmless).
/// - Streaming requests to OpenAI, Azure and OpenAI-compatible servers get
///   `stream_options.include_usage = true`, so the last chunk carries usage
///   (<https://platform.openai.com/docs/api-reference/chat/create#chat-create-stream_options>).
///   Mistral and Perplexity put usage in their final chunks unasked and reject or ignore the
///   option, so it is removed there.
/// - `cache_control` markers (carried for Anthropic and Bedrock) are removed.
/// - Mistral: `max_completion_tokens` → `max_tokens`, `seed` → `random_seed`, unsupported
///   fields dropped. Perplexity: `max_completion_tokens` → `max_tokens`, no tools, and
///   consecutive same-role messages merged (it requires alternating turns,
///   <https://docs.perplexity.ai/api-reference/chat-completions-post>).
pub(crate) fn finalize(
    provider: Provider,
    request: Value,
    model: &str,
    stream: bool,
) -> Result<Value> {
    let Value::Object(mut body) = request else {
        return Err(TranslateError::InvalidRequest(
            "the request body must be a JSON object".into(),
        ));
    };
    body.insert("model".into(), json!(model));
    strip_cache_control(&mut body);
    if stream {
        body.insert("stream".into(), json!(true));
        if matches!(
            provider,
            Provider::OpenAi | Provider::Azure | Provider::OpenAiCompatible
        ) {
            let options = body.entry("stream_options").or_insert_with(|| json!({}));
            if !options.is_object() {
                *options = json!({});
            }
            options["include_usage"] = json!(true);
        }
    } else {
        body.remove("stream");
        body.remove("stream_options");
    }
    match provider {
        Provider::Mistral => {
            rename(&mut body, "max_completion_tokens", "max_tokens");
            rename(&mut body, "seed", "random_seed");
            for field in MISTRAL_DROPPED {
                body.remove(field);
            }
        }
        Provider::Perplexity => {
            rename(&mut body, "max_completion_tokens", "max_tokens");
            body.remove("stream_options");
            if body
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|t| !t.is_empty())
            {
                return Err(TranslateError::Unsupported(
                    "Perplexity does not support tools (function calling)".into(),
                ));
            }
            body.remove("tools");
            body.remove("tool_choice");
            merge_same_role(&mut body);
        }
        _ => {}
    }
    Ok(Value::Object(body))
}

fn rename(body: &mut Map<String, Value>, from: &str, to: &str) {
    if let Some(value) = body.remove(from) {
        body.entry(to).or_insert(value);
    }
}

fn strip_cache_control(body: &mut Map<String, Value>) {
    for list in ["messages", "tools"] {
        for item in body
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(item) = item.as_object_mut() {
                item.remove("cache_control");
            }
            for part in item
                .get_mut("content")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(part) = part.as_object_mut() {
                    part.remove("cache_control");
                }
            }
        }
    }
}

fn merge_same_role(body: &mut Map<String, Value>) {
    let Some(Value::Array(messages)) = body.get_mut("messages") else {
        return;
    };
    let mut merged: Vec<Value> = Vec::with_capacity(messages.len());
    for message in messages.drain(..) {
        let role = message.get("role").cloned();
        match merged.last_mut() {
            Some(last) if last.get("role") == role.as_ref() => {
                let joined = format!(
                    "{}\n\n{}",
                    text_of(last.get("content").unwrap_or(&Value::Null)),
                    text_of(message.get("content").unwrap_or(&Value::Null))
                );
                last["content"] = json!(joined);
            }
            _ => merged.push(message),
        }
    }
    *messages = merged;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_requests_ask_for_usage_where_supported() {
        let request =
            json!({"model": "alias", "messages": [], "stream_options": {"include_usage": false}});
        let out = finalize(Provider::OpenAi, request.clone(), "gpt-4o-mini", true).unwrap();
        assert_eq!(out["stream_options"]["include_usage"], true);
        assert_eq!(out["model"], "gpt-4o-mini");
        let out = finalize(Provider::Mistral, request.clone(), "mistral-small", true).unwrap();
        assert!(out.get("stream_options").is_none());
        let out = finalize(Provider::OpenAi, request, "gpt-4o-mini", false).unwrap();
        assert!(out.get("stream_options").is_none());
    }

    #[test]
    fn provider_quirks() {
        let request = json!({"model": "m", "seed": 7, "user": "u", "max_completion_tokens": 9,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "a", "cache_control": {"type": "ephemeral"}}]}]});
        let mistral = finalize(Provider::Mistral, request.clone(), "m", false).unwrap();
        assert_eq!(mistral["random_seed"], 7);
        assert_eq!(mistral["max_tokens"], 9);
        assert!(mistral.get("user").is_none());
        assert!(
            mistral["messages"][0]["content"][0]
                .get("cache_control")
                .is_none()
        );
        let request = json!({"model": "m", "messages": [
            {"role": "user", "content": "a"}, {"role": "user", "content": "b"}]});
        let pplx = finalize(Provider::Perplexity, request, "sonar", false).unwrap();
        assert_eq!(
            pplx["messages"],
            json!([{"role": "user", "content": "a\n\nb"}])
        );
        let tools =
            json!({"messages": [], "tools": [{"type": "function", "function": {"name": "f"}}]});
        assert!(finalize(Provider::Perplexity, tools, "sonar", false).is_err());
    }
}

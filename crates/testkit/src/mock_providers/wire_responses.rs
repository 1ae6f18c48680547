//! OpenAI Responses API (`POST /v1/responses`), plain and streamed, with exact usage.
//! <https://platform.openai.com/docs/api-reference/responses/create>
//! <https://platform.openai.com/docs/api-reference/responses-streaming>
//! Input tokens: [`mock_tokens`] of every string in `instructions` and `input`; output: of
//! [`REPLY`] (truncated to `max_output_tokens` × 4 characters).

use std::time::Duration;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use keyward_providers::Provider;
use serde_json::{Value, json};

use super::chat::{bad_request, sse};
use super::scenario::{REPLY, mock_tokens};
use super::wire_errors::builder;

fn strings(v: &Value, out: &mut String) {
    match v {
        Value::String(s) => out.push_str(s),
        Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "role" | "type"))
            .for_each(|(_, x)| strings(x, out)),
        _ => {}
    }
}

/// Answers `/v1/responses` for OpenAI-compatible providers; `None` for other paths.
pub(crate) fn handle(
    provider: Provider,
    path: &str,
    request: Option<&Value>,
    delay: Option<Duration>,
) -> Option<HttpResponse> {
    if path != "/v1/responses" || !matches!(provider, Provider::OpenAi | Provider::OpenAiCompatible)
    {
        return None;
    }
    let Some(request) = request.filter(|r| r.is_object()) else {
        return Some(bad_request(
            provider,
            "We could not parse the JSON body of your request.",
        ));
    };
    let Some(model) = request.get("model").and_then(Value::as_str) else {
        return Some(bad_request(
            provider,
            "Missing required parameter: 'model'.",
        ));
    };
    if request.get("input").is_none() {
        return Some(bad_request(
            provider,
            "Missing required parameter: 'input'.",
        ));
    }
    let mut prompt = String::new();
    for k in ["instructions", "input"] {
        if let Some(v) = request.get(k) {
            strings(v, &mut prompt);
        }
    }
    let mut text = REPLY.to_owned();
    let mut status = "completed";
    if let Some(max) = request.get("max_output_tokens").and_then(Value::as_u64)
        && max < mock_tokens(&text)
    {
        text = text
            .chars()
            .take(usize::try_from(max * 4).unwrap_or(usize::MAX))
            .collect();
        status = "incomplete";
    }
    let (input, output) = (mock_tokens(&prompt), mock_tokens(&text));
    let response = |status: &str, with_output: bool| {
        json!({
            "id": "resp_mock", "object": "response", "created_at": 1_700_000_000,
            "status": status, "model": model,
            "output": if with_output { json!([{
                "type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }]) } else { json!([]) },
            "usage": if with_output { json!({
                "input_tokens": input, "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": output, "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": input + output,
            }) } else { Value::Null },
        })
    };
    if request.get("stream").and_then(Value::as_bool) != Some(true) {
        return Some(builder(provider, StatusCode::OK).json(response(status, true)));
    }
    let event = |name: &str, data: Value| format!("event: {name}\ndata: {data}\n\n").into_bytes();
    let mut events = vec![event(
        "response.created",
        json!({"type": "response.created", "response": response("in_progress", false)}),
    )];
    for piece in text.split_inclusive(' ') {
        events.push(event(
            "response.output_text.delta",
            json!({"type": "response.output_text.delta", "item_id": "msg_mock",
                   "output_index": 0, "content_index": 0, "delta": piece}),
        ));
    }
    let last = if status == "completed" {
        "response.completed"
    } else {
        "response.incomplete"
    };
    events.push(event(
        last,
        json!({"type": last, "response": response(status, true)}),
    ));
    Some(sse(provider, events, delay))
}

//! Gemini `generateContent` and `streamGenerateContent?alt=sse`.
//!
//! Response: <https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse>; usage:
//! <https://ai.google.dev/api/generate-content#UsageMetadata> (`promptTokenCount` includes
//! `cachedContentTokenCount`; `thoughtsTokenCount` is separate from `candidatesTokenCount`).
//! Streams are SSE whose events are whole `GenerateContentResponse`s with the new parts, each
//! with cumulative `usageMetadata`; the last one has `finishReason`. Gemini calls functions
//! with `finishReason: STOP`.

use serde_json::{Value, json};

use super::scenario::{Completion, Finish, TOOL_ARGUMENTS};

const RESPONSE_ID: &str = "mockKeywardGeminiResponse01";

fn finish_reason(finish: &Finish) -> &'static str {
    match finish {
        Finish::Length => "MAX_TOKENS",
        Finish::Stop | Finish::StopSequence(_) | Finish::ToolUse => "STOP",
    }
}

fn usage(c: &Completion, output: Option<u64>) -> Value {
    let u = &c.usage;
    let mut usage = json!({
        "promptTokenCount": u.prompt(),
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": u.prompt()}],
    });
    let mut total = u.prompt();
    if let Some(output) = output {
        let candidates = output - u.reasoning.min(output);
        usage["candidatesTokenCount"] = json!(candidates);
        total += output;
        if u.reasoning > 0 {
            usage["thoughtsTokenCount"] = json!(u.reasoning);
        }
    }
    usage["totalTokenCount"] = json!(total);
    if u.cached > 0 {
        usage["cachedContentTokenCount"] = json!(u.cached);
        usage["cacheTokensDetails"] = json!([{"modality": "TEXT", "tokenCount": u.cached}]);
    }
    usage
}

fn response(c: &Completion, parts: Vec<Value>, finish: Option<&str>, output: Option<u64>) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": usage(c, output),
        "modelVersion": c.model,
        "responseId": RESPONSE_ID,
    })
}

fn call_part(c: &Completion) -> Option<Value> {
    let name = c.tool.as_ref()?;
    let args: Value = serde_json::from_str(TOOL_ARGUMENTS).unwrap_or_default();
    Some(json!({"functionCall": {"name": name, "args": args}}))
}

/// A non-streaming `GenerateContentResponse`.
pub(crate) fn generate(c: &Completion) -> Value {
    let mut parts = Vec::new();
    if !c.text.is_empty() {
        parts.push(json!({"text": c.text}));
    }
    parts.extend(call_part(c));
    response(
        c,
        parts,
        Some(finish_reason(&c.finish)),
        Some(c.usage.output),
    )
}

/// The SSE body of a streamed generation (Gemini ends events with `\r\n\r\n`).
pub(crate) fn stream(c: &Completion) -> Vec<Vec<u8>> {
    let mut events: Vec<Value> = c
        .pieces()
        .into_iter()
        .map(|piece| response(c, vec![json!({"text": piece})], None, None))
        .collect();
    let last_parts: Vec<Value> = call_part(c).into_iter().collect();
    match events.last_mut() {
        Some(last) if last_parts.is_empty() => {
            last["candidates"][0]["finishReason"] = json!(finish_reason(&c.finish));
            last["usageMetadata"] = usage(c, Some(c.usage.output));
        }
        _ => events.push(response(
            c,
            last_parts,
            Some(finish_reason(&c.finish)),
            Some(c.usage.output),
        )),
    }
    events
        .into_iter()
        .map(|e| format!("data: {e}\r\n\r\n").into_bytes())
        .collect()
}

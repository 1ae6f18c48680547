//! What a mock chat call answers, decided from the request alone so tests can predict it
//! exactly, whatever the provider's wire format:
//!
//! - **Text**: [`REPLY`], cut before the first stop sequence it contains (finish: stop
//!   sequence), or to `max_tokens × 4` characters when that is shorter (finish: length).
//! - **Tool call**: when the request offers tools, tool choice is not "none", and the last
//!   message is not a tool result, the mock calls the chosen (else the first) tool with
//!   [`TOOL_ARGUMENTS`] (finish: tool use).
//! - **Usage**: input = [`mock_tokens`] of every text in the system prompt and messages, in
//!   order (tool results included); output = tokens of the answer text (or of the tool
//!   arguments' JSON) plus [`REASONING_TOKENS`] when reasoning was asked for.
//! - **Caching**: explicit markers (Anthropic `cache_control`, Bedrock `cachePoint`) cache the
//!   text up to the last marker: the first request writes it (5-minute, or 1-hour for
//!   `ttl: "1h"`), later ones read it. OpenAI, Azure and Gemini cache implicitly: a prompt of at
//!   least 1024 tokens seen before reads `tokens / 128 × 128` tokens from cache.

use keyward_providers::Provider;
use serde_json::{Value, json};

use super::state::State;

/// The assistant text every mock completion returns.
pub const REPLY: &str = "Hello from the Keyward mock provider.";

/// The arguments of every mock tool call.
pub const TOOL_ARGUMENTS: &str = r#"{"city":"Paris"}"#;

/// Reasoning tokens reported when a request asks for reasoning (OpenAI `reasoning_effort`,
/// Gemini `thinkingConfig.thinkingBudget > 0`).
pub const REASONING_TOKENS: u64 = 16;

/// Mock token count of `text`: one token per four characters, rounded up.
pub fn mock_tokens(text: &str) -> u64 {
    let chars = u64::try_from(text.chars().count()).unwrap_or(u64::MAX);
    chars.div_ceil(4)
}

/// Why the mock stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Finish {
    Stop,
    StopSequence(String),
    Length,
    ToolUse,
}

/// Usage in disjoint buckets (`output` includes `reasoning`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct MockUsage {
    pub(crate) input: u64,
    pub(crate) cached: u64,
    pub(crate) write_5m: u64,
    pub(crate) write_1h: u64,
    pub(crate) output: u64,
    pub(crate) reasoning: u64,
}

impl MockUsage {
    /// Every input token.
    pub(crate) fn prompt(&self) -> u64 {
        self.input + self.cached + self.write_5m + self.write_1h
    }
}

/// The answer to one chat call.
#[derive(Clone, Debug)]
pub(crate) struct Completion {
    pub(crate) model: String,
    pub(crate) text: String,
    /// The called tool's name.
    pub(crate) tool: Option<String>,
    pub(crate) finish: Finish,
    pub(crate) usage: MockUsage,
    pub(crate) stream: bool,
    /// OpenAI-style `stream_options.include_usage`.
    pub(crate) include_usage: bool,
}

impl Completion {
    /// The answer text in streaming pieces (word by word).
    pub(crate) fn pieces(&self) -> Vec<String> {
        self.text.split_inclusive(' ').map(str::to_owned).collect()
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

/// Every text of the prompt in order, split at the last cache marker: (before, after, ttl).
struct Prompt {
    text: String,
    cached_prefix: Option<(String, bool)>,
}

fn walk(value: &Value, prompt: &mut Prompt) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("text" | "content", Value::String(s)) => prompt.text.push_str(s),
                    (
                        "cache_control" | "cachePoint" | "functionCall" | "toolUse" | "tool_calls"
                        | "input",
                        _,
                    ) => {}
                    _ => walk(v, prompt),
                }
            }
            // A marker caches everything up to and including the block it is on.
            if let Some(marker) = map.get("cache_control") {
                let one_hour = marker.get("ttl").and_then(Value::as_str) == Some("1h");
                prompt.cached_prefix = Some((prompt.text.clone(), one_hour));
            }
            if map.contains_key("cachePoint") {
                prompt.cached_prefix = Some((prompt.text.clone(), false));
            }
        }
        Value::Array(items) => items.iter().for_each(|i| walk(i, prompt)),
        _ => {}
    }
}

fn prompt(request: &Value) -> Prompt {
    let mut prompt = Prompt {
        text: String::new(),
        cached_prefix: None,
    };
    for key in ["system", "systemInstruction", "messages", "contents"] {
        if let Some(v) = request.get(key) {
            match v {
                Value::String(s) => prompt.text.push_str(s),
                other => walk(other, &mut prompt),
            }
        }
    }
    prompt
}

/// The tool the mock should call, if any.
fn tool_to_call(request: &Value) -> Option<String> {
    let first = [
        "/tools/0/function/name",
        "/tools/0/name",
        "/tools/0/functionDeclarations/0/name",
        "/toolConfig/tools/0/toolSpec/name",
    ]
    .iter()
    .find_map(|p| str_at(request, p))?;
    let none = [
        request.get("tool_choice") == Some(&json!("none")),
        request.get("tool_choice") == Some(&json!("NONE")),
        str_at(request, "/tool_choice/type") == Some("none"),
        str_at(request, "/toolConfig/functionCallingConfig/mode") == Some("NONE"),
    ];
    if none.iter().any(|n| *n) {
        return None;
    }
    let last = ["messages", "contents"].iter().find_map(|k| {
        request
            .get(*k)
            .and_then(Value::as_array)
            .and_then(|m| m.last())
    })?;
    let text = last.to_string();
    let answered = last.get("role") == Some(&json!("tool"))
        || ["\"tool_result\"", "\"functionResponse\"", "\"toolResult\""]
            .iter()
            .any(|m| text.contains(m));
    if answered {
        return None;
    }
    let named = [
        "/tool_choice/function/name",
        "/tool_choice/name",
        "/toolConfig/toolChoice/tool/name",
    ]
    .iter()
    .find_map(|p| str_at(request, p))
    .or_else(|| {
        str_at(
            request,
            "/toolConfig/functionCallingConfig/allowedFunctionNames/0",
        )
    });
    Some(named.unwrap_or(first).to_owned())
}

fn max_tokens(request: &Value) -> Option<u64> {
    [
        "/max_completion_tokens",
        "/max_tokens",
        "/generationConfig/maxOutputTokens",
        "/inferenceConfig/maxTokens",
    ]
    .iter()
    .find_map(|p| request.pointer(p).and_then(Value::as_u64))
}

fn stops(request: &Value) -> Vec<String> {
    let list = [
        "/stop",
        "/stop_sequences",
        "/generationConfig/stopSequences",
        "/inferenceConfig/stopSequences",
    ]
    .iter()
    .find_map(|p| request.pointer(p));
    match list {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn wants_reasoning(request: &Value) -> bool {
    request
        .get("reasoning_effort")
        .is_some_and(|e| e != "minimal" && e != "none")
        || request
            .pointer("/generationConfig/thinkingConfig/thinkingBudget")
            .and_then(Value::as_u64)
            .is_some_and(|b| b > 0)
}

/// Decides the completion for `request` to `provider`.
pub(crate) fn complete(
    provider: Provider,
    request: &Value,
    model: String,
    state: &State,
) -> Completion {
    let prompt = prompt(request);
    let total = mock_tokens(&prompt.text);
    let mut usage = MockUsage {
        input: total,
        ..MockUsage::default()
    };
    match (&prompt.cached_prefix, provider) {
        (Some((prefix, one_hour)), Provider::Anthropic | Provider::Bedrock) => {
            let cached = mock_tokens(prefix).min(total);
            usage.input = total - cached;
            if state.cache_hit(provider, prefix) {
                usage.cached = cached;
            } else if *one_hour {
                usage.write_1h = cached;
            } else {
                usage.write_5m = cached;
            }
        }
        (_, Provider::OpenAi | Provider::Azure | Provider::Gemini)
            if total >= 1024 && state.cache_hit(provider, &prompt.text) =>
        {
            usage.cached = total / 128 * 128;
            usage.input = total - usage.cached;
        }
        _ => {}
    }
    let tool = tool_to_call(request);
    let (text, finish) = if tool.is_some() {
        (String::new(), Finish::ToolUse)
    } else {
        let mut text = REPLY.to_owned();
        let mut finish = Finish::Stop;
        if let Some((at, stop)) = stops(request)
            .iter()
            .filter_map(|s| Some((REPLY.find(s.as_str())?, s)))
            .min()
        {
            text.truncate(at);
            finish = Finish::StopSequence(stop.clone());
        }
        if let Some(max) = max_tokens(request).filter(|m| *m < mock_tokens(&text)) {
            text = text
                .chars()
                .take(usize::try_from(max * 4).unwrap_or(usize::MAX))
                .collect();
            finish = Finish::Length;
        }
        (text, finish)
    };
    usage.reasoning = if wants_reasoning(request) {
        REASONING_TOKENS
    } else {
        0
    };
    let answer = if tool.is_some() {
        mock_tokens(TOOL_ARGUMENTS)
    } else {
        mock_tokens(&text)
    };
    usage.output = answer + usage.reasoning;
    Completion {
        model,
        text,
        tool,
        finish,
        usage,
        stream: request.get("stream").and_then(Value::as_bool) == Some(true),
        include_usage: request
            .pointer("/stream_options/include_usage")
            .and_then(Value::as_bool)
            == Some(true),
    }
}

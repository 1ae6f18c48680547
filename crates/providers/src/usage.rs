//! One normalized token usage and finish reason, read from every provider's response shape.
//!
//! Providers disagree on whether cached tokens are part of the input count: OpenAI and Gemini
//! report a total that includes them, Anthropic and Bedrock report them next to an uncached
//! count. [`Usage`] always splits input into disjoint parts so pricing can multiply each part by
//! its own rate and add them up.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Token usage of one call, in disjoint buckets (except `reasoning`, which is part of `output`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens billed at the ordinary input price: neither read from nor written to a cache.
    pub input_uncached: u64,
    /// Input tokens read from the provider's prompt cache.
    pub cached_input: u64,
    /// Input tokens written to the prompt cache with a 5-minute lifetime (Anthropic's default,
    /// and every provider that does not say).
    pub cache_write_5m: u64,
    /// Input tokens written to the prompt cache with a 1-hour lifetime (Anthropic `ttl: "1h"`).
    pub cache_write_1h: u64,
    /// Output tokens, reasoning included.
    pub output: u64,
    /// Of `output`, the reasoning ("thinking") tokens.
    pub reasoning: u64,
}

/// The number at `pointer`, a JSON pointer of object keys (`/a/b`), or 0. Walks the keys without
/// allocating: `Value::pointer` builds two `String`s per key, ~2% of the proxy's CPU when usage
/// was read with it.
fn count(value: &Value, pointer: &str) -> u64 {
    pointer
        .split('/')
        .skip(1)
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

impl Usage {
    /// Every input token: uncached, cached and cache writes.
    pub fn input_total(&self) -> u64 {
        self.input_uncached + self.cached_input + self.cache_write()
    }

    /// Cache writes of both lifetimes.
    pub fn cache_write(&self) -> u64 {
        self.cache_write_5m + self.cache_write_1h
    }

    /// Input and output.
    pub fn total(&self) -> u64 {
        self.input_total() + self.output
    }

    /// OpenAI chat completions `usage` (also Azure, Mistral, Perplexity, OpenAI-compatible):
    /// `prompt_tokens` includes `prompt_tokens_details.cached_tokens`; `completion_tokens`
    /// includes `completion_tokens_details.reasoning_tokens`.
    /// <https://platform.openai.com/docs/api-reference/chat/object#chat/object-usage>
    pub fn from_openai(usage: &Value) -> Option<Usage> {
        let prompt = usage.get("prompt_tokens")?.as_u64()?;
        let cached = count(usage, "/prompt_tokens_details/cached_tokens");
        Some(Usage {
            input_uncached: prompt.saturating_sub(cached),
            cached_input: cached,
            output: count(usage, "/completion_tokens"),
            reasoning: count(usage, "/completion_tokens_details/reasoning_tokens"),
            ..Usage::default()
        })
    }

    /// OpenAI Responses API `usage`.
    /// <https://platform.openai.com/docs/api-reference/responses/object#responses/object-usage>
    pub fn from_openai_responses(usage: &Value) -> Option<Usage> {
        let input = usage.get("input_tokens")?.as_u64()?;
        let cached = count(usage, "/input_tokens_details/cached_tokens");
        Some(Usage {
            input_uncached: input.saturating_sub(cached),
            cached_input: cached,
            output: count(usage, "/output_tokens"),
            reasoning: count(usage, "/output_tokens_details/reasoning_tokens"),
            ..Usage::default()
        })
    }

    /// Anthropic Messages `usage`: `input_tokens` excludes cache reads and writes; writes are
    /// split by lifetime in `cache_creation` when the API returns it (all 5-minute otherwise).
    /// <https://docs.anthropic.com/en/api/messages#response-usage>
    pub fn from_anthropic(usage: &Value) -> Option<Usage> {
        let mut out = Usage::default();
        out.merge_anthropic(usage).then_some(out)
    }

    /// Overlays the fields present in an Anthropic `usage` object (streams send `message_start`
    /// usage, then cumulative `message_delta` usage). Returns whether any field was present.
    pub(crate) fn merge_anthropic(&mut self, usage: &Value) -> bool {
        let field = |name: &str| usage.get(name).and_then(Value::as_u64);
        let mut any = false;
        if let Some(n) = field("input_tokens") {
            self.input_uncached = n;
            any = true;
        }
        if let Some(n) = field("cache_read_input_tokens") {
            self.cached_input = n;
            any = true;
        }
        if let Some(n) = field("output_tokens") {
            self.output = n;
            any = true;
        }
        let split = usage.get("cache_creation").filter(|v| v.is_object());
        if let Some(split) = split {
            self.cache_write_5m = count(split, "/ephemeral_5m_input_tokens");
            self.cache_write_1h = count(split, "/ephemeral_1h_input_tokens");
            any = true;
        } else if let Some(n) = field("cache_creation_input_tokens") {
            self.cache_write_5m = n;
            self.cache_write_1h = 0;
            any = true;
        }
        any
    }

    /// Gemini `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`;
    /// `candidatesTokenCount` excludes `thoughtsTokenCount`, which is billed as output;
    /// `toolUsePromptTokenCount` is billed as input.
    /// <https://ai.google.dev/api/generate-content#UsageMetadata>
    pub fn from_gemini(metadata: &Value) -> Option<Usage> {
        let prompt = metadata.get("promptTokenCount")?.as_u64()?;
        let cached = count(metadata, "/cachedContentTokenCount");
        let thoughts = count(metadata, "/thoughtsTokenCount");
        Some(Usage {
            input_uncached: (prompt + count(metadata, "/toolUsePromptTokenCount"))
                .saturating_sub(cached),
            cached_input: cached,
            output: count(metadata, "/candidatesTokenCount") + thoughts,
            reasoning: thoughts,
            ..Usage::default()
        })
    }

    /// Bedrock Converse `usage` (`TokenUsage`): `inputTokens` excludes cache reads and writes.
    /// <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_TokenUsage.html>
    pub fn from_bedrock(usage: &Value) -> Option<Usage> {
        Some(Usage {
            input_uncached: usage.get("inputTokens")?.as_u64()?,
            cached_input: count(usage, "/cacheReadInputTokens"),
            cache_write_5m: count(usage, "/cacheWriteInputTokens"),
            output: count(usage, "/outputTokens"),
            ..Usage::default()
        })
    }

    /// Cohere v2 `usage`: `billed_units` (what Cohere charges) when present, else `tokens`;
    /// `cached_tokens` is a part of the input.
    /// <https://docs.cohere.com/reference/chat#response.body.usage>
    pub fn from_cohere(usage: &Value) -> Option<Usage> {
        let billed = usage
            .get("billed_units")
            .filter(|b| b.get("input_tokens").is_some());
        let units = billed.or_else(|| usage.get("tokens"))?;
        let input = units.get("input_tokens")?.as_u64()?;
        let cached = count(usage, "/cached_tokens").min(input);
        Some(Usage {
            input_uncached: input - cached,
            cached_input: cached,
            output: count(units, "/output_tokens"),
            ..Usage::default()
        })
    }

    /// The OpenAI chat completions `usage` object, with `cache_creation_input_tokens` added
    /// (as LiteLLM does) when the provider wrote to its cache.
    pub fn to_openai(&self) -> Value {
        let mut usage = json!({
            "prompt_tokens": self.input_total(),
            "completion_tokens": self.output,
            "total_tokens": self.total(),
            "prompt_tokens_details": {"cached_tokens": self.cached_input},
            "completion_tokens_details": {"reasoning_tokens": self.reasoning},
        });
        if self.cache_write() > 0 {
            usage["cache_creation_input_tokens"] = json!(self.cache_write());
        }
        usage
    }

    /// The Anthropic Messages `usage` object.
    pub fn to_anthropic(&self) -> Value {
        json!({
            "input_tokens": self.input_uncached,
            "cache_creation_input_tokens": self.cache_write(),
            "cache_read_input_tokens": self.cached_input,
            "cache_creation": {
                "ephemeral_5m_input_tokens": self.cache_write_5m,
                "ephemeral_1h_input_tokens": self.cache_write_1h,
            },
            "output_tokens": self.output,
        })
    }
}

/// Why generation stopped, normalized across providers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinishReason {
    /// The model finished its answer.
    Stop,
    /// A caller-supplied stop sequence was generated.
    StopSequence,
    /// The output token limit (or the context window) was reached.
    Length,
    /// The model called one or more tools.
    ToolCalls,
    /// A safety filter, guardrail or refusal ended the answer.
    ContentFilter,
    /// The provider reported an error mid-generation.
    Error,
    /// Anything else (`pause_turn`, Gemini `OTHER`, …).
    Other,
}

impl FinishReason {
    /// OpenAI `finish_reason`.
    /// <https://platform.openai.com/docs/api-reference/chat/object#chat/object-choices>
    pub fn from_openai(reason: &str) -> Self {
        match reason {
            "stop" => Self::Stop,
            "length" => Self::Length,
            "tool_calls" | "function_call" => Self::ToolCalls,
            "content_filter" => Self::ContentFilter,
            "error" => Self::Error,
            _ => Self::Other,
        }
    }

    /// Anthropic `stop_reason`. <https://docs.anthropic.com/en/api/messages#response-stop-reason>
    pub fn from_anthropic(reason: &str) -> Self {
        match reason {
            "end_turn" => Self::Stop,
            "stop_sequence" => Self::StopSequence,
            "max_tokens" | "model_context_window_exceeded" => Self::Length,
            "tool_use" => Self::ToolCalls,
            "refusal" => Self::ContentFilter,
            _ => Self::Other,
        }
    }

    /// Gemini `finishReason`. <https://ai.google.dev/api/generate-content#FinishReason>
    pub fn from_gemini(reason: &str) -> Self {
        match reason {
            "STOP" => Self::Stop,
            "MAX_TOKENS" => Self::Length,
            "SAFETY" | "RECITATION" | "BLOCKLIST" | "PROHIBITED_CONTENT" | "SPII"
            | "IMAGE_SAFETY" => Self::ContentFilter,
            "MALFORMED_FUNCTION_CALL" => Self::Error,
            _ => Self::Other,
        }
    }

    /// Bedrock Converse `stopReason`.
    /// <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_Converse.html#API_runtime_Converse_ResponseSyntax>
    pub fn from_bedrock(reason: &str) -> Self {
        match reason {
            "end_turn" => Self::Stop,
            "stop_sequence" => Self::StopSequence,
            "max_tokens" | "model_context_window_exceeded" => Self::Length,
            "tool_use" => Self::ToolCalls,
            "guardrail_intervened" | "content_filtered" => Self::ContentFilter,
            _ => Self::Other,
        }
    }

    /// Cohere v2 `finish_reason`. <https://docs.cohere.com/reference/chat#response.body.finish_reason>
    pub fn from_cohere(reason: &str) -> Self {
        match reason {
            "COMPLETE" => Self::Stop,
            "STOP_SEQUENCE" => Self::StopSequence,
            "MAX_TOKENS" => Self::Length,
            "TOOL_CALL" => Self::ToolCalls,
            "ERROR" | "TIMEOUT" => Self::Error,
            _ => Self::Other,
        }
    }

    /// The OpenAI `finish_reason` to send a client.
    pub const fn as_openai(self) -> &'static str {
        match self {
            Self::Stop | Self::StopSequence | Self::Error | Self::Other => "stop",
            Self::Length => "length",
            Self::ToolCalls => "tool_calls",
            Self::ContentFilter => "content_filter",
        }
    }

    /// The Anthropic `stop_reason` to send a client.
    pub const fn as_anthropic(self) -> &'static str {
        match self {
            Self::Stop | Self::Error | Self::Other => "end_turn",
            Self::StopSequence => "stop_sequence",
            Self::Length => "max_tokens",
            Self::ToolCalls => "tool_use",
            Self::ContentFilter => "refusal",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_walks_object_keys_and_defaults_to_zero() {
        let v = json!({"a": {"b": 7, "s": "7", "n": null}, "top": 3});
        assert_eq!(count(&v, "/a/b"), 7);
        assert_eq!(count(&v, "/top"), 3);
        assert_eq!(count(&v, "/a/s"), 0, "a string is not a count");
        assert_eq!(count(&v, "/a/n"), 0);
        assert_eq!(count(&v, "/a/missing"), 0);
        assert_eq!(count(&v, "/missing/b"), 0);
        assert_eq!(count(&json!([1, 2]), "/0"), 0, "arrays are not walked");
    }

    #[test]
    fn openai_cached_tokens_are_split_out_of_the_prompt() {
        let usage = Usage::from_openai(&json!({
            "prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 128}
        }))
        .unwrap();
        assert_eq!(usage.input_uncached, 86);
        assert_eq!(usage.cached_input, 1920);
        assert_eq!(usage.output, 300);
        assert_eq!(usage.reasoning, 128);
        assert_eq!(usage.total(), 2306);
        assert_eq!(Usage::from_openai(&json!({})), None);
    }

    #[test]
    fn anthropic_cache_writes_split_by_ttl_or_default_to_5m() {
        let split = Usage::from_anthropic(&json!({
            "input_tokens": 10, "cache_read_input_tokens": 200,
            "cache_creation_input_tokens": 300,
            "cache_creation": {"ephemeral_5m_input_tokens": 100, "ephemeral_1h_input_tokens": 200},
            "output_tokens": 7
        }))
        .unwrap();
        assert_eq!(
            (
                split.cache_write_5m,
                split.cache_write_1h,
                split.input_total()
            ),
            (100, 200, 510)
        );
        let plain = Usage::from_anthropic(&json!({
            "input_tokens": 10, "cache_creation_input_tokens": 300, "output_tokens": 7
        }))
        .unwrap();
        assert_eq!((plain.cache_write_5m, plain.cache_write_1h), (300, 0));
        let back = Usage::from_anthropic(&split.to_anthropic()).unwrap();
        assert_eq!(back, split);
    }

    #[test]
    fn gemini_thoughts_are_output_and_cached_is_part_of_prompt() {
        let usage = Usage::from_gemini(&json!({
            "promptTokenCount": 1000, "cachedContentTokenCount": 600,
            "candidatesTokenCount": 50, "thoughtsTokenCount": 30, "totalTokenCount": 1080
        }))
        .unwrap();
        assert_eq!(usage.input_uncached, 400);
        assert_eq!(usage.cached_input, 600);
        assert_eq!(usage.output, 80);
        assert_eq!(usage.reasoning, 30);
        assert_eq!(usage.total(), 1080);
    }

    #[test]
    fn bedrock_and_cohere() {
        let bedrock = Usage::from_bedrock(&json!({
            "inputTokens": 5, "outputTokens": 9, "totalTokens": 44,
            "cacheReadInputTokens": 10, "cacheWriteInputTokens": 20
        }))
        .unwrap();
        assert_eq!(bedrock.total(), 44);
        let cohere = Usage::from_cohere(&json!({
            "billed_units": {"input_tokens": 12, "output_tokens": 4},
            "tokens": {"input_tokens": 80, "output_tokens": 4}
        }))
        .unwrap();
        assert_eq!((cohere.input_uncached, cohere.output), (12, 4));
    }

    #[test]
    fn finish_reasons_map_both_ways() {
        assert_eq!(
            FinishReason::from_anthropic("tool_use").as_openai(),
            "tool_calls"
        );
        assert_eq!(
            FinishReason::from_openai("length").as_anthropic(),
            "max_tokens"
        );
        assert_eq!(
            FinishReason::from_gemini("SAFETY"),
            FinishReason::ContentFilter
        );
        assert_eq!(
            FinishReason::from_bedrock("stop_sequence").as_anthropic(),
            "stop_sequence"
        );
        assert_eq!(
            FinishReason::from_cohere("TOOL_CALL"),
            FinishReason::ToolCalls
        );
    }
}

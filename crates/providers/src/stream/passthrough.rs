//! Same-shape streams: bytes go to the client unchanged while usage, the finish reason, errors
//! and completion are read from the events on the side.

use bytes::{Bytes, BytesMut};
use serde_json::Value;

use super::StreamSummary;
use crate::errors::{ApiShape, ErrorKind, error_body};
use crate::scrub::scrub_for_client;
use crate::sse::{SseEvent, SseParser, encode};
use crate::usage::{FinishReason, Usage};

/// Which stream format passes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PassthroughKind {
    /// OpenAI chat completion chunks; `strip_usage_chunk` withholds the usage-only chunk the
    /// client did not ask for.
    OpenAi { strip_usage_chunk: bool },
    /// Anthropic message events.
    Anthropic,
    /// OpenAI Responses API events (`response.completed` carries the usage).
    OpenAiResponses,
}

pub(crate) struct Passthrough {
    kind: PassthroughKind,
    parser: SseParser,
    events: Vec<SseEvent>,
    anthropic_usage: Usage,
    /// Parsing stopped (an oversized event); bytes keep flowing.
    blind: bool,
}

impl Passthrough {
    pub(crate) fn new(kind: PassthroughKind) -> Self {
        Self {
            kind,
            parser: SseParser::new(),
            events: Vec::new(),
            anthropic_usage: Usage::default(),
            blind: false,
        }
    }

    pub(crate) fn feed(&mut self, chunk: Bytes, summary: &mut StreamSummary) -> Bytes {
        if self.blind {
            return chunk;
        }
        if self.parser.push(&chunk, &mut self.events).is_err() {
            self.blind = true;
            summary.error = Some((
                ErrorKind::Api,
                "an upstream event was too large to read".into(),
            ));
            return chunk;
        }
        self.observe(summary)
    }

    pub(crate) fn finish(&mut self, summary: &mut StreamSummary) -> Bytes {
        if self.blind {
            return Bytes::new();
        }
        self.parser.finish(&mut self.events);
        self.observe(summary)
    }

    /// Reads the completed events and returns their bytes: unchanged, except that the
    /// usage-only chunk is withheld when stripping, and error events are re-encoded with their
    /// message scrubbed (an upstream error text never reaches a client unscrubbed).
    fn observe(&mut self, summary: &mut StreamSummary) -> Bytes {
        let strip = matches!(
            self.kind,
            PassthroughKind::OpenAi {
                strip_usage_chunk: true
            }
        );
        let mut kept = BytesMut::new();
        for event in std::mem::take(&mut self.events) {
            let verdict = match self.kind {
                PassthroughKind::OpenAi { .. } => openai_event(&event, summary, strip),
                PassthroughKind::Anthropic => {
                    anthropic_event(&event, &mut self.anthropic_usage, summary)
                }
                PassthroughKind::OpenAiResponses => responses_event(&event, summary),
            };
            match verdict {
                Verdict::Forward => kept.extend_from_slice(&event.raw),
                Verdict::Drop => {}
                Verdict::Replace(bytes) => kept.extend_from_slice(&bytes),
            }
        }
        kept.freeze()
    }
}

enum Verdict {
    Forward,
    Drop,
    Replace(Vec<u8>),
}

fn scrubbed_error(
    shape: ApiShape,
    kind: ErrorKind,
    message: &str,
    summary: &mut StreamSummary,
) -> Verdict {
    let message = scrub_for_client(message, &[]);
    let mut out = Vec::new();
    let body = error_body(shape, kind, &message, None).to_string();
    let name = (shape == ApiShape::Anthropic).then_some("error");
    encode(name, &body, &mut out);
    summary.error = Some((kind, message));
    Verdict::Replace(out)
}

/// Records what an OpenAI chunk says; returns whether a stripping pass-through forwards it.
fn openai_event(event: &SseEvent, summary: &mut StreamSummary, strip: bool) -> Verdict {
    if event.data == "[DONE]" {
        summary.completed = true;
        return Verdict::Forward;
    }
    if event.is_keep_alive() {
        return Verdict::Forward;
    }
    let Ok(chunk) = serde_json::from_str::<Value>(&event.data) else {
        return Verdict::Forward;
    };
    if let Some(error) = chunk.get("error") {
        let message = error
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("the provider reported an error");
        return scrubbed_error(ApiShape::OpenAi, ErrorKind::Api, message, summary);
    }
    if let Some(reason) = chunk
        .pointer("/choices/0/finish_reason")
        .and_then(Value::as_str)
    {
        summary.finish_reason = Some(FinishReason::from_openai(reason));
    }
    let usage = chunk.get("usage").and_then(Usage::from_openai);
    if let Some(usage) = usage {
        summary.usage = Some(usage);
    }
    let usage_only = usage.is_some()
        && chunk
            .get("choices")
            .and_then(Value::as_array)
            .is_some_and(Vec::is_empty);
    if strip && usage_only {
        Verdict::Drop
    } else {
        Verdict::Forward
    }
}

/// Records what a Responses API event says: usage and completion from `response.completed` /
/// `response.incomplete`, errors from `response.failed` / `error` (re-encoded, scrubbed).
/// <https://platform.openai.com/docs/api-reference/responses-streaming>
fn responses_event(event: &SseEvent, summary: &mut StreamSummary) -> Verdict {
    if event.is_keep_alive() {
        return Verdict::Forward;
    }
    let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
        return Verdict::Forward;
    };
    let kind = data
        .get("type")
        .and_then(Value::as_str)
        .or(event.event.as_deref())
        .unwrap_or_default();
    match kind {
        "response.completed" | "response.incomplete" => {
            if let Some(u) = data
                .pointer("/response/usage")
                .and_then(Usage::from_openai_responses)
            {
                summary.usage = Some(u);
            }
            summary.finish_reason = Some(if kind == "response.completed" {
                FinishReason::Stop
            } else {
                FinishReason::Length
            });
            summary.completed = true;
            Verdict::Forward
        }
        "response.failed" | "error" => {
            let message = data
                .pointer("/response/error/message")
                .or_else(|| data.get("message"))
                .or_else(|| data.pointer("/error/message"))
                .and_then(Value::as_str)
                .unwrap_or("the provider reported an error");
            scrubbed_error(ApiShape::OpenAi, ErrorKind::Api, message, summary)
        }
        _ => Verdict::Forward,
    }
}

fn anthropic_event(event: &SseEvent, usage: &mut Usage, summary: &mut StreamSummary) -> Verdict {
    let name = event.event.as_deref().unwrap_or_default();
    if !matches!(
        name,
        "message_start" | "message_delta" | "message_stop" | "error"
    ) {
        return Verdict::Forward;
    }
    let Ok(data) = serde_json::from_str::<Value>(&event.data) else {
        return Verdict::Forward;
    };
    match name {
        "message_start" => {
            if let Some(u) = data.pointer("/message/usage") {
                usage.merge_anthropic(u);
                summary.usage = Some(*usage);
            }
        }
        "message_delta" => {
            if let Some(u) = data.get("usage") {
                usage.merge_anthropic(u);
                summary.usage = Some(*usage);
            }
            if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                summary.finish_reason = Some(FinishReason::from_anthropic(reason));
            }
        }
        "message_stop" => summary.completed = true,
        _ => {
            let error = data.get("error").unwrap_or(&Value::Null);
            let kind = ErrorKind::from_anthropic(
                error
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            );
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .unwrap_or("the provider reported an error");
            return scrubbed_error(ApiShape::Anthropic, kind, message, summary);
        }
    }
    Verdict::Forward
}

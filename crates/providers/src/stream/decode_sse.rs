//! SSE-based decoders: the shared SSE front end, and the OpenAI and Anthropic stream formats.
//!
//! OpenAI: `data: {chat.completion.chunk}` events, then `data: [DONE]`
//! (<https://platform.openai.com/docs/api-reference/chat-streaming>). Anthropic: `message_start`,
//! `content_block_start|delta|stop`, `message_delta` (stop reason, cumulative usage),
//! `message_stop`, `ping`, `error` (<https://docs.anthropic.com/en/docs/build-with-claude/streaming>).

use std::collections::HashMap;

use serde_json::Value;

use super::{Decoder, Delta};
use crate::errors::ErrorKind;
use crate::scrub::scrub_for_client;
use crate::sse::{SseEvent, SseParser};
use crate::usage::{FinishReason, Usage};

/// Handles one parsed SSE event.
pub(crate) trait EventHandler: Send {
    fn event(&mut self, event: &SseEvent, out: &mut Vec<Delta>);
    /// The body ended.
    fn end(&mut self, _out: &mut Vec<Delta>) {}
}

/// An SSE parser in front of an [`EventHandler`].
pub(crate) struct Sse<H> {
    parser: SseParser,
    handler: H,
    events: Vec<SseEvent>,
    failed: bool,
}

impl<H: EventHandler> Sse<H> {
    pub(crate) fn new(handler: H) -> Self {
        Self {
            parser: SseParser::new(),
            handler,
            events: Vec::new(),
            failed: false,
        }
    }

    fn drain(&mut self, out: &mut Vec<Delta>) {
        for event in self.events.drain(..) {
            if !event.is_keep_alive() {
                self.handler.event(&event, out);
            }
        }
    }
}

impl<H: EventHandler> Decoder for Sse<H> {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<Delta>) {
        if self.failed {
            return;
        }
        if let Err(err) = self.parser.push(chunk, &mut self.events) {
            self.failed = true;
            out.push(Delta::Error {
                kind: ErrorKind::Api,
                message: err.to_string(),
            });
        }
        self.drain(out);
    }

    fn finish(&mut self, out: &mut Vec<Delta>) {
        if self.failed {
            return;
        }
        self.parser.finish(&mut self.events);
        self.drain(out);
        self.handler.end(out);
    }
}

/// A JSON event payload, or an error delta when it is not JSON.
pub(crate) fn json(data: &str, out: &mut Vec<Delta>) -> Option<Value> {
    match serde_json::from_str(data) {
        Ok(value) => Some(value),
        Err(_) => {
            out.push(Delta::Error {
                kind: ErrorKind::Api,
                message: "the provider sent a stream event that is not JSON".into(),
            });
            None
        }
    }
}

/// The scrubbed message of an error object.
pub(crate) fn error_message(error: &Value) -> String {
    let text = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("the provider reported an error");
    scrub_for_client(text, &[])
}

/// Decoder for OpenAI-style chunk streams (OpenAI, Azure, Mistral, Perplexity, compatible).
pub(crate) fn openai_decoder() -> Sse<OpenAiEvents> {
    Sse::new(OpenAiEvents::default())
}

#[derive(Default)]
pub(crate) struct OpenAiEvents {
    started: bool,
    /// Tool call indexes already announced.
    tools: Vec<usize>,
}

impl EventHandler for OpenAiEvents {
    fn event(&mut self, event: &SseEvent, out: &mut Vec<Delta>) {
        if event.data == "[DONE]" {
            out.push(Delta::Done);
            return;
        }
        let Some(chunk) = json(&event.data, out) else {
            return;
        };
        if let Some(error) = chunk.get("error") {
            out.push(Delta::Error {
                kind: ErrorKind::Api,
                message: error_message(error),
            });
            return;
        }
        if !self.started {
            self.started = true;
            let text = |k: &str| chunk.get(k).and_then(Value::as_str).map(str::to_owned);
            out.push(Delta::Start {
                id: text("id"),
                model: text("model"),
            });
        }
        let choice = chunk.pointer("/choices/0");
        if let Some(delta) = choice.and_then(|c| c.get("delta")) {
            if let Some(text) = delta
                .get("content")
                .and_then(Value::as_str)
                .filter(|t| !t.is_empty())
            {
                out.push(Delta::Text(text.to_owned()));
            }
            for call in delta
                .get("tool_calls")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let index = call.get("index").and_then(Value::as_u64).unwrap_or(0);
                let index = usize::try_from(index).unwrap_or(usize::MAX);
                if !self.tools.contains(&index) {
                    self.tools.push(index);
                    let text = |p: &str| {
                        call.pointer(p)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    out.push(Delta::ToolStart {
                        index,
                        id: text("/id"),
                        name: text("/function/name"),
                    });
                }
                if let Some(args) = call
                    .pointer("/function/arguments")
                    .and_then(Value::as_str)
                    .filter(|a| !a.is_empty())
                {
                    out.push(Delta::ToolArgs {
                        index,
                        arguments: args.to_owned(),
                    });
                }
            }
        }
        if let Some(reason) = choice
            .and_then(|c| c.get("finish_reason"))
            .and_then(Value::as_str)
        {
            out.push(Delta::Finish(FinishReason::from_openai(reason)));
        }
        if let Some(usage) = chunk.get("usage").and_then(Usage::from_openai) {
            out.push(Delta::Usage(usage));
        }
    }
}

/// Decoder for Anthropic Messages streams.
pub(crate) fn anthropic_decoder() -> Sse<AnthropicEvents> {
    Sse::new(AnthropicEvents::default())
}

#[derive(Default)]
pub(crate) struct AnthropicEvents {
    usage: Usage,
    /// Content block index → tool call index.
    tools: HashMap<u64, usize>,
}

impl EventHandler for AnthropicEvents {
    fn event(&mut self, event: &SseEvent, out: &mut Vec<Delta>) {
        let Some(data) = json(&event.data, out) else {
            return;
        };
        let kind = event
            .event
            .as_deref()
            .or_else(|| data.get("type").and_then(Value::as_str))
            .unwrap_or_default();
        match kind {
            "message_start" => {
                let message = data.get("message").unwrap_or(&Value::Null);
                let text = |k: &str| message.get(k).and_then(Value::as_str).map(str::to_owned);
                out.push(Delta::Start {
                    id: text("id"),
                    model: text("model"),
                });
                if let Some(usage) = message.get("usage") {
                    self.usage.merge_anthropic(usage);
                    out.push(Delta::Usage(self.usage));
                }
            }
            "content_block_start" => {
                let block = data.get("content_block").unwrap_or(&Value::Null);
                if block.get("type").and_then(Value::as_str) == Some("tool_use") {
                    let index = self.tools.len();
                    let at = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                    self.tools.insert(at, index);
                    let text = |k: &str| {
                        block
                            .get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    out.push(Delta::ToolStart {
                        index,
                        id: text("id"),
                        name: text("name"),
                    });
                }
            }
            "content_block_delta" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                match delta.get("type").and_then(Value::as_str) {
                    Some("text_delta") => {
                        let text = delta
                            .get("text")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        out.push(Delta::Text(text.to_owned()));
                    }
                    Some("input_json_delta") => {
                        let at = data.get("index").and_then(Value::as_u64).unwrap_or(0);
                        let partial = delta
                            .get("partial_json")
                            .and_then(Value::as_str)
                            .unwrap_or_default();
                        if let Some(&index) = self.tools.get(&at).filter(|_| !partial.is_empty()) {
                            out.push(Delta::ToolArgs {
                                index,
                                arguments: partial.to_owned(),
                            });
                        }
                    }
                    // thinking_delta, signature_delta, citations_delta: Anthropic-only.
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = data.pointer("/delta/stop_reason").and_then(Value::as_str) {
                    out.push(Delta::Finish(FinishReason::from_anthropic(reason)));
                }
                if let Some(usage) = data.get("usage") {
                    self.usage.merge_anthropic(usage);
                    out.push(Delta::Usage(self.usage));
                }
            }
            "message_stop" => out.push(Delta::Done),
            "error" => {
                let error = data.get("error").unwrap_or(&Value::Null);
                let kind = ErrorKind::from_anthropic(
                    error
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default(),
                );
                out.push(Delta::Error {
                    kind,
                    message: error_message(error),
                });
            }
            _ => {}
        }
    }
}

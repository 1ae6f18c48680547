//! Encoders from [`Delta`]s to what clients expect.
//!
//! - OpenAI: `chat.completion.chunk` events, a finish chunk, the usage-only chunk (`choices: []`)
//!   when the client asked for `stream_options.include_usage`, then `data: [DONE]`; errors as
//!   `data: {"error": …}` (<https://platform.openai.com/docs/api-reference/chat-streaming>).
//! - Anthropic: `message_start`, `content_block_start|delta|stop`, `message_delta` (stop reason
//!   and cumulative usage), `message_stop`; errors as `event: error`
//!   (<https://docs.anthropic.com/en/docs/build-with-claude/streaming#event-types>).

use std::collections::HashMap;

use serde_json::{Value, json};

use super::{Delta, Encoder};
use crate::errors::{ApiShape, error_body};
use crate::sse::encode;
use crate::translate::now_unix;
use crate::usage::{FinishReason, Usage};

fn data(value: &Value, out: &mut Vec<u8>) {
    encode(None, &value.to_string(), out);
}

pub(crate) struct OpenAiEncoder {
    id: String,
    model: String,
    created: u64,
    include_usage: bool,
    started: bool,
    finished: bool,
    errored: bool,
    usage: Option<Usage>,
}

impl OpenAiEncoder {
    pub(crate) fn new(model: &str, include_usage: bool) -> Self {
        Self {
            id: "chatcmpl-keyward".into(),
            model: model.to_owned(),
            created: now_unix(),
            include_usage,
            started: false,
            finished: false,
            errored: false,
            usage: None,
        }
    }

    fn chunk(&self, delta: Value, finish: Option<&str>, out: &mut Vec<u8>) {
        data(
            &json!({
                "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                "model": self.model,
                "choices": [{"index": 0, "delta": delta, "logprobs": null, "finish_reason": finish}],
            }),
            out,
        );
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            self.chunk(json!({"role": "assistant", "content": ""}), None, out);
        }
    }
}

impl Encoder for OpenAiEncoder {
    fn delta(&mut self, delta: &Delta, out: &mut Vec<u8>) {
        if self.errored {
            return;
        }
        match delta {
            Delta::Start { id, model } => {
                if let Some(id) = id {
                    self.id.clone_from(id);
                }
                if let Some(model) = model.as_ref().filter(|m| !m.is_empty()) {
                    self.model.clone_from(model);
                }
                self.start(out);
            }
            Delta::Text(text) => {
                self.start(out);
                self.chunk(json!({"content": text}), None, out);
            }
            Delta::ToolStart { index, id, name } => {
                self.start(out);
                let call = json!({"index": index, "id": id, "type": "function", "function": {"name": name, "arguments": ""}});
                self.chunk(json!({"tool_calls": [call]}), None, out);
            }
            Delta::ToolArgs { index, arguments } => {
                self.start(out);
                let call = json!({"index": index, "function": {"arguments": arguments}});
                self.chunk(json!({"tool_calls": [call]}), None, out);
            }
            Delta::Finish(reason) => {
                self.start(out);
                if !self.finished {
                    self.finished = true;
                    self.chunk(json!({}), Some(reason.as_openai()), out);
                }
            }
            Delta::Usage(usage) => self.usage = Some(*usage),
            Delta::Error { kind, message } => {
                self.errored = true;
                data(&error_body(ApiShape::OpenAi, *kind, message, None), out);
            }
            Delta::Done => {}
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if self.errored {
            return;
        }
        self.start(out);
        if !self.finished {
            self.finished = true;
            self.chunk(json!({}), Some(FinishReason::Stop.as_openai()), out);
        }
        if self.include_usage {
            let usage = self.usage.unwrap_or_default().to_openai();
            data(
                &json!({
                    "id": self.id, "object": "chat.completion.chunk", "created": self.created,
                    "model": self.model, "choices": [], "usage": usage,
                }),
                out,
            );
        }
        encode(None, "[DONE]", out);
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Block {
    Text,
    Tool,
}

pub(crate) struct AnthropicEncoder {
    id: String,
    model: String,
    started: bool,
    errored: bool,
    /// The open content block: its index and kind.
    open: Option<(usize, Block)>,
    next_block: usize,
    /// Tool call index → content block index.
    tools: HashMap<usize, usize>,
    finish: Option<FinishReason>,
    usage: Usage,
}

impl AnthropicEncoder {
    pub(crate) fn new(model: &str) -> Self {
        Self {
            id: "msg_keyward".into(),
            model: model.to_owned(),
            started: false,
            errored: false,
            open: None,
            next_block: 0,
            tools: HashMap::new(),
            finish: None,
            usage: Usage::default(),
        }
    }

    fn event(name: &str, value: &Value, out: &mut Vec<u8>) {
        encode(Some(name), &value.to_string(), out);
    }

    fn start(&mut self, out: &mut Vec<u8>) {
        if self.started {
            return;
        }
        self.started = true;
        let mut usage = self.usage.to_anthropic();
        usage["output_tokens"] = json!(0);
        let message = json!({
            "id": self.id, "type": "message", "role": "assistant", "model": self.model,
            "content": [], "stop_reason": null, "stop_sequence": null, "usage": usage,
        });
        Self::event(
            "message_start",
            &json!({"type": "message_start", "message": message}),
            out,
        );
    }

    fn close(&mut self, out: &mut Vec<u8>) {
        if let Some((index, _)) = self.open.take() {
            Self::event(
                "content_block_stop",
                &json!({"type": "content_block_stop", "index": index}),
                out,
            );
        }
    }

    fn open(&mut self, kind: Block, block: Value, out: &mut Vec<u8>) -> usize {
        self.close(out);
        let index = self.next_block;
        self.next_block += 1;
        self.open = Some((index, kind));
        Self::event(
            "content_block_start",
            &json!({"type": "content_block_start", "index": index, "content_block": block}),
            out,
        );
        index
    }

    fn block_delta(index: usize, delta: Value, out: &mut Vec<u8>) {
        Self::event(
            "content_block_delta",
            &json!({"type": "content_block_delta", "index": index, "delta": delta}),
            out,
        );
    }
}

impl Encoder for AnthropicEncoder {
    fn delta(&mut self, delta: &Delta, out: &mut Vec<u8>) {
        if self.errored {
            return;
        }
        match delta {
            Delta::Start { id, model } => {
                if let Some(id) = id {
                    self.id.clone_from(id);
                }
                if let Some(model) = model.as_ref().filter(|m| !m.is_empty()) {
                    self.model.clone_from(model);
                }
            }
            Delta::Text(text) => {
                self.start(out);
                let index = match self.open {
                    Some((index, Block::Text)) => index,
                    _ => self.open(Block::Text, json!({"type": "text", "text": ""}), out),
                };
                Self::block_delta(index, json!({"type": "text_delta", "text": text}), out);
            }
            Delta::ToolStart { index, id, name } => {
                self.start(out);
                let block = json!({"type": "tool_use", "id": id, "name": name, "input": {}});
                let at = self.open(Block::Tool, block, out);
                self.tools.insert(*index, at);
            }
            Delta::ToolArgs { index, arguments } => {
                if let Some(&at) = self.tools.get(index) {
                    Self::block_delta(
                        at,
                        json!({"type": "input_json_delta", "partial_json": arguments}),
                        out,
                    );
                }
            }
            Delta::Finish(reason) => self.finish = Some(*reason),
            Delta::Usage(usage) => self.usage = *usage,
            Delta::Error { kind, message } => {
                self.errored = true;
                Self::event(
                    "error",
                    &error_body(ApiShape::Anthropic, *kind, message, None),
                    out,
                );
            }
            Delta::Done => {}
        }
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        if self.errored {
            return;
        }
        self.start(out);
        self.close(out);
        let stop_reason = self.finish.unwrap_or(FinishReason::Stop).as_anthropic();
        Self::event(
            "message_delta",
            &json!({
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": null},
                "usage": self.usage.to_anthropic(),
            }),
            out,
        );
        Self::event("message_stop", &json!({"type": "message_stop"}), out);
    }
}

//! Decoders for Gemini (SSE of `GenerateContentResponse`), Cohere v2 (SSE of typed events) and
//! Bedrock ConverseStream (AWS event stream frames).
//!
//! - Gemini: <https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent>;
//!   each event is a whole response with the new parts; `usageMetadata` is cumulative and the
//!   stream simply ends (no terminal event), so it is complete once a `finishReason` came.
//! - Cohere: <https://docs.cohere.com/v2/docs/streaming> — `message-start`, `content-delta`,
//!   `tool-call-start|delta|end`, `message-end` (finish reason and usage).
//! - Bedrock: <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStreamOutput.html>
//!   — `messageStart`, `contentBlockStart|Delta|Stop`, `messageStop`, then `metadata` (usage).

use std::collections::HashMap;

use serde_json::Value;

use super::decode_sse::{EventHandler, Sse, error_message, json};
use super::{Decoder, Delta};
use crate::errors::ErrorKind;
use crate::eventstream::{AwsEvent, EventStreamDecoder};
use crate::sse::SseEvent;
use crate::translate::gemini::{candidate_parts, finish_reason};
use crate::usage::{FinishReason, Usage};

/// Gemini's streaming decoder.
#[derive(Default)]
pub(crate) struct GeminiDecoder {
    started: bool,
    calls: usize,
    finished: bool,
}

impl GeminiDecoder {
    pub(crate) fn boxed() -> Box<dyn Decoder> {
        Box::new(Sse::new(Self::default()))
    }
}

fn kind_of_status(code: u64) -> ErrorKind {
    match code {
        400 => ErrorKind::InvalidRequest,
        404 => ErrorKind::NotFound,
        429 => ErrorKind::RateLimit,
        503 => ErrorKind::Overloaded,
        504 => ErrorKind::Timeout,
        _ => ErrorKind::Api,
    }
}

impl EventHandler for GeminiDecoder {
    fn event(&mut self, event: &SseEvent, out: &mut Vec<Delta>) {
        let Some(response) = json(&event.data, out) else {
            return;
        };
        if let Some(error) = response.get("error") {
            let kind = kind_of_status(error.get("code").and_then(Value::as_u64).unwrap_or(500));
            out.push(Delta::Error {
                kind,
                message: error_message(error),
            });
            return;
        }
        if !self.started {
            self.started = true;
            let text = |k: &str| response.get(k).and_then(Value::as_str).map(str::to_owned);
            out.push(Delta::Start {
                id: text("responseId"),
                model: text("modelVersion"),
            });
        }
        if let Some(candidate) = response.pointer("/candidates/0") {
            let (text, calls) = candidate_parts(candidate);
            if !text.is_empty() {
                out.push(Delta::Text(text));
            }
            for (name, args) in calls {
                let index = self.calls;
                self.calls += 1;
                out.push(Delta::ToolStart {
                    index,
                    id: format!("call_{index}"),
                    name,
                });
                out.push(Delta::ToolArgs {
                    index,
                    arguments: args.to_string(),
                });
            }
            if let Some(reason) = finish_reason(candidate, self.calls > 0) {
                self.finished = true;
                out.push(Delta::Finish(reason));
            }
        } else if response.pointer("/promptFeedback/blockReason").is_some() {
            self.finished = true;
            out.push(Delta::Finish(FinishReason::ContentFilter));
        }
        if let Some(usage) = response.get("usageMetadata").and_then(Usage::from_gemini) {
            out.push(Delta::Usage(usage));
        }
    }

    fn end(&mut self, out: &mut Vec<Delta>) {
        if self.finished {
            out.push(Delta::Done);
        }
    }
}

/// Cohere v2's streaming decoder.
pub(crate) fn cohere_decoder() -> Box<dyn Decoder> {
    Box::new(Sse::new(CohereEvents::default()))
}

#[derive(Default)]
pub(crate) struct CohereEvents {
    calls: usize,
}

impl EventHandler for CohereEvents {
    fn event(&mut self, event: &SseEvent, out: &mut Vec<Delta>) {
        let Some(data) = json(&event.data, out) else {
            return;
        };
        let kind = data
            .get("type")
            .and_then(Value::as_str)
            .or(event.event.as_deref())
            .unwrap_or_default();
        let message = data.pointer("/delta/message");
        let text = |p: &str| {
            message
                .and_then(|m| m.pointer(p))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        match kind {
            "message-start" => {
                let id = data.get("id").and_then(Value::as_str).map(str::to_owned);
                out.push(Delta::Start { id, model: None });
            }
            "content-delta" => {
                let t = text("/content/text");
                if !t.is_empty() {
                    out.push(Delta::Text(t));
                }
            }
            "tool-call-start" => {
                let index = self.calls;
                self.calls += 1;
                out.push(Delta::ToolStart {
                    index,
                    id: text("/tool_calls/id"),
                    name: text("/tool_calls/function/name"),
                });
                let args = text("/tool_calls/function/arguments");
                if !args.is_empty() {
                    out.push(Delta::ToolArgs {
                        index,
                        arguments: args,
                    });
                }
            }
            "tool-call-delta" => {
                let args = text("/tool_calls/function/arguments");
                if let Some(index) = self.calls.checked_sub(1).filter(|_| !args.is_empty()) {
                    out.push(Delta::ToolArgs {
                        index,
                        arguments: args,
                    });
                }
            }
            "message-end" => {
                let delta = data.get("delta").unwrap_or(&Value::Null);
                if let Some(reason) = delta.get("finish_reason").and_then(Value::as_str) {
                    out.push(Delta::Finish(FinishReason::from_cohere(reason)));
                }
                if let Some(usage) = delta.get("usage").and_then(Usage::from_cohere) {
                    out.push(Delta::Usage(usage));
                }
                out.push(Delta::Done);
            }
            _ => {}
        }
    }
}

/// Bedrock ConverseStream's decoder.
#[derive(Default)]
pub(crate) struct BedrockDecoder {
    frames: EventStreamDecoder,
    events: Vec<AwsEvent>,
    /// Content block index → tool call index.
    tools: HashMap<u64, usize>,
    stopped: bool,
    done: bool,
    failed: bool,
}

/// The kind of a Bedrock stream exception.
/// <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html#API_runtime_ConverseStream_Errors>
fn exception_kind(name: &str) -> ErrorKind {
    match name {
        "throttlingException" | "ThrottlingException" => ErrorKind::RateLimit,
        "validationException" | "ValidationException" => ErrorKind::InvalidRequest,
        "serviceUnavailableException" | "ServiceUnavailableException" => ErrorKind::Overloaded,
        "modelTimeoutException" | "ModelTimeoutException" => ErrorKind::Timeout,
        _ => ErrorKind::Api,
    }
}

impl BedrockDecoder {
    pub(crate) fn boxed() -> Box<dyn Decoder> {
        Box::new(Self::default())
    }

    fn event(&mut self, event: &AwsEvent, out: &mut Vec<Delta>) {
        if event.message_type != "event" {
            let message = serde_json::from_slice::<Value>(&event.payload)
                .map(|v| error_message(&v))
                .unwrap_or_else(|_| {
                    error_message(
                        &serde_json::json!({"message": String::from_utf8_lossy(&event.payload)}),
                    )
                });
            out.push(Delta::Error {
                kind: exception_kind(&event.name),
                message,
            });
            return;
        }
        let Ok(data) = serde_json::from_slice::<Value>(&event.payload) else {
            out.push(Delta::Error {
                kind: ErrorKind::Api,
                message: "the provider sent a stream event that is not JSON".into(),
            });
            return;
        };
        let block = data
            .get("contentBlockIndex")
            .and_then(Value::as_u64)
            .unwrap_or(0);
        match event.name.as_str() {
            "messageStart" => out.push(Delta::Start {
                id: None,
                model: None,
            }),
            "contentBlockStart" => {
                if let Some(tool) = data.pointer("/start/toolUse") {
                    let index = self.tools.len();
                    self.tools.insert(block, index);
                    let text = |k: &str| {
                        tool.get(k)
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned()
                    };
                    out.push(Delta::ToolStart {
                        index,
                        id: text("toolUseId"),
                        name: text("name"),
                    });
                }
            }
            "contentBlockDelta" => {
                if let Some(text) = data.pointer("/delta/text").and_then(Value::as_str) {
                    out.push(Delta::Text(text.to_owned()));
                }
                let input = data.pointer("/delta/toolUse/input").and_then(Value::as_str);
                if let (Some(input), Some(&index)) = (input, self.tools.get(&block)) {
                    out.push(Delta::ToolArgs {
                        index,
                        arguments: input.to_owned(),
                    });
                }
            }
            "messageStop" => {
                self.stopped = true;
                if let Some(reason) = data.get("stopReason").and_then(Value::as_str) {
                    out.push(Delta::Finish(FinishReason::from_bedrock(reason)));
                }
            }
            "metadata" => {
                if let Some(usage) = data.get("usage").and_then(Usage::from_bedrock) {
                    out.push(Delta::Usage(usage));
                }
                self.done = true;
                out.push(Delta::Done);
            }
            _ => {}
        }
    }
}

impl Decoder for BedrockDecoder {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<Delta>) {
        if self.failed {
            return;
        }
        let mut events = std::mem::take(&mut self.events);
        if let Err(err) = self.frames.push(chunk, &mut events) {
            self.failed = true;
            out.push(Delta::Error {
                kind: ErrorKind::Api,
                message: err.to_string(),
            });
        }
        for event in events.drain(..) {
            self.event(&event, out);
        }
        self.events = events;
    }

    fn finish(&mut self, out: &mut Vec<Delta>) {
        if !self.failed && self.stopped && !self.done && !self.frames.has_partial_frame() {
            out.push(Delta::Done);
        }
    }
}

//! Streaming responses: a [`StreamObserver`] is fed the upstream body chunk by chunk and
//! returns the bytes to write to the client.
//!
//! - Same shape (OpenAI-style upstream for an OpenAI client, Anthropic for Anthropic): the
//!   bytes pass through unchanged while usage and the finish reason are read on the side. One
//!   exception: when the client did not ask for `stream_options.include_usage` (Keyward asks
//!   upstream regardless), the extra usage-only chunk is withheld, since clients that did not
//!   ask may index `choices[0]` of every chunk.
//! - Cross shape: upstream events are decoded into [`Delta`]s (the pivot) and encoded as
//!   OpenAI `chat.completion.chunk` SSE or Anthropic message events.
//!
//! At the end, [`StreamObserver::summary`] holds the usage, finish reason, any in-stream error
//! (scrubbed) and whether the stream completed.

mod decode_other;
mod decode_sse;
mod encode;
mod passthrough;

use bytes::Bytes;

use crate::errors::{ApiShape, ErrorKind};
use crate::usage::{FinishReason, Usage};

pub(crate) use decode_other::{BedrockDecoder, GeminiDecoder, cohere_decoder};
pub(crate) use decode_sse::{anthropic_decoder, openai_decoder};
pub(crate) use passthrough::{Passthrough, PassthroughKind};

/// One step of a streamed answer, whatever the provider.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Delta {
    /// The message began (ids and model when the provider says).
    Start {
        id: Option<String>,
        model: Option<String>,
    },
    /// Answer text.
    Text(String),
    /// A tool call began; `index` counts tool calls from 0.
    ToolStart {
        index: usize,
        id: String,
        name: String,
    },
    /// More JSON of a tool call's arguments.
    ToolArgs { index: usize, arguments: String },
    /// Why generation stopped.
    Finish(FinishReason),
    /// Cumulative usage so far (the last one wins).
    Usage(Usage),
    /// The provider reported an error mid-stream; the message is scrubbed.
    Error { kind: ErrorKind, message: String },
    /// The provider's terminal event: nothing more will come.
    Done,
}

/// Turns upstream bytes into deltas.
pub(crate) trait Decoder: Send {
    fn push(&mut self, chunk: &[u8], out: &mut Vec<Delta>);
    /// The upstream body ended.
    fn finish(&mut self, out: &mut Vec<Delta>);
}

/// Turns deltas into client bytes.
pub(crate) trait Encoder: Send {
    fn delta(&mut self, delta: &Delta, out: &mut Vec<u8>);
    /// Called once, after the last delta.
    fn end(&mut self, out: &mut Vec<u8>);
}

/// What a finished (or interrupted) stream amounted to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamSummary {
    /// The usage the provider reported (the last cumulative value), if any.
    pub usage: Option<Usage>,
    /// Why generation stopped, if the provider said.
    pub finish_reason: Option<FinishReason>,
    /// An error the provider sent mid-stream (scrubbed), or a decoding failure.
    pub error: Option<(ErrorKind, String)>,
    /// Whether the provider's terminal event arrived; `false` means the stream was cut.
    pub completed: bool,
}

enum Mode {
    Passthrough(Passthrough),
    Translate {
        decoder: Box<dyn Decoder>,
        encoder: Box<dyn Encoder>,
        ended: bool,
    },
}

/// Observes (and for cross-shape calls, translates) one streamed response.
pub struct StreamObserver {
    mode: Mode,
    summary: StreamSummary,
    deltas: Vec<Delta>,
}

impl std::fmt::Debug for StreamObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamObserver")
            .field("summary", &self.summary)
            .finish_non_exhaustive()
    }
}

impl StreamObserver {
    pub(crate) fn passthrough(passthrough: Passthrough) -> Self {
        Self {
            mode: Mode::Passthrough(passthrough),
            summary: StreamSummary::default(),
            deltas: Vec::new(),
        }
    }

    pub(crate) fn translate(
        decoder: Box<dyn Decoder>,
        shape: ApiShape,
        model: &str,
        include_usage: bool,
    ) -> Self {
        let encoder: Box<dyn Encoder> = match shape {
            ApiShape::OpenAi => Box::new(encode::OpenAiEncoder::new(model, include_usage)),
            ApiShape::Anthropic => Box::new(encode::AnthropicEncoder::new(model)),
        };
        Self {
            mode: Mode::Translate {
                decoder,
                encoder,
                ended: false,
            },
            summary: StreamSummary::default(),
            deltas: Vec::new(),
        }
    }

    /// Feeds one upstream chunk; returns what to send the client now (possibly nothing).
    pub fn feed(&mut self, chunk: Bytes) -> Bytes {
        match &mut self.mode {
            Mode::Passthrough(p) => p.feed(chunk, &mut self.summary),
            Mode::Translate {
                decoder,
                encoder,
                ended,
            } => {
                decoder.push(&chunk, &mut self.deltas);
                let mut out = Vec::new();
                emit(
                    &mut self.deltas,
                    &mut self.summary,
                    encoder.as_mut(),
                    ended,
                    &mut out,
                );
                Bytes::from(out)
            }
        }
    }

    /// The upstream body ended (or failed): returns the last bytes for the client. A stream
    /// cut before the provider's terminal event ends with an error event, never with a normal
    /// ending the client would trust.
    pub fn finish(&mut self) -> Bytes {
        match &mut self.mode {
            Mode::Passthrough(p) => p.finish(&mut self.summary),
            Mode::Translate {
                decoder,
                encoder,
                ended,
            } => {
                decoder.finish(&mut self.deltas);
                let mut out = Vec::new();
                emit(
                    &mut self.deltas,
                    &mut self.summary,
                    encoder.as_mut(),
                    ended,
                    &mut out,
                );
                if !*ended {
                    if !self.summary.completed && self.summary.error.is_none() {
                        let message =
                            "the provider's stream ended before it was complete".to_owned();
                        let cut = Delta::Error {
                            kind: ErrorKind::Api,
                            message,
                        };
                        record(&cut, &mut self.summary);
                        encoder.delta(&cut, &mut out);
                    }
                    encoder.end(&mut out);
                    *ended = true;
                }
                Bytes::from(out)
            }
        }
    }

    /// What has been observed so far; final after [`StreamObserver::finish`].
    pub fn summary(&self) -> &StreamSummary {
        &self.summary
    }
}

fn record(delta: &Delta, summary: &mut StreamSummary) {
    match delta {
        Delta::Usage(usage) => summary.usage = Some(*usage),
        Delta::Finish(reason) => summary.finish_reason = Some(*reason),
        Delta::Error { kind, message } => summary.error = Some((*kind, message.clone())),
        Delta::Done => summary.completed = true,
        _ => {}
    }
}

fn emit(
    deltas: &mut Vec<Delta>,
    summary: &mut StreamSummary,
    encoder: &mut dyn Encoder,
    ended: &mut bool,
    out: &mut Vec<u8>,
) {
    for delta in deltas.drain(..) {
        if *ended {
            continue;
        }
        record(&delta, summary);
        if delta == Delta::Done {
            encoder.end(out);
            *ended = true;
        } else {
            encoder.delta(&delta, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observers_can_move_between_threads() {
        fn assert_send<T: Send + 'static>() {}
        assert_send::<StreamObserver>();
        assert_send::<crate::Exchange>();
    }
}

//! Bedrock's streaming responses: the AWS event stream binary framing
//! (`application/vnd.amazon.eventstream`), decoded with AWS's own `aws-smithy-eventstream`.
//!
//! Each frame is a 12-byte prelude (total length, headers length, prelude CRC32), headers, a
//! payload and a message CRC32; the crate checks both CRCs. Headers say what the payload is:
//! `:message-type` is `event` (then `:event-type` names it, e.g. `contentBlockDelta`),
//! `exception` (then `:exception-type`, e.g. `throttlingException`, and the payload is
//! `{"message": …}`) or `error` (`:error-code`, `:error-message`).
//! Sources: <https://docs.aws.amazon.com/transcribe/latest/dg/event-stream.html> (framing) and
//! <https://docs.aws.amazon.com/bedrock/latest/APIReference/API_runtime_ConverseStream.html>.

use aws_smithy_eventstream::frame::{DecodedFrame, MessageFrameDecoder};
use aws_smithy_types::event_stream::{Header, Message};
use bytes::{Bytes, BytesMut};

/// The largest frame accepted; AWS caps event stream messages at 16 MiB.
const MAX_BUFFERED_BYTES: usize = 16 * 1024 * 1024 + 16;

/// One decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AwsEvent {
    /// `event`, `exception` or `error`.
    pub(crate) message_type: String,
    /// `:event-type`, `:exception-type` or `:error-code`, by message type.
    pub(crate) name: String,
    /// The JSON payload (for `error` frames: the `:error-message` header).
    pub(crate) payload: Bytes,
}

/// Why a Bedrock stream could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("malformed AWS event stream frame: {0}")]
pub(crate) struct FrameError(String);

/// Incremental decoder: push bytes as they arrive, get complete frames out.
#[derive(Debug, Default)]
pub(crate) struct EventStreamDecoder {
    buffer: BytesMut,
    decoder: MessageFrameDecoder,
}

impl EventStreamDecoder {
    /// Feeds `chunk`, appending every frame it completes to `out`.
    pub(crate) fn push(&mut self, chunk: &[u8], out: &mut Vec<AwsEvent>) -> Result<(), FrameError> {
        self.buffer.extend_from_slice(chunk);
        loop {
            match self.decoder.decode_frame(&mut self.buffer) {
                Ok(DecodedFrame::Complete(message)) => out.push(event(&message)),
                Ok(DecodedFrame::Incomplete) => break,
                Err(err) => return Err(FrameError(err.to_string())),
            }
        }
        if self.buffer.len() > MAX_BUFFERED_BYTES {
            return Err(FrameError("frame larger than 16 MiB".to_owned()));
        }
        Ok(())
    }

    /// Whether bytes of an unfinished frame are left (a stream cut mid-frame).
    pub(crate) fn has_partial_frame(&self) -> bool {
        !self.buffer.is_empty()
    }
}

fn header<'a>(message: &'a Message, name: &str) -> Option<&'a str> {
    message
        .headers()
        .iter()
        .find(|h: &&Header| h.name().as_str() == name)
        .and_then(|h| h.value().as_string().ok())
        .map(|s| s.as_str())
}

fn event(message: &Message) -> AwsEvent {
    let message_type = header(message, ":message-type")
        .unwrap_or("event")
        .to_owned();
    let (name, payload) = match message_type.as_str() {
        "exception" => (
            header(message, ":exception-type").unwrap_or_default(),
            message.payload().clone(),
        ),
        "error" => (
            header(message, ":error-code").unwrap_or_default(),
            Bytes::from(
                header(message, ":error-message")
                    .unwrap_or_default()
                    .to_owned(),
            ),
        ),
        _ => (
            header(message, ":event-type").unwrap_or_default(),
            message.payload().clone(),
        ),
    };
    AwsEvent {
        name: name.to_owned(),
        message_type,
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_eventstream::frame::write_message_to;
    use aws_smithy_types::event_stream::HeaderValue;

    fn frame(event_type: &str, payload: &str) -> Vec<u8> {
        let message = Message::new(payload.as_bytes().to_vec())
            .add_header(Header::new(
                ":event-type",
                HeaderValue::String(event_type.to_owned().into()),
            ))
            .add_header(Header::new(
                ":content-type",
                HeaderValue::String("application/json".to_owned().into()),
            ))
            .add_header(Header::new(
                ":message-type",
                HeaderValue::String("event".to_owned().into()),
            ));
        let mut out = Vec::new();
        write_message_to(&message, &mut out).unwrap();
        out
    }

    #[test]
    fn frames_split_anywhere_decode_the_same() {
        let mut bytes = frame("messageStart", r#"{"role":"assistant"}"#);
        bytes.extend(frame(
            "contentBlockDelta",
            r#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#,
        ));
        for size in 1..bytes.len() {
            let mut decoder = EventStreamDecoder::default();
            let mut out = Vec::new();
            for piece in bytes.chunks(size) {
                decoder.push(piece, &mut out).unwrap();
            }
            assert_eq!(out.len(), 2, "split every {size}");
            assert_eq!(out[0].name, "messageStart");
            assert_eq!(out[1].name, "contentBlockDelta");
            assert_eq!(
                &out[1].payload[..],
                br#"{"contentBlockIndex":0,"delta":{"text":"Hi"}}"#
            );
            assert!(!decoder.has_partial_frame());
        }
    }

    #[test]
    fn a_corrupted_frame_fails_its_crc() {
        let mut bytes = frame("messageStart", r#"{"role":"assistant"}"#);
        let last = bytes.len() - 6;
        bytes[last] ^= 0x01;
        let mut out = Vec::new();
        assert!(
            EventStreamDecoder::default()
                .push(&bytes, &mut out)
                .is_err()
        );
        assert!(out.is_empty());
    }
}

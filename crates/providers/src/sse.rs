//! An incremental server-sent events parser and encoder.
//!
//! Follows the WHATWG event-stream grammar
//! (<https://html.spec.whatwg.org/multipage/server-sent-events.html#parsing-an-event-stream>):
//! lines end in `\r\n`, `\n` or `\r` (also when the `\r` and `\n` arrive in different chunks);
//! `:` lines are comments (keep-alives); `data:` lines accumulate, joined by `\n`; a blank line
//! dispatches the event. Events may be split across chunks anywhere, even inside a UTF-8
//! character. Each event also keeps its raw bytes, so a pass-through can forward it unchanged.

use bytes::{Bytes, BytesMut};

/// The largest event accepted (16 MiB): an upstream that never ends a line cannot make the
/// gateway buffer without bound.
pub const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One dispatched event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, when set.
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
    /// The `id:` field, when set.
    pub id: Option<String>,
    /// The exact bytes of the event as received, blank line included (comments before it too).
    pub raw: Bytes,
}

/// The error when an event exceeds [`MAX_EVENT_BYTES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("an upstream event exceeded {MAX_EVENT_BYTES} bytes")]
pub struct EventTooLarge;

/// Incremental parser: [`SseParser::push`] bytes as they arrive, get complete events out.
#[derive(Debug, Default)]
pub struct SseParser {
    /// Bytes of the current event not yet split into lines.
    pending: BytesMut,
    /// Offset in `pending` up to which lines have been consumed.
    consumed: usize,
    /// The previous chunk ended in `\r`: a leading `\n` now belongs to that line ending.
    skip_lf: bool,
    event: Option<String>,
    data: String,
    has_data: bool,
    id: Option<String>,
}

impl SseParser {
    /// A parser at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds `chunk`, appending every event it completes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<SseEvent>) -> Result<(), EventTooLarge> {
        let mut chunk = chunk;
        if self.skip_lf {
            self.skip_lf = false;
            if let Some(rest) = chunk.strip_prefix(b"\n") {
                self.pending.extend_from_slice(b"\n");
                self.consumed += 1;
                chunk = rest;
            }
        }
        self.pending.extend_from_slice(chunk);
        loop {
            let unread = &self.pending[self.consumed..];
            let Some(end) = unread.iter().position(|b| matches!(b, b'\n' | b'\r')) else {
                break;
            };
            let line_start = self.consumed;
            let line_end = line_start + end;
            let mut next = line_end + 1;
            if self.pending[line_end] == b'\r' {
                match self.pending.get(next) {
                    Some(b'\n') => next += 1,
                    Some(_) => {}
                    // The `\n` of a `\r\n` may come with the next chunk.
                    None => self.skip_lf = true,
                }
            }
            self.consumed = next;
            if line_end == line_start {
                self.dispatch(out);
            } else {
                let line =
                    String::from_utf8_lossy(&self.pending[line_start..line_end]).into_owned();
                self.field(&line);
            }
        }
        if self.pending.len() > MAX_EVENT_BYTES {
            return Err(EventTooLarge);
        }
        Ok(())
    }

    /// At the end of the stream: dispatches an event whose final blank line never came (some
    /// servers close right after the last `data:` line).
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        if self.consumed < self.pending.len() {
            let line = String::from_utf8_lossy(&self.pending[self.consumed..]).into_owned();
            self.consumed = self.pending.len();
            self.field(&line);
        }
        self.dispatch(out);
    }

    fn field(&mut self, line: &str) {
        if line.starts_with(':') {
            return;
        }
        let (name, value) = match line.split_once(':') {
            Some((name, value)) => (name, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match name {
            "event" => self.event = Some(value.to_owned()),
            "data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(value);
                self.has_data = true;
            }
            "id" if !value.contains('\0') => self.id = Some(value.to_owned()),
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        let raw = self.pending.split_to(self.consumed).freeze();
        self.consumed = 0;
        self.has_data = false;
        let event = SseEvent {
            event: self.event.take(),
            data: std::mem::take(&mut self.data),
            id: self.id.take(),
            raw,
        };
        if !event.raw.is_empty() {
            out.push(event);
        }
    }
}

impl SseEvent {
    /// Whether this is only comments (a keep-alive such as `: ping`) or an empty event: decoders
    /// skip it, a pass-through forwards its raw bytes.
    pub fn is_keep_alive(&self) -> bool {
        self.event.is_none() && self.data.is_empty() && self.id.is_none()
    }
}

/// Encodes one event: `event: name` (when given), one `data:` line per line of `data`, and
/// the blank line.
pub fn encode(event: Option<&str>, data: &str, out: &mut Vec<u8>) {
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const STREAM: &str = ": keep-alive\r\n\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\n\
        data: line one\ndata: line two\n\ndata: héllo wörld\r\r: comment\nid: 7\ndata: [DONE]\n\n";

    fn parse_in_pieces(input: &[u8], size: usize) -> Vec<SseEvent> {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        for piece in input.chunks(size) {
            parser.push(piece, &mut out).unwrap();
        }
        parser.finish(&mut out);
        out
    }

    #[test]
    fn events_are_the_same_however_the_bytes_are_split() {
        let whole = parse_in_pieces(STREAM.as_bytes(), STREAM.len());
        let data: Vec<_> = whole.iter().filter(|e| !e.is_keep_alive()).collect();
        assert_eq!(data.len(), 4, "{whole:?}");
        assert_eq!(data[0].event.as_deref(), Some("message_start"));
        assert_eq!(data[0].data, "{\"a\":1}");
        assert_eq!(data[1].data, "line one\nline two");
        assert_eq!(data[2].data, "héllo wörld");
        assert_eq!(data[3].data, "[DONE]");
        assert_eq!(data[3].id.as_deref(), Some("7"));
        for size in 1..STREAM.len() {
            let split = parse_in_pieces(STREAM.as_bytes(), size);
            let events: Vec<_> = split.iter().filter(|e| !e.is_keep_alive()).collect();
            assert_eq!(
                events.iter().map(|e| &e.data).collect::<Vec<_>>(),
                data.iter().map(|e| &e.data).collect::<Vec<_>>(),
                "split every {size} bytes"
            );
            let raw: Vec<u8> = split.iter().flat_map(|e| e.raw.to_vec()).collect();
            assert_eq!(
                raw,
                STREAM.as_bytes(),
                "raw bytes are kept, split every {size}"
            );
        }
    }

    #[test]
    fn a_last_event_without_blank_line_is_dispatched_at_the_end() {
        let events = parse_in_pieces(b"data: {\"x\":1}\n\ndata: tail", 3);
        assert_eq!(events.len(), 2);
        assert_eq!(events[1].data, "tail");
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut parser = SseParser::new();
        let mut out = Vec::new();
        let big = vec![b'a'; MAX_EVENT_BYTES + 1];
        assert_eq!(parser.push(&big, &mut out), Err(EventTooLarge));
    }

    #[test]
    fn encode_splits_lines() {
        let mut out = Vec::new();
        encode(Some("ping"), "a\nb", &mut out);
        assert_eq!(out, b"event: ping\ndata: a\ndata: b\n\n");
    }
}

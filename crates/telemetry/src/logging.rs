//! `tracing` setup. Every formatted line passes through the redaction function before it leaves
//! the process, so no log line can carry a provider key, a virtual key or a bearer token.

use std::io::Write;

pub use keyward_core::settings::{LogFormat, TelemetryConfig};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::{Error, Result};

/// A writer that redacts each formatted event before writing it to the inner sink.
pub struct RedactingWriter<W: Write> {
    buf: Vec<u8>,
    inner: W,
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let text = String::from_utf8_lossy(&self.buf);
        let clean = keyward_crypto::redact::redact(&text);
        let res = self.inner.write_all(clean.as_bytes());
        self.buf.clear();
        res.and_then(|()| self.inner.flush())
    }
}

impl<W: Write> Drop for RedactingWriter<W> {
    fn drop(&mut self) {
        let _flushed = self.flush();
    }
}

/// Makes [`RedactingWriter`]s over any `MakeWriter` (stdout in production, a buffer in tests).
#[derive(Clone)]
pub struct Redacting<M>(pub M);

impl<'a, M> MakeWriter<'a> for Redacting<M>
where
    M: MakeWriter<'a>,
{
    type Writer = RedactingWriter<M::Writer>;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingWriter {
            buf: Vec::with_capacity(256),
            inner: self.0.make_writer(),
        }
    }
}

/// A JSON subscriber at `level` writing redacted lines to `make_writer` (tests capture logs
/// with it exactly as production formats them).
pub fn redacting_subscriber<M>(
    level: &str,
    make_writer: M,
) -> impl tracing::Subscriber + Send + Sync + 'static
where
    M: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(level))
        .with_writer(Redacting(make_writer))
        .json()
        .finish()
}

/// Installs the global subscriber. Call once, first thing in `main`.
pub fn init(cfg: &TelemetryConfig) -> Result<()> {
    let filter = EnvFilter::try_new(&cfg.level)
        .map_err(|e| Error::Logging(format!("telemetry.level `{}`: {e}", cfg.level)))?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Redacting(std::io::stdout));
    let res = match cfg.format {
        LogFormat::Pretty => builder.with_target(false).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
    };
    res.map_err(|e| Error::Logging(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);

    impl Write for Buf {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn log_lines_are_redacted() {
        let buf = Buf::default();
        let sink = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(Redacting(move || sink.clone()))
            .json()
            .finish();
        let canary = "sk-proj-CANARYcanary0123456789abcdefghijklmnop";
        tracing::subscriber::with_default(subscriber, || {
            tracing::info!(key = canary, "upstream said: invalid key {canary}");
            tracing::warn!("authorization: Bearer {canary}");
        });
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(out.contains("upstream said"), "{out}");
        assert!(!out.contains("CANARYcanary"), "{out}");
    }
}

//! `tracing` setup. Every formatted line passes through the redaction function before it leaves
//! the process, so no log line can carry a provider key, a virtual key or a bearer token.
//!
//! In a service ([`init`]) the lines leave through a background thread ([`Queued`]): the thread
//! that logs only formats the line and queues it; `keyward-log` redacts the lines and writes them
//! to stdout many at a time. When each access-log line was redacted and written on the request's
//! own thread, logging cost the gateway twice the CPU per request that it costs now
//! (bench/RESULTS.md, "LLM proxy", session of 2026-12-06 22:00).

use std::io::{BufWriter, Write};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

pub use keyward_core::settings::{LogFormat, TelemetryConfig};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::Layer as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::{Error, Result};

/// Writes one formatted line to `out` with its secrets masked: the one way a log line leaves.
fn write_redacted<W: Write>(out: &mut W, line: &[u8]) -> std::io::Result<()> {
    let text = String::from_utf8_lossy(line);
    out.write_all(keyward_crypto::redact::redact(&text).as_bytes())
}

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
        let res = write_redacted(&mut self.inner, &self.buf);
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

/// Lines queued for the log thread before a thread that logs has to wait for it: the queue never
/// drops a line. At ~250 bytes a line, a full queue holds about 1 MB.
const QUEUE_LINES: usize = 4_096;

/// Bytes the log thread gathers before writing; it also writes whenever the queue runs empty.
const WRITE_CHUNK: usize = 64 * 1024;

/// How long the log thread gathers lines before writing them: the most a line waits to reach
/// stdout while the service is busy.
const GATHER: Duration = Duration::from_millis(2);

enum Queue {
    Line(Vec<u8>),
    /// Write out everything queued before this, then answer.
    Flush(SyncSender<()>),
}

/// A `MakeWriter` that hands each formatted line to a background thread, which redacts it and
/// writes it to the sink in order. Lossless: when the thread falls behind by [`QUEUE_LINES`]
/// lines, the next thread to log waits for it.
#[derive(Clone)]
pub struct Queued {
    tx: SyncSender<Queue>,
}

/// One line being formatted; queued when dropped.
pub struct QueuedLine<'a> {
    buf: Vec<u8>,
    tx: &'a SyncSender<Queue>,
}

impl Queued {
    /// Starts the `keyward-log` thread writing to `sink`.
    pub fn spawn<W: Write + Send + 'static>(sink: W) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_LINES);
        std::thread::Builder::new()
            .name("keyward-log".into())
            .spawn(move || write_lines(&rx, sink))?;
        Ok(Self { tx })
    }

    /// Waits until every line queued before the call has been written, at most `timeout`.
    /// False when the time ran out or the thread is gone.
    pub fn flush(&self, timeout: Duration) -> bool {
        let (ack, done) = sync_channel(1);
        self.tx.send(Queue::Flush(ack)).is_ok() && done.recv_timeout(timeout).is_ok()
    }
}

impl<'a> MakeWriter<'a> for Queued {
    type Writer = QueuedLine<'a>;
    fn make_writer(&'a self) -> Self::Writer {
        QueuedLine {
            buf: Vec::with_capacity(256),
            tx: &self.tx,
        }
    }
}

impl Write for QueuedLine<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for QueuedLine<'_> {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            // Fails only once the log thread is gone (it never stops on its own).
            let _queued = self.tx.send(Queue::Line(std::mem::take(&mut self.buf)));
        }
    }
}

/// The log thread: redacts each line and writes them in chunks, in the order they were queued.
/// After the first line of a quiet spell it waits [`GATHER`] for more, so a busy service pays one
/// wake-up and one write for many lines rather than for each line. Write errors (a closed
/// stdout) are ignored, as a direct write's would be.
fn write_lines<W: Write>(rx: &Receiver<Queue>, sink: W) {
    let mut out = BufWriter::with_capacity(WRITE_CHUNK, sink);
    while let Ok(first) = rx.recv() {
        let gather = matches!(first, Queue::Line(_));
        put(&mut out, first);
        if gather {
            std::thread::sleep(GATHER);
        }
        while let Ok(item) = rx.try_recv() {
            put(&mut out, item);
        }
        let _flushed = out.flush();
    }
}

fn put<W: Write>(out: &mut BufWriter<W>, item: Queue) {
    match item {
        Queue::Line(line) => {
            let _written = write_redacted(out, &line);
        }
        Queue::Flush(ack) => {
            let _flushed = out.flush();
            let _answered = ack.send(());
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

/// How long shutting down waits for queued log lines to be written.
const LOG_FLUSH_TIMEOUT: Duration = Duration::from_secs(5);

/// Writes out queued log lines, flushes and stops trace export when dropped or shut down; hold
/// it for the process's life.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
    lines: Option<Queued>,
}

impl TelemetryGuard {
    /// Flushes pending spans, stops the exporter and writes out queued log lines. Lines logged
    /// later are still written, but nothing waits for them.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
        if let Some(q) = self.lines.take() {
            let _written = q.flush(LOG_FLUSH_TIMEOUT);
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A tracer provider exporting spans over OTLP/gRPC to `endpoint` in batches.
pub fn otlp_provider(endpoint: &str, service_name: &str) -> Result<SdkTracerProvider> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_tonic()
        .with_endpoint(endpoint)
        .build()
        .map_err(|e| Error::Logging(format!("telemetry.otlp_endpoint `{endpoint}`: {e}")))?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(service_name.to_string())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Installs the global subscriber (redacted logs, plus OTLP trace export when
/// `otlp_endpoint` is set). Call once, first thing in `main`, inside the tokio runtime.
pub fn init(cfg: &TelemetryConfig) -> Result<TelemetryGuard> {
    let filter = EnvFilter::try_new(&cfg.level)
        .map_err(|e| Error::Logging(format!("telemetry.level `{}`: {e}", cfg.level)))?;
    let lines = Queued::spawn(std::io::stdout())
        .map_err(|e| Error::Logging(format!("could not start the log thread: {e}")))?;
    let fmt_layer = match cfg.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(lines.clone())
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(lines.clone())
            .boxed(),
    };
    let provider = match &cfg.otlp_endpoint {
        Some(endpoint) => Some(otlp_provider(endpoint, &cfg.service_name)?),
        None => None,
    };
    let otel = provider
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("keyward")));
    tracing_subscriber::registry()
        .with(filter)
        .with(fmt_layer)
        .with(otel)
        .try_init()
        .map_err(|e| Error::Logging(e.to_string()))?;
    Ok(TelemetryGuard {
        provider,
        lines: Some(lines),
    })
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

    #[test]
    fn queued_lines_are_redacted_written_in_order_and_flushed() {
        let buf = Buf::default();
        let lines = Queued::spawn(buf.clone()).unwrap();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(lines.clone())
            .json()
            .finish();
        let canary = "sk-ant-api03-CANARYcanary0123456789abcdefghijklmnop";
        // More lines than the queue holds: logging waits for the thread, nothing is dropped.
        let n = QUEUE_LINES * 2 + 7;
        tracing::subscriber::with_default(subscriber, || {
            for i in 0..n {
                tracing::info!(seq = i, "upstream said: invalid x-api-key: {canary}");
            }
        });
        assert!(lines.flush(Duration::from_secs(10)), "flush timed out");
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(!out.contains("CANARYcanary"), "a key reached the log");
        let seqs: Vec<u64> = out
            .lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["fields"]["seq"]
                    .as_u64()
                    .unwrap()
            })
            .collect();
        assert_eq!(seqs, (0..n as u64).collect::<Vec<_>>());
    }

    #[test]
    fn a_line_logged_from_many_threads_is_never_split() {
        let buf = Buf::default();
        let lines = Queued::spawn(buf.clone()).unwrap();
        let subscriber = std::sync::Arc::new(
            tracing_subscriber::fmt()
                .with_writer(lines.clone())
                .json()
                .finish(),
        );
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let s = subscriber.clone();
                std::thread::spawn(move || {
                    tracing::subscriber::with_default(s, || {
                        for i in 0..500 {
                            tracing::info!(thread = t, seq = i, pad = %"x".repeat(300), "line");
                        }
                    });
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(lines.flush(Duration::from_secs(10)));
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let mut last = [None::<u64>; 4];
        for l in out.lines() {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let t = usize::try_from(v["fields"]["thread"].as_u64().unwrap()).unwrap();
            let seq = v["fields"]["seq"].as_u64().unwrap();
            assert_eq!(last[t].map_or(0, |s| s + 1), seq, "thread {t} out of order");
            last[t] = Some(seq);
        }
        assert_eq!(last, [Some(499); 4]);
    }
}

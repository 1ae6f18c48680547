//! `tracing` setup. Every formatted line passes through the redaction function before it leaves
//! the process, so no log line can carry a provider key, a virtual key or a bearer token.

use std::io::Write;

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

/// Flushes and stops trace export when dropped or shut down; hold it for the process's life.
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    /// Flushes pending spans and stops the exporter.
    pub fn shutdown(mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(p) = self.provider.take() {
            let _ = p.shutdown();
        }
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
    let fmt_layer = match cfg.format {
        LogFormat::Pretty => tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(Redacting(std::io::stdout))
            .boxed(),
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_writer(Redacting(std::io::stdout))
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
    Ok(TelemetryGuard { provider })
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

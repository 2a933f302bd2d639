//! What the server tells its operators: log lines (`tracing` to stderr,
//! human-readable or JSON), traces (W3C trace context in, spans out over
//! OTLP when configured) and Prometheus metrics.

pub mod names;
pub mod prometheus;
pub mod trace_context;

use std::io::IsTerminal as _;

use anyhow::Context as _;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use crate::config::LogFormat;

/// Where spans go once they end. Dropping it loses the spans not yet
/// exported; [`Telemetry::shutdown`] flushes them.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

impl Telemetry {
    /// Exports the spans still buffered (with OTLP configured) and stops.
    pub fn shutdown(self) {
        if self.exporting
            && let Err(error) = self.provider.shutdown()
        {
            tracing::warn!(%error, "could not flush the last spans to the OTLP collector");
        }
    }
}

/// Installs the global subscriber: log lines in `format`, filtered by
/// `filter` (`tracing`'s directive syntax: `info`, `atelier=debug,info`),
/// and OpenTelemetry spans, exported to `otlp_endpoint` when given.
///
/// Spans exist even without an exporter: they carry the trace id that log
/// lines and outbox events name. Calling it twice is harmless (the second
/// call keeps the first subscriber), which tests rely on.
pub fn init(
    format: LogFormat,
    filter: &str,
    otlp_endpoint: Option<&str>,
) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| anyhow::anyhow!("invalid log filter {filter:?}: {e}"))?;
    let mut provider = SdkTracerProvider::builder().with_resource(
        opentelemetry_sdk::Resource::builder()
            .with_service_name("atelier")
            .build(),
    );
    if let Some(endpoint) = otlp_endpoint {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_tonic()
            .with_endpoint(endpoint)
            .build()
            .with_context(|| format!("cannot set up OTLP export to {endpoint}"))?;
        provider = provider.with_batch_exporter(exporter);
    }
    let provider = provider.build();
    let traces = tracing_opentelemetry::layer().with_tracer(provider.tracer("atelier"));
    // Colours only for a person at a terminal: escape codes in a collected
    // log are noise.
    let ansi = std::io::stderr().is_terminal();
    let (human, json) = match format {
        LogFormat::Human => (
            Some(
                tracing_subscriber::fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(ansi),
            ),
            None,
        ),
        LogFormat::Json => (
            None,
            Some(
                tracing_subscriber::fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true)
                    .with_span_list(false)
                    .with_writer(std::io::stderr),
            ),
        ),
    };
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(human)
        .with(json)
        .with(traces)
        .try_init();
    Ok(Telemetry {
        provider,
        exporting: otlp_endpoint.is_some(),
    })
}

/// Reports a command that failed, in the configured format: a JSON line
/// (with the whole cause chain in `error`) for log collectors, or the
/// usual `error: …` line on a terminal.
pub fn report_failure(format: LogFormat, error: &anyhow::Error) {
    match format {
        LogFormat::Json => {
            let line = serde_json::json!({
                "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
                "level": "ERROR",
                "message": "atelier stopped with an error",
                "error": format!("{error:#}"),
                "causes": error.chain().map(ToString::to_string).collect::<Vec<_>>(),
            });
            eprintln!("{line}");
        }
        // `{:#}` prints the whole cause chain on one line.
        LogFormat::Human => eprintln!("error: {error:#}"),
    }
}

//! Logging setup (human-readable or JSON lines, filtered by `LOG_LEVEL`) and, when
//! `OTEL_EXPORTER_OTLP_ENDPOINT` is set, trace export over OTLP/HTTP: one trace per API request
//! (the `http.request` span of `app()`) and one per bot deploy (the dispatcher's `bot.deploy`).

use crate::config::{LogFormat, OtlpTraces};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer, Registry};

/// Keeps the trace exporter alive; dropping it flushes the spans still buffered (at the end
/// of `serve`).
#[must_use]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("traces: the last spans could not be sent: {e}");
        }
    }
}

/// How long one export to the collector may take.
const EXPORT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Installs the global subscriber. Logs go to stderr so stdout stays for command output.
pub fn init(format: LogFormat, level: &str, otlp: Option<&OtlpTraces>) -> TelemetryGuard {
    use std::io::IsTerminal;
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal, never into files or log collectors.
        .with_ansi(std::io::stderr().is_terminal())
        // A closed or full stderr must not bring the server down (the library would panic).
        .log_internal_errors(false);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => fmt.json().flatten_event(true).boxed(),
        LogFormat::Pretty => fmt.compact().boxed(),
    };
    let mut layers = vec![fmt.with_filter(EnvFilter::builder().parse_lossy(level)).boxed()];
    let mut provider = None;
    if let Some(otlp) = otlp {
        match tracer_provider(otlp) {
            Ok(p) => {
                let tracer = p.tracer("meeboter");
                // Our own spans only, at info and above (not every dependency's internals).
                let filter = EnvFilter::builder().parse_lossy("info,h2=off,hyper=off,reqwest=off,sqlx=off");
                layers.push(
                    tracing_opentelemetry::layer()
                        .with_tracer(tracer)
                        .with_filter(filter)
                        .boxed(),
                );
                provider = Some(p);
            }
            Err(e) => eprintln!("traces are off: the OTLP exporter could not be built: {e}"),
        }
    }
    let _ = tracing_subscriber::registry().with(layers).try_init();
    if let Some(otlp) = otlp.filter(|_| provider.is_some()) {
        tracing::info!(url = %otlp.traces_url, service = %otlp.service_name, "exporting traces over OTLP/HTTP");
    }
    TelemetryGuard { provider }
}

fn tracer_provider(otlp: &OtlpTraces) -> Result<SdkTracerProvider, String> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpJson)
        .with_endpoint(otlp.traces_url.clone())
        .with_timeout(EXPORT_TIMEOUT)
        .with_headers(otlp.headers.iter().cloned().collect())
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name(otlp.service_name.clone())
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

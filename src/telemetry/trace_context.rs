//! W3C trace context (`traceparent`): read from a request's metadata so the
//! RPC's span continues the caller's trace, written into the outbox events
//! the RPC enqueues, and read back by the worker that applies them, whose
//! span links to the request that caused the work.

use std::collections::HashMap;

use opentelemetry::propagation::{Extractor, TextMapPropagator as _};
use opentelemetry::trace::{SpanContext, TraceContextExt as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The header that carries the trace context.
pub const TRACEPARENT: &str = "traceparent";

/// Makes `span` continue the trace named by `headers` (`traceparent` and
/// `tracestate`); a request without one starts a trace of its own. Returns
/// the trace id, in the 32 hex digits logs and collectors show, when the
/// span has one (it does unless the span is filtered out).
pub fn continue_trace(span: &tracing::Span, headers: &http::HeaderMap) -> Option<String> {
    let well_formed = headers
        .get(TRACEPARENT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(is_well_formed);
    let parent = TraceContextPropagator::new().extract(&HeaderExtractor(headers));
    if well_formed && parent.span().span_context().is_valid() {
        // Fails only for a span already started, which this one is not.
        let _ = span.set_parent(parent);
    }
    trace_id(span)
}

/// The trace id of `span`, when it has one.
pub fn trace_id(span: &tracing::Span) -> Option<String> {
    let context = span.context();
    let span_context = context.span().span_context().clone();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}

/// The `traceparent` of the span the caller runs in, to store beside work
/// it hands to the outbox; `None` outside a traced span.
pub fn current_traceparent() -> Option<String> {
    let context = tracing::Span::current().context();
    if !context.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = HashMap::new();
    TraceContextPropagator::new().inject_context(&context, &mut carrier);
    carrier.remove(TRACEPARENT)
}

/// The span context a stored `traceparent` names, for a link to it; `None`
/// when it does not parse (it came from a client).
pub fn parse_traceparent(traceparent: &str) -> Option<SpanContext> {
    if !is_well_formed(traceparent) {
        return None;
    }
    let carrier = HashMap::from([(TRACEPARENT.to_owned(), traceparent.to_owned())]);
    let context = TraceContextPropagator::new().extract(&carrier);
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

/// Whether `traceparent` has the W3C shape: `vv-<32 hex>-<16 hex>-ff`,
/// lowercase. The propagator alone also takes shorter ids, which the
/// specification says to ignore.
fn is_well_formed(traceparent: &str) -> bool {
    let parts: Vec<&str> = traceparent.split('-').collect();
    let lower_hex = |part: &str, len: usize| {
        part.len() == len
            && part
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    parts.len() >= 4
        && lower_hex(parts[0], 2)
        && lower_hex(parts[1], 32)
        && lower_hex(parts[2], 16)
        && lower_hex(parts[3], 2)
        // Version 00 has exactly four parts; later versions may add more.
        && (parts[0] != "00" || parts.len() == 4)
}

struct HeaderExtractor<'a>(&'a http::HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|value| value.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_traceparent_parses_back_to_its_ids() {
        let stored = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let context = parse_traceparent(stored).expect("valid");
        assert_eq!(
            context.trace_id().to_string(),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(context.span_id().to_string(), "00f067aa0ba902b7");
        assert!(context.is_sampled() && context.is_remote());
        for bad in [
            "",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        ] {
            assert!(parse_traceparent(bad).is_none(), "{bad:?} parsed");
        }
    }
}

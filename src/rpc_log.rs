//! One log line per RPC (method, gRPC status, latency, trace id, the
//! caller's token name and user id) and its metrics (count and latency by
//! service, method and code; RPCs in flight).
//!
//! A tower layer around the whole server. A gRPC status arrives either in
//! the response headers (an error answered at once, "trailers-only") or in
//! the trailers after the last message, so the layer wraps the response body
//! and logs when the trailers pass by. A body dropped before its trailers
//! means the client went away: that is logged as CANCELLED, and so is a
//! call whose handler is dropped before it answers (a deadline that passed
//! while an upload stalled). The handler runs inside an `rpc` span naming
//! the method and the trace (continued from the caller's `traceparent`),
//! so whatever it logs says which RPC it was; the authenticator adds the
//! token name and user id to that span.
//!
//! Hand-written rather than `tower-http`'s gRPC `TraceLayer`: that layer's
//! callbacks (`on_eos`, `on_failure`) never run for a response dropped
//! before its end, so a cancelled call or a passed deadline would get no
//! line at all — the case an operator most needs to see. The span per RPC
//! is the part of it worth having, and it is a few lines here.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use http::HeaderMap;
use http_body::{Body, Frame};
use pin_project_lite::pin_project;
use tonic::Code;
use tower::{Layer, Service};

use crate::telemetry::names::{RPC_DURATION, RPC_IN_FLIGHT, RPC_REQUESTS};
use crate::telemetry::prometheus;
use crate::telemetry::trace_context;

/// The layer to add to the server builder.
#[derive(Debug, Clone, Copy, Default)]
pub struct RpcLogLayer;

impl<S> Layer<S> for RpcLogLayer {
    type Service = RpcLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcLog { inner }
    }
}

/// The service [`RpcLogLayer`] wraps around the server.
#[derive(Debug, Clone)]
pub struct RpcLog<S> {
    inner: S,
}

/// What is known about an RPC until its status arrives.
#[derive(Debug)]
struct RpcRecord {
    method: String,
    started: Instant,
    /// The RPC's span: its line is logged inside it, so the line carries
    /// the trace id, token and user the span recorded.
    span: tracing::Span,
    /// Labels of its metrics (bounded: `unknown` for unserved paths).
    service_label: &'static str,
    method_label: &'static str,
}

impl RpcRecord {
    fn start(path: &str) -> Self {
        let span = tracing::info_span!(
            "rpc",
            rpc.method = %path,
            trace_id = tracing::field::Empty,
            token = tracing::field::Empty,
            user_id = tracing::field::Empty,
        );
        let (service_label, method_label) = prometheus::rpc_labels(path);
        metrics::gauge!(RPC_IN_FLIGHT, "service" => service_label).increment(1);
        Self {
            method: path.to_owned(),
            started: Instant::now(),
            span,
            service_label,
            method_label,
        }
    }

    /// `status` is the gRPC code's name (`OK`, `NOT_FOUND` …) or what
    /// happened instead of one.
    fn finish(self, status: &'static str, failed: bool) {
        let elapsed = self.started.elapsed();
        let labels = [
            ("service", self.service_label),
            ("method", self.method_label),
            ("code", status),
        ];
        metrics::counter!(RPC_REQUESTS, &labels).increment(1);
        metrics::histogram!(RPC_DURATION, &labels).record(elapsed.as_secs_f64());
        metrics::gauge!(RPC_IN_FLIGHT, "service" => self.service_label).decrement(1);

        let _entered = self.span.enter();
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        let method = self.method.as_str();
        if failed {
            tracing::warn!(rpc.method = method, rpc.status = status, latency_ms, "rpc");
        } else if method.starts_with("/grpc.") {
            // Health checks and reflection: probes would drown the log.
            tracing::debug!(rpc.method = method, rpc.status = status, latency_ms, "rpc");
        } else {
            tracing::info!(rpc.method = method, rpc.status = status, latency_ms, "rpc");
        }
    }

    /// Logs the status found in `headers`, if any; gives the record back
    /// when there is none yet.
    fn finish_if_status(self, headers: &HeaderMap) -> Option<Self> {
        match headers.get("grpc-status") {
            Some(value) => {
                let code = Code::from_bytes(value.as_bytes());
                let failed = matches!(code, Code::Internal | Code::Unknown | Code::DataLoss);
                self.finish(code_name(code), failed);
                None
            }
            None => Some(self),
        }
    }
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for RpcLog<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = http::Response<LoggedBody<ResBody>>;
    type Error = S::Error;
    type Future = RpcLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let record = RpcRecord::start(request.uri().path());
        let span = record.span.clone();
        if let Some(trace_id) = trace_context::continue_trace(&span, request.headers()) {
            span.record("trace_id", trace_id);
        }
        let inner = {
            let _entered = span.enter();
            self.inner.call(request)
        };
        RpcLogFuture {
            inner,
            span,
            record: Some(record),
        }
    }
}

pin_project! {
    /// The response future of [`RpcLog`].
    pub struct RpcLogFuture<F> {
        #[pin]
        inner: F,
        // Entered while the handler runs.
        span: tracing::Span,
        record: Option<RpcRecord>,
    }

    /// Dropped before the handler answered: the client cancelled or its
    /// deadline passed (a stalled upload with a 1 s deadline ends here).
    /// The call still gets its line.
    impl<F> PinnedDrop for RpcLogFuture<F> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(record) = this.project().record.take() {
                record.finish("CANCELLED", false);
            }
        }
    }
}

impl<F, ResBody, E> Future for RpcLogFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = Result<http::Response<LoggedBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = {
            let _entered = this.span.enter();
            std::task::ready!(this.inner.poll(cx))
        };
        let record = this.record.take();
        Poll::Ready(match result {
            Ok(response) => {
                let record = record.and_then(|r| r.finish_if_status(response.headers()));
                Ok(response.map(|inner| LoggedBody { inner, record }))
            }
            Err(error) => {
                if let Some(record) = record {
                    record.finish("TRANSPORT_ERROR", true);
                }
                Err(error)
            }
        })
    }
}

pin_project! {
    /// A response body that logs the RPC when its trailers pass by.
    pub struct LoggedBody<B> {
        #[pin]
        inner: B,
        record: Option<RpcRecord>,
    }

    impl<B> PinnedDrop for LoggedBody<B> {
        fn drop(this: Pin<&mut Self>) {
            if let Some(record) = this.project().record.take() {
                record.finish("CANCELLED", false);
            }
        }
    }
}

impl<B: Body> Body for LoggedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let frame = std::task::ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref()
                    && let Some(record) = this.record.take()
                {
                    *this.record = record.finish_if_status(trailers);
                }
            }
            Some(Err(_)) => {
                if let Some(record) = this.record.take() {
                    record.finish("STREAM_ERROR", true);
                }
            }
            None => {
                if let Some(record) = this.record.take() {
                    record.finish("NO_STATUS", true);
                }
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The canonical name of a gRPC code, as metrics and logs show it.
fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

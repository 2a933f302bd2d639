//! A call's deadline (`grpc-timeout`) that passes answers DEADLINE_EXCEEDED
//! with an ErrorInfo, and the RPC log records it.
//!
//! tonic enforces `grpc-timeout` itself, but outside every layer of ours
//! and as CANCELLED ("Timeout expired") without details, which a client
//! reads as "someone gave up" rather than "too slow", and which our RPC
//! log never sees. This layer, inside the RPC log, enforces the same
//! deadline a little earlier ([`MARGIN`]), so the answer is ours: the
//! handler's future is dropped (an open transaction rolls back; one that
//! committed a moment before stays, so the message does not promise
//! nothing happened) and the caller gets DEADLINE_EXCEEDED
//! `DEADLINE_EXCEEDED`.

use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tonic::Code;
use tower::{Layer, Service};

use crate::error::ApiError;

/// How much earlier than tonic's own timer this layer answers.
const MARGIN: Duration = Duration::from_millis(5);

/// The layer enforcing `grpc-timeout`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineLayer;

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Deadline { inner }
    }
}

/// The service [`DeadlineLayer`] wraps around the server.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for Deadline<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ResBody: Default + Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<S::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let timeout = request
            .headers()
            .get("grpc-timeout")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_grpc_timeout);
        let response = self.inner.call(request);
        match timeout {
            None => Box::pin(response),
            Some(timeout) => Box::pin(async move {
                let limit = timeout.saturating_sub(MARGIN);
                match tokio::time::timeout(limit, response).await {
                    Ok(response) => response,
                    Err(_) => Ok(deadline_exceeded(timeout)),
                }
            }),
        }
    }
}

/// A `grpc-timeout` value: at most 8 digits and a unit (H, M, S, m, u, n).
fn parse_grpc_timeout(text: &str) -> Option<Duration> {
    let (digits, unit) = text.split_at(text.len().checked_sub(1)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let amount: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(amount * 3600),
        "M" => Duration::from_secs(amount * 60),
        "S" => Duration::from_secs(amount),
        "m" => Duration::from_millis(amount),
        "u" => Duration::from_micros(amount),
        "n" => Duration::from_nanos(amount),
        _ => return None,
    })
}

/// The answer to a call past its deadline.
fn deadline_exceeded<B: Default>(timeout: Duration) -> http::Response<B> {
    ApiError::new(
        Code::DeadlineExceeded,
        "DEADLINE_EXCEEDED",
        format!(
            "the call's deadline ({} ms) passed before it finished; a write may or may not have \
             taken effect: retry it with the same request_id",
            timeout.as_millis()
        ),
    )
    .into_trailers_only()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grpc_timeouts_parse_in_every_unit_and_junk_is_ignored() {
        assert_eq!(parse_grpc_timeout("2S"), Some(Duration::from_secs(2)));
        assert_eq!(parse_grpc_timeout("150m"), Some(Duration::from_millis(150)));
        assert_eq!(parse_grpc_timeout("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_grpc_timeout("7u"), Some(Duration::from_micros(7)));
        for junk in ["", "S", "123456789S", "12x", "-1S", "1.5S"] {
            assert_eq!(parse_grpc_timeout(junk), None, "{junk:?}");
        }
    }
}

//! The errors tonic answers with before an RPC's own code runs — a request
//! that is not valid protobuf, or one over the message size limit — given
//! the status codes and ErrorInfo every other error has.
//!
//! tonic reports a malformed request as INTERNAL ("failed to decode
//! Protobuf message"), which clients must read as a server bug, and an
//! oversized one as OUT_OF_RANGE, with no ErrorInfo either way. A tower
//! layer rewrites such a status in the response headers (where tonic puts
//! it: these answers are trailers-only) to INVALID_ARGUMENT
//! (`MALFORMED_REQUEST`, with a field violation) or RESOURCE_EXHAUSTED
//! (`MESSAGE_TOO_LARGE`). Streaming handlers map the same errors met
//! mid-stream with [`from_tonic`].

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tonic::{Code, Status};
use tower::{Layer, Service};

use crate::error::{ApiError, FieldViolation};

/// What tonic's decoder says before the decode error's own text.
const DECODE_FAILED: &str = "failed to decode Protobuf message";

/// tonic's other INTERNAL answers to a request that is malformed as gRPC
/// rather than as protobuf: no message at all, a frame cut short, a bad
/// compression flag.
const MALFORMED_FRAMING: &[&str] = &[
    "Missing request message",
    "Unexpected EOF decoding stream",
    "protocol error: received message with invalid compression flag",
];

/// The API error for a status tonic itself produced while reading a
/// request, or `None` for any other status.
pub fn from_tonic(status: &Status) -> Option<ApiError> {
    let message = status.message();
    match status.code() {
        Code::Internal if message.starts_with(DECODE_FAILED) => {
            // prost says where: "Outer.field: problem" (innermost first).
            let detail = message
                .trim_start_matches(DECODE_FAILED)
                .trim_start_matches(':')
                .trim();
            let field = detail
                .split_once(": ")
                .map(|(path, _)| path)
                .and_then(|path| path.split_once('.').map(|(_, field)| field))
                .filter(|field| !field.is_empty() && field.len() <= 100)
                .unwrap_or("request");
            Some(malformed(
                field,
                format!(
                    "the request is not valid protobuf for this method: {}",
                    crate::text::quote(detail)
                ),
            ))
        }
        Code::Internal if MALFORMED_FRAMING.iter().any(|m| message.starts_with(m)) => {
            Some(malformed(
                "request",
                format!("the request is not a well-formed gRPC message: {message}"),
            ))
        }
        Code::OutOfRange if message.starts_with("Error, decoded message length too large") => {
            Some(ApiError::new(
                Code::ResourceExhausted,
                "MESSAGE_TOO_LARGE",
                format!(
                    "{message} (the server's --max-message-bytes); skill content over that streams through UploadSkillVersion"
                ),
            ))
        }
        _ => None,
    }
}

/// INVALID_ARGUMENT (`MALFORMED_REQUEST`) for a request that is not what
/// its method reads.
fn malformed(field: &str, description: String) -> ApiError {
    ApiError {
        reason: "MALFORMED_REQUEST",
        ..ApiError::invalid(vec![FieldViolation::new(field, description)])
    }
}

/// The layer to add to the server builder.
#[derive(Debug, Clone, Copy, Default)]
pub struct TransportErrorsLayer;

impl<S> Layer<S> for TransportErrorsLayer {
    type Service = TransportErrors<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TransportErrors { inner }
    }
}

/// The service [`TransportErrorsLayer`] wraps around the server.
#[derive(Debug, Clone)]
pub struct TransportErrors<S> {
    inner: S,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for TransportErrors<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = TransportErrorsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        TransportErrorsFuture {
            inner: self.inner.call(request),
        }
    }
}

pin_project! {
    /// The response future of [`TransportErrors`].
    pub struct TransportErrorsFuture<F> {
        #[pin]
        inner: F,
    }
}

impl<F, ResBody, E> Future for TransportErrorsFuture<F>
where
    F: Future<Output = Result<http::Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut result = std::task::ready!(self.project().inner.poll(cx));
        if let Ok(response) = &mut result
            && response.headers().contains_key("grpc-status")
            && let Some(status) = Status::from_header_map(response.headers())
            && let Some(error) = from_tonic(&status)
        {
            let headers = response.headers_mut();
            headers.remove("grpc-status-details-bin");
            let _ = Status::from(error).add_header(headers);
        }
        Poll::Ready(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decode_error_becomes_invalid_argument_naming_the_field() {
        let status = Status::internal(
            "failed to decode Protobuf message: CreateSkillRequest.name: invalid string value: data is not UTF-8 encoded",
        );
        let error = from_tonic(&status).expect("mapped");
        assert_eq!(error.code, Code::InvalidArgument);
        assert_eq!(error.reason, "MALFORMED_REQUEST");
        assert_eq!(error.violations[0].field, "name");
        let bare = Status::internal("failed to decode Protobuf message: buffer underflow");
        assert_eq!(
            from_tonic(&bare).expect("mapped").violations[0].field,
            "request"
        );
    }

    #[test]
    fn an_oversized_message_is_resource_exhausted_and_other_statuses_pass() {
        let status = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        assert_eq!(
            from_tonic(&status).expect("mapped").code,
            Code::ResourceExhausted
        );
        assert!(from_tonic(&Status::internal("something else")).is_none());
        let empty = from_tonic(&Status::internal("Missing request message.")).expect("mapped");
        assert_eq!(empty.code, Code::InvalidArgument);
        let encoded =
            Status::out_of_range("Error, encoded message length too large: found 5 bytes");
        assert!(
            from_tonic(&encoded).is_none(),
            "a response too large is ours, not the caller's"
        );
        assert!(from_tonic(&Status::not_found("x")).is_none());
    }
}

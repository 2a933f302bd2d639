//! Load shedding: at most `--max-concurrent-rpcs` RPCs run at once, and one
//! more is answered at once with UNAVAILABLE (`OVERLOADED`, with a
//! `RetryInfo`) instead of waiting in a queue. A queue in front of a server
//! that is already behind only adds latency to every call; an immediate,
//! retryable refusal lets the client back off or try another replica.
//!
//! Health checks and reflection are never shed: a probe must see an
//! overloaded server as alive. A call holds its slot until its response
//! starts (for a streaming read, until the first message is ready).

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::BoxFuture;
use tokio::sync::Semaphore;
use tonic::Code;
use tower::{Layer, Service};

use crate::error::ApiError;

/// How long a shed caller is asked to wait before retrying.
const RETRY_AFTER: Duration = Duration::from_millis(100);

/// Paths never shed: health and reflection.
const EXEMPT: &[&str] = &["/grpc.health.v1.Health/", "/grpc.reflection."];

/// The layer that sheds RPCs beyond a limit. Cheap to clone: its clones
/// share the slots.
#[derive(Debug, Clone)]
pub struct LoadShedLayer {
    slots: Arc<Semaphore>,
}

impl LoadShedLayer {
    /// At most `max_concurrent` RPCs at once.
    pub fn new(max_concurrent: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(max_concurrent.min(Semaphore::MAX_PERMITS))),
        }
    }
}

impl<S> Layer<S> for LoadShedLayer {
    type Service = LoadShed<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LoadShed {
            inner,
            slots: self.slots.clone(),
        }
    }
}

/// The service [`LoadShedLayer`] wraps around the server.
#[derive(Debug, Clone)]
pub struct LoadShed<S> {
    inner: S,
    slots: Arc<Semaphore>,
}

impl<S, ReqBody, ResBody> Service<http::Request<ReqBody>> for LoadShed<S>
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
        let path = request.uri().path();
        if EXEMPT.iter().any(|prefix| path.starts_with(prefix)) {
            return Box::pin(self.inner.call(request));
        }
        match self.slots.clone().try_acquire_owned() {
            Ok(slot) => {
                let response = self.inner.call(request);
                Box::pin(async move {
                    let response = response.await;
                    drop(slot);
                    response
                })
            }
            Err(_) => Box::pin(std::future::ready(Ok(overloaded()))),
        }
    }
}

/// The answer to a shed call.
fn overloaded<B: Default>() -> http::Response<B> {
    ApiError::new(
        Code::Unavailable,
        "OVERLOADED",
        "the server is running as many RPCs as it is configured to; retry shortly or elsewhere",
    )
    .retry_after(RETRY_AFTER)
    .into_trailers_only()
}

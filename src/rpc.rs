//! The edge every RPC passes: who is calling, the handler, and the one
//! mapping of its error to a `tonic::Status`. The tonic trait impls of the
//! services forward each method here with the handler of its resource
//! (`registry::rpc`, `workshop::rpc`), so a handler reads top-down as
//! parse → authorize → one transaction → proto, and returns an
//! [`ApiResult`] instead of building a `Response` or a `Status`.

use std::future::Future;

use tonic::{Request, Response, Status};

use crate::auth::{Caller, UserId, caller};
use crate::error::{ApiError, ApiResult};
use crate::etag::EtagMismatch;

/// Runs `handler` for a caller signed in as a user (a bearer token alone
/// is not enough: it must name the user, `x-user-id`).
pub async fn for_user<Req, Resp, Fut>(
    request: Request<Req>,
    handler: impl FnOnce(UserId, Req) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = ApiResult<Resp>>,
{
    let user = caller(&request)?.user()?.clone();
    let response = handler(user, request.into_inner()).await?;
    Ok(Response::new(response))
}

/// Runs `handler` for any authenticated caller (reads that need no user).
pub async fn for_caller<Req, Resp, Fut>(
    request: Request<Req>,
    handler: impl FnOnce(Req) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = ApiResult<Resp>>,
{
    caller(&request)?;
    let response = handler(request.into_inner()).await?;
    Ok(Response::new(response))
}

/// Runs `handler` for a user, with the whole caller too (its plan).
pub async fn for_user_with_caller<Req, Resp, Fut>(
    request: Request<Req>,
    handler: impl FnOnce(Caller, UserId, Req) -> Fut,
) -> Result<Response<Resp>, Status>
where
    Fut: Future<Output = ApiResult<Resp>>,
{
    let caller = caller(&request)?.clone();
    let user = caller.user()?.clone();
    let response = handler(caller, user, request.into_inner()).await?;
    Ok(Response::new(response))
}

impl From<EtagMismatch> for ApiError {
    fn from(error: EtagMismatch) -> Self {
        ApiError::failed_precondition("ETAG_MISMATCH", error.to_string())
    }
}

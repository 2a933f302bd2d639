//! Sessions: ListSessions, EndSession.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::error::{ApiError, ApiResult};
use crate::ids::id_field;
use crate::proto::workshop as pb;
use crate::roles::Power;
use crate::state::AppState;
use crate::workshop::access::authorize;
use crate::workshop::convert::session_to_proto;
use crate::workshop::rpc::listing::{PageOf, page_in_workshop};
use crate::workshop::store::sessions;

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListSessionsRequest,
) -> ApiResult<pb::ListSessionsResponse> {
    let request = PageOf {
        resource: "sessions",
        workshop_id: &req.workshop_id,
        page_token: &req.page_token,
        page_size: req.page_size,
    };
    let (sessions, next_page_token) = page_in_workshop(
        state,
        &user,
        request,
        sessions::list,
        sessions::key_of,
        session_to_proto,
    )
    .await?;
    Ok(pb::ListSessionsResponse {
        sessions,
        next_page_token,
    })
}

pub async fn end(
    state: &AppState,
    user: UserId,
    req: pb::EndSessionRequest,
) -> ApiResult<pb::EndSessionResponse> {
    let id = id_field("workshop_id", &req.workshop_id)?;
    let session_id = id_field("session_id", &req.session_id)?;
    let mut conn = state.conn().await?;
    let session = conn
        .transaction(async |conn| {
            let access = authorize(conn, id, &user, Power::Read, true).await?;
            let session = sessions::find(conn, id, session_id).await?;
            if session.user_id != user.as_str() && access.role.power() < Power::Own {
                return Err(ApiError::permission_denied(
                    "NOT_YOUR_SESSION",
                    "only the session's user or an owner may end it",
                ));
            }
            Ok(sessions::end(conn, &session).await?)
        })
        .await?;
    Ok(pb::EndSessionResponse {
        session: Some(session_to_proto(session)),
    })
}

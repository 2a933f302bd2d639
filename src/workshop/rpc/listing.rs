//! The shared shape of the lists under one workshop (members, sessions,
//! build packs): parse the workshop id and the page, check the caller may
//! read the workshop, fetch one page by keyset, sign the next page's token.

use diesel_async::AsyncPgConnection;
use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::auth::UserId;
use crate::error::ApiResult;
use crate::ids::id_field;
use crate::roles::Power;
use crate::state::AppState;
use crate::workshop::access::authorize;
use crate::workshop::error::WorkshopResult;

/// A List request under a workshop: its `workshop_id`, `page_token` and
/// `page_size`, and the resource listed (part of the page token's query).
#[derive(Debug, Clone, Copy)]
pub struct PageOf<'a> {
    pub resource: &'a str,
    pub workshop_id: &'a str,
    pub page_token: &'a str,
    pub page_size: i32,
}

/// One page of `request`'s rows, fetched by `fetch(conn, workshop, limit,
/// after)` for a caller who may read the workshop, as protos, and the next
/// page's token (empty on the last page).
pub async fn page_in_workshop<Row, Key, Proto: prost::Message>(
    state: &AppState,
    user: &UserId,
    request: PageOf<'_>,
    fetch: impl AsyncFnOnce(&mut AsyncPgConnection, Uuid, i64, Option<Key>) -> WorkshopResult<Vec<Row>>,
    key_of: impl Fn(&Row) -> Key,
    to_proto: impl Fn(Row) -> Proto,
) -> ApiResult<(Vec<Proto>, String)>
where
    Key: Serialize + DeserializeOwned + Clone,
{
    let workshop = id_field("workshop_id", request.workshop_id)?;
    let page = state.page_tokens.request(
        request.page_token,
        request.page_size,
        &[request.resource, request.workshop_id],
    )?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, workshop, user, Power::Read, false).await?;
    let rows = fetch(&mut conn, workshop, page.limit(), page.after()).await?;
    Ok(page.finish(rows, key_of, to_proto))
}

/// The checked paging of a list under one workshop (members, sessions,
/// build packs): which workshop, how many, and where the page starts.
struct ChildPage<K> {
    workshop: Uuid,
    size: i64,
    query: String,
    after: Option<K>,
}

impl<K: serde::de::DeserializeOwned> ChildPage<K> {
    fn parse(
        tokens: &pagination::PageTokens,
        kind: &str,
        workshop_id: &str,
        page_size: i32,
        page_token: &str,
    ) -> ApiResult<Self> {
        let workshop = id_field("workshop_id", workshop_id)?;
        let size = pagination::page_size(page_size)?;
        let query = pagination::fingerprint(&[kind, workshop_id]);
        let after = tokens.decode(page_token, &query)?;
        Ok(Self {
            workshop,
            size,
            query,
            after,
        })
    }
}

//! Keyset pagination with opaque page tokens (AIP-158), shared by every
//! List RPC.
//!
//! A token carries the sort key of the last row of a page and a fingerprint
//! of the query it belongs to (filters and order), signed with HMAC-SHA-256
//! under a secret only the servers know ([`PageTokens`]; the key lives in
//! the database, so every replica shares it and it survives restarts). A
//! token that was altered, forged, truncated, or belongs to another query is
//! INVALID_ARGUMENT; it never panics and never yields a page of a different
//! query. Decoded keys are range-checked all the same (a keyset time is a
//! [`crate::keyset::KeyTime`]), so even a token signed by a bug cannot reach
//! PostgreSQL out of range.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use diesel::sql_types::{Bytea, Text};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::db::rows::SingleRow as _;
use crate::error::{ApiError, ApiResult};

/// Page size when the request leaves it 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page a request may ask for.
pub const MAX_PAGE_SIZE: i64 = 500;

/// Bytes of the HMAC-SHA-256 kept as the token's signature (128 bits).
const TAG_LEN: usize = 16;

/// Name of the page-token key in `server_secrets`.
const SECRET_NAME: &str = "page_tokens";

/// The most bytes of rows one page carries: a page ends early, before
/// `page_size` rows, where its rows would pass this (AIP-158 lets a page be
/// shorter), so a page of large rows still fits in a client's default
/// 4 MiB message limit with room for the rest of the response.
pub const PAGE_BYTES_MAX: usize = 3 * 1024 * 1024;

/// Validates `page_size`: 0 means the default, 1–500 is taken as is, and
/// more means 500 (AIP-158: a page size over the maximum is coerced, not
/// refused); only a negative size is INVALID_ARGUMENT.
pub fn page_size(requested: i32) -> ApiResult<i64> {
    checked_page_size(requested).map_err(|problem| ApiError::invalid_field("page_size", problem))
}

/// [`page_size`], with the problem in words for a `checked::field`.
pub fn checked_page_size(requested: i32) -> Result<i64, String> {
    match i64::from(requested) {
        0 => Ok(DEFAULT_PAGE_SIZE),
        size @ 1..=MAX_PAGE_SIZE => Ok(size),
        size if size > MAX_PAGE_SIZE => Ok(MAX_PAGE_SIZE),
        other => Err(format!(
            "must not be negative (0 for the default {DEFAULT_PAGE_SIZE}, at most {MAX_PAGE_SIZE}), not {other}"
        )),
    }
}

/// What a token holds: the query's fingerprint and the last row's key.
#[derive(Serialize, Deserialize)]
struct TokenBody<Q, K> {
    /// Fingerprint of the query (see [`fingerprint`]).
    q: Q,
    /// The sort key of the last row returned.
    k: K,
}

/// A short, stable fingerprint of a query: the resource and every filter
/// and order that shape it, each part separated so `("a", "bc")` and
/// `("ab", "c")` differ.
pub fn fingerprint(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher
        .finalize()
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Signs and checks page tokens with the servers' shared secret.
#[derive(Clone)]
pub struct PageTokens {
    key: [u8; 32],
}

impl std::fmt::Debug for PageTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PageTokens(<secret>)")
    }
}

impl PageTokens {
    /// Tokens signed with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// The database's page-token key, created (256 random bits) by the
    /// first server that asks; every later one, and every replica, reads
    /// the same key.
    pub async fn load_or_create(conn: &mut AsyncPgConnection) -> anyhow::Result<Self> {
        #[derive(diesel::QueryableByName)]
        struct Secret {
            #[diesel(sql_type = Bytea)]
            secret: Vec<u8>,
        }
        let mut fresh = [0_u8; 32];
        getrandom::fill(&mut fresh).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        diesel::sql_query(
            "INSERT INTO server_secrets (name, secret) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind::<Text, _>(SECRET_NAME)
        .bind::<Bytea, _>(fresh.as_slice())
        .execute(conn)
        .await?;
        let stored: Secret = diesel::sql_query("SELECT secret FROM server_secrets WHERE name = $1")
            .bind::<Text, _>(SECRET_NAME)
            .load(conn)
            .await
            .single()?;
        let key = <[u8; 32]>::try_from(stored.secret.as_slice())
            .map_err(|_| anyhow::anyhow!("server_secrets.{SECRET_NAME} is not 32 bytes"))?;
        Ok(Self::new(key))
    }

    fn tag(&self, body: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .expect("HMAC takes a key of any length");
        mac.update(body);
        let full = mac.finalize().into_bytes();
        let mut tag = [0_u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }

    /// Encodes the token for the page after the row whose sort key is `key`.
    pub fn encode<K: Serialize>(&self, query: &str, key: &K) -> String {
        let body = serde_json::to_vec(&TokenBody { q: query, k: key }).unwrap_or_default();
        let mut bytes = self.tag(&body).to_vec();
        bytes.extend_from_slice(&body);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Decodes `token` for the query `query`: `None` for the first page (an
    /// empty token), the last row's key otherwise.
    pub fn decode<K: DeserializeOwned>(&self, token: &str, query: &str) -> ApiResult<Option<K>> {
        if token.is_empty() {
            return Ok(None);
        }
        let invalid = |why: &str| ApiError::invalid_field("page_token", why.to_owned());
        // A token is a few hundred bytes; anything far larger is not one.
        if token.len() > 4096 {
            return Err(invalid("is not a page token from this service"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid("is not a page token from this service"))?;
        if bytes.len() <= TAG_LEN {
            return Err(invalid("is not a page token from this service"));
        }
        let (tag, body) = bytes.split_at(TAG_LEN);
        if !bool::from(self.tag(body).ct_eq(tag)) {
            return Err(invalid(
                "was altered, truncated or not issued by this service",
            ));
        }
        let parsed: TokenBody<String, K> = serde_json::from_slice(body)
            .map_err(|_| invalid("is not a page token from this service"))?;
        if parsed.q != query {
            return Err(invalid(
                "belongs to a different query; keep the filters and order of the first page",
            ));
        }
        Ok(Some(parsed.k))
    }

    /// Trims a page fetched with one row more than `page_size` and returns
    /// the token for the page after it, keyed by its last row (empty when
    /// that extra row did not exist, i.e. this is the last page).
    pub fn next_page_token<T, K: Serialize>(
        &self,
        page: &mut Vec<T>,
        page_size: i64,
        query: &str,
        key_of: impl Fn(&T) -> K,
    ) -> String {
        let page_size = usize::try_from(page_size).unwrap_or(usize::MAX);
        if page.len() <= page_size {
            return String::new();
        }
        page.truncate(page_size);
        page.last()
            .map(|last| self.encode(query, &key_of(last)))
            .unwrap_or_default()
    }
}

/// One List request's page: where it starts, how many rows to fetch, and
/// how to sign the token of the page after it. Every List RPC pages
/// through this one helper.
#[derive(Debug)]
pub struct PageRequest<'a, K> {
    tokens: &'a PageTokens,
    query: String,
    size: i64,
    /// The key of the last row of the previous page; `None` on the first.
    after: Option<K>,
}

impl PageTokens {
    /// The page a List request asks for: its `page_size` checked (see
    /// [`page_size`]) and its `page_token` decoded for the query whose
    /// resource, filters and order are `query` (see [`fingerprint`]).
    pub fn request<K: DeserializeOwned>(
        &self,
        token: &str,
        requested_size: i32,
        query: &[&str],
    ) -> ApiResult<PageRequest<'_, K>> {
        let size = page_size(requested_size)?;
        let query = fingerprint(query);
        let after = self.decode(token, &query)?;
        Ok(PageRequest {
            tokens: self,
            query,
            size,
            after,
        })
    }
}

impl<K: Clone> PageRequest<'_, K> {
    /// Rows to fetch: one more than the page, to learn whether another
    /// page follows.
    pub fn limit(&self) -> i64 {
        self.size + 1
    }

    /// Where the page starts: the key of the previous page's last row,
    /// `None` on the first page.
    pub fn after(&self) -> Option<K> {
        self.after.clone()
    }

    /// The page of `rows` (fetched with [`Self::limit`]) as protos, and the
    /// token of the next page (empty on the last). The page holds up to
    /// `page_size` rows, fewer where their encoded size would pass
    /// [`PAGE_BYTES_MAX`] (the first row is always kept, so a listing
    /// always moves on).
    pub fn finish<T, N: Serialize, P: prost::Message>(
        &self,
        rows: Vec<T>,
        key_of: impl Fn(&T) -> N,
        to_proto: impl Fn(T) -> P,
    ) -> (Vec<P>, String) {
        self.finish_within(rows, key_of, to_proto, PAGE_BYTES_MAX)
    }

    fn finish_within<T, N: Serialize, P: prost::Message>(
        &self,
        rows: Vec<T>,
        key_of: impl Fn(&T) -> N,
        to_proto: impl Fn(T) -> P,
        budget: usize,
    ) -> (Vec<P>, String) {
        let page_size = usize::try_from(self.size).unwrap_or(usize::MAX);
        let more = rows.len() > page_size;
        let mut page = Vec::with_capacity(rows.len().min(page_size));
        let mut bytes = 0;
        let mut last_key = None;
        for row in rows.into_iter().take(page_size) {
            let key = key_of(&row);
            let proto = to_proto(row);
            bytes += proto.encoded_len();
            if bytes > budget && !page.is_empty() {
                // The rest (this row included) is for the next page.
                let token = last_key.map(|key| self.tokens.encode(&self.query, &key));
                return (page, token.unwrap_or_default());
            }
            page.push(proto);
            last_key = Some(key);
        }
        let token = last_key
            .filter(|_| more)
            .map(|key| self.tokens.encode(&self.query, &key));
        (page, token.unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> PageTokens {
        PageTokens::new([7; 32])
    }

    #[test]
    fn a_token_round_trips_for_its_own_query_only() {
        let query = fingerprint(&["skills", "newest", ""]);
        let token = tokens().encode(&query, &(42_i64, "abc".to_owned()));
        let key: Option<(i64, String)> = tokens().decode(&token, &query).expect("valid");
        assert_eq!(key, Some((42, "abc".to_owned())));
        let other = fingerprint(&["skills", "most_used", ""]);
        assert!(tokens().decode::<(i64, String)>(&token, &other).is_err());
    }

    #[test]
    fn a_token_signed_with_another_key_is_refused() {
        let query = fingerprint(&["ratings", "x"]);
        let forged = PageTokens::new([8; 32]).encode(&query, &(i64::MAX,));
        let error = tokens()
            .decode::<(i64,)>(&forged, &query)
            .expect_err("forged");
        assert_eq!(error.violations[0].field, "page_token");
    }

    #[test]
    fn tampered_truncated_or_foreign_tokens_are_invalid_argument() {
        let query = fingerprint(&["ratings", "x"]);
        let token = tokens().encode(&query, &(1_i64,));
        let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        let tampered = URL_SAFE_NO_PAD.encode(bytes);
        for bad in [
            tampered.as_str(),
            &token[..token.len() / 2],
            "not a token!",
            "AAAA",
        ] {
            let error = tokens().decode::<(i64,)>(bad, &query).expect_err(bad);
            assert_eq!(error.code, tonic::Code::InvalidArgument, "{bad}");
            assert_eq!(error.violations[0].field, "page_token");
        }
    }

    #[test]
    fn a_well_formed_token_with_a_key_of_the_wrong_shape_is_refused() {
        let query = fingerprint(&["skills"]);
        let token = tokens().encode(&query, &("text",));
        assert!(tokens().decode::<(i64, String)>(&token, &query).is_err());
    }

    /// A row of `n` bytes, as its proto.
    fn blob(n: usize) -> prost_types::Any {
        prost_types::Any {
            type_url: String::new(),
            value: vec![0; n],
        }
    }

    #[test]
    fn a_page_holds_page_size_rows_and_names_the_next_only_when_there_is_one() {
        let tokens = tokens();
        let page = tokens
            .request::<(i64,)>("", 2, &["blobs"])
            .expect("first page");
        assert_eq!(page.limit(), 3);
        let (rows, token) = page.finish(vec![10, 11, 12], |n| (*n as i64,), blob);
        assert_eq!(rows.len(), 2);
        let next: Option<(i64,)> = tokens
            .decode(&token, &fingerprint(&["blobs"]))
            .expect("own token");
        assert_eq!(
            next,
            Some((11,)),
            "the next page starts after the last row shown"
        );
        let (rows, token) = page.finish(vec![10, 11], |n| (*n as i64,), blob);
        assert_eq!((rows.len(), token.as_str()), (2, ""), "the last page");
    }

    #[test]
    fn a_page_ends_early_where_its_rows_would_pass_the_byte_budget() {
        let tokens = tokens();
        let page = tokens.request::<(i64,)>("", 10, &["blobs"]).expect("page");
        let sizes = vec![400, 401, 402, 403];
        let (rows, token) = page.finish_within(sizes.clone(), |n| (*n as i64,), blob, 1000);
        assert_eq!(rows.len(), 2, "two rows of about 400 bytes fit in 1,000");
        let next: Option<(i64,)> = tokens
            .decode(&token, &fingerprint(&["blobs"]))
            .expect("own token");
        assert_eq!(next, Some((401,)), "the rows cut off come on the next page");
        // A row larger than the budget still makes a page of its own.
        let (rows, token) = page.finish_within(vec![5000, 1], |n| (*n as i64,), blob, 1000);
        assert_eq!(rows.len(), 1);
        assert!(!token.is_empty(), "the row after it is on the next page");
        let (rows, token) = page.finish_within(vec![5000], |n| (*n as i64,), blob, 1000);
        assert_eq!((rows.len(), token.as_str()), (1, ""));
    }

    #[test]
    fn page_size_defaults_and_bounds() {
        assert_eq!(page_size(0).expect("default"), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).expect("seven"), 7);
        assert!(page_size(-1).is_err());
        assert!(page_size(i32::MIN).is_err());
        assert_eq!(page_size(501).expect("coerced"), MAX_PAGE_SIZE);
        assert_eq!(page_size(i32::MAX).expect("coerced"), MAX_PAGE_SIZE);
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn tokens_round_trip_and_any_change_is_refused(
                micros in any::<i64>(),
                user in "\\PC{0,40}",
                query in "[a-z]{1,12}",
                flip in any::<prop::sample::Index>(),
                bit in 0_u8..8,
            ) {
                let tokens = PageTokens::new([3; 32]);
                let token = tokens.encode(&query, &(micros, user.clone()));
                let decoded: Option<(i64, String)> = tokens.decode(&token, &query).expect("own token");
                prop_assert_eq!(decoded, Some((micros, user)));
                let mut bytes = URL_SAFE_NO_PAD.decode(&token).expect("base64");
                let at = flip.index(bytes.len());
                bytes[at] ^= 1 << bit;
                let altered = URL_SAFE_NO_PAD.encode(bytes);
                prop_assert!(tokens.decode::<(i64, String)>(&altered, &query).is_err());
            }

            #[test]
            fn any_text_as_a_token_is_refused_without_panicking(token in "\\PC{1,200}") {
                let tokens = PageTokens::new([3; 32]);
                let error = tokens.decode::<(i64, String)>(&token, "q").expect_err("not ours");
                prop_assert_eq!(error.violations[0].field.as_str(), "page_token");
            }
        }
    }
}

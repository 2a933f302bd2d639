//! Keyset pagination with opaque page tokens (AIP-158), shared by every
//! List RPC.
//!
//! A token carries the sort key of the last row of a page and a fingerprint
//! of the query it belongs to (filters and order), behind a checksum. A token
//! that was altered, truncated, or belongs to another query is
//! INVALID_ARGUMENT; it never panics and never yields a page of a different
//! query. (The checksum is not a secret signature: a client that forges a
//! well-formed token only chooses where its own listing starts.)

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

/// Page size when the request leaves it 0.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// Largest page a request may ask for.
pub const MAX_PAGE_SIZE: i64 = 500;

/// Bytes of SHA-256 kept as the token's checksum.
const CHECKSUM_LEN: usize = 8;

/// Validates `page_size`: 0 means the default; 1–500 is taken as is.
pub fn page_size(requested: i32) -> ApiResult<i64> {
    match i64::from(requested) {
        0 => Ok(DEFAULT_PAGE_SIZE),
        size @ 1..=MAX_PAGE_SIZE => Ok(size),
        other => Err(ApiError::invalid_field(
            "page_size",
            format!("must be 0 (default {DEFAULT_PAGE_SIZE}) to {MAX_PAGE_SIZE}, not {other}"),
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

/// Encodes the token for the page after the row whose sort key is `key`.
pub fn encode<K: Serialize>(query: &str, key: &K) -> String {
    let body = serde_json::to_vec(&TokenBody { q: query, k: key }).unwrap_or_default();
    let checksum = Sha256::digest(&body);
    let mut bytes = checksum[..CHECKSUM_LEN].to_vec();
    bytes.extend_from_slice(&body);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes `token` for the query `query`: `None` for the first page (an
/// empty token), the last row's key otherwise.
pub fn decode<K: DeserializeOwned>(token: &str, query: &str) -> ApiResult<Option<K>> {
    if token.is_empty() {
        return Ok(None);
    }
    let invalid = |why: &str| ApiError::invalid_field("page_token", why.to_owned());
    let bytes = URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid("is not a page token from this service"))?;
    if bytes.len() <= CHECKSUM_LEN {
        return Err(invalid("is not a page token from this service"));
    }
    let (checksum, body) = bytes.split_at(CHECKSUM_LEN);
    if Sha256::digest(body)[..CHECKSUM_LEN] != *checksum {
        return Err(invalid("was altered or truncated"));
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

/// Trims a page fetched with one row more than `page_size` and returns the
/// token for the page after it, keyed by its last row (empty when that extra
/// row did not exist, i.e. this is the last page).
pub fn next_page_token<T, K: Serialize>(
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
        .map(|last| encode(query, &key_of(last)))
        .unwrap_or_default()
}

/// The time in a keyset position (microseconds since the epoch, as keys
/// store it).
pub fn key_time(micros: i64) -> ApiResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp_micros(micros).ok_or_else(|| {
        ApiError::invalid_field("page_token", "is not a page token from this service")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_round_trips_for_its_own_query_only() {
        let query = fingerprint(&["skills", "newest", ""]);
        let token = encode(&query, &(42_i64, "abc".to_owned()));
        let key: Option<(i64, String)> = decode(&token, &query).expect("valid");
        assert_eq!(key, Some((42, "abc".to_owned())));
        let other = fingerprint(&["skills", "most_used", ""]);
        assert!(decode::<(i64, String)>(&token, &other).is_err());
    }

    #[test]
    fn tampered_truncated_or_foreign_tokens_are_invalid_argument() {
        let query = fingerprint(&["ratings", "x"]);
        let token = encode(&query, &(1_i64,));
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
            let error = decode::<(i64,)>(bad, &query).expect_err(bad);
            assert_eq!(error.code, tonic::Code::InvalidArgument, "{bad}");
            assert_eq!(error.violations[0].field, "page_token");
        }
    }

    #[test]
    fn a_well_formed_token_with_a_key_of_the_wrong_shape_is_refused() {
        let query = fingerprint(&["skills"]);
        let token = encode(&query, &("text",));
        assert!(decode::<(i64, String)>(&token, &query).is_err());
    }

    #[test]
    fn page_size_defaults_and_bounds() {
        assert_eq!(page_size(0).expect("default"), DEFAULT_PAGE_SIZE);
        assert_eq!(page_size(7).expect("seven"), 7);
        assert!(page_size(-1).is_err());
        assert!(page_size(501).is_err());
    }
}

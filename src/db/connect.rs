//! One connection opened at start-up or by a subcommand, with an error that
//! says where it tried to connect and why it failed.
//!
//! diesel-async reports a failed connection as its driver's top-level
//! message ("error connecting to server") with the cause dropped, and a
//! start-up error that names neither the server nor the cause leaves an
//! operator guessing. So the error names the server (without its password)
//! and, for a TCP address, what a plain TCP connect to it says.

use std::time::Duration;

use anyhow::Context as _;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};

/// How long the diagnostic TCP connect may take.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Connects to `url`, or says where and why not.
pub async fn establish(url: &str) -> anyhow::Result<AsyncPgConnection> {
    match AsyncPgConnection::establish(url).await {
        Ok(conn) => Ok(conn),
        Err(error) => {
            let target = describe(url);
            let cause = match tcp_cause(url).await {
                Some(io) => anyhow::Error::from(io).context(error.to_string()),
                None => anyhow::Error::from(error),
            };
            Err(cause).with_context(|| format!("cannot connect to PostgreSQL at {target}"))
        }
    }
}

/// `host:port/database as user` of a PostgreSQL URL, never its password;
/// a URL that does not parse is described as such (it may hold one).
pub fn describe(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return "an unparsable DATABASE_URL".to_owned();
    };
    let host = match parsed.host_str() {
        Some(host) if !host.is_empty() => host.to_owned(),
        // A socket directory, as the embedded cluster's URLs carry it.
        _ => parsed
            .query_pairs()
            .find(|(key, _)| key == "host")
            .map_or_else(|| "localhost".to_owned(), |(_, dir)| dir.into_owned()),
    };
    let port = parsed.port().unwrap_or(5432);
    let database = parsed.path().trim_start_matches('/');
    let user = parsed.username();
    let mut described = format!("{host}:{port}/{database}");
    if !user.is_empty() {
        described.push_str(&format!(" as {user}"));
    }
    described
}

/// What a TCP connect to the URL's host and port fails with, if the URL
/// names a TCP host and the connect fails.
async fn tcp_cause(url: &str) -> Option<std::io::Error> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str().filter(|h| !h.is_empty())?.to_owned();
    let port = parsed.port().unwrap_or(5432);
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    match tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect((host, port))).await {
        Ok(Ok(_)) => None,
        Ok(Err(error)) => Some(error),
        Err(_) => Some(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            format!("no TCP answer within {PROBE_TIMEOUT:?}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_described_without_its_password() {
        assert_eq!(
            describe("postgres://app:s3cret@db.internal:6543/atelier"),
            "db.internal:6543/atelier as app"
        );
        assert_eq!(describe("postgres://db/atelier"), "db:5432/atelier");
        assert_eq!(
            describe("postgres:///atelier?host=/tmp/sock&user=postgres"),
            "/tmp/sock:5432/atelier"
        );
        assert!(!describe("postgres://u:pw@@@:x").contains("pw"));
    }
}

//! How the gRPC listener speaks to its clients: TLS (and, with a client CA,
//! mutual TLS), and gRPC-Web for browsers with the origins CORS lets in.
//! Flags, and the checked settings the server reads.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// Time a client has to finish its TLS handshake.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Transport settings of `serve`.
#[derive(Debug, Clone, Default, Args)]
pub struct TransportConfig {
    /// PEM certificate chain the server presents; with `--tls-key`, the
    /// server speaks only TLS.
    #[arg(long, env = "ATELIER_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,

    /// PEM private key of `--tls-cert`.
    #[arg(long, env = "ATELIER_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,

    /// PEM certificates of the CAs whose client certificates are accepted;
    /// set, every client must present one (mutual TLS).
    #[arg(long, env = "ATELIER_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,

    /// Comma-separated origins (`https://app.example.com`) whose browser
    /// pages may call the server with gRPC-Web; `*` allows any. Empty: no
    /// cross-origin call is allowed (gRPC-Web from non-browsers still is).
    #[arg(long, env = "ATELIER_CORS_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub cors_allowed_origins: Vec<String>,
}

/// The checked transport settings.
#[derive(Debug, Clone, Default)]
pub struct Transport {
    /// `None`: plaintext HTTP/2 (and HTTP/1.1 for gRPC-Web).
    pub tls: Option<TlsFiles>,
    pub cors: CorsOrigins,
}

/// The PEM contents of the TLS settings, read at start-up so a missing or
/// unreadable file stops the server before it listens.
#[derive(Clone)]
pub struct TlsFiles {
    pub cert_pem: Vec<u8>,
    pub key_pem: Vec<u8>,
    pub client_ca_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TlsFiles {
    // The key never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsFiles")
            .field("mutual", &self.client_ca_pem.is_some())
            .finish_non_exhaustive()
    }
}

impl TlsFiles {
    /// The rustls settings tonic serves with. Certificates that do not
    /// parse are reported when the server starts, by tonic.
    pub fn server_config(&self) -> ServerTlsConfig {
        let mut config = ServerTlsConfig::new()
            .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
            .timeout(TLS_HANDSHAKE_TIMEOUT);
        if let Some(ca) = &self.client_ca_pem {
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        config
    }

    /// Whether clients must present a certificate.
    pub fn is_mutual(&self) -> bool {
        self.client_ca_pem.is_some()
    }
}

/// Which browser origins may make cross-origin calls.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// None: browsers refuse cross-origin responses.
    #[default]
    None,
    /// Any origin (`*`).
    Any,
    /// Exactly these (`scheme://host[:port]`, as browsers send them).
    Listed(Vec<http::HeaderValue>),
}

impl TransportConfig {
    /// The settings, with the TLS files read and the origins checked.
    pub fn transport(&self) -> anyhow::Result<Transport> {
        let tls = match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles {
                cert_pem: read_pem(cert, "--tls-cert")?,
                key_pem: read_pem(key, "--tls-key")?,
                client_ca_pem: self
                    .tls_client_ca
                    .as_deref()
                    .map(|ca| read_pem(ca, "--tls-client-ca"))
                    .transpose()?,
            }),
            _ => None,
        };
        Ok(Transport {
            tls,
            cors: cors_origins(&self.cors_allowed_origins)?,
        })
    }
}

fn read_pem(path: &Path, flag: &str) -> anyhow::Result<Vec<u8>> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read {flag} file {}", path.display()))?;
    if !pem.windows(11).any(|window| window == b"-----BEGIN ") {
        anyhow::bail!("{flag} file {} holds no PEM block", path.display());
    }
    Ok(pem)
}

/// Parses `--cors-allowed-origins`: `*`, or origins without path.
pub fn cors_origins(entries: &[String]) -> anyhow::Result<CorsOrigins> {
    let entries: Vec<&str> = entries
        .iter()
        .map(|entry| entry.trim())
        .filter(|entry| !entry.is_empty())
        .collect();
    if entries.is_empty() {
        return Ok(CorsOrigins::None);
    }
    if entries.contains(&"*") {
        if entries.len() > 1 {
            anyhow::bail!(
                "--cors-allowed-origins: `*` allows every origin; list no others with it"
            );
        }
        return Ok(CorsOrigins::Any);
    }
    let mut origins = Vec::with_capacity(entries.len());
    for entry in entries {
        // A browser's Origin is `scheme://host[:port]`, never with a path:
        // an entry with one would never match, so it is refused here.
        let url = url::Url::parse(entry)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
            .filter(|url| url.path() == "/" && !entry.ends_with('/'))
            .filter(|url| url.query().is_none() && url.username().is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--cors-allowed-origins: {entry:?} is not an origin like https://app.example.com"
                )
            })?;
        let origin = url.origin().ascii_serialization();
        origins.push(http::HeaderValue::from_str(&origin)?);
    }
    Ok(CorsOrigins::Listed(origins))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(entries: &[&str]) -> anyhow::Result<CorsOrigins> {
        cors_origins(&entries.iter().map(|e| (*e).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn origins_are_checked_and_normalised() {
        assert_eq!(parse(&[]).expect("none"), CorsOrigins::None);
        assert_eq!(parse(&["*"]).expect("any"), CorsOrigins::Any);
        assert_eq!(
            parse(&["https://App.Example.com", "http://localhost:5173"]).expect("listed"),
            CorsOrigins::Listed(vec![
                http::HeaderValue::from_static("https://app.example.com"),
                http::HeaderValue::from_static("http://localhost:5173"),
            ])
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "ftp://files.example.com",
            "https://user@app.example.com",
        ] {
            assert!(parse(&[bad]).is_err(), "{bad} accepted");
        }
        assert!(parse(&["*", "https://a.example.com"]).is_err());
    }

    #[test]
    fn a_missing_or_non_pem_file_is_refused_naming_its_flag() {
        let dir = tempfile::tempdir().expect("temp dir");
        let not_pem = dir.path().join("key.txt");
        std::fs::write(&not_pem, "secret").expect("write");
        let config = TransportConfig {
            tls_cert: Some(dir.path().join("absent.pem")),
            tls_key: Some(not_pem.clone()),
            ..Default::default()
        };
        let error = format!("{:#}", config.transport().expect_err("absent cert"));
        assert!(
            error.contains("--tls-cert") && error.contains("absent.pem"),
            "{error}"
        );
        let cert = dir.path().join("cert.pem");
        std::fs::write(&cert, "-----BEGIN CERTIFICATE-----\n").expect("write");
        let config = TransportConfig {
            tls_cert: Some(cert),
            tls_key: Some(not_pem),
            ..Default::default()
        };
        let error = format!("{:#}", config.transport().expect_err("not PEM"));
        assert!(
            error.contains("--tls-key") && !error.contains("secret"),
            "{error}"
        );
    }
}

//! TLS and mutual TLS through real handshakes, with certificates made at
//! test time (rcgen), never committed keys: a TLS client that trusts the
//! server's CA gets in, a plaintext client does not; with a client CA
//! configured, a client without a certificate or with one from another CA
//! is refused and the right one works.

use std::time::Duration;

use atelier::config::{TlsFiles, Transport};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use crate::common::{TestApp, TestAppOptions, as_user};

/// A certificate authority made for one test.
struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate and its key, in PEM.
struct Issued {
    cert_pem: String,
    key_pem: String,
}

impl TestCa {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let key = KeyPair::generate().expect("CA key");
        Self {
            issuer: CertifiedIssuer::self_signed(params, key).expect("CA certificate"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn issue(&self, names: &[&str], usage: ExtendedKeyUsagePurpose) -> Issued {
        let mut params =
            CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>())
                .expect("leaf params");
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("leaf key");
        let cert = params
            .signed_by(&key, &self.issuer)
            .expect("leaf certificate");
        Issued {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A server with TLS from `server_ca` (for `localhost`), requiring client
/// certificates from `client_ca` when given.
async fn tls_app(server_ca: &TestCa, client_ca: Option<&TestCa>) -> TestApp {
    let server = server_ca.issue(
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    TestApp::start_with(TestAppOptions {
        transport: Transport {
            tls: Some(TlsFiles {
                cert_pem: server.cert_pem.into_bytes(),
                key_pem: server.key_pem.into_bytes(),
                client_ca_pem: client_ca.map(|ca| ca.pem().into_bytes()),
            }),
            ..Transport::default()
        },
        ..TestAppOptions::default()
    })
    .await
}

/// A TLS channel to `app` trusting `ca`, presenting `identity` if given.
async fn tls_channel(
    app: &TestApp,
    ca: &TestCa,
    identity: Option<&Issued>,
) -> Result<Channel, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca.pem()))
        .domain_name("localhost");
    if let Some(identity) = identity {
        tls = tls.identity(Identity::from_pem(&identity.cert_pem, &identity.key_pem));
    }
    Channel::from_shared(format!("https://127.0.0.1:{}", app.addr.port()))
        .expect("valid URI")
        .tls_config(tls)?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
}

/// A health check and a product RPC over `channel`; the error if either
/// fails.
async fn call(channel: Channel) -> Result<(), tonic::Status> {
    HealthClient::new(channel.clone())
        .check(HealthCheckRequest::default())
        .await?;
    atelier::proto::registry::skill_registry_client::SkillRegistryClient::new(channel)
        .list_skills(as_user(
            "ada",
            atelier::proto::registry::ListSkillsRequest::default(),
        ))
        .await?;
    Ok(())
}

/// Plaintext HTTP/2 against the TLS port: the call fails (the server
/// sees no TLS ClientHello and closes).
async fn plaintext_call(app: &TestApp) -> Result<(), String> {
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", app.addr.port()))
        .expect("valid URI")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|e| e.to_string())?;
    call(channel).await.map_err(|e| e.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_server_serves_clients_that_trust_its_ca_and_refuses_plaintext() {
    let ca = TestCa::new("atelier test server CA");
    let app = tls_app(&ca, None).await;

    let channel = tls_channel(&app, &ca, None).await.expect("TLS handshake");
    call(channel).await.expect("calls over TLS");

    assert!(
        plaintext_call(&app).await.is_err(),
        "a plaintext client was served by a TLS server"
    );
    // A client that trusts another CA refuses the server's certificate.
    let stranger = TestCa::new("some other CA");
    let refused = match tls_channel(&app, &stranger, None).await {
        Err(_) => true,
        Ok(channel) => call(channel).await.is_err(),
    };
    assert!(refused, "a certificate from an untrusted CA was accepted");
}

#[tokio::test(flavor = "multi_thread")]
async fn mutual_tls_admits_only_clients_with_a_certificate_from_the_client_ca() {
    let server_ca = TestCa::new("atelier test server CA");
    let client_ca = TestCa::new("atelier test client CA");
    let other_ca = TestCa::new("not the client CA");
    let app = tls_app(&server_ca, Some(&client_ca)).await;

    let good = client_ca.issue(&["svc-web"], ExtendedKeyUsagePurpose::ClientAuth);
    let channel = tls_channel(&app, &server_ca, Some(&good))
        .await
        .expect("mTLS handshake");
    call(channel)
        .await
        .expect("calls with a client certificate");

    // TLS 1.3 finishes the client's half of the handshake before the
    // server checks its certificate, so the refusal may come with the
    // first call instead of at connect: either way, nothing is served.
    let refused =
        async |identity: Option<&Issued>| match tls_channel(&app, &server_ca, identity).await {
            Err(_) => true,
            Ok(channel) => call(channel).await.is_err(),
        };
    assert!(
        refused(None).await,
        "a client without a certificate was served"
    );
    let foreign = other_ca.issue(&["svc-web"], ExtendedKeyUsagePurpose::ClientAuth);
    assert!(
        refused(Some(&foreign)).await,
        "a client certificate from another CA was accepted"
    );
    assert!(plaintext_call(&app).await.is_err(), "plaintext was served");
}

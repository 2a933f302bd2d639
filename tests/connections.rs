//! The connections the server holds: a cap, and timeouts for connections
//! that never speak or fall silent (2,000 idle connections used to hold
//! 2,015 descriptors for as long as their clients liked).

use std::time::{Duration, Instant};

use atelier::connections::ConnectionLimits;
use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;

use crate::common::{TestApp, TestAppOptions};

/// Whether the server closes `stream` within `limit` (EOF or an error),
/// reading past what it sends first (an HTTP/2 server speaks first: its
/// SETTINGS frame).
async fn closed_within(stream: &mut TcpStream, limit: Duration) -> bool {
    let mut buffer = [0_u8; 1024];
    let until_closed = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(limit, until_closed).await.is_ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_over_the_cap_are_closed_and_silent_ones_time_out() {
    let app = TestApp::start_with(TestAppOptions {
        connections: ConnectionLimits {
            max_connections: 3,
            max_connections_per_ip: 3,
            handshake_timeout: Duration::from_millis(800),
            idle_timeout: Duration::from_secs(60),
        },
        ..TestAppOptions::default()
    })
    .await;

    // The test app's own channel holds one place already.
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(app.addr).await.expect("connect"));
    }
    // The server accepts in order; give it a moment to take all three.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(app.addr).await.expect("connect");
    assert!(
        closed_within(&mut extra, Duration::from_millis(500)).await,
        "a connection over the cap is closed at once"
    );

    // One of them trickles a few bytes: not a preface, so still silent.
    tokio::io::AsyncWriteExt::write_all(&mut held[0], b"PRI * ")
        .await
        .expect("a few bytes");
    let started = Instant::now();
    for stream in &mut held {
        assert!(
            closed_within(stream, Duration::from_secs(5)).await,
            "a connection that never speaks is closed"
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(500));

    // Their places are free again: a real client gets in.
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", app.addr))
        .expect("uri")
        .connect()
        .await
        .expect("connect after the silent ones left");
    let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
    health
        .check(tonic_health::pb::HealthCheckRequest::default())
        .await
        .expect("health");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_address_cannot_take_every_place() {
    let app = TestApp::start_with(TestAppOptions {
        connections: ConnectionLimits {
            max_connections: 100,
            max_connections_per_ip: 2,
            ..ConnectionLimits::default()
        },
        ..TestAppOptions::default()
    })
    .await;
    // The test app's own channel holds one of 127.0.0.1's two places.
    let _second = TcpStream::connect(app.addr).await.expect("connect");
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(app.addr).await.expect("connect");
    assert!(
        closed_within(&mut third, Duration::from_millis(500)).await,
        "a third connection from the same address is closed at once"
    );
}

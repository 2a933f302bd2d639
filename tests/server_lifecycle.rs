//! The `atelier` binary as an operator runs it: on its embedded defaults,
//! with no DATABASE_URL, on fresh and reused data directories, after a crash,
//! and where PostgreSQL cannot run.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const ATELIER: &str = env!("CARGO_BIN_EXE_atelier");

/// A free loopback port (bound, then released for the server to take).
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// `atelier` with a clean environment apart from PATH/HOME.
fn atelier(data_dir: &Path) -> Command {
    let mut command = Command::new(ATELIER);
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("ATELIER_LOG", "info")
        .arg("--data-dir")
        .arg(data_dir);
    command
}

struct RunningServer {
    child: Child,
    port: u16,
}

impl RunningServer {
    fn start(data_dir: &Path) -> Self {
        let port = free_port();
        let child = atelier(data_dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn atelier");
        Self { child, port }
    }

    /// Waits until health says SERVING; returns how long that took.
    async fn wait_serving(&mut self) -> Duration {
        let started = Instant::now();
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", self.port))
            .expect("uri")
            .connect_lazy();
        let mut health = HealthClient::new(channel);
        loop {
            if let Ok(response) = health.check(HealthCheckRequest::default()).await
                && response.into_inner().status == 1
            {
                return started.elapsed();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("atelier exited before serving: {status}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(90),
                "not SERVING after 90 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        kill(pid, signal).expect("signal atelier");
    }

    /// Sends SIGTERM and waits for a clean exit.
    async fn terminate(mut self) {
        self.signal(Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                assert!(status.success(), "atelier exited with {status}");
                return;
            }
            assert!(
                Instant::now() < deadline,
                "atelier did not stop within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The pid recorded by the cluster's lock file, if PostgreSQL runs.
fn running_postmaster(data_dir: &Path) -> Option<i32> {
    let text = std::fs::read_to_string(data_dir.join("postgres/postmaster.pid")).ok()?;
    let pid: i32 = text.lines().next()?.trim().parse().ok()?;
    kill(Pid::from_raw(pid), None).is_ok().then_some(pid)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_server_starts_on_a_fresh_data_dir_and_again_on_the_same_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");

    let mut first = RunningServer::start(&data_dir);
    let fresh = first.wait_serving().await;
    assert!(
        running_postmaster(&data_dir).is_some(),
        "the embedded cluster runs"
    );
    first.terminate().await;
    assert_eq!(
        running_postmaster(&data_dir),
        None,
        "PostgreSQL is stopped on shutdown"
    );

    let mut second = RunningServer::start(&data_dir);
    let reused = second.wait_serving().await;
    second.terminate().await;
    assert_eq!(running_postmaster(&data_dir), None);
    eprintln!(
        "start to SERVING: fresh data dir {} ms, reused {} ms",
        fresh.as_millis(),
        reused.as_millis()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_left_running_by_a_crash_is_recovered() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");

    let mut crashed = RunningServer::start(&data_dir);
    crashed.wait_serving().await;
    crashed.signal(Signal::SIGKILL);
    let _ = crashed.child.wait();
    let orphan = running_postmaster(&data_dir).expect("SIGKILL leaves PostgreSQL running");

    let mut recovered = RunningServer::start(&data_dir);
    recovered.wait_serving().await;
    assert_ne!(
        running_postmaster(&data_dir),
        Some(orphan),
        "the stale server was replaced"
    );
    recovered.terminate().await;
    assert_eq!(running_postmaster(&data_dir), None);
}

#[test]
fn migrate_applies_then_finds_nothing_to_do() {
    let dir = tempfile::tempdir().expect("temp dir");
    for _ in 0..2 {
        let output = atelier(dir.path())
            .arg("migrate")
            .output()
            .expect("run migrate");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(
        running_postmaster(dir.path()),
        None,
        "migrate stops the cluster it started"
    );
}

#[test]
fn without_postgres_binaries_it_says_what_to_do_in_one_sentence() {
    let dir = tempfile::tempdir().expect("temp dir");
    let output = atelier(dir.path())
        .args(["--postgres-bin-dir", "/nonexistent", "migrate"])
        .output()
        .expect("run atelier");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("install PostgreSQL"), "{stderr}");
    assert!(stderr.contains("DATABASE_URL"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

#[test]
fn a_data_dir_the_postgres_user_cannot_reach_is_named() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: only root hands the cluster to the postgres user");
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let private = dir.path().join("private-home");
    std::fs::create_dir(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let output = atelier(&private.join("data"))
        .arg("migrate")
        .output()
        .expect("run atelier");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach"), "{stderr}");
    assert!(stderr.contains("private-home"), "{stderr}");
}

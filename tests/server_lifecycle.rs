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

use crate::common::as_user;

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
        Self::start_with(data_dir, &[])
    }

    fn start_with(data_dir: &Path, extra: &[&str]) -> Self {
        Self::start_on(data_dir, free_port(), extra)
    }

    fn start_on(data_dir: &Path, port: u16, extra: &[&str]) -> Self {
        let child = atelier(data_dir)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn atelier");
        Self { child, port }
    }

    /// The overall health status now (`None` when the call fails).
    async fn health(&self) -> Option<i32> {
        let channel = Channel::from_shared(format!("http://127.0.0.1:{}", self.port))
            .expect("uri")
            .connect_lazy();
        HealthClient::new(channel)
            .check(HealthCheckRequest::default())
            .await
            .ok()
            .map(|response| response.into_inner().status)
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

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_embedded_postgres_is_restarted_and_serving_resumes() {
    use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
    use atelier::proto::registry::{CreateSkillRequest, SkillCategory};
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut server = RunningServer::start_with(&data_dir, &["--health-interval-ms", "50"]);
    server.wait_serving().await;
    let first = running_postmaster(&data_dir).expect("postmaster");

    kill(Pid::from_raw(first), Signal::SIGKILL).expect("kill the postmaster");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut saw_not_serving = false;
    loop {
        match server.health().await {
            Some(1) if saw_not_serving => break,
            Some(1) => {}
            _ => saw_not_serving = true,
        }
        assert!(Instant::now() < deadline, "not SERVING again within 30 s");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let second = running_postmaster(&data_dir).expect("restarted");
    assert_ne!(second, first, "a new postmaster runs");

    // Writes work again, through the same pool (the first call may meet a
    // pooled connection of the dead server: UNAVAILABLE, retried).
    let channel = Channel::from_shared(format!("http://127.0.0.1:{}", server.port))
        .expect("uri")
        .connect_lazy();
    let mut registry = SkillRegistryClient::new(channel);
    let create = || {
        as_user(
            "ada",
            CreateSkillRequest {
                slug: "after-restart".to_owned(),
                name: "After".to_owned(),
                description: "A restart".to_owned(),
                category: SkillCategory::Prompt.into(),
                hours_saved: None,
                request_id: "after-restart".to_owned(),
            },
        )
    };
    let mut created = registry.create_skill(create()).await;
    if created.is_err() {
        created = registry.create_skill(create()).await;
    }
    created.expect("a write after the restart");
    server.terminate().await;
    assert_eq!(running_postmaster(&data_dir), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_start_after_an_unclean_stop_ignores_a_stale_postmaster_pid() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let mut crashed = RunningServer::start(&data_dir);
    crashed.wait_serving().await;
    let postmaster = running_postmaster(&data_dir).expect("postmaster");
    // Both die at once (a power cut of the container): the pid file still
    // says "ready", the socket file is still there.
    crashed.signal(Signal::SIGKILL);
    kill(Pid::from_raw(postmaster), Signal::SIGKILL).expect("kill the postmaster");
    let _ = crashed.child.wait();
    while kill(Pid::from_raw(postmaster), None).is_ok() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid_file = data_dir.join("postgres/postmaster.pid");
    let stale = std::fs::read_to_string(&pid_file).expect("a stale pid file");
    assert!(stale.contains("ready"), "{stale}");
    // Worse: its pid now belongs to a live process that is no postmaster.
    let mut lines: Vec<String> = stale.lines().map(str::to_owned).collect();
    lines[0] = std::process::id().to_string();
    std::fs::write(&pid_file, lines.join("\n") + "\n").expect("rewrite the pid file");

    let mut recovered = RunningServer::start(&data_dir);
    recovered.wait_serving().await;
    assert!(running_postmaster(&data_dir).is_some_and(|pid| pid != postmaster));
    recovered.terminate().await;
    assert_eq!(running_postmaster(&data_dir), None);
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_writes_survive_a_server_killed_mid_load_and_restarted() {
    use atelier::db::rows::SingleRow as _;
    use atelier::proto::registry::RecordUsageRequest;
    use atelier::proto::registry::record_usage_request::Skill as Which;
    use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
    use atelier::proto::registry::{CreateSkillRequest, SkillCategory};
    use diesel::sql_types::BigInt;
    use diesel_async::{AsyncConnection as _, RunQueryDsl as _};
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let port = free_port();
    let mut first = RunningServer::start_on(&data_dir, port, &[]);
    first.wait_serving().await;
    let channel = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .expect("uri")
        .connect_lazy();
    let mut skills = Vec::new();
    for n in 0..4 {
        let skill = SkillRegistryClient::new(channel.clone())
            .create_skill(as_user(
                "ada",
                CreateSkillRequest {
                    slug: format!("killed-server-{n}"),
                    name: "Skill".to_owned(),
                    description: "Used while the server dies".to_owned(),
                    category: SkillCategory::Prompt.into(),
                    hours_saved: None,
                    request_id: String::new(),
                },
            ))
            .await
            .expect("create skill")
            .into_inner()
            .skill
            .expect("skill");
        skills.push(skill.id);
    }

    let acknowledged = Arc::new(Mutex::new(BTreeSet::new()));
    let load_until = Instant::now() + Duration::from_secs(4);
    let mut clients = Vec::new();
    for client in 0..4 {
        let (channel, skills, acknowledged) =
            (channel.clone(), skills.clone(), acknowledged.clone());
        clients.push(tokio::spawn(async move {
            let mut sequence = 0;
            while Instant::now() < load_until {
                sequence += 1;
                let request_id = format!("kill-{client}-{sequence}");
                let give_up = Instant::now() + Duration::from_secs(60);
                while Instant::now() < give_up {
                    let request = RecordUsageRequest {
                        skill: Some(Which::SkillId(skills[sequence % skills.len()].clone())),
                        version: None,
                        tool_name: String::new(),
                        request_id: request_id.clone(),
                    };
                    let mut registry = SkillRegistryClient::new(channel.clone());
                    if registry.record_usage(as_user("ada", request)).await.is_ok() {
                        acknowledged.lock().expect("lock").insert(request_id);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    first.signal(Signal::SIGKILL);
    let _ = first.child.wait();
    let mut second = RunningServer::start_on(&data_dir, port, &[]);
    second.wait_serving().await;
    for client in clients {
        client.await.expect("client");
    }

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let url = format!(
        "postgres://postgres@/atelier?host={}",
        data_dir.join("postgres").display()
    );
    let mut conn = diesel_async::AsyncPgConnection::establish(&url)
        .await
        .expect("connect to the embedded cluster");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let pending: Count =
            diesel::sql_query("SELECT count(*) AS n FROM outbox WHERE dead_at IS NULL")
                .load(&mut conn)
                .await
                .single()
                .expect("pending");
        if pending.n == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    #[derive(diesel::QueryableByName)]
    struct Key {
        #[diesel(sql_type = diesel::sql_types::Text)]
        key: String,
    }
    let present: Vec<Key> = diesel::sql_query(
        "SELECT request_id AS key FROM usage_events WHERE request_id IS NOT NULL",
    )
    .load(&mut conn)
    .await
    .expect("rows");
    let present_set: BTreeSet<String> = present.iter().map(|k| k.key.clone()).collect();
    assert_eq!(
        present_set.len(),
        present.len(),
        "no request recorded twice"
    );
    let acknowledged = acknowledged.lock().expect("lock").clone();
    assert!(
        acknowledged.len() > 50,
        "the load ran: {}",
        acknowledged.len()
    );
    let lost: Vec<&String> = acknowledged.difference(&present_set).collect();
    assert!(lost.is_empty(), "acknowledged but lost: {lost:?}");
    let counters: Count = diesel::sql_query(
        "SELECT (SELECT coalesce(sum(total_uses), 0) FROM skills)::bigint \
         - (SELECT count(*) FROM usage_events) AS n",
    )
    .load(&mut conn)
    .await
    .single()
    .expect("counters");
    assert_eq!(counters.n, 0, "the counters equal the rows");
    drop(conn);
    second.terminate().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn as_root_a_data_dir_in_a_private_home_still_serves_from_a_reachable_cluster() {
    if !nix::unistd::Uid::effective().is_root() {
        eprintln!("skipped: only root hands the cluster to the postgres user");
        return;
    }
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("temp dir");
    let private = dir.path().join("private-home");
    std::fs::create_dir(&private).expect("mkdir");
    std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let data_dir = private.join("data");

    let mut first = RunningServer::start(&data_dir);
    first.wait_serving().await;
    first.terminate().await;
    let location = std::fs::read_to_string(data_dir.join("postgres.location"))
        .expect("the data dir says where its cluster is");
    let cluster = std::path::PathBuf::from(location.trim());
    assert!(
        cluster.starts_with("/var/lib/atelier"),
        "{}",
        cluster.display()
    );
    assert!(cluster.join("postgres/PG_VERSION").exists());

    // A restart finds the same cluster (and its data).
    let mut second = RunningServer::start(&data_dir);
    second.wait_serving().await;
    second.terminate().await;
    assert_eq!(
        std::fs::read_to_string(data_dir.join("postgres.location")).expect("location"),
        location
    );
    std::fs::remove_dir_all(&cluster).expect("remove the relocated cluster");
}

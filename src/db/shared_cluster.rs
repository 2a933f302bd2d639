//! A throwaway PostgreSQL cluster that many processes share and that stops
//! by itself once none of them uses it: the test suite's database server.
//!
//! Under cargo-nextest every test is its own process, and starting a cluster
//! per test would cost ~1 s each. Instead the first test process starts a
//! supervisor (`atelier test-cluster`, a hidden subcommand) that runs an
//! [`EmbeddedPostgres`] in a directory all test processes agree on.
//!
//! Users hold a *shared* `flock` on `<root>/lease` for as long as they use
//! the cluster; the kernel releases it when a process exits or dies, so a
//! crashed test cannot keep the cluster alive forever. The supervisor tries
//! to take the lease *exclusively* a few times a second: once it has been
//! able to for a grace period, nobody is using the cluster, and it stops
//! PostgreSQL and exits, holding the lease until it is done so that no user
//! can join a cluster that is going away. A user that arrives then waits on
//! its shared lock and starts a fresh supervisor.

use std::fs;
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use nix::sys::signal::kill;
use nix::unistd::Pid;

use super::embedded::{ClusterOptions, EmbeddedPostgres};
use crate::shutdown::Shutdown;

/// How often the supervisor checks whether anyone still holds the lease.
const LEASE_CHECK: Duration = Duration::from_millis(200);

/// The file in which the supervisor publishes `<pid>\n<url>` once ready.
const READY_FILE: &str = "ready";

/// Runs the cluster in `root` until nobody has held the lease for
/// `idle_grace` (or `shutdown` fires), then stops it.
pub async fn supervise(
    root: &Path,
    idle_grace: Duration,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let options = ClusterOptions {
        bin_dir: None,
        ephemeral: true,
    };
    let mut cluster = EmbeddedPostgres::new(root, &options)?;
    cluster.start().await?;
    publish_ready(root, &cluster.url("postgres"))?;
    tracing::info!(root = %root.display(), "shared test cluster ready");

    let lease_path = root.join("lease");
    let mut idle_since: Option<Instant> = None;
    let outcome = loop {
        tokio::select! {
            () = tokio::time::sleep(LEASE_CHECK) => {}
            () = shutdown.wait() => break Ok(None),
        }
        if !cluster.is_running() {
            break Err(anyhow::anyhow!(
                "PostgreSQL exited unexpectedly; see {}/postgres.log",
                root.display()
            ));
        }
        let lease = open_lock_file(&lease_path)?;
        match lease.try_lock() {
            Ok(()) => {
                let since = *idle_since.get_or_insert_with(Instant::now);
                if since.elapsed() >= idle_grace {
                    // Keep the exclusive lease while stopping.
                    break Ok(Some(lease));
                }
            }
            Err(fs::TryLockError::WouldBlock) => idle_since = None,
            Err(fs::TryLockError::Error(e)) => break Err(e.into()),
        }
    };
    let _ = fs::remove_file(root.join(READY_FILE));
    cluster.stop().await?;
    tracing::info!("shared test cluster stopped");
    outcome.map(drop)
}

/// A process's share of the cluster: while this value lives the cluster
/// keeps running.
#[derive(Debug)]
pub struct ClusterLease {
    /// The shared lock on `<root>/lease`.
    _lease: fs::File,
    /// URL of the cluster's `postgres` database, for administration.
    pub admin_url: String,
}

/// Joins the cluster in `root`, starting a supervisor from the `atelier`
/// binary at `atelier_bin` when none is running. Blocking: call it once per
/// process, off the async runtime.
pub fn join(root: &Path, atelier_bin: &Path) -> anyhow::Result<ClusterLease> {
    fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let lease = open_lock_file(&root.join("lease"))?;
    lease.lock_shared().context("taking the cluster lease")?;

    // One process at a time decides whether to start a supervisor.
    let start_lock = open_lock_file(&root.join("start.lock"))?;
    start_lock.lock().context("taking the start lock")?;
    let admin_url = match read_ready(root) {
        Some((pid, url)) if process_alive(pid) => url,
        _ => start_supervisor(root, atelier_bin)?,
    };
    drop(start_lock);
    Ok(ClusterLease {
        _lease: lease,
        admin_url,
    })
}

fn start_supervisor(root: &Path, atelier_bin: &Path) -> anyhow::Result<String> {
    let _ = fs::remove_file(root.join(READY_FILE));
    let log_path = root.join("supervisor.log");
    let log = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)?;
    let mut child = std::process::Command::new(atelier_bin)
        .arg("test-cluster")
        .arg("--root")
        .arg(root)
        .env_remove("DATABASE_URL")
        // Detached: not in our process group, no pipes of ours, so it
        // outlives this process and test runners do not wait for it.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {}", atelier_bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((pid, url)) = read_ready(root)
            && pid == child.id()
        {
            return Ok(url);
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = fs::read_to_string(&log_path).unwrap_or_default();
            bail!("the test cluster supervisor exited ({status}):\n{log}");
        }
        if Instant::now() >= deadline {
            bail!(
                "the test cluster did not become ready within 60 s; see {}",
                log_path.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn publish_ready(root: &Path, url: &str) -> anyhow::Result<()> {
    // Write then rename, so a reader never sees half a file.
    let temp: PathBuf = root.join(format!("{READY_FILE}.tmp"));
    let mut file = fs::File::create(&temp)?;
    writeln!(file, "{}\n{url}", std::process::id())?;
    file.sync_all()?;
    fs::rename(&temp, root.join(READY_FILE))?;
    Ok(())
}

fn read_ready(root: &Path) -> Option<(u32, String)> {
    let text = fs::read_to_string(root.join(READY_FILE)).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let url = lines.next()?.trim().to_owned();
    Some((pid, url))
}

fn process_alive(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(|pid| kill(Pid::from_raw(pid), None).is_ok())
}

fn open_lock_file(path: &Path) -> anyhow::Result<fs::File> {
    fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))
}

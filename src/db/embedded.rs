//! A private PostgreSQL cluster that the server runs itself when no
//! `DATABASE_URL` is configured, so `atelier` works on a machine that merely
//! has PostgreSQL's binaries installed.
//!
//! The cluster lives in `<data dir>/postgres`, is created with `initdb` on
//! first use and reused after, and listens only on a Unix socket (no TCP
//! port, so it never collides with another server). PostgreSQL refuses to
//! run as root; when we are root the cluster runs as the `postgres` system
//! user, and when that user cannot reach the data directory (a checkout in
//! root's mode-700 home) the cluster lives in a directory derived from the
//! data directory under `/var/lib/atelier`, recorded in
//! `<data dir>/postgres.location`. A cluster left running by a crashed
//! process is stopped and started afresh; a stale `postmaster.pid` whose
//! process is not our postmaster is removed. A
//! [`Supervisor`](super::supervisor::Supervisor) restarts a cluster that
//! dies while the server runs. The test harness uses the same
//! code for its shared cluster.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};
use tokio::process::{Child, Command};

pub use super::host::{EmbeddedError, LOCATION_FILE, find_bin_dir};
use super::host::{
    SOCKET_FILE, has_server_binaries, io_err, is_postmaster_of, lock_data_dir, pid_i32,
    reachable_cluster_root, run_to_completion, socket_dir_for, tail_of,
};

/// The superuser the cluster is initialised with; connections use it.
pub const SUPERUSER: &str = "postgres";

/// The database the server uses inside its cluster.
pub const DATABASE: &str = "atelier";

/// How long to wait for the cluster to accept connections or to stop.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a postmaster that reports it is starting (replaying its WAL
/// after a crash) may take before we give up on it.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);

/// Options for a cluster beyond its location.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Directory with `initdb` and `postgres`; searched for when `None`.
    pub bin_dir: Option<PathBuf>,
    /// Trade crash safety for speed (`fsync=off` and friends). Only for
    /// throwaway clusters such as the test harness's.
    pub ephemeral: bool,
}

/// A PostgreSQL cluster in a directory of ours, and the server process
/// running it while started.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    /// The cluster's data directory (`PGDATA`).
    pgdata: PathBuf,
    /// Where the Unix socket lives: `pgdata` itself when its path is short
    /// enough, else a short directory under the system temp dir.
    socket_dir: PathBuf,
    /// Server log, appended to across restarts.
    log_path: PathBuf,
    /// Directory holding `initdb` and `postgres`.
    bin_dir: PathBuf,
    /// The system user to run as when we are root.
    run_as: Option<(Uid, Gid)>,
    ephemeral: bool,
    /// The postmaster while we run it.
    child: Option<Child>,
    /// An exclusive lock on `<root>/postgres.lock`, held while this value
    /// lives: only one process at a time runs a cluster from a directory, so
    /// a server found running there without it was left by a crash.
    _dir_lock: fs::File,
}

impl EmbeddedPostgres {
    /// Prepares (but does not start) the cluster at `<root>/postgres`,
    /// checking that the binaries exist and, when we are root, that the
    /// `postgres` user can reach the directory.
    pub fn new(root: &Path, options: &ClusterOptions) -> Result<Self, EmbeddedError> {
        fs::create_dir_all(root).map_err(io_err(format!("creating {}", root.display())))?;
        let root =
            fs::canonicalize(root).map_err(io_err(format!("resolving {}", root.display())))?;
        let bin_dir = match &options.bin_dir {
            Some(dir) if has_server_binaries(dir) => dir.clone(),
            Some(_) => return Err(EmbeddedError::BinariesNotFound),
            None => find_bin_dir().ok_or(EmbeddedError::BinariesNotFound)?,
        };
        let dir_lock = lock_data_dir(&root)?;
        let (run_as, cluster_root) = if Uid::effective().is_root() {
            let user = User::from_name(SUPERUSER)
                .ok()
                .flatten()
                .ok_or(EmbeddedError::NoPostgresUser)?;
            let cluster_root = reachable_cluster_root(&root, user.uid, user.gid)?;
            (Some((user.uid, user.gid)), cluster_root)
        } else {
            (None, root.clone())
        };
        let pgdata = cluster_root.join("postgres");
        let socket_dir = socket_dir_for(&pgdata);
        Ok(Self {
            _dir_lock: dir_lock,
            log_path: cluster_root.join("postgres.log"),
            pgdata,
            socket_dir,
            bin_dir,
            run_as,
            ephemeral: options.ephemeral,
            child: None,
        })
    }

    /// The directory holding the server's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    /// A `postgres://` URL for `database` on this cluster, over its socket.
    pub fn url(&self, database: &str) -> String {
        let socket_dir = self.socket_dir.to_string_lossy();
        let host =
            percent_encoding::utf8_percent_encode(&socket_dir, percent_encoding::NON_ALPHANUMERIC);
        format!("postgres://{SUPERUSER}@/{database}?host={host}")
    }

    /// Creates the cluster if needed, stops a stale server left by a crash,
    /// and starts PostgreSQL; returns once it accepts connections.
    pub async fn start(&mut self) -> Result<(), EmbeddedError> {
        if self.child.is_some() {
            return Ok(());
        }
        if !self.pgdata.join("PG_VERSION").exists() {
            self.init().await?;
        }
        self.stop_stale_server().await?;
        self.prepare_socket_dir()?;

        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(io_err(format!("opening {}", self.log_path.display())))?;
        let log_err = log
            .try_clone()
            .map_err(io_err("duplicating the log handle"))?;

        let mut command = self.command("postgres");
        command
            .arg("-D")
            .arg(&self.pgdata)
            .arg("-k")
            .arg(&self.socket_dir)
            .args(["-c", "listen_addresses="])
            .args(["-c", "max_connections=200"]);
        if self.ephemeral {
            command.args(["-c", "fsync=off", "-c", "synchronous_commit=off"]);
            command.args(["-c", "full_page_writes=off"]);
        }
        // A process group of its own: a Ctrl-C in the terminal reaches us,
        // and we shut PostgreSQL down after the RPCs in flight have finished.
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .kill_on_drop(false);
        let child = command.spawn().map_err(io_err(format!(
            "starting {}",
            self.bin("postgres").display()
        )))?;
        self.child = Some(child);
        self.wait_until_ready().await
    }

    /// Stops the server (fast shutdown: open sessions are disconnected) and
    /// waits for it to exit.
    pub async fn stop(&mut self) -> Result<(), EmbeddedError> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        if let Some(pid) = child.id() {
            let _ = kill(Pid::from_raw(pid_i32(pid)), Signal::SIGINT);
        }
        match tokio::time::timeout(STARTUP_TIMEOUT, child.wait()).await {
            Ok(result) => {
                result.map_err(io_err("waiting for PostgreSQL to stop"))?;
            }
            Err(_) => {
                // Immediate shutdown; the next start recovers from the WAL.
                if let Some(pid) = child.id() {
                    let _ = kill(Pid::from_raw(pid_i32(pid)), Signal::SIGQUIT);
                }
                let _ = child.wait().await;
            }
        }
        Ok(())
    }

    /// The cluster's data directory (`PGDATA`).
    pub fn pgdata(&self) -> &Path {
        &self.pgdata
    }

    /// The postmaster's pid while we run it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(Child::id)
    }

    /// Whether the server we started is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    async fn init(&self) -> Result<(), EmbeddedError> {
        // initdb wants an empty (or absent) directory it can own.
        if self.pgdata.exists() {
            fs::remove_dir_all(&self.pgdata)
                .map_err(io_err(format!("clearing {}", self.pgdata.display())))?;
        }
        fs::create_dir_all(&self.pgdata)
            .map_err(io_err(format!("creating {}", self.pgdata.display())))?;
        fs::set_permissions(&self.pgdata, fs::Permissions::from_mode(0o700))
            .map_err(io_err("restricting the cluster directory"))?;
        self.give_to_run_as_user(&self.pgdata)?;

        let mut command = self.command("initdb");
        command.arg("-D").arg(&self.pgdata).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
        ]);
        if self.ephemeral {
            command.arg("--no-sync");
        }
        run_to_completion(command, "initdb").await
    }

    /// A server still running from a process that crashed holds the data
    /// directory; stop it so we can start our own. (Our caller holds the data
    /// directory lock, so such a server cannot belong to a live atelier.)
    /// A `postmaster.pid` whose process is not a postmaster of this cluster
    /// — gone, or its pid reused by another process, possibly another
    /// PostgreSQL's — is stale: it is removed, with the socket lock file,
    /// so neither PostgreSQL nor our readiness check mistakes it for a
    /// running server.
    async fn stop_stale_server(&self) -> Result<(), EmbeddedError> {
        let pid_file = self.pgdata.join("postmaster.pid");
        let Ok(contents) = fs::read_to_string(&pid_file) else {
            return Ok(());
        };
        let Some(pid) = contents
            .lines()
            .next()
            .and_then(|l| l.trim().parse::<i32>().ok())
        else {
            return Ok(());
        };
        if is_postmaster_of(pid, &self.pgdata) {
            tracing::warn!(pid, pgdata = %self.pgdata.display(), "stopping a PostgreSQL left running by an earlier process");
            let _ = kill(Pid::from_raw(pid), Signal::SIGINT);
            let deadline = Instant::now() + STARTUP_TIMEOUT;
            while is_postmaster_of(pid, &self.pgdata) && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if is_postmaster_of(pid, &self.pgdata) {
                let _ = kill(Pid::from_raw(pid), Signal::SIGQUIT);
                let deadline = Instant::now() + Duration::from_secs(10);
                while is_postmaster_of(pid, &self.pgdata) && Instant::now() < deadline {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            if is_postmaster_of(pid, &self.pgdata) {
                return Err(EmbeddedError::DataDirInUse {
                    data_dir: self.pgdata.clone(),
                });
            }
            // It stopped and removed its own lock file.
            return Ok(());
        }
        // A dead pid: PostgreSQL replaces such a lock file by itself. A
        // live pid that is not a postmaster of this cluster (reused by
        // another process, perhaps another PostgreSQL's, as the same user)
        // would make it refuse to start: that lock file is ours to remove.
        if kill(Pid::from_raw(pid), None).is_ok() {
            tracing::warn!(pid, pgdata = %self.pgdata.display(), "removing a stale postmaster.pid whose pid now belongs to another process");
            for stale in [
                pid_file,
                self.socket_dir.join(format!("{SOCKET_FILE}.lock")),
            ] {
                match fs::remove_file(&stale) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(io_err(format!("removing {}", stale.display()))(e)),
                }
            }
        }
        Ok(())
    }

    /// Takes the exit status of a postmaster that has died, so the cluster
    /// can be started again; `None` while it runs (or was never started).
    pub fn reap(&mut self) -> Option<std::process::ExitStatus> {
        let status = self.child.as_mut()?.try_wait().ok()??;
        self.child = None;
        Some(status)
    }

    fn prepare_socket_dir(&self) -> Result<(), EmbeddedError> {
        if self.socket_dir != self.pgdata {
            fs::create_dir_all(&self.socket_dir)
                .map_err(io_err(format!("creating {}", self.socket_dir.display())))?;
            fs::set_permissions(&self.socket_dir, fs::Permissions::from_mode(0o700))
                .map_err(io_err("restricting the socket directory"))?;
            self.give_to_run_as_user(&self.socket_dir)?;
        }
        Ok(())
    }

    /// Waits until `postmaster.pid` reports the server ready (line 8), as
    /// `pg_ctl -w` does, failing early if the server exits.
    async fn wait_until_ready(&mut self) -> Result<(), EmbeddedError> {
        let started = Instant::now();
        let pid_file = self.pgdata.join("postmaster.pid");
        let our_pid = self.child.as_ref().and_then(Child::id).map(pid_i32);
        loop {
            // Ours, not a stale file from an earlier run that also says
            // "ready" (and whose socket file may still be there).
            let ours = fs::read_to_string(&pid_file).ok().filter(|contents| {
                contents
                    .lines()
                    .next()
                    .and_then(|l| l.trim().parse::<i32>().ok())
                    == our_pid
            });
            let status = ours
                .as_deref()
                .and_then(|contents| contents.lines().nth(7))
                .map(str::trim);
            if status == Some("ready") && self.socket_dir.join(SOCKET_FILE).exists() {
                return Ok(());
            }
            // Crash recovery after a kill replays the WAL and can take longer
            // than a plain start: while our postmaster says it is starting,
            // it is making progress.
            let limit = if status == Some("starting") {
                RECOVERY_TIMEOUT
            } else {
                STARTUP_TIMEOUT
            };
            let exited = !self.is_running();
            if exited || started.elapsed() >= limit {
                if !exited {
                    // Never leave a half-started server behind us.
                    self.kill_child().await;
                }
                self.child = None;
                return Err(EmbeddedError::NotReady {
                    seconds: limit.as_secs(),
                    log: self.log_path.clone(),
                    tail: tail_of(&self.log_path, 20),
                });
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops our postmaster at once (immediate shutdown) and waits for it.
    async fn kill_child(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Some(pid) = child.id() {
                let _ = kill(Pid::from_raw(pid_i32(pid)), Signal::SIGQUIT);
            }
            if tokio::time::timeout(Duration::from_secs(10), child.wait())
                .await
                .is_err()
            {
                let _ = child.kill().await;
            }
        }
        self.child = None;
    }

    fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin(name));
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid.as_raw()).gid(gid.as_raw());
            // Our HOME (e.g. /root) is unreadable to that user.
            command.current_dir("/").env("HOME", "/");
        }
        command.env_remove("PGDATA").env("LC_ALL", "C.UTF-8");
        command
    }

    fn give_to_run_as_user(&self, path: &Path) -> Result<(), EmbeddedError> {
        if let Some((uid, gid)) = self.run_as {
            nix::unistd::chown(path, Some(uid), Some(gid)).map_err(|e| EmbeddedError::Io {
                action: format!("handing {} to the postgres user", path.display()),
                source: e.into(),
            })?;
        }
        Ok(())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        // Last resort when `stop` was not awaited: ask for a fast shutdown
        // so the cluster does not outlive us.
        if let Some(pid) = self.child.as_ref().and_then(Child::id) {
            let _ = kill(Pid::from_raw(pid_i32(pid)), Signal::SIGINT);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_percent_encodes_the_socket_directory() {
        let pg = EmbeddedPostgres {
            pgdata: PathBuf::from("/data dir/postgres"),
            socket_dir: PathBuf::from("/data dir/postgres"),
            log_path: PathBuf::from("/data dir/postgres.log"),
            bin_dir: PathBuf::from("/usr/bin"),
            run_as: None,
            ephemeral: false,
            child: None,
            _dir_lock: tempfile::tempfile().expect("a temporary file"),
        };
        assert_eq!(
            pg.url("atelier"),
            "postgres://postgres@/atelier?host=%2Fdata%20dir%2Fpostgres"
        );
    }
}

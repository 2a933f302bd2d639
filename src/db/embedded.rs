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
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::{Gid, Pid, Uid, User};
use sha2::{Digest, Sha256};
use tokio::process::{Child, Command};

/// The superuser the cluster is initialised with; connections use it.
pub const SUPERUSER: &str = "postgres";

/// The database the server uses inside its cluster.
pub const DATABASE: &str = "atelier";

/// Unix socket paths must fit `sun_path` (108 bytes with the NUL).
const MAX_SOCKET_PATH: usize = 107;

/// The socket file PostgreSQL creates in its socket directory.
const SOCKET_FILE: &str = ".s.PGSQL.5432";

/// How long to wait for the cluster to accept connections or to stop.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// How long a postmaster that reports it is starting (replaying its WAL
/// after a crash) may take before we give up on it.
const RECOVERY_TIMEOUT: Duration = Duration::from_secs(600);

/// What can go wrong running the embedded cluster. Every message is one
/// sentence that says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "no PostgreSQL server binaries (initdb, postgres) were found via --postgres-bin-dir, \
         pg_config --bindir, PATH or /usr/lib/postgresql/*/bin: install PostgreSQL \
         (e.g. `apt-get install postgresql`) or set DATABASE_URL to use an existing server"
    )]
    BinariesNotFound,
    #[error(
        "running as root, the embedded PostgreSQL must run as the `postgres` system user, \
         which does not exist: create it (installing PostgreSQL does) or set DATABASE_URL"
    )]
    NoPostgresUser,
    #[error(
        "the `postgres` system user cannot reach the data directory {data_dir} because \
         {blocked} (mode {mode:o}) is not searchable by it: choose a data directory outside it \
         with --data-dir/ATELIER_DATA_DIR, or set DATABASE_URL"
    )]
    DataDirUnreachable {
        data_dir: PathBuf,
        blocked: PathBuf,
        mode: u32,
    },
    #[error(
        "another process is running PostgreSQL from {data_dir}: stop it, or choose another \
         data directory with --data-dir/ATELIER_DATA_DIR"
    )]
    DataDirInUse { data_dir: PathBuf },
    #[error("{action} failed: {source}")]
    Io {
        action: String,
        #[source]
        source: io::Error,
    },
    #[error("{command} failed ({status}); its output ends with:\n{output}")]
    CommandFailed {
        command: String,
        status: String,
        output: String,
    },
    #[error("PostgreSQL did not become ready within {seconds} s; the end of {log}:\n{tail}")]
    NotReady {
        seconds: u64,
        log: PathBuf,
        tail: String,
    },
}

fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let action = action.into();
    move |source| EmbeddedError::Io { action, source }
}

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

/// Takes the data directory's lock, retrying briefly: a process that just
/// stopped its cluster may still be exiting.
fn lock_data_dir(root: &Path) -> Result<fs::File, EmbeddedError> {
    let path = root.join("postgres.lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(io_err(format!("opening {}", path.display())))?;
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(25));
            }
            Err(fs::TryLockError::WouldBlock) => {
                return Err(EmbeddedError::DataDirInUse {
                    data_dir: root.to_path_buf(),
                });
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(io_err(format!("locking {}", path.display()))(e));
            }
        }
    }
}

fn pid_i32(pid: u32) -> i32 {
    i32::try_from(pid).unwrap_or(i32::MAX)
}

/// Whether `pid` is a live PostgreSQL process serving the cluster in
/// `pgdata`: PostgreSQL's processes work in their data directory, so the
/// process's working directory tells (a reused pid, even one of another
/// PostgreSQL, does not pass). Without /proc, the pid file is trusted.
fn is_postmaster_of(pid: i32, pgdata: &Path) -> bool {
    if pid <= 0 || kill(Pid::from_raw(pid), None).is_err() {
        return false;
    }
    match fs::read_link(format!("/proc/{pid}/cwd")) {
        Ok(cwd) => fs::canonicalize(pgdata).is_ok_and(|ours| cwd == ours),
        Err(e) if e.kind() == io::ErrorKind::NotFound => !Path::new("/proc/self").exists(),
        // Alive but unreadable: not a process of ours (ours run as us or
        // as the postgres user, both readable to root).
        Err(_) => false,
    }
}

/// The socket directory for a cluster: the data directory itself unless the
/// socket path would exceed the Unix limit, in which case a short directory
/// under the system temp dir, named after the data directory.
fn socket_dir_for(pgdata: &Path) -> PathBuf {
    let in_place = pgdata.join(SOCKET_FILE);
    if in_place.as_os_str().len() <= MAX_SOCKET_PATH {
        return pgdata.to_path_buf();
    }
    let digest = Sha256::digest(pgdata.as_os_str().as_encoded_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    std::env::temp_dir().join(format!("atelier-pg-{short}"))
}

/// Where root keeps clusters whose data directory the `postgres` user
/// cannot reach.
const RELOCATED_CLUSTERS: &str = "/var/lib/atelier";

/// The file in a data directory that says where its relocated cluster is.
pub const LOCATION_FILE: &str = "postgres.location";

/// The directory to keep the cluster of data directory `root` in, for a
/// PostgreSQL running as `uid`/`gid`: `root` itself when that user can
/// reach it; otherwise (a data directory in root's mode-700 home) a
/// directory under [`RELOCATED_CLUSTERS`] named after `root`, so every start
/// from `root` finds the same cluster. The choice is logged and written to
/// `<root>/postgres.location`.
fn reachable_cluster_root(root: &Path, uid: Uid, gid: Gid) -> Result<PathBuf, EmbeddedError> {
    // Where an earlier start put the cluster, it stays: choosing again
    // (after a chmod, say) would start an empty cluster beside the data.
    if let Ok(recorded) = fs::read_to_string(root.join(LOCATION_FILE)) {
        let recorded = PathBuf::from(recorded.trim());
        check_reachable(&recorded.join("postgres"), uid, gid)?;
        if !recorded.join("postgres/PG_VERSION").exists() {
            return Err(EmbeddedError::Io {
                action: format!(
                    "finding the cluster {} that {} names",
                    recorded.display(),
                    root.join(LOCATION_FILE).display()
                ),
                source: io::Error::from(io::ErrorKind::NotFound),
            });
        }
        return Ok(recorded);
    }
    let unreachable = match check_reachable(root, uid, gid) {
        Ok(()) => return Ok(root.to_path_buf()),
        Err(unreachable) => unreachable,
    };
    // A cluster already in the data dir is never replaced by a new one.
    if root.join("postgres/PG_VERSION").exists() {
        return Err(unreachable);
    }
    let digest = Sha256::digest(root.as_os_str().as_encoded_bytes());
    let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let relocated = Path::new(RELOCATED_CLUSTERS).join(name);
    let prepared = fs::create_dir_all(&relocated)
        .and_then(|()| fs::set_permissions(RELOCATED_CLUSTERS, fs::Permissions::from_mode(0o755)))
        .and_then(|()| fs::set_permissions(&relocated, fs::Permissions::from_mode(0o755)));
    if prepared.is_err() || check_reachable(&relocated.join("postgres"), uid, gid).is_err() {
        return Err(unreachable);
    }
    let _ = fs::write(
        root.join(LOCATION_FILE),
        format!("{}\n", relocated.display()),
    );
    tracing::warn!(
        data_dir = %root.display(),
        cluster = %relocated.display(),
        "the postgres user cannot reach the data directory; its PostgreSQL cluster lives in {} instead",
        relocated.display()
    );
    Ok(relocated)
}

/// Fails when some directory above `dir` is not searchable by the user that
/// will run PostgreSQL (a 0700 home directory, typically).
fn check_reachable(dir: &Path, uid: Uid, gid: Gid) -> Result<(), EmbeddedError> {
    for ancestor in dir.ancestors().skip(1) {
        let Ok(meta) = fs::metadata(ancestor) else {
            continue;
        };
        let mode = meta.mode();
        let searchable = if meta.uid() == uid.as_raw() {
            mode & 0o100 != 0
        } else if meta.gid() == gid.as_raw() {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !searchable {
            return Err(EmbeddedError::DataDirUnreachable {
                data_dir: dir.to_path_buf(),
                blocked: ancestor.to_path_buf(),
                mode: mode & 0o7777,
            });
        }
    }
    Ok(())
}

fn has_server_binaries(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("postgres").is_file()
}

/// Finds the PostgreSQL server binaries: `pg_config --bindir`, then PATH,
/// then the newest `/usr/lib/postgresql/<version>/bin` (Debian keeps them
/// there, off PATH).
pub fn find_bin_dir() -> Option<PathBuf> {
    let from_pg_config = std::process::Command::new("pg_config")
        .arg("--bindir")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
    let from_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| {
                    let version = e.file_name().to_str()?.parse::<u32>().ok()?;
                    Some((version, e.path().join("bin")))
                })
                .collect()
        })
        .unwrap_or_default();
    debian.sort_by_key(|(version, _)| std::cmp::Reverse(*version));

    from_pg_config
        .into_iter()
        .chain(from_path)
        .chain(debian.into_iter().map(|(_, path)| path))
        .find(|dir| has_server_binaries(dir))
}

async fn run_to_completion(mut command: Command, name: &str) -> Result<(), EmbeddedError> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .await
        .map_err(io_err(format!("running {name}")))?;
    if output.status.success() {
        return Ok(());
    }
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    Err(EmbeddedError::CommandFailed {
        command: name.to_owned(),
        status: output.status.to_string(),
        output: last_lines(&text, 20),
    })
}

fn tail_of(path: &Path, lines: usize) -> String {
    fs::read_to_string(path)
        .map(|text| last_lines(&text, lines))
        .unwrap_or_default()
}

fn last_lines(text: &str, count: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(count)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_data_dir_keeps_its_socket_inside() {
        let dir = Path::new("/srv/atelier/postgres");
        assert_eq!(socket_dir_for(dir), dir);
    }

    #[test]
    fn a_deep_data_dir_moves_its_socket_to_a_short_directory() {
        let deep = PathBuf::from(format!("/srv/{}/postgres", "d".repeat(120)));
        let socket_dir = socket_dir_for(&deep);
        assert_ne!(socket_dir, deep);
        assert!(socket_dir.join(SOCKET_FILE).as_os_str().len() <= MAX_SOCKET_PATH);
        // Stable, so a restart finds the same socket.
        assert_eq!(socket_dir, socket_dir_for(&deep));
    }

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

//! What the embedded cluster needs from the host: a lock on its data
//! directory, a socket path short enough for the kernel, a root the
//! `postgres` user can reach, the server binaries, and child processes run
//! to completion; and the errors all of it can end in.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use nix::sys::signal::kill;
use nix::unistd::{Gid, Pid, Uid};
use sha2::{Digest, Sha256};
use tokio::process::Command;

/// The longest Unix socket path the kernel accepts (`sun_path`, 108 bytes
/// with its NUL).
pub(super) const MAX_SOCKET_PATH: usize = 107;

/// The socket file PostgreSQL creates for port 5432 in its socket dir.
pub(super) const SOCKET_FILE: &str = ".s.PGSQL.5432";

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

pub(super) fn io_err(action: impl Into<String>) -> impl FnOnce(io::Error) -> EmbeddedError {
    let action = action.into();
    move |source| EmbeddedError::Io { action, source }
}

/// Takes the data directory's lock, retrying briefly: a process that just
/// stopped its cluster may still be exiting.
pub(super) fn lock_data_dir(root: &Path) -> Result<fs::File, EmbeddedError> {
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

pub(super) fn pid_i32(pid: u32) -> i32 {
    i32::try_from(pid).unwrap_or(i32::MAX)
}

/// Whether `pid` is a live PostgreSQL process serving the cluster in
/// `pgdata`: PostgreSQL's processes work in their data directory, so the
/// process's working directory tells (a reused pid, even one of another
/// PostgreSQL, does not pass). Without /proc, the pid file is trusted.
pub(super) fn is_postmaster_of(pid: i32, pgdata: &Path) -> bool {
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
pub(super) fn socket_dir_for(pgdata: &Path) -> PathBuf {
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
pub(super) const RELOCATED_CLUSTERS: &str = "/var/lib/atelier";

/// The file in a data directory that says where its relocated cluster is.
pub const LOCATION_FILE: &str = "postgres.location";

/// The directory to keep the cluster of data directory `root` in, for a
/// PostgreSQL running as `uid`/`gid`: `root` itself when that user can
/// reach it; otherwise (a data directory in root's mode-700 home) a
/// directory under [`RELOCATED_CLUSTERS`] named after `root`, so every start
/// from `root` finds the same cluster. The choice is logged and written to
/// `<root>/postgres.location`.
pub(super) fn reachable_cluster_root(
    root: &Path,
    uid: Uid,
    gid: Gid,
) -> Result<PathBuf, EmbeddedError> {
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
pub(super) fn check_reachable(dir: &Path, uid: Uid, gid: Gid) -> Result<(), EmbeddedError> {
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

pub(super) fn has_server_binaries(dir: &Path) -> bool {
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

pub(super) async fn run_to_completion(
    mut command: Command,
    name: &str,
) -> Result<(), EmbeddedError> {
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

pub(super) fn tail_of(path: &Path, lines: usize) -> String {
    fs::read_to_string(path)
        .map(|text| last_lines(&text, lines))
        .unwrap_or_default()
}

pub(super) fn last_lines(text: &str, count: usize) -> String {
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
}

//! A database of its own for every test: a clone of a template that was
//! migrated once per server, on the shared test cluster or on the server
//! named by `ATELIER_TEST_DATABASE_URL`.
//!
//! Why clones: `CREATE DATABASE … TEMPLATE` costs ~30 ms here and gives each
//! test a real, fully migrated database it may break at will. (The other
//! proven way, a schema per test filled from captured DDL, avoids the
//! cluster-wide lock of CREATE DATABASE; measured side by side in README.md,
//! "Test databases", cloning won here.)

use std::path::Path;
use std::sync::OnceLock;
use std::time::Duration;

use atelier::db::shared_cluster::{self, ClusterLease};
use diesel::sql_types::{Bool, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use sha2::{Digest, Sha256};

/// The URL of a database on the test server that tests may administer
/// through (create and drop databases).
pub fn admin_url() -> &'static str {
    static ADMIN_URL: OnceLock<String> = OnceLock::new();
    static LEASE: OnceLock<ClusterLease> = OnceLock::new();
    ADMIN_URL.get_or_init(|| {
        if let Ok(url) = std::env::var("ATELIER_TEST_DATABASE_URL") {
            return url;
        }
        let root = shared_cluster_root();
        let lease = tokio::task::block_in_place(|| {
            shared_cluster::join(&root, Path::new(env!("CARGO_BIN_EXE_atelier")))
        })
        .expect("the shared test cluster starts");
        let url = lease.admin_url.clone();
        // Held for the life of this process: the cluster stays up meanwhile.
        let _ = LEASE.set(lease);
        url
    })
}

/// Where the shared cluster lives: under the system temp dir (reachable by
/// the `postgres` user even when the checkout is in a 0700 home), one per
/// build directory and user.
fn shared_cluster_root() -> std::path::PathBuf {
    let digest = Sha256::digest(env!("CARGO_TARGET_TMPDIR").as_bytes());
    let tag: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let uid = nix::unistd::Uid::effective();
    std::env::temp_dir().join(format!("atelier-test-cluster-{uid}-{tag}"))
}

/// `base` pointing at database `name` instead.
/// (By hand: a socket URL such as `postgres://user@/db?host=/dir` has an
/// empty host, which the `url` crate refuses.)
pub fn url_for_database(base: &str, name: &str) -> String {
    let (location, query) = base
        .split_once('?')
        .map_or((base, None), |(l, q)| (l, Some(q)));
    let (scheme, rest) = location.split_once("://").expect("a postgres:// URL");
    let authority = rest
        .split_once('/')
        .map_or(rest, |(authority, _)| authority);
    match query {
        Some(query) => format!("{scheme}://{authority}/{name}?{query}"),
        None => format!("{scheme}://{authority}/{name}"),
    }
}

#[derive(diesel::QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

async fn database_exists(conn: &mut AsyncPgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(name)
        .get_result::<Exists>(conn)
        .await
        .expect("query pg_database")
        .exists
}

/// Runs a statement that fails while another session is still connected to
/// a database it names (a connection we just closed takes a moment to go).
async fn execute_when_unused(conn: &mut AsyncPgConnection, sql: &str) {
    for attempt in 0.. {
        match diesel::sql_query(sql).execute(conn).await {
            Ok(_) => return,
            Err(error)
                if attempt < 200 && error.to_string().contains("being accessed by other users") =>
            {
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            Err(error) => panic!("{sql}: {error}"),
        }
    }
}

/// A name that changes whenever any migration changes, so a stale template
/// is never reused.
fn template_name() -> String {
    let mut hasher = Sha256::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let mut entries: Vec<_> = walk(&dir);
    entries.sort();
    for path in entries {
        hasher.update(
            path.strip_prefix(&dir)
                .expect("inside")
                .to_string_lossy()
                .as_bytes(),
        );
        hasher.update(std::fs::read(&path).expect("read migration"));
    }
    let digest = hasher.finalize();
    let tag: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("atelier_template_{tag}")
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read migrations dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// Makes sure the migrated template exists (building it under an advisory
/// lock, so concurrent test processes build it once) and returns its name.
async fn ensure_template(admin: &mut AsyncPgConnection) -> String {
    let template = template_name();
    diesel::sql_query("SELECT pg_advisory_lock(hashtext('atelier-test-template'))")
        .execute(admin)
        .await
        .expect("advisory lock");
    if !database_exists(admin, &template).await {
        // Build under a temporary name and rename at the end: a crash
        // halfway never leaves a half-migrated template behind.
        let building = format!("{template}_building");
        execute_when_unused(admin, &format!("DROP DATABASE IF EXISTS {building}")).await;
        execute_when_unused(admin, &format!("CREATE DATABASE {building}")).await;
        atelier::db::run_migrations(&url_for_database(admin_url(), &building))
            .await
            .expect("migrations apply to the template");
        execute_when_unused(
            admin,
            &format!("ALTER DATABASE {building} RENAME TO {template}"),
        )
        .await;
    }
    diesel::sql_query("SELECT pg_advisory_unlock(hashtext('atelier-test-template'))")
        .execute(admin)
        .await
        .expect("advisory unlock");
    template
}

/// A database of one test's own, dropped when the value is.
pub struct TestDatabase {
    /// Where to connect.
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// A fresh, fully migrated database.
    pub async fn migrated() -> Self {
        let mut admin = AsyncPgConnection::establish(admin_url())
            .await
            .expect("connect to the test server");
        let template = ensure_template(&mut admin).await;
        let name = format!("atelier_test_{}", uuid::Uuid::now_v7().simple());
        execute_when_unused(
            &mut admin,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        )
        .await;
        Self {
            url: url_for_database(admin_url(), &name),
            name,
        }
    }

    /// A fresh database with no tables at all (for migration tests).
    pub async fn empty() -> Self {
        let mut admin = AsyncPgConnection::establish(admin_url())
            .await
            .expect("connect to the test server");
        let name = format!("atelier_test_{}", uuid::Uuid::now_v7().simple());
        execute_when_unused(&mut admin, &format!("CREATE DATABASE {name}")).await;
        Self {
            url: url_for_database(admin_url(), &name),
            name,
        }
    }

    /// A new connection to this database.
    pub async fn connect(&self) -> AsyncPgConnection {
        AsyncPgConnection::establish(&self.url)
            .await
            .expect("connect to the test database")
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Drop is synchronous and may run inside a runtime: do the async
        // work on a thread with a runtime of its own.
        let name = self.name.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = AsyncPgConnection::establish(admin_url()).await.ok()?;
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test database {}", self.name);
        }
    }
}

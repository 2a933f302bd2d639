//! A database state of its own for every test: a fresh schema, migrated by
//! the real embedded migrations, in one shared database (`atelier_tests`)
//! on the shared test cluster or on the server named by
//! `ATELIER_TEST_DATABASE_URL`. Connections select the schema through
//! `search_path` in their URL.
//!
//! Why schemas and not `CREATE DATABASE … TEMPLATE` clones: both were
//! measured here with pgbench on the test cluster (create + drop, 10 s per
//! point; README.md, "Test databases"). Cloning takes a cluster-wide lock and
//! drops force a checkpoint, so it does not scale with parallel tests
//! (16 → 14 → 7 per second at 1, 2, 4 clients), while schemas do
//! (15 → 45 → 39 per second).

use atelier::db::rows::SingleRow as _;
use std::path::Path;
use std::sync::OnceLock;

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
        .load::<Exists>(conn)
        .await
        .single()
        .expect("query pg_database")
        .exists
}

/// The database that holds every test's schema.
const TESTS_DATABASE: &str = "atelier_tests";

/// Creates the tests' database once per server (racing processes are
/// fine: the loser sees it exists).
async fn ensure_tests_database(admin: &mut AsyncPgConnection) {
    if database_exists(admin, TESTS_DATABASE).await {
        return;
    }
    if let Err(error) = diesel::sql_query(format!("CREATE DATABASE {TESTS_DATABASE}"))
        .execute(admin)
        .await
    {
        assert!(
            database_exists(admin, TESTS_DATABASE).await,
            "creating {TESTS_DATABASE}: {error}"
        );
    }
}

/// `url` with `search_path` set to `schema` for every session.
fn with_search_path(url: &str, schema: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}options=-c%20search_path%3D{schema}")
}

/// A database of one test's own, dropped when the value is.
pub struct TestDatabase {
    /// Where to connect: the tests' database, with `search_path` set to
    /// this test's schema.
    pub url: String,
    schema: String,
    tests_url: String,
}

impl TestDatabase {
    /// A fresh, fully migrated schema.
    pub async fn migrated() -> Self {
        let database = Self::empty().await;
        atelier::db::run_migrations(&database.url)
            .await
            .expect("migrations apply to a fresh schema");
        database
    }

    /// A fresh schema with no tables at all (for migration tests).
    pub async fn empty() -> Self {
        let mut admin = AsyncPgConnection::establish(admin_url())
            .await
            .expect("connect to the test server");
        ensure_tests_database(&mut admin).await;
        let tests_url = url_for_database(admin_url(), TESTS_DATABASE);
        let mut conn = AsyncPgConnection::establish(&tests_url)
            .await
            .expect("connect to the tests database");
        let schema = format!("test_{}", uuid::Uuid::now_v7().simple());
        diesel::sql_query(format!("CREATE SCHEMA {schema}"))
            .execute(&mut conn)
            .await
            .expect("create the test schema");
        Self {
            url: with_search_path(&tests_url, &schema),
            schema,
            tests_url,
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
        let (schema, tests_url) = (self.schema.clone(), self.tests_url.clone());
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&tests_url).await.ok()?;
                diesel::sql_query(format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop test schema {}", self.schema);
        }
    }
}

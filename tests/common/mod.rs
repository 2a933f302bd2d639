//! What every integration test shares: its own database, a temporary object
//! store, and the real gRPC server started in-process on an ephemeral port.

pub mod database;
pub mod failing_store;

use atelier::db::rows::SingleRow as _;
use std::time::Duration;

use atelier::auth::Authenticator;
use atelier::proto::registry::skill_registry_client::SkillRegistryClient;
use atelier::proto::signals::signals_client::SignalsClient;
use atelier::proto::workshop::workshop_client::WorkshopClient;
use atelier::server::{ServerOptions, serve_grpc};
use atelier::shutdown::Shutdown;
use atelier::state::{AppState, Settings};
use atelier::storage::Storage;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tonic::transport::Channel;
use tonic_health::pb::health_client::HealthClient;

pub use database::TestDatabase;

/// How a test wants its server.
#[derive(Debug, Clone)]
pub struct TestAppOptions {
    /// Bearer tokens (`name:token`); none means open mode.
    pub auth_tokens: Vec<String>,
    /// How often health probes the database.
    pub health_interval: Duration,
    /// Content size limits.
    pub limits: atelier::config::ContentLimits,
    /// When set, the object store fails every read while the flag is true.
    pub failing_reads: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    /// Who maintains `total_uses`.
    pub usage_counters: atelier::config::UsageCounters,
    /// Plan caps, output limit and session gap.
    pub workshop: atelier::config::WorkshopPolicy,
    /// Connection cap and timeouts.
    pub connections: atelier::connections::ConnectionLimits,
    /// Message size, load shedding, keepalive, connection age and drain
    /// (no drain delay: tests stop at once).
    pub traffic: atelier::config::Traffic,
    /// TLS and CORS origins.
    pub transport: atelier::config::Transport,
}

impl Default for TestAppOptions {
    fn default() -> Self {
        Self {
            auth_tokens: Vec::new(),
            health_interval: Duration::from_millis(100),
            limits: atelier::config::ContentLimits::default(),
            failing_reads: None,
            usage_counters: atelier::config::UsageCounters::default(),
            workshop: atelier::config::WorkshopPolicy::default(),
            connections: atelier::connections::ConnectionLimits::default(),
            traffic: atelier::config::Traffic {
                drain_delay: Duration::ZERO,
                ..Default::default()
            },
            transport: atelier::config::Transport::default(),
        }
    }
}

/// A running server on its own database and object store. Dropping it
/// shuts the server down and drops the database.
pub struct TestApp {
    /// A channel to the server, for any client.
    pub channel: Channel,
    /// Where the server listens.
    pub addr: std::net::SocketAddr,
    shutdown: Shutdown,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    objects: tempfile::TempDir,
    database_url: String,
    state: AppState,
    /// Declared last: dropped after the server stops using it. `None` when
    /// the test brought a database of its own.
    _database: Option<TestDatabase>,
}

impl TestApp {
    /// A server with default options on a fresh migrated database.
    pub async fn start() -> Self {
        Self::start_with(TestAppOptions::default()).await
    }

    /// A server with `options` on a fresh migrated database.
    pub async fn start_with(options: TestAppOptions) -> Self {
        let database = TestDatabase::migrated().await;
        let url = database.url.clone();
        Self::serve(url, Some(database), options).await
    }

    /// A server on the (migrated) database at `database_url`; `database`
    /// is kept alive as long as the app.
    pub async fn serve(
        database_url: String,
        database: Option<TestDatabase>,
        options: TestAppOptions,
    ) -> Self {
        let objects = tempfile::tempdir().expect("temp dir");
        let mut storage = Storage::open(None, objects.path()).expect("object store");
        if let Some(failing) = &options.failing_reads {
            let store = failing_store::FailingStore {
                inner: storage.store().clone(),
                failing: failing.clone(),
            };
            storage = Storage::from_store(std::sync::Arc::new(store), "failing test store");
        }
        let pool = atelier::db::build_pool(&database_url, 8, Duration::from_secs(5)).expect("pool");
        let settings = Settings {
            limits: options.limits,
            usage_counters: options.usage_counters,
            workshop: options.workshop.clone(),
        };
        let state = AppState::open(pool, storage, settings)
            .await
            .expect("server state");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let shutdown = Shutdown::new();
        let server_options = ServerOptions {
            auth: Authenticator::new(&options.auth_tokens).expect("valid tokens"),
            health_interval: options.health_interval,
            shutdown_grace: Duration::from_secs(5),
            traffic: options.traffic,
            connections: options.connections,
            transport: options.transport.clone(),
        };
        let server = tokio::spawn(serve_grpc(
            listener,
            state.clone(),
            database_url.clone(),
            server_options,
            shutdown.clone(),
        ));
        let endpoint = Channel::from_shared(format!("http://{addr}")).expect("valid URI");
        // A TLS server refuses plaintext: its tests bring their own channel.
        let channel = if options.transport.tls.is_some() {
            endpoint.connect_lazy()
        } else {
            endpoint
                .connect()
                .await
                .expect("connect to the test server")
        };
        Self {
            channel,
            addr,
            shutdown,
            server: Some(server),
            objects,
            database_url,
            state,
            _database: database,
        }
    }

    /// A SkillRegistry client.
    pub fn registry(&self) -> SkillRegistryClient<Channel> {
        SkillRegistryClient::new(self.channel.clone())
    }

    /// A Workshop client.
    pub fn workshop(&self) -> WorkshopClient<Channel> {
        WorkshopClient::new(self.channel.clone())
    }

    /// A Signals client.
    pub fn signals(&self) -> SignalsClient<Channel> {
        SignalsClient::new(self.channel.clone())
    }

    /// A direct connection to the server's database, for checks the API
    /// cannot make.
    pub async fn db(&self) -> diesel_async::AsyncPgConnection {
        use diesel_async::AsyncConnection as _;
        diesel_async::AsyncPgConnection::establish(&self.database_url)
            .await
            .expect("connect to the test database")
    }

    /// The URL of the server's database (with this test's schema).
    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    /// Every file in the server's object store, as paths relative to it.
    pub fn stored_objects(&self) -> Vec<String> {
        fn walk(dir: &std::path::Path, root: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, root, found);
                } else if let Ok(relative) = path.strip_prefix(root) {
                    found.push(relative.to_string_lossy().into_owned());
                }
            }
        }
        let root = self.objects.path().join("objects");
        let mut found = Vec::new();
        walk(&root, &root, &mut found);
        found.sort();
        found
    }

    /// The file holding an object of the store.
    pub fn object_file(&self, key: &str) -> std::path::PathBuf {
        self.objects.path().join("objects").join(key)
    }

    /// A grpc.health.v1 client.
    pub fn health(&self) -> HealthClient<Channel> {
        HealthClient::new(self.channel.clone())
    }

    /// The server's page-token signer (to forge tokens it would accept).
    pub fn page_tokens(&self) -> atelier::pagination::PageTokens {
        self.state.page_tokens.clone()
    }

    /// Drains the outbox with `workers` concurrent workers until no event
    /// is due; returns how many events they claimed in all.
    pub async fn drain_outbox(&self, workers: usize) -> usize {
        let config = atelier::config::WorkerConfig {
            outbox_batch_size: 100,
            outbox_poll_interval_ms: 10,
            outbox_lease_secs: 30,
            outbox_max_attempts: 3,
            scrub: atelier::config::ScrubConfig::disabled(),
            outbox_linger_ms: 0,
        };
        let worker = atelier::jobs::outbox_worker(&self.state, config);
        let tasks: Vec<_> = (0..workers)
            .map(|_| {
                let worker = worker.clone();
                tokio::spawn(async move {
                    let mut claimed = 0;
                    loop {
                        match worker.drain_batch().await.expect("drain") {
                            0 => return claimed,
                            n => claimed += n,
                        }
                    }
                })
            })
            .collect();
        let mut total = 0;
        for task in tasks {
            total += task.await.expect("worker task");
        }
        total
    }

    /// Runs the real outbox worker loop (as `serve` does) until the app is
    /// dropped, polling only every `poll_ms` and listening for notifications.
    pub fn spawn_worker(&self, poll_ms: u64) {
        let config = atelier::config::WorkerConfig {
            outbox_batch_size: 100,
            outbox_poll_interval_ms: poll_ms,
            outbox_lease_secs: 30,
            outbox_max_attempts: 3,
            scrub: atelier::config::ScrubConfig::disabled(),
            outbox_linger_ms: 0,
        };
        let worker = atelier::jobs::outbox_worker(&self.state, config);
        tokio::spawn(worker.run(Some(self.database_url.clone()), self.shutdown.clone()));
    }

    /// Runs one whole content scrub pass now (no rate limit), removing
    /// staged and unreferenced objects older than `staging_ttl_secs`.
    pub async fn scrub_pass(&self, staging_ttl_secs: u64) -> atelier::registry::scrub::ScrubState {
        let config = atelier::config::ScrubConfig {
            scrub_bytes_per_sec: u64::MAX,
            scrub_pause_secs: 0,
            staging_ttl_secs,
        };
        atelier::registry::scrub::full_pass(&self.state, &config)
            .await
            .expect("scrub pass")
    }

    /// Signals shutdown as SIGTERM would, without waiting.
    pub fn begin_shutdown(&self) {
        self.shutdown.trigger();
    }

    /// Stops the server and waits for it, reporting how it ended.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.trigger();
        match self.server.take() {
            Some(server) => server.await.expect("server task"),
            None => Ok(()),
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.trigger();
        if let Some(server) = self.server.take() {
            server.abort();
        }
    }
}

/// `message` as a request acting for `user`.
pub fn as_user<T>(user: &str, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request
        .metadata_mut()
        .insert("x-user-id", user.parse().expect("ASCII user id"));
    request
}

/// Creates a prompt skill with `slug`, written by `author`.
pub async fn create_skill(
    app: &TestApp,
    author: &str,
    slug: &str,
) -> atelier::proto::registry::Skill {
    use atelier::proto::registry::{CreateSkillRequest, SkillCategory};
    app.registry()
        .create_skill(as_user(
            author,
            CreateSkillRequest {
                slug: slug.to_owned(),
                name: "A skill".to_owned(),
                description: "Does a thing".to_owned(),
                category: SkillCategory::Prompt.into(),
                hours_saved: None,
                request_id: String::new(),
            },
        ))
        .await
        .expect("create skill")
        .into_inner()
        .skill
        .expect("skill")
}

/// The content of version `version` of `skill`, read through the
/// streaming RPC (checking the version rides on the first message only).
pub async fn read_content(
    app: &TestApp,
    skill: &atelier::proto::registry::Skill,
    version: u32,
) -> Result<Vec<u8>, tonic::Status> {
    let mut stream = app
        .registry()
        .read_skill_version_content(as_user(
            "reader",
            atelier::proto::registry::ReadSkillVersionContentRequest {
                skill_id: skill.id.clone(),
                version,
            },
        ))
        .await?
        .into_inner();
    let mut content = Vec::new();
    let mut first = true;
    while let Some(message) = tokio_stream::StreamExt::next(&mut stream).await {
        let message = message?;
        assert_eq!(
            message.version.is_some(),
            first,
            "the version rides on the first message only"
        );
        first = false;
        content.extend_from_slice(&message.chunk);
    }
    Ok(content)
}

/// A RecordUsage request for one use of the skill with `skill_id`.
pub fn use_of(skill_id: &str) -> atelier::proto::registry::RecordUsageRequest {
    use atelier::proto::registry::record_usage_request::Skill as Which;
    atelier::proto::registry::RecordUsageRequest {
        skill: Some(Which::SkillId(skill_id.to_owned())),
        version: None,
        tool_name: String::new(),
        request_id: String::new(),
    }
}

/// The fields named by a status's BadRequest violations.
pub fn violated_fields(status: &tonic::Status) -> Vec<String> {
    use tonic_types::StatusExt as _;
    status
        .get_error_details()
        .bad_request()
        .map(|bad| {
            bad.field_violations
                .iter()
                .map(|v| v.field.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The `ErrorInfo.reason` of a status (every error must carry one).
pub fn reason(status: &tonic::Status) -> String {
    use tonic_types::StatusExt as _;
    let info = status
        .get_error_details()
        .error_info()
        .cloned()
        .unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.domain, "atelier", "ErrorInfo domain");
    info.reason
}

/// Polls `check` every 20 ms until it returns true or `limit` passes.
pub async fn eventually<F, Fut>(limit: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The `count` column of the one row `sql` returns, on `conn`.
pub async fn count_on(conn: &mut diesel_async::AsyncPgConnection, sql: &str) -> i64 {
    use diesel_async::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    diesel::sql_query(sql)
        .load::<Count>(conn)
        .await
        .single()
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .count
}

/// The `count` column of the one row `sql` returns, in `app`'s database.
pub async fn count(app: &TestApp, sql: &str) -> i64 {
    count_on(&mut app.db().await, sql).await
}

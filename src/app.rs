//! Wiring: the database, the object store, the gRPC services, health,
//! reflection and the outbox worker, from start-up to graceful shutdown.

use crate::db::rows::SingleRow as _;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context as _;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use tokio::net::TcpListener;
use tonic::transport::server::TcpIncoming;

use crate::admin::OutboxService;
use crate::auth::Authenticator;
use crate::config::{
    Cli, Command, CommonConfig, ContentLimits, OutboxCommand, ServeConfig, UsageCounters,
    WorkerConfig,
};
use crate::db::embedded::{self, ClusterOptions, EmbeddedPostgres};
use crate::db::supervisor::Supervisor;
use crate::db::{self, DbPool};
use crate::proto::admin::outbox_server::OutboxServer;
use crate::proto::registry::skill_registry_server::SkillRegistryServer;
use crate::proto::workshop::workshop_server::WorkshopServer;
use crate::registry::RegistryService;
use crate::rpc_log::RpcLogLayer;
use crate::shutdown::Shutdown;
use crate::storage::Storage;
use crate::workshop::WorkshopService;
use crate::{health, outbox, proto, telemetry};

/// What every service needs: the database pool and the object store.
#[derive(Clone)]
pub struct AppState {
    /// Connections for RPCs and the worker.
    pub pool: DbPool,
    /// Skill content and build packs.
    pub storage: Storage,
    /// How large content may be.
    pub limits: ContentLimits,
    /// What this process's outbox workers processed.
    pub outbox_metrics: std::sync::Arc<outbox::admin::OutboxMetrics>,
    /// Who maintains the usage counters.
    pub usage_counters: UsageCounters,
    /// Plan caps, output limits and the session gap of the Workshop service.
    pub workshop: crate::config::WorkshopPolicy,
    /// Signs and checks the page tokens of every List RPC.
    pub page_tokens: crate::pagination::PageTokens,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("pool", &self.pool.status())
            .field("storage", &self.storage)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Runs the subcommand the command line asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    telemetry::init(cli.common.log_format, &cli.common.log)?;
    let shutdown = Shutdown::new();
    shutdown.trigger_on_signals();
    let command = match cli.command {
        Some(command) => command,
        None => Command::Serve(ServeConfig::from_env().map_err(|e| {
            // clap's text starts with its own "error: " and ends with usage.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            anyhow::anyhow!("{}", first.trim_start_matches("error: ").to_owned())
        })?),
    };
    match command {
        Command::Serve(config) => serve(&cli.common, &config, shutdown).await,
        Command::Migrate => migrate(&cli.common).await,
        Command::Worker(config) => work(&cli.common, &config, shutdown).await,
        Command::Outbox(command) => outbox_command(&cli.common, command).await,
        Command::TestCluster(config) => {
            let grace = Duration::from_secs(config.idle_grace_secs);
            db::shared_cluster::supervise(&config.root, grace, shutdown).await
        }
    }
}

/// The PostgreSQL this process uses: the configured server, or the
/// embedded cluster it runs (and restarts if it dies) itself, and must stop
/// on the way out.
#[derive(Debug)]
pub struct Database {
    /// Where to connect.
    pub url: String,
    embedded: Option<Supervisor>,
}

impl Database {
    /// Connects to `DATABASE_URL`, or starts the embedded cluster in the
    /// data directory and makes sure its `atelier` database exists.
    pub async fn open(common: &CommonConfig) -> anyhow::Result<Self> {
        if let Some(url) = &common.database_url {
            return Ok(Self {
                url: url.clone(),
                embedded: None,
            });
        }
        let options = ClusterOptions {
            bin_dir: common.postgres_bin_dir.clone(),
            ephemeral: false,
        };
        let mut cluster = EmbeddedPostgres::new(&common.data_dir, &options)?;
        let started = std::time::Instant::now();
        cluster.start().await?;
        tracing::info!(
            socket_dir = %cluster.socket_dir().display(),
            elapsed_ms = started.elapsed().as_millis(),
            "embedded PostgreSQL is running"
        );
        let url = cluster.url(embedded::DATABASE);
        let admin_url = cluster.url("postgres");
        let database = Self {
            url,
            embedded: Some(Supervisor::watch(cluster)),
        };
        if let Err(error) = create_database_if_missing(&admin_url, embedded::DATABASE).await {
            let _ = database.close().await;
            return Err(error);
        }
        Ok(database)
    }

    /// Stops the embedded cluster, if we run one.
    pub async fn close(self) -> anyhow::Result<()> {
        if let Some(cluster) = self.embedded {
            cluster.stop().await?;
            tracing::info!("embedded PostgreSQL stopped");
        }
        Ok(())
    }
}

async fn create_database_if_missing(admin_url: &str, name: &str) -> anyhow::Result<()> {
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let mut conn = AsyncPgConnection::establish(admin_url).await?;
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<Text, _>(name)
            .load(&mut conn)
            .await
            .single()?;
    if !found.exists {
        // An identifier cannot be a bind parameter; `name` is our constant.
        diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
            .execute(&mut conn)
            .await?;
        tracing::info!(database = name, "created the database");
    }
    Ok(())
}

async fn migrate(common: &CommonConfig) -> anyhow::Result<()> {
    let database = Database::open(common).await?;
    let result = apply_migrations(&database.url).await;
    database.close().await?;
    result
}

async fn apply_migrations(url: &str) -> anyhow::Result<()> {
    let applied = db::run_migrations(url).await?;
    if applied.is_empty() {
        tracing::info!("database schema is up to date");
    } else {
        tracing::info!(migrations = ?applied, "applied migrations");
    }
    Ok(())
}

async fn open_state(common: &CommonConfig, database: &Database) -> anyhow::Result<AppState> {
    let pool = db::build_pool(
        &database.url,
        common.database_pool_size,
        common.database_timeout(),
    )?;
    let storage = Storage::open(common.object_store_url.as_deref(), &common.data_dir)?;
    tracing::info!(object_store = storage.location(), "object store ready");
    let page_tokens = {
        let mut conn = pool.get().await?;
        crate::pagination::PageTokens::load_or_create(&mut conn).await?
    };
    Ok(AppState {
        page_tokens,
        pool,
        storage,
        limits: common.content_limits(),
        outbox_metrics: std::sync::Arc::default(),
        usage_counters: UsageCounters::default(),
        workshop: crate::config::WorkshopPolicy::default(),
    })
}

async fn serve(
    common: &CommonConfig,
    config: &ServeConfig,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let auth = Authenticator::new(&config.auth_tokens).map_err(anyhow::Error::msg)?;
    let database = Database::open(common).await?;
    let result = async {
        if !config.skip_migrations {
            apply_migrations(&database.url).await?;
        }
        let mut state = open_state(common, &database).await?;
        state.usage_counters = config.usage_counters();
        state.workshop = config.workshop.policy().map_err(anyhow::Error::msg)?;
        if state.usage_counters == UsageCounters::Synchronous {
            tracing::warn!("synchronous usage counters: a benchmark baseline, not for production");
        }
        let listen = crate::connections::protected_address(
            config.listen,
            auth.is_open(),
            config.allow_open_remote,
        );
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let worker = (!config.no_worker).then(|| {
            tokio::spawn(run_background_work(
                state.clone(),
                config.worker.clone(),
                database.url.clone(),
                shutdown.clone(),
            ))
        });
        let options = ServerOptions {
            auth,
            health_interval: config.health_interval(),
            shutdown_grace: config.shutdown_grace(),
            connections: config.connection_limits(),
        };
        let served = serve_grpc(
            listener,
            state,
            database.url.clone(),
            options,
            shutdown.clone(),
        )
        .await;
        // The server only returns on shutdown or failure; either way stop
        // the worker too.
        shutdown.trigger();
        if let Some(worker) = worker {
            let _ = worker.await;
        }
        served
    }
    .await;
    database.close().await?;
    result
}

async fn outbox_command(common: &CommonConfig, command: OutboxCommand) -> anyhow::Result<()> {
    let database = Database::open(common).await?;
    let result = async {
        let mut conn = AsyncPgConnection::establish(&database.url).await?;
        match command {
            OutboxCommand::Stats => {
                let counts = outbox::admin::counts(&mut conn).await?;
                println!("pending: {}", counts.pending);
                match counts.oldest_pending {
                    Some(oldest) => {
                        let age = chrono::Utc::now() - oldest;
                        println!("oldest pending age: {:.3} s", age.as_seconds_f64());
                    }
                    None => println!("oldest pending age: -"),
                }
                println!("dead: {}", counts.dead);
            }
            OutboxCommand::RetryDead { ids, all } => {
                let retried = outbox::admin::retry_dead(&mut conn, &ids, all).await?;
                println!("retried: {retried}");
            }
        }
        anyhow::Ok(())
    }
    .await;
    database.close().await?;
    result
}

async fn work(
    common: &CommonConfig,
    config: &WorkerConfig,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let database = Database::open(common).await?;
    let result = async {
        let state = open_state(common, &database).await?;
        run_background_work(state, config.clone(), database.url.clone(), shutdown).await;
        Ok(())
    }
    .await;
    database.close().await?;
    result
}

/// The background work of `serve` and `worker`: the outbox worker and the
/// content scrub, until shutdown.
async fn run_background_work(
    state: AppState,
    config: WorkerConfig,
    database_url: String,
    shutdown: Shutdown,
) {
    let scrub = tokio::spawn(crate::registry::scrub::run(
        state.clone(),
        config.scrub.clone(),
        shutdown.clone(),
    ));
    outbox::run_worker(state, config, Some(database_url), shutdown).await;
    let _ = scrub.await;
}

/// How the gRPC server behaves, beyond what it serves.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Authenticates callers of the atelier services.
    pub auth: Authenticator,
    /// How often health probes the database.
    pub health_interval: Duration,
    /// How long in-flight RPCs may finish after shutdown fires.
    pub shutdown_grace: Duration,
    /// How many connections the server holds, and for how long.
    pub connections: crate::connections::ConnectionLimits,
}

/// Serves the atelier services, health and reflection on `listener` until
/// `shutdown` fires and in-flight RPCs finish (or the grace period ends).
///
/// `database_url` is probed for health on a connection of its own.
pub async fn serve_grpc(
    listener: TcpListener,
    state: AppState,
    database_url: String,
    options: ServerOptions,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let local_addr: SocketAddr = listener.local_addr()?;
    if options.auth.is_open() {
        tracing::warn!(
            "NO AUTH TOKENS CONFIGURED: every caller is accepted. Fine for local development; \
             set ATELIER_AUTH_TOKENS before exposing this server."
        );
    }

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    let health_task = tokio::spawn(health::watch_database(
        health_reporter,
        database_url,
        options.health_interval,
        shutdown.clone(),
    ));

    // Both reflection versions: grpcurl 1.8 still asks v1alpha.
    let reflection_v1 = reflection_builder().build_v1()?;
    let reflection_v1alpha = reflection_builder().build_v1alpha()?;

    let registry = SkillRegistryServer::with_interceptor(
        RegistryService {
            state: state.clone(),
        },
        options.auth.clone(),
    );
    let workshop = WorkshopServer::with_interceptor(
        WorkshopService {
            state: state.clone(),
        },
        options.auth.clone(),
    );
    let outbox_admin =
        OutboxServer::with_interceptor(OutboxService { state }, options.auth.clone());

    tracing::info!(address = %local_addr, "serving gRPC");
    let router = tonic::transport::Server::builder()
        .layer(RpcLogLayer)
        .layer(crate::transport_errors::TransportErrorsLayer)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
        .add_service(registry)
        .add_service(workshop)
        .add_service(outbox_admin);
    // TCP_NODELAY: without it small responses wait for delayed ACKs
    // (~40 ms per round trip on Linux).
    let incoming = crate::connections::limit(
        TcpIncoming::from(listener)
            .with_nodelay(Some(true))
            .with_keepalive(Some(Duration::from_secs(60))),
        options.connections,
    );
    let serving = router.serve_with_incoming_shutdown(incoming, shutdown.clone().wait_owned());
    tokio::pin!(serving);
    let grace_over = async {
        shutdown.wait().await;
        tokio::time::sleep(options.shutdown_grace).await;
    };
    let result = tokio::select! {
        result = &mut serving => result.context("the gRPC server failed"),
        () = grace_over => {
            tracing::warn!(grace_secs = options.shutdown_grace.as_secs(), "grace period over; dropping the RPCs still running");
            Ok(())
        }
    };
    shutdown.trigger();
    let _ = health_task.await;
    tracing::info!("gRPC server stopped");
    result
}

fn reflection_builder() -> tonic_reflection::server::Builder<'static> {
    tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
}

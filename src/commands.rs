//! The subcommands: each opens what it needs, hands the work to the module
//! that does it (`server`, `jobs`, `outbox::admin`, the test-cluster
//! supervisor) and closes what it opened.

use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::{
    Cli, Command, CommonConfig, HealthProbeConfig, OutboxCommand, ServeConfig, UsageCounters,
    WorkerConfig,
};
use crate::db::{self, Database};
use crate::server::{ServerOptions, serve_grpc};
use crate::shutdown::Shutdown;
use crate::state::{AppState, Settings};
use crate::storage::Storage;
use crate::{jobs, outbox, telemetry};

/// Runs the subcommand the command line asked for.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let telemetry = telemetry::init(
        cli.common.log_format,
        &cli.common.log,
        cli.common.otlp_endpoint.as_deref(),
    )?;
    let result = run_command(cli).await;
    // Exporting the last spans blocks on the exporter's thread.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    result
}

async fn run_command(cli: Cli) -> anyhow::Result<()> {
    // The probe runs beside a server in the same container and inherits
    // its environment: it must not bind the server's metrics port or take
    // over its signals, so it returns before either is set up.
    if let Some(Command::HealthProbe(config)) = &cli.command {
        return health_probe(config).await;
    }
    if let Some(listen) = cli.common.metrics_listen {
        telemetry::prometheus::serve(listen)?;
    }
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
        Command::Migrate => {
            with_database(&cli.common, async |database| database.migrate().await).await
        }
        Command::Worker(config) => work(&cli.common, &config, shutdown).await,
        Command::Outbox(command) => outbox_command(&cli.common, command).await,
        Command::HealthProbe(config) => health_probe(&config).await,
        Command::TestCluster(config) => {
            let grace = Duration::from_secs(config.idle_grace_secs);
            db::shared_cluster::supervise(&config.root, grace, shutdown).await
        }
    }
}

/// Opens the database, runs `work` on it and closes it, whatever `work`
/// answered.
async fn with_database(
    common: &CommonConfig,
    work: impl AsyncFnOnce(&Database) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let database = Database::open(common).await?;
    let result = work(&database).await;
    database.close().await?;
    result
}

/// The shared state over the database's pool and the configured object store.
async fn open_state(
    common: &CommonConfig,
    database: &Database,
    settings: Settings,
) -> anyhow::Result<AppState> {
    let pool = db::build_pool(
        &database.url,
        common.database_pool_size,
        common.database_timeout(),
    )?;
    let storage = Storage::open(common.object_store_url.as_deref(), &common.data_dir)?;
    tracing::info!(object_store = storage.location(), "object store ready");
    AppState::open(pool, storage, settings).await
}

async fn serve(
    common: &CommonConfig,
    config: &ServeConfig,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    let auth = Authenticator::new(&config.auth_tokens).map_err(anyhow::Error::msg)?;
    with_database(common, async |database| {
        if !config.skip_migrations {
            database.migrate().await?;
        }
        let settings = Settings {
            limits: common.content_limits(),
            usage_counters: config.usage_counters(),
            workshop: config.workshop.policy().map_err(anyhow::Error::msg)?,
        };
        if settings.usage_counters == UsageCounters::Synchronous {
            tracing::warn!("synchronous usage counters: a benchmark baseline, not for production");
        }
        let state = open_state(common, database, settings).await?;
        let transport = config.transport.transport()?;
        let listen = crate::connections::protected_address(
            config.listen,
            auth.is_open(),
            config.allow_open_remote,
        );
        let listener = TcpListener::bind(listen)
            .await
            .with_context(|| format!("cannot listen on {listen}"))?;
        let worker = (!config.no_worker).then(|| {
            tokio::spawn(jobs::run_background_work(
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
            traffic: config.traffic.traffic(),
            transport,
        };
        let gauges = sample_gauges(common, &state, &shutdown);
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
        if let Some(gauges) = gauges {
            let _ = gauges.await;
        }
        served
    })
    .await
}

async fn work(
    common: &CommonConfig,
    config: &WorkerConfig,
    shutdown: Shutdown,
) -> anyhow::Result<()> {
    with_database(common, async |database| {
        let settings = Settings {
            limits: common.content_limits(),
            ..Settings::default()
        };
        let state = open_state(common, database, settings).await?;
        let gauges = sample_gauges(common, &state, &shutdown);
        jobs::run_background_work(state, config.clone(), database.url.clone(), shutdown).await;
        if let Some(gauges) = gauges {
            let _ = gauges.await;
        }
        Ok(())
    })
    .await
}

async fn outbox_command(common: &CommonConfig, command: OutboxCommand) -> anyhow::Result<()> {
    with_database(common, async |database| {
        let mut conn = db::connect::establish(&database.url).await?;
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
        Ok(())
    })
    .await
}

/// Samples the pool and outbox gauges while metrics are served (a query
/// every few seconds is not worth making for nobody).
fn sample_gauges(
    common: &CommonConfig,
    state: &AppState,
    shutdown: &Shutdown,
) -> Option<tokio::task::JoinHandle<()>> {
    common.metrics_listen.map(|_| {
        tokio::spawn(telemetry::prometheus::sample_gauges(
            state.pool.clone(),
            shutdown.clone(),
        ))
    })
}

/// `atelier health-probe`: one grpc.health.v1 Check, SERVING or an error.
async fn health_probe(config: &HealthProbeConfig) -> anyhow::Result<()> {
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

    let timeout = Duration::from_secs(config.timeout_secs);
    let answer = tokio::time::timeout(timeout, async {
        let channel =
            tonic::transport::Endpoint::from_shared(format!("http://{}", config.address))?
                .connect_timeout(timeout)
                .connect()
                .await
                .with_context(|| format!("cannot connect to {}", config.address))?;
        let response = HealthClient::new(channel)
            .check(HealthCheckRequest {
                service: config.service.clone(),
            })
            .await
            .with_context(|| format!("health check of {} failed", config.address))?;
        anyhow::Ok(response.into_inner().status)
    })
    .await
    .map_err(|_| anyhow::anyhow!("{} did not answer within {timeout:?}", config.address))??;
    match ServingStatus::try_from(answer) {
        Ok(ServingStatus::Serving) => Ok(()),
        Ok(status) => anyhow::bail!("{} is {}", config.address, status.as_str_name()),
        Err(_) => anyhow::bail!("{} answered an unknown status {answer}", config.address),
    }
}

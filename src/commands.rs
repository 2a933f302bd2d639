//! The subcommands: each opens what it needs, hands the work to the module
//! that does it (`server`, `jobs`, `outbox::admin`, the test-cluster
//! supervisor) and closes what it opened.

use std::time::Duration;

use anyhow::Context as _;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use tokio::net::TcpListener;

use crate::auth::Authenticator;
use crate::config::{
    Cli, Command, CommonConfig, OutboxCommand, ServeConfig, UsageCounters, WorkerConfig,
};
use crate::db::{self, Database};
use crate::server::{ServerOptions, serve_grpc};
use crate::shutdown::Shutdown;
use crate::state::{AppState, Settings};
use crate::storage::Storage;
use crate::{jobs, outbox, telemetry};

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
        Command::Migrate => {
            with_database(&cli.common, async |database| database.migrate().await).await
        }
        Command::Worker(config) => work(&cli.common, &config, shutdown).await,
        Command::Outbox(command) => outbox_command(&cli.common, command).await,
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
        jobs::run_background_work(state, config.clone(), database.url.clone(), shutdown).await;
        Ok(())
    })
    .await
}

async fn outbox_command(common: &CommonConfig, command: OutboxCommand) -> anyhow::Result<()> {
    with_database(common, async |database| {
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
        Ok(())
    })
    .await
}

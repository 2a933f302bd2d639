//! The PostgreSQL a process uses: the configured server, or the embedded
//! cluster it runs (and restarts if it dies) itself.

use crate::db::rows::SingleRow as _;
use diesel::sql_types::Text;
use diesel_async::RunQueryDsl;

use super::embedded::{self, ClusterOptions, EmbeddedPostgres};
use super::supervisor::Supervisor;
use crate::config::CommonConfig;

/// Where to connect, and the embedded cluster to stop on the way out.
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

    /// Applies the pending migrations, logging what it applied.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        let applied = super::migrations::run_migrations(&self.url).await?;
        if applied.is_empty() {
            tracing::info!("database schema is up to date");
        } else {
            tracing::info!(migrations = ?applied, "applied migrations");
        }
        Ok(())
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
    let mut conn = super::connect::establish(admin_url).await?;
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

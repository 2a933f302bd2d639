//! Benchmark 4: how many bytes per second the worker's content
//! verification hashes, beside `openssl dgst -sha256` over the same files
//! in the same run.

use atelier::db::rows::SingleRow as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use atelier::config::WorkerConfig;
use atelier::state::AppState;
use diesel::sql_types::{Array, BigInt, Text, Uuid as SqlUuid};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use object_store::ObjectStoreExt as _;
use sha2::{Digest as _, Sha256};
use uuid::Uuid;

use crate::support::{self, SplitMix64};

/// Both throughputs, in bytes per second.
#[derive(Debug)]
pub struct VerificationResult {
    pub bytes: u64,
    pub worker_bytes_per_sec: f64,
    /// `None` when `openssl` is not installed.
    pub openssl_bytes_per_sec: Option<f64>,
}

/// Stores `total_bytes` of content as `files` versions in the object store
/// under `objects_dir`, then verifies it with the worker and with OpenSSL.
pub async fn run(
    state: &AppState,
    database_url: &str,
    objects_dir: &Path,
    total_bytes: u64,
    files: usize,
) -> anyhow::Result<VerificationResult> {
    let mut conn = AsyncPgConnection::establish(database_url).await?;
    let skill = support::create_skills(&mut conn, "verify", 1).await?[0];
    let file_bytes = (total_bytes / files as u64).max(1);
    let mut paths = Vec::with_capacity(files);
    let mut rng = SplitMix64::new(0x5eed);
    let mut content = vec![0_u8; usize::try_from(file_bytes)?];
    let mut versions = Vec::with_capacity(files);
    for number in 1..=files {
        rng.fill(&mut content);
        let sha256 = atelier::content::hex(&Sha256::digest(&content));
        let key = atelier::storage::skill_content_key(&sha256);
        state
            .storage
            .store()
            .put(&key, content.clone().into())
            .await
            .context("storing benchmark content")?;
        paths.push(objects_dir.join(key.as_ref()));
        versions.push((
            Uuid::now_v7(),
            i64::try_from(number)?,
            key.to_string(),
            sha256,
        ));
    }
    drop(content);
    insert_versions(&mut conn, skill, &versions, file_bytes).await?;
    let bytes = file_bytes * files as u64;

    let openssl_bytes_per_sec = match openssl_digest(&paths, &versions) {
        Ok(elapsed) => Some(bytes as f64 / elapsed.as_secs_f64()),
        Err(error) => {
            println!("   (openssl baseline skipped: {error:#})");
            None
        }
    };

    let config = WorkerConfig {
        outbox_batch_size: 500,
        outbox_poll_interval_ms: 1000,
        outbox_lease_secs: 300,
        outbox_max_attempts: 10,
        scrub: atelier::config::ScrubConfig::disabled(),
        outbox_linger_ms: 0,
    };
    let started = Instant::now();
    let worker = atelier::jobs::outbox_worker(state, config);
    while worker
        .drain_batch()
        .await
        .map_err(|e| anyhow::anyhow!("worker failed: {e}"))?
        > 0
    {}
    let elapsed = started.elapsed();
    check_all_verified(&mut conn, skill, files).await?;
    Ok(VerificationResult {
        bytes,
        worker_bytes_per_sec: bytes as f64 / elapsed.as_secs_f64(),
        openssl_bytes_per_sec,
    })
}

async fn insert_versions(
    conn: &mut AsyncPgConnection,
    skill: Uuid,
    versions: &[(Uuid, i64, String, String)],
    size: u64,
) -> anyhow::Result<()> {
    let ids: Vec<Uuid> = versions.iter().map(|v| v.0).collect();
    let numbers: Vec<i64> = versions.iter().map(|v| v.1).collect();
    let keys: Vec<String> = versions.iter().map(|v| v.2.clone()).collect();
    let hashes: Vec<String> = versions.iter().map(|v| v.3.clone()).collect();
    diesel::sql_query(
        "INSERT INTO skill_versions \
           (id, skill_id, version, object_key, sha256, content_type, size_bytes, name, description, created_by) \
         SELECT v.id, $2, v.number, v.key, v.sha256, 'application/octet-stream', $6, \
                'Benchmark content', 'Made by atelier-bench', 'bench' \
         FROM unnest($1::uuid[], $3::bigint[], $4::text[], $5::text[]) AS v(id, number, key, sha256)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<SqlUuid, _>(skill)
    .bind::<Array<BigInt>, _>(&numbers)
    .bind::<Array<Text>, _>(&keys)
    .bind::<Array<Text>, _>(&hashes)
    .bind::<BigInt, _>(i64::try_from(size)?)
    .execute(conn)
    .await
    .context("inserting benchmark versions")?;
    diesel::sql_query(
        "INSERT INTO outbox (id, kind, aggregate_id) \
         SELECT gen_random_uuid(), $2, id FROM unnest($1::uuid[]) AS v(id)",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Text, _>(<atelier::registry::events::ContentVerify as atelier::outbox::Event>::KIND)
    .execute(conn)
    .await
    .context("queueing verification")?;
    Ok(())
}

/// Times `openssl dgst -sha256` over the files (after one untimed pass, so
/// both contenders read from the page cache) and checks its hashes.
fn openssl_digest(
    paths: &[PathBuf],
    versions: &[(Uuid, i64, String, String)],
) -> anyhow::Result<Duration> {
    let run = || {
        std::process::Command::new("openssl")
            .args(["dgst", "-sha256", "-r"])
            .args(paths)
            .output()
            .context("running openssl")
    };
    run()?;
    let started = Instant::now();
    let output = run()?;
    let elapsed = started.elapsed();
    anyhow::ensure!(output.status.success(), "openssl failed");
    let text = String::from_utf8_lossy(&output.stdout);
    for (line, version) in text.lines().zip(versions) {
        anyhow::ensure!(line.starts_with(&version.3), "openssl disagrees: {line}");
    }
    Ok(elapsed)
}

async fn check_all_verified(
    conn: &mut AsyncPgConnection,
    skill: Uuid,
    files: usize,
) -> anyhow::Result<()> {
    #[derive(diesel::QueryableByName)]
    struct Verified {
        #[diesel(sql_type = BigInt)]
        verified: i64,
    }
    let row: Verified = diesel::sql_query(
        "SELECT count(*) AS verified FROM skill_version_verifications f \
         JOIN skill_versions v ON v.id = f.version_id \
         WHERE v.skill_id = $1 AND f.state = 'verified'",
    )
    .bind::<SqlUuid, _>(skill)
    .load(conn)
    .await
    .single()?;
    anyhow::ensure!(
        row.verified == files as i64,
        "{} of {files} versions verified",
        row.verified
    );
    Ok(())
}

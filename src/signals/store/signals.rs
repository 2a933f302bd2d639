//! Signals: idempotent ingestion, reads, triage updates and deletion (the
//! filtered and searched list is `signal_listing`). A change that can move a project's counts
//! (severity of a linked signal, deletion of one) enqueues their recount in
//! the same transaction.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::counts;
use crate::db::rows::SingleRow as _;
use crate::resources;
use crate::schema::{signal_personas, signal_projects, signals, workspaces};
use crate::signals::error::{SignalsError, SignalsResult};
use crate::signals::fields::{Frequency, Severity, SignalStatus, Source};
use crate::signals::store::workspaces::next_update_time;

/// A stored signal (every column but the search document).
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = signals, check_for_backend(diesel::pg::Pg))]
pub struct Signal {
    pub id: Uuid,
    pub workspace_id: Uuid,
    pub verbatim: String,
    pub interpretation: String,
    pub severity: Option<Severity>,
    pub frequency: Option<Frequency>,
    pub user_segment: String,
    pub source: Source,
    pub source_ref: Option<String>,
    pub source_metadata: serde_json::Value,
    pub status: SignalStatus,
    pub embedding: Option<Vec<f32>>,
    pub embedding_dimension: Option<i32>,
    pub ai_classification: Option<serde_json::Value>,
    pub inbox_item_id: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub processed_at: Option<DateTime<Utc>>,
}

impl Signal {
    /// Moves on every change.
    pub fn etag(&self) -> String {
        crate::etag::of(self.updated_at)
    }

    /// Fails when the caller sent an etag that no longer matches.
    pub fn ensure_etag(&self, etag: &str) -> SignalsResult<()> {
        Ok(crate::etag::ensure_matches(
            etag,
            self.updated_at,
            format_args!("signal {}", self.id),
        )?)
    }
}

/// A signal to store, checked.
#[derive(Debug, Clone)]
pub struct NewSignal {
    pub verbatim: String,
    pub interpretation: String,
    pub severity: Option<Severity>,
    pub frequency: Option<Frequency>,
    pub user_segment: String,
    pub source: Source,
    pub source_ref: Option<String>,
    pub source_metadata: serde_json::Value,
    pub embedding: Option<Vec<f32>>,
    pub ai_classification: Option<serde_json::Value>,
    pub inbox_item_id: Option<String>,
    /// Where this input sits in the request, for error details (`signal.`
    /// or `signals[3].`).
    pub field_prefix: String,
}

#[derive(Insertable)]
#[diesel(table_name = signals, check_for_backend(diesel::pg::Pg))]
struct SignalRow<'a> {
    id: Uuid,
    workspace_id: Uuid,
    verbatim: &'a str,
    interpretation: &'a str,
    severity: Option<Severity>,
    frequency: Option<Frequency>,
    user_segment: &'a str,
    source: Source,
    source_ref: Option<&'a str>,
    source_metadata: &'a serde_json::Value,
    embedding: Option<&'a Vec<f32>>,
    embedding_dimension: Option<i32>,
    ai_classification: Option<&'a serde_json::Value>,
    inbox_item_id: Option<&'a str>,
    processed_at: Option<DateTime<Utc>>,
}

/// The dimension of `embedding`, checked against (or, for the workspace's
/// first embedding, recorded as) the workspace's.
pub async fn check_dimension(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    embedding: &[f32],
    field: &str,
) -> SignalsResult<i32> {
    let given = i32::try_from(embedding.len()).unwrap_or(i32::MAX);
    let recorded: Option<i32> = workspaces::table
        .find(workspace)
        .select(workspaces::embedding_dimension)
        .load(conn)
        .await
        .single()?;
    let expected = match recorded {
        Some(expected) => expected,
        None => {
            // The first: record it, unless a concurrent first won the race.
            diesel::update(workspaces::table.find(workspace))
                .filter(workspaces::embedding_dimension.is_null())
                .set(workspaces::embedding_dimension.eq(given))
                .execute(conn)
                .await?;
            workspaces::table
                .find(workspace)
                .select(workspaces::embedding_dimension)
                .load::<Option<i32>>(conn)
                .await
                .single()?
                .unwrap_or(given)
        }
    };
    if expected == given {
        Ok(given)
    } else {
        Err(SignalsError::EmbeddingDimension {
            workspace,
            expected,
            given,
            field: field.to_owned(),
        })
    }
}

/// Stores `new` in `workspace`, or, when the workspace already has a
/// signal with the same source and `source_ref`, returns that one (a
/// retried delivery) and changes nothing.
pub async fn create(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    new: &NewSignal,
) -> SignalsResult<Signal> {
    let dimension = match &new.embedding {
        Some(embedding) => {
            let field = format!("{}embedding", new.field_prefix);
            Some(check_dimension(conn, workspace, embedding, &field).await?)
        }
        None => None,
    };
    let processed = new.embedding.is_some() || new.ai_classification.is_some();
    let row = SignalRow {
        id: Uuid::now_v7(),
        workspace_id: workspace,
        verbatim: &new.verbatim,
        interpretation: &new.interpretation,
        severity: new.severity,
        frequency: new.frequency,
        user_segment: &new.user_segment,
        source: new.source,
        source_ref: new.source_ref.as_deref(),
        source_metadata: &new.source_metadata,
        embedding: new.embedding.as_ref(),
        embedding_dimension: dimension,
        ai_classification: new.ai_classification.as_ref(),
        inbox_item_id: new.inbox_item_id.as_deref(),
        processed_at: processed.then(Utc::now),
    };
    let inserted = diesel::insert_into(signals::table)
        .values(&row)
        .on_conflict((signals::workspace_id, signals::source, signals::source_ref))
        .filter_target(signals::source_ref.is_not_null())
        .do_nothing()
        .returning(Signal::as_returning())
        .load(conn)
        .await
        .single_optional()?;
    match inserted {
        Some(signal) => Ok(signal),
        // Only the ingestion key can have conflicted: a retry.
        None => Ok(signals::table
            .filter(signals::workspace_id.eq(workspace))
            .filter(signals::source.eq(new.source))
            .filter(signals::source_ref.eq(new.source_ref.as_deref()))
            .select(Signal::as_select())
            .load(conn)
            .await
            .single()?),
    }
}

/// The signal `id` (locked for the transaction when `lock`).
pub async fn find(conn: &mut AsyncPgConnection, id: Uuid, lock: bool) -> SignalsResult<Signal> {
    let query = signals::table.find(id).select(Signal::as_select());
    let found = if lock {
        query.for_update().load(conn).await.single_optional()?
    } else {
        query.load(conn).await.single_optional()?
    };
    found.ok_or_else(|| SignalsError::not_found(resources::SIGNAL, id))
}

/// The projects `signal` is linked to.
pub async fn linked_projects(
    conn: &mut AsyncPgConnection,
    signal: Uuid,
) -> SignalsResult<Vec<Uuid>> {
    Ok(signal_projects::table
        .filter(signal_projects::signal_id.eq(signal))
        .select(signal_projects::project_id)
        .load(conn)
        .await?)
}

/// Whether `signal` has any link, to a project or a persona.
pub async fn has_links(conn: &mut AsyncPgConnection, signal: Uuid) -> SignalsResult<bool> {
    Ok(diesel::select(
        diesel::dsl::exists(signal_projects::table.filter(signal_projects::signal_id.eq(signal)))
            .or(diesel::dsl::exists(
                signal_personas::table.filter(signal_personas::signal_id.eq(signal)),
            )),
    )
    .load(conn)
    .await
    .single()?)
}

/// What UpdateSignal changes; `None` keeps a field, `Some(None)` clears a
/// nullable one.
#[derive(Debug, Default)]
pub struct SignalChanges {
    pub interpretation: Option<String>,
    pub severity: Option<Option<Severity>>,
    pub frequency: Option<Option<Frequency>>,
    pub user_segment: Option<String>,
    pub status: Option<SignalStatus>,
    pub embedding: Option<Option<Vec<f32>>>,
    pub ai_classification: Option<Option<serde_json::Value>>,
    pub source_metadata: Option<serde_json::Value>,
}

impl SignalChanges {
    /// Whether nothing is left to change.
    fn is_empty(&self) -> bool {
        let Self {
            interpretation,
            severity,
            frequency,
            user_segment,
            status,
            embedding,
            ai_classification,
            source_metadata,
        } = self;
        interpretation.is_none()
            && severity.is_none()
            && frequency.is_none()
            && user_segment.is_none()
            && status.is_none()
            && embedding.is_none()
            && ai_classification.is_none()
            && source_metadata.is_none()
    }
}

#[derive(AsChangeset)]
#[diesel(table_name = signals, check_for_backend(diesel::pg::Pg))]
struct SignalChangeset {
    interpretation: Option<String>,
    severity: Option<Option<Severity>>,
    frequency: Option<Option<Frequency>>,
    user_segment: Option<String>,
    status: Option<SignalStatus>,
    embedding: Option<Option<Vec<f32>>>,
    embedding_dimension: Option<Option<i32>>,
    ai_classification: Option<Option<serde_json::Value>>,
    source_metadata: Option<serde_json::Value>,
    processed_at: Option<Option<DateTime<Utc>>>,
    updated_at: DateTime<Utc>,
}

/// Applies `changes` to the (locked) `signal`: moves its status as the
/// triage allows ([`next_status`]), checks an embedding's dimension, stamps
/// `processed_at` when an embedding or a classification is written, and
/// asks for the linked projects' recount when the severity changes. A
/// request that changes nothing (say, the current status again) writes
/// nothing: the signal and its etag stay as they are.
pub async fn update(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    mut changes: SignalChanges,
) -> SignalsResult<Signal> {
    changes.status = match changes.status {
        Some(asked) => next_status(conn, signal, asked).await?,
        None => None,
    };
    if changes.is_empty() {
        return Ok(signal.clone());
    }
    let dimension = match &changes.embedding {
        Some(Some(embedding)) => Some(Some(
            check_dimension(conn, signal.workspace_id, embedding, "signal.embedding").await?,
        )),
        Some(None) => Some(None),
        None => None,
    };
    let processed = (changes.embedding.as_ref().is_some_and(Option::is_some)
        || changes
            .ai_classification
            .as_ref()
            .is_some_and(Option::is_some))
    .then(|| Some(Utc::now()));
    let severity_moves = changes
        .severity
        .is_some_and(|severity| severity != signal.severity);
    let updated = diesel::update(signals::table.find(signal.id))
        .set(SignalChangeset {
            interpretation: changes.interpretation,
            severity: changes.severity,
            frequency: changes.frequency,
            user_segment: changes.user_segment,
            status: changes.status,
            embedding: changes.embedding,
            embedding_dimension: dimension,
            ai_classification: changes.ai_classification,
            source_metadata: changes.source_metadata,
            processed_at: processed,
            updated_at: next_update_time(signal.updated_at),
        })
        .returning(Signal::as_returning())
        .load(conn)
        .await
        .single()?;
    if severity_moves {
        let projects = linked_projects(conn, signal.id).await?;
        counts::enqueue_recount(conn, &projects).await?;
    }
    Ok(updated)
}

/// The status UpdateSignal gives `signal` when asked for `asked`, `None`
/// when that is its status already. LINKED means "has links", so the links
/// have the last word: a signal without links cannot be made LINKED, and
/// one brought back from ARCHIVED becomes LINKED again if it has links
/// (REVIEWED otherwise).
async fn next_status(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    asked: SignalStatus,
) -> SignalsResult<Option<SignalStatus>> {
    if asked == signal.status {
        return Ok(None);
    }
    if !signal.status.allowed_next().contains(&asked) {
        return Err(SignalsError::InvalidTransition {
            from: signal.status,
            to: asked,
        });
    }
    let next = match asked {
        SignalStatus::Linked if !has_links(conn, signal.id).await? => {
            return Err(SignalsError::NoLinks { signal: signal.id });
        }
        SignalStatus::Reviewed
            if signal.status == SignalStatus::Archived && has_links(conn, signal.id).await? =>
        {
            SignalStatus::Linked
        }
        other => other,
    };
    Ok(Some(next))
}

/// Sets `signal`'s status to `status` (a link's side effect).
pub async fn set_status(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    status: SignalStatus,
) -> SignalsResult<Signal> {
    Ok(diesel::update(signals::table.find(signal.id))
        .set((
            signals::status.eq(status),
            signals::updated_at.eq(next_update_time(signal.updated_at)),
        ))
        .returning(Signal::as_returning())
        .load(conn)
        .await
        .single()?)
}

/// Deletes a signal and its links, and asks for the recount of the
/// projects it was linked to.
pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> SignalsResult<()> {
    let projects = linked_projects(conn, id).await?;
    diesel::delete(signals::table.find(id))
        .execute(conn)
        .await?;
    counts::enqueue_recount(conn, &projects).await?;
    Ok(())
}

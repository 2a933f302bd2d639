//! Links between a signal and the projects it informs or the personas it
//! comes from. Linking a NEW or REVIEWED signal makes it LINKED; removing
//! a LINKED signal's last link makes it REVIEWED. A project link or unlink
//! asks for the project's recount in the same transaction. A link across
//! workspaces cannot be stored (the composite foreign keys refuse it); the
//! RPC refuses it first with a clear error.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Nullable, Text, Timestamptz, Uuid as SqlUuid};
use diesel::upsert::excluded;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::counts;
use super::signals::{self as signal_store, Signal};
use crate::auth::UserId;
use crate::db::rows::SingleRow as _;
use crate::keyset::KeyTime;
use crate::resources;
use crate::schema::{signal_personas, signal_projects};
use crate::signals::error::{SignalsError, SignalsResult};
use crate::signals::fields::SignalStatus;

/// A stored signal–project link.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signal_projects, check_for_backend(diesel::pg::Pg))]
pub struct ProjectLink {
    pub workspace_id: Uuid,
    pub signal_id: Uuid,
    pub project_id: Uuid,
    pub linked_at: DateTime<Utc>,
    pub linked_by: String,
    pub link_reason: String,
    pub confidence: Option<f64>,
}

/// A stored signal–persona link.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = signal_personas, check_for_backend(diesel::pg::Pg))]
pub struct PersonaLink {
    pub workspace_id: Uuid,
    pub signal_id: Uuid,
    pub persona_id: String,
    pub linked_at: DateTime<Utc>,
    pub linked_by: String,
    pub link_reason: String,
    pub confidence: Option<f64>,
}

/// Why and how surely a link was made.
#[derive(Debug, Clone)]
pub struct LinkNote {
    pub reason: String,
    pub confidence: Option<f64>,
}

/// Links the (locked) `signal` to `project` (of the same workspace), or
/// replaces the existing link's reason and confidence.
pub async fn link_project(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    project: Uuid,
    user: &UserId,
    note: LinkNote,
) -> SignalsResult<(ProjectLink, Signal)> {
    let link = diesel::insert_into(signal_projects::table)
        .values(ProjectLink {
            workspace_id: signal.workspace_id,
            signal_id: signal.id,
            project_id: project,
            linked_at: Utc::now(),
            linked_by: user.as_str().to_owned(),
            link_reason: note.reason,
            confidence: note.confidence,
        })
        .on_conflict((signal_projects::signal_id, signal_projects::project_id))
        .do_update()
        .set((
            signal_projects::link_reason.eq(excluded(signal_projects::link_reason)),
            signal_projects::confidence.eq(excluded(signal_projects::confidence)),
        ))
        .returning(ProjectLink::as_returning())
        .load(conn)
        .await
        .single()?;
    counts::enqueue_recount(conn, &[project]).await?;
    let signal = mark_linked(conn, signal).await?;
    Ok((link, signal))
}

/// Links the (locked) `signal` to `persona`, or replaces the existing
/// link's reason and confidence.
pub async fn link_persona(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    persona: &str,
    user: &UserId,
    note: LinkNote,
) -> SignalsResult<(PersonaLink, Signal)> {
    let link = diesel::insert_into(signal_personas::table)
        .values(PersonaLink {
            workspace_id: signal.workspace_id,
            signal_id: signal.id,
            persona_id: persona.to_owned(),
            linked_at: Utc::now(),
            linked_by: user.as_str().to_owned(),
            link_reason: note.reason,
            confidence: note.confidence,
        })
        .on_conflict((signal_personas::signal_id, signal_personas::persona_id))
        .do_update()
        .set((
            signal_personas::link_reason.eq(excluded(signal_personas::link_reason)),
            signal_personas::confidence.eq(excluded(signal_personas::confidence)),
        ))
        .returning(PersonaLink::as_returning())
        .load(conn)
        .await
        .single()?;
    let signal = mark_linked(conn, signal).await?;
    Ok((link, signal))
}

/// Removes the (locked) `signal`'s link to `project`.
pub async fn unlink_project(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    project: Uuid,
) -> SignalsResult<Signal> {
    let removed = diesel::delete(signal_projects::table.find((signal.id, project)))
        .execute(conn)
        .await?;
    if removed == 0 {
        return Err(SignalsError::not_found_at(
            resources::PROJECT_LINK,
            format!("of signal {} to project {project}", signal.id),
            "project_id",
        ));
    }
    counts::enqueue_recount(conn, &[project]).await?;
    unmark_if_unlinked(conn, signal).await
}

/// Removes the (locked) `signal`'s link to `persona`.
pub async fn unlink_persona(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
    persona: &str,
) -> SignalsResult<Signal> {
    let removed = diesel::delete(signal_personas::table.find((signal.id, persona)))
        .execute(conn)
        .await?;
    if removed == 0 {
        return Err(SignalsError::not_found_at(
            resources::PERSONA_LINK,
            format!(
                "of signal {} to persona {}",
                signal.id,
                crate::text::quote(persona)
            ),
            "persona_id",
        ));
    }
    unmark_if_unlinked(conn, signal).await
}

/// A NEW or REVIEWED signal becomes LINKED; others keep their status.
async fn mark_linked(conn: &mut AsyncPgConnection, signal: &Signal) -> SignalsResult<Signal> {
    match signal.status {
        SignalStatus::New | SignalStatus::Reviewed => {
            signal_store::set_status(conn, signal, SignalStatus::Linked).await
        }
        SignalStatus::Linked | SignalStatus::Archived => {
            signal_store::find(conn, signal.id, false).await
        }
    }
}

/// A LINKED signal without links left becomes REVIEWED.
async fn unmark_if_unlinked(
    conn: &mut AsyncPgConnection,
    signal: &Signal,
) -> SignalsResult<Signal> {
    if signal.status != SignalStatus::Linked || signal_store::has_links(conn, signal.id).await? {
        signal_store::find(conn, signal.id, false).await
    } else {
        signal_store::set_status(conn, signal, SignalStatus::Reviewed).await
    }
}

/// Locks (in id order) the signals linked to `project` and returns their
/// ids: DeleteProject holds them so that no link of theirs changes before
/// [`unmark_unlinked`] looks at what the deletion left.
pub async fn lock_signals_of_project(
    conn: &mut AsyncPgConnection,
    project: Uuid,
) -> SignalsResult<Vec<Uuid>> {
    use crate::schema::signals;
    Ok(signals::table
        .filter(
            signals::id.eq_any(
                signal_projects::table
                    .filter(signal_projects::project_id.eq(project))
                    .select(signal_projects::signal_id),
            ),
        )
        .order(signals::id)
        .select(signals::id)
        .for_update()
        .load(conn)
        .await?)
}

/// Of the (locked) `signals`, those LINKED without a link left become
/// REVIEWED (after their project was deleted).
pub async fn unmark_unlinked(conn: &mut AsyncPgConnection, signals: &[Uuid]) -> SignalsResult<()> {
    if signals.is_empty() {
        return Ok(());
    }
    diesel::sql_query(
        "UPDATE signals s SET status = $2, \
                updated_at = greatest(now(), s.updated_at + interval '1 microsecond') \
         WHERE s.id = ANY($1) AND s.status = $3 \
           AND NOT EXISTS (SELECT 1 FROM signal_projects l WHERE l.signal_id = s.id) \
           AND NOT EXISTS (SELECT 1 FROM signal_personas l WHERE l.signal_id = s.id)",
    )
    .bind::<diesel::sql_types::Array<SqlUuid>, _>(signals)
    .bind::<Text, _>(SignalStatus::Reviewed)
    .bind::<Text, _>(SignalStatus::Linked)
    .execute(conn)
    .await?;
    Ok(())
}

/// A signal's links, most recent first.
pub async fn of_signal(
    conn: &mut AsyncPgConnection,
    signal: Uuid,
) -> SignalsResult<(Vec<ProjectLink>, Vec<PersonaLink>)> {
    let projects = signal_projects::table
        .filter(signal_projects::signal_id.eq(signal))
        .order((
            signal_projects::linked_at.desc(),
            signal_projects::project_id.desc(),
        ))
        .select(ProjectLink::as_select())
        .load(conn)
        .await?;
    let personas = signal_personas::table
        .filter(signal_personas::signal_id.eq(signal))
        .order((
            signal_personas::linked_at.desc(),
            signal_personas::persona_id.desc(),
        ))
        .select(PersonaLink::as_select())
        .load(conn)
        .await?;
    Ok((projects, personas))
}

/// A signal with the link it was listed by.
#[derive(Debug, QueryableByName)]
pub struct LinkedSignal {
    #[diesel(embed)]
    pub signal: Signal,
    #[diesel(sql_type = Timestamptz)]
    pub linked_at: DateTime<Utc>,
    #[diesel(sql_type = Text)]
    pub link_reason: String,
    #[diesel(sql_type = Nullable<Double>)]
    pub confidence: Option<f64>,
}

/// Keyset of the linked-signal lists: most recently linked first.
pub type LinkKey = (KeyTime, Uuid);

/// The list key of a linked signal.
pub fn key_of(linked: &LinkedSignal) -> LinkKey {
    (KeyTime::of(linked.linked_at), linked.signal.id)
}

/// The signal columns of the linked-signal lists.
const SIGNAL_COLUMNS: &str = "s.id, s.workspace_id, s.verbatim, s.interpretation, s.severity, \
     s.frequency, s.user_segment, s.source, s.source_ref, s.source_metadata, s.status, \
     s.embedding, s.embedding_dimension, s.ai_classification, s.inbox_item_id, s.created_at, \
     s.updated_at, s.processed_at";

/// A page of the signals linked to `project` (of `workspace`), most
/// recently linked first; served by `signal_projects_project_idx`.
pub async fn project_signals(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    project: Uuid,
    limit: i64,
    after: Option<LinkKey>,
) -> SignalsResult<Vec<LinkedSignal>> {
    // The row-value keyset condition of `keyset::rows_after` over a join.
    Ok(diesel::sql_query(format!(
        "SELECT {SIGNAL_COLUMNS}, l.linked_at, l.link_reason, l.confidence \
         FROM signal_projects l JOIN signals s ON s.id = l.signal_id \
         WHERE l.workspace_id = $1 AND l.project_id = $2 \
           AND ($3::timestamptz IS NULL OR (l.linked_at, l.signal_id) < ($3, $4)) \
         ORDER BY l.linked_at DESC, l.signal_id DESC LIMIT $5"
    ))
    .bind::<SqlUuid, _>(workspace)
    .bind::<SqlUuid, _>(project)
    .bind::<Nullable<Timestamptz>, _>(after.map(|(time, _)| time.at()))
    .bind::<SqlUuid, _>(after.map_or(Uuid::nil(), |(_, id)| id))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

/// A page of `workspace`'s signals linked to `persona`, most recently
/// linked first; served by `signal_personas_persona_idx`.
pub async fn persona_signals(
    conn: &mut AsyncPgConnection,
    workspace: Uuid,
    persona: &str,
    limit: i64,
    after: Option<LinkKey>,
) -> SignalsResult<Vec<LinkedSignal>> {
    Ok(diesel::sql_query(format!(
        "SELECT {SIGNAL_COLUMNS}, l.linked_at, l.link_reason, l.confidence \
         FROM signal_personas l JOIN signals s ON s.id = l.signal_id \
         WHERE l.workspace_id = $1 AND l.persona_id = $2 \
           AND ($3::timestamptz IS NULL OR (l.linked_at, l.signal_id) < ($3, $4)) \
         ORDER BY l.linked_at DESC, l.signal_id DESC LIMIT $5"
    ))
    .bind::<SqlUuid, _>(workspace)
    .bind::<Text, _>(persona)
    .bind::<Nullable<Timestamptz>, _>(after.map(|(time, _)| time.at()))
    .bind::<SqlUuid, _>(after.map_or(Uuid::nil(), |(_, id)| id))
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?)
}

//! Signals: CreateSignal, BatchCreateSignals, GetSignal, ListSignals,
//! UpdateSignal, DeleteSignal.

use diesel_async::AsyncConnection as _;

use crate::auth::UserId;
use crate::checked::{AllChecked as _, field};
use crate::error::{ApiError, ApiResult, Violations};
use crate::ids::id_field;
use crate::pagination;
use crate::proto::signals as pb;
use crate::roles::Power;
use crate::signals::access::{authorize, load};
use crate::signals::convert::signal_to_proto;
use crate::signals::fields::{
    BATCH_MAX, EMBEDDING_MAX, Frequency, JSON_OBJECT_MAX, OWN_ID_MAX, REF_MAX, SEGMENT_MAX,
    Severity, SignalStatus, Source, VERBATIM_MAX,
};
use crate::signals::store::signal_listing::{self, SignalFilter, SignalOrder};
use crate::signals::store::signals::{self as store, NewSignal, Signal, SignalChanges};
use crate::state::AppState;
use crate::text::{bounded_text, optional_text, required_text};

pub async fn create(
    state: &AppState,
    user: UserId,
    req: pb::CreateSignalRequest,
) -> ApiResult<pb::CreateSignalResponse> {
    let mut violations = Violations::new();
    let workspace = violations.check("workspace_id", crate::ids::id(&req.workspace_id));
    let input = match req.signal {
        Some(input) => signal_input(input, "signal.", &mut violations),
        None => {
            violations.add("signal", "is required");
            None
        }
    };
    violations.finish()?;
    let (Some(workspace), Some(input)) = (workspace, input) else {
        return Err(ApiError::invalid_field("signal", "is required"));
    };
    let mut conn = state.conn().await?;
    let signal = conn
        .transaction(async |conn| {
            authorize(conn, workspace, &user, Power::Edit, false).await?;
            store::create(conn, workspace, &input).await
        })
        .await?;
    Ok(pb::CreateSignalResponse {
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn batch_create(
    state: &AppState,
    user: UserId,
    req: pb::BatchCreateSignalsRequest,
) -> ApiResult<pb::BatchCreateSignalsResponse> {
    if req.signals.is_empty() || req.signals.len() > BATCH_MAX {
        return Err(ApiError::invalid_field(
            "signals",
            format!("must hold 1-{BATCH_MAX} signals, not {}", req.signals.len()),
        ));
    }
    let mut violations = Violations::new();
    let workspace = violations.check("workspace_id", crate::ids::id(&req.workspace_id));
    let inputs: Vec<NewSignal> = req
        .signals
        .into_iter()
        .enumerate()
        .filter_map(|(i, input)| signal_input(input, &format!("signals[{i}]."), &mut violations))
        .collect();
    violations.finish()?;
    let Some(workspace) = workspace else {
        return Err(ApiError::invalid_field("workspace_id", "is required"));
    };
    let mut conn = state.conn().await?;
    let signals = conn
        .transaction(async |conn| {
            authorize(conn, workspace, &user, Power::Edit, false).await?;
            // Stored in (source, source_ref) order, whatever the request's:
            // two batches that share references then take their unique
            // index entries in the same order and cannot deadlock. The sort
            // is stable, so of two entries with one reference the first
            // sent is the one stored.
            let mut order: Vec<usize> = (0..inputs.len()).collect();
            order.sort_by_key(|&i| (inputs[i].source.as_db(), inputs[i].source_ref.as_deref()));
            let mut stored: Vec<Option<Signal>> = inputs.iter().map(|_| None).collect();
            for i in order {
                stored[i] = Some(store::create(conn, workspace, &inputs[i]).await?);
            }
            ApiResult::Ok(stored.into_iter().flatten().collect::<Vec<_>>())
        })
        .await?;
    Ok(pb::BatchCreateSignalsResponse {
        signals: signals.into_iter().map(signal_to_proto).collect(),
    })
}

pub async fn get(
    state: &AppState,
    user: UserId,
    req: pb::GetSignalRequest,
) -> ApiResult<pb::GetSignalResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    let signal: Signal = load(&mut conn, id, &user, Power::Read, false).await?;
    Ok(pb::GetSignalResponse {
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn list(
    state: &AppState,
    user: UserId,
    req: pb::ListSignalsRequest,
) -> ApiResult<pb::ListSignalsResponse> {
    // What the query searches for once parsed: a query of dashes or
    // punctuation searches for nothing.
    let searching = matches!(crate::text::search_query(&req.query), Ok(Some(_)));
    let (workspace, _, filter, order) = (
        field("workspace_id", crate::ids::id(&req.workspace_id)),
        field("page_size", pagination::checked_page_size(req.page_size)),
        signal_filter(&req),
        field("order", signal_order(&req, searching)),
    )
        .all()?;
    // An absent bound is "", unlike any time (the epoch included), so a
    // token of an unbounded listing is refused by a bounded one.
    let bound = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or_else(String::new, |t| t.timestamp_micros().to_string())
    };
    let (created_after, created_before) =
        (bound(filter.created_after), bound(filter.created_before));
    let project = filter.project_id.map(|p| p.to_string()).unwrap_or_default();
    let page = state.page_tokens.request(
        &req.page_token,
        req.page_size,
        &[
            "signals",
            &req.workspace_id,
            order.name(),
            filter.status.map_or("", SignalStatus::as_db),
            filter.source.map_or("", Source::as_db),
            filter.severity.map_or("", Severity::as_db),
            &project,
            filter.persona_id.as_deref().unwrap_or(""),
            &created_after,
            &created_before,
            filter.query.as_deref().unwrap_or(""),
        ],
    )?;
    let mut conn = state.conn().await?;
    authorize(&mut conn, workspace, &user, Power::Read, false).await?;
    let rows = signal_listing::list(
        &mut conn,
        workspace,
        &filter,
        order,
        page.after(),
        page.limit(),
    )
    .await?;
    let (signals, next_page_token) = page.finish(rows, signal_listing::RankedSignal::key, |r| {
        signal_to_proto(r.signal)
    });
    Ok(pb::ListSignalsResponse {
        signals,
        next_page_token,
    })
}

pub async fn update(
    state: &AppState,
    user: UserId,
    req: pb::UpdateSignalRequest,
) -> ApiResult<pb::UpdateSignalResponse> {
    let Some(input) = req.signal else {
        return Err(ApiError::invalid_field("signal", "is required"));
    };
    let id = id_field("signal.id", &input.id)?;
    let etag = input.etag.clone();
    let changes = signal_changes(input, req.update_mask)?;
    let mut conn = state.conn().await?;
    let signal = conn
        .transaction(async |conn| {
            let signal: Signal = load(conn, id, &user, Power::Edit, true).await?;
            signal.ensure_etag(&etag)?;
            store::update(conn, &signal, changes).await
        })
        .await?;
    Ok(pb::UpdateSignalResponse {
        signal: Some(signal_to_proto(signal)),
    })
}

pub async fn delete(
    state: &AppState,
    user: UserId,
    req: pb::DeleteSignalRequest,
) -> ApiResult<pb::DeleteSignalResponse> {
    let id = id_field("id", &req.id)?;
    let mut conn = state.conn().await?;
    conn.transaction(async |conn| {
        let signal: Signal = load(conn, id, &user, Power::Edit, true).await?;
        signal.ensure_etag(&req.etag)?;
        store::delete(conn, id).await
    })
    .await?;
    Ok(pb::DeleteSignalResponse {})
}

/// A checked new signal, or `None` with its problems added to
/// `violations` under `prefix` (`signal.`, `signals[3].`).
fn signal_input(
    input: pb::SignalInput,
    prefix: &str,
    violations: &mut Violations,
) -> Option<NewSignal> {
    let at = |name: &str| format!("{prefix}{name}");
    let verbatim = violations.check(
        &at("verbatim"),
        required_text(&input.verbatim, VERBATIM_MAX),
    );
    let interpretation = violations.check(
        &at("interpretation"),
        bounded_text(&input.interpretation, VERBATIM_MAX),
    );
    let severity = violations.check(&at("severity"), Severity::from_proto(input.severity));
    let frequency = violations.check(&at("frequency"), Frequency::from_proto(input.frequency));
    let user_segment = violations.check(
        &at("user_segment"),
        bounded_text(&input.user_segment, SEGMENT_MAX),
    );
    let source = violations.check(
        &at("source"),
        Source::from_proto(input.source)
            .and_then(|s| s.ok_or_else(|| "is required, e.g. WEBHOOK or INTERVIEW".to_owned())),
    );
    let source_ref = violations.check(&at("source_ref"), optional_text(&input.source_ref, REF_MAX));
    let source_metadata = violations.check(
        &at("source_metadata"),
        json_object(input.source_metadata.unwrap_or_default()),
    );
    let embedding = violations.check(&at("embedding"), embedding(input.embedding));
    let ai_classification = violations.check(
        &at("ai_classification"),
        input.ai_classification.map(json_object).transpose(),
    );
    let inbox_item_id = violations.check(
        &at("inbox_item_id"),
        optional_text(&input.inbox_item_id, OWN_ID_MAX),
    );
    Some(NewSignal {
        verbatim: verbatim?,
        interpretation: interpretation?,
        severity: severity?,
        frequency: frequency?,
        user_segment: user_segment?,
        source: source?,
        source_ref: source_ref?,
        source_metadata: source_metadata?,
        embedding: embedding?,
        ai_classification: ai_classification?,
        inbox_item_id: inbox_item_id?,
        field_prefix: prefix.to_owned(),
    })
}

/// A JSON object field (`source_metadata`, `ai_classification`): checked
/// like every Struct (depth, NUL, non-finite numbers), and at most
/// [`JSON_OBJECT_MAX`] bytes as JSON, so a signal stays small enough that
/// a page of them is worth reading.
fn json_object(value: prost_types::Struct) -> Result<serde_json::Value, String> {
    let object = serde_json::Value::Object(crate::proto::checked_struct_to_json(value)?);
    let size = serde_json::to_vec(&object).map_or(usize::MAX, |json| json.len());
    if size > JSON_OBJECT_MAX {
        return Err(format!(
            "is {size} bytes of JSON; at most {JSON_OBJECT_MAX} allowed"
        ));
    }
    Ok(object)
}

/// An embedding: empty for none, at most 4,096 finite floats.
fn embedding(values: Vec<f32>) -> Result<Option<Vec<f32>>, String> {
    if values.is_empty() {
        return Ok(None);
    }
    if values.len() > EMBEDDING_MAX {
        return Err(format!(
            "has {} dimensions; at most {EMBEDDING_MAX}",
            values.len()
        ));
    }
    if let Some(at) = values.iter().position(|v| !v.is_finite()) {
        return Err(format!("element {at} is not a finite number"));
    }
    Ok(Some(values))
}

/// The filters of a ListSignals request.
fn signal_filter(req: &pb::ListSignalsRequest) -> crate::checked::Checked<SignalFilter> {
    let (status, source, severity, project_id, persona_id, created_after, created_before, query) =
        (
            field("status", SignalStatus::from_proto(req.status)),
            field("source", Source::from_proto(req.source)),
            field("severity", Severity::from_proto(req.severity)),
            field(
                "project_id",
                if req.project_id.is_empty() {
                    Ok(None)
                } else {
                    crate::ids::id(&req.project_id).map(Some)
                },
            ),
            field("persona_id", optional_text(&req.persona_id, OWN_ID_MAX)),
            field(
                "create_time_after",
                time_bound(req.create_time_after.as_ref()),
            ),
            field(
                "create_time_before",
                time_bound(req.create_time_before.as_ref()),
            ),
            field("query", crate::text::search_query(&req.query)),
        )
            .checked()?;
    Ok(SignalFilter {
        status,
        source,
        severity,
        project_id,
        persona_id,
        created_after,
        created_before,
        query,
    })
}

/// A time filter: absent, or a timestamp PostgreSQL can hold.
fn time_bound(
    time: Option<&prost_types::Timestamp>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    time.map(|t| {
        // A Timestamp's nanos are 0-999,999,999 (chrono would read more as
        // a leap second).
        let nanos = u32::try_from(t.nanos)
            .ok()
            .filter(|n| *n < 1_000_000_000)
            .ok_or_else(|| format!("has nanos {}; they must be 0-999999999", t.nanos))?;
        chrono::DateTime::from_timestamp(t.seconds, nanos)
            .filter(|at| (1..=9999).contains(&chrono::Datelike::year(at)))
            .ok_or_else(|| "must be a time in years 1-9999".to_owned())
    })
    .transpose()
}

/// The order of a ListSignals request; RELEVANCE needs a query that
/// searches for something.
fn signal_order(req: &pb::ListSignalsRequest, searching: bool) -> Result<SignalOrder, String> {
    match pb::SignalOrder::try_from(req.order) {
        Ok(pb::SignalOrder::Unspecified | pb::SignalOrder::Newest) => Ok(SignalOrder::Newest),
        Ok(pb::SignalOrder::Relevance) if !searching => {
            Err("RELEVANCE needs a query with words to rank by".to_owned())
        }
        Ok(pb::SignalOrder::Relevance) => Ok(SignalOrder::Relevance),
        Err(_) => Err(format!("{} is not a SignalOrder", req.order)),
    }
}

/// The masked paths UpdateSignal accepts.
const UPDATABLE_PATHS: &[&str] = &[
    "interpretation",
    "severity",
    "frequency",
    "user_segment",
    "status",
    "embedding",
    "ai_classification",
    "source_metadata",
];

/// The changes an UpdateSignal request asks for.
fn signal_changes(
    input: pb::Signal,
    mask: Option<prost_types::FieldMask>,
) -> ApiResult<SignalChanges> {
    let mut changes = SignalChanges::default();
    let mut violations = Violations::new();
    for path in &crate::field_mask::paths(mask.as_ref(), UPDATABLE_PATHS, &mut violations) {
        match path.as_str() {
            "interpretation" => {
                changes.interpretation = violations.check(
                    "signal.interpretation",
                    bounded_text(&input.interpretation, VERBATIM_MAX),
                );
            }
            "severity" => {
                changes.severity =
                    violations.check("signal.severity", Severity::from_proto(input.severity));
            }
            "frequency" => {
                changes.frequency =
                    violations.check("signal.frequency", Frequency::from_proto(input.frequency));
            }
            "user_segment" => {
                changes.user_segment = violations.check(
                    "signal.user_segment",
                    bounded_text(&input.user_segment, SEGMENT_MAX),
                );
            }
            "status" => match SignalStatus::from_proto(input.status) {
                Ok(Some(status)) => changes.status = Some(status),
                Ok(None) => violations.add("signal.status", "is required when masked"),
                Err(why) => violations.add("signal.status", why),
            },
            "embedding" => {
                changes.embedding =
                    violations.check("signal.embedding", embedding(input.embedding.clone()));
            }
            "ai_classification" => {
                changes.ai_classification = violations.check(
                    "signal.ai_classification",
                    input.ai_classification.clone().map(json_object).transpose(),
                );
            }
            "source_metadata" => {
                changes.source_metadata = violations.check(
                    "signal.source_metadata",
                    json_object(input.source_metadata.clone().unwrap_or_default()),
                );
            }
            other => violations.add(
                "update_mask",
                format!(
                    "{} cannot be updated; paths: {}",
                    crate::text::quote(other),
                    UPDATABLE_PATHS.join(", ")
                ),
            ),
        }
    }
    violations.finish()?;
    Ok(changes)
}

//! ListSignals is served by an index for every filter, order and cursor.

use atelier::keyset::KeyTime;
use atelier::signals::fields::{Severity, SignalStatus, Source};
use atelier::signals::store::signal_listing::{
    self as listing, SignalFilter, SignalKey, SignalOrder,
};
use diesel_async::RunQueryDsl as _;

use crate::common::TestApp;

#[tokio::test(flavor = "multi_thread")]
async fn every_signal_listing_is_served_by_an_index() {
    let app = TestApp::start().await;
    let mut conn = app.db().await;
    // With sequential scans priced out, a plan that still scans a table
    // sequentially means no index can serve the query.
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .expect("set");
    let workspace = uuid::Uuid::now_v7();
    let cursor = SignalKey {
        rank: 0.5,
        created: KeyTime::from_micros(1_700_000_000_000_000).expect("in range"),
        id: uuid::Uuid::now_v7(),
    };
    let at = chrono::DateTime::from_timestamp(1_700_000_000, 0);
    let filters = [
        SignalFilter::default(),
        SignalFilter {
            status: Some(SignalStatus::New),
            ..Default::default()
        },
        SignalFilter {
            source: Some(Source::Webhook),
            ..Default::default()
        },
        SignalFilter {
            severity: Some(Severity::High),
            ..Default::default()
        },
        SignalFilter {
            project_id: Some(uuid::Uuid::now_v7()),
            ..Default::default()
        },
        SignalFilter {
            persona_id: Some("admin".to_owned()),
            ..Default::default()
        },
        SignalFilter {
            created_after: at,
            created_before: at.map(|t| t + chrono::Duration::days(7)),
            ..Default::default()
        },
        SignalFilter {
            query: Some("export fails".to_owned()),
            ..Default::default()
        },
    ];
    for filter in &filters {
        for order in [SignalOrder::Newest, SignalOrder::Relevance] {
            if order == SignalOrder::Relevance && filter.query.is_none() {
                continue;
            }
            for after in [None, Some(cursor)] {
                let plan = listing::explain(&mut conn, workspace, filter, order, after)
                    .await
                    .expect("explain");
                let text = plan.join("\n");
                assert!(
                    !text.contains("Seq Scan"),
                    "{filter:?} {order:?} after {after:?}:\n{text}"
                );
                assert!(text.contains("Index"), "{filter:?} {order:?}:\n{text}");
            }
        }
    }
}

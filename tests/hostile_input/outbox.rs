//! The Outbox admin cases.

use super::*;

pub(super) async fn sweep_outbox(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let client = OutboxClient::new(sweep.app.channel.clone());
    let alice = Who::User(ALICE);

    let cases = Cases::open(alice, GetOutboxStatsRequest {});
    sweep_unary!(
        sweep,
        OUTBOX,
        "GetOutboxStats",
        client,
        get_outbox_stats,
        cases.into_cases()
    );

    let mut cases = Cases::open(alice, ListDeadEventsRequest::default());
    cases.pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    sweep_unary!(
        sweep,
        OUTBOX,
        "ListDeadEvents",
        client,
        list_dead_events,
        cases.into_cases()
    );

    let mut cases = Cases::open(
        alice,
        RetryDeadEventsRequest {
            ids: vec![uuid::Uuid::new_v4().to_string()],
            all: false,
        },
    );
    cases
        .ids("ids[0]", &fx.skill.id, |m, id| m.ids = vec![id])
        .refused("neither ids nor all", |m| m.ids.clear())
        .refused("ids and all", |m| m.all = true)
        .refused("1,001 random ids", |m| {
            m.ids = (0..1_001)
                .map(|_| uuid::Uuid::new_v4().to_string())
                .collect();
        })
        .refused("1,000 malformed ids", |m| {
            m.ids = vec!["not-an-id".to_owned(); 1_000]
        })
        .refused("1,001 malformed ids", |m| {
            m.ids = vec!["not-an-id".to_owned(); 1_001]
        })
        .refused("100,000 malformed ids", |m| {
            m.ids = vec!["x".to_owned(); 100_000]
        });
    sweep_unary!(
        sweep,
        OUTBOX,
        "RetryDeadEvents",
        client,
        retry_dead_events,
        cases.into_cases()
    );
}

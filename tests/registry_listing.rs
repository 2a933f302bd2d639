//! SkillRegistry: ListSkills filters, full-text search, orders and keyset
//! pagination.

use std::collections::HashSet;

use atelier::proto::registry::{
    CreateSkillRequest, ListSkillsRequest, Skill, SkillCategory, SkillOrder,
};
use atelier::registry::fields::Category;
use atelier::registry::store::listing::{self, SkillFilter, SkillKey};
use diesel_async::RunQueryDsl;
use tonic::Code;

use crate::common::{TestApp, as_user, violated_fields};

async fn create(
    app: &TestApp,
    author: &str,
    slug: &str,
    name: &str,
    description: &str,
    category: SkillCategory,
) -> Skill {
    app.registry()
        .create_skill(as_user(
            author,
            CreateSkillRequest {
                slug: slug.to_owned(),
                name: name.to_owned(),
                description: description.to_owned(),
                category: category.into(),
                hours_saved: None,
                request_id: String::new(),
            },
        ))
        .await
        .expect("create")
        .into_inner()
        .skill
        .expect("skill")
}

async fn list(
    app: &TestApp,
    request: ListSkillsRequest,
) -> Result<(Vec<String>, String), tonic::Status> {
    app.registry()
        .list_skills(as_user("reader", request))
        .await
        .map(|r| r.into_inner())
        .map(|page| {
            (
                page.skills.into_iter().map(|s| s.slug).collect(),
                page.next_page_token,
            )
        })
}

async fn slugs(app: &TestApp, request: ListSkillsRequest) -> Vec<String> {
    list(app, request).await.expect("list").0
}

async fn set_aggregates(app: &TestApp, slug: &str, uses: i64, average: i32, count: i32) {
    diesel::sql_query(format!(
        "UPDATE skills SET total_uses = {uses}, average_rating = {average}, rating_count = {count} WHERE slug = '{slug}'"
    ))
    .execute(&mut app.db().await)
    .await
    .expect("set aggregates");
}

#[tokio::test(flavor = "multi_thread")]
async fn skills_filter_by_category_and_author_and_sort_four_ways() {
    let app = TestApp::start().await;
    create(
        &app,
        "ada",
        "alpha",
        "Alpha",
        "first",
        SkillCategory::Prompt,
    )
    .await;
    create(
        &app,
        "ada",
        "bravo",
        "Bravo",
        "second",
        SkillCategory::Agent,
    )
    .await;
    create(
        &app,
        "grace",
        "charlie",
        "Charlie",
        "third",
        SkillCategory::Prompt,
    )
    .await;
    create(
        &app,
        "grace",
        "delta",
        "Delta",
        "fourth",
        SkillCategory::Mcp,
    )
    .await;
    set_aggregates(&app, "alpha", 10, 400, 2).await;
    set_aggregates(&app, "bravo", 30, 450, 1).await;
    set_aggregates(&app, "charlie", 20, 450, 5).await;
    set_aggregates(&app, "delta", 0, 0, 0).await;

    let all = ListSkillsRequest::default();
    assert_eq!(
        slugs(&app, all.clone()).await,
        ["delta", "charlie", "bravo", "alpha"],
        "newest first by default"
    );
    let by = |order: SkillOrder| ListSkillsRequest {
        order_by: order.into(),
        ..all.clone()
    };
    assert_eq!(
        slugs(&app, by(SkillOrder::MostUsed)).await,
        ["bravo", "charlie", "alpha", "delta"]
    );
    assert_eq!(
        slugs(&app, by(SkillOrder::TopRated)).await,
        ["charlie", "bravo", "alpha", "delta"],
        "ties on the average go to the skill with more ratings"
    );
    let prompts = ListSkillsRequest {
        category: SkillCategory::Prompt.into(),
        ..all.clone()
    };
    assert_eq!(slugs(&app, prompts).await, ["charlie", "alpha"]);
    let adas = ListSkillsRequest {
        author_id: "ada".to_owned(),
        order_by: SkillOrder::MostUsed.into(),
        ..all.clone()
    };
    assert_eq!(slugs(&app, adas).await, ["bravo", "alpha"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn full_text_search_ranks_by_relevance_and_understands_web_syntax() {
    let app = TestApp::start().await;
    create(
        &app,
        "ada",
        "py-review",
        "Python code review",
        "Reviews pull requests",
        SkillCategory::Prompt,
    )
    .await;
    create(
        &app,
        "ada",
        "linter",
        "Linter setup",
        "Configures linters for python projects",
        SkillCategory::Workflow,
    )
    .await;
    create(
        &app,
        "ada",
        "rust-review",
        "Rust code review",
        "Reviews Rust crates",
        SkillCategory::Prompt,
    )
    .await;
    let search = |query: &str| ListSkillsRequest {
        query: query.to_owned(),
        ..ListSkillsRequest::default()
    };
    assert_eq!(
        slugs(&app, search("python")).await,
        ["py-review", "linter"],
        "a name match outranks a description match"
    );
    assert_eq!(slugs(&app, search("review -rust")).await, ["py-review"]);
    assert_eq!(
        slugs(&app, search("\"code review\" rust")).await,
        ["rust-review"]
    );
    assert!(slugs(&app, search("haskell")).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_listing_requests_are_invalid_argument() {
    let app = TestApp::start().await;
    for create_index in 0..3 {
        create(
            &app,
            "ada",
            &format!("skill-{create_index}"),
            "S",
            "d",
            SkillCategory::Prompt,
        )
        .await;
    }
    let relevance_without_query = ListSkillsRequest {
        order_by: SkillOrder::Relevance.into(),
        ..ListSkillsRequest::default()
    };
    let status = list(&app, relevance_without_query)
        .await
        .expect_err("no query");
    assert_eq!(violated_fields(&status), ["order_by"]);
    let status = list(
        &app,
        ListSkillsRequest {
            page_size: -1,
            category: 42,
            ..ListSkillsRequest::default()
        },
    )
    .await
    .expect_err("negative");
    assert_eq!(violated_fields(&status), ["page_size", "category"]);
    // Over the maximum is served as the maximum (AIP-158), not refused.
    for page_size in [501, i32::MAX] {
        let (page, _) = list(
            &app,
            ListSkillsRequest {
                page_size,
                ..ListSkillsRequest::default()
            },
        )
        .await
        .expect("coerced to 500");
        assert!(!page.is_empty() && page.len() <= 500);
    }

    let first = ListSkillsRequest {
        page_size: 1,
        ..ListSkillsRequest::default()
    };
    let (_, token) = list(&app, first.clone()).await.expect("first page");
    let mut tampered = token.clone();
    tampered.replace_range(5..6, if &token[5..6] == "A" { "B" } else { "A" });
    let foreign = ListSkillsRequest {
        order_by: SkillOrder::MostUsed.into(),
        page_token: token.clone(),
        ..first.clone()
    };
    for request in [
        ListSkillsRequest {
            page_token: tampered,
            ..first.clone()
        },
        foreign,
        ListSkillsRequest {
            page_token: "garbage".to_owned(),
            ..first
        },
    ] {
        let status = list(&app, request).await.expect_err("bad token");
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(violated_fields(&status), ["page_token"]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn paging_a_thousand_skills_by_seven_under_concurrent_inserts_returns_each_exactly_once() {
    let app = TestApp::start().await;
    // 1,000 skills with distinct and with tied sort keys (uses repeat every
    // 10 rows), inserted directly for speed.
    diesel::sql_query(
        "INSERT INTO skills (id, slug, name, description, category, author_id, total_uses, created_at) \
         SELECT gen_random_uuid(), 'bulk-' || n, 'Bulk ' || n, 'Bulk skill', 'prompt', 'ada', n % 10, \
                now() - n * interval '1 second' \
         FROM generate_series(1, 1000) AS n",
    )
    .execute(&mut app.db().await)
    .await
    .expect("bulk insert");
    let existing: HashSet<String> = (1..=1000).map(|n| format!("bulk-{n}")).collect();

    let mut db = app.db().await;
    for order in [SkillOrder::Newest, SkillOrder::MostUsed] {
        let mut seen = Vec::new();
        let mut token = String::new();
        let mut page_number = 0;
        loop {
            let (page, next) = list(
                &app,
                ListSkillsRequest {
                    page_size: 7,
                    page_token: token.clone(),
                    order_by: order.into(),
                    ..ListSkillsRequest::default()
                },
            )
            .await
            .expect("page");
            assert!(page.len() <= 7);
            // Between pages, another client adds a skill whose sort key
            // ties with rows around the cursor (same total_uses).
            page_number += 1;
            let slug = format!(
                "new-{}-{page_number}",
                order.as_str_name().to_lowercase().replace('_', "-")
            );
            create(
                &app,
                "grace",
                &slug,
                "New",
                "Arrived while paging",
                SkillCategory::Prompt,
            )
            .await;
            diesel::sql_query(format!(
                "UPDATE skills SET total_uses = {} WHERE slug = '{slug}'",
                page_number % 10
            ))
            .execute(&mut db)
            .await
            .expect("tie the new skill");
            seen.extend(page);
            if next.is_empty() {
                break;
            }
            token = next;
        }
        let unique: HashSet<&String> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{order:?}: no skill twice");
        let missing: Vec<&String> = existing
            .iter()
            .filter(|slug| !unique.contains(slug))
            .collect();
        assert!(
            missing.is_empty(),
            "{order:?}: skipped {} pre-existing skills",
            missing.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_list_query_is_served_by_an_index() {
    let app = TestApp::start().await;
    let mut conn = app.db().await;
    // With sequential scans priced out, a plan that still scans the table
    // sequentially means no index can serve the query.
    diesel::sql_query("SET enable_seqscan = off")
        .execute(&mut conn)
        .await
        .expect("set");
    let cursor = SkillKey {
        rank: 0.5,
        uses: 3,
        avg: 400,
        count: 2,
        created: atelier::keyset::KeyTime::from_micros(1_700_000_000_000_000).expect("in range"),
        id: uuid::Uuid::now_v7(),
    };
    let filters = [
        SkillFilter {
            category: None,
            author_id: None,
            query: None,
        },
        SkillFilter {
            category: Some(Category::Agent),
            author_id: None,
            query: None,
        },
        SkillFilter {
            category: None,
            author_id: Some("ada".to_owned()),
            query: None,
        },
        SkillFilter {
            category: None,
            author_id: None,
            query: Some("code review".to_owned()),
        },
    ];
    for filter in &filters {
        for order in [
            listing::SkillOrder::Newest,
            listing::SkillOrder::MostUsed,
            listing::SkillOrder::TopRated,
            listing::SkillOrder::Relevance,
        ] {
            if order == listing::SkillOrder::Relevance && filter.query.is_none() {
                continue;
            }
            for after in [None, Some(cursor)] {
                let plan = listing::explain(&mut conn, filter, order, after)
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

#[tokio::test(flavor = "multi_thread")]
async fn hostile_search_queries_are_answered_or_refused_never_internal() {
    let app = TestApp::start().await;
    create(
        &app,
        "ada",
        "search-target",
        "Search target",
        "Has some words to find",
        SkillCategory::Prompt,
    )
    .await;
    // The characters websearch_to_tsquery gives meaning to, in runs: 200
    // dashes once gave "tsquery stack too small" (INTERNAL).
    let alphabet = [
        '-', ' ', '"', '!', '|', '(', ')', '&', ':', '*', 'a', 'o', 'r', '\\',
    ];
    let mut queries: Vec<String> = vec![
        "-".repeat(200),
        "- ".repeat(100),
        "a".to_owned() + &" -".repeat(99),
        "-\"".repeat(100),
        "!".repeat(200),
        "(".repeat(200),
        "a or ".repeat(40),
        "\"".repeat(200),
    ];
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..300 {
        let len = 150 + (state % 51) as usize;
        let query: String = (0..len)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1);
                alphabet[(state >> 33) as usize % alphabet.len()]
            })
            .collect();
        queries.push(query);
    }
    for query in queries {
        let answer = app
            .registry()
            .list_skills(as_user(
                "reader",
                ListSkillsRequest {
                    query: query.clone(),
                    ..ListSkillsRequest::default()
                },
            ))
            .await;
        if let Err(status) = answer {
            assert_eq!(
                status.code(),
                Code::InvalidArgument,
                "{query:?}: {status:?}"
            );
        }
    }
}

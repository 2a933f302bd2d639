//! The schema itself: migrations in both directions, and the rules the
//! database enforces on its own (immutability, same-skill pointers, indexes
//! on foreign keys, idempotent reference data).

use diesel::sql_types::Text;
use diesel_async::{AsyncPgConnection, RunQueryDsl};

use crate::common::{TestDatabase, count_on as count};

async fn exec(conn: &mut AsyncPgConnection, sql: &str) -> Result<usize, diesel::result::Error> {
    diesel::sql_query(sql).execute(conn).await
}

const TABLES: &str = "SELECT count(*) AS count FROM information_schema.tables \
                      WHERE table_schema = current_schema() AND table_name <> '__diesel_schema_migrations'";

#[tokio::test(flavor = "multi_thread")]
async fn migrations_run_up_down_and_up_again() {
    let db = TestDatabase::empty().await;
    let mut conn = db.connect().await;

    let applied = atelier::db::run_migrations(&db.url).await.expect("up");
    let on_disk = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations"))
        .expect("migrations dir")
        .count();
    assert_eq!(applied.len(), on_disk, "{applied:?}");
    assert_eq!(count(&mut conn, TABLES).await, 21);
    // Running again on a migrated database changes nothing.
    assert!(
        atelier::db::run_migrations(&db.url)
            .await
            .expect("again")
            .is_empty()
    );

    let reverted = atelier::db::revert_all_migrations(&db.url)
        .await
        .expect("down");
    assert_eq!(reverted, applied.len());
    assert_eq!(
        count(&mut conn, TABLES).await,
        0,
        "every down.sql removes what its up.sql made"
    );
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS count FROM pg_proc WHERE proname = 'skill_versions_refuse_update' AND pronamespace = current_schema()::regnamespace"
        )
        .await,
        0
    );

    let reapplied = atelier::db::run_migrations(&db.url)
        .await
        .expect("up again");
    assert_eq!(reapplied, applied);
    assert_eq!(count(&mut conn, TABLES).await, 21);
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS count FROM step_definitions").await,
        10
    );
}

/// Inserts a skill with `versions` versions and returns its id.
async fn skill_with_versions(conn: &mut AsyncPgConnection, slug: &str, versions: i32) -> String {
    let id = uuid::Uuid::now_v7().to_string();
    diesel::sql_query(
        "INSERT INTO skills (id, slug, name, description, category, author_id) \
         VALUES ($1::uuid, $2, 'A skill', 'Does things', 'prompt', 'author-1')",
    )
    .bind::<Text, _>(&id)
    .bind::<Text, _>(slug)
    .execute(conn)
    .await
    .expect("insert skill");
    for version in 1..=versions {
        diesel::sql_query(
            "INSERT INTO skill_versions (id, skill_id, version, object_key, sha256, content_type, \
             size_bytes, name, description, created_by) \
             VALUES ($1::uuid, $2::uuid, $3, 'content/x', repeat('a', 64), 'text/markdown', 1, \
             'A skill', 'Does things', 'author-1')",
        )
        .bind::<Text, _>(uuid::Uuid::now_v7().to_string())
        .bind::<Text, _>(&id)
        .bind::<diesel::sql_types::Integer, _>(version)
        .execute(conn)
        .await
        .expect("insert version");
    }
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn the_database_refuses_to_update_a_version_row() {
    let db = TestDatabase::migrated().await;
    let mut conn = db.connect().await;
    let skill = skill_with_versions(&mut conn, "immutable-skill", 1).await;

    let error = exec(
        &mut conn,
        "UPDATE skill_versions SET name = 'rewritten history'",
    )
    .await
    .expect_err("the trigger refuses");
    assert!(error.to_string().contains("immutable"), "{error}");
    assert_eq!(
        count(
            &mut conn,
            "SELECT count(*) AS count FROM skill_versions WHERE name = 'A skill'"
        )
        .await,
        1
    );

    // Deleting the skill still takes its versions along.
    exec(
        &mut conn,
        &format!("DELETE FROM skills WHERE id = '{skill}'"),
    )
    .await
    .expect("delete");
    assert_eq!(
        count(&mut conn, "SELECT count(*) AS count FROM skill_versions").await,
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_skill_cannot_point_at_another_skills_version() {
    let db = TestDatabase::migrated().await;
    let mut conn = db.connect().await;
    let without = skill_with_versions(&mut conn, "no-versions", 0).await;
    let with = skill_with_versions(&mut conn, "two-versions", 2).await;

    for column in ["published_version", "draft_version"] {
        let error = exec(
            &mut conn,
            &format!("UPDATE skills SET {column} = 1 WHERE id = '{without}'"),
        )
        .await
        .expect_err("version 1 belongs to another skill");
        assert!(error.to_string().contains("foreign key"), "{error}");
        exec(
            &mut conn,
            &format!("UPDATE skills SET {column} = 2 WHERE id = '{with}'"),
        )
        .await
        .expect("its own version is fine");
    }
    let error = exec(
        &mut conn,
        &format!("UPDATE skills SET published_version = 3 WHERE id = '{with}'"),
    )
    .await
    .expect_err("no version 3");
    assert!(error.to_string().contains("foreign key"), "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn step_definitions_are_seeded_exactly_once_however_often_the_seed_runs() {
    let db = TestDatabase::migrated().await;
    let mut conn = db.connect().await;
    let migration = include_str!("../migrations/2026-11-23-100100_workshop/up.sql");
    let seed = &migration[migration
        .find("INSERT INTO step_definitions")
        .expect("the seed statement")..];

    // A later correction of the text is overwritten by the seed again.
    exec(
        &mut conn,
        "UPDATE step_definitions SET name = 'Typo' WHERE id = 'ideate'",
    )
    .await
    .expect("edit");
    for _ in 0..3 {
        exec(&mut conn, seed)
            .await
            .expect("the seed re-runs harmlessly");
    }

    #[derive(diesel::QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        id: String,
        #[diesel(sql_type = Text)]
        name: String,
    }
    let steps: Vec<Step> =
        diesel::sql_query("SELECT id, name FROM step_definitions ORDER BY position")
            .load(&mut conn)
            .await
            .expect("steps");
    let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "empathize",
            "define",
            "ideate",
            "prototype",
            "test",
            "prioritize",
            "architect",
            "spec",
            "story",
            "pack"
        ]
    );
    assert_eq!(steps[2].name, "Ideate");
}

#[tokio::test(flavor = "multi_thread")]
async fn every_foreign_key_is_served_by_an_index() {
    let db = TestDatabase::migrated().await;
    let mut conn = db.connect().await;
    // A foreign key is covered when some index on its table starts with
    // exactly its columns (in any order).
    #[derive(diesel::QueryableByName)]
    struct Uncovered {
        #[diesel(sql_type = Text)]
        name: String,
    }
    let uncovered: Vec<Uncovered> = diesel::sql_query(
        "SELECT c.conname::text AS name FROM pg_constraint c \
         WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace \
         AND NOT EXISTS ( \
           SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid \
           AND (SELECT array_agg(k ORDER BY k) FROM unnest((i.indkey::int2[])[0:cardinality(c.conkey) - 1]) k) \
             = (SELECT array_agg(k ORDER BY k) FROM unnest(c.conkey) k))",
    )
    .load(&mut conn)
    .await
    .expect("catalog query");
    let names: Vec<&str> = uncovered.iter().map(|u| u.name.as_str()).collect();
    assert!(names.is_empty(), "foreign keys without an index: {names:?}");
    assert!(
        count(&mut conn, "SELECT count(*) AS count FROM pg_constraint WHERE contype = 'f' AND connamespace = current_schema()::regnamespace").await
            >= 12
    );
}

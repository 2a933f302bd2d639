//! The SkillRegistry cases (the streaming upload included).

use super::*;

pub(super) async fn sweep_registry(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    let client = sweep.app.registry();
    let alice = Who::User(ALICE);
    let skill_id = fx.skill.id.clone();

    // CreateSkill: every field; each case gets its own slug, so a value
    // that is (rightly) accepted does not turn later cases into SLUG_TAKEN.
    let mut cases = Cases::new(
        alice,
        reg::CreateSkillRequest {
            slug: "hostile-base".to_owned(),
            name: "Hostile".to_owned(),
            description: "Hostile input".to_owned(),
            category: reg::SkillCategory::Prompt.into(),
            hours_saved: None,
            request_id: String::new(),
        },
    );
    cases
        .texts("slug", |m, t| m.slug = t)
        .texts("name", |m, t| m.name = t)
        .texts("description", |m, t| m.description = t)
        .texts("request_id", |m, t| m.request_id = t)
        .enums("category", |m, n| m.category = n)
        .refused("category: UNSPECIFIED", |m| m.category = 0)
        .refused("name: 5 MB (over the decoding limit)", |m| {
            m.name = "n".repeat(5 * 1024 * 1024);
        });
    for hours in [-1, 10_001, i32::MAX, i32::MIN] {
        cases.refused(format!("hours_saved: {hours}"), |m| {
            m.hours_saved = Some(hours)
        });
    }
    let mut list = cases.into_cases();
    for (index, case) in list.iter_mut().enumerate() {
        if case.message.slug == "hostile-base" {
            case.message.slug = format!("hostile-{index}");
        }
    }
    sweep_unary!(sweep, REGISTRY, "CreateSkill", client, create_skill, list);

    // GetSkill.
    use reg::get_skill_request::Selector;
    let mut cases = Cases::open(
        alice,
        reg::GetSkillRequest {
            selector: Some(Selector::Id(skill_id.clone())),
        },
    );
    cases
        .ids("id", &skill_id, |m, id| m.selector = Some(Selector::Id(id)))
        .texts("slug", |m, t| m.selector = Some(Selector::Slug(t)))
        .refused("no selector", |m| m.selector = None)
        .refused("slug: the id", |m| {
            m.selector = Some(Selector::Slug(skill_id.clone()))
        });
    sweep_unary!(
        sweep,
        REGISTRY,
        "GetSkill",
        client,
        get_skill,
        cases.into_cases()
    );

    // ListSkills.
    let mut cases = Cases::open(alice, reg::ListSkillsRequest::default());
    cases
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t)
        .enums("category", |m, n| m.category = n)
        .enums("order_by", |m, n| m.order_by = n)
        .texts("author_id", |m, t| m.author_id = t)
        .texts("query", |m, t| m.query = t)
        .refused("order_by: RELEVANCE without a query", |m| {
            m.order_by = reg::SkillOrder::Relevance.into();
        });
    for (label, query) in [
        ("200 dashes", "-".repeat(200)),
        ("66 negated words", "-a ".repeat(66)),
        ("negated quotes", "-\"".repeat(100)),
        ("alternating dash and quote", "\"-".repeat(100)),
        ("100 ORs", "or ".repeat(66)),
        ("tsquery operators", "!(a & b) | c:* <-> d <2> e".repeat(7)),
        ("200 quotes", "\"".repeat(200)),
        ("200 backslashes", "\\".repeat(200)),
        ("200 apostrophes", "'".repeat(200)),
        ("201 characters", "q".repeat(201)),
        ("one 200-character word", "w".repeat(200)),
        ("stop words only", "the a an of ".repeat(10)),
    ] {
        let refuse = query.chars().count() > 200;
        cases.expect(refuse, format!("query: {label}"), |m| m.query = query);
    }
    let skills_token = fx.tokens[0].1.clone();
    cases
        .refused("page_token: ListSkills token with another order", |m| {
            m.order_by = reg::SkillOrder::MostUsed.into();
            m.page_token = skills_token.clone();
        })
        .refused("page_token: ListSkills token with a category", |m| {
            m.category = reg::SkillCategory::Agent.into();
            m.page_token = skills_token.clone();
        })
        .refused("page_token: ListSkills token with a query", |m| {
            m.query = "sweep".to_owned();
            m.page_token = skills_token.clone();
        });
    sweep_unary!(
        sweep,
        REGISTRY,
        "ListSkills",
        client,
        list_skills,
        cases.into_cases()
    );

    // UpdateSkill: ids, masks, values, etags; as the author and not.
    let base_skill = reg::Skill {
        id: skill_id.clone(),
        name: "Renamed".to_owned(),
        description: "Still a skill".to_owned(),
        category: reg::SkillCategory::Workflow.into(),
        hours_saved: 3,
        ..Default::default()
    };
    let mask = |paths: &[&str]| prost_types::FieldMask {
        paths: paths.iter().map(|p| (*p).to_owned()).collect(),
    };
    let mut cases = Cases::new(
        alice,
        reg::UpdateSkillRequest {
            skill: Some(base_skill),
            update_mask: Some(mask(&["name"])),
        },
    );
    fn skill_of(m: &mut reg::UpdateSkillRequest) -> &mut reg::Skill {
        m.skill.get_or_insert_with(Default::default)
    }
    cases
        .ids("skill.id", &skill_id, |m, id| skill_of(m).id = id)
        .texts("skill.name", |m, t| skill_of(m).name = t)
        .refused("no skill", |m| m.skill = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .refused_as(Who::User(BOB), "as a non-author", |_| {})
        .etags(|m, e| skill_of(m).etag = e)
        .case("output-only fields set to absurd values", |m| {
            let skill = skill_of(m);
            skill.slug = "\0".to_owned();
            skill.author_id = "a".repeat(1024 * 1024);
            skill.published_version = Some(u32::MAX);
            skill.total_uses = -1;
            skill.average_rating_x100 = i32::MIN;
            skill.create_time = Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: -1,
            });
        });
    for field in ["description", "category", "hours_saved"] {
        let paths = mask(&[field]);
        cases.case(
            format!("update_mask [{field}] with the default value"),
            |m| {
                m.update_mask = Some(paths);
                let skill = skill_of(m);
                skill.description = String::new();
                skill.category = 0;
            },
        );
    }
    for (label, text) in hostile_texts() {
        let refuse = invalid_anywhere(&text) || text.trim().is_empty();
        cases.expect(refuse, format!("skill.description: {label}"), |m| {
            m.update_mask = Some(mask(&["description"]));
            skill_of(m).description = text;
        });
    }
    for number in HOSTILE_ENUMS {
        cases.refused(format!("skill.category: {number}"), |m| {
            m.update_mask = Some(mask(&["category"]));
            skill_of(m).category = number;
        });
    }
    for hours in [-1, 10_001, i32::MAX, i32::MIN] {
        cases.refused(format!("skill.hours_saved: {hours}"), |m| {
            m.update_mask = Some(mask(&["hours_saved"]));
            skill_of(m).hours_saved = hours;
        });
    }
    for (label, paths, refuse) in hostile_masks("name") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "UpdateSkill",
        client,
        update_skill,
        cases.into_cases()
    );

    // DeleteSkill: the base etag is stale, so no case can delete the
    // fixture skill.
    let mut cases = Cases::new(
        alice,
        reg::DeleteSkillRequest {
            id: skill_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &skill_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as a non-author, no etag", |m| {
            m.etag.clear()
        });
    sweep_unary!(
        sweep,
        REGISTRY,
        "DeleteSkill",
        client,
        delete_skill,
        cases.into_cases()
    );

    // CreateSkillVersion: fields, content types, hashes, content.
    let mut cases = Cases::new(
        alice,
        reg::CreateSkillVersionRequest {
            skill_id: skill_id.clone(),
            content: b"# A version\n".to_vec(),
            content_type: "text/markdown".to_owned(),
            ..Default::default()
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .texts("content_type", |m, t| m.content_type = t)
        .texts("name", |m, t| m.name = t)
        .texts("description", |m, t| m.description = t)
        .texts("expected_sha256", |m, t| m.expected_sha256 = t)
        .refused("expected_sha256: 64 hex digits of another content", |m| {
            m.expected_sha256 = "ab".repeat(32);
        })
        .refused("content: empty", |m| m.content.clear())
        .refused("content: 3 MB (over the inline limit)", |m| {
            m.content = vec![b'x'; 3 * 1024 * 1024];
        })
        .refused("content: 1 MiB + 1 byte", |m| {
            m.content = vec![b'x'; 1024 * 1024 + 1]
        })
        .refused_as(Who::User(BOB), "as a non-author", |_| {})
        .case("publish a version of another skill's id", |m| {
            m.skill_id = fx.other_skill.id.clone();
            m.publish = true;
        });
    for (label, content_type, refuse) in [
        ("NUL in a parameter", "text/markdown; charset=\0", true),
        ("no subtype", "text/", true),
        ("slash only", "/", true),
        ("three parts", "a/b/c", true),
        ("parameters only", "; charset=utf-8", true),
        ("emoji parameter", "text/markdown; x=🔥", false),
        ("uppercase markdown", "TEXT/MARKDOWN; CHARSET=UTF-8", false),
    ] {
        cases.expect(refuse, format!("content_type: {label}"), |m| {
            m.content_type = content_type.to_owned();
        });
    }
    for (label, content, refuse) in hostile_markdown() {
        cases.expect(refuse, format!("content: {label}"), |m| m.content = content);
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "CreateSkillVersion",
        client,
        create_skill_version,
        cases.into_cases()
    );

    sweep_upload(sweep, fx).await;

    // GetSkillVersion, ReadSkillVersionContent: ids × version numbers.
    let versions = [
        ("version: 0", 0),
        ("version: u32::MAX", u32::MAX),
        ("version: i32::MAX + 1", 1 << 31),
        ("version: 999", 999),
    ];
    let mut cases = Cases::open(
        alice,
        reg::GetSkillVersionRequest {
            skill_id: skill_id.clone(),
            version: 1,
        },
    );
    cases.ids("skill_id", &skill_id, |m, id| m.skill_id = id);
    for (label, version) in versions {
        cases.refused(label, |m| m.version = version);
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "GetSkillVersion",
        client,
        get_skill_version,
        cases.into_cases()
    );
    let mut cases = Cases::open(
        alice,
        reg::ReadSkillVersionContentRequest {
            skill_id: skill_id.clone(),
            version: 1,
        },
    );
    cases.ids("skill_id", &skill_id, |m, id| m.skill_id = id);
    for (label, version) in versions {
        cases.refused(label, |m| m.version = version);
    }
    sweep_stream!(
        sweep,
        REGISTRY,
        "ReadSkillVersionContent",
        client,
        read_skill_version_content,
        cases.into_cases()
    );

    // ListSkillVersions, ListRatings: ids and pages.
    let mut cases = Cases::open(
        alice,
        reg::ListSkillVersionsRequest {
            skill_id: skill_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    let versions_token = fx.tokens[1].1.clone();
    cases.refused(
        "page_token: ListSkillVersions token of another skill",
        |m| {
            m.skill_id = fx.other_skill.id.clone();
            m.page_token = versions_token;
        },
    );
    sweep_unary!(
        sweep,
        REGISTRY,
        "ListSkillVersions",
        client,
        list_skill_versions,
        cases.into_cases()
    );
    let mut cases = Cases::open(
        alice,
        reg::ListRatingsRequest {
            skill_id: skill_id.clone(),
            ..Default::default()
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .pages(&fx.tokens, |m, s| m.page_size = s, |m, t| m.page_token = t);
    let ratings_token = fx.tokens[2].1.clone();
    cases.refused("page_token: ListRatings token of another skill", |m| {
        m.skill_id = fx.other_skill.id.clone();
        m.page_token = ratings_token;
    });
    sweep_unary!(
        sweep,
        REGISTRY,
        "ListRatings",
        client,
        list_ratings,
        cases.into_cases()
    );

    // PublishSkillVersion.
    let mut cases = Cases::new(
        alice,
        reg::PublishSkillVersionRequest {
            skill_id: skill_id.clone(),
            version: 1,
            etag: String::new(),
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .etags(|m, e| m.etag = e)
        .refused_as(Who::User(BOB), "as a non-author", |_| {});
    for (label, version) in versions {
        cases.refused(label, |m| m.version = version);
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "PublishSkillVersion",
        client,
        publish_skill_version,
        cases.into_cases()
    );

    // RateSkill.
    let mut cases = Cases::new(
        Who::User(BOB),
        reg::RateSkillRequest {
            request_id: String::new(),
            skill_id: skill_id.clone(),
            stars: 3,
            comment: String::new(),
            hours_saved_estimate: None,
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| m.skill_id = id)
        .texts("comment", |m, t| m.comment = t)
        .refused("comment: 2,001 characters", |m| {
            m.comment = "c".repeat(2_001)
        });
    for stars in [0, 6, -1, i32::MAX, i32::MIN, 65_539] {
        cases.refused(format!("stars: {stars}"), |m| m.stars = stars);
    }
    for hours in [-1, 10_001, i32::MAX, i32::MIN] {
        cases.refused(format!("hours_saved_estimate: {hours}"), |m| {
            m.hours_saved_estimate = Some(hours);
        });
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "RateSkill",
        client,
        rate_skill,
        cases.into_cases()
    );

    // RecordUsage.
    use reg::record_usage_request::Skill as Which;
    let mut cases = Cases::new(
        Who::User(BOB),
        reg::RecordUsageRequest {
            skill: Some(Which::SkillId(skill_id.clone())),
            version: None,
            tool_name: "sweep".to_owned(),
            request_id: String::new(),
        },
    );
    cases
        .ids("skill_id", &skill_id, |m, id| {
            m.skill = Some(Which::SkillId(id))
        })
        .texts("skill_slug", |m, t| m.skill = Some(Which::SkillSlug(t)))
        .texts("tool_name", |m, t| m.tool_name = t)
        .texts("request_id", |m, t| m.request_id = t)
        .refused("no skill", |m| m.skill = None);
    for (label, version) in versions {
        cases.refused(label, |m| m.version = Some(version));
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "RecordUsage",
        client,
        record_usage,
        cases.into_cases()
    );

    // BatchRecordUsage: sizes, and every entry hostile at once.
    let good = reg::RecordUsageRequest {
        skill: Some(Which::SkillId(skill_id.clone())),
        version: None,
        tool_name: "sweep".to_owned(),
        request_id: String::new(),
    };
    let mut cases = Cases::new(
        Who::User(BOB),
        reg::BatchRecordUsageRequest {
            usages: vec![good.clone()],
        },
    );
    let bad_id = reg::RecordUsageRequest {
        skill: Some(Which::SkillId("not-a-uuid".to_owned())),
        ..good.clone()
    };
    let bad_version = reg::RecordUsageRequest {
        version: Some(0),
        ..good.clone()
    };
    let same_key = reg::RecordUsageRequest {
        request_id: "same-key".to_owned(),
        ..good.clone()
    };
    cases
        .refused("no usages", |m| m.usages.clear())
        .refused("501 usages", |m| m.usages = vec![good.clone(); 501])
        .refused("500 usages with malformed ids", |m| {
            m.usages = vec![bad_id.clone(); 500]
        })
        .refused("500 usages with version 0", |m| {
            m.usages = vec![bad_version.clone(); 500]
        })
        .case("500 usages with one request_id", |m| {
            m.usages = vec![same_key.clone(); 500]
        })
        .refused("second usage without a skill", |m| {
            m.usages.push(reg::RecordUsageRequest {
                skill: None,
                ..good.clone()
            });
        })
        .refused("second usage of a random skill", |m| {
            m.usages.push(reg::RecordUsageRequest {
                skill: Some(Which::SkillId(uuid::Uuid::new_v4().to_string())),
                ..good.clone()
            });
        });
    for (label, text) in hostile_texts() {
        let refuse = invalid_anywhere(&text);
        let entry = reg::RecordUsageRequest {
            tool_name: text,
            ..good.clone()
        };
        cases.expect(refuse, format!("usages[1].tool_name: {label}"), |m| {
            m.usages.push(entry)
        });
    }
    for (label, id, malformed) in hostile_ids(&skill_id) {
        // A well-formed id of no skill is NOT_FOUND: refused all the same.
        let refuse = malformed || !id.contains(&skill_id);
        let entry = reg::RecordUsageRequest {
            skill: Some(Which::SkillId(id)),
            ..good.clone()
        };
        cases.expect(refuse, format!("usages[1].skill_id: {label}"), |m| {
            m.usages.push(entry)
        });
    }
    sweep_unary!(
        sweep,
        REGISTRY,
        "BatchRecordUsage",
        client,
        batch_record_usage,
        cases.into_cases()
    );
}

/// UploadSkillVersion: a client stream whose messages are each hostile.
async fn sweep_upload(sweep: &mut Sweep<'_>, fx: &Fixtures) {
    use reg::upload_skill_version_request::Payload;
    let client = sweep.app.registry();
    let skill_id = fx.skill.id.clone();
    let header = |h: reg::UploadSkillVersionHeader| reg::UploadSkillVersionRequest {
        payload: Some(Payload::Header(h)),
    };
    let chunk = |bytes: &[u8]| reg::UploadSkillVersionRequest {
        payload: Some(Payload::Chunk(bytes.to_vec())),
    };
    let base = reg::UploadSkillVersionHeader {
        skill_id: skill_id.clone(),
        content_type: "text/markdown".to_owned(),
        ..Default::default()
    };
    let body = b"# Uploaded\n".as_slice();

    // Header fields, each followed by one good chunk.
    let mut cases = Cases::new(Who::User(ALICE), base.clone());
    cases
        .ids("header.skill_id", &skill_id, |m, id| m.skill_id = id)
        .texts("header.content_type", |m, t| m.content_type = t)
        .texts("header.name", |m, t| m.name = t)
        .texts("header.description", |m, t| m.description = t)
        .texts("header.expected_sha256", |m, t| m.expected_sha256 = t)
        .refused_as(Who::User(BOB), "as a non-author", |_| {});
    let mut list: Vec<Case<Vec<reg::UploadSkillVersionRequest>>> = cases
        .into_cases()
        .into_iter()
        .map(|case| Case {
            name: case.name,
            who: case.who,
            message: vec![header(case.message), chunk(body)],
            refuse: case.refuse,
        })
        .collect();

    // The shape of the stream: all but the last must be refused.
    let shapes: Vec<(&str, Vec<reg::UploadSkillVersionRequest>)> = vec![
        ("empty stream", Vec::new()),
        ("a chunk first", vec![chunk(body), header(base.clone())]),
        (
            "two headers",
            vec![header(base.clone()), header(base.clone()), chunk(body)],
        ),
        (
            "a header after a chunk",
            vec![header(base.clone()), chunk(body), header(base.clone())],
        ),
        (
            "a message with no payload",
            vec![reg::UploadSkillVersionRequest { payload: None }],
        ),
        (
            "a header with no payload after it",
            vec![
                header(base.clone()),
                reg::UploadSkillVersionRequest { payload: None },
            ],
        ),
        ("a header and no content", vec![header(base.clone())]),
        (
            "a header and empty chunks",
            vec![header(base.clone()), chunk(b""), chunk(b"")],
        ),
        (
            "a 5 MB chunk (over the decoding limit)",
            vec![header(base.clone()), chunk(&vec![b'x'; 5 * 1024 * 1024])],
        ),
        (
            "a 3 MB chunk",
            vec![header(base.clone()), chunk(&vec![b'x'; 3 * 1024 * 1024])],
        ),
    ];
    let last = shapes.len() - 1;
    for (index, (label, messages)) in shapes.into_iter().enumerate() {
        list.push(Case {
            name: label.to_owned(),
            who: Who::User(ALICE),
            message: messages,
            refuse: index != last,
        });
    }
    // Hostile front matter, whole and split into 7-byte chunks.
    for (label, content, refuse) in hostile_markdown() {
        let mut split = vec![header(base.clone())];
        split.extend(content.chunks(7).map(chunk));
        list.push(Case {
            name: format!("content: {label}"),
            who: Who::User(ALICE),
            message: vec![header(base.clone()), chunk(&content)],
            refuse,
        });
        list.push(Case {
            name: format!("content in 7-byte chunks: {label}"),
            who: Who::User(ALICE),
            message: split,
            refuse,
        });
    }
    for case in list {
        let mut client = client.clone();
        let messages = tokio_stream::iter(case.message);
        let result = settle(client.upload_skill_version(request(case.who, messages)))
            .await
            .map(drop);
        sweep
            .check(
                REGISTRY,
                "UploadSkillVersion",
                &case.name,
                case.refuse,
                result,
            )
            .await;
    }
}

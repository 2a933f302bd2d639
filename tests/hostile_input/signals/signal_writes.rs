//! The Signals cases that write signals: create, batch, update, delete.

use super::*;

/// The hostile values of one SignalInput, each set through `at`: texts,
/// enums, embeddings (for a workspace of [`DIMENSION`]) and Structs.
/// Without `all_structs`, only the Structs that must be refused for
/// depth, NaN or NUL (BatchCreateSignals: CreateSignal covers the rest).
fn input_cases<T: Clone>(
    cases: &mut Cases<T>,
    prefix: &str,
    all_structs: bool,
    at: impl Fn(&mut T) -> &mut sg::SignalInput + Copy,
) {
    let field = |name: &str| format!("{prefix}{name}");
    texts_by(cases, &field("verbatim"), Rule::Required(20_000), |m, t| {
        at(m).verbatim = t
    });
    texts_by(
        cases,
        &field("interpretation"),
        Rule::Bounded(20_000),
        |m, t| at(m).interpretation = t,
    );
    texts_by(cases, &field("user_segment"), Rule::Bounded(200), |m, t| {
        at(m).user_segment = t
    });
    texts_by(cases, &field("source_ref"), Rule::Optional(500), |m, t| {
        at(m).source_ref = t
    });
    texts_by(
        cases,
        &field("inbox_item_id"),
        Rule::Optional(200),
        |m, t| at(m).inbox_item_id = t,
    );
    cases
        .enums(&field("severity"), |m, n| at(m).severity = n)
        .enums(&field("frequency"), |m, n| at(m).frequency = n)
        .enums(&field("source"), |m, n| at(m).source = n)
        .refused(format!("{}: UNSPECIFIED", field("source")), |m| {
            at(m).source = 0
        });
    for (label, embedding, refuse) in hostile_embeddings() {
        cases.expect(refuse, format!("{}: {label}", field("embedding")), |m| {
            at(m).embedding = embedding;
        });
    }
    for (label, s) in hostile_structs() {
        let keep = all_structs
            || label.contains("33 levels")
            || label.contains("NaN")
            || label.contains("NUL in a key")
            || label.contains("64 KiB");
        if !keep {
            continue;
        }
        let refuse = metadata_refused(&s);
        let classification = s.clone();
        cases.expect(
            refuse,
            format!("{}: {label}", field("source_metadata")),
            |m| at(m).source_metadata = Some(s),
        );
        let refuse = classification_refused(&classification);
        cases.expect(
            refuse,
            format!("{}: {label}", field("ai_classification")),
            |m| at(m).ai_classification = Some(classification),
        );
    }
}

pub(super) async fn sweep_signal_writes(sweep: &mut Sweep<'_>, sfx: &Sfx) {
    let client = sweep.app.signals();
    let alice = Who::User(ALICE);
    let ingest_id = sfx.ingest.id.clone();

    // CreateSignal, in the ingest workspace.
    let mut cases = Cases::new(
        alice,
        sg::CreateSignalRequest {
            workspace_id: ingest_id.clone(),
            signal: Some(input("Hostile signal")),
        },
    );
    fn signal_in(m: &mut sg::CreateSignalRequest) -> &mut sg::SignalInput {
        m.signal.get_or_insert_with(Default::default)
    }
    cases.ids("workspace_id", &ingest_id, |m, id| m.workspace_id = id);
    input_cases(&mut cases, "signal.", true, signal_in);
    let fresh_id = sfx.fresh.id.clone();
    cases
        .refused("no signal", |m| m.signal = None)
        .refused("signal.verbatim: 5 MB (over the decoding limit)", |m| {
            signal_in(m).verbatim = "v".repeat(5 * 1024 * 1024);
        })
        .refused(
            "signal.embedding: 4,097 floats, in a workspace without embeddings",
            |m| {
                m.workspace_id = fresh_id.clone();
                signal_in(m).embedding = embedding_of(4097);
            },
        )
        .case(
            "signal.embedding: 4,096 floats, in a workspace without embeddings",
            |m| {
                m.workspace_id = fresh_id.clone();
                signal_in(m).embedding = embedding_of(4096);
            },
        )
        .case("every field at its limit", |m| {
            let s = signal_in(m);
            s.verbatim = "𝕏".repeat(20_000);
            s.interpretation = "𝕏".repeat(20_000);
            s.user_segment = "𝕏".repeat(200);
            s.source_ref = "𝕏".repeat(500);
            s.inbox_item_id = "𝕏".repeat(200);
            s.severity = sg::Severity::Critical.into();
            s.frequency = sg::Frequency::Rare.into();
            s.source = sg::Source::Other.into();
            s.embedding = embedding_of(DIMENSION);
            s.source_metadata = Some(nested_struct(32));
            s.ai_classification = Some(nested_list(31));
        })
        .case("a source_ref again, with another verbatim", |m| {
            signal_in(m).source_ref = "sweep-delivery-1".to_owned();
            signal_in(m).verbatim = "First delivery".to_owned();
        })
        .case("the same source_ref again, with another verbatim", |m| {
            signal_in(m).source_ref = "sweep-delivery-1".to_owned();
            signal_in(m).verbatim = "Retried delivery".to_owned();
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "CreateSignal",
        client,
        create_signal,
        cases.into_cases()
    );

    // BatchCreateSignals, in the ingest workspace: the hostile value sits
    // in the middle entry of three.
    let mut cases = Cases::new(
        alice,
        sg::BatchCreateSignalsRequest {
            workspace_id: ingest_id.clone(),
            signals: vec![input("Batch a"), input("Batch b"), input("Batch c")],
        },
    );
    fn middle(m: &mut sg::BatchCreateSignalsRequest) -> &mut sg::SignalInput {
        if m.signals.len() < 2 {
            m.signals.resize_with(2, Default::default);
        }
        &mut m.signals[1]
    }
    cases.ids("workspace_id", &ingest_id, |m, id| m.workspace_id = id);
    input_cases(&mut cases, "signals[1].", false, middle);
    let fresh_batch_id = sfx.fresh_batch.id.clone();
    let uuid_key = uuid::Uuid::new_v4().to_string();
    cases
        .refused("signals: empty", |m| m.signals.clear())
        .refused("signals: 501 entries", |m| {
            m.signals = vec![input("Batch of 501"); 501];
        })
        .case("signals: 500 entries", |m| {
            m.signals = vec![input("Batch of 500"); 500];
        })
        .refused("signals: 500 entries, all invalid", |m| {
            m.signals = vec![input(" "); 500];
        })
        .refused(
            "signals: 500 entries of 20,000 characters (over the decoding limit)",
            |m| m.signals = vec![input(&"v".repeat(20_000)); 500],
        )
        .refused(
            "signals: 30 entries, each nested 33 levels under UUID keys",
            |m| {
                let deep = sg::SignalInput {
                    source_metadata: Some(deep_under(&uuid_key, 33, value(Kind::NullValue(0)))),
                    ..input("Deep")
                };
                m.signals = vec![deep; 30];
            },
        )
        .refused(
            "entries of 3 and 5 floats, in a workspace without embeddings",
            |m| {
                m.workspace_id = fresh_batch_id.clone();
                m.signals[0].embedding = embedding_of(3);
                m.signals[2].embedding = embedding_of(5);
            },
        )
        .case("two entries with the same source_ref", |m| {
            m.signals[0].source_ref = "sweep-batch-delivery".to_owned();
            m.signals[2].source_ref = "sweep-batch-delivery".to_owned();
        })
        .case("an entry with the source_ref of a stored signal", |m| {
            m.signals[1].source_ref = "sweep-delivery-1".to_owned();
        })
        .refused("the last entry invalid", |m| {
            m.signals[2].verbatim = "\0".to_owned();
        })
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {});
    sweep_unary!(
        sweep,
        SIGNALS,
        "BatchCreateSignals",
        client,
        batch_create_signals,
        cases.into_cases()
    );

    // UpdateSignal: the target signal of the ingest workspace, in status
    // NEW until the status cases at the end move it.
    let target_id = sfx.target.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::UpdateSignalRequest {
            signal: Some(sg::Signal {
                id: target_id.clone(),
                interpretation: "Triaged".to_owned(),
                ..Default::default()
            }),
            update_mask: mask(&["interpretation"]),
        },
    );
    fn signal_of(m: &mut sg::UpdateSignalRequest) -> &mut sg::Signal {
        m.signal.get_or_insert_with(Default::default)
    }
    cases.ids("signal.id", &target_id, |m, id| signal_of(m).id = id);
    texts_by(
        &mut cases,
        "signal.interpretation",
        Rule::Bounded(20_000),
        |m, t| signal_of(m).interpretation = t,
    );
    texts_by(
        &mut cases,
        "signal.user_segment",
        Rule::Bounded(200),
        |m, t| {
            m.update_mask = mask(&["user_segment"]);
            signal_of(m).user_segment = t;
        },
    );
    for (path, set) in [
        (
            "severity",
            (|s, n| s.severity = n) as fn(&mut sg::Signal, i32),
        ),
        ("frequency", |s, n| s.frequency = n),
        ("status", |s, n| s.status = n),
    ] {
        for number in HOSTILE_ENUMS {
            cases.refused(format!("signal.{path}: {number}"), |m| {
                m.update_mask = mask(&[path]);
                set(signal_of(m), number);
            });
        }
    }
    cases
        .refused("signal.status: UNSPECIFIED", |m| {
            m.update_mask = mask(&["status"]);
            signal_of(m).status = 0;
        })
        .case("signal.severity: UNSPECIFIED (clears it)", |m| {
            m.update_mask = mask(&["severity"]);
        });
    for (label, embedding, refuse) in hostile_embeddings() {
        cases.expect(refuse, format!("signal.embedding: {label}"), |m| {
            m.update_mask = mask(&["embedding"]);
            signal_of(m).embedding = embedding;
        });
    }
    // One Struct field at a time, each case replacing the last, so the
    // signal never holds two huge ones (see the growth cases at the end).
    for (label, s) in hostile_structs() {
        cases.expect(
            metadata_refused(&s),
            format!("signal.source_metadata: {label}"),
            |m| {
                m.update_mask = mask(&["source_metadata"]);
                signal_of(m).source_metadata = Some(s);
            },
        );
    }
    cases.case("signal.source_metadata: absent (clears it)", |m| {
        m.update_mask = mask(&["source_metadata"]);
    });
    for (label, s) in hostile_structs() {
        cases.expect(
            classification_refused(&s),
            format!("signal.ai_classification: {label}"),
            |m| {
                m.update_mask = mask(&["ai_classification"]);
                signal_of(m).ai_classification = Some(s);
            },
        );
    }
    cases
        .case("signal.ai_classification: absent (clears it)", |m| {
            m.update_mask = mask(&["ai_classification"]);
        })
        .refused("update_mask: verbatim (not updatable)", |m| {
            m.update_mask = mask(&["verbatim"]);
            signal_of(m).verbatim = "Rewritten".to_owned();
        })
        .refused("update_mask: source (not updatable)", |m| {
            m.update_mask = mask(&["source"]);
            signal_of(m).source = sg::Source::Email.into();
        })
        .refused("no signal", |m| m.signal = None)
        .refused("no update_mask", |m| m.update_mask = None)
        .etags(|m, e| signal_of(m).etag = e)
        .refused_as(Who::User(VIEWER), "as a viewer", |_| {})
        .refused_as(Who::User(OUTSIDER), "as a non-member", |_| {})
        .refused_as(
            Who::User(BOB),
            "a signal of a workspace Bob is not in",
            |m| signal_of(m).id = sfx.other_signal.id.clone(),
        )
        .push(Who::User(BOB), "as an editor".to_owned(), false, |_| {})
        .case("output-only fields set to absurd values", |m| {
            let s = signal_of(m);
            s.workspace_id = sfx.other.id.clone();
            s.verbatim = "v".repeat(1024 * 1024);
            s.source_ref = "\0".to_owned();
            s.embedding_dimension = -1;
            s.inbox_item_id = "\u{202e}".to_owned();
            s.process_time = Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: i32::MAX,
            });
        });
    for (label, paths, refuse) in hostile_masks("interpretation") {
        cases.expect(refuse, format!("update_mask: {label}"), |m| {
            m.update_mask = Some(prost_types::FieldMask { paths });
        });
    }
    // The status moves, in this order: the signal is NEW.
    let status = |m: &mut sg::UpdateSignalRequest, to: sg::SignalStatus| {
        m.update_mask = mask(&["status"]);
        signal_of(m).status = to.into();
    };
    cases
        .refused("signal.status: NEW to LINKED", |m| {
            status(m, sg::SignalStatus::Linked)
        })
        .case("signal.status: NEW again", |m| {
            status(m, sg::SignalStatus::New)
        })
        .case("signal.status: NEW to ARCHIVED", |m| {
            status(m, sg::SignalStatus::Archived)
        })
        .refused("signal.status: ARCHIVED to LINKED", |m| {
            status(m, sg::SignalStatus::Linked)
        })
        .refused("signal.status: ARCHIVED to NEW", |m| {
            status(m, sg::SignalStatus::New)
        })
        .case("signal.status: ARCHIVED to REVIEWED", |m| {
            status(m, sg::SignalStatus::Reviewed)
        })
        .refused("signal.status: REVIEWED to NEW", |m| {
            status(m, sg::SignalStatus::New)
        });
    // Last, growth: each Struct alone fits in a message, both together do
    // not. What the API stores must read back (see `sweep_signals_read_back`).
    let big = object("s", value(Kind::StringValue("s".repeat(5 * 512 * 1024))));
    cases
        .expect(
            metadata_refused(&big),
            "signal.source_metadata: 2.5 MB of text",
            |m| {
                m.update_mask = mask(&["source_metadata"]);
                signal_of(m).source_metadata = Some(big.clone());
            },
        )
        .expect(
            classification_refused(&big),
            "signal.ai_classification: 2.5 MB of text while source_metadata holds 2.5 MB",
            |m| {
                m.update_mask = mask(&["ai_classification"]);
                signal_of(m).ai_classification = Some(big.clone());
            },
        );
    sweep_unary!(
        sweep,
        SIGNALS,
        "UpdateSignal",
        client,
        update_signal,
        cases.into_cases()
    );

    // DeleteSignal: the base etag is stale, so nothing is deleted.
    let signal_id = sfx.signal.id.clone();
    let mut cases = Cases::new(
        alice,
        sg::DeleteSignalRequest {
            id: signal_id.clone(),
            etag: "stale".to_owned(),
        },
    );
    cases
        .ids("id", &signal_id, |m, id| m.id = id)
        .etags(|m, e| m.etag = e)
        .refused("a project id", |m| m.id = sfx.project.id.clone())
        .refused_as(Who::User(VIEWER), "as a viewer, no etag", |m| {
            m.etag.clear()
        })
        .refused_as(Who::User(OUTSIDER), "as a non-member, no etag", |m| {
            m.etag.clear()
        })
        .refused_as(
            Who::User(BOB),
            "a signal of a workspace Bob is not in, no etag",
            |m| {
                m.id = sfx.other_signal.id.clone();
                m.etag.clear();
            },
        );
    sweep_unary!(
        sweep,
        SIGNALS,
        "DeleteSignal",
        client,
        delete_signal,
        cases.into_cases()
    );
}

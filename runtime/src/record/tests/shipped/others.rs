//! The shipped event files about change shapes rather than values: TOAST and old rows, unicode
//! names, empty batches, one large batch.

use std::path::Path;

use super::*;
use Value as V;

/// Writes `toast-and-keys.jsonl`.
pub fn toast_and_keys(dir: &Path) {
    let docs_rel = rel(
        16_410,
        "public",
        "documents",
        &[
            ("tenant", "integer", 23, true),
            ("id", "bigint", 20, true),
            ("title", "text", 25, false),
            ("body", "text", 25, false),
            ("meta", "jsonb", 3802, false),
            ("blob", "bytea", 17, false),
        ],
    );
    let full = rel(
        16_411,
        "audit",
        "events",
        &[("id", "integer", 23, true), ("payload", "text", 25, false)],
    );
    let big = "x".repeat(3000);
    let mut a = Tx::new(750, 0x1_0000_0000, T0 + 10);
    let mut c1 = vec![
        a.ins(
            0,
            vec![
                V::Int(1),
                V::Int(10),
                t("first"),
                t(&big),
                j(r#"{"v": 1}"#),
                V::Bytes(vec![7; 40]),
            ],
        ),
        a.ins(1, vec![V::Int(1), t("created")]),
    ];
    let mut b = Tx::new(751, 0x1_0000_0100, T0 + 11);
    c1.extend([
        // unchanged TOAST: absent from "new", listed; a real NULL stays null
        b.change(
            Operation::Update,
            0,
            Some(vec![
                V::Int(1),
                V::Int(10),
                V::Null,
                V::UnchangedToast,
                V::UnchangedToast,
                V::Null,
            ]),
            None,
        ),
        // key change: old key only, non-key columns null and absent
        b.change(
            Operation::Update,
            0,
            Some(vec![
                V::Int(1),
                V::Int(11),
                t("renamed"),
                V::UnchangedToast,
                j("{}"),
                V::UnchangedToast,
            ]),
            Some((
                true,
                vec![V::Int(1), V::Int(10), V::Null, V::Null, V::Null, V::Null],
            )),
        ),
        // REPLICA IDENTITY FULL: the whole old row, NULLs included
        b.change(
            Operation::Update,
            1,
            Some(vec![V::Int(1), t("updated")]),
            Some((false, vec![V::Int(1), t("created")])),
        ),
        b.change(
            Operation::Update,
            1,
            Some(vec![V::Int(1), V::Null]),
            Some((false, vec![V::Int(1), t("updated")])),
        ),
    ]);
    let mut c = Tx::new(752, 0x1_0000_0200, T0 + 12);
    c1.extend([
        c.change(
            Operation::Delete,
            0,
            None,
            Some((
                true,
                vec![V::Int(1), V::Int(11), V::Null, V::Null, V::Null, V::Null],
            )),
        ),
        c.change(
            Operation::Delete,
            1,
            None,
            Some((false, vec![V::Int(1), V::Null])),
        ),
        // a delete on a table without replica identity: no old row at all
        c.change(Operation::Delete, 1, None, None),
    ]);
    let mut d = Tx::new(753, 0x1_0000_0300, T0 + 13);
    let c2 = vec![
        d.change(Operation::Truncate, 0, None, None),
        d.change(Operation::Truncate, 1, None, None),
    ];
    let toast = File {
        batches: vec![
            (
                Some("NULL vs unchanged TOAST, key-only and full old rows, deletes"),
                Batch {
                    relations: vec![docs_rel.clone(), full.clone()],
                    changes: c1,
                },
            ),
            (
                Some("TRUNCATE of two tables: one change per table"),
                Batch {
                    relations: vec![docs_rel, full],
                    changes: c2,
                },
            ),
        ],
    };
    std::fs::write(dir.join("toast-and-keys.jsonl"), toast.text()).unwrap();
}

/// Writes `unicode.jsonl`.
pub fn unicode(dir: &Path) {
    let u = rel(
        16_420,
        "résumé",
        "表 \"quoted\"",
        &[
            ("id", "integer", 23, true),
            ("名前", "text", 25, false),
            ("emoji 😀", "text", 25, false),
            ("c", "character varying(20)", 1043, false),
        ],
    );
    let mut e = Tx::new(760, 0xFFFF_FFFF_0000_0000, T0 + 20);
    let texts = [
        ("ünïcödé", "😀👍🏽👨‍👩‍👧", "Zürich"),
        ("日本語のテキスト", "🇫🇷", "ελληνικά"),
        (
            "עברית RTL ‏mark",
            "e\u{301} (combining)",
            "\u{200b}zero\u{feff}width",
        ),
        (
            "quote \" backslash \\ slash /",
            "tab\tnewline\ncr\r",
            "ctl \u{1}\u{1f}\u{7f}",
        ),
        ("line\u{2028}sep\u{2029}", "\u{10ffff}", "𝄞 music"),
        ("", " ", "nul-free"),
    ];
    let uc: Vec<Change> = texts
        .iter()
        .enumerate()
        .map(|(i, (a, b, c))| e.ins(0, vec![V::Int(i as i64), t(a), t(b), t(c)]))
        .collect();
    let unicode = File {
        batches: vec![(
            Some("unicode in text, column, schema and table names; escapes"),
            Batch {
                relations: vec![u],
                changes: uc,
            },
        )],
    };
    std::fs::write(dir.join("unicode.jsonl"), unicode.text()).unwrap();
}

/// Writes `batches.jsonl`: empty batches around real ones, relations not referenced.
pub fn batches(dir: &Path) {
    let small = rel(16_430, "public", "small", &[("id", "integer", 23, true)]);
    let unused = rel(16_431, "public", "unused", &[("id", "integer", 23, true)]);
    let mut g = Tx::new(770, 0x2_0000_0000, T0 + 30);
    let x = g.ins(1, vec![V::Int(1)]);
    let y = g.ins(1, vec![V::Int(2)]);
    let batches = File {
        batches: vec![
            (
                Some("an empty batch"),
                Batch {
                    relations: vec![small.clone()],
                    changes: vec![],
                },
            ),
            (
                Some("an empty batch with no relations"),
                Batch {
                    relations: vec![],
                    changes: vec![],
                },
            ),
            (
                Some("a relation no change refers to comes first"),
                Batch {
                    relations: vec![unused, small.clone()],
                    changes: vec![x],
                },
            ),
            (
                None,
                Batch {
                    relations: vec![small.clone()],
                    changes: vec![Change { relation: 0, ..y }],
                },
            ),
            (
                Some("empty again at the end"),
                Batch {
                    relations: vec![],
                    changes: vec![],
                },
            ),
        ],
    };
    std::fs::write(dir.join("batches.jsonl"), batches.text()).unwrap();
}

/// Writes `large.jsonl`: one batch of 5000 changes over 50 transactions.
pub fn large(dir: &Path) {
    let orders = rel(
        16_440,
        "public",
        "orders",
        &[
            ("id", "bigint", 20, true),
            ("customer", "text", 25, false),
            ("amount", "numeric(12,2)", 1700, false),
            ("status", "text", 25, false),
            ("created", "timestamp with time zone", 1184, false),
        ],
    );
    let mut changes = Vec::new();
    for txn in 0..50u32 {
        let mut tx = Tx::new(
            1000 + txn,
            0x3_0000_0000 + u64::from(txn) * 0x10000,
            T0 + i64::from(txn) * 1_000_000,
        );
        for k in 0..100i64 {
            let id = i64::from(txn) * 100 + k;
            let row = vec![
                V::Int(id),
                t(&format!("customer-{}", id % 97)),
                V::Numeric(format!("{}.{:02}", id * 7 % 10_000, id % 100)),
                t(["new", "paid", "shipped"][(id % 3) as usize]),
                V::Timestamptz(T0 + id * 1_000),
            ];
            changes.push(match k % 10 {
                9 => tx.change(
                    Operation::Delete,
                    0,
                    None,
                    Some((
                        true,
                        vec![V::Int(id - 1), V::Null, V::Null, V::Null, V::Null],
                    )),
                ),
                5 => tx.change(Operation::Update, 0, Some(row), None),
                _ => tx.ins(0, row),
            });
        }
    }
    let large = File {
        batches: vec![(
            Some("5000 changes in one batch (50 transactions of 100)"),
            Batch {
                relations: vec![orders],
                changes,
            },
        )],
    };
    std::fs::write(dir.join("large.jsonl"), large.text()).unwrap();
}

//! Query strings no client should send to GET /tasks.

use serde_json::{json, Value};

use super::super::many_tag_filters;

/// Query strings no client should send to GET /tasks.
pub(super) fn hostile_queries() -> Vec<String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let cursor = |value: Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(&value).unwrap());
    let mut queries: Vec<String> = [
        "q=%00",
        "q=%FF%FE",
        "q=*",
        "q=%22",
        "q=%22%22*",
        "q=a%20OR%20b",
        "q=NEAR(a%20b)",
        "q=title%3Ax",
        "q=-a",
        "q=%5E",
        "q=%C2%BD",
        "q=%C2%B2",
        "q=%E2%85%AB",
        "q=%D9%A3",
        "q=e%CC%81",
        "q=%C4%B0stanbul",
        "q=%F0%9F%8E%89",
        "q=%EF%B7%BD",
        "q=a:*%20%26%20b",
        "q=!a",
        "q=a%7Cb",
        "q=%27",
        "q=%5C",
        "q=a%00b",
        "q=1e999",
        "q=0",
        "tag=%00",
        "tag=%FF",
        "tag=%F0%9F%8E%89",
        "tag=a&tag=a&tag=a",
        "tag=%27%3B--",
        "due_before=9999-12-31T23:59:59Z",
        "due_after=0000-01-01T00:00:00Z",
        "due_before=%00",
        "due_after=2026-06-30T23:59:60Z",
        "limit=99999999999999999999",
        "limit=1e3",
        "limit=%00",
        "limit=2&limit=3",
        "sort=%00",
        "order=DESC",
        "status=open%00",
        "overdue=TRUE",
        "%FF=1",
        "=",
        "&&&",
        "a",
        "%",
        "q=%",
        "q=%zz",
        "cursor=%00",
        "cursor=%FF",
        "cursor=====",
        "cursor=e30",
        "cursor=bnVsbA",
    ]
    .iter()
    .map(|q| (*q).to_owned())
    .collect();
    queries.push(format!("q={}", "a".repeat(10_000)));
    queries.push(format!("q={}", "word%20".repeat(1_000)));
    queries.push(format!("q={}", "%F0%9F%8E%89x".repeat(500)));
    queries.push(format!("tag={}", "a".repeat(10_000)));
    // A thousand tag filters have a test of their own (they are slow to refuse).
    queries.push(many_tag_filters(100));
    // Cursors a client forged: a key of the wrong type for the sort, text with NUL bytes,
    // keys and ids out of any range.
    let forged = [
        ("", json!({ "s": "created_at", "o": "ASC", "k": 123, "i": "x" })),
        (
            "sort=updated_at&order=desc&",
            json!({ "s": "updated_at", "o": "DESC", "k": -1, "i": "" }),
        ),
        (
            "sort=priority&",
            json!({ "s": "priority", "o": "ASC", "k": "high", "i": "x" }),
        ),
        (
            "sort=priority&",
            json!({ "s": "priority", "o": "ASC", "k": i64::MAX, "i": "\u{0}" }),
        ),
        (
            "sort=due_at&order=desc&",
            json!({ "s": "due_at", "o": "DESC", "k": i64::MIN, "i": "" }),
        ),
        (
            "sort=title&",
            json!({ "s": "title", "o": "ASC", "k": "\u{0}", "i": "\u{0}" }),
        ),
        (
            "sort=title&",
            json!({ "s": "title", "o": "ASC", "k": "a".repeat(5_000), "i": "🎉" }),
        ),
        ("sort=title&", json!({ "s": "title", "o": "ASC", "k": 1.5, "i": "x" })),
        ("sort=title&", json!({ "s": "title", "o": "ASC", "k": null, "i": null })),
        ("sort=title&", json!({ "s": "title", "o": "ASC", "k": ["x"], "i": {} })),
        (
            "",
            json!({ "s": "created_at", "o": "ASC", "k": "x", "i": "y", "extra": [1, 2, 3] }),
        ),
        ("", json!([])),
    ];
    for (prefix, value) in forged {
        queries.push(format!("{prefix}cursor={}", cursor(value)));
    }
    queries
}

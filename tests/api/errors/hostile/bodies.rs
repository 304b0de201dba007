//! Bodies no client should send: deep nesting, odd numbers, broken encodings, odd shapes
//! and values at the edges of every field.

use serde_json::{json, Value};

use super::json_bytes;

/// `n` distinct three-character tags.
fn distinct_short_tags(n: usize) -> Vec<String> {
    const DIGITS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    (0..n)
        .map(|i| {
            [i / 1296, (i / 36) % 36, i % 36]
                .iter()
                .map(|&d| DIGITS[d] as char)
                .collect()
        })
        .collect()
}

/// Bodies no client should send.
pub(super) fn hostile_bodies() -> Vec<(String, Vec<u8>)> {
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let mut raw = |label: &str, bytes: Vec<u8>| bodies.push((label.to_owned(), bytes));

    // Nesting.
    raw(
        "arrays nested 20,000 deep",
        format!(
            r#"{{"title":"x","description":{}{}}}"#,
            "[".repeat(20_000),
            "]".repeat(20_000)
        )
        .into_bytes(),
    );
    raw(
        "arrays nested past the body limit",
        format!("{}{}", "[".repeat(40_000), "]".repeat(40_000)).into_bytes(),
    );
    raw(
        "objects nested 10,000 deep",
        format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000)).into_bytes(),
    );
    raw(
        "title nested 200 deep",
        format!(r#"{{"title":{}"x"{}}}"#, "[".repeat(200), "]".repeat(200)).into_bytes(),
    );
    raw("title nested 3 deep", br#"{"title":[[["x"]]]}"#.to_vec());
    raw("unclosed nesting", "[{".repeat(5_000).into_bytes());

    // Numbers.
    raw("infinite float", br#"{"title":"x","priority":1e999999}"#.to_vec());
    raw(
        "huge integer title",
        br#"{"title":123456789012345678901234567890123456789012345678901234567890}"#.to_vec(),
    );
    raw(
        "60,000-digit integer",
        format!(r#"{{"title":"x","tags":[{}]}}"#, "9".repeat(60_000)).into_bytes(),
    );
    raw(
        "tiny and huge floats",
        br#"{"title":"x","reminders":[-1e308,1e-400,-0.0]}"#.to_vec(),
    );
    raw(
        "u64 overflow due_at",
        br#"{"title":"x","due_at":18446744073709551616}"#.to_vec(),
    );
    raw("NaN", br#"{"title":"x","priority":NaN}"#.to_vec());

    // Invalid UTF-8 and encodings.
    raw("invalid UTF-8 in title", b"{\"title\":\"\xff\xfe\xfd\"}".to_vec());
    raw("overlong NUL", b"{\"title\":\"\xc0\x80\"}".to_vec());
    raw("truncated UTF-8", b"{\"title\":\"\xe2\x82\"}".to_vec());
    raw("invalid UTF-8 in a key", b"{\"\xff\":\"x\",\"title\":\"x\"}".to_vec());
    raw("lone surrogate", br#"{"title":"\ud800"}"#.to_vec());
    raw(
        "reversed surrogates",
        br#"{"title":"ok","description":"\udfff\ud800"}"#.to_vec(),
    );
    raw("byte order mark", b"\xef\xbb\xbf{\"title\":\"bom\"}".to_vec());
    raw(
        "UTF-16",
        "{\"title\":\"x\"}".encode_utf16().flat_map(u16::to_le_bytes).collect(),
    );

    // NUL bytes.
    raw("raw NUL in a string", b"{\"title\":\"raw \x00 nul\"}".to_vec());
    raw("only NULs", vec![0; 64]);
    // Shapes.
    for shape in [
        "null",
        "[]",
        "\"title\"",
        "0",
        "true",
        "",
        "   ",
        "{}",
        r#"{"title":"x","title":"y"}"#,
        r#"{"":""}"#,
    ] {
        raw(&format!("body {shape:?}"), shape.as_bytes().to_vec());
    }

    let mut json = |label: &str, value: Value| bodies.push((label.to_owned(), json_bytes(&value)));
    let due = "2026-03-01T09:00:00Z";
    json("escaped NUL in title", json!({ "title": "a\u{0}b" }));
    json(
        "escaped NUL in description",
        json!({ "title": "nul", "description": "before \u{0} after" }),
    );
    json("escaped NUL in a tag", json!({ "title": "nul", "tags": ["a\u{0}b"] }));
    json(
        "escaped NUL in time_zone",
        json!({ "title": "nul", "time_zone": "UTC\u{0}" }),
    );
    json(
        "escaped NUL in due_at",
        json!({ "title": "nul", "due_at": "2026-01-01T00:00:00Z\u{0}" }),
    );
    json(
        "escaped NUL in recurrence",
        json!({ "title": "nul", "due_at": due, "recurrence": "FREQ=DAILY\u{0}" }),
    );
    json(
        "escaped NUL in a reminder",
        json!({ "title": "nul", "due_at": due, "reminders": ["-PT5M\u{0}"] }),
    );
    json(
        "nulls everywhere",
        json!({ "title": "x", "description": null, "priority": null, "tags": null, "due_at": null, "time_zone": null, "recurrence": null, "reminders": null }),
    );
    json(
        "prototype pollution",
        json!({ "__proto__": { "title": "x" }, "constructor": {} }),
    );

    // Big arrays and strings.
    json(
        "10,000 copies of one tag",
        json!({ "title": "x", "tags": vec!["a"; 10_000] }),
    );
    json(
        "10,000 distinct tags",
        json!({ "title": "x", "tags": distinct_short_tags(10_000) }),
    );
    json(
        "one 10,000-character tag",
        json!({ "title": "x", "tags": ["t".repeat(10_000)] }),
    );
    json(
        "10,000 copies of one reminder",
        json!({ "title": "x", "due_at": due, "reminders": vec!["-PT5M"; 10_000] }),
    );
    json(
        "5,000 distinct reminders",
        json!({ "title": "x", "due_at": due, "reminders": (1..=5_000).map(|i| format!("-PT{i}S")).collect::<Vec<_>>() }),
    );
    json("60,000-character title", json!({ "title": "x".repeat(60_000) }));
    json(
        "60,000-character description",
        json!({ "title": "x", "description": "y".repeat(60_000) }),
    );
    json(
        "60,000-character time zone",
        json!({ "title": "x", "time_zone": "Z".repeat(60_000) }),
    );
    json(
        "60,000-character recurrence",
        json!({ "title": "x", "due_at": due, "recurrence": "FREQ=DAILY;".repeat(5_000) }),
    );

    // Unicode.
    json("255 emoji title", json!({ "title": "🎉".repeat(255) }));
    json("256 emoji title", json!({ "title": "🎉".repeat(256) }));
    json(
        "ZWJ emoji",
        json!({ "title": "👩‍👩‍👧‍👦 family 🏳️‍🌈", "description": "🦀".repeat(2_000) }),
    );
    json(
        "bidi and zero-width",
        json!({ "title": "\u{202e}reversed\u{200b}\u{feff}" }),
    );
    json(
        "unicode tags",
        json!({ "title": "tags", "tags": ["🎉", "👩‍👩‍👧‍👦", "ǅ", "İstanbul", "ß"] }),
    );
    json("unicode whitespace title", json!({ "title": "\u{a0}\u{2003}\u{3000}" }));
    json("odd letters and digits", json!({ "title": "Ⅻ ½ ٣ e\u{301} ﷽" }));
    json(
        "SQL in every text",
        json!({ "title": "'; DROP TABLE tasks; --", "description": "\" OR 1=1 --", "tags": ["';--"], "time_zone": "' OR '1'='1" }),
    );
    json(
        "FTS syntax in title",
        json!({ "title": "NEAR(a b) AND \"x\"* OR -y ^z", "description": "col:value {a b}" }),
    );

    // Dates, rules and reminders at the edges.
    let dated = |due_at: &str, extra: Value| {
        let mut body = json!({ "title": "edge", "due_at": due_at });
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        body
    };
    json(
        "year 9999 daily",
        dated(
            "9999-12-31T23:59:59.999999999Z",
            json!({ "recurrence": "FREQ=DAILY", "reminders": ["-P366D"] }),
        ),
    );
    json(
        "year 9999 yearly",
        dated(
            "9999-12-31T00:00:00Z",
            json!({ "recurrence": "FREQ=YEARLY", "time_zone": "Pacific/Kiritimati" }),
        ),
    );
    json(
        "year 0",
        dated(
            "0000-01-01T00:00:00Z",
            json!({ "recurrence": "FREQ=YEARLY", "time_zone": "America/New_York", "reminders": ["-P366D"] }),
        ),
    );
    json("offset +23:59", dated("2026-01-01T00:00:00+23:59", json!({})));
    json(
        "leap second",
        dated("2026-06-30T23:59:60Z", json!({ "recurrence": "FREQ=DAILY" })),
    );
    json("lower-case RFC 3339", dated("2026-01-01t00:00:00z", json!({})));
    json("nanoseconds", dated("2026-01-01T00:00:00.123456789Z", json!({})));
    for rule in [
        "FREQ=DAILY;INTERVAL=4294967296",
        "FREQ=DAILY;INTERVAL=65535",
        "FREQ=DAILY;COUNT=-1",
        "FREQ=DAILY;COUNT=4294967296",
        "FREQ=MONTHLY;BYMONTHDAY=-31",
        "FREQ=MONTHLY;BYMONTHDAY=0",
        "FREQ=YEARLY;BYWEEKNO=53;BYDAY=MO",
        "FREQ=YEARLY;BYWEEKNO=-53",
        "FREQ=WEEKLY;BYDAY=+5MO",
        "FREQ=MONTHLY;BYDAY=+6MO",
        "FREQ=YEARLY;BYYEARDAY=-366",
        "FREQ=YEARLY;BYYEARDAY=367",
        "FREQ=MONTHLY;BYSETPOS=-366;BYDAY=MO",
        "FREQ=DAILY;BYHOUR=25",
        "FREQ=DAILY;BYSECOND=60",
        "FREQ=DAILY;WKST=XX",
        "FREQ=DAILY;UNTIL=99991231T235959Z",
        "FREQ=DAILY;UNTIL=00000101T000000Z",
        "FREQ=DAILY;UNTIL=20260101",
        "FREQ=DAILY;FREQ=WEEKLY",
        "FREQ=YEARLY;INTERVAL=400;BYMONTH=2;BYMONTHDAY=29",
        "FREQ=DAILY;BYMONTH=13",
        "RRULE:",
        ";;;;",
        "DTSTART:20260101T000000Z\nRRULE:FREQ=DAILY",
        "FREQ=DAILY\r\nEXDATE:20260102T000000Z",
        "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR,SA,SU;BYMONTHDAY=1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31;BYSETPOS=-1",
    ] {
        json(&format!("rule {rule:?}"), dated(due, json!({ "recurrence": rule })));
        json(&format!("rule {rule:?} in year 9999"), dated("9999-12-30T00:00:00Z", json!({ "recurrence": rule })));
    }
    for reminder in [
        "-P99999999W",
        "-PT999999999S",
        "-PT9223372036854775807S",
        "-P",
        "--PT5M",
        "+PT5M",
        "-PT5.5M",
        "9999-12-31T23:59:59Z",
        "0000-01-01T00:00:00Z",
        "-P0D",
        "-PT0S",
    ] {
        json(
            &format!("reminder {reminder:?}"),
            dated("0001-01-01T00:00:00Z", json!({ "reminders": [reminder] })),
        );
    }
    for zone in [
        "../../etc/passwd",
        "",
        "utc",
        "Etc/GMT+14",
        "EST5EDT",
        "Factory",
        "America/Argentina/ComodRivadavia",
    ] {
        json(
            &format!("time zone {zone:?}"),
            dated(due, json!({ "time_zone": zone, "recurrence": "FREQ=WEEKLY" })),
        );
    }
    bodies
}

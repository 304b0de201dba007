//! Paging cursors as a client sends them back: decoding must refuse or accept without
//! panicking, and an accepted cursor must survive encode → decode unchanged. The input is tried
//! as the cursor text itself and, so the fuzzer can reach the JSON inside, as its payload.
//!
//! Input: 1 byte choosing the sort and order, then the cursor.

#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use taskstream::store::{Cursor, SortField, SortOrder};

const SORTS: &[&str] = &["due_at", "priority", "created_at", "updated_at", "title"];

fuzz_target!(|data: &[u8]| {
    let Some((&choice, payload)) = data.split_first() else {
        return;
    };
    let sort = SortField::parse(SORTS[usize::from(choice >> 1) % SORTS.len()]).unwrap_or_default();
    let order = if choice & 1 == 0 {
        SortOrder::Asc
    } else {
        SortOrder::Desc
    };
    if let Ok(text) = std::str::from_utf8(payload) {
        round_trip(text, sort, order);
    }
    round_trip(&URL_SAFE_NO_PAD.encode(payload), sort, order);
});

fn round_trip(text: &str, sort: SortField, order: SortOrder) {
    if let Ok(cursor) = Cursor::decode(text, sort, order) {
        let again = Cursor::decode(&cursor.encode(), sort, order).expect("an encoded cursor decodes");
        assert_eq!(again, cursor, "encode → decode changed the cursor");
    }
}

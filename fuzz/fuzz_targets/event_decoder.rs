//! Record values as a consumer reads them from a topic: decoding must refuse or accept without
//! panicking; an accepted event must survive encode → decode unchanged, and a task snapshot in
//! it must convert to a task (or be refused) as the recurrence role converts it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use taskstream::events::{Event, EventData};

fuzz_target!(|data: &[u8]| {
    let Ok(event) = Event::decode(data) else {
        return;
    };
    let encoded = event.encode().expect("a decoded event encodes");
    let again = Event::decode(encoded.as_bytes()).expect("an encoded event decodes");
    assert_eq!(again, event, "encode → decode changed the event");
    let snapshot = match &event.data {
        EventData::TaskCreated(created) => Some(&created.task),
        EventData::TaskDeleted(deleted) => Some(&deleted.task),
        _ => None,
    };
    if let Some(snapshot) = snapshot {
        let _ = snapshot.to_task(&event.header);
    }
});

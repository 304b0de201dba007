//! The event backbone end to end: what each endpoint publishes, read back and validated by
//! an independent client; duplicates, poison records and replays.

use std::collections::HashMap;

use serde_json::{json, Value};
use taskstream::bus::{dlq, Kafka, Publisher};

use crate::broker;
use crate::helpers::{spawn_app_with_events, TestApp};
use crate::kafka_client::{consume_validated, produce, Outgoing, Record};

const USER: &str = "eve";

/// (event type, task version) of the records with this key, in topic order.
fn sequence(records: &[Record], topic: &str, key: &str) -> Vec<(String, i64)> {
    records
        .iter()
        .filter(|r| r.topic == topic && r.key.as_deref() == Some(key))
        .map(|r| {
            let value = r.json();
            (
                value["event_type"].as_str().unwrap_or("").to_owned(),
                value["task_version"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, i64)]) -> Vec<(String, i64)> {
    items.iter().map(|(t, v)| ((*t).to_owned(), *v)).collect()
}

async fn walk_a_task_through_every_endpoint(app: &TestApp) -> String {
    let task = app
        .create_task(USER, &json!({"title": "Water plants", "due_at": "2030-01-01T09:00:00Z", "reminders": ["-PT10M"], "recurrence": "FREQ=DAILY"}))
        .await;
    let id = task["id"].as_str().expect("id").to_owned();
    assert_eq!(
        app.patch_task(USER, &id, &json!({"title": "Water all plants"}))
            .await
            .status(),
        200
    );
    assert_eq!(
        app.patch_task(USER, &id, &json!({"reminders": ["-PT30M", "2029-12-31T20:00:00Z"]}))
            .await
            .status(),
        200
    );
    assert_eq!(app.action(USER, &id, "complete").await.status(), 200);
    assert_eq!(app.action(USER, &id, "reopen").await.status(), 200);
    let deleted = app
        .request(reqwest::Method::DELETE, &format!("/api/v1/tasks/{id}"), USER)
        .send()
        .await
        .expect("send");
    assert_eq!(deleted.status(), 204);
    id
}

#[tokio::test]
async fn every_endpoint_publishes_its_events_in_version_order_and_valid() {
    let app = spawn_app_with_events().await;
    let id = walk_a_task_through_every_endpoint(&app).await;

    let history = app.wait_for_history(USER, &id, 6).await;
    let types: Vec<&str> = history.iter().filter_map(|h| h["event_type"].as_str()).collect();
    assert_eq!(
        types,
        [
            "task.created",
            "task.updated",
            "task.updated",
            "task.completed",
            "task.reopened",
            "task.deleted"
        ]
    );

    wait_for_tasks(&app, 1).await; // the next occurrence of the completed daily task
    let topics: Vec<String> = ["task-events", "task-reminders", "task-recurrence"]
        .iter()
        .map(|t| app.topic(t))
        .collect();
    let records = consume_validated(broker::brokers(), &topics).await;
    assert_eq!(
        sequence(&records, &topics[0], &id),
        pairs(&[
            ("task.created", 1),
            ("task.updated", 2),
            ("task.updated", 3),
            ("task.completed", 4),
            ("task.reopened", 5),
            ("task.deleted", 6)
        ])
    );
    assert_eq!(
        sequence(&records, &topics[1], &id),
        pairs(&[
            ("reminder.scheduled", 1),
            ("reminder.scheduled", 3),
            ("reminder.cancelled", 4),
            ("reminder.scheduled", 5),
            ("reminder.cancelled", 6)
        ])
    );
    assert_eq!(sequence(&records, &topics[2], &id), pairs(&[("series.advance", 4)]));

    let updated = records
        .iter()
        .find(|r| r.topic == topics[0] && r.json()["task_version"] == 2)
        .expect("v2")
        .json();
    assert_eq!(updated["data"]["changed"], json!(["title"]));
    assert_eq!(updated["data"]["before"]["title"], "Water plants");
    assert_eq!(updated["data"]["after"]["title"], "Water all plants");
    let scheduled = records
        .iter()
        .find(|r| r.topic == topics[1] && r.json()["task_version"] == 3)
        .expect("v3")
        .json();
    let fire_at: Vec<&str> = scheduled["data"]["reminders"]
        .as_array()
        .expect("reminders")
        .iter()
        .filter_map(|r| r["fire_at"].as_str())
        .collect();
    assert_eq!(fire_at, ["2030-01-01T08:30:00.000000Z", "2029-12-31T20:00:00.000000Z"]);
    for record in records.iter().filter(|r| r.key.as_deref() == Some(id.as_str())) {
        assert_eq!(record.header("ce_subject"), Some(id.as_str()));
    }
    // Completing the daily task created exactly one next occurrence of its series.
    let next: Vec<Value> = records
        .iter()
        .filter(|r| r.topic == topics[0] && r.key.as_deref() != Some(id.as_str()))
        .map(Record::json)
        .collect();
    assert_eq!(next.len(), 1, "{next:?}");
    assert_eq!(next[0]["event_type"], "task.created");
    assert_eq!(next[0]["data"]["task"]["series_id"], id.as_str());
    assert_eq!(next[0]["data"]["task"]["due_at"], "2030-01-02T09:00:00.000000Z");
}

/// A copy of the first record of `topic` whose key is `key`.
fn copy_of(records: &[Record], topic: &str, key: &str) -> Outgoing {
    let record = records
        .iter()
        .find(|r| r.topic == topic && r.key.as_deref() == Some(key))
        .expect("record");
    Outgoing {
        topic: topic.to_owned(),
        key: key.to_owned(),
        value: record.value.clone().unwrap_or_default(),
        headers: record
            .headers
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect(),
    }
}

fn poison(topic: &str, key: &str, value: String) -> Outgoing {
    Outgoing {
        topic: topic.to_owned(),
        key: key.to_owned(),
        value,
        headers: HashMap::new(),
    }
}

#[tokio::test]
async fn duplicates_change_nothing_and_poison_goes_to_the_dlq_with_provenance() {
    let app = spawn_app_with_events().await;
    let task = app.create_task(USER, &json!({"title": "Pay rent"})).await;
    let id = task["id"].as_str().expect("id").to_owned();
    assert_eq!(app.wait_for_history(USER, &id, 1).await.len(), 1);

    let events = app.topic("task-events");
    let records = consume_validated(broker::brokers(), std::slice::from_ref(&events)).await;
    let created = copy_of(&records, &events, &id);
    let mut wrong_schema: Value = serde_json::from_str(&created.value).expect("json");
    wrong_schema["data"]["task"]["title"] = json!(42);
    let mut unknown_type: Value = serde_json::from_str(&created.value).expect("json");
    unknown_type["event_type"] = json!("task.teleported");
    let mut newer: Value = serde_json::from_str(&created.value).expect("json");
    newer["schema_version"] = json!(99);
    let inject = vec![
        created.clone(),
        created.clone(),
        poison(&events, &id, "this is not json".into()),
        poison(&events, &id, wrong_schema.to_string()),
        poison(&events, &id, unknown_type.to_string()),
        poison(&events, &id, newer.to_string()),
        poison(&events, &id, format!("{{\"pad\":\"{}\"}}", "x".repeat(500_000))),
    ];
    produce(broker::brokers(), &inject).await;

    // The consumer keeps going past the poison: a later change is applied.
    assert_eq!(
        app.patch_task(USER, &id, &json!({"priority": "high"})).await.status(),
        200
    );
    let history = app.wait_for_history(USER, &id, 2).await;
    assert_eq!(history.len(), 2, "duplicates must not add history: {history:?}");

    let kafka = Kafka::new(app.kafka.clone());
    let parked = wait_for_parked(&kafka, 5).await;
    assert_eq!(parked.len(), 5, "{parked:?}");
    let source_offsets: Vec<i64> = records.iter().filter(|r| r.topic == events).map(|r| r.offset).collect();
    for record in &parked {
        assert_eq!(record.key, id);
        assert_eq!(record.header(dlq::SOURCE_TOPIC), Some(events.as_str()));
        assert_eq!(record.header(dlq::CONSUMER), Some("audit"));
        assert!(record.header(dlq::SOURCE_PARTITION).is_some() && record.header(dlq::ATTEMPTS).is_some());
        let offset: i64 = record
            .header(dlq::SOURCE_OFFSET)
            .and_then(|o| o.parse().ok())
            .expect("offset");
        assert!(!source_offsets.contains(&offset) || offset > *source_offsets.iter().max().unwrap_or(&0));
    }
    let errors: Vec<&str> = parked.iter().filter_map(|r| r.header(dlq::ERROR)).collect();
    assert!(errors[0].contains("not a JSON"), "{errors:?}");
    assert!(errors[1].contains("schema"), "{errors:?}");
    assert!(errors[2].contains("unknown event type"), "{errors:?}");
    assert!(errors[3].contains("newer"), "{errors:?}");
    assert_eq!(parked[0].value, "this is not json", "the original bytes are kept");
}

#[tokio::test]
async fn poison_among_good_records_costs_them_nothing() {
    let app = spawn_app_with_events().await;
    let task = app.create_task(USER, &json!({"title": "Batch me"})).await;
    let id = task["id"].as_str().expect("id").to_owned();
    assert_eq!(app.wait_for_history(USER, &id, 1).await.len(), 1);
    let events = app.topic("task-events");
    let records = consume_validated(broker::brokers(), std::slice::from_ref(&events)).await;
    let created: Value = serde_json::from_str(&copy_of(&records, &events, &id).value).expect("json");
    // Valid task.completed events of later versions, as a replay or a second writer could
    // bring them; produced in one go with poison between them, so the consumer takes them
    // in as one batch (or several: the outcome is the same).
    let good = |version: i64| {
        let mut event = created.clone();
        event["event_id"] = json!(uuid::Uuid::now_v7());
        event["event_type"] = json!("task.completed");
        event["task_version"] = json!(version);
        event["data"] = json!({"completed_at": "2030-01-01T00:00:00.000000Z"});
        let headers = HashMap::from([("ce_type".to_owned(), "task.completed".to_owned())]);
        Outgoing {
            topic: events.clone(),
            key: id.clone(),
            value: event.to_string(),
            headers,
        }
    };
    let mut wrong_schema = created.clone();
    wrong_schema["data"]["task"]["title"] = json!(42);
    let inject = vec![
        good(2),
        poison(&events, &id, "this is not json".into()),
        good(3),
        good(4),
        poison(&events, &id, wrong_schema.to_string()),
        good(5),
    ];
    produce(broker::brokers(), &inject).await;

    let history = app.wait_for_history(USER, &id, 5).await;
    let versions: Vec<i64> = history.iter().filter_map(|h| h["task_version"].as_i64()).collect();
    assert_eq!(versions, [1, 2, 3, 4, 5], "every good record applied once: {history:?}");
    let kafka = Kafka::new(app.kafka.clone());
    let parked = wait_for_parked(&kafka, 2).await;
    assert_eq!(parked.len(), 2, "only the poison is parked: {parked:?}");
    assert_eq!(parked[0].value, "this is not json");
}

async fn wait_for_parked(kafka: &Kafka, count: usize) -> Vec<dlq::Parked> {
    crate::process::wait_for(
        &format!("{count} records on the DLQs"),
        crate::helpers::WAIT,
        || async {
            let kafka = kafka.clone();
            let parked =
                tokio::task::spawn_blocking(move || dlq::list(&kafka, &dlq::Filter::default()).expect("list dlq"))
                    .await
                    .expect("join");
            if parked.len() >= count {
                Ok(parked)
            } else {
                Err(format!("{} parked", parked.len()))
            }
        },
    )
    .await
}

#[tokio::test]
async fn a_replayed_record_is_applied_once() {
    let app = spawn_app_with_events().await;
    let task = app.create_task(USER, &json!({"title": "Call mum"})).await;
    let id = task["id"].as_str().expect("id").to_owned();
    assert_eq!(app.wait_for_history(USER, &id, 1).await.len(), 1);
    let events = app.topic("task-events");
    let records = consume_validated(broker::brokers(), std::slice::from_ref(&events)).await;

    // A valid task.completed for this task, parked earlier (say its handler's database was
    // away): a replay must bring it back and the audit role apply it once.
    let mut completed: Value = serde_json::from_str(&copy_of(&records, &events, &id).value).expect("json");
    completed["event_id"] = json!(uuid::Uuid::now_v7());
    completed["event_type"] = json!("task.completed");
    completed["task_version"] = json!(2);
    completed["data"] = json!({"completed_at": "2030-01-01T00:00:00.000000Z"});
    let mut headers: HashMap<String, String> = HashMap::new();
    headers.insert("ce_type".into(), "task.completed".into());
    headers.insert(dlq::SOURCE_TOPIC.into(), events.clone());
    headers.insert(
        dlq::ERROR.into(),
        "gave up after 5 attempts: database unavailable".into(),
    );
    let dlq_topic = format!("{events}.dlq");
    produce(
        broker::brokers(),
        &[Outgoing {
            topic: dlq_topic,
            key: id.clone(),
            value: completed.to_string(),
            headers,
        }],
    )
    .await;

    let kafka = Kafka::new(app.kafka.clone());
    let parked = wait_for_parked(&kafka, 1).await;
    assert_eq!(parked.len(), 1);
    let publisher = Publisher::new(&kafka).expect("publisher");
    let mut progress = Vec::new();
    let replayed = dlq::replay(&publisher, &parked, |n, _| progress.push(n))
        .await
        .expect("replay");
    assert_eq!((replayed, progress), (1, vec![1]));
    // Replaying twice is harmless: the inbox absorbs the second copy.
    dlq::replay(&publisher, &parked, |_, _| {}).await.expect("replay again");

    let history = app.wait_for_history(USER, &id, 2).await;
    let types: Vec<&str> = history.iter().filter_map(|h| h["event_type"].as_str()).collect();
    assert_eq!(types, ["task.created", "task.completed"]);
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(app.history(USER, &id).await.len(), 2);
}

/// Waits until the user has `count` tasks; returns them.
pub async fn wait_for_tasks(app: &TestApp, count: usize) -> Vec<Value> {
    crate::process::wait_for(&format!("{count} tasks"), crate::helpers::WAIT, || async {
        let page: Value = app.list(USER, "limit=200").await.json().await.expect("list");
        let items = page["items"].as_array().cloned().unwrap_or_default();
        if items.len() >= count {
            Ok(items)
        } else {
            Err(format!("{} tasks", items.len()))
        }
    })
    .await
}

//! The consumer roles' logic, driven one record at a time with `consumer::apply_once` or a
//! batch with `consumer::apply_batch` — the inbox claim, effect and commit the runtime runs
//! for the records it decodes — on the
//! events the API wrote to the outbox; no broker and no waiting. The broker-backed tests
//! (events.rs, recurrence.rs, reminders.rs) keep the wiring and the faults.

use serde_json::{json, Value};
use taskstream::bus::consumer::{apply_batch, apply_once, Applied, Handler, HandlerError, MAX_BATCH};
use taskstream::domain::UserId;
use taskstream::events::{Event, EventData};
use taskstream::roles::audit::Audit;
use taskstream::roles::recurrence::Repeat;
use taskstream::roles::scheduler::{Scheduler, SchedulerSettings};
use taskstream::store::Store;
use uuid::Uuid;

use crate::helpers::{count_at, spawn_app, TestApp};

const USER: &str = "rolf";

/// The API alone (its events stay in the outbox) and a store of the test's own on its
/// database, as a worker process has.
async fn app_and_store() -> (TestApp, Store) {
    let app = spawn_app().await;
    let store = Store::connect(&app.database_url, 2)
        .await
        .expect("connect to the app's database");
    (app, store)
}

/// The outbox's events of `event_type`, oldest first, decoded as a consumer decodes them.
async fn outbox_events(store: &Store, event_type: &str) -> Vec<Event> {
    store
        .pending_outbox(1_000, &[])
        .await
        .expect("read the outbox")
        .into_iter()
        .filter(|row| row.event_type == event_type)
        .map(|row| Event::decode(row.payload.as_bytes()).expect("an outbox row decodes"))
        .collect()
}

/// `event` applied to `role`, failing the test on an error.
async fn apply(store: &Store, role: &impl Handler, event: &Event) -> Applied {
    apply_once(store, role, event)
        .await
        .unwrap_or_else(|e| panic!("{} could not apply {}: {e}", role.name(), event.header.event_type))
}

fn id_of(task: &Value) -> Uuid {
    task["id"].as_str().and_then(|id| id.parse().ok()).expect("task id")
}

/// The user's tasks of one series, oldest first.
async fn series(app: &TestApp, first: Uuid) -> Vec<Value> {
    let page: Value = app
        .list(USER, "limit=200&sort=created_at")
        .await
        .json()
        .await
        .expect("list json");
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|task| task["series_id"] == first.to_string())
        .cloned()
        .collect()
}

async fn act(app: &TestApp, id: Uuid, action: &str) {
    let response = app.action(USER, &id.to_string(), action).await;
    assert_eq!(response.status(), 200, "{action} {id}");
}

#[tokio::test]
async fn the_audit_role_records_an_event_once_when_it_is_applied_twice() {
    let (app, store) = app_and_store().await;
    let id = id_of(&app.create_task(USER, &json!({ "title": "audited" })).await);
    let [created] = <[Event; 1]>::try_from(outbox_events(&store, "task.created").await).expect("one task.created");

    assert_eq!(apply(&store, &Audit, &created).await, Applied::Effect);
    assert_eq!(apply(&store, &Audit, &created).await, Applied::Duplicate);

    let history = store
        .task_history(&UserId::parse(USER).expect("user"), id)
        .await
        .expect("history");
    let recorded: Vec<(&str, i64)> = history
        .iter()
        .map(|entry| (entry.event_type.as_str(), entry.task_version))
        .collect();
    assert_eq!(recorded, [("task.created", 1)]);
    assert_eq!(history[0].event_id, created.header.event_id.to_string());
}

#[tokio::test]
async fn the_recurrence_role_makes_one_next_occurrence_from_an_advance_applied_twice() {
    let (app, store) = app_and_store().await;
    let first = id_of(
        &app.create_task(
            USER,
            &json!({ "title": "Stretch", "due_at": "2030-03-28T09:00:00+01:00", "time_zone": "Europe/Berlin", "recurrence": "FREQ=DAILY" }),
        )
        .await,
    );
    act(&app, first, "complete").await;
    let [advance] = <[Event; 1]>::try_from(outbox_events(&store, "series.advance").await).expect("one series.advance");
    let role = Repeat::new(store.clone());

    assert_eq!(apply(&store, &role, &advance).await, Applied::Effect);
    assert_eq!(apply(&store, &role, &advance).await, Applied::Duplicate);

    let all = series(&app, first).await;
    assert_eq!(all.len(), 2, "the completed occurrence and exactly one next: {all:?}");
    assert_eq!(all[1]["status"], "open");
    // 09:00 in Berlin the next day, still winter time.
    assert_eq!(all[1]["due_at"], "2030-03-29T08:00:00.000000Z");
}

#[tokio::test]
async fn a_second_completion_of_the_same_occurrence_makes_no_second_copy() {
    let (app, store) = app_and_store().await;
    let first = id_of(
        &app.create_task(
            USER,
            &json!({ "title": "Water", "due_at": "2030-05-04T18:00:00Z", "recurrence": "FREQ=WEEKLY" }),
        )
        .await,
    );
    act(&app, first, "complete").await;
    act(&app, first, "reopen").await;
    act(&app, first, "complete").await;
    let advances = outbox_events(&store, "series.advance").await;
    assert_eq!(advances.len(), 2, "one series.advance per completion");
    assert_ne!(advances[0].header.event_id, advances[1].header.event_id);
    let role = Repeat::new(store.clone());

    // Two different events, both applied: the next occurrence's id is the same, so it is
    // made once.
    for advance in &advances {
        assert_eq!(apply(&store, &role, advance).await, Applied::Effect);
    }

    let all = series(&app, first).await;
    assert_eq!(all.len(), 2, "exactly one next occurrence: {all:?}");
    assert_eq!(all[1]["due_at"], "2030-05-11T18:00:00.000000Z");
}

#[tokio::test]
async fn the_scheduler_takes_a_schedule_in_and_ignores_a_stale_one() {
    let (app, store) = app_and_store().await;
    let task = app
        .create_task(
            USER,
            &json!({ "title": "Call", "due_at": "2030-06-01T12:00:00Z", "reminders": ["-PT15M"] }),
        )
        .await;
    let id = id_of(&task);
    let changed = app
        .patch_task(USER, &id.to_string(), &json!({ "reminders": ["-PT30M"] }))
        .await;
    assert_eq!(changed.status(), 200);
    let [first, second] = <[Event; 2]>::try_from(outbox_events(&store, "reminder.scheduled").await)
        .expect("a reminder.scheduled for the creation and one for the change");
    assert_eq!((first.header.task_version, second.header.task_version), (1, 2));
    let scheduler = Scheduler::new(store.clone(), SchedulerSettings::default());
    let schedule = || async {
        store
            .reminder_rows(USER, id)
            .await
            .expect("schedule rows")
            .into_iter()
            .map(|row| (row.fire_at, row.task_version, row.state))
            .collect::<Vec<_>>()
    };
    let expected = vec![("2030-06-01T11:30:00.000000Z".to_owned(), 2, "pending".to_owned())];

    // A replay can bring an older schedule after a newer one.
    assert_eq!(apply(&store, &scheduler, &second).await, Applied::Effect);
    assert_eq!(schedule().await, expected);
    // The older one is taken into the inbox but changes nothing.
    assert_eq!(apply(&store, &scheduler, &first).await, Applied::Effect);
    assert_eq!(schedule().await, expected, "a stale schedule replaced a newer one");
    assert_eq!(apply(&store, &scheduler, &second).await, Applied::Duplicate);
    assert_eq!(schedule().await, expected);
}

#[tokio::test]
async fn a_batch_applies_each_event_once_however_often_it_holds_it() {
    let (app, store) = app_and_store().await;
    let mut ids = Vec::new();
    for title in ["one", "two", "three"] {
        ids.push(id_of(&app.create_task(USER, &json!({ "title": title })).await));
    }
    let created = outbox_events(&store, "task.created").await;
    assert_eq!(created.len(), 3, "one task.created per task");
    assert_eq!(apply(&store, &Audit, &created[0]).await, Applied::Effect);

    // Applied before, held twice, and new: each lands once.
    let batch = [
        created[0].clone(),
        created[1].clone(),
        created[1].clone(),
        created[2].clone(),
    ];
    let applied = apply_batch(&store, &Audit, &batch).await.expect("the batch applies");
    assert_eq!(
        applied,
        [Applied::Duplicate, Applied::Effect, Applied::Duplicate, Applied::Effect]
    );
    let user = UserId::parse(USER).expect("user");
    for id in ids {
        let history = store.task_history(&user, id).await.expect("history");
        assert_eq!(history.len(), 1, "task {id}: {history:?}");
    }
}

#[tokio::test]
async fn a_full_batch_records_each_events_own_history_row() {
    let (app, store) = app_and_store().await;
    app.create_task(USER, &json!({ "title": "template" })).await;
    let [created] = <[Event; 1]>::try_from(outbox_events(&store, "task.created").await).expect("one task.created");
    // As many distinct events as a batch takes, so that every row of the one history
    // statement (and of the one inbox claim) is told apart from its neighbours.
    let batch: Vec<Event> = (0..MAX_BATCH)
        .map(|i| {
            let mut event = created.clone();
            event.header.event_id = Uuid::now_v7();
            event.header.task_id = Uuid::now_v7();
            event.header.task_version = i64::try_from(i).expect("small") + 1;
            event
        })
        .collect();

    let applied = apply_batch(&store, &Audit, &batch).await.expect("the batch applies");
    assert!(applied.iter().all(|a| *a == Applied::Effect), "{applied:?}");
    assert!(apply_batch(&store, &Audit, &batch)
        .await
        .expect("the batch again")
        .iter()
        .all(|a| *a == Applied::Duplicate));
    let user = UserId::parse(USER).expect("user");
    for event in batch.iter().step_by(97).chain(batch.last()) {
        let history = store.task_history(&user, event.header.task_id).await.expect("history");
        let recorded: Vec<(String, i64, &str)> = history
            .iter()
            .map(|entry| (entry.event_id.clone(), entry.task_version, entry.event_type.as_str()))
            .collect();
        assert_eq!(
            recorded,
            [(
                event.header.event_id.to_string(),
                event.header.task_version,
                "task.created"
            )]
        );
        assert_eq!(
            Event::decode(history[0].payload.as_bytes()).expect("payload").header,
            event.header
        );
    }
}

#[tokio::test]
async fn one_failing_effect_rolls_the_whole_batch_back() {
    let (app, store) = app_and_store().await;
    let mut ids = Vec::new();
    for title in ["Call", "Write"] {
        let body = json!({ "title": title, "due_at": "2030-06-01T12:00:00Z", "reminders": ["-PT15M"] });
        ids.push(id_of(&app.create_task(USER, &body).await));
    }
    let scheduled = outbox_events(&store, "reminder.scheduled").await;
    let [first, second] = <[Event; 2]>::try_from(scheduled).expect("a reminder.scheduled per task");
    // A copy of the first whose fire time is not in the service's own instant form: the
    // scheduler refuses it for good.
    let mut bad = first.clone();
    bad.header.event_id = Uuid::now_v7();
    let EventData::ReminderScheduled(schedule) = &mut bad.data else {
        panic!("a reminder.scheduled event");
    };
    schedule.reminders[0].fire_at = "2030-06-01T11:45:00Z".into();
    let scheduler = Scheduler::new(store.clone(), SchedulerSettings::default());
    let rows = |id: Uuid| {
        let store = store.clone();
        async move { store.reminder_rows(USER, id).await.expect("schedule rows").len() }
    };

    let failed = apply_batch(&store, &scheduler, &[first.clone(), bad, second.clone()]).await;
    assert!(matches!(failed, Err(HandlerError::Permanent(_))), "{failed:?}");
    assert_eq!(
        (rows(ids[0]).await, rows(ids[1]).await),
        (0, 0),
        "the effects before and after the failure were rolled back"
    );

    // Nothing was claimed either: the good events apply afterwards.
    let applied = apply_batch(&store, &scheduler, &[first, second])
        .await
        .expect("the good events apply");
    assert_eq!(applied, [Applied::Effect, Applied::Effect]);
    assert_eq!((rows(ids[0]).await, rows(ids[1]).await), (1, 1));
}

#[tokio::test]
async fn a_batch_of_completions_advances_every_series_once() {
    let (app, store) = app_and_store().await;
    let mut firsts = Vec::new();
    for (title, due) in [("Stretch", "2030-03-28T09:00:00Z"), ("Read", "2030-04-02T20:00:00Z")] {
        let body = json!({ "title": title, "due_at": due, "recurrence": "FREQ=DAILY" });
        let id = id_of(&app.create_task(USER, &body).await);
        act(&app, id, "complete").await;
        firsts.push(id);
    }
    let advances = outbox_events(&store, "series.advance").await;
    assert_eq!(advances.len(), 2, "one series.advance per completion");
    let role = Repeat::new(store.clone());

    let twice = [advances.clone(), advances].concat();
    let applied = apply_batch(&store, &role, &twice).await.expect("the batch applies");
    assert_eq!(
        applied,
        [Applied::Effect, Applied::Effect, Applied::Duplicate, Applied::Duplicate]
    );
    for (first, next_due) in firsts
        .into_iter()
        .zip(["2030-03-29T09:00:00.000000Z", "2030-04-03T20:00:00.000000Z"])
    {
        let all = series(&app, first).await;
        assert_eq!(all.len(), 2, "the completed occurrence and exactly one next: {all:?}");
        assert_eq!(all[1]["due_at"], next_due);
    }
}

/// More completions than one statement of next occurrences holds, one completion taken
/// twice (complete, reopen, complete: two events, one next occurrence) and a stopped series,
/// all in one batch: each series advances once, the stopped one not at all, and each next
/// occurrence has its one task.created; the same batch again changes nothing.
#[tokio::test]
async fn one_batch_of_many_completions_makes_each_next_occurrence_once() {
    const MANY: usize = 260; // past the 256 next occurrences one set of statements writes
    let (app, store) = app_and_store().await;
    let mut plain = Vec::new();
    for i in 0..MANY {
        let body = json!({ "title": format!("daily {i}"), "tags": ["bulk"], "due_at": "2030-06-01T07:00:00Z", "recurrence": "FREQ=DAILY" });
        let id = id_of(&app.create_task(USER, &body).await);
        act(&app, id, "complete").await;
        plain.push(id);
    }
    let twice = id_of(
        &app.create_task(
            USER,
            &json!({ "title": "twice", "due_at": "2030-06-01T07:00:00Z", "recurrence": "FREQ=WEEKLY" }),
        )
        .await,
    );
    for action in ["complete", "reopen", "complete"] {
        act(&app, twice, action).await;
    }
    let stopped = id_of(
        &app.create_task(
            USER,
            &json!({ "title": "stopped", "due_at": "2030-06-01T07:00:00Z", "recurrence": "FREQ=DAILY" }),
        )
        .await,
    );
    act(&app, stopped, "complete").await;
    let deleted = app
        .request(
            reqwest::Method::DELETE,
            &format!("/api/v1/tasks/{stopped}?series=true"),
            USER,
        )
        .send()
        .await
        .expect("send");
    assert_eq!(deleted.status(), 204, "stop the series");

    // More rows than `outbox_events` reads: the advances alone, straight from the table.
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let payloads: Vec<(String,)> =
        sqlx::query_as("SELECT payload FROM outbox WHERE event_type = 'series.advance' ORDER BY id")
            .fetch_all(&pool)
            .await
            .expect("read the advances");
    pool.close().await;
    let advances: Vec<Event> = payloads
        .iter()
        .map(|(payload,)| Event::decode(payload.as_bytes()).expect("an outbox row decodes"))
        .collect();
    assert_eq!(advances.len(), MANY + 3, "one series.advance per completion");
    assert!(advances.len() <= MAX_BATCH);
    let role = Repeat::new(store.clone());
    let created_before = count_at(
        &app.database_url,
        "SELECT COUNT(*) FROM outbox WHERE event_type = 'task.created'",
    )
    .await;

    let applied = apply_batch(&store, &role, &advances).await.expect("the batch applies");
    assert!(applied.iter().all(|a| *a == Applied::Effect), "{applied:?}");
    let per_series = |series: Uuid| {
        let url = app.database_url.clone();
        async move {
            count_at(
                &url,
                &format!("SELECT COUNT(*) FROM tasks WHERE series_id = '{series}'"),
            )
            .await
        }
    };
    for first in &plain {
        assert_eq!(
            per_series(*first).await,
            2,
            "series {first}: the completed occurrence and one next"
        );
    }
    assert_eq!(
        per_series(twice).await,
        2,
        "two completions of one occurrence: one next"
    );
    assert_eq!(per_series(stopped).await, 0, "a stopped series does not advance");
    let nexts = i64::try_from(MANY + 1).expect("count");
    let tagged = count_at(&app.database_url, "SELECT COUNT(*) FROM task_tags WHERE tag = 'bulk'").await;
    assert_eq!(
        tagged,
        2 * i64::try_from(MANY).expect("count"),
        "each next occurrence has its tags"
    );
    let created = || {
        count_at(
            &app.database_url,
            "SELECT COUNT(*) FROM outbox WHERE event_type = 'task.created'",
        )
    };
    assert_eq!(
        created().await - created_before,
        nexts,
        "one task.created per next occurrence"
    );

    let again = apply_batch(&store, &role, &advances)
        .await
        .expect("the batch applies again");
    assert!(again.iter().all(|a| *a == Applied::Duplicate), "{again:?}");
    assert_eq!(created().await - created_before, nexts, "nothing more on a replay");
}

/// More schedules than one statement writes, a task's schedule and its replacement, a
/// schedule and its cancellation, and a stale schedule, all in one batch: each task ends with
/// the schedule of its newest event, the first of equals (the stale one changes nothing); the
/// same batch again is all duplicates.
#[tokio::test]
async fn one_batch_of_schedules_leaves_each_task_its_newest() {
    const MANY: usize = 600; // past the 512 tasks and reminder rows one statement writes
    let (app, store) = app_and_store().await;
    let body = json!({ "title": "Call", "due_at": "2030-06-01T12:00:00Z", "reminders": ["-PT15M", "-PT30M"] });
    let replaced = id_of(&app.create_task(USER, &body).await);
    let changed = app
        .patch_task(USER, &replaced.to_string(), &json!({ "reminders": ["-PT5M"] }))
        .await;
    assert_eq!(changed.status(), 200);
    let cancelled = id_of(&app.create_task(USER, &body).await);
    act(&app, cancelled, "complete").await;
    let stale = id_of(&app.create_task(USER, &body).await);
    let changed = app
        .patch_task(USER, &stale.to_string(), &json!({ "reminders": ["-PT1H"] }))
        .await;
    assert_eq!(changed.status(), 200);

    let scheduled = outbox_events(&store, "reminder.scheduled").await;
    let of = |task: Uuid, version: i64| {
        scheduled
            .iter()
            .find(|e| e.header.task_id == task && e.header.task_version == version)
            .cloned()
            .unwrap_or_else(|| panic!("reminder.scheduled of {task} at version {version}"))
    };
    let [cancel] = <[Event; 1]>::try_from(outbox_events(&store, "reminder.cancelled").await)
        .expect("one reminder.cancelled, for the completion");
    assert_eq!(cancel.header.task_id, cancelled);
    let scheduler = Scheduler::new(store.clone(), SchedulerSettings::default());
    // The stale task's newer schedule is applied first: its older one comes in the batch.
    assert_eq!(apply(&store, &scheduler, &of(stale, 2)).await, Applied::Effect);

    let template = of(replaced, 1);
    let copies = (0..MANY).map(|_| {
        let mut event = template.clone();
        event.header.event_id = Uuid::now_v7();
        event.header.task_id = Uuid::now_v7();
        event
    });
    // A schedule of the cancelled task at the cancellation's own version, after it: as one
    // after the other, the first of the two keeps the version.
    let mut same_version = of(cancelled, 1);
    same_version.header.event_id = Uuid::now_v7();
    same_version.header.task_version = cancel.header.task_version;
    let mut batch = vec![
        of(replaced, 1),
        of(replaced, 2),
        of(cancelled, 1),
        cancel,
        same_version,
        of(stale, 1),
    ];
    batch.extend(copies);
    assert!(batch.len() <= MAX_BATCH);
    let applied = apply_batch(&store, &scheduler, &batch)
        .await
        .expect("the batch applies");
    assert!(applied.iter().all(|a| *a == Applied::Effect), "{applied:?}");

    let pending = |task: Uuid| {
        let store = store.clone();
        async move {
            store
                .reminder_rows(USER, task)
                .await
                .expect("schedule rows")
                .into_iter()
                .filter(|row| row.state == "pending")
                .map(|row| (row.spec, row.task_version))
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        pending(replaced).await,
        [("-PT5M".to_owned(), 2)],
        "the newer schedule replaces the older"
    );
    assert_eq!(
        pending(cancelled).await,
        [],
        "the cancellation after the schedule wins, and a schedule of its version after it loses"
    );
    assert_eq!(
        pending(stale).await,
        [("-PT1H".to_owned(), 2)],
        "a stale schedule changes nothing"
    );
    let all_pending = || {
        count_at(
            &app.database_url,
            "SELECT COUNT(*) FROM reminder_schedule WHERE state = 'pending'",
        )
    };
    let expected = 2 * i64::try_from(MANY).expect("count") + 2;
    assert_eq!(
        all_pending().await,
        expected,
        "two reminders for each copy, one each for two tasks"
    );

    let again = apply_batch(&store, &scheduler, &batch).await.expect("the batch again");
    assert!(again.iter().all(|a| *a == Applied::Duplicate), "{again:?}");
    assert_eq!(all_pending().await, expected, "nothing more on a replay");
}

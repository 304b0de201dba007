//! Listing tasks: filters, search, sorting and pagination.

use std::cmp::Ordering;
use std::collections::HashSet;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{action_ok, get_ok, id_of, ids_of, list_id_set, list_ids, list_page, patch_ok, ALICE, BOB};
use crate::helpers::{spawn_app, TestApp};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Creates one task per title (with nothing else set) and returns them in creation order.
async fn create_titled(app: &TestApp, user: &str, titles: &[&str]) -> Vec<Value> {
    let mut tasks = Vec::new();
    for title in titles {
        tasks.push(app.create_task(user, &json!({ "title": title })).await);
    }
    tasks
}

fn id_set(tasks: &[&Value]) -> HashSet<String> {
    tasks.iter().map(|t| id_of(t)).collect()
}

/// Follows next_cursor from the first page to the last; returns the pages' ids.
async fn walk_pages(app: &TestApp, user: &str, query: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_query = match &cursor {
            Some(c) => format!(
                "{query}&cursor={}",
                url::form_urlencoded::byte_serialize(c.as_bytes()).collect::<String>()
            ),
            None => query.to_owned(),
        };
        let page = list_page(app, user, &page_query).await;
        pages.push(ids_of(page["items"].as_array().expect("items")));
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => {
                assert!(
                    page["next_cursor"].is_null(),
                    "next_cursor must be a string or null: {page}"
                );
                return pages;
            }
        }
        assert!(pages.len() <= 100, "pagination of {query} does not end");
    }
}

/// A sort key as the API documents it: tasks without a due time sort after dated ones.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Rank(i64),
    Text(String),
}

fn priority_rank(name: &str) -> i64 {
    match name {
        "low" => 0,
        "medium" => 1,
        "high" => 2,
        "urgent" => 3,
        other => panic!("unknown priority {other}"),
    }
}

fn sort_key(task: &Value, sort: &str) -> Key {
    let text = |field: &str| Key::Text(task[field].as_str().expect("text field").to_owned());
    match sort {
        "due_at" => Key::Text(task["due_at"].as_str().map_or_else(|| "~".to_owned(), str::to_owned)),
        "priority" => Key::Rank(priority_rank(task["priority"].as_str().expect("priority"))),
        "created_at" | "updated_at" | "title" => text(sort),
        other => panic!("unknown sort {other}"),
    }
}

/// The order the API must return `tasks` in: by the sort key, ties by id, both reversed
/// for descending order.
fn expected_order(tasks: &[Value], sort: &str, order: &str) -> Vec<String> {
    let mut sorted: Vec<&Value> = tasks.iter().collect();
    sorted.sort_by(|a, b| {
        let by_key: Ordering = sort_key(a, sort)
            .cmp(&sort_key(b, sort))
            .then_with(|| id_of(a).cmp(&id_of(b)));
        if order == "desc" {
            by_key.reverse()
        } else {
            by_key
        }
    });
    sorted.into_iter().map(id_of).collect()
}

// ---------------------------------------------------------------------------------------
// Listing: filters
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn a_new_user_has_an_empty_list() {
    let app = spawn_app().await;
    app.create_task(ALICE, &json!({ "title": "not Bob's" })).await;
    let page = list_page(&app, BOB, "").await;
    assert_eq!(page, json!({ "items": [], "next_cursor": null }));
}

#[tokio::test]
async fn list_filters_by_status() {
    let app = spawn_app().await;
    let tasks = create_titled(&app, ALICE, &["a", "b", "c"]).await;
    action_ok(&app, ALICE, &id_of(&tasks[1]), "complete").await;
    assert_eq!(list_id_set(&app, ALICE, "status=completed").await, id_set(&[&tasks[1]]));
    assert_eq!(
        list_id_set(&app, ALICE, "status=open").await,
        id_set(&[&tasks[0], &tasks[2]])
    );
    assert_eq!(list_ids(&app, ALICE, "").await.len(), 3);
}

#[tokio::test]
async fn list_filters_by_priority() {
    let app = spawn_app().await;
    let mut by_priority = Vec::new();
    for priority in ["low", "medium", "high", "urgent", "high"] {
        by_priority.push(
            app.create_task(ALICE, &json!({ "title": priority, "priority": priority }))
                .await,
        );
    }
    assert_eq!(
        list_id_set(&app, ALICE, "priority=high").await,
        id_set(&[&by_priority[2], &by_priority[4]])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "priority=low").await,
        id_set(&[&by_priority[0]])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "priority=urgent").await,
        id_set(&[&by_priority[3]])
    );
}

#[tokio::test]
async fn list_filters_by_tags_all_of_which_must_match() {
    let app = spawn_app().await;
    let work = app.create_task(ALICE, &json!({ "title": "w", "tags": ["work"] })).await;
    let work_urgent = app
        .create_task(ALICE, &json!({ "title": "wu", "tags": ["Work", "urgent"] }))
        .await;
    let home = app.create_task(ALICE, &json!({ "title": "h", "tags": ["home"] })).await;
    app.create_task(ALICE, &json!({ "title": "none" })).await;
    app.create_task(BOB, &json!({ "title": "bob's work", "tags": ["work"] }))
        .await;

    assert_eq!(
        list_id_set(&app, ALICE, "tag=work").await,
        id_set(&[&work, &work_urgent])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "tag=WORK").await,
        id_set(&[&work, &work_urgent]),
        "tags match regardless of case"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "tag=work&tag=urgent").await,
        id_set(&[&work_urgent])
    );
    assert_eq!(list_id_set(&app, ALICE, "tag=work&tag=home").await, HashSet::new());
    assert_eq!(list_id_set(&app, ALICE, "tag=home").await, id_set(&[&home]));
    assert_eq!(
        list_id_set(&app, ALICE, "tag=wor").await,
        HashSet::new(),
        "tags match whole"
    );

    // Changing the tags moves the task between filters.
    patch_ok(&app, ALICE, &id_of(&home), &json!({ "tags": ["work", "urgent"] })).await;
    assert_eq!(
        list_id_set(&app, ALICE, "tag=work&tag=urgent").await,
        id_set(&[&work_urgent, &home])
    );
    assert_eq!(list_id_set(&app, ALICE, "tag=home").await, HashSet::new());
}

#[tokio::test]
async fn list_filters_by_due_window_exclusively() {
    let app = spawn_app().await;
    let due = |title: &str, at: &str| json!({ "title": title, "due_at": at });
    let early = app.create_task(ALICE, &due("early", "2026-01-01T00:00:00Z")).await;
    let middle = app
        .create_task(ALICE, &due("middle", "2026-06-15T12:00:00+02:00"))
        .await;
    let late = app
        .create_task(ALICE, &due("late", "2026-12-31T23:59:59.999999Z"))
        .await;
    app.create_task(ALICE, &json!({ "title": "undated" })).await;

    assert_eq!(
        list_id_set(&app, ALICE, "due_before=2026-06-15T10:00:00Z").await,
        id_set(&[&early]),
        "strictly before"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "due_before=2026-06-15T10:00:00.000001Z").await,
        id_set(&[&early, &middle])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "due_after=2026-06-15T10:00:00Z").await,
        id_set(&[&late]),
        "strictly after"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "due_after=2026-06-15T09:59:59Z").await,
        id_set(&[&middle, &late])
    );
    // Offsets in the query are honoured: 12:00+02:00 is 10:00Z.
    assert_eq!(
        list_id_set(
            &app,
            ALICE,
            "due_after=2026-06-15T11:59:59%2B02:00&due_before=2026-06-15T12:00:01%2B02:00"
        )
        .await,
        id_set(&[&middle])
    );
    assert_eq!(
        list_id_set(
            &app,
            ALICE,
            "due_after=2025-01-01T00:00:00Z&due_before=2028-01-01T00:00:00Z"
        )
        .await,
        id_set(&[&early, &middle, &late])
    );
}

#[tokio::test]
async fn list_filters_by_overdue() {
    let app = spawn_app().await;
    let past = app
        .create_task(ALICE, &json!({ "title": "late", "due_at": "2020-01-01T00:00:00Z" }))
        .await;
    let past_done = app
        .create_task(
            ALICE,
            &json!({ "title": "late but done", "due_at": "2020-01-01T00:00:00Z" }),
        )
        .await;
    action_ok(&app, ALICE, &id_of(&past_done), "complete").await;
    let future = app
        .create_task(ALICE, &json!({ "title": "not yet", "due_at": "2199-01-01T00:00:00Z" }))
        .await;
    let undated = app.create_task(ALICE, &json!({ "title": "whenever" })).await;

    assert_eq!(list_id_set(&app, ALICE, "overdue=true").await, id_set(&[&past]));
    assert_eq!(
        list_id_set(&app, ALICE, "overdue=false").await,
        id_set(&[&past_done, &future, &undated])
    );
    // Combined with other filters.
    assert_eq!(
        list_id_set(&app, ALICE, "overdue=false&status=open").await,
        id_set(&[&future, &undated])
    );
}

// ---------------------------------------------------------------------------------------
// Listing: search
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn search_matches_word_prefixes_in_title_and_description() {
    let app = spawn_app().await;
    let milk = app
        .create_task(
            ALICE,
            &json!({ "title": "Buy milk", "description": "and bread from the bakery" }),
        )
        .await;
    let milkshake = app.create_task(ALICE, &json!({ "title": "Make a milkshake" })).await;
    let report = app
        .create_task(
            ALICE,
            &json!({ "title": "Quarterly report", "description": "send to Milton" }),
        )
        .await;
    app.create_task(ALICE, &json!({ "title": "Unrelated chore" })).await;

    assert_eq!(list_id_set(&app, ALICE, "q=milk").await, id_set(&[&milk, &milkshake]));
    assert_eq!(
        list_id_set(&app, ALICE, "q=mil").await,
        id_set(&[&milk, &milkshake, &report]),
        "prefix search"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=MILK").await,
        id_set(&[&milk, &milkshake]),
        "case-insensitive"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=bakery").await,
        id_set(&[&milk]),
        "description is searched"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=ilk").await,
        HashSet::new(),
        "only word prefixes match"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=quarterly%20milt").await,
        id_set(&[&report]),
        "title and description words together"
    );
}

#[tokio::test]
async fn search_needs_every_word_to_match() {
    let app = spawn_app().await;
    let both = app
        .create_task(
            ALICE,
            &json!({ "title": "Paint the fence", "description": "green paint" }),
        )
        .await;
    let fence = app.create_task(ALICE, &json!({ "title": "Fix fence" })).await;
    let paint = app.create_task(ALICE, &json!({ "title": "Buy paint" })).await;

    assert_eq!(list_id_set(&app, ALICE, "q=fence").await, id_set(&[&both, &fence]));
    assert_eq!(list_id_set(&app, ALICE, "q=paint").await, id_set(&[&both, &paint]));
    assert_eq!(list_id_set(&app, ALICE, "q=paint%20fence").await, id_set(&[&both]));
    assert_eq!(
        list_id_set(&app, ALICE, "q=fen+gre").await,
        id_set(&[&both]),
        "every word is a prefix"
    );
    assert_eq!(list_id_set(&app, ALICE, "q=fix%20paint").await, HashSet::new());
    // Punctuation separates words rather than breaking the search.
    assert_eq!(
        list_id_set(&app, ALICE, "q=%22paint%22%20AND%20(fence*)").await,
        HashSet::new(),
        "AND is a word to match, not an operator"
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=%22paint%22%2C%20(fence*)").await,
        id_set(&[&both])
    );
}

#[tokio::test]
async fn search_ignores_other_users_tasks() {
    let app = spawn_app().await;
    let mine = app.create_task(ALICE, &json!({ "title": "Secret project plan" })).await;
    app.create_task(BOB, &json!({ "title": "Secret project budget" })).await;
    app.create_task(BOB, &json!({ "title": "Other", "description": "secret stuff" }))
        .await;
    assert_eq!(list_ids(&app, ALICE, "q=secret").await, vec![id_of(&mine)]);
    assert_eq!(list_ids(&app, ALICE, "q=secret%20project").await, vec![id_of(&mine)]);
    assert_eq!(list_ids(&app, BOB, "q=plan").await, Vec::<String>::new());
    assert_eq!(list_ids(&app, BOB, "q=secret").await.len(), 2);
}

#[tokio::test]
async fn the_search_index_holds_each_users_words_apart_and_older_rows_are_indexed_on_migration() {
    let app = spawn_app().await;
    let mine = app.create_task(ALICE, &json!({ "title": "Quarterly review" })).await;
    let alice_key = taskstream::store::search::user_key(ALICE);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&app.database_url).await.expect("connect");
    let (words,): (String,) = sqlx::query_as("SELECT words FROM tasks WHERE id = $1")
        .bind(id_of(&mine))
        .fetch_one(&pool)
        .await
        .expect("row");
    assert_eq!(
        words,
        format!("{alice_key}quarterly {alice_key}review"),
        "indexed behind the owner's key"
    );

    // A row as an earlier version stored it (no indexed words) is found again after migration.
    sqlx::query("UPDATE tasks SET words = '' WHERE id = $1")
        .bind(id_of(&mine))
        .execute(&pool)
        .await
        .expect("forget the words");
    assert_eq!(list_ids(&app, ALICE, "q=quart").await, Vec::<String>::new());
    let store = taskstream::store::Store::connect(&app.database_url, 1)
        .await
        .expect("store");
    store.migrate().await.expect("migrate");
    store.close().await;
    pool.close().await;
    assert_eq!(list_ids(&app, ALICE, "q=quart").await, vec![id_of(&mine)]);
}

#[tokio::test]
async fn search_follows_changes_and_deletions() {
    let app = spawn_app().await;
    let task = app.create_task(ALICE, &json!({ "title": "Renew passport" })).await;
    let id = id_of(&task);
    assert_eq!(list_ids(&app, ALICE, "q=passport").await, vec![id.clone()]);

    patch_ok(
        &app,
        ALICE,
        &id,
        &json!({ "title": "Renew driving licence", "description": "at the town hall" }),
    )
    .await;
    assert_eq!(list_ids(&app, ALICE, "q=passport").await, Vec::<String>::new());
    assert_eq!(list_ids(&app, ALICE, "q=licence").await, vec![id.clone()]);
    assert_eq!(list_ids(&app, ALICE, "q=town").await, vec![id.clone()]);

    patch_ok(&app, ALICE, &id, &json!({ "description": null })).await;
    assert_eq!(list_ids(&app, ALICE, "q=town").await, Vec::<String>::new());

    let deleted = app
        .request(Method::DELETE, &format!("/api/v1/tasks/{id}"), ALICE)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    assert_eq!(list_ids(&app, ALICE, "q=licence").await, Vec::<String>::new());
}

#[tokio::test]
async fn search_combines_with_filters() {
    let app = spawn_app().await;
    let open = app
        .create_task(
            ALICE,
            &json!({ "title": "Clean kitchen", "tags": ["home"], "priority": "high" }),
        )
        .await;
    let done = app
        .create_task(ALICE, &json!({ "title": "Clean garage", "tags": ["home"] }))
        .await;
    app.create_task(
        ALICE,
        &json!({ "title": "Clean desk", "tags": ["work"], "priority": "high" }),
    )
    .await;
    action_ok(&app, ALICE, &id_of(&done), "complete").await;
    assert_eq!(
        list_id_set(&app, ALICE, "q=clean&tag=home").await,
        id_set(&[&open, &done])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=clean&tag=home&status=open").await,
        id_set(&[&open])
    );
    assert_eq!(
        list_id_set(&app, ALICE, "q=clean&priority=high&tag=home").await,
        id_set(&[&open])
    );
}

// ---------------------------------------------------------------------------------------
// Listing: sorting and pagination
// ---------------------------------------------------------------------------------------

const SORTS: [&str; 5] = ["due_at", "priority", "created_at", "updated_at", "title"];

/// Seven tasks with ties and gaps in every sort key: equal due times, missing due times,
/// equal priorities, titles that differ in case, accents and emoji. Some are changed after
/// creation so that updated_at order differs from created_at order. Returns their views.
async fn seed_sortable_tasks(app: &TestApp, user: &str) -> Vec<Value> {
    let seeds = [
        json!({ "title": "banana", "priority": "high", "due_at": "2026-03-01T10:00:00Z" }),
        json!({ "title": "Apple", "priority": "low" }),
        json!({ "title": "cherry", "priority": "urgent", "due_at": "2026-01-15T08:00:00Z" }),
        json!({ "title": "Éclair", "priority": "medium", "due_at": "2026-03-01T10:00:00Z" }),
        json!({ "title": "apple", "priority": "high" }),
        json!({ "title": "date 🍇", "priority": "medium", "due_at": "2025-12-31T23:59:59.5Z" }),
        json!({ "title": "banana", "priority": "low", "due_at": "2026-03-01T10:00:00+02:00" }),
    ];
    let mut ids = Vec::new();
    for seed in &seeds {
        ids.push(id_of(&app.create_task(user, seed).await));
    }
    patch_ok(app, user, &ids[2], &json!({ "description": "touched first" })).await;
    action_ok(app, user, &ids[0], "complete").await;
    patch_ok(app, user, &ids[5], &json!({ "priority": "urgent" })).await;
    let mut tasks = Vec::new();
    for id in &ids {
        tasks.push(get_ok(app, user, id).await);
    }
    tasks
}

#[tokio::test]
async fn pagination_walks_every_sort_and_order_without_gaps_or_duplicates() {
    let app = spawn_app().await;
    let tasks = seed_sortable_tasks(&app, ALICE).await;
    // Another user's tasks must not leak into any page.
    seed_sortable_tasks(&app, BOB).await;

    for sort in SORTS {
        for order in ["asc", "desc"] {
            let query = format!("sort={sort}&order={order}&limit=2");
            let pages = walk_pages(&app, ALICE, &query).await;
            let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
            assert_eq!(sizes, vec![2, 2, 2, 1], "page sizes for {query}");
            let walked: Vec<String> = pages.concat();
            assert_eq!(walked, expected_order(&tasks, sort, order), "order of {query}");
            // The same order in one page.
            let single = list_ids(&app, ALICE, &format!("sort={sort}&order={order}")).await;
            assert_eq!(single, walked, "one page and many pages agree for {query}");
        }
    }
}

#[tokio::test]
async fn pagination_ends_without_a_cursor_when_the_last_page_is_full() {
    let app = spawn_app().await;
    create_titled(&app, ALICE, &["1", "2", "3", "4"]).await;
    let pages = walk_pages(&app, ALICE, "limit=2").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![2, 2]);
    let pages = walk_pages(&app, ALICE, "limit=4").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![4]);
}

#[tokio::test]
async fn pagination_keeps_the_filters() {
    let app = spawn_app().await;
    let mut expected = Vec::new();
    for i in 0..9 {
        let tags = if i % 3 == 0 { json!(["other"]) } else { json!(["paged"]) };
        let task = app
            .create_task(ALICE, &json!({ "title": format!("task {i}"), "tags": tags }))
            .await;
        if i % 3 != 0 {
            expected.push(task);
        }
    }
    let pages = walk_pages(&app, ALICE, "tag=paged&sort=title&order=desc&limit=4").await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 2]);
    assert_eq!(pages.concat(), expected_order(&expected, "title", "desc"));
}

#[tokio::test]
async fn a_page_boundary_holds_while_tasks_are_added() {
    let app = spawn_app().await;
    let first = create_titled(&app, ALICE, &["a", "b", "c"]).await;
    let page = list_page(&app, ALICE, "limit=2").await;
    assert_eq!(ids_of(page["items"].as_array().unwrap()), ids_of(&first[..2]));
    let cursor = page["next_cursor"].as_str().expect("more pages").to_owned();
    let later = create_titled(&app, ALICE, &["d"]).await;
    let rest = list_page(&app, ALICE, &format!("limit=2&cursor={cursor}")).await;
    assert_eq!(
        ids_of(rest["items"].as_array().unwrap()),
        vec![id_of(&first[2]), id_of(&later[0])]
    );
    assert!(rest["next_cursor"].is_null());
}

#[tokio::test]
async fn list_defaults_to_created_at_ascending_and_50_items() {
    let app = spawn_app().await;
    let mut created = Vec::new();
    for i in 0..51 {
        created.push(
            app.create_task(ALICE, &json!({ "title": format!("{:02}", 50 - i) }))
                .await,
        );
    }
    let page = list_page(&app, ALICE, "").await;
    let items = ids_of(page["items"].as_array().unwrap());
    assert_eq!(items.len(), 50);
    assert_eq!(items, expected_order(&created, "created_at", "asc")[..50].to_vec());
    assert!(page["next_cursor"].is_string());

    let all = list_page(&app, ALICE, "limit=200").await;
    assert_eq!(all["items"].as_array().unwrap().len(), 51);
    assert!(all["next_cursor"].is_null());

    let one = list_page(&app, ALICE, "limit=1&sort=title").await;
    assert_eq!(ids_of(one["items"].as_array().unwrap()), vec![id_of(&created[50])]);
}

#[tokio::test]
async fn sorting_by_due_at_puts_undated_tasks_last_ascending_and_first_descending() {
    let app = spawn_app().await;
    let undated = app.create_task(ALICE, &json!({ "title": "someday" })).await;
    let later = app
        .create_task(ALICE, &json!({ "title": "later", "due_at": "2026-05-01T00:00:00Z" }))
        .await;
    let sooner = app
        .create_task(
            ALICE,
            &json!({ "title": "sooner", "due_at": "2026-05-01T01:00:00+02:00" }),
        )
        .await;
    assert_eq!(
        list_ids(&app, ALICE, "sort=due_at").await,
        ids_of(&[sooner.clone(), later.clone(), undated.clone()])
    );
    assert_eq!(
        list_ids(&app, ALICE, "sort=due_at&order=desc").await,
        ids_of(&[undated, later, sooner])
    );
}

#[tokio::test]
async fn sorting_by_priority_ranks_rather_than_spells() {
    let app = spawn_app().await;
    let mut tasks = Vec::new();
    for priority in ["medium", "urgent", "low", "high"] {
        tasks.push(
            app.create_task(ALICE, &json!({ "title": priority, "priority": priority }))
                .await,
        );
    }
    let titles = |ids: Vec<String>| {
        ids.iter()
            .map(|id| {
                tasks.iter().find(|t| &id_of(t) == id).unwrap()["title"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        titles(list_ids(&app, ALICE, "sort=priority").await),
        vec!["low", "medium", "high", "urgent"]
    );
    assert_eq!(
        titles(list_ids(&app, ALICE, "sort=priority&order=desc").await),
        vec!["urgent", "high", "medium", "low"]
    );
}

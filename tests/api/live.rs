//! The live stream: Server-Sent Events of the caller's task changes and fired reminders,
//! resumable with Last-Event-ID.

use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;

use crate::helpers::{spawn_app_with_events, TestApp};

/// An open SSE connection, read event by event.
struct Sse {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buffer: String,
}

#[derive(Debug, Clone)]
struct Received {
    id: Option<String>,
    kind: String,
    data: String,
}

impl Sse {
    async fn open(app: &TestApp, user: &str, last_event_id: Option<&str>) -> Self {
        Self::open_with(app, &app.token(user), last_event_id).await
    }

    async fn open_with(app: &TestApp, token: &str, last_event_id: Option<&str>) -> Self {
        let mut request = app
            .client
            .get(app.url("/api/v1/stream"))
            .bearer_auth(token)
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.expect("connect");
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self {
            body: Box::pin(response.bytes_stream()),
            buffer: String::new(),
        }
    }

    /// The next event within `within`, skipping keep-alive comments.
    async fn next(&mut self, within: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Received {
                    id: None,
                    kind: "message".into(),
                    data: String::new(),
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.kind = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        event.data.push_str(v.trim());
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
                continue;
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await.ok()??.ok()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next event about `task_id` (others, such as readiness probes, are skipped).
    async fn next_about(&mut self, task_id: &str, what: &str) -> Received {
        let deadline = tokio::time::Instant::now() + crate::helpers::WAIT;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let event = self
                .next(left)
                .await
                .unwrap_or_else(|| panic!("no {what} for task {task_id} within {:?}", crate::helpers::WAIT));
            let value: serde_json::Value = serde_json::from_str(&event.data).unwrap_or_default();
            if value["task_id"] == task_id {
                return event;
            }
        }
    }

    /// Events until `within` passes without one.
    async fn drain(&mut self, within: Duration) -> Vec<Received> {
        let mut out = Vec::new();
        while let Some(event) = self.next(within).await {
            out.push(event);
        }
        out
    }
}

#[tokio::test]
async fn the_stream_carries_the_callers_changes_and_reminders_and_resumes() {
    let app = spawn_app_with_events().await;
    let mut alice = Sse::open(&app, "alice", None).await;
    let mut bob = Sse::open(&app, "bob", None).await;
    wait_until_live(&app, &mut alice).await;

    let fire_at = taskstream::time::format(chrono::Utc::now() + chrono::TimeDelta::seconds(2));
    let task = app
        .create_task("alice", &json!({"title": "live", "reminders": [fire_at]}))
        .await;
    let id = task["id"].as_str().expect("id").to_owned();
    let created = alice.next_about(&id, "task.created").await;
    assert_eq!(created.kind, "task.created");
    let fired = alice.next_about(&id, "reminder.fired").await;
    assert_eq!(fired.kind, "reminder.fired");
    assert!(
        bob.drain(Duration::from_millis(500)).await.is_empty(),
        "bob sees nothing of alice's"
    );

    // Disconnect, change things, reconnect with the last id seen: the gap is replayed.
    let last = fired.id.expect("id");
    drop(alice);
    assert_eq!(
        app.patch_task("alice", &id, &json!({"title": "live 2"})).await.status(),
        200
    );
    assert_eq!(app.action("alice", &id, "complete").await.status(), 200);
    let mut resumed = Sse::open(&app, "alice", Some(&last)).await;
    let updated = resumed.next_about(&id, "task.updated after the resume").await;
    let completed = resumed.next_about(&id, "task.completed after the resume").await;
    assert_eq!(
        [updated.kind, completed.kind],
        ["task.updated", "task.completed"],
        "the gap replayed in order"
    );

    let mut unknown = Sse::open(&app, "alice", Some("not-buffered")).await;
    assert_eq!(unknown.next(crate::helpers::WAIT).await.expect("resync").kind, "resync");
}

/// The live role joins its group from the latest offset, some time after the API answers:
/// probe with throwaway tasks until the stream carries one.
async fn wait_until_live(app: &TestApp, stream: &mut Sse) {
    let deadline = tokio::time::Instant::now() + crate::helpers::WAIT;
    loop {
        app.create_task("alice", &json!({"title": "probe"})).await;
        if stream.next(Duration::from_secs(1)).await.is_some() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the live stream carried no probe task within {:?}",
            crate::helpers::WAIT
        );
    }
}

#[tokio::test]
async fn open_streams_are_capped_per_user_and_a_closed_one_frees_its_slot() {
    let app = crate::helpers::spawn_app().await;
    let open = |user: &'static str| {
        app.client
            .get(app.url("/api/v1/stream"))
            .bearer_auth(app.token(user))
            .timeout(Duration::from_secs(3600))
            .send()
    };
    let mut streams = Vec::new();
    for n in 0..taskstream::roles::live::STREAMS_PER_USER {
        let response = open("hoarder").await.expect("connect");
        assert_eq!(response.status(), 200, "stream {n} within the cap");
        streams.push(response);
    }
    let refused = open("hoarder").await.expect("connect");
    assert_eq!(refused.status(), 429, "one stream over the cap");
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        open("other").await.expect("connect").status(),
        200,
        "other users are not affected"
    );

    // A client that goes away gives its slot back (the server notices when its stream ends).
    drop(streams.pop());
    crate::process::wait_for("the closed stream's slot to be free", crate::helpers::WAIT, || async {
        let response = open("hoarder").await.map_err(|e| e.to_string())?;
        if response.status() == 200 {
            Ok(())
        } else {
            Err(response.status().to_string())
        }
    })
    .await;
}

#[tokio::test]
async fn a_stream_ends_when_its_token_expires() {
    let app = crate::helpers::spawn_app().await;
    let user = taskstream::domain::UserId::parse("brief").expect("user");
    let token = app.auth.issue(&user, Duration::from_secs(2)).expect("token");
    let mut stream = Sse::open_with(&app, &token, None).await;
    let last = stream
        .next(crate::helpers::WAIT)
        .await
        .expect("an event before the stream ends");
    assert_eq!(last.kind, "token-expired");
    assert!(
        stream.next(crate::helpers::WAIT).await.is_none(),
        "nothing after the token expired: the stream is closed"
    );
}

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
        let mut request = app
            .client
            .get(app.url("/api/v1/stream"))
            .bearer_auth(app.token(user))
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
    tokio::time::sleep(Duration::from_secs(2)).await; // the live consumer joined

    let fire_at = taskstream::time::format(chrono::Utc::now() + chrono::TimeDelta::seconds(2));
    let task = app
        .create_task("alice", &json!({"title": "live", "reminders": [fire_at]}))
        .await;
    let id = task["id"].as_str().expect("id").to_owned();
    let created = alice.next(Duration::from_secs(10)).await.expect("task.created");
    assert_eq!(created.kind, "task.created");
    let value: serde_json::Value = serde_json::from_str(&created.data).expect("json");
    assert_eq!(value["task_id"], id.as_str());
    let fired = alice.next(Duration::from_secs(10)).await.expect("reminder.fired");
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
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut resumed = Sse::open(&app, "alice", Some(&last)).await;
    let kinds: Vec<String> = resumed
        .drain(Duration::from_secs(2))
        .await
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(kinds, ["task.updated", "task.completed"]);

    let mut unknown = Sse::open(&app, "alice", Some("not-buffered")).await;
    assert_eq!(
        unknown.next(Duration::from_secs(5)).await.expect("resync").kind,
        "resync"
    );
}

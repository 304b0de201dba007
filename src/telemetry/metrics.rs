//! Prometheus metrics: every name the service records, its help text, and the helpers the
//! rest of the code calls (one line each at the place where the thing happens).
//!
//! Recording goes through the `metrics` facade: until [`install`] runs (an operator set
//! `TASKSTREAM_METRICS_LISTEN`) every call is a no-op, so metrics cost nothing when off.
//! Labels are bounded: routes are templates (`/api/v1/tasks/{id}`), never raw paths; roles,
//! topics and outcomes are fixed sets.

use std::sync::OnceLock;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

pub const HTTP_REQUESTS: &str = "taskstream_http_requests_total";
pub const HTTP_DURATION: &str = "taskstream_http_request_duration_seconds";
pub const HTTP_IN_FLIGHT: &str = "taskstream_http_requests_in_flight";
pub const HTTP_THROTTLED: &str = "taskstream_http_throttled_total";
pub const HTTP_SHED: &str = "taskstream_http_shed_total";

pub const OUTBOX_WAITING: &str = "taskstream_outbox_waiting_rows";
pub const OUTBOX_OLDEST: &str = "taskstream_outbox_oldest_waiting_seconds";
pub const OUTBOX_PUBLISHED: &str = "taskstream_outbox_published_total";
pub const OUTBOX_ERRORS: &str = "taskstream_outbox_publish_errors_total";
pub const OUTBOX_QUARANTINED: &str = "taskstream_outbox_quarantined_total";

pub const CONSUMER_RECORDS: &str = "taskstream_consumer_records_total";
pub const CONSUMER_RETRIES: &str = "taskstream_consumer_retries_total";
pub const CONSUMER_PARKED: &str = "taskstream_consumer_parked_total";
pub const CONSUMER_DURATION: &str = "taskstream_consumer_processing_seconds";
pub const CONSUMER_LAG: &str = "taskstream_consumer_lag_records";
pub const CONSUMER_LAST: &str = "taskstream_consumer_last_record_timestamp_seconds";

pub const REMINDERS_PENDING: &str = "taskstream_reminders_pending";
pub const REMINDER_LATENESS: &str = "taskstream_reminder_lateness_seconds";
pub const REMINDERS_FIRED: &str = "taskstream_reminders_fired_total";
pub const REMINDERS_MISSED: &str = "taskstream_reminders_missed_total";
pub const REMINDERS_DELIVERED: &str = "taskstream_reminders_delivered_total";
pub const REMINDERS_FAILED: &str = "taskstream_reminders_failed_total";
pub const WEBHOOK_DURATION: &str = "taskstream_webhook_call_duration_seconds";
pub const DELIVERIES_WAITING: &str = "taskstream_webhook_deliveries_waiting";

pub const STORE_GROUP_WRITES: &str = "taskstream_store_group_commit_writes";
pub const STORE_GROUP_DURATION: &str = "taskstream_store_group_commit_seconds";
pub const STORE_WRITER_WAIT: &str = "taskstream_store_writer_wait_seconds";

pub const RECURRENCE_CREATED: &str = "taskstream_recurrence_next_created_total";
pub const RECURRENCE_LATENCY: &str = "taskstream_recurrence_next_latency_seconds";

/// Latency buckets (seconds) for requests, records and calls: 1 ms to 30 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// Lateness buckets (seconds): reminders aim at well under a second; downtime makes minutes.
const LATENESS_BUCKETS: &[f64] = &[0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 30.0, 60.0, 300.0, 3600.0];
/// Writes per group commit: up to the writer's batch bound.
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once; later calls return the same handle).
///
/// # Errors
/// When another recorder was installed first.
pub fn install() -> anyhow::Result<PrometheusHandle> {
    if let Some(handle) = HANDLE.get() {
        return Ok(handle.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(LATENCY_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(REMINDER_LATENESS.into()), LATENESS_BUCKETS)?
        .set_buckets_for_metric(Matcher::Full(STORE_GROUP_WRITES.into()), GROUP_BUCKETS)?
        .install_recorder()
        .map_err(|e| anyhow::anyhow!("cannot install the metrics recorder: {e}"))?;
    describe();
    let handle = HANDLE.get_or_init(|| handle).clone();
    Ok(handle)
}

/// Whether metrics are being recorded in this process.
pub fn enabled() -> bool {
    HANDLE.get().is_some()
}

fn describe() {
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by route template, method and status class"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "time to answer an HTTP request (to the response head)"
    );
    describe_gauge!(HTTP_IN_FLIGHT, "HTTP requests being handled now");
    describe_counter!(HTTP_THROTTLED, "requests answered 429 (a user over their rate limit)");
    describe_counter!(
        HTTP_SHED,
        "writes answered 503 at once because the write queue was full"
    );
    describe_gauge!(OUTBOX_WAITING, "outbox rows not yet published (sampled)");
    describe_gauge!(
        OUTBOX_OLDEST,
        Unit::Seconds,
        "age of the oldest outbox row not yet published (sampled)"
    );
    describe_counter!(OUTBOX_PUBLISHED, "outbox rows the broker acknowledged, by topic");
    describe_counter!(
        OUTBOX_ERRORS,
        "relay batches that failed (broker or database) and are retried"
    );
    describe_counter!(
        OUTBOX_QUARANTINED,
        "outbox rows the broker refused for good and that were set aside"
    );
    describe_counter!(
        CONSUMER_RECORDS,
        "records a role finished (applied, duplicate or parked), by role and topic"
    );
    describe_counter!(
        CONSUMER_RETRIES,
        "retries of a record by a role, by cause (transient or outage)"
    );
    describe_counter!(CONSUMER_PARKED, "records a role parked on the dead-letter topic");
    describe_histogram!(
        CONSUMER_DURATION,
        Unit::Seconds,
        "time a role took for one record, retries included"
    );
    describe_gauge!(
        CONSUMER_LAG,
        "records on the partition after the last one the role applied"
    );
    describe_gauge!(
        CONSUMER_LAST,
        Unit::Seconds,
        "unix time of the last record a role finished"
    );
    describe_gauge!(REMINDERS_PENDING, "reminders scheduled and not yet fired (sampled)");
    describe_histogram!(
        REMINDER_LATENESS,
        Unit::Seconds,
        "fired minus due time of each fired reminder"
    );
    describe_counter!(REMINDERS_FIRED, "reminders fired");
    describe_counter!(
        REMINDERS_MISSED,
        "reminders found past the grace period and recorded missed"
    );
    describe_counter!(REMINDERS_DELIVERED, "reminders delivered, by channel (log, webhook)");
    describe_counter!(REMINDERS_FAILED, "reminders whose webhook delivery failed for good");
    describe_histogram!(
        WEBHOOK_DURATION,
        Unit::Seconds,
        "one webhook call, by outcome (delivered, retry, failed)"
    );
    describe_gauge!(
        DELIVERIES_WAITING,
        "webhook deliveries waiting to be sent or retried (sampled)"
    );
    describe_histogram!(
        STORE_GROUP_WRITES,
        "task writes committed together in one SQLite transaction (one disk sync)"
    );
    describe_histogram!(
        STORE_GROUP_DURATION,
        Unit::Seconds,
        "one SQLite group commit, from BEGIN to the end of COMMIT"
    );
    describe_histogram!(
        STORE_WRITER_WAIT,
        Unit::Seconds,
        "a group commit's wait for the SQLite writer connection, which the relay and the consumer roles' transactions hold meanwhile"
    );
    describe_counter!(RECURRENCE_CREATED, "next occurrences of repeating tasks created");
    describe_histogram!(
        RECURRENCE_LATENCY,
        Unit::Seconds,
        "completion of an occurrence to its next one created"
    );
}

/// One answered HTTP request.
pub fn http_request(method: &Method, route: &str, status: StatusCode, elapsed: Duration) {
    if !enabled() {
        return; // the hot path: not even the labels when metrics are off
    }
    let labels = [
        ("route", route.to_owned()),
        ("method", method_label(method).to_owned()),
        ("status", status_class(status).to_owned()),
    ];
    counter!(HTTP_REQUESTS, &labels).increment(1);
    histogram!(HTTP_DURATION, &labels).record(elapsed.as_secs_f64());
    if status == StatusCode::TOO_MANY_REQUESTS {
        counter!(HTTP_THROTTLED, "route" => route.to_owned()).increment(1);
    }
}

/// A request begins (`1.0`) or ends (`-1.0`).
pub fn http_in_flight(delta: f64) {
    gauge!(HTTP_IN_FLIGHT).increment(delta);
}

/// A write refused because the write queue was full.
pub fn write_shed() {
    counter!(HTTP_SHED).increment(1);
}

/// Methods outside the standard set share one label, so a client cannot mint labels.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

fn status_class(status: StatusCode) -> &'static str {
    match status.as_u16() {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The relay published `rows` records to `topic`.
pub fn outbox_published(topic: &str, rows: u64) {
    counter!(OUTBOX_PUBLISHED, "topic" => topic.to_owned()).increment(rows);
}

pub fn outbox_error() {
    counter!(OUTBOX_ERRORS).increment(1);
}

pub fn outbox_quarantined() {
    counter!(OUTBOX_QUARANTINED).increment(1);
}

/// The sampled state of the outbox.
pub fn outbox_sampled(waiting: i64, oldest: Duration) {
    gauge!(OUTBOX_WAITING).set(waiting as f64);
    gauge!(OUTBOX_OLDEST).set(oldest.as_secs_f64());
}

/// A role finished a record of `topic` (applied, duplicate or parked) in `elapsed`.
pub fn consumer_record(role: &'static str, topic: &str, elapsed: Duration) {
    let labels = [("role", role.to_owned()), ("topic", topic.to_owned())];
    counter!(CONSUMER_RECORDS, &labels).increment(1);
    histogram!(CONSUMER_DURATION, &labels).record(elapsed.as_secs_f64());
    gauge!(CONSUMER_LAST, "role" => role).set(crate::time::now().timestamp_millis() as f64 / 1000.0);
}

/// Why a record is tried again.
#[derive(Debug, Clone, Copy)]
pub enum RetryCause {
    /// The record's own attempt failed in a way that may pass.
    Transient,
    /// The database is away: not the record's fault.
    Outage,
}

pub fn consumer_retry(role: &'static str, topic: &str, cause: RetryCause) {
    let cause = match cause {
        RetryCause::Transient => "transient",
        RetryCause::Outage => "outage",
    };
    counter!(CONSUMER_RETRIES, "role" => role, "topic" => topic.to_owned(), "cause" => cause).increment(1);
}

pub fn consumer_parked(role: &'static str, topic: &str) {
    counter!(CONSUMER_PARKED, "role" => role, "topic" => topic.to_owned()).increment(1);
}

/// The lag of one partition a role reads.
pub fn consumer_lag(role: &'static str, topic: &str, partition: i32, lag: i64) {
    gauge!(CONSUMER_LAG, "role" => role, "topic" => topic.to_owned(), "partition" => partition.to_string())
        .set(lag as f64);
}

/// Reminders fired, each `lateness` after its moment, and `missed` recorded missed.
pub fn reminders_fired(lateness: &[Duration], missed: usize) {
    counter!(REMINDERS_FIRED).increment(lateness.len() as u64);
    counter!(REMINDERS_MISSED).increment(missed as u64);
    let late = histogram!(REMINDER_LATENESS);
    for each in lateness {
        late.record(each.as_secs_f64());
    }
}

/// The number of reminders waiting for their moment.
pub fn reminders_pending(count: i64) {
    gauge!(REMINDERS_PENDING).set(count as f64);
}

pub fn reminder_delivered(channel: &'static str) {
    counter!(REMINDERS_DELIVERED, "channel" => channel).increment(1);
}

pub fn reminder_failed(channel: &'static str) {
    counter!(REMINDERS_FAILED, "channel" => channel).increment(1);
}

/// One webhook call and how it ended: `delivered`, `retry` or `failed`.
pub fn webhook_call(outcome: &'static str, elapsed: Duration) {
    histogram!(WEBHOOK_DURATION, "outcome" => outcome).record(elapsed.as_secs_f64());
}

pub fn deliveries_waiting(count: i64) {
    gauge!(DELIVERIES_WAITING).set(count as f64);
}

/// SQLite's writer committed `writes` task writes together in `elapsed`.
/// One group commit of `writes` writes that waited `waited` for the writer connection and then
/// took `elapsed`.
pub fn group_commit(writes: usize, waited: Duration, elapsed: Duration) {
    histogram!(STORE_GROUP_WRITES).record(writes as f64);
    histogram!(STORE_WRITER_WAIT).record(waited.as_secs_f64());
    histogram!(STORE_GROUP_DURATION).record(elapsed.as_secs_f64());
}

/// A next occurrence was created `latency` after its predecessor was completed.
pub fn next_occurrence(latency: Duration) {
    counter!(RECURRENCE_CREATED).increment(1);
    histogram!(RECURRENCE_LATENCY).record(latency.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_bounded_sets() {
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
        assert_eq!(status_class(StatusCode::TOO_MANY_REQUESTS), "4xx");
        assert_eq!(status_class(StatusCode::SERVICE_UNAVAILABLE), "5xx");
        assert_eq!(status_class(StatusCode::CREATED), "2xx");
    }
}

//! Open-loop create load: requests leave on a fixed schedule whatever the server does, and each
//! is timed from its *scheduled* start, so a stalled server cannot hide queueing delay (no
//! coordinated omission). Every answer is kept, refusals included, for the callers to judge.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::json;

/// Longer than the server's own request deadline (10 s): a request still unanswered by then
/// is counted as unanswered instead of holding the run open.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Where the creates go and as whom: requests take the tokens in turn, so the load can be
/// spread over several users and no one user's rate limit or quota shapes it.
pub struct Target {
    client: reqwest::Client,
    endpoint: String,
    tokens: Vec<String>,
}

impl Target {
    /// # Errors
    /// When no token is given or the HTTP client cannot be built.
    pub fn new(url: &str, tokens: Vec<String>) -> anyhow::Result<Self> {
        anyhow::ensure!(!tokens.is_empty(), "at least one --token is needed");
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .timeout(CLIENT_TIMEOUT)
            .build()?;
        Ok(Self {
            client,
            endpoint: format!("{url}/api/v1/tasks"),
            tokens,
        })
    }
}

/// What one request got.
pub enum Answer {
    /// 201, with the new task's id and the moment the answer arrived.
    Created { id: String, at: DateTime<Utc> },
    /// Any other status, with the problem type of a problem+json body.
    Refused { status: u16, problem: Option<String> },
    /// No HTTP answer at all (connection refused or reset, client timeout).
    Unanswered(String),
}

pub struct Outcome {
    /// From the request's scheduled start to its answer.
    pub latency: Duration,
    /// From the scheduled start to the moment the request began: the load generator's own
    /// delay (it shares the machine), which the latency includes.
    pub client_lag: Duration,
    pub answer: Answer,
}

pub struct Run {
    pub outcomes: Vec<Outcome>,
    /// From the first scheduled start to the last answer.
    pub elapsed: Duration,
}

impl Run {
    /// The created tasks: id and the moment their 2xx arrived.
    pub fn created(&self) -> impl Iterator<Item = (&str, DateTime<Utc>)> {
        self.outcomes.iter().filter_map(|o| match &o.answer {
            Answer::Created { id, at } => Some((id.as_str(), *at)),
            _ => None,
        })
    }

    /// Latencies of the requests whose answer satisfies `keep`.
    pub fn latencies(&self, keep: impl Fn(&Answer) -> bool) -> Vec<Duration> {
        self.outcomes
            .iter()
            .filter(|o| keep(&o.answer))
            .map(|o| o.latency)
            .collect()
    }

    /// 2xx per second over the run.
    pub fn achieved(&self) -> f64 {
        self.created().count() as f64 / self.elapsed.as_secs_f64()
    }

    /// Created, failed (anything else, by status), the achieved rate and the 2xx latencies.
    pub fn summary(&self) -> String {
        let ok = self.latencies(is_created);
        format!(
            "ok={} errors={}{} achieved={:.0}/s {}",
            ok.len(),
            self.outcomes.len() - ok.len(),
            self.refusals(),
            self.achieved(),
            crate::support::percentiles(&ok)
        )
    }

    /// The answers other than 2xx, counted by status (`unanswered` for none), e.g. ` (503: 12)`.
    fn refusals(&self) -> String {
        let mut counts = std::collections::BTreeMap::<String, usize>::new();
        for outcome in &self.outcomes {
            let key = match &outcome.answer {
                Answer::Created { .. } => continue,
                Answer::Refused { status, .. } => status.to_string(),
                Answer::Unanswered(_) => "unanswered".to_owned(),
            };
            *counts.entry(key).or_default() += 1;
        }
        if counts.is_empty() {
            return String::new();
        }
        let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{k}: {n}")).collect();
        format!(" ({})", parts.join(", "))
    }
}

pub fn is_created(answer: &Answer) -> bool {
    matches!(answer, Answer::Created { .. })
}

const WORDS: [&str; 16] = [
    "garden",
    "invoice",
    "dentist",
    "groceries",
    "laundry",
    "meeting",
    "passport",
    "birthday",
    "report",
    "plumber",
    "insurance",
    "homework",
    "recycling",
    "gym",
    "library",
    "taxes",
];

/// A word of the bodies' vocabulary (the search benchmark queries these).
pub fn word(i: usize) -> &'static str {
    WORDS[i % WORDS.len()]
}

/// The `i`th task of a load: distinct titles, words to search for, a tag, a due date.
pub fn body(i: u64) -> serde_json::Value {
    let w = |n: u64| WORDS[(n % WORDS.len() as u64) as usize];
    let priority = ["low", "medium", "high", "urgent"][(i % 4) as usize];
    json!({
        "title": format!("{} {} {i}", w(i), w(i / 7)),
        "description": format!("remember the {} and the {}", w(i / 3), w(i / 11)),
        "priority": priority,
        "tags": [w(i / 5)],
        "due_at": "2031-01-01T09:00:00+01:00",
    })
}

/// POSTs tasks `first..` at `rate` per second for `seconds`, each timed from its scheduled
/// start, and waits for every answer.
pub async fn open_loop(target: &Target, rate: f64, seconds: f64, first: u64) -> Run {
    let total = (rate * seconds).round() as u64;
    let interval = Duration::from_secs_f64(1.0 / rate);
    let start = Instant::now();
    let mut handles = Vec::with_capacity(total as usize);
    for n in 0..total {
        let scheduled = start + interval.mul_f64(n as f64);
        tokio::time::sleep_until(scheduled.into()).await;
        let i = first + n;
        let token = &target.tokens[(i % target.tokens.len() as u64) as usize];
        let request = target.client.post(&target.endpoint).bearer_auth(token).json(&body(i));
        handles.push(tokio::spawn(async move {
            let client_lag = scheduled.elapsed();
            let response = request.send().await;
            // Timed when the status arrives; reading the body adds nothing the server did.
            let latency = scheduled.elapsed();
            Outcome {
                latency,
                client_lag,
                answer: answer(response).await,
            }
        }));
    }
    let mut outcomes = Vec::with_capacity(handles.len());
    for handle in handles {
        outcomes.push(handle.await.unwrap_or_else(|e| Outcome {
            latency: Duration::ZERO,
            client_lag: Duration::ZERO,
            answer: Answer::Unanswered(format!("the request's task failed: {e}")),
        }));
    }
    Run {
        outcomes,
        elapsed: start.elapsed(),
    }
}

async fn answer(response: reqwest::Result<reqwest::Response>) -> Answer {
    let response = match response {
        Ok(response) => response,
        Err(e) => return Answer::Unanswered(without_url(&e)),
    };
    let status = response.status().as_u16();
    let at = Utc::now();
    let body = response.json::<serde_json::Value>().await.ok();
    let field = |name: &str| body.as_ref().and_then(|b| b[name].as_str()).map(str::to_owned);
    match (status, field("id")) {
        (201, Some(id)) => Answer::Created { id, at },
        _ => Answer::Refused {
            status,
            problem: field("type"),
        },
    }
}

/// reqwest's error kind and cause, without the URL it repeats on every line.
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else {
        "request"
    };
    let cause = std::error::Error::source(e)
        .map(ToString::to_string)
        .unwrap_or_default();
    format!("{kind}: {cause}")
}

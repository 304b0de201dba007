//! What the example programs (bench, chaos) share: how they summarise what they measured.

use std::time::Duration;

/// p50, p95, p99 and max of `samples`, in milliseconds.
pub fn percentiles(samples: &[Duration]) -> String {
    let Some(sorted) = sorted(samples) else {
        return "no samples".into();
    };
    let at = |q| quantile_ms(&sorted, q);
    format!(
        "p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

/// `samples` in ascending order; None when there are none.
pub fn sorted(samples: &[Duration]) -> Option<Vec<Duration>> {
    if samples.is_empty() {
        return None;
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    Some(sorted)
}

/// The `q` quantile (0–1; 1 is the maximum) of non-empty, ascending `sorted`, in milliseconds.
pub fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

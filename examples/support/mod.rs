//! What the example programs (bench, chaos) share: how they summarise what they measured.

use std::time::Duration;

/// p50, p95, p99 and max of `samples`, in milliseconds.
pub fn percentiles(samples: &[Duration]) -> String {
    if samples.is_empty() {
        return "no samples".into();
    }
    let mut sorted = samples.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 * q) as usize).min(sorted.len() - 1)].as_secs_f64() * 1000.0;
    format!(
        "p50={:.2}ms p95={:.2}ms p99={:.2}ms max={:.2}ms",
        at(0.50),
        at(0.95),
        at(0.99),
        at(1.0)
    )
}

//! What the benchmarks share. (A folder without `main.rs`, so cargo doesn't take it for a
//! benchmark of its own.) Each benchmark uses a part of it.
#![allow(dead_code)]

#[path = "../../tests/common/keys.rs"]
pub mod keys;
#[path = "../../tests/common/sdk.rs"]
pub mod sdk;

/// The median of `values`, which it leaves sorted; the mean of the middle two for an even
/// count.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

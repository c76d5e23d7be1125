//! Quantiles from histogram buckets, computed as Prometheus' `histogram_quantile` does: find the
//! bucket the rank falls in and interpolate linearly inside it, assuming the observations are
//! spread evenly there. Fed with the *increase* of each cumulative bucket over the window, it
//! gives the quantile of the requests of that window.

/// The `q` quantile (0.0..=1.0) of cumulative buckets `(upper bound, count)` (`le`, the `+Inf`
/// one included). `None` when there is nothing to measure: no observations, no `+Inf` bucket.
pub fn histogram_quantile(q: f64, buckets: &[(f64, f64)]) -> Option<f64> {
    if !(0.0..=1.0).contains(&q) {
        return None;
    }
    let mut buckets: Vec<(f64, f64)> = buckets.to_vec();
    buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Counts may step backwards when buckets were scraped at slightly different moments;
    // Prometheus makes them monotonic the same way.
    let mut highest = 0.0_f64;
    for bucket in &mut buckets {
        highest = highest.max(bucket.1);
        bucket.1 = highest;
    }
    let &(last_bound, total) = buckets.last()?;
    if last_bound != f64::INFINITY || buckets.len() < 2 || total <= 0.0 {
        return None;
    }
    let rank = q * total;
    let index = buckets.iter().position(|&(_, count)| count >= rank)?;
    if index == buckets.len() - 1 {
        // In the +Inf bucket: the best answer is the highest finite bound.
        return Some(buckets[index - 1].0);
    }
    let (upper, count) = buckets[index];
    let (lower, below) = if index == 0 {
        if upper <= 0.0 {
            return Some(upper);
        }
        (0.0, 0.0)
    } else {
        buckets[index - 1]
    };
    let in_bucket = count - below;
    if in_bucket <= 0.0 {
        return Some(upper);
    }
    Some(lower + (upper - lower) * ((rank - below) / in_bucket))
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn interpolates_inside_the_bucket_of_the_rank() {
        // 10 requests: 5 under 5 ms, 4 in (5, 10], 1 in (10, 25].
        let buckets = [(5.0, 5.0), (10.0, 9.0), (25.0, 10.0), (INF, 10.0)];
        assert_eq!(histogram_quantile(0.5, &buckets), Some(5.0));
        // rank 9.9: 0.9 of the one request in (10, 25].
        let p99 = histogram_quantile(0.99, &buckets).unwrap_or_default();
        assert!((p99 - 23.5).abs() < 1e-9, "{p99}");
        // rank 2.5 in the first bucket, from 0.
        assert_eq!(histogram_quantile(0.25, &buckets), Some(2.5));
    }

    #[test]
    fn answers_the_highest_finite_bound_past_it() {
        let buckets = [(100.0, 1.0), (INF, 10.0)];
        assert_eq!(histogram_quantile(0.99, &buckets), Some(100.0));
    }

    #[test]
    fn has_no_answer_without_observations_or_inf() {
        assert_eq!(histogram_quantile(0.5, &[(5.0, 0.0), (INF, 0.0)]), None);
        assert_eq!(histogram_quantile(0.5, &[(5.0, 3.0), (10.0, 4.0)]), None);
        assert_eq!(histogram_quantile(1.5, &[(5.0, 3.0), (INF, 4.0)]), None);
        assert_eq!(histogram_quantile(0.5, &[]), None);
    }

    #[test]
    fn order_and_small_dips_do_not_matter() {
        let buckets = [(INF, 10.0), (10.0, 8.9), (5.0, 9.0)];
        // Made monotonic: (5, 9), (10, 9), (inf, 10); rank 5 is in the first bucket.
        let p50 = histogram_quantile(0.5, &buckets).unwrap_or_default();
        assert!((p50 - 5.0 * 5.0 / 9.0).abs() < 1e-9, "{p50}");
    }
}

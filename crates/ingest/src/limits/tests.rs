use super::*;

#[test]
fn token_bucket_timeline() {
    let mut bucket = TokenBucket::new();
    // rate 100/s, burst 200: the first 200 pass at once, then it refills at 100/s.
    assert_eq!(bucket.try_take(150, 0, 100, 200), Ok(()));
    assert_eq!(bucket.try_take(50, 0, 100, 200), Ok(()));
    assert_eq!(bucket.try_take(10, 0, 100, 200), Err(1));
    assert_eq!(bucket.try_take(10, 50, 100, 200), Err(1)); // 5 tokens after 50 ms
    assert_eq!(bucket.try_take(10, 100, 100, 200), Ok(())); // 10 tokens after 100 ms
    // Two seconds later it is full again, not fuller.
    assert_eq!(bucket.try_take(200, 2_100, 100, 200), Ok(()));
    assert_eq!(bucket.try_take(1, 2_100, 100, 200), Err(1));
    // A request larger than the burst passes only when the bucket is full, into debt.
    assert_eq!(bucket.try_take(500, 4_100, 100, 200), Ok(()));
    assert_eq!(bucket.try_take(1, 5_100, 100, 200), Err(3));
    assert_eq!(bucket.try_take(1, 7_200, 100, 200), Ok(()));
    // rate 0 is unlimited.
    assert_eq!(bucket.try_take(u64::MAX, 0, 0, 0), Ok(()));
}

#[test]
fn token_bucket_default_burst_is_one_second() {
    let mut bucket = TokenBucket::new();
    assert_eq!(bucket.try_take(1000, 0, 1000, 0), Ok(()));
    assert!(bucket.try_take(1, 0, 1000, 0).is_err());
}

fn key(labels: u128, metric: u64) -> SeriesKey {
    SeriesKey { labels, metric }
}

#[test]
fn series_limits_per_tenant_and_metric() {
    let tracker = SeriesTracker::new();
    assert_eq!(tracker.admit(key(1, 10), 0, 3, 2), Admission::New);
    assert_eq!(tracker.admit(key(2, 10), 0, 3, 2), Admission::New);
    assert_eq!(tracker.admit(key(3, 10), 0, 3, 2), Admission::MetricLimit);
    assert_eq!(tracker.admit(key(4, 11), 0, 3, 2), Admission::New);
    assert_eq!(tracker.admit(key(5, 12), 0, 3, 2), Admission::TenantLimit);
    tracker.set_ref(key(1, 10), 77);
    assert_eq!(tracker.admit(key(1, 10), 5, 3, 2), Admission::Known(77));
    assert_eq!(tracker.len(), 3);
    // Idle series leave; room opens up.
    assert_eq!(tracker.purge_idle(1), 2);
    assert_eq!(tracker.len(), 1);
    assert_eq!(tracker.admit(key(3, 10), 6, 3, 2), Admission::New);
    tracker.forget(key(3, 10));
    assert_eq!(tracker.len(), 1);
    // Unlimited.
    for i in 100..200 {
        assert_eq!(tracker.admit(key(i, 1), 6, 0, 0), Admission::New);
    }
}

#[test]
fn series_keys_depend_on_every_byte() {
    let mut scratch = Vec::new();
    let a = SeriesKey::new([(&b"a"[..], &b"bc"[..])].into_iter(), b"m", &mut scratch);
    let b = SeriesKey::new([(&b"ab"[..], &b"c"[..])].into_iter(), b"m", &mut scratch);
    assert_ne!(a, b);
}

#[test]
fn tenants_are_validated_and_bounded_in_metrics() {
    assert_eq!(Limiter::tenant_id(None), Ok("default"));
    assert_eq!(Limiter::tenant_id(Some("team-a")), Ok("team-a"));
    let err = Limiter::tenant_id(Some("../etc")).unwrap_err();
    assert!(err.contains("X-Scope-OrgID"), "{err}");
    let limiter = Limiter::new(LimitsConfig::default());
    for i in 0..MAX_TENANT_LABELS + 10 {
        limiter.tenant(&format!("t{i}"));
    }
    let labels: std::collections::BTreeSet<String> = limiter
        .active_series()
        .into_iter()
        .map(|(l, _)| l)
        .collect();
    assert!(labels.contains("other"));
    assert!(labels.len() <= MAX_TENANT_LABELS + 1);
    // Idle, empty tenants are dropped.
    limiter.purge_idle(0);
    assert!(limiter.active_series().is_empty());
}

#[test]
fn reload_keeps_state_and_changes_limits() {
    let limiter = Limiter::new(LimitsConfig::default());
    let tenant = limiter.tenant("a");
    tenant.series.admit(key(1, 1), 0, 0, 0);
    let mut config = LimitsConfig::default();
    config.ingest.max_series_per_tenant = 1;
    limiter.reload(config);
    assert_eq!(limiter.limits_for("a").max_series_per_tenant, 1);
    assert_eq!(limiter.tenant("a").series.len(), 1);
}

proptest::proptest! {
    /// Looking a request's keys up together answers what looking them up one by one in
    /// order would (duplicates and limits included), and leaves as many series tracked.
    #[test]
    fn admit_many_answers_like_admit_in_order(
        known in proptest::collection::vec((0u128..400, 0u64..5), 0..200),
        request in proptest::collection::vec((0u128..400, 0u64..5), 0..300),
        max_per_tenant in 0u64..300,
        max_per_metric in 0u64..60,
    ) {
        let (one, many) = (SeriesTracker::new(), SeriesTracker::new());
        for &(labels, metric) in &known {
            // Spread keys over the shards like xxh3 would (the shard is the low bits).
            let k = key(labels.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835), metric);
            for tracker in [&one, &many] {
                if tracker.admit(k, 1, 0, 0) == Admission::New {
                    tracker.set_ref(k, (labels as u64) + 1);
                }
            }
        }
        let keys: Vec<SeriesKey> = request
            .iter()
            .map(|&(labels, metric)| key(labels.wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835), metric))
            .collect();
        let expected: Vec<Admission> = keys
            .iter()
            .map(|&k| one.admit(k, 2, max_per_tenant, max_per_metric))
            .collect();
        let mut got = Vec::new();
        many.admit_many(&keys, 2, max_per_tenant, max_per_metric, &mut got);
        proptest::prop_assert_eq!(got, expected);
        proptest::prop_assert_eq!(many.len(), one.len());
    }
}

#[test]
fn admit_many_stops_at_the_tenant_limit() {
    let tracker = SeriesTracker::new();
    let keys: Vec<SeriesKey> = (0..100u128).map(|i| key(i * 7919, 1)).collect();
    let mut got = Vec::new();
    tracker.admit_many(&keys, 0, 40, 0, &mut got);
    let new = got.iter().filter(|a| **a == Admission::New).count();
    let refused = got.iter().filter(|a| **a == Admission::TenantLimit).count();
    assert_eq!((new, refused, tracker.len()), (40, 60, 40));
}

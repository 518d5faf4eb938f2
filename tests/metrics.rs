//! With the `metrics` feature, store calls record their latency (per operation, view and
//! outcome), the rows they read (found, missing, stale), the defaults they used and their errors
//! by kind, through the `metrics` facade; seen here by `metrics-util`'s debugging recorder,
//! installed for the test's thread only.
#![cfg(feature = "metrics")]

mod behaviour;
mod support;

use std::time::{SystemTime, UNIX_EPOCH};

use behaviour::{Harness, UserProfile};
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use metrics_util::MetricKind;

mod features {
    fstore::registry!("features.toml");
}

/// A vector over two views, one of them (`user_risk_profile`) with `max_age = "10m"`.
#[derive(fstore::FeatureVector, Debug)]
#[feature_vector(registry = "features.toml")]
struct Inputs {
    #[fstore(view = "user_profile")]
    age: i64,
    #[fstore(view = "user_risk_profile", default = 0)]
    txn_count_24h: i64,
}

/// `(kind, name, sorted labels, value)` of every metric recorded, counters as their count and
/// histograms as their number of samples.
fn seen(snapshotter: &Snapshotter) -> Vec<(MetricKind, String, Vec<String>, u64)> {
    let mut out: Vec<_> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let (kind, key) = key.into_parts();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let value = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Histogram(samples) => samples.len() as u64,
                DebugValue::Gauge(_) => u64::MAX,
            };
            (kind, key.name().to_owned(), labels, value)
        })
        .collect();
    out.sort();
    out
}

fn metric(
    kind: MetricKind,
    name: &str,
    labels: &[&str],
    value: u64,
) -> (MetricKind, String, Vec<String>, u64) {
    let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
    labels.sort();
    (kind, name.to_owned(), labels, value)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

async fn calls_record_latency_rows_defaults_and_errors(h: Harness) {
    // Written before the recorder is installed: not counted.
    UserProfile::sample(1).write(&h.store, "a").await.unwrap();
    let old = (now_ms() - 11 * 60 * 1000).to_string();
    h.hset(
        "fs:v1:user_risk_profile:a",
        &[("txn_count_24h", b"7"), ("_updated_at", old.as_bytes())],
    )
    .await;

    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let guard = metrics::set_default_local_recorder(&recorder);
    UserProfile::read(&h.store, "a").await.unwrap();
    UserProfile::read_batch(&h.store, ["a", "b", "c"])
        .await
        .unwrap();
    assert!(UserProfile::read(&h.store, "").await.is_err());
    // The risk row is stale: its default is used.
    let inputs = Inputs::vector(&h.store, "a").await.unwrap();
    assert_eq!((inputs.age, inputs.txn_count_24h), (21, 0));
    let dynamic = h.store.with_registry(behaviour::root_registry());
    dynamic
        .read("user_profile", "b", Some(&["age"]))
        .await
        .unwrap();
    // An aggregation event no window can cover any more: refused and counted.
    let events = h.store.with_registry(
        fstore::registry::Registry::parse(
            r#"
[entities.user]
[aggregations.user_txn]
entity = "user"
granularity = "1m"
[aggregations.user_txn.features]
txn_count_1h = { fn = "count", window = "1h" }
"#,
            "features.toml",
        )
        .unwrap(),
    );
    let now = now_ms();
    let late = events
        .record_at("user_txn", "a", now - 2 * 3_600_000, &[], now)
        .await
        .unwrap();
    assert_eq!(late, fstore::Recorded::Late);
    drop(guard);
    // After the guard: not counted.
    UserProfile::read(&h.store, "a").await.unwrap();

    let seen = seen(&snapshotter);
    // What `METRICS` documents is what the calls record: the same names, each of its kind.
    let mut recorded: Vec<(MetricKind, String)> = seen
        .iter()
        .map(|(kind, name, _, _)| (*kind, name.clone()))
        .collect();
    recorded.dedup();
    assert_eq!(recorded, documented());

    use MetricKind::{Counter, Histogram};
    let latency = "fstore_call_duration_seconds";
    assert_eq!(
        seen,
        [
            metric(
                Counter,
                "fstore_defaulted_total",
                &["view=user_risk_profile", "feature=txn_count_24h"],
                1
            ),
            metric(
                Counter,
                "fstore_errors_total",
                &["op=read", "kind=invalid"],
                1
            ),
            metric(
                Counter,
                "fstore_events_refused_total",
                &["aggregation=user_txn", "reason=late"],
                1
            ),
            metric(
                Counter,
                "fstore_rows_total",
                &["view=user_profile", "status=found"],
                3
            ),
            metric(
                Counter,
                "fstore_rows_total",
                &["view=user_profile", "status=missing"],
                3
            ),
            metric(
                Counter,
                "fstore_rows_total",
                &["view=user_risk_profile", "status=stale"],
                1
            ),
            metric(
                Histogram,
                latency,
                &["op=read", "view=user_profile", "outcome=invalid"],
                1
            ),
            metric(
                Histogram,
                latency,
                &["op=read", "view=user_profile", "outcome=ok"],
                2
            ),
            metric(
                Histogram,
                latency,
                &["op=read_batch", "view=user_profile", "outcome=ok"],
                1
            ),
            metric(
                Histogram,
                latency,
                &["op=record", "view=user_txn", "outcome=ok"],
                1
            ),
            metric(
                Histogram,
                latency,
                &["op=vector", "view=user_profile", "outcome=ok"],
                1
            ),
        ]
    );
}

all_backends!(recorded, calls_record_latency_rows_defaults_and_errors);

/// `fstore::METRICS` as `(kind, name)`, sorted.
fn documented() -> Vec<(MetricKind, String)> {
    let mut documented: Vec<(MetricKind, String)> = fstore::METRICS
        .iter()
        .map(|(name, kind, _)| {
            let kind = match *kind {
                "counter" => MetricKind::Counter,
                "histogram" => MetricKind::Histogram,
                other => panic!("{name}: undocumented kind {other:?}"),
            };
            (kind, (*name).to_owned())
        })
        .collect();
    documented.sort();
    documented
}
